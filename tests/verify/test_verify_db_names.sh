#!/bin/bash
# verify against a real MariaDB on loopback, with admin accounts whose
# names and passwords contain the characters that break hand-built SQL.
# Those are a backtick, a single and a double quote, %, a backslash, an at
# sign and a space.  One name has 128 characters, MariaDB 10.11's limit,
# most of them two bytes long in UTF-8.  Each account
# really exists in MariaDB under that name, and verify logs in as it,
# creates and drops its test objects, and reports it as CURRENT_USER().
# The statements that error messages suggest name the account exactly:
# running them in MariaDB fixes the account.  Names over 128 characters,
# control characters and over-long passwords in rows that predate the
# schema's checks fail before any remote action.  No password reaches a
# log, error or result, and no test database or user is left behind.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_verify.sh"

verify_setup
setup_ssh_server
remote=$REMOTE
start_mariadb_fixture
write_verify_config
start_daemon_ready d1

server=$(add_server db1 "$remote")
add_service "$server" db mysql "$MARIADB_PORT" '{}'
random=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
password="pw\`'\"%\\@ -$random"

# mariadb_literal TEXT: prints TEXT as a quoted MariaDB string in the default sql_mode.
mariadb_literal() {
	local text=${1//\\/\\\\}

	printf "'%s'" "${text//\'/\\\'}"
}

# create_admin NAME PASSWORD [nogrant]: creates the account NAME for both loopback names,
# with all privileges and GRANT OPTION unless "nogrant" is given.
create_admin() {
	local account

	# 127.0.0.1 resolves to localhost on this server, so the account is for both.
	for host in localhost 127.0.0.1; do
		account="$(mariadb_literal "$1")@'$host'"
		mariadb_sql "CREATE USER $account IDENTIFIED BY $(mariadb_literal "$2")"
		[ "${3:-}" = nogrant ] || mariadb_sql "GRANT ALL PRIVILEGES ON *.* TO $account WITH GRANT OPTION"
	done
}

# set_credentials USER PASSWORD: stores them as psql variables, so no quoting can go wrong.
set_credentials() {
	psql -qAtX -v ON_ERROR_STOP=1 -v server="$server" -v user="$1" -v pw="$2" >/dev/null <<'SQL'
SELECT provision.set_db_credentials(:server, :'user', :'pw');
SQL
}

# expect_verified NAME PASSWORD: verify with that account succeeds and reports it as CURRENT_USER().
expect_verified() {
	local name=$1 id

	set_credentials "$name" "$2"
	id=$(run_task verify "$server")
	assert_eq "$(task_field "$id" status)" succeeded "status of verify task $id as [$name]"
	assert_eq "$(task_field "$id" "result->'db'->>'current_user'")" "$name@localhost" \
		"result.db.current_user of task $id"
	assert_contains "$(task_messages "$id")" "CURRENT_USER() is $name@localhost" "log of task $id"
	assert_eq "$(mariadb_sql "SELECT COUNT(*) FROM mysql.user WHERE user = $(mariadb_literal "$name")")" 2 \
		"MariaDB accounts named [$name]"
	assert_eq "$(leftovers)" "" "test databases and users left after task $id"
	no_password_in "$id" "$2"
}

# ---- each character in a name, with a password holding all of them ----
two_bytes=$(printf 'ä%.0s' $(seq 1 123))
for name in 'ad`min' "ad'min" 'ad"min' 'ad%min' 'ad\min' 'ad@min' 'ad min' \
	"ad\`'\"%\\@ min" "${two_bytes}\`'\"%\\"; do
	create_admin "$name" "$password"
	expect_verified "$name" "$password"
done
assert_eq "$(printf '%s' "${two_bytes}\`'\"%\\" | wc -m)" 128 "characters in the longest name"

# ---- the GRANT that the error suggests for an account without privileges fixes that account ----
name="ad\`'\"%\\ nopriv"
create_admin "$name" "$password" nogrant
set_credentials "$name" "$password"
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" failed "status of verify task $id without privileges"
error=$(task_field "$id" error)
assert_contains "$error" "has no privilege to create databases" "error of task $id"
grant=${error##*on the database server run: }
assert_eq "$grant" "GRANT ALL PRIVILEGES ON *.* TO 'ad\`\\'\\\"%\\\\ nopriv'@'localhost' WITH GRANT OPTION;" \
	"GRANT suggested by task $id"
mariadb_sql "$grant"
expect_verified "$name" "$password"

# ---- a wrong password: the account in the advice is quoted, and its GRANT names the existing account ----
name="ad\`'\"%\\@ min"
set_credentials "$name" "wrong-$password"
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" failed "status of verify task $id with a wrong password"
error=$(task_field "$id" error)
quoted="'ad\`\\'\"%\\\\@ min'@'localhost'"
assert_contains "$error" "the server saw the login as $quoted" "error of task $id"
assert_contains "$error" "CREATE USER $quoted IDENTIFIED BY '<password>';" "error of task $id"
grant=${error##*IDENTIFIED BY \'<password>\'; }
assert_eq "$grant" "GRANT ALL PRIVILEGES ON *.* TO $quoted WITH GRANT OPTION;" "GRANT suggested by task $id"
# MariaDB's default sql_mode has NO_AUTO_CREATE_USER, so this GRANT fails unless the account exists.
mariadb_sql "$grant"
no_password_in "$id" "$password"

# ---- a name over MariaDB's 128 characters: MariaDB, the schema and the worker all reject it ----
long=$(printf 'a%.0s' $(seq 1 129))
assert_contains "$(mariadb --no-defaults --socket="$MARIADB_SOCKET" -u root -e "CREATE USER '$long'@'localhost'" 2>&1 || true)" \
	"is too long for user name (should be no longer than 128)" "MariaDB's limit on user names"
assert_contains "$(set_credentials "$long" "$password" 2>&1 || true)" "db_credentials_admin_user_length" \
	"schema check of a 129-character admin_user"

# A row that predates the checks reaches the worker, which rejects it before connecting anywhere.
sql "ALTER TABLE provision.db_credentials DISABLE TRIGGER db_credentials_check,
     DROP CONSTRAINT db_credentials_admin_user_length,
     DROP CONSTRAINT db_credentials_admin_user_no_control_chars,
     DROP CONSTRAINT db_credentials_admin_password_length" >/dev/null

# expect_rejected WHAT USER PASSWORD NEEDLE: verify fails with NEEDLE before any connection.
expect_rejected() {
	local id error

	set_credentials "$2" "$3"
	id=$(run_task verify "$server")
	assert_eq "$(task_field "$id" status)" failed "status of verify task $id ($1)"
	error=$(task_field "$id" error)
	assert_contains "$error" "server db1: db credentials: $4" "error of task $id ($1)"
	assert_contains "$error" "provision.set_db_credentials" "error of task $id ($1)"
	assert_not_contains "$(task_messages "$id")" "connecting to" "log of task $id ($1)"
	no_password_in "$id" "$3"
}

expect_rejected "129 characters" "$long" "$password" "admin_user \"$long\" has 129 characters, more than the 128"
expect_rejected "a line break" $'ad\nmin' "$password" 'admin_user "ad\x0amin" contains a control character'
expect_rejected "a C1 control" $'ad\u0085min' "$password" 'admin_user "ad\xc2\x85min" contains a control character'
expect_rejected "no name" "" "$password" "admin_user is empty"
long_password="$password$(printf 'p%.0s' $(seq 1 1024))"
expect_rejected "a long password" 'ad`min' "$long_password" "admin_password has $(printf '%s' "$long_password" | wc -c) bytes"

# ---- no password anywhere ----
assert_eq "$(leftovers)" "" "test databases and users left on MariaDB"
assert_not_contains "$(cat "$TEST_DIR/d1.log")" "$random" "daemon log"
for pid in $(worker_pids_of d1); do
	assert_not_contains "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "$random" "command line of worker $pid"
	assert_not_contains "$(tr '\0' '\n' <"/proc/$pid/environ")" "$random" "environment of worker $pid"
done

stop_daemon d1
test_done
