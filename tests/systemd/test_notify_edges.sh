#!/bin/bash
# NOTIFY_SOCKET and WATCHDOG_USEC values that systemd never sets: the daemon
# must stay usable and its log readable.  Also "provisiond -t" with a
# worker_program that is not provisiond-worker.
. "$(dirname "$0")/../lib.sh"

test_setup migrate

# ---- WATCHDOG_USEC=1 with a socket that does not exist ----
write_config d1 >/dev/null
NOTIFY_SOCKET=$TEST_DIR/missing.sock WATCHDOG_USEC=1 timeout 3 "$PROVISIOND" -c "$TEST_DIR/d1.conf" \
	>"$TEST_DIR/d1.log" 2>&1 || true
lines=$(grep -c 'WATCHDOG=1' "$TEST_DIR/d1.log" || true)
log "log lines about WATCHDOG=1 in 3 s: $lines"
assert_le "$lines" 10 "warnings about WATCHDOG=1 in 3 s with WATCHDOG_USEC=1"

# ---- a NOTIFY_SOCKET path longer than sun_path ----
long=/$(head -c 200 /dev/zero | tr '\0' a)
NOTIFY_SOCKET=$long timeout 2 "$PROVISIOND" -c "$TEST_DIR/d1.conf" >"$TEST_DIR/d2.log" 2>&1 || true
assert_not_contains "$(grep -m1 NOTIFY_SOCKET "$TEST_DIR/d2.log")" "Address family not supported" \
	"warning about a NOTIFY_SOCKET path of 201 bytes"

# ---- provisiond -t with another program as worker_program ----
write_config t1 "worker_program = /bin/true" >/dev/null
rc=0
"$PROVISIOND" -c "$TEST_DIR/t1.conf" -t >"$TEST_DIR/t1.out" 2>&1 || rc=$?
assert_ne "$rc" 0 "exit status of provisiond -t with worker_program = /bin/true"
assert_contains "$(cat "$TEST_DIR/t1.out")" "/bin/true is not provisiond-worker" \
	"error of provisiond -t with worker_program = /bin/true"
assert_not_contains "$(cat "$TEST_DIR/t1.out")" "is valid" "verdict of provisiond -t with /bin/true"
test_done
