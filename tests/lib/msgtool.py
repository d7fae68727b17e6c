#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Messages for the integration tests, and the check of what the sink got.

  msgtool.py make KIND FROM TO MSGID OUT   writes a message (CRLF lines)
  msgtool.py wire IN OUT                   SMTP DATA form for swaks -ndf
  msgtool.py bodysize IN                   body bytes (CRLF), as a milter sees
  msgtool.py compare SENT SINKFILE         exit 0 if the sink got SENT intact
  msgtool.py same-body A B                 exit 0 if two messages (CRLF) have
                                           the same body bytes
  msgtool.py body-b64 IN OUT               decodes IN's base64 body into OUT

KIND: text7, utf8, multipart, big (5 MB). Content is deterministic (fixed
seed) so that a failure can be reproduced.
"""
import base64
import random
import sys

CRLF = b"\r\n"


def headers(sender, rcpt, msgid, subject, extra=()):
    lines = [
        "From: Test Sender <%s>" % sender,
        "To: <%s>" % rcpt,
        "Subject: %s" % subject,
        "Date: Thu, 26 Nov 2026 10:00:00 +0000",
        "Message-ID: <%s>" % msgid,
    ]
    lines.extend(extra)
    return CRLF.join(l.encode("utf-8") for l in lines) + CRLF


def text7():
    """7-bit text with the lines SMTP and MTAs like to touch."""
    long_line = "".join(chr(33 + i % 94) for i in range(998))
    body = [
        "Plain 7-bit text.",
        ".a line that starts with a dot",
        "..two dots",
        ".",
        "From the start of a line (mbox would quote this)",
        "trailing spaces   ",
        "trailing tab\t",
        "",
        "\tleading tab",
        long_line,
        "last line, then two empty lines",
        "",
        "",
    ]
    extra = ["X-Folded: first part", "\tsecond part after a tab",
             "  third part after spaces"]
    return extra, CRLF.join(l.encode() for l in body) + CRLF


def utf8():
    """8-bit UTF-8 body, Content-Transfer-Encoding: 8bit."""
    body = [
        "Grüße aus Köln, ça va? Ελληνικά, русский, 日本語, 🙂",
        "Zeile mit ß und €: 8-bit bytes on every line.",
        ".Punkt am Zeilenanfang: ñ",
        "",
    ]
    extra = ["MIME-Version: 1.0",
             "Content-Type: text/plain; charset=UTF-8",
             "Content-Transfer-Encoding: 8bit"]
    return extra, CRLF.join(l.encode("utf-8") for l in body) + CRLF


def b64_lines(data):
    enc = base64.b64encode(data)
    return CRLF.join(enc[i:i + 76] for i in range(0, len(enc), 76)) + CRLF


def multipart():
    """multipart/mixed: a text part and a base64 binary attachment."""
    rnd = random.Random(20261126)
    blob = rnd.randbytes(150000)
    b = b"=_smx_boundary_42"
    body = (b"This is a multi-part message in MIME format." + CRLF + CRLF +
            b"--" + b + CRLF +
            b"Content-Type: text/plain; charset=us-ascii" + CRLF + CRLF +
            b"See the attachment." + CRLF + CRLF +
            b"--" + b + CRLF +
            b"Content-Type: application/octet-stream; name=\"blob.bin\"" + CRLF +
            b"Content-Transfer-Encoding: base64" + CRLF +
            b"Content-Disposition: attachment; filename=\"blob.bin\"" + CRLF +
            CRLF + b64_lines(blob) + CRLF +
            b"--" + b + b"--" + CRLF +
            b"epilogue" + CRLF)
    extra = ["MIME-Version: 1.0",
             "Content-Type: multipart/mixed;",
             " boundary=\"%s\"" % b.decode()]
    return extra, body


def big():
    """About 5 MB of printable lines of varying length (milter spools it)."""
    rnd = random.Random(5)
    alphabet = bytes(range(32, 127))
    lines, size = [], 0
    while size < 5 * 1024 * 1024:
        n = rnd.randint(0, 200)
        line = bytes(rnd.choices(alphabet, k=n))
        lines.append(line)
        size += n + 2
    return [], CRLF.join(lines) + CRLF


KINDS = {"text7": text7, "utf8": utf8, "multipart": multipart, "big": big}


def cmd_make(kind, sender, rcpt, msgid, out):
    extra, body = KINDS[kind]()
    msg = headers(sender, rcpt, msgid, "smx " + kind, extra) + CRLF + body
    with open(out, "wb") as f:
        f.write(msg)


def cmd_wire(src, out):
    """Dot-stuffs and ends with CRLF "." without a final CRLF: swaks -ndf
    sends the data as is and adds the last CRLF itself."""
    msg = open(src, "rb").read()
    lines = msg.split(CRLF)
    assert lines[-1] == b"", "message must end with CRLF"
    stuffed = [b"." + l if l.startswith(b".") else l for l in lines[:-1]]
    with open(out, "wb") as f:
        f.write(CRLF.join(stuffed) + CRLF + b".")


def split_message(msg, sep):
    i = msg.find(sep + sep)
    if i < 0:
        raise ValueError("no empty line between header and body")
    return msg[:i + len(sep)], msg[i + 2 * len(sep):]


def cmd_bodysize(src):
    print(len(split_message(open(src, "rb").read(), CRLF)[1]))


def to_lf(msg):
    """The sink writes LF line ends. CRLF <-> LF is exact only if the sent
    message has no bare CR or LF, which is checked here."""
    if msg.replace(CRLF, b"").count(b"\r") or msg.replace(CRLF, b"").count(b"\n"):
        raise ValueError("sent message has a bare CR or LF")
    return msg.replace(CRLF, b"\n")


# Fields that may precede the sender's own header in the sink file: the
# sink's X- records and Received: (the sink's and Postfix's smtpd).
ADDED = (b"X-Client-Addr:", b"X-Client-Proto:", b"X-Helo-Args:",
         b"X-Mail-Args:", b"X-Rcpt-Args:", b"Received:")


def first_difference(a, b):
    n = min(len(a), len(b))
    i = next((k for k in range(n) if a[k] != b[k]), n)
    return ("sizes %d sent, %d received; first difference at byte %d:\n"
            "  sent:     %r\n  received: %r" %
            (len(a), len(b), i, a[max(0, i - 40):i + 40],
             b[max(0, i - 40):i + 40]))


def check_added(prefix):
    for line in prefix.split(b"\n"):
        if line == b"" or line[:1] in (b" ", b"\t"):
            continue
        if not line.startswith(ADDED):
            return "unexpected header before the sent ones: %r" % line
    return None


def cmd_compare(sent_path, sink_path):
    sent = to_lf(open(sent_path, "rb").read())
    got = open(sink_path, "rb").read()
    if b"\r" in got:
        return "the sink file holds a CR: line ends were not CRLF"
    if not got.endswith(b"\n\n"):
        return "the sink file does not end with the sink's empty line"
    got = got[:-1]
    sent_head, sent_body = split_message(sent, b"\n")
    got_head, got_body = split_message(got, b"\n")
    if got_body != sent_body:
        return "body differs: " + first_difference(sent_body, got_body)
    if not got_head.endswith(b"\n" + sent_head):
        return ("the header sent is not found unchanged at the end of the "
                "header received:\n--- sent\n%s--- received\n%s" %
                (sent_head.decode("utf-8", "replace"),
                 got_head.decode("utf-8", "replace")))
    return check_added(got_head[:-len(sent_head)])


def body_of(path):
    """The bytes after the first empty line of a CRLF message."""
    return open(path, "rb").read().split(CRLF + CRLF, 1)[1]


def main(argv):
    if len(argv) == 7 and argv[1] == "make" and argv[2] in KINDS:
        cmd_make(*argv[2:])
    elif len(argv) == 4 and argv[1] == "wire":
        cmd_wire(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "bodysize":
        cmd_bodysize(argv[2])
    elif len(argv) == 4 and argv[1] == "same-body":
        return 0 if body_of(argv[2]) == body_of(argv[3]) else 1
    elif len(argv) == 4 and argv[1] == "body-b64":
        with open(argv[3], "wb") as f:
            f.write(base64.b64decode(body_of(argv[2])))
    elif len(argv) == 4 and argv[1] == "compare":
        err = cmd_compare(argv[2], argv[3])
        if err:
            print("%s vs %s: %s" % (argv[2], argv[3], err), file=sys.stderr)
            return 1
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
