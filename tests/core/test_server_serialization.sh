#!/bin/bash
# Tasks of one server never overlap, while tasks of different servers run
# in parallel.
. "$(dirname "$0")/../lib.sh"

test_setup migrate
write_config d1 "workers = 4" >/dev/null

for s in 1 2 3; do
	sql "INSERT INTO provision.servers (name, hostname) VALUES ('s$s', 's$s.example.test')" >/dev/null
done
servers=$(sql "SELECT string_agg(id::text, ' ' ORDER BY id) FROM provision.servers")
for round in 1 2 3; do
	for s in $servers; do
		enqueue noop '{"sleep_ms": 400}' "server_id=$s" >/dev/null
	done
done
# Two tasks without a server, which may run next to anything.
enqueue noop '{"sleep_ms": 400}' >/dev/null
enqueue noop '{"sleep_ms": 400}' >/dev/null

start_daemon_ready d1
wait_for "SELECT count(*) FROM provision.tasks WHERE status = 'succeeded'" 11 30 "the eleven tasks to succeed"

assert_eq "$(sql "SELECT count(*) FROM provision.tasks t JOIN provision.tasks u
	ON t.server_id = u.server_id AND t.id < u.id
	WHERE tstzrange(t.started_at, t.finished_at) && tstzrange(u.started_at, u.finished_at)")" 0 \
	"pairs of overlapping tasks of one server"
assert_ge "$(sql "SELECT count(*) FROM provision.tasks t JOIN provision.tasks u
	ON t.server_id <> u.server_id AND t.id < u.id
	WHERE tstzrange(t.started_at, t.finished_at) && tstzrange(u.started_at, u.finished_at)")" 3 \
	"pairs of overlapping tasks of different servers"
assert_ge "$(sql "SELECT count(*) FROM provision.tasks t JOIN provision.tasks u
	ON t.server_id IS NULL AND t.id <> u.id
	WHERE tstzrange(t.started_at, t.finished_at) && tstzrange(u.started_at, u.finished_at)")" 1 \
	"tasks overlapping a task without a server"
# Serial execution would take 11 x 0.4 s, and three servers in parallel about 1.2 s.
assert_le "$(sql "SELECT extract(epoch FROM max(finished_at) - min(started_at)) FROM provision.tasks")" 3.5 \
	"seconds from the first start to the last finish"
stop_daemon d1

test_done
