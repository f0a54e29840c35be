/* Unit tests of text_sanitize: escaping, UTF-8 validation and cutting. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "text_sanitize.h"

static void expect(const char *input, size_t len, const char *expected)
{
	char out[256];
	size_t consumed = text_sanitize(input, len, out, sizeof(out));

	CHECK(strcmp(out, expected) == 0, "sanitizing %zu bytes: got \"%s\", expected \"%s\"", len, out,
	      expected);
	CHECK(consumed == len, "consumed %zu of %zu bytes", consumed, len);
}

#define EXPECT(literal, expected) expect(literal, sizeof(literal) - 1, expected)

static void test_kept_text(void)
{
	EXPECT("plain ascii", "plain ascii");
	EXPECT("tab\tkept", "tab\tkept");
	EXPECT("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	EXPECT("back\\slash", "back\\slash");
}

static void test_escaped_bytes(void)
{
	EXPECT("nul\0byte", "nul\\x00byte");
	EXPECT("\x1b[31mred", "\\x1b[31mred");
	EXPECT("cr\rlf\n", "cr\\x0dlf\\x0a");
	EXPECT("del\x7f", "del\\x7f");
	EXPECT("c1 \xc2\x9b", "c1 \\xc2\\x9b");
	EXPECT("latin1 \xe9t\xe9", "latin1 \\xe9t\\xe9");
	EXPECT("overlong \xc0\xaf", "overlong \\xc0\\xaf");
	EXPECT("overlong3 \xe0\x80\xaf", "overlong3 \\xe0\\x80\\xaf");
	EXPECT("surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80");
	EXPECT("too high \xf4\x90\x80\x80", "too high \\xf4\\x90\\x80\\x80");
	EXPECT("truncated \xe2\x82", "truncated \\xe2\\x82");
	EXPECT("bidi \xe2\x80\xae!", "bidi \\xe2\\x80\\xae!");
	EXPECT("isolate \xe2\x81\xa6", "isolate \\xe2\\x81\\xa6");
}

static void test_cut_at_boundary(void)
{
	char out[8];
	size_t consumed;

	consumed = text_sanitize("abcdefghij", 10, out, sizeof(out));
	CHECK(consumed == 7, "plain text cut: consumed %zu, expected 7", consumed);
	CHECK(strcmp(out, "abcdefg") == 0, "plain text cut: got \"%s\"", out);

	/* "ab" then an escape needing 4 bytes: only one fits after "abcd". */
	consumed = text_sanitize("abcd\x01\x02", 6, out, sizeof(out));
	CHECK(consumed == 4, "escape cut: consumed %zu, expected 4", consumed);
	CHECK(strcmp(out, "abcd") == 0, "escape cut: got \"%s\"", out);

	/* A 3-byte character must not be split. */
	consumed = text_sanitize("abcde\xe2\x82\xac", 8, out, sizeof(out));
	CHECK(consumed == 5, "UTF-8 cut: consumed %zu, expected 5", consumed);
	CHECK(strcmp(out, "abcde") == 0, "UTF-8 cut: got \"%s\"", out);

	consumed = text_sanitize("abc", 3, out, 1);
	CHECK(consumed == 0, "size 1: consumed %zu, expected 0", consumed);
	CHECK(out[0] == '\0', "size 1: output \"%s\", expected empty", out);
}

static void test_dup_handles_worst_case(void)
{
	char input[64];
	char *out;

	memset(input, 0x01, sizeof(input));
	out = text_sanitize_dup(input, sizeof(input));
	CHECK(strlen(out) == 4 * sizeof(input), "64 control bytes: got %zu output bytes, expected 256",
	      strlen(out));
	free(out);
}

int main(void)
{
	test_kept_text();
	test_escaped_bytes();
	test_cut_at_boundary();
	test_dup_handles_worst_case();
	return check_exit_status();
}
