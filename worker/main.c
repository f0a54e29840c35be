/*
 * provisiond-worker: runs tasks handed over by provisiond, one at a time,
 * as described in proto.h.  It never connects to PostgreSQL.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <jansson.h>
#include <mysql.h>

#include "lease_guard.h"
#include "log.h"
#include "proto.h"
#include "ssh.h"
#include "report.h"
#include "task.h"
#include "tasks.h"
#include "text_sanitize.h"

/* Set by SIGTERM: the daemon stops the current task (timeout, cancel, shutdown). */
static volatile sig_atomic_t stop_requested;

static void handle_sigterm(int signum)
{
	(void)signum;
	stop_requested = 1;
}

bool task_stop_requested(void)
{
	return stop_requested != 0;
}

/*
 * Makes SIGTERM interrupt blocking calls (no SA_RESTART) so the SSH layer
 * can stop a remote command before the worker exits; the daemon sends
 * SIGKILL after kill_grace if that takes too long.
 */
static void install_sigterm_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handle_sigterm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	ssh_set_interrupt_flag(&stop_requested);
	lease_guard_install(&stop_requested);
}

/* The task types this worker implements. */
static const struct {
	const char *type;
	task_fn run;
} implementations[] = {
	{ "noop", task_noop },
	{ "verify", task_verify },
	{ "restart", task_restart },
	{ "sync", task_sync },
};

task_fn task_lookup(const char *type)
{
	for (size_t i = 0; i < sizeof(implementations) / sizeof(implementations[0]); i++)
		if (strcmp(type, implementations[i].type) == 0)
			return implementations[i].run;
	return NULL;
}

/* Checks the fields every task needs; returns 0 or -1 with ctx->error naming the field. */
static int check_request(struct task_ctx *ctx, const json_t *request)
{
	const json_t *args = json_object_get(request, "args");

	if (!json_is_object(args)) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "args must be a JSON object, such as {} or {\"path\": \"platforms/site\"}; found %s",
			 args == NULL ? "nothing" : json_is_array(args) ? "an array" :
			 json_is_string(args) ? "a string" : json_is_null(args) ? "null" : "a scalar");
		return -1;
	}
	if (!task_type_known(ctx->type)) {
		char *shown = text_sanitize_dup(ctx->type, strlen(ctx->type));

		snprintf(ctx->error, sizeof(ctx->error),
			 "type \"%.100s\" is not a task type; use verify, sync, restart or noop", shown);
		free(shown);
		return -1;
	}
	if (task_type_needs_server(ctx->type) && ctx->server == NULL) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "server_id is missing: a %s task needs the id of a row in provision.servers",
			 ctx->type);
		return -1;
	}
	if (task_lookup(ctx->type) == NULL) {
		snprintf(ctx->error, sizeof(ctx->error),
			 "task type %s is not implemented by this worker yet", ctx->type);
		return -1;
	}
	return 0;
}

static void run_request(const json_t *request)
{
	const json_t *server = json_object_get(request, "server");
	const json_t *creds = json_object_get(request, "credentials");
	struct task_ctx ctx = {
		.id = json_integer_value(json_object_get(request, "id")),
		.type = json_string_value(json_object_get(request, "type")),
		.attempt = (int)json_integer_value(json_object_get(request, "attempt")),
		.args = json_object_get(request, "args"),
		.server = json_is_object(server) ? server : NULL,
		.services = json_object_get(request, "services"),
		.credentials = json_is_object(creds) ? creds : NULL,
		.settings = json_object_get(request, "settings"),
	};
	int rc;

	if (ctx.type == NULL)
		ctx.type = "";
	report_started(ctx.id);
	lease_guard_start(json_number_value(json_object_get(ctx.settings, "lease_duration")));

	rc = check_request(&ctx, request);
	if (rc == 0)
		rc = task_lookup(ctx.type)(&ctx);

	lease_guard_stop();
	if (lease_guard_expired()) {
		snprintf(ctx.error, sizeof(ctx.error), "stopped because provisiond did not confirm the "
			 "task's lease for two thirds of lease_duration (the daemon stalled or lost the "
			 "database), so that no other daemon runs it at the same time");
		ctx.transient = true;
		rc = -1;
	}

	if (rc == 0)
		report_done(report_warned() ? "warning" : "succeeded", NULL, false, ctx.result);
	else
		report_done("failed", ctx.error[0] ? ctx.error : "failed without an error message",
			    ctx.transient, ctx.result);
	json_decref(ctx.result);
}

/* Dies with the daemon, so that no worker runs unsupervised. */
static void watch_parent(const char *parent_arg)
{
	pid_t parent = parent_arg ? (pid_t)strtol(parent_arg, NULL, 10) : 0;

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		log_warning("prctl(PR_SET_PDEATHSIG) failed: %s", strerror(errno));
	if (parent > 0 && getppid() != parent)
		exit(WORKER_EXIT_OK);
}

static int serve(void)
{
	struct proto_reader reader;
	char err[256];
	json_t *request;
	long n;
	int rc;

	proto_reader_init(&reader);
	report_ready();
	for (;;) {
		while (!stop_requested &&
		       (rc = proto_reader_next(&reader, &request, err, sizeof(err))) == 1) {
			const char *op = json_string_value(json_object_get(request, "op"));

			if (op != NULL && strcmp(op, "task") == 0)
				run_request(request);
			else
				log_warning("ignoring a request without op \"task\"");
			json_decref(request);
		}
		if (stop_requested)
			break;
		if (rc < 0) {
			log_error("unreadable request from provisiond: %s", err);
			return WORKER_EXIT_PROTOCOL;
		}
		n = proto_reader_fill(&reader, PROTO_FD_REQUESTS);
		if (n == 0 || stop_requested)
			break;
		if (n < 0) {
			log_error("reading requests failed: %s", strerror(errno));
			return WORKER_EXIT_IO;
		}
	}
	proto_reader_free(&reader);
	return WORKER_EXIT_OK;
}

/* Prints the versions that provisiond -t shows for the worker (see proto.h). */
static int print_versions(void)
{
	char ssh_support[512];

	ssh_describe_library(ssh_support, sizeof(ssh_support));
	printf("provisiond-worker %s\n%s\nMariaDB Connector/C %s\njansson %s\n", PROVISIOND_VERSION,
	       ssh_support, mysql_get_client_info(), jansson_version_str());
	return fflush(stdout) == 0 ? WORKER_EXIT_OK : WORKER_EXIT_IO;
}

int main(int argc, char **argv)
{
	log_init("provisiond-worker");
	if (argc == 2 && strcmp(argv[1], PROTO_VERSIONS_OPTION) == 0)
		return print_versions();
	if (argc != 3 || strcmp(argv[1], "--parent") != 0 ||
	    fcntl(PROTO_FD_REQUESTS, F_GETFD) < 0 || fcntl(PROTO_FD_EVENTS, F_GETFD) < 0) {
		fprintf(stderr, "provisiond-worker is started by provisiond with its pipes on "
			"descriptors %d and %d; it is not meant to be run by hand, except with %s\n",
			PROTO_FD_REQUESTS, PROTO_FD_EVENTS, PROTO_VERSIONS_OPTION);
		return WORKER_EXIT_USAGE;
	}
	install_sigterm_handler();
	watch_parent(argv[2]);
	signal(SIGPIPE, SIG_IGN);
	return serve();
}
