/*
 * Fuzzes task_parse_noop_args with the args JSON of a task, which any
 * role allowed to insert into provision.tasks controls.
 *
 * Input: one JSON value (not only objects, so that the type check runs too).
 */
#include <string.h>

#include <jansson.h>

#include "fuzz_common.h"
#include "task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct noop_args args;
	json_error_t jerr;
	json_t *json;
	char err[128];
	int rc;

	json = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
	if (json == NULL)
		return 0;

	memset(err, 0, sizeof(err));
	rc = task_parse_noop_args(json, &args, err, sizeof(err));
	if (rc == 0) {
		FUZZ_CHECK(json_is_object(json));
		FUZZ_CHECK(args.sleep_ms >= 0 && args.sleep_ms <= 86400000LL);
		FUZZ_CHECK(args.log_lines >= 0 && args.log_lines <= 100000LL);
	} else {
		FUZZ_CHECK(rc == -1);
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	}

	json_decref(json);
	return 0;
}
