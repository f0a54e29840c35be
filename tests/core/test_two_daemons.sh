#!/bin/bash
# Two daemons on one database run 2,000 tasks: each exactly once, and both
# daemons take a share.
. "$(dirname "$0")/../lib.sh"

TASKS=2000

test_setup migrate
write_config d1 "workers = 4" >/dev/null
write_config d2 "workers = 4" >/dev/null
start_daemon_ready d1
start_daemon_ready d2

sql "INSERT INTO provision.tasks (type, args) SELECT 'noop', '{}' FROM generate_series(1, $TASKS)" >/dev/null
started=$(date +%s%N)
wait_for "SELECT count(*) FROM provision.tasks WHERE status NOT IN ('queued', 'running')" "$TASKS" 100 \
	"all $TASKS tasks to finish"
log "$TASKS tasks took $(seconds_since "$started") s"

assert_eq "$(sql "SELECT count(*) FROM provision.tasks WHERE status <> 'succeeded'")" 0 "tasks not succeeded"
assert_eq "$(sql "SELECT count(*) FROM provision.tasks WHERE attempts <> 1")" 0 "tasks with attempts other than 1"
assert_eq "$(sql "SELECT count(*) FROM provision.tasks t WHERE (SELECT count(*) FROM provision.task_log l
	WHERE l.task_id = t.id AND l.message = 'noop task ' || t.id || ', attempt 1') <> 1")" 0 \
	"tasks without exactly one \"noop task ID, attempt 1\" log row"
assert_eq "$(sql "SELECT count(*) FROM provision.task_log")" "$TASKS" "log rows in all"

claimed_1=$(grep -c "started: type noop" "$TEST_DIR/d1.log" || true)
claimed_2=$(grep -c "started: type noop" "$TEST_DIR/d2.log" || true)
log "daemon d1 claimed $claimed_1 tasks, daemon d2 $claimed_2"
assert_ge "$claimed_1" 1 "tasks claimed by daemon d1"
assert_ge "$claimed_2" 1 "tasks claimed by daemon d2"
assert_eq "$((claimed_1 + claimed_2))" "$TASKS" "tasks claimed by the two daemons together"
assert_eq "$(sql "SELECT count(*) FROM provision.daemons WHERE stopped_at IS NULL")" 2 "registered daemons"

stop_daemon d1
stop_daemon d2
assert_eq "$(sql "SELECT count(*) FROM provision.tasks WHERE claimed_by IS NOT NULL")" 0 "tasks still claimed"

test_done
