#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""leftovers.py [--kill] DIR...: the processes tests working in DIR left.

Prints one "PID USER COMMAND" line per process and exits 1 when there are
any, 0 otherwise; with --kill it also stops them (TERM, then KILL).

A process belongs to a test when its environment names DIR (ctest gives
every test SMX_TEST_DIR; Postfix's daemons keep only MAIL_CONFIG, gpg-agent
and dirmngr GNUPGHOME), or its command line or working directory lies
under DIR. That finds what a test's process group does not hold: daemons
that detached (Postfix's master, slapd, PostgreSQL, gpg-agent, dirmngr)
and whatever a test killed by ctest's timeout could not stop. Reading
other users' environments needs root; as another user only one's own
processes are checked.
"""
import os
import pwd
import signal
import sys
import time

ENV_KEYS = (b"SMX_TEST_DIR=", b"MAIL_CONFIG=", b"GNUPGHOME=")


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def under(path, dirs):
    return any(path == d or path.startswith(d + b"/") for d in dirs)


def belongs(pid, dirs):
    for var in read(f"/proc/{pid}/environ").split(b"\0"):
        for key in ENV_KEYS:
            if var.startswith(key) and under(var[len(key):], dirs):
                return True
    cmdline = read(f"/proc/{pid}/cmdline")
    if any(d + b"/" in cmdline for d in dirs):
        return True
    try:
        cwd = os.fsencode(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return False
    return under(cwd, dirs)


def ancestors():
    """This process and the ones above it carry the caller's environment."""
    pids, pid = set(), os.getpid()
    while pid > 0:
        pids.add(pid)
        stat = read(f"/proc/{pid}/stat")
        if not stat:
            break
        pid = int(stat.rsplit(b")", 1)[1].split()[1])
    return pids


def describe(pid):
    try:
        user = pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
    except (OSError, KeyError):
        user = "?"
    cmd = read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode(errors="replace")
    return f"{pid} {user} {cmd.strip()}"


def stop(pids):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if not any(os.path.exists(f"/proc/{pid}") for pid in pids):
                return
            time.sleep(0.1)


def main(argv):
    kill = argv[:1] == ["--kill"]
    dirs = [os.fsencode(os.path.abspath(d)) for d in argv[1 if kill else 0:]]
    if not dirs:
        print("usage: leftovers.py [--kill] DIR...", file=sys.stderr)
        return 2
    skip = ancestors()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in skip:
            continue
        pid = int(name)
        # Kernel threads have an empty command line.
        if read(f"/proc/{pid}/cmdline") and belongs(pid, dirs):
            found.append(pid)
    for pid in found:
        print(describe(pid))
    if found and kill:
        stop(found)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
