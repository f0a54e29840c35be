#!/bin/bash
# The group roles of the migrations grant what each user needs and no
# more: a frontend enqueues, cancels and stores credentials it can never
# read back; the daemon runs a task end to end with provision_daemon alone;
# an operator reads everything but credentials.
. "$(dirname "$0")/../lib.sh"

test_setup migrate
sql "CREATE ROLE test_frontend LOGIN IN ROLE provision_frontend;
	CREATE ROLE test_daemon LOGIN IN ROLE provision_daemon;
	CREATE ROLE test_operator LOGIN IN ROLE provision_operator" >/dev/null
trap 'rc=$?; psql_q -c "DROP OWNED BY test_frontend, test_daemon, test_operator;
	DROP ROLE test_frontend, test_daemon, test_operator" >/dev/null 2>&1 || true; (exit $rc); cleanup' EXIT
server=$(sql "INSERT INTO provision.servers (name, hostname) VALUES ('web1', '127.0.0.1') RETURNING id")

# as ROLE SQL: runs SQL as ROLE; prints the result or the error.
as() {
	psql -qAtX -v ON_ERROR_STOP=1 -U "$1" -c "$2" 2>&1 || true
}

# ---- frontend ----
task=$(as test_frontend "INSERT INTO provision.tasks (type, args) VALUES ('noop', '{\"log\": 1}') RETURNING id")
assert_eq "$task" 1 "task id inserted by the frontend"
assert_eq "$(as test_frontend "SELECT count(*) FROM provision.servers")" 1 "servers visible to the frontend"
assert_eq "$(as test_frontend "SELECT provision.set_db_credentials($server, 'admin', 'Sw0rdf1sh-frontend')")" "" \
	"storing credentials as the frontend"
assert_contains "$(as test_frontend "SELECT admin_password FROM provision.db_credentials")" "permission denied" \
	"frontend reading passwords"
assert_contains "$(as test_frontend "SELECT * FROM provision.db_credentials")" "permission denied" \
	"frontend reading the credentials table"
assert_contains "$(as test_frontend "UPDATE provision.tasks SET status = 'succeeded' WHERE id = $task")" \
	"permission denied" "frontend setting a status"
assert_contains "$(as test_frontend "DELETE FROM provision.tasks WHERE id = $task")" "permission denied" \
	"frontend deleting a task"
assert_contains "$(as test_frontend "INSERT INTO provision.tasks (type, claimed_by) VALUES ('noop', 'x')")" \
	"permission denied" "frontend writing claimed_by"
assert_contains "$(as test_frontend "CREATE TABLE provision.intruder (id int)")" "permission denied" \
	"frontend creating a table"

# ---- daemon ----
config=$(write_config d1)
drop_setting "$config" database
echo "database = \"host=$PGHOST port=$PGPORT user=test_daemon dbname=$PGDATABASE\"" >>"$config"
start_daemon_ready d1
wait_for "SELECT status FROM provision.tasks WHERE id = $task" succeeded 20 "task $task run by the daemon role"
assert_eq "$(task_messages "$task")" "noop task $task, attempt 1
noop log line 1 of 1" "log rows of task $task"
assert_contains "$(as test_daemon "SELECT admin_password FROM provision.db_credentials")" "Sw0rdf1sh-frontend" \
	"daemon reading the password it needs"
assert_contains "$(as test_daemon "CREATE TABLE provision.intruder (id int)")" "permission denied" \
	"daemon creating a table"
assert_contains "$(as test_daemon "DELETE FROM provision.tasks")" "permission denied" "daemon deleting tasks"
stop_daemon d1

# ---- operator ----
assert_eq "$(as test_operator "SELECT status FROM provision.tasks WHERE id = $task")" succeeded \
	"task status read by the operator"
assert_contains "$(as test_operator "SELECT admin_password FROM provision.db_credentials")" "permission denied" \
	"operator reading passwords"
second=$(as test_frontend "INSERT INTO provision.tasks (type, run_after) VALUES ('noop', now() + interval '1 hour') RETURNING id")
assert_eq "$(as test_operator "UPDATE provision.tasks SET cancel_requested_at = now() WHERE id = $second")" "" \
	"operator cancelling a task"
assert_contains "$(as test_operator "UPDATE provision.tasks SET status = 'queued' WHERE id = $task")" \
	"permission denied" "operator setting a status"

test_done
