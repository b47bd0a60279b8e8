#!/usr/bin/env python3
"""kiln's own deployment rules, which no generic tool knows. scripts/check-deploy.sh runs it
in target/deploy-venv after yamllint, kubernetes-validate and hadolint.

    check-deploy-rules.py [DEPLOY_DIR]     (default deploy/; the build context is the repository)

- the manifests against each other: common labels, no namespace; selectors, named ports,
  probes, volumes and the ConfigMap/Secret keys they use; every path given to kiln on a
  mounted volume (writable where kiln writes); security settings; the grace period;
- the build context (.dockerignore, applied by docker-py as Docker does): no target/, .git,
  keys; every COPY source admitted; the build stage's files staged as its COPYs lay them
  out, and there: `cargo metadata --locked`, the image's `cargo build` planned by nightly
  (--unit-graph, nothing compiled; catches a declared bench or bin left out), and every
  include_str!/wit path present;
- the final stage: a numeric non-root USER = runAsUser, EXPOSE = the http port, an exec
  ENTRYPOINT the stage copies in, and the Deployment's args starting with `serve`;
- the `--flags` of the Deployment (and CMD) against `kiln serve --help` of target/debug/kiln
  or $KILN_BIN (skipped when it is missing, or older than bindings-native/src).
"""
import json, os, re, shlex, shutil, subprocess, sys, tempfile
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser
from docker.utils.build import PatternMatcher

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "deploy").resolve()
CONTAINERFILE = DEPLOY / "Containerfile"
LABELS = {"app.kubernetes.io/name": "kiln", "app.kubernetes.io/instance": "kiln", "app.kubernetes.io/part-of": "kiln"}
counts = [0, 0]  # checks, problems


def check(cond, msg):
    counts[0] += 1
    if not cond:
        counts[1] += 1
        print(f"FAIL {msg}")
    return bool(cond)


def rel(p):
    return os.path.relpath(p, ROOT) if str(p).startswith(str(ROOT)) else str(p)


def get(obj, *keys):
    """obj[k1][k2]..., or {} where any level is missing (kubernetes-validate reports bad shapes)."""
    for k in keys:
        obj = obj.get(k) if isinstance(obj, dict) else None
    return {} if obj is None else obj


# --- the manifests against each other ------------------------------------------------------
resources = []
for path in sorted((DEPLOY / "kubernetes").rglob("*")):
    if path.suffix in (".yaml", ".yml", ".json"):
        try:
            resources += [(path, d) for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
        except yaml.YAMLError:
            pass  # yamllint reports it
for path, r in resources:
    check(all(get(r, "metadata", "labels").get(k) == v for k, v in LABELS.items()),
          f"{rel(path)}: {r.get('kind')} lacks the common labels {LABELS}")
    check("namespace" not in get(r, "metadata"), f"{rel(path)}: sets metadata.namespace (the files are namespace-agnostic)")
of_kind = lambda kind: [r for _, r in resources if r.get("kind") == kind]
deployments = of_kind("Deployment")
check(len(deployments) == 1, f"expected one Deployment under {rel(DEPLOY / 'kubernetes')}, found {len(deployments)}")
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
    check(selects(get(svc, "spec", "selector")), f"Service {get(svc, 'metadata').get('name')}: selects no kiln pod")
    for p in get(svc, "spec").get("ports") or []:
        check(is_port(p.get("targetPort")), f"Service targetPort {p.get('targetPort')!r} is not a container port {ports}")
for pdb in of_kind("PodDisruptionBudget"):
    check(selects(get(pdb, "spec", "selector", "matchLabels")), "the PodDisruptionBudget selects no kiln pod")
for hpa in of_kind("HorizontalPodAutoscaler"):
    h, target = get(hpa, "spec"), {"apiVersion": dep.get("apiVersion"), "kind": "Deployment", "name": get(dep, "metadata").get("name")}
    check(get(h, "scaleTargetRef") == target, f"HorizontalPodAutoscaler scaleTargetRef {get(h, 'scaleTargetRef')} is not {target}")
    check(spec.get("replicas", 1) == h.get("minReplicas", 1) <= h.get("maxReplicas", 0),
          f"replicas {spec.get('replicas')!r}, HPA min {h.get('minReplicas')!r} and max {h.get('maxReplicas')!r} disagree")
    if any(get(m, "resource").get("name") == "cpu" for m in h.get("metrics") or []):
        check("cpu" in get(c, "resources", "requests"), "the HPA scales on CPU but the container requests none")
for probe, want in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
    http = get(c, probe, "httpGet")
    check(http.get("path") == want and is_port(http.get("port")), f"{probe} should GET {want} on a container port: {http}")

volumes = {v.get("name"): v for v in pod.get("volumes") or []}
mounts = c.get("volumeMounts") or []
for m in mounts:
    check(m.get("name") in volumes, f"volumeMount {m.get('mountPath')} names no volume ({m.get('name')})")
for v in volumes.values():
    for kind, name_key in (("configMap", "name"), ("secret", "secretName")):
        name = get(v, kind).get(name_key)
        src = next((r for r in of_kind(kind[0].upper() + kind[1:]) if get(r, "metadata").get("name") == name), None)
        if kind in v and check(src, f"volume {v['name']}: {kind} {name} has no manifest under {rel(DEPLOY)}"):
            keys = {k for f in ("data", "stringData", "binaryData") for k in get(src, f)}
            for item in get(v, kind).get("items") or []:
                check(item.get("key") in keys, f"volume {v['name']}: {kind} {name} has no key {item.get('key')} {sorted(keys)}")


def flag_values(flag):
    return [b for a, b in zip(args, args[1:]) if a == flag] + [a.split("=", 1)[1] for a in args if a.startswith(flag + "=")]


env = {e.get("name"): e.get("value") for e in c.get("env") or []}
paths = [(f, p, f == "--kernel-dir") for f in ("--trust", "--admin-token-file", "--canary", "--kernel", "--kernel-dir")
         for p in flag_values(f)]  # (what, path, whether kiln writes there)
if env.get("XDG_CACHE_HOME"):
    paths.append(("XDG_CACHE_HOME", env["XDG_CACHE_HOME"], True))  # the compiled-code cache
for what, path, writable in paths:
    m = max((m for m in mounts if (path + "/").startswith(str(m.get("mountPath")).rstrip("/") + "/")),
            key=lambda m: len(m["mountPath"]), default=None)
    if check(m, f"{what} {path} is on no mounted volume"):
        check(not (writable and m.get("readOnly")), f"{what} {path} is on the read-only mount {m['mountPath']}; kiln writes there")
sc, eff = get(c, "securityContext"), lambda key: get(c, "securityContext").get(key, get(pod, "securityContext").get(key))
run_as = eff("runAsUser")
check(eff("runAsNonRoot") is True and isinstance(run_as, int) and run_as != 0, "runAsNonRoot and a non-zero runAsUser required")
check(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem must be true")
check(env.get("XDG_CACHE_HOME"), "XDG_CACHE_HOME must point into a volume: the root filesystem is read-only")
check(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation must be false")
check("ALL" in (get(sc, "capabilities").get("drop") or []) and not get(sc, "capabilities").get("add"), "capabilities: drop ALL, add none")
check(get(eff("seccompProfile"), "type") == "RuntimeDefault", "seccompProfile must be RuntimeDefault")
check(all(k in get(c, "resources", x) for x in ("requests", "limits") for k in ("cpu", "memory")), "CPU and memory requests and limits")
timeout = int((flag_values("--request-timeout-s") or ["60"])[-1])
pre, grace = get(c, "lifecycle", "preStop", "sleep").get("seconds", 0), pod.get("terminationGracePeriodSeconds", 30)
check(isinstance(grace, int) and grace >= pre + timeout,
      f"terminationGracePeriodSeconds {grace} < preStop {pre} s + --request-timeout-s {timeout}: SIGKILL cuts requests")
check(args[:1] == ["serve"], f"the container's args (they replace the image's CMD) should start with `serve`: {args[:1]}")

# --- the Containerfile and its build context (the repository root) -------------------------
ignore = ROOT / ".dockerignore"
patterns = [l.strip() for l in ignore.read_text().splitlines() if l.strip() and not l.startswith("#")] if ignore.exists() else []
context = {p for p in PatternMatcher(patterns).walk(str(ROOT)) if not (ROOT / p).is_dir() or (ROOT / p).is_symlink()}
check(patterns, ".dockerignore is missing or empty at the repository root")
for leak in ("target", "node_modules", ".git", "fuzz"):
    check(not any(f"/{leak}/" in f"/{f}" for f in context), f"the build context includes files of {leak}/: fix .dockerignore")
check(not any(f.endswith(".key") for f in context), "the build context includes a *.key file: fix .dockerignore")
in_context = lambda p: p in context or any(p == "." or f.startswith(p + "/") for f in context)

stages, instructions = [], []  # per FROM: workdir, copies (sources, dest, workdir, --from?), runs (command, workdir), ...
if check(CONTAINERFILE.exists(), f"{rel(CONTAINERFILE)} is missing"):
    with open(CONTAINERFILE, "rb") as f:
        instructions = DockerfileParser(fileobj=f).structure
for ins in instructions:
    kind, value, where = ins["instruction"], ins["value"], f"{rel(CONTAINERFILE)}:{ins['startline'] + 1}"
    if kind == "FROM":
        stages.append({"workdir": "/", "copies": [], "runs": [], "user": "", "expose": [], "entrypoint": None, "cmd": []})
    if not stages:
        continue
    st = stages[-1]
    if kind == "WORKDIR":
        st["workdir"] = os.path.normpath(os.path.join(st["workdir"], value.strip()))
    elif kind == "RUN":
        st["runs"].append((value, st["workdir"]))
    elif kind == "USER":
        st["user"] = value.strip()
    elif kind == "EXPOSE":
        st["expose"] += [p.split("/")[0] for p in value.split()]
    elif kind in ("ENTRYPOINT", "CMD"):
        st[kind.lower()] = json.loads(value) if value.lstrip().startswith("[") else value  # shell form: hadolint
    elif kind in ("COPY", "ADD"):
        words = json.loads(value) if value.lstrip().startswith("[") else shlex.split(value)
        from_stage = any(w.startswith("--from=") for w in words)
        *sources, dest = [w for w in words if not w.startswith("--")]
        st["copies"].append((sources, dest, st["workdir"], from_stage))
        for src in [] if from_stage else sources:
            hits = [os.path.relpath(p, ROOT) for p in ROOT.glob(os.path.normpath(src.lstrip("/") or "."))]
            if check(hits, f"{where}: {kind} source {src} does not exist"):
                check(all(in_context(h) for h in hits), f"{where}: {kind} source {src} is excluded by .dockerignore")

builder = next((s for s in stages if any("cargo build" in r for r, _ in s["runs"])), None)
if check(builder, f"{rel(CONTAINERFILE)}: no stage runs `cargo build`"):
    run, workdir = next((r, w) for r, w in builder["runs"] if "cargo build" in r)
    stage = Path(tempfile.mkdtemp(prefix="kiln-context-"))
    try:  # the files the build stage's COPYs put under the build's WORKDIR, laid out as they do
        for sources, dest, copy_dir, from_stage in builder["copies"]:
            dest_abs, into = os.path.normpath(os.path.join(copy_dir, dest)), dest.endswith("/") or len(sources) > 1
            for src in [] if from_stage else sources:
                src = os.path.normpath(src.lstrip("/") or ".")
                if (ROOT / src).is_dir():
                    pairs = [(f, os.path.join(dest_abs, os.path.relpath(f, src))) for f in context
                             if src == "." or f.startswith(src + "/")]
                elif src in context:
                    pairs = [(src, os.path.join(dest_abs, os.path.basename(src)) if into else dest_abs)]
                else:
                    pairs = []
                for f, target in pairs:
                    if (target + "/").startswith(workdir.rstrip("/") + "/"):
                        (stage / os.path.relpath(target, workdir)).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(ROOT / f, stage / os.path.relpath(target, workdir))
        for rs in stage.rglob("*.rs"):  # files the sources read at compile time
            text, crate = rs.read_text(errors="ignore"), next(p for p in rs.parents if (p / "Cargo.toml").exists())
            refs = [rs.parent / m for m in re.findall(r'include_(?:str|bytes)!\(\s*"([^"]+)"', text)]
            refs += [crate / m for m in re.findall(r'generate!\(\{[^}]*?path:\s*"([^"]+)"', text, re.S)]
            for ref in refs:
                check(ref.exists(), f"build stage: {rs.relative_to(stage)} reads {os.path.relpath(ref, rs.parent)}, not in the context")
        plans = [("cargo metadata --locked", ["cargo", "metadata", "--format-version", "1", "--locked"])]
        cargo_args = shlex.split(re.search(r"cargo build([^&;|]*)", run).group(1))
        if not check(shutil.which("cargo"), "cargo is not on PATH (~/.cargo/bin): cannot check the build stage"):
            plans = []
        elif subprocess.run(["cargo", "+nightly", "--version"], capture_output=True).returncode == 0:
            plans.append((f"cargo build {' '.join(cargo_args)} (planned by nightly's --unit-graph)",
                          ["cargo", "+nightly", "build", *cargo_args, "-Z", "unstable-options", "--unit-graph"]))
        else:
            print("note: no nightly cargo: the image's cargo build is not planned (misses a declared bench or bin left out)")
        for what, cmd in plans:
            cargo_env = dict(os.environ, CARGO_TARGET_DIR=str(stage / "target"))
            done = subprocess.run(cmd + ["--offline"], cwd=stage, env=cargo_env, capture_output=True, text=True)
            if done.returncode and "offline" in done.stderr:  # crates not cached here yet: fetch them
                done = subprocess.run(cmd, cwd=stage, env=cargo_env, capture_output=True, text=True)
            check(done.returncode == 0, f"build stage: {what} fails on what the context admits:\n{done.stderr.strip()}")
    finally:
        shutil.rmtree(stage, ignore_errors=True)

final = stages[-1] if len(stages) > 1 else {}
user = str(final.get("user", "")).split(":")[0]
check(user.isdigit() and user != "0" and user == str(run_as),
      f"final stage: USER {final.get('user')!r} should be numeric, not root, and the Deployment's runAsUser {run_as}")
ep = final.get("entrypoint")
check(isinstance(ep, list) and ep and ep[0] in [d for _, d, _, _ in final.get("copies", [])],
      f"final stage: ENTRYPOINT {ep!r} should be the exec form of a file the stage copies in")
check(str(ports.get("http")) in final.get("expose", []), f"final stage EXPOSEs {final.get('expose')}, not the http port {ports.get('http')}")

# --- the flags of the Deployment (and CMD) vs `kiln serve --help` ---------------------------
flags = sorted({a.split("=", 1)[0] for a in args + (final.get("cmd") or []) if a.startswith("--")})
binary = Path(os.environ.get("KILN_BIN") or ROOT / "target/debug/kiln")
newest = max((p.stat().st_mtime for p in (ROOT / "bindings-native/src").rglob("*.rs")), default=0)
if not binary.exists():
    print(f"note: kiln serve flags not checked: {rel(binary)} is not built")
elif not os.environ.get("KILN_BIN") and binary.stat().st_mtime < newest:
    print(f"note: kiln serve flags not checked: {rel(binary)} is older than bindings-native/src (rebuild, or set KILN_BIN)")
else:
    done = subprocess.run([str(binary), "serve", "--help"], capture_output=True, text=True, timeout=30)
    known = set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", done.stdout))
    if check(done.returncode == 0 and known, f"{rel(binary)} serve --help failed: {done.stderr.strip()}"):
        for flag in flags:
            check(flag in known, f"`kiln serve {flag}` (Deployment args or CMD) is not in `{rel(binary)} serve --help`")
        print(f"note: {len(flags)} kiln serve flags checked against {rel(binary)} serve --help")

print(f"{counts[0] - counts[1]} passed, {counts[1]} failed")
sys.exit(1 if counts[1] else 0)
