#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Writes a constant database (D. J. Bernstein's cdb format, as tinycdb
reads it) from KEY VALUE pairs: the signing table of an external
signing-milter for bench/run --signing-milter, so that no cdb tool need
be installed.

usage: make-cdb.py OUT KEY VALUE [KEY VALUE...]
       make-cdb.py --check FILE KEY   prints the value of KEY (a self-check)
"""
import struct
import sys


def cdb_hash(key):
    h = 5381
    for c in key:
        h = ((h << 5) + h ^ c) & 0xFFFFFFFF
    return h


def write(path, pairs):
    records, tables = bytearray(), [[] for _ in range(256)]
    pos = 2048
    for key, value in pairs:
        h = cdb_hash(key)
        tables[h & 255].append((h, pos))
        rec = struct.pack("<II", len(key), len(value)) + key + value
        records += rec
        pos += len(rec)
    header, hashes = bytearray(), bytearray()
    for entries in tables:
        slots = [(0, 0)] * (2 * len(entries))
        for h, p in entries:
            i = (h >> 8) % len(slots)
            while slots[i][1] != 0:
                i = (i + 1) % len(slots)
            slots[i] = (h, p)
        header += struct.pack("<II", pos + len(hashes), len(slots))
        for h, p in slots:
            hashes += struct.pack("<II", h, p)
    with open(path, "wb") as f:
        f.write(header + records + hashes)


def lookup(path, key):
    data = open(path, "rb").read()
    h = cdb_hash(key)
    tpos, tlen = struct.unpack_from("<II", data, (h & 255) * 8)
    for n in range(tlen):
        i = ((h >> 8) + n) % tlen
        sh, rpos = struct.unpack_from("<II", data, tpos + 8 * i)
        if rpos == 0:
            return None
        klen, vlen = struct.unpack_from("<II", data, rpos)
        if sh == h and data[rpos + 8:rpos + 8 + klen] == key:
            return data[rpos + 8 + klen:rpos + 8 + klen + vlen]
    return None


def main():
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "--check":
        value = lookup(args[1], args[2].encode())
        if value is None:
            sys.exit(1)
        print(value.decode())
        return
    if len(args) < 3 or len(args) % 2 != 1:
        sys.exit(__doc__)
    it = iter(a.encode() for a in args[1:])
    write(args[0], list(zip(it, it)))


if __name__ == "__main__":
    main()
