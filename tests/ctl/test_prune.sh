#!/bin/bash
# prune: deletes finished tasks and their log rows older than an interval,
# in batches, and leaves queued, running and recent tasks alone.
. "$(dirname "$0")/lib.sh"

ctl migrate
check_status "migrate" 0

# Inserts a task with STATUS that finished AGE ago (an SQL interval, or NULL
# for no finished_at), with LOGS log rows; prints its id.
add_task() {
	local status=$1 age=$2 logs=$3 id finished="NULL"

	[ "$age" != NULL ] && finished="now() - interval '$age'"
	id=$(sql "INSERT INTO provision.tasks (type, status, created_at, finished_at)
		VALUES ('noop', '$status', now() - interval '400 days', $finished) RETURNING id")
	[ "$logs" -gt 0 ] && sql "INSERT INTO provision.task_log (task_id, level, message)
		SELECT $id, 'info', 'line ' || n FROM generate_series(1, $logs) n"
	echo "$id"
}

task_exists() {
	test "$(sql "SELECT count(*) FROM provision.tasks WHERE id = $1")" = 1
}

task_missing() {
	test "$(sql "SELECT count(*) FROM provision.tasks WHERE id = $1")" = 0
}

log_rows_of() {
	sql "SELECT count(*) FROM provision.task_log WHERE task_id = $1"
}

old_succeeded=$(add_task succeeded '40 days' 3)
old_warning=$(add_task warning '40 days' 2)
old_failed=$(add_task failed '40 days' 1)
old_cancelled=$(add_task cancelled '40 days' 0)
old_without_finish=$(add_task failed NULL 1)
recent=$(add_task succeeded '1 day' 2)
old_queued=$(add_task queued NULL 1)
old_running=$(add_task running NULL 1)

# --dry-run counts and deletes nothing.
ctl prune --older-than '30 days' --dry-run
check_status "prune --dry-run" 0
check_stdout "prune --dry-run" "would delete 5 finished task(s) and 7 log row(s)"
check "prune --dry-run keeps the tasks" test "$(sql "SELECT count(*) FROM provision.tasks")" = 8
check "prune --dry-run keeps the log rows" test "$(sql "SELECT count(*) FROM provision.task_log")" = 11

ctl --json prune --older-than '30 days' --dry-run
check_status "prune --dry-run --json" 0
check_json "prune --dry-run --json"
check "prune --dry-run --json counts tasks" test "$(json_value tasks)" = 5
check "prune --dry-run --json counts log rows" test "$(json_value log_rows)" = 7
check "prune --dry-run --json sets dry_run" test "$(json_value dry_run)" = true

# A batch size of 2 needs three batches for five tasks.
ctl --json prune --older-than '30 days' --batch-size 2
check_status "prune --batch-size 2" 0
check_json "prune --json"
check "prune deletes five tasks" test "$(json_value tasks)" = 5
check "prune deletes seven log rows" test "$(json_value log_rows)" = 7
check "prune runs three batches of at most two" test "$(json_value batches)" = 3
check "prune --json sets dry_run false" test "$(json_value dry_run)" = false

for id in $old_succeeded $old_warning $old_failed $old_cancelled $old_without_finish; do
	check "prune deletes old finished task $id" task_missing "$id"
	check "prune deletes the log rows of task $id" test "$(log_rows_of "$id")" = 0
done
check "prune keeps the recent task" task_exists "$recent"
check "prune keeps the recent task's log" test "$(log_rows_of "$recent")" = 2
check "prune keeps the queued task" task_exists "$old_queued"
check "prune keeps the running task" task_exists "$old_running"
check "prune keeps the running task's log" test "$(log_rows_of "$old_running")" = 1

# A second run finds nothing; text output names the counts.
ctl prune --older-than '30 days'
check_status "prune with nothing to delete" 0
check_stdout "prune with nothing to delete" "deleted 0 finished task(s) and 0 log row(s)"

# Any PostgreSQL interval syntax works.
ctl prune --older-than '12 hours'
check_status "prune --older-than '12 hours'" 0
check_stdout "prune --older-than '12 hours'" "deleted 1 finished task(s) and 2 log row(s)"
check "prune --older-than '12 hours' deletes the recent task" task_missing "$recent"

# A task locked by another session is skipped, not waited for.
locked=$(add_task failed '40 days' 1)
free=$(add_task failed '40 days' 1)
psql -d "$DB" -qAtX -c "BEGIN" -c "SELECT 1 FROM provision.tasks WHERE id = $locked FOR UPDATE" \
	-c "SELECT pg_sleep(5)" -c "COMMIT" >/dev/null &
sleep 1
ctl prune --older-than '30 days'
check_status "prune beside a locked task" 0
check_stdout "prune beside a locked task" "deleted 1 finished task(s)"
check "prune skips the locked task" task_exists "$locked"
check "prune deletes the unlocked task" task_missing "$free"
wait

# Invalid input.
ctl prune
check_status "prune without --older-than" 2
check_stderr "prune without --older-than" "missing --older-than"
ctl prune --older-than 'soon'
check_status "prune with an invalid interval" 2
check_stderr "prune with an invalid interval" 'invalid --older-than "soon"'
ctl prune --older-than '-3 days'
check_status "prune with a negative interval" 2
check_stderr "prune with a negative interval" "must be positive"
ctl prune --older-than '0'
check_status "prune with a zero interval" 2
ctl prune --older-than '1 day' --batch-size 0
check_status "prune --batch-size 0" 2
check_stderr "prune --batch-size 0" 'invalid --batch-size "0"'
ctl prune --older-than '1 day' extra
check_status "prune with an extra argument" 2
check "prune with invalid input deletes nothing" task_exists "$locked"

finish
