#!/bin/bash
# A sync interrupted by killing sshd mid-transfer leaves every file under
# its final name complete (old or new content), and the next run
# completes and removes the stale temporaries.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sync_lib.sh"

sync_test_setup
start_sshd sshd1
src=$TEST_DIR/src
dst=$TEST_DIR/remote/site
old=$TEST_DIR/old
mkdir -p "$src/big" "$src/small"
for i in 1 2 3; do
	head -c 40M /dev/urandom >"$src/big/file$i"
done
for i in $(seq 1 50); do
	echo "small $i" >"$src/small/$i.txt"
done
sync_ok "first sync" "$src" "$dst"
cp -a "$src" "$old"

# New content for every big file, so the interrupted run replaces files.
for i in 1 2 3; do
	head -c 40M /dev/urandom >"$src/big/file$i"
done

# Descendants of PID, deepest first, found by parent id.
descendants() {
	local child

	for child in $(pgrep -P "$1" || true); do
		descendants "$child"
		echo "$child"
	done
}

"$SYNC_TREE" --port "$SSHD_PORT" --key "$SSHD_KEY_ED25519" --known-hosts "$SSHD_KNOWN_HOSTS" \
	--user "$SSHD_USER" "$src" "$dst" >"$TEST_DIR/interrupted.out" 2>"$TEST_DIR/interrupted.err" &
sync_pid=$!

# Wait until a temporary contains at least 4 MB, then kill sshd and its sessions.
killed=""
for ((i = 0; i < 400; i++)); do
	temp=$(find "$dst/big" -name '.provisiond-tmp-*' -size +4M -print -quit 2>/dev/null || true)
	if [ -n "$temp" ]; then
		kill -KILL $(descendants "$SSHD_PID") "$SSHD_PID" 2>/dev/null || true
		killed=1
		break
	fi
	kill -0 "$sync_pid" 2>/dev/null || break
	sleep 0.05
done
[ -n "$killed" ] || die "the sync ended before a temporary reached 4 MB; nothing was interrupted"
log "killed sshd while $(basename "$temp") had $(stat -c %s "$temp") bytes"

rc=0
wait "$sync_pid" || rc=$?
assert_eq "$rc" 1 "exit status of the interrupted sync"
assert_contains "$(cat "$TEST_DIR/interrupted.err")" "server test" "error of the interrupted sync"

# Every file under its final name is complete: the old or the new version.
for i in 1 2 3; do
	f=$dst/big/file$i
	if ! cmp -s "$f" "$old/big/file$i" && ! cmp -s "$f" "$src/big/file$i"; then
		fail "big/file$i on the server is neither the old nor the new version ($(stat -c %s "$f") bytes)"
	fi
done
stale=$(temporaries_in "$dst" | wc -l)
assert_ge "$stale" 1 "temporaries left by the interrupted sync"

# The next run, through a new sshd, completes and cleans up.
start_sshd sshd2
sync_ok "sync after the interruption" "$src" "$dst"
assert_eq "$(stat_of temporaries_removed)" "$stale" "stale temporaries removed by the next sync"
assert_eq "$(temporaries_in "$dst")" "" "temporaries left after the next sync"
assert_same_tree "$src" "$dst" "tree after the next sync"

test_done
