#!/bin/bash
# A task that reports a failure and a worker killed with SIGKILL mid-task
# both end failed, with the reason in error and in the log.  The next task
# still runs.
. "$(dirname "$0")/../lib.sh"

test_setup migrate
write_config d1 "workers = 1" >/dev/null
start_daemon_ready d1

# ---- the task reports a failure ----
id=$(enqueue noop '{"fail": true, "log": 2}')
wait_for "SELECT status FROM provision.tasks WHERE id = $id" failed 20 "task $id to fail"
assert_eq "$(task_field "$id" error)" "noop failure requested by args.fail" "error of task $id"
assert_eq "$(task_field "$id" attempts)" 1 "attempts of task $id (a non-transient failure is not retried)"
assert_eq "$(task_field "$id" "finished_at IS NOT NULL")" t "task $id has finished_at"
assert_eq "$(sql "SELECT level || ': ' || message FROM provision.task_log WHERE task_id = $id ORDER BY id DESC LIMIT 1")" \
	"error: noop failure requested by args.fail" "last log row of task $id"
assert_eq "$(sql "SELECT count(*) FROM provision.task_log WHERE task_id = $id")" 4 \
	"log rows of task $id (first line, 2 lines, the error)"

# ---- the worker is killed with SIGKILL ----
id=$(enqueue noop '{"sleep_ms": 10000}')
wait_for "SELECT status FROM provision.tasks WHERE id = $id" running 20 "task $id to start"
wait_for "SELECT count(*) FROM provision.task_log WHERE task_id = $id" 1 10 "the first log row of task $id"
worker=$(worker_pids_of d1)
[ "$(echo "$worker" | wc -w)" = 1 ] || die "expected one worker process of daemon d1, found \"$worker\""
kill -KILL "$worker"
started=$(date +%s%N)
wait_for "SELECT status FROM provision.tasks WHERE id = $id" failed 10 "task $id to fail after SIGKILL"
assert_le "$(seconds_since "$started")" 5 "seconds from SIGKILL to the failed status"
error=$(task_field "$id" error)
assert_contains "$error" "pid $worker" "error of task $id names the worker"
assert_contains "$error" "signal 9" "error of task $id names the signal number"
assert_contains "$error" "Killed" "error of task $id names the signal"
assert_eq "$(sql "SELECT level || ': ' || message FROM provision.task_log WHERE task_id = $id ORDER BY id DESC LIMIT 1")" \
	"error: $error" "last log row of task $id"

# ---- the daemon goes on ----
next=$(enqueue noop '{"log": 1}')
wait_for "SELECT status FROM provision.tasks WHERE id = $next" succeeded 20 "task $next after the killed worker"
assert_eq "$(daemon_running d1 && echo yes)" yes "daemon d1 still runs"
stop_daemon d1

test_done
