#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Writes the test messages for the signing integration test into DIR:
7bit.eml, 8bit.eml (UTF-8, 8bit transfer encoding), mixed.eml (text plus
a 2 MB base64 attachment), alternative.eml (multipart/related: a
multipart/alternative text and HTML body with an inline PNG referenced by
Content-ID) and, with --big, big.eml (20 MB: a text part and an 18 MB
attachment). Each has From: FROM and To: TO headers.
  make-messages.py DIR FROM TO [--big]"""
import base64
import os
import random
import sys

out, sender, rcpt = sys.argv[1:4]
head = (f"From: Test Sender <{sender}>\r\nTo: <{rcpt}>\r\n"
        "Subject: signing test\r\nMIME-Version: 1.0\r\n")


def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


write("7bit.eml", (head + "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
                   "Hello,\r\nthis is plain 7-bit text.\r\n"
                   "From here on, a line that mbox would mangle.\r\n").encode())
write("8bit.eml", (head + "Content-Type: text/plain; charset=utf-8\r\n"
                   "Content-Transfer-Encoding: 8bit\r\n\r\n"
                   "Grüße aus Köln – naïve café, 日本語のテキスト.\r\n").encode())
rnd = random.Random(42)
blob = bytes(rnd.getrandbits(8) for _ in range(2 * 1024 * 1024))
att = base64.encodebytes(blob).replace(b"\n", b"\r\n")
write("mixed.eml", (head + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
                    "--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
                    "See the attachment.\r\n"
                    "--b1\r\nContent-Type: application/octet-stream; name=\"blob.bin\"\r\n"
                    "Content-Transfer-Encoding: base64\r\n"
                    "Content-Disposition: attachment; filename=\"blob.bin\"\r\n\r\n"
                    ).encode() + att + b"--b1--\r\n")

# A tiny real PNG (1x1, red) as an inline image.
png = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")
write("alternative.eml", (
    head + "Content-Type: multipart/related; boundary=\"rel\"; type=\"multipart/alternative\"\r\n\r\n"
    "--rel\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
    "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    "Quarterly numbers =E2=80=93 see the chart.\r\n"
    "--alt\r\nContent-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n\r\n"
    "<html><body><p>Quarterly numbers \u2013 see the chart:</p>"
    "<img src=\"cid:chart@example.com\" alt=\"chart\"></body></html>\r\n"
    "--alt--\r\n"
    "--rel\r\nContent-Type: image/png; name=\"chart.png\"\r\n"
    "Content-Transfer-Encoding: base64\r\nContent-ID: <chart@example.com>\r\n"
    "Content-Disposition: inline; filename=\"chart.png\"\r\n\r\n").encode() +
    base64.encodebytes(png).replace(b"\n", b"\r\n") + b"--rel--\r\n")

if "--big" in sys.argv[4:]:
    big = os.urandom(18 * 1024 * 1024)
    att = base64.encodebytes(big).replace(b"\n", b"\r\n")
    write("big.eml", (head + "Content-Type: multipart/mixed; boundary=\"b2\"\r\n\r\n"
                      "--b2\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
                      "Twenty megabytes.\r\n"
                      "--b2\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\n"
                      "Content-Transfer-Encoding: base64\r\n\r\n").encode() +
          att + b"--b2--\r\n")
