#!/usr/bin/env bash
# Fuzzes the kernel's `run` with cargo-fuzz (libFuzzer + AddressSanitizer, nightly):
#
#   scripts/fuzz.sh [--seconds N] [--jobs J] [TARGET...]
#
# Every target (all of fuzz/fuzz_targets/ when none is named) runs N seconds (default
# 600), J targets at a time (default 1). Seeds come from the repo (fuzz/seeds.py); the
# corpus grows in fuzz/corpus/TARGET and crashes land in fuzz/artifacts/TARGET (both
# ignored by git). Exit status 1 when any target found a crash, a leak, an input slower
# than 10 s or one past 2 GB; its log is in target/fuzz-logs/TARGET.log. A finding becomes a case in tests/cases/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

seconds=600
jobs=1
targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(cd fuzz && cargo +nightly fuzz list)
fi
if ((${#targets[@]} == 0)); then
  echo "no fuzz targets (cargo +nightly fuzz list failed?)" >&2
  exit 1
fi

seeds=target/fuzz-seeds
logs=target/fuzz-logs
rm -rf "$seeds"
mkdir -p "$logs"
python3 fuzz/seeds.py "$seeds" >/dev/null
# One build of every target before any runs, so parallel runs do not race on it.
(cd fuzz && cargo +nightly fuzz build -O 2>&1 | tail -n 3)

one() {
  local target="$1" log="$logs/$1.log"
  mkdir -p "fuzz/corpus/$target" "$seeds/$target"
  # -timeout: one input slower than 10 s is a finding (a hang); -rss_limit_mb: the same
  # for memory, above the kernel's own limits in fuzz/src/lib.rs.
  if (cd fuzz && cargo +nightly fuzz run -O "$target" "corpus/$target" "../$seeds/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1) \
      >"$log" 2>&1; then
    printf '%-14s ok   %s\n' "$target" "$(grep -Eo '#[0-9]+[[:space:]]+DONE.*' "$log" | tail -n 1 || true)"
  else
    printf '%-14s FAIL see %s\n' "$target" "$log"
    grep -E 'ERROR|panicked|Test unit written' "$log" | head -n 5 | sed 's/^/    /'
    return 1
  fi
}

failed=0
running=0
for target in "${targets[@]}"; do
  one "$target" &
  running=$((running + 1))
  if ((running >= jobs)); then
    wait -n || failed=1
    running=$((running - 1))
  fi
done
while ((running > 0)); do
  wait -n || failed=1
  running=$((running - 1))
done
exit "$failed"
