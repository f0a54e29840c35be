#!/bin/bash
# A worker that writes a message longer than the protocol allows, with or
# without a newline, is killed with an error naming the limit, its task
# ends instead of hanging, and the daemon goes on with real workers.
. "$(dirname "$0")/../lib.sh"

test_setup migrate

# A fake worker that reports ready, reads one request and replies with
# a log event just over 4 MiB.  MODE "newline" ends the line, so that it
# is valid JSON of the wrong size; "endless" never ends it.
fake_worker() {
	local file=$TEST_DIR/fake-worker-$1

	cat >"$file" <<SH
#!/bin/bash
printf '{"op":"ready","pid":%d}\n' \$\$ >&4
IFS= read -r request <&3
id=\$(grep -o '"id":[0-9]*' <<<"\$request" | head -n 1 | cut -d: -f2)
# Built first and written by one cat, so that the end of the line tends
# to arrive in the same read as the byte that passes the limit.
{
	printf '{"op":"log","id":%s,"level":"info","message":"' "\$id"
	head -c $((4 * 1024 * 1024)) /dev/zero | tr '\0' 'x'
	[ "$1" = newline ] && printf '"}\n'
} >"\$0.line"
cat "\$0.line" >&4
sleep 30
SH
	chmod +x "$file"
	echo "$file"
}

for mode in newline endless; do
	write_config "$mode" "worker_program = $(fake_worker "$mode")" "workers = 1" >/dev/null
	start_daemon_ready "$mode"
	id=$(enqueue noop '{}')
	wait_log "$mode" "message longer than 4194304 bytes" 20
	wait_for "SELECT count(*) FROM provision.tasks WHERE id = $id AND status = 'running'" 0 20 \
		"the task of the worker that broke the protocol ($mode) to leave running"
	assert_contains "$(daemon_log "$mode")" "broke the protocol" "daemon log ($mode)"
	assert_eq "$(daemon_running "$mode" && echo yes)" yes "daemon alive after the bad worker ($mode)"
	stop_daemon "$mode"
	sql "UPDATE provision.tasks SET status = 'cancelled', finished_at = now()
	     WHERE id = $id AND status = 'queued'" >/dev/null
done

write_config real >/dev/null
start_daemon_ready real
id=$(enqueue noop '{}')
wait_for "SELECT status FROM provision.tasks WHERE id = $id" succeeded 20 "a task on real workers"
stop_daemon real

test_done
