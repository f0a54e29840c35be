/*
 * SFTP file operations on a connected server, the primitives that sync
 * builds on.
 *
 * Every function waits at most the connection's SFTP timeout per request
 * and returns 0 on success or -1 with *err filled (step "sftp").  When the
 * server replied with an SFTP status, err->sftp_status contains it, so a
 * caller can tell "not found" (sftp_error_is_not_found) from real errors.
 * Paths are byte strings passed to the server as they are; names with
 * spaces, newlines, quotes or bytes that are not UTF-8 work, and appear
 * sanitized in messages.
 *
 * Speed: each function finishes its requests before returning, so a tree
 * of many small files costs round trips per file.  The session stays
 * non-blocking underneath, so a later batch interface can keep several
 * requests in flight (libssh2 already pipelines the writes within one
 * file); nothing here holds state between calls that would prevent that.
 */
#ifndef PROVISION_SFTP_H
#define PROVISION_SFTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ssh.h"

/* SFTP status codes (SSH_FX_*) of draft-ietf-secsh-filexfer-02, which OpenSSH implements. */
#define SFTP_STATUS_EOF 1
#define SFTP_STATUS_NO_SUCH_FILE 2
#define SFTP_STATUS_PERMISSION_DENIED 3
#define SFTP_STATUS_FAILURE 4
#define SFTP_STATUS_OP_UNSUPPORTED 8

struct sftp_session;

/* File attributes; each has_ flag is true when the server sent that group. */
struct sftp_attrs {
	bool has_size;
	bool has_ids;
	bool has_mode;
	bool has_times;
	uint64_t size;
	unsigned long uid;
	unsigned long gid;
	unsigned long mode;	/* file type and permission bits, as in st_mode */
	unsigned long atime;	/* seconds since the epoch; SFTP version 3 sends 32 bits */
	unsigned long mtime;
};

struct sftp_dirent {
	char *name;		/* the entry's name without its directory */
	struct sftp_attrs attrs;	/* as lstat: a symlink is described, not its target */
};

struct sftp_put_options {
	unsigned long mode;	/* permission bits of the new file, set exactly (not masked by umask) */
	bool set_mtime;		/* also set atime and mtime to mtime */
	unsigned long mtime;
	bool fsync;		/* flush the file to disk before the rename (fsync@openssh.com) */
};

/* Opens the SFTP subsystem on CONN; CONN must outlive the session. */
struct sftp_session *sftp_open(struct ssh_conn *conn, struct ssh_error *err);

/* Closes the SFTP channel (NULL is allowed). */
void sftp_close(struct sftp_session *s);

/* Returns true if ERR comes from a request on a path that does not exist. */
bool sftp_error_is_not_found(const struct ssh_error *err);

bool sftp_attrs_is_dir(const struct sftp_attrs *a);
bool sftp_attrs_is_file(const struct sftp_attrs *a);
bool sftp_attrs_is_symlink(const struct sftp_attrs *a);

/* stat follows a final symlink; lstat describes the symlink itself. */
int sftp_stat(struct sftp_session *s, const char *path, struct sftp_attrs *out, struct ssh_error *err);
int sftp_lstat(struct sftp_session *s, const char *path, struct sftp_attrs *out, struct ssh_error *err);

/* Creates PATH and any missing parents with MODE; an existing directory is success. */
int sftp_mkdir_p(struct sftp_session *s, const char *path, unsigned long mode, struct ssh_error *err);

/*
 * Lists directory PATH without "." and "..", with each entry's attributes
 * from the same reply, so no per-entry stat is needed.  *out is a newly
 * allocated array of *count entries, to free with sftp_dirents_free.
 */
int sftp_readdir(struct sftp_session *s, const char *path, struct sftp_dirent **out, size_t *count,
		 struct ssh_error *err);
void sftp_dirents_free(struct sftp_dirent *ents, size_t count);

/*
 * Writes LEN bytes of DATA to PATH atomically.  The data goes to a new
 * temporary file in the same directory, which gets its mode and times and
 * is closed (close errors count).  Then it is renamed over PATH, so
 * readers see either the old or the complete new file.  An existing directory at
 * PATH is an error.
 *
 * The rename: SFTP version 3 cannot replace an existing file, and libssh2
 * before 1.11 has no posix-rename@openssh.com.  On those, an existing
 * regular file is replaced by running "mv -f" over the connection, which
 * is one atomic rename(2) on the server.  NOTE: an existing symlink or
 * other non-regular file is removed first and then replaced, which is not
 * atomic.
 */
int sftp_put_buffer(struct sftp_session *s, const char *path, const void *data, size_t len,
		    const struct sftp_put_options *opt, struct ssh_error *err);

/* Like sftp_put_buffer, with the data read from FD until end of file. */
int sftp_put_fd(struct sftp_session *s, const char *path, int fd, const struct sftp_put_options *opt,
		struct ssh_error *err);

/* Reads file PATH into a newly allocated buffer; a file larger than MAX_SIZE bytes is an error. */
int sftp_get_buffer(struct sftp_session *s, const char *path, size_t max_size, char **data, size_t *len,
		    struct ssh_error *err);

int sftp_chmod(struct sftp_session *s, const char *path, unsigned long mode, struct ssh_error *err);

/* Sets the access and modification times of PATH (following symlinks), in seconds since the epoch. */
int sftp_set_times(struct sftp_session *s, const char *path, unsigned long atime, unsigned long mtime,
		   struct ssh_error *err);

/* Creates symlink LINKPATH pointing to TARGET. */
int sftp_symlink(struct sftp_session *s, const char *target, const char *linkpath, struct ssh_error *err);

/* Reads the target of symlink PATH into a newly allocated string. */
int sftp_readlink(struct sftp_session *s, const char *path, char **target, struct ssh_error *err);

int sftp_unlink(struct sftp_session *s, const char *path, struct ssh_error *err);
int sftp_rmdir(struct sftp_session *s, const char *path, struct ssh_error *err);

#endif
