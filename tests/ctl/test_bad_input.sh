#!/bin/bash
# Invalid input: each case gets an error that names the value, and the documented exit code.
. "$(dirname "$0")/lib.sh"

ctl enqueue noop
check_status "enqueue before migrate" 3
check_stderr "enqueue before migrate" "run provisionctl migrate"

ctl migrate
check_status "migrate" 0
sql "INSERT INTO provision.servers (name, hostname) VALUES ('web1', 'web1.example.com')"

ctl enqueue verify 'web1;reboot'
check_status "server name with ;" 2
check_stderr "server name with ;" 'invalid server name "web1;reboot"'

ctl enqueue verify -- -web1
check_status "server name starting with -" 2
check_stderr "server name starting with -" 'invalid server name "-web1"'

ctl enqueue verify web2
check_status "unknown server" 4
check_stderr "unknown server" 'server "web2" not found'

ctl enqueue verify
check_status "verify without a server" 2
check_stderr "verify without a server" "needs a SERVER"

ctl enqueue reboot
check_status "unknown task type" 2
check_stderr "unknown task type" 'unknown task type "reboot"'

ctl enqueue noop --arg sleep_ms
check_status "--arg without =" 2
check_stderr "--arg without =" 'invalid --arg "sleep_ms": expected KEY=VALUE'

ctl enqueue noop --arg =5
check_status "--arg without a key" 2
check_stderr "--arg without a key" 'invalid --arg "=5"'

ctl enqueue noop --arg sleep_ms=soon
check_status "noop --arg with a wrong type" 2
check_stderr "noop --arg with a wrong type" "args.sleep_ms must be an integer"

ctl enqueue noop --arg color=red
check_status "noop --arg unknown key" 2
check_stderr "noop --arg unknown key" "args.color is not a noop argument"

ctl enqueue noop --arg log=1 --arg log=2
check_status "--arg given twice" 2
check_stderr "--arg given twice" "--arg log is given twice"

ctl enqueue noop --priority high
check_status "--priority not a number" 2
check_stderr "--priority not a number" 'invalid --priority "high"'

ctl enqueue noop --priority 3000000000
check_status "--priority out of range" 2

ctl enqueue noop --max-attempts 0
check_status "--max-attempts 0" 2
check_stderr "--max-attempts 0" 'invalid --max-attempts "0": expected a whole number from 1 to 100'

ctl enqueue noop --run-after 'next tuesday-ish'
check_status "--run-after not a time" 2
check_stderr "--run-after not a time" 'invalid --run-after "next tuesday-ish"'

ctl enqueue noop --run-after '+5 fortnights'
check_status "--run-after not an interval" 2

ctl enqueue noop --wait --reconnect-timeout 5m
check_status "--reconnect-timeout not a number" 2
check_stderr "--reconnect-timeout not a number" 'invalid --reconnect-timeout "5m": expected a whole number from 0 to 86400'

check "rejected enqueues insert nothing" test "$(sql 'SELECT count(*) FROM provision.tasks')" = 0

ctl log 0
check_status "task id 0" 2
ctl log -- -5
check_status "negative task id" 2
ctl log 1 -f --reconnect-timeout 86401
check_status "--reconnect-timeout above a day" 2
check_stderr "--reconnect-timeout above a day" 'invalid --reconnect-timeout "86401"'
ctl retry 1 --wait --reconnect-timeout -1
check_status "negative --reconnect-timeout" 2

ctl frobnicate
check_status "unknown command" 2
check_stderr "unknown command" 'unknown command "frobnicate"'

ctl enqueue noop --colour
check_status "unknown option" 2
check_stderr "unknown option" "--colour"

"$PROVISIONCTL" migrate >"$WORK/out" 2>"$WORK/err"
status=$?
check_status "no database option" 2
check_stderr "no database option" "use -c CONFIG or -d CONNINFO"

"$PROVISIONCTL" -c "$WORK/missing.conf" migrate >"$WORK/out" 2>"$WORK/err"
status=$?
check_status "missing config file" 2
check_stderr "missing config file" "$WORK/missing.conf"

printf 'database = "%s"\nworkers = many\n' "$DB" >"$WORK/bad.conf"
"$PROVISIONCTL" -c "$WORK/bad.conf" migrate >"$WORK/out" 2>"$WORK/err"
status=$?
check_status "invalid config file" 2
check_stderr "invalid config file" "workers"

printf '# test config\ndatabase = "%s"\nworkers = 2\n' "$DB" >"$WORK/good.conf"
"$PROVISIONCTL" -c "$WORK/good.conf" migrate >"$WORK/out" 2>"$WORK/err"
status=$?
check_status "valid config file" 0
check_stdout "valid config file" "schema is up to date"

"$PROVISIONCTL" -c "$WORK/good.conf" -d "$DB" migrate >"$WORK/out" 2>"$WORK/err"
status=$?
check_status "both -c and -d" 2

# Port 1 on loopback has no server, so the connection is refused.
"$PROVISIONCTL" -d "host=127.0.0.1 port=1 dbname=x connect_timeout=5" migrate >"$WORK/out" 2>"$WORK/err"
status=$?
check_status "unreachable database" 3
check_stderr "unreachable database" "cannot connect to the database"

ctl migrate --status --json
check_status "--json after the command" 0
check_json "--json after the command"

ctl log -- --json
check_status "--json after -- is an argument" 2
check_stderr "--json after -- is an argument" 'invalid task id "--json"'

"$PROVISIONCTL" --help >"$WORK/out" 2>"$WORK/err"
status=$?
check_status "--help" 0
check_stdout "--help" "Exit codes:"

for command in migrate enqueue log tasks show cancel retry status servers; do
	"$PROVISIONCTL" "$command" --help >"$WORK/out" 2>"$WORK/err"
	status=$?
	check_status "$command --help without a database" 0
	check_stdout "$command --help" "Usage: provisionctl $command"
done

finish
