#!/bin/bash
# migrate: applies the embedded migrations once, also when several run at once.
. "$(dirname "$0")/lib.sh"

# The expectations follow the migration files, so that a new one needs no change here.
sql_dir="$(dirname "$0")/../../sql"
versions=$(ls "$sql_dir" | sed -n 's/^0*\([0-9][0-9]*\)_.*\.sql$/\1/p' | sort -n | paste -sd,)
latest=${versions##*,}
count=$(echo "$versions" | tr ',' '\n' | wc -l)

ctl migrate --status
check_status "status before the first migrate" 0
check_stdout "status before the first migrate" "pending"
check "status before the first migrate creates nothing" \
	test "$(sql "SELECT to_regclass('provision.schema_migrations') IS NULL")" = t

ctl migrate
check_status "first migrate" 0
check_stdout "first migrate" "applied migration 001_core"
check "first migrate records every version" \
	test "$(sql 'SELECT string_agg(version::text, $$,$$ ORDER BY version) FROM provision.schema_migrations')" = "$versions"
check "first migrate creates provision.tasks" \
	test "$(sql "SELECT to_regclass('provision.tasks') IS NOT NULL")" = t

ctl migrate
check_status "second migrate" 0
check_stdout "second migrate" "schema is up to date (version $latest)"
check "second migrate records nothing new" \
	test "$(sql 'SELECT count(*) FROM provision.schema_migrations')" = "$count"

ctl migrate --status
check_status "status after migrate" 0
check_stdout "status after migrate" "schema is at version $latest; 0 migrations pending"

ctl migrate extra
check_status "migrate with an argument" 2

# Concurrent migrates on a fresh database: one applies, the others wait and find nothing to do.
sql "DROP SCHEMA provision CASCADE"
for i in 1 2 3 4; do
	"$PROVISIONCTL" -d "$DB" migrate >"$WORK/concurrent$i.out" 2>"$WORK/concurrent$i.err" &
done
statuses=""
for pid in $(jobs -p); do
	wait "$pid"
	statuses="$statuses$?"
done
check "concurrent migrates all exit 0" test "$statuses" = 0000
check "concurrent migrates apply 001_core once" \
	test "$(cat "$WORK"/concurrent*.out | grep -c 'applied migration 001_core')" = 1
check "concurrent migrates record each version once" \
	test "$(sql 'SELECT count(*) FROM provision.schema_migrations')" = "$count"
check "concurrent migrates print only the waiting notice" \
	test "$(cat "$WORK"/concurrent*.err | grep -vc 'another migrate is running')" = 0

# A failing migration is rolled back whole and not recorded.
sql "DROP SCHEMA provision CASCADE"
sql "CREATE SCHEMA provision; CREATE TABLE provision.servers (id integer)"
ctl migrate
check_status "migrate over a conflicting table" 3
check_stderr "migrate over a conflicting table" "migration 001_core failed"
check "failed migration is not recorded" \
	test "$(sql 'SELECT count(*) FROM provision.schema_migrations')" = 0
check "failed migration leaves no tasks table" \
	test "$(sql "SELECT to_regclass('provision.tasks') IS NULL")" = t

ctl --json migrate --status
check_json "migrate --status --json"
check "migrate --status --json counts all pending" test "$(json_value pending)" = "$count"

sql "DROP SCHEMA provision CASCADE"
ctl --json migrate
check_status "migrate --json" 0
check_json "migrate --json"
check "migrate --json lists 001_core" test "$(json_value applied.0.name)" = core
check "migrate --json reports the latest version" test "$(json_value version)" = "$latest"

finish
