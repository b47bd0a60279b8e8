#!/usr/bin/env python3
"""Checks deploy/spin/ offline: spin.toml (Spin's application manifest, version 2) and spinapp.yaml
(SpinKube's SpinApp, core.spinkube.dev/v1alpha1). Neither schema is on a package registry and
Spin's own tool (`spin`, which validates spin.toml) is not on crates.io, so this checks the keys
and values of the documented manifest formats (Spin 3 manifest reference, SpinKube's SpinApp
reference) plus kiln's own rules: the component is the file scripts/build-wasi-http.sh writes,
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

print(f"{'FAIL' if failed else 'ok'}: deploy/spin ({len(failed)} problems)")
sys.exit(1 if failed else 0)
