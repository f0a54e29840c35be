/*
 * provisionctl trust-host: fetches a server's SSH host key, shows its
 * SHA256 fingerprint and, once the operator has confirmed it, appends it
 * to the ssh_known_hosts file of the config file.  The daemon never adds
 * host keys on its own, so this is how a new server becomes reachable.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh2.h>

#include "config.h"
#include "ctl.h"
#include "db.h"
#include "known_hosts.h"
#include "output.h"
#include "parse.h"
#include "queue.h"
#include "ssh.h"

static const char usage[] =
	"Usage: provisionctl -c CONFIG trust-host SERVER [--fingerprint SHA256:...] [--yes]\n"
	"\n"
	"Connects to SERVER's SSH port, fetches its host key without logging in,\n"
	"and prints the key type and SHA256 fingerprint.  Compare that with the\n"
	"fingerprint the server's administrator reads on the server, for example\n"
	"with ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub.  After you type\n"
	"\"yes\" on the terminal, the key is appended to the file that the setting\n"
	"ssh_known_hosts of CONFIG names, as \"HOST TYPE KEY\" for port 22 and\n"
	"\"[HOST]:PORT TYPE KEY\" otherwise.  A missing file is created with mode\n"
	"0644; its folder must exist.\n"
	"\n"
	"Nothing is written when the key is listed already, or when the file lists\n"
	"another key for the server (exit code 5): remove the old line yourself\n"
	"once the server's administrator has confirmed the new key.\n"
	"\n"
	"Options:\n"
	"      --fingerprint FP  the expected fingerprint, as ssh-keygen -l prints it\n"
	"                        (SHA256:...); a server offering another key is\n"
	"                        rejected with exit code 1 and nothing is written\n"
	"  -y, --yes             append without asking; requires --fingerprint\n";

struct trust_request {
	const char *server;
	const char *fingerprint;	/* --fingerprint, or NULL */
	bool yes;
};

/* A SHA256 fingerprint as OpenSSH prints it: "SHA256:" and 43 characters of unpadded base64. */
static bool fingerprint_valid(const char *text)
{
	const char *digest = text + strlen("SHA256:");

	if (strncmp(text, "SHA256:", strlen("SHA256:")) != 0 || strlen(digest) != 43)
		return false;
	return strspn(digest, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") == 43;
}

static int parse_options(int argc, char **argv, struct trust_request *req)
{
	enum { OPT_FINGERPRINT = 256 };
	static const struct option options[] = {
		{ "fingerprint", required_argument, NULL, OPT_FINGERPRINT },
		{ "yes", no_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "y", options, NULL)) != -1) {
		switch (opt) {
		case OPT_FINGERPRINT:
			req->fingerprint = optarg;
			break;
		case 'y':
			req->yes = true;
			break;
		default:
			return ctl_option_error("trust-host");
		}
	}
	if (optind >= argc)
		return ctl_usage_error("trust-host", "missing SERVER");
	if (optind + 1 < argc)
		return ctl_usage_error("trust-host", "unexpected argument \"%s\"", argv[optind + 1]);
	req->server = argv[optind];

	if (req->fingerprint != NULL && !fingerprint_valid(req->fingerprint))
		return ctl_usage_error("trust-host",
				       "invalid --fingerprint \"%s\": expected SHA256: and 43 base64 "
				       "characters, as ssh-keygen -l prints it", req->fingerprint);
	if (req->yes && req->fingerprint == NULL)
		return ctl_usage_error("trust-host",
				       "--yes requires --fingerprint, so that no key is trusted unchecked");
	return check_server_name("trust-host", req->server);
}

/* Reads the server's hostname, SSH port and user; the caller PQclear()s *RES. */
static int find_server_address(struct ctl *ctl, const char *name, PGresult **res)
{
	const char *const params[] = { name };

	*res = db_query(ctl->conn,
			"SELECT hostname, ssh_port, ssh_user FROM provision.servers WHERE name = $1",
			1, params);
	if (*res == NULL)
		return CTL_EXIT_DB;
	if (PQntuples(*res) == 0)
		return report_server_not_found(name);
	return CTL_EXIT_OK;
}

/*
 * Checks the fetched KEY against the known_hosts file and prints the
 * outcome.  Returns CTL_EXIT_OK when the key may be appended or is listed
 * already (then *DONE is set), CTL_EXIT_CONFLICT when the file lists
 * another key for the server, and CTL_EXIT_FAILED when the file cannot be
 * read.
 */
static int check_known_hosts(const struct ssh_target *target, const struct ssh_host_key *key,
			     const char *type, FILE *info, bool *done)
{
	LIBSSH2_SESSION *session = libssh2_session_init();
	struct known_hosts *kh;
	enum known_hosts_status status;
	char err[1024];
	int line, other_line, rc = CTL_EXIT_FAILED;

	*done = false;
	if (session == NULL) {
		ctl_error("libssh2_session_init failed (out of memory)");
		return CTL_EXIT_FAILED;
	}
	kh = known_hosts_load(session, target->known_hosts, err, sizeof(err));
	if (kh == NULL) {
		ctl_error("%s; check the ssh_known_hosts setting", err);
		goto out;
	}

	status = known_hosts_check(kh, target->hostname, target->port, key->type, key->key,
				   key->key_len, &line);
	other_line = known_hosts_other_type_line(kh, target->hostname, target->port, key->type);
	switch (status) {
	case KNOWN_HOSTS_MATCH:
		fprintf(info, "This key is already listed on line %d of %s; nothing to do.\n", line,
			target->known_hosts);
		*done = true;
		rc = CTL_EXIT_OK;
		break;
	case KNOWN_HOSTS_CHANGED:
		ctl_error("line %d of %s lists a different %s key for this server, so the new key was "
			  "not added. Someone may be intercepting the connection, or the server was "
			  "reinstalled. Once the server's administrator has confirmed the new fingerprint, "
			  "remove line %d and run trust-host again", line, target->known_hosts, type, line);
		rc = CTL_EXIT_CONFLICT;
		break;
	case KNOWN_HOSTS_REVOKED:
		ctl_error("line %d of %s marks this key as @revoked; it was not added", line,
			  target->known_hosts);
		rc = CTL_EXIT_CONFLICT;
		break;
	case KNOWN_HOSTS_UNKNOWN:
		if (other_line != 0) {
			ctl_error("line %d of %s lists a key of another type for this server, which "
				  "now offered a %s key instead, so the new key was not added. Once the "
				  "server's administrator has confirmed the new fingerprint, remove line %d "
				  "and run trust-host again", other_line, target->known_hosts, type,
				  other_line);
			rc = CTL_EXIT_CONFLICT;
			break;
		}
		rc = CTL_EXIT_OK;
		break;
	}

out:
	known_hosts_free(kh);
	libssh2_session_free(session);
	return rc;
}

/* Asks the operator on the terminal.  Returns CTL_EXIT_OK only for the answer "yes". */
static int confirm_on_terminal(const char *path)
{
	char answer[64];

	if (!isatty(STDIN_FILENO))
		return ctl_usage_error("trust-host",
				       "standard input is not a terminal, so the key cannot be confirmed; "
				       "run trust-host on a terminal, or give --yes --fingerprint with "
				       "the fingerprint the server's administrator confirmed");
	fprintf(stderr, "Does this fingerprint match the one the server's administrator reads on "
		"the server?\nType yes to add the key to %s: ", path);
	fflush(stderr);
	if (fgets(answer, sizeof(answer), stdin) == NULL || strcmp(answer, "yes\n") != 0) {
		ctl_error("the key was not added");
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

/*
 * Appends ENTRY and a line feed to PATH, creating it with mode 0644
 * whatever the umask is.  A line feed goes first when the file does not
 * end in one, so the entry never joins the last line.
 */
static int append_entry(const char *path, const char *entry)
{
	bool created = true;
	struct stat st;
	char last = '\n';
	int fd, saved;

	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST) {
		created = false;
		fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	}
	if (fd < 0) {
		ctl_error("cannot open %s for appending: %s%s", path, strerror(errno),
			  errno == ENOENT ? "; create its folder first" : "");
		return CTL_EXIT_FAILED;
	}

	if (created && fchmod(fd, 0644) != 0)
		goto fail;
	if (!created && fstat(fd, &st) == 0 && st.st_size > 0 &&
	    pread(fd, &last, 1, st.st_size - 1) != 1)
		goto fail;
	if (last != '\n' && dprintf(fd, "\n") < 0)
		goto fail;
	if (dprintf(fd, "%s\n", entry) < 0 || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return CTL_EXIT_OK;

fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	ctl_error("writing to %s failed: %s", path, strerror(saved));
	return CTL_EXIT_FAILED;
}

/* Fetches the key, checks it against the file and the request, and appends it. */
static int trust(struct ctl *ctl, const struct trust_request *req, const struct ssh_target *target)
{
	FILE *info = ctl->json ? stderr : stdout;
	struct ssh_host_key key;
	struct ssh_error err;
	const char *type;
	char *entry = NULL;
	bool done;
	int status;

	if (ssh_fetch_host_key(target, NULL, &key, &err) != 0) {
		ctl_error("fetching the host key failed: %s", err.message);
		return CTL_EXIT_FAILED;
	}
	type = known_hosts_key_type_name(key.type);
	fprintf(info, "Server %s (%s port %d) offered this host key:\n  %s %s\n", req->server,
		target->hostname, target->port, type, key.fingerprint);

	status = check_known_hosts(target, &key, type, info, &done);
	if (status != CTL_EXIT_OK || done)
		goto out;

	if (req->fingerprint != NULL && strcmp(req->fingerprint, key.fingerprint) != 0) {
		ctl_error("the server offered fingerprint %s, not the expected %s; nothing was written. "
			  "Check with the server's administrator before you trust any key",
			  key.fingerprint, req->fingerprint);
		status = CTL_EXIT_FAILED;
		goto out;
	}
	if (!req->yes && (status = confirm_on_terminal(target->known_hosts)) != CTL_EXIT_OK)
		goto out;

	entry = known_hosts_format_entry(target->hostname, target->port, key.type, key.key,
					 key.key_len);
	if ((status = append_entry(target->known_hosts, entry)) != CTL_EXIT_OK)
		goto out;
	fprintf(info, "Added the %s key to %s.\n", type, target->known_hosts);

out:
	if (ctl->json && (status == CTL_EXIT_OK || status == CTL_EXIT_CONFLICT)) {
		const char *result = "added";

		if (status == CTL_EXIT_CONFLICT)
			result = "conflict";
		else if (done)
			result = "already listed";
		print_json(json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "server", req->server,
				     "hostname", target->hostname, "port", target->port, "key_type", type,
				     "fingerprint", key.fingerprint, "known_hosts", target->known_hosts,
				     "result", result));
	}
	free(entry);
	ssh_host_key_free(&key);
	return status;
}

static int run(struct ctl *ctl, int argc, char **argv)
{
	struct trust_request req = { 0 };
	struct ssh_target target = { 0 };
	PGresult *res = NULL;
	int status;

	if ((status = parse_options(argc, argv, &req)) != 0)
		return status;
	if (ctl->config == NULL)
		return ctl_usage_error("trust-host", "trust-host needs the config file, which names the "
				       "ssh_known_hosts file; use -c CONFIG instead of -d");
	if ((status = ctl_connect(ctl)) != 0)
		return status;
	if ((status = find_server_address(ctl, req.server, &res)) != 0)
		goto out;

	target.server_name = req.server;
	target.hostname = PQgetvalue(res, 0, 0);
	target.port = atoi(PQgetvalue(res, 0, 1));
	target.user = PQgetvalue(res, 0, 2);
	target.known_hosts = ctl->config->ssh_known_hosts;
	status = trust(ctl, &req, &target);
	ssh_cleanup();

out:
	PQclear(res);
	return status;
}

const struct ctl_command cmd_trust_host = {
	.name = "trust-host",
	.summary = "fetch a server's SSH host key and add it to known_hosts",
	.run = run,
	.usage = usage,
};
