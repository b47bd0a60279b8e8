#!/usr/bin/env python3
"""Checks deploy/spin/ offline: spin.toml (Spin's application manifest, version 2) and spinapp.yaml
(SpinKube's SpinApp, core.spinkube.dev/v1alpha1). Spin's own tool (`spin`, which validates
spin.toml) and its manifest crate are not on crates.io and no registry has a schema of spin.toml,
so that file is checked against the keys and values of the documented format (Spin 3 manifest
reference). The SpinApp is validated against SpinKube's own CRD schema, vendored in
third_party/spinkube/ (no registry has it either), as the API server would with strict field
validation: types, required fields, enums, and no unknown field. Plus kiln's own rules: the component is the file scripts/build-wasi-http.sh writes,
the routes and health checks are kiln-http's. scripts/check-deploy.sh runs it (yamllint first).
Usage: check-deploy-spin.py [DEPLOY_DIR]
"""
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPIN = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "deploy").resolve() / "spin"
failed = []


def check(cond, msg):
    if not cond:
        failed.append(msg)
        print(f"FAIL {msg}")


def keys_within(table, allowed, where):
    extra = sorted(set(table) - set(allowed)) if isinstance(table, dict) else ["(not a table)"]
    check(not extra, f"{where}: unknown keys {extra}")


# --- spin.toml -------------------------------------------------------------------------------------
manifest = tomllib.loads((SPIN / "spin.toml").read_text())
keys_within(manifest, ["spin_manifest_version", "application", "variables", "trigger", "component"], "spin.toml")
check(manifest.get("spin_manifest_version") == 2, "spin.toml: spin_manifest_version must be 2")
app = manifest.get("application", {})
keys_within(app, ["name", "version", "description", "authors", "targets", "trigger"], "[application]")
check(isinstance(app.get("name"), str) and app["name"], "[application]: name is required")
triggers = manifest.get("trigger", {})
keys_within(triggers, ["http"], "[trigger]")
components = manifest.get("component", {})
for t in triggers.get("http", []):
    keys_within(t, ["id", "route", "component", "executor"], "[[trigger.http]]")
    check(t.get("route") == "/...", "[[trigger.http]]: route must be /... (kiln-http routes every path itself)")
    check(t.get("component") in components, f"[[trigger.http]]: component {t.get('component')!r} is not defined")
check(len(triggers.get("http", [])) == 1, "spin.toml: one HTTP trigger")
COMPONENT_KEYS = ["description", "source", "files", "exclude_files", "allowed_outbound_hosts", "allowed_http_hosts",
                  "key_value_stores", "environment", "sqlite_databases", "ai_models", "build", "tool", "variables",
                  "dependencies_inherit_configuration", "dependencies"]
built = (ROOT / "scripts/build-wasi-http.sh").read_text()
for name, c in components.items():
    keys_within(c, COMPONENT_KEYS, f"[component.{name}]")
    source = (SPIN / c.get("source", "")).resolve()
    check(source == ROOT / "target/components/kiln-http.wasm" and "target/components" in built
          and '"$out/kiln-http.wasm"' in built, f"[component.{name}]: source is not what scripts/build-wasi-http.sh writes")
    check(c.get("allowed_outbound_hosts") == [], f"[component.{name}]: kiln-http makes no outbound requests")
    build = c.get("build", {})
    keys_within(build, ["command", "workdir", "watch"], f"[component.{name}.build]")
    workdir = (SPIN / build.get("workdir", ".")).resolve()
    command = workdir / build.get("command", "").split()[0] if build.get("command") else None
    check(command is not None and command.is_file(), f"[component.{name}.build]: command {command} not found")
    for pattern in build.get("watch", []):
        base = pattern.split("*")[0].rstrip("/")
        check((workdir / base).exists(), f"[component.{name}.build]: watch {pattern!r} matches nothing")

# --- spinapp.yaml ----------------------------------------------------------------------------------
docs = [d for d in yaml.safe_load_all((SPIN / "spinapp.yaml").read_text()) if d]
check(len(docs) == 1, "spinapp.yaml: one resource")
r = docs[0] if docs else {}
check(r.get("apiVersion") == "core.spinkube.dev/v1alpha1" and r.get("kind") == "SpinApp",
      "spinapp.yaml: apiVersion core.spinkube.dev/v1alpha1, kind SpinApp")
keys_within(r, ["apiVersion", "kind", "metadata", "spec"], "spinapp.yaml")
spec = r.get("spec", {})
keys_within(spec, ["image", "executor", "replicas", "enableAutoscaling", "resources", "checks", "variables",
                   "volumes", "volumeMounts", "runtimeConfig", "deploymentAnnotations", "podAnnotations",
                   "podLabels", "imagePullSecrets", "serviceAnnotations", "components", "runtimeClassName",
                   "deploymentLabels", "serviceLabels"], "SpinApp spec")
check(isinstance(spec.get("image"), str) and ":" in spec["image"], "SpinApp spec.image: an image reference with a tag")
check(isinstance(spec.get("executor"), str) and spec["executor"], "SpinApp spec.executor is required")
check(spec.get("enableAutoscaling") or isinstance(spec.get("replicas"), int), "SpinApp: replicas, or autoscaling")
keys_within(spec.get("resources", {}), ["limits", "requests"], "SpinApp spec.resources")
for probe in ("liveness", "readiness"):
    p = spec.get("checks", {}).get(probe, {})
    keys_within(p, ["httpGet", "initialDelaySeconds", "timeoutSeconds", "periodSeconds", "failureThreshold",
                    "successThreshold"], f"SpinApp spec.checks.{probe}")
    check(p.get("httpGet", {}).get("path") == "/healthz", f"SpinApp spec.checks.{probe}: GET /healthz (kiln-http's)")



def strict_errors(value, schema, path="spec"):
    """Fields the schema does not declare (the API server's strict field validation), where
    it declares its fields and does not keep unknown ones."""
    if not isinstance(schema, dict):
        return []
    if isinstance(value, dict) and "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        props = schema["properties"]
        out = [f"{path}.{k}: unknown field" for k in value if k not in props]
        return out + [e for k, v in value.items() if k in props for e in strict_errors(v, props[k], f"{path}.{k}")]
    if isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        return [e for k, v in value.items() for e in strict_errors(v, schema["additionalProperties"], f"{path}.{k}")]
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [e for i, v in enumerate(value) for e in strict_errors(v, schema["items"], f"{path}[{i}]")]
    return []


def crd_errors(resource):
    """The SpinApp checked against SpinKube's CRD (spin-operator, config/crd/bases)."""
    import jsonschema

    crd = yaml.safe_load((ROOT / "third_party/spinkube/core.spinkube.dev_spinapps.yaml").read_text())
    version = resource.get("apiVersion", "").rpartition("/")[2]
    found = [v for v in crd["spec"]["versions"] if v["name"] == version]
    if not found:
        return [f"apiVersion {resource.get('apiVersion')!r}: the CRD serves {[v['name'] for v in crd['spec']['versions']]}"]
    schema = found[0]["schema"]["openAPIV3Schema"]
    errors = [f"{'.'.join(map(str, e.path)) or '(root)'}: {e.message}"
              for e in jsonschema.Draft4Validator(schema).iter_errors(resource)]
    return errors + strict_errors(resource.get("spec", {}), schema["properties"]["spec"])


for e in crd_errors(r):
    check(False, f"SpinApp against SpinKube's CRD: {e}")
if "--self-test" in sys.argv:
    # The CRD check must catch a wrong type, a missing required field and a typo.
    broken = {**r, "spec": {**spec, "replicas": "two", "imagee": "x"}}
    broken["spec"].pop("executor", None)
    found = crd_errors(broken)
    check(len(found) == 3, f"self-test: the CRD check found {found}, expected 3 problems")

print(f"{'FAIL' if failed else 'ok'}: deploy/spin ({len(failed)} problems)")
sys.exit(1 if failed else 0)
