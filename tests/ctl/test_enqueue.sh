#!/bin/bash
# enqueue: inserts the task with its arguments, and --wait follows it to its end.
. "$(dirname "$0")/lib.sh"

ctl migrate
check_status "migrate" 0
web1=$(sql "INSERT INTO provision.servers (name, hostname) VALUES ('web1', 'web1.example.com') RETURNING id")

ctl enqueue noop
check_status "enqueue noop" 0
check "enqueue noop prints a task id" grep -qxE '[0-9]+' "$WORK/out"
id=$(cat "$WORK/out")
check "enqueued noop row exists" test "$(sql "SELECT type || ' ' || status FROM provision.tasks WHERE id = ${id:-0}")" = "noop queued"
check "enqueued noop has empty args" test "$(sql "SELECT args = '{}' FROM provision.tasks WHERE id = ${id:-0}")" = t
check "enqueued noop has no server" test "$(sql "SELECT server_id IS NULL FROM provision.tasks WHERE id = ${id:-0}")" = t

ctl enqueue noop --arg sleep_ms=100 --arg log=3 --arg warn=true
check_status "enqueue noop with args" 0
id=$(cat "$WORK/out")
check "noop args are typed JSON" \
	test "$(sql "SELECT args = '{\"sleep_ms\": 100, \"log\": 3, \"warn\": true}' FROM provision.tasks WHERE id = ${id:-0}")" = t

ctl enqueue verify web1 --arg name=site1 --arg 'options={"a":[1,2]}' --arg 'quoted="42"' --arg empty=
check_status "enqueue verify on web1" 0
id=$(cat "$WORK/out")
check "verify task has web1 as server" test "$(sql "SELECT server_id FROM provision.tasks WHERE id = ${id:-0}")" = "$web1"
check "string, object and quoted args" \
	test "$(sql "SELECT args = '{\"name\": \"site1\", \"options\": {\"a\": [1, 2]}, \"quoted\": \"42\", \"empty\": \"\"}' FROM provision.tasks WHERE id = ${id:-0}")" = t

ctl enqueue noop --priority -7 --max-attempts 2 --run-after '+1 hour'
check_status "enqueue with priority, attempts, relative time" 0
id=$(cat "$WORK/out")
check "priority is stored" test "$(sql "SELECT priority FROM provision.tasks WHERE id = ${id:-0}")" = -7
check "max_attempts is stored" test "$(sql "SELECT max_attempts FROM provision.tasks WHERE id = ${id:-0}")" = 2
check "relative run_after is an hour ahead" \
	test "$(sql "SELECT run_after BETWEEN now() + interval '59 minutes' AND now() + interval '61 minutes' FROM provision.tasks WHERE id = ${id:-0}")" = t

ctl enqueue noop --run-after '2030-01-31 02:00:00+00'
check_status "enqueue with absolute time" 0
id=$(cat "$WORK/out")
check "absolute run_after is stored" \
	test "$(sql "SELECT run_after = '2030-01-31 02:00:00+00' FROM provision.tasks WHERE id = ${id:-0}")" = t

ctl --json enqueue noop
check_status "enqueue --json" 0
check_json "enqueue --json"
id=$(json_value id)
check "enqueue --json id names a row" test "$(sql "SELECT count(*) FROM provision.tasks WHERE id = ${id:-0}")" = 1

# --wait, with the daemon played by psql from the background.  The last id
# is read before the player starts, so that it cannot already see the new task.
after=$(last_task_id)
play_next_task "$after" succeeded NULL &
ctl enqueue noop --wait
check_status "enqueue --wait for a succeeded task" 0
check_stdout "enqueue --wait" "first line"
check "enqueue --wait prints the log in order" \
	test "$(grep -n 'second line' "$WORK/out" | cut -d: -f1)" -gt "$(grep -n 'first line' "$WORK/out" | cut -d: -f1)"
check "enqueue --wait ends with the status" grep -qE '^task [0-9]+ succeeded$' "$WORK/out"
wait

after=$(last_task_id)
play_next_task "$after" warning NULL &
ctl enqueue noop --wait
check_status "enqueue --wait for a task with warnings" 0
wait

after=$(last_task_id)
play_next_task "$after" failed "'disk full'" &
ctl enqueue noop --wait
check_status "enqueue --wait for a failed task" 1
check "enqueue --wait prints the error" grep -qE '^task [0-9]+ failed: disk full$' "$WORK/out"
wait

after=$(last_task_id)
play_next_task "$after" cancelled NULL &
ctl enqueue noop --wait
check_status "enqueue --wait for a cancelled task" 1
wait

after=$(last_task_id)
play_next_task "$after" succeeded NULL &
ctl --json enqueue noop --wait
check_status "enqueue --wait --json" 0
check_json_lines "enqueue --wait --json"
check "enqueue --wait --json starts with the id" grep -qE '^\{"id": ?[0-9]+\}$' <(head -n 1 "$WORK/out")
check "enqueue --wait --json ends with the status" \
	test "$(tail -n 1 "$WORK/out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" = succeeded
wait

finish
