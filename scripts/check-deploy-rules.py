#!/usr/bin/env python3
"""kiln's own deployment rules, which no generic tool knows: the manifests against each other, the
Containerfile against the build context (.dockerignore, as docker-py applies it) and the Deployment,
the build stage's cargo workspace as the context admits it, and the Deployment's `kiln serve` flags.
scripts/check-deploy.sh runs it after the generic tools. Usage: check-deploy-rules.py [DEPLOY_DIR]
"""
import json, os, re, shlex, shutil, subprocess, sys, tempfile, traceback
from pathlib import Path

import yaml
from docker.utils.build import PatternMatcher
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "deploy").resolve()
CONTAINERFILE = DEPLOY / "Containerfile"
LABELS = {"app.kubernetes.io/name": "kiln", "app.kubernetes.io/instance": "kiln", "app.kubernetes.io/part-of": "kiln"}
counts = [0, 0]  # checks, failed
rel = lambda p: os.path.relpath(p, ROOT) if Path(p).resolve().is_relative_to(ROOT) else str(p)


def check(cond, msg):
    counts[0] += 1
    if not cond:
        counts[1] += 1
        print(f"FAIL {msg}")
    return bool(cond)


# A crash is most likely a manifest of the wrong shape, which kubernetes-validate reports.
sys.excepthook = lambda kind, err, tb: print(f"FAIL {Path(__file__).name} stopped at line "
                                             f"{traceback.extract_tb(tb)[-1].lineno}: {kind.__name__}: {err}")


def get(obj, *keys):
    """obj[k1][k2]..., or {} where a level is missing (kubernetes-validate reports wrong shapes)."""
    for k in keys:
        obj = obj.get(k) if isinstance(obj, dict) else None
    return {} if obj is None else obj


# --- the manifests against each other -----------------------------------------------------------
resources = []
for path in sorted((DEPLOY / "kubernetes").rglob("*.*")):
    try:
        docs = yaml.safe_load_all(path.read_text()) if path.suffix in (".yaml", ".yml", ".json") else []
        resources += [(path, d) for d in docs if isinstance(d, dict)]
    except yaml.YAMLError:
        pass  # yamllint reports it
for path, r in resources:
    meta = get(r, "metadata")
    check(all(get(meta, "labels").get(k) == v for k, v in LABELS.items()) and "namespace" not in meta,
          f"{rel(path)}: {r.get('kind')} needs the labels {LABELS} and no namespace")
of_kind = lambda kind: [r for _, r in resources if r.get("kind") == kind]
deployments = of_kind("Deployment")
check(len(deployments) == 1, f"expected one Deployment in {rel(DEPLOY)}/kubernetes, found {len(deployments)}")
dep = deployments[0] if deployments else {}
spec, pod = get(dep, "spec"), get(dep, "spec", "template", "spec")
pod_labels = get(dep, "spec", "template", "metadata", "labels")
selects = lambda sel: bool(sel) and all(pod_labels.get(k) == v for k, v in sel.items())
containers = pod.get("containers") or [{}]
c = next((x for x in containers if x.get("name") == "kiln"), containers[0])
args = [str(a) for a in c.get("args") or []]
ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
is_port = lambda p: p in ports or p in ports.values()

check(selects(get(spec, "selector", "matchLabels")), "the Deployment's selector does not match its pod labels")
for svc in of_kind("Service"):
    check(selects(get(svc, "spec", "selector")), f"Service {get(svc, 'metadata').get('name')} selects no kiln pod")
    for p in get(svc, "spec").get("ports") or []:
        check(is_port(p.get("targetPort")), f"Service targetPort {p.get('targetPort')!r} is not a container port")
for pdb in of_kind("PodDisruptionBudget"):
    check(selects(get(pdb, "spec", "selector", "matchLabels")), "the PodDisruptionBudget selects no kiln pod")
for h in [get(r, "spec") for r in of_kind("HorizontalPodAutoscaler")]:
    target = {"apiVersion": dep.get("apiVersion"), "kind": "Deployment", "name": get(dep, "metadata").get("name")}
    check(get(h, "scaleTargetRef") == target, f"the HPA's scaleTargetRef {get(h, 'scaleTargetRef')} is not {target}")
    check(spec.get("replicas", 1) == h.get("minReplicas", 1) <= h.get("maxReplicas", 0),
          f"replicas {spec.get('replicas')!r}, HPA min {h.get('minReplicas')!r}, max {h.get('maxReplicas')!r} disagree")
    if any(get(m, "resource").get("name") == "cpu" for m in h.get("metrics") or []):
        check("cpu" in get(c, "resources", "requests"), "the HPA scales on CPU but the container requests none")
for probe, want in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
    http = get(c, probe, "httpGet")
    check(http.get("path") == want and is_port(http.get("port")), f"{probe} should GET {want} on a container port")

volumes = {v.get("name"): v for v in pod.get("volumes") or []}
mounts = c.get("volumeMounts") or []
for m in mounts:
    check(m.get("name") in volumes, f"volumeMount {m.get('mountPath')} names no volume ({m.get('name')})")
for v in volumes.values():
    for kind, key in (("configMap", "name"), ("secret", "secretName")):
        name = get(v, kind).get(key)
        src = next((r for r in of_kind(kind[0].upper() + kind[1:]) if get(r, "metadata").get("name") == name), None)
        if kind in v and check(src, f"volume {v['name']}: {kind} {name} has no manifest in {rel(DEPLOY)}"):
            keys = {k for f in ("data", "stringData", "binaryData") for k in get(src, f)}
            for item in get(v, kind).get("items") or []:
                check(item.get("key") in keys, f"volume {v['name']}: {kind} {name} lacks the key {item.get('key')}")

flag_values = lambda flag: [b for a, b in zip(args, args[1:]) if a == flag] + \
    [a.split("=", 1)[1] for a in args if a.startswith(flag + "=")]
env = {e.get("name"): e.get("value") for e in c.get("env") or []}
check(env.get("XDG_CACHE_HOME"), "XDG_CACHE_HOME must be set (to a volume): the root filesystem is read-only")
paths = [(f, p, f == "--kernel-dir") for f in ("--trust", "--admin-token-file", "--canary", "--kernel", "--kernel-dir")
         for p in flag_values(f)] + [("XDG_CACHE_HOME", p, True) for p in [env.get("XDG_CACHE_HOME")] if p]
for what, path, writes in paths:  # its mount: the longest mountPath that is a prefix of it
    m = max((m for m in mounts if (path + "/").startswith(str(m.get("mountPath")).rstrip("/") + "/")),
            key=lambda m: len(m["mountPath"]), default=None)
    if check(m, f"{what} {path} is on no mounted volume"):
        check(not (writes and m.get("readOnly")), f"{what} {path} is on a read-only mount, and kiln writes there")
sc, psc, caps = get(c, "securityContext"), get(pod, "securityContext"), get(c, "securityContext", "capabilities")
run_as = sc.get("runAsUser", psc.get("runAsUser"))
check(sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True and type(run_as) is int and run_as != 0,
      "runAsNonRoot and a non-zero runAsUser are required")
check(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False,
      "readOnlyRootFilesystem: true and allowPrivilegeEscalation: false are required")
check("ALL" in (caps.get("drop") or []) and not caps.get("add"), "capabilities must drop ALL and add none")
check(get(sc.get("seccompProfile", psc.get("seccompProfile")), "type") == "RuntimeDefault", "seccomp: RuntimeDefault")
check(all(k in get(c, "resources", x) for x in ("requests", "limits") for k in ("cpu", "memory")),
      "the container needs CPU and memory requests and limits")
timeout = int((flag_values("--request-timeout-s") or ["60"])[-1])
pre, grace = get(c, "lifecycle", "preStop", "sleep").get("seconds", 0), pod.get("terminationGracePeriodSeconds", 30)
check(type(grace) is int and grace >= pre + timeout,
      f"terminationGracePeriodSeconds {grace} < preStop {pre} s + request timeout {timeout} s: SIGKILL cuts requests")
check(args[:1] == ["serve"], f"the container's args (they replace the image's CMD) must start with `serve`: {args[:1]}")

# --- batch Jobs: `kiln batch --shard K/N`, K the completion index, N the completions ------------
for job in of_kind("Job"):
    name, jspec = get(job, "metadata").get("name"), get(job, "spec")
    jpod = get(jspec, "template", "spec")
    jc = next((x for x in jpod.get("containers") or [] if x.get("name") == "kiln"), {})
    jargs = [str(a) for a in jc.get("args") or []]
    check(jargs[:1] == ["batch"], f"Job {name}: the kiln container's args must start with `batch`")
    shard = [b for a, b in zip(jargs, jargs[1:]) if a == "--shard"]
    m = re.fullmatch(r"\$\((\w+)\)/(\d+)", shard[0]) if shard else None
    index_env = {e.get("name"): get(e, "valueFrom", "fieldRef").get("fieldPath") for e in jc.get("env") or []}
    if check(jspec.get("completionMode") == "Indexed" and m,
             f"Job {name}: an Indexed Job whose args give --shard $(VAR)/N"):
        check(int(m.group(2)) == jspec.get("completions") and jspec.get("parallelism", 1) <= int(m.group(2)),
              f"Job {name}: --shard's N {m.group(2)} is not completions {jspec.get('completions')}")
        check(index_env.get(m.group(1)) == "metadata.annotations['batch.kubernetes.io/job-completion-index']",
              f"Job {name}: {m.group(1)} must come from the completion index annotation")
    labels = get(jspec, "template", "metadata", "labels")
    for svc in of_kind("Service"):
        sel = get(svc, "spec", "selector")
        check(not sel or not all(labels.get(k) == v for k, v in sel.items()),
              f"Job {name}: Service {get(svc, 'metadata').get('name')} would send requests to its pods")
    jsc, jpsc = get(jc, "securityContext"), get(jpod, "securityContext")
    check(jsc.get("runAsNonRoot", jpsc.get("runAsNonRoot")) is True and jsc.get("readOnlyRootFilesystem") is True
          and jsc.get("allowPrivilegeEscalation") is False and "ALL" in (get(jsc, "capabilities").get("drop") or []),
          f"Job {name}: the same container security as the server's")
    check(all(k in get(jc, "resources", x) for x in ("requests", "limits") for k in ("cpu", "memory")),
          f"Job {name}: the container needs CPU and memory requests and limits")

# --- the Containerfile and its build context (the repository) -----------------------------------
ignore = ROOT / ".dockerignore"
patterns = [l.strip() for l in ignore.read_text().splitlines() if l.strip() and l[0] != "#"] if ignore.exists() else []
context = {p for p in PatternMatcher(patterns).walk(str(ROOT)) if not (ROOT / p).is_dir() or (ROOT / p).is_symlink()}
leaks = sorted(f for f in context if re.search(r"(^|/)(target|node_modules|\.git|fuzz)/|\.key$", f))
check(patterns and not leaks, f".dockerignore (missing or empty?) lets in {leaks[:3]}...")
in_context = lambda p: p in context or any(p == "." or f.startswith(p + "/") for f in context)
exec_form = lambda value: json.loads(value) if value.startswith("[") else value  # the shell form: hadolint

instructions, stages, workdir = [], [], "/"  # stages: per FROM, its (instruction, value, WORKDIR, where)
if check(CONTAINERFILE.exists(), f"{rel(CONTAINERFILE)} is missing"):
    with open(CONTAINERFILE, "rb") as f:
        instructions = DockerfileParser(fileobj=f).structure
for ins in instructions:
    kind, value = ins["instruction"], ins["value"].strip()
    if kind == "FROM":
        stages, workdir = stages + [[]], "/"
    elif kind == "WORKDIR":
        workdir = os.path.normpath(os.path.join(workdir, value))
    if stages:
        stages[-1].append((kind, value, workdir, f"{rel(CONTAINERFILE)}:{ins['startline'] + 1}"))
last = lambda st, kind: next((v for k, v, _, _ in reversed(st) if k == kind), "")


def copies(st):
    """(sources, dest, WORKDIR, where) of a stage's COPY/ADDs; no sources for a COPY --from a stage."""
    for kind, value, wd, where in st:
        if kind in ("COPY", "ADD"):
            words = json.loads(value) if value.startswith("[") else shlex.split(value)
            *sources, dest = [w for w in words if not w.startswith("--")]
            yield [] if any(w.startswith("--from=") for w in words) else sources, dest, wd, where


for sources, _, _, where in [cp for st in stages for cp in copies(st)]:
    for src in sources:
        hits = [rel(p) for p in ROOT.glob(os.path.normpath(src.lstrip("/") or "."))]
        if check(hits, f"{where}: COPY source {src} does not exist"):
            check(all(map(in_context, hits)), f"{where}: COPY source {src} is excluded by .dockerignore")

builder = next((st for st in stages if any(k == "RUN" and "cargo build" in v for k, v, _, _ in st)), None)
if check(builder, f"{rel(CONTAINERFILE)}: no stage runs `cargo build`"):
    run, workdir = next((v, wd) for k, v, wd, _ in builder if k == "RUN" and "cargo build" in v)
    stage = Path(tempfile.mkdtemp(prefix="kiln-context-"))
    try:  # the build stage's files under the build's WORKDIR, laid out as its COPYs do
        for sources, dest, copy_dir, _ in copies(builder):
            dest_abs = os.path.normpath(os.path.join(copy_dir, dest))
            for src in [os.path.normpath(s.lstrip("/") or ".") for s in sources]:
                if (ROOT / src).is_dir():
                    pairs = [(f, os.path.join(dest_abs, os.path.relpath(f, src))) for f in context
                             if src == "." or f.startswith(src + "/")]
                else:
                    into = dest.endswith("/") or len(sources) > 1
                    pairs = [(src, os.path.join(dest_abs, os.path.basename(src)) if into else dest_abs)]
                for f, target in pairs:
                    out = stage / os.path.relpath(target, workdir)
                    if f in context and (target + "/").startswith(workdir.rstrip("/") + "/"):
                        out.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(ROOT / f, out)
        for rs in stage.rglob("*.rs"):  # files read at compile time
            text, crate = rs.read_text(errors="ignore"), next(p for p in rs.parents if (p / "Cargo.toml").exists())
            refs = [rs.parent / m for m in re.findall(r'include_(?:str|bytes)!\(\s*"([^"]+)"', text)]
            refs += [crate / m for m in re.findall(r'generate!\(\{[^}]*?path:\s*"([^"]+)"', text, re.S)]
            for ref in refs:
                check(ref.exists(), f"build stage: {rs.relative_to(stage)} reads {os.path.relpath(ref, rs.parent)}, "
                      "which the build context lacks")
        plans = [("cargo metadata --locked", ["cargo", "metadata", "--format-version", "1", "--locked"])]
        cargo_args = shlex.split(re.search(r"cargo build([^&;|]*)", run).group(1))
        if not check(shutil.which("cargo"), "cargo is not on PATH (~/.cargo/bin): the build stage is not checked"):
            plans = []
        elif subprocess.run(["cargo", "+nightly", "--version"], capture_output=True).returncode == 0:
            plans.append((f"cargo build {' '.join(cargo_args)} (planned: nightly --unit-graph)",
                          ["cargo", "+nightly", "build", *cargo_args, "-Z", "unstable-options", "--unit-graph"]))
        else:
            print("note: no nightly cargo: the image's cargo build is not planned (misses a declared bench left out)")
        for what, cmd in plans:
            cargo_env = dict(os.environ, CARGO_TARGET_DIR=str(stage / "target"))
            done = subprocess.run(cmd + ["--offline"], cwd=stage, env=cargo_env, capture_output=True, text=True)
            if done.returncode and "offline" in done.stderr:  # crates not cached here yet: fetch them
                done = subprocess.run(cmd, cwd=stage, env=cargo_env, capture_output=True, text=True)
            check(done.returncode == 0, f"build stage: {what} fails on what the context admits:\n{done.stderr.strip()}")
    finally:
        shutil.rmtree(stage, ignore_errors=True)

final = stages[-1] if len(stages) > 1 else []
user, ep = last(final, "USER").split(":")[0], exec_form(last(final, "ENTRYPOINT"))
check(user.isdigit() and user != "0" and user == str(run_as),
      f"final stage: USER {last(final, 'USER')!r} must be numeric, not root, and the Deployment's runAsUser {run_as}")
check(isinstance(ep, list) and ep and ep[0] in [d for _, d, _, _ in copies(final)],
      f"final stage: ENTRYPOINT {ep!r} must be the exec form of a file the stage copies in")
check(str(ports.get("http")) in [p.split("/")[0] for k, v, _, _ in final if k == "EXPOSE" for p in v.split()],
      f"final stage: no EXPOSE of the Deployment's http port {ports.get('http')}")

# --- the flags of the Deployment (and CMD) vs `kiln serve --help` --------------------------------
cmd = exec_form(last(final, "CMD"))
flags = sorted({a.split("=", 1)[0] for a in args + (cmd if isinstance(cmd, list) else []) if a.startswith("--")})
binary = Path(os.environ.get("KILN_BIN") or ROOT / "target/debug/kiln")
newest = max((p.stat().st_mtime for p in (ROOT / "bindings-native/src").rglob("*.rs")), default=0)
if not binary.exists():
    print(f"note: kiln serve flags not checked: {binary} is not built")
elif not os.environ.get("KILN_BIN") and binary.stat().st_mtime < newest:
    print(f"note: kiln serve flags not checked: {rel(binary)} is older than bindings-native/src (rebuild it,"
          " or set KILN_BIN)")
else:
    done = subprocess.run([str(binary), "serve", "--help"], capture_output=True, text=True, timeout=30)
    known = set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", done.stdout))
    if check(done.returncode == 0 and known, f"{binary} serve --help failed: {done.stderr.strip()}"):
        for flag in flags:
            check(flag in known, f"`kiln serve {flag}` (Deployment args or CMD) is not in `{binary} serve --help`")
        print(f"note: {len(flags)} kiln serve flags checked against `{binary} serve --help`")

print(f"{counts[0] - counts[1]} passed, {counts[1]} failed")
sys.exit(1 if counts[1] else 0)
