#include "output.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "xalloc.h"

/*
 * Type OIDs of the built-in types that print as something other than a
 * string.  libpq ships no header with them (catalog/pg_type_d.h belongs to
 * the server headers), and built-in OIDs never change.
 */
enum {
	OID_BOOL = 16,
	OID_INT8 = 20,
	OID_INT2 = 21,
	OID_INT4 = 23,
	OID_JSON = 114,
	OID_FLOAT4 = 700,
	OID_FLOAT8 = 701,
	OID_NUMERIC = 1700,
	OID_JSONB = 3802,
};

static void vprint_error(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

static void vprint_error(const char *fmt, va_list ap)
{
	fputs("provisionctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ctl_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint_error(fmt, ap);
	va_end(ap);
}

int ctl_usage_error(const char *command, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint_error(fmt, ap);
	va_end(ap);

	if (command != NULL)
		return ctl_option_error(command);
	fputs("Try 'provisionctl --help'.\n", stderr);
	return CTL_EXIT_USAGE;
}

int ctl_option_error(const char *command)
{
	fprintf(stderr, "Try 'provisionctl %s --help'.\n", command);
	return CTL_EXIT_USAGE;
}

static bool is_json_type(Oid type)
{
	return type == OID_JSON || type == OID_JSONB;
}

static json_t *value_to_json(const PGresult *res, int row, int col)
{
	const char *text = PQgetvalue(res, row, col);
	Oid type = PQftype(res, col);
	json_t *value = NULL;

	if (PQgetisnull(res, row, col))
		return json_null();

	switch (type) {
	case OID_BOOL:
		return json_boolean(text[0] == 't');
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
		return json_integer(strtoll(text, NULL, 10));
	case OID_FLOAT4:
	case OID_FLOAT8:
	case OID_NUMERIC:
		/* json_loads rejects NaN and Infinity, which then stay strings. */
		value = json_loads(text, JSON_DECODE_ANY, NULL);
		break;
	case OID_JSON:
	case OID_JSONB:
		value = json_loads(text, JSON_DECODE_ANY, NULL);
		break;
	}
	return value != NULL ? value : json_string(text);
}

json_t *result_row_to_json(const PGresult *res, int row)
{
	json_t *object = json_object();

	for (int col = 0; col < PQnfields(res); col++)
		json_object_set_new(object, PQfname(res, col), value_to_json(res, row, col));
	return object;
}

json_t *result_to_json(const PGresult *res)
{
	json_t *array = json_array();

	for (int row = 0; row < PQntuples(res); row++)
		json_array_append_new(array, result_row_to_json(res, row));
	return array;
}

/* Counts UTF-8 code points, so that columns with non-ASCII text still line up. */
static size_t display_width(const char *s)
{
	size_t width = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			width++;
	return width;
}

/* Returns the text of a cell for people: "-" for NULL and yes or no for booleans. */
static const char *cell_text(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return "-";
	if (PQftype(res, col) == OID_BOOL)
		return PQgetvalue(res, row, col)[0] == 't' ? "yes" : "no";
	return PQgetvalue(res, row, col);
}

/* Writes S with control characters as spaces, then pads it to WIDTH unless LAST. */
static void print_cell(const char *s, size_t width, bool last, FILE *out)
{
	for (const char *p = s; *p != '\0'; p++)
		fputc((unsigned char)*p < 0x20 ? ' ' : *p, out);
	if (last)
		return;
	for (size_t used = display_width(s); used < width + 2; used++)
		fputc(' ', out);
}

void print_table(const PGresult *res, FILE *out)
{
	int ncols = PQnfields(res);
	size_t *widths = xcalloc((size_t)ncols, sizeof(*widths));

	for (int col = 0; col < ncols; col++) {
		widths[col] = display_width(PQfname(res, col));
		for (int row = 0; row < PQntuples(res); row++) {
			size_t width = display_width(cell_text(res, row, col));

			if (width > widths[col])
				widths[col] = width;
		}
	}

	for (int col = 0; col < ncols; col++)
		print_cell(PQfname(res, col), widths[col], col == ncols - 1, out);
	fputc('\n', out);
	for (int row = 0; row < PQntuples(res); row++) {
		for (int col = 0; col < ncols; col++)
			print_cell(cell_text(res, row, col), widths[col], col == ncols - 1, out);
		fputc('\n', out);
	}
	free(widths);
}

/* Prints a JSON value indented by two spaces under its column name. */
static void print_json_field(const char *text, FILE *out)
{
	json_t *value = json_loads(text, JSON_DECODE_ANY, NULL);
	char *pretty = value != NULL ? json_dumps(value, JSON_INDENT(2) | JSON_ENCODE_ANY) : NULL;

	if (pretty == NULL) {
		fprintf(out, " %s\n", text);
		goto out;
	}
	fputc('\n', out);
	for (char *line = strtok(pretty, "\n"); line != NULL; line = strtok(NULL, "\n"))
		fprintf(out, "  %s\n", line);

out:
	free(pretty);
	json_decref(value);
}

void print_record(const PGresult *res, int row, FILE *out)
{
	for (int col = 0; col < PQnfields(res); col++) {
		const char *text = cell_text(res, row, col);

		fprintf(out, "%s:", PQfname(res, col));
		if (is_json_type(PQftype(res, col)) && !PQgetisnull(res, row, col))
			print_json_field(text, out);
		else
			fprintf(out, " %s\n", text);
	}
}

void print_json(json_t *value)
{
	json_dumpf(value, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', stdout);
	json_decref(value);
}

void print_json_line(json_t *value)
{
	json_dumpf(value, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(value);
}
