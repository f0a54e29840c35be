#!/bin/bash
# A task that runs past timeout_noop is stopped and fails with "timed out".
. "$(dirname "$0")/../lib.sh"

test_setup migrate
write_config d1 "workers = 1" "timeout_noop = 1" "kill_grace = 1" >/dev/null
start_daemon_ready d1

id=$(enqueue noop '{"sleep_ms": 10000}')
wait_for "SELECT status FROM provision.tasks WHERE id = $id" running 20 "task $id to start"
started=$(date +%s%N)
wait_for "SELECT status FROM provision.tasks WHERE id = $id" failed 8 "task $id to time out"
assert_le "$(seconds_since "$started")" 4 "seconds from the start of task $id to its failed status"
assert_contains "$(task_field "$id" error)" "timed out" "error of task $id"
assert_contains "$(task_field "$id" error)" "timeout_noop" "error of task $id names the setting"
assert_le "$(task_field "$id" "extract(epoch FROM finished_at - started_at)")" 3 \
	"recorded run time of task $id in seconds"
assert_contains "$(sql "SELECT string_agg(message, E'\n') FROM provision.task_log WHERE task_id = $id AND level = 'error'")" \
	"timed out" "error log row of task $id"
assert_eq "$(worker_pids_of d1)" "" "worker processes left after the timeout"

next=$(enqueue noop '{}')
wait_for "SELECT status FROM provision.tasks WHERE id = $next" succeeded 20 "task $next after the timeout"
stop_daemon d1

test_done
