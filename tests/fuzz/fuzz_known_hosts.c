/*
 * Fuzzes known_hosts_load with the content of a known_hosts file, then
 * known_hosts_check and known_hosts_order_algorithms with host names and
 * keys taken from that content.  The file is edited by operators and
 * filled from ssh-keyscan output, so a bad line must be skipped, never
 * crash a worker or match the wrong host.
 *
 * Input: the content of the file.  known_hosts_load opens a path, so the
 * input goes into a memfd that it opens through /proc/self/fd.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <libssh2.h>

#include "base64.h"
#include "fuzz_common.h"
#include "known_hosts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The first lines of the input also serve as lookups.  More would only slow each run down. */
#define MAX_QUERIES 16

static struct fuzz_file file = { .fd = -1 };
static LIBSSH2_SESSION *session;

static const char *const algorithms[] = {
	"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
	"rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-dss", "no-such-algorithm",
};

#define N_ALGORITHMS ((int)(sizeof(algorithms) / sizeof(algorithms[0])))

/* Returns the LIBSSH2_HOSTKEY_TYPE_* of a key type name, or LIBSSH2_HOSTKEY_TYPE_UNKNOWN. */
static int hostkey_type(const char *name)
{
	for (int type = LIBSSH2_HOSTKEY_TYPE_RSA; type <= LIBSSH2_HOSTKEY_TYPE_ED25519; type++)
		if (strcmp(known_hosts_key_type_name(type), name) == 0)
			return type;
	return LIBSSH2_HOSTKEY_TYPE_UNKNOWN;
}

static int count_lines(const uint8_t *data, size_t size)
{
	int lines = 0;

	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n')
			lines++;
	if (size > 0 && data[size - 1] != '\n')
		lines++;
	return lines;
}

static void check_line_list(size_t count, const int *lines, int total_lines)
{
	size_t kept = count < KNOWN_HOSTS_MAX_LINES_KEPT ? count : KNOWN_HOSTS_MAX_LINES_KEPT;

	FUZZ_CHECK(count <= (size_t)total_lines);
	for (size_t i = 0; i < kept; i++)
		FUZZ_CHECK(lines[i] >= 1 && lines[i] <= total_lines);
}

static enum known_hosts_status check_host(const struct known_hosts *kh, const char *host, int port,
					  int type, const unsigned char *key, size_t key_len,
					  int total_lines)
{
	enum known_hosts_status status;
	char order[512], short_order[24];
	int line = -1, n_known;

	status = known_hosts_check(kh, host, port, type, key, key_len, &line);
	if (status == KNOWN_HOSTS_UNKNOWN)
		FUZZ_CHECK(line == 0);
	else
		FUZZ_CHECK(line >= 1 && line <= total_lines);

	n_known = known_hosts_order_algorithms(kh, host, port, algorithms, N_ALGORITHMS, order,
					       sizeof(order));
	FUZZ_CHECK(n_known >= 0 && n_known <= N_ALGORITHMS);
	FUZZ_CHECK((n_known == 0) == (order[0] == '\0'));

	/* Too small for the list, so the output is cut. */
	n_known = known_hosts_order_algorithms(kh, host, port, algorithms, N_ALGORITHMS, short_order,
					       sizeof(short_order));
	FUZZ_CHECK(n_known >= 0 && n_known <= N_ALGORITHMS);
	return status;
}

/* Returns true for a non-empty name made only of letters, digits, dots and hyphens. */
static bool is_plain_host(const char *name)
{
	return name[0] != '\0' &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-") ==
		       strlen(name);
}

/*
 * Looks up the first host name of LINE, a line of the input, with the key
 * of that line and with the same key changed in its last byte.  Hashed
 * names are looked up as example.com, the name the seed corpus hashes.
 *
 * A plain entry that loaded without complaint (SKIPPED is false unless
 * the load reported the line as bad or unsupported) must match a lookup
 * with its own name and key, as it does in OpenSSH.
 */
static void query_line(const struct known_hosts *kh, const char *line, bool skipped,
		       int total_lines)
{
	char hosts[256], type_name[64], key_text[4096], host[256], canonical[300];
	enum known_hosts_status status;
	bool expect_match = !skipped && line[0] != '@';
	unsigned char *key;
	ssize_t key_len;
	int port = 22;
	int type;

	if (line[0] == '@')
		line += strcspn(line, " \t");
	if (sscanf(line, "%255s %63s %4095s", hosts, type_name, key_text) != 3)
		return;

	hosts[strcspn(hosts, ",")] = '\0';
	if (hosts[0] == '|') {
		snprintf(host, sizeof(host), "example.com");
		expect_match = false;
	} else if (hosts[0] == '[' && sscanf(hosts, "[%255[^]]]:%d", host, &port) == 2) {
		if (port < 1 || port > 65535)
			return;
		/* OpenSSH writes port 22 as the plain name, and compares "[name]:port" as text. */
		snprintf(canonical, sizeof(canonical), "[%s]:%d", host, port);
		if (port == 22 || strcmp(canonical, hosts) != 0)
			expect_match = false;
	} else {
		snprintf(host, sizeof(host), "%s", hosts);
	}
	if (!is_plain_host(host))
		expect_match = false;

	type = hostkey_type(type_name);
	if (type == LIBSSH2_HOSTKEY_TYPE_UNKNOWN)
		expect_match = false;

	key = malloc(strlen(key_text) / 4 * 3 + 3);
	FUZZ_CHECK(key != NULL);
	key_len = base64_decode(key_text, strlen(key_text), key);
	if (key_len > 0) {
		status = check_host(kh, host, port, type, key, (size_t)key_len, total_lines);
		if (expect_match)
			FUZZ_CHECK(status == KNOWN_HOSTS_MATCH || status == KNOWN_HOSTS_REVOKED);
		key[key_len - 1] ^= 1;
		check_host(kh, host, port, type, key, (size_t)key_len, total_lines);
	}
	free(key);
}

/* Returns true if LINE is among the COUNT lines of LINES, or if some of them were not kept. */
static bool line_listed(size_t count, const int *lines, int line)
{
	if (count > KNOWN_HOSTS_MAX_LINES_KEPT)
		return true;
	for (size_t i = 0; i < count; i++)
		if (lines[i] == line)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char other_key[] = "\0\0\0\013ssh-ed25519\0\0\0\040abcdefghijklmnopqrstuvwxyz012345";
	struct known_hosts *kh;
	const int *bad, *unsupported;
	size_t n_bad, n_unsupported;
	char err[256];
	char *text, *rest;
	int total_lines = count_lines(data, size);
	int lineno = 0;

	if (session == NULL) {
		FUZZ_CHECK(libssh2_init(0) == 0);
		session = libssh2_session_init();
		FUZZ_CHECK(session != NULL);
		fuzz_file_open(&file, "known_hosts");
	}
	fuzz_file_write(&file, data, size);

	kh = known_hosts_load(session, file.path, err, sizeof(err));
	FUZZ_CHECK(kh != NULL);
	FUZZ_CHECK(!known_hosts_file_missing(kh));
	n_bad = known_hosts_bad_lines(kh, &bad);
	check_line_list(n_bad, bad, total_lines);
	n_unsupported = known_hosts_unsupported_lines(kh, &unsupported);
	check_line_list(n_unsupported, unsupported, total_lines);

	check_host(kh, "example.com", 22, LIBSSH2_HOSTKEY_TYPE_ED25519, other_key,
		   sizeof(other_key) - 1, total_lines);
	check_host(kh, "EXAMPLE.com", 2222, LIBSSH2_HOSTKEY_TYPE_ED25519, other_key,
		   sizeof(other_key) - 1, total_lines);

	/* The input as a C string: lines after a NUL byte are not queried. */
	text = malloc(size + 1);
	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	rest = text;
	for (char *line = strsep(&rest, "\n"); line != NULL && lineno < MAX_QUERIES;
	     line = strsep(&rest, "\n")) {
		bool skipped;

		lineno++;
		skipped = line_listed(n_bad, bad, lineno) || line_listed(n_unsupported, unsupported, lineno);
		query_line(kh, line + strspn(line, " \t"), skipped, total_lines);
	}
	free(text);

	known_hosts_free(kh);
	return 0;
}
