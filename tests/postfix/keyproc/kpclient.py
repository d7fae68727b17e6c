#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Talks to a key process directly, as the daemon would.

kpclient.py PROGRAM CONFIG LOG SCRIPT [LANES]: starts PROGRAM -K 3:LANES
-c CONFIG -f (stderr to LOG) on the ends of LANES (default 1)
SOCK_SEQPACKET socketpairs, given as fds 3, 4, ..., and runs SCRIPT's
lines, one request each on lane 0:
  sign FINGERPRINT DIGESTHEX [md] [padding]
  decrypt FINGERPRINT CIPHERFILE
  enroll ADDRESS
  raw HEX                       (bytes sent as they are)
  burst FINGERPRINT DIGESTHEX   (the sign request sent on every lane
                                 before any reply is read)
and prints one line per reply: the result name, then the output in hex
(a burst: one line per lane). The key process must end by itself when
the sockets close."""
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


def reply(sock):
    magic, result, n, out = struct.unpack(REPLY, sock.recv(8192))
    assert magic == MAGIC
    print(RESULTS[result], out[:n].hex())
    sys.stdout.flush()


def start(program, config, log, lanes):
    """The key process on `lanes` socketpairs; returns it and our ends."""
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
             for _ in range(lanes)]
    theirs = [b.fileno() for _, b in pairs]

    def give_fds():
        # Above the target range first, so that no dup2 overwrites an
        # end not yet moved.
        high = [os.dup2(fd, 100 + i) for i, fd in enumerate(theirs)]
        for i, fd in enumerate(high):
            os.dup2(fd, 3 + i)
    with open(log, "ab") as err:
        proc = subprocess.Popen([program, "-K", "3:%d" % lanes, "-c", config,
                                 "-f"], stderr=err, close_fds=False,
                                preexec_fn=give_fds)
    ours = []
    for a, b in pairs:
        b.close()
        a.settimeout(20)
        ours.append(a)
    return proc, ours


def main():
    program, config, log, script = sys.argv[1:5]
    lanes = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    proc, socks = start(program, config, log, lanes)
    a = socks[0]
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
            elif w[0] == "burst":
                for s in socks:
                    s.send(request(1, w[1].encode(), b"sha256", 1,
                                   bytes.fromhex(w[2])))
                for s in socks:
                    reply(s)
                continue
            else:
                msg = bytes.fromhex(w[1])
            a.send(msg)
            reply(a)
    for s in socks:
        s.close()
    sys.exit(0 if proc.wait(timeout=10) == 0 else 1)


if __name__ == "__main__":
    main()
