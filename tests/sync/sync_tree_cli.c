/*
 * sync-tree: runs sync_tree (lib/sync.h) once from the command line, for
 * the sync tests and bench/sync-bench.  It prints the statistics as one
 * line of KEY=VALUE pairs and exits 0, or prints the error and exits 1.
 *
 *   sync-tree --port P --key FILE --known-hosts FILE [--user U]
 *             [--exclude PATTERN]... [--no-delete] [--keep-vcs]
 *             [--checksum] [--no-posix-rename] LOCAL_DIR REMOTE_DIR
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ssh.h"
#include "sync.h"

static void usage(void)
{
	fprintf(stderr, "usage: sync-tree --port P --key FILE --known-hosts FILE [--user U] "
		"[--exclude PATTERN]... [--no-delete] [--keep-vcs] [--checksum] [--no-posix-rename] "
		"LOCAL_DIR REMOTE_DIR\n");
	exit(2);
}

static void print_stats(const struct sync_stats *s)
{
	printf("files_total=%" PRIu64 " files_copied=%" PRIu64 " bytes_copied=%" PRIu64
	       " links_created=%" PRIu64 " dirs_created=%" PRIu64 " deleted=%" PRIu64 " unchanged=%" PRIu64
	       " attrs_updated=%" PRIu64 " temporaries_removed=%" PRIu64 " skipped=%" PRIu64 " seconds=%.3f\n",
	       s->files_total, s->files_copied, s->bytes_copied, s->links_created, s->dirs_created, s->deleted,
	       s->unchanged, s->attrs_updated, s->temporaries_removed, s->skipped, s->seconds);
}

static void print_notice(void *arg, const char *path, const char *reason)
{
	fprintf(stderr, "sync-tree: skipped \"%s\": %s\n", path, reason);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "known-hosts", required_argument, NULL, 'K' },
		{ "user", required_argument, NULL, 'u' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "no-delete", no_argument, NULL, 'D' },
		{ "keep-vcs", no_argument, NULL, 'V' },
		{ "checksum", no_argument, NULL, 'c' },
		{ "no-posix-rename", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	struct ssh_target target = { .server_name = "test", .hostname = "127.0.0.1" };
	const char **excludes = calloc((size_t)argc + 1, sizeof(*excludes));
	size_t exclude_count = 0;
	struct sync_options opt;
	struct ssh_timeouts timeouts;
	struct sync_stats stats;
	struct ssh_error err;
	struct ssh_conn *conn;
	int c, rc;

	sync_options_default(&opt);
	opt.progress_interval = 0;
	opt.notice = print_notice;
	target.user = getenv("USER");
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'p': target.port = atoi(optarg); break;
		case 'k': target.private_key = optarg; break;
		case 'K': target.known_hosts = optarg; break;
		case 'u': target.user = optarg; break;
		case 'x': excludes[exclude_count++] = optarg; break;
		case 'D': opt.delete = false; break;
		case 'V': opt.exclude_vcs = false; break;
		case 'c': opt.checksum = true; break;
		case 'R': opt.no_posix_rename = true; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || target.port == 0 || target.private_key == NULL || target.known_hosts == NULL ||
	    target.user == NULL)
		usage();
	opt.exclude = excludes;

	ssh_timeouts_default(&timeouts);
	conn = ssh_connect(&target, &timeouts, &err);
	if (conn == NULL) {
		fprintf(stderr, "sync-tree: %s\n", err.message);
		return 1;
	}
	rc = sync_tree(conn, argv[optind], argv[optind + 1], &opt, &stats, &err);
	print_stats(&stats);
	if (rc != 0)
		fprintf(stderr, "sync-tree: %s\n", err.message);
	ssh_close(conn);
	ssh_cleanup();
	free(excludes);
	return rc == 0 ? 0 : 1;
}
