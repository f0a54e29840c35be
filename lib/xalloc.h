/*
 * Allocation helpers that never return NULL: running out of memory is
 * fatal for every program of this project, so callers need no checks.
 */
#ifndef PROVISION_XALLOC_H
#define PROVISION_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t len);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
