#!/bin/bash
# verify on a server without services passes on the SSH checks alone.
# Each broken piece fails with an error that names the server, the step
# and the fix.  The pieces: host key unknown or changed, key not
# authorized, no login shell, base_dir missing or not writable.  Only a
# refused connection is retried.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_verify.sh"

verify_setup
setup_ssh_server
remote=$REMOTE
write_verify_config
start_daemon_ready d1

server=$(add_server plain1 "$remote")

# expect_failure TASK_ID WHAT NEEDLE...: the task failed once, with each NEEDLE in its error.
expect_failure() {
	local id=$1 what=$2 error
	shift 2

	assert_eq "$(task_field "$id" status)" failed "status of verify task $id ($what)"
	assert_eq "$(task_field "$id" attempts)" 1 "attempts of verify task $id ($what)"
	error=$(task_field "$id" error)
	for needle in "$@"; do
		assert_contains "$error" "$needle" "error of verify task $id ($what)"
	done
}

# ---- success ----
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" succeeded "status of verify task $id"
assert_eq "$(task_field "$id" "result->>'verified'")" true "result.verified of task $id"
assert_eq "$(task_field "$id" "result ? 'web'")" f "result of task $id has no web part"
messages=$(task_messages "$id")
assert_contains "$messages" "host key matched" "log of task $id"
assert_contains "$messages" "base_dir: $remote exists and $TEST_USER can write to it" "log of task $id"

# ---- host key unknown ----
: >"$TEST_DIR/known_hosts"
id=$(run_task verify "$server")
expect_failure "$id" "unknown host key" "server plain1" "host key"
cp "$SSHD_KNOWN_HOSTS" "$TEST_DIR/known_hosts"

# ---- host key changed ----
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$SSHD_OTHER_HOST_KEY.pub")" >"$TEST_DIR/known_hosts"
id=$(run_task verify "$server")
expect_failure "$id" "changed host key" "server plain1" "host key"
cp "$SSHD_KNOWN_HOSTS" "$TEST_DIR/known_hosts"

# ---- key not in authorized_keys ----
cp "$SSHD_KEY_UNAUTHORIZED" "$TEST_DIR/id_key"
id=$(run_task verify "$server")
expect_failure "$id" "key not authorized" "server plain1" "auth" "authorized_keys"
cp "$SSHD_KEY_ED25519" "$TEST_DIR/id_key"

# ---- no login shell ----
usermod -s /usr/sbin/nologin "$TEST_USER"
id=$(run_task verify "$server")
expect_failure "$id" "nologin shell" "server plain1" "shell"
usermod -s /bin/sh "$TEST_USER"

# ---- base_dir missing, then not writable ----
sql "UPDATE provision.servers SET base_dir = '$TEST_DIR/missing' WHERE id = $server" >/dev/null
id=$(run_task verify "$server")
expect_failure "$id" "missing base_dir" "server plain1: base_dir: $TEST_DIR/missing does not exist" \
	"mkdir -p $TEST_DIR/missing/config && chown -R $TEST_USER: $TEST_DIR/missing"
sql "UPDATE provision.servers SET base_dir = '$remote' WHERE id = $server" >/dev/null

chown root: "$remote"
id=$(run_task verify "$server")
expect_failure "$id" "base_dir owned by root" "server plain1: base_dir: $remote exists but user $TEST_USER cannot write to it" \
	"chown -R $TEST_USER: $remote"
chown "$TEST_USER:" "$remote"

# ---- a relative base_dir: the schema rejects it, and the worker too for a row that predates the check ----
assert_contains "$(psql_q -c "UPDATE provision.servers SET base_dir = 'relative/dir' WHERE id = $server" 2>&1 || true)" \
	"servers_base_dir_valid" "schema check of a relative base_dir"
sql "ALTER TABLE provision.servers DROP CONSTRAINT servers_base_dir_valid;
	UPDATE provision.servers SET base_dir = 'relative/dir' WHERE id = $server" >/dev/null
id=$(run_task verify "$server")
expect_failure "$id" "relative base_dir" "server plain1: base_dir \"relative/dir\" must be an absolute path"
assert_eq "$(sql "SELECT count(*) FROM provision.task_log WHERE task_id = $id AND message LIKE 'connecting to%'")" 0 \
	"connection attempts with a relative base_dir"
sql "UPDATE provision.servers SET base_dir = '$remote' WHERE id = $server" >/dev/null

# ---- a refused connection is transient: the task goes back to the queue ----
port=$(closed_port)
refused=$(add_server refused1 "$remote" 127.0.0.1 "$port")
id=$(enqueue verify '{}' "server_id=$refused" "max_attempts=2")
wait_for "SELECT status || ' ' || attempts FROM provision.tasks WHERE id = $id" "queued 1" 30 \
	"verify task $id to be re-queued after a refused connection"
assert_contains "$(task_messages "$id")" "refused" "log of task $id"
sql "UPDATE provision.tasks SET cancel_requested_at = now() WHERE id = $id" >/dev/null

# ---- everything repaired: it passes again ----
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" succeeded "status of verify task $id after the repairs"

stop_daemon d1
test_done
