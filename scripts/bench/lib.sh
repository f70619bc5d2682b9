# lib.sh - what the bench scripts share: tool checks, a work directory and
# cleanup by PID, the OpenSSL lab PKI (scripts/peers/test-pki.sh) served on loopback, `callsign serve`
# started and waited for, and wrk output summaries. Sourced, not run.
#
#   bench_init NAME LIFETIME_S TOOL...   sets ROOT BIN WORK, PIDS=(), trap cleanup
#                                         (BIN: $CALLSIGN_BIN, else .build/release/callsign; for A/B of two builds)
#   start_lab PORT                        PKI=$WORK/pki served at http://127.0.0.1:PORT, sets X5U
#   start_serve ARG...                    `callsign serve ARG...` in $WORK/serve (trusting the lab PKI),
#                                         sets SERVE_PID (its timeout wrapper), CS_PID, TOKEN, ORIGID
#   wrk_summary OUTPUT                    prints "rps p50ms p99ms non2xx"
#   caller_csv FILE                       SIPp CSV of 1,000 callers in the development customer's range
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$(realpath -m "${CALLSIGN_BIN:-$ROOT/.build/release/callsign}")

bench_init() {
  local name=$1; LIFETIME=$2; shift 2
  [ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 2; }
  for t in "$@" python3; do command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 2; }; done
  WORK=$(mktemp -d "/tmp/callsign-bench-$name.XXXXXX")
  PIDS=()
  trap cleanup EXIT
}

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}

start_lab() {
  CERT_PORT=$1
  PKI=$WORK/pki
  bash "$ROOT/scripts/peers/test-pki.sh" "$PKI" 1234 "http://127.0.0.1:$CERT_PORT" >/dev/null
  X5U="http://127.0.0.1:$CERT_PORT/sp-chain.pem"
  (cd "$PKI" && exec timeout "$LIFETIME" python3 -m http.server "$CERT_PORT" --bind 127.0.0.1 >/dev/null 2>&1) & PIDS+=($!)
}

start_serve() {
  mkdir -p "$WORK/serve"
  (cd "$WORK/serve" && exec timeout "$LIFETIME" "$BIN" serve "$@" \
     --trust "$PKI/root-ca.pem" --lab-allow "http://127.0.0.1:$CERT_PORT/" >"$WORK/serve.log" 2>&1) & PIDS+=($!)
  SERVE_PID=$!
  for _ in $(seq 1 100); do grep -q "Sign and verify" "$WORK/serve.log" 2>/dev/null && break; sleep 0.1; done
  CS_PID=$(pgrep -P "$SERVE_PID" || echo "$SERVE_PID")  # the server itself (child of timeout)
  TOKEN=$(cat "$WORK/serve/callsign-data/dev-token")
  ORIGID=$(grep -o 'origid=[0-9a-f-]*' "$WORK/serve.log" | head -1 | cut -d= -f2)
}

wrk_summary() {
  python3 - "$1" <<'PY'
import re, sys
t = sys.argv[1]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
def ms(label):
    m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)" % label, t)
    if not m: return float("nan")
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
non = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
print("%.0f %.2f %.2f %s" % (rps, ms("50"), ms("99"), non.group(1) if non else "0"))
PY
}

caller_csv() {
  python3 - "$1" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("SEQUENTIAL\n")
    # 555-2000…2999: in the sample customer's range, outside NANP's fictional 555-0100…0199 (invalid-number blocks those)
    for i in range(2000, 3000): f.write("1215555%04d;1212555%04d;\n" % (i, i))
PY
}
