#!/usr/bin/env python3
"""Writes the fuzz harnesses' seed corpora (Fuzz/seeds/TARGET/) from the test
vectors and the messages the tests use. Run from the repository root; the
output is committed, so a run of scripts/fuzz.sh needs nothing else."""
import base64, glob, hashlib, json, os, re

V = "Tests/CallsignTests/Vectors"
seeds = {t: [] for t in ["identity", "passport", "json", "date", "tnauthlist", "dno", "certificate", "sip", "rest", "config"]}

def add(target, data):
    seeds[target].append(data if isinstance(data, bytes) else data.encode())

valid = json.load(open(f"{V}/shaken-test-pki/passport-valid.json"))
for value in valid.values():
    if isinstance(value, str) and value.count(".") >= 2 and value.startswith("ey"):
        add("identity", value)
        add("passport", value.split(";")[0])
for path in [f"{V}/rfc8225-appendixA.json", f"{V}/rfc8588-example.json", f"{V}/api/atis-1000082-examples.json"]:
    text = open(path).read()
    add("json", text)
    for token in set(re.findall(r"ey[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*", text)):
        add("passport", token)
    for identity in set(re.findall(r"ey[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*;[^\"\\\\]*", text)):
        add("identity", identity)
header = base64.urlsafe_b64encode(b'{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cr.example/sp.pem"}').rstrip(b"=").decode()
claims = base64.urlsafe_b64encode(b'{"attest":"A","dest":{"tn":["12125551213"]},"iat":1800000000,"orig":{"tn":"12155550100"},"origid":"123e4567-e89b-12d3-a456-426655440000"}').rstrip(b"=").decode()
sig = base64.urlsafe_b64encode(bytes(64)).rstrip(b"=").decode()
add("passport", f"{header}.{claims}.{sig}")
add("identity", f"{header}.{claims}.{sig};info=<https://cr.example/sp.pem>;alg=ES256;ppt=shaken")
add("identity", f"Identity: {header}.{claims}.{sig};info=<https://cr.example/sp.pem>;alg=ES256;ppt=\"shaken\", {header}..{sig};info=<https://x/y.pem>;ppt=div")
signing = '{"signingRequest":{"attest":"A","dest":{"tn":["12125551213"]},"iat":1800000000,"orig":{"tn":"12155550100"},"origid":"123e4567-e89b-12d3-a456-426655440000"}}'
verification = '{"verificationRequest":{"from":{"tn":"12155550100"},"to":{"tn":["12125551213"]},"time":1800000000,"identity":"%s.%s.%s;info=<https://cr.example/sp.pem>;alg=ES256;ppt=\\"shaken\\""}}' % (header, claims, sig)
for body in [signing, verification, '{"a":[1,-0,1e5,"\\u00e9\\n",true,false,null,{"b":{}}]}']:
    add("json", body)
for date in ["Sun, 06 Nov 1994 08:49:37 GMT", "Thu, 01 Jan 2026 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 29 Feb 2028 12:00:60 GMT"]:
    add("date", date)
for sample in json.load(open(f"{V}/tnauthlist-der-samples.json"))["samples"]:
    add("tnauthlist", bytes.fromhex(sample["der_hex"]))
add("dno", "number,label\n+1 215 555 0100,Example Bank\n12155559*,range\n# comment\n\n441632960000\n")
add("dno", "12125551213\r\n+44 20 7946 0123,\"Police\"\r\n")
pems = sorted(glob.glob(f"{V}/**/*.pem", recursive=True))
for path in pems:
    text = open(path).read()
    add("certificate", b"\x02" + text.encode())
    for block in re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S):
        add("certificate", b"\x00" + base64.b64decode("".join(block.split())))
# STI-PA artefacts (Vectors/sti-pa): the indirect CRL as an intermediate's CRL (mode 1) and as the
# STI-PA CRL (mode 4), the trust list (mode 5), an SPC token (mode 6).
stipa = f"{V}/sti-pa"
crl = open(f"{stipa}/sti-pa-crl.der", "rb").read()
add("certificate", b"\x01" + crl)
add("certificate", b"\x04" + crl)
add("certificate", b"\x05" + open(f"{stipa}/trust-list.jws", "rb").read().strip())
add("certificate", b"\x06" + open(f"{stipa}/spc-token-818H.jws", "rb").read().strip())
via = "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1\r\n"
base = "From: <sip:+12155550100@carrier.example>;tag=a1\r\nTo: <sip:12125551213@sbc.example>\r\nCall-ID: c1@x\r\n"
add("sip", b"\x07" + ("INVITE sip:12125551213@sbc.example SIP/2.0\r\n" + via + base + "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
                     + f"Identity: {header}.{claims}.{sig};info=<https://cr.example/sp.pem>;alg=ES256;ppt=shaken\r\n"
                     + "Date: Thu, 01 Jan 2026 00:00:00 GMT\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n").encode())
add("sip", b"\x30" + ("OPTIONS sip:x@example.com SIP/2.0\r\n" + via + base + "CSeq: 2 OPTIONS\r\nl: 0\r\n\r\n\r\n").encode())
add("sip", b"\x01" + ("SIP/2.0 302 Moved Temporarily\r\n" + via + base + "CSeq: 1 INVITE\r\nContact: <sip:x@y>\r\nContent-Length: 0\r\n\r\n").encode())
add("sip", b"\x11" + ("INVITE sip:a@b SIP/2.0\r\n" + via + "v: SIP/2.0/TCP h;branch=z9hG4bK2\r\n f: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\ni: x\r\nCSeq: 1 INVITE\r\nSubject: folded\r\n line\r\n\r\n").encode())
for path, fields, body in [("/stir/v1/signing", "Authorization: Bearer cs_abc\r\n", signing), ("/stir/v1/verification", "", verification)]:
    add("rest", f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\n{fields}X-RequestID: r-1\r\nContent-Length: {len(body)}\r\n\r\n{body}")
add("rest", f"POST /stir/v1/signing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
add("rest", signing)
add("rest", verification)
add("config", json.dumps({"http": "127.0.0.1:8080", "numbering": "nanp", "customers": [{"id": "bank", "name": "Example Bank", "origid": "8f4a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b", "kind": "direct", "numbers": ["12155550000+100", "12155559999"]}],
                          "trunks": [{"address": "192.0.2.10", "customer": "bank", "numbering": "uk"}], "peers": [{"address": "203.0.113.9", "numbering": "fr"}],
                          "policy": {"rules": ["do-not-originate", "invalid-number", {"national-number-from-abroad": {"country": "44", "allow_roaming_mobile": True}}, {"unauthenticated-national-number": {"country": "33", "action": "tag"}}], "international_sources": ["198.51.100.1"]}}))

for target, items in seeds.items():
    directory = f"Fuzz/seeds/{target}"
    os.makedirs(directory, exist_ok=True)
    # Generated seeds are named by their hash; hand-added regression inputs (other names) stay.
    for old in glob.glob(f"{directory}/*"):
        if re.fullmatch(r"[0-9a-f]{16}", os.path.basename(old)):
            os.remove(old)
    for data in items:
        open(f"{directory}/{hashlib.sha1(data).hexdigest()[:16]}", "wb").write(data)
    print(target, len(items))
