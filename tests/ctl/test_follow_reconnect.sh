#!/bin/bash
# log -f and enqueue --wait reconnect when PostgreSQL restarts: they print
# every log row once and in order and exit with the task's status.  With
# PostgreSQL down for longer than --reconnect-timeout they exit 3, and
# Ctrl-C ends them at once while they retry.
#
# The test restarts PostgreSQL, so it runs its own cluster (tests/lib.sh)
# instead of the one the other provisionctl tests share.
. "$(dirname "$0")/../lib.sh"

# A password that must never appear in a message; the fixture's trust
# authentication ignores it.
SECRET=follow-secret-5d1e

# Prints the ids of the log rows of task ID, one a line, in id order.
log_row_ids() {
	sql "SELECT id FROM provision.task_log WHERE task_id = $1 ORDER BY id"
}

# Prints the number of log rows of task ID.
log_row_count() {
	sql "SELECT count(*) FROM provision.task_log WHERE task_id = $1"
}

# wait_lines FILE COUNT WHAT: waits up to 20 seconds until FILE has COUNT lines or more.
wait_lines() {
	local file=$1 count=$2 what=$3

	for _ in $(seq 1 200); do
		[ "$(wc -l <"$file")" -ge "$count" ] && return 0
		sleep 0.1
	done
	die "timed out waiting for $count lines of $what; got: $(cat "$file")"
}

# wait_exit PID SECONDS: waits for the background process PID and sets rc
# to its exit status, or to "timeout" after killing it when it runs too long.
wait_exit() {
	local pid=$1 seconds=$2

	for _ in $(seq 1 $((seconds * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null || true
		rc=timeout
		return
	fi
	rc=0
	wait "$pid" || rc=$?
}

# check_stderr_reconnected FILE WHAT: the lost connection and the reconnect
# are reported, once each, and the password never is.
check_stderr_reconnected() {
	local err=$1 what=$2

	assert_eq "$(grep -c "lost the connection to the database: terminating connection due to administrator command; reconnecting for up to 300 s" "$err")" 1 \
		"lines of $what about the lost connection"
	assert_eq "$(grep -c "reconnected to the database after" "$err")" 1 "lines of $what about the reconnect"
	assert_not_contains "$(cat "$err")" "$SECRET" "stderr of $what"
}

test_setup migrate
write_config d1 "workers = 2" >/dev/null
start_daemon_ready d1
CTL_DB="$DB password=$SECRET"

# provisionctl runs in the background; a stopped or retrying one must not outlive the test.
CTL_PIDS=""
trap 'rc=$?; kill -KILL $CTL_PIDS 2>/dev/null || true; (exit $rc); cleanup' EXIT

# ---- log -f across a restart, with rows written while it is disconnected ----
# The noop task writes its first six rows at once and the warning row
# after the sleep.  log -f is stopped (SIGSTOP) across the restart until
# the task has ended, so it gets no notification of the last row and must
# read it after it reconnects.
id=$(enqueue noop '{"sleep_ms": 3000, "log": 5, "warn": true}')
"$PROVISIONCTL" -d "$CTL_DB" --json log -f "$id" >"$TEST_DIR/log-f.out" 2>"$TEST_DIR/log-f.err" &
pid=$!
CTL_PIDS+=" $pid"
wait_lines "$TEST_DIR/log-f.out" 6 "log -f output before the restart"
kill -STOP "$pid"
log "restarting PostgreSQL while log -f of task $id is stopped"
pg_restart
wait_for "SELECT status FROM provision.tasks WHERE id = $id" warning 20 "task $id to end"
kill -CONT "$pid"
wait_exit "$pid" 30

assert_eq "$rc" 0 "exit status of log -f of a task that ended with a warning"
printed=$(head -n -1 "$TEST_DIR/log-f.out" | python3 -c '
import json, sys
for line in sys.stdin:
    print(json.loads(line)["id"])')
assert_eq "$printed" "$(log_row_ids "$id")" "log row ids printed by log -f (each once, in order)"
assert_eq "$(wc -l <"$TEST_DIR/log-f.out")" "$(($(log_row_count "$id") + 1))" \
	"lines of log -f: the rows and the status"
assert_contains "$(tail -n 1 "$TEST_DIR/log-f.out")" '"status":"warning"' "last line of log -f"
check_stderr_reconnected "$TEST_DIR/log-f.err" "log -f"

# ---- enqueue --wait across a restart while it waits ----
"$PROVISIONCTL" -d "$CTL_DB" enqueue noop --arg sleep_ms=6000 --arg log=3 --arg warn=true \
	--arg fail=true --wait >"$TEST_DIR/wait.out" 2>"$TEST_DIR/wait.err" &
pid=$!
# The id and the first four rows.
wait_lines "$TEST_DIR/wait.out" 5 "enqueue --wait output before the restart"
id=$(head -n 1 "$TEST_DIR/wait.out")
log "restarting PostgreSQL while enqueue --wait follows task $id"
pg_restart
wait_exit "$pid" 30

assert_eq "$rc" 1 "exit status of enqueue --wait of a task that failed"
# A row prints as "DATE TIME LEVEL MESSAGE", with the level padded to 7 characters.
printed=$(sed -n '2,$p' "$TEST_DIR/wait.out" | head -n -1 | sed -E 's/^[^ ]+ [^ ]+ [^ ]+ +//')
assert_eq "$printed" "$(task_messages "$id")" "log rows printed by enqueue --wait (each once, in order)"
assert_eq "$(wc -l <"$TEST_DIR/wait.out")" "$(($(log_row_count "$id") + 2))" \
	"lines of enqueue --wait: the id, the rows and the status"
assert_eq "$(tail -n 1 "$TEST_DIR/wait.out")" "task $id failed: noop failure requested by args.fail" \
	"last line of enqueue --wait"
check_stderr_reconnected "$TEST_DIR/wait.err" "enqueue --wait"
stop_daemon d1

# ---- PostgreSQL down for longer than --reconnect-timeout, and Ctrl-C ----
# Without a daemon the task stays queued, so the followers wait for it.
id=$(enqueue noop '{}')
"$PROVISIONCTL" -d "$CTL_DB" log -f "$id" --reconnect-timeout 2 \
	>"$TEST_DIR/timeout.out" 2>"$TEST_DIR/timeout.err" &
timeout_pid=$!
CTL_PIDS+=" $timeout_pid"
"$PROVISIONCTL" -d "$CTL_DB" log -f "$id" --reconnect-timeout 0 \
	>"$TEST_DIR/no-retry.out" 2>"$TEST_DIR/no-retry.err" &
no_retry_pid=$!
CTL_PIDS+=" $no_retry_pid"
# Background jobs of a script ignore SIGINT; env restores its default action.
env --default-signal=INT "$PROVISIONCTL" -d "$CTL_DB" log -f "$id" \
	>"$TEST_DIR/interrupt.out" 2>"$TEST_DIR/interrupt.err" &
interrupt_pid=$!
CTL_PIDS+=" $interrupt_pid"
wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'provisionctl'
	AND query LIKE '%task_log%'" 3 20 "the three followers to query the log"
log "stopping PostgreSQL"
"$PG_FIXTURE" stop "$PG_DIR"
start=$(date +%s%N)
wait_exit "$no_retry_pid" 5
assert_eq "$rc" 3 "exit status of log -f --reconnect-timeout 0 when the connection is lost"
assert_eq "$(cat "$TEST_DIR/no-retry.err")" \
	"provisionctl: lost the connection to the database: terminating connection due to administrator command" \
	"stderr of log -f --reconnect-timeout 0"
wait_exit "$timeout_pid" 20
elapsed=$(seconds_since "$start")

assert_eq "$rc" 3 "exit status of log -f when the reconnect timeout ends"
assert_ge "$elapsed" 1.5 "seconds log -f tried to reconnect with --reconnect-timeout 2"
assert_le "$elapsed" 6 "seconds until log -f gave up with --reconnect-timeout 2"
assert_contains "$(cat "$TEST_DIR/timeout.err")" "reconnecting for up to 2 s" "stderr of log -f"
assert_contains "$(cat "$TEST_DIR/timeout.err")" "could not reconnect to the database within 2 s" \
	"stderr of log -f"
assert_contains "$(cat "$TEST_DIR/timeout.err")" "provisionctl log -f $id" "stderr of log -f"
assert_not_contains "$(cat "$TEST_DIR/timeout.err")" "$SECRET" "stderr of log -f"

kill -0 "$interrupt_pid" 2>/dev/null || fail "log -f with the default timeout ended before SIGINT"
assert_contains "$(cat "$TEST_DIR/interrupt.err")" "reconnecting for up to 300 s" "stderr of log -f"
kill -INT "$interrupt_pid" 2>/dev/null || true
start=$(date +%s%N)
wait_exit "$interrupt_pid" 5
assert_eq "$rc" 130 "exit status of log -f after SIGINT (128 + 2)"
assert_le "$(seconds_since "$start")" 1 "seconds until log -f ended after SIGINT"

test_done
