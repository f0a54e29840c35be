#!/bin/bash
# Invalid tasks fail with an error that names the field at fault, and a
# valid task after them still succeeds.
. "$(dirname "$0")/../lib.sh"

test_setup migrate
write_config d1 "workers = 2" >/dev/null
start_daemon_ready d1

# Each case: type, args, the text the error must contain.
cases=(
	"frobnicate|{}|type \"frobnicate\" is not a task type"
	"verify|{}|server_id is missing"
	"noop|[1, 2]|args must be a JSON object"
	"noop|\"text\"|args must be a JSON object"
	"noop|42|args must be a JSON object"
	"noop|{\"sleep_ms\": \"x\"}|args.sleep_ms"
	"noop|{\"warn\": 1}|args.warn"
	"noop|{\"log\": -1}|args.log"
	"noop|{\"bogus\": true}|args.bogus"
	"noop|{\"sleep_ms\": 1e400}|args could not be passed to a worker"
	"noop|{\"sleep_ms\": 99999999999999999999999}|args could not be passed to a worker"
)
ids=()
for entry in "${cases[@]}"; do
	IFS='|' read -r type args _ <<<"$entry"
	ids+=("$(enqueue "$type" "$args")")
done
ctrl=$(sql "INSERT INTO provision.tasks (type) VALUES (E'bad\\ntype\\twith\\x01controls') RETURNING id")
huge=$(sql "INSERT INTO provision.tasks (type, args)
	VALUES ('noop', jsonb_build_object('big', repeat('x', 5 * 1024 * 1024))) RETURNING id")
deep=$(sql "INSERT INTO provision.tasks (type, args)
	VALUES ('noop', ('{\"a\": ' || repeat('[', 3000) || repeat(']', 3000) || '}')::jsonb) RETURNING id")
# jsonb keeps the last of duplicate keys, so the task gets only sleep_ms: "x".
twice=$(enqueue noop '{"sleep_ms": 1, "sleep_ms": "x"}')
good=$(enqueue noop '{"log": 1}')

wait_for "SELECT count(*) FROM provision.tasks WHERE status IN ('queued', 'running')" 0 20 "every task to finish"

for i in "${!cases[@]}"; do
	IFS='|' read -r type args needle <<<"${cases[$i]}"
	id=${ids[$i]}
	what="task $id (type $type, args $args)"
	assert_eq "$(task_field "$id" status)" failed "status of $what"
	assert_contains "$(task_field "$id" "coalesce(error, '')")" "$needle" "error of $what"
	assert_eq "$(task_field "$id" attempts)" 1 "attempts of $what (invalid input is not retried)"
	assert_contains "$(sql "SELECT string_agg(level || ': ' || message, E'\n' ORDER BY id)
		FROM provision.task_log WHERE task_id = $id")" "error: " "log of $what"
	assert_contains "$(sql "SELECT coalesce(string_agg(message, E'\n'), '') FROM provision.task_log
		WHERE task_id = $id AND level = 'error'")" "$needle" "error log row of $what"
done
assert_contains "$(task_field "${ids[3]}" error)" "a string" "error of the task whose args are a string"
assert_contains "$(task_field "${ids[2]}" error)" "an array" "error of the task whose args are an array"

assert_eq "$(task_field "$huge" status)" failed "status of the task with 5 MB of args"
assert_contains "$(task_field "$huge" error)" "args are too large" "error of the task with 5 MB of args"
assert_eq "$(task_field "$deep" status)" failed "status of the task with args nested 3000 deep"
assert_contains "$(task_field "$deep" error)" "at most 2048 levels of nesting" \
	"error of the task with args nested 3000 deep"
assert_eq "$(task_field "$twice" "args::text")" '{"sleep_ms": "x"}' "stored args with a duplicate key"
assert_contains "$(task_field "$twice" error)" "args.sleep_ms" "error of the task with a duplicate key"
assert_contains "$(psql_q -c "INSERT INTO provision.tasks (type, args)
	VALUES ('noop', '{\"a\": \"x\\u0000y\"}')" 2>&1)" "unsupported Unicode escape sequence" \
	"insert of args with a NUL byte in a string"
assert_contains "$(task_field "$ctrl" error)" "is not a task type" "error of the task whose type has control characters"
assert_eq "$(task_field "$ctrl" "position(E'\\n' IN error)")" 0 \
	"newlines in the error of the task whose type has control characters"
assert_eq "$(grep -c $'\x01' "$TEST_DIR/d1.log" || true)" 0 \
	"raw control characters from a task type in the daemon log"
assert_eq "$(grep -c $'^type\twith' "$TEST_DIR/d1.log" || true)" 0 \
	"daemon log lines started by a newline in a task type"

assert_eq "$(task_field "$good" status)" succeeded "status of the valid task $good after the invalid ones"
assert_eq "$(daemon_running d1 && echo yes)" yes "daemon d1 still runs"
stop_daemon d1

test_done
