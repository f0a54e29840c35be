#!/bin/bash
# SIGTERM lets a short task finish.  After shutdown_grace a long task is
# stopped and handed back to the queue, and the next daemon finishes it.
. "$(dirname "$0")/../lib.sh"

test_setup migrate

# ---- a short task finishes before the daemon exits ----
write_config d1 "workers = 1" "shutdown_grace = 30" >/dev/null
start_daemon_ready d1
short=$(enqueue noop '{"sleep_ms": 1500}')
wait_for "SELECT status FROM provision.tasks WHERE id = $short" running 20 "task $short to start"
kill -TERM "$(daemon_pid d1)"
wait_daemon_exit d1 15 || die "daemon d1 still runs 15 s after SIGTERM with a 1.5 s task"
assert_eq "${DAEMON_EXIT[d1]}" 0 "exit status of daemon d1"
assert_eq "$(task_field "$short" status)" succeeded "status of task $short after the daemon drained"
assert_eq "$(task_field "$short" attempts)" 1 "attempts of task $short"
assert_eq "$(sql "SELECT count(*) FROM provision.task_log WHERE task_id = $short AND level = 'warning'")" 0 \
	"warning log rows of task $short"
assert_eq "$(sql "SELECT count(*) FROM provision.daemons WHERE stopped_at IS NULL")" 0 \
	"daemons not marked stopped"

# ---- a long task is handed back after shutdown_grace ----
write_config d2 "workers = 1" "shutdown_grace = 1" "kill_grace = 1" >/dev/null
start_daemon_ready d2
long=$(enqueue noop '{"sleep_ms": 6000}')
wait_for "SELECT status FROM provision.tasks WHERE id = $long" running 20 "task $long to start"
started=$(date +%s%N)
kill -TERM "$(daemon_pid d2)"
wait_daemon_exit d2 10 || die "daemon d2 still runs 10 s after SIGTERM with shutdown_grace = 1"
assert_le "$(seconds_since "$started")" 4 "seconds from SIGTERM to the exit of daemon d2"
assert_eq "${DAEMON_EXIT[d2]}" 0 "exit status of daemon d2"
assert_eq "$(task_field "$long" status)" queued "status of task $long after the shutdown"
assert_eq "$(task_field "$long" attempts)" 1 "attempts of task $long after the shutdown"
assert_eq "$(task_field "$long" "claimed_by IS NULL AND lease_expires_at IS NULL AND finished_at IS NULL")" t \
	"task $long released without a finish time"
assert_contains "$(sql "SELECT coalesce(string_agg(message, E'\n'), '') FROM provision.task_log
	WHERE task_id = $long AND level = 'notice'")" "interrupted" "notice log row of task $long"
assert_eq "$(worker_pids_of d2 2>/dev/null)" "" "worker processes left by daemon d2"

# ---- the next daemon finishes it ----
start_daemon_ready d3 "$TEST_DIR/d2.conf"
wait_for "SELECT status FROM provision.tasks WHERE id = $long" succeeded 20 "task $long to succeed in daemon d3"
assert_eq "$(task_field "$long" attempts)" 2 "attempts of task $long after daemon d3 ran it"

# ---- a long task with no attempts left fails instead ----
last=$(enqueue noop '{"sleep_ms": 6000}' max_attempts=1)
wait_for "SELECT status FROM provision.tasks WHERE id = $last" running 20 "task $last to start"
kill -TERM "$(daemon_pid d3)"
wait_daemon_exit d3 10 || die "daemon d3 still runs 10 s after SIGTERM with shutdown_grace = 1"
assert_eq "${DAEMON_EXIT[d3]}" 0 "exit status of daemon d3"
assert_eq "$(task_field "$last" status)" failed "status of task $last (max_attempts = 1) after the shutdown"
assert_contains "$(task_field "$last" "coalesce(error, '')")" "no attempts left" "error of task $last"

test_done
