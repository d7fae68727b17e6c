#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Writes the seed corpus of the policy fuzzer into $1: policy groups that
# use every key and value (layers for domains, subdomains and addresses,
# triggers, signer mappings, the policy-wide switches), broken ones
# (unknown keys, wrong types, bad values, duplicates), each followed by
# "%%" and a message: From, Subject, trigger header, login, recipients.
set -eu
out=$1
mkdir -p "$out"
full='policy: {
  default: { sign = "always"; encrypt = "opportunistic";
             on_missing_certificate = "reject"; on_sign_failure = "tempfail"; };
  domains: (
    { domain = "partner.example"; encrypt = "required"; },
    { domain = ".gov.example"; encrypt = "required"; on_missing_certificate = "tempfail"; },
    { domain = "legacy.example"; legacy_interop = true; },
    { domain = "never.example"; encrypt = "never"; on_missing_certificate = "hold"; }
  );
  addresses: (
    { address = "ceo@example.com"; sign = "never"; },
    { address = "cfo@example.com"; encrypt = "required"; on_sign_failure = "send"; }
  );
  triggers: { subject_tag = "[secure]"; header = "X-Encrypt"; };
  signers: { allow_unauthenticated = [ "noreply@example.com" ];
             logins = ( { login = "alice"; addresses = [ "alice@example.com", "sales@example.com" ]; } ); };
  mixed_recipients = "all-or-nothing";
  internal_mail = "pass";
  encrypt_to_sender = true;
  harvest_untrusted = false;
  decrypt_inbound = true;
};'
printf '%s\n%%%%\nalice@example.com\nQuarterly [SECURE] report\n\nalice\nbob@partner.example\nx@a.gov.example\nc@legacy.example\n' "$full" > "$out/full"
printf '%s\n%%%%\n<CFO@Example.COM>\n[secure]\nyes\n\nnobody@never.example\nbob@partner.example\n' "$full" > "$out/full-trigger"
# RFC 2047 encoded Subject and trigger header: a tag split over encoded
# words, a malformed word; internal mail to a required recipient.
printf '%s\n%%%%\nalice@example.com\n=?UTF-8?Q?Re:_[sec?= =?ISO-8859-1?Q?ure]_Kontost=E4nde?= =?UTF-8?B?!!?=\n=?UTF-8?B?eWVz?=\nalice\ncfo@example.com\nbob@partner.example\n' "$full" > "$out/full-encoded"
printf 'policy: {
%%%%
' > /dev/null
printf 'policy: { mixed_recipients = "split"; internal_mail = "sign"; encrypt_to_sender = false;\n  default: { sign = "on-request"; encrypt = "never"; }; };\n%%%%\nsales@example.com\nhi\nno\nalice\ncolleague@example.com\n' > "$out/split"
printf 'policy: { internal_mail = "outbound"; default: { encrypt = "required"; on_missing_certificate = "hold"; on_sign_failure = "reject"; }; archive_certificate = "/etc/smime-milter/archive.pem"; harvest_require_dmarc = true; dmarc_authserv_ids = [ "mx.example.org" ]; };\n%%%%\nboss@example.com\n\n\n\nx@example.org\n' > "$out/required"
printf 'milter: { internal_domains = [ "example.com" ]; };\n' > "$out/nopolicy"
printf 'policy: { default: { sign = "sometimes"; encrypt = 3; }; domains: ( { encrypt = "required"; }, { domain = ""; }, 5 ); addresses = "x"; triggers: { subject_tag = ""; bogus = 1; }; unknown = true; };\n' > "$out/errors"
printf 'policy: { domains: ( { domain = "A.example"; encrypt = "never"; }, { domain = "a.example"; encrypt = "required"; } ); signers: { logins = ( { login = "x"; }, { addresses = [ 1 ]; } ); allow_unauthenticated = "one@example.com"; }; };\n' > "$out/duplicates"
printf 'policy = "flat";\n' > "$out/wrongtype"
printf 'policy: { triggers: { header = "X-Encrypt"; }; \n' > "$out/syntax"
