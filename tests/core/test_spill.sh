#!/bin/bash
# While PostgreSQL is down, workers go on and their log lines pass
# log_buffer_max: the daemon moves them to a spill file under state_dir
# and, once the database is back, writes every line, in order and once,
# before removing the file.
. "$(dirname "$0")/../lib.sh"

TASKS=30
LINES=2000

test_setup migrate
write_config d1 "workers = 1" "prefetch = $TASKS" "log_buffer_max = 65536" >/dev/null
start_daemon_ready d1

# Claimed ahead into the backlog, these tasks keep running after the database stops.
sql "INSERT INTO provision.tasks (type, args)
	SELECT 'noop', '{\"log\": $LINES, \"sleep_ms\": 300}' FROM generate_series(1, $TASKS)" >/dev/null
wait_for "SELECT count(*) FROM provision.tasks WHERE status = 'running'" "$TASKS" 20 "all $TASKS tasks to be claimed"
as_pg_owner "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null || die "pg_ctl stop failed"
log "PostgreSQL stopped"

wait_log d1 "bytes of task logs and statuses to" 30
spill_file=$(ls "$TEST_DIR"/state/spill-*.dat 2>/dev/null | head -n 1)
assert_ne "$spill_file" "" "spill file under state_dir"
sleep 3
as_pg_owner "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgresql.log" -w start \
	-o "-c listen_addresses=127.0.0.1 -c port=$PGPORT -c unix_socket_directories=$PG_DIR/run -c fsync=off" \
	>/dev/null || die "pg_ctl start failed"
log "PostgreSQL started again"

wait_for "SELECT count(*) FROM provision.tasks WHERE status NOT IN ('queued', 'running')" "$TASKS" 60 \
	"all $TASKS tasks to finish after the outage"
wait_log d1 "every spilled batch is now in the database" 20
assert_eq "$(sql "SELECT count(*) FROM provision.tasks WHERE status <> 'succeeded'")" 0 "tasks not succeeded"
assert_eq "$(sql "SELECT count(*) FROM provision.task_log")" "$((TASKS * (LINES + 1)))" "log rows in all"
assert_eq "$(sql "SELECT count(*) FROM (SELECT task_id, message FROM provision.task_log
	GROUP BY task_id, message HAVING count(*) > 1) twice")" 0 "log rows written twice"
assert_eq "$(sql "SELECT count(*) FROM (SELECT task_id, message,
	lag(message) OVER (PARTITION BY task_id ORDER BY id) AS previous FROM provision.task_log) ordered
	WHERE message LIKE 'noop log line %' AND previous LIKE 'noop log line %'
	AND split_part(message, ' ', 4)::int <> split_part(previous, ' ', 4)::int + 1")" 0 "log lines out of order"
stop_daemon d1
assert_eq "$(ls "$TEST_DIR"/state/spill-* 2>/dev/null)" "" "spill files left after the daemon stopped"

test_done
