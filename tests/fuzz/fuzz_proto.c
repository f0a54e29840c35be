/*
 * Fuzzes the reader of the daemon-worker pipe protocol (proto_reader_fill
 * and proto_reader_next), which the daemon runs on everything a worker
 * writes, and proto_encode on every message it accepts.
 *
 * Input: the bytes a worker writes to its event pipe.  They go through a
 * real pipe in chunks of varying size, so that messages also arrive split
 * across reads, as they do from a busy worker.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "fuzz_common.h"
#include "proto.h"
#include "task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stays below the 64 KiB default capacity of a Linux pipe, so a write never blocks. */
#define MAX_CHUNK 4096

static int pipe_fds[2] = { -1, -1 };

/* Reads the fields the daemon reads from an event, the way handle_event in daemon/workers.c does. */
static void read_event_fields(const json_t *msg)
{
	const char *op = json_string_value(json_object_get(msg, "op"));
	const char *level = json_string_value(json_object_get(msg, "level"));
	const json_t *result = json_object_get(msg, "result");

	(void)json_integer_value(json_object_get(msg, "id"));
	(void)json_number_value(json_object_get(msg, "ts"));
	if (op != NULL)
		(void)strlen(op);
	if (level != NULL)
		(void)task_log_level_valid(level);
	if (result != NULL && !json_is_null(result)) {
		char *text = json_dumps(result, JSON_COMPACT);

		/* Without JSON_ENCODE_ANY jansson encodes only objects and arrays. */
		if (json_is_object(result) || json_is_array(result))
			FUZZ_CHECK(text != NULL);
		free(text);
	}
}

/* Checks that proto_encode writes MSG as one line that reads back as an equal message. */
static void check_round_trip(const json_t *msg)
{
	struct proto_reader reader;
	json_t *copy = NULL;
	char err[256];
	size_t len;
	char *line = proto_encode(msg, &len);

	FUZZ_CHECK(line != NULL);
	FUZZ_CHECK(len > 0 && line[len - 1] == '\n');
	FUZZ_CHECK(memchr(line, '\n', len - 1) == NULL);

	proto_reader_init(&reader);
	FUZZ_CHECK(len <= reader.cap);
	memcpy(reader.buf, line, len);
	reader.len = len;
	FUZZ_CHECK(proto_reader_next(&reader, &copy, err, sizeof(err)) == 1);
	FUZZ_CHECK(json_equal(copy, msg));
	FUZZ_CHECK(reader.len == 0);

	json_decref(copy);
	proto_reader_free(&reader);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_reader reader;
	size_t offset = 0;
	uint8_t chunk_seed;

	if (pipe_fds[0] < 0 && pipe(pipe_fds) != 0) {
		perror("pipe");
		abort();
	}
	if (size == 0)
		return 0;

	/* The first byte sets the chunk sizes, and the rest is the stream. */
	chunk_seed = data[0];
	data++;
	size--;

	proto_reader_init(&reader);
	while (offset < size) {
		size_t chunk = 1 + (chunk_seed * 131u + offset) % MAX_CHUNK;
		json_t *msg;
		char err[256];
		long n;
		int rc;

		if (chunk > size - offset)
			chunk = size - offset;
		FUZZ_CHECK(write(pipe_fds[1], data + offset, chunk) == (ssize_t)chunk);
		offset += chunk;

		n = proto_reader_fill(&reader, pipe_fds[0]);
		FUZZ_CHECK(n == (long)chunk);
		FUZZ_CHECK(reader.len <= reader.cap);

		while ((rc = proto_reader_next(&reader, &msg, err, sizeof(err))) != 0) {
			if (rc < 0) {
				FUZZ_CHECK(msg == NULL);
				FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
				continue;
			}
			FUZZ_CHECK(rc == 1);
			FUZZ_CHECK(json_is_object(msg));
			read_event_fields(msg);
			check_round_trip(msg);
			json_decref(msg);
		}
	}
	proto_reader_free(&reader);
	return 0;
}
