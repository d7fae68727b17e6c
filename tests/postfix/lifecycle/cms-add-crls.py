#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""cms-add-crls.py IN.der OUT.der CRL.der...: puts the CRLs into the crls
field of a CMS SignedData (DER). The signature does not cover that field,
so the result still verifies; OpenSSL's command line cannot add CRLs."""
import sys


def read_tlv(b, i):
    """(tag, content start, end) of the element at i."""
    tag = b[i]
    n = b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, i, i + n


def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        head = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + head + content


def children(b, start, end):
    out = []
    while start < end:
        _, c, e = read_tlv(b, start)
        out.append(b[start:e])
        start = e
    return out


def main():
    der = open(sys.argv[1], "rb").read()
    crls = b"".join(open(p, "rb").read() for p in sys.argv[3:])
    _, s, e = read_tlv(der, 0)                  # ContentInfo
    oid, explicit = children(der, s, e)
    _, s, e = read_tlv(explicit, 0)             # [0] EXPLICIT
    _, s, e = read_tlv(explicit, s)             # SignedData
    fields = children(explicit, s, e)
    fields = [f for f in fields if f[0] != 0xA1]   # any crls before
    fields.insert(len(fields) - 1, tlv(0xA1, crls))
    signed = tlv(0x30, b"".join(fields))
    out = tlv(0x30, oid + tlv(0xA0, signed))
    open(sys.argv[2], "wb").write(out)


main()
