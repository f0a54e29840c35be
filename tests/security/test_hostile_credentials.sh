#!/bin/bash
# db_credentials that no MariaDB or MySQL server accepts, or that would
# break a log line, are rejected by the schema with an error naming the
# constraint: an empty or over-long admin_user, control characters in it,
# NULLs, and an admin_password over 1024 bytes.  Neither the error nor the
# PostgreSQL log shows the password, through provision.set_db_credentials
# or a frontend's own INSERT and UPDATE.  Names with backticks, quotes,
# %, backslashes and two-byte characters are stored unchanged.
. "$(dirname "$0")/../lib.sh"

test_setup migrate

server=$(sql "INSERT INTO provision.servers (name, hostname) VALUES ('db1', '127.0.0.1') RETURNING id")
secret="Sekr1t-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
sql "CREATE ROLE panel LOGIN IN ROLE provision_frontend" >/dev/null

# store METHOD USER PASSWORD: writes the credentials with METHOD (function,
# insert or update, the last two as the frontend role); prints the error, or "ok".
store() {
	local statement

	case $1 in
	function) statement="SELECT provision.set_db_credentials(:server, :'user', :'pw');" ;;
	insert) statement="SET ROLE panel; INSERT INTO provision.db_credentials VALUES (:server, :'user', :'pw');" ;;
	update) statement="SET ROLE panel; UPDATE provision.db_credentials SET admin_user = :'user', admin_password = :'pw' WHERE server_id = :server;" ;;
	esac
	psql -qAtX -v ON_ERROR_STOP=1 -v server="$server" -v user="$2" -v pw="$3" >/dev/null 2>"$TEST_DIR/err" \
		<<<"$statement" && echo ok || cat "$TEST_DIR/err"
}

# expect_rejected WHAT USER PASSWORD NEEDLE: every method of writing is rejected with NEEDLE in the error.
expect_rejected() {
	local result

	for method in function insert update; do
		result=$(store "$method" "$2" "$3")
		assert_contains "$result" "$4" "$1 ($method)"
		assert_not_contains "$result" "$secret" "error for $1 ($method)"
	done
}

# The update cases need a row to update, stored as the frontend would.
assert_eq "$(store function ad.min "$secret")" ok "ordinary credentials"

printf -v long_user 'u%.0s' $(seq 1 129)
printf -v long_password 'p%.0s' $(seq 1 1025)
expect_rejected "an empty admin_user" "" "$secret" "violates db_credentials_admin_user_length"
expect_rejected "admin_user of 129 characters" "$long_user" "$secret" "violates db_credentials_admin_user_length"
expect_rejected "a line break in admin_user" $'ad\nmin' "$secret" "control character U+000A at character 3"
expect_rejected "a tab in admin_user" $'ad\tmin' "$secret" "db_credentials_admin_user_no_control_chars"
expect_rejected "an escape sequence in admin_user" $'ad\e[31mmin' "$secret" "control character U+001B"
expect_rejected "DEL in admin_user" $'ad\x7fmin' "$secret" "control character U+007F"
expect_rejected "a C1 control in admin_user" $'ad\u0085min' "$secret" "control character U+0085"
expect_rejected "admin_password of 1025 bytes" ad.min "$secret$long_password" "db_credentials_admin_password_length"

null_error=$(psql -qAtX -v ON_ERROR_STOP=1 -v server="$server" -v pw="$secret" 2>&1 >/dev/null \
	<<<"SELECT provision.set_db_credentials(:server, NULL, :'pw');" || true)
assert_contains "$null_error" "admin_user and admin_password must not be NULL" "NULL admin_user"
assert_not_contains "$null_error" "$secret" "error for a NULL admin_user"

# PostgreSQL logs each error with its DETAIL; only the client's own statement may show the password.
assert_eq "$(grep -E "(ERROR|DETAIL|HINT|CONTEXT): " "$PG_DIR/postgresql.log" | grep -cF -- "$secret")" 0 \
	"error records in the PostgreSQL log that show the password"
assert_ge "$(grep -c "ERROR: " "$PG_DIR/postgresql.log")" 25 "errors in the PostgreSQL log"

# ---- names that are valid for MariaDB are stored unchanged ----
printf -v longest_user 'ä%.0s' $(seq 1 123)
longest_user+="\`'\"%\\"
printf -v longest_password 'p%.0s' $(seq 1 1024)
for user in 'ad`min' "ad'min" 'ad"min' 'ad%min' 'ad\min' 'ad@min' 'ad min' "$longest_user"; do
	for method in function update; do
		assert_eq "$(store "$method" "$user" "$longest_password")" ok "admin_user [$user] ($method)"
		assert_eq "$(psql -qAtX -v user="$user" <<<"SELECT admin_user = :'user' FROM provision.db_credentials")" t \
			"admin_user [$user] stored unchanged ($method)"
	done
done

test_done
