#include "base64.h"

#include <string.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encoded_size(size_t len)
{
	return (len + 2) / 3 * 4 + 1;
}

void base64_encode(const void *data, size_t len, char *out, bool pad)
{
	const unsigned char *in = data;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*out++ = alphabet[in[i] >> 2];
		*out++ = alphabet[((in[i] & 0x03) << 4) | (in[i + 1] >> 4)];
		*out++ = alphabet[((in[i + 1] & 0x0f) << 2) | (in[i + 2] >> 6)];
		*out++ = alphabet[in[i + 2] & 0x3f];
	}

	if (i < len) {
		unsigned int second = i + 1 < len ? in[i + 1] : 0;

		*out++ = alphabet[in[i] >> 2];
		*out++ = alphabet[((in[i] & 0x03) << 4) | (second >> 4)];
		if (i + 1 < len)
			*out++ = alphabet[(second & 0x0f) << 2];
		else if (pad)
			*out++ = '=';
		if (pad)
			*out++ = '=';
	}
	*out = '\0';
}

static int decode_char(char c)
{
	const char *p;

	if (c == '\0')
		return -1;
	p = strchr(alphabet, c);
	return p == NULL ? -1 : (int)(p - alphabet);
}

ssize_t base64_decode(const char *in, size_t len, unsigned char *out)
{
	unsigned int acc = 0;
	int bits = 0;
	size_t written = 0;
	bool padding = false;

	for (size_t i = 0; i < len; i++) {
		int v;

		if (in[i] == ' ' || in[i] == '\t' || in[i] == '\r' || in[i] == '\n')
			continue;
		if (in[i] == '=') {
			padding = true;
			continue;
		}
		v = decode_char(in[i]);
		if (v < 0 || padding)
			return -1;

		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[written++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (ssize_t)written;
}
