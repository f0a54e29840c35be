#!/bin/bash
# Tasks claimed ahead (prefetch) under SIGTERM, a cancel and a wait longer
# than lease_duration.
. "$(dirname "$0")/../lib.sh"

test_setup migrate

# ---- SIGTERM hands claimed-ahead tasks back without counting an attempt ----
write_config d3 "workers = 1" "shutdown_grace = 1" "kill_grace = 1" >/dev/null
start_daemon_ready d3
long=$(enqueue noop '{"sleep_ms": 20000}')
wait_for "SELECT status FROM provision.tasks WHERE id = $long" running 20 "task $long to start"
ahead=()
for i in 1 2 3; do ahead+=("$(enqueue noop '{}')"); done
wait_for "SELECT count(*) FROM provision.tasks WHERE status = 'running'" 4 20 "tasks claimed ahead"
kill -TERM "$(daemon_pid d3)"
wait_daemon_exit d3 15 || die "d3 did not exit"
for t in "${ahead[@]}"; do
	assert_eq "$(task_field "$t" "status || ' ' || attempts")" "queued 0" "task $t after SIGTERM"
done

# ---- cancel of a claimed-ahead task ----
sql "UPDATE provision.tasks SET status='cancelled' WHERE status IN ('queued','running')" >/dev/null
start_daemon_ready d4 "$TEST_DIR/d3.conf"
long=$(enqueue noop '{"sleep_ms": 20000}')
wait_for "SELECT status FROM provision.tasks WHERE id = $long" running 20 "task $long to start"
ahead=()
for i in 1 2 3; do ahead+=("$(enqueue noop '{}')"); done
wait_for "SELECT count(*) FROM provision.tasks WHERE status = 'running'" 4 20 "tasks claimed ahead"
"$PROVISIONCTL" -d "$DB" cancel "${ahead[0]}" >"$TEST_DIR/cancel.out" 2>&1 ||
	fail "provisionctl cancel ${ahead[0]}: $(cat "$TEST_DIR/cancel.out")"
wait_for "SELECT status FROM provision.tasks WHERE id = ${ahead[0]}" cancelled 10 "cancel of a claimed-ahead task"

# ---- claimed-ahead tasks waiting longer than lease_duration ----
stop_daemon d4 30
sql "UPDATE provision.tasks SET status='cancelled' WHERE status IN ('queued','running')" >/dev/null
write_config d5 "workers = 1" "lease_duration = 3" >/dev/null
start_daemon_ready d5
w=$(enqueue noop '{"sleep_ms": 10000}')
wait_for "SELECT status FROM provision.tasks WHERE id = $w" running 20 "task $w to start"
behind=$(enqueue noop '{}' max_attempts=1)
sleep 12
assert_eq "$(task_field "$behind" "status || ' ' || attempts")" "succeeded 1" \
	"task claimed ahead for about 10 s with a lease of 3 s"
stop_daemon d5
test_done
