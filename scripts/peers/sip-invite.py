#!/usr/bin/env python3
"""Sends one INVITE over UDP to a SIP server on loopback, retransmitted as
RFC 3261 §17.1.1 says, and prints its final answer: the status line, the
Identity and X-Secsipid-Ret headers, then "CODE <status>". Exit 0 on a final
answer, 2 when none came in time. The final answer is ACKed.

  sip-invite.py [--host 127.0.0.1] [--port 5070] [--from TN] [--to TN]
                [--identity VALUE] [--timeout SECONDS]
"""
import argparse
import random
import socket
import sys
import time

options = argparse.ArgumentParser()
options.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "::1"])
options.add_argument("--port", type=int, default=5070)
options.add_argument("--from", dest="caller", default="12155551212")
options.add_argument("--to", dest="callee", default="12155553434")
options.add_argument("--identity")
options.add_argument("--timeout", type=float, default=5.0)
args = options.parse_args()

udp = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_DGRAM)
udp.bind((args.host, 0))
local_port = udp.getsockname()[1]
branch = "z9hG4bK" + "%016x" % random.getrandbits(64)
call_id = "%016x@callsign-test" % random.getrandbits(64)
from_header = "From: <sip:%s@%s>;tag=%08x" % (args.caller, args.host, random.getrandbits(32))
request_uri = "sip:%s@%s:%d" % (args.callee, args.host, args.port)


def message(method, branch_value, extra):
    lines = ["%s %s SIP/2.0" % (method, request_uri),
             "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (args.host, local_port, branch_value),
             from_header] + extra + ["Call-ID: " + call_id, "CSeq: 1 " + method, "Max-Forwards: 70"]
    return ("\r\n".join(lines + ["Content-Length: 0", "", ""])).encode()


invite_headers = ["To: <%s>" % request_uri, "Contact: <sip:%s@%s:%d>" % (args.caller, args.host, local_port)]
if args.identity:
    invite_headers.append("Identity: " + args.identity.strip())
invite = message("INVITE", branch, invite_headers)

deadline = time.monotonic() + args.timeout
interval, next_send = 0.5, time.monotonic()
udp.settimeout(0.05)
while time.monotonic() < deadline:
    if time.monotonic() >= next_send:
        udp.sendto(invite, (args.host, args.port))
        next_send, interval = time.monotonic() + interval, min(interval * 2, 4.0)
    try:
        answer = udp.recv(65535).decode(errors="replace")
    except socket.timeout:
        continue
    lines = answer.split("\r\n")
    status = int(lines[0].split()[1])
    if status < 200:
        next_send = deadline  # a provisional answer: the server has it
        continue
    print(lines[0])
    for line in lines:
        if line.lower().startswith(("identity:", "x-secsipid-ret:")):
            print(line)
    print("CODE", status)
    to_header = next((line for line in lines if line.lower().startswith("to:")), "To: <%s>" % request_uri)
    udp.sendto(message("ACK", branch if status >= 300 else branch + "-2xx", [to_header]), (args.host, args.port))
    sys.exit(0)
print("TIMEOUT: no final answer")
sys.exit(2)
