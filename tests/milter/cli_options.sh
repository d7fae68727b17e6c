#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Command line: -n checks the configuration (exit 0, or
# exit 1 with every error as FILE:LINE: message, @include'd files under
# their own name), -V prints the version, a bad option exits 1.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"

MILTER="$SMX_BIN_DIR/smime-milter"
[ -x "$MILTER" ] || fail "no $MILTER: build first"
D=$(fresh_dir cli)
cd "$D" || fail "cannot enter $D"

# run ARGS...: sets RC, OUT (stdout) and ERR (stderr).
run() {
  "$MILTER" "$@" > "$D/out" 2> "$D/err"
  RC=$?
  OUT=$(cat "$D/out")
  ERR=$(cat "$D/err")
}
expect_rc() {
  [ "$RC" -eq "$1" ] || fail "smime-milter $2: exit $RC, expected $1
stdout: $OUT
stderr: $ERR"
}
expect_err_line() {
  grep -qxF -- "$1" "$D/err" || fail "smime-milter $2: no stderr line [$1]
stderr: $ERR"
}

# --- a good file -------------------------------------------------------
cat > good.conf <<CONF
milter: {
  socket = "inet:8891@127.0.0.1";
  internal_domains = [ "example.com" ];
  trusted_networks = [ "127.0.0.0/8", "2001:db8::/32" ];
};
store: { backend = "sqlite"; path = "$D/store.db"; };
keys: { master_key_file = "$D/master.key"; };
CONF
run -n -c "$D/good.conf"
expect_rc 0 "-n good.conf"
[ "$OUT" = "$D/good.conf: configuration OK" ] || fail "-n good.conf printed [$OUT]"
[ -z "$ERR" ] || fail "-n good.conf wrote to stderr: $ERR"
[ ! -e "$D/store.db" ] && [ ! -e "$D/master.key" ] || fail "-n created files"

# --- errors in the main file and in an @include'd file -------------------
cat > main.conf <<'CONF'
milter: {
  socket = "inet:99999@127.0.0.1";
  internal_domains = [ "example.com" ];
  spool_directory = "relative/spool";
  no_such_key = 1;
};
@include "store.conf"
keys: { master_key_file = "relative.key"; };
CONF
cat > store.conf <<'CONF'
# the store
store: {
  backend = "sqlite";
  path = "relative.db";
};
CONF
run -n -c "$D/main.conf"
expect_rc 1 "-n main.conf"
[ -z "$OUT" ] || fail "-n main.conf printed on stdout: $OUT"
M="$D/main.conf"
expect_err_line "$M:2: milter.socket: 'inet:99999@127.0.0.1' is not inet:PORT@HOST, inet6:PORT@HOST or unix:/PATH" "-n main.conf"
expect_err_line "$M:4: milter.spool_directory: must be an absolute path" "-n main.conf"
expect_err_line "$M:5: unknown setting 'milter.no_such_key'" "-n main.conf"
expect_err_line "$M:8: keys.master_key_file: must be an absolute path" "-n main.conf"
expect_err_line "$D/store.conf:4: store.path: must be an absolute path" "-n main.conf"
n=$(wc -l < "$D/err")
[ "$n" -eq 5 ] || fail "-n main.conf: expected 5 error lines, got $n:
$ERR"
# Every line is FILE:LINE: message.
if grep -vE "^$D/(main|store)\.conf:[0-9]+: [^ ]" "$D/err"; then
  fail "-n main.conf: error lines without FILE:LINE: (above)"
fi

# --- a syntax error inside an @include'd file -----------------------------
cat > outer.conf <<CONF
milter: { internal_domains = [ "example.com" ]; };
@include "broken.conf"
CONF
printf 'store: {\n  backend = "sqlite";\n  path = ;\n};\n' > broken.conf
run -n -c "$D/outer.conf"
expect_rc 1 "-n outer.conf"
n=$(wc -l < "$D/err")
[ "$n" -eq 1 ] || fail "-n outer.conf: expected 1 error line, got $n:
$ERR"
# The included file's name, as written in @include or with the directory.
grep -qE "^($D/)?broken\.conf:3: syntax error$" "$D/err" ||
  fail "-n outer.conf: syntax error not reported as broken.conf:3: $ERR"

# --- a syntax error in the main file --------------------------------------
printf 'milter: {\n  internal_domains = [ "example.com" ]\n  socket = \n};\n' > syntax.conf
run -n -c "$D/syntax.conf"
expect_rc 1 "-n syntax.conf"
grep -qE "^$D/syntax\.conf:4: syntax error$" "$D/err" ||
  fail "-n syntax.conf: $ERR"

# --- a missing file ---------------------------------------------------------
run -n -c "$D/missing.conf"
expect_rc 1 "-n missing.conf"
expect_err_line "$D/missing.conf: cannot read: No such file or directory" "-n missing.conf"

# --- a warning is not an error: hold where encryption can be required ------
# A held message waits in clear in the MTA's queue and postsuper -H
# releases it past the milter: -n says so at the setting, and exits 0.
cat > hold.conf <<CONF
milter: { internal_domains = [ "example.com" ]; };
store: { backend = "sqlite"; path = "$D/store.db"; };
keys: { master_key_file = "$D/master.key"; };
policy: {
  default: { on_missing_certificate = "reject"; };
  domains: ( { domain = "partner.example"; encrypt = "required";
               on_missing_certificate = "hold"; },
             { domain = "other.example"; on_missing_certificate = "tempfail"; } );
};
CONF
run -n -c "$D/hold.conf"
expect_rc 0 "-n hold.conf"
[ "$OUT" = "$D/hold.conf: configuration OK" ] || fail "-n hold.conf printed [$OUT]"
n=$(wc -l < "$D/err")
[ "$n" -eq 1 ] || fail "-n hold.conf: expected 1 warning line, got $n:
$ERR"
grep -qE "^$D/hold\.conf:7: warning: .*hold.*postsuper -H" "$D/err" ||
  fail "-n hold.conf: no FILE:LINE: warning at the hold setting: $ERR"
# Hold where nothing can require encryption cannot act: no warning.
sed -e 's/encrypt = "required";//' hold.conf > hold-idle.conf
run -n -c "$D/hold-idle.conf"
expect_rc 0 "-n hold-idle.conf"
[ -z "$ERR" ] || fail "-n hold-idle.conf warned although nothing is required: $ERR"
# A trigger can make any recipient required: the default layer's hold warns.
cat > hold-trigger.conf <<CONF
milter: { internal_domains = [ "example.com" ]; };
store: { backend = "sqlite"; path = "$D/store.db"; };
keys: { master_key_file = "$D/master.key"; };
policy: { default: { on_missing_certificate = "hold"; };
          triggers: { subject_tag = "[secure]"; }; };
CONF
run -n -c "$D/hold-trigger.conf"
expect_rc 0 "-n hold-trigger.conf"
grep -qE "^$D/hold-trigger\.conf:4: warning: " "$D/err" ||
  fail "-n hold-trigger.conf: no warning for hold with a trigger: $ERR"

# --- -V, -h, bad options ------------------------------------------------------
run -V
expect_rc 0 "-V"
echo "$OUT" | head -1 | grep -qE '^smime-milter [0-9]+\.[0-9]+\.[0-9]+' ||
  fail "-V printed [$OUT]"
run -h
expect_rc 0 "-h"
echo "$OUT" | grep -q '^usage: smime-milter' || fail "-h printed [$OUT]"
run -Z
expect_rc 1 "-Z"
echo "$ERR" | grep -q '^usage: smime-milter' || fail "-Z: no usage on stderr: $ERR"
[ -z "$OUT" ] || fail "-Z printed on stdout: $OUT"
run -n -c "$D/good.conf" stray-argument
expect_rc 1 "stray argument"
run -c
expect_rc 1 "-c without a file"
run -n -c "$D/good.conf" -p bogus
expect_rc 1 "-p bogus"
expect_err_line "smime-milter: -p bogus: not inet:PORT@HOST or unix:/PATH" "-p bogus"
run -n -c "$D/good.conf" -p "unix:$D/milter.sock"
expect_rc 0 "-p unix:"
[ ! -e "$D/milter.sock" ] || fail "-n created the socket"

echo "PASS: cli_options"
