#!/bin/bash
# A task stopped by its timeout or by a cancel also stops its command on
# the server: the worker kills the command's process group over a second
# SSH channel before it exits.  The server is a private sshd on this
# machine, so a process check here looks at the server.
. "$(dirname "$0")/../lib.sh"

[ -x /usr/sbin/sshd ] || skip "/usr/sbin/sshd not found (openssh-server)"
test_setup migrate
"$TESTS_DIR/fixtures/sshd-fixture" start "$TEST_DIR/sshd" >/dev/null || die "the sshd fixture did not start"
trap 'rc=$?; set +e; "$TESTS_DIR/fixtures/sshd-fixture" stop "$TEST_DIR/sshd" >/dev/null 2>&1; (exit $rc); cleanup' EXIT
. "$TEST_DIR/sshd/env"
mkdir -p "$TEST_DIR/remote/config"

write_config d1 "ssh_private_key = $SSHD_KEY_ED25519" "ssh_known_hosts = $SSHD_KNOWN_HOSTS" \
	"timeout_restart = 6" "kill_grace = 8" >/dev/null
start_daemon_ready d1

server=$(sql "INSERT INTO provision.servers (name, hostname, ssh_port, ssh_user, base_dir)
	VALUES ('web1', '127.0.0.1', $SSHD_PORT, '$SSHD_USER', '$TEST_DIR/remote') RETURNING id")
# set_configtest SECONDS: makes the web service's configtest a sleep that a pattern can find.
set_configtest() {
	sql "INSERT INTO provision.services (server_id, kind, type, settings)
		VALUES ($server, 'web', 'apache', jsonb_build_object('configtest_command', 'sleep $1; true'))
		ON CONFLICT (server_id, kind) DO UPDATE SET settings = EXCLUDED.settings" >/dev/null
}

# Sleep lengths unique to this run, so tests running at the same time do not
# see each other's processes; the bracket keeps pgrep from matching itself.
first=$((100000 + $$ % 800000))
second=$((first + 1))
first_pattern="sleep ${first:0:-1}[${first: -1}]"
second_pattern="sleep ${second:0:-1}[${second: -1}]"

# ---- timeout ----
set_configtest "$first"
id=$(enqueue restart '{}' "server_id=$server" "max_attempts=1")
wait_for "SELECT status FROM provision.tasks WHERE id = $id" failed 20 "task $id to time out"
assert_contains "$(task_field "$id" error)" "timed out" "error of task $id"
sleep 0.5
assert_eq "$(pgrep -c -f "$first_pattern" || true)" 0 "remote processes left by the timed-out task $id"
assert_contains "$(task_messages "$id")" "stopped the command on the server" "log of task $id"

# ---- cancel ----
set_configtest "$second"
id=$(enqueue restart '{}' "server_id=$server" "max_attempts=1")
wait_for "SELECT count(*) FROM provision.task_log WHERE task_id = $id AND message LIKE 'configtest: running sleep $second%'" 1 20 \
	"task $id to start its command"
sleep 0.5
# The remote shell and its sleep both match.
assert_ge "$(pgrep -c -f "$second_pattern" || true)" 1 "remote processes of task $id running before the cancel"
sql "UPDATE provision.tasks SET cancel_requested_at = now() WHERE id = $id" >/dev/null
wait_for "SELECT status FROM provision.tasks WHERE id = $id" cancelled 20 "task $id to be cancelled"
sleep 0.5
assert_eq "$(pgrep -c -f "$second_pattern" || true)" 0 "remote processes left by the cancelled task $id"
stop_daemon d1

test_done
