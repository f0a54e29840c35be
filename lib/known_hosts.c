#include "known_hosts.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "xalloc.h"

/* The line that each libssh2 entry came from, for "see line N" in messages. */
struct entry_line {
	const struct libssh2_knownhost *entry;
	int line;
};

/* A key from a "@revoked" line, kept in base64 as the file has it. */
struct revoked_key {
	char *base64;
	int line;
};

struct line_list {
	size_t count;
	int kept[KNOWN_HOSTS_MAX_LINES_KEPT];
};

struct known_hosts {
	LIBSSH2_SESSION *session;
	LIBSSH2_KNOWNHOSTS *hosts;
	bool missing;

	struct entry_line *lines;
	size_t n_lines, cap_lines;
	struct libssh2_knownhost *last_entry;

	struct revoked_key *revoked;
	size_t n_revoked;

	struct line_list bad;
	struct line_list unsupported;
};

static const struct {
	int hostkey_type;
	int knownhost_mask;
	const char *name;
} key_types[] = {
	{ LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA, "ssh-rsa" },
	{ LIBSSH2_HOSTKEY_TYPE_DSS, LIBSSH2_KNOWNHOST_KEY_SSHDSS, "ssh-dss" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ecdsa-sha2-nistp256" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ecdsa-sha2-nistp384" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ecdsa-sha2-nistp521" },
	{ LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519, "ssh-ed25519" },
};

#define N_KEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

const char *known_hosts_key_type_name(int hostkey_type)
{
	for (size_t i = 0; i < N_KEY_TYPES; i++)
		if (key_types[i].hostkey_type == hostkey_type)
			return key_types[i].name;
	return "unknown";
}

static int knownhost_mask(int hostkey_type)
{
	for (size_t i = 0; i < N_KEY_TYPES; i++)
		if (key_types[i].hostkey_type == hostkey_type)
			return key_types[i].knownhost_mask;
	return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
}

/* Maps a host key algorithm name to the key type it signs with, or -1. */
static int algorithm_key_mask(const char *alg)
{
	if (strcmp(alg, "rsa-sha2-512") == 0 || strcmp(alg, "rsa-sha2-256") == 0)
		return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	for (size_t i = 0; i < N_KEY_TYPES; i++)
		if (strcmp(alg, key_types[i].name) == 0)
			return key_types[i].knownhost_mask;
	return -1;
}

static void line_list_add(struct line_list *list, int line)
{
	if (list->count < KNOWN_HOSTS_MAX_LINES_KEPT)
		list->kept[list->count] = line;
	list->count++;
}

/* Records the line of every entry that libssh2 appended since the last call. */
static void remember_new_entries(struct known_hosts *kh, int line)
{
	struct libssh2_knownhost *next;

	while (libssh2_knownhost_get(kh->hosts, &next, kh->last_entry) == 0) {
		if (kh->n_lines == kh->cap_lines) {
			kh->cap_lines = kh->cap_lines ? kh->cap_lines * 2 : 64;
			kh->lines = xrealloc(kh->lines, kh->cap_lines * sizeof(*kh->lines));
		}
		kh->lines[kh->n_lines].entry = next;
		kh->lines[kh->n_lines].line = line;
		kh->n_lines++;
		kh->last_entry = next;
	}
}

/*
 * Returns true if the key field of "HOSTS TYPE BASE64 [COMMENT]" decodes
 * and its blob starts with TYPE, as every SSH public key blob does.
 * libssh2_knownhost_readline stores any text as the key, and a garbled key
 * would later turn into a false "host key changed".
 *
 * The field must also be the padded base64 that encoding the blob gives
 * back, because libssh2 and revoked_line compare keys as base64 text.  A
 * key with its padding cut off or with stray bits in its last character
 * would never match, so a host would look changed and a @revoked line
 * would revoke nothing.
 *
 * libssh2 separates fields only at spaces and tabs, but sscanf also at
 * "\r", "\f", "\v" and "\n".  A line with one of those inside (the
 * trailing line break is already cut) is rejected, because the key
 * checked here would differ from the key libssh2 stores.
 */
static bool key_fields_valid(const char *line)
{
	char hosts[1024], type[64], key[16384];
	unsigned char *blob;
	char *encoded;
	ssize_t len;
	size_t type_len;
	bool ok;

	if (line[strcspn(line, "\r\f\v\n")] != '\0')
		return false;
	if (sscanf(line, "%1023s %63s %16383s", hosts, type, key) != 3)
		return false;
	blob = xmalloc(strlen(key) / 4 * 3 + 3);
	len = base64_decode(key, strlen(key), blob);
	type_len = strlen(type);
	ok = len >= (ssize_t)(4 + type_len) && blob[0] == 0 && blob[1] == 0 &&
	     ((size_t)blob[2] << 8 | blob[3]) == type_len && memcmp(blob + 4, type, type_len) == 0;
	if (ok) {
		encoded = xmalloc(base64_encoded_size((size_t)len));
		base64_encode(blob, (size_t)len, encoded, true);
		ok = strcmp(encoded, key) == 0;
		free(encoded);
	}
	free(blob);
	return ok;
}

/* Stores the key of a "@revoked HOSTS TYPE BASE64 [COMMENT]" line; REST follows the marker. */
static int add_revoked(struct known_hosts *kh, const char *rest, int line)
{
	char hosts[1024], type[64], key[16384];

	if (!key_fields_valid(rest) || sscanf(rest, "%1023s %63s %16383s", hosts, type, key) != 3)
		return -1;
	kh->revoked = xrealloc(kh->revoked, (kh->n_revoked + 1) * sizeof(*kh->revoked));
	kh->revoked[kh->n_revoked].base64 = xstrdup(key);
	kh->revoked[kh->n_revoked].line = line;
	kh->n_revoked++;
	return 0;
}

/*
 * Returns false if the host field at the start of LINE is a hashed name
 * ("|1|SALT|HASH", both base64) that is malformed or whose HASH does not
 * decode to the 20 bytes of an HMAC-SHA1.  Such a name can never match,
 * and libssh2 1.10 leaks an HMAC context each time it compares a host
 * with a hash of another length.
 */
static bool hashed_name_valid(const char *line)
{
	size_t field_len = strcspn(line, " \t");
	const char *salt = line + 3, *separator, *hash;
	size_t salt_len, hash_len;
	unsigned char *decoded;
	ssize_t salt_bytes, hash_bytes;

	if (field_len < 3 || strncmp(line, "|1|", 3) != 0)
		return true;
	separator = memchr(salt, '|', field_len - 3);
	if (separator == NULL)
		return false;
	salt_len = (size_t)(separator - salt);
	hash = separator + 1;
	hash_len = (size_t)(line + field_len - hash);

	decoded = xmalloc((salt_len > hash_len ? salt_len : hash_len) / 4 * 3 + 3);
	salt_bytes = base64_decode(salt, salt_len, decoded);
	hash_bytes = base64_decode(hash, hash_len, decoded);
	free(decoded);
	return salt_bytes > 0 && hash_bytes == 20;
}

/*
 * Lowercases the host field at the start of LINE, because OpenSSH
 * compares host names without regard to case and libssh2 compares them
 * with strcmp.  A hashed name keeps its case, which is part of its base64.
 */
static void lowercase_hosts(char *line)
{
	size_t field_len = strcspn(line, " \t");

	if (line[0] == '|')
		return;
	for (size_t i = 0; i < field_len; i++)
		line[i] = (char)tolower((unsigned char)line[i]);
}

/*
 * Returns false if the host field at the start of LINE has an empty name
 * in its comma-separated list ("a,", ",a" or "a,,b").  With libssh2 1.10
 * such an entry can fail to match its own names ("example.org," never
 * matched example.org), so the line is reported as bad instead.
 */
static bool host_list_valid(const char *line)
{
	size_t field_len = strcspn(line, " \t");

	if (field_len == 0 || line[0] == ',' || line[field_len - 1] == ',')
		return false;
	for (size_t i = 1; i < field_len; i++)
		if (line[i] == ',' && line[i - 1] == ',')
			return false;
	return true;
}

/*
 * Returns a copy of LINE with its host field written twice ("db,db") if
 * the field is shorter than 3 characters, or NULL.  libssh2 1.10 reads
 * such a field as a hashed name, so an entry for a host such as "db"
 * never matched.  A list of the same name twice is a plain entry that
 * matches that name.
 */
static char *widen_short_hosts(const char *line)
{
	size_t field_len = strcspn(line, " \t");

	if (field_len >= 3)
		return NULL;
	return xasprintf("%.*s,%s", (int)field_len, line, line);
}

static bool has_unsupported_pattern(const char *line)
{
	size_t host_len = strcspn(line, " \t");

	for (size_t i = 0; i < host_len; i++)
		if (line[i] == '*' || line[i] == '?' || line[i] == '!')
			return true;
	return false;
}

static void parse_line(struct known_hosts *kh, char *line, int lineno)
{
	size_t len = strlen(line);
	char *widened;
	int rc;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '\0' || *line == '#')
		return;

	if (strncmp(line, "@revoked", 8) == 0 && (line[8] == ' ' || line[8] == '\t')) {
		if (add_revoked(kh, line + 9, lineno) != 0)
			line_list_add(&kh->bad, lineno);
		return;
	}
	if (line[0] == '@') {
		line_list_add(&kh->unsupported, lineno);
		return;
	}
	if (!key_fields_valid(line) || !hashed_name_valid(line) || !host_list_valid(line)) {
		line_list_add(&kh->bad, lineno);
		return;
	}
	if (has_unsupported_pattern(line))
		line_list_add(&kh->unsupported, lineno);
	lowercase_hosts(line);

	widened = widen_short_hosts(line);
	if (widened != NULL)
		line = widened;
	rc = libssh2_knownhost_readline(kh->hosts, line, strlen(line), LIBSSH2_KNOWNHOST_FILE_OPENSSH);
	free(widened);
	if (rc != 0) {
		line_list_add(&kh->bad, lineno);
		return;
	}
	remember_new_entries(kh, lineno);
}

/*
 * libssh2_knownhost_readfile stops at the first line it cannot parse and
 * drops every entry after it, so one typo would turn all later hosts into
 * unknown hosts.  Reading the file here and handing libssh2 one line at a
 * time keeps the later lines and gives each bad line its number.
 */
struct known_hosts *known_hosts_load(LIBSSH2_SESSION *session, const char *path,
				     char *err, size_t errlen)
{
	struct known_hosts *kh = xcalloc(1, sizeof(*kh));
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0;
	FILE *f;

	kh->session = session;
	kh->hosts = libssh2_knownhost_init(session);
	if (kh->hosts == NULL) {
		snprintf(err, errlen, "libssh2_knownhost_init failed (out of memory)");
		free(kh);
		return NULL;
	}

	f = fopen(path, "re");
	if (f == NULL && errno == ENOENT) {
		kh->missing = true;
		return kh;
	}
	if (f == NULL) {
		snprintf(err, errlen, "cannot open known_hosts file %s: %s", path, strerror(errno));
		known_hosts_free(kh);
		return NULL;
	}

	while (getline(&line, &cap, f) >= 0)
		parse_line(kh, line, ++lineno);

	if (ferror(f)) {
		snprintf(err, errlen, "cannot read known_hosts file %s: %s", path, strerror(errno));
		free(line);
		fclose(f);
		known_hosts_free(kh);
		return NULL;
	}

	free(line);
	fclose(f);
	return kh;
}

void known_hosts_free(struct known_hosts *kh)
{
	if (kh == NULL)
		return;
	libssh2_knownhost_free(kh->hosts);
	for (size_t i = 0; i < kh->n_revoked; i++)
		free(kh->revoked[i].base64);
	free(kh->revoked);
	free(kh->lines);
	free(kh);
}

bool known_hosts_file_missing(const struct known_hosts *kh)
{
	return kh->missing;
}

size_t known_hosts_bad_lines(const struct known_hosts *kh, const int **lines)
{
	*lines = kh->bad.kept;
	return kh->bad.count;
}

size_t known_hosts_unsupported_lines(const struct known_hosts *kh, const int **lines)
{
	*lines = kh->unsupported.kept;
	return kh->unsupported.count;
}

/*
 * Builds the name OpenSSH looks up: lower case, and "[host]:port" unless
 * the port is 22.  The port is then passed to libssh2 as -1, because with a
 * port libssh2 also accepts an entry for the plain name, which OpenSSH does
 * not do for other ports.
 */
static char *lookup_name(const char *host, int port)
{
	char *name = port == 22 ? xstrdup(host) : xasprintf("[%s]:%d", host, port);

	for (char *p = name; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return name;
}

static int entry_line(const struct known_hosts *kh, const struct libssh2_knownhost *entry)
{
	for (size_t i = 0; i < kh->n_lines; i++)
		if (kh->lines[i].entry == entry)
			return kh->lines[i].line;
	return 0;
}

static int revoked_line(const struct known_hosts *kh, const void *key, size_t key_len)
{
	char *encoded;
	int line = 0;

	if (kh->n_revoked == 0)
		return 0;
	encoded = xmalloc(base64_encoded_size(key_len));
	base64_encode(key, key_len, encoded, true);
	for (size_t i = 0; i < kh->n_revoked && line == 0; i++)
		if (strcmp(kh->revoked[i].base64, encoded) == 0)
			line = kh->revoked[i].line;
	free(encoded);
	return line;
}

enum known_hosts_status known_hosts_check(const struct known_hosts *kh, const char *host, int port,
					  int hostkey_type, const void *key, size_t key_len,
					  int *line)
{
	struct libssh2_knownhost *entry = NULL;
	int typemask = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
		       knownhost_mask(hostkey_type);
	char *name;
	int rc;

	*line = revoked_line(kh, key, key_len);
	if (*line != 0)
		return KNOWN_HOSTS_REVOKED;

	name = lookup_name(host, port);
	rc = libssh2_knownhost_checkp(kh->hosts, name, -1, key, key_len, typemask, &entry);
	free(name);

	if (entry != NULL)
		*line = entry_line(kh, entry);
	if (rc == LIBSSH2_KNOWNHOST_CHECK_MATCH)
		return KNOWN_HOSTS_MATCH;
	if (rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH)
		return KNOWN_HOSTS_CHANGED;
	*line = 0;
	return KNOWN_HOSTS_UNKNOWN;
}

int known_hosts_other_type_line(const struct known_hosts *kh, const char *host, int port,
				int hostkey_type)
{
	static const char impossible_key[] = "-";
	char *name = lookup_name(host, port);
	int line = 0;

	for (size_t i = 0; i < N_KEY_TYPES && line == 0; i++) {
		struct libssh2_knownhost *entry = NULL;
		int rc;

		if (key_types[i].hostkey_type == hostkey_type)
			continue;
		/* A key that cannot match finds any entry of this type as a mismatch. */
		rc = libssh2_knownhost_checkp(kh->hosts, name, -1, impossible_key, 1,
					      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
						      key_types[i].knownhost_mask,
					      &entry);
		if (rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH && entry != NULL)
			line = entry_line(kh, entry);
	}
	free(name);
	return line;
}

char *known_hosts_format_entry(const char *host, int port, int hostkey_type, const void *key,
			       size_t key_len)
{
	char *name = lookup_name(host, port);
	char *encoded = xmalloc(base64_encoded_size(key_len));
	char *entry;

	base64_encode(key, key_len, encoded, true);
	entry = xasprintf("%s %s %s", name, known_hosts_key_type_name(hostkey_type), encoded);
	free(encoded);
	free(name);
	return entry;
}

/* Returns true if the file contains a key of type MASK for NAME, found by checking a key that cannot match. */
static bool has_key_type(const struct known_hosts *kh, const char *name, int mask)
{
	static const char impossible_key[] = "-";
	int rc;

	rc = libssh2_knownhost_checkp(kh->hosts, name, -1, impossible_key, 1,
				      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | mask,
				      NULL);
	return rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH;
}

static void append_algorithm(char *out, size_t size, const char *alg)
{
	size_t used = strlen(out);

	snprintf(out + used, size - used, "%s%s", used > 0 ? "," : "", alg);
}

int known_hosts_order_algorithms(const struct known_hosts *kh, const char *host, int port,
				 const char *const *algs, int n, char *out, size_t size)
{
	char *name = lookup_name(host, port);
	bool *known = xcalloc((size_t)n, sizeof(*known));
	int n_known = 0;

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		int mask = algorithm_key_mask(algs[i]);

		known[i] = mask >= 0 && has_key_type(kh, name, mask);
		if (known[i])
			n_known++;
	}

	if (n_known > 0) {
		for (int i = 0; i < n; i++)
			if (known[i])
				append_algorithm(out, size, algs[i]);
		for (int i = 0; i < n; i++)
			if (!known[i])
				append_algorithm(out, size, algs[i]);
	}

	free(known);
	free(name);
	return n_known;
}
