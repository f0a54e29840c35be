/*
 * Tests of the SSH layer against a real OpenSSH sshd started by
 * tests/fixtures/sshd-fixture on a loopback port.  Run as
 * "test_ssh_live CASE"; every case starts its own server (when it needs
 * one) and stops it at exit.  Exit status 77 means skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "sftp.h"
#include "shell_quote.h"
#include "ssh.h"
#include "text_sanitize.h"

/* ---- fixture ---- */

#define MAX_ENV 32

static struct {
	char dir[64];
	bool started;
	int n_env;
	char *keys[MAX_ENV];
	char *values[MAX_ENV];
} fx;

static pid_t listener_pid = -1;

static void cleanup(void)
{
	char *cmd = NULL;

	if (listener_pid > 0) {
		kill(listener_pid, SIGKILL);
		waitpid(listener_pid, NULL, 0);
	}
	if (fx.started && asprintf(&cmd, "%s stop %s/server", SSHD_FIXTURE, fx.dir) >= 0) {
		if (system(cmd) != 0)
			fprintf(stderr, "stopping the sshd fixture failed\n");
		free(cmd);
	}
	if (fx.dir[0] != '\0' && asprintf(&cmd, "rm -rf %s", fx.dir) >= 0) {
		if (system(cmd) != 0)
			fprintf(stderr, "removing %s failed\n", fx.dir);
		free(cmd);
	}
	ssh_cleanup();
}

static const char *env(const char *key)
{
	for (int i = 0; i < fx.n_env; i++)
		if (strcmp(fx.keys[i], key) == 0)
			return fx.values[i];
	fprintf(stderr, "fixture did not print %s\n", key);
	exit(1);
}

static void make_dir(void)
{
	if (fx.dir[0] != '\0')
		return;
	strcpy(fx.dir, "/tmp/provision-ssh-test-XXXXXX");
	if (mkdtemp(fx.dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

/* Starts sshd with the fixture OPTIONS; skips the case when sshd cannot run here. */
static void start_server(const char *options)
{
	char *cmd = NULL;
	char line[1024];
	FILE *p;

	if (access("/usr/sbin/sshd", X_OK) != 0) {
		printf("SKIP: /usr/sbin/sshd is not installed (package openssh-server)\n");
		exit(CHECK_SKIP);
	}
	make_dir();
	if (asprintf(&cmd, "%s start %s/server %s", SSHD_FIXTURE, fx.dir, options) < 0)
		abort();
	p = popen(cmd, "r");
	free(cmd);
	while (p != NULL && fgets(line, sizeof(line), p) != NULL && fx.n_env < MAX_ENV) {
		char *eq = strchr(line, '=');

		if (eq == NULL)
			continue;
		line[strcspn(line, "\n")] = '\0';
		*eq = '\0';
		fx.keys[fx.n_env] = strdup(line);
		fx.values[fx.n_env] = strdup(eq + 1);
		fx.n_env++;
	}
	if (p == NULL || pclose(p) != 0) {
		printf("SKIP: the sshd fixture did not start (see its message above)\n");
		exit(CHECK_SKIP);
	}
	fx.started = true;
}

static char *path_in_dir(const char *name)
{
	char *path = NULL;

	make_dir();
	if (asprintf(&path, "%s/%s", fx.dir, name) < 0)
		abort();
	return path;
}

static char *write_text(const char *name, const char *text)
{
	char *path = path_in_dir(name);
	FILE *f = fopen(path, "w");

	if (f == NULL)
		abort();
	fputs(text, f);
	fclose(f);
	return path;
}

/* Returns "TYPE BASE64" of a .pub file, newly allocated. */
static char *public_key(const char *private_path)
{
	char *path = NULL, line[2048], *space;
	FILE *f;

	if (asprintf(&path, "%s.pub", private_path) < 0 || (f = fopen(path, "r")) == NULL)
		abort();
	if (fgets(line, sizeof(line), f) == NULL)
		abort();
	fclose(f);
	free(path);
	space = strchr(strchr(line, ' ') + 1, ' ');
	if (space != NULL)
		*space = '\0';
	line[strcspn(line, "\n")] = '\0';
	return strdup(line);
}

/* Returns the first line of a shell command's output, newly allocated. */
static char *command_output(const char *command)
{
	char line[1024] = "";
	FILE *p = popen(command, "r");

	if (p == NULL || fgets(line, sizeof(line), p) == NULL)
		line[0] = '\0';
	if (p != NULL)
		pclose(p);
	line[strcspn(line, "\n")] = '\0';
	return strdup(line);
}

static bool sshd_log_contains(const char *text)
{
	char *cmd = NULL;
	char *quoted = shell_quote(text);
	int rc;

	if (asprintf(&cmd, "grep -qF -- %s %s", quoted, env("SSHD_LOG")) < 0)
		abort();
	rc = system(cmd);
	free(cmd);
	free(quoted);
	return rc == 0;
}

/* ---- connecting ---- */

static struct ssh_timeouts test_timeouts(void)
{
	struct ssh_timeouts t;

	ssh_timeouts_default(&t);
	t.connect = 5;
	t.handshake = 5;
	t.auth = 10;
	t.sftp = 20;
	t.close = 3;
	return t;
}

static struct ssh_target target(const char *key, const char *known_hosts)
{
	struct ssh_target t = {
		.server_name = "test-server",
		.hostname = "127.0.0.1",
		.port = atoi(env("SSHD_PORT")),
		.user = env("SSHD_USER"),
		.private_key = key,
		.known_hosts = known_hosts != NULL ? known_hosts : env("SSHD_KNOWN_HOSTS"),
	};

	return t;
}

static struct ssh_conn *try_connect(const char *key, const char *known_hosts, struct ssh_error *err)
{
	struct ssh_target t = target(key, known_hosts);
	struct ssh_timeouts to = test_timeouts();

	memset(err, 0, sizeof(*err));
	return ssh_connect(&t, &to, err);
}

static struct ssh_conn *connect_ok(const char *key, const char *known_hosts)
{
	struct ssh_error err;
	struct ssh_conn *c = try_connect(key, known_hosts, &err);

	CHECK(c != NULL, "connect failed: %s", err.message);
	if (c == NULL)
		exit(check_exit_status());
	return c;
}

static void expect_connect_error(const char *key, const char *known_hosts, enum ssh_step step,
				 bool transient, struct ssh_error *err)
{
	struct ssh_conn *c = try_connect(key, known_hosts, err);

	CHECK(c == NULL, "connect succeeded, expected a %s error", ssh_step_name(step));
	if (c != NULL) {
		ssh_close(c);
		exit(check_exit_status());
	}
	CHECK(err->step == step, "error step is %s, expected %s: %s", ssh_step_name(err->step),
	      ssh_step_name(step), err->message);
	CHECK(err->transient == transient, "transient is %d, expected %d: %s", err->transient, transient,
	      err->message);
	CHECK(strstr(err->message, "test-server") != NULL, "message does not name the server: %s",
	      err->message);
}

#define CHECK_CONTAINS(text, part) \
	CHECK(strstr((text), (part)) != NULL, "expected \"%s\" in: %s", (part), (text))

/* ---- collecting output ---- */

struct output {
	char stdout_text[65536];
	size_t stdout_len;
	int stdout_lines;
	int stderr_lines;
	char first_stderr[4200];
	char notices[1024];
	size_t longest_line;
	size_t delivered;
	bool unsafe_line;	/* a line that sanitizing would change */
};

static void collect(void *arg, enum ssh_stream stream, const char *line)
{
	struct output *o = arg;
	size_t len = strlen(line);
	char *again = text_sanitize_dup(line, len);

	if (strcmp(again, line) != 0)
		o->unsafe_line = true;
	free(again);
	if (len > o->longest_line)
		o->longest_line = len;

	switch (stream) {
	case SSH_STREAM_STDOUT:
		o->stdout_lines++;
		o->delivered += len;
		if (o->stdout_len + len + 2 < sizeof(o->stdout_text)) {
			memcpy(o->stdout_text + o->stdout_len, line, len);
			o->stdout_len += len;
			o->stdout_text[o->stdout_len++] = '\n';
			o->stdout_text[o->stdout_len] = '\0';
		}
		break;
	case SSH_STREAM_STDERR:
		if (o->stderr_lines++ == 0)
			snprintf(o->first_stderr, sizeof(o->first_stderr), "%s", line);
		o->delivered += len;
		break;
	case SSH_STREAM_NOTICE:
		snprintf(o->notices + strlen(o->notices), sizeof(o->notices) - strlen(o->notices), "%s\n", line);
		break;
	}
}

static int run(struct ssh_conn *c, const char *command, double timeout, struct output *o,
	       struct ssh_cmd_result *res, struct ssh_error *err)
{
	memset(o, 0, sizeof(*o));
	memset(err, 0, sizeof(*err));
	return ssh_run(c, command, timeout, collect, o, res, err);
}

static void run_ok(struct ssh_conn *c, const char *command, struct output *o, struct ssh_cmd_result *res)
{
	struct ssh_error err;
	int rc = run(c, command, 30, o, res, &err);

	CHECK(rc == 0, "running %s failed: %s", command, err.message);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- login and key types ---- */

static void login_with(const char *key_var)
{
	struct ssh_cmd_result res;
	struct output o;
	struct ssh_conn *c;

	start_server("");
	c = connect_ok(env(key_var), NULL);
	run_ok(c, "echo hello", &o, &res);
	CHECK(strcmp(o.stdout_text, "hello\n") == 0, "stdout was \"%s\"", o.stdout_text);
	CHECK(res.exit_status == 0, "exit status %d", res.exit_status);
	CHECK(res.signal[0] == '\0', "signal \"%s\"", res.signal);
	ssh_close(c);
}

static void case_login_ed25519(void)
{
	login_with("SSHD_KEY_ED25519");
}

static void case_login_ecdsa(void)
{
	login_with("SSHD_KEY_ECDSA");
}

static void case_rsa_default_server(void)
{
	struct ssh_error err;
	struct ssh_conn *c;

	start_server("");
	if (ssh_library_has_rsa_sha2()) {
		printf("libssh2 signs RSA with SHA-2: expecting success\n");
		c = connect_ok(env("SSHD_KEY_RSA"), NULL);
		ssh_close(c);
		return;
	}

	printf("libssh2 signs RSA only with SHA-1: expecting the explanation\n");
	expect_connect_error(env("SSHD_KEY_RSA"), NULL, SSH_STEP_AUTH, false, &err);
	CHECK_CONTAINS(err.message, "SHA-1");
	CHECK_CONTAINS(err.message, "OpenSSH 8.8");
	CHECK_CONTAINS(err.message, "libssh2 1.11");
	CHECK_CONTAINS(err.message, "ssh-keygen -t ed25519");
	CHECK_CONTAINS(err.message, "PubkeyAcceptedAlgorithms +ssh-rsa");
}

static void case_rsa_server_accepting_ssh_rsa(void)
{
	struct ssh_conn *c;

	start_server("--accept-ssh-rsa");
	c = connect_ok(env("SSHD_KEY_RSA"), NULL);
	CHECK(ssh_check_shell(c, 10, &(struct ssh_error){ 0 }) == 0, "shell check failed after RSA login");
	ssh_close(c);
}

/* ---- host keys ---- */

static char *expected_fingerprint(const char *host_key)
{
	char *cmd = NULL, *line, *fp;

	if (asprintf(&cmd, "ssh-keygen -lf %s.pub | cut -d' ' -f2", host_key) < 0)
		abort();
	line = command_output(cmd);
	free(cmd);
	fp = strdup(line);
	free(line);
	return fp;
}

static void case_unknown_host(void)
{
	struct ssh_error err;
	char *known_hosts, *fp;
	char port_hint[64];

	start_server("");
	known_hosts = write_text("empty_known_hosts", "");
	expect_connect_error(env("SSHD_KEY_ED25519"), known_hosts, SSH_STEP_HOST_KEY, false, &err);

	fp = expected_fingerprint(env("SSHD_HOST_KEY_ED25519"));
	CHECK(strncmp(fp, "SHA256:", 7) == 0, "ssh-keygen printed no SHA256 fingerprint: %s", fp);
	CHECK_CONTAINS(err.message, fp);
	CHECK_CONTAINS(err.message, "ssh-ed25519");
	CHECK_CONTAINS(err.message, "127.0.0.1");
	snprintf(port_hint, sizeof(port_hint), "ssh-keyscan -p %s 127.0.0.1 >> ", env("SSHD_PORT"));
	CHECK_CONTAINS(err.message, port_hint);
	CHECK_CONTAINS(err.message, "provisionctl trust-host test-server");
	CHECK(!sshd_log_contains("publickey"), "a public key was offered before the host key was trusted");
	free(fp);
	free(known_hosts);
}

static void case_missing_known_hosts(void)
{
	struct ssh_error err;
	char *missing = path_in_dir("no_such_known_hosts");

	start_server("");
	expect_connect_error(env("SSHD_KEY_ED25519"), missing, SSH_STEP_HOST_KEY, false, &err);
	CHECK_CONTAINS(err.message, "does not exist");
	CHECK_CONTAINS(err.message, "SHA256:");
	free(missing);
}

static void case_changed_host_key(void)
{
	char text[2048], *known_hosts, *other, *fp;
	struct ssh_error err;

	start_server("");
	other = public_key(env("SSHD_OTHER_HOST_KEY"));
	snprintf(text, sizeof(text), "# previous key\n[127.0.0.1]:%s %s\n", env("SSHD_PORT"), other);
	known_hosts = write_text("changed_known_hosts", text);

	expect_connect_error(env("SSHD_KEY_ED25519"), known_hosts, SSH_STEP_HOST_KEY, false, &err);
	CHECK_CONTAINS(err.message, "MAN-IN-THE-MIDDLE");
	CHECK_CONTAINS(err.message, "line 2");
	fp = expected_fingerprint(env("SSHD_HOST_KEY_ED25519"));
	CHECK_CONTAINS(err.message, fp);
	CHECK(!sshd_log_contains("publickey"), "a public key was offered to a server with a changed key");

	free(fp);
	free(other);
	free(known_hosts);
}

static void case_revoked_host_key(void)
{
	char text[4096], *known_hosts, *key;
	struct ssh_error err;

	start_server("");
	key = public_key(env("SSHD_HOST_KEY_ED25519"));
	snprintf(text, sizeof(text), "[127.0.0.1]:%s %s\n@revoked * %s\n", env("SSHD_PORT"), key, key);
	known_hosts = write_text("revoked_known_hosts", text);

	expect_connect_error(env("SSHD_KEY_ED25519"), known_hosts, SSH_STEP_HOST_KEY, false, &err);
	CHECK_CONTAINS(err.message, "@revoked");
	CHECK_CONTAINS(err.message, "line 2");
	free(key);
	free(known_hosts);
}

static void case_hashed_known_hosts(void)
{
	char *known_hosts, *cmd = NULL, *first;
	struct ssh_conn *c;
	FILE *f;
	char line[4096];

	start_server("");
	known_hosts = path_in_dir("hashed_known_hosts");
	if (asprintf(&cmd, "cp %s %s && ssh-keygen -q -H -f %s >/dev/null 2>&1", env("SSHD_KNOWN_HOSTS"),
		     known_hosts, known_hosts) < 0)
		abort();
	CHECK(system(cmd) == 0, "hashing known_hosts with ssh-keygen -H failed");
	free(cmd);

	f = fopen(known_hosts, "r");
	first = f != NULL ? fgets(line, sizeof(line), f) : NULL;
	if (f != NULL)
		fclose(f);
	CHECK(first != NULL, "hashed known_hosts is empty");
	CHECK(first == NULL || strncmp(first, "|1|", 3) == 0, "known_hosts is not hashed: %s", first);

	c = connect_ok(env("SSHD_KEY_ED25519"), known_hosts);
	ssh_close(c);
	free(known_hosts);
}

static void case_plain_entry_other_port(void)
{
	char text[2048], *known_hosts, *key;
	struct ssh_error err;

	start_server("");
	key = public_key(env("SSHD_HOST_KEY_ED25519"));
	snprintf(text, sizeof(text), "127.0.0.1 %s\n", key);
	known_hosts = write_text("port22_known_hosts", text);

	/* OpenSSH looks up only "[127.0.0.1]:PORT" for a port other than 22. */
	expect_connect_error(env("SSHD_KEY_ED25519"), known_hosts, SSH_STEP_HOST_KEY, false, &err);
	CHECK_CONTAINS(err.message, "not in known_hosts");
	free(key);
	free(known_hosts);
}

static void case_bad_line_then_good(void)
{
	char text[4096], *known_hosts, *key;
	struct ssh_conn *c;

	start_server("");
	key = public_key(env("SSHD_HOST_KEY_ED25519"));
	snprintf(text, sizeof(text), "this is not a known_hosts line\n[127.0.0.1]:%s ssh-ed25519 !!!\n"
		 "[127.0.0.1]:%s %s\n", env("SSHD_PORT"), env("SSHD_PORT"), key);
	known_hosts = write_text("bad_known_hosts", text);

	c = connect_ok(env("SSHD_KEY_ED25519"), known_hosts);
	ssh_close(c);
	free(key);
	free(known_hosts);
}

static void case_known_host_key_type_preferred(void)
{
	static const char *const types[] = { "ED25519", "ECDSA" };

	start_server("--host-keys ecdsa,ed25519");
	for (size_t i = 0; i < 2; i++) {
		char var[64], text[2048], *key, *known_hosts, name[64];
		struct ssh_error err;
		struct ssh_conn *c;

		snprintf(var, sizeof(var), "SSHD_HOST_KEY_%s", types[i]);
		key = public_key(env(var));
		snprintf(text, sizeof(text), "[127.0.0.1]:%s %s\n", env("SSHD_PORT"), key);
		snprintf(name, sizeof(name), "only_%s", types[i]);
		known_hosts = write_text(name, text);

		c = try_connect(env("SSHD_KEY_ED25519"), known_hosts, &err);
		CHECK(c != NULL, "known_hosts with only the %s key: %s", types[i], err.message);
		ssh_close(c);
		free(key);
		free(known_hosts);
	}
}

/* ---- authentication failures ---- */

static void case_wrong_key(void)
{
	struct ssh_error err;

	start_server("");
	expect_connect_error(env("SSHD_KEY_UNAUTHORIZED"), NULL, SSH_STEP_AUTH, false, &err);
	CHECK_CONTAINS(err.message, "rejected");
	CHECK_CONTAINS(err.message, "authorized_keys");
	CHECK_CONTAINS(err.message, env("SSHD_USER"));
}

static void case_encrypted_key(void)
{
	struct ssh_error err;

	start_server("");
	expect_connect_error(env("SSHD_KEY_ENCRYPTED"), NULL, SSH_STEP_AUTH, false, &err);
	CHECK_CONTAINS(err.message, "encrypted with a passphrase");
	CHECK(strstr(err.message, "secret") == NULL, "the message contains the passphrase: %s", err.message);
}

static void case_key_readable_by_others(void)
{
	const char *key;
	struct ssh_error err;
	struct ssh_conn *c;

	start_server("");
	key = env("SSHD_KEY_ED25519");
	CHECK(chmod(key, 0640) == 0, "chmod 0640 %s failed", key);
	c = try_connect(key, env("SSHD_KNOWN_HOSTS"), &err);
	chmod(key, 0600);
	CHECK(c == NULL, "connected with a group-readable private key");
	if (c != NULL) {
		ssh_close(c);
		return;
	}
	CHECK(err.step == SSH_STEP_AUTH, "step %s", ssh_step_name(err.step));
	CHECK_CONTAINS(err.message, "mode 640");
	CHECK_CONTAINS(err.message, "chmod 600");
}

static void case_public_key_given(void)
{
	struct ssh_error err;
	char *pub = NULL;

	start_server("");
	if (asprintf(&pub, "%s.pub", env("SSHD_KEY_ED25519")) < 0)
		abort();
	expect_connect_error(pub, NULL, SSH_STEP_AUTH, false, &err);
	CHECK_CONTAINS(err.message, "is a public key");
	free(pub);
}

/* ---- login shell ---- */

static void case_shell_ok(void)
{
	struct ssh_error err = { 0 };
	struct ssh_conn *c;

	start_server("");
	c = connect_ok(env("SSHD_KEY_ED25519"), NULL);
	CHECK(ssh_check_shell(c, 10, &err) == 0, "shell check failed: %s", err.message);
	ssh_close(c);
}

static void expect_shell_failure(const char *force_command, const char *part)
{
	char options[128];
	struct ssh_error err = { 0 };
	struct ssh_conn *c;
	double start;

	snprintf(options, sizeof(options), "--force-command %s", force_command);
	start_server(options);
	c = connect_ok(env("SSHD_KEY_ED25519"), NULL);
	start = now();
	CHECK(ssh_check_shell(c, 10, &err) != 0, "shell check passed with ForceCommand %s", force_command);
	CHECK(now() - start < 9, "shell check took %.1f s, so it waited for its timeout", now() - start);
	CHECK(err.step == SSH_STEP_SHELL, "step is %s: %s", ssh_step_name(err.step), err.message);
	CHECK_CONTAINS(err.message, "login shell");
	CHECK_CONTAINS(err.message, part);
	ssh_close(c);
}

static void case_shell_nologin(void)
{
	expect_shell_failure("/usr/sbin/nologin", "currently not available");
}

static void case_shell_forced_internal_sftp(void)
{
	expect_shell_failure("internal-sftp", "ForceCommand");
}

static void case_shell_closed_after_login(void)
{
	expect_shell_failure("true", "nologin");
}

/* ---- commands ---- */

static struct ssh_conn *server_and_connection(void)
{
	start_server("");
	return connect_ok(env("SSHD_KEY_ED25519"), NULL);
}

static void case_exit_status(void)
{
	struct ssh_conn *c = server_and_connection();
	struct ssh_cmd_result res;
	struct output o;

	run_ok(c, "echo out; echo err >&2; exit 3", &o, &res);
	CHECK(res.exit_status == 3, "exit status %d, expected 3", res.exit_status);
	CHECK(res.signal[0] == '\0', "signal \"%s\"", res.signal);
	CHECK(strcmp(o.stdout_text, "out\n") == 0, "stdout \"%s\"", o.stdout_text);
	CHECK(strcmp(o.first_stderr, "err") == 0, "stderr \"%s\"", o.first_stderr);

	run_ok(c, "true", &o, &res);
	CHECK(res.exit_status == 0, "exit status of true: %d", res.exit_status);
	ssh_close(c);
}

static void case_signal(void)
{
	struct ssh_conn *c = server_and_connection();
	struct ssh_cmd_result res;
	struct output o;

	run_ok(c, "kill -TERM $$", &o, &res);
	CHECK(strcmp(res.signal, "TERM") == 0, "signal \"%s\", exit status %d", res.signal, res.exit_status);
	ssh_close(c);
}

static void case_remote_pid(void)
{
	struct ssh_conn *c = server_and_connection();
	struct ssh_cmd_result res;
	struct output o;
	char expected[64];

	run_ok(c, "echo $$; ps -o pgid= -p $$ | tr -d ' '", &o, &res);
	CHECK(res.remote_pid > 0, "remote pid %ld", res.remote_pid);
	snprintf(expected, sizeof(expected), "%ld\n%ld\n", res.remote_pid, res.remote_pid);
	CHECK(strcmp(o.stdout_text, expected) == 0,
	      "the shell pid and its process group should both be %ld, stdout was \"%s\"", res.remote_pid,
	      o.stdout_text);
	ssh_close(c);
}

static void case_stderr_megabytes(void)
{
	struct ssh_conn *c = server_and_connection();
	struct ssh_cmd_result res;
	struct output o;
	double start = now();

	/* 3 MB of 100-byte lines on stderr, then 2 MB without a newline on stdout. */
	run_ok(c, "(head -c 3000000 /dev/zero | tr '\\0' x | fold -w 100; echo) >&2; "
		  "head -c 2000000 /dev/zero | tr '\\0' y; echo; echo done", &o, &res);
	CHECK(now() - start < 60, "took %.1f s", now() - start);
	CHECK(res.exit_status == 0, "exit status %d", res.exit_status);
	CHECK(res.stderr_bytes == 3030000, "stderr bytes %llu, expected 3030000",
	      (unsigned long long)res.stderr_bytes);
	CHECK(res.stdout_bytes > 2000000, "stdout bytes %llu", (unsigned long long)res.stdout_bytes);
	CHECK(res.output_capped, "output of 5 MB was not capped");
	CHECK(o.delivered <= SSH_OUTPUT_MAX_DEFAULT, "delivered %zu bytes, cap is %d", o.delivered,
	      SSH_OUTPUT_MAX_DEFAULT);
	CHECK_CONTAINS(o.notices, "output capped at");
	CHECK_CONTAINS(o.notices, "discarded");
	ssh_close(c);
}

static void case_hostile_output(void)
{
	struct ssh_conn *c = server_and_connection();
	struct ssh_cmd_result res;
	struct output o;

	run_ok(c, "printf 'nul:\\000:end\\n'; printf '\\033[31mred\\n'; printf 'bad:\\377\\376\\n'; "
		  "printf 'crlf\\r\\n'; head -c 100000 /dev/zero | tr '\\0' a; echo; echo after",
	       &o, &res);
	CHECK(!o.unsafe_line, "a line with control characters or invalid UTF-8 reached the callback");
	CHECK_CONTAINS(o.stdout_text, "nul:\\x00:end\n");
	CHECK_CONTAINS(o.stdout_text, "\\x1b[31mred\n");
	CHECK_CONTAINS(o.stdout_text, "bad:\\xff\\xfe\n");
	CHECK_CONTAINS(o.stdout_text, "crlf\n");
	CHECK_CONTAINS(o.stdout_text, "[line cut]\nafter\n");
	CHECK(o.longest_line <= SSH_LINE_MAX_DEFAULT, "longest line %zu bytes, limit %d", o.longest_line,
	      SSH_LINE_MAX_DEFAULT);
	CHECK(o.stdout_lines == 6, "%d stdout lines, expected 6", o.stdout_lines);
	ssh_close(c);
}

static void case_output_cap(void)
{
	struct ssh_conn *c = server_and_connection();
	struct ssh_cmd_result res;
	struct output o;

	ssh_set_output_limits(c, 1000, 100);
	run_ok(c, "seq 1 1000", &o, &res);
	CHECK(res.output_capped, "1000 lines under a 1000-byte cap were not capped");
	CHECK(o.delivered <= 1000, "delivered %zu bytes", o.delivered);
	CHECK(strncmp(o.stdout_text, "1\n2\n3\n", 6) == 0, "first lines: %.20s", o.stdout_text);
	CHECK_CONTAINS(o.notices, "output capped at 1000 bytes");
	CHECK(res.exit_status == 0, "exit status %d", res.exit_status);
	ssh_close(c);
}

static void case_command_timeout(void)
{
	struct ssh_conn *c = server_and_connection();
	struct ssh_cmd_result res;
	struct ssh_error err;
	struct output o;
	double start = now();

	CHECK(run(c, "sleep 30", 1.5, &o, &res, &err) != 0, "sleep 30 finished within 1.5 s");
	CHECK(now() - start < 8, "timeout took %.1f s", now() - start);
	CHECK(err.step == SSH_STEP_COMMAND, "step %s", ssh_step_name(err.step));
	CHECK_CONTAINS(err.message, "did not finish within 1.5 s");
	ssh_close(c);
}

/* Counts processes on this machine (the sshd fixture's server) whose command line contains MARKER. */
static int remote_processes(struct ssh_conn *c, const char *marker)
{
	struct ssh_cmd_result res;
	struct output o;
	char command[256];
	int count;

	snprintf(command, sizeof(command), "pgrep -c -f -- '%s' || true", marker);

	/* MARKER is a pattern such as "sleep 1234[5]", which does not match this shell's own command line. */
	run_ok(c, command, &o, &res);
	count = atoi(o.stdout_text);
	return count;
}

/*
 * Writes a sleep length unique to this test process into SECONDS and a
 * pgrep pattern matching it into PATTERN, so that tests running at the same
 * time on this machine do not see each other's commands.
 */
static void unique_sleep(char *seconds, size_t seconds_len, char *pattern, size_t pattern_len)
{
	unsigned n = 100000 + (unsigned)getpid() % 800000;

	snprintf(seconds, seconds_len, "%u", n);
	snprintf(pattern, pattern_len, "sleep %u[%u]", n / 10, n % 10);
}

static void case_command_stopped_on_timeout(void)
{
	struct ssh_conn *c = server_and_connection();
	struct ssh_cmd_result res;
	struct ssh_error err;
	struct output o;
	char seconds[16], pattern[48], command[128];

	unique_sleep(seconds, sizeof(seconds), pattern, sizeof(pattern));
	snprintf(command, sizeof(command), "sh -c 'sleep %s; true' & sleep %s; wait", seconds, seconds);
	CHECK(run(c, command, 1.0, &o, &res, &err) != 0, "the command finished within 1 s");
	CHECK_CONTAINS(err.message, "did not finish within 1 s");
	CHECK_CONTAINS(o.notices, "stopped the command on the server");
	CHECK(remote_processes(c, pattern) == 0,
	      "processes of the timed-out command still run on the server");
	ssh_close(c);
}

static volatile sig_atomic_t test_interrupt;

static void on_alarm(int signum)
{
	(void)signum;
	test_interrupt = 1;
}

static void case_command_stopped_on_interrupt(void)
{
	struct ssh_conn *c = server_and_connection();
	struct sigaction sa = { .sa_handler = on_alarm };
	struct ssh_cmd_result res;
	struct ssh_error err;
	struct output o;
	double start = now();
	char seconds[16], pattern[48], command[64];

	unique_sleep(seconds, sizeof(seconds), pattern, sizeof(pattern));
	snprintf(command, sizeof(command), "sleep %s", seconds);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	ssh_set_interrupt_flag(&test_interrupt);
	alarm(1);
	CHECK(run(c, command, 60, &o, &res, &err) != 0, "the command finished despite the interrupt");
	CHECK(now() - start < 10, "the interrupt took %.1f s to stop the command", now() - start);
	CHECK_CONTAINS(err.message, "stopped before the command finished");
	CHECK_CONTAINS(o.notices, "stopped the command on the server");

	test_interrupt = 0;
	CHECK(remote_processes(c, pattern) == 0,
	      "the interrupted command still runs on the server");
	ssh_set_interrupt_flag(NULL);
	ssh_close(c);
}

static void case_connection_lost(void)
{
	struct ssh_conn *c = server_and_connection();
	struct ssh_cmd_result res;
	struct ssh_error err;
	struct output o;

	/* The shell's parent is the sshd process serving this connection. */
	CHECK(run(c, "kill -KILL $PPID; sleep 5", 20, &o, &res, &err) != 0,
	      "a command whose connection died returned success (exit status %d)", res.exit_status);
	CHECK(err.step == SSH_STEP_COMMAND, "step %s: %s", ssh_step_name(err.step), err.message);
	printf("error: %s\n", err.message);
	ssh_close(c);
}

/* ---- servers that are not sshd ---- */

/* Listens on a free loopback port; returns the socket and stores the port. */
static int listen_loopback(int *port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
		perror("listen on 127.0.0.1");
		exit(1);
	}
	*port = ntohs(addr.sin_port);
	return fd;
}

static struct ssh_conn *connect_port(int port, double handshake_timeout, struct ssh_error *err)
{
	char *missing = path_in_dir("known_hosts");
	struct ssh_target t = {
		.server_name = "test-server", .hostname = "127.0.0.1", .port = port, .user = "nobody",
		.private_key = "/nonexistent/id_ed25519", .known_hosts = missing,
	};
	struct ssh_timeouts to = test_timeouts();
	struct ssh_conn *c;

	to.handshake = handshake_timeout;
	memset(err, 0, sizeof(*err));
	c = ssh_connect(&t, &to, err);
	free(missing);
	return c;
}

static void case_silent_listener(void)
{
	struct ssh_error err;
	int port, fd = listen_loopback(&port);
	double start = now();

	/* The kernel completes the TCP handshake, but the test never accepts or writes. */
	CHECK(connect_port(port, 1.5, &err) == NULL, "connect to a silent listener succeeded");
	CHECK(now() - start < 5, "took %.1f s with a 1.5 s handshake timeout", now() - start);
	CHECK(err.step == SSH_STEP_HANDSHAKE, "step %s: %s", ssh_step_name(err.step), err.message);
	CHECK(err.transient, "a silent server should count as transient: %s", err.message);
	CHECK_CONTAINS(err.message, "sent no SSH version line within 1.5 s");
	close(fd);
}

static void case_non_ssh_listener(void)
{
	struct ssh_error err;
	int port, fd = listen_loopback(&port);
	double start;

	listener_pid = fork();
	if (listener_pid == 0) {
		static const char greeting[] = "220 mail.example ESMTP ready\r\n";
		int client = accept(fd, NULL, NULL);

		if (client >= 0 && write(client, greeting, sizeof(greeting) - 1) < 0)
			_exit(1);
		sleep(30);
		_exit(0);
	}

	start = now();
	CHECK(connect_port(port, 3, &err) == NULL, "connect to an SMTP-like listener succeeded");
	CHECK(now() - start < 7, "took %.1f s with a 3 s handshake timeout", now() - start);
	CHECK(err.step == SSH_STEP_HANDSHAKE, "step %s: %s", ssh_step_name(err.step), err.message);
	CHECK_CONTAINS(err.message, "protocol error");
	CHECK_CONTAINS(err.message, "220 mail.example ESMTP ready");
	close(fd);
}

static void case_connection_refused(void)
{
	struct ssh_error err;
	int port, fd = listen_loopback(&port);

	close(fd);
	CHECK(connect_port(port, 3, &err) == NULL, "connect to a closed port succeeded");
	CHECK(err.step == SSH_STEP_CONNECT, "step %s: %s", ssh_step_name(err.step), err.message);
	CHECK(err.transient, "connection refused should be transient: %s", err.message);
	CHECK_CONTAINS(err.message, "refused");
}

/* ---- SFTP ---- */

static struct sftp_session *sftp_ok(struct ssh_conn *c)
{
	struct ssh_error err = { 0 };
	struct sftp_session *s = sftp_open(c, &err);

	CHECK(s != NULL, "sftp_open failed: %s", err.message);
	if (s == NULL)
		exit(check_exit_status());
	return s;
}

static const char *const awkward_names[] = {
	"with space",
	"new\nline",
	"quote'double\"",
	"bad\xff\xfe byte",
	"-leading-dash",
	"$(touch PWNED)",
	"tab\there",
};

#define N_AWKWARD (sizeof(awkward_names) / sizeof(awkward_names[0]))

static char *remote_path(const char *root, const char *name)
{
	char *path = NULL;

	if (asprintf(&path, "%s/%s", root, name) < 0)
		abort();
	return path;
}

static void case_sftp_round_trip(void)
{
	struct ssh_conn *c = server_and_connection();
	struct sftp_session *s = sftp_ok(c);
	struct sftp_put_options opt = { .mode = 0644 };
	char *root = path_in_dir("remote");
	struct ssh_error err = { 0 };
	struct sftp_dirent *ents;
	size_t n = 0;

	CHECK(sftp_mkdir_p(s, root, 0755, &err) == 0, "mkdir -p %s: %s", root, err.message);

	for (size_t i = 0; i < N_AWKWARD; i++) {
		char *path = remote_path(root, awkward_names[i]);
		char content[256], *back = NULL;
		size_t len = (size_t)snprintf(content, sizeof(content), "content of %s\n", awkward_names[i]);
		size_t back_len = 0;
		struct stat st;

		content[len++] = '\0';	/* a NUL byte inside the data */
		CHECK(sftp_put_buffer(s, path, content, len, &opt, &err) == 0, "put #%zu: %s", i, err.message);
		CHECK(sftp_get_buffer(s, path, 1 << 20, &back, &back_len, &err) == 0, "get #%zu: %s", i,
		      err.message);
		CHECK(back_len == len, "name #%zu: read back %zu bytes, wrote %zu", i, back_len, len);
		CHECK(back_len != len || memcmp(back, content, len) == 0, "name #%zu: content differs", i);
		/* The server is this machine, so the exact name must exist locally. */
		CHECK(stat(path, &st) == 0, "name #%zu is not on disk under its exact name", i);
		CHECK((size_t)st.st_size == len, "name #%zu has %lld bytes on disk, wrote %zu", i,
		      (long long)st.st_size, len);
		free(back);
		free(path);
	}

	CHECK(sftp_readdir(s, root, &ents, &n, &err) == 0, "readdir: %s", err.message);
	CHECK(n == N_AWKWARD, "readdir listed %zu entries, expected %zu", n, N_AWKWARD);
	for (size_t i = 0; i < N_AWKWARD; i++) {
		bool found = false;

		for (size_t j = 0; j < n; j++)
			if (strcmp(ents[j].name, awkward_names[i]) == 0)
				found = sftp_attrs_is_file(&ents[j].attrs) && ents[j].attrs.has_size &&
					ents[j].attrs.size > 0;
		CHECK(found, "readdir did not list name #%zu as a non-empty file", i);
	}
	if (n > 0)
		sftp_dirents_free(ents, n);

	{
		char *pwned = remote_path(root, "PWNED");
		struct stat st;

		CHECK(stat(pwned, &st) != 0, "a file name ran as a command");
		free(pwned);
	}
	sftp_close(s);
	ssh_close(c);
	free(root);
}

static void case_sftp_tree_ops(void)
{
	struct ssh_conn *c = server_and_connection();
	struct sftp_session *s = sftp_ok(c);
	struct sftp_put_options opt = { .mode = 0644 };
	char *root = path_in_dir("tree");
	char *deep = remote_path(root, "a/b/c");
	char *file = remote_path(root, "a/file");
	char *blocked = remote_path(root, "a/file/sub");
	char *link = remote_path(root, "a/link");
	char *target = NULL;
	struct ssh_error err = { 0 };
	struct sftp_attrs attrs;
	struct sftp_dirent *ents;
	size_t n = 0;

	CHECK(sftp_mkdir_p(s, deep, 0755, &err) == 0, "mkdir -p: %s", err.message);
	CHECK(sftp_mkdir_p(s, deep, 0755, &err) == 0, "mkdir -p of an existing tree: %s", err.message);
	CHECK(sftp_stat(s, deep, &attrs, &err) == 0, "stat a/b/c: %s", err.message);
	CHECK(sftp_attrs_is_dir(&attrs), "a/b/c is not a directory (mode %lo)", attrs.mode);

	CHECK(sftp_put_buffer(s, file, "x", 1, &opt, &err) == 0, "put: %s", err.message);
	CHECK(sftp_mkdir_p(s, blocked, 0755, &err) != 0, "mkdir -p below a file succeeded");

	CHECK(sftp_chmod(s, file, 0600, &err) == 0, "chmod: %s", err.message);
	CHECK(sftp_stat(s, file, &attrs, &err) == 0, "stat: %s", err.message);
	CHECK((attrs.mode & 07777) == 0600, "mode %lo after chmod 600", attrs.mode & 07777);
	CHECK(sftp_set_times(s, file, 1000000000, 1234567890, &err) == 0, "set times: %s", err.message);
	CHECK(sftp_stat(s, file, &attrs, &err) == 0, "stat: %s", err.message);
	CHECK(attrs.mtime == 1234567890, "mtime %lu, expected 1234567890", attrs.mtime);

	CHECK(sftp_symlink(s, "file", link, &err) == 0, "symlink: %s", err.message);
	CHECK(sftp_readlink(s, link, &target, &err) == 0, "readlink: %s", err.message);
	CHECK(target != NULL && strcmp(target, "file") == 0, "readlink gave %s", target ? target : "(null)");
	CHECK(sftp_lstat(s, link, &attrs, &err) == 0, "lstat of the link: %s", err.message);
	CHECK(sftp_attrs_is_symlink(&attrs), "lstat of the link gave mode %lo", attrs.mode);
	CHECK(sftp_stat(s, link, &attrs, &err) == 0, "stat through the link: %s", err.message);
	CHECK(sftp_attrs_is_file(&attrs), "stat through the link gave mode %lo", attrs.mode);

	{
		char *dir_a = remote_path(root, "a");
		bool saw_dir = false, saw_file = false, saw_link = false;

		CHECK(sftp_readdir(s, dir_a, &ents, &n, &err) == 0, "readdir: %s", err.message);
		for (size_t i = 0; i < n; i++) {
			saw_dir |= strcmp(ents[i].name, "b") == 0 && sftp_attrs_is_dir(&ents[i].attrs);
			saw_file |= strcmp(ents[i].name, "file") == 0 && sftp_attrs_is_file(&ents[i].attrs);
			saw_link |= strcmp(ents[i].name, "link") == 0 && sftp_attrs_is_symlink(&ents[i].attrs);
		}
		CHECK(n == 3, "readdir of a/ listed %zu entries", n);
		CHECK(saw_dir, "readdir did not list b as a directory");
		CHECK(saw_file, "readdir did not list file as a regular file");
		CHECK(saw_link, "readdir did not list link as a symlink");
		if (n > 0)
			sftp_dirents_free(ents, n);

		CHECK(sftp_rmdir(s, dir_a, &err) != 0, "rmdir of a non-empty directory succeeded");
		free(dir_a);
	}

	CHECK(sftp_unlink(s, link, &err) == 0, "unlink link: %s", err.message);
	CHECK(sftp_unlink(s, file, &err) == 0, "unlink file: %s", err.message);
	CHECK(sftp_rmdir(s, deep, &err) == 0, "rmdir: %s", err.message);
	CHECK(sftp_stat(s, deep, &attrs, &err) != 0, "a/b/c still exists after rmdir");
	CHECK(sftp_error_is_not_found(&err), "stat after rmdir: %s", err.message);

	free(target);
	free(root);
	free(deep);
	free(file);
	free(blocked);
	free(link);
	sftp_close(s);
	ssh_close(c);
}

static int count_temporary_files(const char *dir)
{
	char *cmd = NULL, *out;
	int n;

	if (asprintf(&cmd, "ls -A %s | grep -c provisiond-tmp", dir) < 0)
		abort();
	out = command_output(cmd);
	n = atoi(out);
	free(out);
	free(cmd);
	return n;
}

static void case_sftp_replace_existing(void)
{
	struct ssh_conn *c = server_and_connection();
	struct sftp_session *s = sftp_ok(c);
	struct sftp_put_options opt = { .mode = 0640, .set_mtime = true, .mtime = 1500000000 };
	char *root = path_in_dir("replace");
	char *file = remote_path(root, "settings.php");
	char *link = remote_path(root, "link");
	char *back = NULL;
	size_t len = 0;
	struct ssh_error err = { 0 };
	struct sftp_attrs attrs;

	CHECK(sftp_mkdir_p(s, root, 0755, &err) == 0, "mkdir: %s", err.message);
	CHECK(sftp_put_buffer(s, file, "old\n", 4, &opt, &err) == 0, "first put: %s", err.message);
	CHECK(sftp_put_buffer(s, file, "new content\n", 12, &opt, &err) == 0, "replacing put: %s", err.message);
	CHECK(sftp_get_buffer(s, file, 1024, &back, &len, &err) == 0, "get: %s", err.message);
	CHECK(len == 12, "%zu bytes after replace, expected 12", len);
	CHECK(len != 12 || memcmp(back, "new content\n", 12) == 0, "content after replace: %.*s", (int)len, back);
	CHECK(sftp_stat(s, file, &attrs, &err) == 0, "stat: %s", err.message);
	CHECK((attrs.mode & 07777) == 0640, "mode %lo, expected 640 regardless of umask", attrs.mode & 07777);
	CHECK(attrs.mtime == 1500000000, "mtime %lu, expected 1500000000", attrs.mtime);
	CHECK(count_temporary_files(root) == 0, "temporary files left in %s", root);

	CHECK(sftp_symlink(s, "settings.php", link, &err) == 0, "symlink: %s", err.message);
	CHECK(sftp_put_buffer(s, link, "over link\n", 10, &opt, &err) == 0, "put over a symlink: %s", err.message);
	CHECK(sftp_lstat(s, link, &attrs, &err) == 0, "lstat: %s", err.message);
	CHECK(sftp_attrs_is_file(&attrs), "the symlink was not replaced by a file (mode %lo)", attrs.mode);

	{
		char *sub = remote_path(root, "subdir");

		CHECK(sftp_mkdir_p(s, sub, 0755, &err) == 0, "mkdir: %s", err.message);
		CHECK(sftp_put_buffer(s, sub, "x", 1, &opt, &err) != 0, "replacing a directory succeeded");
		CHECK_CONTAINS(err.message, "is a directory");
		CHECK(count_temporary_files(root) == 0, "temporary file left after a failed put");
		free(sub);
	}

	free(back);
	free(root);
	free(file);
	free(link);
	sftp_close(s);
	ssh_close(c);
}

static void case_sftp_not_found(void)
{
	struct ssh_conn *c = server_and_connection();
	struct sftp_session *s = sftp_ok(c);
	char *missing = path_in_dir("no/such/file");
	struct ssh_error err = { 0 };
	struct sftp_attrs attrs;

	CHECK(sftp_stat(s, missing, &attrs, &err) != 0, "stat of a missing file succeeded");
	CHECK(sftp_error_is_not_found(&err), "not reported as not found: %s", err.message);
	CHECK_CONTAINS(err.message, "no such file");
	CHECK(err.step == SSH_STEP_SFTP, "step %s", ssh_step_name(err.step));
	free(missing);
	sftp_close(s);
	ssh_close(c);
}

static void case_describe_library(void)
{
	char text[512];

	ssh_describe_library(text, sizeof(text));
	printf("%s\n", text);
	CHECK(strncmp(text, "libssh2 ", 8) == 0, "description: %s", text);
	CHECK_CONTAINS(text, "ed25519");
	CHECK_CONTAINS(text, "ecdsa");
	CHECK_CONTAINS(text, "rsa: ");
}

static const struct check_case cases[] = {
#define CASE(name) { #name, case_##name }
	CASE(login_ed25519), CASE(login_ecdsa), CASE(rsa_default_server), CASE(rsa_server_accepting_ssh_rsa),
	CASE(unknown_host), CASE(missing_known_hosts), CASE(changed_host_key), CASE(revoked_host_key),
	CASE(hashed_known_hosts), CASE(plain_entry_other_port), CASE(bad_line_then_good),
	CASE(known_host_key_type_preferred),
	CASE(wrong_key), CASE(encrypted_key), CASE(public_key_given),
	CASE(shell_ok), CASE(shell_nologin), CASE(shell_forced_internal_sftp), CASE(shell_closed_after_login),
	CASE(exit_status), CASE(signal), CASE(remote_pid), CASE(stderr_megabytes), CASE(hostile_output),
	CASE(output_cap), CASE(command_timeout), CASE(connection_lost),
	CASE(command_stopped_on_timeout), CASE(command_stopped_on_interrupt),
	CASE(key_readable_by_others),
	CASE(silent_listener), CASE(non_ssh_listener), CASE(connection_refused),
	CASE(sftp_round_trip), CASE(sftp_tree_ops), CASE(sftp_replace_existing), CASE(sftp_not_found),
	CASE(describe_library),
#undef CASE
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);
	return check_run_case(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
