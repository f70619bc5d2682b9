#!/usr/bin/env bash
# Runs a libFuzzer harness of Fuzz/ (see docs/reliability.md).
#   scripts/fuzz.sh TARGET SECONDS      one harness for SECONDS
#   scripts/fuzz.sh all SECONDS         every harness, SECONDS each
#   FUZZ_RUNS=N scripts/fuzz.sh ...     stop after N executions instead
# Targets: identity passport json date tnauthlist dno certificate sip rest config.
# Builds with -sanitize=fuzzer,address into .build-fuzz (CALLSIGN_FUZZ=1 adds the
# harnesses to the package). Seeds come from Fuzz/seeds/TARGET (scripts/gen-fuzz-seeds.py);
# the corpus grows in .build-fuzz/corpus/TARGET; a crash is written to
# .build-fuzz/artifacts/TARGET/ and fails the run. Each run ends in a RESULT line.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS="identity passport json date tnauthlist dno certificate sip rest config"
target=${1:?usage: scripts/fuzz.sh TARGET|all SECONDS}
seconds=${2:-60}
if [ "$target" = all ]; then
  status=0
  for t in $TARGETS; do "$0" "$t" "$seconds" || status=1; done
  exit $status
fi
case " $TARGETS " in *" $target "*) ;; *) echo "unknown target $target (one of: $TARGETS)"; exit 2;; esac
dict=""
case $target in
  sip) dict=Fuzz/dict/sip.dict ;;
  rest) dict=Fuzz/dict/http.dict ;;
  json|passport|identity|config) dict=Fuzz/dict/json.dict ;;
esac
CALLSIGN_FUZZ=1 swift build -c release --build-path .build-fuzz --product "fuzz-$target" \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing -Xswiftc -use-ld=lld 2>&1 | grep -E "error|warning: |Compiling fuzz|Build complete" | grep -v "unhandled; explicitly" || true
binary=.build-fuzz/release/fuzz-$target
[ -x "$binary" ] || { echo "build of fuzz-$target failed"; exit 1; }
corpus=.build-fuzz/corpus/$target
artifacts=.build-fuzz/artifacts/$target
mkdir -p "$corpus" "$artifacts"
log=.build-fuzz/fuzz-$target.log
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/")
[ -n "${FUZZ_RUNS:-}" ] && args+=(-runs="$FUZZ_RUNS")
[ -n "$dict" ] && args+=(-dict="$dict")
set +e
# Swift's own crash handler would race ASan's report.
SWIFT_BACKTRACE=enable=no "$binary" "${args[@]}" "$corpus" "Fuzz/seeds/$target" >"$log" 2>&1
rc=$?
set -e
execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -o '[0-9]*')
ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -o '[0-9]*')
units=$(find "$corpus" -type f | wc -l)
crashes=$(find "$artifacts" -type f | wc -l)
echo "RESULT fuzz-$target rc=$rc execs=${execs:-0} cov=${cov:-0} ft=${ft:-0} corpus=$units artifacts=$crashes seconds=$seconds"
if [ "$rc" -ne 0 ]; then
  grep -E "invariant broken|ERROR: AddressSanitizer|Fatal error|SUMMARY|Test unit written" "$log" | head -10
  exit 1
fi
