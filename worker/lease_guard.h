/*
 * Stops a task whose lease the daemon no longer confirms.  The daemon sends
 * SIGUSR1 to a busy worker after each lease renewal; if none comes for
 * two thirds of lease_duration, the worker stops the task (and its remote
 * command) by itself, well before another daemon may recover the task.
 * This covers a daemon that is stalled or cut off from the database while
 * its workers go on.
 */
#ifndef PROVISION_WORKER_LEASE_GUARD_H
#define PROVISION_WORKER_LEASE_GUARD_H

#include <signal.h>
#include <stdbool.h>

/* Installs the SIGUSR1 and SIGALRM handlers; an expiry sets *STOP_FLAG. */
void lease_guard_install(volatile sig_atomic_t *stop_flag);

/* Starts guarding a task with a lease of LEASE_DURATION seconds (0 or less: no guard). */
void lease_guard_start(double lease_duration);

/* Stops guarding (the task ended). */
void lease_guard_stop(void);

/* Returns true if the guard stopped the current task. */
bool lease_guard_expired(void);

#endif
