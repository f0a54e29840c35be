/* The noop task: sleeps, logs and fails on request, for tests, benchmarks and health checks. */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "report.h"
#include "task.h"
#include "tasks.h"

/* Sleeps MS milliseconds unless the daemon stops the task first. */
static void sleep_ms(long long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !task_stop_requested())
		;
}

int task_noop(struct task_ctx *ctx)
{
	struct noop_args args;

	if (task_parse_noop_args(ctx->args, &args, ctx->error, sizeof(ctx->error)) != 0)
		return -1;

	report_log("info", "noop task %lld, attempt %d", (long long)ctx->id, ctx->attempt);
	for (long long i = 1; i <= args.log_lines; i++)
		report_log("info", "noop log line %lld of %lld", i, args.log_lines);
	if (args.sleep_ms > 0)
		sleep_ms(args.sleep_ms);
	if (task_stop_requested()) {
		snprintf(ctx->error, sizeof(ctx->error), "stopped by provisiond before the sleep ended");
		return -1;
	}
	if (args.warn)
		report_log("warning", "noop warning requested by args.warn");

	ctx->result = json_pack("{s:I, s:I}", "sleep_ms", (json_int_t)args.sleep_ms,
				"log", (json_int_t)args.log_lines);
	if (args.fail) {
		snprintf(ctx->error, sizeof(ctx->error), "noop failure requested by args.fail");
		return -1;
	}
	return 0;
}
