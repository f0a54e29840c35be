#include "text_sanitize.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "xalloc.h"

/*
 * Returns the length of the well-formed UTF-8 sequence at P (at most LEN
 * bytes available), or 0 if the bytes there are not one.  The ranges follow
 * the table of well-formed byte sequences in the Unicode Standard, chapter 3.
 */
static size_t utf8_sequence_length(const unsigned char *p, size_t len, uint32_t *code_point)
{
	size_t need;
	unsigned char lo = 0x80, hi = 0xbf;
	uint32_t cp;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		need = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 3;
		cp = p[0] & 0x0f;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* overlong below U+0800 */
		else if (p[0] == 0xed)
			hi = 0x9f;	/* UTF-16 surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 4;
		cp = p[0] & 0x07;
		if (p[0] == 0xf0)
			lo = 0x90;	/* overlong below U+10000 */
		else if (p[0] == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else {
		return 0;
	}

	if (len < need)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	cp = (cp << 6) | (p[1] & 0x3f);
	for (size_t i = 2; i < need; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}

	*code_point = cp;
	return need;
}

static bool code_point_allowed(uint32_t cp)
{
	if (cp < 0xa0)
		return false;	/* C1 controls */
	if (cp >= 0x202a && cp <= 0x202e)
		return false;	/* bidirectional embeddings and overrides */
	if (cp >= 0x2066 && cp <= 0x2069)
		return false;	/* bidirectional isolates */
	return true;
}

size_t text_sanitize(const void *data, size_t len, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *in = data;
	size_t used = 0;
	size_t i = 0;

	while (i < len) {
		uint32_t cp = 0;
		size_t n = 1;

		if ((in[i] >= 0x20 && in[i] < 0x7f) || in[i] == '\t') {
			if (used + 1 >= size)
				break;
			out[used++] = (char)in[i];
		} else if (in[i] >= 0x80 && (n = utf8_sequence_length(in + i, len - i, &cp)) > 0 &&
			   code_point_allowed(cp)) {
			if (used + n >= size)
				break;
			memcpy(out + used, in + i, n);
			used += n;
		} else {
			/* Escape only the first byte; the loop looks at the next one afresh. */
			n = 1;
			if (used + 4 >= size)
				break;
			out[used++] = '\\';
			out[used++] = 'x';
			out[used++] = hex[in[i] >> 4];
			out[used++] = hex[in[i] & 0x0f];
		}
		i += n;
	}

	out[used] = '\0';
	return i;
}

char *text_sanitize_dup(const void *data, size_t len)
{
	size_t size = len * TEXT_SANITIZE_MAX_EXPANSION + 1;
	char *out = xmalloc(size);

	text_sanitize(data, len, out, size);
	return out;
}
