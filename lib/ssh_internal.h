/*
 * Definitions shared by the SSH modules (ssh.c, ssh_run.c, sftp.c) and
 * not part of their contract with callers.
 */
#ifndef PROVISION_SSH_INTERNAL_H
#define PROVISION_SSH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <libssh2.h>

#include "known_hosts.h"
#include "ssh.h"

/* The reason the receive limits of the handshake ended a read (see ssh_handshake). */
enum ssh_recv_stop {
	SSH_RECV_NOT_STOPPED,
	SSH_RECV_DEADLINE,	/* the handshake deadline passed */
	SSH_RECV_TOO_MUCH,	/* the server sent SSH_HANDSHAKE_MAX_BYTES */
	SSH_RECV_CLOSED,	/* the server closed the connection */
};

struct ssh_conn {
	char *server_name;
	char *hostname;
	int port;
	char *user;
	char *private_key;
	char *known_hosts;
	struct ssh_timeouts timeouts;

	int fd;
	LIBSSH2_SESSION *session;
	bool handshake_done;

	/* Limits on libssh2's reads while recv_limited is set, kept by ssh_handshake.c. */
	bool recv_limited;
	double recv_deadline;		/* ssh_now() seconds */
	size_t recv_bytes;		/* bytes received since the limits were set */
	enum ssh_recv_stop recv_stop;

	size_t max_output;
	size_t max_line;
	bool ignore_interrupt;	/* set while stopping a remote command after an interrupt */
};

/* Returns CLOCK_MONOTONIC in seconds. */
double ssh_now(void);

/*
 * Waits until the socket is ready in the directions libssh2 last blocked
 * on, or until DEADLINE (ssh_now() seconds).  Returns 0 when ready, or -1
 * with errno ETIMEDOUT at the deadline, ECANCELED when the interrupt flag
 * (ssh_set_interrupt_flag) is set, or another errno from poll().
 */
int ssh_wait_socket(struct ssh_conn *conn, double deadline);

/*
 * Fills ERR with "server NAME (USER@HOST:PORT): STEP: " followed by the
 * formatted text.
 */
void ssh_error_set(struct ssh_error *err, const struct ssh_conn *conn, enum ssh_step step,
		   bool transient, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Returns libssh2's text for the session's last error, or "no error text". */
const char *ssh_last_error_text(const struct ssh_conn *conn);

/* Returns true for connect and socket errnos after which a retry may succeed. */
bool ssh_errno_is_transient(int e);

/*
 * Runs the SSH handshake on the connected socket c->fd, until the key
 * exchange is done, within the handshake timeout and reading at most
 * SSH_HANDSHAKE_MAX_BYTES.  Host key types that KH lists for the server
 * are asked for first.  Returns 0, or -1 with *err filled.
 */
int ssh_handshake(struct ssh_conn *c, const struct known_hosts *kh, struct ssh_error *err);

/* Returns true for libssh2 errors that mean the connection itself broke. */
bool ssh_error_is_transport(int rc);

#endif
