/*
 * provision-ssh: runs one command on a server through provisiond's SSH
 * layer and prints its output and exit status, for operators and demos.
 *
 *   provision-ssh [-p PORT] -i KEY -k KNOWN_HOSTS [-n NAME] [-t SECONDS] [-s] USER@HOST COMMAND...
 *   provision-ssh -V
 *
 * The words of COMMAND are joined with spaces and run by the remote login
 * shell, as ssh(1) does.  Output lines go to stdout and stderr as the
 * remote command wrote them, after sanitizing.  Exit status: the remote
 * command's, 128 + signal number style 255 for SSH errors.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ssh.h"
#include "xalloc.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: provision-ssh [-p PORT] -i KEY -k KNOWN_HOSTS [-n NAME] [-t SECONDS] [-s] USER@HOST COMMAND...\n"
		"       provision-ssh -V\n"
		"  -p PORT         SSH port (default 22)\n"
		"  -i KEY          private key file, without passphrase\n"
		"  -k KNOWN_HOSTS  OpenSSH known_hosts file; it is never written\n"
		"  -n NAME         server name for messages (default: HOST)\n"
		"  -t SECONDS      command timeout (default 60)\n"
		"  -s              check the login shell before running COMMAND\n"
		"  -V              print the libssh2 version and the usable key types\n");
	exit(2);
}

static void print_line(void *arg, enum ssh_stream stream, const char *line)
{
	if (stream == SSH_STREAM_STDOUT)
		printf("%s\n", line);
	else if (stream == SSH_STREAM_STDERR)
		fprintf(stderr, "%s\n", line);
	else
		fprintf(stderr, "provision-ssh: %s\n", line);
}

static char *join_words(int argc, char **argv)
{
	size_t len = 1;
	char *out;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	out = xcalloc(1, len);
	for (int i = 0; i < argc; i++) {
		if (i > 0)
			strcat(out, " ");
		strcat(out, argv[i]);
	}
	return out;
}

int main(int argc, char **argv)
{
	struct ssh_target target = { .port = 22 };
	struct ssh_timeouts timeouts;
	struct ssh_cmd_result res;
	struct ssh_error err;
	struct ssh_conn *conn;
	double timeout = 60;
	bool check_shell = false;
	char *user_host, *at, *command;
	int opt, status;

	log_init("provision-ssh");
	while ((opt = getopt(argc, argv, "p:i:k:n:t:sV")) != -1) {
		switch (opt) {
		case 'p':
			target.port = atoi(optarg);
			break;
		case 'i':
			target.private_key = optarg;
			break;
		case 'k':
			target.known_hosts = optarg;
			break;
		case 'n':
			target.server_name = optarg;
			break;
		case 't':
			timeout = atof(optarg);
			break;
		case 's':
			check_shell = true;
			break;
		case 'V': {
			char text[512];

			ssh_describe_library(text, sizeof(text));
			printf("%s\n", text);
			return 0;
		}
		default:
			usage();
		}
	}
	if (argc - optind < 2 || target.private_key == NULL || target.known_hosts == NULL || timeout <= 0)
		usage();

	user_host = xstrdup(argv[optind]);
	at = strchr(user_host, '@');
	if (at == NULL)
		usage();
	*at = '\0';
	target.user = user_host;
	target.hostname = at + 1;
	if (target.server_name == NULL)
		target.server_name = target.hostname;
	command = join_words(argc - optind - 1, argv + optind + 1);

	ssh_timeouts_default(&timeouts);
	conn = ssh_connect(&target, &timeouts, &err);
	if (conn == NULL)
		goto fail;
	if (check_shell && ssh_check_shell(conn, timeout, &err) != 0)
		goto fail_conn;
	if (ssh_run(conn, command, timeout, print_line, NULL, &res, &err) != 0)
		goto fail_conn;

	if (res.signal[0] != '\0') {
		fprintf(stderr, "provision-ssh: remote command killed by signal %s%s\n", res.signal,
			res.core_dumped ? " (core dumped)" : "");
		status = 255;
	} else {
		fprintf(stderr, "provision-ssh: exit status %d\n", res.exit_status);
		status = res.exit_status;
	}
	ssh_close(conn);
	ssh_cleanup();
	free(command);
	free(user_host);
	return status;

fail_conn:
	ssh_close(conn);
fail:
	fprintf(stderr, "provision-ssh: %s%s\n", err.message, err.transient ? " (transient)" : "");
	ssh_cleanup();
	free(command);
	free(user_host);
	return 255;
}
