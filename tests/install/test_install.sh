#!/bin/bash
# cmake --install into a staging folder (DESTDIR): the FHS layout, a config
# file that a second install keeps, man pages that format without warnings
# and document every setting and command, the worker_program default, the
# shared libraries each program links, and the Debian package that cpack
# builds.  Nothing is installed on this machine's own paths.
. "$(dirname "$0")/../lib.sh"

[ -n "${PROVISION_BUILD_DIR:-}" ] || die "PROVISION_BUILD_DIR must name the build folder"
SOURCE_DIR=$(cd "$TESTS_DIR/.." && pwd)
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$PROVISION_BUILD_DIR/CMakeCache.txt")
[ -n "$prefix" ] || die "CMAKE_INSTALL_PREFIX not found in $PROVISION_BUILD_DIR/CMakeCache.txt"
# GNUInstallDirs puts the config of the prefix /usr under /etc.
if [ "$prefix" = /usr ]; then
	conf=/etc/provisiond/provisiond.conf
else
	conf=$prefix/etc/provisiond/provisiond.conf
fi

TEST_DIR=$(mktemp -d /tmp/provisiond-install.XXXXXX)
trap 'rm -rf "$TEST_DIR"' EXIT
stage=$TEST_DIR/stage

DESTDIR=$stage cmake --install "$PROVISION_BUILD_DIR" >"$TEST_DIR/install.out" 2>&1 ||
	die "cmake --install into $stage failed: $(cat "$TEST_DIR/install.out")"

# ---- layout ----

for program in sbin/provisiond bin/provisionctl libexec/provisiond/provisiond-worker; do
	[ -x "$stage$prefix/$program" ] || fail "$prefix/$program is missing or not executable"
done
for file in lib/systemd/system/provisiond.service lib/sysusers.d/provisiond.conf \
	lib/tmpfiles.d/provisiond.conf share/doc/provisiond/examples/provisiond.conf.example \
	share/man/man1/provisionctl.1 share/man/man5/provisiond.conf.5 share/man/man8/provisiond.8; do
	[ -f "$stage$prefix/$file" ] || fail "$prefix/$file is missing"
done
for sql in "$SOURCE_DIR"/sql/*.sql; do
	installed=$stage$prefix/share/provisiond/sql/$(basename "$sql")
	cmp -s "$sql" "$installed" || fail "migration $(basename "$sql") is missing or differs in $prefix/share/provisiond/sql"
done

unit=$(cat "$stage$prefix/lib/systemd/system/provisiond.service")
assert_contains "$unit" "ExecStart=$prefix/sbin/provisiond -c $conf" "ExecStart of the installed unit"

# ---- config file ----

[ -f "$stage$conf" ] || fail "the config file $conf was not installed"
cmp -s "$stage$conf" "$SOURCE_DIR/systemd/provisiond.conf.example" ||
	fail "$conf differs from the example config"
assert_eq "$(stat -c %a "$stage$conf")" 644 "mode of $conf"

echo "workers = 9" >>"$stage$conf"
DESTDIR=$stage cmake --install "$PROVISION_BUILD_DIR" >"$TEST_DIR/install.out" 2>&1 ||
	die "the second cmake --install failed: $(cat "$TEST_DIR/install.out")"
assert_eq "$(tail -n 1 "$stage$conf")" "workers = 9" "last line of $conf after a second install"
assert_contains "$(cat "$TEST_DIR/install.out")" "Keeping the existing" "second install output"

# ---- worker_program default ----

# The staged worker is not at its final path, so -t prints the settings and then fails on it.
echo 'database = "dbname=none"' >"$TEST_DIR/minimal.conf"
"$stage$prefix/sbin/provisiond" -c "$TEST_DIR/minimal.conf" -t >"$TEST_DIR/check.out" 2>&1 || true
assert_contains "$(cat "$TEST_DIR/check.out")" "parsed; effective settings" "output of provisiond -t"
assert_not_contains "$(cat "$TEST_DIR/check.out")" "is valid" "verdict of provisiond -t without its worker"
worker=$(sed -n 's/^worker_program = //p' "$TEST_DIR/check.out")
assert_eq "$worker" "$prefix/libexec/provisiond/provisiond-worker" "compiled-in worker_program default"
[ -x "$stage$worker" ] || fail "the default worker_program $worker is not installed"

# ---- shared libraries ----

# needed_libraries PROGRAM: the DT_NEEDED entries of PROGRAM, one a line.
needed_libraries() {
	readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'
}

if command -v readelf >/dev/null; then
	# The daemon maps only what it calls: SSH and MySQL run in the worker,
	# and the systemd notify protocol needs no libsystemd.
	daemon_needed=$(needed_libraries "$stage$prefix/sbin/provisiond")
	assert_contains "$daemon_needed" "libpq.so" "shared libraries of provisiond"
	for library in libssh2 libmariadb libsystemd; do
		assert_not_contains "$daemon_needed" "$library" "shared libraries of provisiond"
	done
	worker_needed=$(needed_libraries "$stage$prefix/libexec/provisiond/provisiond-worker")
	for library in libssh2 libmariadb; do
		assert_contains "$worker_needed" "$library" "shared libraries of provisiond-worker"
	done
	assert_not_contains "$worker_needed" "libpq" "shared libraries of provisiond-worker"

	# GnuTLS, which libpq loads through libldap, must find the daemon's
	# _gnutls_global_init_skip and skip its initialisation at load time.
	if ldd "$stage$prefix/sbin/provisiond" | grep libgnutls >/dev/null; then
		bindings=$(LD_DEBUG=bindings "$stage$prefix/sbin/provisiond" -V 2>&1 | grep _gnutls_global_init_skip || true)
		assert_contains "$bindings" "to $stage$prefix/sbin/provisiond" "binding of _gnutls_global_init_skip"
	else
		log "libpq does not load GnuTLS here; the binding of _gnutls_global_init_skip is not checked"
	fi
else
	log "readelf is missing; the shared libraries are not checked"
fi

# ---- man pages ----

for page in "$stage$prefix"/share/man/man*/*; do
	name=$(basename "$page")
	warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
	assert_eq "$warnings" "" "groff warnings for $name"
	if command -v man >/dev/null; then
		warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
		assert_eq "$warnings" "" "man --warnings for $name"
	fi
	if command -v mandoc >/dev/null; then
		warnings=$(mandoc -T lint -W warning "$page" 2>&1)
		assert_eq "$warnings" "" "mandoc -T lint for $name"
	fi
done

# Rendered text, with hyphens and quotes as plain ASCII, to compare names.
render() {
	LC_ALL=C MANWIDTH=200 man -l "$1" 2>/dev/null | col -b
}
conf_page=$(render "$stage$prefix/share/man/man5/provisiond.conf.5")
for setting in $(sed -n 's/^\t{ "\([a-z_]*\)", SETTING_.*/\1/p' "$SOURCE_DIR/lib/config.c"); do
	assert_contains "$conf_page" "$setting" "provisiond.conf(5) documents setting"
done

ctl_page=$(render "$stage$prefix/share/man/man1/provisionctl.1")
for command in $("$PROVISIONCTL" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p'); do
	assert_contains "$ctl_page" "$command" "provisionctl(1) documents command"
done
for code in $("$PROVISIONCTL" --help | sed -n '/^Exit codes:/,$s/^  \([0-9]\)  .*/\1/p'); do
	grep -qx "$code" < <(sed -n '/^EXIT STATUS/,/^EXAMPLES/s/^ *\([0-9]\) .*/\1/p' <<<"$ctl_page") ||
		fail "provisionctl(1) does not list exit code $code"
done

daemon_page=$(render "$stage$prefix/share/man/man8/provisiond.8")
for option in $("$PROVISIOND" -h | sed -n 's/^  \(-[a-zA-Z]\) .*/\1/p'); do
	assert_contains "$daemon_page" "$option" "provisiond(8) documents option"
done

# ---- Debian package ----

if command -v cpack >/dev/null && command -v dpkg-deb >/dev/null; then
	(cd "$PROVISION_BUILD_DIR" && cpack -G DEB -B "$TEST_DIR/deb") >"$TEST_DIR/cpack.out" 2>&1 ||
		die "cpack -G DEB failed: $(cat "$TEST_DIR/cpack.out")"
	deb=$(ls "$TEST_DIR"/deb/provisiond_*.deb)
	contents=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
	(cd "$stage" && find . -type f | sed 's|^\.||' | sort) >"$TEST_DIR/staged.list"
	while read -r file; do
		grep -qxF "$file" <<<"$contents" || fail "the package lacks $file"
	done <"$TEST_DIR/staged.list"

	depends=$(dpkg-deb -f "$deb" Depends)
	for package in libev4 libpq5 libssh2-1 libmariadb3 libjansson4; do
		assert_contains "$depends" "$package" "Depends of the package"
	done
	assert_not_contains "$depends" "libsystemd0" "Depends of the package"

	dpkg-deb -e "$deb" "$TEST_DIR/control"
	assert_eq "$(cat "$TEST_DIR/control/conffiles")" "$conf" "conffiles of the package"
	postinst=$(cat "$TEST_DIR/control/postinst")
	assert_contains "$postinst" "systemd-sysusers $prefix/lib/sysusers.d/provisiond.conf" "postinst"
	assert_contains "$postinst" "systemd-tmpfiles --create $prefix/lib/tmpfiles.d/provisiond.conf" "postinst"
	sh -n "$TEST_DIR/control/postinst" || fail "postinst is not valid sh"
else
	log "cpack or dpkg-deb is missing; the package is not checked"
fi

test_done
