/*
 * The contract between provisiond and its worker processes.
 *
 * The daemon starts provisiond-worker with two pipes on fixed descriptors:
 * the worker reads requests on PROTO_FD_REQUESTS and writes events on
 * PROTO_FD_EVENTS.  Each message is one JSON object on one line (jansson
 * writes compact JSON, which escapes newlines inside strings).  Lines longer
 * than PROTO_MAX_LINE are a protocol error.
 *
 * Requests (daemon to worker):
 *   {"op":"task","id":N,"type":"noop","attempt":N,"args":{...},
 *    "server":{...} or null,"services":[...],"credentials":{...} or null,
 *    "settings":{"base_dir":...,"ssh_private_key":...,"ssh_known_hosts":...,
 *                "lease_duration":seconds}}
 *   Credentials travel only here, never in argv or the environment.
 *
 * Events (worker to daemon), all for the task being run:
 *   {"op":"ready","pid":N}                      once, at start
 *   {"op":"started","id":N,"ts":T}              the task began (T: Unix seconds)
 *   {"op":"log","id":N,"level":"info","message":"...","ts":T}
 *   {"op":"done","id":N,"status":"succeeded"|"warning"|"failed",
 *    "error":"..." or null,"transient":false,"result":{...} or null,"ts":T}
 *
 * A worker runs one task at a time and reads the next request only after
 * sending "done".  While a task runs, the daemon sends SIGUSR1 after each
 * lease renewal; a worker that gets none for two thirds of lease_duration
 * stops the task (lease_guard.h).  It exits with WORKER_EXIT_OK when the request pipe
 * reaches end of file, which is how the daemon retires it, and it dies with
 * the daemon through PR_SET_PDEATHSIG.
 *
 * Started as "provisiond-worker --versions", without the pipes, the worker
 * writes its version and those of the libraries it links, one per line, to
 * standard output and exits with WORKER_EXIT_OK.  provisiond -t prints them,
 * because the daemon itself links neither libssh2 nor MariaDB Connector/C.
 */
#ifndef PROVISION_PROTO_H
#define PROVISION_PROTO_H

#include <stddef.h>

#include <jansson.h>

#define PROTO_FD_REQUESTS 3
#define PROTO_FD_EVENTS 4

#define PROTO_VERSIONS_OPTION "--versions"

#define PROTO_MAX_LINE (4 * 1024 * 1024)

/* Exit codes of provisiond-worker, in the style of sysexits.h. */
enum worker_exit {
	WORKER_EXIT_OK = 0,
	WORKER_EXIT_USAGE = 64,		/* started by hand or without the pipes */
	WORKER_EXIT_PROTOCOL = 65,	/* the daemon sent something unreadable */
	WORKER_EXIT_SOFTWARE = 70,	/* internal error */
	WORKER_EXIT_IO = 74,		/* writing an event failed: the daemon is gone */
};

/* Accumulates bytes read from a pipe and splits them into messages. */
struct proto_reader {
	char *buf;
	size_t len;
	size_t cap;
};

void proto_reader_init(struct proto_reader *r);
void proto_reader_free(struct proto_reader *r);

/*
 * Reads once from FD into the buffer.  Returns the number of bytes read,
 * 0 at end of file, or -1 with errno set: EAGAIN on an empty non-blocking
 * pipe, EMSGSIZE when the buffer is full because the caller did not take
 * an over-long line out with proto_reader_next.  The buffer contains at most
 * one maximal line and one read more.
 */
long proto_reader_fill(struct proto_reader *r, int fd);

/*
 * Takes the next complete message from the buffer.  Returns 1 and stores
 * a new reference in *msg, 0 when no complete line is buffered, or -1 with
 * a description in err when a line is too long or is not a JSON object.
 * A bad line is consumed, so the caller may continue or give up.
 */
int proto_reader_next(struct proto_reader *r, json_t **msg, char *err, size_t errlen);

/*
 * Encodes MSG as one line.  Returns a malloc'ed string ending in '\n' and
 * its length in *len, or NULL if jansson cannot encode it.
 */
char *proto_encode(const json_t *msg, size_t *len);

/* Writes all of BUF to a blocking FD, retrying on EINTR.  Returns 0 or -1 with errno set. */
int proto_write_all(int fd, const char *buf, size_t len);

#endif
