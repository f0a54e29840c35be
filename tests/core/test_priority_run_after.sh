#!/bin/bash
# Tasks start by priority, then by run_after and id.  A task does not start
# before its run_after and does start soon after it.
. "$(dirname "$0")/../lib.sh"

test_setup migrate
write_config d1 "workers = 1" >/dev/null

# Inserted while no daemon runs, so that its first claim reads them all.
a=$(enqueue noop '{"sleep_ms": 50}' priority=0)
b=$(enqueue noop '{"sleep_ms": 50}' priority=10)
c=$(enqueue noop '{"sleep_ms": 50}' priority=5)
d=$(enqueue noop '{"sleep_ms": 50}' priority=10)
e=$(enqueue noop '{"sleep_ms": 50}' priority=-1)
f=$(enqueue noop '{"sleep_ms": 50}' priority=5 "run_after=now() - interval '1 hour'")

start_daemon_ready d1
wait_for "SELECT count(*) FROM provision.tasks WHERE status = 'succeeded'" 6 30 "the six tasks to succeed"
assert_eq "$(sql "SELECT string_agg(id::text, ' ' ORDER BY started_at, id) FROM provision.tasks")" \
	"$b $d $f $c $a $e" "start order (priority 10, 10, 5 with an earlier run_after, 5, 0, -1)"
assert_eq "$(sql "SELECT count(*) FROM provision.tasks t JOIN provision.tasks u ON t.id < u.id
	WHERE tstzrange(t.started_at, t.finished_at) && tstzrange(u.started_at, u.finished_at)")" 0 \
	"overlapping tasks with workers = 1"

# ---- run_after in the future ----
id=$(enqueue noop '{}' "run_after=now() + interval '3 seconds'")
sleep 2
assert_eq "$(task_field "$id" "status || ' ' || (started_at IS NULL)")" "queued true" \
	"task $id two seconds before its run_after"
wait_for "SELECT status FROM provision.tasks WHERE id = $id" succeeded 10 "task $id to run after its run_after"
assert_eq "$(task_field "$id" "started_at >= run_after")" t "task $id started at or after run_after"
assert_le "$(task_field "$id" "extract(epoch FROM started_at - run_after)")" 2 \
	"seconds between run_after and the start of task $id (poll_interval is 0.2)"
stop_daemon d1

test_done
