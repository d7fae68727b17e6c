#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Sends SESSIONS x MESSAGES messages over concurrent SMTP sessions and
retries every message that was not accepted, as a real client would.

  smtp-load.py --port P --sessions 100 --messages 20 --sender A --rcpt B
               --tag T --progress FILE --results FILE

Each message has its own Message-ID <T-SESSION-N@example.com> and carries
the plaintext marker "LOAD-MARKER T-SESSION-N" in its body. A 4xx answer
(the milter is down and Postfix says tempfail, or is being restarted)
ends the session: Postfix tempfails every later command of a session
whose milter failed, so the client reconnects after a pause and sends the
message again. A 5xx is final. A connection lost after the message was
sent, before the answer, leaves the outcome unknown (the classic SMTP
duplicate window): such messages are sent again and reported as
"ambiguous", so that the checker allows them a second copy.

--progress is rewritten with the number of accepted messages as they
come; --results gets one line per message: ID accepted|rejected|ambiguous
QUEUEID-or-reply, written at the end. Exit 0 when every message was
accepted, 1 otherwise."""
import argparse
import os
import smtplib
import socket
import sys
import threading
import time

RETRY_PAUSE = 0.3     # seconds between reconnections after a tempfail
GIVE_UP = 600         # seconds a single message may keep being retried


class Counter:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.accepted = 0
        self.tempfails = 0
        self.path = path

    def accept(self):
        with self.lock:
            self.accepted += 1
            # under the lock: two sessions must not share the temporary
            # file (one would rename it away under the other)
            if self.accepted % 25 == 0:
                self.write(self.accepted)

    def tempfail(self):
        with self.lock:
            self.tempfails += 1

    def write(self, n):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d %d\n" % (n, self.tempfails))
        # rename: the shell never reads a half-written file
        os.replace(tmp, self.path)


def message(args, mid, session, n):
    body = "".join("line %03d of message %s, padding to a realistic size "
                   "for a short business e-mail.\r\n" % (i, mid)
                   for i in range(30))
    return ("From: Alice <%s>\r\nTo: <%s>\r\nSubject: load %s\r\n"
            "Message-ID: <%s@example.com>\r\nDate: Thu, 1 Jan 2026 "
            "00:00:00 +0000\r\nContent-Type: text/plain; charset=us-ascii\r\n"
            "\r\nLOAD-MARKER %s\r\n%s" % (args.sender, args.rcpt, mid, mid,
                                          mid, body)).encode()


def connect(args):
    s = smtplib.SMTP(timeout=120)
    s.connect("127.0.0.1", args.port)
    s.ehlo("load%s.example.net" % args.tag)
    return s


def close(s):
    if s is None:
        return None
    try:
        s.quit()
    except (smtplib.SMTPException, OSError):
        try:
            s.close()
        except OSError:
            pass
    return None


def send_one(args, s, data):
    """Returns (smtp, outcome, detail); outcome is accepted, rejected,
    retry or ambiguous (retry after the data may have been taken)."""
    try:
        if s is None:
            s = connect(args)
        code, resp = s.mail(args.sender)
        if code == 250:
            code, resp = s.rcpt(args.rcpt)
        if code in (250, 251):
            code, resp = s.data(data)
            if code == 250:
                return s, "accepted", resp.decode(errors="replace")
        detail = "%d %s" % (code, resp.decode(errors="replace"))
        if 400 <= code < 500:
            return close(s), "retry", detail
        try:
            s.rset()
        except (smtplib.SMTPException, OSError):
            s = close(s)
        return s, "rejected", detail
    except smtplib.SMTPDataError as e:
        # Reply to the end of data: 4xx retry, else final.
        if 400 <= e.smtp_code < 500:
            return close(s), "retry", "%d %s" % (e.smtp_code, e.smtp_error)
        return close(s), "rejected", "%d %s" % (e.smtp_code, e.smtp_error)
    except smtplib.SMTPServerDisconnected as e:
        return close(s), "ambiguous", "disconnected: %s" % e
    except smtplib.SMTPResponseException as e:
        if 400 <= e.smtp_code < 500:
            return close(s), "retry", "%d %s" % (e.smtp_code, e.smtp_error)
        return close(s), "rejected", "%d %s" % (e.smtp_code, e.smtp_error)
    except (OSError, socket.timeout) as e:
        return close(s), "ambiguous", "connection: %s" % e


def session(args, number, counter, results):
    s = None
    for n in range(args.messages):
        mid = "%s-%03d-%02d" % (args.tag, number, n)
        data = message(args, mid, number, n)
        deadline = time.time() + GIVE_UP
        ambiguous = False
        while True:
            s, outcome, detail = send_one(args, s, data)
            if outcome == "ambiguous":
                ambiguous = True
            if outcome in ("accepted", "rejected") or time.time() > deadline:
                break
            counter.tempfail()
            time.sleep(RETRY_PAUSE)
        if outcome == "accepted":
            counter.accept()
            if ambiguous:
                outcome = "ambiguous"
        elif outcome != "rejected":
            outcome, detail = "rejected", "gave up: " + detail
        results.append("%s %s %s" % (mid, outcome, " ".join(detail.split())))
    close(s)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--sessions", type=int, required=True)
    p.add_argument("--messages", type=int, required=True)
    p.add_argument("--sender", required=True)
    p.add_argument("--rcpt", required=True)
    p.add_argument("--tag", required=True)
    p.add_argument("--progress", required=True)
    p.add_argument("--results", required=True)
    args = p.parse_args()
    counter = Counter(args.progress)
    results = []          # list.append is atomic under the GIL
    threads = [threading.Thread(target=session,
                                args=(args, i, counter, results))
               for i in range(args.sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counter.write(counter.accepted)
    with open(args.results, "w") as f:
        f.write("\n".join(sorted(results)) + "\n")
    ok = sum(1 for r in results if r.split()[1] != "rejected")
    print("%s: %d of %d accepted, %d tempfailed attempts retried" %
          (args.tag, ok, len(results), counter.tempfails))
    return 0 if ok == args.sessions * args.messages else 1


if __name__ == "__main__":
    sys.exit(main())
