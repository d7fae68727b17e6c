#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""One SMTP session with a program that speaks SMTP on its stdin and
stdout (`sendmail -bs`), one command at a time: Sendmail refuses a client
that talks before its greeting or pipelines without having been offered
PIPELINING, so the whole session cannot simply be written to its stdin.

  smtp-stdio.py FROM TO MESSAGE -- PROGRAM ARGS...

MESSAGE is sent as the DATA (dot-stuffed here, CRLF line ends expected).
The transcript goes to stdout. Exit 0 when the message was accepted (2xx
after the final dot), 1 otherwise."""
import subprocess
import sys


def read_reply(out):
    """Returns the reply's lines; its last line has a space after the code."""
    lines = []
    while True:
        line = out.readline()
        if not line:
            raise EOFError("the server closed the session")
        lines.append(line.decode("utf-8", "replace").rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            return lines


def dot_stuff(message):
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    lines = message.split(b"\r\n")[:-1]
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n"
                    for l in lines) + b".\r\n"


def session(proc, sender, rcpt, message):
    def say(cmd, label=None):
        print(">>> " + (label or cmd.decode().rstrip("\r\n")))
        proc.stdin.write(cmd)
        proc.stdin.flush()
        reply = read_reply(proc.stdout)
        print("\n".join(reply))
        return reply[-1][:1]

    print("\n".join(read_reply(proc.stdout)))
    for cmd in (b"EHLO client.test\r\n", b"MAIL FROM:<%s>\r\n" % sender,
                b"RCPT TO:<%s>\r\n" % rcpt):
        if say(cmd) != "2":
            return False
    if say(b"DATA\r\n") != "3":
        return False
    data = dot_stuff(message)
    accepted = say(data, "(message, %d bytes)" % len(data)) == "2"
    say(b"QUIT\r\n")
    return accepted


def main(argv):
    if len(argv) < 6 or argv[4] != "--":
        sys.exit(__doc__)
    sender, rcpt = argv[1].encode(), argv[2].encode()
    message = open(argv[3], "rb").read()
    proc = subprocess.Popen(argv[5:], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    try:
        ok = session(proc, sender, rcpt, message)
    except (EOFError, BrokenPipeError) as e:
        print("session broken: %s" % e)
        ok = False
    proc.stdin.close()
    proc.wait(timeout=120)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv)
