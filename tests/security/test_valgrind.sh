#!/bin/bash
# The daemon and its workers run under valgrind's memcheck through success,
# failure, a worker crash, a timeout, a cancel and a SIGTERM: no invalid
# read or write, no use of uninitialised memory, no definite leak.
. "$(dirname "$0")/../lib.sh"

command -v valgrind >/dev/null || skip "valgrind is not installed (apt-get install valgrind)"
test_setup migrate

vg="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --track-fds=no"
cat >"$TEST_DIR/daemon-vg" <<SCRIPT
#!/bin/sh
exec $vg --log-file=$TEST_DIR/valgrind-daemon.%p.txt "$PROVISIOND" "\$@"
SCRIPT
cat >"$TEST_DIR/worker-vg" <<SCRIPT
#!/bin/sh
exec $vg --log-file=$TEST_DIR/valgrind-worker.%p.txt "$PROVISIOND_WORKER" "\$@"
SCRIPT
chmod +x "$TEST_DIR/daemon-vg" "$TEST_DIR/worker-vg"

write_config d1 "workers = 2" "worker_program = $TEST_DIR/worker-vg" "timeout_noop = 3" "kill_grace = 3" >/dev/null
PROVISIOND=$TEST_DIR/daemon-vg start_daemon_ready d1
daemon_pid=$(daemon_pid d1)

ok=$(enqueue noop '{"log": 5}')
failed=$(enqueue noop '{"fail": true}')
bad=$(enqueue noop '{"sleep_ms": "x"}')
slow=$(enqueue noop '{"sleep_ms": 20000}')
for id in $ok $failed $bad; do
	wait_for "SELECT status NOT IN ('queued', 'running') FROM provision.tasks WHERE id = $id" t 60 "task $id"
done
wait_for "SELECT status FROM provision.tasks WHERE id = $slow" failed 60 "task $slow to time out"
cancel=$(enqueue noop '{"sleep_ms": 20000}')
wait_for "SELECT status FROM provision.tasks WHERE id = $cancel" running 30 "task $cancel to start"
sql "UPDATE provision.tasks SET cancel_requested_at = now() WHERE id = $cancel" >/dev/null
wait_for "SELECT status FROM provision.tasks WHERE id = $cancel" cancelled 30 "task $cancel to be cancelled"
stop_daemon d1 60
sleep 1

daemon_report=$TEST_DIR/valgrind-daemon.$daemon_pid.txt
assert_contains "$(grep "ERROR SUMMARY" "$daemon_report" 2>&1)" "ERROR SUMMARY: 0 errors" "valgrind summary of the daemon"
grep -q "ERROR SUMMARY: 0 errors" "$daemon_report" || sed -n '1,100p' "$daemon_report"

# The daemon's other reports belong to its forked children before they exec the worker.
worker_reports=0
for report in "$TEST_DIR"/valgrind-worker.*.txt; do
	[ -f "$report" ] || continue
	# A worker stopped by the timeout or the cancel may die by SIGKILL before valgrind summarizes.
	grep -q "ERROR SUMMARY" "$report" || continue
	worker_reports=$((worker_reports + 1))
	assert_contains "$(grep "ERROR SUMMARY" "$report")" "ERROR SUMMARY: 0 errors" \
		"valgrind summary of $(basename "$report")"
	grep -q "ERROR SUMMARY: 0 errors" "$report" || sed -n '1,100p' "$report"
done
assert_ge "$worker_reports" 1 "workers that ran to a valgrind summary"

test_done
