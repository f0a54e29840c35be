/* Steps 5 and 6 of the sync engine (see sync.c): comparing and uploading files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shell_quote.h"
#include "ssh_internal.h"
#include "sync_internal.h"
#include "text_sanitize.h"
#include "xalloc.h"

/*
 * Bytes per SFTP write or read request.  The draft says every server SHOULD
 * accept packets of 34000 bytes, enough for 32768 bytes of data.
 */
#define CHUNK (32 * 1024)

/* Bytes read from a local file at a time. */
#define LOCAL_READ (256 * 1024)

/* Files per upload batch: one batch costs three round trips besides its data. */
#define UPLOAD_BATCH 128

/* Write requests of one batch that may wait for their reply at once (x CHUNK bytes). */
#define WRITE_RING 128

/* Bytes of remote data read before they are compared, in checksum mode. */
#define COMPARE_WINDOW (8 * 1024 * 1024)

/*
 * Bytes of one batched mv command.  Linux limits a single argument of
 * execve to 128 KiB (MAX_ARG_STRLEN), and sshd passes the whole command
 * to the shell as one argument.
 */
#define MV_COMMAND_MAX (64 * 1024)

/* Seconds a batched mv command may run. */
#define MV_TIMEOUT 300.0

/* ---- step 5: comparing contents ---- */

struct pending_read {
	size_t file;		/* index into the batch */
	uint64_t offset;
	uint32_t len;
	struct sftp_request req;
};

struct compared_file {
	size_t local;		/* index into run->local */
	struct sftp_request open, close;
	int fd;
	bool differs;
};

/* Compares the replies of the pending reads with the local files. */
static int check_reads(struct sync_run *run, struct compared_file *files, struct pending_read *reads,
		       size_t count)
{
	char *buf = xmalloc(CHUNK);
	int rc = 0;

	if (sftp_pipeline_wait(run->p, run->err) != 0)
		rc = -1;
	for (size_t i = 0; i < count && rc == 0; i++) {
		struct pending_read *r = &reads[i];
		struct compared_file *f = &files[r->file];
		ssize_t n;

		if (f->differs)
			continue;
		if (!sftp_request_ok(&r->req) || r->req.data_len != r->len) {
			/* A short read or end of file means the server's copy is shorter. */
			f->differs = true;
			continue;
		}
		n = pread(f->fd, buf, r->len, (off_t)r->offset);
		if (n != (ssize_t)r->len || memcmp(buf, r->req.data, r->len) != 0)
			f->differs = true;
	}
	for (size_t i = 0; i < count; i++)
		sftp_request_reset(&reads[i].req);
	free(buf);
	return rc;
}

/* Compares one batch of equal-sized files with the server's copies and sets DIFFERS[i] for each that differs. */
static int compare_batch(struct sync_run *run, struct compared_file *files, size_t count, bool *differs)
{
	size_t max_reads = COMPARE_WINDOW / CHUNK + 1;
	struct pending_read *reads = xcalloc(max_reads, sizeof(*reads));
	size_t pending = 0;
	int rc = 0;

	for (size_t i = 0; i < count && rc == 0; i++) {
		char *path = sync_remote_path(run, run->local.entries[files[i].local].path);

		files[i].fd = -1;
		rc = sftp_send_open(run->p, &files[i].open, path, SFTP_OPEN_READ, 0, run->err);
		free(path);
	}
	if (rc == 0)
		rc = sftp_pipeline_wait(run->p, run->err);

	for (size_t i = 0; i < count && rc == 0; i++) {
		const struct sync_entry *l = &run->local.entries[files[i].local];
		char *path;

		if (!sftp_request_ok(&files[i].open)) {
			files[i].differs = true;
			continue;
		}
		path = sync_local_path(run, l->path);
		files[i].fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		free(path);
		if (files[i].fd < 0) {
			files[i].differs = true;
			continue;
		}
		for (uint64_t offset = 0; offset < l->size && rc == 0; offset += CHUNK) {
			struct pending_read *r;

			if (pending == max_reads) {
				rc = check_reads(run, files, reads, pending);
				pending = 0;
				if (rc != 0)
					break;
			}
			r = &reads[pending++];
			r->file = i;
			r->offset = offset;
			r->len = (uint32_t)(l->size - offset < CHUNK ? l->size - offset : CHUNK);
			rc = sftp_send_read(run->p, &r->req, files[i].open.handle, files[i].open.handle_len, offset,
					    r->len, run->err);
		}
	}
	if (rc == 0)
		rc = check_reads(run, files, reads, pending);

	for (size_t i = 0; i < count && rc == 0; i++) {
		if (sftp_request_ok(&files[i].open))
			rc = sftp_send_close(run->p, &files[i].close, files[i].open.handle, files[i].open.handle_len,
					     run->err);
	}
	if (rc == 0)
		rc = sftp_pipeline_wait(run->p, run->err);

	for (size_t i = 0; i < count; i++) {
		differs[i] = files[i].differs;
		if (files[i].fd >= 0)
			close(files[i].fd);
		sftp_request_reset(&files[i].open);
		sftp_request_reset(&files[i].close);
	}
	free(reads);
	return rc;
}

/* ---- step 6: uploads ---- */

struct upload {
	size_t local;		/* index into run->local */
	char *temp;		/* remote temporary path */
	struct sftp_request open, setstat, close, finish;
	bool vanished;		/* the local file disappeared or stopped being a file */
	bool failed;
	const char *failed_op;
	struct sftp_request failed_req;	/* a copy of the first failed request's reply */
	uint64_t bytes;
};

struct write_slot {
	struct sftp_request req;
	struct upload *owner;
	bool used;
};

static void record_failure(struct upload *u, const struct sftp_request *req, const char *op)
{
	if (u->failed)
		return;
	u->failed = true;
	u->failed_op = op;
	u->failed_req.done = true;
	u->failed_req.status = req->status;
}

/* Waits for the write in SLOT if it has not finished, and records a failure; frees the slot. */
static int reclaim_slot(struct sync_run *run, struct write_slot *slot)
{
	if (!slot->used)
		return 0;
	if (!slot->req.done && sftp_pipeline_wait_for(run->p, &slot->req, run->err) != 0)
		return -1;
	if (!sftp_request_ok(&slot->req))
		record_failure(slot->owner, &slot->req, "write");
	sftp_request_reset(&slot->req);
	slot->used = false;
	return 0;
}

/* Sends the content of one local file to its open temporary, then its attributes and a close. */
static int send_file(struct sync_run *run, struct upload *u, struct write_slot *ring, size_t *next_slot,
		     char *buf)
{
	struct sync_entry *l = &run->local.entries[u->local];
	char *path = sync_local_path(run, l->path);
	uint64_t offset = 0;
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ELOOP)) {
		free(path);
		u->vanished = true;
		sync_notice(run, l->path, "it vanished or became a symbolic link during the sync");
		return sftp_send_close(run->p, &u->close, u->open.handle, u->open.handle_len, run->err);
	}
	if (fd < 0 || fstat(fd, &st) != 0) {
		int rc = sync_fail_local(run, "reading", path, errno);

		if (fd >= 0)
			close(fd);
		free(path);
		return rc;
	}
	free(path);

	for (;;) {
		ssize_t n = pread(fd, buf, LOCAL_READ, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;

			close(fd);
			path = sync_local_path(run, l->path);
			sync_fail_local(run, "reading", path, saved);
			free(path);
			return -1;
		}
		if (n == 0)
			break;
		for (ssize_t done = 0; done < n; done += CHUNK) {
			struct write_slot *slot = &ring[*next_slot];
			size_t len = (size_t)(n - done) < CHUNK ? (size_t)(n - done) : CHUNK;

			*next_slot = (*next_slot + 1) % WRITE_RING;
			if (reclaim_slot(run, slot) != 0 ||
			    sftp_send_write(run->p, &slot->req, u->open.handle, u->open.handle_len,
					    offset + (uint64_t)done, buf + done, len, run->err) != 0) {
				close(fd);
				return -1;
			}
			slot->owner = u;
			slot->used = true;
			run->stats->bytes_copied += len;
			u->bytes += len;
		}
		offset += (uint64_t)n;
		sync_report_progress(run);
	}
	close(fd);

	/* The file may have changed since the walk; what was sent is what the attributes describe. */
	l->size = offset;
	l->mode = st.st_mode & 07777;
	l->mtime = (unsigned long)st.st_mtime;
	if (sftp_send_fsetstat(run->p, &u->setstat, u->open.handle, u->open.handle_len, l->mode, true,
			       (unsigned long)st.st_atime, l->mtime, run->err) != 0)
		return -1;
	return sftp_send_close(run->p, &u->close, u->open.handle, u->open.handle_len, run->err);
}

struct mv_batch {
	char *command;
	size_t len, capacity;
	size_t count;
	char first_error[512];
};

static void collect_stderr(void *arg, enum ssh_stream stream, const char *line)
{
	struct mv_batch *b = arg;

	if (stream == SSH_STREAM_STDERR && b->first_error[0] == '\0')
		snprintf(b->first_error, sizeof(b->first_error), "%s", line);
}

/* Runs the batched mv command and starts a new one. */
static int run_mv_batch(struct sync_run *run, struct mv_batch *b)
{
	struct ssh_cmd_result res;
	int rc;

	if (b->count == 0)
		return 0;
	b->first_error[0] = '\0';
	rc = ssh_run(run->conn, b->command, MV_TIMEOUT, collect_stderr, b, &res, run->err);
	b->len = 0;
	b->count = 0;
	if (rc != 0)
		return -1;
	if (res.signal[0] != '\0') {
		ssh_error_set(run->err, run->conn, SSH_STEP_COMMAND, false,
			      "replacing files with mv -f failed (signal %s)%s%s", res.signal,
			      b->first_error[0] ? ": " : "", b->first_error);
		return -1;
	}
	if (res.exit_status != 0) {
		ssh_error_set(run->err, run->conn, SSH_STEP_COMMAND, false,
			      "replacing files with mv -f failed (exit status %d)%s%s", res.exit_status,
			      b->first_error[0] ? ": " : "", b->first_error);
		return -1;
	}
	return 0;
}

/*
 * Adds "mv -f -- FROM TO || s=1;" to the batch.  Each mv is one rename(2)
 * on the server.  The shell runs them all and exits 1 if any failed.
 */
static int add_mv(struct sync_run *run, struct mv_batch *b, const char *from, const char *to)
{
	char *words = shell_join((const char *const[]){ "mv", "-f", "--", from, to, NULL });
	size_t need = strlen(words) + 32;

	if (b->count > 0 && b->len + need > MV_COMMAND_MAX) {
		strcpy(b->command + b->len, "exit $s");
		if (run_mv_batch(run, b) != 0) {
			free(words);
			return -1;
		}
	}
	if (b->len + need + 8 > b->capacity) {
		b->capacity = b->len + need + 8 > MV_COMMAND_MAX ? b->len + need + 8 : MV_COMMAND_MAX;
		b->command = xrealloc(b->command, b->capacity + 16);
	}
	if (b->count == 0)
		b->len = (size_t)sprintf(b->command, "s=0; ");
	b->len += (size_t)sprintf(b->command + b->len, "%s || s=1; ", words);
	b->count++;
	free(words);
	return 0;
}

static int finish_mv(struct sync_run *run, struct mv_batch *b)
{
	if (b->count == 0)
		return 0;
	strcpy(b->command + b->len, "exit $s");
	return run_mv_batch(run, b);
}

/* Renames the batch's temporaries over their targets, or removes those of vanished files. */
static int rename_batch(struct sync_run *run, struct upload *batch, size_t count)
{
	struct mv_batch mv = { 0 };
	bool posix = sftp_pipeline_has_posix_rename(run->p);
	int rc = 0;

	for (size_t i = 0; i < count && rc == 0; i++) {
		struct upload *u = &batch[i];
		const struct sync_entry *l = &run->local.entries[u->local];
		char *target;

		if (u->vanished) {
			rc = sftp_send_remove(run->p, &u->finish, u->temp, run->err);
			continue;
		}
		target = sync_remote_path(run, l->path);
		if (l->match >= 0 && !posix)
			rc = add_mv(run, &mv, u->temp, target);
		else
			rc = sftp_send_rename(run->p, &u->finish, u->temp, target, run->err);
		free(target);
	}
	if (rc == 0)
		rc = sftp_pipeline_wait(run->p, run->err);
	for (size_t i = 0; i < count && rc == 0; i++) {
		const struct upload *u = &batch[i];
		const struct sync_entry *l = &run->local.entries[u->local];

		if (u->vanished || (l->match >= 0 && !posix))
			continue;
		if (!sftp_request_ok(&u->finish)) {
			char *target = sync_remote_path(run, l->path);

			rc = sync_fail_request(run, &u->finish, "rename to", target);
			free(target);
		}
	}
	if (rc == 0)
		rc = finish_mv(run, &mv);
	free(mv.command);

	for (size_t i = 0; i < count && rc == 0; i++) {
		if (batch[i].vanished)
			continue;
		run->stats->files_copied++;
		sync_mark_parent_changed(run, run->local.entries[batch[i].local].path);
	}
	return rc;
}

/* Checks the open, write, attribute and close replies of a batch. */
static int check_batch(struct sync_run *run, struct upload *batch, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		struct upload *u = &batch[i];

		if (!u->vanished && !sftp_request_ok(&u->setstat))
			record_failure(u, &u->setstat, "set attributes of");
		if (!sftp_request_ok(&u->close))
			record_failure(u, &u->close, "close");
		if (u->failed)
			return sync_fail_request(run, &u->failed_req, u->failed_op, u->temp);
	}
	return 0;
}

static int upload_batch(struct sync_run *run, struct upload *batch, size_t count, struct write_slot *ring,
			char *buf)
{
	size_t next_slot = 0;
	int rc = 0;

	for (size_t i = 0; i < count && rc == 0; i++) {
		batch[i].temp = sync_temporary_path(run, run->local.entries[batch[i].local].path);
		/* Mode 0600 until the data is complete; fsetstat sets the real mode. */
		rc = sftp_send_open(run->p, &batch[i].open, batch[i].temp,
				    SFTP_OPEN_WRITE | SFTP_OPEN_CREAT | SFTP_OPEN_EXCL | SFTP_OPEN_TRUNC, 0600,
				    run->err);
	}
	if (rc == 0)
		rc = sftp_pipeline_wait(run->p, run->err);
	for (size_t i = 0; i < count && rc == 0; i++) {
		if (!sftp_request_ok(&batch[i].open))
			rc = sync_fail_request(run, &batch[i].open, "creating temporary", batch[i].temp);
	}

	for (size_t i = 0; i < count && rc == 0; i++)
		rc = send_file(run, &batch[i], ring, &next_slot, buf);
	for (size_t i = 0; i < WRITE_RING && rc == 0; i++)
		rc = reclaim_slot(run, &ring[i]);
	if (rc == 0)
		rc = sftp_pipeline_wait(run->p, run->err);
	if (rc == 0)
		rc = check_batch(run, batch, count);
	if (rc == 0)
		rc = rename_batch(run, batch, count);
	sync_report_progress(run);
	return rc;
}

static int upload_files(struct sync_run *run, const size_t *files, size_t count)
{
	struct upload *batch = xcalloc(UPLOAD_BATCH, sizeof(*batch));
	struct write_slot *ring = xcalloc(WRITE_RING, sizeof(*ring));
	char *buf = xmalloc(LOCAL_READ);
	int rc = 0;

	for (size_t start = 0; start < count && rc == 0; start += UPLOAD_BATCH) {
		size_t n = count - start < UPLOAD_BATCH ? count - start : UPLOAD_BATCH;

		for (size_t i = 0; i < n; i++)
			batch[i].local = files[start + i];
		rc = upload_batch(run, batch, n, ring, buf);
		for (size_t i = 0; i < n; i++) {
			free(batch[i].temp);
			sftp_request_reset(&batch[i].open);
			sftp_request_reset(&batch[i].setstat);
			sftp_request_reset(&batch[i].close);
			sftp_request_reset(&batch[i].finish);
			memset(&batch[i], 0, sizeof(batch[i]));
		}
	}
	/* After a local failure writes may still be in flight; they must end before their requests are freed. */
	if (rc != 0) {
		struct ssh_error ignored;

		sftp_pipeline_wait(run->p, &ignored);
	}
	for (size_t i = 0; i < WRITE_RING; i++)
		sftp_request_reset(&ring[i].req);
	free(ring);
	free(batch);
	free(buf);
	return rc;
}

int sync_upload_files(struct sync_run *run)
{
	size_t n = run->local.count;
	size_t *copy = xcalloc(n ? n : 1, sizeof(*copy));
	size_t *compare = xcalloc(n ? n : 1, sizeof(*compare));
	size_t copy_count = 0, compare_count = 0;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		struct sync_entry *l = &run->local.entries[i];
		const struct sync_entry *r;

		if (l->type != SYNC_TYPE_FILE)
			continue;
		if (l->match < 0) {
			copy[copy_count++] = i;
			continue;
		}
		r = &run->remote.entries[l->match];
		if (r->size != l->size) {
			copy[copy_count++] = i;
		} else if (run->opt->checksum) {
			compare[compare_count++] = i;
		} else if (r->mtime != l->mtime) {
			copy[copy_count++] = i;
		} else {
			l->fix_attrs = r->mode != l->mode;
			run->stats->unchanged++;
		}
	}

	for (size_t start = 0; start < compare_count && rc == 0; start += OPEN_BATCH) {
		size_t count = compare_count - start < OPEN_BATCH ? compare_count - start : OPEN_BATCH;
		struct compared_file files[OPEN_BATCH];
		bool differs[OPEN_BATCH];

		memset(files, 0, sizeof(files));
		for (size_t i = 0; i < count; i++)
			files[i].local = compare[start + i];
		rc = compare_batch(run, files, count, differs);
		for (size_t i = 0; i < count && rc == 0; i++) {
			struct sync_entry *l = &run->local.entries[files[i].local];
			const struct sync_entry *r = &run->remote.entries[l->match];

			if (differs[i]) {
				copy[copy_count++] = files[i].local;
			} else {
				l->fix_attrs = r->mode != l->mode || r->mtime != l->mtime;
				run->stats->unchanged++;
			}
		}
	}

	for (size_t i = 0; i < copy_count; i++)
		run->stats->bytes_to_copy += run->local.entries[copy[i]].size;
	run->stats->files_to_copy = copy_count;
	if (rc == 0)
		rc = upload_files(run, copy, copy_count);
	free(copy);
	free(compare);
	return rc;
}
