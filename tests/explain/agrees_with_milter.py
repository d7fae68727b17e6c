#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Runs a table of messages through the running milter and through
smimectl explain --message, and requires the same decision: direction,
action, and every reason of the policy; and the same reply to a
recipient refused at RCPT time.

usage: agrees_with_milter.py PORT LOG CTL CONF MESSAGES_DIR
MESSAGES_DIR holds NAME.eml for every row of CASES (made by the shell
wrapper, which also has the PKI). Exit 0 when all agree; 1 with the
differences on stderr."""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from milter_session import Milter  # noqa: E402

# name, envelope sender, SASL login, recipients (each with a certificate
# or none, never refused at RCPT time)
CASES = [
    ("plain-to-cert", "alice@example.com", "alice@example.com",
     ["bob@partner.example"]),
    ("plain-no-cert", "alice@example.com", "alice@example.com",
     ["dave@other.example"]),
    ("two-recipients", "alice@example.com", "alice@example.com",
     ["bob@partner.example", "dave@other.example"]),
    # The client encrypted it: left as it is.
    ("enveloped", "alice@example.com", "alice@example.com",
     ["bob@partner.example"]),
    # The same label over a body that is not encrypted: not exempt.
    ("enveloped-fake", "alice@example.com", "alice@example.com",
     ["bob@partner.example"]),
    # application/pkcs7-mime without smime-type: no claim at all.
    ("pkcs7-no-type", "alice@example.com", "alice@example.com",
     ["dave@other.example"]),
    # A multipart/signed label over plain text: signed by the gateway.
    ("signed-fake", "alice@example.com", "alice@example.com",
     ["dave@other.example"]),
    # From differs from the envelope sender: From is what is signed as.
    ("from-not-sender", "alice@example.com", "alice@example.com",
     ["dave@other.example"]),
    ("from-other-key", "carol@example.com", "alice@example.com",
     ["dave@other.example"]),
    ("two-from", "alice@example.com", "alice@example.com",
     ["dave@other.example"]),
    # The subject tag makes encryption required at the end.
    ("tagged-no-cert", "alice@example.com", "alice@example.com",
     ["dave@other.example"]),
    ("tagged-cert", "alice@example.com", "alice@example.com",
     ["bob@partner.example"]),
    ("trigger-header", "alice@example.com", "alice@example.com",
     ["dave@other.example"]),
    # A sender without a key: on_sign_failure.
    ("no-key", "zoe@example.com", "zoe@example.com",
     ["dave@other.example"]),
]

# Recipients refused at RCPT time: sender, login, recipient.
RCPT_CASES = [
    ("alice@example.com", "alice@example.com", "nocert@partner.example"),
]
REPLIES = {"reject": "550 5.7.1", "tempfail": "450 4.7.1",
           "split": "452 4.5.3"}

WAIT = 10 * int(os.environ.get("SMX_TIMEOUT_SCALE", "1"))


def parse(path):
    data = open(path, "rb").read()
    head, _, body = data.partition(b"\r\n\r\n")
    fields, lines = [], head.split(b"\r\n")
    for line in lines:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += b"\r\n" + line
        else:
            name, _, value = line.partition(b":")
            fields.append([name, value])
    return fields, body


def through_milter(port, qid, sender, login, rcpts, path):
    fields, body = parse(path)
    m = Milter(port)
    cmd, text = m.open("127.0.0.1")
    if cmd != b"c":
        raise RuntimeError("connect answered %r %s" % (cmd, text))
    m.send(b"D", b"M" + b"i\0" + qid.encode() + b"\0{auth_authen}\0" +
           login.encode() + b"\0")
    m.expect(b"c", b"M", b"<" + sender.encode() + b">\0")
    for r in rcpts:
        m.expect(b"c", b"R", b"<" + r.encode() + b">\0")
    for name, value in fields:
        m.expect(b"c", b"L", name + b"\0" + value + b"\0")
    m.expect(b"c", b"N")
    for i in range(0, len(body), 60000):
        m.expect(b"c", b"B", body[i:i + 60000])
    m.send(b"E")
    while True:
        cmd, _ = m.recv()
        if cmd in (b"c", b"a", b"t", b"r", b"y", b"q"):
            break
    m.send(b"Q")
    m.close()


def milter_decision(log, qid):
    pat = re.compile(r"info: %s: direction=(\S+) .* action=(\S+) "
                     r'reason="([^"]*)"' % re.escape(qid))
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for line in open(log, encoding="utf-8", errors="replace"):
            mo = pat.search(line)
            if mo:
                reasons = mo.group(3).split("; ")[1:]	# after direction's
                return mo.group(1), mo.group(2), reasons
        time.sleep(0.05)
    raise RuntimeError("no decision line for %s in %s" % (qid, log))


def explain_decision(ctl, conf, sender, login, rcpts, path):
    cmd = [ctl, "-c", conf, "--json", "explain", "--from", sender,
           "--login", login, "--message", path]
    for r in rcpts:
        cmd += ["--to", r]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=False).stdout
    d = json.loads(out)
    action = d["action"]
    if action == "send":
        action = ("sign+encrypt" if d["sign"]["sign"] and d["encrypt"]
                  else "encrypt" if d["encrypt"]
                  else "sign" if d["sign"]["sign"] else "pass")
    return d["direction"], action, d["reasons"]


def rcpt_reply(port, sender, login, rcpt):
    """The milter's reply to RCPT TO: 'accept' or 'CODE XCODE text'."""
    m = Milter(port)
    m.open("127.0.0.1")
    m.send(b"D", b"M" + b"{auth_authen}\0" + login.encode() + b"\0")
    m.expect(b"c", b"M", b"<" + sender.encode() + b">\0")
    cmd, text = m.ask(b"R", b"<" + rcpt.encode() + b">\0")
    m.send(b"Q")
    m.close()
    return "accept" if cmd == b"c" else text


def explain_rcpt(ctl, conf, sender, login, rcpt):
    cmd = [ctl, "-c", conf, "--json", "explain", "--from", sender,
           "--login", login, "--to", rcpt]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=False).stdout
    r = json.loads(out)["recipients"][0]
    if r["at_rcpt"] == "accept":
        return "accept"
    return "%s %s" % (REPLIES[r["at_rcpt"]], r["at_rcpt_reason"])


def main():
    port, log, ctl, conf, msgs = sys.argv[1:6]
    bad = 0
    for sender, login, rcpt in RCPT_CASES:
        got = rcpt_reply(int(port), sender, login, rcpt)
        want = explain_rcpt(ctl, conf, sender, login, rcpt)
        if got != want:
            print("FAIL: RCPT TO <%s>: milter %r, explain %r" %
                  (rcpt, got, want), file=sys.stderr)
            bad += 1
        else:
            print("ok: RCPT TO <%s>: %s" % (rcpt, got))
    for n, (name, sender, login, rcpts) in enumerate(CASES):
        path = os.path.join(msgs, name + ".eml")
        qid = "A%02d" % n
        through_milter(int(port), qid, sender, login, rcpts, path)
        got = milter_decision(log, qid)
        want = explain_decision(ctl, conf, sender, login, rcpts, path)
        if got != want:
            print("FAIL: %s: milter %r, explain %r" % (name, got, want),
                  file=sys.stderr)
            bad += 1
        else:
            print("ok: %s: %s %s" % (name, got[1], "; ".join(got[2])))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
