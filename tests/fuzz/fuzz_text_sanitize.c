/*
 * Fuzzes text_sanitize, which every byte of remote command output and
 * every remote file name passes through before it reaches a task log.
 *
 * Input: the first byte sets the size of the output buffer, the rest is
 * the text.  Sanitizing must be idempotent: the output holds only
 * characters that are copied as they are, so a second pass changes nothing.
 */
#include <string.h>

#include "fuzz_common.h"
#include "text_sanitize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_output(const char *out, size_t out_len)
{
	char *again;
	size_t consumed;

	for (size_t i = 0; i < out_len; i++) {
		unsigned char c = (unsigned char)out[i];

		FUZZ_CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
	}

	again = malloc(out_len * TEXT_SANITIZE_MAX_EXPANSION + 1);
	FUZZ_CHECK(again != NULL);
	consumed = text_sanitize(out, out_len, again, out_len * TEXT_SANITIZE_MAX_EXPANSION + 1);
	FUZZ_CHECK(consumed == out_len);
	FUZZ_CHECK(strcmp(again, out) == 0);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t out_size, consumed, out_len;
	char *out, *copy;

	if (size == 0)
		return 0;
	out_size = (size_t)data[0] + 1;
	data++;
	size--;

	/* Exactly OUT_SIZE bytes on the heap, so that AddressSanitizer reports a write past the end. */
	out = malloc(out_size);
	FUZZ_CHECK(out != NULL);
	consumed = text_sanitize(data, size, out, out_size);
	FUZZ_CHECK(consumed <= size);
	out_len = strlen(out);
	FUZZ_CHECK(out_len < out_size);
	if (consumed < size)
		FUZZ_CHECK(out_len + TEXT_SANITIZE_MAX_EXPANSION >= out_size);
	check_output(out, out_len);

	/* A cut output must be the start of the whole output. */
	copy = text_sanitize_dup(data, size);
	FUZZ_CHECK(strncmp(copy, out, out_len) == 0);
	check_output(copy, strlen(copy));

	free(copy);
	free(out);
	return 0;
}
