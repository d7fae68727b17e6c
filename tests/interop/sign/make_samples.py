#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Writes the sample messages for the signing interop test into a folder:
7-bit text, 8-bit UTF-8 text, multipart/alternative HTML with an inline
image, a 2 MB binary attachment (base64, plus a raw 8bit-labelled part),
and a 20 MB message. CRLF line ends, as a milter sees a message."""
import base64
import os
import random
import sys

out = sys.argv[1]
rnd = random.Random(4711)
HEAD = ("From: Alice <alice@example.com>\r\nTo: bob@example.org\r\n"
        "Subject: {subj}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
        "Message-ID: <{subj}@example.com>\r\n")


def b64lines(data):
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i:i + 76] for i in range(0, len(s), 76)) + "\r\n"


def write(name, text):
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    with open(os.path.join(out, name + ".eml"), "wb") as f:
        f.write(data)


write("7bit", HEAD.format(subj="7bit") +
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
      "Hello Bob,\r\n\r\nFrom now on every message is signed.\r\n"
      "A line with trailing space \r\n-- \r\nAlice\r\n")

write("utf8", HEAD.format(subj="utf8") +
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\n"
      "Grüße aus Köln – naïve café, 日本語, emoji 🙂\r\n"
      "From the office\r\n" + "é" * 600 + "\r\nend without newline")

png = bytes([0x89]) + b"PNG\r\n\x1a\n" + bytes(rnd.randrange(256) for _ in range(3000))
write("alternative", HEAD.format(subj="alternative") +
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/related; boundary=\"rel\"; type=\"multipart/alternative\"\r\n\r\n"
      "--rel\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
      "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\nHällo, see the picture.\r\n"
      "--alt\r\nContent-Type: text/html; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\n"
      "<html><body><p>H&auml;llo – <img src=\"cid:pic@example.com\"></p></body></html>\r\n"
      "--alt--\r\n"
      "--rel\r\nContent-Type: image/png\r\nContent-ID: <pic@example.com>\r\n"
      "Content-Disposition: inline; filename=\"pic.png\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" + b64lines(png) +
      "--rel--\r\n")

blob = bytes(rnd.randrange(256) for _ in range(2 * 1024 * 1024))
raw = bytes(b for b in (rnd.randrange(256) for _ in range(20000)) if b not in (0, 10, 13))
write("attachment2m", (HEAD.format(subj="attachment2m") +
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n"
      "--mix\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\nDer Bericht hängt an.\r\n"
      "--mix\r\nContent-Type: application/octet-stream\r\n"
      "Content-Disposition: attachment; filename=\"report.bin\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" + b64lines(blob) +
      "--mix\r\nContent-Type: application/octet-stream\r\n"
      "Content-Disposition: attachment; filename=\"raw.bin\"\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + raw +
      b"\r\n--mix--\r\n")

big = bytes(rnd.getrandbits(8) for _ in range(14 * 1024 * 1024 + 700 * 1024))
text = ("Zeile mit Umlauten äöü " * 3 + "\r\n") * 2000
write("big20m", HEAD.format(subj="big20m") +
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"big\"\r\n\r\n"
      "--big\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\n" + text +
      "--big\r\nContent-Type: application/octet-stream\r\n"
      "Content-Disposition: attachment; filename=\"big.bin\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" + b64lines(big) +
      "--big--\r\n")
