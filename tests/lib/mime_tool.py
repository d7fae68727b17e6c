#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Test oracle for the signing interop test, independent of the code under
test (Python's email package and a plain split on the boundary).

  mime_tool.py extract-clear SIGNED CONTENT SIG.der
      the first part of multipart/signed exactly as signed, and the
      base64-decoded detached signature
  mime_tool.py extract-opaque SIGNED P7M.der
  mime_tool.py compare ORIGINAL.eml ENTITY
      the leaves of the original message and of the signed entity have the
      same types and, after decoding the transfer encoding, the same bytes
      (text compared with line ends normalised)
  mime_tool.py check-7bit FILE   every line CRLF-terminated, 7-bit, <= 998
"""
import base64
import email
import re
import sys


def split_head(data):
    head, body = data.split(b"\r\n\r\n", 1)
    return head, body


def extract_clear(signed, content_path, sig_path):
    head, body = split_head(open(signed, "rb").read())
    unfolded = re.sub(rb"\r\n[ \t]+", b" ", head)
    m = re.search(rb"(?im)^content-type:\s*multipart/signed;.*boundary=\"([^\"]+)\"", unfolded)
    if not m:
        sys.exit("not multipart/signed")
    delim = b"--" + m.group(1)
    start = body.index(delim + b"\r\n") + len(delim) + 2
    end = body.index(b"\r\n" + delim, start)
    open(content_path, "wb").write(body[start:end])
    rest = body[end + 2 + len(delim) + 2:]
    shead, sbody = split_head(rest)
    if b"application/pkcs7-signature" not in shead:
        sys.exit("second part is not application/pkcs7-signature")
    sbody = sbody[:sbody.index(b"\r\n" + delim + b"--")]
    open(sig_path, "wb").write(base64.b64decode(sbody))


def extract_opaque(signed, der_path):
    head, body = split_head(open(signed, "rb").read())
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
    orig = email.message_from_bytes(open(orig_path, "rb").read())
    ent = email.message_from_bytes(open(entity_path, "rb").read())
    a, b = leaves(orig), leaves(ent)
    if len(a) != len(b):
        sys.exit("part count differs: %d vs %d" % (len(a), len(b)))
    for i, (x, y) in enumerate(zip(a, b)):
        if x[:2] != y[:2]:
            sys.exit("part %d: %s vs %s" % (i, x[:2], y[:2]))
        if x[2] != y[2]:
            sys.exit("part %d (%s): decoded content differs (%d vs %d bytes)"
                     % (i, x[1], len(x[2]), len(y[2])))
    print("same content: %d parts" % len(a))


def check_7bit(path):
    data = open(path, "rb").read()
    for n, line in enumerate(data.split(b"\r\n")):
        if b"\n" in line or b"\r" in line:
            sys.exit("line %d: bare CR or LF" % (n + 1))
        if len(line) > 998:
            sys.exit("line %d: %d octets" % (n + 1, len(line)))
        if any(c > 127 or c == 0 for c in line):
            sys.exit("line %d: 8-bit or NUL" % (n + 1))


cmd = sys.argv[1]
if cmd == "extract-clear":
    extract_clear(*sys.argv[2:5])
elif cmd == "extract-opaque":
    extract_opaque(*sys.argv[2:4])
elif cmd == "compare":
    compare(*sys.argv[2:4])
elif cmd == "check-7bit":
    check_7bit(sys.argv[2])
else:
    sys.exit("unknown command " + cmd)
