#include "spill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "xalloc.h"

/* Marks the start of each record: a batch as BATCH_COLUMNS (count, length, text) triples. */
#define RECORD_MAGIC 0x50565350u

struct spill {
	int fd;
	char *dir;
	char *path;
	char *offset_path;
	char *daemon_name;
	bool orphan;		/* a dead daemon's file, removed once replayed */
	off_t read_offset;	/* start of the oldest record not yet in the database */
	off_t peeked_end;	/* end of the record spill_peek returned */
	long written;
};

static int write_all(int out, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(out, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_exact(const struct spill *s, off_t at, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = pread(s->fd, p, len, at);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		at += n;
		len -= (size_t)n;
	}
	return 0;
}

static void save_offset(const struct spill *s)
{
	int out = open(s->offset_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char text[32];

	if (out < 0) {
		log_warning("saving the spill read position to %s failed: %s", s->offset_path,
			    strerror(errno));
		return;
	}
	snprintf(text, sizeof(text), "%lld\n", (long long)s->read_offset);
	if (write_all(out, text, strlen(text)) != 0)
		log_warning("saving the spill read position to %s failed: %s", s->offset_path,
			    strerror(errno));
	close(out);
}

static void load_offset(struct spill *s)
{
	FILE *in = fopen(s->offset_path, "r");
	long long value = 0;

	if (in == NULL)
		return;
	if (fscanf(in, "%lld", &value) == 1 && value >= 0)
		s->read_offset = (off_t)value;
	fclose(in);
}

static struct spill *spill_alloc(const char *path, const char *daemon_name)
{
	struct spill *s = xcalloc(1, sizeof(*s));

	s->fd = -1;
	s->path = xstrdup(path);
	s->offset_path = xasprintf("%s.offset", path);
	s->daemon_name = xstrdup(daemon_name);
	return s;
}

struct spill *spill_new(const char *state_dir, const char *daemon_name)
{
	char *path = xasprintf("%s/spill-%s.dat", state_dir, daemon_name);
	struct spill *s = spill_alloc(path, daemon_name);

	s->dir = xstrdup(state_dir);
	free(path);
	return s;
}

/* Takes the file's lock without waiting.  Returns 0, or -1 after logging why. */
static int lock_file(const struct spill *s)
{
	if (flock(s->fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		log_notice("spill file %s is locked by another daemon; leaving it to that daemon", s->path);
	else
		log_error("locking spill file %s failed: %s", s->path, strerror(errno));
	return -1;
}

/* Returns true if PATH still names the open file, which another daemon may have replayed and removed. */
static bool still_linked(const struct spill *s)
{
	struct stat open_st, path_st;

	if (fstat(s->fd, &open_st) != 0 || stat(s->path, &path_st) != 0)
		return false;
	return open_st.st_dev == path_st.st_dev && open_st.st_ino == path_st.st_ino;
}

static void close_fd(struct spill *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

struct spill *spill_open_orphan(const char *path, const char *daemon_name)
{
	struct spill *s = spill_alloc(path, daemon_name);
	struct stat st;

	s->orphan = true;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		if (errno != ENOENT)
			log_error("cannot open spill file %s of daemon %s: %s; it is kept, fix its "
				  "permissions and restart provisiond to replay it", path, daemon_name,
				  strerror(errno));
		goto fail;
	}
	if (lock_file(s) != 0)
		goto fail;
	if (!still_linked(s))
		goto fail;

	load_offset(s);
	if (fstat(s->fd, &st) == 0 && st.st_size > s->read_offset)
		log_notice("replaying spill file %s of daemon %s, which is no longer running: %lld bytes "
			   "from offset %lld", path, daemon_name, (long long)(st.st_size - s->read_offset),
			   (long long)s->read_offset);
	return s;

fail:
	close_fd(s);	/* first, so that spill_close removes nothing */
	spill_close(s);
	return NULL;
}

/* Creates the state folder and the spill file when the first batch is spilled. */
static int open_own_file(struct spill *s)
{
	struct stat st;

	if (s->fd >= 0)
		return 0;
	if (mkdir(s->dir, 0750) != 0 && errno != EEXIST) {
		log_error("cannot create state_dir %s for the spill file: %s", s->dir, strerror(errno));
		return -1;
	}
	s->fd = open(s->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (s->fd < 0) {
		log_error("cannot open spill file %s: %s", s->path, strerror(errno));
		return -1;
	}
	if (lock_file(s) != 0) {
		close_fd(s);
		return -1;
	}
	load_offset(s);
	if (fstat(s->fd, &st) == 0 && st.st_size > s->read_offset)
		log_notice("spill file %s contains %lld bytes not yet written to the database", s->path,
			   (long long)(st.st_size - s->read_offset));
	return 0;
}

int spill_write(struct spill *s, struct batch *b)
{
	struct pgarray *columns[BATCH_COLUMNS];
	uint32_t magic = RECORD_MAGIC;
	off_t start;

	if (open_own_file(s) != 0)
		return -1;
	start = lseek(s->fd, 0, SEEK_END);
	batch_columns(b, columns);
	if (write_all(s->fd, &magic, sizeof(magic)) != 0)
		goto fail;
	for (int i = 0; i < BATCH_COLUMNS; i++) {
		uint32_t count = (uint32_t)columns[i]->count;
		uint64_t len = columns[i]->len;

		if (write_all(s->fd, &count, sizeof(count)) != 0 || write_all(s->fd, &len, sizeof(len)) != 0 ||
		    (len > 0 && write_all(s->fd, columns[i]->buf, len) != 0))
			goto fail;
	}
	if (fdatasync(s->fd) != 0)
		goto fail;
	s->written++;
	batch_clear(b);
	return 0;

fail:
	/* Drop the partial record, so the file stays a sequence of whole records. */
	{
		int saved = errno;

		log_error("writing spill file %s failed: %s", s->path, strerror(saved));
		if (start >= 0 && ftruncate(s->fd, start) != 0)
			log_error("truncating the partial record of %s failed: %s", s->path, strerror(errno));
		errno = saved;
	}
	return -1;
}

bool spill_pending(const struct spill *s)
{
	struct stat st;

	return s->fd >= 0 && fstat(s->fd, &st) == 0 && st.st_size > s->read_offset;
}

/* Logs that S cannot be read from offset AT on, and what the operator can do. */
static void log_damaged(const struct spill *s, off_t at, const char *what)
{
	log_error("spill file %s of daemon %s %s at offset %lld; it is kept, and its batches from "
		  "that offset on are not written to the database (those before it are). Inspect the "
		  "file, then delete it and its read position file %s by hand", s->path,
		  s->daemon_name, what, (long long)at, s->offset_path);
}

int spill_peek(struct spill *s, struct batch *out)
{
	struct pgarray *columns[BATCH_COLUMNS];
	off_t at = s->read_offset;
	uint32_t magic;
	struct stat st;

	if (fstat(s->fd, &st) != 0) {
		log_damaged(s, at, "cannot be read");
		return -1;
	}
	if (read_exact(s, at, &magic, sizeof(magic)) != 0 || magic != RECORD_MAGIC) {
		log_damaged(s, at, "has no record start");
		return -1;
	}
	at += sizeof(magic);
	batch_columns(out, columns);
	for (int i = 0; i < BATCH_COLUMNS; i++) {
		uint32_t count;
		uint64_t len;

		if (read_exact(s, at, &count, sizeof(count)) != 0 ||
		    read_exact(s, at + (off_t)sizeof(count), &len, sizeof(len)) != 0)
			goto damaged;
		/* A damaged length must not make the daemon allocate more than the file holds. */
		if (len > (uint64_t)st.st_size)
			goto damaged;
		at += (off_t)(sizeof(count) + sizeof(len));
		columns[i]->buf = xmalloc(len + 1);
		columns[i]->cap = len + 1;
		if (len > 0 && read_exact(s, at, columns[i]->buf, len) != 0)
			goto damaged;
		columns[i]->buf[len] = '\0';
		columns[i]->len = len;
		columns[i]->count = (int)count;
		at += (off_t)len;
	}
	s->peeked_end = at;
	return 0;

damaged:
	batch_clear(out);
	log_damaged(s, s->read_offset, "ends inside a record");
	return -1;
}

void spill_commit(struct spill *s)
{
	struct stat st;

	s->read_offset = s->peeked_end;
	if (!s->orphan && fstat(s->fd, &st) == 0 && s->read_offset >= st.st_size) {
		/* Everything is in the database: start the file over. */
		if (ftruncate(s->fd, 0) != 0)
			log_warning("truncating %s failed: %s", s->path, strerror(errno));
		s->read_offset = 0;
		unlink(s->offset_path);
		log_notice("every spilled batch is now in the database");
		return;
	}
	save_offset(s);
}

long spill_count(const struct spill *s)
{
	return s->written;
}

const char *spill_path(const struct spill *s)
{
	return s->path;
}

const char *spill_daemon_name(const struct spill *s)
{
	return s->daemon_name;
}

void spill_close(struct spill *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0 && !spill_pending(s)) {
		/* The data file goes first: an .offset file without it is harmless. */
		unlink(s->path);
		unlink(s->offset_path);
	}
	close_fd(s);
	free(s->dir);
	free(s->path);
	free(s->offset_path);
	free(s->daemon_name);
	free(s);
}
