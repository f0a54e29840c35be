#!/bin/bash
# Notifications of the frontend contract: one per statement and channel,
# with the ids of the tasks it changed as a comma-separated list, and
# log -f woken by a list that names its task among others.
. "$(dirname "$0")/lib.sh"

ctl migrate
check_status "migrate" 0

# Prints the payloads that a session listening on CHANNEL receives while
# SQL runs, one a line.
payloads() {
	psql -d "$DB" -qAtX -v ON_ERROR_STOP=1 -c "LISTEN $1" -c "$2" -c "SELECT 1" 2>&1 |
		sed -n 's/^Asynchronous notification "[a-z_]*" with payload "\([0-9,]*\)".*/\1/p'
}

first=$(sql "INSERT INTO provision.tasks (type) SELECT 'noop' FROM generate_series(1, 3) RETURNING id" | head -n 1)
ids="$first,$((first + 1)),$((first + 2))"

got=$(payloads provision_task_status "UPDATE provision.tasks SET status = 'running' WHERE id IN ($ids)")
check "a status change of three tasks sends one notification" test "$(echo "$got" | wc -l)" = 1
check "its payload lists the ids in order" test "$got" = "$ids"

got=$(payloads provision_task_status "UPDATE provision.tasks SET priority = 1 WHERE id IN ($ids)")
check "an update that keeps the status sends none" test -z "$got"

got=$(payloads provision_task_log "INSERT INTO provision.task_log (task_id, level, message)
	SELECT id, 'info', 'line ' || n FROM provision.tasks, generate_series(1, 2) n WHERE id IN ($ids)")
check "six log rows of three tasks send one notification" test "$(echo "$got" | wc -l)" = 1
check "its payload lists each task once" test "$got" = "$ids"

# A statement that changes more tasks than fit in one payload sends several.
sql "INSERT INTO provision.tasks (type) SELECT 'noop' FROM generate_series(1, 700)" >/dev/null
got=$(payloads provision_task_status "UPDATE provision.tasks SET status = 'running' WHERE status = 'queued'")
check "700 status changes send three notifications" test "$(echo "$got" | wc -l)" = 3
check "the notifications name 700 tasks" test "$(echo "$got" | tr ',' '\n' | sort -u | wc -l)" = 700
check "no payload exceeds 300 ids" test "$(echo "$got" | awk -F, 'NF > 300' | wc -l)" = 0

# log -f wakes on a list that names its task after another one.  Without the
# notification it would wait for its periodic check, 2 seconds later.
other=$(sql "INSERT INTO provision.tasks (type) VALUES ('noop') RETURNING id")
id=$(sql "INSERT INTO provision.tasks (type) VALUES ('noop') RETURNING id")
(sleep 0.5
 sql "UPDATE provision.tasks SET status = 'succeeded', finished_at = now() WHERE id IN ($other, $id)") &
start=$(date +%s%N)
ctl log -f "$id"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
wait
check_status "log -f of a task finished with another" 0
check "log -f ends with the status" test "$(tail -n 1 "$WORK/out")" = "task $id succeeded"
check "log -f ends within 1.5 s, woken by the notification (took ${elapsed_ms} ms)" \
	test "$elapsed_ms" -lt 1500

finish
