-- One notification per statement and channel instead of one per task.
-- A claim or a batch write touches hundreds of tasks in one statement, and
-- the notifications for each of them cost about as much as the update
-- itself.  The payloads of provision_task_status and provision_task_log
-- are now lists of task ids in ascending order, separated by commas.  A
-- payload lists at most 300 ids, which keeps it well below PostgreSQL's
-- limit of 8000 bytes, so a statement that touches more tasks sends
-- several.  provision_tasks and provision_cancel keep their empty payloads.

-- The transition tables are compared with EXCEPT rather than joined on id:
-- the planner cannot estimate their size, and it joined them with a
-- nested loop, whose time grows with the square of the rows.

CREATE OR REPLACE FUNCTION provision.notify_tasks_updated() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('provision_task_status', string_agg(id::text, ',' ORDER BY id))
    FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / 300 AS part
          FROM (SELECT id, status FROM new_rows
                EXCEPT SELECT id, status FROM old_rows) changed) numbered
    GROUP BY part;

    -- Wake the daemons when a task became claimable again.
    IF EXISTS (SELECT id, status, run_after FROM new_rows WHERE status = 'queued'
               EXCEPT SELECT id, status, run_after FROM old_rows) THEN
        PERFORM pg_notify('provision_tasks', '');
    END IF;

    IF EXISTS (SELECT id FROM new_rows
               WHERE cancel_requested_at IS NOT NULL AND status IN ('queued', 'running')
               EXCEPT SELECT id FROM old_rows WHERE cancel_requested_at IS NOT NULL) THEN
        PERFORM pg_notify('provision_cancel', '');
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION provision.notify_task_log() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('provision_task_log', string_agg(task_id::text, ',' ORDER BY task_id))
    FROM (SELECT task_id, (row_number() OVER (ORDER BY task_id) - 1) / 300 AS part
          FROM (SELECT DISTINCT task_id FROM new_rows) logged) numbered
    GROUP BY part;
    RETURN NULL;
END;
$$;
