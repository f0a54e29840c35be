/*
 * Output of provisionctl: error messages on stderr, and query results on
 * stdout either as aligned tables for people or as JSON for scripts.
 *
 * Result columns keep their SQL types in JSON: integers and numerics become
 * numbers, booleans booleans, json and jsonb the JSON value itself, NULL
 * null and everything else a string.
 */
#ifndef PROVISIONCTL_OUTPUT_H
#define PROVISIONCTL_OUTPUT_H

#include <stdio.h>

#include <jansson.h>
#include <libpq-fe.h>

/* Prints "provisionctl: MESSAGE" and a newline to stderr. */
void ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Prints "provisionctl: MESSAGE" and a hint to read COMMAND's --help (the
 * tool's when COMMAND is NULL).  Returns CTL_EXIT_USAGE.
 */
int ctl_usage_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Prints the hint to read COMMAND's --help after getopt has printed what
 * is wrong with an option.  Returns CTL_EXIT_USAGE.
 */
int ctl_option_error(const char *command);

/* Converts one row of RES to an object keyed by column name. */
json_t *result_row_to_json(const PGresult *res, int row);

/* Converts all rows of RES to an array of objects. */
json_t *result_to_json(const PGresult *res);

/*
 * Prints RES as a table: a header of column names, then one line per row
 * with columns aligned.  NULL prints as "-", booleans as yes or no, and
 * line breaks and tabs in
 * values print as spaces, so that every row stays on one line.
 */
void print_table(const PGresult *res, FILE *out);

/* Prints one row of RES as "column: value" lines, with json and jsonb values indented. */
void print_record(const PGresult *res, int row, FILE *out);

/* Writes VALUE to stdout as indented JSON and a newline, then releases VALUE. */
void print_json(json_t *value);

/*
 * Writes VALUE to stdout as one line of compact JSON, flushes stdout, then
 * releases VALUE.  Streams such as log -f print one such line per event.
 */
void print_json_line(json_t *value);

#endif
