#include "ssh_internal.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

double ssh_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile sig_atomic_t *interrupt_flag;

void ssh_set_interrupt_flag(volatile sig_atomic_t *flag)
{
	interrupt_flag = flag;
}

static bool interrupted(const struct ssh_conn *conn)
{
	return interrupt_flag != NULL && *interrupt_flag && !conn->ignore_interrupt;
}

int ssh_wait_socket(struct ssh_conn *conn, double deadline)
{
	int directions = libssh2_session_block_directions(conn->session);
	struct pollfd pfd = { .fd = conn->fd };
	double remaining = deadline - ssh_now();
	int timeout_ms, rc;

	if (interrupted(conn)) {
		errno = ECANCELED;
		return -1;
	}
	if (remaining <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}

	if (directions & LIBSSH2_SESSION_BLOCK_INBOUND)
		pfd.events |= POLLIN;
	if (directions & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		pfd.events |= POLLOUT;
	timeout_ms = (int)(remaining * 1000) + 1;
	if (pfd.events == 0) {
		/* libssh2 reported EAGAIN without a direction; retry soon rather than spin. */
		pfd.events = POLLIN;
		if (timeout_ms > 50)
			timeout_ms = 50;
	}

	do {
		rc = poll(&pfd, 1, timeout_ms);
		if (rc < 0 && errno == EINTR && interrupted(conn)) {
			errno = ECANCELED;
			return -1;
		}
	} while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -1;
	if (rc == 0 && ssh_now() >= deadline) {
		errno = ETIMEDOUT;
		return -1;
	}
	return 0;
}

void ssh_error_set(struct ssh_error *err, const struct ssh_conn *conn, enum ssh_step step,
		   bool transient, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err->message, sizeof(err->message), "server %s (%s@%s:%d): %s: ",
		     conn->server_name, conn->user, conn->hostname, conn->port, ssh_step_name(step));
	if (n < 0 || (size_t)n >= sizeof(err->message))
		n = 0;

	va_start(ap, fmt);
	vsnprintf(err->message + n, sizeof(err->message) - (size_t)n, fmt, ap);
	va_end(ap);

	err->transient = transient;
	err->step = step;
	err->sftp_status = 0;
}

const char *ssh_last_error_text(const struct ssh_conn *conn)
{
	char *msg = NULL;

	if (conn->session == NULL)
		return "no error text";
	libssh2_session_last_error(conn->session, &msg, NULL, 0);
	return msg != NULL && msg[0] != '\0' ? msg : "no error text";
}

bool ssh_errno_is_transient(int e)
{
	return e == ECONNREFUSED || e == ETIMEDOUT || e == ENETUNREACH || e == EHOSTUNREACH ||
	       e == ECONNRESET || e == ECONNABORTED || e == ENETDOWN || e == EHOSTDOWN;
}

bool ssh_error_is_transport(int rc)
{
	switch (rc) {
	case LIBSSH2_ERROR_SOCKET_NONE:
	case LIBSSH2_ERROR_BANNER_RECV:
	case LIBSSH2_ERROR_BANNER_SEND:
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_SOCKET_TIMEOUT:
	case LIBSSH2_ERROR_TIMEOUT:
		return true;
	}
	return false;
}

const char *ssh_step_name(enum ssh_step step)
{
	switch (step) {
	case SSH_STEP_CONNECT:
		return "connect";
	case SSH_STEP_HANDSHAKE:
		return "handshake";
	case SSH_STEP_HOST_KEY:
		return "host key";
	case SSH_STEP_AUTH:
		return "authentication";
	case SSH_STEP_SHELL:
		return "shell";
	case SSH_STEP_COMMAND:
		return "command";
	case SSH_STEP_SFTP:
		return "sftp";
	case SSH_STEP_CLOSE:
		return "close";
	}
	return "unknown step";
}
