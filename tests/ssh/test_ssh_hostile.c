/*
 * Tests of ssh_connect against servers that misbehave in the SSH handshake,
 * played by hostile-sshd (hostile_sshd.c) on a loopback port.  Run as
 * "test_ssh_hostile CASE"; CASE is a hostile-sshd mode.
 *
 * Every case must end within the handshake timeout plus a margin, with a
 * handshake error that names the server, host and port and describes what
 * the server did and what to check.  The streaming cases also check that the
 * client's peak memory grows by far less than what the server sends.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ssh.h"

/* Seconds of the handshake timeout in these tests, and the slack allowed on top of it. */
#define HANDSHAKE_TIMEOUT 2.0
#define SLACK 2.0

/* Peak memory growth (KiB) allowed while a server streams 64 MiB. */
#define MAX_RSS_GROWTH_KIB (16 * 1024)

static pid_t server_pid = -1;

static void stop_server(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
		server_pid = -1;
	}
	ssh_cleanup();
}

/* Starts hostile-sshd in MODE and returns the port it printed. */
static int start_server(const char *mode)
{
	int out[2];
	char line[32] = "";
	FILE *f;

	if (pipe(out) != 0) {
		perror("pipe");
		exit(1);
	}
	server_pid = fork();
	if (server_pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		close(out[0]);
		close(out[1]);
		execl(HOSTILE_SSHD, HOSTILE_SSHD, mode, (char *)NULL);
		perror("exec " HOSTILE_SSHD);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL || atoi(line) <= 0) {
		fprintf(stderr, "hostile-sshd %s printed no port\n", mode);
		exit(1);
	}
	fclose(f);
	return atoi(line);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/*
 * Connects to hostile-sshd in MODE and checks what every case shares: the
 * connection fails within the timeout, in the handshake, with the server,
 * host and port named.  Returns the error for the case's own checks.
 */
static struct ssh_error connect_hostile(const char *mode)
{
	int port = start_server(mode);
	char known_hosts[] = "/tmp/provision-hostile-known-hosts-XXXXXX";
	struct ssh_target target = {
		.server_name = "hostile", .hostname = "127.0.0.1", .port = port, .user = "nobody",
		.private_key = "/nonexistent/id_ed25519", .known_hosts = known_hosts,
	};
	struct ssh_timeouts timeouts;
	struct ssh_error err;
	struct ssh_conn *c;
	char where[64];
	double start;
	long rss_before;
	int fd = mkstemp(known_hosts);

	if (fd < 0) {
		perror("mkstemp");
		exit(1);
	}
	close(fd);
	ssh_timeouts_default(&timeouts);
	timeouts.connect = 2;
	timeouts.handshake = HANDSHAKE_TIMEOUT;
	memset(&err, 0, sizeof(err));
	/* libssh2's global setup happens before the measurement, so only the connection counts. */
	ssh_init();

	rss_before = peak_rss_kib();
	start = now();
	c = ssh_connect(&target, &timeouts, &err);
	printf("%s: %.2f s, peak memory +%ld KiB: %s\n", mode, now() - start, peak_rss_kib() - rss_before,
	       err.message);
	unlink(known_hosts);

	CHECK(c == NULL, "ssh_connect to hostile-sshd %s succeeded", mode);
	if (c != NULL) {
		ssh_close(c);
		exit(check_exit_status());
	}
	CHECK(now() - start < HANDSHAKE_TIMEOUT + SLACK, "took %.1f s with a %g s handshake timeout",
	      now() - start, HANDSHAKE_TIMEOUT);
	CHECK(peak_rss_kib() - rss_before < MAX_RSS_GROWTH_KIB, "peak memory grew by %ld KiB",
	      peak_rss_kib() - rss_before);
	CHECK(err.step == SSH_STEP_HANDSHAKE, "step %s: %s", ssh_step_name(err.step), err.message);
	snprintf(where, sizeof(where), "server hostile (nobody@127.0.0.1:%d): handshake: ", port);
	CHECK(strncmp(err.message, where, strlen(where)) == 0, "expected the prefix \"%s\" in: %s", where,
	      err.message);
	CHECK(strcasestr(err.message, "check") != NULL, "the message says nothing to check: %s", err.message);
	return err;
}

#define CHECK_CONTAINS(text, part) \
	CHECK(strstr((text), (part)) != NULL, "expected \"%s\" in: %s", (part), (text))

static void case_lines(void)
{
	struct ssh_error err = connect_hostile("lines");

	CHECK_CONTAINS(err.message, "protocol error: the server sent \"220-hostile greeting line 000000 of many\" "
		       "instead of an SSH version line, and more than 64 KiB arrived without one");
	CHECK_CONTAINS(err.message, "is the server's SSH port");
	CHECK(!err.transient, "a server that is not sshd should not be retried: %s", err.message);
}

static void case_blank_lines(void)
{
	struct ssh_error err = connect_hostile("blank-lines");

	/* libssh2 1.10 rejects an empty line where it expects the version line. */
	CHECK_CONTAINS(err.message, "protocol error: the server sent no complete SSH version line, and libssh2 "
		       "stopped reading");
	CHECK(!err.transient, "a server that is not sshd should not be retried: %s", err.message);
}

static void case_long_line(void)
{
	struct ssh_error err = connect_hostile("long-line");
	char shown[200];

	/* The line is shown cut to its first 120 bytes. */
	memset(shown, 'A', 120);
	strcpy(shown + 120, "...\" instead of an SSH version line");
	CHECK_CONTAINS(err.message, shown);
	CHECK_CONTAINS(err.message, "more than 64 KiB arrived without one");
	CHECK(!err.transient, "a server that is not sshd should not be retried: %s", err.message);
}

static void case_long_version_line(void)
{
	struct ssh_error err = connect_hostile("long-version-line");

	CHECK_CONTAINS(err.message, "protocol error: the server's version line \"SSH-2.0-AAAA");
	CHECK_CONTAINS(err.message, "AAA...\" is longer than 255 bytes");
	CHECK(!err.transient, "a server that is not sshd should not be retried: %s", err.message);
}

static void case_close_after_banner(void)
{
	struct ssh_error err = connect_hostile("close-after-banner");

	CHECK_CONTAINS(err.message, "the server sent the version line \"SSH-2.0-OpenSSH_9.2p1 hostile\" and then "
		       "closed the connection during the key exchange");
	CHECK_CONTAINS(err.message, "sshd log");
	CHECK(err.transient, "a connection closed by sshd may work later: %s", err.message);
}

static void case_stall_in_kexinit(void)
{
	struct ssh_error err = connect_hostile("stall-in-kexinit");

	CHECK_CONTAINS(err.message, "timed out after 2 s during key exchange, after the server's version line "
		       "\"SSH-2.0-OpenSSH_9.2p1 hostile\"");
	CHECK(err.transient, "a stalled key exchange may work later: %s", err.message);
}

static void case_silent(void)
{
	struct ssh_error err = connect_hostile("silent");

	CHECK_CONTAINS(err.message, "sent no SSH version line within 2 s");
	CHECK(err.transient, "a silent server may answer later: %s", err.message);
}

static const struct check_case cases[] = {
	{ "lines", case_lines },
	{ "blank-lines", case_blank_lines },
	{ "long-line", case_long_line },
	{ "long-version-line", case_long_version_line },
	{ "close-after-banner", case_close_after_banner },
	{ "stall-in-kexinit", case_stall_in_kexinit },
	{ "silent", case_silent },
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	atexit(stop_server);
	return check_run_case(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
