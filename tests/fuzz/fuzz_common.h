/*
 * Helpers shared by the libFuzzer harnesses in this folder.
 */
#ifndef PROVISION_FUZZ_COMMON_H
#define PROVISION_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * Aborts with a message when an expected property of the code under test
 * does not hold.  Unlike assert() it stays on in builds with -DNDEBUG,
 * and libFuzzer saves the input that made it abort.
 */
#define FUZZ_CHECK(cond)                                                                \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                        \
		}                                                                       \
	} while (0)

/*
 * A file in memory whose path can be given to code that opens files by
 * name.  A memfd needs no folder to write to and nothing to clean up, and
 * it is reused across runs, so no run leaves a file behind.
 */
struct fuzz_file {
	int fd;
	char path[64];
};

static inline void fuzz_file_open(struct fuzz_file *file, const char *name)
{
	file->fd = memfd_create(name, MFD_CLOEXEC);
	if (file->fd < 0) {
		perror("memfd_create");
		abort();
	}
	snprintf(file->path, sizeof(file->path), "/proc/self/fd/%d", file->fd);
}

/* Replaces the content of FILE with the SIZE bytes of DATA. */
static inline void fuzz_file_write(struct fuzz_file *file, const uint8_t *data, size_t size)
{
	size_t done = 0;

	if (ftruncate(file->fd, 0) != 0) {
		perror("ftruncate");
		abort();
	}
	while (done < size) {
		ssize_t n = pwrite(file->fd, data + done, size - done, (off_t)done);

		if (n <= 0) {
			perror("pwrite");
			abort();
		}
		done += (size_t)n;
	}
}

#endif
