#!/bin/bash
# log: prints a task's log rows in id order, and -f follows them to the task's end.
. "$(dirname "$0")/lib.sh"

ctl migrate
check_status "migrate" 0

id=$(sql "INSERT INTO provision.tasks (type) VALUES ('noop') RETURNING id")
sql "INSERT INTO provision.task_log (task_id, level, message) VALUES ($id, 'info', 'one'), ($id, 'notice', 'two')"
sql "INSERT INTO provision.task_log (task_id, level, message) VALUES ($id, 'error', 'three')"
other=$(sql "INSERT INTO provision.tasks (type) VALUES ('noop') RETURNING id")
sql "INSERT INTO provision.task_log (task_id, level, message) VALUES ($other, 'info', 'not mine')"

ctl log "$id"
check_status "log" 0
check "log prints three rows" test "$(wc -l <"$WORK/out")" = 3
check "log prints rows in id order" test "$(awk '{ print $NF }' "$WORK/out" | paste -sd,)" = one,two,three
check "log prints the level" grep -qE ' notice +two$' "$WORK/out"
check "log prints the time first" grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2} ' "$WORK/out"
check "log leaves out other tasks" test "$(grep -c 'not mine' "$WORK/out")" = 0

ctl --json log "$id"
check_status "log --json" 0
check_json "log --json"
check "log --json lists three rows" test "$(json_value '' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 3
check "log --json keeps the order" test "$(json_value 2.message)" = three
check "log --json has the level" test "$(json_value 1.level)" = notice

ctl log 999999
check_status "log of an unknown task" 4
check_stderr "log of an unknown task" "task 999999 not found"

ctl log 12abc
check_status "log of an invalid id" 2
check_stderr "log of an invalid id" 'invalid task id "12abc"'

# -f on a task that has finished already prints everything and ends.
sql "UPDATE provision.tasks SET status = 'failed', error = 'no route to host' WHERE id = $id"
ctl log -f "$id"
check_status "log -f of a failed task" 1
check "log -f prints the rows first" test "$(head -n 3 "$WORK/out" | awk '{ print $NF }' | paste -sd,)" = one,two,three
check "log -f ends with status and error" test "$(tail -n 1 "$WORK/out")" = "task $id failed: no route to host"

# -f while the daemon, played by psql, runs the task.
id=$(sql "INSERT INTO provision.tasks (type) VALUES ('noop') RETURNING id")
play_task "$id" succeeded NULL &
ctl log -f "$id"
check_status "log -f of a running task" 0
check "log -f prints live rows in order" \
	test "$(grep -o 'first line\|second line' "$WORK/out" | paste -sd,)" = "first line,second line"
check "log -f ends with the status" test "$(tail -n 1 "$WORK/out")" = "task $id succeeded"
wait

# Without notifications the periodic check still detects the end.
id=$(sql "INSERT INTO provision.tasks (type) VALUES ('noop') RETURNING id")
sql "ALTER TABLE provision.tasks DISABLE TRIGGER tasks_notify_update"
sql "ALTER TABLE provision.task_log DISABLE TRIGGER task_log_notify_insert"
play_task "$id" cancelled NULL &
ctl log -f "$id"
check_status "log -f without notifications" 1
check_stdout "log -f without notifications" "second line"
check "log -f without notifications ends with the status" test "$(tail -n 1 "$WORK/out")" = "task $id cancelled"
wait
sql "ALTER TABLE provision.tasks ENABLE TRIGGER tasks_notify_update"
sql "ALTER TABLE provision.task_log ENABLE TRIGGER task_log_notify_insert"

id=$(sql "INSERT INTO provision.tasks (type) VALUES ('noop') RETURNING id")
play_task "$id" warning "'disk almost full'" &
ctl --json log -f "$id"
check_status "log -f --json" 0
check_json_lines "log -f --json"
check "log -f --json prints two rows and the status" test "$(wc -l <"$WORK/out")" = 3
check "log -f --json ends with the status" \
	test "$(tail -n 1 "$WORK/out" | python3 -c 'import json,sys; d = json.load(sys.stdin); print(d["status"], d["error"])')" = "warning disk almost full"
wait

# A task deleted while it is followed ends the follow with "not found".
id=$(sql "INSERT INTO provision.tasks (type) VALUES ('noop') RETURNING id")
(sleep 0.5; sql "DELETE FROM provision.tasks WHERE id = $id") &
ctl log -f "$id"
check_status "log -f of a deleted task" 4
check_stderr "log -f of a deleted task" "was deleted"
wait

finish
