/*
 * Checks of command-line values.  Each function prints an error that
 * names the value, what is expected and the command's --help, and returns
 * CTL_EXIT_USAGE for an invalid value, or 0 for a valid one.
 */
#ifndef PROVISIONCTL_PARSE_H
#define PROVISIONCTL_PARSE_H

#include <jansson.h>

/* Parses TEXT, the value of LABEL (such as "--port"), as a whole number from MIN to MAX. */
int parse_number(const char *command, const char *label, const char *text,
		 long long min, long long max, long long *out);

/* Parses TEXT as a task id, a whole number from 1 up. */
int parse_task_id(const char *command, const char *text, long long *id);

/* Runs getopt for a command that has no options, so that any option is an error. */
int parse_no_options(const char *command, int argc, char **argv);

/*
 * Parses the one positional argument left after getopt, argv[optind], as
 * a task id; a missing or extra argument is an error too.
 */
int parse_task_id_argument(const char *command, int argc, char **argv, long long *id);

/* Server names: letters, digits, '.', '-' and '_', not starting with '-', 1 to 64 characters. */
int check_server_name(const char *command, const char *name);

/* Host names: a DNS name or an IPv4 or IPv6 address, without brackets. */
int check_hostname(const char *command, const char *hostname);

/*
 * User names (SSH and database): POSIX portable user names, that is
 * letters, digits, '.', '-' and '_', not starting with '-', 1 to 32
 * characters.  LABEL names the option in the message.
 */
int check_user_name(const char *command, const char *label, const char *name);

/*
 * Base directories: an absolute path without "." or ".." components, of
 * letters, digits and "/._+-" only, so that it needs no quoting in a shell.
 */
int check_base_dir(const char *command, const char *path);

/*
 * Parses TEXT, the value of OPTION (such as "--arg"), as KEY=VALUE and
 * sets KEY in OBJECT.  VALUE is stored as JSON when it parses as JSON
 * (numbers, true, false, null, strings in double quotes, arrays, objects)
 * and as a string otherwise.  A KEY given twice is an error.
 */
int parse_key_value(const char *command, const char *option, const char *text, json_t *object);

#endif
