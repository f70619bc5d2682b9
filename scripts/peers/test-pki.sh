#!/usr/bin/env bash
# Makes the OpenSSL test PKI the interop tests and benchmarks trust:
#   scripts/peers/test-pki.sh DIR [SPC] [BASE_URL]
# A root CA, an intermediate CA and a SHAKEN end-entity certificate (P-256)
# whose TNAuthList (RFC 8226, OID 1.3.6.1.5.5.7.1.26) holds the SPC, plus the
# certificates the negative tests need. BASE_URL (default http://127.0.0.1:18080)
# goes into the CRL Distribution Point. OpenSSL only; no network.
#
# Writes into DIR (PEM unless named otherwise):
#   root-ca.{key,pem}  inter-ca.{key,pem}  ca-bundle.pem (root + intermediate)
#   sp.key (SEC1)  sp.pk8 (PKCS#8)  sp-pub.pem  sp.pem  sp-chain.pem (sp + intermediate)
#   inter-ca.crl (nothing revoked)  inter-ca-revoked.crl (lists sp-revoked.pem)
#   sp-expired.pem  sp-notnauth.pem  sp-critical-tnauth.pem  sp-tnlist.pem (a range and
#   a TN, no SPC)  sp-revoked.pem  rogue-ca.{key,pem}  sp-rogue.pem (sp.key under the rogue root)
#   tnauthlist.der
# A DIR that already holds a PKI for the same SPC, valid for another day, is kept
# (FORCE=1 makes a new one).
set -euo pipefail
dir=${1:?usage: test-pki.sh DIR [SPC] [BASE_URL]}
spc=${2:-1234}
base=${3:-http://127.0.0.1:18080}
[[ $spc =~ ^[A-Za-z0-9]{1,60}$ ]] || { echo "test-pki: the SPC must be 1 to 60 letters or digits" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
ossl() { openssl "$@" 2>/dev/null; }

if [ "${FORCE:-0}" != 1 ] && [ "$(cat "$dir/.spc" 2>/dev/null)" = "$spc" ] \
   && openssl verify -CAfile "$dir/root-ca.pem" -untrusted "$dir/inter-ca.pem" "$dir/sp.pem" >/dev/null 2>&1 \
   && openssl x509 -in "$dir/sp.pem" -noout -checkend 86400 >/dev/null 2>&1 \
   && [ -s "$dir/inter-ca-revoked.crl" ] && [ -s "$dir/sp-rogue.pem" ]; then
  echo "test-pki: $dir is ready (SPC $spc)"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# TNAuthList with one SPC entry, DER by hand (the module uses EXPLICIT tags):
# SEQUENCE { [0] { IA5String spc } }.
len=${#spc}
spc_hex=$(printf '%s' "$spc" | od -An -tx1 | tr -d ' \n')
tnauth=$(printf '30%02xa0%02x16%02x%s' $((len + 4)) $((len + 2)) "$len" "$spc_hex")
tnauth_colons=$(echo "$tnauth" | sed 's/../&:/g; s/:$//')

{
  echo "[root]"
  echo "basicConstraints = critical, CA:TRUE"
  echo "keyUsage = critical, keyCertSign, cRLSign"
  echo "subjectKeyIdentifier = hash"
  echo "[inter]"
  echo "basicConstraints = critical, CA:TRUE, pathlen:0"
  echo "keyUsage = critical, keyCertSign, cRLSign"
  echo "subjectKeyIdentifier = hash"
  echo "authorityKeyIdentifier = keyid:always"
  # End-entity sections share these lines; each adds its TNAuthList (or none).
  for section in ee ee_notnauth ee_critical ee_tnlist; do
    echo "[$section]"
    echo "basicConstraints = critical, CA:FALSE"
    echo "keyUsage = critical, digitalSignature"
    echo "subjectKeyIdentifier = hash"
    echo "authorityKeyIdentifier = keyid:always"
    echo "certificatePolicies = 2.16.840.1.114569.1.1.3"
    echo "crlDistributionPoints = URI:$base/inter-ca.crl"
    case $section in
      ee) echo "1.3.6.1.5.5.7.1.26 = DER:$tnauth_colons" ;;
      ee_critical) echo "1.3.6.1.5.5.7.1.26 = critical, DER:$tnauth_colons" ;;
      ee_tnlist) echo "1.3.6.1.5.5.7.1.26 = ASN1:SEQUENCE:tnlist" ;;
    esac
  done
  echo "[tnlist]"
  echo "range = EXPLICIT:1,SEQUENCE:tnrange"
  echo "one = EXPLICIT:2,IA5STRING:12155551234"
  echo "[tnrange]"
  echo "start = IA5STRING:12155550000"
  echo "count = INTEGER:100"
} > "$tmp/extensions.cnf"

# An `openssl ca` database per issuer: dates of our choosing, and CRLs.
issuer_db() { # NAME KEY CERT
  mkdir -p "$tmp/$1/certs"
  : > "$tmp/$1/index.txt"
  echo 01 > "$tmp/$1/crlnumber"
  cat > "$tmp/$1/ca.cnf" <<CNF
[ca]
default_ca = db
[db]
database = $tmp/$1/index.txt
new_certs_dir = $tmp/$1/certs
certificate = $3
private_key = $2
rand_serial = yes
crlnumber = $tmp/$1/crlnumber
default_md = sha256
default_crl_days = 30
policy = names
unique_subject = no
[names]
countryName = optional
organizationName = optional
commonName = supplied
CNF
}
key() { openssl ecparam -name prime256v1 -genkey -noout -out "$1"; }
self_signed() { # KEY SUBJECT OUT
  ossl req -new -x509 -sha256 -key "$1" -subj "$2" -days 3650 -config "$tmp/extensions.cnf" -extensions root \
    -set_serial "0x$(openssl rand -hex 8)" -out "$3"
}
sign_with() { # DB SECTION CSR OUT ARGS...
  local db=$1 section=$2 csr=$3 out=$4; shift 4
  ossl ca -batch -notext -config "$tmp/$db/ca.cnf" -extfile "$tmp/extensions.cnf" -extensions "$section" -in "$csr" -out "$out" "$@"
}

key "$tmp/root-ca.key"
self_signed "$tmp/root-ca.key" "/C=US/O=Callsign Test STI-PA/CN=Callsign Test Root" "$tmp/root-ca.pem"
issuer_db root "$tmp/root-ca.key" "$tmp/root-ca.pem"
key "$tmp/inter-ca.key"
openssl req -new -key "$tmp/inter-ca.key" -subj "/C=US/O=Callsign Test STI-CA/CN=Callsign Test Intermediate" -out "$tmp/inter.csr"
sign_with root inter "$tmp/inter.csr" "$tmp/inter-ca.pem" -days 3650

key "$tmp/sp.key"
openssl pkcs8 -topk8 -nocrypt -in "$tmp/sp.key" -out "$tmp/sp.pk8"
ossl ec -in "$tmp/sp.key" -pubout -out "$tmp/sp-pub.pem"
openssl req -new -key "$tmp/sp.key" -subj "/C=US/O=Callsign Test Carrier/CN=SHAKEN $spc" -out "$tmp/sp.csr"
issuer_db inter "$tmp/inter-ca.key" "$tmp/inter-ca.pem"
sign_with inter ee "$tmp/sp.csr" "$tmp/sp.pem" -days 365
sign_with inter ee "$tmp/sp.csr" "$tmp/sp-expired.pem" -startdate 20200101000000Z -enddate 20200201000000Z
sign_with inter ee_notnauth "$tmp/sp.csr" "$tmp/sp-notnauth.pem" -days 365
sign_with inter ee_critical "$tmp/sp.csr" "$tmp/sp-critical-tnauth.pem" -days 365
sign_with inter ee_tnlist "$tmp/sp.csr" "$tmp/sp-tnlist.pem" -days 365
sign_with inter ee "$tmp/sp.csr" "$tmp/sp-revoked.pem" -days 365
ossl ca -batch -config "$tmp/inter/ca.cnf" -gencrl -out "$tmp/inter-ca.crl"
ossl ca -batch -config "$tmp/inter/ca.cnf" -revoke "$tmp/sp-revoked.pem" -crl_reason keyCompromise
ossl ca -batch -config "$tmp/inter/ca.cnf" -gencrl -out "$tmp/inter-ca-revoked.crl"

key "$tmp/rogue-ca.key"
self_signed "$tmp/rogue-ca.key" "/C=US/O=Rogue/CN=Rogue Root" "$tmp/rogue-ca.pem"
issuer_db rogue "$tmp/rogue-ca.key" "$tmp/rogue-ca.pem"
sign_with rogue ee "$tmp/sp.csr" "$tmp/sp-rogue.pem" -days 365

cat "$tmp/sp.pem" "$tmp/inter-ca.pem" > "$tmp/sp-chain.pem"
cat "$tmp/root-ca.pem" "$tmp/inter-ca.pem" > "$tmp/ca-bundle.pem"
echo "$tnauth" | xxd -r -p > "$tmp/tnauthlist.der" 2>/dev/null \
  || python3 -c 'import sys; open(sys.argv[1], "wb").write(bytes.fromhex(sys.argv[2]))' "$tmp/tnauthlist.der" "$tnauth"

# The chain verifies and the extension holds what was asked for.
openssl verify -x509_strict -CAfile "$tmp/root-ca.pem" -untrusted "$tmp/inter-ca.pem" "$tmp/sp.pem" >/dev/null
written=$(openssl x509 -in "$tmp/sp.pem" -outform DER | openssl asn1parse -inform DER 2>/dev/null \
  | awk '/:1.3.6.1.5.5.7.1.26/ { found = 1; next } found && /HEX DUMP/ { sub(/.*\[HEX DUMP\]:/, ""); print tolower($0); exit }')
[ "$written" = "$tnauth" ] || { echo "test-pki: TNAuthList is '$written', expected '$tnauth'" >&2; exit 1; }

for f in root-ca.key root-ca.pem inter-ca.key inter-ca.pem ca-bundle.pem sp.key sp.pk8 sp-pub.pem sp.pem sp-chain.pem \
         inter-ca.crl inter-ca-revoked.crl sp-expired.pem sp-notnauth.pem sp-critical-tnauth.pem sp-tnlist.pem sp-revoked.pem \
         rogue-ca.key rogue-ca.pem sp-rogue.pem tnauthlist.der; do
  cp "$tmp/$f" "$dir/$f"
done
chmod 600 "$dir"/*.key "$dir/sp.pk8"
echo "$spc" > "$dir/.spc"
echo "test-pki: wrote $dir (SPC $spc, TNAuthList $tnauth)"
