/*
 * Fuzzes shell_quote and shell_join, which build every remote command
 * line from values such as paths, site names and server settings.
 *
 * Input: the words, separated by newlines (a NUL ends the input, as it
 * would end a C string).  Each quoted word and the joined line are split
 * again by the POSIX shell rules for quotes and backslashes, and must
 * give back the original words.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz_common.h"
#include "shell_quote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_WORDS 64

/* The characters shell_quote leaves unquoted, which no POSIX shell treats as special. */
static bool is_plain(char c)
{
	return c != '\0' && strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				   "0123456789_./:@+,-", c) != NULL;
}

/*
 * Splits LINE into words as sh does for a line made of plain characters,
 * single-quoted parts, backslash-escaped characters and single spaces.
 * Fails the check on any other character outside quotes.  Stores up to
 * MAX_WORDS newly allocated words and returns their count.
 */
static size_t split_words(const char *line, char **words)
{
	size_t n = 0, len = 0;
	char *word = malloc(strlen(line) + 1);
	bool in_word = false;

	FUZZ_CHECK(word != NULL);
	for (const char *p = line;; p++) {
		if (*p == '\0' || *p == ' ') {
			if (in_word) {
				FUZZ_CHECK(n < MAX_WORDS);
				word[len] = '\0';
				words[n++] = strdup(word);
			}
			if (*p == '\0')
				break;
			FUZZ_CHECK(in_word);
			in_word = false;
			len = 0;
			continue;
		}
		in_word = true;
		if (*p == '\'') {
			const char *end = strchr(p + 1, '\'');

			FUZZ_CHECK(end != NULL);
			memcpy(word + len, p + 1, (size_t)(end - p - 1));
			len += (size_t)(end - p - 1);
			p = end;
		} else if (*p == '\\') {
			FUZZ_CHECK(p[1] != '\0');
			word[len++] = *++p;
		} else {
			FUZZ_CHECK(is_plain(*p));
			word[len++] = *p;
		}
	}
	free(word);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *argv[MAX_WORDS + 1];
	char *split[MAX_WORDS];
	char *text, *save = NULL, *line;
	size_t n = 0;

	text = malloc(size + 1);
	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';

	/* strsep keeps empty words, which must come out as ''. */
	save = text;
	for (char *word = strsep(&save, "\n"); word != NULL && n < MAX_WORDS; word = strsep(&save, "\n")) {
		char *quoted = shell_quote(word);

		FUZZ_CHECK(split_words(quoted, split) == 1);
		FUZZ_CHECK(strcmp(split[0], word) == 0);
		free(split[0]);
		free(quoted);
		argv[n++] = word;
	}
	argv[n] = NULL;

	line = shell_join(argv);
	FUZZ_CHECK(split_words(line, split) == n);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(strcmp(split[i], argv[i]) == 0);
		free(split[i]);
	}

	free(line);
	free(text);
	return 0;
}
