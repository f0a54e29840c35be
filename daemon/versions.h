/* Versions of provisiond and the libraries it is linked with, for the startup banner and -t. */
#ifndef PROVISIOND_VERSIONS_H
#define PROVISIOND_VERSIONS_H

#include <stdio.h>

/* Writes "name version" pairs separated by SEP. */
void versions_print(FILE *out, const char *sep);

/* Logs the versions and the libev backend at info level. */
void versions_log(void);

/*
 * Runs PROGRAM (provisiond-worker) with PROTO_VERSIONS_OPTION and copies
 * each line it prints to OUT, after PREFIX.  The worker links libssh2 and
 * MariaDB Connector/C, which the daemon does not.  Returns 0, or -1 when
 * the program could not be started or did not exit with status 0; it then
 * has written the reason to stderr.
 */
int versions_print_worker(const char *program, FILE *out, const char *prefix);

#endif
