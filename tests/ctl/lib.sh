# Helpers for the provisionctl tests, sourced by each test_*.sh.
#
# The test gets a fresh database, named after the script, in the cluster
# that the ctl_pg ctest fixture started in $PG_DIR.  Every check prints
# "ok: NAME" or "FAIL: NAME" with the output of the last provisionctl run,
# and finish prints the totals and sets the exit status.

set -u

: "${PROVISIONCTL:?set PROVISIONCTL to the provisionctl binary}"
: "${PG_DIR:?set PG_DIR to the folder of a cluster started by tests/fixtures/pg-fixture}"

export PGHOST=127.0.0.1
export PGPORT
PGPORT=$(cat "$PG_DIR/port") || exit 1
export PGUSER=provision
export PGOPTIONS="-c client_min_messages=warning"

TEST_DB=ctl_$(basename "$0" .sh)
DB="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$TEST_DB"
WORK=$(mktemp -d)
checks_passed=0
checks_failed=0

dropdb --if-exists --force "$TEST_DB" || exit 1
createdb "$TEST_DB" || exit 1

cleanup() {
	# Background simulations of the daemon must not outlive the test.
	local pids
	pids=$(jobs -p)
	[ -n "$pids" ] && kill $pids 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# Runs provisionctl against the test database; sets $status, $WORK/out and
# $WORK/err.  A run that hangs is killed after 30 seconds (status 124).
ctl() {
	timeout 30 "$PROVISIONCTL" -d "$DB" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
	status=$?
}

# Like ctl, with standard input from the caller.
ctl_stdin() {
	timeout 30 "$PROVISIONCTL" -d "$DB" "$@" >"$WORK/out" 2>"$WORK/err"
	status=$?
}

# Runs one SQL statement and prints the rows unaligned, without headers.
sql() {
	psql -d "$DB" -qAtX -v ON_ERROR_STOP=1 -c "$1"
}

# Plays the daemon for task ID: marks it running, logs "first line" and
# "second line", then sets status FINAL and error ERROR (an SQL literal).
play_task() {
	local id=$1 final=$2 error=$3

	sleep 0.3
	sql "UPDATE provision.tasks SET status = 'running', started_at = now() WHERE id = $id"
	sql "INSERT INTO provision.task_log (task_id, level, message) VALUES ($id, 'info', 'first line')"
	sleep 0.2
	sql "INSERT INTO provision.task_log (task_id, level, message) VALUES ($id, 'warning', 'second line')"
	sleep 0.2
	sql "UPDATE provision.tasks SET status = '$final', error = $error, finished_at = now() WHERE id = $id"
}

# Waits up to 10 seconds for a task with an id above AFTER, then plays it like play_task.
play_next_task() {
	local after=$1 id=""

	for _ in $(seq 1 100); do
		id=$(sql "SELECT min(id) FROM provision.tasks WHERE id > $after")
		[ -n "$id" ] && break
		sleep 0.1
	done
	[ -n "$id" ] || return 1
	play_task "$id" "$2" "$3"
}

# Prints the highest task id, 0 when there is no task.
last_task_id() {
	sql "SELECT coalesce(max(id), 0) FROM provision.tasks"
}

# check NAME COMMAND...: passes when COMMAND exits 0.
check() {
	local name=$1
	shift
	if "$@"; then
		checks_passed=$((checks_passed + 1))
		echo "ok: $name"
		return
	fi
	checks_failed=$((checks_failed + 1))
	echo "FAIL: $name"
	echo "  status: ${status:-none}"
	sed 's/^/  stdout: /' "$WORK/out" 2>/dev/null | head -n 20
	sed 's/^/  stderr: /' "$WORK/err" 2>/dev/null | head -n 20
}

# Checks the exit status of the last ctl run.
check_status() {
	check "$1 exits $2" test "$status" = "$2"
}

# Checks that the standard error of the last ctl run contains TEXT.
check_stderr() {
	check "$1 says \"$2\"" grep -qF -- "$2" "$WORK/err"
}

# Checks that the standard output of the last ctl run contains TEXT.
check_stdout() {
	check "$1 prints \"$2\"" grep -qF -- "$2" "$WORK/out"
}

# Checks that FILE (default: the last standard output) is one valid JSON document.
check_json() {
	check "$1 prints valid JSON" python3 -m json.tool "${2:-$WORK/out}" /dev/null
}

# Checks that the last standard output is one or more lines, each a valid JSON document.
check_json_lines() {
	check "$1 prints JSON lines" python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines
for line in lines:
    json.loads(line)' "$WORK/out"
}

# Prints the value at PATH (keys and indexes separated by "."), from FILE or the last standard output.
json_value() {
	python3 -c '
import json, sys
value = json.load(open(sys.argv[2]))
for step in filter(None, sys.argv[1].split(".")):
    value = value[int(step)] if isinstance(value, list) else value[step]
print(json.dumps(value) if isinstance(value, (dict, list, bool)) or value is None else value)' "$1" "${2:-$WORK/out}"
}

# Prints the totals, drops the database and exits 1 if a check failed.
finish() {
	echo "$checks_passed passed, $checks_failed failed"
	dropdb --if-exists --force "$TEST_DB"
	[ "$checks_failed" = 0 ]
	exit
}
