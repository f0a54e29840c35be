/* Versions of provisiond and the libraries it is linked with, for the startup banner and -t. */
#ifndef PROVISIOND_VERSIONS_H
#define PROVISIOND_VERSIONS_H

#include <stdio.h>

/* Writes "name version" pairs separated by SEP. */
void versions_print(FILE *out, const char *sep);

/* Logs the versions and the libev backend at info level. */
void versions_log(void);

#endif
