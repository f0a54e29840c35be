/*
 * Unit tests of exclude matching (sync_walk.h): name patterns at any
 * depth, anchored path patterns, folder-only patterns, version control
 * folders, and the pattern check.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "../ssh/check.h"
#include "sync.h"
#include "sync_walk.h"

struct filter_case {
	const char *path;
	bool is_dir;
	bool excluded;
};

static void check_cases(const char *const *patterns, bool vcs, const struct filter_case *cases, size_t count)
{
	struct sync_options opt;
	struct sync_filter f;

	sync_options_default(&opt);
	opt.exclude = patterns;
	opt.exclude_vcs = vcs;
	sync_filter_init(&f, &opt);
	for (size_t i = 0; i < count; i++) {
		bool got = sync_filter_excludes(&f, cases[i].path, cases[i].is_dir);

		CHECK(got == cases[i].excluded, "path \"%s\" (%s, first pattern \"%s\", vcs %d): expected %s",
		      cases[i].path, cases[i].is_dir ? "folder" : "file", patterns[0] ? patterns[0] : "", vcs,
		      cases[i].excluded ? "excluded" : "kept");
	}
	sync_filter_free(&f);
}

static void test_name_patterns(void)
{
	static const char *const patterns[] = { "*.log", "cache", NULL };
	static const struct filter_case cases[] = {
		{ "debug.log", false, true },
		{ "a/b/c/debug.log", false, true },
		{ "a/debug.log.1", false, false },
		{ "cache", true, true },
		{ "sites/default/cache", true, true },
		{ "sites/default/cache", false, true },
		{ "cached", true, false },
		{ "cache/inner", false, false },
	};

	check_cases(patterns, false, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_anchored_patterns(void)
{
	static const char *const patterns[] = { "/top.txt", "sites/*/files", "sub/*.tmp", NULL };
	static const struct filter_case cases[] = {
		{ "top.txt", false, true },
		{ "sub/top.txt", false, false },
		{ "sites/default/files", true, true },
		{ "sites/a/b/files", true, false },
		{ "x/sites/default/files", true, false },
		{ "sub/x.tmp", false, true },
		{ "sub/deeper/x.tmp", false, false },
	};

	check_cases(patterns, false, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_folder_only_patterns(void)
{
	static const char *const patterns[] = { "tmp/", "/build/", NULL };
	static const struct filter_case cases[] = {
		{ "tmp", true, true },
		{ "a/tmp", true, true },
		{ "tmp", false, false },
		{ "build", true, true },
		{ "a/build", true, false },
		{ "build", false, false },
	};

	check_cases(patterns, false, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_vcs_folders(void)
{
	static const char *const none[] = { NULL };
	static const struct filter_case with_vcs[] = {
		{ ".git", true, true },
		{ "plugins/x/.svn", true, true },
		{ ".hg", true, true },
		{ ".bzr", true, true },
		{ ".git", false, false },	/* a .git file, as in a git worktree, is no folder */
		{ ".gitignore", false, false },
		{ ".github", true, false },
	};
	static const struct filter_case without_vcs[] = {
		{ ".git", true, false },
		{ "a/.svn", true, false },
	};

	check_cases(none, true, with_vcs, sizeof(with_vcs) / sizeof(with_vcs[0]));
	check_cases(none, false, without_vcs, sizeof(without_vcs) / sizeof(without_vcs[0]));
}

static void test_pattern_check(void)
{
	char long_pattern[1100];

	memset(long_pattern, 'a', sizeof(long_pattern) - 1);
	long_pattern[sizeof(long_pattern) - 1] = '\0';

	CHECK(sync_exclude_check("*.log") == NULL, "a plain pattern is valid");
	CHECK(sync_exclude_check("sites/*/files/") == NULL, "a path pattern is valid");
	CHECK(sync_exclude_check("") != NULL, "the empty pattern is invalid");
	CHECK(sync_exclude_check("/") != NULL, "a pattern of only \"/\" is invalid");
	CHECK(sync_exclude_check("//") != NULL, "a pattern of only \"/\" is invalid");
	CHECK(sync_exclude_check(long_pattern) != NULL, "a pattern over 1024 bytes is invalid");
}

int main(void)
{
	test_name_patterns();
	test_anchored_patterns();
	test_folder_only_patterns();
	test_vcs_folders();
	test_pattern_check();
	return check_exit_status();
}
