/*
 * Host key verification against an OpenSSH known_hosts file, done before
 * authentication so that no signature is ever sent to an impostor.
 *
 * Lookup follows OpenSSH: host names are compared without regard to case
 * (both the one looked up and those in the file), port 22 uses the plain
 * name and any other port only "[name]:port".  Plain names,
 * comma-separated name lists and hashed names ("|1|salt|hash", as written
 * by ssh-keygen -H or HashKnownHosts) are understood.  A key listed on a
 * "@revoked" line is rejected for every host, whatever the line's host
 * pattern, which is stricter than OpenSSH.  Not supported, so they never
 * match: wildcard and negated patterns ("*", "?", "!") and
 * "@cert-authority" lines; they are counted so the caller can warn.
 *
 * Nothing here writes the file, because trusting a new key is the
 * operator's decision: provisionctl trust-host appends the line that
 * known_hosts_format_entry builds after the operator confirmed the key.
 */
#ifndef PROVISION_KNOWN_HOSTS_H
#define PROVISION_KNOWN_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include <libssh2.h>

enum known_hosts_status {
	KNOWN_HOSTS_MATCH,
	KNOWN_HOSTS_UNKNOWN,	/* no entry for this host with this key type */
	KNOWN_HOSTS_CHANGED,	/* an entry for this host and key type holds another key */
	KNOWN_HOSTS_REVOKED,	/* the key is listed on a @revoked line */
};

/* How many line numbers of each kind a load keeps for messages. */
#define KNOWN_HOSTS_MAX_LINES_KEPT 8

struct known_hosts;

/*
 * Reads the known_hosts file at PATH for use with SESSION, which needs no
 * connection yet.  A missing file loads as an empty set (see
 * known_hosts_file_missing), so the caller can report the host key it got.
 * Returns NULL with a message in err when the file cannot be read.
 */
struct known_hosts *known_hosts_load(LIBSSH2_SESSION *session, const char *path,
				     char *err, size_t errlen);

void known_hosts_free(struct known_hosts *kh);

bool known_hosts_file_missing(const struct known_hosts *kh);

/*
 * Lines that could not be parsed and lines with unsupported patterns or
 * markers.  Each returns the total count and stores up to
 * KNOWN_HOSTS_MAX_LINES_KEPT line numbers (counted from 1) in lines.
 */
size_t known_hosts_bad_lines(const struct known_hosts *kh, const int **lines);
size_t known_hosts_unsupported_lines(const struct known_hosts *kh, const int **lines);

/*
 * Checks the host key KEY (KEY_LEN bytes in SSH wire format, of
 * LIBSSH2_HOSTKEY_TYPE_* type HOSTKEY_TYPE) for HOST and PORT.  Stores in
 * *line the line of the matching, conflicting or revoking entry, or 0.
 */
enum known_hosts_status known_hosts_check(const struct known_hosts *kh, const char *host, int port,
					  int hostkey_type, const void *key, size_t key_len,
					  int *line);

/*
 * Returns the line of an entry for HOST and PORT whose key type differs
 * from HOSTKEY_TYPE, or 0 when there is none.
 */
int known_hosts_other_type_line(const struct known_hosts *kh, const char *host, int port,
				int hostkey_type);

/*
 * Builds the known_hosts line, without a line feed, that lists KEY (in SSH
 * wire format) for HOST and PORT: the host name in lower case, written
 * "[HOST]:PORT" unless PORT is 22, then the key type and the base64 key.
 * Returns a malloc'ed string.
 */
char *known_hosts_format_entry(const char *host, int port, int hostkey_type, const void *key,
			       size_t key_len);

/*
 * Orders the host key algorithms ALGS (N names, as libssh2 lists them) the
 * way OpenSSH does: algorithms whose key type the file holds for HOST and
 * PORT come first, the rest after, each group in the given order.  Writes
 * the comma-separated list into OUT (size SIZE) and returns how many
 * algorithms had a known key; with none, OUT is left empty.
 */
int known_hosts_order_algorithms(const struct known_hosts *kh, const char *host, int port,
				 const char *const *algs, int n, char *out, size_t size);

/* Returns the known_hosts key type name ("ssh-ed25519", ...) for a LIBSSH2_HOSTKEY_TYPE_*. */
const char *known_hosts_key_type_name(int hostkey_type);

#endif
