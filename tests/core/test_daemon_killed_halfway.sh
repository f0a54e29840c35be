#!/bin/bash
# Two daemons share 5,000 tasks and one is killed with SIGKILL halfway: the
# other recovers its tasks once their leases expire, every task ends
# succeeded exactly once, and each finished attempt has all of its log rows.
. "$(dirname "$0")/../lib.sh"

TASKS=5000

test_setup migrate
write_config d1 "workers = 4" "lease_duration = 3" "prefetch = 8" >/dev/null
write_config d2 "workers = 4" "lease_duration = 3" "prefetch = 8" >/dev/null
start_daemon_ready d1
start_daemon_ready d2

sql "INSERT INTO provision.tasks (type, args)
	SELECT 'noop', '{\"log\": 1}' FROM generate_series(1, $TASKS)" >/dev/null
wait_for "SELECT count(*) >= $((TASKS / 2)) FROM provision.tasks WHERE status = 'succeeded'" t 60 \
	"half of the tasks to succeed"
kill -KILL "$(daemon_pid d1)"
log "killed daemon d1 halfway"

wait_for "SELECT count(*) FROM provision.tasks WHERE status NOT IN ('queued', 'running')" "$TASKS" 90 \
	"all $TASKS tasks to finish"
assert_eq "$(sql "SELECT count(*) FROM provision.tasks WHERE status <> 'succeeded'")" 0 "tasks not succeeded"

# Each task's final attempt logged its start line and its one log line.
assert_eq "$(sql "SELECT count(*) FROM provision.tasks t WHERE NOT EXISTS (
	SELECT 1 FROM provision.task_log l WHERE l.task_id = t.id
	AND l.message = 'noop task ' || t.id || ', attempt ' || t.attempts)")" 0 \
	"tasks without the start line of their final attempt"
assert_eq "$(sql "SELECT count(*) FROM provision.tasks t WHERE (SELECT count(*) FROM provision.task_log l
	WHERE l.task_id = t.id AND l.message = 'noop log line 1 of 1') < 1")" 0 \
	"tasks without their log line"
# The start line names the attempt, so a repeat would mean one attempt written twice.
assert_eq "$(sql "SELECT count(*) FROM (SELECT task_id, message FROM provision.task_log
	WHERE message LIKE 'noop task %' GROUP BY task_id, message HAVING count(*) > 1) twice")" 0 \
	"start lines written twice"
recovered=$(sql "SELECT count(*) FROM provision.tasks WHERE attempts > 1")
log "$recovered task(s) were recovered from daemon d1 and run again"
stop_daemon d2

test_done
