/*
 * Finds the spill files (spill.h) that other daemons of this host left in
 * state_dir.  A daemon's name is "host:pid", and its file is
 * spill-<name>.dat.
 */
#ifndef PROVISIOND_ORPHANS_H
#define PROVISIOND_ORPHANS_H

#include <stdbool.h>

struct orphan {
	char *path;
	char *daemon_name;
	char *hostname;
	int pid;
	bool process_gone;	/* kill(pid, 0) failed with ESRCH */
};

/*
 * Lists the spill files in STATE_DIR of daemons of the same host as
 * OWN_NAME, except OWN_NAME's own, sorted by path.  Files of other hosts
 * are logged and left out.  Stores a new array in *OUT, which the caller
 * frees with orphans_free, and returns its length (0 if STATE_DIR does not
 * exist or cannot be read, which is logged).
 */
int orphans_find(const char *state_dir, const char *own_name, struct orphan **out);

void orphans_free(struct orphan *list, int count);

#endif
