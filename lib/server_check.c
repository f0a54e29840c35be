#include "server_check.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_sanitize.h"

static bool only_chars(const char *s, const char *allowed)
{
	return s[strspn(s, allowed)] == '\0';
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

static int reject(char *err, size_t errlen, const char *field, const char *value, const char *rule)
{
	char *shown = text_sanitize_dup(value, strlen(value));

	snprintf(err, errlen, "server %s \"%.200s\" is invalid: %s; correct it in provision.servers",
		 field, shown, rule);
	free(shown);
	return -1;
}

static bool base_dir_valid(const char *dir)
{
	size_t len = strlen(dir);

	if (dir[0] != '/' || len > 1024 || strstr(dir, "/../") != NULL)
		return false;
	if (len >= 3 && strcmp(dir + len - 3, "/..") == 0)
		return false;
	for (const char *p = dir; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int server_check_fields(const char *name, const char *hostname, long port, const char *user,
			const char *base_dir, char *err, size_t errlen)
{
	if (name == NULL || name[0] == '\0' || name[0] == '.' || name[0] == '-' || name[0] == '_' ||
	    strlen(name) > 63 || !only_chars(name, ALNUM "._-"))
		return reject(err, errlen, "name", name ? name : "",
			      "use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit");
	if (hostname == NULL || hostname[0] == '\0' || hostname[0] == '-' || strlen(hostname) > 253 ||
	    !only_chars(hostname, ALNUM "._:-[]"))
		return reject(err, errlen, "hostname", hostname ? hostname : "",
			      "use a DNS name or an IP address, not starting with '-'");
	if (port < 1 || port > 65535) {
		snprintf(err, errlen, "server ssh_port %ld is out of range: use 1 to 65535", port);
		return -1;
	}
	if (user == NULL || user[0] == '\0' || strlen(user) > 32 || (user[0] >= '0' && user[0] <= '9') ||
	    user[0] == '-' || !only_chars(user, "abcdefghijklmnopqrstuvwxyz0123456789_-"))
		return reject(err, errlen, "ssh_user", user ? user : "",
			      "use a POSIX user name: lower-case letters, digits, '_' or '-', "
			      "starting with a letter or '_'");
	if (base_dir == NULL || !base_dir_valid(base_dir))
		return reject(err, errlen, "base_dir", base_dir ? base_dir : "",
			      "use an absolute path without '..' components or control characters");
	return 0;
}
