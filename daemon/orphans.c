#include "orphans.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

#define PREFIX "spill-"
#define SUFFIX ".dat"

/* Returns the daemon name in a spill file's name, or NULL if FILE is not a spill file. */
static char *name_of_file(const char *file)
{
	size_t len = strlen(file), prefix = strlen(PREFIX), suffix = strlen(SUFFIX);

	if (len <= prefix + suffix || strncmp(file, PREFIX, prefix) != 0 ||
	    strcmp(file + len - suffix, SUFFIX) != 0)
		return NULL;
	return xstrndup(file + prefix, len - prefix - suffix);
}

/* Splits NAME ("host:pid") into a new host string and a pid; returns -1 if it has no valid pid. */
static int split_name(const char *name, char **host, int *pid)
{
	const char *colon = strrchr(name, ':');
	char *end;
	long value;

	if (colon == NULL || colon == name || colon[1] == '\0')
		return -1;
	errno = 0;
	value = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || value <= 0 || value > 0x7fffffff)
		return -1;
	*host = xstrndup(name, (size_t)(colon - name));
	*pid = (int)value;
	return 0;
}

static int compare_paths(const void *a, const void *b)
{
	return strcmp(((const struct orphan *)a)->path, ((const struct orphan *)b)->path);
}

/* Adds FILE to LIST if it is the spill file of another daemon of OWN_HOST. */
static void consider(const char *state_dir, const char *file, const char *own_name,
		     const char *own_host, struct orphan **list, int *count)
{
	char *name = name_of_file(file), *host = NULL;
	struct orphan *o;
	int pid;

	if (name == NULL || strcmp(name, own_name) == 0)
		goto out;
	if (split_name(name, &host, &pid) != 0) {
		log_warning("%s/%s looks like a spill file but names no daemon (host:pid); it is left "
			    "alone", state_dir, file);
		goto out;
	}
	if (strcmp(host, own_host) != 0) {
		log_notice("spill file %s/%s belongs to daemon %s of another host; it is left alone",
			   state_dir, file, name);
		goto out;
	}

	*list = xrealloc(*list, sizeof(**list) * (size_t)(*count + 1));
	o = &(*list)[(*count)++];
	o->path = xasprintf("%s/%s", state_dir, file);
	o->daemon_name = name;
	o->hostname = host;
	o->pid = pid;
	o->process_gone = kill(pid, 0) != 0 && errno == ESRCH;
	name = host = NULL;

out:
	free(name);
	free(host);
}

int orphans_find(const char *state_dir, const char *own_name, struct orphan **out)
{
	struct orphan *list = NULL;
	char *own_host = NULL;
	int count = 0, own_pid;
	struct dirent *entry;
	DIR *dir;

	*out = NULL;
	if (split_name(own_name, &own_host, &own_pid) != 0)
		return 0;
	dir = opendir(state_dir);
	if (dir == NULL) {
		if (errno != ENOENT)
			log_error("cannot read state_dir %s to look for spill files of stopped daemons: %s",
				  state_dir, strerror(errno));
		free(own_host);
		return 0;
	}

	while ((entry = readdir(dir)) != NULL)
		consider(state_dir, entry->d_name, own_name, own_host, &list, &count);
	closedir(dir);
	free(own_host);

	if (count > 1)
		qsort(list, (size_t)count, sizeof(*list), compare_paths);
	*out = list;
	return count;
}

void orphans_free(struct orphan *list, int count)
{
	for (int i = 0; i < count; i++) {
		free(list[i].path);
		free(list[i].daemon_name);
		free(list[i].hostname);
	}
	free(list);
}
