#!/bin/bash
# provisiond -t accepts a valid file and rejects invalid ones with the line
# and key.  It prints the libraries of the daemon and, through
# provisiond-worker --versions, of the worker, and rejects a worker_program
# that is not provisiond-worker.  The daemon exits on a database without the
# current schema.
. "$(dirname "$0")/../lib.sh"

test_setup

# check_config NAME: runs provisiond -t on $TEST_DIR/NAME.conf and sets
# OUTPUT and STATUS.
check_config() {
	STATUS=0
	OUTPUT=$("$PROVISIOND" -t -c "$TEST_DIR/$1.conf" 2>&1) || STATUS=$?
}

# ---- a valid file ----
write_config valid "workers = 3" "log_level = debug" >/dev/null
check_config valid
assert_eq "$STATUS" 0 "exit status of provisiond -t on a valid file (output: $OUTPUT)"
assert_contains "$OUTPUT" "workers = 3" "effective settings printed by provisiond -t"
assert_contains "$OUTPUT" "is valid" "verdict printed by provisiond -t"
assert_contains "$OUTPUT" "# libpq " "daemon library versions printed by provisiond -t"
assert_contains "$OUTPUT" "# provisiond-worker " "worker version printed by provisiond -t"
assert_contains "$OUTPUT" "# libssh2 " "worker libssh2 support printed by provisiond -t"
assert_contains "$OUTPUT" "user keys:" "worker libssh2 support printed by provisiond -t"
assert_contains "$OUTPUT" "# MariaDB Connector/C " "worker library versions printed by provisiond -t"

# ---- a worker_program that runs but is not provisiond-worker ----
write_config not_worker "worker_program = /bin/false" >/dev/null
check_config not_worker
assert_ne "$STATUS" 0 "exit status of provisiond -t with worker_program /bin/false"
assert_contains "$OUTPUT" "/bin/false --versions exited with status 1" "error for worker_program /bin/false"

# ---- invalid files: each case is a name, the bad line, and the key ----
# write_config writes five lines, so the bad line is line 6.
cases=(
	"unknown_key|frobnicate = 1|frobnicate"
	"workers_zero|workers = 0|workers"
	"workers_huge|workers = 100000|workers"
	"workers_text|workers = four|workers"
	"quote_open|log_level = \"info|log_level"
	"quote_close|log_level = info\"|log_level"
	"no_equals|workers 4|workers 4"
	"duplicate|poll_interval = 1|poll_interval"
)
for entry in "${cases[@]}"; do
	IFS='|' read -r name line key <<<"$entry"
	# Appended by hand, because write_config would replace a default setting instead of repeating it.
	echo "$line" >>"$(write_config "$name")"
	check_config "$name"
	assert_ne "$STATUS" 0 "exit status of provisiond -t with \"$line\""
	assert_contains "$OUTPUT" "$name.conf:6:" "line number in the error for \"$line\""
	assert_contains "$OUTPUT" "$key" "key in the error for \"$line\""
done

write_config no_database >/dev/null
drop_setting "$TEST_DIR/no_database.conf" database
check_config no_database
assert_ne "$STATUS" 0 "exit status of provisiond -t without database"
assert_contains "$OUTPUT" "no_database.conf" "file name in the error for a missing database"
assert_contains "$OUTPUT" "\"database\" is missing" "error for a missing database"

STATUS=0
OUTPUT=$("$PROVISIOND" -t -c "$TEST_DIR/absent.conf" 2>&1) || STATUS=$?
assert_ne "$STATUS" 0 "exit status of provisiond -t with a file that does not exist"
assert_contains "$OUTPUT" "absent.conf" "file name in the error for a file that does not exist"

# ---- a database without the schema ----
write_config d1 >/dev/null
start_daemon d1
wait_daemon_exit d1 20 || die "daemon d1 still runs 20 s after it started on a database without the schema"
assert_ne "${DAEMON_EXIT[d1]}" 0 "exit status of a daemon on a database without the schema"
assert_contains "$(daemon_log d1)" "provisionctl" "log of a daemon on a database without the schema"
assert_contains "$(daemon_log d1)" "migrate" "log of a daemon on a database without the schema"

# ---- a database with an older schema ----
migrate
sql "DELETE FROM provision.schema_migrations WHERE version = (SELECT max(version) FROM provision.schema_migrations)" >/dev/null
write_config d2 >/dev/null
start_daemon d2
wait_daemon_exit d2 20 || die "daemon d2 still runs 20 s after it started on an older schema"
assert_ne "${DAEMON_EXIT[d2]}" 0 "exit status of a daemon on an older schema"
assert_contains "$(daemon_log d2)" "provisionctl" "log of a daemon on an older schema"
assert_contains "$(daemon_log d2)" "migrate" "log of a daemon on an older schema"

test_done
