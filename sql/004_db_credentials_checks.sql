-- The credentials of a db service reach MariaDB or MySQL as the account
-- name and password of verify's admin login, and the account name is also
-- written into task logs.  So names that no server accepts, or that would
-- break a log line, are rejected when a frontend writes them.  The worker
-- checks the same rules again before any remote action, because a row may
-- predate them: the constraints are NOT VALID, so this migration never
-- fails on existing rows.
--
-- PostgreSQL reports a violated CHECK or NOT NULL constraint with the whole
-- new row, admin_password included, in the error's DETAIL and in the server
-- log.  So the trigger below checks the same rules first and raises an
-- error that names the rule, the constraint and the server_id, but shows no
-- password.  The STATEMENT line of the server log still shows the SQL text
-- of a failed statement, so frontends pass the password as a bind
-- parameter, never as a literal.  The constraints remain as the guarantee where triggers do not
-- fire (session_replication_role = replica).

ALTER TABLE provision.db_credentials
    ADD CONSTRAINT db_credentials_admin_user_length
        CHECK (char_length(admin_user) BETWEEN 1 AND 128) NOT VALID,
    ADD CONSTRAINT db_credentials_admin_user_no_control_chars
        CHECK (admin_user !~ '[\x01-\x1f\x7f\u0080-\u009f]') NOT VALID,
    ADD CONSTRAINT db_credentials_admin_password_length
        CHECK (octet_length(admin_password) <= 1024) NOT VALID;
-- 1024 bytes is far above any real password and keeps the task that carries
-- it to the worker small.

CREATE FUNCTION provision.db_credentials_check() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    control text;
BEGIN
    -- A server name that matches no row makes set_db_credentials pass NULL.
    IF NEW.server_id IS NULL THEN
        RAISE EXCEPTION 'db_credentials: server_id must not be NULL'
            USING ERRCODE = 'not_null_violation',
                  HINT = 'Check the server name or id: no row of provision.servers matched it.';
    END IF;

    IF NEW.admin_user IS NULL OR NEW.admin_password IS NULL THEN
        RAISE EXCEPTION 'db_credentials of server_id %: admin_user and admin_password must not be NULL',
                NEW.server_id
            USING ERRCODE = 'not_null_violation';
    END IF;

    control := substring(NEW.admin_user FROM '[\x01-\x1f\x7f\u0080-\u009f]');
    IF control IS NOT NULL THEN
        RAISE EXCEPTION 'db_credentials of server_id %: admin_user contains the control character U+% '
                        'at character %, which violates db_credentials_admin_user_no_control_chars',
                NEW.server_id, lpad(upper(to_hex(ascii(control))), 4, '0'),
                strpos(NEW.admin_user, control)
            USING ERRCODE = 'check_violation', CONSTRAINT = 'db_credentials_admin_user_no_control_chars',
                  HINT = 'Store the account name exactly as CREATE USER on the database server names it.';
    END IF;

    IF char_length(NEW.admin_user) NOT BETWEEN 1 AND 128 THEN
        RAISE EXCEPTION 'db_credentials of server_id %: admin_user % has % characters, which violates '
                        'db_credentials_admin_user_length: it must have 1 to 128',
                NEW.server_id, quote_literal(left(NEW.admin_user, 140)), char_length(NEW.admin_user)
            USING ERRCODE = 'check_violation', CONSTRAINT = 'db_credentials_admin_user_length',
                  HINT = 'MariaDB 10.11 accepts user names of up to 128 characters, MySQL 5.7.8 and later 32; '
                         'an empty name is the anonymous account.';
    END IF;

    IF octet_length(NEW.admin_password) > 1024 THEN
        RAISE EXCEPTION 'db_credentials of server_id %: admin_password has % bytes, which violates '
                        'db_credentials_admin_password_length: it must have at most 1024',
                NEW.server_id, octet_length(NEW.admin_password)
            USING ERRCODE = 'check_violation', CONSTRAINT = 'db_credentials_admin_password_length',
                  HINT = 'Set a shorter password on the database server (ALTER USER) and store it here.';
    END IF;

    RETURN NEW;
END
$$;

CREATE TRIGGER db_credentials_check BEFORE INSERT OR UPDATE ON provision.db_credentials
    FOR EACH ROW EXECUTE FUNCTION provision.db_credentials_check();
