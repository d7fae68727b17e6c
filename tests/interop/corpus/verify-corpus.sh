#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Verifies the signed messages of the interop corpus (../shared/corpus,
# read in place) and compares each result with what MANIFEST.md leads us
# to expect. Usage: verify-corpus.sh PATH/TO/smime-verify-file
#
# Table columns: file | options | expected results "part=result ..."
# ("none" when no signature is found) | certificates harvested.
# Times: the Thunderbird certificates are valid until 2031, so they are
# checked at the current time; the Bouncy Castle validator set expired in
# 2007 and is checked at 2006-10-01 (-t 1159660800) as well as now.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"

VERIFY=${1:?usage: verify-corpus.sh SMIME-VERIFY-FILE}
C=${SMX_CORPUS_DIR:-}
# The corpus is shared data next to the checkout, not a peer program:
# where it is absent the test is skipped, even with SMX_REQUIRE_PEERS.
if [ -z "$C" ] || [ ! -f "$C/MANIFEST.md" ]; then
  echo "SKIP: interop corpus not found (SMX_CORPUS_DIR=${C:-unset}); it lives in ../shared/corpus" >&2
  exit 77
fi

TB="-C -a $C/thunderbird/smime/TestCA.pem"
BC="-C -a $C/bouncycastle-mail/validator.root.crt"
BC06="$BC -t 1159660800"

cases() {
cat <<TABLE
thunderbird/smime/alice.dsig.SHA256.multipart.eml|$TB|1=pass|1
thunderbird/smime/alice.dsig.SHA384.multipart.eml|$TB|1=pass|1
thunderbird/smime/alice.dsig.SHA512.multipart.eml|$TB|1=pass|1
thunderbird/smime/alice.dsig.SHA1.multipart.eml|$TB|1=pass|1
thunderbird/smime/alice.future.dsig.SHA256.multipart.eml|$TB|1=pass|1
thunderbird/smime/alice.dsig.SHA256.multipart.bad.eml|$TB|1=fail|0
thunderbird/smime/alice.dsig.SHA1.multipart.bad.eml|$TB|1=fail|0
thunderbird/smime/alice.dsig.SHA512.multipart.bad.eml|$TB|1=fail|0
thunderbird/smime/alice.dsig.SHA256.multipart.mismatch-econtent.eml|$TB|1=fail|0
thunderbird/smime/alice.sig.SHA256.opaque.eml|$TB|1=pass|1
thunderbird/smime/alice.sig.SHA1.opaque.eml|$TB|1=pass|1
thunderbird/smime/alice.html.sig.SHA512.opaque.eml|$TB|1=pass|1
thunderbird/smime/alice.sig.SHA256.opaque.env.eml|$TB|none|0
thunderbird/smime/alice.env.eml|$TB|none|0
thunderbird/smime/alice.env.sig.SHA256.opaque.eml|$TB|1=pass|1
thunderbird/smime/alice.env.dsig.SHA256.multipart.eml|$TB|1=fail|0
thunderbird/smime/alice.env.sig.SHA256.opaque.dave.sig.SHA256.opaque.eml|$TB|1=pass 1.1=policy|1
thunderbird/smime/alice.env.dsig.SHA256.multipart.dave.sig.SHA256.opaque.eml|$TB|1=pass 1.1=fail|1
thunderbird/smime/alice.plain.dsig.SHA256.multipart.dave.dsig.SHA256.multipart.eml|$TB|1=pass 1.1=policy|1
thunderbird/smime/alice.plain.sig.SHA512.opaque.dave.dsig.SHA512.multipart.eml|$TB|1=pass 1.1=policy|1
thunderbird/browser-smime/alice.dsig.SHA256.multipart.in.mixed.eml|$TB|1.1=pass|1
thunderbird/browser-smime/alice.dsig.SHA256.multipart.in.mixed.with.header.eml|$TB|1.2=pass|1
thunderbird/browser-smime/alice.html.sig.SHA256.opaque.eml|$TB|1=policy|0
thunderbird/browser-smime/nested-sigs.eml|$TB|1=fail|0
thunderbird/browser-smime/multipart-alternative.eml|$TB|none|0
thunderbird/openpgp-mixed/outer-smime-bad-sig-inner-pgp-enc-sig.eml|$TB|1=fail|0
thunderbird/smime-manual/outer-smime-bad-sig-inner-smime-enc-sig.eml|$TB|1=fail|0
thunderbird/smime-manual/outer-pgp-sig-inner-smime-enc-sig.eml|$TB|none|0
thunderbird/smime/alice.dsig.SHA256.multipart.eml|-C|1=policy|0
thunderbird/smime/alice.dsig.SHA256.multipart.eml|-C -u|1=policy|1
thunderbird/smime/alice.dsig.SHA256.multipart.eml|$TB -o|1=pass|0
thunderbird/smime/alice.dsig.SHA256.multipart.eml|$TB -d mx.upstream|1=pass|0
bouncycastle-mail/validator.validMail.eml|$BC06|1=pass|1
bouncycastle-mail/validator.longValidity.eml|$BC06|1=pass|1
bouncycastle-mail/validator.revoked.eml|$BC06|1=pass|1
bouncycastle-mail/validator.expired.eml|$BC06|1=policy|0
bouncycastle-mail/validator.notYetValid.eml|$BC06|1=policy|0
bouncycastle-mail/validator.keyUsage.eml|$BC06|1=policy|0
bouncycastle-mail/validator.extKeyUsage.eml|$BC06|1=policy|0
bouncycastle-mail/validator.noEmail.eml|$BC06|1=policy|0
bouncycastle-mail/validator.shortKey.eml|$BC06|1=policy|0
bouncycastle-mail/validator.validMail.eml|$BC|1=policy|0
bouncycastle-mail/validator.validMail.eml|$BC -u|1=policy|0
bouncycastle-mail/circular.eml|$BC|1=policy|0
bouncycastle-mail/brokenEnv.message|$BC|none|0
bouncycastle-mail/basicAS2.message|-C|1=policy|0
bouncycastle-mail/rawAS2.message|-C|1=policy|0
bouncycastle-mail/test192.message|-C|none|0
kde-mimetreeparser/smime-opaque-sign.mbox|-C|1=neutral|0
kde-mimetreeparser/smime-signed-charset.mbox|-C|1=neutral|0
kde-mimetreeparser/smime-signed-apple.mbox|-C|1=fail|0
kde-mimetreeparser/smime-cert.mbox|-C|none|0
kde-mimetreeparser/smime-encrypted-octet-stream.mbox|-C|none|0
protected-headers/smime-onepart-signed.eml|-C -a $C/protected-headers/sample-ca.pem|1=pass|1
protected-headers/smime-multipart-signed.eml|-C -a $C/protected-headers/sample-ca.pem|1=pass|1
simple-java-mail/messages/tb52-signed.eml|-C -a $C/simple-java-mail/ca.crt|1=pass|1
rfc4134/4.8.eml|-C -a $C/rfc4134/CarlDSSSelf.cer|1=policy|0
rfc4134/4.9.eml|-C -a $C/rfc4134/CarlDSSSelf.cer|1=policy|0
mimekit/octet-stream-with-mixed-line-endings.dat|-C|1=fail|0
mimekit/mbox/content-length.mbox.txt|-C|none|0
TABLE
}

failures=0
n=0
while IFS='|' read -r file opts want want_h; do
  n=$((n + 1))
  [ -f "$C/$file" ] || { echo "FAIL $file: missing from the corpus"; failures=$((failures + 1)); continue; }
  # shellcheck disable=SC2086
  out=$(timeout 60 "$VERIFY" $opts "$C/$file" 2>&1)
  rc=$?
  got=$(printf '%s\n' "$out" | sed -n 's/^SIG [0-9]* part=\([^ ]*\) result=\([a-z]*\).*/\1=\2/p' | tr '\n' ' ' | sed 's/ $//')
  [ -n "$got" ] || got=none
  got_h=$(printf '%s\n' "$out" | grep -c '^HARVEST')
  if [ $rc -ne 0 ] || [ "$got" != "$want" ] || [ "$got_h" != "$want_h" ]; then
    echo "FAIL $file [$opts]: want '$want' harvest $want_h, got '$got' harvest $got_h (rc $rc)"
    printf '%s\n' "$out" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok   $file: $got, harvest $got_h"
  fi
done < <(cases)

# Every message file of the corpus: never a crash, always a header.
for f in $(find "$C" -type f \( -name '*.eml' -o -name '*.mbox' -o -name '*.message' \
             -o -name '*.msg' -o -name '*.env' -o -name '*.inner' -o -name '*.dat' \
             -o -name '*.txt' -o -name '*.p7m' -o -name '*.pem' \) | sort); do
  out=$(timeout 60 "$VERIFY" -C "$f" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] || ! printf '%s\n' "$out" | grep -q '^AR: mx.test;'; then
    echo "FAIL $f: exit $rc without a header"
    failures=$((failures + 1))
  fi
  n=$((n + 1))
done

echo "$n checks, $failures failed"
[ $failures -eq 0 ]
