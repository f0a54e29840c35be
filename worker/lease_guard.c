#include "lease_guard.h"

#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t *stop_target;
static volatile sig_atomic_t active;
static volatile sig_atomic_t expired;
static struct itimerval window;	/* written before active is set, read by the handlers */

/* The handlers only arm a timer or set flags, which is safe in a signal handler. */
static void on_confirm(int signum)
{
	(void)signum;
	if (active)
		setitimer(ITIMER_REAL, &window, NULL);
}

static void on_expiry(int signum)
{
	(void)signum;
	if (!active)
		return;
	expired = 1;
	*stop_target = 1;
}

void lease_guard_install(volatile sig_atomic_t *stop_flag)
{
	struct sigaction sa;

	stop_target = stop_flag;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_confirm;
	sigaction(SIGUSR1, &sa, NULL);

	/* No SA_RESTART: the expiry must interrupt a blocking call, as SIGTERM does. */
	sa.sa_flags = 0;
	sa.sa_handler = on_expiry;
	sigaction(SIGALRM, &sa, NULL);
}

void lease_guard_start(double lease_duration)
{
	double seconds = lease_duration * 2 / 3;

	expired = 0;
	if (lease_duration <= 0)
		return;
	memset(&window, 0, sizeof(window));
	window.it_value.tv_sec = (time_t)seconds;
	window.it_value.tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6);
	active = 1;
	setitimer(ITIMER_REAL, &window, NULL);
}

void lease_guard_stop(void)
{
	struct itimerval off;

	memset(&off, 0, sizeof(off));
	active = 0;
	setitimer(ITIMER_REAL, &off, NULL);
}

bool lease_guard_expired(void)
{
	return expired != 0;
}
