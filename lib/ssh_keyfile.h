/*
 * Inspection of an SSH private key file before libssh2 reads it, so that
 * an encrypted key, a public key given by mistake or an RSA key on an old
 * libssh2 gets its own error: libssh2 1.10 reports all of these as the same
 * "Unable to extract public key from private key file".
 *
 * Only the unencrypted header is parsed: the OpenSSH format's cipher name
 * and first public key, or the PEM armor and its Proc-Type header.  The
 * secret part is never copied anywhere, and the decoded file contents are
 * wiped from memory before returning.
 */
#ifndef PROVISION_SSH_KEYFILE_H
#define PROVISION_SSH_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>

enum ssh_key_type {
	SSH_KEY_UNKNOWN,	/* a format that does not name its type, such as PKCS#8 */
	SSH_KEY_ED25519,
	SSH_KEY_ECDSA,
	SSH_KEY_RSA,
	SSH_KEY_DSA,
	SSH_KEY_OTHER,		/* named, but none of the above (for example a FIDO key) */
};

struct ssh_key_info {
	enum ssh_key_type type;
	bool encrypted;		/* protected by a passphrase */
	char type_name[64];	/* as the file names it, e.g. "ssh-ed25519"; "" if unknown */
};

/*
 * Reads the private key at PATH into *out.  Returns 0, or -1 with a message
 * in err (size errlen) when the file cannot be read or is not a private key.
 */
int ssh_keyfile_inspect(const char *path, struct ssh_key_info *out, char *err, size_t errlen);

/* Returns a short name for TYPE: "ed25519", "ecdsa", "rsa", "dsa", "other" or "unknown". */
const char *ssh_key_type_name(enum ssh_key_type type);

#endif
