#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "xalloc.h"

#ifndef PROVISIOND_WORKER_PATH
#define PROVISIOND_WORKER_PATH "/usr/libexec/provisiond/provisiond-worker"
#endif

enum setting_type {
	SETTING_STRING,
	SETTING_PATH,		/* a string that must be an absolute path */
	SETTING_INT,
	SETTING_SECONDS,	/* a non-negative decimal number of seconds */
	SETTING_LEVEL,
};

struct setting {
	const char *name;
	enum setting_type type;
	size_t offset;
	const char *default_value;	/* NULL: required or left unset */
	double min;
	double max;
};

#define FIELD(f) offsetof(struct config, f)

/* The one description of every setting: parsing, defaults and the dump all read it. */
static const struct setting settings[] = {
	{ "database", SETTING_STRING, FIELD(database), NULL, 0, 0 },
	{ "workers", SETTING_INT, FIELD(workers), "4", 1, 1024 },
	{ "poll_interval", SETTING_SECONDS, FIELD(poll_interval), "2", 0.05, 3600 },
	{ "base_dir", SETTING_PATH, FIELD(base_dir), "/var/aegir", 0, 0 },
	{ "ssh_private_key", SETTING_PATH, FIELD(ssh_private_key), "/var/aegir/.ssh/id_ed25519", 0, 0 },
	{ "ssh_known_hosts", SETTING_PATH, FIELD(ssh_known_hosts), "/var/aegir/.ssh/known_hosts", 0, 0 },
	{ "worker_program", SETTING_PATH, FIELD(worker_program), PROVISIOND_WORKER_PATH, 0, 0 },
	{ "state_dir", SETTING_PATH, FIELD(state_dir), "/var/lib/provisiond", 0, 0 },
	{ "worker_max_tasks", SETTING_INT, FIELD(worker_max_tasks), "1000", 1, 1000000000 },
	{ "worker_idle_timeout", SETTING_SECONDS, FIELD(worker_idle_timeout), "60", 1, 86400 },
	{ "log_level", SETTING_LEVEL, FIELD(log_level), "info", 0, 0 },
	{ "claim_batch", SETTING_INT, FIELD(claim_batch), "64", 1, 10000 },
	{ "prefetch", SETTING_INT, FIELD(prefetch), "64", 0, 10000 },
	{ "log_buffer_max", SETTING_INT, FIELD(log_buffer_max), "67108864", 65536, 1073741824 },
	{ "timeout_noop", SETTING_SECONDS, FIELD(timeout_noop), "300", 1, 604800 },
	{ "timeout_verify", SETTING_SECONDS, FIELD(timeout_verify), "600", 1, 604800 },
	{ "timeout_sync", SETTING_SECONDS, FIELD(timeout_sync), "3600", 1, 604800 },
	{ "timeout_restart", SETTING_SECONDS, FIELD(timeout_restart), "300", 1, 604800 },
	{ "kill_grace", SETTING_SECONDS, FIELD(kill_grace), "10", 0, 3600 },
	{ "shutdown_grace", SETTING_SECONDS, FIELD(shutdown_grace), "30", 0, 86400 },
	{ "lease_duration", SETTING_SECONDS, FIELD(lease_duration), "30", 3, 3600 },
};

#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

static void append_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append_error(char *err, size_t errlen, const char *fmt, ...)
{
	size_t used = strlen(err);
	va_list ap;

	if (used + 2 >= errlen)
		return;
	if (used > 0)
		err[used++] = '\n';
	va_start(ap, fmt);
	vsnprintf(err + used, errlen - used, fmt, ap);
	va_end(ap);
}

static const struct setting *find_setting(const char *name)
{
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (strcmp(settings[i].name, name) == 0)
			return &settings[i];
	return NULL;
}

static char **string_field(struct config *cfg, const struct setting *s)
{
	return (char **)((char *)cfg + s->offset);
}

/* Stores VALUE into the field of S; returns NULL or a static description of what is wrong. */
static const char *apply_value(struct config *cfg, const struct setting *s, const char *value)
{
	char *end;

	switch (s->type) {
	case SETTING_PATH:
		if (value[0] != '/')
			return "must be an absolute path (starting with /)";
		/* fall through */
	case SETTING_STRING:
		if (value[0] == '\0')
			return "must not be empty";
		free(*string_field(cfg, s));
		*string_field(cfg, s) = xstrdup(value);
		return NULL;
	case SETTING_INT: {
		long n;

		errno = 0;
		n = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0')
			return "must be a whole number";
		if (n < (long)s->min || n > (long)s->max)
			return "is out of range";
		*(int *)((char *)cfg + s->offset) = (int)n;
		return NULL;
	}
	case SETTING_SECONDS: {
		double d;

		errno = 0;
		d = strtod(value, &end);
		if (errno != 0 || end == value || *end != '\0' || !isfinite(d))
			return "must be a number of seconds, such as 2 or 0.5";
		if (d < s->min || d > s->max)
			return "is out of range";
		*(double *)((char *)cfg + s->offset) = d;
		return NULL;
	}
	case SETTING_LEVEL:
		if (log_level_parse(value, (enum log_level *)((char *)cfg + s->offset)) != 0)
			return "must be one of error, warning, notice, info, debug";
		return NULL;
	}
	return "has an unknown type";
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/*
 * Cuts a trailing comment: a '#' after whitespace, outside double quotes,
 * so that "workers = 4  # two per core" reads as 4.
 */
static void strip_trailing_comment(char *value)
{
	bool quoted = false;

	for (char *p = value; *p != '\0'; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '#' && !quoted && p > value && isspace((unsigned char)p[-1])) {
			*p = '\0';
			break;
		}
	}
}

/* Strips one pair of surrounding double quotes; returns -1 if only one side has them. */
static int unquote(char **value)
{
	size_t len = strlen(*value);

	if (len == 0 || (*value)[0] != '"')
		return (len > 0 && (*value)[len - 1] == '"') ? -1 : 0;
	if (len < 2 || (*value)[len - 1] != '"')
		return -1;
	(*value)[len - 1] = '\0';
	(*value)++;
	return 0;
}

static void describe_range(const struct setting *s, char *buf, size_t len)
{
	if (s->type == SETTING_INT)
		snprintf(buf, len, " (allowed: %.0f to %.0f)", s->min, s->max);
	else if (s->type == SETTING_SECONDS)
		snprintf(buf, len, " (allowed: %g to %g seconds)", s->min, s->max);
	else
		buf[0] = '\0';
}

/* Parses one line; returns 0, or -1 after appending an error. */
static int parse_line(struct config *cfg, unsigned char *seen, const char *path, int lineno,
		      char *line, char *err, size_t errlen)
{
	const struct setting *s;
	const char *problem;
	char *key, *value, *eq;
	char range[64];

	key = trim(line);
	if (key[0] == '\0' || key[0] == '#')
		return 0;

	eq = strchr(key, '=');
	if (eq == NULL) {
		append_error(err, errlen, "%s:%d: expected \"key = value\", found \"%s\"",
			     path, lineno, key);
		return -1;
	}
	*eq = '\0';
	key = trim(key);
	strip_trailing_comment(eq + 1);
	value = trim(eq + 1);

	s = find_setting(key);
	if (s == NULL) {
		append_error(err, errlen, "%s:%d: unknown setting \"%s\"; see provisiond.conf(5) "
			     "or the README for the list", path, lineno, key);
		return -1;
	}
	if (seen[s - settings]) {
		append_error(err, errlen, "%s:%d: setting \"%s\" is given twice; keep one",
			     path, lineno, key);
		return -1;
	}
	seen[s - settings] = 1;

	if (unquote(&value) != 0) {
		append_error(err, errlen, "%s:%d: value of \"%s\" has an unmatched double quote",
			     path, lineno, key);
		return -1;
	}
	problem = apply_value(cfg, s, value);
	if (problem != NULL) {
		describe_range(s, range, sizeof(range));
		append_error(err, errlen, "%s:%d: %s = \"%s\" %s%s", path, lineno, key, value,
			     problem, range);
		return -1;
	}
	return 0;
}

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < N_SETTINGS; i++) {
		if (settings[i].default_value != NULL)
			(void)apply_value(cfg, &settings[i], settings[i].default_value);
	}
}

int config_load(const char *path, struct config *out, char *err, size_t errlen)
{
	unsigned char seen[N_SETTINGS] = { 0 };
	struct config cfg;
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, failed = 0;
	FILE *f;

	err[0] = '\0';
	f = fopen(path, "r");
	if (f == NULL) {
		append_error(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
		return -1;
	}

	config_defaults(&cfg);
	while (getline(&line, &cap, f) != -1) {
		lineno++;
		if (parse_line(&cfg, seen, path, lineno, line, err, errlen) != 0)
			failed = 1;
	}
	if (ferror(f)) {
		append_error(err, errlen, "%s: read error: %s", path, strerror(errno));
		failed = 1;
	}
	free(line);
	fclose(f);

	if (cfg.database != NULL) {
		char *pq_error = NULL;
		PQconninfoOption *opts = PQconninfoParse(cfg.database, &pq_error);

		if (opts == NULL) {
			size_t len = pq_error ? strlen(pq_error) : 0;

			while (len > 0 && pq_error[len - 1] == '\n')
				pq_error[--len] = '\0';
			append_error(err, errlen, "%s: database is not a valid libpq connection string: %s",
				     path, pq_error ? pq_error : "out of memory");
			failed = 1;
		}
		PQconninfoFree(opts);
		PQfreemem(pq_error);
	}
	if (cfg.database == NULL) {
		append_error(err, errlen, "%s: setting \"database\" is missing; add a libpq "
			     "connection string such as: database = \"host=/run/postgresql "
			     "dbname=provision\"", path);
		failed = 1;
	}
	if (failed) {
		config_free(&cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < N_SETTINGS; i++) {
		if (settings[i].type == SETTING_STRING || settings[i].type == SETTING_PATH) {
			free(*string_field(cfg, &settings[i]));
			*string_field(cfg, &settings[i]) = NULL;
		}
	}
}

/* Writes the connection string with the value of any password keyword replaced. */
static void dump_conninfo(const char *conninfo, FILE *out)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	int first = 1;

	if (opts == NULL) {
		fputs("(unparsable connection string)", out);
		return;
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		fprintf(out, "%s%s=%s", first ? "" : " ", o->keyword,
			strcmp(o->keyword, "password") == 0 ? "********" : o->val);
		first = 0;
	}
	PQconninfoFree(opts);
}

void config_dump(const struct config *cfg, FILE *out)
{
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		const char *base = (const char *)cfg + s->offset;

		fprintf(out, "%s = ", s->name);
		switch (s->type) {
		case SETTING_STRING:
		case SETTING_PATH:
			if (strcmp(s->name, "database") == 0 && *(char *const *)base != NULL)
				dump_conninfo(*(char *const *)base, out);
			else
				fputs(*(char *const *)base ? *(char *const *)base : "", out);
			break;
		case SETTING_INT:
			fprintf(out, "%d", *(const int *)base);
			break;
		case SETTING_SECONDS:
			fprintf(out, "%g", *(const double *)base);
			break;
		case SETTING_LEVEL:
			fputs(log_level_name(*(const enum log_level *)base), out);
			break;
		}
		fputc('\n', out);
	}
}

double config_task_timeout(const struct config *cfg, const char *type)
{
	if (strcmp(type, "verify") == 0)
		return cfg->timeout_verify;
	if (strcmp(type, "sync") == 0)
		return cfg->timeout_sync;
	if (strcmp(type, "restart") == 0)
		return cfg->timeout_restart;
	return cfg->timeout_noop;
}
