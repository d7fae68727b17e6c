#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Header protection (RFC 9788) of a message the milter encrypted, read
with Python's email package.

  hp_check.py structure SENT OUTER DECRYPTED [legacy]
    SENT: the message as the client sent it; OUTER: as delivered
    (encrypted); DECRYPTED: the decrypted entity (a multipart/signed, or
    the protected part itself). Checks: the outer Subject is [...],
    Comments and Keywords are gone outside; the protected part is
    hp="cipher" and carries the sent fields unchanged; every HP-Outer
    field matches the outer header, and every user-facing outer field
    has one; with "legacy", the main text part starts with the legacy
    display element (hp-legacy-display="1", "Subject: ...").
  hp_check.py subject FILE WANT
    The Subject of FILE (unfolded) is WANT."""
import email
import email.policy
import sys

USER_FIELDS = ("From", "To", "Cc", "Subject", "Date", "Message-ID")
SENT_FIELDS = USER_FIELDS + ("Comments", "Keywords")


def load(path):
    with open(path, "rb") as f:
        return email.message_from_binary_file(f, policy=email.policy.compat32)


def norm(v):
    return " ".join(str(v).split())


def fail(msg):
    print("hp_check: " + msg, file=sys.stderr)
    sys.exit(1)


def protected_part(dec):
    if dec.get_content_type() == "multipart/signed":
        return dec.get_payload(0)
    return dec


def main_text(part):
    for p in part.walk():
        if p.get_content_type() in ("text/plain", "text/html"):
            return p
    return None


def structure(sent_path, outer_path, dec_path, legacy):
    sent, outer = load(sent_path), load(outer_path)
    inner = protected_part(load(dec_path))
    if norm(outer["Subject"]) != "[...]":
        fail("outer Subject is %r, not [...]" % outer["Subject"])
    for name in ("Comments", "Keywords"):
        if outer.get_all(name):
            fail("%s is still outside" % name)
    if (inner.get_param("hp") or "") != "cipher":
        fail("the protected part is not hp=cipher: %r" % inner["Content-Type"])
    for name in SENT_FIELDS:
        want = [norm(v) for v in sent.get_all(name) or []]
        got = [norm(v) for v in inner.get_all(name) or []]
        if want != got:
            fail("inside %s is %r, sent %r" % (name, got, want))
    recorded = {}
    for v in inner.get_all("HP-Outer") or []:
        name, _, value = str(v).partition(":")
        recorded.setdefault(name.strip().lower(), []).append(norm(value))
    for name, values in recorded.items():
        outside = [norm(v) for v in outer.get_all(name) or []]
        if values != outside:
            fail("HP-Outer %s %r, outside %r" % (name, values, outside))
    for name in USER_FIELDS:
        if outer.get_all(name) and name.lower() not in recorded:
            fail("no HP-Outer for the outer %s" % name)
    if legacy:
        text = main_text(inner)
        if text is None or text.get_param("hp-legacy-display") != "1":
            fail("no part marked hp-legacy-display=1")
        body = text.get_payload(decode=True).decode(
            text.get_content_charset() or "us-ascii")
        line = "Subject: " + norm(sent["Subject"])
        if not body.replace("\r\n", "\n").startswith(line + "\n\n"):
            fail("legacy display element missing: %r" % body[:120])
    print("ok: structure: outer [...], protected fields, HP-Outer%s" %
          (", legacy display" if legacy else ""))


def main(argv):
    if len(argv) >= 5 and argv[1] == "structure":
        structure(argv[2], argv[3], argv[4], len(argv) > 5)
    elif len(argv) == 4 and argv[1] == "subject":
        got = norm(load(argv[2])["Subject"])
        if got != norm(argv[3]):
            fail("Subject is %r, want %r" % (got, argv[3]))
    else:
        fail("usage: see the top of this file")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
