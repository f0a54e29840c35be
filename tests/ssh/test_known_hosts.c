/*
 * Unit tests of known_hosts.c with keys from ssh-keygen: plain, bracketed,
 * hashed and listed names, changed and revoked keys, bad lines, and the
 * host key algorithm order.  No server is needed; libssh2 only parses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh2.h>

#include "base64.h"
#include "check.h"
#include "known_hosts.h"

static char dir[] = "/tmp/known-hosts-test-XXXXXX";
static LIBSSH2_SESSION *session;

struct key {
	char line[1024];	/* "TYPE BASE64" from the .pub file */
	unsigned char blob[1024];
	size_t blob_len;
	int hostkey_type;
};

static struct key ed_a, ed_b, ecdsa;

static void make_key(const char *name, const char *type, int hostkey_type, struct key *k)
{
	char *cmd = NULL, *pub = NULL;
	char *space;
	FILE *f;
	ssize_t n;

	if (asprintf(&cmd, "ssh-keygen -q -t %s -N '' -f %s/%s </dev/null >/dev/null", type, dir, name) < 0 ||
	    system(cmd) != 0) {
		fprintf(stderr, "ssh-keygen failed; is openssh-client installed?\n");
		exit(CHECK_SKIP);
	}
	if (asprintf(&pub, "%s/%s.pub", dir, name) < 0 || (f = fopen(pub, "r")) == NULL)
		abort();
	if (fgets(k->line, sizeof(k->line), f) == NULL)
		abort();
	fclose(f);

	/* Keep "TYPE BASE64" and drop the comment. */
	space = strchr(strchr(k->line, ' ') + 1, ' ');
	if (space != NULL)
		*space = '\0';
	k->line[strcspn(k->line, "\n")] = '\0';
	n = base64_decode(strchr(k->line, ' ') + 1, strlen(strchr(k->line, ' ') + 1), k->blob);
	if (n <= 0)
		abort();
	k->blob_len = (size_t)n;
	k->hostkey_type = hostkey_type;
	free(cmd);
	free(pub);
}

static char *write_file(const char *name, const char *text)
{
	char *path = NULL;
	FILE *f;

	if (asprintf(&path, "%s/%s", dir, name) < 0 || (f = fopen(path, "w")) == NULL)
		abort();
	fputs(text, f);
	fclose(f);
	return path;
}

static struct known_hosts *load(const char *path)
{
	char err[512] = "";
	struct known_hosts *kh = known_hosts_load(session, path, err, sizeof(err));

	CHECK(kh != NULL, "loading %s failed: %s", path, err);
	if (kh == NULL)
		exit(1);
	return kh;
}

static enum known_hosts_status check(struct known_hosts *kh, const char *host, int port, const struct key *k,
				     int *line)
{
	return known_hosts_check(kh, host, port, k->hostkey_type, k->blob, k->blob_len, line);
}

static void test_plain_and_bracketed(void)
{
	char text[4096];
	struct known_hosts *kh;
	char *path;
	int line;

	snprintf(text, sizeof(text), "# comment\n\nexample.org %s\n[127.0.0.1]:2222 %s\na.example,b.example %s\n",
		 ed_a.line, ed_a.line, ed_a.line);
	path = write_file("plain", text);
	kh = load(path);

	CHECK(check(kh, "example.org", 22, &ed_a, &line) == KNOWN_HOSTS_MATCH, "plain name on port 22");
	CHECK(line == 3, "plain name matched line %d, expected 3", line);
	CHECK(check(kh, "EXAMPLE.org", 22, &ed_a, &line) == KNOWN_HOSTS_MATCH, "name is compared in lower case");
	CHECK(check(kh, "example.org", 2222, &ed_a, &line) == KNOWN_HOSTS_UNKNOWN,
	      "a plain entry must not match another port (OpenSSH looks up only [host]:port)");
	CHECK(check(kh, "127.0.0.1", 2222, &ed_a, &line) == KNOWN_HOSTS_MATCH, "[host]:port entry");
	CHECK(line == 4, "[host]:port matched line %d, expected 4", line);
	CHECK(check(kh, "127.0.0.1", 2223, &ed_a, &line) == KNOWN_HOSTS_UNKNOWN, "[host]:port with another port");
	CHECK(check(kh, "127.0.0.1", 22, &ed_a, &line) == KNOWN_HOSTS_UNKNOWN, "bracketed entry on port 22");
	CHECK(check(kh, "b.example", 22, &ed_a, &line) == KNOWN_HOSTS_MATCH, "second name of a list");
	CHECK(check(kh, "c.example", 22, &ed_a, &line) == KNOWN_HOSTS_UNKNOWN, "name not in the file");
	CHECK(check(kh, "example.org", 22, &ecdsa, &line) == KNOWN_HOSTS_UNKNOWN,
	      "a key of a type the file lacks for the host is unknown, not changed");

	known_hosts_free(kh);
	free(path);
}

static void test_hashed(void)
{
	char text[4096];
	char *path, *cmd = NULL;
	struct known_hosts *kh;
	int line;

	snprintf(text, sizeof(text), "example.org %s\n[127.0.0.1]:2222 %s\n", ed_a.line, ed_a.line);
	path = write_file("hashed", text);
	if (asprintf(&cmd, "ssh-keygen -q -H -f %s >/dev/null 2>&1", path) < 0)
		abort();
	CHECK(system(cmd) == 0, "ssh-keygen -H failed");
	free(cmd);

	kh = load(path);
	CHECK(check(kh, "example.org", 22, &ed_a, &line) == KNOWN_HOSTS_MATCH, "hashed plain name");
	CHECK(check(kh, "127.0.0.1", 2222, &ed_a, &line) == KNOWN_HOSTS_MATCH, "hashed [host]:port");
	CHECK(check(kh, "127.0.0.1", 2223, &ed_a, &line) == KNOWN_HOSTS_UNKNOWN, "hashed, other port");
	CHECK(check(kh, "example.org", 22, &ed_b, &line) == KNOWN_HOSTS_CHANGED, "hashed name, other key");
	known_hosts_free(kh);
	free(path);
}

static void test_changed_and_revoked(void)
{
	char text[4096];
	struct known_hosts *kh;
	char *path;
	int line;

	snprintf(text, sizeof(text), "other.example %s\nexample.org %s\n@revoked * %s\n", ed_a.line, ed_a.line,
		 ed_b.line);
	path = write_file("changed", text);
	kh = load(path);

	CHECK(check(kh, "example.org", 22, &ed_b, &line) == KNOWN_HOSTS_REVOKED, "revoked key");
	CHECK(line == 3, "revoked by line %d, expected 3", line);
	CHECK(check(kh, "new.example", 22, &ed_b, &line) == KNOWN_HOSTS_REVOKED, "revoked key on any host");
	known_hosts_free(kh);
	free(path);

	snprintf(text, sizeof(text), "other.example %s\nexample.org %s\n", ed_a.line, ed_a.line);
	path = write_file("changed2", text);
	kh = load(path);
	CHECK(check(kh, "example.org", 22, &ed_b, &line) == KNOWN_HOSTS_CHANGED, "changed key");
	CHECK(line == 2, "changed key reported on line %d, expected 2", line);
	known_hosts_free(kh);
	free(path);
}

static void test_bad_lines(void)
{
	char text[4096];
	struct known_hosts *kh;
	const int *lines;
	size_t n;
	char *path;
	int line;

	snprintf(text, sizeof(text),
		 "this line is garbage\nexample.org ssh-ed25519 not!base64\n*.example %s\n"
		 "@cert-authority *.example %s\n[127.0.0.1]:2222 %s\n",
		 ed_a.line, ed_a.line, ed_a.line);
	path = write_file("bad", text);
	kh = load(path);

	CHECK(check(kh, "127.0.0.1", 2222, &ed_a, &line) == KNOWN_HOSTS_MATCH,
	      "an entry after bad lines must still match");
	CHECK(line == 5, "matched line %d, expected 5", line);

	n = known_hosts_bad_lines(kh, &lines);
	CHECK(n == 2, "%zu bad lines, expected 2", n);
	CHECK(n < 1 || lines[0] == 1, "first bad line is %d, expected 1", lines[0]);
	CHECK(n < 2 || lines[1] == 2, "second bad line is %d, expected 2", lines[1]);

	n = known_hosts_unsupported_lines(kh, &lines);
	CHECK(n == 2, "%zu unsupported lines, expected 2 (wildcard and @cert-authority)", n);
	CHECK(check(kh, "x.example", 22, &ed_a, &line) == KNOWN_HOSTS_UNKNOWN, "wildcards must not match");
	known_hosts_free(kh);
	free(path);
}

static void test_upper_case_entries(void)
{
	char text[4096];
	struct known_hosts *kh;
	char *path;
	int line;

	snprintf(text, sizeof(text), "Web.Example.ORG %s\n[Web.Example.ORG]:2222 %s\n", ed_a.line, ed_a.line);
	path = write_file("upper", text);
	kh = load(path);

	CHECK(check(kh, "web.example.org", 22, &ed_a, &line) == KNOWN_HOSTS_MATCH,
	      "an entry in upper case must match, as in OpenSSH");
	CHECK(line == 1, "upper-case entry matched line %d, expected 1", line);
	CHECK(check(kh, "WEB.example.org", 2222, &ed_a, &line) == KNOWN_HOSTS_MATCH,
	      "a [host]:port entry in upper case must match");
	CHECK(line == 2, "upper-case [host]:port entry matched line %d, expected 2", line);
	known_hosts_free(kh);
	free(path);
}

/* The salt is 20 bytes.  The hash of line 1 is 19 bytes, and line 2 has no hash. */
static void test_hashed_wrong_length(void)
{
	char text[4096];
	struct known_hosts *kh;
	const int *lines;
	size_t n;
	char *path;
	int line;

	snprintf(text, sizeof(text),
		 "|1|AAECAwQFBgcICQoLDA0ODxAREhM=|AAECAwQFBgcICQoLDA0ODxAREg== %s\n"
		 "|1|AAECAwQFBgcICQoLDA0ODxAREhM= %s\nexample.org %s\n",
		 ed_a.line, ed_a.line, ed_a.line);
	path = write_file("hashed-wrong-length", text);
	kh = load(path);

	n = known_hosts_bad_lines(kh, &lines);
	CHECK(n == 2, "%zu bad lines, expected 2 (both hashed names)", n);
	CHECK(n < 1 || lines[0] == 1, "first bad line is %d, expected 1", lines[0]);
	CHECK(n < 2 || lines[1] == 2, "second bad line is %d, expected 2", lines[1]);
	CHECK(check(kh, "example.org", 22, &ed_a, &line) == KNOWN_HOSTS_MATCH,
	      "an entry after bad hashed names must still match");
	CHECK(line == 3, "matched line %d, expected 3", line);
	known_hosts_free(kh);
	free(path);
}

/* libssh2 compares keys as base64 text, so a key written another way could never match. */
static void test_unpadded_key(void)
{
	char text[4096], unpadded[1024];
	struct known_hosts *kh;
	const int *lines;
	size_t n;
	char *path;
	int line;

	/* An ECDSA P-256 key blob is 104 bytes long, so its base64 ends in one "=". */
	snprintf(unpadded, sizeof(unpadded), "%s", ecdsa.line);
	CHECK(unpadded[strlen(unpadded) - 1] == '=', "the ECDSA key \"%s\" has no padding to cut", unpadded);
	unpadded[strlen(unpadded) - 1] = '\0';
	snprintf(text, sizeof(text), "example.org %s\n@revoked * %s\nother.example %s\n", unpadded, unpadded,
		 ecdsa.line);
	path = write_file("unpadded", text);
	kh = load(path);

	n = known_hosts_bad_lines(kh, &lines);
	CHECK(n == 2, "%zu bad lines, expected 2 (the entry and the @revoked line)", n);
	CHECK(n < 1 || lines[0] == 1, "first bad line is %d, expected 1", lines[0]);
	CHECK(n < 2 || lines[1] == 2, "second bad line is %d, expected 2", lines[1]);
	CHECK(check(kh, "example.org", 22, &ecdsa, &line) == KNOWN_HOSTS_UNKNOWN,
	      "a host whose only entry is a bad line is unknown, not changed");
	CHECK(check(kh, "other.example", 22, &ecdsa, &line) == KNOWN_HOSTS_MATCH,
	      "the padded key still matches");
	CHECK(line == 3, "matched line %d, expected 3", line);
	known_hosts_free(kh);
	free(path);
}

static void test_break_inside_line(void)
{
	char text[4096];
	struct known_hosts *kh;
	const int *lines;
	size_t n;
	char *path;
	int line;

	snprintf(text, sizeof(text), "example.org %s\r\fcomment\nother.example %s\r\n", ed_a.line, ed_a.line);
	path = write_file("break-inside", text);
	kh = load(path);

	n = known_hosts_bad_lines(kh, &lines);
	CHECK(n == 1, "%zu bad lines, expected 1 (the line with a form feed)", n);
	CHECK(n < 1 || lines[0] == 1, "bad line is %d, expected 1", lines[0]);
	CHECK(check(kh, "example.org", 22, &ed_a, &line) == KNOWN_HOSTS_UNKNOWN,
	      "a host whose only entry is a bad line is unknown, not changed");
	CHECK(check(kh, "other.example", 22, &ed_a, &line) == KNOWN_HOSTS_MATCH,
	      "a line ending in CRLF still matches");
	CHECK(line == 2, "matched line %d, expected 2", line);
	known_hosts_free(kh);
	free(path);
}

static void test_short_host_names(void)
{
	char text[4096];
	struct known_hosts *kh;
	char *path;
	int line;

	snprintf(text, sizeof(text), "db %s\nx %s\n", ed_a.line, ed_a.line);
	path = write_file("short-names", text);
	kh = load(path);

	CHECK(check(kh, "db", 22, &ed_a, &line) == KNOWN_HOSTS_MATCH, "a two-letter host name must match");
	CHECK(line == 1, "two-letter name matched line %d, expected 1", line);
	CHECK(check(kh, "x", 22, &ed_a, &line) == KNOWN_HOSTS_MATCH, "a one-letter host name must match");
	CHECK(line == 2, "one-letter name matched line %d, expected 2", line);
	known_hosts_free(kh);
	free(path);
}

static void test_empty_host_name(void)
{
	char text[4096];
	struct known_hosts *kh;
	const int *lines;
	size_t n;
	char *path;
	int line;

	snprintf(text, sizeof(text), "example.org, %s\na.example,,b.example %s\nother.example %s\n", ed_a.line,
		 ed_a.line, ed_a.line);
	path = write_file("empty-name", text);
	kh = load(path);

	n = known_hosts_bad_lines(kh, &lines);
	CHECK(n == 2, "%zu bad lines, expected 2 (both lists with an empty name)", n);
	CHECK(n < 1 || lines[0] == 1, "first bad line is %d, expected 1", lines[0]);
	CHECK(n < 2 || lines[1] == 2, "second bad line is %d, expected 2", lines[1]);
	CHECK(check(kh, "other.example", 22, &ed_a, &line) == KNOWN_HOSTS_MATCH,
	      "an entry after lists with an empty name must still match");
	known_hosts_free(kh);
	free(path);
}

static void test_missing_file(void)
{
	char *path = NULL;
	struct known_hosts *kh;
	int line;

	if (asprintf(&path, "%s/does-not-exist", dir) < 0)
		abort();
	kh = load(path);
	CHECK(known_hosts_file_missing(kh), "a missing file is not reported as missing");
	CHECK(check(kh, "example.org", 22, &ed_a, &line) == KNOWN_HOSTS_UNKNOWN, "missing file: unknown host");
	known_hosts_free(kh);
	free(path);
}

static void test_algorithm_order(void)
{
	static const char *const algs[] = { "ecdsa-sha2-nistp256", "ssh-ed25519", "rsa-sha2-512", "ssh-rsa" };
	char text[4096], order[512];
	struct known_hosts *kh;
	char *path;
	int n;

	snprintf(text, sizeof(text), "[127.0.0.1]:2222 %s\n", ed_a.line);
	path = write_file("order", text);
	kh = load(path);

	n = known_hosts_order_algorithms(kh, "127.0.0.1", 2222, algs, 4, order, sizeof(order));
	CHECK(n == 1, "%d known algorithms, expected 1", n);
	CHECK(strcmp(order, "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,ssh-rsa") == 0, "order: %s", order);

	n = known_hosts_order_algorithms(kh, "127.0.0.1", 2223, algs, 4, order, sizeof(order));
	CHECK(n == 0, "unknown host: %d known algorithms, expected 0", n);
	CHECK(order[0] == '\0', "unknown host: order \"%s\", expected empty", order);
	known_hosts_free(kh);
	free(path);
}

static void test_format_entry(void)
{
	char expected[1200];
	char *entry;

	entry = known_hosts_format_entry("Web1.Example.org", 22, ed_a.hostkey_type, ed_a.blob, ed_a.blob_len);
	snprintf(expected, sizeof(expected), "web1.example.org %s", ed_a.line);
	CHECK(strcmp(entry, expected) == 0, "port 22: \"%s\", expected \"%s\"", entry, expected);
	free(entry);

	entry = known_hosts_format_entry("127.0.0.1", 2222, ecdsa.hostkey_type, ecdsa.blob, ecdsa.blob_len);
	snprintf(expected, sizeof(expected), "[127.0.0.1]:2222 %s", ecdsa.line);
	CHECK(strcmp(entry, expected) == 0, "port 2222: \"%s\", expected \"%s\"", entry, expected);
	free(entry);
}

static void test_other_type_line(void)
{
	char text[4096];
	struct known_hosts *kh;
	char *path;
	int line;

	snprintf(text, sizeof(text), "example.org %s\n[127.0.0.1]:2222 %s\n", ecdsa.line, ed_a.line);
	path = write_file("other_type", text);
	kh = load(path);

	line = known_hosts_other_type_line(kh, "example.org", 22, LIBSSH2_HOSTKEY_TYPE_ED25519);
	CHECK(line == 1, "ed25519 offered where ecdsa is listed: line %d, expected 1", line);
	line = known_hosts_other_type_line(kh, "example.org", 22, LIBSSH2_HOSTKEY_TYPE_ECDSA_256);
	CHECK(line == 0, "only the offered type is listed: line %d, expected 0", line);
	line = known_hosts_other_type_line(kh, "127.0.0.1", 2222, LIBSSH2_HOSTKEY_TYPE_ECDSA_256);
	CHECK(line == 2, "ecdsa offered where ed25519 is listed: line %d, expected 2", line);
	line = known_hosts_other_type_line(kh, "127.0.0.1", 22, LIBSSH2_HOSTKEY_TYPE_ECDSA_256);
	CHECK(line == 0, "another port: line %d, expected 0", line);
	known_hosts_free(kh);
	free(path);
}

int main(void)
{
	char *cmd = NULL;

	if (mkdtemp(dir) == NULL)
		return 1;
	if (libssh2_init(0) != 0 || (session = libssh2_session_init()) == NULL)
		return 1;

	make_key("ed_a", "ed25519", LIBSSH2_HOSTKEY_TYPE_ED25519, &ed_a);
	make_key("ed_b", "ed25519", LIBSSH2_HOSTKEY_TYPE_ED25519, &ed_b);
	make_key("ecdsa", "ecdsa", LIBSSH2_HOSTKEY_TYPE_ECDSA_256, &ecdsa);

	test_plain_and_bracketed();
	test_hashed();
	test_changed_and_revoked();
	test_bad_lines();
	test_upper_case_entries();
	test_hashed_wrong_length();
	test_unpadded_key();
	test_break_inside_line();
	test_short_host_names();
	test_empty_host_name();
	test_missing_file();
	test_algorithm_order();
	test_format_entry();
	test_other_type_line();

	libssh2_session_free(session);
	libssh2_exit();
	if (asprintf(&cmd, "rm -rf %s", dir) >= 0)
		system(cmd);
	free(cmd);
	return check_exit_status();
}
