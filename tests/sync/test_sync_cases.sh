#!/bin/bash
# The sync engine through sync-tree against a real sshd: awkward names,
# symbolic links, modes and times, empty folders, excludes, delete on and
# off, type changes, checksum mode, the mv -f fallback and stale
# temporaries.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/sync_lib.sh"

sync_test_setup
start_sshd sshd
src=$TEST_DIR/src
dst=$TEST_DIR/remote/site
outside=$TEST_DIR/outside
mkdir -p "$src" "$outside"
echo "outside data" >"$outside/secret.txt"

# ---- awkward names ----
mkdir -p "$src/dir with space" "$src/empty/nested/deeper" "$src/-dash-dir"
echo a >"$src/with space.txt"
printf 'b\n' >"$src/new"$'\n'"line"
echo c >"$src/it's \"quoted\""
echo d >"$src/-leading-dash"
echo e >"$src/"$'\xff\xfe'" not utf-8"
echo f >"$src/\$(touch pwned)"
echo g >"$src/dir with space/*star?"
echo h >"$src/-dash-dir/back\\slash"
echo i >"$src/semi;colon&amp|pipe"

# ---- modes and times ----
mkdir -p "$src/modes/locked"
echo secret >"$src/modes/private"
chmod 600 "$src/modes/private"
echo run >"$src/modes/script"
chmod 755 "$src/modes/script"
echo ro >"$src/modes/locked/readonly"
chmod 444 "$src/modes/locked/readonly"
chmod 555 "$src/modes/locked"
chmod 750 "$src/modes"
touch -d "2001-02-03 04:05:06" "$src/modes/private" "$src/with space.txt"
touch -h -d "2002-01-01" "$src/empty/nested"

# ---- symbolic links ----
mkdir -p "$src/sub"
echo target >"$src/sub/file"
ln -s sub/file "$src/inside-link"
ln -s "$outside" "$src/outside-abs"
ln -s ../../outside/secret.txt "$src/sub/outside-rel"
ln -s does/not/exist "$src/dangling"
ln -s sub "$src/dir-link"

# ---- excludes and version control ----
mkdir -p "$src/.git/objects" "$src/plugins/x/.svn" "$src/cache" "$src/other/cache" "$src/logs"
echo obj >"$src/.git/objects/1"
echo svn >"$src/plugins/x/.svn/entries"
echo kept >"$src/plugins/x/kept.php"
echo c >"$src/cache/c1"
echo c >"$src/other/cache/c2"
echo "a file named cache" >"$src/logs/cache"
echo l >"$src/logs/debug.log"
echo top >"$src/top-only.txt"
echo nested >"$src/sub/top-only.txt"

# Reserved names and special files are skipped on the master.
echo reserved >"$src/.provisiond-tmp-mine"
mkfifo "$src/fifo"

# Something on the server that must not be followed: where the master has a
# folder, the server has a symbolic link to a folder outside.
mkdir -p "$dst" "$TEST_DIR/victim"
ln -s "$TEST_DIR/victim" "$dst/sub"

excludes=(--exclude '*.log' --exclude 'cache/' --exclude '/top-only.txt')
sync_ok "first sync" "${excludes[@]}" "$src" "$dst"
assert_eq "$(stat_of skipped)" 2 "entries skipped in the first sync (the reserved name and the FIFO)"
assert_contains "$SYNC_ERR" "provisiond-tmp-mine" "notice about the reserved name"
assert_eq "$(ls -A "$TEST_DIR/victim")" "" "files written through the server's symbolic link"
assert_eq "$(find "$TEST_DIR" -name pwned | wc -l)" 0 "files created by a name run as a command"
[ -d "$dst/sub" ] && [ ! -L "$dst/sub" ] || fail "the server's link at sub was not replaced by a folder"

# Compare against a copy of the master with the excluded entries removed.
expected=$TEST_DIR/expected
cp -a "$src" "$expected"
rm -rf "$expected/.git" "$expected/plugins/x/.svn" "$expected/cache" "$expected/other/cache" \
	"$expected/logs/debug.log" "$expected/top-only.txt" "$expected/.provisiond-tmp-mine" "$expected/fifo"
touch -r "$src" "$expected"
for d in other plugins/x logs; do touch -r "$src/$d" "$expected/$d"; done
assert_same_tree "$expected" "$dst" "tree after the first sync"
assert_eq "$(readlink "$dst/outside-abs")" "$outside" "target of the link that points outside"
[ -L "$dst/outside-abs" ] || fail "outside-abs is not a symbolic link on the server"
[ -L "$dst/sub/outside-rel" ] || fail "sub/outside-rel is not a symbolic link on the server"
[ -L "$dst/dangling" ] || fail "the dangling link was not recreated"
assert_eq "$(stat -c %a "$dst/modes/locked")" 555 "mode of a read-only folder"
assert_eq "$(stat -c %a "$dst/modes/private")" 600 "mode of a private file"
assert_eq "$(stat -c %Y "$dst/modes/private")" "$(stat -c %Y "$src/modes/private")" "time of a file"
[ -d "$dst/empty/nested/deeper" ] || fail "empty folders were not created"
assert_eq "$(stat_of links_created)" 5 "links created"
assert_eq "$(temporaries_in "$dst")" "" "temporaries left after a sync"

# ---- nothing changed: nothing is transferred ----
sync_ok "second sync" "${excludes[@]}" "$src" "$dst"
assert_eq "$(stat_of files_copied)" 0 "files copied by a sync without changes"
assert_eq "$(stat_of links_created)" 0 "links created by a sync without changes"
assert_eq "$(stat_of dirs_created)" 0 "folders created by a sync without changes"
assert_eq "$(stat_of deleted)" 0 "entries deleted by a sync without changes"
assert_eq "$(stat_of attrs_updated)" 0 "attributes fixed by a sync without changes"

# ---- a mode change alone is fixed without a transfer ----
chmod 640 "$src/modes/script"
sync_ok "sync after chmod" "${excludes[@]}" "$src" "$dst"
assert_eq "$(stat_of files_copied)" 0 "files copied after a chmod"
assert_eq "$(stat_of attrs_updated)" 1 "attributes fixed after a chmod"
assert_eq "$(stat -c %a "$dst/modes/script")" 640 "mode on the server after a chmod"

# ---- excluded files on the server survive delete ----
echo "server log" >"$dst/server.log"
mkdir -p "$dst/.git"
echo "server repo" >"$dst/.git/HEAD"

# ---- delete off keeps, delete on removes ----
rm "$src/with space.txt"
rm -r "$src/dir with space"
sync_ok "sync without delete" --no-delete "${excludes[@]}" "$src" "$dst"
assert_eq "$(stat_of deleted)" 0 "entries deleted with delete off"
[ -f "$dst/with space.txt" ] || fail "delete off removed a file"
[ -f "$dst/dir with space/*star?" ] || fail "delete off removed a folder's file"

sync_ok "sync with delete" "${excludes[@]}" "$src" "$dst"
assert_eq "$(stat_of deleted)" 3 "entries deleted with delete on (a file, a folder and its file)"
[ ! -e "$dst/with space.txt" ] || fail "delete on kept a removed file"
[ ! -e "$dst/dir with space" ] || fail "delete on kept a removed folder"
[ -f "$dst/server.log" ] || fail "delete removed an excluded file on the server"
[ -f "$dst/.git/HEAD" ] || fail "delete removed a version control folder on the server"

# ---- type changes: file to folder, folder to file, file to link ----
rm "$src/-leading-dash"
mkdir "$src/-leading-dash"
echo inner >"$src/-leading-dash/inner"
rm -r "$src/empty/nested"
echo "now a file" >"$src/empty/nested"
rm "$src/sub/file"
ln -s ../inside-link "$src/sub/file"
sync_ok "sync after type changes" "${excludes[@]}" "$src" "$dst"
[ -f "$dst/-leading-dash/inner" ] || fail "a file was not replaced by a folder"
[ -f "$dst/empty/nested" ] || fail "a folder was not replaced by a file"
[ -L "$dst/sub/file" ] || fail "a file was not replaced by a symbolic link"

# ---- checksum mode finds a change of equal size and time ----
stamp=$(stat -c %Y "$src/sub/top-only.txt")
echo NESTED >"$src/sub/top-only.txt"
touch -d "@$stamp" "$src/sub/top-only.txt"
sync_ok "sync by size and time" "${excludes[@]}" "$src" "$dst"
assert_eq "$(stat_of files_copied)" 0 "files copied by size and time after a same-size change"
sync_ok "sync by content" --checksum "${excludes[@]}" "$src" "$dst"
assert_eq "$(stat_of files_copied)" 1 "files copied by content after a same-size change"
assert_eq "$(cat "$dst/sub/top-only.txt")" NESTED "content after the checksum sync"
sync_ok "second sync by content" --checksum "${excludes[@]}" "$src" "$dst"
assert_eq "$(stat_of files_copied)" 0 "files copied by a second sync by content"

# ---- the mv -f fallback replaces files with awkward names ----
for f in "new"$'\n'"line" "it's \"quoted\"" "\$(touch pwned)" $'\xff\xfe'" not utf-8" "-dash-dir/back\\slash" \
	"semi;colon&amp|pipe"; do
	echo "changed by the mv test" >>"$src/$f"
done
ln -sfn sub/other "$src/inside-link"
sync_ok "sync with mv -f" --no-posix-rename "${excludes[@]}" "$src" "$dst"
assert_eq "$(stat_of files_copied)" 6 "files replaced with mv -f"
assert_eq "$(stat_of links_created)" 1 "links replaced without posix-rename"
assert_eq "$(find "$TEST_DIR" -name pwned | wc -l)" 0 "files created by a name run as a command in mv"

# ---- stale temporaries of an interrupted run are removed ----
echo partial >"$dst/sub/.provisiond-tmp-0123456789abcdef-1"
echo partial >"$dst/.provisiond-tmp-0123456789abcdef-2"
sync_ok "sync with stale temporaries" "${excludes[@]}" "$src" "$dst"
assert_eq "$(stat_of temporaries_removed)" 2 "stale temporaries removed"
assert_eq "$(temporaries_in "$dst")" "" "temporaries left after cleanup"

# ---- version control folders are copied on request ----
sync_ok "sync with version control folders" --keep-vcs "${excludes[@]}" "$src" "$dst"
[ -f "$dst/.git/objects/1" ] || fail ".git was not copied with --keep-vcs"
[ -f "$dst/plugins/x/.svn/entries" ] || fail ".svn was not copied with --keep-vcs"

# The final state equals the master once the same excludes apply.
rm -rf "$expected"
cp -a "$src" "$expected"
rm -rf "$expected/cache" "$expected/other/cache" "$expected/logs/debug.log" "$expected/top-only.txt" \
	"$expected/.provisiond-tmp-mine" "$expected/fifo"
touch -r "$src" "$expected"
for d in other logs; do touch -r "$src/$d" "$expected/$d"; done
rm "$dst/server.log"
touch -r "$src" "$dst"
assert_same_tree "$expected" "$dst" "tree after all changes"

# ---- a deleted folder that still has excluded entries on the server is kept ----
mkdir -p "$src/olddir"
echo x >"$src/olddir/a.txt"
sync_ok "sync adding olddir" "${excludes[@]}" "$src" "$dst"
echo "server log" >"$dst/olddir/server.log"
rm -r "$src/olddir"
sync_ok "sync removing olddir" "${excludes[@]}" "$src" "$dst"
assert_eq "$(stat_of skipped)" 3 "entries skipped (the reserved name, the FIFO and the kept folder)"
assert_contains "$SYNC_ERR" "still contains excluded entries" "notice about the kept folder"
[ -f "$dst/olddir/server.log" ] || fail "the excluded file in a deleted folder was removed"
[ ! -e "$dst/olddir/a.txt" ] || fail "the file of a deleted folder was kept"

# ---- a read-only synced folder stays read-only after a sync without changes ----
chmod 555 "$src"
sync_ok "sync of a read-only folder" "${excludes[@]}" "$src" "$dst"
sync_ok "second sync of a read-only folder" "${excludes[@]}" "$src" "$dst"
assert_eq "$(stat -c %a "$dst")" 555 "mode of the read-only synced folder after a sync without changes"
chmod 755 "$src"

# ---- a symbolic link as the server's folder is rejected ----
mkdir -p "$TEST_DIR/link-target"
ln -s "$TEST_DIR/link-target" "$TEST_DIR/remote/linked"
if sync_tree "$src" "$TEST_DIR/remote/linked"; then
	fail "a sync into a symbolic link succeeded"
fi
assert_contains "$SYNC_ERR" "exists and is a symbolic link, not a folder" "error for a symbolic link as the server's folder"
assert_eq "$(ls -A "$TEST_DIR/link-target")" "" "files written through the linked server folder"

test_done
