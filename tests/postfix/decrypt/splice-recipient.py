#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Forges an EnvelopedData the way an insider could: adds the first
RecipientInfo of DONOR (a ciphertext to another certificate, so it wraps
a different content key) to the RecipientInfos of VICTIM, whose content
stays as it is. RecipientInfos are not authenticated, so the result
parses as a message for both.

    splice-recipient.py VICTIM.der DONOR.der OUT.der [--corrupt]

--corrupt also flips a bit in the spliced RecipientInfo's encrypted key,
so that its recipient's private key does not unwrap it at all.

Definite-length DER only (what `openssl cms -outform DER` writes)."""
import sys


def tlv(buf, pos):
    """(tag, start of value, end of value) of the element at pos."""
    tag = buf[pos]
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0:
            sys.exit("indefinite length: not DER")
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    return tag, pos, pos + n


def children(buf, start, end):
    out = []
    while start < end:
        t, vs, ve = tlv(buf, start)
        out.append((t, start, vs, ve))
        start = ve
    return out


def encode(tag, value):
    n = len(value)
    if n < 0x80:
        return bytes([tag, n]) + value
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(ln)]) + ln + value


def envelope(buf):
    """The EnvelopedData's children and the index of its RecipientInfos."""
    _, s, e = tlv(buf, 0)                 # ContentInfo
    ci = children(buf, s, e)
    _, _, s, e = ci[1]                    # [0] EXPLICIT
    _, s, e = tlv(buf, s)                 # EnvelopedData SEQUENCE
    kids = children(buf, s, e)
    idx = next(i for i, k in enumerate(kids) if k[0] == 0x31)
    return ci[0], kids, idx


def rebuild(buf, oid, kids, idx, ris):
    parts = [buf[k[1]:k[3]] for k in kids]
    parts[idx] = encode(0x31, ris)
    env = encode(0x30, b"".join(parts))
    return encode(0x30, buf[oid[1]:oid[3]] + encode(0xA0, env))


def corrupt(ri):
    """Flips a bit in the middle of the last OCTET STRING (the encrypted
    key of a KeyTransRecipientInfo)."""
    ri = bytearray(ri)
    _, s, e = tlv(ri, 0)
    last = children(ri, s, e)[-1]
    if last[0] != 0x04:
        sys.exit("not a KeyTransRecipientInfo")
    ri[(last[2] + last[3]) // 2] ^= 0x01
    return bytes(ri)


def main():
    victim = open(sys.argv[1], "rb").read()
    donor = open(sys.argv[2], "rb").read()
    oid, kids, idx = envelope(victim)
    _, dkids, didx = envelope(donor)
    _, _, s, e = kids[idx]
    ris = victim[s:e]
    _, _, ds, de = dkids[didx]
    first = children(donor, ds, de)[0]
    extra = donor[first[1]:first[3]]
    if "--corrupt" in sys.argv[4:]:
        extra = corrupt(extra)
    open(sys.argv[3], "wb").write(rebuild(victim, oid, kids, idx,
                                          ris + extra))


main()
