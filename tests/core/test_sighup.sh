#!/bin/bash
# SIGHUP reloads a valid config without disturbing running tasks and keeps
# the old config when the new one is invalid.
. "$(dirname "$0")/../lib.sh"

test_setup migrate
config=$(write_config d1 "workers = 1")
start_daemon_ready d1

first=$(enqueue noop '{"sleep_ms": 2000}')
wait_for "SELECT status FROM provision.tasks WHERE id = $first" running 20 "task $first to start"
worker=$(worker_pids_of d1)

# ---- a valid change ----
write_config d1 "workers = 3" >/dev/null
kill -HUP "$(daemon_pid d1)"
wait_log d1 "configuration reloaded (workers = 3" 10
assert_eq "$(task_field "$first" status)" running "status of task $first right after the reload"
assert_eq "$(worker_pids_of d1)" "$worker" "worker process of task $first after the reload"
wait_for "SELECT status FROM provision.tasks WHERE id = $first" succeeded 20 "task $first to succeed"
assert_eq "$(task_field "$first" attempts)" 1 "attempts of task $first"

# The new worker count applies: three tasks run at once.
sql "INSERT INTO provision.tasks (type, args) SELECT 'noop', '{\"sleep_ms\": 1500}' FROM generate_series(1, 3)" >/dev/null
wait_for "SELECT count(*) FROM provision.tasks WHERE status = 'running'" 3 10 "three tasks running with workers = 3"

# ---- an invalid change ----
write_config d1 "workers = 0" >/dev/null
kill -HUP "$(daemon_pid d1)"
wait_log d1 "reload failed, keeping the current configuration" 10
assert_contains "$(grep -A3 "reload failed" "$TEST_DIR/d1.log")" "d1.conf:6: workers" \
	"reason for the failed reload in the log of daemon d1"
assert_eq "$(daemon_running d1 && echo yes)" yes "daemon d1 runs after an invalid reload"

wait_for "SELECT count(*) FROM provision.tasks WHERE status IN ('queued', 'running')" 0 20 "the three tasks to finish"
sql "INSERT INTO provision.tasks (type, args) SELECT 'noop', '{\"sleep_ms\": 1500}' FROM generate_series(1, 3)" >/dev/null
wait_for "SELECT count(*) FROM provision.tasks WHERE status = 'running'" 3 10 \
	"three tasks running with the kept workers = 3"
wait_for "SELECT count(*) FROM provision.tasks WHERE status <> 'succeeded'" 0 20 "every task to succeed"
stop_daemon d1

test_done
