/*
 * The SQL the daemon runs.  Each statement is one round trip; parameters
 * are listed above each one.
 */
#ifndef PROVISIOND_QUERIES_H
#define PROVISIOND_QUERIES_H

/*
 * Run after every connect: notifications that wake the daemon, and no
 * bitmap scans.  A table without statistics, as after a burst of inserts
 * into a small table, made the planner expect one queued task.  It then
 * read the candidates of SQL_CLAIM with a bitmap scan of every queued task
 * and a sort, instead of the first rows of tasks_queued_order.  A claim of 256
 * out of 20,000 queued tasks took 15 ms that way and 5 ms without bitmap
 * scans (PostgreSQL 15, EXPLAIN ANALYZE).
 * The daemon's other statements read few rows, which plain index scans
 * serve as well.
 */
#define SQL_SESSION_SETUP \
	"SET application_name = 'provisiond'; " \
	"SET enable_bitmapscan = off; " \
	"LISTEN provision_tasks; " \
	"LISTEN provision_cancel; " \
	"LISTEN provision_ping"

/*
 * $1 daemon name: a health check that must come back as a notification on
 * the same connection, proving that it still carries queries and
 * notifications both ways.
 */
#define SQL_PING \
	"SELECT pg_notify('provision_ping', $1)"

#define SQL_SCHEMA_VERSION \
	"SELECT coalesce(max(version), 0) FROM provision.schema_migrations"

/* $1 name, $2 hostname, $3 pid, $4 version */
#define SQL_REGISTER_DAEMON \
	"INSERT INTO provision.daemons (name, hostname, pid, version) " \
	"VALUES ($1, $2, $3, $4) " \
	"ON CONFLICT (name) DO UPDATE SET heartbeat_at = now(), stopped_at = NULL"

/* $1 name */
#define SQL_DAEMON_STOPPED \
	"UPDATE provision.daemons SET stopped_at = now(), heartbeat_at = now() WHERE name = $1"

/*
 * Claims up to $2 due tasks for daemon $1 with a lease of $3 seconds, at
 * most one per server and none for a server that already runs a task.
 * SKIP LOCKED lets daemons claim side by side; two daemons picking
 * different tasks of one idle server at the same moment make the second
 * UPDATE fail on tasks_one_running_per_server (SQLSTATE 23505), and the
 * caller then simply claims again.  The candidate list is over-fetched so
 * that several queued tasks of one server do not crowd out other servers.
 * The update finds the picked tasks with "= ANY" of an array, which is
 * planned as lookups in the primary key.  A join with picked was planned
 * as a hash join over a scan of the whole table once the table had
 * statistics and a few thousand rows.
 * Returns one row per claimed task: id, type, and the worker's request JSON.
 */
#define SQL_CLAIM \
	"WITH candidates AS ( " \
	"  SELECT t.id, t.server_id, t.priority, t.run_after FROM provision.tasks t " \
	"  WHERE t.status = 'queued' AND t.run_after <= now() AND t.cancel_requested_at IS NULL " \
	"    AND (t.server_id IS NULL OR NOT EXISTS (SELECT 1 FROM provision.tasks r " \
	"         WHERE r.server_id = t.server_id AND r.status = 'running')) " \
	"  ORDER BY t.priority DESC, t.run_after, t.id " \
	"  LIMIT $2::integer * 4 " \
	"  FOR UPDATE SKIP LOCKED " \
	"), picked AS ( " \
	"  SELECT id FROM (SELECT DISTINCT ON (coalesce(server_id, -id)) id, priority, run_after " \
	"                  FROM candidates " \
	"                  ORDER BY coalesce(server_id, -id), priority DESC, run_after, id) one " \
	"  ORDER BY priority DESC, run_after, id LIMIT $2::integer " \
	"), claimed AS ( " \
	"  UPDATE provision.tasks t SET status = 'running', started_at = now(), finished_at = NULL, " \
	"    error = NULL, result = NULL, attempts = t.attempts + 1, claimed_by = $1, " \
	"    lease_expires_at = now() + make_interval(secs => $3::float8) " \
	"  WHERE t.id = ANY (ARRAY(SELECT id FROM picked)) " \
	"  RETURNING t.id, t.type, t.server_id, t.args, t.attempts, t.max_attempts, t.priority, t.run_after " \
	") " \
	"SELECT c.id, c.type, json_build_object( " \
	"  'op', 'task', 'id', c.id, 'type', c.type, 'attempt', c.attempts, " \
	"  'max_attempts', c.max_attempts, 'args', c.args, " \
	"  'server', CASE WHEN s.id IS NULL THEN NULL ELSE json_build_object( " \
	"     'id', s.id, 'name', s.name, 'hostname', s.hostname, 'ssh_port', s.ssh_port, " \
	"     'ssh_user', s.ssh_user, 'base_dir', s.base_dir) END, " \
	"  'services', coalesce((SELECT json_agg(json_build_object('kind', v.kind, 'type', v.type, " \
	"     'port', v.port, 'settings', v.settings) ORDER BY v.kind) " \
	"     FROM provision.services v WHERE v.server_id = c.server_id), '[]'::json), " \
	"  'credentials', CASE WHEN c.type = 'verify' THEN (SELECT json_build_object( " \
	"     'admin_user', d.admin_user, 'admin_password', d.admin_password) " \
	"     FROM provision.db_credentials d WHERE d.server_id = c.server_id) END " \
	")::text " \
	"FROM claimed c LEFT JOIN provision.servers s ON s.id = c.server_id " \
	"ORDER BY c.priority DESC, c.run_after, c.id"

/*
 * Writes a batch: log rows ($1 task ids, $2 Unix times, $3 levels,
 * $4 messages, in order) and final statuses ($5 task ids, $6 statuses,
 * $7 errors, $8 result JSON, $9 Unix end times, $10 transient flags,
 * $12 Unix start times or NULL) of tasks held by daemon $11, and records
 * $13, the batch's sequence number, so that after a connection loss the
 * daemon can tell whether the batch committed.  A transient
 * failure with attempts left goes back to
 * the queue with an exponential backoff (10s, 20s, 40s ... capped at one
 * hour).  Log rows of tasks deleted meanwhile are skipped.
 *
 * The plan must not depend on statistics, which are far off after a burst
 * of claims.  With such statistics the planner chose a nested loop that
 * read the whole batch once per running task, or a hash join over a scan
 * of the whole table.  "OFFSET 0" keeps each lookup of a task a subquery of its own,
 * run once per row of the batch through the primary key, and "= ANY"
 * lets the update read only the tasks of the batch.
 */
#define SQL_WRITE_BATCH \
	"WITH log_rows AS ( " \
	"  INSERT INTO provision.task_log (task_id, logged_at, level, message) " \
	"  SELECT u.task_id, to_timestamp(u.ts), u.level, u.message " \
	"  FROM unnest($1::bigint[], $2::float8[], $3::text[], $4::text[]) WITH ORDINALITY " \
	"       AS u(task_id, ts, level, message, n) " \
	"  WHERE EXISTS (SELECT 1 FROM provision.tasks t WHERE t.id = u.task_id OFFSET 0) " \
	"  ORDER BY u.n " \
	"  RETURNING 1 " \
	"), outcome AS ( " \
	"  SELECT u.*, t.attempts < t.max_attempts AND u.transient AND u.status = 'failed' AS retry, " \
	"         t.attempts " \
	"  FROM unnest($5::bigint[], $6::text[], $7::text[], $8::text[], $9::float8[], $10::boolean[], " \
	"              $12::float8[]) " \
	"       AS u(id, status, error, result, ts, transient, began) " \
	"  CROSS JOIN LATERAL (SELECT status, claimed_by, attempts, max_attempts " \
	"    FROM provision.tasks t WHERE t.id = u.id OFFSET 0) t " \
	"  WHERE t.status = 'running' AND t.claimed_by = $11 " \
	"), finished AS ( " \
	"  UPDATE provision.tasks t SET " \
	"    status = CASE WHEN o.retry THEN 'queued' ELSE o.status END, " \
	"    finished_at = CASE WHEN o.retry THEN NULL ELSE to_timestamp(o.ts) END, " \
	"    run_after = CASE WHEN o.retry THEN now() + make_interval(secs => " \
	"                  least(3600, 10 * power(2, o.attempts - 1))) ELSE t.run_after END, " \
	"    started_at = coalesce(to_timestamp(o.began), t.started_at), " \
	"    error = o.error, result = o.result::jsonb, claimed_by = NULL, lease_expires_at = NULL " \
	"  FROM outcome o WHERE t.id = o.id AND t.id = ANY ($5::bigint[]) " \
	"  RETURNING t.id, t.status, t.type, t.server_id, t.finished_at, t.result " \
	"), verified AS ( " \
	"  UPDATE provision.servers s SET verified_at = f.finished_at FROM finished f " \
	"  WHERE s.id = f.server_id AND f.type = 'verify' AND f.status = 'succeeded' " \
	"    AND f.result->>'verified' = 'true' " \
	"), mark AS ( " \
	"  UPDATE provision.daemons SET last_batch = $13 WHERE name = $11 " \
	") " \
	"SELECT (SELECT count(*) FROM log_rows), (SELECT count(*) FROM finished), " \
	"       (SELECT count(*) FROM finished WHERE status = 'queued')"

/*
 * $1 name, $2 hostname and $3 pid of a daemon whose spill file is left in
 * state_dir, $4 seconds of silence after which a daemon counts as gone.
 * Returns whether the daemon stopped or has not renewed its heartbeat for
 * $4 seconds, and the sequence number of its last committed batch, from
 * which a replay of its file goes on.  A daemon missing from the table is
 * added as stopped, because the batch check after a lost result
 * (SQL_LAST_BATCH) needs its row.
 */
#define SQL_ORPHAN_DAEMON \
	"WITH added AS ( " \
	"  INSERT INTO provision.daemons (name, hostname, pid, version, stopped_at) " \
	"  VALUES ($1, $2, $3, 'unknown', now()) ON CONFLICT (name) DO NOTHING " \
	"  RETURNING true AS gone, last_batch " \
	") " \
	"SELECT gone, last_batch FROM added " \
	"UNION ALL " \
	"SELECT stopped_at IS NOT NULL OR heartbeat_at < now() - make_interval(secs => $4::float8), " \
	"       last_batch " \
	"FROM provision.daemons WHERE name = $1"

/* $1 daemon name: the sequence number of the last batch that committed. */
#define SQL_LAST_BATCH \
	"SELECT last_batch FROM provision.daemons WHERE name = $1"

/*
 * $1 daemon name, $2 lease seconds, $3 ids of the tasks this daemon runs or
 * has claimed ahead: heartbeat and lease renewal.  Only those ids are
 * renewed, so a task whose claim result never arrived (the connection
 * broke first) lapses and is recovered.  Returns the ids renewed.
 */
#define SQL_RENEW \
	"WITH beat AS (UPDATE provision.daemons SET heartbeat_at = now() WHERE name = $1) " \
	"UPDATE provision.tasks SET lease_expires_at = now() + make_interval(secs => $2::float8) " \
	"WHERE status = 'running' AND claimed_by = $1 AND id = ANY($3::bigint[]) RETURNING id"

/*
 * NOTE: a task that its daemon claimed ahead and never started also counts
 * its attempt here, because nothing in the row distinguishes it from a
 * started one.
 *
 * Recovers tasks whose lease expired because their daemon died or lost
 * the database, or that are running without any lease (set by hand): back
 * to the queue if attempts remain, else failed.  Logs the recovery in each
 * task's log as a notice, not a warning, because the task's own run decides
 * whether it ends with warnings.
 */
#define SQL_RECOVER_EXPIRED \
	"WITH expired AS ( " \
	"  SELECT id, claimed_by, attempts < max_attempts AS requeue FROM provision.tasks " \
	"  WHERE status = 'running' AND (lease_expires_at < now() OR lease_expires_at IS NULL) " \
	"  FOR UPDATE SKIP LOCKED " \
	"), recovered AS ( " \
	"  UPDATE provision.tasks t SET " \
	"    status = CASE WHEN e.requeue THEN 'queued' ELSE 'failed' END, " \
	"    finished_at = CASE WHEN e.requeue THEN NULL ELSE now() END, run_after = now(), " \
	"    error = CASE WHEN e.requeue THEN NULL ELSE 'interrupted: daemon ' || " \
	"      coalesce(e.claimed_by, '?') || ' stopped renewing its lease and no attempts are left' END, " \
	"    claimed_by = NULL, lease_expires_at = NULL " \
	"  FROM expired e WHERE t.id = e.id RETURNING t.id, t.status, e.claimed_by " \
	"), logged AS ( " \
	"  INSERT INTO provision.task_log (task_id, level, message) " \
	"  SELECT id, 'notice', 'interrupted: daemon ' || coalesce(claimed_by, '?') || " \
	"    ' stopped renewing its lease; ' || CASE WHEN status = 'queued' " \
	"    THEN 're-queued' ELSE 'failed, no attempts left' END FROM recovered " \
	") " \
	"SELECT count(*) FROM recovered"

/* $1 daemon name: cancels queued tasks and lists running ones of this daemon to stop. */
#define SQL_CANCELS \
	"WITH cancelled AS ( " \
	"  UPDATE provision.tasks SET status = 'cancelled', finished_at = now(), " \
	"    error = 'cancelled before it started' " \
	"  WHERE status = 'queued' AND cancel_requested_at IS NOT NULL RETURNING id " \
	"), logged AS ( " \
	"  INSERT INTO provision.task_log (task_id, level, message) " \
	"  SELECT id, 'notice', 'cancelled before it started' FROM cancelled " \
	") " \
	"SELECT id FROM provision.tasks WHERE status = 'running' AND claimed_by = $1 " \
	"  AND cancel_requested_at IS NOT NULL"

/*
 * $1 daemon name, $2 task ids: hands claimed tasks that never reached a
 * worker back to the queue, without counting an attempt.
 */
#define SQL_UNCLAIM \
	"UPDATE provision.tasks SET status = 'queued', attempts = attempts - 1, started_at = NULL, " \
	"  claimed_by = NULL, lease_expires_at = NULL " \
	"WHERE id = ANY($2::bigint[]) AND status = 'running' AND claimed_by = $1"

/*
 * $1 daemon name, $2 reason: at shutdown, hands this daemon's running
 * tasks back to the queue (failed instead when no attempts are left).
 */
#define SQL_RELEASE_OWN \
	"WITH released AS ( " \
	"  UPDATE provision.tasks SET " \
	"    status = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END, " \
	"    finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE now() END, " \
	"    error = CASE WHEN attempts < max_attempts THEN NULL " \
	"      ELSE 'interrupted: ' || $2 || '; no attempts left' END, " \
	"    run_after = now(), claimed_by = NULL, lease_expires_at = NULL " \
	"  WHERE status = 'running' AND claimed_by = $1 RETURNING id, status " \
	"), logged AS ( " \
	"  INSERT INTO provision.task_log (task_id, level, message) " \
	"  SELECT id, 'notice', 'interrupted: ' || $2 || CASE WHEN status = 'queued' " \
	"    THEN '; re-queued' ELSE '; failed, no attempts left' END FROM released " \
	") " \
	"SELECT count(*) FROM released"

#endif
