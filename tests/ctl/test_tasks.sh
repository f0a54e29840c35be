#!/bin/bash
# tasks, show, cancel, retry and status: listing and changing tasks.
. "$(dirname "$0")/lib.sh"

ctl migrate
check_status "migrate" 0
web1=$(sql "INSERT INTO provision.servers (name, hostname) VALUES ('web1', 'web1.example.com') RETURNING id")
sql "INSERT INTO provision.servers (name, hostname) VALUES ('web2', 'web2.example.com')"
sql "INSERT INTO provision.daemons (name, hostname, pid, version) VALUES ('provisiond-a', 'master1', 4242, '0.1.0')"

queued=$(sql "INSERT INTO provision.tasks (type) VALUES ('noop') RETURNING id")
running=$(sql "INSERT INTO provision.tasks (type, server_id, status, started_at, claimed_by)
	VALUES ('verify', $web1, 'running', now() - interval '90 seconds', 'provisiond-a') RETURNING id")
failed=$(sql "INSERT INTO provision.tasks (type, server_id, args, priority, status, error)
	VALUES ('sync', $web1, '{\"site\": \"a.example.com\"}', 4, 'failed', 'rsync exited with 23') RETURNING id")
succeeded=$(sql "INSERT INTO provision.tasks (type, status, result) VALUES ('noop', 'succeeded', '{\"ok\": true}') RETURNING id")

# tasks
ctl tasks
check_status "tasks" 0
check "tasks prints a header and four rows" test "$(wc -l <"$WORK/out")" = 5
check "tasks lists the newest first" test "$(awk 'NR > 1 { print $1 }' "$WORK/out" | paste -sd,)" = "$succeeded,$failed,$running,$queued"

ctl tasks --status failed
check_status "tasks --status failed" 0
check "tasks --status failed lists the failed task" test "$(awk 'NR > 1 { print $1 }' "$WORK/out" | paste -sd,)" = "$failed"

ctl tasks --server web1
check "tasks --server web1 lists its two tasks" test "$(awk 'NR > 1 { print $1 }' "$WORK/out" | paste -sd,)" = "$failed,$running"

ctl tasks --server web2
check_status "tasks --server of a server without tasks" 0
check "tasks --server web2 lists nothing" test "$(wc -l <"$WORK/out")" = 1

ctl tasks --type noop --limit 1
check "tasks --type noop --limit 1 lists the newest noop" test "$(awk 'NR > 1 { print $1 }' "$WORK/out" | paste -sd,)" = "$succeeded"

ctl --json tasks
check_json "tasks --json"
check "tasks --json names the server" test "$(json_value 1.server)" = web1
check "tasks --json keeps the error" test "$(json_value 1.error)" = "rsync exited with 23"

ctl tasks --status done
check_status "tasks --status with an invalid status" 2
check_stderr "tasks --status with an invalid status" 'invalid --status "done"'
ctl tasks --server web9
check_status "tasks --server with an unknown server" 4
ctl tasks --limit 0
check_status "tasks --limit 0" 2

# show
ctl show "$failed"
check_status "show" 0
check_stdout "show" "error: rsync exited with 23"
check_stdout "show" "server: web1"
check "show indents args as JSON" grep -qF '  "site": "a.example.com"' "$WORK/out"
check_stdout "show" "cancel_requested_at: -"

ctl --json show "$succeeded"
check_json "show --json"
check "show --json has result as JSON" test "$(json_value result.ok)" = true
check "show --json has every column" test "$(json_value '' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = \
	"$(( $(sql "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'provision' AND table_name = 'tasks'") + 1 ))"

ctl show 424242
check_status "show of an unknown task" 4

# cancel
ctl cancel "$queued"
check_status "cancel of a queued task" 0
check_stdout "cancel of a queued task" "requested cancellation of task $queued (queued)"
check "cancel sets cancel_requested_at" test "$(sql "SELECT cancel_requested_at IS NOT NULL FROM provision.tasks WHERE id = $queued")" = t
check "cancel leaves the status to the daemon" test "$(sql "SELECT status FROM provision.tasks WHERE id = $queued")" = queued

ctl cancel "$queued"
check_status "cancel twice" 0
check_stdout "cancel twice" "was already requested"

ctl --json cancel "$running"
check_status "cancel --json of a running task" 0
check_json "cancel --json"
check "cancel --json reports the status" test "$(json_value status)" = running

ctl cancel "$succeeded"
check_status "cancel of a finished task" 5
check_stderr "cancel of a finished task" "has already finished (succeeded)"
check "cancel of a finished task changes nothing" \
	test "$(sql "SELECT cancel_requested_at IS NULL FROM provision.tasks WHERE id = $succeeded")" = t

ctl cancel 424242
check_status "cancel of an unknown task" 4

# retry
ctl retry "$failed"
check_status "retry of a failed task" 0
new=$(cat "$WORK/out")
check "retry prints a new id" test "${new:-0}" -gt "$succeeded"
check "retry copies type, server, args and priority" \
	test "$(sql "SELECT n.type = o.type AND n.server_id = o.server_id AND n.args = o.args AND n.priority = o.priority
		FROM provision.tasks n, provision.tasks o WHERE n.id = ${new:-0} AND o.id = $failed")" = t
check "retried task is queued" test "$(sql "SELECT status FROM provision.tasks WHERE id = ${new:-0}")" = queued
check "retry leaves the old task failed" test "$(sql "SELECT status FROM provision.tasks WHERE id = $failed")" = failed

ctl retry "$succeeded"
check_status "retry of a succeeded task" 5
check_stderr "retry of a succeeded task" "only failed or cancelled tasks can be retried"

sql "DELETE FROM provision.servers WHERE id = $web1"
ctl retry "$failed"
check_status "retry after the server was removed" 5
check_stderr "retry after the server was removed" "was removed"

ctl retry 424242
check_status "retry of an unknown task" 4

cancelled=$(sql "INSERT INTO provision.tasks (type, status) VALUES ('noop', 'cancelled') RETURNING id")
after=$(last_task_id)
play_next_task "$after" succeeded NULL &
ctl retry --wait "$cancelled"
check_status "retry --wait" 0
check "retry --wait ends with the status" grep -qE '^task [0-9]+ succeeded$' "$WORK/out"
wait

# status
ctl status
check_status "status" 0
check "status counts queued tasks" grep -qE '^queued +2$' "$WORK/out"
check "status counts zero warnings" grep -qE '^warning +0$' "$WORK/out"
check_stdout "status lists the daemon" "provisiond-a"
check_stdout "status lists the heartbeat column" "heartbeat_age"

ctl --json status
check_status "status --json" 0
check_json "status --json"
check "status --json counts failed tasks" test "$(json_value tasks_by_status.failed)" = 1
check "status --json lists the daemon pid" test "$(json_value daemons.0.pid)" = 4242
check "status --json lists no running task after the server went" test "$(json_value running.0.server)" = null

finish
