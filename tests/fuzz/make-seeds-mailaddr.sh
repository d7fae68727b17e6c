#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Writes the seed corpus of the address fuzzer into $1: From: header
# values (display names, quoted and encoded words, comments, groups,
# several mailboxes, folding) and SMTP paths (brackets, the null sender,
# source routes, ESMTP parameters, quoted local parts, mixed case).
set -eu
out=$1
mkdir -p "$out"
n=0
seed() { n=$((n + 1)); printf '%s' "$1" > "$out/$n"; }
seed ' Alice Example <Alice@Example.COM>'
seed ' "Example, Alice" <alice@example.com> (work)'
seed ' =?UTF-8?B?w4FsaWNl?= <alice@example.com>'
seed ' =?iso-8859-1?Q?J=F6rg?= <joerg@example.de>'
seed ' alice@example.com'
seed ' alice@example.com, bob@example.com'
seed ' Team: alice@example.com, bob@example.com;'
seed ' undisclosed-recipients:;'
seed ' "john doe"@example.com'
seed ' john doe@example.com'
seed ' Alice
	<alice@example.com>'
seed ' <alice@[192.0.2.1]>'
seed ' <@relay.example:alice@example.com>'
seed ' (comment only)'
seed ' <>'
seed '<Alice@Example.COM>'
seed '<>'
seed '<@a.example,@b.example:bob@Sub.Example.ORG> SIZE=100 BODY=8BITMIME'
seed 'bob@example.org NOTIFY=NEVER'
seed '<"quoted >person"@example.com>'
seed '<"esc\"aped"@example.com>'
seed 'user@.example.com'
seed 'user@example.com@evil.example'
seed '<unterminated@example.com'
