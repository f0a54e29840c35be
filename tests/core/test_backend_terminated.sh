#!/bin/bash
# pg_terminate_backend on the daemon's connection while 200 tasks run: the
# daemon reconnects, listens again, and every task succeeds exactly once
# with all of its log rows, none written twice.
. "$(dirname "$0")/../lib.sh"

TASKS=200
LINES=2

test_setup migrate
write_config d1 "workers = 4" >/dev/null
start_daemon_ready d1

sql "INSERT INTO provision.tasks (type, args)
	SELECT 'noop', '{\"sleep_ms\": 20, \"log\": $LINES}' FROM generate_series(1, $TASKS)" >/dev/null
wait_for "SELECT count(*) >= 30 FROM provision.tasks WHERE status = 'succeeded'" t 30 "30 tasks to succeed"
terminated=$(sql "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE application_name = 'provisiond') t")
assert_eq "$terminated" 1 "daemon connections terminated"

wait_for "SELECT count(*) FROM provision.tasks WHERE status NOT IN ('queued', 'running')" "$TASKS" 60 \
	"all $TASKS tasks to finish after the termination"
assert_eq "$(sql "SELECT count(*) FROM provision.tasks WHERE status <> 'succeeded'")" 0 "tasks not succeeded"
assert_eq "$(sql "SELECT count(*) FROM provision.tasks WHERE attempts <> 1")" 0 "tasks run more than once"
assert_eq "$(sql "SELECT count(*) FROM provision.task_log")" "$((TASKS * (LINES + 1)))" "log rows in all"
assert_eq "$(sql "SELECT count(*) FROM (SELECT task_id, message FROM provision.task_log
	GROUP BY task_id, message HAVING count(*) > 1) twice")" 0 "log rows written twice"
assert_eq "$(grep -c "database connection queue ready:" "$TEST_DIR/d1.log")" 2 \
	"connections made by daemon d1 (one before and one after the termination)"

# The new connection listens again: a task inserted now starts without waiting for a poll.
config=$(write_config d1 "workers = 4")
drop_setting "$config" poll_interval
echo "poll_interval = 30" >>"$config"
kill -HUP "$(daemon_pid d1)"
wait_log d1 "configuration reloaded" 10
start=$(date +%s%N)
id=$(enqueue noop '{}')
wait_for "SELECT status FROM provision.tasks WHERE id = $id" succeeded 10 "task $id after the reconnect"
assert_le "$(seconds_since "$start")" 5 "seconds from insert to success with poll_interval 30"
stop_daemon d1

test_done
