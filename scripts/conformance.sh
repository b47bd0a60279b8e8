#!/usr/bin/env bash
# The conformance matrix: kiln's own cases (tests/cases) plus the public suites
# (csv-spectrum, JSONTestSuite, PngSuite, gzip/pigz interop; generated into
# target/suites by tests/suites/generate.py) on all seven targets (native, the kernel
# component in wasmtime, the npm package in Node and Chromium, the Worker in workerd, the
# kernel component in wasmtime-py, kiln-http under `wasmtime serve`), each case's bytes
# compared with the native kernel's. Then the same matrix streamed (`--stream`): every case
# whose pipeline streams goes through each target's streaming session (its input cut by
# a plan drawn from KILN_STREAM_SEED, else the time, printed with the summary) and must
# give the whole run's bytes. Prints each case x target matrix; exits non-zero on
# anything but a pass or a skip with its reason.
#
#   scripts/conformance.sh            # set up, build the npm package, the Worker and kiln-http, run
#   scripts/conformance.sh --built    # what scripts/test.sh uses: all three are built already
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--built" ]; then
    ./scripts/setup.sh
    ./scripts/build-web.sh --package
    ./scripts/build-edge.sh
    ./scripts/build-wasi-http.sh
fi
# The `kiln` binary the workspace tests build (same features as in scripts/test.sh, so
# nothing is rebuilt there); generate.py uses it for kiln -> gzip/pigz.
cargo test --locked -q --workspace --no-run
/usr/bin/python3 tests/suites/generate.py --kiln target/debug/kiln --out target/suites
targets=native,wasmtime,node,chromium,workerd,wasmtime-py,wasi-http
cargo run --locked -q -p kiln-cases -- --cases tests/cases --cases target/suites --targets "$targets"
cargo run --locked -q -p kiln-cases -- --cases tests/cases --cases target/suites --targets "$targets" --stream
