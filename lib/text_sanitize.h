/*
 * Turns untrusted bytes, such as the output of a remote command or a
 * remote file name, into valid UTF-8 text that is safe to store in a task
 * log and to show in a terminal.
 *
 * Printable ASCII, tab and well-formed UTF-8 characters from U+00A0 up are
 * copied.  Every other byte is written as the four characters \xNN (lower
 * case hex): NUL and the other C0 controls, DEL, C1 controls (U+0080 to
 * U+009F, which terminals read as escape sequences), bytes that do not form
 * valid UTF-8 (overlong forms, surrogates, code points above U+10FFFF,
 * truncated sequences), and the bidirectional formatting characters U+202A
 * to U+202E and U+2066 to U+2069, which can make a line display in a
 * misleading order.  A backslash is copied as is, so the result is meant
 * for reading and cannot be decoded back into the original bytes.
 */
#ifndef PROVISION_TEXT_SANITIZE_H
#define PROVISION_TEXT_SANITIZE_H

#include <stddef.h>

/* The output size of one input byte at worst: "\xNN". */
#define TEXT_SANITIZE_MAX_EXPANSION 4

/*
 * Sanitizes LEN bytes of DATA into OUT, which has room for SIZE bytes
 * including the terminating NUL (SIZE must be at least 1).  Stops before
 * the first character whose result does not fit, so OUT never ends inside
 * an escape or a UTF-8 sequence.  Returns the number of input bytes
 * consumed; a value below LEN means the text was cut.
 */
size_t text_sanitize(const void *data, size_t len, char *out, size_t size);

/* Returns a newly allocated sanitized copy of all LEN bytes of DATA. */
char *text_sanitize_dup(const void *data, size_t len);

#endif
