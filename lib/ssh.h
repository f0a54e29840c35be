/*
 * SSH connections from a worker to a managed server, built on libssh2.
 *
 * One struct ssh_conn is one authenticated SSH session over a TCP socket
 * that this module owns.  The socket and libssh2 both run non-blocking, and
 * every step waits in poll() against its own deadline (struct
 * ssh_timeouts), so a server that accepts a connection and then never
 * replies costs at most that step's timeout.  The handshake also ends at
 * its deadline when the server keeps sending, and after
 * SSH_HANDSHAKE_MAX_BYTES, so a server that streams text instead of SSH
 * costs neither more time nor more memory.  A worker runs one task at a
 * time, so blocking the worker in poll() is intended; nothing here is
 * thread-safe, and one connection must stay in one thread.
 *
 * ssh_connect performs, in this order: TCP connect, SSH handshake, host key
 * check against the configured known_hosts file (see known_hosts.h), and
 * public key authentication with the configured private key.  No signature
 * is sent before the host key has matched.
 *
 * User key types: ed25519 and ECDSA keys work with every libssh2 this code
 * builds against.  libssh2 before 1.11 signs with RSA keys only using SHA-1
 * ("ssh-rsa"), which OpenSSH 8.8 and later reject unless the server sets
 * PubkeyAcceptedAlgorithms +ssh-rsa; the authentication error says so.
 * ssh_describe_library reports what the linked libssh2 supports.
 *
 * Every failure fills a struct ssh_error whose message names the server,
 * the step, the libssh2 error text where there is one, and what to check
 * next.  Messages never contain private key material or passwords.
 */
#ifndef PROVISION_SSH_H
#define PROVISION_SSH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ssh_target {
	const char *server_name;	/* the server's name in the control panel, for messages */
	const char *hostname;		/* DNS name or address, as written in known_hosts */
	int port;
	const char *user;
	const char *private_key;	/* path of an unencrypted private key */
	const char *known_hosts;	/* path of an OpenSSH known_hosts file */
};

/* Seconds each step may take; a step that takes longer fails with a timeout. */
struct ssh_timeouts {
	double connect;		/* DNS lookup excluded, see ssh_connect */
	double handshake;	/* from TCP connected to key exchange done */
	double auth;
	double sftp;		/* each SFTP request, including opening the SFTP channel */
	double close;
};

/*
 * Bytes a server may send during the handshake.  A real handshake takes a
 * few KiB; the limit ends one with a server that streams text.
 */
#define SSH_HANDSHAKE_MAX_BYTES (64 * 1024)

/* Fills *t with defaults: 10 s connect, 15 s handshake, 15 s auth, 60 s SFTP, 5 s close. */
void ssh_timeouts_default(struct ssh_timeouts *t);

enum ssh_step {
	SSH_STEP_CONNECT,
	SSH_STEP_HANDSHAKE,
	SSH_STEP_HOST_KEY,
	SSH_STEP_AUTH,
	SSH_STEP_SHELL,
	SSH_STEP_COMMAND,
	SSH_STEP_SFTP,
	SSH_STEP_CLOSE,
};

struct ssh_error {
	char message[2048];
	bool transient;		/* retrying later may succeed (refused, timed out, unreachable) */
	enum ssh_step step;
	unsigned long sftp_status;	/* SSH_FX_* status of a failed SFTP request, else 0 */
};

/* Returns the step's name as used in messages: "connect", "host key", ... */
const char *ssh_step_name(enum ssh_step step);

struct ssh_conn;

/*
 * Initializes libssh2 once per process.  ssh_connect calls it when the
 * caller has not; returns 0, or -1 if libssh2 cannot initialize its crypto.
 */
int ssh_init(void);

/* Releases libssh2's global state; call once at exit after every ssh_close. */
void ssh_cleanup(void);

/*
 * Connects to TARGET, verifies its host key and authenticates.  Returns the
 * connection, or NULL with *err filled.  TARGET's strings are copied.
 * NOTE: the DNS lookup uses getaddrinfo, which blocks without a deadline;
 * the resolver's own timeout (resolv.conf) bounds it.
 */
struct ssh_conn *ssh_connect(const struct ssh_target *target, const struct ssh_timeouts *timeouts,
			     struct ssh_error *err);

/* The host key a server offered in the SSH handshake. */
struct ssh_host_key {
	int type;			/* LIBSSH2_HOSTKEY_TYPE_* */
	unsigned char *key;		/* the key in SSH wire format, malloc'ed */
	size_t key_len;
	char fingerprint[64];		/* "SHA256:" and unpadded base64, as ssh-keygen -l prints it */
};

/*
 * Connects to TARGET and runs the SSH handshake only, without any
 * authentication, then stores the server's host key in *KEY.  TARGET's
 * user and private key are not used.  Its known_hosts file, which may be
 * missing, orders the host key algorithms as in ssh_connect, so the key
 * fetched is of the type that ssh_connect will check.  Returns 0, or -1
 * with *err filled.  Release *KEY with ssh_host_key_free.
 */
int ssh_fetch_host_key(const struct ssh_target *target, const struct ssh_timeouts *timeouts,
		       struct ssh_host_key *key, struct ssh_error *err);

void ssh_host_key_free(struct ssh_host_key *key);

/* Disconnects, waiting at most the close timeout, and frees CONN (NULL is allowed). */
void ssh_close(struct ssh_conn *conn);

/*
 * Proves that the login shell runs commands: runs "echo TOKEN" with a
 * random token and requires exactly that line back with exit status 0.  A
 * shell such as nologin, "ForceCommand internal-sftp", a connection closed
 * after login or start-up files that print text all fail here with an
 * error that names the shell.  Returns 0 or -1.
 */
int ssh_check_shell(struct ssh_conn *conn, double timeout, struct ssh_error *err);

enum ssh_stream {
	SSH_STREAM_STDOUT,
	SSH_STREAM_STDERR,
	SSH_STREAM_NOTICE,	/* a line from the runner itself, such as "output capped" */
};

/*
 * Receives one line of output: valid UTF-8 with control characters escaped
 * (text_sanitize.h), without the line break, at most the line limit long.
 */
typedef void (*ssh_output_cb)(void *arg, enum ssh_stream stream, const char *line);

struct ssh_cmd_result {
	int exit_status;		/* meaningful when signal is empty */
	char signal[32];		/* signal name without "SIG" when one ended the command, else "" */
	bool core_dumped;
	long remote_pid;		/* process id of the remote shell, or -1 if it never printed it */
	bool output_capped;		/* some lines were not passed to the callback */
	uint64_t stdout_bytes;		/* bytes received, including discarded ones */
	uint64_t stderr_bytes;
};

/* Defaults for the output limits of ssh_run. */
#define SSH_OUTPUT_MAX_DEFAULT (1024 * 1024)	/* bytes of lines passed to the callback */
#define SSH_LINE_MAX_DEFAULT 4096		/* bytes of one line after sanitizing */

/*
 * Sets the output limits of later ssh_run calls on CONN: MAX_OUTPUT bytes
 * of lines in total per command (0 = no limit), MAX_LINE bytes per line
 * (at least 64).  Longer lines are cut and marked; output past the total
 * is counted and discarded, and a notice line reports it.
 */
void ssh_set_output_limits(struct ssh_conn *conn, size_t max_output, size_t max_line);

/*
 * Runs COMMAND, a POSIX shell command line (build it with shell_quote.h),
 * through the user's login shell, with no terminal and an empty stdin.
 * Reads stdout and stderr together until both end, so a command that fills
 * one of them cannot stall, and passes each line to CB (which may be NULL).
 *
 * Returns 0 when the command ended with an exit status or a signal, both
 * stored in *out; a non-zero status is not an error here.  Returns -1 with
 * *err filled when the channel fails, TIMEOUT seconds pass, or the server
 * closes the channel without an exit status.
 *
 * The remote process id: the runner prefixes COMMAND with a printf of the
 * shell's $$ and takes that first line out of stdout into out->remote_pid.
 * sshd starts the shell of each session in a new session (setsid), so that
 * pid is also the process group of the command.  When the command times
 * out or the interrupt flag is set, the runner stops it on the server
 * before returning: "kill -TERM -- -PID" over a second channel of the same
 * connection, then KILL if the group is still there after about 2 s.
 */
int ssh_run(struct ssh_conn *conn, const char *command, double timeout,
	    ssh_output_cb cb, void *arg, struct ssh_cmd_result *out, struct ssh_error *err);

/*
 * Makes every wait of this module give up as soon as *FLAG is non-zero, for
 * example when a SIGTERM handler (installed without SA_RESTART) sets it.
 * A command then running is stopped on the server first (see ssh_run).
 * Pass NULL to turn this off.
 */
void ssh_set_interrupt_flag(volatile sig_atomic_t *flag);

/* Returns the server name given to ssh_connect. */
const char *ssh_server_name(const struct ssh_conn *conn);

/*
 * Writes a one-line description of the linked libssh2 into BUF: its
 * version, the user key types it can sign with, and whether RSA keys work
 * against OpenSSH 8.8 or later.  For "provisiond -t".
 */
void ssh_describe_library(char *buf, size_t size);

/* Returns true if the linked libssh2 signs with RSA keys using SHA-2 (1.11 or later). */
bool ssh_library_has_rsa_sha2(void);

#endif
