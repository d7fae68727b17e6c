#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Counts how often each function was called in a callgrind output file
(the "calls=" lines under each "cfn="), for the functions named on the
command line (substring match), plus the messages' own count for scale.

usage: callgrind-calls.py CALLGRIND.OUT NAME..."""
import re
import sys


def call_counts(path):
    names, counts, callee = {}, {}, None
    pattern = re.compile(r"^(c?fn)=\((\d+)\)(?: (.*))?$")
    with open(path, errors="replace") as f:
        for line in f:
            m = pattern.match(line)
            if m:
                kind, ident, name = m.groups()
                if name:
                    names[ident] = name
                if kind == "cfn":
                    callee = names.get(ident, ident)
                continue
            if line.startswith("calls=") and callee is not None:
                counts[callee] = counts.get(callee, 0) + int(line[6:].split()[0])
                callee = None
    return counts


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    counts = call_counts(sys.argv[1])
    for want in sys.argv[2:]:
        hits = sorted((n, c) for n, c in counts.items() if want in n)
        if not hits:
            print("%10d  %s (never called)" % (0, want))
        for name, count in hits:
            print("%10d  %s" % (count, name))


if __name__ == "__main__":
    main()
