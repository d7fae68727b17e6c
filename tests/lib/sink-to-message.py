#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Turns an smtp-sink file back into the message as Postfix delivered it:
drops the records the sink and the smtpd prepend (X-Client-Addr, ...,
Received:), the empty line the sink appends, and restores CRLF line ends
(the sink writes LF).   sink-to-message.py SINKFILE OUT"""
import sys

ADDED = (b"X-Client-Addr:", b"X-Client-Proto:", b"X-Helo-Args:",
         b"X-Mail-Args:", b"X-Rcpt-Args:", b"Received:")

data = open(sys.argv[1], "rb").read()
if data.endswith(b"\n\n"):
    data = data[:-1]
lines = data.split(b"\n")
i = 0
while i < len(lines) and (lines[i].startswith(ADDED) or
                          (i > 0 and lines[i][:1] in (b" ", b"\t"))):
    i += 1
with open(sys.argv[2], "wb") as f:
    f.write(b"\r\n".join(lines[i:]))
