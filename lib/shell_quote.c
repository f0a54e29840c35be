#include "shell_quote.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static bool is_plain_word(const char *value)
{
	static const char plain[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:@+,-";

	return value[0] != '\0' && strspn(value, plain) == strlen(value);
}

char *shell_quote(const char *value)
{
	size_t quotes = 0;
	char *out, *p;

	if (is_plain_word(value))
		return xstrdup(value);

	for (const char *s = value; *s != '\0'; s++)
		if (*s == '\'')
			quotes++;

	/* Two enclosing quotes, three extra characters per quote, the NUL. */
	out = xmalloc(strlen(value) + 3 * quotes + 3);
	p = out;
	*p++ = '\'';
	for (const char *s = value; *s != '\0'; s++) {
		if (*s == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else {
			*p++ = *s;
		}
	}
	*p++ = '\'';
	*p = '\0';
	return out;
}

char *shell_join(const char *const argv[])
{
	size_t len = 0, n = 0;
	char **words;
	char *out, *p;

	while (argv[n] != NULL)
		n++;
	words = xcalloc(n, sizeof(*words));
	for (size_t i = 0; i < n; i++) {
		words[i] = shell_quote(argv[i]);
		len += strlen(words[i]) + 1;
	}

	out = xmalloc(len + 1);
	p = out;
	for (size_t i = 0; i < n; i++) {
		size_t wlen = strlen(words[i]);

		if (i > 0)
			*p++ = ' ';
		memcpy(p, words[i], wlen);
		p += wlen;
		free(words[i]);
	}
	*p = '\0';
	free(words);
	return out;
}
