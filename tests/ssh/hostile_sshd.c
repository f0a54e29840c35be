/*
 * hostile-sshd: a server on a loopback port that misbehaves where an SSH
 * server sends its version line and starts the key exchange, for the tests
 * of the SSH handshake's limits.
 *
 *   hostile-sshd MODE
 *
 * It listens on a free port of 127.0.0.1, prints the port on a line of
 * stdout, and serves every connection in MODE, each in its own process.
 * It runs until it is killed, and the connection processes die with it.  It reads and discards what the client sends, so the
 * client never blocks on writing.  MODE is one of:
 *
 *   lines               text lines, none an SSH version line, up to STREAM_MAX bytes
 *   blank-lines         empty lines (CR LF), up to STREAM_MAX bytes
 *   long-line           one line without a line break, STREAM_MAX bytes long
 *   long-version-line   "SSH-2.0-" and then STREAM_MAX bytes without a line break
 *   close-after-banner  a valid version line, then the connection is closed
 *   stall-in-kexinit    a valid version line and the start of a KEXINIT packet, then silence
 *   silent              nothing at all
 *
 * After a stream it keeps the connection open and silent, so a client that
 * read it all can only end by its own deadline.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes of one stream: far more than a client should ever read of it. */
#define STREAM_MAX (64 * 1024 * 1024)

/* Seconds a connection is kept open at most; the test's own timeouts are far shorter. */
#define CONNECTION_LIFETIME 120

static const char version_line[] = "SSH-2.0-OpenSSH_9.2p1 hostile\r\n";

/* Reads and discards whatever the client sent, waiting up to TIMEOUT_MS; returns false at EOF or error. */
static bool drain(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[4096];

	while (poll(&pfd, 1, timeout_ms) > 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return false;
		timeout_ms = 0;
	}
	return true;
}

static bool send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* Sends CHUNK again and again until STREAM_MAX bytes are out or the client is gone. */
static void stream(int fd, const char *chunk, size_t len)
{
	size_t sent = 0;

	while (sent < STREAM_MAX && send_all(fd, chunk, len)) {
		sent += len;
		drain(fd, 0);
	}
}

/* Keeps the connection open, reading and discarding, until the client closes it. */
static void idle(int fd)
{
	for (int i = 0; i < CONNECTION_LIFETIME * 10; i++)
		if (!drain(fd, 100))
			return;
}

/* Fills BUF (SIZE bytes) with numbered text lines that are not SSH version lines; returns the length used. */
static size_t fill_lines(char *buf, size_t size)
{
	size_t used = 0;

	for (int i = 0; used + 64 < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "220-hostile greeting line %06d of many\r\n", i);
	return used;
}

/* Sends a version line and the first bytes of a KEXINIT packet, then nothing more. */
static void stall_in_kexinit(int fd)
{
	unsigned char packet[32] = {
		0x00, 0x00, 0x04, 0x00,	/* packet length 1024, of which only these bytes are sent */
		0x08,			/* padding length */
		20,			/* SSH_MSG_KEXINIT */
	};

	memset(packet + 6, 0x5a, 16);	/* the cookie */
	memcpy(packet + 22, "\x00\x00\x00\x40" "curve2", 10);	/* start of the kex algorithm list */
	if (send_all(fd, version_line, sizeof(version_line) - 1))
		send_all(fd, (const char *)packet, sizeof(packet));
	idle(fd);
}

static void serve(int fd, const char *mode)
{
	static char chunk[64 * 1024];

	if (strcmp(mode, "lines") == 0) {
		stream(fd, chunk, fill_lines(chunk, sizeof(chunk)));
	} else if (strcmp(mode, "blank-lines") == 0) {
		for (size_t i = 0; i + 1 < sizeof(chunk); i += 2)
			memcpy(chunk + i, "\r\n", 2);
		stream(fd, chunk, sizeof(chunk));
	} else if (strcmp(mode, "long-line") == 0) {
		memset(chunk, 'A', sizeof(chunk));
		stream(fd, chunk, sizeof(chunk));
	} else if (strcmp(mode, "long-version-line") == 0) {
		/* One send, so that the client's first read gets the start of the line and no line break. */
		memset(chunk, 'A', sizeof(chunk));
		memcpy(chunk, "SSH-2.0-", 8);
		if (send_all(fd, chunk, sizeof(chunk))) {
			memset(chunk, 'A', 8);
			stream(fd, chunk, sizeof(chunk));
		}
	} else if (strcmp(mode, "close-after-banner") == 0) {
		/* Reading the client's first bytes before closing makes the close a FIN, not a reset. */
		if (send_all(fd, version_line, sizeof(version_line) - 1))
			drain(fd, 300);
		close(fd);
		return;
	} else if (strcmp(mode, "stall-in-kexinit") == 0) {
		stall_in_kexinit(fd);
		return;
	}
	idle(fd);
}

static bool mode_known(const char *mode)
{
	static const char *const modes[] = { "lines", "blank-lines", "long-line", "long-version-line",
					     "close-after-banner", "stall-in-kexinit", "silent" };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mode, modes[i]) == 0)
			return true;
	return false;
}

static int listen_loopback(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
		perror("hostile-sshd: listen on 127.0.0.1");
		exit(1);
	}
	printf("%d\n", ntohs(addr.sin_port));
	fflush(stdout);
	return fd;
}

int main(int argc, char **argv)
{
	int listener;

	if (argc != 2 || !mode_known(argv[1])) {
		fprintf(stderr, "usage: hostile-sshd lines|blank-lines|long-line|long-version-line|"
			"close-after-banner|stall-in-kexinit|silent\n");
		return 2;
	}
	signal(SIGCHLD, SIG_IGN);	/* the connection processes are reaped automatically */
	listener = listen_loopback();

	for (;;) {
		int fd = accept(listener, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("hostile-sshd: accept");
			return 1;
		}
		if (fork() == 0) {
			close(listener);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			alarm(CONNECTION_LIFETIME);
			serve(fd, argv[1]);
			_exit(0);
		}
		close(fd);
	}
}
