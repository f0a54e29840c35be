/*
 * The parts of sync (sync.h) that need no server: exclude matching and
 * the walk of the local tree.  Both sides of a sync are kept as a
 * struct sync_list sorted by path, so a path is found by binary search.
 */
#ifndef PROVISION_SYNC_WALK_H
#define PROVISION_SYNC_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sync.h"

enum sync_type {
	SYNC_TYPE_FILE,
	SYNC_TYPE_DIR,
	SYNC_TYPE_LINK,
	SYNC_TYPE_OTHER,	/* device, FIFO, socket or a type the server did not send */
};

struct sync_entry {
	char *path;		/* relative to the synced folder, without a leading "/" */
	enum sync_type type;
	unsigned long mode;	/* permission bits (07777) */
	uint64_t size;
	unsigned long atime;	/* seconds since the epoch */
	unsigned long mtime;
	char *link_target;	/* for a local symbolic link */

	/* Used by the sync engine. */
	long match;		/* index of the same path in the other side's list, or -1 */
	bool remove;		/* a server entry to delete */
	bool changed_inside;	/* a folder in which entries were created, replaced or deleted */
	bool fix_attrs;		/* mode or time differ, content is equal */
};

struct sync_list {
	struct sync_entry *entries;
	size_t count, capacity;
};

/* Adds an entry for PATH (copied) and returns it, zeroed except for path and match. */
struct sync_entry *sync_list_add(struct sync_list *list, const char *path);

/* Sorts LIST by path with strcmp, so that a folder comes before what it contains. */
void sync_list_sort(struct sync_list *list);

/* Returns the index of PATH in sorted LIST, or -1. */
long sync_list_find(const struct sync_list *list, const char *path);

void sync_list_free(struct sync_list *list);

/* Returns the number of "/"-separated components of PATH ("a/b" is 2). */
unsigned sync_path_depth(const char *path);

/* Exclude patterns prepared for matching; see sync.h for their meaning. */
struct sync_filter {
	char **patterns;	/* without the leading and trailing "/" */
	bool *dir_only;
	bool *anchored;
	size_t count;
	bool vcs;
};

void sync_filter_init(struct sync_filter *f, const struct sync_options *opt);
void sync_filter_free(struct sync_filter *f);

/* Returns true if the entry at relative PATH (a folder if IS_DIR) is excluded. */
bool sync_filter_excludes(const struct sync_filter *f, const char *path, bool is_dir);

/*
 * Lists the tree under ROOT into OUT without following symbolic links,
 * leaving out what F excludes and names starting with SYNC_TEMP_PREFIX
 * (each reported through NOTICE).  The attributes of ROOT itself go to
 * *ROOT_ENTRY (path "").  Returns 0, or -1 with a message naming the path
 * in ERR.
 */
int sync_walk_local(const char *root, const struct sync_filter *f, sync_notice_fn notice, void *arg,
		    struct sync_list *out, struct sync_entry *root_entry, char *err, size_t errlen);

#endif
