#include "sync_walk.h"

#include <errno.h>
#include <fnmatch.h>
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text_sanitize.h"
#include "xalloc.h"

/* ---- sorted lists ---- */

struct sync_entry *sync_list_add(struct sync_list *list, const char *path)
{
	struct sync_entry *e;

	if (list->count == list->capacity) {
		list->capacity = list->capacity ? list->capacity * 2 : 256;
		list->entries = xrealloc(list->entries, list->capacity * sizeof(*list->entries));
	}
	e = &list->entries[list->count++];
	memset(e, 0, sizeof(*e));
	e->path = xstrdup(path);
	e->match = -1;
	return e;
}

static int compare_entries(const void *a, const void *b)
{
	return strcmp(((const struct sync_entry *)a)->path, ((const struct sync_entry *)b)->path);
}

void sync_list_sort(struct sync_list *list)
{
	if (list->count > 1)
		qsort(list->entries, list->count, sizeof(*list->entries), compare_entries);
}

long sync_list_find(const struct sync_list *list, const char *path)
{
	size_t low = 0, high = list->count;

	while (low < high) {
		size_t mid = low + (high - low) / 2;
		int c = strcmp(list->entries[mid].path, path);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			low = mid + 1;
		else
			high = mid;
	}
	return -1;
}

void sync_list_free(struct sync_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->entries[i].path);
		free(list->entries[i].link_target);
	}
	free(list->entries);
	memset(list, 0, sizeof(*list));
}

unsigned sync_path_depth(const char *path)
{
	unsigned depth = path[0] != '\0';

	for (const char *s = path; *s; s++)
		if (*s == '/')
			depth++;
	return depth;
}

/* ---- excludes ---- */

static const char *const vcs_folders[] = { ".git", ".svn", ".hg", ".bzr" };

const char *sync_exclude_check(const char *pattern)
{
	size_t len = strlen(pattern);

	if (len == 0)
		return "an exclude pattern must not be empty";
	if (len > 1024)
		return "an exclude pattern must be at most 1024 bytes long";
	if (strspn(pattern, "/") == len)
		return "an exclude pattern must contain more than \"/\"";
	return NULL;
}

void sync_filter_init(struct sync_filter *f, const struct sync_options *opt)
{
	size_t n = 0;

	memset(f, 0, sizeof(*f));
	f->vcs = opt->exclude_vcs;
	while (opt->exclude != NULL && opt->exclude[n] != NULL)
		n++;
	f->count = n;
	f->patterns = xcalloc(n ? n : 1, sizeof(*f->patterns));
	f->dir_only = xcalloc(n ? n : 1, sizeof(*f->dir_only));
	f->anchored = xcalloc(n ? n : 1, sizeof(*f->anchored));

	for (size_t i = 0; i < n; i++) {
		const char *p = opt->exclude[i];
		size_t len = strlen(p);

		while (len > 0 && p[len - 1] == '/') {
			f->dir_only[i] = true;
			len--;
		}
		f->anchored[i] = memchr(p, '/', len) != NULL;
		while (len > 0 && *p == '/') {
			p++;
			len--;
		}
		f->patterns[i] = xstrndup(p, len);
	}
}

void sync_filter_free(struct sync_filter *f)
{
	for (size_t i = 0; i < f->count; i++)
		free(f->patterns[i]);
	free(f->patterns);
	free(f->dir_only);
	free(f->anchored);
	memset(f, 0, sizeof(*f));
}

bool sync_filter_excludes(const struct sync_filter *f, const char *path, bool is_dir)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;

	if (f->vcs && is_dir) {
		for (size_t i = 0; i < sizeof(vcs_folders) / sizeof(vcs_folders[0]); i++)
			if (strcmp(name, vcs_folders[i]) == 0)
				return true;
	}
	for (size_t i = 0; i < f->count; i++) {
		if (f->dir_only[i] && !is_dir)
			continue;
		if (f->anchored[i] ? fnmatch(f->patterns[i], path, FNM_PATHNAME) == 0
				   : fnmatch(f->patterns[i], name, 0) == 0)
			return true;
	}
	return false;
}

/* ---- the local walk ---- */

static int compare_names(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

static void fill_attrs(struct sync_entry *e, const struct stat *st)
{
	e->mode = st->st_mode & 07777;
	e->size = (uint64_t)st->st_size;
	e->atime = (unsigned long)st->st_atime;
	e->mtime = (unsigned long)st->st_mtime;
	if (S_ISREG(st->st_mode))
		e->type = SYNC_TYPE_FILE;
	else if (S_ISDIR(st->st_mode))
		e->type = SYNC_TYPE_DIR;
	else if (S_ISLNK(st->st_mode))
		e->type = SYNC_TYPE_LINK;
	else
		e->type = SYNC_TYPE_OTHER;
}

static int read_link(const char *path, char **target)
{
	size_t size = 256;

	for (;;) {
		char *buf = xmalloc(size);
		ssize_t n = readlink(path, buf, size);

		if (n < 0) {
			free(buf);
			return -1;
		}
		if ((size_t)n < size) {
			buf[n] = '\0';
			*target = buf;
			return 0;
		}
		free(buf);
		size *= 2;
	}
}

static void set_walk_error(char *err, size_t errlen, const char *operation, const char *path, int errnum)
{
	char *printable = text_sanitize_dup(path, strlen(path));

	snprintf(err, errlen, "%s \"%s\" on this host failed: %s", operation, printable, strerror(errnum));
	free(printable);
}

/*
 * fts(3) is used rather than nftw(3) because it can skip an excluded
 * folder's subtree (fts_set FTS_SKIP) and sort siblings, both portably.
 */
int sync_walk_local(const char *root, const struct sync_filter *f, sync_notice_fn notice, void *arg,
		    struct sync_list *out, struct sync_entry *root_entry, char *err, size_t errlen)
{
	char *paths[] = { (char *)root, NULL };
	size_t root_len = strlen(root);
	FTSENT *ent;
	FTS *fts;
	int rc = -1;

	/* FTS_COMFOLLOW follows ROOT itself if it is a link, because the caller named it. */
	fts = fts_open(paths, FTS_PHYSICAL | FTS_COMFOLLOW | FTS_NOCHDIR, compare_names);
	if (fts == NULL) {
		set_walk_error(err, errlen, "listing", root, errno);
		return -1;
	}

	for (;;) {
		errno = 0;
		ent = fts_read(fts);
		if (ent == NULL)
			break;

		const char *rel;
		struct sync_entry *e;

		switch (ent->fts_info) {
		case FTS_DP:
			continue;
		case FTS_DNR:
		case FTS_ERR:
		case FTS_NS:
			set_walk_error(err, errlen, ent->fts_info == FTS_NS ? "stat of" : "listing",
				       ent->fts_path, ent->fts_errno);
			goto out;
		case FTS_DC:
			set_walk_error(err, errlen, "listing", ent->fts_path, ELOOP);
			goto out;
		}

		if (ent->fts_level == 0) {
			if (ent->fts_info != FTS_D) {
				set_walk_error(err, errlen, "listing", root, ENOTDIR);
				goto out;
			}
			memset(root_entry, 0, sizeof(*root_entry));
			fill_attrs(root_entry, ent->fts_statp);
			root_entry->match = -1;
			continue;
		}

		rel = ent->fts_path + root_len;
		while (*rel == '/')
			rel++;
		if (sync_filter_excludes(f, rel, ent->fts_info == FTS_D)) {
			if (ent->fts_info == FTS_D)
				fts_set(fts, ent, FTS_SKIP);
			continue;
		}
		if (strncmp(ent->fts_name, SYNC_TEMP_PREFIX, strlen(SYNC_TEMP_PREFIX)) == 0) {
			if (notice != NULL)
				notice(arg, rel, "its name starts with " SYNC_TEMP_PREFIX
				       ", which sync reserves for temporary files");
			if (ent->fts_info == FTS_D)
				fts_set(fts, ent, FTS_SKIP);
			continue;
		}

		e = sync_list_add(out, rel);
		fill_attrs(e, ent->fts_statp);
		if (e->type == SYNC_TYPE_LINK && read_link(ent->fts_accpath, &e->link_target) != 0) {
			set_walk_error(err, errlen, "readlink of", ent->fts_path, errno);
			goto out;
		}
	}
	if (errno != 0) {
		set_walk_error(err, errlen, "listing", root, errno);
		goto out;
	}
	rc = 0;

out:
	fts_close(fts);
	sync_list_sort(out);
	return rc;
}
