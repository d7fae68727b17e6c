#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Judges what reached the sink against what the load client sent.

  check-sink.py SINKDIR RESULTS... --der-dir DIR

For every message the client reports as accepted: exactly one copy at the
sink (two are allowed only for "ambiguous" messages, whose acceptance the
client could not see), found by its Message-ID; every copy at the sink is
application/pkcs7-mime enveloped-data and never holds the plaintext
marker. Each copy's CMS (DER) is written to DER-DIR/ID.der for
decryption by OpenSSL. No message the client does not know may appear.
Prints one line per problem and a summary; exit 0 when there is none."""
import base64
import collections
import os
import re
import sys

ADDED = (b"X-Client-Addr:", b"X-Client-Proto:", b"X-Helo-Args:",
         b"X-Mail-Args:", b"X-Rcpt-Args:", b"Received:")
MID = re.compile(rb"^Message-ID:\s*<([^@>]+)@example\.com>", re.I | re.M)
ENVELOPED = re.compile(rb"^Content-Type:\s*application/(x-)?pkcs7-mime;"
                       rb"[^\n]*smime-type=\"?enveloped-data", re.I | re.M)


def message_of(data):
    """The message as Postfix delivered it: the sink's own records off."""
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    i = 0
    while i < len(lines) and (lines[i].startswith(ADDED) or
                              (i > 0 and lines[i][:1] in (b" ", b"\t"))):
        i += 1
    return b"\n".join(lines[i:])


def read_results(paths):
    sent = {}
    for path in paths:
        for line in open(path):
            parts = line.split(None, 2)
            if len(parts) >= 2:
                sent[parts[0]] = parts[1]
    return sent


def judge(path, der_dir, problems):
    msg = message_of(open(path, "rb").read())
    head, _, body = msg.partition(b"\n\n")
    head = re.sub(rb"\n[ \t]+", b" ", head)     # unfold
    m = MID.search(head)
    if m is None:
        problems.append("%s: no Message-ID" % path)
        return None
    mid = m.group(1).decode()
    if b"LOAD-MARKER" in msg:
        problems.append("%s: %s reached the sink in clear" % (path, mid))
    elif not ENVELOPED.search(head):
        problems.append("%s: %s is not enveloped-data" % (path, mid))
    else:
        try:
            der = base64.b64decode(b"".join(body.split()), validate=True)
        except ValueError:
            problems.append("%s: %s: body is not base64" % (path, mid))
            return mid
        name = os.path.join(der_dir, mid + ".der")
        if os.path.exists(name):
            name = os.path.join(der_dir, mid + ".copy.der")
        with open(name, "wb") as f:
            f.write(der)
    return mid


def main():
    args = sys.argv[1:]
    der_dir = args[args.index("--der-dir") + 1]
    del args[args.index("--der-dir"):args.index("--der-dir") + 2]
    sink, results = args[0], args[1:]
    sent = read_results(results)
    problems = []
    copies = collections.Counter()
    for name in sorted(os.listdir(sink)):
        mid = judge(os.path.join(sink, name), der_dir, problems)
        if mid is not None:
            copies[mid] += 1
    for mid, outcome in sorted(sent.items()):
        n = copies.get(mid, 0)
        allowed = (1, 2) if outcome == "ambiguous" else (1,)
        if outcome == "rejected":
            allowed = (0,)
        if n not in allowed:
            problems.append("%s (%s by the client): %d copies at the sink"
                            % (mid, outcome, n))
    for mid in sorted(set(copies) - set(sent)):
        problems.append("%s: at the sink but never sent" % mid)
    for p in problems[:50]:
        print("problem:", p)
    accepted = sum(1 for o in sent.values() if o != "rejected")
    print("sink: %d files, %d distinct messages; client: %d sent, %d "
          "accepted, %d ambiguous; %d problems" %
          (sum(copies.values()), len(copies), len(sent), accepted,
           sum(1 for o in sent.values() if o == "ambiguous"), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
