#!/bin/bash
# set_db_credentials for a server name that does not exist passes a NULL
# server_id.  The rejection must not show the password, neither to the
# caller nor in the server log.
. "$(dirname "$0")/../lib.sh"

test_setup migrate

secret='Pw-visible-in-detail-7f3a'
out=$(psql -X -v ON_ERROR_STOP=1 -c "SELECT provision.set_db_credentials(
	(SELECT id FROM provision.servers WHERE name = 'no-such-server'), 'admin', '$secret')" 2>&1) &&
	fail "set_db_credentials with a NULL server_id succeeded"
log "error: $(echo "$out" | tr '\n' ' ')"
assert_not_contains "$out" "$secret" "error of set_db_credentials with a NULL server_id"
# The STATEMENT line contains the literal by design; the DETAIL line must not.
assert_not_contains "$(grep DETAIL "$PG_DIR/postgresql.log" || true)" "$secret" \
	"DETAIL lines of the PostgreSQL log after the rejected write"
test_done
