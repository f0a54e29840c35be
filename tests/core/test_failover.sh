#!/bin/bash
# Failover: the daemon's connection string names a primary and a streaming
# standby with target_session_attrs=read-write.  The primary stops (fast
# shutdown) while 300 tasks run and the standby is promoted; the daemon
# follows it and every task still ends succeeded exactly once with all of
# its log rows.
. "$(dirname "$0")/../lib.sh"

TASKS=300

test_setup migrate
primary_port=$PGPORT
standby_env=$("$PG_FIXTURE" standby "$PG_DIR" "$TEST_DIR/standby") || die "the standby did not start"
standby_port=$(echo "$standby_env" | sed -n 's/^PGPORT=//p')
trap 'rc=$?; "$PG_FIXTURE" stop "$TEST_DIR/standby" >/dev/null 2>&1 || true; (exit $rc); cleanup' EXIT
log "primary on port $primary_port, standby on port $standby_port"

config=$(write_config d1 "workers = 4" "lease_duration = 10")
drop_setting "$config" database
echo "database = \"host=127.0.0.1,127.0.0.1 port=$primary_port,$standby_port user=provision dbname=provision target_session_attrs=read-write connect_timeout=3\"" >>"$config"
start_daemon_ready d1

sql "INSERT INTO provision.tasks (type, args)
	SELECT 'noop', '{\"sleep_ms\": 20, \"log\": 1}' FROM generate_series(1, $TASKS)" >/dev/null
wait_for "SELECT count(*) >= 60 FROM provision.tasks WHERE status = 'succeeded'" t 30 "60 tasks to succeed"
as_pg_owner "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
"$PG_FIXTURE" promote "$TEST_DIR/standby"
log "stopped the primary and promoted the standby"

export PGPORT=$standby_port
wait_for "SELECT count(*) FROM provision.tasks WHERE status NOT IN ('queued', 'running')" "$TASKS" 60 \
	"all $TASKS tasks to finish on the promoted standby"
assert_eq "$(sql "SELECT count(*) FROM provision.tasks WHERE status <> 'succeeded'")" 0 "tasks not succeeded"
assert_eq "$(sql "SELECT count(*) FROM provision.tasks WHERE attempts <> 1")" 0 "tasks run more than once"
assert_eq "$(sql "SELECT count(*) FROM provision.task_log")" "$((TASKS * 2))" "log rows in all"
assert_eq "$(sql "SELECT count(*) FROM (SELECT task_id, message FROM provision.task_log
	GROUP BY task_id, message HAVING count(*) > 1) twice")" 0 "log rows written twice"
assert_contains "$(daemon_log d1)" "port $standby_port" "daemon log naming the standby's port"
stop_daemon d1

test_done
