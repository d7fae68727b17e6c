#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A message whose body went to a spool file and that never reaches its
# end leaves nothing behind, however it ends: the MTA drops the
# connection mid-body, aborts the message, or starts a new MAIL on the
# same connection; each time the file is closed at once (no descriptor
# into the spool directory, no name in it) and the message is no longer
# counted in flight. SIGTERM with such a message open stops the daemon
# after milter.shutdown_timeout and leaves the directory empty.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
need_cmd python3
mt_init
SPOOL="$RUN/spool"
mkdir -m 700 "$SPOOL"
mt_conf "$CONF" "spool_directory = \"$SPOOL\"" 'spool_threshold = "4K"' \
  'shutdown_timeout = "2s"'
mt_start "$CONF"
for how in close abort mail; do
  python3 "$SMX_SOURCE_DIR/tests/lib/milter_session.py" abort "$PORT" "$MILTER_PID" "$SPOOL" "$how" \
    > "$RUN/$how.out" 2>&1 || { show_log; fail "$(cat "$RUN/$how.out")"; }
done
expect_no_log "error:"
mt_finish	# no message still counted in flight

: > "$LOG"
mt_start "$CONF"
python3 "$SMX_SOURCE_DIR/tests/lib/milter_session.py" abort "$PORT" "$MILTER_PID" "$SPOOL" hold \
  > "$RUN/hold.out" 2>&1 &
HOLDER=$!
trap 'rc=$?; kill $HOLDER 2>/dev/null; (exit $rc); mt_on_exit' EXIT
i=0
until grep -q HOLDING "$RUN/hold.out"; do
  kill -0 "$HOLDER" 2>/dev/null || { show_log; fail "$(cat "$RUN/hold.out")"; }
  [ $i -lt $((200 * ${SMX_TIMEOUT_SCALE:-1})) ] || fail "the held message never started"
  sleep 0.1
  i=$((i + 1))
done
kill -TERM "$MILTER_PID"
wait_exit 20
[ "$MILTER_RC" -eq 0 ] || { show_log; fail "exit $MILTER_RC after SIGTERM, want 0"; }
expect_log_once "shutdown: messages still in flight after 2s"
kill "$HOLDER" 2>/dev/null || true
[ -z "$(ls -A "$SPOOL")" ] || fail "files left in $SPOOL: $(ls -A "$SPOOL")"
check_sanitizers
echo "PASS: $MT_NAME"
