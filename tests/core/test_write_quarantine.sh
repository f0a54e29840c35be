#!/bin/bash
# Log rows the database rejects as data (a constraint violation) are moved
# to the daemon log after a few attempts, so they cannot block the final
# status of their task or any later write.
. "$(dirname "$0")/../lib.sh"

test_setup migrate
write_config d1 "workers = 1" >/dev/null
start_daemon_ready d1

sql "ALTER TABLE provision.task_log ADD CONSTRAINT no_line_two
	CHECK (message <> 'noop log line 2 of 3') NOT VALID" >/dev/null

id=$(enqueue noop '{"log": 3}')
wait_for "SELECT status FROM provision.tasks WHERE id = $id" succeeded 20 "task $id despite the rejected row"

daemon_log=$(cat "$TEST_DIR/d1.log")
assert_contains "$daemon_log" "rejected the same batch 3 times" "quarantine notice in the daemon log"
assert_contains "$daemon_log" "noop log line 2 of 3" "rejected message kept in the daemon log"
assert_eq "$(task_field "$id" error)" "" "error of task $id"

next=$(enqueue noop '{"log": 1}')
wait_for "SELECT status FROM provision.tasks WHERE id = $next" succeeded 10 "task $next after the quarantine"
assert_eq "$(task_messages "$next")" "noop task $next, attempt 1
noop log line 1 of 1" "log rows of task $next"
stop_daemon d1

test_done
