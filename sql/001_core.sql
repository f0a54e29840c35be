-- The frontend contract: servers, their services, database credentials,
-- the task queue and the task log.  provisionctl migrate runs each file in
-- one transaction and records it in provision.schema_migrations.

CREATE SCHEMA IF NOT EXISTS provision;

CREATE TABLE provision.servers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    hostname    text NOT NULL,
    ssh_port    integer NOT NULL DEFAULT 22 CHECK (ssh_port BETWEEN 1 AND 65535),
    ssh_user    text NOT NULL DEFAULT 'aegir',
    base_dir    text NOT NULL DEFAULT '/var/aegir',
    verified_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE provision.services (
    server_id bigint NOT NULL REFERENCES provision.servers (id) ON DELETE CASCADE,
    kind      text NOT NULL CHECK (kind IN ('web', 'db')),
    type      text NOT NULL CHECK (type IN ('apache', 'nginx', 'mysql')),
    port      integer CHECK (port BETWEEN 1 AND 65535),
    settings  jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (server_id, kind),
    CHECK ((kind = 'web' AND type IN ('apache', 'nginx')) OR (kind = 'db' AND type = 'mysql'))
);

CREATE TABLE provision.db_credentials (
    server_id      bigint PRIMARY KEY REFERENCES provision.servers (id) ON DELETE CASCADE,
    admin_user     text NOT NULL,
    admin_password text NOT NULL
);

-- Daemons that are running or have run against this database; heartbeat_at
-- is refreshed while a daemon lives and is connected.
CREATE TABLE provision.daemons (
    name         text PRIMARY KEY,
    hostname     text NOT NULL,
    pid          integer NOT NULL,
    version      text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    stopped_at   timestamptz,
    last_batch   bigint NOT NULL DEFAULT 0  -- sequence number of its last committed write
);

-- type is free text on purpose: a task of an unknown type is accepted here
-- and then failed by the daemon with an error that names the type.
CREATE TABLE provision.tasks (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type                text NOT NULL,
    server_id           bigint REFERENCES provision.servers (id) ON DELETE SET NULL,
    args                jsonb NOT NULL DEFAULT '{}',
    status              text NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'running', 'succeeded', 'warning', 'failed', 'cancelled')),
    priority            integer NOT NULL DEFAULT 0,
    run_after           timestamptz NOT NULL DEFAULT now(),
    attempts            integer NOT NULL DEFAULT 0,
    max_attempts        integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    finished_at         timestamptz,
    error               text,
    result              jsonb,
    cancel_requested_at timestamptz,
    claimed_by          text,        -- provision.daemons.name of the daemon running it
    lease_expires_at    timestamptz  -- the claim lapses after this unless renewed
);

-- The claim query reads queued tasks in this order.
CREATE INDEX tasks_queued_order ON provision.tasks (priority DESC, run_after, id)
    WHERE status = 'queued';

-- At most one running task per server, whichever daemon runs it.
CREATE UNIQUE INDEX tasks_one_running_per_server ON provision.tasks (server_id)
    WHERE status = 'running' AND server_id IS NOT NULL;

CREATE INDEX tasks_running_lease ON provision.tasks (lease_expires_at)
    WHERE status = 'running';

CREATE INDEX tasks_cancel_requested ON provision.tasks (id)
    WHERE cancel_requested_at IS NOT NULL AND status IN ('queued', 'running');

CREATE INDEX tasks_server_created ON provision.tasks (server_id, created_at DESC);

CREATE TABLE provision.task_log (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id   bigint NOT NULL REFERENCES provision.tasks (id) ON DELETE CASCADE,
    logged_at timestamptz NOT NULL DEFAULT now(),
    level     text NOT NULL CHECK (level IN ('debug', 'info', 'notice', 'warning', 'error')),
    message   text NOT NULL
);

CREATE INDEX task_log_task ON provision.task_log (task_id, id);

-- Aegir's numeric task statuses, for frontends that display them.
CREATE FUNCTION provision.aegir_status(status text) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT
    RETURN CASE status
        WHEN 'queued' THEN 0
        WHEN 'running' THEN -1
        WHEN 'succeeded' THEN 1
        WHEN 'failed' THEN 2
        WHEN 'cancelled' THEN 2
        WHEN 'warning' THEN 3
    END;

-- Notifications.  They are statement-level so that a batch of inserts sends
-- one notification per channel and payload, not one per row.
--   provision_tasks: a task was inserted or became claimable again (no payload)
--   provision_cancel: a frontend requested the cancellation of a task (no payload)
--   provision_task_log: log rows were added to the task whose id is the payload
--   provision_task_status: the task whose id is the payload changed status

CREATE FUNCTION provision.notify_tasks_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('provision_tasks', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER tasks_notify_insert
    AFTER INSERT ON provision.tasks
    FOR EACH STATEMENT EXECUTE FUNCTION provision.notify_tasks_inserted();

CREATE FUNCTION provision.notify_tasks_updated() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('provision_task_status', n.id::text)
    FROM new_rows n JOIN old_rows o USING (id)
    WHERE n.status <> o.status;

    -- Wake the daemons when a task became claimable again.
    IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o USING (id)
               WHERE n.status = 'queued'
                 AND (n.status <> o.status OR n.run_after IS DISTINCT FROM o.run_after)) THEN
        PERFORM pg_notify('provision_tasks', '');
    END IF;

    IF EXISTS (SELECT 1 FROM new_rows n JOIN old_rows o USING (id)
               WHERE n.cancel_requested_at IS NOT NULL AND o.cancel_requested_at IS NULL
                 AND n.status IN ('queued', 'running')) THEN
        PERFORM pg_notify('provision_cancel', '');
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER tasks_notify_update
    AFTER UPDATE ON provision.tasks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION provision.notify_tasks_updated();

CREATE FUNCTION provision.notify_task_log() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('provision_task_log', task_id::text)
    FROM (SELECT DISTINCT task_id FROM new_rows) AS t;
    RETURN NULL;
END;
$$;

CREATE TRIGGER task_log_notify_insert
    AFTER INSERT ON provision.task_log
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION provision.notify_task_log();
