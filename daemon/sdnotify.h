/*
 * systemd's notify protocol (sd_notify(3)), without libsystemd.  When the
 * daemon does not run under systemd (no NOTIFY_SOCKET), every call does
 * nothing.  A message that cannot be sent is logged as a warning.
 */
#ifndef PROVISIOND_SDNOTIFY_H
#define PROVISIOND_SDNOTIFY_H

#include <ev.h>

void sdnotify_ready(void);
void sdnotify_reloading(void);
void sdnotify_stopping(void);
void sdnotify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Starts a timer that sends WATCHDOG=1 at half of WatchdogSec when the
 * service manager asked for it, so a wedged loop gets the daemon restarted.
 */
void sdnotify_watchdog_start(struct ev_loop *loop);

#endif
