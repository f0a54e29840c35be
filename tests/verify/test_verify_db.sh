#!/bin/bash
# verify on a server with a MySQL service, against a real MariaDB on
# loopback: the admin account logs in over TCP, creates and drops a test
# database and user, and no password reaches a log, error or result.  Then
# the account breaks one way at a time: wrong password, no privilege to
# create databases, no GRANT OPTION, an authentication plugin the client
# cannot load, and a port where nothing listens.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_verify.sh"

verify_setup
setup_ssh_server
remote=$REMOTE
start_mariadb_fixture
write_verify_config
start_daemon_ready d1

admin_password="Adm1n-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
# 127.0.0.1 resolves to localhost on this server, so the account is for both.
for host in localhost 127.0.0.1; do
	mariadb_sql "CREATE USER 'pvadmin'@'$host' IDENTIFIED BY '$admin_password';
	             GRANT ALL PRIVILEGES ON *.* TO 'pvadmin'@'$host' WITH GRANT OPTION;"
done

server=$(add_server db1 "$remote")
add_service "$server" db mysql "$MARIADB_PORT" '{}'
sql "INSERT INTO provision.db_credentials VALUES ($server, 'pvadmin', '$admin_password')" >/dev/null

# set_credentials USER PASSWORD
set_credentials() {
	sql "UPDATE provision.db_credentials SET admin_user = '$1', admin_password = '$2' WHERE server_id = $server" >/dev/null
}

# wait_port_file FILE: waits until a background listener wrote its port into FILE.
wait_port_file() {
	for _ in $(seq 1 50); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	die "the listener wrote no port into $1"
}

# ---- success ----
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" succeeded "status of verify task $id"
assert_eq "$(task_field "$id" "result->>'verified'")" true "result.verified of task $id"
assert_contains "$(task_field "$id" "result->'db'->>'transport'")" "via TCP/IP" "result.db.transport of task $id"
assert_contains "$(task_field "$id" "result->'db'->>'version'")" MariaDB "result.db.version of task $id"
assert_eq "$(task_field "$id" "result->'db'->>'cleanup_failed'")" false "result.db.cleanup_failed of task $id"
messages=$(task_messages "$id")
assert_contains "$messages" "CURRENT_USER() is pvadmin@" "log of task $id"
assert_contains "$messages" "db check: the test user logged in over TCP" "log of task $id"
assert_contains "$messages" "db cleanup: dropped the test user and the test database" "log of task $id"
assert_eq "$(leftovers)" "" "test databases and users left on MariaDB"
no_password_in "$id" "$admin_password"

# ---- a hostname of localhost still means TCP, not the local socket ----
printf '[localhost]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$SSHD_HOST_KEY_ED25519.pub")" >>"$TEST_DIR/known_hosts"
sql "UPDATE provision.servers SET hostname = 'localhost' WHERE id = $server" >/dev/null
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" succeeded "status of verify task $id with hostname localhost"
assert_eq "$(task_field "$id" "result->'db'->>'transport'")" "localhost via TCP/IP" "result.db.transport of task $id"
sql "UPDATE provision.servers SET hostname = '127.0.0.1' WHERE id = $server" >/dev/null

# ---- wrong password: access denied names the account the server saw and the GRANT ----
set_credentials pvadmin "wrong-$admin_password"
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" failed "status of verify task $id with a wrong password"
error=$(task_field "$id" error)
assert_contains "$error" "server db1: db connect: access denied" "error of task $id"
assert_contains "$error" "the server saw the login as 'pvadmin'@'localhost'" "error of task $id"
assert_contains "$error" "GRANT ALL PRIVILEGES ON *.* TO 'pvadmin'@'localhost' WITH GRANT OPTION;" "error of task $id"
assert_not_contains "$error" "wrong-" "error of task $id"
no_password_in "$id" "$admin_password"

# ---- no privilege to create databases ----
mariadb_sql "CREATE USER 'pvusage'@'localhost' IDENTIFIED BY 'usage-pw-1'"
set_credentials pvusage usage-pw-1
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" failed "status of verify task $id without CREATE"
error=$(task_field "$id" error)
assert_contains "$error" "server db1: db create database: the account pvusage@localhost has no privilege to create databases" \
	"error of task $id"
assert_contains "$error" "GRANT ALL PRIVILEGES ON *.* TO 'pvusage'@'localhost' WITH GRANT OPTION;" "error of task $id"
assert_eq "$(leftovers)" "" "test databases and users left after task $id"

# ---- no GRANT OPTION: the database and user already made are dropped again ----
mariadb_sql "CREATE USER 'pvnogrant'@'localhost' IDENTIFIED BY 'nogrant-pw-1';
             GRANT ALL PRIVILEGES ON *.* TO 'pvnogrant'@'localhost';"
set_credentials pvnogrant nogrant-pw-1
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" failed "status of verify task $id without GRANT OPTION"
error=$(task_field "$id" error)
assert_contains "$error" "server db1: db grant: the account pvnogrant@localhost cannot grant privileges (no GRANT OPTION)" \
	"error of task $id"
assert_contains "$(task_messages "$id")" "db cleanup: dropped the test user and the test database" "log of task $id"
assert_eq "$(leftovers)" "" "test databases and users left after task $id"
no_password_in "$id" "$admin_password"

# ---- an authentication plugin the client cannot load ----
# On a real master this happens when the client's plugin folder lacks the
# plugin.  So the daemon restarts with Connector/C pointed at an empty folder.
mariadb_sql "INSTALL SONAME 'auth_ed25519'" 2>/dev/null || true
mariadb_sql "CREATE USER 'pved'@'localhost' IDENTIFIED VIA ed25519 USING PASSWORD('ed-pw-1');
             GRANT ALL PRIVILEGES ON *.* TO 'pved'@'localhost' WITH GRANT OPTION;"
set_credentials pved ed-pw-1
stop_daemon d1
mkdir -p "$TEST_DIR/no-plugins"
MARIADB_PLUGIN_DIR=$TEST_DIR/no-plugins start_daemon_ready d1
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" failed "status of verify task $id with an unloadable plugin"
error=$(task_field "$id" error)
assert_contains "$error" "server db1: db connect: the account pved uses an authentication plugin that the client library on the master cannot load" \
	"error of task $id"
assert_contains "$error" "client_ed25519" "error of task $id names the plugin"
stop_daemon d1
start_daemon_ready d1
set_credentials pvadmin "$admin_password"

# ---- nothing listens on the port: transient, with bind-address and firewall in the error ----
port=$(closed_port)
sql "UPDATE provision.services SET port = $port WHERE server_id = $server" >/dev/null
id=$(enqueue verify '{}' "server_id=$server" "max_attempts=2")
wait_for "SELECT status || ' ' || attempts FROM provision.tasks WHERE id = $id" "queued 1" 30 \
	"verify task $id to be re-queued after a refused connection"
error=$(sql "SELECT message FROM provision.task_log WHERE task_id = $id AND level = 'error'")
assert_contains "$error" "server db1: db connect: cannot reach 127.0.0.1 port $port over TCP" "error of task $id"
assert_contains "$error" "bind-address" "error of task $id"
assert_contains "$error" "firewall" "error of task $id"
sql "UPDATE provision.tasks SET cancel_requested_at = now() WHERE id = $id" >/dev/null
sql "UPDATE provision.services SET port = $MARIADB_PORT WHERE server_id = $server" >/dev/null

# ---- a port that accepts TCP and never replies: the timeouts end the task ----
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(5)
print(s.getsockname()[1], flush=True)
time.sleep(300)
' >"$TEST_DIR/silent.port" &
silent_pid=$!
wait_port_file "$TEST_DIR/silent.port"
sql "UPDATE provision.services SET port = $(cat "$TEST_DIR/silent.port") WHERE server_id = $server" >/dev/null
started=$(date +%s%N)
id=$(run_task verify "$server")
assert_le "$(seconds_since "$started")" 45 "seconds until verify gives up on a silent port"
assert_eq "$(task_field "$id" status)" failed "status of verify task $id against a silent port"
assert_contains "$(task_field "$id" error)" "accepted the TCP connection but did not complete the MySQL handshake" \
	"error of task $id"
kill "$silent_pid"
wait "$silent_pid" 2>/dev/null || true
sql "UPDATE provision.services SET port = $MARIADB_PORT WHERE server_id = $server" >/dev/null

# ---- the admin connection breaks at GRANT: cleanup runs on a new connection ----
# A proxy forwards to MariaDB and cuts its first connection when the GRANT passes.
python3 -c '
import socket, sys, threading
target = int(sys.argv[1])
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
print(listener.getsockname()[1], flush=True)

def pipe(source, sink, cut):
    try:
        while True:
            data = source.recv(65536)
            if not data or (cut and b"GRANT ALL" in data):
                break
            sink.sendall(data)
    except OSError:
        pass
    for sock in (source, sink):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

first = True
while True:
    client, _ = listener.accept()
    upstream = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=pipe, args=(client, upstream, first), daemon=True).start()
    threading.Thread(target=pipe, args=(upstream, client, False), daemon=True).start()
    first = False
' "$MARIADB_PORT" >"$TEST_DIR/proxy.port" &
proxy_pid=$!
wait_port_file "$TEST_DIR/proxy.port"
sql "UPDATE provision.services SET port = $(cat "$TEST_DIR/proxy.port") WHERE server_id = $server" >/dev/null
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" failed "status of verify task $id with a cut connection"
assert_contains "$(task_field "$id" error)" "server db1: db grant:" "error of task $id"
messages=$(task_messages "$id")
assert_contains "$messages" "db cleanup: the first connection broke; cleaning up on a new one" "log of task $id"
assert_contains "$messages" "db cleanup: dropped the test user and the test database" "log of task $id"
assert_eq "$(leftovers)" "" "test databases and users left after task $id"
no_password_in "$id" "$admin_password"
kill "$proxy_pid"
wait "$proxy_pid" 2>/dev/null || true
sql "UPDATE provision.services SET port = $MARIADB_PORT WHERE server_id = $server" >/dev/null

# ---- the password travels only over the worker's pipe ----
# Workers outlive their tasks, so the ones that ran the checks above are still there to inspect.
for pid in $(worker_pids_of d1); do
	assert_not_contains "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "$admin_password" "command line of worker $pid"
	assert_not_contains "$(tr '\0' '\n' <"/proc/$pid/environ")" "$admin_password" "environment of worker $pid"
done
assert_ge "$(worker_pids_of d1 | wc -l)" 1 "workers alive to inspect"
assert_not_contains "$(cat "$TEST_DIR/d1.log")" "$admin_password" "daemon log"
assert_not_contains "$(sed "s/IDENTIFIED BY '<password>'//g" "$TEST_DIR/d1.log")" "IDENTIFIED BY '" "daemon log"

# ---- a db service without credentials ----
sql "DELETE FROM provision.db_credentials WHERE server_id = $server" >/dev/null
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" failed "status of verify task $id without credentials"
assert_contains "$(task_field "$id" error)" "server db1: db: the server has a db service but no admin account" \
	"error of task $id"

stop_daemon d1
test_done
