#!/usr/bin/env bash
# sip.sh - SIP throughput: Callsign's redirect listeners (signing, verification)
# against Kamailio + secsipid (Tests/CallsignCLITests/kamailio), the same SIPp on the same
# machine in one run. Steps the call rate; the figure per mode is the highest
# rate with 0 failed calls and 0 retransmissions. Loopback only; every
# process started here is stopped by PID on exit.
#
#   scripts/bench/sip.sh [RATES] [SECONDS]      (default "500 1000 2000 4000" 10)
#
# Env: SERVE_CONFIG=FILE (serve's configuration file, e.g. scripts/bench/analytics.json), MODES="sign verify", PEER=0 (Callsign only), PEER_RATES (the peer's steps,
# default RATES: the peer fails long before Callsign's top steps, which cost 30+ s each), SIPP_BUFF=BYTES (SIPp's
# socket buffers, for Callsign's runs and the peer's alike; default: SIPp's 64 KiB),
# CALLSIGN_BIN (another build). Each Callsign step also prints the datagrams
# the kernel dropped at SIPp's sockets and at Callsign's (a retransmission is
# the load generator's when its own socket overflowed). PERF=RATE records
# Callsign with `perf record` (DWARF call graphs) during its step at RATE, into
# $WORK/perf-MODE.data (KEEP=1 keeps $WORK).
#
# Needs: a release build (swift build -c release), sipp, secsipidx, kamailio,
# kamailio-secsipid-modules, python3. Prints one line per run and final lines
#   RESULT name=sip-sign callsign=CPS peer=CPS ratio=R
#   RESULT name=sip-verify callsign=CPS peer=CPS ratio=R
set -euo pipefail
RATES=${1:-"500 1000 2000 4000"}
DUR=${2:-10}
. "$(dirname "$0")/lib.sh"
bench_init sip 900 sipp secsipidx kamailio
start_lab 18180
HTTP=18181 SIGN=18182 VERIFY=18183 KAM_PORT=18184 UAS_PORT=18185
start_serve --http 127.0.0.1:$HTTP --sip-sign 127.0.0.1:$SIGN --sip-verify 127.0.0.1:$VERIFY ${SERVE_CONFIG:+--config "$(realpath "$SERVE_CONFIG")"}
# CPU of the measured server: the process and its children (Kamailio's workers).
MEASURED_PID=$CS_PID
cpu_ticks() {
  local p total=0
  for p in $MEASURED_PID $(pgrep -P "$MEASURED_PID" 2>/dev/null); do
    total=$(( total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0) ))
  done
  echo $total
}
TICK_MS=$(( 1000 / $(getconf CLK_TCK) ))
SCEN=$ROOT/Tests/CallsignCLITests/sipp

# CSVs: callers in the sample range (signing), secsipidx-signed identities (verification).
caller_csv "$WORK/sign.csv"
# Identities are signed just before each verification run: they must be fresh (iat within 60 s).
make_verify_csv() {
  { echo SEQUENTIAL; for i in $(seq 1 200); do
      o=$(printf '1215555%04d' $((2000 + i))); d=$(printf '1212555%04d' $((2000 + i)))  # outside the fictional 555-01XX
      j=$(secsipidx -sign-full -orig-tn "$o" -dest-tn "$d" -attest A -x5u "$X5U" -k "$PKI/sp.key" | cut -d';' -f1)
      echo "$o;$d;$j;$X5U;"; done; } > "$WORK/verify.csv"
}

# UDP datagrams the kernel dropped for want of receive buffer: on the whole host, and on Callsign's sockets.
udp_drops_all() { awk '/^Udp:/ { getline; print $6; exit }' /proc/net/snmp; }
udp_drops_callsign() { awk -v a="$(printf '%04X' $SIGN)" -v b="$(printf '%04X' $VERIFY)" -v c="$(printf '%04X' $KAM_PORT)" \
  'NR > 1 { split($2, l, ":"); if (l[2] == a || l[2] == b || l[2] == c) n += $NF } END { print n + 0 }' /proc/net/udp; }
# SIPP_BUFF=BYTES gives SIPp bigger socket buffers (-buff_size; SIPp's default is 64 KiB), for every run.
SIPP_ARGS=(); [ -n "${SIPP_BUFF:-}" ] && SIPP_ARGS=(-buff_size "$SIPP_BUFF")

# run NAME SCENARIO CSV PORT RATE -> "achieved failed retrans cpu_ms_per_call sipp_drops callsign_drops"
run() {
  local name=$1 sc=$2 csv=$3 port=$4 rate=$5 d="$WORK/$1-$5" t0 a0 c0; mkdir -p "$d"
  t0=$(cpu_ticks); a0=$(udp_drops_all); c0=$(udp_drops_callsign)
  local perf_pid=
  if [ "${PERF:-}" = "$rate" ] && [ "${name#cs-}" != "$name" ]; then
    perf record -F 499 -g --call-graph dwarf,16384 -p "$CS_PID" -o "$WORK/perf-${name#cs-}.data" -- sleep "$DUR" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  (cd "$d" && timeout $((DUR + 40)) sipp -sf "$SCEN/$sc.xml" -inf "$csv" -i 127.0.0.1 -p $((20000 + RANDOM % 10000)) 127.0.0.1:$port \
     -r "$rate" -m $((rate * DUR)) -l $((rate * 4)) -nostdin -timeout $((DUR + 30))s -trace_stat -stf stat.csv -fd 1 -max_socket 1024 -trace_err \
     "${SIPP_ARGS[@]}" >stdout.log 2>&1) || true
  [ -n "$perf_pid" ] && { wait "$perf_pid" || true; }
  local cd=$(( $(udp_drops_callsign) - c0 ))
  python3 - "$d/stat.csv" "$rate" "$(( ($(cpu_ticks) - t0) * TICK_MS ))" "$(( $(udp_drops_all) - a0 - cd ))" "$cd" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=";"))
h, last = rows[0], rows[-1]
g = lambda k: last[h.index(k)]
el = float(g("CurrentTime").split("\t")[-1]) - float(g("StartTime").split("\t")[-1])
ok, fail, retr = int(g("SuccessfulCall(C)")), int(g("FailedCall(C)")), int(g("Retransmissions(C)"))
cpu_ms = int(sys.argv[3])
print("%.1f %d %d %.3f %s %s" % (ok / el if el else 0, fail, retr, cpu_ms / ok if ok else 0, sys.argv[4], sys.argv[5]))
PY
}

best() { # prints the best clean achieved rate from "rate achieved failed retrans" lines on stdin
  awk '$3 == 0 && $4 == 0 && $2 > best { best = $2 } END { printf "%.0f\n", best + 0 }'
}

declare -A CS CSCPU KMCPU
MODES=${MODES:-"sign verify"}
for mode in $MODES; do
  : > "$WORK/$mode.callsign"
  for rate in $RATES; do
    if [ $mode = sign ]; then r=$(run cs-sign uac-redirect "$WORK/sign.csv" $SIGN "$rate")
    else make_verify_csv; r=$(run cs-verify uac-verify-redirect "$WORK/verify.csv" $VERIFY "$rate"); fi
    echo "callsign $mode-redirect target_cps=$rate achieved_cps/failed/retrans/cpu_ms_per_call/sipp_drops/callsign_drops=$r"
    echo "$rate $r" >> "$WORK/$mode.callsign"
  done
  CS[$mode]=$(best < "$WORK/$mode.callsign")
  CSCPU[$mode]=$(awk '$3 == 0 && $4 == 0 { print $5 }' "$WORK/$mode.callsign" | sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print 0 }')
done
kill "$SERVE_PID" 2>/dev/null || true

# The peer: Kamailio + secsipid (Tests/CallsignCLITests/kamailio), driven by the same SIPp and
# measured by the same `run`. Signing: it signs each INVITE and relays it to a SIPp callee that
# requires an Identity (a whole call). Verification: it answers 200 when the Identity verifies.
declare -A KM KMCPU
start_kamailio() { # CFG
  mkdir -p "$WORK/kcache"
  (exec timeout "$LIFETIME" kamailio -f "$ROOT/Tests/CallsignCLITests/kamailio/$1" -DD -E -m 256 -M 16 \
     -A "PKI_DIR=$PKI" -A "SIP_PORT=$KAM_PORT" -A "CHILDREN=${KAM_CHILDREN:-4}" -A "EXPIRE=3600" -A "X5U=\"$X5U\"" \
     -A "RELAY=\"sip:127.0.0.1:$UAS_PORT\"" -A "CACHE_DIR=\"$WORK/kcache\"" >"$WORK/kamailio-$1.log" 2>&1) & PIDS+=($!)
  KAM_WRAPPER=$!
  sleep 2  # its workers start secsipid's Go runtime
  MEASURED_PID=$(pgrep -P "$KAM_WRAPPER" | head -1)
  [ -n "$MEASURED_PID" ] || { echo "kamailio did not start: $(tail -3 "$WORK/kamailio-$1.log")" >&2; return 1; }
}
for mode in $MODES; do
  [ "${PEER:-1}" = 1 ] || continue
  : > "$WORK/$mode.peer"
  if [ $mode = sign ]; then
    mkdir -p "$WORK/uas"
    (cd "$WORK/uas" && exec timeout "$LIFETIME" sipp -sf "$SCEN/uas-identity-required.xml" -i 127.0.0.1 -p $UAS_PORT -nostdin \
       "${SIPP_ARGS[@]}" >/dev/null 2>&1) & PIDS+=($!)
    UAS_WRAPPER=$!
    start_kamailio secsipid-sign.cfg || continue
  else
    start_kamailio secsipid-verify.cfg || continue
  fi
  for rate in ${PEER_RATES:-$RATES}; do
    if [ $mode = sign ]; then r=$(run km-sign uac-call "$WORK/sign.csv" $KAM_PORT "$rate")
    else make_verify_csv; r=$(run km-verify uac-verify-200 "$WORK/verify.csv" $KAM_PORT "$rate"); fi
    echo "kamailio $mode target_cps=$rate achieved_cps/failed/retrans/cpu_ms_per_call/sipp_drops/peer_drops=$r"
    echo "$rate $r" >> "$WORK/$mode.peer"
  done
  kill "$KAM_WRAPPER" 2>/dev/null || true
  [ $mode = sign ] && { kill "$UAS_WRAPPER" 2>/dev/null || true; }
  sleep 1
  KM[$mode]=$(best < "$WORK/$mode.peer")
  KMCPU[$mode]=$(awk '$3 == 0 && $4 == 0 { print $5 }' "$WORK/$mode.peer" | sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print 0 }')
done
for mode in $MODES; do
  c=${CS[$mode]:-0} k=${KM[$mode]:-0}
  ratio=$(python3 -c "print('%.2f' % ($c / $k) if $k else 'n/a')")
  echo "RESULT name=sip-$mode callsign=$c peer=$k ratio=$ratio"
  # CPU per call on clean runs (median): lower is better, so the ratio is peer / Callsign.
  cc=${CSCPU[$mode]:-0} kc=${KMCPU[$mode]:-0}
  echo "RESULT name=sip-$mode-cpu-ms-per-call callsign=$cc peer=$kc ratio=$(python3 -c "print('%.2f' % ($kc / $cc) if $cc and $kc else 'n/a')")"
done
