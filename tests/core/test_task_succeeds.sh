#!/bin/bash
# A task inserted by plain SQL runs and succeeds, with its log rows in order.
. "$(dirname "$0")/../lib.sh"

test_setup migrate
write_config d1 "workers = 2" >/dev/null
start_daemon_ready d1

id=$(enqueue noop '{"log": 20}')
wait_for "SELECT status FROM provision.tasks WHERE id = $id" succeeded 20 "task $id to succeed"

expected="noop task $id, attempt 1"
for i in $(seq 1 20); do
	expected+=$'\n'"noop log line $i of 20"
done
assert_eq "$(task_messages "$id")" "$expected" "ordered log messages of task $id"
assert_eq "$(task_field "$id" attempts)" 1 "attempts of task $id"
assert_eq "$(task_field "$id" "error IS NULL")" t "task $id has no error"
assert_eq "$(task_field "$id" "claimed_by IS NULL AND lease_expires_at IS NULL")" t \
	"task $id released its claim"
assert_eq "$(task_field "$id" "started_at <= finished_at")" t "task $id started before it finished"
assert_eq "$(task_field "$id" "result->>'log'")" 20 "result.log of task $id"
assert_eq "$(sql "SELECT count(*) FROM provision.task_log WHERE task_id = $id AND level <> 'info'")" 0 \
	"log rows of task $id above level info"

# A task that logs a warning ends with status warning.
warned=$(enqueue noop '{"warn": true}')
wait_for "SELECT status FROM provision.tasks WHERE id = $warned" warning 20 "task $warned to end with a warning"
assert_eq "$(sql "SELECT level || ': ' || message FROM provision.task_log WHERE task_id = $warned ORDER BY id DESC LIMIT 1")" \
	"warning: noop warning requested by args.warn" "last log row of task $warned"
assert_eq "$(task_field "$warned" "error IS NULL")" t "task $warned has no error"

# The daemon registered itself and marks itself stopped at exit.
assert_eq "$(sql "SELECT count(*) FROM provision.daemons WHERE pid = $(daemon_pid d1)")" 1 \
	"provision.daemons rows of daemon d1"
stop_daemon d1
assert_eq "$(sql "SELECT count(*) FROM provision.daemons WHERE stopped_at IS NOT NULL")" 1 \
	"daemons marked stopped after SIGTERM"

test_done
