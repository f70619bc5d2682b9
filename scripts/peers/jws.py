#!/usr/bin/env python3
"""An ES256 JWS signer and verifier made of the openssl command and nothing
else: a reference independent of every JOSE library, to check Callsign's
PASSporTs against (RFC 7515, RFC 7518 §3.4).

  jws.py sign KEY.pem HEADER_JSON PAYLOAD_JSON   prints the compact JWS
  jws.py verify CERT_OR_PUBLIC_KEY.pem JWS       exit 0 when the signature holds
                                                 (an Identity header value works too)

The JSON texts are signed exactly as given. JWS carries r||s (64 bytes);
openssl reads and writes a DER ECDSA-Sig-Value: converted both ways here.
"""
import base64
import subprocess
import sys
import tempfile
import os


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def der_integer(value: bytes) -> bytes:
    value = value.lstrip(b"\0") or b"\0"
    if value[0] >= 0x80:
        value = b"\0" + value
    return bytes([2, len(value)]) + value


def to_der(raw: bytes) -> bytes:
    if len(raw) != 64:
        raise SystemExit("an ES256 signature has 64 bytes, this one %d" % len(raw))
    body = der_integer(raw[:32]) + der_integer(raw[32:])
    return bytes([0x30, len(body)]) + body  # under 128 bytes: short length form


def to_raw(der: bytes) -> bytes:
    # SEQUENCE { INTEGER r, INTEGER s }, each at most 33 bytes: short length forms.
    if der[0] != 0x30:
        raise SystemExit("openssl gave no DER signature")
    position = 2
    parts = []
    for _ in range(2):
        if der[position] != 2:
            raise SystemExit("openssl gave no DER integer")
        length = der[position + 1]
        parts.append(der[position + 2:position + 2 + length].lstrip(b"\0").rjust(32, b"\0"))
        position += 2 + length
    return parts[0] + parts[1]


def sign(key: str, header: str, payload: str) -> int:
    signing_input = encode(header.encode()) + "." + encode(payload.encode())
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input.encode(),
                         capture_output=True, check=True).stdout
    print(signing_input + "." + encode(to_raw(der)))
    return 0


def verify(key_file: str, jws: str) -> int:
    header, payload, signature = jws.strip().split(";")[0].strip().split(".")
    with tempfile.TemporaryDirectory() as work:
        public = key_file
        with open(key_file) as f:
            if "BEGIN CERTIFICATE" in f.read():
                public = os.path.join(work, "public.pem")
                subprocess.run(["openssl", "x509", "-in", key_file, "-pubkey", "-noout", "-out", public], check=True)
        signature_file = os.path.join(work, "signature.der")
        with open(signature_file, "wb") as f:
            f.write(to_der(decode(signature)))
        result = subprocess.run(["openssl", "dgst", "-sha256", "-verify", public, "-signature", signature_file],
                                input=(header + "." + payload).encode(), capture_output=True)
        sys.stdout.write(result.stdout.decode())
        return 0 if result.returncode == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "sign":
        sys.exit(sign(*sys.argv[2:]))
    if len(sys.argv) == 4 and sys.argv[1] == "verify":
        sys.exit(verify(*sys.argv[2:]))
    sys.exit(__doc__)
