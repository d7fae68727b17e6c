# SPDX-License-Identifier: BSD-2-Clause
# Certificates (made with openssl now) and directory entries for the
# directory suite. Source it; needs common.sh and slapd.sh.
#
# make_fixtures DIR: a CA and leaf certificates in DIR (NAME.pem, NAME.der,
#   and NAME.p7b for PKCS#7 certs-only blobs).
# load_fixtures DIR URI: the entries under ou=people,dc=example,dc=com,
#   cn=reader and cn=publisher (passwords in DIR/reader.pw and
#   DIR/publisher.pw, mode 0600).

fx_date() {	# fx_date "-1 day" -> 20250101000000Z
  date -u -d "$1" +%Y%m%d%H%M%SZ
}

fx_ca_conf() {
  local d=$1
  mkdir -p "$d/new"
  : > "$d/index.txt"
  echo 1000 > "$d/serial"
  cat > "$d/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $d/index.txt
new_certs_dir = $d/new
serial = $d/serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
email_in_dn = yes
[ anything ]
commonName = supplied
emailAddress = optional
[ leaf ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment, keyAgreement
extendedKeyUsage = emailProtection
subjectAltName = \${ENV::SAN}
[ legacy ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment, keyAgreement
EOF
}

# fx_leaf DIR NAME SUBJECT SAN START END [EXTENSIONS]: a certificate for
# a fresh P-256 key; SAN like "email:a@example.com" (ignored by "legacy").
fx_leaf() {
  local d=$1 name=$2 subj=$3 san=$4 start=$5 end=$6 ext=${7:-leaf}
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$d/$name.key" -subj "$subj" -out "$d/$name.csr" 2>/dev/null || return 1
  SAN=$san openssl ca -batch -config "$d/ca.cnf" -cert "$d/ca.pem" \
    -keyfile "$d/ca.key" -in "$d/$name.csr" -out "$d/$name.pem" \
    -extensions "$ext" -startdate "$start" -enddate "$end" -notext \
    >/dev/null 2>&1 || return 1
  openssl x509 -in "$d/$name.pem" -outform DER -out "$d/$name.der"
}

# fx_p7 DIR NAME PEM...: a PKCS#7 certs-only blob (DER), as Outlook writes.
fx_p7() {
  local d=$1 name=$2 args=() f
  shift 2
  for f in "$@"; do args+=(-certfile "$d/$f.pem"); done
  openssl crl2pkcs7 -nocrl "${args[@]}" -outform DER -out "$d/$name.p7b"
}

make_fixtures() {
  local d=$1 now1 now30 year past0 past1 later
  fx_ca_conf "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$d/ca.key" -out "$d/ca.pem" -subj "/CN=Directory Test CA" \
    -days 365 2>/dev/null || return 1
  now1=$(fx_date "-1 day"); now30=$(fx_date "-30 days")
  year=$(fx_date "+1 year"); later=$(fx_date "+2 years")
  past0=20200101000000Z; past1=20210101000000Z
  fx_leaf "$d" alice "/CN=Alice" email:alice@example.com "$now1" "$year" &&
  fx_leaf "$d" bob "/CN=Bob" email:bob@example.com "$now1" "$year" &&
  fx_leaf "$d" carol1 "/CN=Carol" email:carol@example.com "$now1" "$year" &&
  fx_leaf "$d" carol2 "/CN=Carol Encryption" email:carol@example.com "$now1" "$year" &&
  fx_leaf "$d" dave "/CN=Dave" email:dave@example.com "$past0" "$past1" &&
  fx_leaf "$d" mallory "/CN=Mallory" email:mallory@example.org "$now1" "$year" &&
  fx_leaf "$d" frank1 "/CN=Frank" email:frank@example.com "$now1" "$year" &&
  fx_leaf "$d" frank2 "/CN=Frank 2" email:frank@example.com,email:f@example.com "$now1" "$later" &&
  fx_leaf "$d" frank-expired "/CN=Frank" email:frank@example.com "$past0" "$past1" &&
  fx_leaf "$d" heidi "/CN=Heidi" email:Heidi@Example.COM "$now1" "$year" &&
  fx_leaf "$d" grace "/CN=Grace" email:grace@example.com "$now1" "$year" &&
  fx_leaf "$d" judy "/CN=Judy/emailAddress=judy@example.com" "" "$now1" "$year" legacy &&
  fx_leaf "$d" shared1 "/CN=Shared One" email:shared@example.com "$now1" "$year" &&
  fx_leaf "$d" shared2 "/CN=Shared Two" email:shared@example.com "$now1" "$year" &&
  fx_leaf "$d" ivan-old "/CN=Ivan" email:ivan@example.com "$now30" "$year" &&
  fx_leaf "$d" ivan-expired "/CN=Ivan" email:ivan@example.com "$past0" "$past1" &&
  fx_leaf "$d" ivan-other "/CN=Ivan Signing" email:ivan@example.com "$now30" "$year" &&
  fx_leaf "$d" ivan-new "/CN=Ivan" email:ivan@example.com "$now1" "$later" &&
  fx_leaf "$d" ivan-next "/CN=Ivan Next" email:ivan@example.com "$now1" "$later" &&
  fx_leaf "$d" kate "/CN=Kate" email:kate@example.com "$now1" "$year" &&
  fx_p7 "$d" bob bob ca &&
  fx_p7 "$d" carol carol1 carol2 &&
  fx_p7 "$d" frank frank1 &&
  head -c 300 /dev/urandom > "$d/garbage.bin"
}

# fx_person UID MAIL [ATTR:FILE...]: one inetOrgPerson entry in LDIF.
fx_person() {
  local uid=$1 mail=$2 av
  shift 2
  printf 'dn: uid=%s,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\n' "$uid"
  printf 'uid: %s\ncn: %s\nsn: %s\nmail: %s\n' "$uid" "$uid" "$uid" "$mail"
  for av in "$@"; do
    printf '%s:< file://%s\n' "${av%%=*}" "${av#*=}"
  done
  printf '\n'
}

load_fixtures() {
  local d=$1 uri=$2 B="userCertificate;binary" S=userSMIMECertificate
  printf 'readerpw\n' > "$d/reader.pw"
  printf 'publisherpw\n' > "$d/publisher.pw"
  chmod 600 "$d/reader.pw" "$d/publisher.pw"
  {
    printf 'dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n'
    printf 'dn: ou=people,dc=example,dc=com\nobjectClass: organizationalUnit\nou: people\n\n'
    local who
    for who in reader publisher; do
      printf 'dn: cn=%s,dc=example,dc=com\nobjectClass: organizationalRole\n' "$who"
      printf 'objectClass: simpleSecurityObject\ncn: %s\nuserPassword: %spw\n\n' "$who" "$who"
    done
    fx_person alice alice@example.com "$B=$d/alice.der"
    fx_person bob bob@example.com "$S=$d/bob.p7b"
    fx_person carol carol@example.com "$B=$d/carol1.der" "$S=$d/carol.p7b"
    fx_person dave dave@example.com "$B=$d/dave.der"
    fx_person eve eve@example.com "$B=$d/mallory.der"
    fx_person frank frank@example.com "$B=$d/frank1.der" "$B=$d/frank2.der" \
      "$B=$d/frank-expired.der" "$S=$d/frank.p7b"
    fx_person heidi heidi@example.com "$B=$d/heidi.der"
    fx_person grace grace@example.com "$B=$d/grace.der" "$S=$d/garbage.bin"
    fx_person judy judy@example.com "$B=$d/judy.der"
    fx_person shared1 shared@example.com "$B=$d/shared1.der"
    fx_person shared2 shared@example.com "$B=$d/shared2.der"
    fx_person ivan ivan@example.com "$B=$d/ivan-old.der" \
      "$B=$d/ivan-expired.der" "$B=$d/ivan-other.der"
    fx_person kate kate@example.com
    fx_person nocert nocert@example.com
  } > "$d/entries.ldif"
  ldapadd -x -H "$uri" -D "$SLAPD_ROOTDN" -w "$SLAPD_ROOTPW" \
    -f "$d/entries.ldif" > "$d/ldapadd.log" 2>&1 || { cat "$d/ldapadd.log" >&2; return 1; }
}
