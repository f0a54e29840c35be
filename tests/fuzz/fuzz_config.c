/*
 * Fuzzes config_load with the content of a configuration file, and
 * config_dump with every configuration that loads.  The file is not
 * untrusted in production, but a typo in it must give an error message,
 * never a crash of the daemon at start or at a reload.
 *
 * Input: the content of the file.  config_load opens a path, so the input
 * goes into a memfd that it opens through /proc/self/fd.
 */
#include <string.h>

#include "config.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small enough that long inputs make config_load cut its messages. */
#define ERR_SIZE 512

static struct fuzz_file file = { .fd = -1 };
static FILE *dev_null;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char *err;
	int rc;

	if (file.fd < 0) {
		fuzz_file_open(&file, "provisiond.conf");
		dev_null = fopen("/dev/null", "w");
		FUZZ_CHECK(dev_null != NULL);
	}
	fuzz_file_write(&file, data, size);

	/* On the heap, so that AddressSanitizer reports a write past its end. */
	err = malloc(ERR_SIZE);
	FUZZ_CHECK(err != NULL);
	rc = config_load(file.path, &cfg, err, ERR_SIZE);
	FUZZ_CHECK(memchr(err, '\0', ERR_SIZE) != NULL);

	if (rc == 0) {
		FUZZ_CHECK(cfg.database != NULL && cfg.database[0] != '\0');
		FUZZ_CHECK(cfg.base_dir[0] == '/');
		FUZZ_CHECK(cfg.ssh_private_key[0] == '/');
		FUZZ_CHECK(cfg.ssh_known_hosts[0] == '/');
		FUZZ_CHECK(cfg.worker_program[0] == '/');
		FUZZ_CHECK(cfg.workers >= 1 && cfg.workers <= 1024);
		FUZZ_CHECK(cfg.poll_interval >= 0.05 && cfg.poll_interval <= 3600);
		FUZZ_CHECK(cfg.lease_duration >= 3 && cfg.lease_duration <= 3600);
		FUZZ_CHECK(cfg.log_buffer_max >= 65536);
		config_dump(&cfg, dev_null);
		config_free(&cfg);
	} else {
		FUZZ_CHECK(rc == -1);
		FUZZ_CHECK(err[0] != '\0');
	}

	free(err);
	return 0;
}
