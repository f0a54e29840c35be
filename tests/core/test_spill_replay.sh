#!/bin/bash
# A daemon killed with SIGKILL during a database outage leaves a spill file.
# The next daemon started on the host writes its log rows once each, in
# order and with their original text and times.  It applies the file's
# final statuses only to tasks the killed daemon still held, logs what it
# replayed and removes the file.  A damaged spill file is kept and reported
# while the daemon runs on, and the spill file of a daemon that is still
# running is left alone.  Two daemons that start together replay one file
# once between them.
. "$(dirname "$0")/../lib.sh"

TASKS=30
LINES=2000
SPILLS=8	# spills to wait for before the kill, each about one task's log

# count_in_log NAME TEXT: prints how many lines of the daemon's log contain TEXT.
count_in_log() {
	grep -cF -- "$2" "$TEST_DIR/$1.log" || true
}

pg_start() {
	as_pg_owner "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgresql.log" -w start \
		-o "-c listen_addresses=127.0.0.1 -c port=$PGPORT -c unix_socket_directories=$PG_DIR/run -c fsync=off" \
		>/dev/null || die "pg_ctl start failed"
	log "PostgreSQL started again"
}

test_setup migrate
host=$(hostname)
# Long leases, so that no task of the killed daemon is recovered before the replay.
for name in d1 d2 d3; do
	write_config "$name" "workers = 1" "prefetch = $TASKS" "log_buffer_max = 65536" \
		"lease_duration = 120" >/dev/null
done
start_daemon_ready d1
name_1="$host:$(daemon_pid d1)"

sql "INSERT INTO provision.tasks (type, args)
	SELECT 'noop', '{\"log\": $LINES, \"sleep_ms\": 300}' FROM generate_series(1, $TASKS)" >/dev/null
wait_for "SELECT count(*) FROM provision.tasks WHERE status = 'running' AND claimed_by = '$name_1'" \
	"$TASKS" 20 "all $TASKS tasks to be claimed by daemon d1"
# Started now, d3 finds no task to claim and stays alive with a spill file it never opened.
start_daemon_ready d3
name_3="$host:$(daemon_pid d3)"

as_pg_owner "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null || die "pg_ctl stop failed"
log "PostgreSQL stopped"
for ((i = 0; i < 300; i++)); do
	[ "$(count_in_log d1 "bytes of task logs and statuses to")" -ge "$SPILLS" ] && break
	sleep 0.1
done
kill -KILL "$(daemon_pid d1)"
wait_daemon_exit d1 5 || die "daemon d1 survived SIGKILL"
log "daemon d1 killed after $(count_in_log d1 "bytes of task logs and statuses to") spills"

spill_file=$TEST_DIR/state/spill-$name_1.dat
[ -f "$spill_file" ] || die "daemon d1 left no spill file $spill_file"
batches=$(perl "$TESTS_DIR/core/spill_dump.pl" "$spill_file" "$TEST_DIR/spilled_log.tsv" \
	"$TEST_DIR/spilled_status.tsv") || die "cannot read spill file $spill_file"
log_rows=$(wc -l <"$TEST_DIR/spilled_log.tsv")
statuses=$(wc -l <"$TEST_DIR/spilled_status.tsv")
log "spill file of d1: $batches batch(es), $log_rows log row(s), $statuses final status(es)"
[ "$statuses" -ge 3 ] || die "the spill file contains only $statuses final status(es); the test needs 3"

# A damaged file of a dead daemon (pid above 4194304, the largest pid_max of Linux), and a file
# named after d3, which runs.
damaged_file=$TEST_DIR/state/spill-$host:99999999.dat
head -c 100 /dev/urandom >"$damaged_file"
live_file=$TEST_DIR/state/spill-$name_3.dat
head -c 100 /dev/urandom >"$live_file"
cp "$live_file" "$TEST_DIR/live_copy"

pg_start
sql "CREATE TABLE public.spilled_log (n bigint, task_id bigint, ts float8, level text, message text)" >/dev/null
sql "CREATE TABLE public.spilled_status (task_id bigint, status text, ts float8)" >/dev/null
psql_q -c "\\copy public.spilled_log FROM '$TEST_DIR/spilled_log.tsv'" >/dev/null || die "loading spilled_log failed"
psql_q -c "\\copy public.spilled_status FROM '$TEST_DIR/spilled_status.tsv'" >/dev/null || die "loading spilled_status failed"
# Two tasks with a spilled status go to another daemon, as if recovered and claimed again.
moved=$(sql "WITH picked AS (SELECT task_id FROM public.spilled_status ORDER BY task_id LIMIT 2)
	UPDATE provision.tasks SET claimed_by = 'elsewhere:1', lease_expires_at = now() + interval '1 hour'
	WHERE id IN (SELECT task_id FROM picked) AND claimed_by = '$name_1' RETURNING id" | tr '\n' ' ')
assert_eq "$(echo "$moved" | wc -w)" 2 "tasks moved to daemon elsewhere:1"

start_daemon_ready d2
wait_log d2 "replayed spill file $spill_file" 60

# Every spilled log row is in the database once, with its text, level and time, in the file's order.
assert_eq "$(sql "SELECT count(*) FROM public.spilled_log s WHERE (SELECT count(*) FROM provision.task_log l
	WHERE l.task_id = s.task_id AND l.message = s.message AND l.level = s.level
	AND abs(extract(epoch FROM l.logged_at) - s.ts) < 0.00001) <> 1")" 0 \
	"spilled log rows not in provision.task_log exactly once"
assert_eq "$(sql "SELECT count(*) FROM (SELECT l.id, lag(l.id) OVER (ORDER BY s.n) AS previous
	FROM public.spilled_log s JOIN provision.task_log l ON l.task_id = s.task_id AND l.message = s.message) o
	WHERE id < previous")" 0 "spilled log rows written out of order"

# Statuses apply to the tasks d1 still held, with their original end time, and to no other.
assert_eq "$(sql "SELECT count(*) FROM public.spilled_status s JOIN provision.tasks t ON t.id = s.task_id
	WHERE t.claimed_by IS DISTINCT FROM 'elsewhere:1' AND (t.status <> s.status OR t.claimed_by IS NOT NULL
	OR abs(extract(epoch FROM t.finished_at) - s.ts) > 0.00001)")" 0 "spilled statuses not applied"
for id in $moved; do
	assert_eq "$(task_field "$id" "status || ' ' || claimed_by")" "running elsewhere:1" \
		"task $id, claimed by another daemon before the replay"
done

applied=$((statuses - 2))
assert_contains "$(daemon_log d2)" "replayed spill file $spill_file of daemon $name_1: $batches batch(es), $log_rows of $log_rows log row(s) written, $applied of $statuses final status(es) applied" \
	"log of daemon d2"
assert_eq "$(ls "$spill_file" "$spill_file.offset" 2>/dev/null)" "" "spill file of d1 after the replay"

# The damaged file is kept and reported, and d2 runs on.
assert_eq "$(ls "$damaged_file" 2>/dev/null)" "$damaged_file" "damaged spill file"
assert_contains "$(daemon_log d2)" "spill file $damaged_file of daemon $host:99999999 has no record start at offset 0; it is kept" \
	"log of daemon d2"
# The file of d3, which runs, is neither read nor changed.
cmp -s "$live_file" "$TEST_DIR/live_copy" || fail "spill file $live_file of running daemon d3 changed"
assert_contains "$(daemon_log d2)" "spill file $live_file belongs to daemon $name_3, which is still running" \
	"log of daemon d2"
assert_not_contains "$(daemon_log d3)" "replayed spill file" "log of daemon d3"

daemon_running d2 || fail "daemon d2 stopped"
id=$(enqueue noop '{"log": 1}')
wait_for "SELECT status FROM provision.tasks WHERE id = $id" succeeded 20 "task $id, queued after the replay"
stop_daemon d2
stop_daemon d3

# Two daemons that start together replay one file once between them.
name_gone="$host:99999998"
id=$(enqueue noop '{}' status="'running'" claimed_by="'$name_gone'" \
	lease_expires_at="now() + interval '1 hour'" attempts=1)
shared_file=$TEST_DIR/state/spill-$name_gone.dat
perl "$TESTS_DIR/core/spill_write.pl" "$shared_file" "$id" 200 500 || die "cannot write $shared_file"
rm -f "$damaged_file" "$live_file"
start_daemon d4 "$TEST_DIR/d2.conf"
start_daemon d5 "$TEST_DIR/d2.conf"
wait_log d4 "connected to the database; claiming tasks" 20
wait_log d5 "connected to the database; claiming tasks" 20
wait_for "SELECT count(*) >= 100000 FROM provision.task_log WHERE task_id = $id" t 60 \
	"the 100000 rows of $shared_file"
sleep 1
assert_eq "$(sql "SELECT count(*) FROM provision.task_log WHERE task_id = $id")" 100000 \
	"log rows of task $id from the shared file"
assert_eq "$(sql "SELECT count(DISTINCT message) FROM provision.task_log WHERE task_id = $id")" 100000 \
	"distinct log rows of task $id from the shared file"
assert_eq "$(task_field "$id" "status || ' ' || coalesce(claimed_by, '-')")" "succeeded -" "task $id"
assert_eq "$(cat "$TEST_DIR/d4.log" "$TEST_DIR/d5.log" | grep -cF "replayed spill file $shared_file")" 1 \
	"daemons that report replaying $shared_file"
assert_eq "$(ls "$shared_file" 2>/dev/null)" "" "shared spill file after the replay"
assert_not_contains "$(cat "$TEST_DIR/d4.log" "$TEST_DIR/d5.log")" "checking the daemon of spill file" \
	"logs of daemons d4 and d5"
stop_daemon d4
stop_daemon d5

test_done
