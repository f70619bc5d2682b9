#!/usr/bin/env bash
# profile-rest.sh - where a REST request's CPU goes: one `callsign serve` under
# wrk (sign or verify), the server's CPU per request from /proc/PID/stat, and
# with PERF=1 a `perf record` of the server (DWARF call graphs) left in
# $WORK/perf.data (KEEP=1 keeps $WORK). Loopback only; stopped by PID on exit.
#
#   scripts/bench/profile-rest.sh sign|verify [SECONDS] [CONNECTIONS] [SERVE ARG...]
#
# Prints: mode rps p50ms p99ms non2xx server-cores server-us-per-request; for verify also
# "efficiency …": rps / (`callsign speed` verify/s on one core × (cores − wrk's CPU)), the issue-7 measure.
#
# MALLOCS=1 also counts glibc malloc calls per request (a uprobe, `perf probe -x LIBC malloc`,
# counted over 3 s of the run and divided by callsign_rest_hot_path_total over the same 3 s):
# a figure that does not drift with the host, for A/B of allocation changes. The uprobe slows
# the server while it counts, so that run's throughput and CPU figures are not comparable.
set -euo pipefail
MODE=${1:?sign or verify}; DUR=${2:-8}; CONNS=${3:-16}; shift $(( $# < 3 ? $# : 3 ))
. "$(dirname "$0")/lib.sh"
bench_init profile 600 wrk
start_lab 18290
HTTP=18291
start_serve --http 127.0.0.1:$HTTP --sip-sign off --sip-verify off --require-crl "$@"
NOW=$(date +%s)
LUA=$WORK/req.lua
if [ "$MODE" = sign ]; then
  BODY="{\"signingRequest\":{\"attest\":\"A\",\"dest\":{\"tn\":[\"12125551213\"]},\"iat\":$NOW,\"orig\":{\"tn\":\"12155550042\"},\"origid\":\"$ORIGID\"}}"
  URL=http://127.0.0.1:$HTTP/stir/v1/signing
  HEADERS=(-H "Content-Type: application/json" -H "Authorization: Bearer $TOKEN")
else
  ID=$("$BIN" sign --key "$PKI/sp.key" --x5u "$X5U" --orig 12155550042 --dest 12125551213 --attest A --iat "$NOW" 2>/dev/null \
       || secsipidx -sign-full -orig-tn 12155550042 -dest-tn 12125551213 -attest A -x5u "$X5U" -k "$PKI/sp.key")
  BODY="{\"verificationRequest\":{\"from\":{\"tn\":\"12155550042\"},\"to\":{\"tn\":[\"12125551213\"]},\"time\":$NOW,\"identity\":\"$ID\"}}"
  URL=http://127.0.0.1:$HTTP/stir/v1/verification
  HEADERS=(-H "Content-Type: application/json")
fi
{ echo 'wrk.method = "POST"'; printf 'wrk.body = %s\n' "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$BODY")"
  echo 'wrk.headers["Content-Type"] = "application/json"'
  [ "$MODE" = sign ] && echo "wrk.headers[\"Authorization\"] = \"Bearer $TOKEN\""; } > "$LUA"
ANSWER=$(curl -s "${HEADERS[@]}" --data-binary "$BODY" "$URL")
grep -q '"identity"\|TN-Validation-Passed' <<<"$ANSWER" || { echo "unexpected answer: $ANSWER" >&2; exit 1; }
# Warm up, then measure.
timeout 30 wrk -t1 -c"$CONNS" -d2s -s "$LUA" "$URL" >/dev/null 2>&1
ticks() { awk '{print $14 + $15}' "/proc/$CS_PID/stat"; }
# CPU ticks of the journal thread moving this mode's records into the store
# (its name in /proc: traceback-jrnl for signings, verified-jrnl for verifications).
JOURNAL_THREAD=$([ "$MODE" = sign ] && echo traceback-jrnl || echo verified-jrnl)
writer_ticks() {
  local t sum=0
  for t in /proc/$CS_PID/task/*; do
    [ "$(cat "$t/comm" 2>/dev/null)" = "$JOURNAL_THREAD" ] && sum=$((sum + $(sed 's/.*) //' "$t/stat" | awk '{print $12 + $13}')))
  done
  echo "$sum"
}
HZ=$(getconf CLK_TCK)
if [ "${PERF:-0}" = 1 ]; then
  perf record -F 999 -g --call-graph dwarf,16384 -p "$CS_PID" -o "$WORK/perf.data" -- sleep "$DUR" >/dev/null 2>&1 &
  PERF_PID=$!
fi
hot_answers() { curl -s "http://127.0.0.1:$HTTP/metrics" | awk '/^callsign_rest_hot_path_total/{s+=$2} END{print s+0}'; }
ADDED_PROBE=0
if [ "${MALLOCS:-0}" = 1 ]; then
  command -v perf >/dev/null || { echo "MALLOCS=1 needs perf" >&2; exit 2; }
  LIBC=$(ldd "$BIN" | awk '$1 == "libc.so.6" {print $3}')
  if ! perf list 2>/dev/null | grep -q 'probe_libc:malloc '; then
    perf probe -q -x "$LIBC" malloc || { echo "perf probe on $LIBC malloc failed (root needed)" >&2; exit 2; }
    ADDED_PROBE=1
  fi
  ( sleep 2; a0=$(hot_answers)
    n=$(perf stat -x, -e probe_libc:malloc -p "$CS_PID" -- sleep 3 2>&1 | awk -F, '/probe_libc:malloc/{print $1}')
    echo "${n:-0} $a0 $(hot_answers)" >"$WORK/mallocs" ) &
  MALLOC_PID=$!
fi
# The crypto bound's unit, measured in the same window: swift-crypto ES256 verifications per second on one core.
SPEED=$("$BIN" speed --seconds 1 2>/dev/null | sed -n 's/.*verify_per_s=\([0-9]*\).*/\1/p')
T0=$(ticks); W0=$(writer_ticks)
TIMEFORMAT='%U %S'
{ time timeout $((DUR + 30)) wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -s "$LUA" "$URL" >"$WORK/wrk.out" 2>&1; } 2>"$WORK/wrk.time"
T1=$(ticks); W1=$(writer_ticks)
OUT=$(cat "$WORK/wrk.out")
WRK_CPU=$(awk '{print $1 + $2}' "$WORK/wrk.time")
[ -n "${PERF_PID:-}" ] && wait "$PERF_PID" || true
read -r RPS P50 P99 NON <<<"$(wrk_summary "$OUT")"
python3 -c "
rps, ticks, hz, dur = $RPS, $T1 - $T0, $HZ, $DUR
cores = ticks / hz / dur
print('$MODE rps=%d p50=%sms p99=%sms non2xx=%s server_cores=%.2f server_us_per_req=%.0f' % (rps, '$P50', '$P99', '$NON', cores, cores * 1e6 / rps if rps else 0))
# Efficiency (issue 7): throughput / (ES256 verify/s on one core x the cores left to the server while wrk runs).
speed, wrk_cores, ncpu = float('${SPEED:-0}' or 0), float('${WRK_CPU:-0}' or 0) / dur, $(nproc)
if '$MODE' == 'verify' and speed > 0:
    left = ncpu - wrk_cores
    print('efficiency verify_per_core=%d wrk_cores=%.2f cores_left=%.2f crypto_bound=%d rps=%d ratio=%.2f' % (speed, wrk_cores, left, speed * left, rps, rps / (speed * left)))"
[ $((T1 - T0)) -gt 0 ] && echo "$JOURNAL_THREAD thread_share=$(python3 -c "print('%.1f%%' % (100.0 * ($W1 - $W0) / ($T1 - $T0)))") of the server's CPU"
if [ "$MODE" = sign ]; then
  curl -s "http://127.0.0.1:$HTTP/metrics" | awk '/^callsign_traceback_(transactions|records) /{v[$1]=$2} END{if (v["callsign_traceback_transactions"] > 0) printf "traceback records_per_transaction=%.1f (%d records)\n", v["callsign_traceback_records"]/v["callsign_traceback_transactions"], v["callsign_traceback_records"]}'
fi
if [ -n "${MALLOC_PID:-}" ]; then
  wait "$MALLOC_PID" || true
  read -r MALLOCS_N A0 A1 <"$WORK/mallocs" || true
  python3 -c "n, d = ${MALLOCS_N:-0}, ${A1:-0} - ${A0:-0}; print('$MODE mallocs_per_request=%.1f (%d mallocs over %d answers)' % (n / d, n, d) if d > 0 else '$MODE mallocs_per_request=n/a')"
  [ "$ADDED_PROBE" = 1 ] && perf probe -q -d probe_libc:malloc || true
fi
[ "${PERF:-0}" = 1 ] && echo "perf data: $WORK/perf.data (KEEP=1 to keep)"
exit 0
