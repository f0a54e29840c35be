#include "versions.h"

#include <ev.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <libssh2.h>
#include <mysql.h>

#include "log.h"

static const char *backend_name(unsigned int backend)
{
	switch (backend) {
	case EVBACKEND_EPOLL: return "epoll";
	case EVBACKEND_POLL: return "poll";
	case EVBACKEND_SELECT: return "select";
	default: return "other";
	}
}

void versions_print(FILE *out, const char *sep)
{
	int pq = PQlibVersion();

	fprintf(out, "provisiond %s%slibpq %d.%d%slibssh2 %s%sMariaDB Connector/C %s%s"
		"libev %d.%d%sjansson %s", PROVISIOND_VERSION, sep, pq / 10000, pq % 10000, sep,
		libssh2_version(0), sep, mysql_get_client_info(), sep, ev_version_major(),
		ev_version_minor(), sep, jansson_version_str());
}

void versions_log(void)
{
	char line[512];
	FILE *f = fmemopen(line, sizeof(line), "w");

	if (f == NULL)
		return;
	versions_print(f, ", ");
	fclose(f);
	log_info("linked with %s; event backend %s", line,
		 backend_name(ev_backend(EV_DEFAULT)));
}
