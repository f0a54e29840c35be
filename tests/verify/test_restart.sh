#!/bin/bash
# The restart task against a real sshd, sudo and Apache.  It runs the
# configtest and then a graceful restart, and never restarts after a failed
# configtest.  A failed restart fails the task with Apache's output, and
# bad args are rejected with an error naming the field.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_verify.sh"

verify_setup
setup_ssh_server
start_apache_fixture "$REMOTE/config/apache.conf"
set_sudoers "$TEST_USER ALL=(root) NOPASSWD: $APACHE_CTL"
write_verify_config
start_daemon_ready d1

server=$(add_server web1 "$REMOTE")
add_service "$server" web apache 80 "$(apache_settings)"
bare=$(add_server bare1 "$REMOTE")

# ---- success, with the default and the explicit service ----
for args in '{}' '{"service": "web"}'; do
	before=$(graceful_count)
	id=$(run_task restart "$server" "$args")
	assert_eq "$(task_field "$id" status)" succeeded "status of restart task $id (args $args)"
	assert_eq "$(task_field "$id" "result->>'restarted'")" true "result.restarted of task $id"
	assert_eq "$(graceful_count)" $((before + 1)) "graceful restarts of Apache after task $id"
	messages=$(task_messages "$id")
	assert_contains "$messages" "configtest passed" "log of task $id"
	assert_contains "$messages" "the web server reloaded its configuration" "log of task $id"
done

# ---- bad args, each rejected before connecting ----
check_bad_args() {
	local args=$1 needle=$2 id

	id=$(run_task restart "$server" "$args")
	assert_eq "$(task_field "$id" status)" failed "status of restart task $id (args $args)"
	assert_contains "$(task_field "$id" error)" "$needle" "error of restart task $id (args $args)"
	assert_not_contains "$(task_messages "$id")" "connecting to" "log of restart task $id (args $args)"
}
check_bad_args '{"service": "mail"}' 'args.service "mail" is not a service kind; use "web"'
check_bad_args '{"service": 5}' 'args.service must be a string'
check_bad_args '{"service": "db"}' 'args.service "db" cannot be restarted'
check_bad_args '{"sevice": "web"}' 'args.sevice is not a restart argument'

# ---- a server without a web service ----
id=$(run_task restart "$bare")
assert_eq "$(task_field "$id" status)" failed "status of restart task $id without a web service"
assert_contains "$(task_field "$id" error)" "server bare1 has no web service" "error of restart task $id"

# ---- Apache serves the new configuration after a restart ----
# served_text: the body Apache sends for a missing page, set by ErrorDocument.
served_text() {
	curl -s --max-time 2 "http://127.0.0.1:$APACHE_PORT/provision-missing-page" || true
}

# wait_served TEXT: waits up to 5 s for Apache's graceful reload to serve TEXT.
wait_served() {
	for _ in $(seq 1 50); do
		[ "$(served_text)" = "$1" ] && return 0
		sleep 0.1
	done
	return 0
}

mkdir -p "$REMOTE/config/server_web1/pre.d"
printf 'Include "%s/config/server_web1/pre.d/*"\n' "$REMOTE" >"$REMOTE/config/apache.conf"
for version in one two; do
	echo "ErrorDocument 404 \"provision-check-$version\"" >"$REMOTE/config/server_web1/pre.d/served.conf"
	id=$(run_task restart "$server")
	assert_eq "$(task_field "$id" status)" succeeded "status of restart task $id (configuration $version)"
	wait_served "provision-check-$version"
	assert_eq "$(served_text)" "provision-check-$version" "page served after restart task $id"
done

# ---- a failed configtest: Apache's message, no restart, and Apache keeps serving ----
echo "BrokenDirective on" >"$REMOTE/config/server_web1/pre.d/broken.conf"
before=$(graceful_count)
id=$(run_task restart "$server")
assert_eq "$(task_field "$id" status)" failed "status of restart task $id with a broken configuration"
error=$(task_field "$id" error)
assert_contains "$error" "server web1: configtest:" "error of restart task $id"
assert_contains "$error" "Invalid command 'BrokenDirective'" "error of restart task $id"
assert_eq "$(graceful_count)" "$before" "graceful restarts after a failed configtest"
assert_not_contains "$(task_messages "$id")" "restart: running" "log of restart task $id"
assert_eq "$(served_text)" "provision-check-two" "page served after the failed configtest of task $id"

# ---- a failed restart: only the restart defines PROVISION_BROKEN ----
printf '<IfDefine PROVISION_BROKEN>\nBrokenDirective on\n</IfDefine>\n' >"$REMOTE/config/server_web1/pre.d/broken.conf"
sql "UPDATE provision.services SET settings = settings || jsonb_build_object('restart_command',
     'sudo -n $APACHE_CTL -k graceful -D PROVISION_BROKEN') WHERE server_id = $server" >/dev/null
before=$(graceful_count)
id=$(run_task restart "$server")
assert_eq "$(task_field "$id" status)" failed "status of restart task $id with a failing restart"
error=$(task_field "$id" error)
assert_contains "$error" "server web1: restart:" "error of restart task $id"
assert_contains "$error" "Invalid command 'BrokenDirective'" "error of restart task $id"
assert_eq "$(graceful_count)" "$before" "graceful restarts after a failed restart"

stop_daemon d1
test_done
