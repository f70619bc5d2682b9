#!/usr/bin/env bash
# rest.sh - REST throughput: Callsign's ATIS-1000082 API (`callsign serve`) against
# secsipidx's HTTP server configured equivalently (x5u fetched from a local
# repository, chain + CRL checks on, file cache), the same wrk (POST bodies from
# Lua), alternating runs. Loopback only; processes stopped by PID on exit.
#
#   scripts/bench/rest.sh [SECONDS] [RUNS] [CONNECTIONS]     (default 10 2 16)
#
# Needs: swift build -c release, wrk, secsipidx, python3, openssl.
# Prints per run req/s and p50/p99 latency, then
#   RESULT name=rest-sign callsign=RPS peer=RPS ratio=R
#   RESULT name=rest-verify callsign=RPS peer=RPS ratio=R
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PEERS=${CALLSIGN_PEERS_DIR:-$ROOT/../shared/peers}
DUR=${1:-10}; RUNS=${2:-2}; CONNS=${3:-16}
BIN=$ROOT/.build/release/callsign
[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 2; }
for t in wrk secsipidx python3; do command -v $t >/dev/null || { echo "missing $t" >&2; exit 2; }; done
WORK=$(mktemp -d /tmp/callsign-bench-rest.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT
CERT_PORT=18280 HTTP=18281 SX=18282
PKI=$WORK/pki
bash "$PEERS/make-test-pki.sh" "$PKI" 1234 "http://127.0.0.1:$CERT_PORT" >/dev/null
X5U="http://127.0.0.1:$CERT_PORT/sp-chain.pem"
(cd "$PKI" && exec timeout 900 python3 -m http.server $CERT_PORT --bind 127.0.0.1 >/dev/null 2>&1) & PIDS+=($!)
mkdir -p "$WORK/serve" "$WORK/sxcache"
(cd "$WORK/serve" && exec timeout 900 "$BIN" serve --http 127.0.0.1:$HTTP --sip-sign off --sip-verify off \
   --trust "$PKI/root-ca.pem" --lab-allow "http://127.0.0.1:$CERT_PORT/" --require-crl >"$WORK/serve.log" 2>&1) & PIDS+=($!)
(exec timeout 900 secsipidx -http-srv 127.0.0.1:$SX -fprvkey "$PKI/sp.key" -x5u "$X5U" -expire 3600 -timeout 3 \
   -cert-verify 29 -ca-file "$PKI/root-ca.pem" -ca-inter "$PKI/inter-ca.pem" -crl-file "$PKI/inter-ca.crl" \
   -cache-dir "$WORK/sxcache" >/dev/null 2>&1) & PIDS+=($!)
for _ in $(seq 1 100); do grep -q "Sign and verify" "$WORK/serve.log" 2>/dev/null && break; sleep 0.1; done
TOKEN=$(cat "$WORK/serve/callsign-data/dev-token")
ORIGID=$(grep -o 'origid=[0-9a-f-]*' "$WORK/serve.log" | head -1 | cut -d= -f2)

lua() { # FILE BODY [HEADER...]
  local f=$1 body=$2; shift 2
  { echo 'wrk.method = "POST"'; printf 'wrk.body = %s\n' "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$body")"
    for h in "$@"; do printf 'wrk.headers["%s"] = %s\n' "${h%%:*}" "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "${h#*: }")"; done; } > "$f"
}
run_wrk() { # NAME URL LUA -> "rps p50ms p99ms non2xx"
  local out; out=$(timeout $((DUR + 30)) wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -s "$2" "$1" 2>&1)
  python3 - "$out" <<'PY'
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
declare -A BEST_CS BEST_SX ALL_CS ALL_SX
for mode in sign verify; do BEST_CS[$mode]=0; BEST_SX[$mode]=0; ALL_CS[$mode]=""; ALL_SX[$mode]=""; done
body() { python3 -c "import json,re,sys; print(json.loads(re.search(r'wrk.body = (.*)', open(sys.argv[1]).read()).group(1)))" "$1"; }
check() { # NAME OUTPUT PATTERN: a benchmark of failures measures nothing
  grep -q "$3" <<<"$2" || { echo "$1: unexpected answer before the run: $2" >&2; exit 1; }
}
for run in $(seq 1 "$RUNS"); do
  for mode in sign verify; do
    # Fresh bodies for each measurement (iat must stay within 60 s of the verifier's clock).
    NOW=$(date +%s)
    if [ $mode = sign ]; then
      lua "$WORK/cs-sign.lua" "{\"signingRequest\":{\"attest\":\"A\",\"dest\":{\"tn\":[\"12125551213\"]},\"iat\":$NOW,\"orig\":{\"tn\":\"12155550042\"},\"origid\":\"$ORIGID\"}}" \
        "Content-Type: application/json" "Authorization: Bearer $TOKEN"
      lua "$WORK/sx-sign.lua" "12155550042,12125551213,A,,$X5U"
      check callsign "$(curl -s -H "Content-Type: application/json" -H "Authorization: Bearer $TOKEN" --data-binary "$(body "$WORK/cs-sign.lua")" "http://127.0.0.1:$HTTP/stir/v1/signing")" '"identity"'
      check secsipidx "$(curl -s --data "12155550042,12125551213,A,,$X5U" "http://127.0.0.1:$SX/v1/sign-csv")" 'ppt=shaken'
    else
      ID=$(secsipidx -sign-full -orig-tn 12155550042 -dest-tn 12125551213 -attest A -x5u "$X5U" -k "$PKI/sp.key")
      lua "$WORK/cs-verify.lua" "{\"verificationRequest\":{\"from\":{\"tn\":\"12155550042\"},\"to\":{\"tn\":[\"12125551213\"]},\"time\":$NOW,\"identity\":\"$ID\"}}" \
        "Content-Type: application/json"
      lua "$WORK/sx-verify.lua" "$ID"
      # Also warms both certificate caches.
      check callsign "$(curl -s -H "Content-Type: application/json" --data-binary "$(body "$WORK/cs-verify.lua")" "http://127.0.0.1:$HTTP/stir/v1/verification")" 'TN-Validation-Passed'
      check secsipidx "$(curl -s --data "$ID" "http://127.0.0.1:$SX/v1/check")" '^OK'
    fi
    path=$([ $mode = sign ] && echo /stir/v1/signing || echo /stir/v1/verification)
    sxpath=$([ $mode = sign ] && echo /v1/sign-csv || echo /v1/check)
    cs=$(run_wrk "http://127.0.0.1:$HTTP$path" "$WORK/cs-$mode.lua")
    sx=$(run_wrk "http://127.0.0.1:$SX$sxpath" "$WORK/sx-$mode.lua")
    echo "run $run $mode callsign rps/p50ms/p99ms/non2xx=$cs   secsipidx rps/p50ms/p99ms/non2xx=$sx"
    c=${cs%% *}; s=${sx%% *}
    [ "${cs##* }" = 0 ] && [ "$c" -gt "${BEST_CS[$mode]}" ] && BEST_CS[$mode]=$c
    [ "${sx##* }" = 0 ] && [ "$s" -gt "${BEST_SX[$mode]}" ] && BEST_SX[$mode]=$s
    ALL_CS[$mode]+="$c "; ALL_SX[$mode]+="$s "
  done
done
for mode in sign verify; do
  c=${BEST_CS[$mode]} s=${BEST_SX[$mode]}
  echo "runs $mode callsign: ${ALL_CS[$mode]}  secsipidx: ${ALL_SX[$mode]}"
  echo "RESULT name=rest-$mode callsign=$c peer=$s ratio=$(python3 -c "print('%.2f' % ($c / $s) if $s else 'n/a')")"
done
