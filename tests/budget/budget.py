#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The work budget of one message, measured through the milter.

usage: budget.py prepare DIR
       budget.py measure DIR PORT PID LOG [CASE...]

prepare makes the test PKI in DIR (CA, bob, alice.p12, a CRL).
measure sends, for each case (default: all), an honest message and a
hostile one of the same size, ROUNDS times each and interleaved, to the
milter on PORT, and reads the milter's CPU time (user + system, all
threads, with its key process: the private-key work of decryption happens
there) from /proc around every message. It fails when the
hostile messages took more than RATIO times the CPU of the honest ones
(plus SLACK seconds for the clock's resolution), or when a message did
not come back with a clear result: the Authentication-Results header or
the decryption note in the milter's log (LOG) names the limit."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import craft  # noqa: E402
import milter_client  # noqa: E402

# Under a wrapper (valgrind) everything is slower and the clock's
# resolution matters less: smaller messages, fewer rounds.
SLOW = bool(os.environ.get("SMX_MILTER_WRAPPER"))
SIZE = int(os.environ.get("BUDGET_SIZE",
                          (1 if SLOW else 4) * 1024 * 1024))
ROUNDS = int(os.environ.get("BUDGET_ROUNDS", 2 if SLOW else 4))
RATIO = 3.0
SLACK = 0.1
TICK = os.sysconf("SC_CLK_TCK")


def stat_fields(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pid):
    """CPU time of the milter and of its live children (the key process):
    a message's work counts wherever the milter has it done."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = stat_fields(int(entry))
        if fields is None:
            continue
        if int(entry) == pid or int(fields[1]) == pid:	# ppid
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def log_line(log, qid, wait=5.0):
    deadline = time.time() + wait
    while True:
        with open(log, errors="replace") as f:
            for line in f:
                if (" %s: direction=" % qid) in line:
                    return line
        if time.time() > deadline:
            return ""
        time.sleep(0.1)


def result_text(res, log, qid):
    ar = [v for n, v in res.inserted if n == "Authentication-Results"]
    return " | ".join(ar) + " | log: " + log_line(log, qid).strip()


def send(port, pid, log, raw, qid):
    before = cpu_seconds(pid)
    res = milter_client.send_message(port, raw, qid,
                                     "<bob@partner.example>",
                                     ["<alice@example.com>"])
    spent = cpu_seconds(pid) - before
    if res.final not in ("c", "a"):
        raise AssertionError("%s: final reply %r, the message was not "
                             "delivered" % (qid, res.final))
    return spent, result_text(res, log, qid)


def measure(d, port, pid, log, names):
    pki = craft.Pki(d)
    pki.crl = open(pki.path("ca.crl.der"), "rb").read()
    failures = []
    # the milter's first message costs more (lazy initialisation, and
    # much more under valgrind): one that is not measured
    send(port, pid, log, craft.message(
        craft.sized(craft.normal_signed(pki), 64 * 1024), "warm-up"), "W0")
    for name in names:
        hostile, normal = craft.build_case(pki, name, SIZE)
        want_result, want_reason = craft.CASES[name][2:]
        t_h = t_n = 0.0
        for r in range(ROUNDS):
            spent, text_n = send(port, pid, log, normal, "N%s%d" % (
                name.replace("-", ""), r))
            t_n += spent
            spent, text_h = send(port, pid, log, hostile, "H%s%d" % (
                name.replace("-", ""), r))
            t_h += spent
        print("%-14s %8d bytes  honest %6.2f s  hostile %6.2f s  "
              "ratio %5.2f" % (name, len(hostile), t_n, t_h,
                               t_h / t_n if t_n else 0.0))
        print("   honest:  %s" % text_n[:300])
        print("   hostile: %s" % text_h[:300])
        if want_result not in text_h or want_reason not in text_h:
            failures.append("%s: expected [%s ... %s] in the result" %
                            (name, want_result, want_reason))
        if t_h > RATIO * t_n + SLACK:
            failures.append("%s: hostile messages took %.2f s of CPU, "
                            "more than %.0f times the %.2f s of honest "
                            "ones of the same size" %
                            (name, t_h, RATIO, t_n))
        sys.stdout.flush()
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "prepare":
        pki = craft.Pki(argv[2])
        pki.make()
        with open(pki.path("ca.crl.der"), "wb") as f:
            f.write(pki.crl)
        return 0
    if len(argv) >= 6 and argv[1] == "measure":
        names = argv[6:] or list(craft.CASES)
        return measure(argv[2], int(argv[3]), int(argv[4]), argv[5], names)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
