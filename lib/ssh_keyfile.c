#include "ssh_keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "xalloc.h"

/* Key files are a few kilobytes; anything much larger is not a key. */
#define KEYFILE_MAX_SIZE (64 * 1024)

static const char openssh_begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
static const char openssh_end[] = "-----END OPENSSH PRIVATE KEY-----";
static const char openssh_magic[] = "openssh-key-v1";	/* followed by a NUL in the blob */

const char *ssh_key_type_name(enum ssh_key_type type)
{
	switch (type) {
	case SSH_KEY_ED25519:
		return "ed25519";
	case SSH_KEY_ECDSA:
		return "ecdsa";
	case SSH_KEY_RSA:
		return "rsa";
	case SSH_KEY_DSA:
		return "dsa";
	case SSH_KEY_OTHER:
		return "other";
	case SSH_KEY_UNKNOWN:
		break;
	}
	return "unknown";
}

static enum ssh_key_type classify_type_name(const char *name)
{
	if (strcmp(name, "ssh-ed25519") == 0)
		return SSH_KEY_ED25519;
	if (strncmp(name, "ecdsa-sha2-", 11) == 0)
		return SSH_KEY_ECDSA;
	if (strcmp(name, "ssh-rsa") == 0)
		return SSH_KEY_RSA;
	if (strcmp(name, "ssh-dss") == 0)
		return SSH_KEY_DSA;
	return SSH_KEY_OTHER;
}

/* Reads an SSH wire-format string (uint32 length, bytes) at *pos; returns its length or -1. */
static long read_string(const unsigned char *blob, size_t len, size_t *pos, const unsigned char **out)
{
	uint32_t n;

	if (len - *pos < 4)
		return -1;
	n = (uint32_t)blob[*pos] << 24 | (uint32_t)blob[*pos + 1] << 16 |
	    (uint32_t)blob[*pos + 2] << 8 | blob[*pos + 3];
	*pos += 4;
	if (n > len - *pos)
		return -1;
	*out = blob + *pos;
	*pos += n;
	return (long)n;
}

/*
 * Parses the OpenSSH format: the magic, then the strings ciphername,
 * kdfname and kdfoptions, a uint32 key count and the first public key,
 * whose first string is its type.  The layout is PROTOCOL.key in OpenSSH.
 */
static int parse_openssh(const unsigned char *blob, size_t len, struct ssh_key_info *out)
{
	const unsigned char *cipher, *kdf, *kdfopts, *pubkey, *type;
	long cipher_len, pubkey_len, type_len;
	size_t pos = sizeof(openssh_magic);
	size_t pubpos = 0;

	if (len < sizeof(openssh_magic) || memcmp(blob, openssh_magic, sizeof(openssh_magic)) != 0)
		return -1;

	cipher_len = read_string(blob, len, &pos, &cipher);
	if (cipher_len < 0 || read_string(blob, len, &pos, &kdf) < 0 ||
	    read_string(blob, len, &pos, &kdfopts) < 0 || len - pos < 4)
		return -1;
	pos += 4;	/* number of keys; only the first is used */

	pubkey_len = read_string(blob, len, &pos, &pubkey);
	if (pubkey_len < 0)
		return -1;
	type_len = read_string(pubkey, (size_t)pubkey_len, &pubpos, &type);
	if (type_len < 0 || (size_t)type_len >= sizeof(out->type_name))
		return -1;

	out->encrypted = !(cipher_len == 4 && memcmp(cipher, "none", 4) == 0);
	memcpy(out->type_name, type, (size_t)type_len);
	out->type_name[type_len] = '\0';
	out->type = classify_type_name(out->type_name);
	return 0;
}

static int inspect_openssh(const char *text, struct ssh_key_info *out)
{
	const char *body = strstr(text, openssh_begin);
	const char *end;
	unsigned char *blob;
	ssize_t len;
	int rc;

	body += strlen(openssh_begin);
	end = strstr(body, openssh_end);
	if (end == NULL)
		return -1;

	blob = xmalloc((size_t)(end - body) / 4 * 3 + 3);
	len = base64_decode(body, (size_t)(end - body), blob);
	rc = len < 0 ? -1 : parse_openssh(blob, (size_t)len, out);
	explicit_bzero(blob, (size_t)(end - body) / 4 * 3 + 3);
	free(blob);
	return rc;
}

/* Classifies the PEM and PKCS#8 formats by their armor line; OpenSSL writes these. */
static int inspect_pem(const char *text, struct ssh_key_info *out)
{
	if (strstr(text, "-----BEGIN RSA PRIVATE KEY-----") != NULL) {
		out->type = SSH_KEY_RSA;
		strcpy(out->type_name, "ssh-rsa");
	} else if (strstr(text, "-----BEGIN EC PRIVATE KEY-----") != NULL) {
		out->type = SSH_KEY_ECDSA;
	} else if (strstr(text, "-----BEGIN DSA PRIVATE KEY-----") != NULL) {
		out->type = SSH_KEY_DSA;
		strcpy(out->type_name, "ssh-dss");
	} else if (strstr(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL) {
		out->encrypted = true;
		return 0;
	} else if (strstr(text, "-----BEGIN PRIVATE KEY-----") != NULL) {
		return 0;
	} else {
		return -1;
	}

	out->encrypted = strstr(text, "Proc-Type: 4,ENCRYPTED") != NULL;
	return 0;
}

static char *read_key_file(const char *path, char *err, size_t errlen)
{
	char *text = xmalloc(KEYFILE_MAX_SIZE + 1);
	size_t used = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open private key %s: %s", path, strerror(errno));
		free(text);
		return NULL;
	}

	for (;;) {
		ssize_t n = read(fd, text + used, KEYFILE_MAX_SIZE + 1 - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read private key %s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > KEYFILE_MAX_SIZE) {
			snprintf(err, errlen, "private key %s is larger than %d bytes, so it is not a key file",
				 path, KEYFILE_MAX_SIZE);
			goto fail;
		}
	}

	close(fd);
	text[used] = '\0';
	return text;

fail:
	close(fd);
	explicit_bzero(text, KEYFILE_MAX_SIZE + 1);
	free(text);
	return NULL;
}

static bool looks_like_public_key(const char *text)
{
	return strncmp(text, "ssh-", 4) == 0 || strncmp(text, "ecdsa-sha2-", 11) == 0 ||
	       strncmp(text, "sk-", 3) == 0;
}

int ssh_keyfile_inspect(const char *path, struct ssh_key_info *out, char *err, size_t errlen)
{
	struct ssh_key_info info = { .type = SSH_KEY_UNKNOWN };
	char *text;
	int rc = -1;

	text = read_key_file(path, err, errlen);
	if (text == NULL)
		return -1;

	if (strstr(text, openssh_begin) != NULL) {
		rc = inspect_openssh(text, &info);
		if (rc != 0)
			snprintf(err, errlen, "private key %s is damaged: its OpenSSH key header cannot be parsed",
				 path);
	} else if (looks_like_public_key(text)) {
		snprintf(err, errlen, "%s is a public key; the setting needs the private key (the file without .pub)",
			 path);
	} else if (strncmp(text, "PuTTY-User-Key-File", 19) == 0) {
		snprintf(err, errlen, "%s is a PuTTY key; convert it with puttygen KEY -O private-openssh -o FILE",
			 path);
	} else {
		rc = inspect_pem(text, &info);
		if (rc != 0)
			snprintf(err, errlen, "%s is not a private key file (no OpenSSH or PEM private key header)",
				 path);
	}

	explicit_bzero(text, strlen(text));
	free(text);
	if (rc == 0)
		*out = info;
	return rc;
}
