#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Writes the benchmark's messages: a plain text message or a
multipart/mixed message with a binary attachment, of about SIZE bytes,
with LF line ends (smtp-source -F sends each line with CRLF).

usage: make-messages.py SHAPE SIZE FROM TO OUT
  SHAPE  text | mixed
  SIZE   bytes, or with a K/M suffix (10K, 100K, 50M)

The content is deterministic (fixed seed), so runs compare like with
like. For signed inbound messages, bench/run signs the entity this
writes: the first five lines are the outer headers, MIME-Version
follows, then the MIME entity."""
import base64
import random
import sys
import zlib

WORDS = ("the quarterly figures for the northern region are attached and "
         "show a steady increase in orders while returns stayed below the "
         "level we planned for in spring please review before the meeting "
         "on thursday and send corrections to the finance team").split()


def parse_size(text):
    units = {"K": 1024, "M": 1024 * 1024}
    if text[-1].upper() in units:
        return int(text[:-1]) * units[text[-1].upper()]
    return int(text)


def text_lines(rng, nbytes):
    """Lines of words, at most 76 characters, about NBYTES in all."""
    lines, line, total = [], [], 0
    while total < nbytes:
        word = rng.choice(WORDS)
        if len(" ".join(line + [word])) > 76:
            text = " ".join(line)
            lines.append(text)
            total += len(text) + 1
            line = []
        line.append(word)
    return lines


def headers(sender, rcpt, subject):
    return [f"From: {sender}", f"To: {rcpt}", f"Subject: {subject}",
            "Date: Mon, 02 Jun 2025 10:00:00 +0000",
            f"Message-ID: <bench.{zlib.crc32((sender + rcpt + subject).encode())}@bench.example>",
            "MIME-Version: 1.0"]


def text_entity(rng, size):
    head = ["Content-Type: text/plain; charset=us-ascii",
            "Content-Transfer-Encoding: 7bit", ""]
    return head + text_lines(rng, size)


def mixed_entity(rng, size):
    boundary = "=_bench_boundary_4711"
    note = text_lines(rng, 600)
    # base64 grows by 4/3 and a line break every 76 characters.
    raw = rng.randbytes(max(0, (size - 1200) * 3 // 4))
    encoded = base64.encodebytes(raw).decode("ascii").splitlines()
    return ([f'Content-Type: multipart/mixed; boundary="{boundary}"', "",
             "This is a multi-part message in MIME format.", "",
             f"--{boundary}", "Content-Type: text/plain; charset=us-ascii",
             "Content-Transfer-Encoding: 7bit", ""] + note +
            ["", f"--{boundary}",
             'Content-Type: application/pdf; name="report.pdf"',
             "Content-Transfer-Encoding: base64",
             'Content-Disposition: attachment; filename="report.pdf"', ""] +
            encoded + ["", f"--{boundary}--", ""])


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    shape, size, sender, rcpt, out = sys.argv[1:]
    rng = random.Random(4711)
    nbytes = parse_size(size)
    entity = (text_entity if shape == "text" else mixed_entity)(rng, nbytes)
    lines = headers(sender, rcpt, f"benchmark {shape} {size}") + entity
    with open(out, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
