#include "pgarray.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static void reserve(struct pgarray *a, size_t extra)
{
	if (a->len + extra + 1 <= a->cap)
		return;
	a->cap = (a->len + extra + 1) * 2;
	a->buf = xrealloc(a->buf, a->cap);
}

static void append(struct pgarray *a, const char *s, size_t n)
{
	reserve(a, n);
	memcpy(a->buf + a->len, s, n);
	a->len += n;
	a->buf[a->len] = '\0';
}

void pgarray_add(struct pgarray *a, const char *value)
{
	if (a->count > 0)
		append(a, ",", 1);
	a->count++;

	if (value == NULL) {
		append(a, "NULL", 4);
		return;
	}

	/* Worst case: every byte escaped, plus the two quotes. */
	reserve(a, strlen(value) * 2 + 2);
	a->buf[a->len++] = '"';
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			a->buf[a->len++] = '\\';
		a->buf[a->len++] = *p;
	}
	a->buf[a->len++] = '"';
	a->buf[a->len] = '\0';
}

void pgarray_concat(struct pgarray *dst, struct pgarray *src)
{
	if (src->count == 0)
		return;
	if (dst->count > 0)
		append(dst, ",", 1);
	append(dst, src->buf, src->len);
	dst->count += src->count;
	pgarray_clear(src);
}

char *pgarray_literal(const struct pgarray *a)
{
	return xasprintf("{%s}", a->count > 0 ? a->buf : "");
}

void pgarray_clear(struct pgarray *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

int pgarray_clear_count(struct pgarray *a)
{
	int count = a->count;

	pgarray_clear(a);
	return count;
}
