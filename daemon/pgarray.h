/*
 * Builds PostgreSQL array literals ("{...}") in text form, so that a batch
 * of rows travels as a few array parameters of one statement (unnest()).
 */
#ifndef PROVISIOND_PGARRAY_H
#define PROVISIOND_PGARRAY_H

#include <stddef.h>

/* The elements of one array, without the surrounding braces. */
struct pgarray {
	char *buf;
	size_t len;
	size_t cap;
	int count;
};

/* Appends VALUE as a quoted element, or an unquoted NULL when VALUE is NULL. */
void pgarray_add(struct pgarray *a, const char *value);

/* Appends all elements of SRC after those of DST and empties SRC. */
void pgarray_concat(struct pgarray *dst, struct pgarray *src);

/* Returns the literal, "{...}", as a new string. */
char *pgarray_literal(const struct pgarray *a);

void pgarray_clear(struct pgarray *a);

/* Empties A and returns how many elements it had. */
int pgarray_clear_count(struct pgarray *a);

#endif
