#!/bin/bash
# Sync tasks with invalid arguments fail before connecting, with an error
# that names the value and the fix.
. "$(dirname "$0")/../lib.sh"

test_setup migrate
master=$TEST_DIR/master
mkdir -p "$master/platforms/site" "$TEST_DIR/elsewhere/sub" "$TEST_DIR/master2/x"
ln -s /tmp "$master/platforms/escape"
ln -s "$TEST_DIR/elsewhere" "$master/platforms/via-link"

config=$(write_config d1 "workers = 4")
drop_setting "$config" base_dir
echo "base_dir = $master" >>"$config"
start_daemon_ready d1

# Nothing listens on this server's port, so a task that got as far as
# connecting would fail with "connection refused" instead.
server_id=$(sql "INSERT INTO provision.servers (name, hostname, ssh_port, ssh_user, base_dir)
	VALUES ('web1', '127.0.0.1', 1, 'nobody', '$TEST_DIR/server') RETURNING id")

# Each case: args, then a text the error must contain.
cases=(
	'{"path": "../etc"}'				'args.path "../etc" contains ".."'
	'{"path": "platforms/../../etc"}'		'give the folder'"'"'s path under '"$master"' without ".."'
	'{"path": "/etc/passwd"}'			'args.path "/etc/passwd" is outside base_dir '"$master"
	"{\"path\": \"$TEST_DIR/master2/x\"}"		"args.path \"$TEST_DIR/master2/x\" is outside base_dir"
	'{"path": ""}'					'args.path is empty; give a folder under base_dir'
	'{"path": "/"}'					'args.path "/" is outside base_dir '"$master"
	"{\"path\": \"$master\"}"			"args.path \"$master\" is base_dir itself"
	"{\"path\": \"$master//./\"}"			"is base_dir itself"
	'{"path": "."}'					'args.path "." is base_dir itself'
	'{"path": 42}'					'args.path must be a string, such as "platforms/wordpress"; found a number'
	'{"path": ["platforms/site"]}'			'args.path must be a string'
	'{}'						'args.path is missing'
	'{"path": "platforms/site", "exclude": "*.log"}' 'args.exclude must be an array of strings'
	'{"path": "platforms/site", "exclude": ["ok", 1]}' 'args.exclude[1] must be a string'
	'{"path": "platforms/site", "exclude": [""]}'	'args.exclude[0] is invalid: an exclude pattern must not be empty'
	'{"path": "platforms/site", "delete": "yes"}'	'args.delete must be true or false; found a string'
	'{"path": "platforms/site", "checksum": 1}'	'args.checksum must be true or false'
	'{"path": "platforms/site", "dry_run": true}'	'args.dry_run is not a sync argument'
	'{"path": "platforms/escape"}'			'platforms/escape is a symbolic link, not a folder'
	'{"path": "platforms/via-link/sub"}'		"resolves to $TEST_DIR/elsewhere/sub, which is outside base_dir"
	'{"path": "platforms/missing"}'			'platforms/missing, cannot be read: No such file or directory'
)

ids=()
for ((i = 0; i < ${#cases[@]}; i += 2)); do
	ids+=("$(enqueue sync "${cases[i]}" "server_id=$server_id")")
done

for ((i = 0; i < ${#cases[@]}; i += 2)); do
	id=${ids[i / 2]}
	wait_for "SELECT status FROM provision.tasks WHERE id = $id" failed 30 "task $id (${cases[i]}) to fail"
	assert_contains "$(task_field "$id" error)" "${cases[i + 1]}" "error of args ${cases[i]}"
	assert_eq "$(task_field "$id" attempts)" 1 "attempts of args ${cases[i]}"
	assert_not_contains "$(task_messages "$id")" "connecting to" "log of args ${cases[i]}"
done

stop_daemon d1
test_done
