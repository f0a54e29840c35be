#include "versions.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "log.h"
#include "proto.h"

extern char **environ;

static const char *backend_name(unsigned int backend)
{
	switch (backend) {
	case EVBACKEND_EPOLL: return "epoll";
	case EVBACKEND_POLL: return "poll";
	case EVBACKEND_SELECT: return "select";
	default: return "other";
	}
}

void versions_print(FILE *out, const char *sep)
{
	int pq = PQlibVersion();

	fprintf(out, "provisiond %s%slibpq %d.%d%slibev %d.%d%sjansson %s", PROVISIOND_VERSION, sep,
		pq / 10000, pq % 10000, sep, ev_version_major(), ev_version_minor(), sep,
		jansson_version_str());
}

void versions_log(void)
{
	char line[512];
	FILE *f = fmemopen(line, sizeof(line), "w");

	if (f == NULL)
		return;
	versions_print(f, ", ");
	fclose(f);
	log_info("linked with %s; event backend %s", line,
		 backend_name(ev_backend(EV_DEFAULT)));
}

/* The start of the first line that provisiond-worker --versions prints. */
#define WORKER_NAME_PREFIX "provisiond-worker "

/* Starts PROGRAM --versions with its standard output on a pipe; returns the read end or -1. */
static int spawn_worker_versions(const char *program, pid_t *pid)
{
	char *argv[] = { "provisiond-worker", PROTO_VERSIONS_OPTION, NULL };
	posix_spawn_file_actions_t actions;
	int fds[2], rc;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		fprintf(stderr, "provisiond: pipe failed: %s\n", strerror(errno));
		return -1;
	}

	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
	rc = posix_spawn(pid, program, &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	close(fds[1]);

	if (rc != 0) {
		fprintf(stderr, "provisiond: starting %s %s failed: %s\n", program,
			PROTO_VERSIONS_OPTION, strerror(rc));
		close(fds[0]);
		return -1;
	}
	return fds[0];
}

/* Writes to stderr why PROGRAM --versions failed, given its wait status. */
static void report_worker_failure(const char *program, int status)
{
	if (WIFSIGNALED(status))
		fprintf(stderr, "provisiond: %s %s was killed by signal %d\n", program,
			PROTO_VERSIONS_OPTION, WTERMSIG(status));
	else
		fprintf(stderr, "provisiond: %s %s exited with status %d; set worker_program to the "
			"provisiond-worker of provisiond %s\n", program, PROTO_VERSIONS_OPTION,
			WEXITSTATUS(status), PROVISIOND_VERSION);
}

int versions_print_worker(const char *program, FILE *out, const char *prefix)
{
	char *line = NULL;
	size_t size = 0;
	ssize_t len;
	pid_t pid;
	int fd = spawn_worker_versions(program, &pid), status = 0;
	bool named = false;	/* the first line names provisiond-worker */
	FILE *in;

	if (fd < 0)
		return -1;

	in = fdopen(fd, "r");
	if (in == NULL) {
		close(fd);
	} else {
		for (int n = 0; (len = getline(&line, &size, in)) > 0; n++) {
			if (n == 0)
				named = strncmp(line, WORKER_NAME_PREFIX, strlen(WORKER_NAME_PREFIX)) == 0;
			fprintf(out, "%s%s%s", prefix, line, line[len - 1] == '\n' ? "" : "\n");
		}
		free(line);
		fclose(in);
	}

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "provisiond: waiting for %s %s failed: %s\n", program,
				PROTO_VERSIONS_OPTION, strerror(errno));
			return -1;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		report_worker_failure(program, status);
		return -1;
	}
	if (!named) {
		fprintf(stderr, "provisiond: %s is not provisiond-worker: %s %s did not print "
			"\"provisiond-worker VERSION\" first; set worker_program to the "
			"provisiond-worker of provisiond %s\n", program, program,
			PROTO_VERSIONS_OPTION, PROVISIOND_VERSION);
		return -1;
	}
	return 0;
}
