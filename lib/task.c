#include "task.h"

#include <stdio.h>
#include <string.h>

static const char *const known_types[] = { "verify", "sync", "restart", "noop" };

bool task_type_known(const char *type)
{
	for (size_t i = 0; i < sizeof(known_types) / sizeof(known_types[0]); i++)
		if (strcmp(type, known_types[i]) == 0)
			return true;
	return false;
}

bool task_type_needs_server(const char *type)
{
	return strcmp(type, "noop") != 0;
}

bool task_log_level_valid(const char *level)
{
	static const char *const levels[] = { "debug", "info", "notice", "warning", "error" };

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(level, levels[i]) == 0)
			return true;
	return false;
}

/* Reads an optional non-negative integer field no larger than MAX. */
static int get_count(const json_t *args, const char *field, long long max, long long *out,
		     char *err, size_t errlen)
{
	const json_t *v = json_object_get(args, field);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
		snprintf(err, errlen, "args.%s must be an integer from 0 to %lld", field, max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int get_bool(const json_t *args, const char *field, bool *out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(args, field);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "args.%s must be true or false", field);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int task_parse_noop_args(const json_t *args, struct noop_args *out, char *err, size_t errlen)
{
	static const char *const allowed[] = { "sleep_ms", "log", "warn", "fail" };
	const char *key;
	const json_t *value;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(args)) {
		snprintf(err, errlen, "args must be a JSON object");
		return -1;
	}

	json_object_foreach((json_t *)args, key, value) {
		bool ok = false;

		for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
			if (strcmp(key, allowed[i]) == 0)
				ok = true;
		if (!ok) {
			snprintf(err, errlen, "args.%.64s is not a noop argument; "
				 "use sleep_ms, log, warn or fail", key);
			return -1;
		}
	}

	if (get_count(args, "sleep_ms", 86400000LL, &out->sleep_ms, err, errlen) != 0 ||
	    get_count(args, "log", 100000LL, &out->log_lines, err, errlen) != 0 ||
	    get_bool(args, "warn", &out->warn, err, errlen) != 0 ||
	    get_bool(args, "fail", &out->fail, err, errlen) != 0)
		return -1;
	return 0;
}
