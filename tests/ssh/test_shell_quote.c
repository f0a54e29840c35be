/*
 * Unit tests of shell_quote and shell_join: exact output for typical
 * values, and a round trip of hostile values through real shells (sh and,
 * where installed, bash), which must print each value back unchanged and
 * never run any part of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "shell_quote.h"

static const char *const hostile[] = {
	"",
	"two words",
	"it's",
	"''",
	"'\\''",
	"$(touch PWNED)",
	"`touch PWNED`",
	"; touch PWNED",
	"&& touch PWNED",
	"| touch PWNED",
	"> PWNED",
	"-rf",
	"--help",
	"~root",
	"a=b",
	"*",
	"?",
	"[a]",
	"{a,b}",
	"line\nbreak",
	"tab\there",
	"back\\slash",
	"$HOME",
	"${HOME}",
	"\"double\"",
	"!event",
	"#comment",
	"non-utf8 \xff\xfe",
	"\x1b[31m",
};

#define N_HOSTILE (sizeof(hostile) / sizeof(hostile[0]))

static void expect_quote(const char *value, const char *expected)
{
	char *got = shell_quote(value);

	CHECK(strcmp(got, expected) == 0, "shell_quote(\"%s\") = %s, expected %s", value, got, expected);
	free(got);
}

static void test_exact_output(void)
{
	expect_quote("plain", "plain");
	expect_quote("/var/aegir/platforms/d10", "/var/aegir/platforms/d10");
	expect_quote("user@host:1,2+3-4_5.6", "user@host:1,2+3-4_5.6");
	expect_quote("", "''");
	expect_quote("two words", "'two words'");
	expect_quote("it's", "'it'\\''s'");
	expect_quote("$(x)", "'$(x)'");
	expect_quote("a=b", "'a=b'");
	expect_quote("~root", "'~root'");
}

static void test_join(void)
{
	char *got = shell_join((const char *const[]){ "rm", "--", "my file", "it's", NULL });

	CHECK(strcmp(got, "rm -- 'my file' 'it'\\''s'") == 0, "shell_join gave %s", got);
	free(got);

	got = shell_join((const char *const[]){ NULL });
	CHECK(strcmp(got, "") == 0, "shell_join of no words gave \"%s\"", got);
	free(got);
}

/* Runs "printf %s QUOTED" in SHELL inside DIR and returns its output, newly allocated. */
static char *round_trip(const char *shell, const char *dir, const char *value, size_t *len)
{
	char *quoted = shell_quote(value);
	char *script = NULL, *command = NULL, *shell_arg = NULL;
	char *out = malloc(4096);
	FILE *p;

	if (asprintf(&script, "cd %s && printf %%s %s", dir, quoted) < 0)
		abort();
	shell_arg = shell_quote(script);
	if (asprintf(&command, "%s -c %s", shell, shell_arg) < 0)
		abort();

	p = popen(command, "r");
	*len = p != NULL ? fread(out, 1, 4095, p) : 0;
	if (p != NULL)
		pclose(p);
	out[*len] = '\0';

	free(quoted);
	free(script);
	free(shell_arg);
	free(command);
	return out;
}

static void test_round_trip(const char *shell)
{
	char dir[] = "/tmp/shell-quote-test-XXXXXX";
	struct stat st;

	if (access(shell, X_OK) != 0) {
		printf("skipping round trip through %s: not installed\n", shell);
		return;
	}
	CHECK(mkdtemp(dir) != NULL, "mkdtemp failed");

	for (size_t i = 0; i < N_HOSTILE; i++) {
		size_t len;
		char *out = round_trip(shell, dir, hostile[i], &len);

		CHECK(len == strlen(hostile[i]), "%s printed %zu bytes for value \"%s\"", shell, len, hostile[i]);
		CHECK(memcmp(out, hostile[i], len) == 0, "%s printed \"%s\" for value \"%s\"", shell, out,
		      hostile[i]);
		free(out);
	}

	/* The values above try to create PWNED in dir; none may have run. */
	{
		char *pwned = NULL;

		if (asprintf(&pwned, "%s/PWNED", dir) < 0)
			abort();
		CHECK(stat(pwned, &st) != 0, "%s ran part of a quoted value: %s exists", shell, pwned);
		unlink(pwned);
		free(pwned);
	}
	rmdir(dir);
}

int main(void)
{
	test_exact_output();
	test_join();
	test_round_trip("/bin/sh");
	test_round_trip("/bin/bash");
	return check_exit_status();
}
