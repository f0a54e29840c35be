#include "spill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "xalloc.h"

/* Marks the start of each record: a batch as BATCH_COLUMNS (count, length, text) triples. */
#define RECORD_MAGIC 0x50565350u

static int fd = -1;
static char *path;
static char *offset_path;
static off_t read_offset;	/* start of the oldest record not yet in the database */
static off_t peeked_end;	/* end of the record spill_peek returned */
static long written;

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

static int read_exact(off_t at, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, at);

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

static void save_offset(void)
{
	int out = open(offset_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char text[32];

	if (out < 0) {
		log_warning("saving the spill read position to %s failed: %s", offset_path, strerror(errno));
		return;
	}
	snprintf(text, sizeof(text), "%lld\n", (long long)read_offset);
	if (write_all(out, text, strlen(text)) != 0)
		log_warning("saving the spill read position to %s failed: %s", offset_path, strerror(errno));
	close(out);
}

static void load_offset(void)
{
	FILE *in = fopen(offset_path, "r");
	long long value = 0;

	if (in == NULL)
		return;
	if (fscanf(in, "%lld", &value) == 1 && value >= 0)
		read_offset = (off_t)value;
	fclose(in);
}

static char *dir;

void spill_init(const char *state_dir, const char *daemon_name)
{
	dir = xstrdup(state_dir);
	path = xasprintf("%s/spill-%s.dat", state_dir, daemon_name);
	offset_path = xasprintf("%s.offset", path);
}

/* Creates the state folder and the spill file when the first batch is spilled. */
static int open_file(void)
{
	struct stat st;

	if (fd >= 0)
		return 0;
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		log_error("cannot create state_dir %s for the spill file: %s", dir, strerror(errno));
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("cannot open spill file %s: %s", path, strerror(errno));
		return -1;
	}
	load_offset();
	if (fstat(fd, &st) == 0 && st.st_size > read_offset)
		log_notice("spill file %s contains %lld bytes not yet written to the database", path,
			   (long long)(st.st_size - read_offset));
	return 0;
}

int spill_write(struct batch *b)
{
	struct pgarray *columns[BATCH_COLUMNS];
	uint32_t magic = RECORD_MAGIC;
	off_t start;

	if (open_file() != 0)
		return -1;
	start = lseek(fd, 0, SEEK_END);
	batch_columns(b, columns);
	if (write_all(fd, &magic, sizeof(magic)) != 0)
		goto fail;
	for (int i = 0; i < BATCH_COLUMNS; i++) {
		uint32_t count = (uint32_t)columns[i]->count;
		uint64_t len = columns[i]->len;

		if (write_all(fd, &count, sizeof(count)) != 0 || write_all(fd, &len, sizeof(len)) != 0 ||
		    (len > 0 && write_all(fd, columns[i]->buf, len) != 0))
			goto fail;
	}
	if (fdatasync(fd) != 0)
		goto fail;
	written++;
	batch_clear(b);
	return 0;

fail:
	/* Drop the partial record, so the file stays a sequence of whole records. */
	{
		int saved = errno;

		log_error("writing spill file %s failed: %s", path, strerror(saved));
		if (start >= 0 && ftruncate(fd, start) != 0)
			log_error("truncating the partial record of %s failed: %s", path, strerror(errno));
		errno = saved;
	}
	return -1;
}

bool spill_pending(void)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 && st.st_size > read_offset;
}

int spill_peek(struct batch *out)
{
	struct pgarray *columns[BATCH_COLUMNS];
	off_t at = read_offset;
	uint32_t magic;

	if (read_exact(at, &magic, sizeof(magic)) != 0 || magic != RECORD_MAGIC) {
		log_error("spill file %s is damaged at offset %lld; it is left for inspection", path,
			  (long long)at);
		return -1;
	}
	at += sizeof(magic);
	batch_columns(out, columns);
	for (int i = 0; i < BATCH_COLUMNS; i++) {
		uint32_t count;
		uint64_t len;

		if (read_exact(at, &count, sizeof(count)) != 0 ||
		    read_exact(at + (off_t)sizeof(count), &len, sizeof(len)) != 0)
			goto damaged;
		at += (off_t)(sizeof(count) + sizeof(len));
		columns[i]->buf = xmalloc(len + 1);
		columns[i]->cap = len + 1;
		if (len > 0 && read_exact(at, columns[i]->buf, len) != 0)
			goto damaged;
		columns[i]->buf[len] = '\0';
		columns[i]->len = len;
		columns[i]->count = (int)count;
		at += (off_t)len;
	}
	peeked_end = at;
	return 0;

damaged:
	batch_clear(out);
	log_error("spill file %s ends inside a record at offset %lld; it is left for inspection", path,
		  (long long)read_offset);
	return -1;
}

void spill_commit(void)
{
	struct stat st;

	read_offset = peeked_end;
	if (fstat(fd, &st) == 0 && read_offset >= st.st_size) {
		/* Everything is in the database: start the file over. */
		if (ftruncate(fd, 0) != 0)
			log_warning("truncating %s failed: %s", path, strerror(errno));
		read_offset = 0;
		unlink(offset_path);
		log_notice("every spilled batch is now in the database");
		return;
	}
	save_offset();
}

long spill_count(void)
{
	return written;
}

const char *spill_path(void)
{
	return path;
}

void spill_close(void)
{
	if (fd >= 0) {
		if (!spill_pending()) {
			unlink(path);
			unlink(offset_path);
		}
		close(fd);
	}
	fd = -1;
	free(path);
	free(offset_path);
	free(dir);
	path = offset_path = dir = NULL;
}
