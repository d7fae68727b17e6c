#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A small milter-protocol client (the MTA side) for the tests that
miltertest cannot express: many connections at once, and a connection
that goes away in the middle of a message.

usage:
  milter_session.py caps PORT LIMIT
      opens LIMIT connections (each admitted: 'c'), then one more, which
      must get 451 4.3.0; after one admitted connection quits, a new one
      is admitted again (within 10 s).
  milter_session.py hold PORT
      opens one admitted connection, prints HOLDING and keeps it open
      until killed.
  milter_session.py steps PORT
      checks the negotiated protocol: offered every flag, the milter
      answers no HELO, header or end-of-header step, and still every
      connect, MAIL, RCPT, DATA and body step (those may refuse); a
      message (queue id N1) sent as Postfix then sends it, the replies
      of those steps not awaited, ends with "continue" (its body, inbound
      text, is answered "skip"). A second, older MTA that offers no "no
      reply" flag and no SMFIP_SKIP gets an answer to every step
      (message N2): libmilter answers for the milter.
  milter_session.py abort PORT PID SPOOLDIR HOW
      starts a message whose body (200 000 bytes) goes to a spool file
      of the milter (process PID, directory SPOOLDIR), then ends it HOW:
      'close' (the MTA drops the connection mid-body), 'abort' (SMFIC_ABORT),
      'mail' (a new MAIL FROM on the same connection), or 'hold' (prints
      HOLDING and keeps the message open until killed). The spool file must
      be gone within 10 s (times SMX_TIMEOUT_SCALE): no open descriptor
      into SPOOLDIR, no name in it.
  milter_session.py skip PORT
      an MTA that offers SMFIP_SKIP, as Postfix does, sends messages with
      bodies of three 65 535-byte chunks: the first chunk of inbound
      text/plain (K1) and of inbound mail without a Content-Type (K6) is
      answered "skip", and such a message ends with "continue" and no
      edit; inbound multipart/signed (K2), multipart/mixed (K3) and
      application/pkcs7-mime (K4) and outbound text/plain (K5) get
      "continue" for every chunk. An MTA that does not offer SMFIP_SKIP
      gets "continue" for every chunk of inbound text/plain (K7).
  milter_session.py no-skip PORT
      with verify.authentication_results_none = true: inbound text/plain
      from an MTA that offers SMFIP_SKIP (K8) is read whole ("continue"
      for every chunk) and gets its smime=none header.
  milter_session.py sign-reload PORT PID CONF OPAQUE_CONF LOG
      with sign_format "clear" in CONF: message F1 is signed clear;
      F2 begins, OPAQUE_CONF is copied over CONF and PID gets SIGHUP
      (LOG must say it loaded CONF), then F2 ends and is signed clear
      (the snapshot it began with); F3, the next message, must be
      signed opaque. Sender alice@example.com, logged in as herself.
Exit 0 on success; 1 with a message on stderr otherwise."""
import os
import socket
import struct
import sys
import time

SMFI_VERSION = 6
ALL_ACTIONS = 0x1FF
ALL_STEPS = 0x1FFFFF
# The "no reply" flag of each step, as an MTA honours them: a step the
# milter negotiated without a reply gets none.
NO_REPLY = {b"C": 0x1000, b"H": 0x2000, b"M": 0x4000, b"R": 0x8000,
            b"L": 0x80, b"N": 0x40000, b"B": 0x80000}
# Waits stretch under valgrind (the harness's SMX_TIMEOUT_SCALE).
WAIT = 10 * int(os.environ.get("SMX_TIMEOUT_SCALE", "1"))


class Milter:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=WAIT)
        self.steps = 0	# the protocol flags the milter negotiated

    def send(self, cmd, data=b""):
        self.sock.sendall(struct.pack(">I", len(data) + 1) + cmd + data)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            part = self.sock.recv(n - len(buf))
            if not part:
                raise EOFError("connection closed by the milter")
            buf += part
        return buf

    def recv_packet(self):
        (length,) = struct.unpack(">I", self.recv_exact(4))
        packet = self.recv_exact(length)
        return packet[:1], packet[1:]

    def recv(self):
        cmd, data = self.recv_packet()
        return cmd, data.rstrip(b"\0").decode("latin-1")

    def ask(self, cmd, data=b""):
        self.send(cmd, data)
        return self.recv()

    def open(self, ip, offered=ALL_STEPS):
        """Negotiates and sends the connect event; returns its reply."""
        self.send(b"O", struct.pack(">III", SMFI_VERSION, ALL_ACTIONS,
                                    offered))
        cmd, data = self.recv_packet()
        if cmd != b"O" or len(data) < 12:
            raise RuntimeError("negotiation answered %r" % cmd)
        self.steps = struct.unpack(">III", data[:12])[2]
        return self.ask(b"C", b"client.test\0" + b"4" +
                        struct.pack(">H", 25) + ip.encode() + b"\0")

    def expect(self, want, cmd, data=b""):
        if self.steps & NO_REPLY.get(cmd, 0):
            if want != b"c":
                raise RuntimeError("%r has no reply: cannot answer %r"
                                   % (cmd, want))
            self.send(cmd, data)
            return
        got, text = self.ask(cmd, data)
        if got != want:
            raise RuntimeError("%r answered %r %s, want %r"
                               % (cmd, got, text, want))

    def close(self):
        self.sock.close()


def fail(text):
    print("FAIL: " + text, file=sys.stderr)
    sys.exit(1)


def caps(port, limit):
    admitted = []
    for i in range(limit):
        m = Milter(port)
        cmd, text = m.open("192.0.2.%d" % (i + 1))
        if cmd != b"c":
            fail("connection %d of %d answered %r %s, want continue"
                 % (i + 1, limit, cmd, text))
        admitted.append(m)
    extra = Milter(port)
    cmd, text = extra.open("192.0.2.200")
    if cmd != b"y" or not text.startswith("451 4.3.0 "):
        fail("connection %d answered %r %s, want 451 4.3.0"
             % (limit + 1, cmd, text))
    print("REFUSED %s" % text)
    extra.send(b"Q")
    extra.close()
    admitted.pop().send(b"Q")
    deadline = time.monotonic() + WAIT
    while True:
        m = Milter(port)
        cmd, text = m.open("192.0.2.201")
        m.send(b"Q")
        m.close()
        if cmd == b"c":
            break
        if time.monotonic() > deadline:
            fail("no connection admitted after one quit: %r %s"
                 % (cmd, text))
        time.sleep(0.2)
    for m in admitted:
        m.send(b"Q")
        m.close()


def hold(port):
    m = Milter(port)
    cmd, text = m.open("192.0.2.1")
    if cmd != b"c":
        fail("connection answered %r %s, want continue" % (cmd, text))
    print("HOLDING", flush=True)
    time.sleep(3600)


def spool_fds(pid, spooldir):
    fds = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith(spooldir + "/"):
            fds.append(target)
    return fds


def wait_spool_gone(pid, spooldir, how):
    deadline = time.monotonic() + WAIT
    while spool_fds(pid, spooldir) or os.listdir(spooldir):
        if time.monotonic() > deadline:
            fail("%s: spool left behind: open %s, names %s"
                 % (how, spool_fds(pid, spooldir), os.listdir(spooldir)))
        time.sleep(0.1)


def start_message(m, n):
    m.expect(b"c", b"M", b"<s%d@remote.test>\0" % n)
    m.expect(b"c", b"R", b"<u@example.com>\0")
    m.expect(b"c", b"L", b"Subject\0 abort test\0")
    m.expect(b"c", b"N")
    line = b"x" * 78 + b"\r\n"
    for _ in range(50):
        m.expect(b"c", b"B", line * 50)	# 4 000 bytes each


def abort(port, pid, spooldir, how):
    m = Milter(port)
    # without SMFIP_SKIP: the milter keeps the inbound text body
    cmd, text = m.open("192.0.2.10", ALL_STEPS & ~SMFIP_SKIP)
    if cmd != b"c":
        fail("connect answered %r %s" % (cmd, text))
    start_message(m, 1)
    if not spool_fds(pid, spooldir):
        fail("the 200 000-byte body is not in a spool file: nothing to test")
    if how == "close":
        m.close()
    elif how == "abort":
        m.send(b"A")	# no reply
    elif how == "mail":
        m.expect(b"c", b"M", b"<s2@remote.test>\0")
    elif how == "hold":
        print("HOLDING", flush=True)
        time.sleep(3600)
    else:
        fail("unknown way to end the message: " + how)
    wait_spool_gone(pid, spooldir, how)
    if how != "close":	# the connection still works
        m.expect(b"c", b"M", b"<s3@remote.test>\0")
        m.send(b"A")
        m.send(b"Q")
        m.close()


def eom_edits(m):
    """Sends end of message; returns the Content-Type the milter set
    (None: unchanged) and whether it replaced the body."""
    m.send(b"E")
    content_type, body = None, False
    while True:
        (length,) = struct.unpack(">I", m.recv_exact(4))
        packet = m.recv_exact(length)
        cmd, data = packet[:1], packet[1:]
        if cmd in (b"m", b"i"):		# index, name, value
            data = data[4:]
        if cmd in (b"m", b"h", b"i"):
            name, value = data.split(b"\0")[:2]
            if name.lower() == b"content-type":
                content_type = value.decode().strip()
        elif cmd == b"b":
            body = True
        elif cmd in (b"c", b"a"):
            return content_type, body
        elif cmd != b"p":		# progress
            raise RuntimeError("end of message answered %r" % cmd)


def signed_message(m, qid, stop=False):
    m.send(b"D", b"M" + b"i\0" + qid + b"\0{auth_authen}\0"
           b"alice@example.com\0")
    m.expect(b"c", b"M", b"<alice@example.com>\0")
    m.expect(b"c", b"R", b"<rcpt@partner.example>\0")
    for name, value in ((b"From", b" Alice <alice@example.com>"),
                        (b"Subject", b" format " + qid),
                        (b"MIME-Version", b" 1.0"),
                        (b"Content-Type", b" text/plain")):
        m.expect(b"c", b"L", name + b"\0" + value + b"\0")
    m.expect(b"c", b"N")
    m.expect(b"c", b"B", b"Hello.\r\n")
    return None if stop else eom_edits(m)


def expect_format(qid, edits, opaque):
    content_type, body = edits
    if not body or content_type is None:
        fail("%s: not signed (%r)" % (qid, edits))
    got = content_type.startswith("application/pkcs7-mime")
    if got != opaque:
        fail("%s: signed %s, expected %s: Content-Type %s" % (
            qid, "opaque" if got else "clear",
            "opaque" if opaque else "clear", content_type))


def sign_reload(port, pid, conf, opaque_conf, log):
    m1, m2 = Milter(port), Milter(port)
    for m in (m1, m2):
        cmd, text = m.open("127.0.0.1")
        if cmd != b"c":
            fail("connect answered %r %s" % (cmd, text))
    expect_format("F1", signed_message(m1, b"F1"), False)
    signed_message(m2, b"F2", stop=True)
    with open(opaque_conf, "rb") as src, open(conf, "wb") as dst:
        dst.write(src.read())
    os.kill(pid, 1)
    loaded = "reload: configuration %s loaded" % conf
    deadline = time.monotonic() + WAIT
    while loaded not in open(log, encoding="utf-8", errors="replace").read():
        if time.monotonic() > deadline:
            fail("no '%s' in %s" % (loaded, log))
        time.sleep(0.05)
    expect_format("F2", eom_edits(m2), False)
    expect_format("F3", signed_message(m1, b"F3"), True)
    for m in (m1, m2):
        m.send(b"Q")
        m.close()


NO_REPLY_ALL = sum(NO_REPLY.values()) | 0x10000 | 0x20000	# DATA, UNKNOWN
NO_REPLY_WANTED = NO_REPLY[b"H"] | NO_REPLY[b"L"] | NO_REPLY[b"N"]
SMFIP_SKIP = 0x400	# the MTA understands "skip the rest of the body"


def send_message(m, qid, body_reply=b"c"):
    """One inbound message; the final reply of its end ('c', 'a'...)."""
    m.expect(b"c", b"H", b"client.test\0")
    m.send(b"D", b"Mi\0" + qid + b"\0")
    m.expect(b"c", b"M", b"<s@remote.test>\0")
    m.expect(b"c", b"R", b"<u@example.com>\0")
    m.expect(b"c", b"T")
    for name, value in ((b"From", b" <s@remote.test>"),
                        (b"To", b" <u@example.com>"),
                        (b"Subject", b" negotiated steps")):
        m.expect(b"c", b"L", name + b"\0" + value + b"\0")
    m.expect(b"c", b"N")
    m.expect(body_reply, b"B", b"hello\r\n")
    m.send(b"E")
    while True:
        cmd, text = m.recv()
        if cmd in (b"a", b"c", b"d", b"r", b"t", b"y"):
            return cmd, text


def steps(port):
    m = Milter(port)
    cmd, text = m.open("192.0.2.10")
    if cmd != b"c":
        fail("connect answered %r %s" % (cmd, text))
    no_reply = m.steps & NO_REPLY_ALL
    if no_reply != NO_REPLY_WANTED:
        fail("no-reply steps negotiated 0x%x, want 0x%x (HELO, header, "
             "end of headers)" % (no_reply, NO_REPLY_WANTED))
    if not m.steps & SMFIP_SKIP:
        fail("SMFIP_SKIP offered but not negotiated")
    # inbound text: the body's first chunk is answered "skip"
    cmd, text = send_message(m, b"N1", b"s")
    if cmd != b"c":
        fail("N1: end of message answered %r %s" % (cmd, text))
    m.send(b"Q")
    m.close()
    older = Milter(port)
    cmd, text = older.open("192.0.2.10",
                           ALL_STEPS & ~NO_REPLY_ALL & ~SMFIP_SKIP)
    if cmd != b"c":
        fail("connect (no no-reply flags) answered %r %s" % (cmd, text))
    if older.steps & (NO_REPLY_ALL | SMFIP_SKIP):
        fail("an MTA offering no no-reply flag and no skip got 0x%x"
             % (older.steps & (NO_REPLY_ALL | SMFIP_SKIP)))
    cmd, text = send_message(older, b"N2")	# every step answered
    if cmd != b"c":
        fail("N2: end of message answered %r %s" % (cmd, text))
    older.send(b"Q")
    older.close()
    print("NO-REPLY 0x%x" % no_reply)


CHUNK = 65535	# Postfix and Sendmail send the body in chunks of this size


def eom_answer(m):
    """Sends end of message; returns the final reply and the list of
    edit commands that came before it."""
    m.send(b"E")
    edits = []
    while True:
        cmd, _ = m.recv_packet()
        if cmd in (b"a", b"c", b"d", b"r", b"t", b"y"):
            return cmd, edits
        if cmd != b"p":		# progress
            edits.append(cmd)


def body_message(m, qid, sender, rcpt, content_type, reply, auth=None):
    """A message with a body of three full chunks; each chunk must be
    answered `reply` until one is answered "skip" (then, as an MTA does,
    no more is sent). Returns the final reply and the edits."""
    macros = b"Mi\0" + qid + b"\0"
    if auth is not None:
        macros += b"{auth_authen}\0" + auth + b"\0"
    m.send(b"D", macros)
    m.expect(b"c", b"M", b"<" + sender + b">\0")
    m.expect(b"c", b"R", b"<" + rcpt + b">\0")
    headers = [(b"From", b" <" + sender + b">"), (b"To", b" <" + rcpt + b">"),
               (b"Subject", b" skip test " + qid)]
    if content_type is not None:
        headers += [(b"MIME-Version", b" 1.0"),
                    (b"Content-Type", b" " + content_type)]
    for name, value in headers:
        m.expect(b"c", b"L", name + b"\0" + value + b"\0")
    m.expect(b"c", b"N")
    line = b"%s line of a long body, not S/MIME\r\n" % qid
    chunk = (line * (CHUNK // len(line) + 1))[:CHUNK]
    for i in range(3):
        m.expect(reply, b"B", chunk)
        if reply == b"s":
            break
    return eom_answer(m)


def skip(port):
    """See the top of this file."""
    m = Milter(port)
    cmd, text = m.open("192.0.2.10")
    if cmd != b"c":
        fail("connect answered %r %s" % (cmd, text))
    if not m.steps & SMFIP_SKIP:
        fail("SMFIP_SKIP offered but not negotiated (0x%x)" % m.steps)
    inbound = (b"s@remote.test", b"u@example.com")
    cases = [
        (b"K1", inbound, b"text/plain; charset=us-ascii", b"s", None),
        (b"K2", inbound, b"multipart/signed; "
         b"protocol=\"application/pkcs7-signature\"; boundary=b", b"c", None),
        (b"K3", inbound, b"multipart/mixed; boundary=b", b"c", None),
        (b"K4", inbound, b"application/pkcs7-mime; smime-type=signed-data",
         b"c", None),
        (b"K5", (b"alice@example.com", b"rcpt@partner.example"),
         b"text/plain", b"c", b"alice@example.com"),
        (b"K6", inbound, None, b"s", None),
    ]
    for qid, (sender, rcpt), ct, reply, auth in cases:
        final, edits = body_message(m, qid, sender, rcpt, ct, reply, auth)
        if reply == b"s" and (final != b"c" or edits):
            fail("%s: skipped body ended with %r and edits %r, want "
                 "continue and none" % (qid.decode(), final, edits))
    m.send(b"Q")
    m.close()
    older = Milter(port)
    cmd, text = older.open("192.0.2.10", ALL_STEPS & ~SMFIP_SKIP)
    if cmd != b"c":
        fail("connect (no SMFIP_SKIP) answered %r %s" % (cmd, text))
    if older.steps & SMFIP_SKIP:
        fail("SMFIP_SKIP negotiated though not offered")
    final, edits = body_message(older, b"K7", inbound[0], inbound[1],
                                b"text/plain", b"c")
    if final != b"c" or edits:
        fail("K7: ended with %r and edits %r, want continue and none"
             % (final, edits))
    older.send(b"Q")
    older.close()


def no_skip(port):
    """See the top of this file."""
    m = Milter(port)
    cmd, text = m.open("192.0.2.10")
    if cmd != b"c":
        fail("connect answered %r %s" % (cmd, text))
    final, edits = body_message(m, b"K8", b"s@remote.test", b"u@example.com",
                                b"text/plain", b"c")
    if final != b"c" or not edits:
        fail("K8: ended with %r and edits %r, want continue and the "
             "smime=none header" % (final, edits))
    m.send(b"Q")
    m.close()


def main():
    try:
        if sys.argv[1] == "caps":
            caps(int(sys.argv[2]), int(sys.argv[3]))
        elif sys.argv[1] == "steps":
            steps(int(sys.argv[2]))
        elif sys.argv[1] == "hold":
            hold(int(sys.argv[2]))
        elif sys.argv[1] == "abort":
            abort(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4],
                  sys.argv[5])
        elif sys.argv[1] == "skip":
            skip(int(sys.argv[2]))
        elif sys.argv[1] == "no-skip":
            no_skip(int(sys.argv[2]))
        elif sys.argv[1] == "sign-reload":
            sign_reload(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4],
                        sys.argv[5], sys.argv[6])
        else:
            fail("usage: see the top of " + sys.argv[0])
    except (OSError, EOFError, RuntimeError) as e:
        fail("%s: %s" % (sys.argv[1], e))
    print("OK")


if __name__ == "__main__":
    main()
