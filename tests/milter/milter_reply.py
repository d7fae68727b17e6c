#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Prints the milter's answer to a new connection, reply text included
(miltertest only reports the kind of reply, not the SMTP code and text).

usage: milter_reply.py PORT CLIENT_IP
Output: one line, "REPLY <cmd-letter> <text>", e.g.
  REPLY y 451 4.3.0 smime-milter is shutting down
Exit 0 when a reply was read, 2 otherwise."""
import socket
import struct
import sys

SMFI_VERSION = 6
ALL_ACTIONS = 0x1FF
ALL_STEPS = 0x1FFFFF


def send(sock, cmd, data=b""):
    sock.sendall(struct.pack(">I", len(data) + 1) + cmd + data)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        part = sock.recv(n - len(buf))
        if not part:
            raise EOFError("connection closed by the milter")
        buf += part
    return buf


def recv(sock):
    (length,) = struct.unpack(">I", recv_exact(sock, 4))
    packet = recv_exact(sock, length)
    return packet[:1], packet[1:]


def main():
    port, ip = int(sys.argv[1]), sys.argv[2]
    family = b"6" if ":" in ip else b"4"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        send(s, b"O", struct.pack(">III", SMFI_VERSION, ALL_ACTIONS,
                                  ALL_STEPS))
        cmd, _ = recv(s)
        if cmd != b"O":
            print("option negotiation answered %r" % cmd)
            return 2
        send(s, b"C", b"client.test\0" + family + struct.pack(">H", 25)
             + ip.encode() + b"\0")
        cmd, data = recv(s)
        print("REPLY %s %s" % (cmd.decode(), data.rstrip(b"\0").decode()))
        send(s, b"Q")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, EOFError) as e:
        print("ERROR %s" % e)
        sys.exit(2)
