#!/usr/bin/env bash
# Verifies an Identity header value with secsipidx (Debian's `secsipidx`):
#   scripts/peers/secsipidx-verify.sh FILE [EXPIRE_SECONDS]
# FILE holds the value (or "Identity: value"). secsipidx fetches the certificate
# from the value's info=<URL> and checks it against PKI_DIR's root, intermediate
# and CRL (-cert-verify 29). With SERVE=1 this script serves PKI_DIR on
# 127.0.0.1:CERT_PORT for the length of the check. Exit 0 when secsipidx says ok.
set -euo pipefail
file=${1:?usage: secsipidx-verify.sh FILE [EXPIRE_SECONDS]}
expire=${2:-60}
pki=${PKI_DIR:?PKI_DIR names the test PKI (scripts/peers/test-pki.sh)}
value=$(tr -d '\r\n' < "$file")
value=${value#Identity:}
value=${value# }
url=$(printf '%s' "$value" | sed -n 's/.*;[[:space:]]*info=<\([^>]*\)>.*/\1/p')
[ -n "$url" ] || { echo "the Identity value has no info=<URL>" >&2; exit 2; }
if [ "${SERVE:-0}" = 1 ]; then
  port=${CERT_PORT:?CERT_PORT is the port to serve PKI_DIR on}
  (cd "$pki" && exec timeout 60 python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
fi
timeout -k 2 20 secsipidx -check -identity "$value" -fpubkey "$url" -expire "$expire" -timeout 3 \
  -cert-verify 29 -ca-file "$pki/root-ca.pem" -ca-inter "$pki/inter-ca.pem" -crl-file "$pki/inter-ca.crl"
