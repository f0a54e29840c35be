/*
 * Base64 with the standard alphabet (RFC 4648), as used in known_hosts
 * lines, OpenSSH key files and SHA256 fingerprints.
 *
 * Written here because libssh2 exposes no encoder and this project does not
 * link OpenSSL directly; the codec is small and needs no secrets handling.
 */
#ifndef PROVISION_BASE64_H
#define PROVISION_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Returns the buffer size base64_encode needs for LEN bytes, including the NUL. */
size_t base64_encoded_size(size_t len);

/*
 * Encodes LEN bytes into OUT and terminates it with a NUL.  Without PAD the
 * trailing '=' characters are left out, as in OpenSSH fingerprints.
 */
void base64_encode(const void *data, size_t len, char *out, bool pad);

/*
 * Decodes LEN characters of IN into OUT, which must hold LEN / 4 * 3 + 3
 * bytes.  Spaces and line breaks are skipped and padding is optional.
 * Returns the number of bytes written, or -1 on any other character.
 */
ssize_t base64_decode(const char *in, size_t len, unsigned char *out);

#endif
