# SPDX-License-Identifier: BSD-2-Clause
"""A small milter-protocol client (the MTA side) for the budget tests:
sends one message to the milter as Postfix would and returns what the
milter answered at end of message.

Only the standard library; the protocol is libmilter's version 6."""
import socket
import struct

SMFI_VERSION = 6
ALL_ACTIONS = 0x1FF
# The protocol steps an MTA offers: every "no ..." and "no reply" flag.
OFFERED_STEPS = 0x1FFFFF

NO_CONNECT, NO_HELO, NO_MAIL, NO_RCPT = 0x1, 0x2, 0x4, 0x8
NO_BODY, NO_HDRS, NO_EOH = 0x10, 0x20, 0x40
NR_HDR, NR_CONN, NR_HELO, NR_MAIL = 0x80, 0x1000, 0x2000, 0x4000
NR_RCPT, NR_EOH, NR_BODY = 0x8000, 0x40000, 0x80000

FINAL_REPLIES = b"acdrty"	# accept, continue, discard, reject, tempfail, reply


def _send(sock, cmd, data=b""):
    sock.sendall(struct.pack(">I", len(data) + 1) + cmd + data)


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        part = sock.recv(n - len(buf))
        if not part:
            raise EOFError("connection closed by the milter")
        buf += part
    return bytes(buf)


def _recv(sock):
    (length,) = struct.unpack(">I", _recv_exact(sock, 4))
    packet = _recv_exact(sock, length)
    return packet[:1], packet[1:]


def _cstr(*items):
    return b"".join(i.encode() + b"\0" for i in items)


def split_message(raw):
    """Headers (name, value) and body of a message in CRLF form; folded
    header lines are joined as Postfix hands them over (LF TAB kept)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    headers = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + b"\n" + line)
        else:
            name, _, value = line.partition(b":")
            headers.append((name, value.lstrip(b" ")))
    return headers, body


class Result:
    def __init__(self):
        self.final = None
        self.inserted = []	# (name, value) headers added or inserted
        self.body_replaced = False


def send_message(port, raw, qid, sender, rcpts, client_ip="192.0.2.10",
                 timeout=600):
    """Sends raw (bytes, CRLF) and returns a Result."""
    headers, body = split_message(raw)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        _send(s, b"O", struct.pack(">III", SMFI_VERSION, ALL_ACTIONS,
                                   OFFERED_STEPS))
        cmd, data = _recv(s)
        if cmd != b"O":
            raise RuntimeError("negotiation answered %r" % cmd)
        _, _, proto = struct.unpack(">III", data[:12])

        def step(cmd, payload, skip_flag, nr_flag):
            if proto & skip_flag:
                return
            _send(s, cmd, payload)
            if proto & nr_flag:
                return
            reply, _ = _recv(s)
            if reply != b"c":
                raise RuntimeError("%s answered %r" % (cmd, reply))

        step(b"C", _cstr("client.test") + b"4" + struct.pack(">H", 25)
             + _cstr(client_ip), NO_CONNECT, NR_CONN)
        step(b"H", _cstr("client.test"), NO_HELO, NR_HELO)
        _send(s, b"D", b"M" + _cstr("i", qid, "{mail_mailer}", "esmtp"))
        step(b"M", _cstr(sender), NO_MAIL, NR_MAIL)
        for r in rcpts:
            step(b"R", _cstr(r), NO_RCPT, NR_RCPT)
        for name, value in headers:
            step(b"L", name + b"\0" + value + b"\0", NO_HDRS, NR_HDR)
        step(b"N", b"", NO_EOH, NR_EOH)
        if not proto & NO_BODY:
            for off in range(0, len(body), 65535):
                _send(s, b"B", body[off:off + 65535])
                if proto & NR_BODY:
                    continue
                reply, _ = _recv(s)
                if reply == b"s":
                    break
                if reply != b"c":
                    raise RuntimeError("body answered %r" % reply)
        _send(s, b"E")
        res = Result()
        while True:
            cmd, data = _recv(s)
            if cmd in (b"h", b"i"):
                if cmd == b"i":
                    data = data[4:]
                name, value = data.rstrip(b"\0").split(b"\0", 1)
                res.inserted.append((name.decode(), value.decode()))
            elif cmd == b"b":
                res.body_replaced = True
            elif cmd in (b"p",):	# progress
                continue
            elif cmd[:1] in [bytes([c]) for c in FINAL_REPLIES]:
                res.final = cmd.decode()
                break
        _send(s, b"Q")
    return res
