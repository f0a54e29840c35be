# Helpers for the sync tests, sourced after tests/lib.sh: private sshd
# servers, the sync-tree program (env SYNC_TREE) and tree comparison.

SSHD_FIXTURE=$TESTS_DIR/fixtures/sshd-fixture
WORDPRESS_TREE=$TESTS_DIR/fixtures/wordpress-tree
SSHD_DIRS=()

if [ -z "${SYNC_TREE:-}" ] || [ ! -x "$SYNC_TREE" ]; then
	echo "$TEST_NAME: SYNC_TREE must name the sync-tree program (got \"${SYNC_TREE:-}\"); run the tests through ctest" >&2
	exit 2
fi
[ -x /usr/sbin/sshd ] || { echo "$TEST_NAME: SKIP: /usr/sbin/sshd not found (openssh-server)"; exit 77; }

# Stops every sshd this test started, then runs lib.sh's cleanup with the
# exit status.  set +e comes first because "(exit $rc)" would otherwise end
# the trap before cleanup stops PostgreSQL and the daemons.
sync_cleanup() {
	local rc=$? dir

	set +e
	for dir in "${SSHD_DIRS[@]}"; do
		"$SSHD_FIXTURE" stop "$dir" >/dev/null 2>&1 || true
	done
	(exit "$rc")
	cleanup
}

# For tests without PostgreSQL: makes TEST_DIR and sets the exit trap.
sync_test_setup() {
	TEST_DIR=$(mktemp -d /tmp/provisiond-test.XXXXXX)
	trap sync_cleanup EXIT
}

# start_sshd NAME: starts an sshd in $TEST_DIR/NAME and sets the SSHD_* variables.
start_sshd() {
	local dir=$TEST_DIR/$1

	"$SSHD_FIXTURE" start "$dir" >"$TEST_DIR/$1.env" || die "the sshd fixture did not start"
	SSHD_DIRS+=("$dir")
	. "$dir/env"
	log "sshd on port $SSHD_PORT"
}

# sync_tree [OPTION...] LOCAL REMOTE: runs sync-tree against the current
# sshd and sets SYNC_OUT (the statistics line) and SYNC_ERR; returns its exit status.
sync_tree() {
	local rc=0

	"$SYNC_TREE" --port "$SSHD_PORT" --key "$SSHD_KEY_ED25519" --known-hosts "$SSHD_KNOWN_HOSTS" \
		--user "$SSHD_USER" "$@" >"$TEST_DIR/sync.out" 2>"$TEST_DIR/sync.err" || rc=$?
	SYNC_OUT=$(cat "$TEST_DIR/sync.out")
	SYNC_ERR=$(cat "$TEST_DIR/sync.err")
	return "$rc"
}

# sync_ok WHAT [OPTION...] LOCAL REMOTE: runs sync_tree and records a failure if it fails.
sync_ok() {
	local what=$1
	shift

	if ! sync_tree "$@"; then
		fail "$what: sync-tree failed: $SYNC_ERR"
	fi
}

# Prints the value of KEY from the last statistics line.
stat_of() {
	echo "$SYNC_OUT" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# Lists a tree NUL-separated: path, type and, for all but symbolic links,
# mode and modification time in seconds; for links the target.  SFTP cannot
# set the time of a link, so links are compared by target only.
tree_listing() {
	(cd "$1" && find . -mindepth 1 \( -type l -printf '%P\tl\t%l\0' \) -o -printf '%P\t%y\t%m\t%Ts\0' | sort -z)
}

# assert_same_tree SRC DST WHAT: same content (diff -r, links not followed),
# types, modes, times and link targets.
assert_same_tree() {
	local src=$1 dst=$2 what=$3 diff_out

	if ! diff_out=$(diff -r --no-dereference "$src" "$dst" 2>&1); then
		fail "$what: contents differ: $(echo "$diff_out" | head -n 5)"
	fi
	if ! cmp -s <(tree_listing "$src") <(tree_listing "$dst"); then
		fail "$what: types, modes, times or link targets differ: $(diff <(tree_listing "$src" | tr '\0' '\n') \
			<(tree_listing "$dst" | tr '\0' '\n') | head -n 6 | tr '\n' ' ')"
	fi
}

# Prints the paths of leftover temporaries under DIR.
temporaries_in() {
	find "$1" -name '.provisiond-tmp-*' -print
}
