#!/usr/bin/env bash
# Checks the deployment files offline: no cluster, no container engine, no network
# beyond PyPI (once, for the tools) and, when nothing is cached, crates.io.
#
#   - every manifest under deploy/kubernetes/ (examples/ too) against the Kubernetes
#     JSON schemas bundled in kubernetes-validate, strictly (unknown fields fail), for
#     each version in KUBE_VERSIONS (default: 1.30, the oldest supported - the preStop
#     sleep action is on by default from 1.30 - and the newest bundled); an unknown
#     kind or apiVersion fails too (kubernetes-validate alone only warns); duplicate
#     YAML keys fail (YAML loaders keep the last one silently);
#   - the manifests against each other: selectors, labels, named ports, volumes, the
#     ConfigMap/Secret keys, paths given to kiln lying in mounted volumes (writable
#     where kiln writes), the security settings, the grace period vs the request timeout;
#   - deploy/Containerfile, parsed with dockerfile-parse: a pinned FROM per stage, every
#     COPY source present and not excluded by .dockerignore (whose rules are applied as
#     Docker does); the builder's files staged as its COPYs lay them out and the image's
#     two cargo builds (kiln, and the wasm guest its build script makes) planned there
#     with --locked (nightly's --unit-graph: nothing is compiled; `cargo metadata` when
#     there is no nightly), and the include_str!/include_bytes!/wit paths inside it
#     present; a numeric non-root USER and an exec ENTRYPOINT in the final stage that
#     match the Deployment;
#   - the `--flags` the Deployment passes to `kiln serve` against `kiln serve --help`
#     of target/debug/kiln (or $KILN_BIN), when that binary exists and is not older than
#     bindings-native/src (scripts/test.sh runs this before the tests build it).
#
# The tools live in a venv, target/deploy-venv, made on the first run and reused after
# (a second run takes about a second). Exits non-zero on any problem.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/deploy-venv
requirements=("kubernetes-validate==1.37.*" "dockerfile-parse==2.0.*")
export KUBE_VERSIONS="${KUBE_VERSIONS:-1.30 1.37}"

log() { printf '\033[1;34m[check-deploy]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[check-deploy]\033[0m %s\n' "$*" >&2; exit 1; }

venv_ready() {
    [ -x "$venv/bin/python" ] &&
        [ "$(cat "$venv/.requirements" 2>/dev/null)" = "${requirements[*]}" ] &&
        "$venv/bin/python" -c 'import kubernetes_validate, dockerfile_parse, yaml' 2>/dev/null
}

if ! venv_ready; then
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    # pyenv's python3 when it is first on PATH, else Debian's; whichever makes a venv
    # with a working pip.
    made=""
    for py in python3 /usr/bin/python3; do
        command -v "$py" >/dev/null 2>&1 || continue
        if "$py" -m venv "$venv" >/dev/null 2>&1 && "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
            made="$py"
            break
        fi
        rm -rf "$venv"
    done
    [ -n "$made" ] || die "could not make a Python venv with pip at $venv (tried python3 and /usr/bin/python3; Debian needs python3-venv)"
    log "pip install ${requirements[*]} into $venv ($("$venv/bin/python" --version), from $made)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}" ||
        die "pip install ${requirements[*]} failed"
    printf '%s' "${requirements[*]}" >"$venv/.requirements"
fi

exec "$venv/bin/python" - <<'PY'
import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser
import kubernetes_validate.utils as kv
from kubernetes_validate.version import __version__ as kv_version

ROOT = Path.cwd()
MANIFESTS = ROOT / "deploy" / "kubernetes"
CONTAINERFILE = ROOT / "deploy" / "Containerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
VERSIONS = os.environ["KUBE_VERSIONS"].split()
COMMON_LABELS = {
    "app.kubernetes.io/name": "kiln",
    "app.kubernetes.io/instance": "kiln",
    "app.kubernetes.io/part-of": "kiln",
}

problems = []
passed = 0


def fail(msg):
    problems.append(msg)
    print(f"\033[1;31mFAIL\033[0m {msg}", flush=True)


def ok(msg):
    global passed
    passed += 1
    print(f"ok   {msg}", flush=True)


def check(cond, good, bad):
    if cond:
        ok(good)
    else:
        fail(bad)
    return cond


def rel(p):
    return str(Path(p).relative_to(ROOT))


# --- manifests: schemas ----------------------------------------------------------


class UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate mapping keys."""


def _mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)

# kubernetes-validate reads the big definitions file for every resource; once is enough.
kv.schema_contents = functools.lru_cache(maxsize=None)(kv.schema_contents)

bundled = kv.all_versions()
print(f"kubernetes-validate {kv_version}: schemas for Kubernetes {kv.major_minor(bundled[0])}.."
      f"{kv.major_minor(bundled[-1])}; checking against {', '.join(VERSIONS)}")

resources = []  # (file, resource)
files = sorted(p for p in MANIFESTS.rglob("*") if p.is_file())
if not files:
    fail(f"no files under {rel(MANIFESTS)}")
for path in files:
    if path.suffix not in (".yaml", ".yml", ".json"):
        fail(f"{rel(path)}: not a manifest (.yaml, .yml or .json): move it out of {rel(MANIFESTS)}")
        continue
    try:
        docs = [d for d in yaml.load_all(path.read_text(), Loader=UniqueKeyLoader) if d is not None]
    except yaml.YAMLError as e:
        fail(f"{rel(path)}: YAML: {' '.join(str(e).split())}")
        continue
    if not docs:
        fail(f"{rel(path)}: no resource in it")
    for doc in docs:
        if not isinstance(doc, dict) or not all(k in doc for k in ("apiVersion", "kind", "metadata")):
            fail(f"{rel(path)}: a document without apiVersion, kind and metadata")
            continue
        name = f"{doc['kind']}/{doc['metadata'].get('name', '?')}"
        resources.append((path, doc))
        for version in VERSIONS:
            try:
                kv.validate(doc, version, strict=True)
                ok(f"{rel(path)}: {name} valid for Kubernetes {version} (strict)")
            except kv.ValidationError as e:
                where = ".".join(str(p) for p in e.path) or "(top level)"
                fail(f"{rel(path)}: {name} invalid for Kubernetes {version}: {where}: {e.message}")
            except kv.SchemaNotFoundError as e:
                fail(f"{rel(path)}: {e.message}")
            except kv.VersionNotSupportedError:
                fail(f"Kubernetes {version} is not bundled in this kubernetes-validate "
                     f"({kv.major_minor(bundled[0])}..{kv.major_minor(bundled[-1])}); set KUBE_VERSIONS")
            except kv.InvalidSchemaError as e:
                fail(f"{rel(path)}: {e.message}")

# --- manifests: against each other ---------------------------------------------------


def by_kind(kind):
    return [(p, r) for p, r in resources if r["kind"] == kind]


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


for path, r in resources:
    labels = r["metadata"].get("labels") or {}
    missing = {k: v for k, v in COMMON_LABELS.items() if labels.get(k) != v}
    check(not missing, f"{rel(path)}: {r['kind']} carries the common labels",
          f"{rel(path)}: {r['kind']} lacks labels {missing}")
    if "namespace" in r["metadata"]:
        fail(f"{rel(path)}: {r['kind']} sets metadata.namespace (the manifests are namespace-agnostic)")

deployments = by_kind("Deployment")
if len(deployments) != 1:
    fail(f"expected one Deployment under {rel(MANIFESTS)}, found {len(deployments)}")
    deployment = None
else:
    dpath, deployment = deployments[0]

configmaps = {r["metadata"]["name"]: r for _, r in by_kind("ConfigMap")}
secrets = {r["metadata"]["name"]: r for _, r in by_kind("Secret")}
container = None
args = []
if deployment:
    spec = deployment.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    pod_labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
    check(matches(spec.get("selector", {}).get("matchLabels"), pod_labels),
          "Deployment selector matches its pod labels", "Deployment selector does not match its pod labels")
    containers = pod.get("containers", [])
    container = next((c for c in containers if c.get("name") == "kiln"), containers[0] if containers else None)
    if container is None:
        fail("Deployment has no container")
        container = {}
    args = [str(a) for a in container.get("args", [])]
    ports = {p.get("name"): p.get("containerPort") for p in container.get("ports", [])}

    for _, svc in by_kind("Service"):
        check(matches(svc["spec"].get("selector"), pod_labels) and svc["spec"].get("selector"),
              f"Service {svc['metadata']['name']} selects the kiln pods",
              f"Service {svc['metadata']['name']} selector does not match the pod labels")
        for port in svc["spec"].get("ports", []):
            target = port.get("targetPort")
            check(target in ports or target in ports.values(),
                  f"Service port {port.get('port')} -> {target} exists on the container",
                  f"Service targetPort {target!r} is not a container port ({ports})")
    for _, pdb in by_kind("PodDisruptionBudget"):
        check(matches(pdb["spec"].get("selector", {}).get("matchLabels"), pod_labels),
              "PodDisruptionBudget selects the kiln pods", "PodDisruptionBudget selector does not match the pod labels")
    for _, hpa in by_kind("HorizontalPodAutoscaler"):
        ref = hpa["spec"].get("scaleTargetRef", {})
        check(ref.get("kind") == "Deployment" and ref.get("name") == deployment["metadata"]["name"]
              and ref.get("apiVersion") == deployment["apiVersion"],
              "HorizontalPodAutoscaler targets the Deployment",
              f"HorizontalPodAutoscaler scaleTargetRef {ref} is not the Deployment")
        lo, hi = hpa["spec"].get("minReplicas", 1), hpa["spec"].get("maxReplicas")
        check(isinstance(hi, int) and lo <= hi and spec.get("replicas", 1) == lo,
              f"replicas {spec.get('replicas')} = HPA minReplicas {lo} <= maxReplicas {hi}",
              f"replicas {spec.get('replicas')}, HPA minReplicas {lo}, maxReplicas {hi} disagree")
        if any(m.get("resource", {}).get("name") == "cpu" for m in hpa["spec"].get("metrics", [])):
            check("cpu" in container.get("resources", {}).get("requests", {}),
                  "the HPA scales on CPU and the container requests CPU",
                  "the HPA scales on CPU utilisation but the container has no CPU request")

    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        probe = container.get(kind)
        if not probe:
            fail(f"container has no {kind}")
            continue
        http = probe.get("httpGet", {})
        want = "/readyz" if kind == "readinessProbe" else "/healthz"
        check(http.get("path") == want and (http.get("port") in ports or http.get("port") in ports.values()),
              f"{kind}: GET {http.get('path')} on port {http.get('port')}",
              f"{kind} should be GET {want} on a container port, is {http}")

    # Volumes, mounts, and the ConfigMap/Secret keys they use.
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = container.get("volumeMounts", [])
    for m in mounts:
        check(m["name"] in volumes, f"volumeMount {m['mountPath']} has its volume",
              f"volumeMount {m['mountPath']} names no volume ({m['name']})")
    for v in volumes.values():
        for kind, store, key_of in (("configMap", configmaps, "name"), ("secret", secrets, "secretName")):
            if kind in v:
                name = v[kind].get(key_of)
                src = store.get(name)
                if not check(src is not None, f"volume {v['name']}: {kind} {name} has an example manifest",
                             f"volume {v['name']}: {kind} {name} has no manifest under {rel(MANIFESTS)}"):
                    continue
                keys = set(src.get("data") or {}) | set(src.get("stringData") or {}) | set(src.get("binaryData") or {})
                for item in v[kind].get("items", []):
                    check(item["key"] in keys, f"volume {v['name']}: key {item['key']} exists in {kind} {name}",
                          f"volume {v['name']}: key {item['key']} missing from {kind} {name} (has {sorted(keys)})")

    def mount_for(path):
        best = None
        for m in mounts:
            mp = m["mountPath"].rstrip("/")
            if path == mp or path.startswith(mp + "/"):
                if best is None or len(mp) > len(best["mountPath"].rstrip("/")):
                    best = m
        return best

    def flag_values(flag):
        out = []
        for i, a in enumerate(args):
            if a == flag and i + 1 < len(args):
                out.append(args[i + 1])
            elif a.startswith(flag + "="):
                out.append(a.split("=", 1)[1])
        return out

    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    paths = [("--trust", p, False) for p in flag_values("--trust")]
    paths += [("--admin-token-file", p, False) for p in flag_values("--admin-token-file")]
    paths += [("--canary", p, False) for p in flag_values("--canary")]
    paths += [("--kernel-dir", p, True) for p in flag_values("--kernel-dir")]
    paths += [("XDG_CACHE_HOME", env["XDG_CACHE_HOME"], True)] if env.get("XDG_CACHE_HOME") else []
    sc = container.get("securityContext", {})
    if sc.get("readOnlyRootFilesystem") and not env.get("XDG_CACHE_HOME"):
        fail("readOnlyRootFilesystem without XDG_CACHE_HOME on a volume: the compiled-code cache has nowhere to go")
    for what, path, writable in paths:
        m = mount_for(path)
        if m is None:
            fail(f"{what} {path} is on no mounted volume")
        elif writable and m.get("readOnly"):
            fail(f"{what} {path} is on a read-only mount ({m['mountPath']}) but kiln writes there")
        else:
            ok(f"{what} {path} is on the volume {m['name']}{' (writable)' if writable else ''}")

    # Security settings (pod level or container level).
    psc = pod.get("securityContext", {})
    def eff(key):
        return sc.get(key, psc.get(key))
    check(eff("runAsNonRoot") is True and isinstance(eff("runAsUser"), int) and eff("runAsUser") != 0,
          f"runs as non-root user {eff('runAsUser')}", "runAsNonRoot and a non-zero runAsUser are required")
    check(sc.get("readOnlyRootFilesystem") is True, "read-only root filesystem", "readOnlyRootFilesystem must be true")
    check(sc.get("allowPrivilegeEscalation") is False, "no privilege escalation", "allowPrivilegeEscalation must be false")
    check("ALL" in sc.get("capabilities", {}).get("drop", []) and not sc.get("capabilities", {}).get("add"),
          "capabilities: drop ALL", "capabilities must drop ALL and add none")
    check((eff("seccompProfile") or {}).get("type") == "RuntimeDefault", "seccomp RuntimeDefault",
          "seccompProfile must be RuntimeDefault")
    check(all(k in container.get("resources", {}).get(x, {}) for x in ("requests", "limits") for k in ("cpu", "memory")),
          "CPU and memory requests and limits set", "the container needs CPU and memory requests and limits")

    # Grace period: preStop + the longest request (--request-timeout-s, default 60).
    timeout = int((flag_values("--request-timeout-s") or ["60"])[-1])
    pre = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check(grace >= pre + timeout, f"terminationGracePeriodSeconds {grace} >= preStop {pre} s + request timeout {timeout} s",
          f"terminationGracePeriodSeconds {grace} < preStop {pre} s + request timeout {timeout} s: "
          "SIGKILL would cut requests in flight")
    check(args[:1] == ["serve"], "container args start with the serve subcommand",
          f"container args should start with `serve`, are {args[:1]}")

# --- Containerfile -------------------------------------------------------------------

INSTRUCTIONS = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
                "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "MAINTAINER", "COMMENT"}


def dockerignore_rules(path):
    """The patterns of a .dockerignore as (regex, exclusion), cleaned the way Docker does."""
    rules = []
    if not path.exists():
        return rules
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        pattern = os.path.normpath(pattern) if pattern else pattern
        if len(pattern) > 1 and pattern.startswith("/"):
            pattern = pattern[1:]
        regex, i = "^", 0
        while i < len(pattern):
            ch = pattern[i]
            if ch == "*":
                if pattern[i + 1:i + 2] == "*":
                    i += 1
                    if pattern[i + 1:i + 2] == "/":
                        i += 1
                    regex += ".*" if i + 1 >= len(pattern) else "(.*/)?"
                else:
                    regex += "[^/]*"
            elif ch == "?":
                regex += "[^/]"
            elif ch in "[]":
                regex += ch
            elif ch == "\\" and i + 1 < len(pattern):
                i += 1
                regex += re.escape(pattern[i])
            else:
                regex += re.escape(ch)
            i += 1
        rules.append((re.compile(regex + "$"), not invert, pattern))
    return rules


def excluded(rules, path):
    """Docker's MatchesOrParentMatches: the last rule matching the path or a parent wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    result = False
    for regex, exclude, _ in rules:
        if any(regex.match(c) for c in candidates):
            result = exclude
    return result


def context_files(rules):
    """Every file of the build context (the repo root minus .dockerignore), as relative paths."""
    reincluded = [p for _, exclude, p in rules if not exclude]
    def may_hold_reincluded(d):
        # An excluded folder is walked only if a `!` rule may re-include something in it.
        for p in reincluded:
            literal = re.split(r"[*?\[]", p, maxsplit=1)[0]
            if p.startswith(d + "/") or (literal != p and (d + "/").startswith(literal)):
                return True
        return False
    out = set()
    for dirpath, dirnames, filenames in os.walk(ROOT):
        reldir = os.path.relpath(dirpath, ROOT)
        reldir = "" if reldir == "." else reldir
        keep = []
        for d in dirnames:
            rd = f"{reldir}/{d}" if reldir else d
            if os.path.islink(os.path.join(dirpath, d)):
                if not excluded(rules, rd):
                    out.add(rd)
                continue
            if excluded(rules, rd) and not may_hold_reincluded(rd):
                continue
            keep.append(d)
        dirnames[:] = keep
        for f in filenames:
            rf = f"{reldir}/{f}" if reldir else f
            if not excluded(rules, rf):
                out.add(rf)
    return out


if not CONTAINERFILE.exists():
    fail(f"{rel(CONTAINERFILE)} is missing")
    instructions = []
else:
    with open(CONTAINERFILE, "rb") as f:
        instructions = [i for i in DockerfileParser(fileobj=f).structure if i["instruction"] != "COMMENT"]

rules = dockerignore_rules(DOCKERIGNORE)
check(DOCKERIGNORE.exists(), ".dockerignore exists at the build context root", ".dockerignore missing at the repo root")
context = context_files(rules)
print(f"build context: {len(context)} files after .dockerignore")
for leak in ("target", "node_modules", ".git", "fuzz/corpus", "fuzz/artifacts"):
    check(not any(f == leak or f.startswith(leak + "/") or f"/{leak}/" in f"/{f}" for f in context),
          f"build context leaves out {leak}/", f"build context includes files of {leak}/: fix .dockerignore")
for f in sorted(context):
    if f.endswith(".key") or (f.endswith(".pem") and "PRIVATE KEY" in (ROOT / f).read_text(errors="ignore")):
        fail(f"build context includes a private key: {f}")

stages = []  # {"name", "image", "workdir", "copies": [(sources, dest, from)], "user", "entrypoint", "expose", "runs"}
for ins in instructions:
    kind, value, line = ins["instruction"], ins["value"], ins["startline"] + 1
    where = f"{rel(CONTAINERFILE)}:{line}"
    if kind not in INSTRUCTIONS:
        fail(f"{where}: unknown instruction {kind}")
        continue
    if kind == "FROM":
        words = [w for w in value.split() if not w.startswith("--")]
        image = words[0] if words else ""
        name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
        last = image.rsplit("/", 1)[-1]
        pinned = "@sha256:" in image or (":" in last and not last.endswith(":latest"))
        check(pinned or image in [s["name"] for s in stages],
              f"{where}: FROM {image} (pinned)", f"{where}: FROM {image} is not pinned by tag or digest")
        stages.append({"name": name, "image": image, "workdir": "/", "copies": [], "user": None,
                       "entrypoint": None, "expose": [], "runs": []})
        continue
    if not stages:
        if kind != "ARG":
            fail(f"{where}: {kind} before the first FROM")
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
    elif kind == "ENTRYPOINT":
        try:
            st["entrypoint"] = json.loads(value)
        except json.JSONDecodeError:
            st["entrypoint"] = value  # shell form: reported below
    elif kind in ("COPY", "ADD"):
        words = json.loads(value) if value.lstrip().startswith("[") else shlex.split(value)
        flags = [w for w in words if w.startswith("--")]
        words = [w for w in words if not w.startswith("--")]
        source_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
        if len(words) < 2:
            fail(f"{where}: {kind} needs a source and a destination")
            continue
        *sources, dest = words
        st["copies"].append((sources, dest, source_stage, where))
        if source_stage is not None:
            check(source_stage in [s["name"] for s in stages[:-1]] or ":" in source_stage or "/" in source_stage,
                  f"{where}: {kind} --from={source_stage} names an earlier stage",
                  f"{where}: {kind} --from={source_stage}: no earlier stage of that name")
            continue
        for src in sources:
            if re.match(r"^[a-z]+://", src):
                fail(f"{where}: {kind} from a URL ({src}): not reproducible offline")
                continue
            norm = os.path.normpath(src.lstrip("/")) if src.lstrip("/") else "."
            if any(ch in norm for ch in "*?["):
                glob = "^" + re.escape(norm).replace(r"\*", "[^/]*").replace(r"\?", "[^/]") + "(/.*)?$"
                hits = [f for f in context if re.match(glob, f)]
                check(hits, f"{where}: {kind} {src} matches {len(hits)} context files",
                      f"{where}: {kind} {src} matches nothing in the build context")
                continue
            if not (ROOT / norm).exists():
                fail(f"{where}: {kind} source {src} does not exist in the repo")
            elif (ROOT / norm).is_dir():
                inside = [f for f in context if norm == "." or f.startswith(norm + "/")]
                check(inside, f"{where}: {kind} {src}/ ({len(inside)} files in the context)",
                      f"{where}: {kind} {src}/ is excluded by .dockerignore (no file of it is in the context)")
            else:
                check(norm in context, f"{where}: {kind} {src} (in the context)",
                      f"{where}: {kind} source {src} is excluded by .dockerignore")

check(len(stages) >= 2, f"{len(stages)} stages, each with its FROM", "expected a build stage and a runtime stage")
final = stages[-1] if stages else None
if final:
    user = (final["user"] or "").split(":")[0]
    check(user.isdigit() and int(user) != 0, f"final stage runs as USER {final['user']}",
          f"final stage needs a numeric non-root USER (runAsNonRoot checks the number), has {final['user']!r}")
    ep = final["entrypoint"]
    if check(isinstance(ep, list) and ep, f"final stage ENTRYPOINT {ep}", "final stage needs an exec-form ENTRYPOINT"):
        copied = [d for _, d, _, _ in final["copies"]]
        check(ep[0] in copied, f"ENTRYPOINT {ep[0]} is copied into the final stage",
              f"ENTRYPOINT {ep[0]} is not a COPY destination of the final stage ({copied})")
    if container:
        port = str(next((p["containerPort"] for p in container.get("ports", []) if p.get("name") == "http"), ""))
        check(port in final["expose"], f"EXPOSE {port} = the Deployment's containerPort",
              f"final stage EXPOSEs {final['expose']}, the Deployment's http port is {port}")
        uid = (container.get("securityContext", {}).get("runAsUser")
               or (deployment or {}).get("spec", {}).get("template", {}).get("spec", {}).get("securityContext", {}).get("runAsUser"))
        check(str(uid) == user, f"USER {user} = the Deployment's runAsUser",
              f"USER {user} differs from the Deployment's runAsUser {uid}")

# The build stage: stage its files as the COPYs lay them out, then let cargo resolve the
# workspace from exactly those (every member's manifest and declared targets, the
# [patch] path, Cargo.lock with --locked).
builder = next((s for s in stages if any("cargo build" in r for r, _ in s["runs"])), None)
if builder is None:
    fail("no stage runs `cargo build`")
else:
    workdir = next(w for r, w in builder["runs"] if "cargo build" in r)
    stage = Path(tempfile.mkdtemp(prefix="kiln-context-"))
    try:
        for sources, dest, source_stage, where in builder["copies"]:
            if source_stage is not None:
                continue
            dest_abs = os.path.normpath(os.path.join(builder["workdir"], dest))
            into_dir = dest.endswith("/") or len(sources) > 1
            for src in sources:
                norm = os.path.normpath(src.lstrip("/")) if src.lstrip("/") else "."
                if (ROOT / norm).is_dir():
                    pairs = [(f, os.path.join(dest_abs, os.path.relpath(f, norm))) for f in context
                             if norm == "." or f.startswith(norm + "/")]
                else:
                    target = os.path.join(dest_abs, os.path.basename(norm)) if into_dir else dest_abs
                    pairs = [(norm, target)] if norm in context else []
                for f, target in pairs:
                    if not (target + "/").startswith(workdir.rstrip("/") + "/"):
                        continue
                    out = stage / os.path.relpath(target, workdir)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(ROOT / f, out)
        # Paths the sources read at compile time must be in the staged tree.
        for rs in stage.rglob("*.rs"):
            text = rs.read_text(errors="ignore")
            refs = [(m, rs.parent) for m in re.findall(r'include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)', text)]
            crate = next((p for p in rs.parents if (p / "Cargo.toml").exists()), stage)
            refs += [(m, crate) for m in re.findall(r'generate!\(\{[^}]*?path:\s*"([^"]+)"', text, re.S)]
            for ref, base in refs:
                check((base / ref).exists(), f"builder: {rs.relative_to(stage)} reads {ref} (present)",
                      f"builder: {rs.relative_to(stage)} reads {ref}, which the build context does not carry")
        # The build's plan (nightly cargo's --unit-graph: resolved and planned, nothing
        # compiled) loads every manifest as the build does - a missing declared bench or
        # bin fails it, where `cargo metadata` would let it pass. Both cargo runs of the
        # build: the binary, and the wasm guest its build script builds.
        env = dict(os.environ, CARGO_TARGET_DIR=str(stage / "target"))
        manifest = ["--manifest-path", str(stage / "Cargo.toml"), "--locked"]
        if shutil.which("cargo") is None:
            fail("builder: cargo is not on PATH (~/.cargo/bin); cannot plan the image's build")
            plans = []
        elif subprocess.run(["cargo", "+nightly", "--version"], capture_output=True).returncode == 0:
            plans = [
                ("cargo build --release -p kiln-native --bin kiln",
                 ["cargo", "+nightly", "build", "--release", "-p", "kiln-native", "--bin", "kiln"]),
                ("the guest build (-p kiln-guest --target wasm32-unknown-unknown)",
                 ["cargo", "+nightly", "build", "--release", "-p", "kiln-guest", "--target", "wasm32-unknown-unknown"]),
            ]
            plans = [(what, cmd + manifest + ["-Z", "unstable-options", "--unit-graph"]) for what, cmd in plans]
        else:
            print("note: no nightly cargo; `cargo metadata` instead of the build plan (misses missing bench files)")
            plans = [("cargo metadata", ["cargo", "metadata", "--format-version", "1"] + manifest)]
        for what, cmd in plans:
            run = subprocess.run(cmd + ["--offline"], capture_output=True, text=True, env=env)
            if run.returncode != 0 and "offline" in run.stderr:
                run = subprocess.run(cmd, capture_output=True, text=True, env=env)  # fetch what is not cached
            if run.returncode == 0:
                ok(f"builder: {what} --locked plans from the build context alone")
            else:
                fail(f"builder: {what} --locked fails on the build context:\n{run.stderr.strip()}")
    finally:
        shutil.rmtree(stage, ignore_errors=True)

# --- the Deployment's flags vs `kiln serve --help` ----------------------------------

flags = sorted({a.split("=", 1)[0] for a in args if a.startswith("--")})
binary = Path(os.environ.get("KILN_BIN") or ROOT / "target" / "debug" / "kiln")
if not binary.exists():
    print(f"skip flags: {binary} not built (the Deployment passes {' '.join(flags)})")
else:
    sources = [p for p in (ROOT / "bindings-native" / "src").rglob("*.rs")]
    newest = max((p.stat().st_mtime for p in sources), default=0)
    if not os.environ.get("KILN_BIN") and binary.stat().st_mtime < newest:
        print(f"skip flags: {rel(binary)} is older than bindings-native/src (rebuild it, or set KILN_BIN)")
    else:
        run = subprocess.run([str(binary), "serve", "--help"], capture_output=True, text=True, timeout=30)
        known = set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", run.stdout))
        if run.returncode != 0 or not known:
            fail(f"{binary} serve --help failed: {run.stderr.strip()}")
        for flag in flags:
            check(flag in known, f"`kiln serve {flag}` exists ({binary.name} serve --help)",
                  f"the Deployment passes {flag}, which `{binary} serve --help` does not list")

print()
if problems:
    print(f"check-deploy: {len(problems)} problem(s), {passed} checks passed", file=sys.stderr)
    for p in problems:
        print(f"  - {p.splitlines()[0]}", file=sys.stderr)
    sys.exit(1)
print(f"check-deploy: all {passed} checks passed")
PY
