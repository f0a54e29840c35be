#!/bin/bash
# The daemon speaks systemd's notify protocol: READY=1 once the database is
# connected and listening, STATUS= lines, WATCHDOG=1 at half of
# WatchdogSec, RELOADING=1 with MONOTONIC_USEC and READY=1 around a
# SIGHUP, and STOPPING=1 at SIGTERM, in that order.  It also reaches a
# socket in the abstract namespace ("@name"), and sends no WATCHDOG=1 when
# WATCHDOG_PID names another process.
. "$(dirname "$0")/../lib.sh"

command -v python3 >/dev/null || skip "python3 is needed to receive notify datagrams"
test_setup migrate

received=$TEST_DIR/notify.txt
python3 "$(dirname "$0")/notify-receiver.py" "$TEST_DIR/notify.sock" "$received" &
receiver=$!
abstract_name=provisiond-test-notify-$$
abstract_received=$TEST_DIR/notify-abstract.txt
python3 "$(dirname "$0")/notify-receiver.py" "@$abstract_name" "$abstract_received" &
abstract_receiver=$!
trap 'rc=$?; kill $receiver $abstract_receiver 2>/dev/null || true; (exit $rc); cleanup' EXIT
for _ in $(seq 1 50); do
	[ -S "$TEST_DIR/notify.sock" ] && break
	sleep 0.1
done

write_config d1 >/dev/null
export NOTIFY_SOCKET=$TEST_DIR/notify.sock WATCHDOG_USEC=1000000
start_daemon_ready d1
unset NOTIFY_SOCKET WATCHDOG_USEC

sleep 1.5
assert_eq "$(grep -c '^READY=1$' "$received")" 1 "READY=1 messages after the start"
assert_ge "$(grep -c '^WATCHDOG=1$' "$received")" 2 "WATCHDOG=1 messages in 1.5 s at WatchdogSec=1s"
assert_contains "$(grep '^STATUS=' "$received" | tail -n 1)" "connected" "last STATUS= line"

kill -HUP "${DAEMON_PID[d1]}"
wait_log d1 "configuration reloaded" 10
sleep 0.2
stop_daemon d1
sleep 0.2

# The order of the protocol messages, without the periodic ones.
sequence=$(grep -E '^(READY|RELOADING|STOPPING)' "$received" | sed 's/|MONOTONIC_USEC=[0-9]*$/|MONOTONIC_USEC/' | tr '\n' ' ')
assert_eq "$sequence" "READY=1 RELOADING=1|MONOTONIC_USEC READY=1 STOPPING=1 " "notify messages in order"

# ---- an abstract socket, and a watchdog meant for another process ----
write_config d2 >/dev/null
export NOTIFY_SOCKET=@$abstract_name WATCHDOG_USEC=200000 WATCHDOG_PID=1
start_daemon_ready d2
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID
sleep 0.6
stop_daemon d2
sleep 0.2
touch "$abstract_received"
assert_eq "$(grep -c '^READY=1$' "$abstract_received")" 1 "READY=1 messages on the abstract socket"
assert_eq "$(grep -c '^STOPPING=1$' "$abstract_received")" 1 "STOPPING=1 messages on the abstract socket"
assert_eq "$(grep -c '^WATCHDOG=1$' "$abstract_received")" 0 "WATCHDOG=1 messages with WATCHDOG_PID=1"

test_done
