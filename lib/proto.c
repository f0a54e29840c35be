#include "proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

void proto_reader_init(struct proto_reader *r)
{
	r->cap = 64 * 1024;
	r->buf = xmalloc(r->cap);
	r->len = 0;
}

void proto_reader_free(struct proto_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}

/* The buffer's limit: one maximal line, its newline and one more read. */
#define PROTO_READER_MAX_CAP ((size_t)PROTO_MAX_LINE + 1 + 64 * 1024)

long proto_reader_fill(struct proto_reader *r, int fd)
{
	ssize_t n;

	if (r->cap - r->len < 16 * 1024 && r->cap < PROTO_READER_MAX_CAP) {
		r->cap = r->cap * 2 < PROTO_READER_MAX_CAP ? r->cap * 2 : PROTO_READER_MAX_CAP;
		r->buf = xrealloc(r->buf, r->cap);
	}
	if (r->len == r->cap) {
		errno = EMSGSIZE;
		return -1;
	}
	do {
		n = read(fd, r->buf + r->len, r->cap - r->len);
	} while (n < 0 && errno == EINTR);
	if (n > 0)
		r->len += (size_t)n;
	return (long)n;
}

static void consume(struct proto_reader *r, size_t count)
{
	memmove(r->buf, r->buf + count, r->len - count);
	r->len -= count;
}

int proto_reader_next(struct proto_reader *r, json_t **msg, char *err, size_t errlen)
{
	json_error_t jerr;
	char *nl;
	size_t line_len;

	*msg = NULL;
	nl = memchr(r->buf, '\n', r->len);
	if (nl == NULL) {
		if (r->len > PROTO_MAX_LINE) {
			snprintf(err, errlen, "message longer than %d bytes", PROTO_MAX_LINE);
			r->len = 0;
			return -1;
		}
		return 0;
	}

	line_len = (size_t)(nl - r->buf);
	if (line_len > PROTO_MAX_LINE) {
		snprintf(err, errlen, "message longer than %d bytes", PROTO_MAX_LINE);
		consume(r, line_len + 1);
		return -1;
	}
	*msg = json_loadb(r->buf, line_len, JSON_REJECT_DUPLICATES, &jerr);
	consume(r, line_len + 1);
	if (*msg == NULL) {
		snprintf(err, errlen, "invalid JSON message: %s at column %d", jerr.text, jerr.column);
		return -1;
	}
	if (!json_is_object(*msg)) {
		json_decref(*msg);
		*msg = NULL;
		snprintf(err, errlen, "message is not a JSON object");
		return -1;
	}
	return 1;
}

char *proto_encode(const json_t *msg, size_t *len)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	size_t n;

	if (text == NULL)
		return NULL;
	n = strlen(text);
	text = xrealloc(text, n + 2);
	text[n] = '\n';
	text[n + 1] = '\0';
	*len = n + 1;
	return text;
}

int proto_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}
