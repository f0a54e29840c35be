#!/bin/bash
# A batch write that fails is retried about once a second, not in a busy
# loop, and its rows are written in order once the database accepts them.
. "$(dirname "$0")/../lib.sh"

test_setup migrate
write_config d1 "workers = 1" >/dev/null
start_daemon_ready d1

sql "CREATE FUNCTION provision.block_log() RETURNS trigger LANGUAGE plpgsql AS
	\$\$ BEGIN RAISE EXCEPTION 'task_log writes are blocked by the test'; END \$\$;
	CREATE TRIGGER block_log BEFORE INSERT ON provision.task_log
	FOR EACH ROW EXECUTE FUNCTION provision.block_log()" >/dev/null

id=$(enqueue noop '{"log": 3}')
wait_log d1 "task $id ended: succeeded" 20
sleep 4
failures=$(grep -c "writing task logs and statuses failed" "$TEST_DIR/d1.log" || true)
assert_ge "$failures" 2 "failed batch writes in 4 s (the write must be retried)"
assert_le "$failures" 8 "failed batch writes in 4 s (one retry a second expected)"
assert_eq "$(task_field "$id" status)" running "status of task $id while its writes fail"

sql "DROP TRIGGER block_log ON provision.task_log" >/dev/null
wait_for "SELECT status FROM provision.tasks WHERE id = $id" succeeded 10 "task $id once writes work again"
assert_eq "$(task_messages "$id")" "noop task $id, attempt 1
noop log line 1 of 3
noop log line 2 of 3
noop log line 3 of 3" "log rows of task $id after the retry"
assert_eq "$(task_field "$id" attempts)" 1 "attempts of task $id"
stop_daemon d1

test_done
