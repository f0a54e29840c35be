#!/bin/bash
# PostgreSQL restarts while 500 tasks run: every task still succeeds exactly
# once and no log row is lost or written twice.
. "$(dirname "$0")/../lib.sh"

TASKS=500
LINES=3

test_setup migrate
write_config d1 "workers = 4" "lease_duration = 5" >/dev/null
start_daemon_ready d1

sql "INSERT INTO provision.tasks (type, args)
	SELECT 'noop', '{\"sleep_ms\": 20, \"log\": $LINES}' FROM generate_series(1, $TASKS)" >/dev/null
wait_for "SELECT count(*) >= 40 FROM provision.tasks WHERE status = 'succeeded'" t 30 "40 tasks to succeed"
done_before=$(sql "SELECT count(*) FROM provision.tasks WHERE status = 'succeeded'")
log "restarting PostgreSQL after $done_before of $TASKS tasks"
pg_restart

wait_for "SELECT count(*) FROM provision.tasks WHERE status NOT IN ('queued', 'running')" "$TASKS" 60 \
	"all $TASKS tasks to finish after the restart"
assert_eq "$(sql "SELECT count(*) FROM provision.tasks WHERE status <> 'succeeded'")" 0 "tasks not succeeded"
assert_eq "$(sql "SELECT count(*) FROM provision.tasks WHERE attempts <> 1")" 0 "tasks run more than once"
assert_eq "$(sql "SELECT count(*) FROM provision.task_log")" "$((TASKS * (LINES + 1)))" "log rows in all"
assert_eq "$(sql "SELECT count(*) FROM (SELECT task_id, message FROM provision.task_log
	GROUP BY task_id, message HAVING count(*) > 1) twice")" 0 "log rows written twice"
assert_eq "$(sql "SELECT count(*) FROM provision.tasks t WHERE (SELECT count(*) FROM provision.task_log l
	WHERE l.task_id = t.id) <> $((LINES + 1))")" 0 "tasks with a log row missing"
assert_contains "$(daemon_log d1)" "database connection queue ready:" "log of daemon d1"
assert_eq "$(grep -c "database connection queue ready:" "$TEST_DIR/d1.log")" 2 \
	"connections made by daemon d1 (one before and one after the restart)"
stop_daemon d1

test_done
