#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Looks for secrets in a process's memory.

memscan.py PID SECRETS: SECRETS has one "NAME HEX" line per secret (a
private exponent, an EC private scalar, the master key). Every readable
mapping of PID is read through /proc/PID/mem (root, or the process's
ptrace permission) and searched for a 24-byte window from the middle of
each secret in both byte orders (big-endian as in DER and hex files,
little-endian as in OpenSSL's BIGNUM words on this machine). Prints the
names found, one a line.
"""
import sys

WINDOW = 24


def needles(hexstr):
    raw = bytes.fromhex(hexstr)
    if len(raw) < WINDOW:
        return [raw, raw[::-1]]
    mid = (len(raw) - WINDOW) // 2
    be = raw[mid:mid + WINDOW]
    return [be, raw[::-1][mid:mid + WINDOW]]


def regions(pid):
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split()
            if not parts[1].startswith("r"):
                continue
            name = parts[5] if len(parts) > 5 else ""
            if name in ("[vvar]", "[vsyscall]", "[vdso]"):
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            yield lo, hi


CHUNK = 16 << 20
MAX_REGION = 1 << 30


def main():
    pid, secrets_file = sys.argv[1], sys.argv[2]
    secrets = {}
    with open(secrets_file) as f:
        for line in f:
            if line.strip():
                name, hexstr = line.split()
                secrets[name] = needles(hexstr)
    found = set()
    longest = max((len(n) for ns in secrets.values() for n in ns), default=1)
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for lo, hi in regions(pid):
            # A sanitizer's shadow memory is a mapping of terabytes that
            # holds no heap data; heaps and stacks are far smaller.
            if hi - lo > MAX_REGION:
                continue
            tail = b""
            for start in range(lo, hi, CHUNK):
                try:
                    mem.seek(start)
                    data = tail + mem.read(min(CHUNK, hi - start))
                except OSError:
                    tail = b""
                    continue
                for name, ns in secrets.items():
                    if name not in found and any(n in data for n in ns):
                        found.add(name)
                tail = data[-longest:]	# a needle across two chunks
    for name in sorted(found):
        print(name)


if __name__ == "__main__":
    main()
