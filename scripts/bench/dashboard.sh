#!/usr/bin/env bash
# dashboard.sh - how fast `/dashboard` answers with a large store: RECORDS call
# records in SQLite (60% verifications, 40% signings, over the last 7 days), a
# day of per-minute counts shaped like a carrier's day (~100 keys a minute:
# customers, SPCs, peers, reasons, flagged numbers) and 50 alerts, then
# REQUESTS signed-in GETs of /dashboard, one at a time. Loopback only; the
# server is stopped by PID on exit.
#
#   scripts/bench/dashboard.sh [RECORDS] [REQUESTS] [SCREENSHOT.png]   (default 10000000 20)
#
# Needs: swift build -c release, curl, python3; chromium for the screenshot.
# Prints the seeding time, the store's size, then
#   RESULT name=dashboard records=N p50_ms=… p95_ms=… max_ms=…
set -euo pipefail
RECORDS=${1:-10000000}; REQUESTS=${2:-20}; SHOT=${3:-}
. "$(dirname "$0")/lib.sh"
bench_init dashboard 3600 curl
PORT=18290
DATA=$WORK/serve/callsign-data
mkdir -p "$WORK/serve"

serve() {
  (cd "$WORK/serve" && exec timeout "$LIFETIME" "$BIN" serve --data "$DATA" --http 127.0.0.1:$PORT --sip-sign off --sip-verify off \
     >"$WORK/serve.log" 2>&1) & PIDS+=($!)
  SERVE_PID=$!
  for _ in $(seq 1 300); do grep -q "Sign and verify" "$WORK/serve.log" 2>/dev/null && return; sleep 0.1; done
  echo "serve did not start:" >&2; cat "$WORK/serve.log" >&2; exit 1
}

# The schema, tokens and the development customer, from a first start.
serve
kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true

echo "seeding $RECORDS records…"
START=$(date +%s.%N)
python3 - "$DATA/callsign.sqlite" "$RECORDS" <<'PY'
import math, random, sqlite3, sys, time
path, records = sys.argv[1], int(sys.argv[2])
now = int(time.time())
db = sqlite3.connect(path)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=OFF")
verified, signed = records * 6 // 10, records - records * 6 // 10
# Records spread over 7 days (the default retention), one calling number out of 2 million.
db.execute(f"""
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < {verified} - 1)
INSERT INTO verified_call (time, orig, dest, verstat, attest, spc, x5u, origid, source, reason, policy_action, policy_rule)
SELECT {now} - (i * 604800 / {verified}), '1215' || printf('%07d', (i * 7919) % 2000000), '12125551213',
  CASE WHEN i % 20 = 0 THEN 'TN-Validation-Failed' WHEN i % 7 = 0 THEN 'No-TN-Validation' ELSE 'TN-Validation-Passed' END,
  CASE i % 3 WHEN 0 THEN 'A' WHEN 1 THEN 'B' ELSE 'C' END, 'S' || (i % 30), 'https://cr.example.net/' || (i % 30) || '.pem',
  lower(hex(randomblob(16))), '192.0.2.' || (i % 15), CASE WHEN i % 20 = 0 THEN 'bad-signature' END, 'allow', NULL
FROM c""")
db.execute(f"""
WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < {signed} - 1)
INSERT INTO signed_call (time, orig, dest, attest, origid, customer_id, trunk, identity, attest_rule, x5u, spc, policy_action, policy_rule)
SELECT {now} - (i * 604800 / {signed}), '1215' || printf('%07d', (i * 104729) % 2000000), '12125551213',
  CASE i % 3 WHEN 0 THEN 'A' WHEN 1 THEN 'B' ELSE 'C' END, '123e4567-e89b-12d3-a456-426655440000', 'customer' || (i % 20),
  NULL, 'service', 'owned-number', 'https://cr.example.net/sp.pem', '1234',
  CASE WHEN i % 500 = 0 THEN 'block' END, CASE WHEN i % 500 = 0 THEN 'do-not-originate' END
FROM c""")
# A day of per-minute counts: the volume follows the time of day.
rows = []
end = now - now % 60
hourly = {}
def add(minute, series, key, count):
    if series in ("sign", "sign.refused", "verify"):
        rows.append((minute, series, key, count))
    else:  # counted per hour, as CallAnalytics does
        k = (minute - minute % 3600, series, key)
        hourly[k] = hourly.get(k, 0) + count
reasons = ["bad-signature", "stale-iat", "x5u-fetch", "chain", "malformed-passport", "orig-mismatch"]
for m in range(1440):
    minute = end - (1439 - m) * 60
    hour = (minute % 86400) / 3600
    volume = max(1, int(2000 * (0.35 + 0.65 * math.sin(math.pi * max(0, hour - 6) / 16) ** 2))) if 6 <= hour <= 22 else 300
    for attest, share in (("A", .6), ("B", .3), ("C", .1)):
        add(minute, "sign", attest, int(volume * share))
        add(minute, "verify", "TN-Validation-Passed " + attest, int(volume * share * .9))
    add(minute, "verify", "TN-Validation-Failed -", volume // 20)
    add(minute, "verify", "No-TN-Validation -", volume // 10)
    for c in range(20):
        for attest, share in (("A", .6), ("B", .3), ("C", .1)):
            add(minute, "sign.customer", f"customer{c} {attest}", int(volume * share / (c + 2)))
    for r, reason in enumerate(reasons):
        add(minute, "verify.reason", reason, volume // (40 * (r + 1)))
    for s in range(30):
        add(minute, "verify.spc", f"S{s} ok", volume // 30)
        add(minute, "verify.spc", f"S{s} fail", volume // (300 + 40 * s))
    for p in range(15):
        add(minute, "verify.peer", f"192.0.2.{p} ok", volume // 15)
        add(minute, "verify.peer", f"192.0.2.{p} fail", volume // (150 + 30 * p))
    add(minute, "hits", "do-not-originate peer:192.0.2.3", 2)
    add(minute, "hits", "protected-number peer:192.0.2.7", random.randint(0, 3))
    for f in range(3):
        add(minute, "flagged", "44207946%04d" % random.randint(0, 30), 1)
rows += [(m, series, key, count) for (m, series, key), count in hourly.items()]
db.executemany("INSERT INTO call_rollup (minute, series, key, count) VALUES (?, ?, ?, ?) "
               "ON CONFLICT (minute, series, key) DO UPDATE SET count = count + excluded.count", rows)
signals = ["one-number-many-origins", "one-source-many-numbers", "failure-share", "policy-hits"]
for a in range(50):
    db.execute("INSERT INTO call_alert (at, signal, key, count, threshold, window_s, mode) VALUES (?, ?, ?, ?, ?, ?, ?)",
               (end - a * 1700, signals[a % 4], ["442079460123", "customer:customer7", "peer:192.0.2.11", "peer:192.0.2.7"][a % 4],
                12 + a % 5, 10, 60, "block" if a % 3 == 0 else "report"))
db.commit()
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
print("rows: %d verified, %d signed, %d per-minute counts" % (verified, signed, len(rows)))
PY
echo "seeded in $(python3 -c "print('%.0f' % ($(date +%s.%N) - $START))") s; store $(du -sh "$DATA/callsign.sqlite" | cut -f1)"

serve
ADMIN=$(cat "$DATA/admin-token")
JAR=$WORK/cookies
curl -s -o /dev/null -c "$JAR" -X POST "http://127.0.0.1:$PORT/dashboard/login" --data-urlencode "token=$ADMIN"
curl -s -o /dev/null -b "$JAR" "http://127.0.0.1:$PORT/dashboard"  # the first read warms SQLite's page cache
TIMES=()
for _ in $(seq 1 "$REQUESTS"); do
  TIMES+=("$(curl -s -o "$WORK/page.html" -b "$JAR" -w '%{time_total}' "http://127.0.0.1:$PORT/dashboard")")
done
grep -q "Sign out" "$WORK/page.html" || { echo "not signed in" >&2; exit 1; }
echo "page: $(wc -c < "$WORK/page.html") bytes, $(grep -o '<svg' "$WORK/page.html" | wc -l) SVG charts"
python3 - "$RECORDS" "${TIMES[@]}" <<'PY'
import sys
records, times = sys.argv[1], sorted(float(t) * 1000 for t in sys.argv[2:])
p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print("RESULT name=dashboard records=%s p50_ms=%.1f p95_ms=%.1f max_ms=%.1f" % (records, p(.5), p(.95), times[-1]))
PY

if [ -n "$SHOT" ]; then
  command -v chromium >/dev/null || { echo "chromium is not installed: no screenshot" >&2; exit 0; }
  mkdir -p "$WORK/helper" "$WORK/chromium"
  cat > "$WORK/helper/login.html" <<EOF
<!DOCTYPE html><html><body><form id="f" method="post" action="http://127.0.0.1:$PORT/dashboard/login">
<input name="token" value="$ADMIN"></form><script>document.getElementById("f").submit()</script></body></html>
EOF
  (cd "$WORK/helper" && exec timeout 120 python3 -m http.server 18291 --bind 127.0.0.1 >/dev/null 2>&1) & PIDS+=($!)
  sleep 1
  HOME=$WORK/chromium timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$WORK/chromium" \
    --window-size=1400,2900 --virtual-time-budget=5000 --screenshot="$(realpath -m "$SHOT")" http://127.0.0.1:18291/login.html 2>/dev/null
  echo "screenshot: $SHOT"
fi
