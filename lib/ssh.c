#include "ssh_internal.h"

#include <errno.h>
#include <sys/stat.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base64.h"
#include "known_hosts.h"
#include "log.h"
#include "shell_quote.h"
#include "ssh_keyfile.h"
#include "text_sanitize.h"
#include "xalloc.h"

static bool libssh2_ready;

int ssh_init(void)
{
	if (libssh2_ready)
		return 0;
	if (libssh2_init(0) != 0)
		return -1;
	libssh2_ready = true;
	return 0;
}

void ssh_cleanup(void)
{
	if (!libssh2_ready)
		return;
	libssh2_exit();
	libssh2_ready = false;
}

void ssh_timeouts_default(struct ssh_timeouts *t)
{
	t->connect = 10;
	t->handshake = 15;
	t->auth = 15;
	t->sftp = 60;
	t->close = 5;
}

const char *ssh_server_name(const struct ssh_conn *conn)
{
	return conn->server_name;
}

bool ssh_library_has_rsa_sha2(void)
{
	return libssh2_version(0x010b00) != NULL;
}

/* ---- TCP connect ---- */

static const char *connect_hint(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return "nothing accepts connections on that port: check that sshd runs and that the port is right";
	case ETIMEDOUT:
		return "no answer: check the address, the firewalls on the way and that the server is up";
	case ENETUNREACH:
	case EHOSTUNREACH:
		return "no route to the server: check the address and this machine's network";
	}
	return "check the address and port";
}

/* Starts a non-blocking connect to AI and waits for it until DEADLINE; returns the socket or -1 with errno. */
static int connect_address(const struct addrinfo *ai, double deadline)
{
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int fd, soerr = 0, rc;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;

	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;

	pfd.fd = fd;
	pfd.events = POLLOUT;
	for (;;) {
		double remaining = deadline - ssh_now();

		if (remaining <= 0) {
			errno = ETIMEDOUT;
			goto fail;
		}
		rc = poll(&pfd, 1, (int)(remaining * 1000) + 1);
		if (rc > 0)
			break;
		if (rc < 0 && errno != EINTR)
			goto fail;
	}

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
		goto fail;
	if (soerr != 0) {
		errno = soerr;
		goto fail;
	}
	return fd;

fail:
	rc = errno;
	close(fd);
	errno = rc;
	return -1;
}

static void describe_address(const struct addrinfo *ai, char *buf, size_t size)
{
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, (socklen_t)size, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(buf, size, "?");
}

static int tcp_connect(struct ssh_conn *c, struct ssh_error *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	double deadline = ssh_now() + c->timeouts.connect;
	struct addrinfo *res, *ai;
	char port[16], address[128] = "";
	int rc, last_errno = 0, one = 1;

	snprintf(port, sizeof(port), "%d", c->port);
	rc = getaddrinfo(c->hostname, port, &hints, &res);
	if (rc != 0) {
		bool transient = rc == EAI_AGAIN || rc == EAI_SYSTEM;

		ssh_error_set(err, c, SSH_STEP_CONNECT, transient,
			      "cannot resolve host name %s: %s; check the server's hostname and this machine's DNS",
			      c->hostname, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}

	for (ai = res; ai != NULL; ai = ai->ai_next) {
		describe_address(ai, address, sizeof(address));
		c->fd = connect_address(ai, deadline);
		if (c->fd >= 0)
			break;
		last_errno = errno;
		log_debug("server %s: connect to %s port %d failed: %s", c->server_name, address,
			  c->port, strerror(last_errno));
		if (last_errno == ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);

	if (c->fd < 0) {
		if (last_errno == ETIMEDOUT)
			ssh_error_set(err, c, SSH_STEP_CONNECT, true,
				      "connection to %s port %d timed out after %g s; %s", address, c->port,
				      c->timeouts.connect, connect_hint(ETIMEDOUT));
		else
			ssh_error_set(err, c, SSH_STEP_CONNECT, ssh_errno_is_transient(last_errno),
				      "connection to %s port %d failed: %s; %s", address, c->port,
				      strerror(last_errno), connect_hint(last_errno));
		return -1;
	}

	/* SFTP and channel requests are many small packets that Nagle would delay. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	return 0;
}

/* ---- host key ---- */

/* Formats the host key fingerprint as OpenSSH prints it: "SHA256:" and unpadded base64. */
static void host_key_fingerprint(struct ssh_conn *c, char *buf, size_t size)
{
	const char *hash = libssh2_hostkey_hash(c->session, LIBSSH2_HOSTKEY_HASH_SHA256);
	char encoded[48];	/* 43 characters for 32 bytes, unpadded */

	if (hash == NULL) {
		snprintf(buf, size, "(SHA256 fingerprint unavailable)");
		return;
	}
	base64_encode(hash, 32, encoded, false);
	snprintf(buf, size, "SHA256:%s", encoded);
}

static void format_lines(const int *lines, size_t count, char *buf, size_t size)
{
	size_t kept = count < KNOWN_HOSTS_MAX_LINES_KEPT ? count : KNOWN_HOSTS_MAX_LINES_KEPT;
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < kept && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%d", i ? ", " : "", lines[i]);
	if (count > kept && used < size)
		snprintf(buf + used, size - used, " and %zu more", count - kept);
}

static void warn_about_lines(struct ssh_conn *c, const struct known_hosts *kh, char *note, size_t size)
{
	const int *lines;
	char list[160];
	size_t n;

	note[0] = '\0';
	n = known_hosts_bad_lines(kh, &lines);
	if (n > 0) {
		format_lines(lines, n, list, sizeof(list));
		log_warning("known_hosts file %s: ignoring line %s, which cannot be parsed",
			    c->known_hosts, list);
		snprintf(note, size, " (note: line %s of that file cannot be parsed and was ignored)", list);
	}

	n = known_hosts_unsupported_lines(kh, &lines);
	if (n > 0) {
		format_lines(lines, n, list, sizeof(list));
		log_warning("known_hosts file %s: ignoring line %s, which uses a wildcard, negation or "
			    "@cert-authority marker that provisiond does not support", c->known_hosts, list);
	}
}

static int report_unknown_host(struct ssh_conn *c, const struct known_hosts *kh, const char *type,
			       const char *fingerprint, const char *note, struct ssh_error *err)
{
	char *host = shell_quote(c->hostname);
	char *file = shell_quote(c->known_hosts);
	char *server = shell_quote(c->server_name);

	ssh_error_set(err, c, SSH_STEP_HOST_KEY, false,
		      "the server is not in known_hosts file %s%s%s; it offered a %s key with fingerprint %s. "
		      "Compare that fingerprint with the one the server's administrator reads on the server "
		      "(ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then trust the key with "
		      "\"provisionctl trust-host %s\", or run \"ssh-keyscan -p %d %s >> %s\" and check the "
		      "added lines with \"ssh-keygen -lf %s\"",
		      c->known_hosts, known_hosts_file_missing(kh) ? " (the file does not exist)" : "", note,
		      type, fingerprint, server, c->port, host, file, file);
	free(host);
	free(file);
	free(server);
	return -1;
}

static int verify_host_key(struct ssh_conn *c, const struct known_hosts *kh, struct ssh_error *err)
{
	const char *key, *type;
	char fingerprint[128], note[256];
	size_t key_len;
	int key_type, line;
	enum known_hosts_status status;

	key = libssh2_session_hostkey(c->session, &key_len, &key_type);
	if (key == NULL) {
		ssh_error_set(err, c, SSH_STEP_HOST_KEY, false, "libssh2 returned no host key: %s",
			      ssh_last_error_text(c));
		return -1;
	}
	type = known_hosts_key_type_name(key_type);
	host_key_fingerprint(c, fingerprint, sizeof(fingerprint));
	warn_about_lines(c, kh, note, sizeof(note));

	status = known_hosts_check(kh, c->hostname, c->port, key_type, key, key_len, &line);
	switch (status) {
	case KNOWN_HOSTS_MATCH:
		log_debug("server %s: host key %s %s matches line %d of %s", c->server_name, type,
			  fingerprint, line, c->known_hosts);
		return 0;
	case KNOWN_HOSTS_UNKNOWN:
		return report_unknown_host(c, kh, type, fingerprint, note, err);
	case KNOWN_HOSTS_CHANGED:
		ssh_error_set(err, c, SSH_STEP_HOST_KEY, false,
			      "HOST KEY CHANGED, POSSIBLE MAN-IN-THE-MIDDLE ATTACK: the server offered a %s key "
			      "with fingerprint %s, but line %d of %s holds a different %s key for it. Someone may "
			      "be intercepting the connection, or the server was reinstalled. Do not trust the new "
			      "key until the server's administrator confirms its fingerprint; then replace the "
			      "entry on line %d", type, fingerprint, line, c->known_hosts, type, line);
		return -1;
	case KNOWN_HOSTS_REVOKED:
		ssh_error_set(err, c, SSH_STEP_HOST_KEY, false,
			      "the server offered a %s key with fingerprint %s, which line %d of %s marks as "
			      "@revoked; the connection was refused", type, fingerprint, line, c->known_hosts);
		return -1;
	}
	return -1;
}

/* ---- authentication ---- */

static int auth_methods_allow_publickey(struct ssh_conn *c, double deadline, struct ssh_error *err)
{
	const char *methods;

	for (;;) {
		methods = libssh2_userauth_list(c->session, c->user, (unsigned int)strlen(c->user));
		if (methods != NULL)
			break;
		if (libssh2_userauth_authenticated(c->session))
			return 0;	/* the server accepted "none" authentication */
		if (libssh2_session_last_errno(c->session) != LIBSSH2_ERROR_EAGAIN) {
			int rc = libssh2_session_last_errno(c->session);

			ssh_error_set(err, c, SSH_STEP_AUTH, ssh_error_is_transport(rc),
				      "asking the server for authentication methods failed: %s",
				      ssh_last_error_text(c));
			return -1;
		}
		if (ssh_wait_socket(c, deadline) != 0) {
			ssh_error_set(err, c, SSH_STEP_AUTH, true, "timed out after %g s", c->timeouts.auth);
			return -1;
		}
	}

	if (strstr(methods, "publickey") == NULL) {
		ssh_error_set(err, c, SSH_STEP_AUTH, false,
			      "the server does not offer public key authentication to user %s (it offers: %s); "
			      "check PubkeyAuthentication and AuthenticationMethods in its sshd_config",
			      c->user, methods);
		return -1;
	}
	return 0;
}

static int check_private_key(struct ssh_conn *c, struct ssh_key_info *info, struct ssh_error *err)
{
	struct stat st;
	char msg[1024];

	/* Inspected first, so that a public key or a missing file gets its own message. */
	if (ssh_keyfile_inspect(c->private_key, info, msg, sizeof(msg)) != 0) {
		ssh_error_set(err, c, SSH_STEP_AUTH, false, "%s; check the ssh_private_key setting", msg);
		return -1;
	}

	/* OpenSSH's ssh rejects such a key too: anyone in its group could log in as this daemon. */
	if (stat(c->private_key, &st) == 0 && (st.st_mode & 077) != 0) {
		ssh_error_set(err, c, SSH_STEP_AUTH, false,
			      "private key %s is accessible by group or others (mode %03o); "
			      "run: chmod 600 %s", c->private_key, (unsigned)(st.st_mode & 0777),
			      c->private_key);
		return -1;
	}
	if (info->encrypted) {
		ssh_error_set(err, c, SSH_STEP_AUTH, false,
			      "private key %s is encrypted with a passphrase, and provisiond runs unattended, so "
			      "it needs a key without one: create one with ssh-keygen -t ed25519 -N '' -f FILE, "
			      "or remove the passphrase with ssh-keygen -p -f %s",
			      c->private_key, c->private_key);
		return -1;
	}
	return 0;
}

static void report_rejected_key(struct ssh_conn *c, const struct ssh_key_info *info, int rc,
				struct ssh_error *err)
{
	if (info->type == SSH_KEY_RSA && !ssh_library_has_rsa_sha2()) {
		ssh_error_set(err, c, SSH_STEP_AUTH, false,
			      "the server rejected RSA key %s (libssh2: %s). The linked libssh2 %s signs RSA keys "
			      "only with SHA-1 (ssh-rsa), which OpenSSH 8.8 and later reject by default. An RSA key "
			      "works with libssh2 1.11 or later, or with a server that still accepts ssh-rsa "
			      "(PubkeyAcceptedAlgorithms +ssh-rsa). Otherwise use an ed25519 key: "
			      "ssh-keygen -t ed25519, then add its .pub to ~%s/.ssh/authorized_keys on the server",
			      c->private_key, ssh_last_error_text(c), libssh2_version(0), c->user);
		return;
	}
	ssh_error_set(err, c, SSH_STEP_AUTH, false,
		      "the server rejected the %s key %s for user %s (libssh2 error %d: %s); check that %s.pub "
		      "is in ~%s/.ssh/authorized_keys on the server, that the account exists and is not locked, "
		      "and the server's auth log",
		      ssh_key_type_name(info->type), c->private_key, c->user, rc, ssh_last_error_text(c),
		      c->private_key, c->user);
}

static int ssh_authenticate(struct ssh_conn *c, struct ssh_error *err)
{
	double deadline = ssh_now() + c->timeouts.auth;
	struct ssh_key_info info;
	int rc;

	if (check_private_key(c, &info, err) != 0)
		return -1;
	if (auth_methods_allow_publickey(c, deadline, err) != 0)
		return -1;
	if (libssh2_userauth_authenticated(c->session))
		return 0;

	while ((rc = libssh2_userauth_publickey_fromfile_ex(c->session, c->user,
							    (unsigned int)strlen(c->user), NULL,
							    c->private_key, NULL)) == LIBSSH2_ERROR_EAGAIN) {
		if (ssh_wait_socket(c, deadline) != 0) {
			ssh_error_set(err, c, SSH_STEP_AUTH, true, "timed out after %g s", c->timeouts.auth);
			return -1;
		}
	}

	switch (rc) {
	case 0:
		return 0;
	case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
	case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
		report_rejected_key(c, &info, rc, err);
		return -1;
	case LIBSSH2_ERROR_FILE:
	case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
		ssh_error_set(err, c, SSH_STEP_AUTH, false,
			      "libssh2 %s cannot use the %s private key %s: %s; an ed25519 key "
			      "(ssh-keygen -t ed25519) works with every supported libssh2",
			      libssh2_version(0), ssh_key_type_name(info.type), c->private_key,
			      ssh_last_error_text(c));
		return -1;
	}
	ssh_error_set(err, c, SSH_STEP_AUTH, ssh_error_is_transport(rc),
		      "public key authentication failed: %s (libssh2 error %d)", ssh_last_error_text(c), rc);
	return -1;
}

/* ---- connection life cycle ---- */

static bool is_plain_token(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static struct ssh_conn *conn_new(const struct ssh_target *t, const struct ssh_timeouts *timeouts)
{
	struct ssh_conn *c = xcalloc(1, sizeof(*c));
	const char *name = t->server_name ? t->server_name : "";

	c->server_name = text_sanitize_dup(name, strlen(name));
	c->hostname = text_sanitize_dup(t->hostname ? t->hostname : "", t->hostname ? strlen(t->hostname) : 0);
	c->user = text_sanitize_dup(t->user ? t->user : "", t->user ? strlen(t->user) : 0);
	c->private_key = xstrdup(t->private_key ? t->private_key : "");
	c->known_hosts = xstrdup(t->known_hosts ? t->known_hosts : "");
	c->port = t->port;
	c->fd = -1;
	c->max_output = SSH_OUTPUT_MAX_DEFAULT;
	c->max_line = SSH_LINE_MAX_DEFAULT;
	if (timeouts != NULL)
		c->timeouts = *timeouts;
	else
		ssh_timeouts_default(&c->timeouts);
	return c;
}

/* Checks the hostname, port and known_hosts path, which every connection needs. */
static int validate_address(struct ssh_conn *c, const struct ssh_target *t, struct ssh_error *err)
{
	if (!is_plain_token(t->hostname)) {
		ssh_error_set(err, c, SSH_STEP_CONNECT, false,
			      "invalid hostname \"%s\": it must be non-empty, without spaces or control characters",
			      c->hostname);
		return -1;
	}
	if (t->port < 1 || t->port > 65535) {
		ssh_error_set(err, c, SSH_STEP_CONNECT, false, "invalid port %d: it must be from 1 to 65535",
			      t->port);
		return -1;
	}
	if (t->known_hosts == NULL || t->known_hosts[0] == '\0') {
		ssh_error_set(err, c, SSH_STEP_CONNECT, false, "the known_hosts path must be set");
		return -1;
	}
	return 0;
}

static int validate_target(struct ssh_conn *c, const struct ssh_target *t, struct ssh_error *err)
{
	if (validate_address(c, t, err) != 0)
		return -1;
	if (!is_plain_token(t->user)) {
		ssh_error_set(err, c, SSH_STEP_CONNECT, false,
			      "invalid user \"%s\": it must be non-empty, without spaces or control characters",
			      c->user);
		return -1;
	}
	if (t->private_key == NULL || t->private_key[0] == '\0' || t->known_hosts == NULL ||
	    t->known_hosts[0] == '\0') {
		ssh_error_set(err, c, SSH_STEP_CONNECT, false,
			      "the private key and known_hosts paths must both be set");
		return -1;
	}
	return 0;
}

static int start_session(struct ssh_conn *c, struct ssh_error *err)
{
	c->session = libssh2_session_init_ex(NULL, NULL, NULL, c);
	if (c->session == NULL) {
		ssh_error_set(err, c, SSH_STEP_HANDSHAKE, false, "libssh2_session_init failed");
		return -1;
	}
	libssh2_session_set_blocking(c->session, 0);
	return 0;
}

/*
 * Runs the steps before the host key check: libssh2's global init, the
 * session, loading known_hosts into *KH, the TCP connection and the SSH
 * handshake.  Returns 0, or -1 with *err filled.
 */
static int connect_until_host_key(struct ssh_conn *c, struct known_hosts **kh, struct ssh_error *err)
{
	char msg[1024];

	if (ssh_init() != 0) {
		ssh_error_set(err, c, SSH_STEP_CONNECT, false, "libssh2_init failed");
		return -1;
	}

	if (start_session(c, err) != 0)
		return -1;

	/* Loaded first: the file decides which host key algorithms to ask for. */
	*kh = known_hosts_load(c->session, c->known_hosts, msg, sizeof(msg));
	if (*kh == NULL) {
		ssh_error_set(err, c, SSH_STEP_HOST_KEY, false, "%s; check the ssh_known_hosts setting", msg);
		return -1;
	}

	if (tcp_connect(c, err) != 0)
		return -1;

	return ssh_handshake(c, *kh, err);
}

struct ssh_conn *ssh_connect(const struct ssh_target *target, const struct ssh_timeouts *timeouts,
			     struct ssh_error *err)
{
	struct ssh_conn *c = conn_new(target, timeouts);
	struct known_hosts *kh = NULL;

	if (validate_target(c, target, err) != 0)
		goto fail;

	if (connect_until_host_key(c, &kh, err) != 0)
		goto fail;

	if (verify_host_key(c, kh, err) != 0)
		goto fail;

	if (ssh_authenticate(c, err) != 0)
		goto fail;

	known_hosts_free(kh);
	log_debug("server %s: connected to %s@%s:%d", c->server_name, c->user, c->hostname, c->port);
	return c;

fail:
	known_hosts_free(kh);
	ssh_close(c);
	return NULL;
}

int ssh_fetch_host_key(const struct ssh_target *target, const struct ssh_timeouts *timeouts,
		       struct ssh_host_key *key, struct ssh_error *err)
{
	struct ssh_conn *c = conn_new(target, timeouts);
	struct known_hosts *kh = NULL;
	const char *blob;
	size_t blob_len;
	int blob_type, rc = -1;

	memset(key, 0, sizeof(*key));
	if (validate_address(c, target, err) != 0 || connect_until_host_key(c, &kh, err) != 0)
		goto out;

	blob = libssh2_session_hostkey(c->session, &blob_len, &blob_type);
	if (blob == NULL) {
		ssh_error_set(err, c, SSH_STEP_HOST_KEY, false, "libssh2 returned no host key: %s",
			      ssh_last_error_text(c));
		goto out;
	}
	key->type = blob_type;
	key->key = xmalloc(blob_len);
	memcpy(key->key, blob, blob_len);
	key->key_len = blob_len;
	host_key_fingerprint(c, key->fingerprint, sizeof(key->fingerprint));
	rc = 0;

out:
	known_hosts_free(kh);
	ssh_close(c);
	return rc;
}

void ssh_host_key_free(struct ssh_host_key *key)
{
	free(key->key);
	key->key = NULL;
	key->key_len = 0;
}

void ssh_set_output_limits(struct ssh_conn *conn, size_t max_output, size_t max_line)
{
	conn->max_output = max_output;
	conn->max_line = max_line < 64 ? 64 : max_line;
}

void ssh_close(struct ssh_conn *c)
{
	if (c == NULL)
		return;

	if (c->session != NULL) {
		double deadline = ssh_now() + c->timeouts.close;
		int rc;

		if (c->fd >= 0 && c->handshake_done) {
			while ((rc = libssh2_session_disconnect(c->session, "provisiond closing")) ==
			       LIBSSH2_ERROR_EAGAIN)
				if (ssh_wait_socket(c, deadline) != 0)
					break;
		}
		/* Shut the socket first so freeing cannot wait on a server that went silent. */
		if (c->fd >= 0)
			shutdown(c->fd, SHUT_RDWR);
		for (int i = 0; i < 100; i++)
			if (libssh2_session_free(c->session) != LIBSSH2_ERROR_EAGAIN)
				break;
	}

	if (c->fd >= 0)
		close(c->fd);
	free(c->server_name);
	free(c->hostname);
	free(c->user);
	free(c->private_key);
	free(c->known_hosts);
	free(c);
}

/* ---- library description ---- */

static bool has_algorithm(const char **algs, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(algs[i], name) == 0)
			return true;
	return false;
}

void ssh_describe_library(char *buf, size_t size)
{
	LIBSSH2_SESSION *session;
	const char **algs = NULL;
	int n = 0;
	bool ed25519 = false, ecdsa = false;

	ssh_init();
	session = libssh2_session_init();
	if (session != NULL)
		n = libssh2_session_supported_algs(session, LIBSSH2_METHOD_HOSTKEY, &algs);
	if (n > 0) {
		/* Host key support implies the crypto backend can sign with that key type too. */
		ed25519 = has_algorithm(algs, n, "ssh-ed25519");
		ecdsa = has_algorithm(algs, n, "ecdsa-sha2-nistp256");
		libssh2_free(session, algs);
	}
	if (session != NULL)
		libssh2_session_free(session);

	snprintf(buf, size, "libssh2 %s; user keys: %s%s%s; rsa: %s", libssh2_version(0),
		 ed25519 ? "ed25519" : "", ed25519 && ecdsa ? ", " : "", ecdsa ? "ecdsa" : "",
		 ssh_library_has_rsa_sha2()
			 ? "yes (rsa-sha2-256/512)"
			 : "only with servers that accept ssh-rsa (SHA-1) signatures, which OpenSSH 8.8 and "
			   "later reject by default; use an ed25519 key (ssh-keygen -t ed25519)");
}
