#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Test oracle for the encryption interop test, independent of the code
under test (Python's email package and plain splits).

  mime_check.py body-der ENCRYPTED.eml TYPE OUT.der
      checks the outer MIME headers (application/pkcs7-mime,
      smime-type=TYPE, name=smime.p7m, base64, attachment) and that the
      body is base64 in CRLF lines of 76 characters (the last shorter),
      and writes the decoded CMS object
  mime_check.py extract-clear ENTITY CONTENT SIG.der
      the signed part of a multipart/signed entity exactly as signed, and
      the decoded detached signature
  mime_check.py extract-opaque ENTITY P7M.der
  mime_check.py compare ORIGINAL.eml ENTITY
      same leaves (types, decoded bytes; text with line ends normalised)
  mime_check.py check-7bit FILE   every line CRLF-terminated, 7-bit, <= 998
"""
import base64
import email
import re
import sys


def split_head(data):
    head, body = data.split(b"\r\n\r\n", 1)
    return re.sub(rb"\r\n[ \t]+", b" ", head), body


def header(head, name):
    m = re.search(rb"(?im)^" + name + rb":[ \t]*(.*)$", head)
    return m.group(1).strip() if m else None


def body_der(path, smime_type, out):
    head, body = split_head(open(path, "rb").read())
    ctype = header(head, b"content-type") or b""
    want = b'application/pkcs7-mime; smime-type=' + smime_type.encode() + \
        b'; name="smime.p7m"'
    if ctype != want:
        sys.exit("Content-Type is %r, want %r" % (ctype, want))
    if header(head, b"content-transfer-encoding") != b"base64":
        sys.exit("not base64")
    if header(head, b"content-disposition") != b'attachment; filename="smime.p7m"':
        sys.exit("Content-Disposition is %r" % header(head, b"content-disposition"))
    if len(re.findall(rb"(?im)^mime-version:", head)) != 1:
        sys.exit("not exactly one MIME-Version")
    if len(re.findall(rb"(?im)^content-", head)) != 3:
        sys.exit("old Content-* headers left")
    lines = body.split(b"\r\n")
    if lines[-1] != b"":
        sys.exit("body does not end in CRLF")
    lines = lines[:-1]
    for i, line in enumerate(lines):
        if b"\n" in line or b"\r" in line:
            sys.exit("line %d: bare CR or LF" % (i + 1))
        if len(line) != 76 and i != len(lines) - 1 or len(line) > 76:
            sys.exit("line %d has %d characters" % (i + 1, len(line)))
    open(out, "wb").write(base64.b64decode(b"".join(lines), validate=True))


def extract_clear(entity, content_path, sig_path):
    head, body = split_head(open(entity, "rb").read())
    m = re.search(rb'(?im)^content-type:\s*multipart/signed;.*boundary="([^"]+)"', head)
    if not m:
        sys.exit("not multipart/signed")
    delim = b"--" + m.group(1)
    start = body.index(delim + b"\r\n") + len(delim) + 2
    end = body.index(b"\r\n" + delim, start)
    open(content_path, "wb").write(body[start:end])
    shead, sbody = split_head(body[end + 2 + len(delim) + 2:])
    if b"application/pkcs7-signature" not in shead:
        sys.exit("second part is not application/pkcs7-signature")
    sbody = sbody[:sbody.index(b"\r\n" + delim + b"--")]
    open(sig_path, "wb").write(base64.b64decode(sbody))


def extract_opaque(entity, der_path):
    head, body = split_head(open(entity, "rb").read())
    if b"smime-type=signed-data" not in head:
        sys.exit("not application/pkcs7-mime signed-data")
    open(der_path, "wb").write(base64.b64decode(body))


def leaves(msg):
    out = []
    for part in msg.walk():
        if part.is_multipart():
            out.append(("container", part.get_content_type(), None))
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_content_maintype() == "text":
            payload = payload.replace(b"\r\n", b"\n")
        out.append(("leaf", part.get_content_type(), payload))
    return out


def compare(orig_path, entity_path):
    a = leaves(email.message_from_bytes(open(orig_path, "rb").read()))
    b = leaves(email.message_from_bytes(open(entity_path, "rb").read()))
    if len(a) != len(b):
        sys.exit("part count differs: %d vs %d" % (len(a), len(b)))
    for i, (x, y) in enumerate(zip(a, b)):
        if x[:2] != y[:2]:
            sys.exit("part %d: %s vs %s" % (i, x[:2], y[:2]))
        if x[2] != y[2]:
            sys.exit("part %d (%s): decoded content differs" % (i, x[1]))


def check_7bit(path):
    data = open(path, "rb").read()
    for n, line in enumerate(data.split(b"\r\n")):
        if b"\n" in line or b"\r" in line:
            sys.exit("line %d: bare CR or LF" % (n + 1))
        if len(line) > 998:
            sys.exit("line %d: %d octets" % (n + 1, len(line)))
        if any(c > 127 or c == 0 for c in line):
            sys.exit("line %d: 8-bit or NUL" % (n + 1))


cmds = {"body-der": body_der, "extract-clear": extract_clear,
        "extract-opaque": extract_opaque, "compare": compare,
        "check-7bit": check_7bit}
if len(sys.argv) < 2 or sys.argv[1] not in cmds:
    sys.exit("usage: see the top of mime_check.py")
cmds[sys.argv[1]](*sys.argv[2:])
