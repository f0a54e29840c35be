#!/bin/bash
# verify on a server with an nginx web service, against a real sshd, sudo
# and nginx: nginx.conf is written, copied, tested, reloaded and found in
# nginx -T.  A server whose configuration nginx does not include ends with
# a warning, and a broken configuration fails before the reload.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib_verify.sh"

verify_setup
setup_ssh_server
start_nginx_fixture "$REMOTE/config/nginx.conf"
set_sudoers "$TEST_USER ALL=(root) NOPASSWD: $NGINX_CTL"
write_verify_config
start_daemon_ready d1

settings=$(printf '{"configtest_command": "sudo -n %s -t", "restart_command": "sudo -n %s -s reload", "dump_includes_command": "sudo -n %s -T"}' \
	"$NGINX_CTL" "$NGINX_CTL" "$NGINX_CTL")
server=$(add_server web1 "$REMOTE")
add_service "$server" web nginx 80 "$settings"

reload_count() {
	grep -c "(SIGHUP) received" "$NGINX_ERROR_LOG" || true
}

# ---- success ----
before=$(reload_count)
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" succeeded "status of verify task $id"
assert_eq "$(task_field "$id" "result->'web'->>'included'")" true "result.web.included of task $id"
assert_eq "$(reload_count)" $((before + 1)) "nginx reloads after verify"
assert_contains "$(cat "$REMOTE/config/nginx.conf")" "include \"$REMOTE/config/server_web1/nginx.conf\";" \
	"config/nginx.conf on the server"
assert_contains "$(cat "$REMOTE/config/server_web1/nginx.conf")" "include \"$REMOTE/config/server_web1/vhost.d/*\";" \
	"server_web1/nginx.conf on the server"
assert_contains "$(task_messages "$id")" "lists $REMOTE/config/server_web1/nginx.conf" "log of task $id"

# ---- nginx does not include the configuration of a second base_dir ----
make_remote_base "$TEST_DIR/remote2"
server2=$(add_server web2 "$TEST_DIR/remote2")
add_service "$server2" web nginx 80 "$settings"
id=$(run_task verify "$server2")
assert_eq "$(task_field "$id" status)" warning "status of verify task $id without the include"
assert_contains "$(sql "SELECT message FROM provision.task_log WHERE task_id = $id AND level = 'warning'")" \
	"add \"include $TEST_DIR/remote2/config/nginx.conf;\" to the http block" "warning of task $id"

# ---- a broken configuration: nginx's message, and no reload ----
# The broken file goes into the master copy, which verify syncs to the server.
echo "broken_directive on;" >"$TEST_DIR/config/server_web1/pre.d/broken.conf"
before=$(reload_count)
id=$(run_task verify "$server")
assert_eq "$(task_field "$id" status)" failed "status of verify task $id with a broken configuration"
error=$(task_field "$id" error)
assert_contains "$error" "server web1: configtest:" "error of task $id"
assert_contains "$error" "unknown directive \"broken_directive\"" "error of task $id"
assert_eq "$(reload_count)" "$before" "nginx reloads after a failed configtest"

stop_daemon d1
test_done
