#!/bin/bash
# verify on a server with an Apache web service, against a real sshd,
# sudo and Apache: the configuration is written on the master, copied,
# tested, reloaded and found among Apache's includes.  Then one piece at a
# time breaks: the include, the configuration, the restart and sudo.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_verify.sh"

verify_setup
setup_ssh_server
remote=$REMOTE
start_apache_fixture "$remote/config/apache.conf"
set_sudoers "$TEST_USER ALL=(root) NOPASSWD: $APACHE_CTL"
write_verify_config
start_daemon_ready d1

server=$(add_server web1 "$remote")
add_service "$server" web apache 80 "$(apache_settings)"

# ---- success ----
before=$(graceful_count)
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" succeeded "status of verify task $id"
assert_eq "$(task_field "$id" "error IS NULL")" t "verify task $id has no error"
assert_eq "$(task_field "$id" "result->>'verified'")" true "result.verified of task $id"
assert_eq "$(task_field "$id" "result->'web'->>'included'")" true "result.web.included of task $id"
assert_eq "$(graceful_count)" $((before + 1)) "graceful restarts of Apache after verify"
messages=$(task_messages "$id")
assert_contains "$messages" "login shell of $TEST_USER runs commands" "log of task $id"
assert_contains "$messages" "base_dir: $remote with config/ exists" "log of task $id"
assert_contains "$messages" "configtest passed" "log of task $id"
assert_contains "$messages" "the dump of 4 lines lists $remote/config/server_web1/apache.conf" "log of task $id"
assert_eq "$(test -f "$TEST_DIR/config/server_web1/apache.conf" && echo yes)" yes \
	"the master has config/server_web1/apache.conf"
for sub in pre.d platform.d vhost.d post.d; do
	assert_eq "$(test -d "$remote/config/server_web1/$sub" && echo yes)" yes "remote folder server_web1/$sub"
done
assert_eq "$(cmp -s "$TEST_DIR/config/server_web1/apache.conf" "$remote/config/server_web1/apache.conf" && echo same)" \
	same "the server's copy of apache.conf"
assert_contains "$(cat "$remote/config/apache.conf")" "Include \"$remote/config/server_web1/apache.conf\"" \
	"config/apache.conf on the server"
assert_eq "$(stat -c %U "$remote/config/server_web1/apache.conf")" "$TEST_USER" "owner of the copied apache.conf"

# A file of the master's vhost.d reaches the server with the next verify.
echo "# site example.com" >"$TEST_DIR/config/server_web1/vhost.d/example.com"
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" succeeded "status of verify task $id with a vhost file"
assert_eq "$(cat "$remote/config/server_web1/vhost.d/example.com" 2>&1)" "# site example.com" \
	"vhost file copied to the server"

# ---- Apache does not include the configuration: a warning names the file to link ----
remote2=$TEST_DIR/remote2
make_remote_base "$remote2"
server2=$(add_server web2 "$remote2")
add_service "$server2" web apache 80 "$(apache_settings)"
id=$(run_task verify "$server2")
assert_eq "$(task_field "$id" status)" warning "status of verify task $id without the include"
assert_eq "$(task_field "$id" "result->>'verified'")" false "result.verified of task $id"
warning=$(sql "SELECT message FROM provision.task_log WHERE task_id = $id AND level = 'warning'")
assert_contains "$warning" "server web2: include check: Apache does not read $remote2/config/server_web2/apache.conf" \
	"warning of task $id"
assert_contains "$warning" "ln -s $remote2/config/apache.conf /etc/apache2/conf-enabled/aegir.conf" \
	"warning of task $id names the file to link"

# ---- the configtest fails: Apache's message, no restart ----
# The broken file goes into the master copy, which verify syncs to the server.
echo "BrokenDirective on" >"$TEST_DIR/config/server_web1/pre.d/broken.conf"
before=$(graceful_count)
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" failed "status of verify task $id with a broken configuration"
error=$(task_field "$id" error)
assert_contains "$error" "server web1: configtest:" "error of task $id names server and step"
assert_contains "$error" "Invalid command 'BrokenDirective'" "error of task $id carries Apache's message"
assert_contains "$error" "the web server was not restarted" "error of task $id"
assert_eq "$(graceful_count)" "$before" "graceful restarts after a failed configtest"
assert_contains "$(task_log_text "$id")" "notice: AH00526: Syntax error on line 1 of $remote/config/server_web1/pre.d/broken.conf" \
	"log of task $id holds Apache's output"
rm "$TEST_DIR/config/server_web1/pre.d/broken.conf"

# ---- the restart fails: only the restart defines PROVISION_BROKEN ----
cat >"$TEST_DIR/config/server_web1/pre.d/broken.conf" <<'CONF'
<IfDefine PROVISION_BROKEN>
BrokenDirective on
</IfDefine>
CONF
sql "UPDATE provision.services SET settings = settings || jsonb_build_object('restart_command',
     'sudo -n $APACHE_CTL -k graceful -D PROVISION_BROKEN') WHERE server_id = $server" >/dev/null
before=$(graceful_count)
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" failed "status of verify task $id with a failing restart"
error=$(task_field "$id" error)
assert_contains "$error" "server web1: restart:" "error of task $id names server and step"
assert_contains "$error" "exit status 1" "error of task $id names the exit status"
assert_contains "$error" "Invalid command 'BrokenDirective'" "error of task $id carries Apache's output"
assert_eq "$(graceful_count)" "$before" "graceful restarts after a failed restart"
rm "$TEST_DIR/config/server_web1/pre.d/broken.conf"
sql "UPDATE provision.services SET settings = settings - 'restart_command' || jsonb_build_object('restart_command',
     'sudo -n $APACHE_CTL -k graceful') WHERE server_id = $server" >/dev/null

# ---- sudo: rule missing, rule for another path, requiretty ----
for case in missing other-path requiretty; do
	case $case in
	missing) set_sudoers ;;
	other-path) set_sudoers "$TEST_USER ALL=(root) NOPASSWD: /usr/sbin/apache2ctl" ;;
	requiretty) set_sudoers "Defaults:$TEST_USER requiretty" "$TEST_USER ALL=(root) NOPASSWD: $APACHE_CTL" ;;
	esac
	started=$(date +%s%N)
	id=$(run_task verify "$server")
	assert_le "$(seconds_since "$started")" 30 "seconds until verify fails with sudo case $case"
	assert_eq "$(task_field "$id" status)" failed "status of verify task $id (sudo case $case)"
	error=$(task_field "$id" error)
	assert_contains "$error" "server web1: configtest:" "error of task $id (sudo case $case)"
	if [ "$case" = requiretty ]; then
		assert_contains "$error" "sudo requires a terminal (Defaults requiretty)" "error of task $id"
		assert_contains "$error" "Defaults:$TEST_USER !requiretty" "error of task $id names the fix"
	else
		assert_contains "$error" "sudo asked for a password" "error of task $id (sudo case $case)"
		assert_contains "$error" "$TEST_USER ALL=NOPASSWD: $APACHE_CTL" "error of task $id names the rule"
	fi
done
set_sudoers "$TEST_USER ALL=(root) NOPASSWD: $APACHE_CTL"

# ---- an invalid command setting names the field ----
sql "UPDATE provision.services SET settings = '{\"configtest_command\": 5}' WHERE server_id = $server" >/dev/null
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" failed "status of verify task $id with a bad setting"
assert_contains "$(task_field "$id" error)" "settings.configtest_command of the web service must be" \
	"error of task $id"
sql "UPDATE provision.services SET settings = '$(apache_settings)'::jsonb WHERE server_id = $server" >/dev/null

# ---- a replaced configtest without a dump command skips the include check ----
sql "UPDATE provision.services SET settings = settings - 'dump_includes_command' WHERE server_id = $server" >/dev/null
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" succeeded "status of verify task $id without a dump command"
assert_eq "$(task_field "$id" "result->'web'->'included'")" null "result.web.included of task $id"
assert_contains "$(task_log_text "$id")" "notice: include check skipped: configtest_command is set but dump_includes_command is not" \
	"log of task $id"
sql "UPDATE provision.services SET settings = '$(apache_settings)'::jsonb WHERE server_id = $server" >/dev/null

# ---- and it passes again; the server's config folder mirrors the master's ----
echo "# left on the server by hand" >"$remote/config/server_web1/vhost.d/stray.conf"
echo "# a vhost written on the master" >"$TEST_DIR/config/server_web1/vhost.d/site1.conf"
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" succeeded "status of verify task $id after the repairs"
assert_eq "$(test -e "$remote/config/server_web1/vhost.d/stray.conf" && echo present)" "" \
	"file on the server that the master does not have"
assert_eq "$(cat "$remote/config/server_web1/vhost.d/site1.conf" 2>/dev/null)" "# a vhost written on the master" \
	"vhost file synced from the master"

stop_daemon d1
test_done
