#!/bin/bash
# A daemon killed with SIGKILL mid-task stops renewing its lease.  A second
# daemon re-queues the task once the lease has expired and runs it.
. "$(dirname "$0")/../lib.sh"

test_setup migrate
write_config d1 "workers = 1" "lease_duration = 3" >/dev/null
write_config d2 "workers = 1" "lease_duration = 3" >/dev/null
start_daemon_ready d1

id=$(enqueue noop '{"sleep_ms": 3000, "log": 2}')
wait_for "SELECT status FROM provision.tasks WHERE id = $id" running 20 "task $id to start"
wait_for "SELECT count(*) FROM provision.task_log WHERE task_id = $id" 3 10 "the first log rows of task $id"
name_1=$(task_field "$id" claimed_by)

kill -KILL "$(daemon_pid d1)"
wait_daemon_exit d1 5 || die "daemon d1 survived SIGKILL"
lease=$(task_field "$id" "extract(epoch FROM lease_expires_at)")
log "daemon $name_1 killed; the lease of task $id expires at $lease"

start_daemon_ready d2
wait_for "SELECT status FROM provision.tasks WHERE id = $id" succeeded 20 "task $id to be recovered and succeed"

recovered=$(sql "SELECT extract(epoch FROM logged_at) FROM provision.task_log
	WHERE task_id = $id AND message LIKE 'interrupted:%' ORDER BY id LIMIT 1")
assert_ne "$recovered" "" "log row saying task $id was interrupted"
if [ -n "$recovered" ]; then
	assert_ge "$recovered" "$lease" "time of the recovery of task $id (not before the lease expired)"
fi
assert_contains "$(task_messages "$id")" "interrupted: daemon $name_1 stopped renewing its lease; re-queued" \
	"log of task $id"
assert_eq "$(task_field "$id" attempts)" 2 "attempts of task $id"
assert_ne "$(sql "SELECT claimed_by FROM provision.tasks WHERE id = $id")" "$name_1" "claim of task $id"
assert_eq "$(sql "SELECT count(*) FROM provision.task_log WHERE task_id = $id AND message = 'noop task $id, attempt 2'")" 1 \
	"log rows of the second attempt of task $id"
assert_contains "$(daemon_log d2)" "recovered 1 task(s)" "log of daemon d2"
stop_daemon d2

test_done
