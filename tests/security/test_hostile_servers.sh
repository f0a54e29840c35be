#!/bin/bash
# Server rows whose fields could be read as options or shell syntax are
# rejected by the schema with an error naming the constraint, and valid
# unusual values (IPv6 addresses, dots and dashes) are accepted.
. "$(dirname "$0")/../lib.sh"

test_setup migrate

# insert_server NAME HOSTNAME PORT USER BASE_DIR: prints the error, or "ok".
insert_server() {
	psql -qAtX -v ON_ERROR_STOP=1 \
		-v name="$1" -v host="$2" -v port="$3" -v user="$4" -v dir="$5" >/dev/null 2>"$TEST_DIR/err" <<'SQL' && echo ok || cat "$TEST_DIR/err"
INSERT INTO provision.servers (name, hostname, ssh_port, ssh_user, base_dir)
VALUES (:'name', :'host', :'port', :'user', :'dir');
SQL
}

while IFS='|' read -r what name host port user dir constraint; do
	assert_contains "$(insert_server "$name" "$host" "$port" "$user" "$dir")" "$constraint" "$what"
done <<'CASES'
name with a semicolon|web1;reboot|127.0.0.1|22|aegir|/var/aegir|servers_name_valid
name with a space|web 1|127.0.0.1|22|aegir|/var/aegir|servers_name_valid
name with a leading dash|-oProxyCommand=x|127.0.0.1|22|aegir|/var/aegir|servers_name_valid
hostname with a leading dash|web1|-oProxyCommand=sh|22|aegir|/var/aegir|servers_hostname_valid
hostname with shell syntax|web1|$(reboot)|22|aegir|/var/aegir|servers_hostname_valid
hostname with a space|web1|a b|22|aegir|/var/aegir|servers_hostname_valid
port zero|web1|127.0.0.1|0|aegir|/var/aegir|servers_ssh_port_check
port too high|web1|127.0.0.1|65536|aegir|/var/aegir|servers_ssh_port_check
user with an at sign|web1|127.0.0.1|22|aegir@evil|/var/aegir|servers_ssh_user_valid
user with a semicolon|web1|127.0.0.1|22|aegir;id|/var/aegir|servers_ssh_user_valid
relative base_dir|web1|127.0.0.1|22|aegir|var/aegir|servers_base_dir_valid
base_dir with dot-dot|web1|127.0.0.1|22|aegir|/var/aegir/../etc|servers_base_dir_valid
base_dir ending in dot-dot|web1|127.0.0.1|22|aegir|/var/..|servers_base_dir_valid
CASES

newline=$(insert_server "web1" $'127.0.0.1\nevil' 22 aegir /var/aegir)
assert_contains "$newline" "servers_hostname_valid" "hostname with a newline"
tab_dir=$(insert_server "web1" 127.0.0.1 22 aegir $'/var/aegir\tx')
assert_contains "$tab_dir" "servers_base_dir_valid" "base_dir with a control character"

assert_eq "$(insert_server web-1.example 192.0.2.7 2222 aegir /srv/aegir)" ok "ordinary server"
assert_eq "$(insert_server v6 ::1 22 _aegir /var/aegir)" ok "IPv6 loopback hostname"
assert_eq "$(sql "SELECT count(*) FROM provision.servers")" 2 "servers stored"

test_done
