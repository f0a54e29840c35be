#!/bin/bash
# A daemon that stalls (SIGSTOP) while its worker runs a task: the worker
# stops the task by itself once the daemon no longer confirms its lease,
# before a second daemon recovers the task, so the task never runs twice at
# once.
. "$(dirname "$0")/../lib.sh"

test_setup migrate
write_config d1 "lease_duration = 3" >/dev/null
write_config d2 "lease_duration = 3" >/dev/null
start_daemon_ready d1

server=$(sql "INSERT INTO provision.servers (name, hostname) VALUES ('web1', '127.0.0.1') RETURNING id")
id=$(enqueue noop '{"sleep_ms": 60000}' "server_id=$server")
wait_for "SELECT status FROM provision.tasks WHERE id = $id" running 10 "task $id to start in daemon d1"
start_daemon_ready d2

worker=$(worker_pids_of d1)
[ -n "$worker" ] || die "daemon d1 has no worker"
kill -STOP "$(daemon_pid d1)"
d1_pid=$(daemon_pid d1)
trap 'rc=$?; kill -CONT $d1_pid 2>/dev/null || true; (exit $rc); cleanup' EXIT
stopped_at=$(date +%s%N)

# alive PID: the process runs; a zombie (exited, not yet reaped by the stopped daemon) does not count.
alive() {
	[ -r "/proc/$1/stat" ] && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# The worker must be gone within two thirds of the lease (2 s) after the last renewal.
while alive "$worker"; do
	if awk -v s="$(seconds_since "$stopped_at")" 'BEGIN { exit !(s > 5) }'; then
		break
	fi
	sleep 0.05
done
worker_gone=$(date +%s.%N)
assert_eq "$(alive "$worker" && echo alive)" "" "worker $worker of the stalled daemon d1 after 5 s"
log "worker of d1 stopped $(seconds_since "$stopped_at") s after SIGSTOP"

wait_for "SELECT attempts FROM provision.tasks WHERE id = $id AND status = 'running'" 2 20 \
	"daemon d2 to recover and restart task $id"
second_start=$(sql "SELECT extract(epoch FROM started_at) FROM provision.tasks WHERE id = $id")
assert_eq "$(awk -v a="$second_start" -v b="$worker_gone" 'BEGIN { print (a >= b) ? "after" : "before" }')" after \
	"start of attempt 2 relative to the end of attempt 1"

kill -CONT "$(daemon_pid d1)"
sql "UPDATE provision.tasks SET cancel_requested_at = now() WHERE id = $id" >/dev/null
wait_for "SELECT status FROM provision.tasks WHERE id = $id" cancelled 20 "task $id to be cancelled"
stop_daemon d1
stop_daemon d2

test_done
