/* Unit tests of base64 against the RFC 4648 test vectors. */
#include <string.h>

#include "base64.h"
#include "check.h"

static const struct {
	const char *plain;
	const char *padded;
	const char *unpadded;
} vectors[] = {
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const char *plain = vectors[i].plain;
		char encoded[16];
		unsigned char decoded[16];
		ssize_t n;

		CHECK(base64_encoded_size(strlen(plain)) == strlen(vectors[i].padded) + 1,
		      "encoded size of \"%s\"", plain);
		base64_encode(plain, strlen(plain), encoded, true);
		CHECK(strcmp(encoded, vectors[i].padded) == 0, "padded \"%s\": got %s", plain, encoded);
		base64_encode(plain, strlen(plain), encoded, false);
		CHECK(strcmp(encoded, vectors[i].unpadded) == 0, "unpadded \"%s\": got %s", plain, encoded);

		n = base64_decode(vectors[i].padded, strlen(vectors[i].padded), decoded);
		CHECK(n == (ssize_t)strlen(plain), "decoding %s gave %zd bytes", vectors[i].padded, n);
		CHECK(n < 0 || memcmp(decoded, plain, (size_t)n) == 0, "decoding %s gave other bytes",
		      vectors[i].padded);
		n = base64_decode(vectors[i].unpadded, strlen(vectors[i].unpadded), decoded);
		CHECK(n == (ssize_t)strlen(plain), "decoding %s gave %zd bytes", vectors[i].unpadded, n);
		CHECK(n < 0 || memcmp(decoded, plain, (size_t)n) == 0, "decoding %s gave other bytes",
		      vectors[i].unpadded);
	}

	{
		unsigned char decoded[16];

		CHECK(base64_decode("Zm9v\nYmFy", 9, decoded) == 6, "line break inside input not skipped");
		CHECK(base64_decode("Zm9v!", 5, decoded) == -1, "invalid character accepted");
		CHECK(base64_decode("Zg==Zg", 6, decoded) == -1, "data after padding accepted");
	}
	return check_exit_status();
}
