#!/bin/bash
# A cancellation request ends a queued task before it starts and stops a
# running one.
. "$(dirname "$0")/../lib.sh"

test_setup migrate
write_config d1 "workers = 2" "kill_grace = 1" >/dev/null
start_daemon_ready d1

# ---- queued ----
queued=$(enqueue noop '{}' "run_after=now() + interval '1 hour'")
sql "UPDATE provision.tasks SET cancel_requested_at = now() WHERE id = $queued" >/dev/null
wait_for "SELECT status FROM provision.tasks WHERE id = $queued" cancelled 5 "queued task $queued to be cancelled"
assert_eq "$(task_field "$queued" "started_at IS NULL AND attempts = 0")" t "queued task $queued never started"
assert_eq "$(task_field "$queued" "finished_at IS NOT NULL")" t "queued task $queued has finished_at"
assert_contains "$(task_messages "$queued")" "cancelled" "log of queued task $queued"

# ---- running ----
running=$(enqueue noop '{"sleep_ms": 10000}')
wait_for "SELECT status FROM provision.tasks WHERE id = $running" running 20 "task $running to start"
wait_for "SELECT count(*) FROM provision.task_log WHERE task_id = $running" 1 10 "the first log row of task $running"
sql "UPDATE provision.tasks SET cancel_requested_at = now() WHERE id = $running" >/dev/null
started=$(date +%s%N)
wait_for "SELECT status FROM provision.tasks WHERE id = $running" cancelled 5 "running task $running to be cancelled"
assert_le "$(seconds_since "$started")" 3 "seconds from the request to the cancelled status"
assert_contains "$(task_field "$running" error)" "cancelled" "error of task $running"
assert_eq "$(task_field "$running" attempts)" 1 "attempts of task $running"
assert_contains "$(task_messages "$running")" "cancelled while running" "log of task $running"

next=$(enqueue noop '{}')
wait_for "SELECT status FROM provision.tasks WHERE id = $next" succeeded 20 "task $next after the cancellations"
stop_daemon d1

test_done
