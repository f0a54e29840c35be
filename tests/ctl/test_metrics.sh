#!/bin/bash
# metrics: the Prometheus text output parses and its numbers match the rows.
. "$(dirname "$0")/lib.sh"

CHECKER=$(dirname "$0")/prom_check.py

# Checks that the last standard output passes prom_check.py check.
check_exposition() {
	check "$1 prints valid exposition text" python3 "$CHECKER" check "$WORK/out"
}

# check_series SERIES EXPECTED: the value of SERIES in the last standard output.
check_series() {
	local actual
	actual=$(python3 "$CHECKER" value "$WORK/out" "$1" 2>&1)
	check "$1 is $2 (got $actual)" test "$actual" = "$2"
}

# check_series_between SERIES MIN MAX: a value that depends on the clock.
check_series_between() {
	local actual
	actual=$(python3 "$CHECKER" value "$WORK/out" "$1" 2>&1)
	check "$1 is from $2 to $3 (got $actual)" \
		awk -v a="$actual" -v lo="$2" -v hi="$3" 'BEGIN { exit !(a + 0 == a && a >= lo && a <= hi) }'
}

ctl migrate
check_status "migrate" 0

# An empty queue still prints every family, with zeros.
ctl metrics
check_status "metrics on an empty queue" 0
check_exposition "metrics on an empty queue"
check_series 'provision_tasks{status="queued",type="verify"}' 0
check_series 'provision_queue_oldest_task_age_seconds' 0
check_series 'provision_task_duration_seconds_bucket{le="+Inf",type="sync"}' 0
check_series 'provision_task_duration_seconds_count{type="noop"}' 0

web1=$(sql "INSERT INTO provision.servers (name, hostname) VALUES ('web1', 'web1.example.com') RETURNING id")
sql "INSERT INTO provision.daemons (name, hostname, pid, version, heartbeat_at)
	VALUES ('provisiond-a', 'master1', 4242, '0.1.0', '2026-01-01 00:00:00+00')"
sql "INSERT INTO provision.daemons (name, hostname, pid, version, heartbeat_at, stopped_at)
	VALUES ('provisiond-b', 'master2', 4343, '0.1.0', '2026-01-01 00:00:30+00', '2026-01-01 00:00:31+00')"

# Queued tasks: the oldest was created 120 s ago and has been due for 100 s.
# A younger one waits for its run_after, and one has a type that needs escaping.
sql "INSERT INTO provision.tasks (type, created_at, run_after)
	VALUES ('noop', now() - interval '120 seconds', now() - interval '100 seconds')"
sql "INSERT INTO provision.tasks (type, created_at, run_after)
	VALUES ('noop', now() - interval '10 seconds', now() + interval '1 hour')"
sql "INSERT INTO provision.tasks (type) VALUES ('we\"ird\\type')"
sql "INSERT INTO provision.tasks (type, server_id, status, started_at, claimed_by)
	VALUES ('verify', $web1, 'running', now(), 'provisiond-a')"

# Finished, with run times of 0.05, 0.1 (on a bucket bound), 3, 45 and 700 s.
finished() {
	sql "INSERT INTO provision.tasks (type, status, started_at, finished_at)
		VALUES ('$1', '$2', '2026-01-01 10:00:00+00', '2026-01-01 10:00:00+00'::timestamptz + interval '$3 seconds')"
}
finished noop succeeded 0.05
finished noop succeeded 0.1
finished noop warning 3
finished verify warning 45
finished sync failed 700
# Cancelled while queued: finished, but without a run time.
sql "INSERT INTO provision.tasks (type, status, finished_at) VALUES ('sync', 'cancelled', now())"

ctl metrics
check_status "metrics" 0
check_exposition "metrics"

check_series 'provision_tasks{status="queued",type="noop"}' 2
check_series 'provision_tasks{status="running",type="verify"}' 1
check_series 'provision_tasks{status="succeeded",type="noop"}' 2
check_series 'provision_tasks{status="warning",type="noop"}' 1
check_series 'provision_tasks{status="failed",type="sync"}' 1
check_series 'provision_tasks{status="cancelled",type="sync"}' 1
check_series 'provision_tasks{status="queued",type="restart"}' 0
check_series 'provision_tasks{status="queued",type="we"ird\type"}' 1
check "metrics escapes a type with a quote and a backslash" \
	grep -qF 'provision_tasks{type="we\"ird\\type",status="queued"} 1' "$WORK/out"

check_series_between 'provision_queue_oldest_task_age_seconds' 119 150
check_series_between 'provision_queue_oldest_due_task_wait_seconds' 99 130

check_series 'provision_daemon_heartbeat_timestamp_seconds{daemon="provisiond-a"}' 1767225600
check_series 'provision_daemon_heartbeat_timestamp_seconds{daemon="provisiond-b"}' 1767225630
check_series 'provision_daemon_stopped{daemon="provisiond-a"}' 0
check_series 'provision_daemon_stopped{daemon="provisiond-b"}' 1
check_series 'provision_daemon_running_tasks{daemon="provisiond-a"}' 1
check_series 'provision_daemon_running_tasks{daemon="provisiond-b"}' 0

check_series 'provision_tasks_finished_total{type="noop"}' 3
check_series 'provision_tasks_finished_total{type="sync"}' 2
check_series 'provision_tasks_finished_total{type="verify"}' 1
check_series 'provision_tasks_finished_total{type="restart"}' 0
check_series 'provision_tasks_failed_total{type="sync"}' 1
check_series 'provision_tasks_failed_total{type="noop"}' 0

check_series 'provision_task_duration_seconds_bucket{le="0.1",type="noop"}' 2
check_series 'provision_task_duration_seconds_bucket{le="2.5",type="noop"}' 2
check_series 'provision_task_duration_seconds_bucket{le="5",type="noop"}' 3
check_series 'provision_task_duration_seconds_bucket{le="+Inf",type="noop"}' 3
check_series 'provision_task_duration_seconds_count{type="noop"}' 3
check_series 'provision_task_duration_seconds_sum{type="noop"}' 3.15
check_series 'provision_task_duration_seconds_bucket{le="30",type="verify"}' 0
check_series 'provision_task_duration_seconds_bucket{le="60",type="verify"}' 1
check_series 'provision_task_duration_seconds_bucket{le="600",type="sync"}' 0
check_series 'provision_task_duration_seconds_bucket{le="1800",type="sync"}' 1
check_series 'provision_task_duration_seconds_count{type="sync"}' 1
check_series 'provision_task_duration_seconds_sum{type="sync"}' 700

# The checker itself rejects broken histograms, or the checks above prove little.
sed 's/^provision_task_duration_seconds_bucket{type="noop",le="5"} 3$/provision_task_duration_seconds_bucket{type="noop",le="5"} 1/' \
	"$WORK/out" >"$WORK/broken.prom"
check "checker rejects decreasing buckets" \
	bash -c "! python3 '$CHECKER' check '$WORK/broken.prom' >/dev/null"
grep -v '_count{type="noop"}' "$WORK/out" >"$WORK/broken.prom"
check "checker rejects a missing _count" \
	bash -c "! python3 '$CHECKER' check '$WORK/broken.prom' >/dev/null"
grep -v '^# TYPE provision_tasks ' "$WORK/out" >"$WORK/broken.prom"
check "checker rejects samples without TYPE" \
	bash -c "! python3 '$CHECKER' check '$WORK/broken.prom' >/dev/null"

# Usage errors and an unreachable database.
ctl --json metrics
check_status "metrics --json" 2
check_stderr "metrics --json" "Prometheus text format only"
ctl metrics extra
check_status "metrics with an argument" 2
timeout 30 "$PROVISIONCTL" -d "host=127.0.0.1 port=1 dbname=none connect_timeout=5" metrics \
	>"$WORK/out" 2>"$WORK/err"
status=$?
check_status "metrics without a database" 3

finish
