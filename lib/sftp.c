#include "sftp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <libssh2_sftp.h>

#include "shell_quote.h"
#include "ssh_internal.h"
#include "text_sanitize.h"
#include "xalloc.h"

/* Bytes handed to libssh2_sftp_write at a time; libssh2 pipelines the packets within it. */
#define PUT_CHUNK (256 * 1024)

/* Maximum name or link target length read back; Linux allows 4095-byte paths. */
#define NAME_BUFFER 4096

/*
 * Repeats CALL while it returns LIBSSH2_ERROR_EAGAIN and the socket
 * becomes ready before DEADLINE.  Afterwards RC == LIBSSH2_ERROR_EAGAIN
 * means the deadline passed.
 */
#define RETRY(s, deadline, rc, call)						\
	while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN &&			\
	       ssh_wait_socket((s)->conn, (deadline)) == 0)

struct sftp_session {
	struct ssh_conn *conn;
	LIBSSH2_SFTP *sftp;
};

static double request_deadline(const struct sftp_session *s)
{
	return ssh_now() + s->conn->timeouts.sftp;
}

static const char *status_text(unsigned long status)
{
	static const char *const names[] = {
		"ok", "end of file", "no such file or directory", "permission denied", "failure",
		"bad message", "no connection", "connection lost", "operation not supported",
		"invalid handle", "no such path", "file already exists", "write protected", "no media",
		"no space on file system", "quota exceeded", "unknown principal", "lock conflict",
		"directory not empty", "not a directory", "invalid file name", "too many symbolic links",
	};

	if (status < sizeof(names) / sizeof(names[0]))
		return names[status];
	return "unknown status";
}

/* Fills ERR for a failed request OP on PATH; RC is the libssh2 return code.  Returns -1. */
static int fail(struct sftp_session *s, int rc, const char *op, const char *path, struct ssh_error *err)
{
	char *shown = text_sanitize_dup(path, strlen(path));
	struct ssh_conn *c = s->conn;

	if (rc == LIBSSH2_ERROR_EAGAIN) {
		ssh_error_set(err, c, SSH_STEP_SFTP, true, "%s \"%s\" timed out after %g s", op, shown,
			      c->timeouts.sftp);
	} else if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL) {
		unsigned long status = libssh2_sftp_last_error(s->sftp);
		bool lost = status == LIBSSH2_FX_NO_CONNECTION || status == LIBSSH2_FX_CONNECTION_LOST;

		ssh_error_set(err, c, SSH_STEP_SFTP, lost, "%s \"%s\" failed: %s (SFTP status %lu)", op,
			      shown, status_text(status), status);
		err->sftp_status = status;
	} else {
		ssh_error_set(err, c, SSH_STEP_SFTP, ssh_error_is_transport(rc),
			      "%s \"%s\" failed: %s (libssh2 error %d)", op, shown, ssh_last_error_text(c), rc);
	}
	free(shown);
	return -1;
}

bool sftp_error_is_not_found(const struct ssh_error *err)
{
	return err->step == SSH_STEP_SFTP && err->sftp_status == LIBSSH2_FX_NO_SUCH_FILE;
}

bool sftp_attrs_is_dir(const struct sftp_attrs *a)
{
	return a->has_mode && LIBSSH2_SFTP_S_ISDIR(a->mode);
}

bool sftp_attrs_is_file(const struct sftp_attrs *a)
{
	return a->has_mode && LIBSSH2_SFTP_S_ISREG(a->mode);
}

bool sftp_attrs_is_symlink(const struct sftp_attrs *a)
{
	return a->has_mode && LIBSSH2_SFTP_S_ISLNK(a->mode);
}

static void convert_attrs(const LIBSSH2_SFTP_ATTRIBUTES *in, struct sftp_attrs *out)
{
	memset(out, 0, sizeof(*out));
	out->has_size = in->flags & LIBSSH2_SFTP_ATTR_SIZE;
	out->has_ids = in->flags & LIBSSH2_SFTP_ATTR_UIDGID;
	out->has_mode = in->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS;
	out->has_times = in->flags & LIBSSH2_SFTP_ATTR_ACMODTIME;
	out->size = in->filesize;
	out->uid = in->uid;
	out->gid = in->gid;
	out->mode = in->permissions;
	out->atime = in->atime;
	out->mtime = in->mtime;
}

struct sftp_session *sftp_open(struct ssh_conn *conn, struct ssh_error *err)
{
	struct sftp_session *s = xcalloc(1, sizeof(*s));
	double deadline;

	s->conn = conn;
	deadline = request_deadline(s);
	for (;;) {
		s->sftp = libssh2_sftp_init(conn->session);
		if (s->sftp != NULL)
			return s;
		if (libssh2_session_last_errno(conn->session) != LIBSSH2_ERROR_EAGAIN)
			break;
		if (ssh_wait_socket(conn, deadline) != 0) {
			ssh_error_set(err, conn, SSH_STEP_SFTP, true, "starting SFTP timed out after %g s",
				      conn->timeouts.sftp);
			free(s);
			return NULL;
		}
	}

	ssh_error_set(err, conn, SSH_STEP_SFTP, ssh_error_is_transport(libssh2_session_last_errno(conn->session)),
		      "starting SFTP failed: %s; check the Subsystem sftp line in the server's sshd_config",
		      ssh_last_error_text(conn));
	free(s);
	return NULL;
}

void sftp_close(struct sftp_session *s)
{
	double deadline;
	int rc;

	if (s == NULL)
		return;
	deadline = ssh_now() + s->conn->timeouts.close;
	RETRY(s, deadline, rc, libssh2_sftp_shutdown(s->sftp));
	free(s);
}

static int stat_path(struct sftp_session *s, const char *path, int type, struct sftp_attrs *out,
		     struct ssh_error *err)
{
	double deadline = request_deadline(s);
	LIBSSH2_SFTP_ATTRIBUTES attrs;
	int rc;

	RETRY(s, deadline, rc, libssh2_sftp_stat_ex(s->sftp, path, (unsigned int)strlen(path), type, &attrs));
	if (rc != 0)
		return fail(s, rc, type == LIBSSH2_SFTP_LSTAT ? "lstat" : "stat", path, err);
	convert_attrs(&attrs, out);
	return 0;
}

int sftp_stat(struct sftp_session *s, const char *path, struct sftp_attrs *out, struct ssh_error *err)
{
	return stat_path(s, path, LIBSSH2_SFTP_STAT, out, err);
}

int sftp_lstat(struct sftp_session *s, const char *path, struct sftp_attrs *out, struct ssh_error *err)
{
	return stat_path(s, path, LIBSSH2_SFTP_LSTAT, out, err);
}

static int mkdir_once(struct sftp_session *s, const char *path, unsigned long mode, struct ssh_error *err)
{
	double deadline = request_deadline(s);
	int rc;

	RETRY(s, deadline, rc, libssh2_sftp_mkdir_ex(s->sftp, path, (unsigned int)strlen(path), (long)mode));
	if (rc != 0)
		return fail(s, rc, "mkdir", path, err);
	return 0;
}

/* Returns the parent of PATH, newly allocated, or NULL if PATH has none ("/", "name"). */
static char *parent_dir(const char *path)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	while (len > 0 && path[len - 1] != '/')
		len--;
	if (len == 0)
		return NULL;
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len == strlen(path))
		return NULL;
	return xstrndup(path, len);
}

int sftp_mkdir_p(struct sftp_session *s, const char *path, unsigned long mode, struct ssh_error *err)
{
	struct ssh_error mkdir_err;
	struct sftp_attrs attrs;
	char *parent;
	int rc;

	/* Trying the full path first costs one request when only the last level is missing. */
	if (mkdir_once(s, path, mode, &mkdir_err) == 0)
		return 0;
	if (sftp_stat(s, path, &attrs, err) == 0) {
		if (sftp_attrs_is_dir(&attrs))
			return 0;
		char *shown = text_sanitize_dup(path, strlen(path));

		ssh_error_set(err, s->conn, SSH_STEP_SFTP, false,
			      "mkdir \"%s\" failed: it exists and is not a directory", shown);
		free(shown);
		return -1;
	}
	if (!sftp_error_is_not_found(&mkdir_err)) {
		*err = mkdir_err;
		return -1;
	}

	parent = parent_dir(path);
	if (parent == NULL) {
		*err = mkdir_err;
		return -1;
	}
	rc = sftp_mkdir_p(s, parent, mode, err);
	free(parent);
	if (rc != 0)
		return -1;

	if (mkdir_once(s, path, mode, &mkdir_err) == 0)
		return 0;
	/* Another process may have created it meanwhile. */
	if (sftp_stat(s, path, &attrs, err) == 0 && sftp_attrs_is_dir(&attrs))
		return 0;
	*err = mkdir_err;
	return -1;
}

static LIBSSH2_SFTP_HANDLE *open_handle(struct sftp_session *s, const char *path, unsigned long flags,
					long mode, int type, struct ssh_error *err)
{
	double deadline = request_deadline(s);
	LIBSSH2_SFTP_HANDLE *h;

	for (;;) {
		h = libssh2_sftp_open_ex(s->sftp, path, (unsigned int)strlen(path), flags, mode, type);
		if (h != NULL)
			return h;
		if (libssh2_session_last_errno(s->conn->session) != LIBSSH2_ERROR_EAGAIN)
			break;
		if (ssh_wait_socket(s->conn, deadline) != 0) {
			fail(s, LIBSSH2_ERROR_EAGAIN, type == LIBSSH2_SFTP_OPENDIR ? "opendir" : "open", path, err);
			return NULL;
		}
	}
	fail(s, libssh2_session_last_errno(s->conn->session), type == LIBSSH2_SFTP_OPENDIR ? "opendir" : "open",
	     path, err);
	return NULL;
}

/* Closes H; returns 0, or -1 with ERR filled if ERR is not NULL. */
static int close_handle(struct sftp_session *s, LIBSSH2_SFTP_HANDLE *h, const char *path,
			struct ssh_error *err)
{
	double deadline = request_deadline(s);
	int rc;

	RETRY(s, deadline, rc, libssh2_sftp_close_handle(h));
	if (rc != 0 && err != NULL)
		return fail(s, rc, "close", path, err);
	return rc == 0 ? 0 : -1;
}

void sftp_dirents_free(struct sftp_dirent *ents, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(ents[i].name);
	free(ents);
}

int sftp_readdir(struct sftp_session *s, const char *path, struct sftp_dirent **out, size_t *count,
		 struct ssh_error *err)
{
	struct sftp_dirent *ents = NULL;
	size_t n = 0, cap = 0;
	char name[NAME_BUFFER];
	LIBSSH2_SFTP_HANDLE *h;
	LIBSSH2_SFTP_ATTRIBUTES attrs;
	int rc;

	h = open_handle(s, path, 0, 0, LIBSSH2_SFTP_OPENDIR, err);
	if (h == NULL)
		return -1;

	for (;;) {
		double deadline = request_deadline(s);

		RETRY(s, deadline, rc, libssh2_sftp_readdir_ex(h, name, sizeof(name) - 1, NULL, 0, &attrs));
		if (rc == 0)
			break;
		if (rc < 0) {
			fail(s, rc, "readdir", path, err);
			goto fail;
		}
		name[rc] = '\0';
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;

		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			ents = xrealloc(ents, cap * sizeof(*ents));
		}
		ents[n].name = xstrndup(name, (size_t)rc);
		convert_attrs(&attrs, &ents[n].attrs);
		n++;
	}

	if (close_handle(s, h, path, err) != 0) {
		sftp_dirents_free(ents, n);
		return -1;
	}
	*out = ents;
	*count = n;
	return 0;

fail:
	close_handle(s, h, path, NULL);
	sftp_dirents_free(ents, n);
	return -1;
}

static int set_attrs(struct sftp_session *s, const char *path, LIBSSH2_SFTP_ATTRIBUTES *attrs,
		     const char *op, struct ssh_error *err)
{
	double deadline = request_deadline(s);
	int rc;

	RETRY(s, deadline, rc, libssh2_sftp_stat_ex(s->sftp, path, (unsigned int)strlen(path),
						    LIBSSH2_SFTP_SETSTAT, attrs));
	if (rc != 0)
		return fail(s, rc, op, path, err);
	return 0;
}

int sftp_chmod(struct sftp_session *s, const char *path, unsigned long mode, struct ssh_error *err)
{
	LIBSSH2_SFTP_ATTRIBUTES attrs = { .flags = LIBSSH2_SFTP_ATTR_PERMISSIONS, .permissions = mode & 07777 };

	return set_attrs(s, path, &attrs, "chmod", err);
}

int sftp_set_times(struct sftp_session *s, const char *path, unsigned long atime, unsigned long mtime,
		   struct ssh_error *err)
{
	LIBSSH2_SFTP_ATTRIBUTES attrs = { .flags = LIBSSH2_SFTP_ATTR_ACMODTIME, .atime = atime,
					  .mtime = mtime };

	return set_attrs(s, path, &attrs, "set times of", err);
}

/*
 * libssh2 1.10 reads the status of a SYMLINK reply from the wrong offset
 * (it reports the request id), so any symlink after the first request of
 * a session "fails" with a random status.  Reading the link back shows
 * whether it was created.  A link that already pointed to TARGET also
 * counts as success.
 */
static bool symlink_points_to(struct sftp_session *s, const char *linkpath, const char *target)
{
	struct ssh_error ignored;
	char *actual = NULL;
	bool same;

	if (sftp_readlink(s, linkpath, &actual, &ignored) != 0)
		return false;
	same = strcmp(actual, target) == 0;
	free(actual);
	return same;
}

int sftp_symlink(struct sftp_session *s, const char *target, const char *linkpath, struct ssh_error *err)
{
	double deadline = request_deadline(s);
	int rc;

	/*
	 * libssh2 sends the existing path first, which is the order OpenSSH's
	 * sftp-server expects (it swaps the two fields of the draft).
	 */
	RETRY(s, deadline, rc, libssh2_sftp_symlink_ex(s->sftp, target, (unsigned int)strlen(target),
						       (char *)linkpath, (unsigned int)strlen(linkpath),
						       LIBSSH2_SFTP_SYMLINK));
	if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && symlink_points_to(s, linkpath, target))
		return 0;
	if (rc != 0)
		return fail(s, rc, "symlink", linkpath, err);
	return 0;
}

int sftp_readlink(struct sftp_session *s, const char *path, char **target, struct ssh_error *err)
{
	double deadline = request_deadline(s);
	char buf[NAME_BUFFER + 1];
	int rc;

	RETRY(s, deadline, rc, libssh2_sftp_symlink_ex(s->sftp, path, (unsigned int)strlen(path), buf,
						       NAME_BUFFER, LIBSSH2_SFTP_READLINK));
	if (rc < 0)
		return fail(s, rc, "readlink", path, err);
	*target = xstrndup(buf, (size_t)rc);
	return 0;
}

int sftp_unlink(struct sftp_session *s, const char *path, struct ssh_error *err)
{
	double deadline = request_deadline(s);
	int rc;

	RETRY(s, deadline, rc, libssh2_sftp_unlink_ex(s->sftp, path, (unsigned int)strlen(path)));
	if (rc != 0)
		return fail(s, rc, "unlink", path, err);
	return 0;
}

int sftp_rmdir(struct sftp_session *s, const char *path, struct ssh_error *err)
{
	double deadline = request_deadline(s);
	int rc;

	RETRY(s, deadline, rc, libssh2_sftp_rmdir_ex(s->sftp, path, (unsigned int)strlen(path)));
	if (rc != 0)
		return fail(s, rc, "rmdir", path, err);
	return 0;
}

int sftp_get_buffer(struct sftp_session *s, const char *path, size_t max_size, char **data, size_t *len,
		    struct ssh_error *err)
{
	LIBSSH2_SFTP_HANDLE *h;
	char *buf = NULL;
	size_t used = 0, cap = 0;

	h = open_handle(s, path, LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE, err);
	if (h == NULL)
		return -1;

	for (;;) {
		double deadline = request_deadline(s);
		ssize_t n;

		if (cap - used < PUT_CHUNK) {
			cap = cap ? cap * 2 : PUT_CHUNK;
			buf = xrealloc(buf, cap + 1);
		}
		RETRY(s, deadline, n, libssh2_sftp_read(h, buf + used, cap - used));
		if (n == 0)
			break;
		if (n < 0) {
			fail(s, (int)n, "read", path, err);
			goto fail;
		}
		used += (size_t)n;
		if (used > max_size) {
			char *shown = text_sanitize_dup(path, strlen(path));

			ssh_error_set(err, s->conn, SSH_STEP_SFTP, false, "read \"%s\": the file is larger than %zu bytes",
				      shown, max_size);
			free(shown);
			goto fail;
		}
	}

	if (close_handle(s, h, path, err) != 0) {
		free(buf);
		return -1;
	}
	buf[used] = '\0';
	*data = buf;
	*len = used;
	return 0;

fail:
	close_handle(s, h, path, NULL);
	free(buf);
	return -1;
}

/* ---- atomic upload ---- */

/* Reads up to SIZE bytes of the upload's data into BUF; returns the count, 0 at the end, or -1 with errno. */
typedef ssize_t (*put_source_fn)(void *arg, char *buf, size_t size);

struct buffer_source {
	const char *data;
	size_t len;
};

static ssize_t read_buffer_source(void *arg, char *buf, size_t size)
{
	struct buffer_source *src = arg;
	size_t n = src->len < size ? src->len : size;

	memcpy(buf, src->data, n);
	src->data += n;
	src->len -= n;
	return (ssize_t)n;
}

static ssize_t read_fd_source(void *arg, char *buf, size_t size)
{
	int fd = *(int *)arg;
	ssize_t n;

	do {
		n = read(fd, buf, size);
	} while (n < 0 && errno == EINTR);
	return n;
}

/* Returns "DIR/.provisiond-tmp-RANDOM" next to PATH, newly allocated. */
static char *temporary_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	unsigned char random[8];
	char hex[17];

	if (getrandom(random, sizeof(random), 0) != (ssize_t)sizeof(random))
		memset(random, 0, sizeof(random));
	for (size_t i = 0; i < sizeof(random); i++)
		snprintf(hex + 2 * i, 3, "%02x", random[i]);

	if (slash == NULL)
		return xasprintf(".provisiond-tmp-%s", hex);
	return xasprintf("%.*s/.provisiond-tmp-%s", (int)(slash - path), path, hex);
}

static int write_all(struct sftp_session *s, LIBSSH2_SFTP_HANDLE *h, const char *path, const char *data,
		     size_t len, struct ssh_error *err)
{
	while (len > 0) {
		double deadline = request_deadline(s);
		ssize_t n;

		RETRY(s, deadline, n, libssh2_sftp_write(h, data, len));
		if (n < 0)
			return fail(s, (int)n, "write", path, err);
		/* libssh2 may accept less than asked for; the rest goes in the next round. */
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int copy_source(struct sftp_session *s, LIBSSH2_SFTP_HANDLE *h, const char *path,
		       put_source_fn source, void *arg, struct ssh_error *err)
{
	char *buf = xmalloc(PUT_CHUNK);
	int rc = -1;

	for (;;) {
		ssize_t n = source(arg, buf, PUT_CHUNK);

		if (n < 0) {
			char *shown = text_sanitize_dup(path, strlen(path));

			ssh_error_set(err, s->conn, SSH_STEP_SFTP, false,
				      "reading the local data for \"%s\" failed: %s", shown, strerror(errno));
			free(shown);
			goto out;
		}
		if (n == 0)
			break;
		if (write_all(s, h, path, buf, (size_t)n, err) != 0)
			goto out;
	}
	rc = 0;

out:
	free(buf);
	return rc;
}

static int finish_upload(struct sftp_session *s, LIBSSH2_SFTP_HANDLE *h, const char *path,
			 const struct sftp_put_options *opt, struct ssh_error *err)
{
	LIBSSH2_SFTP_ATTRIBUTES attrs = { .flags = LIBSSH2_SFTP_ATTR_PERMISSIONS,
					  .permissions = opt->mode & 07777 };
	double deadline = request_deadline(s);
	int rc;

	/* The server applies its umask to the mode given at open, so set it again exactly. */
	if (opt->set_mtime) {
		attrs.flags |= LIBSSH2_SFTP_ATTR_ACMODTIME;
		attrs.atime = opt->mtime;
		attrs.mtime = opt->mtime;
	}
	RETRY(s, deadline, rc, libssh2_sftp_fsetstat(h, &attrs));
	if (rc != 0)
		return fail(s, rc, "set attributes of", path, err);

	if (opt->fsync) {
		deadline = request_deadline(s);
		RETRY(s, deadline, rc, libssh2_sftp_fsync(h));
		if (rc != 0)
			return fail(s, rc, "fsync", path, err);
	}
	return 0;
}

static int rename_plain(struct sftp_session *s, const char *from, const char *to, struct ssh_error *err)
{
	double deadline = request_deadline(s);
	int rc;

	RETRY(s, deadline, rc, libssh2_sftp_rename_ex(s->sftp, from, (unsigned int)strlen(from), to,
						      (unsigned int)strlen(to),
						      LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC |
						      LIBSSH2_SFTP_RENAME_NATIVE));
	if (rc != 0)
		return fail(s, rc, "rename to", to, err);
	return 0;
}

/* Replaces regular file TO with FROM by one rename(2) on the server, run as "mv -f". */
static int rename_with_mv(struct sftp_session *s, const char *from, const char *to, struct ssh_error *err)
{
	char *command = shell_join((const char *const[]){ "mv", "-f", "--", from, to, NULL });
	struct ssh_cmd_result res;
	int rc;

	rc = ssh_run(s->conn, command, s->conn->timeouts.sftp, NULL, NULL, &res, err);
	free(command);
	if (rc != 0)
		return -1;
	if (res.signal[0] != '\0' || res.exit_status != 0) {
		char *shown = text_sanitize_dup(to, strlen(to));

		ssh_error_set(err, s->conn, SSH_STEP_SFTP, false,
			      "replacing \"%s\" with mv -f failed (exit status %d%s%s)", shown, res.exit_status,
			      res.signal[0] ? ", signal " : "", res.signal);
		free(shown);
		return -1;
	}
	return 0;
}

static int replace_target(struct sftp_session *s, const char *from, const char *to, struct ssh_error *err)
{
	struct sftp_attrs attrs;
	struct ssh_error rename_err;

#if LIBSSH2_VERSION_NUM >= 0x010b00
	{
		/* NOTE: this branch needs libssh2 1.11 and has not run in this project's tests yet. */
		double deadline = request_deadline(s);
		int rc;

		RETRY(s, deadline, rc, libssh2_sftp_posix_rename_ex(s->sftp, from, strlen(from), to, strlen(to)));
		if (rc == 0)
			return 0;
		if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL ||
		    libssh2_sftp_last_error(s->sftp) != LIBSSH2_FX_OP_UNSUPPORTED)
			return fail(s, rc, "rename to", to, err);
	}
#endif

	/* SFTP version 3 rename succeeds atomically when nothing exists at TO yet. */
	if (rename_plain(s, from, to, &rename_err) == 0)
		return 0;

	if (sftp_lstat(s, to, &attrs, err) != 0) {
		*err = rename_err;
		return -1;
	}
	if (sftp_attrs_is_dir(&attrs)) {
		char *shown = text_sanitize_dup(to, strlen(to));

		ssh_error_set(err, s->conn, SSH_STEP_SFTP, false, "cannot replace \"%s\": it is a directory",
			      shown);
		free(shown);
		return -1;
	}
	if (sftp_attrs_is_file(&attrs))
		return rename_with_mv(s, from, to, err);

	if (sftp_unlink(s, to, err) != 0)
		return -1;
	return rename_plain(s, from, to, err);
}

static int put_from(struct sftp_session *s, const char *path, put_source_fn source, void *arg,
		    const struct sftp_put_options *opt, struct ssh_error *err)
{
	char *tmp = temporary_name(path);
	LIBSSH2_SFTP_HANDLE *h;
	struct ssh_error cleanup_err;
	int rc = -1;

	h = open_handle(s, tmp, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL | LIBSSH2_FXF_TRUNC,
			(long)(opt->mode & 07777), LIBSSH2_SFTP_OPENFILE, err);
	if (h == NULL)
		goto out;

	if (copy_source(s, h, tmp, source, arg, err) != 0 || finish_upload(s, h, tmp, opt, err) != 0) {
		close_handle(s, h, tmp, NULL);
		goto out_unlink;
	}
	if (close_handle(s, h, tmp, err) != 0)
		goto out_unlink;

	if (replace_target(s, tmp, path, err) != 0)
		goto out_unlink;
	rc = 0;
	goto out;

out_unlink:
	sftp_unlink(s, tmp, &cleanup_err);
out:
	free(tmp);
	return rc;
}

int sftp_put_buffer(struct sftp_session *s, const char *path, const void *data, size_t len,
		    const struct sftp_put_options *opt, struct ssh_error *err)
{
	struct buffer_source src = { .data = data, .len = len };

	return put_from(s, path, read_buffer_source, &src, opt, err);
}

int sftp_put_fd(struct sftp_session *s, const char *path, int fd, const struct sftp_put_options *opt,
		struct ssh_error *err)
{
	return put_from(s, path, read_fd_source, &fd, opt, err);
}
