#!/bin/bash
# servers: list, add, remove, services and database credentials, with their input checks.
. "$(dirname "$0")/lib.sh"

ctl migrate
check_status "migrate" 0

ctl servers add web1 --hostname web1.example.com
check_status "add with defaults" 0
check "add with defaults stores the schema defaults" \
	test "$(sql "SELECT hostname || ' ' || ssh_port || ' ' || ssh_user || ' ' || base_dir FROM provision.servers WHERE name = 'web1'")" = \
	"web1.example.com 22 aegir /var/aegir"

ctl servers add db-1.prod --hostname 192.0.2.10 --port 2222 --user deploy --base-dir /srv/aegir_2
check_status "add with every option" 0
check "add with every option stores them" \
	test "$(sql "SELECT hostname || ' ' || ssh_port || ' ' || ssh_user || ' ' || base_dir FROM provision.servers WHERE name = 'db-1.prod'")" = \
	"192.0.2.10 2222 deploy /srv/aegir_2"

ctl servers add v6 --hostname 2001:db8::1
check_status "add with an IPv6 address" 0

ctl servers add web1 --hostname other.example.com
check_status "add of an existing name" 5
check_stderr "add of an existing name" 'server "web1" already exists'

# Invalid values: each is rejected with exit code 2 and its value named.
while IFS='|' read -r label expected args; do
	eval "set -- $args"
	ctl servers add "$@"
	check_status "add with $label" 2
	check_stderr "add with $label" "$expected"
done <<'CASES'
a name with ;|invalid server name "web;1"|'web;1' --hostname h.example.com
a name with a space|invalid server name "web 1"|'web 1' --hostname h.example.com
a name starting with -|invalid server name "-web"|--hostname h.example.com -- -web
an empty name|invalid server name ""|'' --hostname h.example.com
port 70000|invalid --port "70000"|web3 --hostname h.example.com --port 70000
port 0|invalid --port "0"|web3 --hostname h.example.com --port 0
port abc|invalid --port "abc"|web3 --hostname h.example.com --port abc
a hostname with a space|invalid hostname "h example.com"|web3 --hostname 'h example.com'
a hostname with $(...)|invalid hostname "$(reboot)"|web3 --hostname '$(reboot)'
a hostname starting with -|invalid hostname "-oProxyCommand=x"|web3 --hostname=-oProxyCommand=x
a hostname with ;|invalid hostname "h;rm"|web3 --hostname 'h;rm'
an IPv4 address out of range|invalid hostname "10.0.0.256"|web3 --hostname 10.0.0.256
a user with @|invalid --user "aegir@host"|web3 --hostname h.example.com --user aegir@host
a user with ;|invalid --user "aegir;id"|web3 --hostname h.example.com --user 'aegir;id'
a user starting with -|invalid --user "-l"|web3 --hostname h.example.com --user=-l
a relative base dir|invalid base directory "var/aegir"|web3 --hostname h.example.com --base-dir var/aegir
a base dir with ..|invalid base directory "/var/aegir/../etc"|web3 --hostname h.example.com --base-dir /var/aegir/../etc
a base dir with a space|invalid base directory "/var/my aegir"|web3 --hostname h.example.com --base-dir '/var/my aegir'
no hostname|missing --hostname|web3
CASES
check "rejected adds insert nothing" test "$(sql "SELECT count(*) FROM provision.servers WHERE name NOT IN ('web1', 'db-1.prod', 'v6')")" = 0

# Services
ctl servers set-service web1 web nginx --port 8080 --setting workers=4 --setting 'server_name="a b"'
check_status "set-service web nginx" 0
check "set-service stores type, port and typed settings" \
	test "$(sql "SELECT type || ' ' || port || ' ' || (settings = '{\"workers\": 4, \"server_name\": \"a b\"}') FROM provision.services WHERE kind = 'web'")" = "nginx 8080 true"

ctl servers set-service web1 web apache
check_status "set-service replaces the web service" 0
check "set-service replaces type, port and settings" \
	test "$(sql "SELECT type || ' ' || coalesce(port::text, 'none') || ' ' || settings::text FROM provision.services WHERE kind = 'web'")" = "apache none {}"

ctl servers set-service db-1.prod db mysql --port 3306
check_status "set-service db mysql" 0

ctl servers set-service web1 db nginx
check_status "set-service db with a web type" 2
check_stderr "set-service db with a web type" 'invalid db service type "nginx"'
ctl servers set-service web1 mail postfix
check_status "set-service with an unknown kind" 2
check_stderr "set-service with an unknown kind" 'invalid service kind "mail"'
ctl servers set-service web1 web nginx --port 70000
check_status "set-service with port 70000" 2
ctl servers set-service web1 web nginx --setting broken
check_status "set-service with a bad --setting" 2
check_stderr "set-service with a bad --setting" 'invalid --setting "broken": expected KEY=VALUE'
ctl servers set-service web9 web nginx
check_status "set-service on an unknown server" 4

ctl servers list
check_status "list" 0
check "list shows both services" grep -qE '^db-1\.prod .* db:mysql:3306 ' "$WORK/out"
check "list shows web1 service" grep -qE '^web1 .* web:apache ' "$WORK/out"

ctl --json servers list
check_status "list --json" 0
check_json "list --json"
check "list --json has the services as JSON" test "$(json_value 0.services.0.port)" = 3306
check "list --json has the port as a number" test "$(json_value 0.port)" = 2222

ctl servers remove-service web1 web
check_status "remove-service" 0
check "remove-service deletes the row" test "$(sql "SELECT count(*) FROM provision.services s JOIN provision.servers v ON v.id = s.server_id WHERE v.name = 'web1'")" = 0
ctl servers remove-service web1 web
check_status "remove-service of a missing service" 4
check_stderr "remove-service of a missing service" "server web1 has no web service"

# Database credentials: the password comes from standard input.  ctl_stdin
# reads it from a redirection, never from a pipe, because a pipe would run
# ctl_stdin in a subshell and lose $status.
ctl_stdin servers set-db-credentials db-1.prod --user root <<<'s3cret pass;word'
check_status "set-db-credentials from stdin" 0
check "set-db-credentials stores user and password" \
	test "$(sql "SELECT admin_user || '/' || admin_password FROM provision.db_credentials")" = "root/s3cret pass;word"
check "set-db-credentials prints no password" test "$(grep -c s3cret "$WORK/out" "$WORK/err" | awk -F: '{ n += $2 } END { print n }')" = 0

ctl_stdin servers set-db-credentials db-1.prod --user admin < <(printf 'other\r\n')
check_status "set-db-credentials replaces the credentials" 0
check "set-db-credentials strips CRLF" \
	test "$(sql "SELECT admin_user || '/' || admin_password FROM provision.db_credentials")" = "admin/other"

ctl_stdin servers set-db-credentials db-1.prod --user root </dev/null
check_status "set-db-credentials with empty stdin" 2
check_stderr "set-db-credentials with empty stdin" "missing password"

ctl_stdin servers set-db-credentials db-1.prod --user root <<<''
check_status "set-db-credentials with an empty password" 2

ctl_stdin servers set-db-credentials db-1.prod --user 'root;x' <<<pw
check_status "set-db-credentials with a bad user" 2
ctl_stdin servers set-db-credentials db-1.prod --user root pw <<<pw
check_status "set-db-credentials with the password in argv" 2
check_stderr "set-db-credentials with the password in argv" "read from standard input"
ctl_stdin servers set-db-credentials nosuch --user root <<<pw
check_status "set-db-credentials on an unknown server" 4

# On a terminal the password is read twice without echo.
timeout 30 python3 - "$PROVISIONCTL" "$DB" >"$WORK/tty.out" 2>&1 <<'PY'
import os, pty, sys, time

pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "-d", sys.argv[2], "servers", "set-db-credentials",
                           "web1", "--user", "ttyuser"])
output = b""
def read_until(text, limit=10):
    global output
    end = time.time() + limit
    while text not in output and time.time() < end:
        try:
            output += os.read(fd, 1024)
        except OSError:
            break
read_until(b"Password of database user ttyuser on server web1: ")
os.write(fd, b"tty-secret\n")
read_until(b"Repeat the password: ")
os.write(fd, b"tty-secret\n")
read_until(b"set database credentials")
_, status = os.waitpid(pid, 0)
sys.stdout.write(output.decode(errors="replace"))
print("exit", os.waitstatus_to_exitcode(status))
PY
check "terminal prompt exits 0" grep -q '^exit 0' "$WORK/tty.out"
check "terminal prompt does not echo the password" test "$(grep -c tty-secret "$WORK/tty.out")" = 0
check "terminal prompt stores the password" \
	test "$(sql "SELECT c.admin_password FROM provision.db_credentials c JOIN provision.servers s ON s.id = c.server_id WHERE s.name = 'web1'")" = tty-secret

ctl servers list
check "list marks the credentials" grep -qE '^db-1\.prod .* yes ' "$WORK/out"
check_stdout "list prints no password" "db-1.prod"
check "list prints no password text" test "$(grep -c 'other' "$WORK/out")" = 0

# A role that may not read provision.db_credentials still gets the list, without that column.
reader=${TEST_DB}_reader
sql "DROP ROLE IF EXISTS $reader"
sql "CREATE ROLE $reader LOGIN; GRANT USAGE ON SCHEMA provision TO $reader;
	GRANT SELECT ON provision.servers, provision.services TO $reader"
timeout 30 "$PROVISIONCTL" -d "$DB user=$reader" servers list >"$WORK/out" 2>"$WORK/err"
status=$?
check_status "list without access to credentials" 0
check "list without access to credentials leaves the column empty" grep -qE '^db-1\.prod .* - +-$' "$WORK/out"
sql "DROP OWNED BY $reader; DROP ROLE $reader"

# remove
sql "INSERT INTO provision.tasks (type, server_id) SELECT 'verify', id FROM provision.servers WHERE name = 'db-1.prod'"
ctl servers remove db-1.prod
check_status "remove with a queued task" 5
check_stderr "remove with a queued task" "has 1 queued or running tasks"
check "remove with a queued task keeps the server" test "$(sql "SELECT count(*) FROM provision.servers WHERE name = 'db-1.prod'")" = 1

ctl servers remove db-1.prod --force
check_status "remove --force" 0
check "remove --force deletes the server" test "$(sql "SELECT count(*) FROM provision.servers WHERE name = 'db-1.prod'")" = 0
check "remove --force deletes its services and credentials" \
	test "$(sql "SELECT (SELECT count(*) FROM provision.services) + (SELECT count(*) FROM provision.db_credentials WHERE admin_user = 'admin')")" = 0
check "remove --force keeps the task without a server" test "$(sql "SELECT count(*) FROM provision.tasks WHERE server_id IS NULL")" = 1

ctl servers remove db-1.prod
check_status "remove of an unknown server" 4

ctl servers
check_status "servers without a subcommand" 2
ctl servers rename web1
check_status "servers with an unknown subcommand" 2
check_stderr "servers with an unknown subcommand" 'unknown subcommand "rename"'

finish
