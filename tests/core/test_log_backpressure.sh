#!/bin/bash
# While the database rejects writes, the daemon buffers log rows only up to
# log_buffer_max, then pauses the workers' output; once writes work again
# it resumes, and every line arrives in order.
. "$(dirname "$0")/../lib.sh"

LINES=60000

test_setup migrate
write_config d1 "workers = 1" "log_buffer_max = 524288" >/dev/null
start_daemon_ready d1

sql "CREATE FUNCTION provision.block_log() RETURNS trigger LANGUAGE plpgsql AS
	\$\$ BEGIN RAISE EXCEPTION 'task_log writes are blocked by the test'; END \$\$;
	CREATE TRIGGER block_log BEFORE INSERT ON provision.task_log
	FOR EACH ROW EXECUTE FUNCTION provision.block_log()" >/dev/null

id=$(enqueue noop "{\"log\": $LINES}")
wait_log d1 "pausing the workers' output" 20
rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$(daemon_pid d1)/status")
log "daemon RSS while paused: $rss_kb kB"
assert_le "$rss_kb" 65536 "daemon RSS in kB while its log buffer is full"

sql "DROP TRIGGER block_log ON provision.task_log" >/dev/null
wait_for "SELECT status FROM provision.tasks WHERE id = $id" succeeded 60 "task $id once writes work again"
wait_log d1 "resuming the workers' output" 10
assert_eq "$(sql "SELECT count(*) FROM provision.task_log WHERE task_id = $id")" "$((LINES + 1))" \
	"log rows of task $id"
assert_eq "$(sql "SELECT count(*) FROM (SELECT message, lag(message) OVER (ORDER BY id) AS previous
	FROM provision.task_log WHERE task_id = $id AND message LIKE 'noop log line %') ordered
	WHERE previous IS NOT NULL
	AND split_part(message, ' ', 4)::int <> split_part(previous, ' ', 4)::int + 1")" 0 \
	"log lines out of order"
stop_daemon d1

test_done
