#!/bin/bash
# A database connection that stops answering without closing (the backend
# is frozen with SIGSTOP, as a half-open TCP connection would look) is
# noticed by the health check within about lease_duration and replaced,
# and tasks go on.
. "$(dirname "$0")/../lib.sh"

test_setup migrate
write_config d1 "lease_duration = 3" >/dev/null
start_daemon_ready d1

backend=$(sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'provisiond'")
[ -n "$backend" ] || die "the daemon's backend was not found in pg_stat_activity"
kill -STOP "$backend"
trap 'rc=$?; kill -CONT $backend 2>/dev/null || true; (exit $rc); cleanup' EXIT
start=$(date +%s%N)

wait_log d1 "no answer to the health check" 15
assert_le "$(seconds_since "$start")" 8 "seconds until the frozen connection was noticed"
wait_log d1 "database connection queue ready:" 10
assert_eq "$(grep -c "database connection queue ready:" "$TEST_DIR/d1.log")" 2 \
	"connections made by daemon d1 (one before and one after the reset)"

id=$(enqueue noop '{"log": 1}')
wait_for "SELECT status FROM provision.tasks WHERE id = $id" succeeded 10 "task $id on the new connection"
kill -CONT "$backend"
stop_daemon d1

test_done
