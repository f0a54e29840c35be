# Shared helpers for the integration tests: a throwaway PostgreSQL cluster,
# daemons run in the background, SQL polling and assertions.
#
# Source it from a test script.  The binaries come from the environment
# (tests/CMakeLists.txt sets them): PROVISIOND, PROVISIOND_WORKER and
# PROVISIONCTL.  A test calls test_setup, then its checks, then test_done.
# Assertions record a failure and let the test go on; die and a timed-out
# wait_for stop the test at once.  On any failure the exit trap prints the
# logs of every daemon the test started.

set -euo pipefail

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_FIXTURE=$TESTS_DIR/fixtures/pg-fixture
TEST_NAME=$(basename "$0" .sh)

# ctest treats this exit status as "skipped" (SKIP_RETURN_CODE).
SKIP_CODE=77

TEST_DIR=""
PG_DIR=""
DB=""
FAILURES=0
declare -A DAEMON_PID=()
declare -A DAEMON_EXIT=()

for var in PROVISIOND PROVISIOND_WORKER PROVISIONCTL; do
	if [ -z "${!var:-}" ] || [ ! -x "${!var}" ]; then
		echo "$TEST_NAME: $var must name an executable (got \"${!var:-}\"); run the tests through ctest" >&2
		exit 2
	fi
done

log() {
	echo "[$(date +%T.%3N)] $TEST_NAME: $*"
}

# Stops the test at once with a failure.
die() {
	log "FAIL: $*" >&2
	exit 1
}

# Records a failed check.  The test goes on and fails at test_done.  The
# assertions below return 0 even when they fail, so that set -e does not end
# the test at the first failed check.
fail() {
	log "FAIL: $*" >&2
	FAILURES=$((FAILURES + 1))
}

skip() {
	log "SKIP: $*"
	exit "$SKIP_CODE"
}

require_root() {
	[ "$(id -u)" = 0 ] || skip "this test must run as root"
}

# ---- assertions ----

assert_eq() {
	local actual=$1 expected=$2 what=$3

	if [ "$actual" != "$expected" ]; then
		fail "$what: expected \"$expected\", got \"$actual\""
	fi
}

assert_ne() {
	local actual=$1 unexpected=$2 what=$3

	if [ "$actual" = "$unexpected" ]; then
		fail "$what: got \"$actual\", which it must not be"
	fi
}

# assert_contains TEXT NEEDLE WHAT: TEXT contains NEEDLE as a fixed string.
assert_contains() {
	local text=$1 needle=$2 what=$3

	if [[ "$text" != *"$needle"* ]]; then
		fail "$what: expected text containing \"$needle\", got \"$text\""
	fi
}

assert_not_contains() {
	local text=$1 needle=$2 what=$3

	if [[ "$text" == *"$needle"* ]]; then
		fail "$what: expected text without \"$needle\", got \"$text\""
	fi
}

# assert_le ACTUAL MAX WHAT: numeric comparison, decimals allowed.
assert_le() {
	local actual=$1 max=$2 what=$3

	if ! awk -v a="$actual" -v m="$max" 'BEGIN { exit !(a <= m) }'; then
		fail "$what: expected at most $max, got $actual"
	fi
}

assert_ge() {
	local actual=$1 min=$2 what=$3

	if ! awk -v a="$actual" -v m="$min" 'BEGIN { exit !(a >= m) }'; then
		fail "$what: expected at least $min, got $actual"
	fi
}

# ---- PostgreSQL ----

psql_q() {
	psql -qAtX -v ON_ERROR_STOP=1 "$@"
}

# Runs SQL and prints the result.  The test stops if the statement fails.
sql() {
	psql_q -c "$1" || die "SQL failed: $1"
}

# wait_for SQL EXPECTED TIMEOUT [WHAT]: polls SQL every 0.1 s until it prints
# EXPECTED.  After TIMEOUT seconds it stops the test with the last value seen.
wait_for() {
	local query=$1 expected=$2 timeout=$3 what=${4:-$1}
	local deadline last=""

	deadline=$(($(date +%s%N) + timeout * 1000000000))
	while :; do
		last=$(psql_q -c "$query" 2>&1) || true
		[ "$last" = "$expected" ] && return 0
		[ "$(date +%s%N)" -ge "$deadline" ] && break
		sleep 0.1
	done
	die "timed out after ${timeout}s waiting for $what: expected \"$expected\", last got \"$last\""
}

# Prints the seconds elapsed since $1 (a value of date +%s%N), with decimals.
seconds_since() {
	awk -v s="$1" -v n="$(date +%s%N)" 'BEGIN { printf "%.2f", (n - s) / 1e9 }'
}

pg_bindir() {
	ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1
}

# Runs a command as the owner of the cluster, as pg-fixture does.
as_pg_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# Restarts the test cluster with a fast shutdown, which drops every connection.
pg_restart() {
	as_pg_owner "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgresql.log" \
		-m fast -w -t 60 restart >/dev/null || die "pg_ctl restart failed"
}

# ---- setup and teardown ----

cleanup() {
	local rc=$?

	set +e
	for name in "${!DAEMON_PID[@]}"; do
		kill_daemon "$name" TERM 5 >/dev/null 2>&1
	done
	if [ "$rc" != 0 ] && [ "$rc" != "$SKIP_CODE" ] && [ -n "$TEST_DIR" ]; then
		for logfile in "$TEST_DIR"/*.log; do
			[ -f "$logfile" ] || continue
			echo "---- $(basename "$logfile") (last 150 lines) ----"
			tail -n 150 "$logfile"
		done
		if [ -f "$PG_DIR/postgresql.log" ]; then
			echo "---- postgresql.log (last 30 lines) ----"
			tail -n 30 "$PG_DIR/postgresql.log"
		fi
	fi
	[ -n "$PG_DIR" ] && "$PG_FIXTURE" stop "$PG_DIR" >/dev/null 2>&1
	[ -n "$TEST_DIR" ] && rm -rf "$TEST_DIR"
	exit "$rc"
}

# Makes the temp dir and starts the cluster; with "migrate" it also applies
# the schema.
test_setup() {
	local env_lines

	TEST_DIR=$(mktemp -d /tmp/provisiond-test.XXXXXX)
	# Under root the cluster runs as user postgres, which must reach PG_DIR.
	chmod 755 "$TEST_DIR"
	PG_DIR=$TEST_DIR/pg
	trap cleanup EXIT

	env_lines=$("$PG_FIXTURE" start "$PG_DIR") || die "the PostgreSQL fixture did not start"
	eval "$env_lines"
	export PGHOST PGPORT PGUSER PGDATABASE
	DB="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE"
	log "PostgreSQL on port $PGPORT, files in $TEST_DIR"

	if [ "${1:-}" = migrate ]; then
		migrate
	fi
}

migrate() {
	"$PROVISIONCTL" -d "$DB" migrate >"$TEST_DIR/migrate.out" 2>&1 ||
		die "provisionctl migrate failed: $(cat "$TEST_DIR/migrate.out")"
}

# Ends the test: exit 1 if any check failed or a sanitizer reported an
# error in any daemon or worker log (under ENABLE_SANITIZERS).
test_done() {
	local logfile

	for logfile in "$TEST_DIR"/*.log; do
		[ -f "$logfile" ] || continue
		if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$logfile"; then
			fail "sanitizer report in $(basename "$logfile"): $(grep -m1 -E "Sanitizer|runtime error:" "$logfile")"
		fi
	done
	if [ "$FAILURES" -gt 0 ]; then
		log "$FAILURES check(s) failed"
		exit 1
	fi
	log "all checks passed"
	exit 0
}

# ---- daemons ----

# write_config NAME [LINE...]: writes $TEST_DIR/NAME.conf with the settings
# every test needs and then the given lines, which may override them.
write_config() {
	local name=$1 file=$TEST_DIR/$1.conf key
	shift

	{
		echo "database = \"$DB\""
		echo "worker_program = $PROVISIOND_WORKER"
		echo "poll_interval = 0.2"
		echo "base_dir = $TEST_DIR"
		echo "state_dir = $TEST_DIR/state"
	} >"$file"
	for line in "$@"; do
		# A given setting replaces the default above instead of repeating it.
		key=${line%%=*}
		key=${key// /}
		[ -n "$key" ] && sed -i "/^$key *=/d" "$file"
		echo "$line" >>"$file"
	done
	echo "$file"
}

# Removes a setting from a config (to override one that write_config set).
drop_setting() {
	sed -i "/^$2 *=/d" "$1"
}

# start_daemon NAME [CONFIG]: runs provisiond in the background with its
# output in $TEST_DIR/NAME.log.
start_daemon() {
	local name=$1 config=${2:-$TEST_DIR/$1.conf}

	"$PROVISIOND" -c "$config" >>"$TEST_DIR/$name.log" 2>&1 &
	DAEMON_PID[$name]=$!
	unset "DAEMON_EXIT[$name]"
	log "started daemon $name (pid ${DAEMON_PID[$name]})"
}

daemon_pid() {
	echo "${DAEMON_PID[$1]}"
}

daemon_log() {
	cat "$TEST_DIR/$1.log"
}

daemon_running() {
	local pid=${DAEMON_PID[$1]:-}

	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# wait_log NAME TEXT TIMEOUT: waits until the daemon's log contains TEXT.
wait_log() {
	local name=$1 text=$2 timeout=$3 i

	for ((i = 0; i < timeout * 10; i++)); do
		grep -qF -- "$text" "$TEST_DIR/$name.log" 2>/dev/null && return 0
		sleep 0.1
	done
	die "timed out after ${timeout}s waiting for \"$text\" in the log of daemon $name"
}

# Starts a daemon and waits until it has connected and begun claiming.
start_daemon_ready() {
	start_daemon "$@"
	wait_log "$1" "connected to the database; claiming tasks" 20
}

# wait_daemon_exit NAME TIMEOUT: waits for the daemon to exit and sets
# DAEMON_EXIT[NAME] to its exit status.  Returns 1 if it is still running.
wait_daemon_exit() {
	local name=$1 timeout=$2 pid=${DAEMON_PID[$1]:-} i rc

	[ -n "$pid" ] || return 0
	for ((i = 0; i < timeout * 10; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			rc=0
			wait "$pid" || rc=$?
			DAEMON_EXIT[$name]=$rc
			unset "DAEMON_PID[$name]"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# kill_daemon NAME SIGNAL TIMEOUT: sends SIGNAL and waits for the exit.
# After TIMEOUT seconds it sends SIGKILL and returns 1.
kill_daemon() {
	local name=$1 signal=$2 timeout=$3 pid=${DAEMON_PID[$1]:-}

	[ -n "$pid" ] || return 0
	kill -"$signal" "$pid" 2>/dev/null || true
	if wait_daemon_exit "$name" "$timeout"; then
		return 0
	fi
	kill -KILL "$pid" 2>/dev/null || true
	wait_daemon_exit "$name" 5 || true
	return 1
}

# Stops a daemon with SIGTERM and checks that it exits 0 within TIMEOUT.
stop_daemon() {
	local name=$1 timeout=${2:-20}

	if ! kill_daemon "$name" TERM "$timeout"; then
		fail "daemon $name did not exit within ${timeout}s of SIGTERM"
		return 0
	fi
	assert_eq "${DAEMON_EXIT[$name]}" 0 "exit status of daemon $name after SIGTERM"
}

# Prints the pids of the daemon's worker processes, one a line.
worker_pids_of() {
	pgrep -P "${DAEMON_PID[$1]}" || true
}

# ---- tasks ----

# enqueue TYPE ARGS [COLUMN=VALUE...]: inserts a task by plain SQL and prints
# its id.  Each extra argument is a column and an SQL expression.
enqueue() {
	local type=$1 args=$2 columns="type, args" values
	shift 2

	values="'$type', '$args'::jsonb"
	for pair in "$@"; do
		columns+=", ${pair%%=*}"
		values+=", ${pair#*=}"
	done
	sql "INSERT INTO provision.tasks ($columns) VALUES ($values) RETURNING id"
}

task_field() {
	sql "SELECT $2 FROM provision.tasks WHERE id = $1"
}

task_messages() {
	sql "SELECT message FROM provision.task_log WHERE task_id = $1 ORDER BY id"
}
