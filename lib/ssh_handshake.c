/*
 * The SSH handshake of ssh_connect and ssh_fetch_host_key: the server's
 * version line and the key exchange, with a deadline and a cap on the
 * bytes read.
 *
 * libssh2 1.10 reads the server's lines before the version line one byte
 * per recv() and skips every line that does not start with "SSH-".  It
 * returns EAGAIN, and so lets the caller check a deadline, only when the
 * socket is empty.  A server that streams lines faster than they are read
 * would keep libssh2 inside one call for as long as it keeps sending.  So
 * libssh2 reads through recv_limited(), which fails the read once the
 * deadline has passed or SSH_HANDSHAKE_MAX_BYTES have arrived.
 */
#include "ssh_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "text_sanitize.h"

/* Bytes of a server's line shown in an error message, after sanitizing. */
#define SHOWN_LINE_MAX 120

/*
 * Receives for libssh2 (LIBSSH2_RECV_FUNC) and enforces the limits while
 * c->recv_limited is set.  Returns the byte count, or a negative errno as
 * libssh2 expects; EINTR becomes EAGAIN, so the caller's poll() runs next.
 */
static ssize_t recv_limited(libssh2_socket_t fd, void *buf, size_t len, int flags, void **abstract)
{
	struct ssh_conn *c = *abstract;
	ssize_t n;

	if (c->recv_limited && ssh_now() >= c->recv_deadline) {
		c->recv_stop = SSH_RECV_DEADLINE;
		return -ETIMEDOUT;
	}
	if (c->recv_limited && c->recv_bytes >= SSH_HANDSHAKE_MAX_BYTES) {
		c->recv_stop = SSH_RECV_TOO_MUCH;
		return -EMSGSIZE;
	}
	if (c->recv_limited && len > SSH_HANDSHAKE_MAX_BYTES - c->recv_bytes)
		len = SSH_HANDSHAKE_MAX_BYTES - c->recv_bytes;

	n = recv(fd, buf, len, flags);
	if (n < 0) {
		if (errno == ECONNRESET && c->recv_limited)
			c->recv_stop = SSH_RECV_CLOSED;
		return errno == EINTR ? -EAGAIN : -errno;
	}
	if (n == 0 && c->recv_limited)
		c->recv_stop = SSH_RECV_CLOSED;
	c->recv_bytes += (size_t)n;
	return n;
}

static void set_recv_callback(struct ssh_conn *c)
{
	/* NOTE: only the libssh2 1.10 branch has been built; 1.11.1 deprecates callback_set. */
#if LIBSSH2_VERSION_NUM >= 0x010b01
	libssh2_session_callback_set2(c->session, LIBSSH2_CALLBACK_RECV, (libssh2_cb_generic *)recv_limited);
#else
	libssh2_session_callback_set(c->session, LIBSSH2_CALLBACK_RECV, (void *)recv_limited);
#endif
}

/* Sanitizes LEN bytes of LINE into OUT (SHOWN_LINE_MAX + 4 bytes) and marks a cut with "...". */
static void show_line(const char *line, size_t len, char *out)
{
	if (text_sanitize(line, len, out, SHOWN_LINE_MAX + 1) < len)
		strcat(out, "...");
}

/*
 * Waits for the server's first bytes and copies their first line, shown
 * by show_line, into FIRST_LINE when they are not an SSH version line.  libssh2 consumes the
 * banner itself and reports only "failed to receive banner", so this peek
 * is what lets the error show what a non-SSH service sent.
 */
static int peek_banner(struct ssh_conn *c, double deadline, char *first_line, struct ssh_error *err)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	char buf[256];
	ssize_t n;
	int rc;

	first_line[0] = '\0';
	for (;;) {
		double remaining = deadline - ssh_now();

		if (remaining <= 0) {
			ssh_error_set(err, c, SSH_STEP_HANDSHAKE, true,
				      "the server accepted the TCP connection but sent no SSH version line within %g s; "
				      "check that port %d is the SSH port, and sshd's MaxStartups if it is overloaded",
				      c->timeouts.handshake, c->port);
			return -1;
		}
		rc = poll(&pfd, 1, (int)(remaining * 1000) + 1);
		if (rc > 0)
			break;
		if (rc < 0 && errno != EINTR) {
			ssh_error_set(err, c, SSH_STEP_HANDSHAKE, true, "poll failed: %s", strerror(errno));
			return -1;
		}
	}

	n = recv(c->fd, buf, sizeof(buf) - 1, MSG_PEEK);
	if (n == 0) {
		ssh_error_set(err, c, SSH_STEP_HANDSHAKE, true,
			      "the server closed the connection before the SSH handshake; check sshd's "
			      "MaxStartups and any address filters (AllowUsers, firewalls, fail2ban)");
		return -1;
	}
	if (n < 0) {
		ssh_error_set(err, c, SSH_STEP_HANDSHAKE, ssh_errno_is_transient(errno),
			      "reading from the server failed: %s", strerror(errno));
		return -1;
	}

	buf[n] = '\0';
	if (n < 4 || memcmp(buf, "SSH-", 4) != 0) {
		show_line(buf, strcspn(buf, "\r\n"), first_line);
		return 0;
	}

	/* RFC 4253 section 4.2 limits the version line to 255 bytes with its CR LF; libssh2 would cut it. */
	if ((size_t)n == sizeof(buf) - 1 && memchr(buf, '\n', (size_t)n) == NULL) {
		show_line(buf, (size_t)n, first_line);
		ssh_error_set(err, c, SSH_STEP_HANDSHAKE, false,
			      "protocol error: the server's version line \"%s\" is longer than 255 bytes, the "
			      "limit of RFC 4253; check that port %d runs sshd", first_line, c->port);
		return -1;
	}
	return 0;
}

/*
 * Puts the host key algorithms whose key type known_hosts holds for this
 * server first, as OpenSSH does.  Otherwise libssh2 would pick its own
 * favorite (ECDSA in 1.10) and report a server whose ed25519 key is known
 * as an unknown host.
 */
static void prefer_known_host_key_types(struct ssh_conn *c, const struct known_hosts *kh)
{
	const char **algs = NULL;
	char order[1024];
	int n;

	n = libssh2_session_supported_algs(c->session, LIBSSH2_METHOD_HOSTKEY, &algs);
	if (n <= 0)
		return;
	if (known_hosts_order_algorithms(kh, c->hostname, c->port, algs, n, order, sizeof(order)) > 0) {
		log_debug("server %s: host key algorithms %s", c->server_name, order);
		libssh2_session_method_pref(c->session, LIBSSH2_METHOD_HOSTKEY, order);
	}
	libssh2_free(c->session, algs);
}

/* Reports a handshake that ended with RC before the server sent a line starting with "SSH-". */
static void report_no_version_line(struct ssh_conn *c, int rc, const char *first_line, struct ssh_error *err)
{
	char sent[SHOWN_LINE_MAX + 64];

	if (first_line[0] != '\0')
		snprintf(sent, sizeof(sent), "sent \"%s\" instead of an SSH version line", first_line);
	else
		snprintf(sent, sizeof(sent), "sent no complete SSH version line");

	if (c->recv_stop == SSH_RECV_TOO_MUCH)
		ssh_error_set(err, c, SSH_STEP_HANDSHAKE, false,
			      "protocol error: the server %s, and more than %d KiB arrived without one. Check "
			      "that port %d is the server's SSH port", sent, SSH_HANDSHAKE_MAX_BYTES / 1024, c->port);
	else if (c->recv_stop == SSH_RECV_CLOSED)
		ssh_error_set(err, c, SSH_STEP_HANDSHAKE, false,
			      "protocol error: the server %s, and then closed the connection. Check that port %d "
			      "is the server's SSH port", sent, c->port);
	else if (rc == LIBSSH2_ERROR_EAGAIN || c->recv_stop == SSH_RECV_DEADLINE)
		ssh_error_set(err, c, SSH_STEP_HANDSHAKE, false,
			      "protocol error: the server %s, and none arrived within %g s. Check that port %d "
			      "is the server's SSH port", sent, c->timeouts.handshake, c->port);
	else
		ssh_error_set(err, c, SSH_STEP_HANDSHAKE, false,
			      "protocol error: the server %s, and libssh2 stopped reading: %s (libssh2 error %d). "
			      "Check that port %d is the server's SSH port",
			      sent, ssh_last_error_text(c), rc, c->port);
}

/* Reports a key exchange that failed after the server's version line VERSION. */
static void report_failed_key_exchange(struct ssh_conn *c, int rc, const char *version, struct ssh_error *err)
{
	if (c->recv_stop == SSH_RECV_TOO_MUCH)
		ssh_error_set(err, c, SSH_STEP_HANDSHAKE, false,
			      "the server sent the version line \"%s\" and then more than %d KiB without "
			      "completing the key exchange; check that port %d runs sshd",
			      version, SSH_HANDSHAKE_MAX_BYTES / 1024, c->port);
	else if (c->recv_stop == SSH_RECV_CLOSED)
		ssh_error_set(err, c, SSH_STEP_HANDSHAKE, true,
			      "the server sent the version line \"%s\" and then closed the connection during the "
			      "key exchange; check the server's sshd log for the reason (MaxStartups, fail2ban or "
			      "other connection limits, or no key exchange algorithm in common with libssh2 %s)",
			      version, libssh2_version(0));
	else if (rc == LIBSSH2_ERROR_EAGAIN || c->recv_stop == SSH_RECV_DEADLINE)
		ssh_error_set(err, c, SSH_STEP_HANDSHAKE, true,
			      "timed out after %g s during key exchange, after the server's version line \"%s\"; "
			      "check the server's load and sshd log",
			      c->timeouts.handshake, version);
	else
		ssh_error_set(err, c, SSH_STEP_HANDSHAKE, ssh_error_is_transport(rc),
			      "SSH handshake failed after the server's version line \"%s\": %s (libssh2 error %d); "
			      "check that the server runs a current OpenSSH and allows an algorithm libssh2 %s "
			      "supports", version, ssh_last_error_text(c), rc, libssh2_version(0));
}

int ssh_handshake(struct ssh_conn *c, const struct known_hosts *kh, struct ssh_error *err)
{
	double deadline = ssh_now() + c->timeouts.handshake;
	char first_line[SHOWN_LINE_MAX + 4];
	char version[SHOWN_LINE_MAX + 4];
	const char *banner;
	int rc;

	prefer_known_host_key_types(c, kh);

	if (peek_banner(c, deadline, first_line, err) != 0)
		return -1;

	set_recv_callback(c);
	c->recv_limited = true;
	c->recv_deadline = deadline;
	c->recv_bytes = 0;
	c->recv_stop = SSH_RECV_NOT_STOPPED;
	while ((rc = libssh2_session_handshake(c->session, c->fd)) == LIBSSH2_ERROR_EAGAIN) {
		if (ssh_wait_socket(c, deadline) != 0)
			break;
	}
	c->recv_limited = false;
	if (rc == 0) {
		c->handshake_done = true;
		return 0;
	}

	/* libssh2 keeps the last line it read as the banner, and leaves its loop only on "SSH-". */
	banner = libssh2_session_banner_get(c->session);
	if (banner == NULL || strncmp(banner, "SSH-", 4) != 0) {
		report_no_version_line(c, rc, first_line, err);
		return -1;
	}
	show_line(banner, strlen(banner), version);
	report_failed_key_exchange(c, rc, version, err);
	return -1;
}
