/*
 * The notify protocol is written here instead of calling libsystemd's
 * sd_notify().  Linking libsystemd maps it and the six libraries it needs
 * (libgcrypt, libgpg-error, libcap, liblz4, liblzma, libzstd) into the
 * daemon, which measured about 1 MB of resident memory with Debian 12's
 * libsystemd0 252.  sd_notify(3) documents the protocol: each message is
 * one datagram of NAME=VALUE lines sent to the Unix socket that
 * NOTIFY_SOCKET names, where a leading '@' means the abstract namespace.
 */
#include "sdnotify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/*
 * Fills ADDR from NOTIFY_SOCKET.  Returns the address length, 0 when the
 * variable is unset (not started by systemd with Type=notify), or -1 with
 * errno set for an address this code cannot use.
 */
static int notify_address(struct sockaddr_un *addr)
{
	const char *path = getenv("NOTIFY_SOCKET");
	size_t len;

	if (path == NULL || path[0] == '\0')
		return 0;
	len = strlen(path);
	if (path[0] != '/' && path[0] != '@') {
		errno = EINVAL;	/* reported as a path that is neither absolute nor abstract */
		return -1;
	}
	if (len >= sizeof(addr->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	memcpy(addr->sun_path, path, len);
	if (path[0] == '@')
		addr->sun_path[0] = '\0';
	return (int)(offsetof(struct sockaddr_un, sun_path) + len);
}

/* Sends STATE as one datagram.  Returns 1 when sent, 0 without NOTIFY_SOCKET, -1 with errno set. */
static int notify_send(const char *state)
{
	struct sockaddr_un addr;
	int len = notify_address(&addr), fd, saved_errno;
	ssize_t sent;

	if (len <= 0)
		return len;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;

	sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr,
		      (socklen_t)len);
	saved_errno = errno;
	close(fd);
	errno = saved_errno;
	return sent < 0 ? -1 : 1;
}

/* Failures are logged at most once a minute, since the watchdog repeats them. */
#define SEND_FAILURE_LOG_INTERVAL 60

static void send_state(const char *state)
{
	static time_t last_logged;
	static long suppressed;
	const char *reason;
	time_t now;

	if (notify_send(state) >= 0)
		return;

	reason = errno == EINVAL ? "the path must be absolute or start with @" : strerror(errno);
	now = time(NULL);
	if (last_logged != 0 && now - last_logged < SEND_FAILURE_LOG_INTERVAL) {
		suppressed++;
		return;
	}
	log_warning("sending \"%s\" to systemd at NOTIFY_SOCKET %s failed: %s (%ld more failures "
		    "not logged in the last minute)", state, getenv("NOTIFY_SOCKET"), reason, suppressed);
	last_logged = now;
	suppressed = 0;
}

void sdnotify_ready(void)
{
	send_state("READY=1");
}

void sdnotify_reloading(void)
{
	struct timespec ts;
	char state[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
		 (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
	send_state(state);
}

void sdnotify_stopping(void)
{
	send_state("STOPPING=1");
}

void sdnotify_status(const char *fmt, ...)
{
	char state[512];
	va_list ap;
	int n = snprintf(state, sizeof(state), "STATUS=");

	va_start(ap, fmt);
	vsnprintf(state + n, sizeof(state) - (size_t)n, fmt, ap);
	va_end(ap);
	send_state(state);
}

/*
 * Returns the watchdog interval in microseconds that systemd passed in
 * WATCHDOG_USEC, or 0 when there is none or it is meant for another
 * process (WATCHDOG_PID names a different pid).
 */
static uint64_t watchdog_usec(void)
{
	const char *usec_text = getenv("WATCHDOG_USEC"), *pid_text = getenv("WATCHDOG_PID");
	unsigned long long usec;
	char *end;

	if (usec_text == NULL || usec_text[0] < '0' || usec_text[0] > '9')
		return 0;
	errno = 0;
	usec = strtoull(usec_text, &end, 10);
	if (errno != 0 || *end != '\0') {
		log_warning("ignoring WATCHDOG_USEC \"%s\": not a number of microseconds", usec_text);
		return 0;
	}

	if (pid_text != NULL && strtol(pid_text, NULL, 10) != (long)getpid())
		return 0;
	return usec;
}

static ev_timer watchdog_timer;

static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	send_state("WATCHDOG=1");
}

/* The shortest ping interval: a smaller WATCHDOG_USEC would make the loop spin. */
#define WATCHDOG_MIN_INTERVAL 0.05

void sdnotify_watchdog_start(struct ev_loop *loop)
{
	uint64_t usec = watchdog_usec();
	double interval = (double)usec / 2e6;

	if (usec == 0)
		return;
	if (getenv("NOTIFY_SOCKET") == NULL) {
		log_warning("ignoring WATCHDOG_USEC=%" PRIu64 ": NOTIFY_SOCKET is not set, so there "
			    "is nowhere to send the pings", usec);
		return;
	}
	if (interval < WATCHDOG_MIN_INTERVAL) {
		log_warning("WATCHDOG_USEC=%" PRIu64 " asks for a ping every %.6fs; pinging every "
			    "%.2fs instead", usec, interval, WATCHDOG_MIN_INTERVAL);
		interval = WATCHDOG_MIN_INTERVAL;
	}

	ev_timer_init(&watchdog_timer, watchdog_cb, 0, interval);
	ev_timer_again(loop, &watchdog_timer);
	ev_unref(loop);
	log_info("systemd watchdog enabled: pinging every %.2fs", interval);
}
