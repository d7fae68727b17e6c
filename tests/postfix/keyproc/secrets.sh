# SPDX-License-Identifier: BSD-2-Clause
# secret_hex KEYFILE: the private exponent (RSA) or scalar (EC) of a PEM
# private key, as hex without leading zero bytes.
secret_hex() {
  openssl pkey -in "$1" -noout -text 2>/dev/null | awk '
    /^privateExponent:|^priv:/ { on = 1; next }
    on && /^[a-zA-Z]/ { exit }
    on { gsub(/[ :]/, ""); printf "%s", $0 }' | sed 's/^\(00\)*//'
}
