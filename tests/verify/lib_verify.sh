# Helpers for the verify and restart tests: a throwaway SSH user with a
# login shell, its sudoers rule, and the fixtures that play the remote
# server (sshd, Apache, MariaDB) on loopback.
#
# Source it after tests/lib.sh and call verify_setup before anything else
# of it.  Everything made here is undone at exit: fixtures stopped, the
# sudoers file and the user removed.  These tests need root (to create
# the user and to run sshd for it) and skip otherwise.

FIXTURES=$TESTS_DIR/fixtures
TEST_USER=""
SUDOERS_FILE=""
SSHD_STARTED=""
APACHE_STARTED=""
MARIADB_STARTED=""
NGINX_STARTED=""

verify_teardown() {
	local rc=$1

	set +e
	if [ "$rc" != 0 ] && [ "$rc" != "$SKIP_CODE" ]; then
		for logfile in "$SSHD_LOG" "$APACHE_ERROR_LOG" "$NGINX_ERROR_LOG" "$MARIADB_LOG"; do
			[ -n "$logfile" ] && [ -f "$logfile" ] || continue
			echo "---- $logfile (last 40 lines) ----"
			tail -n 40 "$logfile"
		done
	fi
	[ -n "$APACHE_STARTED" ] && "$FIXTURES/apache-fixture" stop "$APACHE_STARTED"
	[ -n "$NGINX_STARTED" ] && "$FIXTURES/nginx-fixture" stop "$NGINX_STARTED"
	[ -n "$MARIADB_STARTED" ] && "$FIXTURES/mariadb-fixture" stop "$MARIADB_STARTED"
	[ -n "$SSHD_STARTED" ] && "$FIXTURES/sshd-fixture" stop "$SSHD_STARTED"
	[ -n "$SUDOERS_FILE" ] && rm -f "$SUDOERS_FILE"
	if [ -n "$TEST_USER" ]; then
		for _ in 1 2 3 4 5; do
			userdel "$TEST_USER" 2>/dev/null && break
			sleep 0.5
		done
		id "$TEST_USER" >/dev/null 2>&1 && log "could not remove user $TEST_USER; remove it with userdel" >&2
	fi
	(exit "$rc")
	cleanup
}

# Starts the test: root check, PostgreSQL with the schema, exit trap.
verify_setup() {
	require_root
	for program in /usr/sbin/sshd /usr/sbin/apache2 /usr/sbin/mariadbd sudo visudo useradd; do
		command -v "$program" >/dev/null || skip "$program is not installed; run scripts/install-deps"
	done
	SSHD_LOG="" APACHE_ERROR_LOG="" NGINX_ERROR_LOG="" MARIADB_LOG=""
	test_setup migrate
	trap 'verify_teardown $?' EXIT
}

# Creates user pvtest_<random> with login shell /bin/sh and a home in the
# test folder.  Its password is "*" (no password, not locked), because sshd
# without PAM refuses accounts locked with "!".
make_test_user() {
	local name home

	name=pvtest_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	home=$TEST_DIR/home
	# useradd fails while another test holds the lock on /etc/passwd.
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		useradd -M -d "$home" -s /bin/sh -p '*' "$name" 2>"$TEST_DIR/useradd.err" && break
		sleep 0.3
	done
	id "$name" >/dev/null 2>&1 || die "useradd $name failed: $(cat "$TEST_DIR/useradd.err")"
	TEST_USER=$name
	mkdir -p "$home"
	chown "$name:" "$home"
	log "created user $TEST_USER"
}

# set_sudoers LINE...: installs the given lines as the test's sudoers file
# after visudo accepted them; with no lines, removes the file.
set_sudoers() {
	local tmp=$TEST_DIR/sudoers.new

	SUDOERS_FILE=/etc/sudoers.d/$TEST_USER
	if [ $# = 0 ]; then
		rm -f "$SUDOERS_FILE"
		return 0
	fi
	printf '%s\n' "$@" >"$tmp"
	visudo -cqf "$tmp" || die "visudo rejected the sudoers lines: $*"
	chmod 0440 "$tmp"
	mv "$tmp" "$SUDOERS_FILE"
}

# Creates the test user with base_dir REMOTE (set here to $TEST_DIR/remote)
# and starts sshd for it: the part of the remote server every test needs.
setup_ssh_server() {
	make_test_user
	REMOTE=$TEST_DIR/remote
	make_remote_base "$REMOTE"
	start_sshd_fixture
}

# Prints a loopback TCP port on which nothing listens (bound, then released).
closed_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts sshd for the test user; sets the SSHD_* variables.
start_sshd_fixture() {
	local env_lines

	env_lines=$("$FIXTURES/sshd-fixture" start "$TEST_DIR/sshd" --login-user "$TEST_USER") ||
		die "the sshd fixture did not start"
	SSHD_STARTED=$TEST_DIR/sshd
	eval "$env_lines"
	log "sshd on port $SSHD_PORT for user $SSHD_USER"
}

# start_apache_fixture INCLUDE: starts Apache including file INCLUDE; sets the APACHE_* variables.
start_apache_fixture() {
	local env_lines

	env_lines=$("$FIXTURES/apache-fixture" start "$TEST_DIR/apache" --include "$1") ||
		die "the Apache fixture did not start"
	APACHE_STARTED=$TEST_DIR/apache
	eval "$env_lines"
	log "Apache on port $APACHE_PORT"
}

# start_nginx_fixture INCLUDE: starts nginx including file INCLUDE; sets the NGINX_* variables.
start_nginx_fixture() {
	local env_lines

	[ -x /usr/sbin/nginx ] || skip "nginx is not installed; run scripts/install-deps"
	env_lines=$("$FIXTURES/nginx-fixture" start "$TEST_DIR/nginx" --include "$1") ||
		die "the nginx fixture did not start"
	NGINX_STARTED=$TEST_DIR/nginx
	eval "$env_lines"
	log "nginx on port $NGINX_PORT"
}

start_mariadb_fixture() {
	local env_lines

	env_lines=$("$FIXTURES/mariadb-fixture" start "$TEST_DIR/mariadb") || die "the MariaDB fixture did not start"
	MARIADB_STARTED=$TEST_DIR/mariadb
	eval "$env_lines"
	log "MariaDB on port $MARIADB_PORT"
}

# Runs SQL as MariaDB's root over the fixture's socket and prints the result.
mariadb_sql() {
	mariadb --no-defaults --socket="$MARIADB_SOCKET" -u root -N -B -e "$1" || die "MariaDB SQL failed: $1"
}

# The test databases and users that verify left behind in MariaDB, one a line.
leftovers() {
	mariadb_sql "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'provision\\_verify\\_%'
	             UNION ALL SELECT CONCAT(user, '@', host) FROM mysql.user WHERE user LIKE 'pv\\_%'"
}

# no_password_in TASK_ID PASSWORD: neither PASSWORD nor any IDENTIFIED BY text is in the task's rows.
no_password_in() {
	local all

	all=$(sql "SELECT coalesce(error, '') || coalesce(result::text, '') FROM provision.tasks WHERE id = $1
	           UNION ALL SELECT message FROM provision.task_log WHERE task_id = $1")
	assert_not_contains "$all" "$2" "log, error and result of task $1"
	# Advice may show IDENTIFIED BY '<password>', a placeholder; no real password may follow it.
	all=${all//"IDENTIFIED BY '<password>'"/}
	assert_not_contains "$all" "IDENTIFIED BY '" "log, error and result of task $1"
}

# make_remote_base DIR: creates DIR/config owned by the test user.
make_remote_base() {
	mkdir -p "$1/config"
	chown -R "$TEST_USER:" "$1"
}

# add_server NAME BASE_DIR [HOSTNAME [SSH_PORT]]: inserts a server reached through the sshd fixture; prints its id.
add_server() {
	sql "INSERT INTO provision.servers (name, hostname, ssh_port, ssh_user, base_dir)
	     VALUES ('$1', '${3:-127.0.0.1}', ${4:-$SSHD_PORT}, '$TEST_USER', '$2') RETURNING id"
}

# add_service SERVER_ID KIND TYPE PORT SETTINGS_JSON
add_service() {
	sql "INSERT INTO provision.services (server_id, kind, type, port, settings)
	     VALUES ($1, '$2', '$3', $4, '$5'::jsonb)" >/dev/null
}

# The settings that point the web service's commands at the Apache fixture through sudo.
apache_settings() {
	printf '{"configtest_command": "sudo -n %s -t", "restart_command": "sudo -n %s -k graceful", "dump_includes_command": "sudo -n %s -t -D DUMP_INCLUDES"}' \
		"$APACHE_CTL" "$APACHE_CTL" "$APACHE_CTL"
}

# Writes the daemon config with the SSH key and known_hosts copies in the
# test folder, which tests replace to break one piece at a time.
write_verify_config() {
	cp "$SSHD_KEY_ED25519" "$TEST_DIR/id_key"
	cp "$SSHD_KNOWN_HOSTS" "$TEST_DIR/known_hosts"
	write_config d1 "workers = 2" "ssh_private_key = $TEST_DIR/id_key" \
		"ssh_known_hosts = $TEST_DIR/known_hosts" "$@" >/dev/null
}

# run_task TYPE SERVER_ID [ARGS [MAX_ATTEMPTS]]: enqueues a task, waits up
# to 90 s for it to finish and prints its id.
run_task() {
	local id args=${3:-'{}'}

	id=$(enqueue "$1" "$args" "server_id=$2" "max_attempts=${4:-1}")
	wait_for "SELECT status IN ('succeeded', 'warning', 'failed', 'cancelled') FROM provision.tasks WHERE id = $id" \
		t 90 "$1 task $id to finish"
	echo "$id"
}

# Prints the number of graceful restarts in the Apache fixture's error log.
graceful_count() {
	grep -c "Graceful restart requested" "$APACHE_ERROR_LOG" || true
}

# Prints the task's log as "level: message" lines.
task_log_text() {
	sql "SELECT level || ': ' || message FROM provision.task_log WHERE task_id = $1 ORDER BY id"
}
