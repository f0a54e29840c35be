/*
 * A pipelined SFTP version 3 client on its own channel of an SSH
 * connection, for bulk work such as sync.
 *
 * It exists because libssh2 1.10 keeps one request state per operation
 * type in its SFTP session.  So libssh2's SFTP API (sftp.h) has at most
 * one open, close, mkdir, setstat or rename in flight, and each costs a
 * full round trip; a tree of thousands of small files costs thousands.  This module speaks the protocol
 * (draft-ietf-secsh-filexfer-02) itself over a libssh2 channel, so a
 * caller can send hundreds of requests before it reads the first reply.
 * It also sends posix-rename@openssh.com, which libssh2 1.10 lacks.
 *
 * Use: the caller owns a struct sftp_request for every request it sends
 * and keeps it at the same address until sftp_pipeline_wait returns.  The
 * send functions queue the request and, when too many are in flight,
 * read replies until there is room again.  sftp_pipeline_wait reads
 * until every request sent so far has its reply.  The server may process
 * requests on different files in any order (the draft allows that), so a
 * caller that needs an order, such as a directory before the files in it,
 * waits between the two.
 *
 * Errors: a send or wait fails (-1 with *err filled, step "sftp") only when
 * the connection or channel fails or a reply is malformed; after that every
 * call fails.  A request the server rejects is no error here: its reply
 * status is in the request for the caller to check.
 */
#ifndef PROVISION_SFTP_PIPELINE_H
#define PROVISION_SFTP_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sftp.h"
#include "ssh.h"

/* SSH_FXF_* open flags of the draft. */
#define SFTP_OPEN_READ 0x01
#define SFTP_OPEN_WRITE 0x02
#define SFTP_OPEN_CREAT 0x08
#define SFTP_OPEN_TRUNC 0x10
#define SFTP_OPEN_EXCL 0x20

/* Maximum length of a file handle; the draft allows at most 256 bytes. */
#define SFTP_HANDLE_MAX 256

struct sftp_pipeline;

/* The reply to one request, filled in when it arrives. */
struct sftp_request {
	bool done;
	uint32_t status;	/* SSH_FX_* status; 0 (ok) for HANDLE, DATA, NAME and ATTRS replies */
	char handle[SFTP_HANDLE_MAX];	/* from an open or opendir */
	size_t handle_len;
	char *data;		/* read data or readlink target, newly allocated (NUL-terminated) */
	size_t data_len;
	struct sftp_dirent *names;	/* readdir entries, newly allocated */
	size_t name_count;
	struct sftp_attrs attrs;	/* from an lstat */

	/* Private to the pipeline. */
	uint8_t expect;
};

/* Frees what a reply allocated (data, names) and clears REQ for reuse. */
void sftp_request_reset(struct sftp_request *req);

/* Returns true when REQ's reply is a success status or a data-carrying reply. */
bool sftp_request_ok(const struct sftp_request *req);

/* Returns the draft's name for an SSH_FX_* status, such as "no such file". */
const char *sftp_status_name(uint32_t status);

/* Opens an SFTP channel on CONN and exchanges versions.  CONN must outlive it. */
struct sftp_pipeline *sftp_pipeline_open(struct ssh_conn *conn, struct ssh_error *err);

/* Closes the channel without waiting for outstanding replies (NULL is allowed). */
void sftp_pipeline_close(struct sftp_pipeline *p);

/* Returns true if the server offers posix-rename@openssh.com, a rename that replaces the target. */
bool sftp_pipeline_has_posix_rename(const struct sftp_pipeline *p);

/* Returns the connection the pipeline runs on. */
struct ssh_conn *sftp_pipeline_conn(struct sftp_pipeline *p);

/* Stops using posix-rename@openssh.com, so renames fail over existing files (for tests). */
void sftp_pipeline_disable_posix_rename(struct sftp_pipeline *p);

/* Waits for every reply; returns 0, or -1 on a connection failure or timeout. */
int sftp_pipeline_wait(struct sftp_pipeline *p, struct ssh_error *err);

/* Waits for the reply to REQ only, which keeps the other requests flowing. */
int sftp_pipeline_wait_for(struct sftp_pipeline *p, struct sftp_request *req, struct ssh_error *err);

/*
 * Sends one request each.  MODE, where given, goes in the request's
 * attributes (the server may apply its umask).  SET_TIMES with ATIME and
 * MTIME in seconds since the epoch (32 bits in version 3).
 */
int sftp_send_open(struct sftp_pipeline *p, struct sftp_request *req, const char *path, uint32_t flags,
		   unsigned long mode, struct ssh_error *err);
int sftp_send_opendir(struct sftp_pipeline *p, struct sftp_request *req, const char *path,
		      struct ssh_error *err);
int sftp_send_readdir(struct sftp_pipeline *p, struct sftp_request *req, const char *handle,
		      size_t handle_len, struct ssh_error *err);
int sftp_send_close(struct sftp_pipeline *p, struct sftp_request *req, const char *handle, size_t handle_len,
		    struct ssh_error *err);
int sftp_send_read(struct sftp_pipeline *p, struct sftp_request *req, const char *handle, size_t handle_len,
		   uint64_t offset, uint32_t len, struct ssh_error *err);
int sftp_send_write(struct sftp_pipeline *p, struct sftp_request *req, const char *handle, size_t handle_len,
		    uint64_t offset, const void *data, size_t len, struct ssh_error *err);
int sftp_send_fsetstat(struct sftp_pipeline *p, struct sftp_request *req, const char *handle,
		       size_t handle_len, unsigned long mode, bool set_times, unsigned long atime,
		       unsigned long mtime, struct ssh_error *err);
int sftp_send_setstat(struct sftp_pipeline *p, struct sftp_request *req, const char *path, unsigned long mode,
		      bool set_times, unsigned long atime, unsigned long mtime, struct ssh_error *err);
int sftp_send_lstat(struct sftp_pipeline *p, struct sftp_request *req, const char *path, struct ssh_error *err);
int sftp_send_mkdir(struct sftp_pipeline *p, struct sftp_request *req, const char *path, unsigned long mode,
		    struct ssh_error *err);
int sftp_send_rmdir(struct sftp_pipeline *p, struct sftp_request *req, const char *path, struct ssh_error *err);
int sftp_send_remove(struct sftp_pipeline *p, struct sftp_request *req, const char *path, struct ssh_error *err);
int sftp_send_readlink(struct sftp_pipeline *p, struct sftp_request *req, const char *path,
		       struct ssh_error *err);

/* Creates symlink LINKPATH pointing to TARGET. */
int sftp_send_symlink(struct sftp_pipeline *p, struct sftp_request *req, const char *target,
		      const char *linkpath, struct ssh_error *err);

/*
 * Renames FROM to TO.  With posix-rename@openssh.com (see
 * sftp_pipeline_has_posix_rename) an existing TO is replaced atomically;
 * otherwise the version 3 rename is sent, which fails when TO exists.
 */
int sftp_send_rename(struct sftp_pipeline *p, struct sftp_request *req, const char *from, const char *to,
		     struct ssh_error *err);

#endif
