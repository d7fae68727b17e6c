# SPDX-License-Identifier: BSD-2-Clause
"""Builds the messages of the budget tests: for each way a message can
multiply the work of verification or decryption, a hostile message, and
an honest one of the same size. The hostile ones start from valid
signatures and envelopes made by openssl and rewrite their DER.

Only the standard library and the openssl command."""
import base64
import os
import subprocess

# --- DER ---------------------------------------------------------------------


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def read_tlv(der, off=0):
    """(tag, start of content, end) of the definite-length item at off."""
    tag = der[off]
    n = der[off + 1]
    p = off + 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0:
            raise ValueError("indefinite length: not DER")
        n = int.from_bytes(der[p:p + k], "big")
        p += k
    return tag, p, p + n


def items(content):
    """The items (whole TLVs) of a constructed item's content."""
    out, off = [], 0
    while off < len(content):
        _, _, end = read_tlv(content, off)
        out.append(content[off:end])
        off = end
    return out


def inner(item):
    _, start, end = read_tlv(item)
    return item[start:end]


def cms_body(ci):
    """The fields of a ContentInfo's content (SignedData, EnvelopedData)."""
    oid, wrapped = items(inner(ci))
    return oid, items(inner(items(inner(wrapped))[0]))


def cms_rebuild(oid, fields):
    return tlv(0x30, oid + tlv(0xA0, tlv(0x30, b"".join(fields))))


def find(fields, tag):
    for i, f in enumerate(fields):
        if f[0] == tag:
            return i
    return -1


def sd_repeat_digests(ci, n):
    oid, f = cms_body(ci)
    first = items(inner(f[1]))[0]
    f[1] = tlv(0x31, first * n)
    return cms_rebuild(oid, f)


def sd_repeat_signers(ci, n):
    oid, f = cms_body(ci)
    first = items(inner(f[-1]))[0]
    f[-1] = tlv(0x31, first * n)
    return cms_rebuild(oid, f)


def sd_add_certs(ci, certs_der):
    """certs_der go before the signature's own certificates."""
    oid, f = cms_body(ci)
    i = find(f, 0xA0)
    f[i] = tlv(0xA0, b"".join(certs_der) + inner(f[i]))
    return cms_rebuild(oid, f)


def sd_add_certs_long_tag(ci, certs_der):
    """Like sd_add_certs, with the set's [0] written in the long
    tag-number form (0xBF 0x00): valid BER that OpenSSL reads."""
    oid, f = cms_body(ci)
    i = find(f, 0xA0)
    content = b"".join(certs_der) + inner(f[i])
    f[i] = b"\xbf\x00" + der_len(len(content)) + content
    return cms_rebuild(oid, f)


def sd_add_crls(ci, crl_der, n):
    oid, f = cms_body(ci)
    i = find(f, 0xA0)
    f.insert(i + 1, tlv(0xA1, crl_der * n))
    return cms_rebuild(oid, f)


def ed_add_recipients(ci, ri_der, n):
    """n copies of ri_der before the envelope's own RecipientInfos."""
    oid, f = cms_body(ci)
    i = find(f, 0x31)
    f[i] = tlv(0x31, ri_der * n + inner(f[i]))
    return cms_rebuild(oid, f)


def ed_add_originator_certs(ci, certs_der):
    """An originatorInfo ([0] IMPLICIT, its certificates [0] IMPLICIT)
    holding certs_der, before the envelope's RecipientInfos."""
    oid, f = cms_body(ci)
    i = find(f, 0x31)
    f.insert(i, tlv(0xA0, tlv(0xA0, b"".join(certs_der))))
    return cms_rebuild(oid, f)


def ed_first_recipient(ci):
    _, f = cms_body(ci)
    return items(inner(f[find(f, 0x31)]))[0]


# --- openssl -----------------------------------------------------------------

class Pki:
    """A CA, bob (external signer), alice (internal, decrypts) and a CRL,
    in directory d."""

    def __init__(self, d):
        self.d = d

    def path(self, name):
        return os.path.join(self.d, name)

    def run(self, *args, data=None):
        r = subprocess.run(["openssl"] + list(args), input=data,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           cwd=self.d, check=False)
        if r.returncode != 0:
            raise RuntimeError("openssl %s: %s" % (" ".join(args),
                                                   r.stderr.decode()))
        return r.stdout

    def make(self):
        os.makedirs(self.d, exist_ok=True)
        self.run("req", "-x509", "-newkey", "rsa:2048", "-nodes",
                 "-keyout", "ca.key", "-out", "ca.pem", "-days", "7",
                 "-subj", "/CN=Budget Test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        for name, email in (("bob", "bob@partner.example"),
                            ("alice", "alice@example.com")):
            with open(self.path(name + ".ext"), "w") as f:
                f.write("basicConstraints=CA:FALSE\n"
                        "keyUsage=critical,digitalSignature,keyEncipherment\n"
                        "extendedKeyUsage=emailProtection\n"
                        "subjectAltName=email:%s\n" % email)
            self.run("req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                     name + ".key", "-out", name + ".csr", "-subj",
                     "/CN=" + name)
            self.run("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
                     "-CAkey", "ca.key", "-CAcreateserial", "-out",
                     name + ".pem", "-days", "7", "-extfile", name + ".ext")
        self.run("pkcs12", "-export", "-inkey", "alice.key", "-in",
                 "alice.pem", "-certfile", "ca.pem", "-name", "alice",
                 "-out", "alice.p12", "-passout", "pass:pw")
        with open(self.path("pw"), "w") as f:
            f.write("pw\n")
        os.makedirs(self.path("db"), exist_ok=True)
        open(self.path("db/index"), "w").close()
        with open(self.path("ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca=c\n[c]\ndatabase=db/index\n"
                    "default_md=sha256\ndefault_crl_days=7\n")
        self.run("ca", "-gencrl", "-config", "ca.cnf", "-cert", "ca.pem",
                 "-keyfile", "ca.key", "-out", "ca.crl")
        self.crl = self.run("crl", "-in", "ca.crl", "-outform", "DER")

    def sign(self, content, opaque=False):
        """A SignedData over content (bytes) by bob, with the CA."""
        args = ["cms", "-sign", "-binary", "-md", "sha256", "-signer",
                "bob.pem", "-inkey", "bob.key", "-certfile", "ca.pem",
                "-outform", "DER"]
        if opaque:
            args.append("-nodetach")
        return self.run(*args, data=content)

    def encrypt(self, content, to="alice.pem"):
        return self.run("cms", "-encrypt", "-binary", "-aes256",
                        "-outform", "DER", to, data=content)

    def same_subject_cas(self, n):
        """n self-signed certificates named like the CA, each with a key
        of its own (P-256: quick to make)."""
        out = []
        for i in range(n):
            key = "fake%d.key" % i
            self.run("req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                     "-out", "fake.pem", "-days", "7", "-subj",
                     "/CN=Budget Test CA",
                     "-addext", "basicConstraints=critical,CA:TRUE")
            out.append(self.run("x509", "-in", "fake.pem", "-outform",
                                "DER"))
        return out


# --- MIME --------------------------------------------------------------------

HEADERS = (b"From: Bob <bob@partner.example>\r\n"
           b"To: alice@example.com\r\n"
           b"Subject: budget test\r\n"
           b"Message-ID: <%s@partner.example>\r\n"
           b"MIME-Version: 1.0\r\n")


def b64(data):
    text = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return text


def text_entity(size):
    """A text/plain entity of about size bytes."""
    head = b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    line = b"%08d The quick brown fox jumps over the lazy dog again.\r\n"
    n = max(1, (size - len(head)) // len(line % 0))
    return head + b"".join(line % i for i in range(n))


def multipart_signed(entity, sig, boundary=b"sig-boundary"):
    return (b"Content-Type: multipart/signed; "
            b"protocol=\"application/pkcs7-signature\"; micalg=sha-256; "
            b"boundary=\"" + boundary + b"\"\r\n\r\n"
            b"--" + boundary + b"\r\n" + entity + b"\r\n"
            b"--" + boundary + b"\r\n"
            b"Content-Type: application/pkcs7-signature; name=smime.p7s\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(sig) +
            b"--" + boundary + b"--\r\n")


def opaque(der, binary=False):
    return (b"Content-Type: application/pkcs7-mime; smime-type=signed-data;"
            b" name=smime.p7m\r\n"
            b"Content-Transfer-Encoding: " +
            (b"binary\r\n\r\n" + der if binary else b"base64\r\n\r\n" +
             b64(der)))


def enveloped(der):
    return (b"Content-Type: application/pkcs7-mime; "
            b"smime-type=enveloped-data; name=smime.p7m\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(der))


def message(entity, tag):
    return HEADERS % tag.encode() + entity


# --- the cases ---------------------------------------------------------------


def sized(build, size):
    """build(content_size) made to about size bytes: the secant method,
    as the size grows about linearly with the content."""
    n0, n1 = size // 2, size
    l0, l1 = len(build(n0)), len(build(n1))
    for _ in range(3):
        if l1 == l0 or abs(l1 - size) < 2048:
            break
        n0, n1 = n1, max(64, n1 + (size - l1) * (n1 - n0) // (l1 - l0))
        l0, l1 = l1, len(build(n1))
    return build(n1)


def signed_with(pki, size, rewrite):
    def build(n):
        entity = text_entity(n)
        return multipart_signed(entity, rewrite(pki.sign(entity)))
    return build


def case_digests(pki, size):
    """The one digest algorithm of a valid signature listed 2000 times:
    OpenSSL would hash the content 2000 times."""
    return signed_with(pki, size, lambda s: sd_repeat_digests(s, 2000))


def case_signers(pki, size):
    """The signer info repeated 32 times (the certificate bound): 64
    public-key operations."""
    return signed_with(pki, size, lambda s: sd_repeat_signers(s, 32))


def case_certificates(pki, size):
    fakes = pki.same_subject_cas(29)
    return signed_with(pki, size, lambda s: sd_add_certs(s, fakes))


def case_many_certificates(pki, size):
    """3000 copies of the CA certificate in the set: OpenSSL's parser
    decodes and hashes each one."""
    ca = pki.run("x509", "-in", "ca.pem", "-outform", "DER")
    return signed_with(pki, size, lambda s: sd_add_certs(s, [ca] * 3000))


def case_many_certificates_opaque(pki, size):
    """An opaque signature with 3000 copies of the CA certificate, its
    certificate set's tag in the long form: the count before parsing
    must not be skipped for an encoding it does not expect."""
    ca = pki.run("x509", "-in", "ca.pem", "-outform", "DER")

    def build(n):
        sig = pki.sign(text_entity(n), opaque=True)
        return opaque(sd_add_certs_long_tag(sig, [ca] * 3000))
    return build


def case_crls(pki, size):
    return signed_with(pki, size,
                       lambda s: sd_add_crls(s, pki.crl, 2000))


def case_nested_opaque(pki, size):
    """Eight opaque signatures, each around the next, their content in
    binary: each layer hashes and parses nearly the whole message."""
    def build(n):
        entity = text_entity(n)
        for i in range(7):
            entity = opaque(pki.sign(entity, opaque=True), binary=True)
        return opaque(pki.sign(entity, opaque=True), binary=False)
    return build


def case_nested_signed(pki, size):
    """Eight multipart/signed, each the first part of the next."""
    def build(n):
        entity = text_entity(n)
        for i in range(8):
            entity = multipart_signed(entity, pki.sign(entity),
                                      b"level-%d" % i)
        return entity
    return build


def case_mime_depth(pki, size):
    """Multipart/mixed nested 3000 deep around a text part of short lines:
    GMime compares every line with every boundary it is inside."""
    def build(n):
        head = b"".join(b"Content-Type: multipart/mixed; boundary=\"d%d\""
                        b"\r\n\r\n--d%d\r\n" % (i, i) for i in range(3000))
        tail = b"".join(b"\r\n--d%d--\r\n" % i
                        for i in reversed(range(3000)))
        text = b"Content-Type: text/plain\r\n\r\n" + b"y\r\n" * (n // 3)
        return head + text + tail
    return build


def case_mime_parts(pki, size):
    """One multipart/mixed of 40 000 small parts."""
    def build(n):
        part = b"--p\r\nContent-Type: text/plain\r\n\r\nx\r\n"
        return (b"Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n" +
                part * 40000 + b"--p\r\nContent-Type: text/plain\r\n\r\n" +
                text_entity(n)[48:] + b"\r\n--p--\r\n")
    return build


def case_recipients(pki, size):
    """An envelope for alice with 2000 more RecipientInfos (copies of one
    for bob, whose key the store does not hold) in front of hers."""
    other = ed_first_recipient(pki.encrypt(b"x", to="bob.pem"))

    def build(n):
        env = pki.encrypt(text_entity(n))
        return enveloped(ed_add_recipients(env, other, 2000))
    return build


def case_originator_certificates(pki, size):
    """An envelope for alice whose originatorInfo holds 3000 copies of
    the CA certificate: OpenSSL's parser decodes and hashes each one."""
    ca = pki.run("x509", "-in", "ca.pem", "-outform", "DER")

    def build(n):
        env = pki.encrypt(text_entity(n))
        return enveloped(ed_add_originator_certs(env, [ca] * 3000))
    return build


def normal_signed(pki):
    return signed_with(pki, 0, lambda s: s)


def normal_enveloped(pki):
    return lambda n: enveloped(pki.encrypt(text_entity(n)))


# name: (hostile builder, honest builder, what the result must say)
CASES = {
    "digests": (case_digests, normal_signed,
                "smime=permerror", "more than 4 digest algorithms"),
    "signers": (case_signers, normal_signed,
                "smime=permerror", "more than 4 signers"),
    "certificates": (case_certificates, normal_signed, "smime=", ""),
    "many-certificates": (case_many_certificates, normal_signed,
                          "smime=permerror",
                          "more than 32 certificates or CRLs"),
    "many-certificates-opaque": (case_many_certificates_opaque,
                                 normal_signed, "smime=permerror",
                                 "more than 32 certificates or CRLs"),
    "crls": (case_crls, normal_signed,
             "smime=permerror", "more than 32 certificates or CRLs"),
    "nested-opaque": (case_nested_opaque, normal_signed,
                      "smime=permerror", "work over 4 times"),
    "nested-signed": (case_nested_signed, normal_signed,
                      "smime=permerror", "work over 4 times"),
    "mime-depth": (case_mime_depth, normal_signed,
                   "smime=permerror", "levels of nesting"),
    "mime-parts": (case_mime_parts, normal_signed,
                   "smime=permerror", "more than 1000 MIME parts"),
    "originator-certificates": (case_originator_certificates,
                                normal_enveloped, "not decrypted (",
                                "more than 32 certificates or CRLs in its "
                                "OriginatorInfo"),
    "recipients": (case_recipients, normal_enveloped,
                   "not decrypted (", "recipient entries, over the limit"),
}


def build_case(pki, name, size):
    hostile_of, normal_of = CASES[name][:2]
    hostile = message(sized(hostile_of(pki, size), size), name)
    normal = message(sized(normal_of(pki), len(hostile) - len(HEADERS)),
                     name + "-normal")
    return hostile, normal
