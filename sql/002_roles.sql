-- Least-privilege group roles.  They cannot log in; an administrator
-- creates login roles that are members of them (see the README):
--   provision_frontend  enqueues and cancels tasks, reads tasks, logs,
--                       servers and services, and writes database
--                       credentials without being able to read them back
--   provision_daemon    what provisiond needs at run time, and no DDL
--   provision_operator  reads everything but credentials (it may see which
--                       servers have some), cancels and retries tasks
-- Roles belong to the whole cluster, so they may exist already from
-- another database; their grants here apply to this database only.

DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['provision_frontend', 'provision_daemon', 'provision_operator'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', name);
        END IF;
    END LOOP;
END;
$$;

REVOKE ALL ON ALL TABLES IN SCHEMA provision FROM PUBLIC;
GRANT USAGE ON SCHEMA provision TO provision_frontend, provision_daemon, provision_operator;

-- Frontend.  Column lists keep it away from the daemon's bookkeeping.
GRANT SELECT ON provision.tasks, provision.task_log, provision.servers, provision.services
    TO provision_frontend;
GRANT INSERT (type, server_id, args, priority, run_after, max_attempts) ON provision.tasks
    TO provision_frontend;
GRANT UPDATE (cancel_requested_at) ON provision.tasks TO provision_frontend;
-- Writing credentials needs server_id readable for the WHERE clause and ON
-- CONFLICT; admin_user and admin_password stay unreadable.
GRANT INSERT (server_id, admin_user, admin_password),
      UPDATE (admin_user, admin_password),
      SELECT (server_id)
    ON provision.db_credentials TO provision_frontend;

-- Daemon.
GRANT SELECT ON provision.schema_migrations, provision.servers, provision.services,
                provision.db_credentials
    TO provision_daemon;
GRANT SELECT, UPDATE ON provision.tasks TO provision_daemon;
GRANT SELECT, INSERT ON provision.task_log TO provision_daemon;
GRANT SELECT, INSERT, UPDATE ON provision.daemons TO provision_daemon;
GRANT UPDATE (verified_at) ON provision.servers TO provision_daemon;

-- Operator.
GRANT SELECT ON provision.schema_migrations, provision.servers, provision.services,
                provision.tasks, provision.task_log, provision.daemons
    TO provision_operator;
GRANT SELECT (server_id) ON provision.db_credentials TO provision_operator;
GRANT UPDATE (cancel_requested_at) ON provision.tasks TO provision_operator;
GRANT INSERT (type, server_id, args, priority, run_after, max_attempts) ON provision.tasks
    TO provision_operator;

-- An upsert reads EXCLUDED columns, which needs SELECT on them, so a
-- frontend that must not read passwords stores credentials through this
-- function instead.  It runs with its owner's rights.
CREATE FUNCTION provision.set_db_credentials(p_server_id bigint, p_admin_user text, p_admin_password text)
    RETURNS void
    LANGUAGE sql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        INSERT INTO provision.db_credentials (server_id, admin_user, admin_password)
        VALUES (p_server_id, p_admin_user, p_admin_password)
        ON CONFLICT (server_id) DO UPDATE
            SET admin_user = EXCLUDED.admin_user, admin_password = EXCLUDED.admin_password;
    END;

REVOKE ALL ON FUNCTION provision.set_db_credentials(bigint, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION provision.set_db_credentials(bigint, text, text)
    TO provision_frontend, provision_operator;
