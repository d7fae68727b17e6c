#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Writes the seed corpus of the key process's request fuzzer into $1:
# well-formed requests (signatures with each digest, PKCS#1 and OAEP
# decryption with a label, an ECDH key derivation, an enrollment) and
# near misses (a wrong magic, an unknown operation, an upper-case
# fingerprint, a digest of the wrong size, an unknown digest name,
# lengths past their arrays, an address with two '@', a point too long,
# a key too short). The layout is struct keyproc_request on x86-64 and
# arm64.
set -eu
out=$1
mkdir -p "$out"
python3 - "$out" <<'PY'
import struct, sys, os
out = sys.argv[1]
FMT = "<II65s16s16s3xiII256sI1024s"
MAGIC = 0x534D584B
FP = b"0123456789abcdef" * 4
def req(op=1, fp=FP, md=b"sha256", mgf1=b"", pad=1, label=b"", data=b"\x11" * 32,
        magic=MAGIC, in_len=None, label_len=None, out_len=0):
    return struct.pack(FMT, magic, op, fp, md, mgf1, pad, out_len,
                       len(label) if label_len is None else label_len, label,
                       len(data) if in_len is None else in_len, data)
seeds = [
    req(),
    req(md=b"sha384", data=b"\x22" * 48),
    req(md=b"sha512", pad=0, data=b"\x33" * 64),
    req(op=2, md=b"", data=b"\x44" * 256),
    req(op=2, pad=4, md=b"sha256", mgf1=b"sha256", label=b"label", data=b"\x55" * 384),
    req(op=3, fp=b"", md=b"", pad=0, data=b"alice@example.com"),
    req(magic=0),
    req(op=9),
    req(fp=FP.upper()),
    req(data=b"\x66" * 20),
    req(md=b"md5", data=b"\x77" * 16),
    req(in_len=5000),
    req(op=2, label_len=65, data=b"\x44" * 256),
    req(op=3, fp=b"", md=b"", pad=0, data=b"a@b@example.com"),
    req()[:100],
    req(op=4, pad=0, data=b"\x04" + b"\x99" * 64, out_len=32,
        label=b"\x30\x14\x30\x0b\x06\x09" + b"\x60" * 9 + b"\xa2\x06\x04\x04\x00\x00\x01\x00"),
    req(op=4, pad=0, data=b"\x04" + b"\x99" * 200, out_len=32),
    req(op=4, pad=0, data=b"\x04" + b"\x99" * 64, out_len=8),
]
for i, s in enumerate(seeds, 1):
    with open(os.path.join(out, str(i)), "wb") as f:
        f.write(s)
PY
