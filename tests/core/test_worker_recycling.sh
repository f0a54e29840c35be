#!/bin/bash
# A worker retires after worker_max_tasks tasks and a new one takes over
# without any task failing, and an idle one exits after worker_idle_timeout.
. "$(dirname "$0")/../lib.sh"

test_setup migrate
write_config d1 "workers = 1" "worker_max_tasks = 2" "worker_idle_timeout = 2" "log_level = debug" >/dev/null
start_daemon_ready d1

sql "INSERT INTO provision.tasks (type, args) SELECT 'noop', '{\"log\": 1}' FROM generate_series(1, 7)" >/dev/null
wait_for "SELECT count(*) FROM provision.tasks WHERE status NOT IN ('queued', 'running')" 7 20 "the seven tasks to finish"
assert_eq "$(sql "SELECT count(*) FROM provision.tasks WHERE status <> 'succeeded'")" 0 "tasks not succeeded"
assert_eq "$(grep -c "worker_max_tasks reached" "$TEST_DIR/d1.log" || true)" 3 \
	"workers retired after 2 tasks each (7 tasks)"
assert_eq "$(grep -c "started worker pid" "$TEST_DIR/d1.log" || true)" 4 "worker processes started for 7 tasks"
assert_le "$(worker_pids_of d1 | wc -l)" 1 "worker processes alive with workers = 1"

# An idle worker exits after worker_idle_timeout.
wait_log d1 "worker_idle_timeout reached" 10
sleep 0.5
assert_eq "$(worker_pids_of d1 | wc -l)" 0 "worker processes alive after the idle timeout"
stop_daemon d1

test_done
