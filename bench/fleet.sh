# A fleet of web servers on loopback for bench/fanout: one SSH user with
# a sudoers rule, one sshd for every 16 servers, and for each server its
# own address, base_dir, Apache and rows in provision.servers and
# provision.services.  Server N logs in to sshd N modulo the number of
# sshd processes.
#
# Source it after lib.sh, call fleet_start SERVERS after bench_setup, and
# call fleet_stop from the exit trap.  Needs root, because it creates a
# user and its sudoers rule and runs sshd for that user.

FIXTURES=$ROOT/tests/fixtures

# sshd listens on at most 16 sockets, so each sshd serves 16 addresses.
ADDRESSES_PER_SSHD=16

FLEET_USER=""
FLEET_SUDOERS=""
FLEET_SSHD_DIRS=()
FLEET_SSHD_PIDS=()
FLEET_SSHD_REAPERS=()
FLEET_APACHE_DIRS=()

# Prints the loopback address of server INDEX (from 0): 127.0.0.2 onwards,
# with 250 addresses for each value of the third octet, so that no
# address ends in .0, .1 or .255.
fleet_address() {
	echo "127.0.$(($1 / 250)).$(($1 % 250 + 2))"
}

fleet_name() {
	printf 'web%03d' "$(($1 + 1))"
}

# Creates user pvbench_<random> with login shell /bin/sh.  Its password is
# "*" (no password, not locked), because sshd without PAM rejects
# accounts locked with "!".
fleet_make_user() {
	local name

	name=pvbench_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	mkdir -p "$WORK_DIR/home"
	useradd -M -d "$WORK_DIR/home" -s /bin/sh -p '*' "$name" || die "useradd $name failed; its message is above"
	FLEET_USER=$name
	chown "$name:" "$WORK_DIR/home"
}

# Allows every server's apachectl through sudo with one rule.  A "*" in a
# sudoers path matches no "/" (checked with sudo 1.9.13), so the rule
# covers only $WORK_DIR/apache/<name>/apachectl.
fleet_write_sudoers() {
	local tmp=$WORK_DIR/sudoers.new

	echo "$FLEET_USER ALL=(root) NOPASSWD: $WORK_DIR/apache/*/apachectl" >"$tmp"
	visudo -cqf "$tmp" || die "visudo rejected the sudoers rule in $tmp"
	chmod 0440 "$tmp"
	FLEET_SUDOERS=/etc/sudoers.d/$FLEET_USER
	mv "$tmp" "$FLEET_SUDOERS"
}

# Starts the sshd fixture in DIR with ARGS under a shell that is a child
# subreaper, and waits for DIR.env.  sshd's privilege separation monitor
# may exit before the session process it forked, and init would then reap
# that session with all the commands it ran, out of sight of the CPU count.
# The subreaper reaps such orphans instead and exits when sshd has stopped.
fleet_reaped_sshd() {
	local dir=$1 i
	shift

	mkdir -p "$(dirname "$dir")"
	"$BENCH_DIR/subreaper" bash -c '
		"$@" >"$0.env" || { touch "$0.failed"; exit 1; }
		touch "$0.started"
		. "$0.env"
		while kill -0 "$SSHD_PID" 2>/dev/null; do sleep 1; done' "$dir" \
		"$FIXTURES/sshd-fixture" start "$dir" "$@" &
	FLEET_SSHD_REAPERS+=("$!")
	for ((i = 0; i < 300; i++)); do
		[ -e "$dir.started" ] && return 0
		[ -e "$dir.failed" ] && break
		sleep 0.1
	done
	die "the sshd fixture did not start in $dir within 30 s; its message is above"
}

# fleet_start_sshd NUMBER COUNT SERVERS: starts sshd NUMBER of COUNT for
# the servers whose index modulo COUNT is NUMBER, so that servers next to
# each other in the queue log in to different sshd processes, as on a
# fleet.  Sets SERVER_PORT for them and appends the host keys to
# $WORK_DIR/known_hosts.  Every sshd accepts the key of the first one,
# $WORK_DIR/id_ed25519.
fleet_start_sshd() {
	local number=$1 count=$2 servers=$3 dir=$WORK_DIR/sshd/$1 addresses="" i

	for ((i = number; i < servers; i += count)); do
		addresses+="${addresses:+,}$(fleet_address "$i")"
	done
	fleet_reaped_sshd "$dir" --login-user "$FLEET_USER" --listen "$addresses"
	FLEET_SSHD_DIRS+=("$dir")
	. "$dir.env"
	FLEET_SSHD_PIDS+=("$SSHD_PID")
	for ((i = number; i < servers; i += count)); do
		SERVER_PORT[i]=$SSHD_PORT
	done
	cat "$SSHD_KNOWN_HOSTS" >>"$WORK_DIR/known_hosts"
	if [ "$number" = 0 ]; then
		cp "$SSHD_KEY_ED25519" "$WORK_DIR/id_ed25519"
		cp "$dir/authorized_keys" "$WORK_DIR/authorized_keys"
	else
		cat "$WORK_DIR/authorized_keys" >"$dir/authorized_keys"
	fi
}

# Starts server INDEX's Apache and prints the SQL that adds the server
# and its web service.
fleet_add_server() {
	local index=$1 port=$2 name base apache settings

	name=$(fleet_name "$index")
	base=$WORK_DIR/remote/$name
	apache=$WORK_DIR/apache/$name
	mkdir -p "$base/config"
	chown -R "$FLEET_USER:" "$base"
	"$FIXTURES/apache-fixture" start "$apache" --include "$base/config/apache.conf" >/dev/null ||
		die "the Apache fixture did not start in $apache"
	FLEET_APACHE_DIRS+=("$apache")
	settings=$(printf '{"configtest_command": "sudo -n %s -t", "restart_command": "sudo -n %s -k graceful", "dump_includes_command": "sudo -n %s -t -D DUMP_INCLUDES"}' \
		"$apache/apachectl" "$apache/apachectl" "$apache/apachectl")
	echo "WITH s AS (INSERT INTO provision.servers (name, hostname, ssh_port, ssh_user, base_dir)
	      VALUES ('$name', '$(fleet_address "$index")', $port, '$FLEET_USER', '$base') RETURNING id)
	      INSERT INTO provision.services (server_id, kind, type, port, settings)
	      SELECT id, 'web', 'apache', 80, '$settings'::jsonb FROM s;"
}

# fleet_start SERVERS: sets up the remote side and adds the servers.
fleet_start() {
	local servers=$1 count i
	local -a SERVER_PORT=()

	count=$(((servers + ADDRESSES_PER_SSHD - 1) / ADDRESSES_PER_SSHD))
	fleet_make_user
	fleet_write_sudoers
	: >"$WORK_DIR/known_hosts"
	for ((i = 0; i < count; i++)); do
		fleet_start_sshd "$i" "$count" "$servers"
	done

	# The servers get their ids in index order, which is the queue's order.
	: >"$WORK_DIR/servers.sql"
	for ((i = 0; i < servers; i++)); do
		fleet_add_server "$i" "${SERVER_PORT[i]}" >>"$WORK_DIR/servers.sql"
	done
	psql_q -f "$WORK_DIR/servers.sql" >/dev/null || die "adding the servers failed; see $WORK_DIR/servers.sql"
	log "fleet: $servers servers on 127.0.0.2 to $(fleet_address $((servers - 1))), user $FLEET_USER," \
		"${#FLEET_SSHD_DIRS[@]} sshd, ${#FLEET_APACHE_DIRS[@]} Apache"
}

# Removes what a verify wrote, on the master and on the servers, so that
# every run verifies servers in the same state.
fleet_reset() {
	rm -rf "$WORK_DIR/config" "$WORK_DIR"/remote/*/config/*
	sql "UPDATE provision.servers SET verified_at = NULL" >/dev/null
}

# Prints the Apache parents' process ids, one a line.
fleet_apache_pids() {
	local dir

	for dir in "${FLEET_APACHE_DIRS[@]}"; do
		cat "$dir/run/apache2.pid" 2>/dev/null || true
	done
}

# Stops the servers in parallel (an Apache takes about 2 s to stop) and
# removes the sudoers rule and the user.  The wait also collects the sshd
# subreapers, which exit within 1 s of their sshd.
fleet_stop() {
	local dir

	for dir in "${FLEET_APACHE_DIRS[@]}"; do
		"$FIXTURES/apache-fixture" stop "$dir" &
	done
	for dir in "${FLEET_SSHD_DIRS[@]}"; do
		"$FIXTURES/sshd-fixture" stop "$dir" &
	done
	wait
	[ -n "$FLEET_SUDOERS" ] && rm -f "$FLEET_SUDOERS"
	if [ -n "$FLEET_USER" ]; then
		for _ in 1 2 3 4 5; do
			userdel "$FLEET_USER" 2>/dev/null && break
			sleep 0.5
		done
		id "$FLEET_USER" >/dev/null 2>&1 && log "could not remove user $FLEET_USER; remove it with userdel"
	fi
	return 0
}
