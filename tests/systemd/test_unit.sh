#!/bin/bash
# The installed unit passes systemd-analyze verify and keeps the exposure
# rating of systemd-analyze security at "OK" or better.
. "$(dirname "$0")/../lib.sh"

command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
[ -n "${PROVISION_BUILD_DIR:-}" ] || die "PROVISION_BUILD_DIR must name the build folder"

stage=$(mktemp -d /tmp/provisiond-unit.XXXXXX)
trap 'rm -rf "$stage"' EXIT
DESTDIR=$stage cmake --install "$PROVISION_BUILD_DIR" --prefix /usr >/dev/null ||
	die "cmake --install into $stage failed"

unit=$stage/usr/lib/systemd/system/provisiond.service
[ -f "$unit" ] || unit=$stage/lib/systemd/system/provisiond.service
[ -f "$unit" ] || die "provisiond.service was not installed under $stage"

# verify checks that the ExecStart= program exists, so point it at the staged binary.
binary=$(find "$stage" -path '*/sbin/provisiond' -type f | head -n 1)
[ -n "$binary" ] || die "provisiond was not installed under $stage"
sed -E "s|[^ =]*/sbin/provisiond|$binary|g" "$unit" >"$stage/provisiond.service"
output=$(systemd-analyze verify --man=no "$stage/provisiond.service" 2>&1 || true)
assert_eq "$output" "" "systemd-analyze verify messages"

rating=$(systemd-analyze security --offline=yes "$stage/provisiond.service" 2>&1 | tail -n 1)
assert_contains "$rating" "OK" "systemd-analyze security rating"
log "$rating"

test_done
