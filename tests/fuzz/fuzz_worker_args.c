/*
 * Fuzzes the args checks of the sync and restart tasks, which run in the
 * worker on the args JSON of a task before any connection is made.
 *
 * Both checks are static functions, so this file includes the two task
 * sources and links the worker sources they call (remote.c, report.c,
 * webserver.c).  Only parse_args and parse_restart_args run, because
 * task_sync and task_restart would go on to connect to a server.
 *
 * Input: one JSON value, used as the args of both task types.
 */
#include "../../worker/task_restart.c"
#include "../../worker/task_sync.c"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks that a relative path accepted by parse_args cannot leave BASE. */
static void check_relative(const char *relative)
{
	char *copy = strdup(relative);
	char *save = NULL;

	FUZZ_CHECK(copy != NULL);
	FUZZ_CHECK(relative[0] != '\0');
	FUZZ_CHECK(relative[0] != '/');
	FUZZ_CHECK(relative[strlen(relative) - 1] != '/');
	FUZZ_CHECK(strstr(relative, "//") == NULL);
	for (char *part = strtok_r(copy, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save)) {
		FUZZ_CHECK(strcmp(part, "..") != 0);
		FUZZ_CHECK(strcmp(part, ".") != 0);
	}
	free(copy);
}

static void check_sync_args(const json_t *args, const char *base)
{
	struct task_ctx ctx = { .type = "sync", .args = args };
	struct sync_args parsed = { 0 };

	if (parse_args(&ctx, base, &parsed) == 0) {
		FUZZ_CHECK(parsed.relative != NULL);
		check_relative(parsed.relative);
		FUZZ_CHECK(parsed.exclude != NULL);
		for (size_t i = 0; parsed.exclude[i] != NULL; i++)
			FUZZ_CHECK(sync_exclude_check(parsed.exclude[i]) == NULL);
	} else {
		FUZZ_CHECK(parsed.relative == NULL);
		FUZZ_CHECK(ctx.error[0] != '\0');
	}
	FUZZ_CHECK(memchr(ctx.error, '\0', sizeof(ctx.error)) != NULL);

	free(parsed.relative);
	free(parsed.exclude);
}

static void check_restart_args(const json_t *args)
{
	struct task_ctx ctx = { .type = "restart", .args = args };
	const char *service = NULL;

	if (parse_restart_args(&ctx, &service) == 0) {
		FUZZ_CHECK(service != NULL && strcmp(service, "web") == 0);
	} else {
		FUZZ_CHECK(ctx.error[0] != '\0');
	}
	FUZZ_CHECK(memchr(ctx.error, '\0', sizeof(ctx.error)) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *args;

	/* The worker reads requests with the same flags, and runs a task only when its args are an object. */
	args = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (args == NULL || !json_is_object(args)) {
		json_decref(args);
		return 0;
	}

	/* task_sync strips trailing slashes from base_dir before parse_args, so "/" stays "/". */
	check_sync_args(args, "/var/aegir");
	check_sync_args(args, "/");
	check_restart_args(args);

	json_decref(args);
	return 0;
}
