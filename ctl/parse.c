#include "parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "output.h"
#include "xalloc.h"

#define SERVER_NAME_MAX 64
#define HOSTNAME_MAX 253	/* RFC 1035: 255 octets on the wire, 253 as text */
#define DNS_LABEL_MAX 63
#define USER_NAME_MAX 32	/* useradd's limit on Linux, and MySQL's since 5.7.8 */
#define BASE_DIR_MAX 4095	/* PATH_MAX on Linux, less the terminating NUL */

int parse_number(const char *command, const char *label, const char *text,
		 long long min, long long max, long long *out)
{
	char *end;
	long long value;

	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || isspace((unsigned char)text[0]) ||
	    value < min || value > max)
		return ctl_usage_error(command, "invalid %s \"%s\": expected a whole number "
				       "from %lld to %lld", label, text, min, max);
	*out = value;
	return 0;
}

int parse_task_id(const char *command, const char *text, long long *id)
{
	return parse_number(command, "task id", text, 1, INT64_MAX, id);
}

int parse_no_options(const char *command, int argc, char **argv)
{
	static const struct option none[] = { { NULL, 0, NULL, 0 } };

	if (getopt_long(argc, argv, "", none, NULL) != -1)
		return ctl_option_error(command);
	return 0;
}

int parse_task_id_argument(const char *command, int argc, char **argv, long long *id)
{
	if (optind >= argc)
		return ctl_usage_error(command, "missing task ID");
	if (optind + 1 < argc)
		return ctl_usage_error(command, "unexpected argument \"%s\"", argv[optind + 1]);
	return parse_task_id(command, argv[optind], id);
}

/* Returns true for a letter, digit, '.', '-' or '_'. */
static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

/* Returns true if NAME is 1 to MAX name characters and does not start with '-'. */
static bool is_portable_name(const char *name, size_t max)
{
	size_t len = strlen(name);

	if (len == 0 || len > max || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_name_char(name[i]))
			return false;
	return true;
}

int check_server_name(const char *command, const char *name)
{
	if (is_portable_name(name, SERVER_NAME_MAX))
		return 0;
	return ctl_usage_error(command, "invalid server name \"%s\": use 1 to %d letters, digits, "
			       "'.', '-' and '_', not starting with '-'", name, SERVER_NAME_MAX);
}

static bool is_ip_address(const char *text)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, text, buf) == 1 || inet_pton(AF_INET6, text, buf) == 1;
}

/* Checks one DNS label of LEN characters: letters, digits and '-', not at either end. */
static bool is_dns_label(const char *label, size_t len)
{
	if (len == 0 || len > DNS_LABEL_MAX || label[0] == '-' || label[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)label[i]) && label[i] != '-')
			return false;
	return true;
}

/* Returns true for a DNS name with an optional final dot and a last label that is not all digits. */
static bool is_dns_name(const char *name)
{
	size_t len = strlen(name);
	const char *label = name, *last = name;
	bool digits_only = true;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > HOSTNAME_MAX)
		return false;

	while (label < name + len) {
		const char *dot = memchr(label, '.', (size_t)(name + len - label));
		size_t label_len = dot != NULL ? (size_t)(dot - label) : (size_t)(name + len - label);

		if (!is_dns_label(label, label_len))
			return false;
		last = label;
		label += label_len + 1;
	}

	/* An all-digit last label means a mistyped IPv4 address such as 10.0.0.256. */
	for (const char *p = last; p < name + len; p++)
		if (!isdigit((unsigned char)*p))
			digits_only = false;
	return !digits_only;
}

int check_hostname(const char *command, const char *hostname)
{
	if (is_ip_address(hostname) || is_dns_name(hostname))
		return 0;
	return ctl_usage_error(command, "invalid hostname \"%s\": expected a DNS name such as "
			       "web1.example.com, or an IPv4 or IPv6 address", hostname);
}

int check_user_name(const char *command, const char *label, const char *name)
{
	if (is_portable_name(name, USER_NAME_MAX))
		return 0;
	return ctl_usage_error(command, "invalid %s \"%s\": use 1 to %d letters, digits, '.', "
			       "'-' and '_', not starting with '-'", label, name, USER_NAME_MAX);
}

/* Returns true if PATH has a "." or ".." component. */
static bool has_dot_component(const char *path)
{
	for (const char *p = path; *p != '\0'; p++) {
		if (p[0] != '.' || (p != path && p[-1] != '/'))
			continue;
		if (p[1] == '\0' || p[1] == '/')
			return true;
		if (p[1] == '.' && (p[2] == '\0' || p[2] == '/'))
			return true;
	}
	return false;
}

int check_base_dir(const char *command, const char *path)
{
	size_t len = strlen(path);

	if (path[0] != '/' || len > BASE_DIR_MAX)
		return ctl_usage_error(command, "invalid base directory \"%s\": expected an "
				       "absolute path such as /var/aegir", path);
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)path[i]) && strchr("/._+-", path[i]) == NULL)
			return ctl_usage_error(command, "invalid base directory \"%s\": use only "
					       "letters, digits and /._+-", path);
	if (has_dot_component(path))
		return ctl_usage_error(command, "invalid base directory \"%s\": remove the "
				       "\".\" and \"..\" components", path);
	return 0;
}

int parse_key_value(const char *command, const char *option, const char *text, json_t *object)
{
	const char *eq = strchr(text, '=');
	json_t *value;
	char *key;

	if (eq == NULL || eq == text)
		return ctl_usage_error(command, "invalid %s \"%s\": expected KEY=VALUE, such as "
				       "%s sleep_ms=100", option, text, option);

	key = xstrndup(text, (size_t)(eq - text));
	if (json_object_get(object, key) != NULL) {
		ctl_usage_error(command, "%s %s is given twice; keep one", option, key);
		free(key);
		return CTL_EXIT_USAGE;
	}

	value = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
	if (value == NULL)
		value = json_string(eq + 1);

	/* jansson rejects keys and strings that are not valid UTF-8. */
	if (value == NULL || json_object_set_new(object, key, value) != 0) {
		ctl_usage_error(command, "invalid %s \"%s\": it is not valid UTF-8", option, text);
		free(key);
		return CTL_EXIT_USAGE;
	}
	free(key);
	return 0;
}
