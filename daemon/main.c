/*
 * provisiond: claims provisioning tasks from PostgreSQL and runs each in a
 * worker process.  One libev loop drives the database connection, the
 * workers' pipes, the timers and the signals.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "config.h"
#include "log.h"
#include "queue.h"
#include "sdnotify.h"
#include "versions.h"
#include "workers.h"
#include "xalloc.h"

/* Seconds a stopping daemon waits for the database, after kill_grace, before it gives up on writes. */
#define FLUSH_WAIT 20.0

enum daemon_state {
	STATE_RUNNING,
	STATE_DRAINING,		/* SIGTERM: no new claims, running tasks may finish */
	STATE_STOPPING,		/* grace period over: workers are being stopped */
	STATE_RELEASING,	/* handing abandoned tasks back to the queue */
	STATE_DONE,
};

static struct {
	struct ev_loop *loop;
	const char *config_path;
	struct config *cfg;
	enum daemon_state state;
	int exit_code;
	bool notified_ready;
	ev_signal sigterm, sigint, sighup;
	ev_timer shutdown_check;	/* watches the drain and the stop */
	ev_timer shutdown_deadline;	/* end of shutdown_grace */
	ev_timer flush_deadline;	/* end of waiting for the database at shutdown */
	ev_timer status_timer;
	double stats_logged_at;
} d;

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: provisiond [-c FILE] [-t] [-v] [-V] [-h]\n"
		"Runs the provisioning task queue stored in PostgreSQL.\n\n"
		"  -c, --config FILE  configuration file (default /etc/provisiond/provisiond.conf)\n"
		"  -t, --test         check the configuration file, print the effective settings and exit\n"
		"  -v, --verbose      log at debug level, overriding log_level\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         show this help\n");
}

static void task_log_event(int64_t task_id, const char *level, const char *message, double ts, void *arg)
{
	queue_add_log(task_id, level, message, ts);
}

static void task_done_event(const struct task_outcome *outcome, void *arg)
{
	queue_add_outcome(outcome);
}

static void task_undelivered_event(int64_t task_id, const char *type, json_t *request, void *arg)
{
	queue_requeue_local(task_id, type, request);
}

static void update_status(void)
{
	int running = workers_running();

	sdnotify_status("%s; %d task(s) running, %d worker(s) alive",
			queue_connected() ? "connected" : "waiting for the database",
			running, workers_alive());
	if (ev_now(d.loop) - d.stats_logged_at >= 60) {
		d.stats_logged_at = ev_now(d.loop);
		log_info("stats: %d task(s) running, %d worker(s) alive, database %s", running,
			 workers_alive(), queue_connected() ? "connected" : "disconnected");
	}
}

static void status_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	update_status();
}

static void queue_ready(void *arg)
{
	if (!d.notified_ready) {
		d.notified_ready = true;
		log_notice("connected to the database; claiming tasks (workers = %d)", d.cfg->workers);
		sdnotify_ready();
	}
	update_status();
}

static void queue_fatal(const char *message, void *arg)
{
	log_error("%s", message);
	sdnotify_status("%s", message);
	d.exit_code = 1;
	d.state = STATE_DONE;
	ev_break(d.loop, EVBREAK_ALL);
}

/* ---- shutdown ---- */

static void released(void *arg)
{
	log_notice("stopped");
	d.state = STATE_DONE;
	ev_break(d.loop, EVBREAK_ALL);
}

static void stop_workers(const char *why)
{
	int running = workers_running();

	d.state = STATE_STOPPING;
	ev_timer_set(&d.flush_deadline, d.cfg->kill_grace + FLUSH_WAIT, 0);
	ev_timer_start(d.loop, &d.flush_deadline);
	if (running > 0)
		log_warning("%s; stopping %d running task(s), which go back to the queue", why, running);
	workers_stop_all();
}

static void shutdown_check_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	if (d.state == STATE_DRAINING && workers_running() == 0)
		stop_workers("all tasks finished");

	if (d.state == STATE_STOPPING && workers_alive() == 0 && queue_flushed()) {
		d.state = STATE_RELEASING;
		ev_timer_stop(loop, &d.shutdown_deadline);
		ev_timer_stop(loop, &d.flush_deadline);
		queue_release("the daemon stopped before the task finished", released, NULL);
	}
}

static void flush_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	if (d.state != STATE_STOPPING || queue_flushed())
		return;
	log_error("the database did not take the last writes within %gs of stopping the workers",
		  d.cfg->kill_grace + FLUSH_WAIT);
	queue_discard_unwritten();
}

static void shutdown_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	if (d.state == STATE_DRAINING)
		stop_workers("shutdown_grace expired");
}

static void begin_shutdown(int signum)
{
	if (d.state == STATE_RUNNING) {
		log_notice("received %s; no new tasks are claimed, waiting up to %gs for %d running "
			   "task(s); send it again to stop at once", strsignal(signum),
			   d.cfg->shutdown_grace, workers_running());
		sdnotify_stopping();
		d.state = STATE_DRAINING;
		queue_drain();
		ev_timer_set(&d.shutdown_deadline, d.cfg->shutdown_grace, 0);
		ev_timer_start(d.loop, &d.shutdown_deadline);
		ev_timer_start(d.loop, &d.shutdown_check);
		return;
	}
	if (d.state == STATE_DRAINING) {
		stop_workers("received a second stop signal");
		return;
	}
	if (d.state == STATE_STOPPING && !queue_flushed()) {
		log_warning("received %s again while waiting for the database; giving up on it",
			    strsignal(signum));
		queue_discard_unwritten();
	}
}

static void stop_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	begin_shutdown(w->signum);
}

/* ---- reload ---- */

static void reload(void)
{
	struct config *fresh = xcalloc(1, sizeof(*fresh));
	struct config *old = d.cfg;
	char err[4096];

	sdnotify_reloading();
	log_notice("received SIGHUP; reloading %s", d.config_path);
	if (config_load(d.config_path, fresh, err, sizeof(err)) != 0) {
		for (char *p = err; *p != '\0'; p++)
			if (*p == '\n')
				*p = ';';
		log_error("reload failed, keeping the current configuration: %s", err);
		free(fresh);
		sdnotify_ready();
		return;
	}

	if (strcmp(fresh->database, old->database) != 0)
		log_notice("the database setting changed; it applies at the next reconnect");
	log_set_level(fresh->log_level);
	d.cfg = fresh;
	workers_set_config(fresh);
	queue_set_config(fresh);
	config_free(old);
	free(old);
	log_notice("configuration reloaded (workers = %d, poll_interval = %gs)", fresh->workers,
		   fresh->poll_interval);
	sdnotify_ready();
}

static void hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	reload();
}

/* ---- startup ---- */

/* Warns about a file the workers will need but cannot use. */
static void check_file(const char *setting, const char *path, bool secret)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "warning: %s %s: %s; tasks that use SSH will fail until it exists\n",
			setting, path, strerror(errno));
		return;
	}
	if (secret && (st.st_mode & 077) != 0)
		fprintf(stderr, "warning: %s %s is accessible by group or others (mode %03o); "
			"run: chmod 600 %s\n", setting, path, (unsigned)(st.st_mode & 0777), path);
}

static int check_config(const struct config *cfg, const char *path)
{
	int rc = 0;

	printf("# %s parsed; effective settings:\n", path);
	config_dump(cfg, stdout);
	printf("# ");
	versions_print(stdout, "\n# ");
	printf("\n");

	check_file("ssh_private_key", cfg->ssh_private_key, true);
	check_file("ssh_known_hosts", cfg->ssh_known_hosts, false);
	if (access(cfg->worker_program, X_OK) != 0) {
		fprintf(stderr, "provisiond: worker_program %s is not executable: %s; set worker_program "
			"to the path of provisiond-worker\n", cfg->worker_program, strerror(errno));
		rc = 1;
	} else if (versions_print_worker(cfg->worker_program, stdout, "# ") != 0) {
		rc = 1;
	}

	if (rc == 0)
		printf("# %s is valid\n", path);
	fflush(stdout);
	return rc;
}

static void start_watchers(void)
{
	ev_signal_init(&d.sigterm, stop_signal_cb, SIGTERM);
	ev_signal_init(&d.sigint, stop_signal_cb, SIGINT);
	ev_signal_init(&d.sighup, hup_cb, SIGHUP);
	ev_signal_start(d.loop, &d.sigterm);
	ev_signal_start(d.loop, &d.sigint);
	ev_signal_start(d.loop, &d.sighup);

	ev_timer_init(&d.shutdown_check, shutdown_check_cb, 0.05, 0.05);
	ev_init(&d.shutdown_deadline, shutdown_deadline_cb);
	ev_init(&d.flush_deadline, flush_deadline_cb);
	ev_timer_init(&d.status_timer, status_cb, 5, 5);
	ev_timer_start(d.loop, &d.status_timer);
}

static char *make_daemon_name(void)
{
	char host[256] = "localhost";

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	return xasprintf("%s:%d", host, (int)getpid());
}

/* Logs the effective settings, one per line, with any database password masked. */
static void log_config(const struct config *cfg)
{
	char *text = NULL, *line, *saveptr = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return;
	config_dump(cfg, f);
	fclose(f);
	for (line = strtok_r(text, "\n", &saveptr); line != NULL; line = strtok_r(NULL, "\n", &saveptr))
		log_info("config: %s", line);
	free(text);
}

static int run(void)
{
	struct workers_events wev = { .log = task_log_event, .done = task_done_event,
				      .undelivered = task_undelivered_event };
	struct queue_events qev = { .ready = queue_ready, .fatal = queue_fatal };
	char *name = make_daemon_name();

	d.loop = ev_default_loop(EVFLAG_AUTO);
	if (d.loop == NULL)
		fatal("could not initialise libev (bad LIBEV_FLAGS in the environment?)");
	signal(SIGPIPE, SIG_IGN);

	log_notice("provisiond %s starting as %s (pid %d, uid %d)", PROVISIOND_VERSION, name,
		   (int)getpid(), (int)getuid());
	versions_log();
	log_config(d.cfg);

	workers_init(d.loop, d.cfg, &wev);
	queue_init(d.loop, d.cfg, name, &qev);
	start_watchers();
	sdnotify_watchdog_start(d.loop);
	queue_start();

	ev_run(d.loop, 0);

	queue_free();
	free(name);
	return d.exit_code;
}

int main(int argc, char **argv)
{
	const char *path = "/etc/provisiond/provisiond.conf";
	bool check_only = false, verbose = false;
	char err[4096];
	int opt, rc;

	log_init("provisiond");
	static const struct option long_options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	while ((opt = getopt_long(argc, argv, "c:tvVh", long_options, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 't': check_only = true; break;
		case 'v': verbose = true; break;
		case 'V': printf("provisiond %s\n", PROVISIOND_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "provisiond: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	d.cfg = xcalloc(1, sizeof(*d.cfg));
	d.config_path = path;
	if (config_load(path, d.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "provisiond: invalid configuration:\n%s\n", err);
		return 1;
	}
	log_set_level(verbose ? LOG_LEVEL_DEBUG : d.cfg->log_level);
	if (check_only)
		return check_config(d.cfg, path);
	if (access(d.cfg->worker_program, X_OK) != 0) {
		fprintf(stderr, "provisiond: worker_program %s is not executable: %s; set worker_program "
			"to the path of provisiond-worker\n", d.cfg->worker_program, strerror(errno));
		return 1;
	}

	rc = run();
	config_free(d.cfg);
	free(d.cfg);
	return rc;
}
