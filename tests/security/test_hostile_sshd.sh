#!/bin/bash
# A verify task against a server whose SSH port streams megabytes of text
# lines, and one that closes the connection after its version line, each
# played by hostile-sshd.  The task fails at once, long before the 15 s
# handshake timeout, and its error and log name the server, the host and
# port, what the server sent and what to check.
. "$(dirname "$0")/../lib.sh"

[ -x "${HOSTILE_SSHD:-}" ] || die "HOSTILE_SSHD must name the hostile-sshd program; run the tests through ctest"

test_setup migrate

hostile_pid=""
stop_hostile() {
	if [ -n "$hostile_pid" ]; then
		kill "$hostile_pid" 2>/dev/null
		wait "$hostile_pid" 2>/dev/null || true
	fi
	hostile_pid=""
	return 0
}
teardown() {
	local rc=$1

	set +e
	stop_hostile
	(exit "$rc")
	cleanup
}
trap 'teardown $?' EXIT

# start_hostile MODE: starts hostile-sshd in MODE and sets hostile_port.
start_hostile() {
	stop_hostile
	"$HOSTILE_SSHD" "$1" >"$TEST_DIR/hostile.port" &
	hostile_pid=$!
	for _ in $(seq 1 50); do
		[ -s "$TEST_DIR/hostile.port" ] && break
		sleep 0.1
	done
	hostile_port=$(cat "$TEST_DIR/hostile.port")
	[ -n "$hostile_port" ] || die "hostile-sshd $1 printed no port"
}

# The handshake fails before any key is read or any host key is compared.
: >"$TEST_DIR/id_key"
chmod 600 "$TEST_DIR/id_key"
: >"$TEST_DIR/known_hosts"
write_config d1 "ssh_private_key = $TEST_DIR/id_key" "ssh_known_hosts = $TEST_DIR/known_hosts" >/dev/null
start_daemon_ready d1

server=$(sql "INSERT INTO provision.servers (name, hostname, ssh_port) VALUES ('hostile1', '127.0.0.1', 22) RETURNING id")

# run_verify: runs a verify task against hostile1 with one attempt and prints its id.
run_verify() {
	local id

	sql "UPDATE provision.servers SET ssh_port = $hostile_port WHERE id = $server" >/dev/null
	id=$(enqueue verify '{}' "server_id=$server" "max_attempts=1")
	wait_for "SELECT status IN ('succeeded', 'warning', 'failed', 'cancelled') FROM provision.tasks WHERE id = $id" \
		t 30 "verify task $id to finish"
	echo "$id"
}

# ---- megabytes of lines, none an SSH version line ----
start_hostile lines
started=$(date +%s%N)
id=$(run_verify)
assert_le "$(seconds_since "$started")" 10 "seconds until verify gives up on a streaming server"
assert_eq "$(task_field "$id" status)" failed "status of verify task $id"
error=$(task_field "$id" error)
assert_contains "$error" "server hostile1 (aegir@127.0.0.1:$hostile_port): handshake: protocol error" "error of task $id"
assert_contains "$error" "sent \"220-hostile greeting line 000000 of many\" instead of an SSH version line" \
	"error of task $id"
assert_contains "$error" "more than 64 KiB arrived without one" "error of task $id"
assert_contains "$error" "Check that port $hostile_port is the server's SSH port" "error of task $id"
assert_contains "$(task_messages "$id")" "$error" "log of task $id"

# ---- a version line, then the connection closes: transient, so its attempts are spent ----
start_hostile close-after-banner
id=$(run_verify)
assert_eq "$(task_field "$id" status)" failed "status of verify task $id"
error=$(task_field "$id" error)
assert_contains "$error" "server hostile1 (aegir@127.0.0.1:$hostile_port): handshake: the server sent the version line \"SSH-2.0-OpenSSH_9.2p1 hostile\" and then closed the connection during the key exchange" \
	"error of task $id"
assert_contains "$error" "sshd log" "error of task $id"
assert_contains "$(task_messages "$id")" "$error" "log of task $id"

stop_hostile
stop_daemon d1
test_done
