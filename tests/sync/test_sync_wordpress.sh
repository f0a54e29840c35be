#!/bin/bash
# Sync tasks through the real daemon copy the WordPress tree to a server
# (a folder on this machine behind a private sshd), then carry a changed,
# an added and a deleted file, and a second run transfers nothing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sync_lib.sh"

test_setup migrate
trap sync_cleanup EXIT
start_sshd sshd

master=$TEST_DIR/master
server=$TEST_DIR/server
platform=$master/platforms/wordpress
mkdir -p "$master/platforms" "$server"
"$WORDPRESS_TREE" "$platform" || exit $?
log "WordPress tree: $(find "$platform" -type f | wc -l) files"

config=$(write_config d1 "ssh_private_key = $SSHD_KEY_ED25519" "ssh_known_hosts = $SSHD_KNOWN_HOSTS")
drop_setting "$config" base_dir
echo "base_dir = $master" >>"$config"
start_daemon_ready d1

server_id=$(sql "INSERT INTO provision.servers (name, hostname, ssh_port, ssh_user, base_dir)
	VALUES ('web1', '127.0.0.1', $SSHD_PORT, '$SSHD_USER', '$server') RETURNING id")

# run_sync ARGS: enqueues a sync task for web1, waits until it ends and prints its id.
run_sync() {
	local id

	id=$(enqueue sync "$1" "server_id=$server_id")
	wait_for "SELECT status NOT IN ('queued', 'running') FROM provision.tasks WHERE id = $id" t 90 \
		"sync task $id to end" >&2
	echo "$id"
}

result_of() {
	task_field "$1" "result->>'$2'"
}

# ---- first sync ----
id=$(run_sync '{"path": "platforms/wordpress"}')
assert_eq "$(task_field "$id" status)" succeeded "status of the first sync"
assert_eq "$(task_field "$id" "error IS NULL")" t "the first sync has no error"
files=$(find "$platform" -type f | wc -l)
links=$(find "$platform" -type l | wc -l)
dirs=$(find "$platform" -mindepth 1 -type d | wc -l)
assert_eq "$(result_of "$id" files_copied)" "$files" "result.files_copied of the first sync"
assert_eq "$(result_of "$id" links)" "$links" "result.links of the first sync"
assert_eq "$(result_of "$id" dirs_created)" "$dirs" "result.dirs_created of the first sync"
assert_eq "$(result_of "$id" bytes)" "$(find "$platform" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')" \
	"result.bytes of the first sync"
assert_eq "$(result_of "$id" deleted)" 0 "result.deleted of the first sync"
assert_eq "$(result_of "$id" remote)" "$server/platforms/wordpress" "result.remote of the first sync"
log "first sync: $(result_of "$id" seconds) s"
assert_same_tree "$platform" "$server/platforms/wordpress" "server tree after the first sync"
messages=$(task_messages "$id")
assert_contains "$messages" "syncing $platform to $server/platforms/wordpress on web1" "log of the first sync"
assert_contains "$messages" "sync done in" "log of the first sync"
assert_contains "$messages" "$files files copied" "log of the first sync"

# ---- no change: nothing is transferred ----
id=$(run_sync '{"path": "platforms/wordpress"}')
assert_eq "$(task_field "$id" status)" succeeded "status of the second sync"
assert_eq "$(result_of "$id" files_copied)" 0 "result.files_copied of a sync without changes"
assert_eq "$(result_of "$id" bytes)" 0 "result.bytes of a sync without changes"
assert_eq "$(result_of "$id" unchanged)" $((files + links)) "result.unchanged of a sync without changes"

# ---- a changed, an added and a deleted file ----
changed=$platform/usr/share/wordpress/wp-includes/version.php
echo "// changed by the test" >>"$changed"
echo "<?php // added" >"$platform/usr/share/wordpress/wp-content-added.php"
deleted=$(find "$platform" -type f -name '*.css' | sort | sed -n 1p)
rm "$deleted"
id=$(run_sync "{\"path\": \"$platform\"}")
assert_eq "$(task_field "$id" status)" succeeded "status of the sync after changes (absolute path)"
assert_eq "$(result_of "$id" files_copied)" 2 "result.files_copied after a change and an addition"
assert_eq "$(result_of "$id" deleted)" 1 "result.deleted after a deletion"
assert_same_tree "$platform" "$server/platforms/wordpress" "server tree after changes"

# ---- excludes and delete off through args ----
mkdir -p "$platform/.git"
echo ref >"$platform/.git/HEAD"
echo log >"$platform/debug.log"
rm "$platform/usr/share/wordpress/wp-content-added.php"
id=$(run_sync '{"path": "platforms/wordpress/", "exclude": ["*.log"], "delete": false, "checksum": true}')
assert_eq "$(task_field "$id" status)" succeeded "status of the sync with excludes"
[ ! -e "$server/platforms/wordpress/.git" ] || fail ".git was copied by default"
[ ! -e "$server/platforms/wordpress/debug.log" ] || fail "an excluded file was copied"
[ -f "$server/platforms/wordpress/usr/share/wordpress/wp-content-added.php" ] ||
	fail "delete false removed a file"
assert_eq "$(result_of "$id" files_copied)" 0 "result.files_copied of the sync with excludes"
assert_contains "$(task_messages "$id")" "delete off, content comparison, 1 exclude patterns" \
	"log of the sync with excludes"

stop_daemon d1
test_done
