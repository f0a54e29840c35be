#include "ssh_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "text_sanitize.h"
#include "xalloc.h"

/* The first stdout line of every command: the remote shell's pid (see ssh_run in ssh.h). */
#define PID_PREFIX "provisiond-pid "
#define CUT_MARK " [line cut]"

/* Bytes read from a channel per call. */
#define READ_CHUNK 32768

/* One output stream being split into lines. */
struct line_splitter {
	enum ssh_stream stream;
	char *buf;		/* raw bytes of the current line, at most max_line */
	size_t len;
	bool discarding;	/* the current line was already passed on cut; skip to its end */
};

struct run_state {
	struct ssh_conn *conn;
	ssh_output_cb cb;
	void *arg;
	struct ssh_cmd_result *out;
	struct line_splitter streams[2];
	char *line;		/* sanitized line, max_line + 1 bytes */
	size_t delivered;	/* bytes of lines passed to cb */
	uint64_t discarded;	/* bytes of lines dropped by the output cap */
	bool pid_pending;	/* the pid line has not been seen yet */
};

static void notice(struct run_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void notice(struct run_state *st, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (st->cb != NULL)
		st->cb(st->arg, SSH_STREAM_NOTICE, msg);
}

static bool take_pid_line(struct run_state *st, const char *data, size_t len)
{
	char digits[24];
	char *end;
	long pid;

	st->pid_pending = false;
	if (len <= strlen(PID_PREFIX) || len - strlen(PID_PREFIX) >= sizeof(digits) ||
	    memcmp(data, PID_PREFIX, strlen(PID_PREFIX)) != 0)
		return false;

	memcpy(digits, data + strlen(PID_PREFIX), len - strlen(PID_PREFIX));
	digits[len - strlen(PID_PREFIX)] = '\0';
	pid = strtol(digits, &end, 10);
	if (*end != '\0' || pid <= 0)
		return false;
	st->out->remote_pid = pid;
	return true;
}

/* Sanitizes one line and passes it on, unless the output cap was reached. */
static void emit_line(struct run_state *st, enum ssh_stream stream, const char *data, size_t len, bool cut)
{
	size_t max_line = st->conn->max_line;
	size_t max_output = st->conn->max_output;
	size_t out_len;

	if (stream == SSH_STREAM_STDOUT && st->pid_pending && !cut && take_pid_line(st, data, len))
		return;
	if (len > 0 && data[len - 1] == '\r')
		len--;

	if (st->out->output_capped) {
		st->discarded += len;
		return;
	}

	if (text_sanitize(data, len, st->line, max_line + 1) < len)
		cut = true;
	if (cut)
		text_sanitize(data, len, st->line, max_line + 1 - strlen(CUT_MARK));
	out_len = strlen(st->line);

	if (max_output > 0 && st->delivered + out_len > max_output) {
		st->out->output_capped = true;
		st->discarded += len;
		notice(st, "output capped at %zu bytes; later lines are discarded", max_output);
		return;
	}

	if (cut)
		strcat(st->line, CUT_MARK);
	st->delivered += out_len;
	if (st->cb != NULL)
		st->cb(st->arg, stream, st->line);
}

/* Splits DATA into lines; a line longer than max_line is passed on cut and the rest of it skipped. */
static void feed(struct run_state *st, struct line_splitter *s, const char *data, size_t n)
{
	size_t max_line = st->conn->max_line;

	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t chunk = nl != NULL ? (size_t)(nl - data) : n;

		if (!s->discarding) {
			size_t take = chunk < max_line - s->len ? chunk : max_line - s->len;

			memcpy(s->buf + s->len, data, take);
			s->len += take;
			if (take < chunk) {
				emit_line(st, s->stream, s->buf, s->len, true);
				s->len = 0;
				s->discarding = true;
			} else if (nl != NULL) {
				emit_line(st, s->stream, s->buf, s->len, false);
				s->len = 0;
			}
		}
		if (nl != NULL) {
			s->discarding = false;
			chunk++;
		}
		data += chunk;
		n -= chunk;
	}
}

static void flush_partial_lines(struct run_state *st)
{
	for (int i = 0; i < 2; i++) {
		struct line_splitter *s = &st->streams[i];

		if (s->len > 0 && !s->discarding)
			emit_line(st, s->stream, s->buf, s->len, false);
		s->len = 0;
	}
	if (st->out->output_capped)
		notice(st, "discarded %" PRIu64 " bytes of output beyond the cap of %zu bytes (stdout %" PRIu64
		       " bytes, stderr %" PRIu64 " bytes in total)", st->discarded, st->conn->max_output,
		       st->out->stdout_bytes, st->out->stderr_bytes);
}

/* ---- channel steps ---- */

static int run_command(struct ssh_conn *c, const char *command, double timeout, enum ssh_step step,
		       ssh_output_cb cb, void *arg, struct ssh_cmd_result *out, struct ssh_error *err);

/* Seconds the stop of a remote command may take, within the daemon's kill_grace default of 10 s. */
#define STOP_TIMEOUT 5.0

/*
 * Stops the process group of a command that is still running on the
 * server, over a second channel: TERM, then KILL if the group outlives
 * about 2 s.  Reports the outcome as a notice line.
 */
static void stop_remote(struct run_state *st)
{
	struct ssh_conn *c = st->conn;
	struct ssh_cmd_result result;
	struct ssh_error err;
	char *script;
	long pid = st->out->remote_pid;

	if (pid <= 1) {
		notice(st, "the command's process id is unknown, so it could not be stopped on the server");
		return;
	}

	script = xasprintf("kill -TERM -- -%ld 2>/dev/null || exit 0; "
			   "for i in 1 2 3 4 5 6 7 8 9 10; do "
			   "kill -0 -- -%ld 2>/dev/null || exit 0; sleep 0.2; done; "
			   "kill -KILL -- -%ld 2>/dev/null; exit 0", pid, pid, pid);
	c->ignore_interrupt = true;
	if (run_command(c, script, STOP_TIMEOUT, SSH_STEP_COMMAND, NULL, NULL, &result, &err) == 0)
		notice(st, "stopped the command on the server (process group %ld)", pid);
	else
		notice(st, "stopping the command on the server (process group %ld) failed: %s", pid,
		       err.message);
	c->ignore_interrupt = false;
	free(script);
}

static LIBSSH2_CHANNEL *open_channel(struct ssh_conn *c, double deadline, enum ssh_step step,
				     struct ssh_error *err)
{
	LIBSSH2_CHANNEL *ch;

	for (;;) {
		ch = libssh2_channel_open_session(c->session);
		if (ch != NULL)
			return ch;
		if (libssh2_session_last_errno(c->session) != LIBSSH2_ERROR_EAGAIN)
			break;
		if (ssh_wait_socket(c, deadline) != 0) {
			ssh_error_set(err, c, step, true, "opening a session channel timed out");
			return NULL;
		}
	}

	ssh_error_set(err, c, step, ssh_error_is_transport(libssh2_session_last_errno(c->session)),
		      "the server refused to open a session channel: %s; check MaxSessions and the "
		      "server's sshd log", ssh_last_error_text(c));
	return NULL;
}

static int start_command(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, const char *command, double deadline,
			 enum ssh_step step, struct ssh_error *err)
{
	char *wrapped = xasprintf("printf '" PID_PREFIX "%%s\\n' \"$$\"; %s", command);
	int rc;

	while ((rc = libssh2_channel_exec(ch, wrapped)) == LIBSSH2_ERROR_EAGAIN)
		if (ssh_wait_socket(c, deadline) != 0)
			break;
	free(wrapped);
	if (rc == LIBSSH2_ERROR_EAGAIN) {
		ssh_error_set(err, c, step, true, "starting the command timed out");
		return -1;
	}
	if (rc != 0) {
		ssh_error_set(err, c, step, ssh_error_is_transport(rc),
			      "the server refused to start the command: %s (libssh2 error %d)",
			      ssh_last_error_text(c), rc);
		return -1;
	}

	/* The command gets an empty stdin, so nothing waits for input from us. */
	while ((rc = libssh2_channel_send_eof(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (ssh_wait_socket(c, deadline) != 0)
			break;
	if (rc != 0 && rc != LIBSSH2_ERROR_EAGAIN) {
		ssh_error_set(err, c, step, ssh_error_is_transport(rc), "closing the command's stdin failed: %s",
			      ssh_last_error_text(c));
		return -1;
	}
	return 0;
}

static int read_output(struct run_state *st, LIBSSH2_CHANNEL *ch, double deadline, double timeout,
		       enum ssh_step step, struct ssh_error *err)
{
	struct ssh_conn *c = st->conn;
	char buf[READ_CHUNK];

	for (;;) {
		bool progress = false;

		/* One chunk from each stream per round, so a busy stdout cannot starve stderr. */
		for (int i = 0; i < 2; i++) {
			int stream_id = i == 0 ? 0 : SSH_EXTENDED_DATA_STDERR;
			ssize_t n = libssh2_channel_read_ex(ch, stream_id, buf, sizeof(buf));

			if (n > 0) {
				if (i == 0)
					st->out->stdout_bytes += (uint64_t)n;
				else
					st->out->stderr_bytes += (uint64_t)n;
				feed(st, &st->streams[i], buf, (size_t)n);
				progress = true;
			} else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
				ssh_error_set(err, c, step, ssh_error_is_transport((int)n),
					      "reading the command's output failed: %s (libssh2 error %zd); the "
					      "connection to the server was probably lost",
					      ssh_last_error_text(c), n);
				return -1;
			}
		}

		if (libssh2_channel_eof(ch))
			return 0;
		if (!progress && ssh_wait_socket(c, deadline) != 0) {
			bool cancelled = errno == ECANCELED;

			stop_remote(st);
			if (cancelled)
				ssh_error_set(err, c, step, false, "stopped before the command finished "
					      "(provisiond stopped the task)");
			else
				ssh_error_set(err, c, step, false,
					      "the command did not finish within %g s", timeout);
			return -1;
		}
	}
}

/* Closes the channel and collects the exit status or signal. */
static int finish_command(struct run_state *st, LIBSSH2_CHANNEL *ch, double deadline, enum ssh_step step,
			  struct ssh_error *err)
{
	struct ssh_conn *c = st->conn;
	char *signal = NULL;
	size_t signal_len = 0;
	int rc;

	while ((rc = libssh2_channel_close(ch)) == LIBSSH2_ERROR_EAGAIN)
		if (ssh_wait_socket(c, deadline) != 0)
			break;
	if (rc == 0)
		while ((rc = libssh2_channel_wait_closed(ch)) == LIBSSH2_ERROR_EAGAIN)
			if (ssh_wait_socket(c, deadline) != 0)
				break;
	if (rc != 0) {
		ssh_error_set(err, c, step, rc == LIBSSH2_ERROR_EAGAIN || ssh_error_is_transport(rc),
			      "the command's output ended, but the channel did not close properly (%s), so it "
			      "produced no exit status", rc == LIBSSH2_ERROR_EAGAIN ? "timed out" :
			      ssh_last_error_text(c));
		return -1;
	}

	if (libssh2_channel_get_exit_signal(ch, &signal, &signal_len, NULL, NULL, NULL, NULL) == 0 &&
	    signal != NULL) {
		snprintf(st->out->signal, sizeof(st->out->signal), "%.*s", (int)signal_len, signal);
		libssh2_free(c->session, signal);
		return 0;
	}

	/*
	 * NOTE: libssh2 (1.10, and 1.11 in its public API) returns 0 both for
	 * "exit-status 0" and for a channel that closed without any status.
	 * Lost connections fail above with a transport error, but a server
	 * that closes the channel cleanly without sending a status is counted
	 * as exit status 0.
	 */
	st->out->exit_status = libssh2_channel_get_exit_status(ch);
	return 0;
}

static void free_channel(struct ssh_conn *c, LIBSSH2_CHANNEL *ch)
{
	/* libssh2_channel_free only sends a close if needed; bound it like every other step. */
	double deadline = ssh_now() + c->timeouts.close;

	while (libssh2_channel_free(ch) == LIBSSH2_ERROR_EAGAIN)
		if (ssh_wait_socket(c, deadline) != 0)
			break;
}

static void run_state_init(struct run_state *st, struct ssh_conn *c, ssh_output_cb cb, void *arg,
			   struct ssh_cmd_result *out)
{
	memset(st, 0, sizeof(*st));
	st->conn = c;
	st->cb = cb;
	st->arg = arg;
	st->out = out;
	st->pid_pending = true;
	st->line = xmalloc(c->max_line + 1);
	for (int i = 0; i < 2; i++) {
		st->streams[i].stream = i == 0 ? SSH_STREAM_STDOUT : SSH_STREAM_STDERR;
		st->streams[i].buf = xmalloc(c->max_line);
	}

	memset(out, 0, sizeof(*out));
	out->remote_pid = -1;
}

static void run_state_free(struct run_state *st)
{
	free(st->line);
	for (int i = 0; i < 2; i++)
		free(st->streams[i].buf);
}

static int run_command(struct ssh_conn *c, const char *command, double timeout, enum ssh_step step,
		       ssh_output_cb cb, void *arg, struct ssh_cmd_result *out, struct ssh_error *err)
{
	double deadline = ssh_now() + timeout;
	LIBSSH2_CHANNEL *ch;
	struct run_state st;
	int rc = -1;

	run_state_init(&st, c, cb, arg, out);

	ch = open_channel(c, deadline, step, err);
	if (ch == NULL)
		goto out;

	if (start_command(c, ch, command, deadline, step, err) != 0)
		goto out_channel;

	if (read_output(&st, ch, deadline, timeout, step, err) != 0)
		goto out_channel;
	flush_partial_lines(&st);

	rc = finish_command(&st, ch, deadline, step, err);

out_channel:
	free_channel(c, ch);
out:
	run_state_free(&st);
	return rc;
}

int ssh_run(struct ssh_conn *conn, const char *command, double timeout,
	    ssh_output_cb cb, void *arg, struct ssh_cmd_result *out, struct ssh_error *err)
{
	return run_command(conn, command, timeout, SSH_STEP_COMMAND, cb, arg, out, err);
}

/* ---- login shell check ---- */

struct shell_output {
	const char *token;
	int token_lines;	/* stdout lines equal to the token */
	int other_lines;	/* any other stdout line */
	char first_other[160];
	char first_stderr[160];
};

static void collect_shell_output(void *arg, enum ssh_stream stream, const char *line)
{
	struct shell_output *o = arg;

	if (stream == SSH_STREAM_STDERR) {
		if (o->first_stderr[0] == '\0')
			snprintf(o->first_stderr, sizeof(o->first_stderr), "%s", line);
	} else if (stream == SSH_STREAM_STDOUT) {
		if (strcmp(line, o->token) == 0) {
			o->token_lines++;
		} else {
			if (o->other_lines == 0)
				snprintf(o->first_other, sizeof(o->first_other), "%s", line);
			o->other_lines++;
		}
	}
}

static void make_token(char *token, size_t size)
{
	unsigned char random[12];
	size_t used;

	used = (size_t)snprintf(token, size, "provisiond-shell-check-");
	if (getrandom(random, sizeof(random), 0) != (ssize_t)sizeof(random))
		fatal("getrandom failed: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(random) && used + 2 < size; i++)
		used += (size_t)snprintf(token + used, size - used, "%02x", random[i]);
}

int ssh_check_shell(struct ssh_conn *c, double timeout, struct ssh_error *err)
{
	struct shell_output o = { 0 };
	struct ssh_cmd_result res;
	char token[64], command[96], output_note[200] = "", advice[400];

	make_token(token, sizeof(token));
	o.token = token;
	snprintf(command, sizeof(command), "echo %s", token);

	if (run_command(c, command, timeout, SSH_STEP_SHELL, collect_shell_output, &o, &res, err) != 0)
		return -1;

	if (res.signal[0] == '\0' && res.exit_status == 0 && o.token_lines == 1 && o.other_lines == 0 &&
	    res.remote_pid > 0)
		return 0;

	if (o.first_stderr[0] != '\0')
		snprintf(output_note, sizeof(output_note), "; stderr: \"%s\"", o.first_stderr);
	else if (o.first_other[0] != '\0')
		snprintf(output_note, sizeof(output_note), "; stdout: \"%s\"", o.first_other);

	if (o.token_lines == 1 && o.other_lines > 0) {
		ssh_error_set(err, c, SSH_STEP_SHELL, false,
			      "the login shell of user %s printed extra output around \"echo\" (first extra line: "
			      "\"%s\"); remove output from its start-up files (~/.bashrc and the like) for "
			      "non-interactive shells", c->user, o.first_other);
		return -1;
	}

	snprintf(advice, sizeof(advice),
		 "the login shell of user %s is likely nologin or false, or sshd_config forces a command for "
		 "it (ForceCommand, for example internal-sftp); provisiond needs a POSIX shell such as "
		 "/bin/bash (check with: getent passwd %s on the server)", c->user, c->user);
	if (res.signal[0] != '\0')
		ssh_error_set(err, c, SSH_STEP_SHELL, false,
			      "\"%s\" was killed by signal %s%s; %s", command, res.signal, output_note, advice);
	else
		ssh_error_set(err, c, SSH_STEP_SHELL, false,
			      "\"%s\" did not print the token back (exit status %d, %d other stdout lines)%s; %s",
			      command, res.exit_status, o.other_lines, output_note, advice);
	return -1;
}
