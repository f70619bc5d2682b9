#!/usr/bin/env bash
# rest.sh - REST throughput: Callsign's ATIS-1000082 API (`callsign serve`) against
# secsipidx's HTTP server configured equivalently (x5u fetched from a local
# repository, chain + CRL checks on, file cache), the same wrk (POST bodies from
# Lua), alternating runs. Loopback only; processes stopped by PID on exit.
#
#   scripts/bench/rest.sh [SECONDS] [RUNS] [CONNECTIONS]     (default 10 2 16)
#   SERVE_CONFIG=FILE scripts/bench/rest.sh …                 (serve with that configuration file,
#                                                              e.g. scripts/bench/analytics.json: every signal on)
#
# Needs: swift build -c release, wrk, secsipidx, python3, openssl.
# Prints per run req/s, p50/p99 latency and each server's CPU per request
# (user + system from /proc, µs), the median CPU ratio, then
#   RESULT name=rest-sign callsign=RPS peer=RPS ratio=R
#   RESULT name=rest-verify callsign=RPS peer=RPS ratio=R
set -euo pipefail
DUR=${1:-10}; RUNS=${2:-2}; CONNS=${3:-16}
. "$(dirname "$0")/lib.sh"
bench_init rest 900 wrk secsipidx
start_lab 18280
HTTP=18281 SX=18282
mkdir -p "$WORK/sxcache"
start_serve --http 127.0.0.1:$HTTP --sip-sign off --sip-verify off --require-crl ${SERVE_CONFIG:+--config "$(realpath "$SERVE_CONFIG")"}
(exec timeout 900 secsipidx -http-srv 127.0.0.1:$SX -fprvkey "$PKI/sp.key" -x5u "$X5U" -expire 3600 -timeout 3 \
   -cert-verify 29 -ca-file "$PKI/root-ca.pem" -ca-inter "$PKI/inter-ca.pem" -crl-file "$PKI/inter-ca.crl" \
   -cache-dir "$WORK/sxcache" >/dev/null 2>&1) & PIDS+=($!)
SX_TIMEOUT_PID=$!

lua() { # FILE BODY [HEADER...]
  local f=$1 body=$2; shift 2
  { echo 'wrk.method = "POST"'; printf 'wrk.body = %s\n' "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$body")"
    for h in "$@"; do printf 'wrk.headers["%s"] = %s\n' "${h%%:*}" "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "${h#*: }")"; done; } > "$f"
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
run_wrk() { # URL LUA SERVER-PID -> "rps p50ms p99ms non2xx server-us-per-request"
  local t0 t1 out
  t0=$(ticks "$3")
  out=$(wrk_summary "$(timeout $((DUR + 30)) wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -s "$2" "$1" 2>&1)")
  t1=$(ticks "$3")
  # The server's CPU (user + system) per answered request, in µs.
  echo "$out $(python3 -c "r=int('${out%% *}' or 0); print('%.0f' % (($t1 - $t0) / $HZ * 1e6 / (r * $DUR)) if r else 0)")"
}
HZ=$(getconf CLK_TCK)
declare -A BEST_CS BEST_SX ALL_CS ALL_SX
for mode in sign verify; do BEST_CS[$mode]=0; BEST_SX[$mode]=0; ALL_CS[$mode]=""; ALL_SX[$mode]=""; done
body() { python3 -c "import json,re,sys; print(json.loads(re.search(r'wrk.body = (.*)', open(sys.argv[1]).read()).group(1)))" "$1"; }
check() { # NAME OUTPUT PATTERN: a benchmark of failures measures nothing
  grep -q "$3" <<<"$2" || { echo "$1: unexpected answer before the run: $2" >&2; exit 1; }
}
for _ in $(seq 1 50); do SX_PID=$(pgrep -P "$SX_TIMEOUT_PID" || true); [ -n "$SX_PID" ] && break; sleep 0.1; done
SX_PID=${SX_PID:-$SX_TIMEOUT_PID}
declare -A CPU_CS CPU_SX
for mode in sign verify; do CPU_CS[$mode]=""; CPU_SX[$mode]=""; done
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
    cs=$(run_wrk "http://127.0.0.1:$HTTP$path" "$WORK/cs-$mode.lua" "$CS_PID")
    sx=$(run_wrk "http://127.0.0.1:$SX$sxpath" "$WORK/sx-$mode.lua" "$SX_PID")
    echo "run $run $mode callsign rps/p50ms/p99ms/non2xx/cpu_us_per_req=$cs   secsipidx rps/p50ms/p99ms/non2xx/cpu_us_per_req=$sx"
    read -r c _ _ cn ccpu <<<"$cs"; read -r s _ _ sn scpu <<<"$sx"
    [ "$cn" = 0 ] && [ "$c" -gt "${BEST_CS[$mode]}" ] && BEST_CS[$mode]=$c
    [ "$sn" = 0 ] && [ "$s" -gt "${BEST_SX[$mode]}" ] && BEST_SX[$mode]=$s
    ALL_CS[$mode]+="$c "; ALL_SX[$mode]+="$s "
    CPU_CS[$mode]+="$ccpu "; CPU_SX[$mode]+="$scpu "
  done
done
for mode in sign verify; do
  c=${BEST_CS[$mode]} s=${BEST_SX[$mode]}
  echo "runs $mode callsign: ${ALL_CS[$mode]}  secsipidx: ${ALL_SX[$mode]}"
  # Server CPU per request (median over the runs): what each server spends, apart from the load generator's share.
  echo "cpu_us_per_req $mode callsign: ${CPU_CS[$mode]}  secsipidx: ${CPU_SX[$mode]}  ratio(secsipidx/callsign, medians)=$(python3 -c "
import statistics as s; a=[float(x) for x in '${CPU_CS[$mode]}'.split()]; b=[float(x) for x in '${CPU_SX[$mode]}'.split()]
print('%.2f' % (s.median(b) / s.median(a)) if a and b and s.median(a) > 0 else 'n/a')")"
  echo "RESULT name=rest-$mode callsign=$c peer=$s ratio=$(python3 -c "print('%.2f' % ($c / $s) if $s else 'n/a')")"
done
