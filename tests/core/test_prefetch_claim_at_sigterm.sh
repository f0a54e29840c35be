#!/bin/bash
# A claim whose result arrives after SIGTERM: its tasks never start, and
# they must go back to the queue without losing an attempt.
. "$(dirname "$0")/../lib.sh"

test_setup migrate

write_config d1 "workers = 1" "shutdown_grace = 5" >/dev/null
start_daemon_ready d1
ids=$(sql "INSERT INTO provision.tasks (type, args, max_attempts, run_after)
	SELECT 'noop', '{}', 1, now() + interval '3 seconds' FROM generate_series(1, 5) RETURNING id")
# Hold the claim: it needs a lock on tasks that EXCLUSIVE mode blocks.
psql -qAt -c "BEGIN; LOCK TABLE provision.tasks IN EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT;" >/dev/null &
locker=$!
sleep 4.5
kill -TERM "$(daemon_pid d1)"
wait "$locker"
wait_daemon_exit d1 20 || die "daemon d1 did not exit"
for id in $ids; do
	log "task $id: $(task_field "$id" "status || ' attempts=' || attempts || ' ' || coalesce(error, '')")"
	assert_eq "$(task_field "$id" "status || ' ' || attempts")" "queued 0" "task $id claimed while SIGTERM arrived"
done
test_done
