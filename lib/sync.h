/*
 * Incremental, atomic copy of a local folder tree to a server over SFTP.
 *
 * sync_tree makes REMOTE_DIR equal to LOCAL_DIR: regular files, folders
 * (empty ones too) and symbolic links, with permission bits and
 * modification times (except the times of symbolic links, which SFTP
 * cannot set).  It transfers only files whose size or
 * modification time differ (or, with checksum, whose content differs),
 * and with delete it removes what LOCAL_DIR no longer has.  A server
 * entry of another type than the master's (a folder where the master has
 * a file, say) is replaced even with delete off.  Owners are not copied:
 * everything belongs to the SSH user.  Hard links arrive as separate
 * files.  Devices, FIFOs and sockets are skipped and counted.
 *
 * Each file is written to a temporary file in the same folder, named
 * SYNC_TEMP_PREFIX plus a random suffix, and then renamed over its target.
 * So a reader sees the old or the complete new file, and an interrupted
 * sync leaves no truncated file under a real name.  Temporaries left by an
 * interrupted sync are removed by the next one.  Local names that start
 * with the prefix are skipped.
 *
 * The replacing rename is posix-rename@openssh.com when the server offers
 * it (OpenSSH does); otherwise replaced files are moved with "mv -f" run
 * on the server, many per command.  Symbolic links are copied as links
 * with their target text unchanged and are never followed, on either side.
 *
 * Exclude patterns are fnmatch(3) patterns.  A pattern without "/"
 * matches a name at any depth ("*.log", "cache").  A pattern with "/"
 * matches the path relative to LOCAL_DIR ("sites/default/files",
 * "/tmp"; a leading "/" changes nothing), and "*" does not match "/".  A
 * trailing "/" makes a pattern match only folders.  An excluded folder
 * is skipped with all it contains.  Excluded names on the server are
 * left alone, even with delete.
 */
#ifndef PROVISION_SYNC_H
#define PROVISION_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ssh.h"

/* Name prefix of the temporary files of an upload on the server. */
#define SYNC_TEMP_PREFIX ".provisiond-tmp-"

struct sync_stats {
	uint64_t files_total;		/* regular files in the local tree after excludes */
	uint64_t files_to_copy;		/* files found different, known once the comparison is done */
	uint64_t bytes_to_copy;
	uint64_t files_copied;
	uint64_t bytes_copied;
	uint64_t links_created;		/* symbolic links created or changed */
	uint64_t dirs_created;
	uint64_t deleted;		/* files, links and folders removed on the server */
	uint64_t unchanged;		/* files and links that needed no transfer */
	uint64_t attrs_updated;		/* files and folders whose mode or time alone was fixed */
	uint64_t temporaries_removed;	/* stale temporaries of an interrupted sync */
	uint64_t skipped;		/* special files, reserved names, vanished files, folders kept */
	double seconds;
};

/* Receives the counts so far, at most every progress_interval seconds while files are uploaded. */
typedef void (*sync_progress_fn)(void *arg, const struct sync_stats *stats);

/*
 * Receives each skipped entry: a local one that is not copied, or a server
 * folder that is not deleted.  PATH is relative to the synced folder.
 */
typedef void (*sync_notice_fn)(void *arg, const char *path, const char *reason);

struct sync_options {
	const char *const *exclude;	/* fnmatch patterns, NULL-terminated; NULL for none */
	bool exclude_vcs;		/* also exclude .git, .svn, .hg and .bzr folders */
	bool delete;			/* remove server entries that LOCAL_DIR does not have */
	bool checksum;			/* compare the content of equal-sized files, not the time */
	bool no_posix_rename;		/* use the mv -f fallback even when posix-rename exists (tests) */
	double progress_interval;	/* seconds between progress calls; 0 for none */
	sync_progress_fn progress;
	sync_notice_fn notice;
	void *arg;			/* passed to progress and notice */
};

/* Fills *opt with the defaults: no patterns, exclude_vcs, delete, 2 s progress interval. */
void sync_options_default(struct sync_options *opt);

/*
 * Checks that PATTERN can be used as an exclude pattern.  Returns NULL,
 * or a static message saying what is wrong with it.
 */
const char *sync_exclude_check(const char *pattern);

/*
 * Makes REMOTE_DIR (an absolute path on CONN's server) a copy of
 * LOCAL_DIR, creating REMOTE_DIR and its missing parents.  Fills *STATS
 * (also on failure, with what was done).  Returns 0, or -1 with *ERR
 * filled.  Server failures have step "sftp" (or "command" for the mv -f
 * fallback) and a message that names the server.  Local failures, such as
 * an unreadable local file, have step "sftp", transient false and a
 * message that says "on this host".  After a failure the server may hold a
 * mix of old and new files, each of them complete.
 */
int sync_tree(struct ssh_conn *conn, const char *local_dir, const char *remote_dir,
	      const struct sync_options *opt, struct sync_stats *stats, struct ssh_error *err);

#endif
