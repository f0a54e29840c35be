#!/bin/bash
# trust-host against a private sshd: the fingerprint, every refusal, and a
# real SSH login that trusts the appended line.
. "$(dirname "$0")/lib.sh"

: "${PROVISION_SSH:?set PROVISION_SSH to the provision-ssh test program}"
SSHD_FIXTURE=$(dirname "$0")/../fixtures/sshd-fixture

command -v /usr/sbin/sshd >/dev/null || { echo "SKIP: /usr/sbin/sshd is not installed"; exit 77; }
command -v script >/dev/null || { echo "SKIP: script (util-linux) is not installed"; exit 77; }

# Stops the sshd fixture, then runs the cleanup of lib.sh.
stop_sshd() {
	[ -f "$WORK/sshd/sshd.started-pid" ] && "$SSHD_FIXTURE" stop "$WORK/sshd"
	cleanup
}
trap stop_sshd EXIT

"$SSHD_FIXTURE" start "$WORK/sshd" >"$WORK/sshd.env" || exit 1
. "$WORK/sshd.env"

KNOWN_HOSTS=$WORK/aegir/known_hosts
mkdir "$WORK/aegir"
cat >"$WORK/provisiond.conf" <<CONF
database = "$DB"
ssh_known_hosts = $KNOWN_HOSTS
ssh_private_key = $SSHD_KEY_ED25519
CONF

# Runs provisionctl with the config file; sets $status, $WORK/out and $WORK/err.
ctl_config() {
	timeout 60 "$PROVISIONCTL" -c "$WORK/provisiond.conf" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
	status=$?
}

# Runs provisionctl on a pseudo-terminal that receives ANSWER as typed input.
ctl_terminal() {
	local answer=$1
	shift
	printf '%s\n' "$answer" | timeout 60 script -qec \
		"$(printf '%q ' "$PROVISIONCTL" -c "$WORK/provisiond.conf" "$@")" /dev/null >"$WORK/out" 2>"$WORK/err"
	status=$?
}

ctl migrate
check_status "migrate" 0
ctl servers add fixture --hostname 127.0.0.1 --port "$SSHD_PORT" --user "$SSHD_USER"
check_status "servers add" 0

expected_fingerprint=$(ssh-keygen -lf "$SSHD_HOST_KEY_ED25519.pub" | awk '{ print $2 }')
other_fingerprint=$(ssh-keygen -lf "$SSHD_OTHER_HOST_KEY.pub" | awk '{ print $2 }')

# Refusals that must leave the file missing.
ctl_config trust-host fixture --yes
check_status "trust-host --yes without --fingerprint" 2
check_stderr "trust-host --yes without --fingerprint" "--yes requires --fingerprint"

ctl_config trust-host fixture --yes --fingerprint "$other_fingerprint"
check_status "trust-host with a wrong fingerprint" 1
check_stderr "trust-host with a wrong fingerprint" "not the expected $other_fingerprint"
check_stdout "trust-host with a wrong fingerprint" "ssh-ed25519 $expected_fingerprint"

ctl_config trust-host fixture --yes --fingerprint MD5:12:34
check_status "trust-host with an MD5 fingerprint" 2

ctl_config trust-host fixture
check_status "trust-host without a terminal" 2
check_stderr "trust-host without a terminal" "standard input is not a terminal"
check_stdout "trust-host without a terminal" "ssh-ed25519 $expected_fingerprint"

ctl_terminal no trust-host fixture
check_status "trust-host answered no" 1
check_stdout "trust-host answered no" "Type yes to add the key"

ctl trust-host fixture --yes --fingerprint "$expected_fingerprint"
check_status "trust-host with -d" 2
check_stderr "trust-host with -d" "use -c CONFIG"

ctl_config trust-host nosuchserver
check_status "trust-host of an unknown server" 4

check "refused runs write no file" test ! -e "$KNOWN_HOSTS"

# Before the key is trusted, a login fails at the host key check.
"$PROVISION_SSH" -p "$SSHD_PORT" -i "$SSHD_KEY_ED25519" -k "$KNOWN_HOSTS" "$SSHD_USER@127.0.0.1" true \
	>"$WORK/out" 2>"$WORK/err"
status=$?
check_status "login before trust-host" 255
check_stderr "login before trust-host" "provisionctl trust-host"

# Trusting on the terminal creates the file with the fixture's own line.
ctl_terminal yes trust-host fixture
check_status "trust-host answered yes" 0
check_stdout "trust-host answered yes" "ssh-ed25519 $expected_fingerprint"
check "trust-host creates the file with mode 0644" test "$(stat -c %a "$KNOWN_HOSTS")" = 644
check "trust-host writes the fixture's known_hosts line" cmp -s "$KNOWN_HOSTS" "$SSHD_KNOWN_HOSTS"
check "ssh-keygen finds the [host]:port entry" \
	ssh-keygen -F "[127.0.0.1]:$SSHD_PORT" -f "$KNOWN_HOSTS"

"$PROVISION_SSH" -p "$SSHD_PORT" -i "$SSHD_KEY_ED25519" -k "$KNOWN_HOSTS" "$SSHD_USER@127.0.0.1" \
	echo trusted >"$WORK/out" 2>"$WORK/err"
status=$?
check_status "login after trust-host" 0
check_stdout "login after trust-host" "trusted"

# A second run finds the key and writes nothing.
ctl_config --json trust-host fixture --yes --fingerprint "$expected_fingerprint"
check_status "trust-host of a listed key" 0
check_json "trust-host --json"
check "trust-host --json reports the key as listed" test "$(json_value result)" = "already listed"
check "trust-host --json reports the fingerprint" test "$(json_value fingerprint)" = "$expected_fingerprint"
check "a listed key is not appended twice" test "$(wc -l <"$KNOWN_HOSTS")" = 1

# A file that lists another ed25519 key for the server is left alone.
printf '[127.0.0.1]:%s %s' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$SSHD_OTHER_HOST_KEY.pub")" >"$KNOWN_HOSTS"
cp "$KNOWN_HOSTS" "$WORK/changed.before"
ctl_config trust-host fixture --yes --fingerprint "$expected_fingerprint"
check_status "trust-host with a changed key" 5
check_stderr "trust-host with a changed key" "lists a different ssh-ed25519 key"
check "a changed key leaves the file alone" cmp -s "$KNOWN_HOSTS" "$WORK/changed.before"

# A file that lists only a key of another type for the server is left alone too.
ssh-keygen -q -t ecdsa -N '' -f "$WORK/ecdsa_key" </dev/null >/dev/null
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$WORK/ecdsa_key.pub")" >"$KNOWN_HOSTS"
cp "$KNOWN_HOSTS" "$WORK/other_type.before"
ctl_config trust-host fixture --yes --fingerprint "$expected_fingerprint"
check_status "trust-host with a key of another type" 5
check_stderr "trust-host with a key of another type" "lists a key of another type"
check "a key of another type leaves the file alone" cmp -s "$KNOWN_HOSTS" "$WORK/other_type.before"

# Another server's entry stays, and a last line without a line feed is ended first.
printf 'web9.example.org %s' "$(cut -d' ' -f1,2 "$SSHD_OTHER_HOST_KEY.pub")" >"$KNOWN_HOSTS"
ctl_config trust-host fixture --yes --fingerprint "$expected_fingerprint"
check_status "trust-host --yes --fingerprint" 0
check "the earlier line stays first" \
	test "$(head -n 1 "$KNOWN_HOSTS")" = "web9.example.org $(cut -d' ' -f1,2 "$SSHD_OTHER_HOST_KEY.pub")"
check "the new line follows on a line of its own" \
	test "$(tail -n 1 "$KNOWN_HOSTS")" = "$(cat "$SSHD_KNOWN_HOSTS")"

# A server that is down fails with the connection error.
"$SSHD_FIXTURE" stop "$WORK/sshd"
ctl_config trust-host fixture --yes --fingerprint "$expected_fingerprint"
check_status "trust-host of a stopped server" 1
check_stderr "trust-host of a stopped server" "connection to 127.0.0.1 port $SSHD_PORT failed"

finish
