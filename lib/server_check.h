/*
 * Validation of a server's connection fields before any remote action.
 * The schema checks the same rules (sql/003_server_checks.sql); the worker
 * checks again because a row may predate them.
 */
#ifndef PROVISION_SERVER_CHECK_H
#define PROVISION_SERVER_CHECK_H

#include <stddef.h>

/*
 * Checks name, hostname, SSH port, SSH user and base_dir.  Returns 0, or
 * -1 with a message in err (size errlen) that names the field, shows the
 * value safely, and says what is allowed.
 */
int server_check_fields(const char *name, const char *hostname, long port, const char *user,
			const char *base_dir, char *err, size_t errlen);

#endif
