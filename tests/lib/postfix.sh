# SPDX-License-Identifier: BSD-2-Clause
# A private Postfix instance, an smtp-sink behind it and the milter in
# front of it, for integration tests. Source it after common.sh:
#
#   . "$SMX_SOURCE_DIR/tests/lib/common.sh"
#   . "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
#   pf_need_peers
#   pf_init [--sasl]        # ports, directories, main.cf, master.cf
#   (pf_main_cf_set, pf_master_cf_drop/pf_master_cf_add: changes to them)
#   sink_start
#   pf_milter_conf_passthrough    # or write_milter_conf "$PF_MILTER_CONF" ...
#   pf_start_milter
#   pf_start
#   pf_send OUT --from a@example.com --to b@example.org -ndf --data @WIRE
#   qid=$(pf_queue_id OUT); pf_wait_delivered "$qid"; sink_file_for "$qid"
#
# Everything lives under $SMX_TEST_DIR/postfix (configuration, queue, data,
# maillog, sink files; pf_make_dirs says when it is in /tmp) and every port
# is chosen free at run time, so that tests can run in parallel and never
# touch /etc/postfix or the system queue. pf_init installs an EXIT trap
# that stops Postfix, the sink and the milter even when the test fails;
# logs stay behind for debugging. A test with its own EXIT trap must call
# pf_cleanup from it.
#
# Variables set by pf_init:
#   PF_TOP          $SMX_TEST_DIR/postfix: the instance, or a link to it
#   PF_DIR          root of the instance (PF_TOP, or a directory in /tmp)
#   PF_CONF         config_directory (main.cf, master.cf)
#   PF_QUEUE        queue_directory
#   PF_LOG          Postfix's maillog file
#   PF_PORT         smtpd port on 127.0.0.1 (no SASL, like an MX)
#   PF_SUBMIT_PORT  submission port (SASL required), only with --sasl
#   PF_SINK_PORT    smtp-sink port; all mail is relayed there
#   PF_SINK_DIR     one file per message received by the sink
#   PF_MILTER_PORT  where Postfix expects the milter (inet:127.0.0.1:PORT)
#   PF_MILTER_CONF  suggested milter configuration path
#   PF_MILTER_LOG   the milter's stderr (pf_start_milter)

PF_POSTFIX_LIBEXEC=/usr/lib/postfix/sbin

# pf_need_peers: skip (or fail with SMX_REQUIRE_PEERS=1) unless Postfix,
# smtp-sink, swaks and script(1) are installed, the postfix user exists
# and we are root.
pf_need_peers() {
  need_cmd postfix postconf postqueue smtp-sink swaks script runuser python3 \
    "$PF_POSTFIX_LIBEXEC/master" "$PF_POSTFIX_LIBEXEC/postlogd"
  id postfix >/dev/null 2>&1 || skip "there is no postfix user"
  getent group postdrop >/dev/null 2>&1 || skip "there is no postdrop group"
  [ "$(id -u)" = 0 ] || skip "a private Postfix instance needs root"
}

# pf_init [--sasl]: chooses ports, writes the instance's configuration and
# installs the cleanup trap. --sasl adds a submission port that requires
# SASL (cyrus, sasldb); add users with pf_add_sasl_user.
pf_init() {
  local sasl=0
  [ "${1:-}" = --sasl ] && sasl=1
  PF_TOP="$SMX_TEST_DIR/postfix"
  PF_MILTER_CONF="$SMX_TEST_DIR/milter.conf"
  PF_MILTER_LOG="$SMX_TEST_DIR/milter.log"
  trap pf_cleanup EXIT
  # A previous run killed by the ctest timeout cannot have cleaned up.
  pf_kill_leftovers
  pf_make_dirs
  : >"$PF_MILTER_LOG"
  PF_PORT=$(free_port)
  PF_SINK_PORT=$(free_port)
  PF_MILTER_PORT=$(free_port)
  PF_SUBMIT_PORT=
  [ "$sasl" = 1 ] && PF_SUBMIT_PORT=$(free_port)
  pf_write_main_cf
  pf_write_master_cf
  [ "$sasl" = 1 ] && pf_write_sasl_conf
  return 0
}

# pf_make_dirs: the instance lives in $SMX_TEST_DIR/postfix, except when
# the postfix user cannot reach it (a build under a private home
# directory) or its queue sockets would pass the 107-byte limit of UNIX
# socket paths: then it lives in /tmp, $SMX_TEST_DIR/postfix is a link to
# it, and pf_cleanup copies it back without the queue.
pf_make_dirs() {
  chmod 755 "$SMX_TEST_DIR"
  if [ ${#PF_TOP} -le 70 ] && runuser -u postfix -- test -x "$SMX_TEST_DIR"; then
    PF_DIR=$PF_TOP
    mkdir -p "$PF_DIR"
  else
    PF_DIR=$(mktemp -d /tmp/smx-pf.XXXXXX) || fail "mktemp -d /tmp/smx-pf.XXXXXX"
    ln -s "$PF_DIR" "$PF_TOP"
  fi
  PF_CONF="$PF_DIR/etc"
  PF_QUEUE="$PF_DIR/queue"
  PF_LOG="$PF_DIR/maillog"
  PF_SINK_DIR="$PF_DIR/sink"
  mkdir -p "$PF_CONF" "$PF_QUEUE" "$PF_DIR/data" "$PF_SINK_DIR"
  # Postfix daemons and the sink run as the postfix user.
  chmod 755 "$PF_DIR" "$PF_QUEUE"
  chown postfix: "$PF_DIR/data" "$PF_SINK_DIR"
}

pf_write_main_cf() {
  cat >"$PF_CONF/main.cf" <<EOF
# Private instance for $SMX_TEST_DIR (written by tests/lib/postfix.sh).
compatibility_level = 3.6
queue_directory = $PF_QUEUE
data_directory = $PF_DIR/data
syslog_name = postfix-smx
# Log to a file in the test directory through postlogd, not to syslog.
maillog_file = $PF_LOG
maillog_file_prefixes = $PF_DIR
myhostname = mx.example.com
mydomain = example.com
myorigin = example.com
# Nothing is delivered locally: all mail goes to the sink.
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 no local delivery in tests
relay_domains =
default_transport = smtp:[127.0.0.1]:$PF_SINK_PORT
relay_transport = smtp:[127.0.0.1]:$PF_SINK_PORT
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated,
    reject_unauth_destination
# No DNS anywhere.
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
# Keep the message as sent: no 8BITMIME -> quoted-printable conversion,
# no rewriting of addresses in headers.
disable_mime_output_conversion = yes
local_header_rewrite_clients =
# The milter, and what Postfix does when it is not there.
smtpd_milters = inet:127.0.0.1:$PF_MILTER_PORT
non_smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 5s
milter_command_timeout = $((20 * ${SMX_TIMEOUT_SCALE:-1}))s
milter_content_timeout = $((60 * ${SMX_TIMEOUT_SCALE:-1}))s
milter_connect_macros = j {daemon_name} {daemon_addr} v {client_addr} _
milter_helo_macros = {tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}
milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}
milter_rcpt_macros = i {rcpt_addr} {rcpt_host} {rcpt_mailer}
milter_data_macros = i
milter_end_of_header_macros = i
milter_end_of_data_macros = i
milter_macro_daemon_name = mx
# Tests want answers now, not after anti-abuse delays.
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 200
in_flow_delay = 0
smtp_connect_timeout = 5s
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 10s
delay_warning_time = 0
message_size_limit = 20480000
biff = no
EOF
}

# pf_main_cf_set NAME=VALUE...: overrides main.cf settings (before pf_start).
pf_main_cf_set() {
  postconf -c "$PF_CONF" -e "$@" || fail "postconf -e $*"
}

pf_write_master_cf() {
  local sub=
  if [ -n "$PF_SUBMIT_PORT" ]; then
    sub="127.0.0.1:$PF_SUBMIT_PORT inet n - n - - smtpd
  -o syslog_name=postfix-smx/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o milter_macro_daemon_name=submission"
  fi
  # No chroot (column 5 = n): the instance's files are not copied into
  # a jail, and SASL reads its sasldb from the test directory.
  cat >"$PF_CONF/master.cf" <<EOF
127.0.0.1:$PF_PORT inet n - n - - smtpd
$sub
pickup     unix n - n 60 1 pickup
cleanup    unix n - n - 0 cleanup
qmgr       unix n - n 300 1 qmgr
rewrite    unix - - n - - trivial-rewrite
bounce     unix - - n - 0 bounce
defer      unix - - n - 0 bounce
trace      unix - - n - 0 bounce
verify     unix - - n - 1 verify
flush      unix n - n 1000? 0 flush
proxymap   unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp       unix - - n - - smtp
relay      unix - - n - - smtp
showq      unix n - n - - showq
error      unix - - n - - error
retry      unix - - n - - error
discard    unix - - n - - discard
anvil      unix - - n - 1 anvil
scache     unix - - n - 1 scache
postlog    unix-dgram n - n - 1 postlogd
EOF
}

# pf_master_cf_add < ENTRIES: appends master.cf entries (before pf_start,
# or followed by a restart), for tests that need more services, such as a
# second smtpd or a transport of their own.
pf_master_cf_add() {
  cat >>"$PF_CONF/master.cf" || fail "cannot append to $PF_CONF/master.cf"
}

# pf_master_cf_drop SERVICE TYPE: removes that entry and its "-o"
# continuation lines from master.cf (to replace it with pf_master_cf_add).
pf_master_cf_drop() {
  local f="$PF_CONF/master.cf"
  awk -v svc="$1" -v type="$2" '
    /^[^ \t#]/ { drop = ($1 == svc && $2 == type) }
    !drop' "$f" >"$f.new" && mv "$f.new" "$f" ||
    fail "cannot rewrite $f"
}

# Debian's smtpd reads smtpd.conf from $config_directory/sasl whatever
# cyrus_sasl_config_path says, so both point there.
pf_write_sasl_conf() {
  mkdir -p "$PF_CONF/sasl"
  cat >"$PF_CONF/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $PF_CONF/sasl/sasldb2
EOF
  pf_main_cf_set "cyrus_sasl_config_path = $PF_CONF/sasl" \
    "smtpd_sasl_type = cyrus" "smtpd_sasl_path = smtpd" \
    "smtpd_sasl_security_options = noanonymous"
}

# pf_add_sasl_user USER@DOMAIN PASSWORD: a login for the submission port
# (swaks -a PLAIN -au USER@DOMAIN -ap PASSWORD).
pf_add_sasl_user() {
  local user=${1%@*} realm=${1#*@} db="$PF_CONF/sasl/sasldb2"
  [ -n "$PF_SUBMIT_PORT" ] || fail "pf_add_sasl_user needs pf_init --sasl"
  need_cmd saslpasswd2
  printf '%s' "$2" | saslpasswd2 -p -f "$db" -c -u "$realm" "$user" ||
    fail "saslpasswd2 could not add $1"
  # smtpd runs as postfix and must read the database; postfix-script
  # warns about files in config_directory not owned by root.
  chown root:postfix "$db" && chmod 640 "$db"
}

# pf_postfix ARGS...: runs the postfix command on this instance under
# script(1): without a terminal, postfix check/start fail silently.
pf_postfix() {
  local cmd="postfix -c '$PF_CONF' $*"
  script -q -e -c "$cmd" /dev/null >>"$PF_DIR/postfix-cmd.log" 2>&1
}

# pf_start: starts the instance (postfix start runs its own integrity
# check and creates the queue) and waits until smtpd answers. Fails with
# Postfix's own words.
pf_start() {
  if ! pf_postfix start; then
    cat "$PF_DIR/postfix-cmd.log" >&2
    fail "postfix start failed for $PF_CONF (see $PF_LOG)"
  fi
  local p
  for p in "$PF_PORT" $PF_SUBMIT_PORT; do
    wait_for_port "$p" 20 || fail "Postfix does not listen on 127.0.0.1:$p"
  done
}

# pf_master_pid: the pid of this instance's running master, or nothing.
# The pid file may be stale and its number reused: the process must be a
# master started with this instance's MAIL_CONFIG.
pf_master_pid() {
  local f="${PF_QUEUE:-/nonexistent}/pid/master.pid" pid conf
  [ -r "$f" ] || return 1
  pid=$(tr -d ' \n' <"$f")
  [ -n "$pid" ] && grep -q 'sbin/master' "/proc/$pid/cmdline" 2>/dev/null ||
    return 1
  conf=$(tr '\0' '\n' <"/proc/$pid/environ" | sed -n 's/^MAIL_CONFIG=//p')
  [ -n "$conf" ] && [ "$conf" -ef "$PF_QUEUE/../etc" ] || return 1
  echo "$pid"
}

# pf_stop: stops the instance and waits until its master is gone. This is
# what "postfix stop" does (SIGTERM to the master, which takes its process
# group down), without its one-second polling; after 10 s the whole
# process group gets SIGKILL.
pf_stop() {
  local pid i=0
  pid=$(pf_master_pid) || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
}

# sink_start: smtp-sink on PF_SINK_PORT, one file per message in
# PF_SINK_DIR (it prepends X-Client-Addr... lines and a Received: header,
# writes LF line ends and appends one empty line).
sink_start() {
  smtp-sink -u postfix -d "$PF_SINK_DIR/%H%M%S." "127.0.0.1:$PF_SINK_PORT" 1000 \
    >>"$PF_DIR/sink.log" 2>&1 &
  SINK_PID=$!
  echo "$SINK_PID" >"$PF_TOP/sink.pid"
  wait_for_port "$PF_SINK_PORT" 10 || {
    cat "$PF_DIR/sink.log" >&2
    fail "smtp-sink does not listen on 127.0.0.1:$PF_SINK_PORT"
  }
}

sink_stop() {
  [ -n "${SINK_PID:-}" ] || return 0
  kill -TERM "$SINK_PID" 2>/dev/null || true
  wait "$SINK_PID" 2>/dev/null || true
  SINK_PID=
  rm -f "$PF_TOP/sink.pid"
}

# pf_milter_conf_passthrough [extra milter keys...]: writes PF_MILTER_CONF
# for tests that want mail through unchanged: write_milter_conf plus a
# policy that neither signs nor encrypts, and a new store and master key
# made by smimectl init (as an installation would have them; a previous
# run's are removed first).
pf_milter_conf_passthrough() {
  write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT" "$@"
  rm -f "$SMX_TEST_DIR/store.db" "$SMX_TEST_DIR/store.db-"* "$SMX_TEST_DIR/master.key"
  cat >>"$PF_MILTER_CONF" <<'EOF'
policy: { default: { sign = "never"; encrypt = "never"; }; };
EOF
  "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" init >>"$SMX_TEST_DIR/smimectl.log" 2>&1 || {
    cat "$SMX_TEST_DIR/smimectl.log" >&2
    fail "smimectl -c $PF_MILTER_CONF init failed"
  }
}

# pf_start_milter [CONF]: starts smime-milter -f with its stderr appended
# to PF_MILTER_LOG, waits until it listens (a new "listening on" line: the
# log may hold one from before a restart) and writes a pid file so that a
# later run can clean up after a killed one. Sets MILTER_PID.
pf_start_milter() {
  local conf=${1:-$PF_MILTER_CONF} before i=0
  # grep -c fails on a count of 0: harmless, but not under set -e.
  before=$(grep -c "listening on" "$PF_MILTER_LOG" 2>/dev/null || true)
  milter_adopt_files "$conf"
  ${SMX_MILTER_WRAPPER:-} "$SMX_BIN_DIR/smime-milter" -f -c "$conf" >>"$PF_MILTER_LOG" 2>&1 &
  MILTER_PID=$!
  echo "$MILTER_PID" >"$SMX_TEST_DIR/milter.pid"
  while [ "$(grep -c "listening on" "$PF_MILTER_LOG")" -le "${before:-0}" ]; do
    if ! kill -0 "$MILTER_PID" 2>/dev/null || [ $i -ge $((100 * ${SMX_TIMEOUT_SCALE:-1})) ]; then
      cat "$PF_MILTER_LOG" >&2
      fail "smime-milter did not start listening (config $conf)"
    fi
    sleep 0.1
    i=$((i + 1))
  done
}

pf_stop_milter() {
  stop_milter
  rm -f "$SMX_TEST_DIR/milter.pid"
}

# pf_kill_leftovers: a run that ctest killed on timeout leaves its master
# (a daemon), sink and milter running; stop exactly those, found by the
# pid files in this test's directory, then remove that run's instance.
pf_kill_leftovers() {
  PF_QUEUE="$PF_TOP/queue"
  pf_stop
  pf_kill_pidfile "$PF_TOP/sink.pid" "^smtp-sink .*/sink/%H%M%S\\. "
  pf_kill_pidfile "$SMX_TEST_DIR/milter.pid" "smime-milter -f -c $SMX_TEST_DIR/"
  pf_remove_tmp_instance
  rm -rf "$PF_TOP"
}

# pf_remove_tmp_instance: removes the /tmp instance $PF_TOP links to.
pf_remove_tmp_instance() {
  local target
  [ -L "$PF_TOP" ] || return 0
  target=$(readlink "$PF_TOP")
  case "$target" in
    /tmp/smx-pf.*) rm -rf "$target" ;;
  esac
}

# pf_kill_pidfile FILE PATTERN: kills the process in FILE if its command
# line still matches PATTERN (the number may have been reused).
pf_kill_pidfile() {
  local pid
  [ -r "$1" ] || return 0
  pid=$(cat "$1")
  if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

# pf_cleanup [STATUS]: the EXIT trap. Keeps the exit status of the test
# (STATUS, when a trap of the test's own ran first and saved it), and the
# logs and sink files in $SMX_TEST_DIR/postfix. A test's own trap calls it
# last, as `trap 'rc=$?; set +e; ...; pf_cleanup $rc' EXIT`: under set -e a
# failing step of that trap would otherwise end it before Postfix, the
# milter and the sink are stopped.
pf_cleanup() {
  local rc=${1:-$?}
  set +e
  pf_stop_milter
  pf_stop
  sink_stop
  pf_keep_tmp_instance
  if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
    echo "logs: $PF_TOP/maillog, $PF_MILTER_LOG, $PF_TOP/sink.log," \
      "messages in $PF_TOP/sink" >&2
  fi
  exit "$rc"
}

# pf_keep_tmp_instance: an instance that lived in /tmp is copied back to
# $SMX_TEST_DIR/postfix, without its queue, and removed from /tmp.
pf_keep_tmp_instance() {
  [ -n "${PF_TOP:-}" ] && [ -L "$PF_TOP" ] || return 0
  local tmp
  tmp=$(readlink "$PF_TOP")
  rm -f "$PF_TOP"
  mkdir -p "$PF_TOP"
  (cd "$tmp" && tar --exclude=./queue -cf - .) | (cd "$PF_TOP" && tar -xf -)
  case "$tmp" in
    /tmp/smx-pf.*) rm -rf "$tmp" ;;
  esac
}

# pf_send OUT SWAKS-ARGS...: swaks to the smtpd port (or the one given with
# --server), its transcript in OUT. Returns swaks' exit status.
pf_send() {
  local out=$1
  shift
  swaks --server "127.0.0.1:$PF_PORT" --helo client.example.net \
    --timeout $((60 * ${SMX_TIMEOUT_SCALE:-1})) --suppress-data "$@" >"$out" 2>&1
}

# pf_queue_id OUT: the queue id from "250 ... queued as ID" in a swaks
# transcript.
pf_queue_id() {
  sed -n 's/.*<[-~] *250 .*queued as \([0-9A-Za-z]*\).*/\1/p' "$1" | tail -n 1
}

# pf_wait_delivered QUEUEID [SECONDS]: waits until qmgr removed the message
# after delivery; fails if any recipient was deferred or bounced.
pf_wait_delivered() {
  local qid=$1 limit=$(( ${2:-30} * ${SMX_TIMEOUT_SCALE:-1} )) i=0
  [ -n "$qid" ] || fail "pf_wait_delivered: no queue id (was the message queued?)"
  while [ $i -lt $((limit * 10)) ]; do
    if grep -q "$qid: removed" "$PF_LOG" 2>/dev/null; then
      if grep "$qid: to=" "$PF_LOG" | grep -qv 'status=sent'; then
        grep "$qid: to=" "$PF_LOG" >&2
        fail "$qid was not delivered to every recipient"
      fi
      return 0
    fi
    sleep 0.1
    i=$((i + 1))
  done
  grep "$qid" "$PF_LOG" >&2
  fail "$qid was not delivered within ${limit}s"
}

# sink_file_for QUEUEID: the sink file of the message that our Postfix
# queued as QUEUEID (named in the Received: header smtpd added); fails,
# like grep, when there is none.
sink_file_for() {
  grep -l -E "^[[:space:]]+(by|with) .*[[:space:]]id $1([;[:space:]]|\$)" \
    "$PF_SINK_DIR"/* 2>/dev/null
}

# sink_count: the number of messages the sink received.
sink_count() {
  find "$PF_SINK_DIR" -type f | wc -l
}

# pf_queue_listing: postqueue -p for this instance.
pf_queue_listing() {
  postqueue -c "$PF_CONF" -p 2>&1
}

# pf_wait_queue_empty [SECONDS]: waits until the queue holds no message.
pf_wait_queue_empty() {
  local limit=${1:-20} i=0
  while [ $i -lt $((limit * 10)) ]; do
    pf_queue_listing | grep -q '^Mail queue is empty' && return 0
    sleep 0.1
    i=$((i + 1))
  done
  pf_queue_listing >&2
  fail "the Postfix queue still holds messages after ${limit}s"
}

# milter_line_for QUEUEID: the milter's log line(s) for that message;
# fails, like grep, when there is none.
milter_line_for() {
  grep -E "smime-milter\[[0-9]+\]: info: $1: direction=" "$PF_MILTER_LOG"
}

# pf_kill_milter: kill -9, as a crash would; waits until it is gone.
pf_kill_milter() {
  [ -n "${MILTER_PID:-}" ] || return 0
  kill -KILL "$MILTER_PID" 2>/dev/null || true
  wait "$MILTER_PID" 2>/dev/null || true
  MILTER_PID=
  rm -f "$SMX_TEST_DIR/milter.pid"
}

# pf_unfolded_headers SINKFILE: the header section of a delivered message
# with folded lines joined (one header per line), for grep.
pf_unfolded_headers() {
  sed '/^$/q' "$1" | sed -e ':a' -e '$!N' -e 's/\n[[:space:]]\+/ /' -e 'ta' -e 'P;D'
}
