#include "sdnotify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

static void send_state(const char *state)
{
	int rc = sd_notify(0, state);

	if (rc < 0)
		log_warning("sending \"%s\" to systemd failed: %s", state, strerror(-rc));
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

static ev_timer watchdog_timer;

static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	send_state("WATCHDOG=1");
}

void sdnotify_watchdog_start(struct ev_loop *loop)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	ev_timer_init(&watchdog_timer, watchdog_cb, 0, (double)usec / 2e6);
	ev_timer_again(loop, &watchdog_timer);
	ev_unref(loop);
	log_info("systemd watchdog enabled: pinging every %.1fs", (double)usec / 2e6);
}

#else

void sdnotify_ready(void) {}
void sdnotify_reloading(void) {}
void sdnotify_stopping(void) {}
void sdnotify_status(const char *fmt, ...) { (void)fmt; }
void sdnotify_watchdog_start(struct ev_loop *loop) { (void)loop; }

#endif
