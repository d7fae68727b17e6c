#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Talks to a key process directly, as the daemon would.

kpclient.py PROGRAM CONFIG LOG SCRIPT: starts PROGRAM -K 3 -c CONFIG -f
(stderr to LOG) on one end of a SOCK_SEQPACKET socketpair and runs
SCRIPT's lines, one request each:
  sign FINGERPRINT DIGESTHEX [md] [padding]
  decrypt FINGERPRINT CIPHERFILE
  enroll ADDRESS
  raw HEX                       (bytes sent as they are)
and prints one line per reply: the result name, then the output in hex.
The key process must end by itself when the socket closes."""
import os
import socket
import struct
import subprocess
import sys

FMT = "<II65s16s16s3xiII256sI1024s"
REPLY = "<IiI1024s"
MAGIC = 0x534D584B
RESULTS = ["ok", "refused", "rate_limited", "failed", "unavailable",
           "bad_request"]


def request(op, fp=b"", md=b"", pad=0, data=b"", out_len=0):
    return struct.pack(FMT, MAGIC, op, fp, md, b"", pad, out_len, 0, b"",
                       len(data), data)


def main():
    program, config, log, script = sys.argv[1:5]
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with open(log, "ab") as err:
        proc = subprocess.Popen([program, "-K", "3", "-c", config, "-f"],
                                stderr=err, close_fds=False,
                                preexec_fn=lambda: os.dup2(b.fileno(), 3))
    b.close()
    a.settimeout(20)
    with open(script) as f:
        for line in f:
            w = line.split()
            if not w:
                continue
            if w[0] == "sign":
                md = w[3].encode() if len(w) > 3 else b"sha256"
                pad = int(w[4]) if len(w) > 4 else 1
                msg = request(1, w[1].encode(), md, pad, bytes.fromhex(w[2]))
            elif w[0] == "decrypt":
                with open(w[2], "rb") as c:
                    msg = request(2, w[1].encode(), b"", 1, c.read())
            elif w[0] == "enroll":
                msg = request(3, data=w[1].encode())
            else:
                msg = bytes.fromhex(w[1])
            a.send(msg)
            magic, result, n, out = struct.unpack(REPLY, a.recv(8192))
            assert magic == MAGIC
            print(RESULTS[result], out[:n].hex())
            sys.stdout.flush()
    a.close()
    sys.exit(0 if proc.wait(timeout=10) == 0 else 1)


if __name__ == "__main__":
    main()
