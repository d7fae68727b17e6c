# SPDX-License-Identifier: BSD-2-Clause
# Shared helpers for shell-based tests. Source it:  . "$SMX_SOURCE_DIR/tests/lib/common.sh"
# Environment set by ctest: SMX_BIN_DIR, SMX_SOURCE_DIR, SMX_BUILD_DIR,
# SMX_TEST_DIR (this test's private directory), SMX_REQUIRE_PEERS (1: a
# missing peer program fails the test instead of skipping it).

set -u

: "${SMX_BIN_DIR:?run this test through ctest}"
: "${SMX_TEST_DIR:=$(pwd)}"

# skip REASON: exit 77 (ctest: skipped), or fail when peers are required.
skip() {
  if [ "${SMX_REQUIRE_PEERS:-0}" = 1 ]; then
    echo "FAIL (peer required): $*" >&2
    exit 1
  fi
  echo "SKIP: $*" >&2
  exit 77
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# need_cmd CMD...: skip unless every command exists.
need_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] || skip "$c is not installed"
  done
}

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on now.
# Picked at random below the kernel's ephemeral range (32768-60999), where
# neither another test's "port 0" nor an outgoing connection can be handed
# the same number between this check and the server's own bind.
free_port() {
  python3 - <<'PY'
import random
import socket
for _ in range(500):
    port = random.SystemRandom().randint(10000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port between 10000 and 32000")
PY
}

# wait_for_port PORT [SECONDS]: waits until something accepts on 127.0.0.1:PORT.
wait_for_port() {
  local port=$1 limit=${2:-20} i=0
  while [ $i -lt $((limit * 10)) ]; do
    if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# wait_for_file PATH [SECONDS]: waits until PATH exists.
wait_for_file() {
  local f=$1 limit=${2:-20} i=0
  while [ $i -lt $((limit * 10)) ]; do
    [ -e "$f" ] && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# fresh_dir NAME: an empty directory under this test's directory.
fresh_dir() {
  local d="$SMX_TEST_DIR/$1"
  rm -rf "$d"
  mkdir -p "$d"
  echo "$d"
}

# write_milter_conf FILE PORT|SOCKETSPEC [extra milter keys...]: a minimal
# configuration for tests, internal domain example.com, SQLite store in
# the test directory.
write_milter_conf() {
  local file=$1 sock=$2
  shift 2
  case "$sock" in
    inet:*|unix:*|local:*|inet6:*) ;;
    *) sock="inet:$sock@127.0.0.1" ;;
  esac
  # An extra "key = value" replaces the default of that key (libconfig
  # refuses a key given twice).
  local defaults=(
    "socket = \"$sock\""
    "authserv_id = \"mx.example.com\""
    "internal_domains = [ \"example.com\" ]"
    "trusted_networks = [ \"127.0.0.0/8\", \"::1\" ]"
    "spool_directory = \"$SMX_TEST_DIR\""
    "shutdown_timeout = \"10s\""
  )
  {
    echo "milter: {$(test_user_setting "$@")"
    local kv extra
    for kv in "${defaults[@]}"; do
      for extra in "$@"; do
        [ "${extra%%[ =]*}" = "${kv%%[ =]*}" ] && continue 2
      done
      echo "  $kv;"
    done
    for kv in "$@"; do echo "  $kv;"; done
    echo "};"
    echo "store: { backend = \"sqlite\"; path = \"$SMX_TEST_DIR/store.db\"; };"
    echo "keys: { master_key_file = \"$SMX_TEST_DIR/master.key\"; };"
  } > "$file"
}

# start_milter CONF LOG: starts smime-milter -f in the background and
# waits until it listens; sets MILTER_PID.
start_milter() {
  local conf=$1 log=$2
  milter_adopt_files "$conf"
  ${SMX_MILTER_WRAPPER:-} "$SMX_BIN_DIR/smime-milter" -f -c "$conf" >>"$log" 2>&1 &
  MILTER_PID=$!
  local i=0
  while [ $i -lt $((100 * ${SMX_TIMEOUT_SCALE:-1})) ]; do
    grep -q "listening on" "$log" 2>/dev/null && return 0
    kill -0 "$MILTER_PID" 2>/dev/null || { cat "$log" >&2; fail "smime-milter did not start"; }
    sleep 0.1
    i=$((i + 1))
  done
  cat "$log" >&2
  fail "smime-milter did not start listening"
}

# stop_milter: SIGTERM and wait (kill -9 after 15 s).
stop_milter() {
  [ -n "${MILTER_PID:-}" ] || return 0
  kill -TERM "$MILTER_PID" 2>/dev/null || true
  local i=0
  while kill -0 "$MILTER_PID" 2>/dev/null && [ $i -lt $((150 * ${SMX_TIMEOUT_SCALE:-1})) ]; do
    sleep 0.1
    i=$((i + 1))
  done
  kill -KILL "$MILTER_PID" 2>/dev/null || true
  MILTER_RC=0
  wait "$MILTER_PID" 2>/dev/null || MILTER_RC=$?
  MILTER_PID=
}

# --- the milter's unprivileged user --------------------------------------
# Tests run as root, and the milter started as root must switch to
# milter.user: write_milter_conf sets this user when root, and the start
# helpers call milter_adopt_files so that the user can read the store and
# the master key (smimectl made them as root, mode 0600) and write its
# spool, socket and pid file directories.
SMX_TEST_USER=smx-test

# SMX_MILTER_WRAPPER: a command the start helpers put before smime-milter
# (scripts/test's valgrind stage sets it); SMX_TIMEOUT_SCALE multiplies
# their waits for a wrapper that makes the milter slow to start.

# test_user_ensure: creates SMX_TEST_USER (system user, no login, no home)
# unless it exists.
test_user_ensure() {
  id "$SMX_TEST_USER" >/dev/null 2>&1 && return 0
  # Tests run in parallel and useradd fails while another holds the
  # passwd lock: one creates the user, the others wait for it.
  flock /run/lock/smx-test-user.lock sh -c "id '$SMX_TEST_USER' >/dev/null 2>&1 ||
    useradd --system --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin '$SMX_TEST_USER'" ||
    fail "cannot create the test user $SMX_TEST_USER"
}

# test_user_setting [milter keys...]: as root, unless a key sets user,
# prints ' user = "SMX_TEST_USER";' (and creates the user): the milter
# refuses to run as root without one. The generators print it on the
# "milter: {" line so that the line numbers of the other keys, which
# tests compare with error messages, stay the same.
test_user_setting() {
  local kv
  [ "$(id -u)" = 0 ] || return 0
  for kv in "$@"; do
    [ "${kv%%[ =]*}" = user ] && return 0
  done
  test_user_ensure
  printf ' user = "%s";' "$SMX_TEST_USER"
}

# milter_adopt_files CONF: when root and CONF switches to SMX_TEST_USER,
# gives that user the files CONF names (store, master key, LDAP password,
# pid file, unix socket: with the SQLite side files) and their
# directories, and the spool directory. Only paths inside SMX_TEST_DIR
# are touched, never the directories above it.
milter_adopt_files() {
  local conf=$1 path dir f
  [ "$(id -u)" = 0 ] || return 0
  grep -qE "(^|[{;[:space:]])user = \"$SMX_TEST_USER\";" "$conf" || return 0
  while IFS= read -r path; do
    case "$path" in "$SMX_TEST_DIR"/*|"$SMX_TEST_DIR") ;; *) continue ;; esac
    if [ -d "$path" ]; then
      chown "$SMX_TEST_USER" "$path"
      continue
    fi
    for f in "$path" "$path-wal" "$path-shm" "$path-journal" "$path-lock"; do
      [ -e "$f" ] && chown "$SMX_TEST_USER" "$f"
    done
    dir=$(dirname "$path")
    case "$dir" in "$SMX_TEST_DIR"/*|"$SMX_TEST_DIR") chown "$SMX_TEST_USER" "$dir" ;; esac
  done < <(grep -oE '(path|master_key_file|bind_password_file|spool_directory|pidfile|socket) = "(unix:|local:)?/[^"]*"' "$conf" |
           sed -E 's/^[a-z_]+ = "(unix:|local:)?(.*)"$/\2/')
  return 0
}

# gpgsm_import_p12 FILE PASSWORD [REMAKE...]: imports FILE (key and
# certificates) into $GNUPGHOME with gpgsm. gpgsm 2.2.40 cannot decrypt a
# small share of valid PKCS#12 files ("error parsing or decrypting the
# PKCS#12 file", exit status 0 all the same), OpenSSL's own exports
# included: it depends on the random salt, and the same file then always
# fails. With REMAKE, a command that writes FILE again (a fresh salt), the
# import is retried up to four times; a failing file is kept as
# FILE.gpgsm-failed.N. gpgsm's output is in FILE.gpgsm.log.
gpgsm_import_p12() {
  local file=$1 pass=$2 try
  shift 2
  for try in 1 2 3 4 5; do
    if echo "$pass" | gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 \
         --import "$file" >"$file.gpgsm.log" 2>&1 &&
       ! grep -q "error parsing or decrypting" "$file.gpgsm.log"; then
      return 0
    fi
    [ $# -gt 0 ] || return 1
    cp "$file" "$file.gpgsm-failed.$try"
    "$@" >/dev/null 2>&1 || return 1
  done
  return 1
}

# gpgsm_home DIR CA.pem: a fresh GnuPG home for gpgsm 2.2 (FACTS.md): no
# CRL or policy checks, loopback pinentry, CA.pem imported and trusted
# for S/MIME. Stop its agent with GNUPGHOME=DIR gpgconf --kill all.
gpgsm_home() {
  local dir=$1 ca=$2
  mkdir -m 700 "$dir" || fail "cannot create $dir"
  printf 'disable-crl-checks\ndisable-policy-checks\n' > "$dir/gpgsm.conf"
  printf 'allow-mark-trusted\nallow-loopback-pinentry\n' > "$dir/gpg-agent.conf"
  echo "$(openssl x509 -in "$ca" -noout -fingerprint -sha1 | sed 's/.*=//') S" \
    > "$dir/trustlist.txt"
  GNUPGHOME=$dir gpgsm --batch --import "$ca" >/dev/null 2>&1 ||
    fail "gpgsm cannot import $ca"
}
