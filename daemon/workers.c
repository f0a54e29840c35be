#include "workers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"
#include "task.h"
#include "xalloc.h"

/* Seconds no worker starts after one died before it was ready. */
#define WORKER_THROTTLE 5.0

/* Lifecycle of one worker process. */
enum worker_state {
	WORKER_IDLE,		/* waiting for a task */
	WORKER_BUSY,		/* running a task */
	WORKER_RETIRING,	/* request pipe closed, waiting for it to exit */
	WORKER_DEAD,		/* reaped; the slot is free */
};

struct worker {
	enum worker_state state;
	pid_t pid;
	int request_fd;		/* daemon writes requests here; -1 once closed */
	int event_fd;		/* daemon reads events here; -1 at end of file */
	ev_io event_watcher;
	ev_io request_watcher;
	ev_child child_watcher;
	ev_timer deadline;	/* task timeout, then the SIGKILL grace period */
	struct proto_reader reader;
	char *outbuf;		/* request bytes not yet written */
	size_t outlen;
	int tasks_served;
	double started_at;	/* ev_now() at fork */
	double idle_since;	/* ev_now() when it last became idle */

	bool ready;		/* sent its "ready" message */
	int64_t task_id;	/* task being run, 0 when none */
	json_t *task_request;	/* kept until the worker starts it, to hand it back if it never does */
	char *task_type;
	char *task_server;	/* "name (id N)" or "none", for log lines */
	double task_started_at;	/* ev_time() at dispatch */
	double task_began_at;	/* Unix time of the worker's "started" event, 0 before it */
	bool task_warned;	/* the task logged a warning */
	bool stopping;		/* SIGTERM sent for timeout or cancel */
	const char *stop_status;	/* "failed" (timeout) or "cancelled" */
	char *stop_error;
};

static struct ev_loop *pool_loop;
static const struct config *pool_cfg;
static struct workers_events pool_events;
static struct worker **pool;
static int pool_size;
static bool events_paused;
static double throttle_until;	/* no worker starts before this ev_now() */
static ev_timer idle_timer;

static void finish_task(struct worker *w, const char *status, const char *error,
			const char *result, bool transient);

static double now_unix(void)
{
	return ev_time();
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void retire(struct worker *w, const char *reason)
{
	if (w->state == WORKER_RETIRING || w->state == WORKER_DEAD)
		return;
	log_debug("retiring worker pid %d after %d tasks: %s", (int)w->pid, w->tasks_served, reason);
	ev_io_stop(pool_loop, &w->request_watcher);
	close_fd(&w->request_fd);
	w->state = WORKER_RETIRING;
}

static void send_signal(struct worker *w, int sig)
{
	if (w->state != WORKER_DEAD && kill(w->pid, sig) != 0 && errno != ESRCH)
		log_error("sending signal %d to worker pid %d failed: %s", sig, (int)w->pid,
			  strerror(errno));
}

/* Sends SIGTERM to the worker running a task, with SIGKILL after kill_grace. */
static void stop_task(struct worker *w, const char *status, const char *error)
{
	w->stopping = true;
	w->stop_status = status;
	free(w->stop_error);
	w->stop_error = error ? xstrdup(error) : NULL;
	send_signal(w, SIGTERM);
	ev_timer_stop(pool_loop, &w->deadline);
	ev_timer_set(&w->deadline, pool_cfg->kill_grace, 0);
	ev_timer_start(pool_loop, &w->deadline);
}

static void request_write_cb(struct ev_loop *loop, ev_io *watcher, int revents)
{
	struct worker *w = watcher->data;
	ssize_t n = write(w->request_fd, w->outbuf, w->outlen);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		log_error("writing to worker pid %d failed: %s", (int)w->pid, strerror(errno));
		ev_io_stop(loop, watcher);
		w->outlen = 0;
		send_signal(w, SIGKILL);
		return;
	}
	memmove(w->outbuf, w->outbuf + n, w->outlen - (size_t)n);
	w->outlen -= (size_t)n;
	if (w->outlen == 0)
		ev_io_stop(loop, watcher);
}

static void queue_request(struct worker *w, const char *buf, size_t len)
{
	w->outbuf = xrealloc(w->outbuf, w->outlen + len);
	memcpy(w->outbuf + w->outlen, buf, len);
	w->outlen += len;
	ev_io_start(pool_loop, &w->request_watcher);
}

/* Handles one event message from a worker. */
static void handle_event(struct worker *w, json_t *msg)
{
	const char *op = json_string_value(json_object_get(msg, "op"));
	json_int_t id = json_integer_value(json_object_get(msg, "id"));
	double ts = json_number_value(json_object_get(msg, "ts"));

	if (op == NULL) {
		log_warning("worker pid %d sent a message without \"op\"; ignored", (int)w->pid);
		return;
	}
	if (strcmp(op, "ready") == 0) {
		w->ready = true;
		return;
	}
	if (w->task_id == 0 || id != w->task_id) {
		log_warning("worker pid %d sent \"%s\" for task %lld but runs task %lld; ignored",
			    (int)w->pid, op, (long long)id, (long long)w->task_id);
		return;
	}
	/* A clock far off, or a value that is no time at all, would make the batch write fail. */
	if (!(ts > now_unix() - 86400 && ts < now_unix() + 86400))
		ts = now_unix();

	if (strcmp(op, "started") == 0) {
		w->task_began_at = ts;
		json_decref(w->task_request);
		w->task_request = NULL;
		log_debug("task %lld started in worker pid %d", (long long)id, (int)w->pid);
	} else if (strcmp(op, "log") == 0) {
		const char *level = json_string_value(json_object_get(msg, "level"));
		const char *message = json_string_value(json_object_get(msg, "message"));

		if (level == NULL || !task_log_level_valid(level))
			level = "info";
		if (message == NULL)
			return;
		if (strcmp(level, "warning") == 0)
			w->task_warned = true;
		pool_events.log(w->task_id, level, message, ts, pool_events.arg);
	} else if (strcmp(op, "done") == 0) {
		const char *status = json_string_value(json_object_get(msg, "status"));
		const char *error = json_string_value(json_object_get(msg, "error"));
		json_t *result = json_object_get(msg, "result");
		char *result_text = NULL;

		if (status == NULL || (strcmp(status, "succeeded") != 0 && strcmp(status, "warning") != 0))
			status = "failed";
		if (strcmp(status, "failed") == 0 && error == NULL)
			error = "the worker reported a failure without an error message";
		if (result != NULL && !json_is_null(result))
			result_text = json_dumps(result, JSON_COMPACT);
		if (w->stopping)	/* the daemon's reason for stopping it wins */
			finish_task(w, w->stop_status, w->stop_error, result_text, false);
		else
			finish_task(w, status, error, result_text,
				    json_is_true(json_object_get(msg, "transient")));
		free(result_text);
	} else {
		log_warning("worker pid %d sent unknown op \"%s\"; ignored", (int)w->pid, op);
	}
}

/* Handles every complete message in the worker's buffer. */
static void process_buffered(struct worker *w)
{
	char err[256];
	json_t *msg;
	int rc;

	while ((rc = proto_reader_next(&w->reader, &msg, err, sizeof(err))) != 0) {
		if (rc < 0) {
			log_error("worker pid %d broke the protocol (%s); killing it", (int)w->pid, err);
			send_signal(w, SIGKILL);
			return;
		}
		handle_event(w, msg);
		json_decref(msg);
	}
}

static void event_read_cb(struct ev_loop *loop, ev_io *watcher, int revents)
{
	struct worker *w = watcher->data;
	long n = proto_reader_fill(&w->reader, w->event_fd);

	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		ev_io_stop(loop, watcher);
		close_fd(&w->event_fd);
		return;
	}
	process_buffered(w);
}

/* Describes how a process ended, for the task error and the daemon log. */
static void describe_exit(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
	else if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else
		snprintf(buf, len, "ended with wait status 0x%x", status);
}

static void free_worker_slot(struct worker *w)
{
	ev_io_stop(pool_loop, &w->event_watcher);
	ev_io_stop(pool_loop, &w->request_watcher);
	ev_timer_stop(pool_loop, &w->deadline);
	close_fd(&w->request_fd);
	close_fd(&w->event_fd);
	proto_reader_free(&w->reader);
	free(w->outbuf);
	w->outbuf = NULL;
	w->outlen = 0;
}

/*
 * Stops starting workers for WORKER_THROTTLE seconds after one died before
 * it was ready: that is a broken worker program or setting, not load, and
 * restarting it at once would only burn the queue (as Postfix's master
 * throttles a service whose processes die before doing any work).
 */
static void throttle_starts(struct worker *w, const char *how)
{
	throttle_until = ev_now(pool_loop) + WORKER_THROTTLE;
	log_error("worker program %s %s before it was ready (pid %d); check worker_program and run "
		  "provisiond -t; no worker starts for %.0f s", pool_cfg->worker_program, how, (int)w->pid,
		  WORKER_THROTTLE);
}

/* Returns a task the worker never started to the caller, to run it again later. */
static void hand_back(struct worker *w)
{
	json_t *request = w->task_request;
	char *type = w->task_type;

	log_warning("task %lld: its worker pid %d died before starting it; it will run in another worker",
		    (long long)w->task_id, (int)w->pid);
	pool_events.undelivered(w->task_id, type, request, pool_events.arg);
	w->task_request = NULL;
	w->task_type = NULL;
	json_object_del(request, "settings");
	json_decref(request);
	free(type);
	ev_timer_stop(pool_loop, &w->deadline);
	free(w->task_server);
	w->task_server = NULL;
	w->task_id = 0;
}

static void child_cb(struct ev_loop *loop, ev_child *watcher, int revents)
{
	struct worker *w = watcher->data;
	char how[128];

	ev_child_stop(loop, watcher);

	/* Read whatever the worker wrote before it died: it may be its final "done". */
	if (w->event_fd >= 0)
		while (proto_reader_fill(&w->reader, w->event_fd) > 0)
			process_buffered(w);

	describe_exit(watcher->rstatus, how, sizeof(how));
	if (!w->ready)
		throttle_starts(w, how);
	/*
	 * Only a worker that never became ready hands its task back: one that
	 * was ready and died before starting the task may have died of the task
	 * itself, which would otherwise be handed out forever.
	 */
	if (w->task_id != 0 && !w->ready && !w->stopping) {
		hand_back(w);
	} else if (w->task_id != 0) {
		char error[512];

		if (w->stopping) {
			finish_task(w, w->stop_status, w->stop_error, NULL, false);
		} else {
			snprintf(error, sizeof(error), "worker process pid %d %s while running the task",
				 (int)w->pid, how);
			log_error("task %lld: %s", (long long)w->task_id, error);
			finish_task(w, "failed", error, NULL, false);
		}
	}

	if (w->state == WORKER_RETIRING &&
	    ((WIFEXITED(watcher->rstatus) && WEXITSTATUS(watcher->rstatus) == WORKER_EXIT_OK) ||
	     (w->stopping && WIFSIGNALED(watcher->rstatus) && WTERMSIG(watcher->rstatus) == SIGTERM)))
		log_debug("worker pid %d %s after %d tasks", (int)w->pid, how, w->tasks_served);
	else
		log_warning("worker pid %d %s after %d tasks (age %.1fs)", (int)w->pid, how,
			    w->tasks_served, ev_now(loop) - w->started_at);

	w->state = WORKER_DEAD;
	free_worker_slot(w);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *timer, int revents)
{
	struct worker *w = timer->data;

	if (w->task_id != 0 && !w->stopping) {
		char error[256];

		snprintf(error, sizeof(error), "timed out after %gs (timeout_%s); the worker was stopped",
			 config_task_timeout(pool_cfg, w->task_type), w->task_type);
		log_error("task %lld: %s", (long long)w->task_id, error);
		stop_task(w, "failed", error);
		return;
	}
	log_warning("worker pid %d ignored SIGTERM for %gs; sending SIGKILL", (int)w->pid,
		    pool_cfg->kill_grace);
	send_signal(w, SIGKILL);
}

/* Moves FD to a number of at least 10 so that dup2() onto 3 and 4 cannot clobber it. */
static int move_high(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

static void exec_worker(int request_read, int event_write)
{
	sigset_t all;
	char parent[32];
	int req = move_high(request_read), evt = move_high(event_write);

	/* libev may leave signals blocked; the worker must start with a clean mask. */
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);

	if (req < 0 || evt < 0 || dup2(req, PROTO_FD_REQUESTS) < 0 || dup2(evt, PROTO_FD_EVENTS) < 0)
		_exit(WORKER_EXIT_SOFTWARE);
	snprintf(parent, sizeof(parent), "%d", (int)getppid());
	execl(pool_cfg->worker_program, "provisiond-worker", "--parent", parent, (char *)NULL);
	_exit(127);
}

static struct worker *spawn_worker(void)
{
	int req[2], evt[2];
	struct worker *w;
	pid_t pid;

	if (pipe2(req, O_CLOEXEC) != 0)
		return NULL;
	if (pipe2(evt, O_CLOEXEC) != 0) {
		close(req[0]);
		close(req[1]);
		return NULL;
	}

	pid = fork();
	if (pid < 0) {
		log_error("fork failed: %s", strerror(errno));
		close(req[0]); close(req[1]); close(evt[0]); close(evt[1]);
		return NULL;
	}
	if (pid == 0)
		exec_worker(req[0], evt[1]);

	close(req[0]);
	close(evt[1]);
	fcntl(req[1], F_SETFL, O_NONBLOCK);
	fcntl(evt[0], F_SETFL, O_NONBLOCK);

	w = xcalloc(1, sizeof(*w));
	w->pid = pid;
	w->request_fd = req[1];
	w->event_fd = evt[0];
	w->state = WORKER_IDLE;
	w->started_at = ev_now(pool_loop);
	w->idle_since = w->started_at;
	proto_reader_init(&w->reader);
	ev_io_init(&w->event_watcher, event_read_cb, w->event_fd, EV_READ);
	ev_io_init(&w->request_watcher, request_write_cb, w->request_fd, EV_WRITE);
	ev_child_init(&w->child_watcher, child_cb, pid, 0);
	ev_init(&w->deadline, deadline_cb);
	w->event_watcher.data = w->request_watcher.data = w->child_watcher.data = w->deadline.data = w;
	if (!events_paused)
		ev_io_start(pool_loop, &w->event_watcher);
	ev_child_start(pool_loop, &w->child_watcher);
	log_debug("started worker pid %d", (int)pid);
	return w;
}

/* Returns an idle worker, starting one in a free or dead slot if needed. */
static struct worker *get_idle_worker(void)
{
	for (int i = 0; i < pool_size; i++)
		if (pool[i] != NULL && pool[i]->state == WORKER_IDLE)
			return pool[i];

	for (int i = 0; i < pool_size; i++) {
		if (pool[i] == NULL || pool[i]->state == WORKER_DEAD) {
			struct worker *w = spawn_worker();

			if (w == NULL)
				return NULL;
			free(pool[i]);
			pool[i] = w;
			return w;
		}
	}
	pool = xrealloc(pool, sizeof(*pool) * (size_t)(pool_size + 1));
	pool[pool_size] = spawn_worker();
	return pool[pool_size] != NULL ? pool[pool_size++] : NULL;
}

static void finish_task(struct worker *w, const char *status, const char *error,
			const char *result, bool transient)
{
	struct task_outcome outcome = {
		.task_id = w->task_id,
		.status = status,
		.error = error,
		.result = result,
		.transient = transient,
		.started_at = w->task_began_at,
		.finished_at = now_unix(),
	};
	/* ERROR may be this string, so it is freed only after the done event. */
	char *stop_error = w->stop_error;

	if (status != NULL && strcmp(status, "succeeded") == 0 && w->task_warned)
		outcome.status = "warning";

	if (status != NULL)
		log_info("task %lld ended: %s after %.3fs (type %s, server %s)%s%s",
			 (long long)w->task_id, outcome.status, ev_time() - w->task_started_at,
			 w->task_type, w->task_server, error ? ": " : "", error ? error : "");

	ev_timer_stop(pool_loop, &w->deadline);
	w->task_id = 0;
	free(w->task_type);
	w->task_type = NULL;
	free(w->task_server);
	w->task_server = NULL;
	w->stop_error = NULL;

	if (w->state == WORKER_BUSY) {
		w->state = WORKER_IDLE;
		w->idle_since = ev_now(pool_loop);
		if (w->stopping)
			retire(w, "its task was stopped");
		else if (w->tasks_served >= pool_cfg->worker_max_tasks)
			retire(w, "worker_max_tasks reached");
	}
	w->stopping = false;

	/* A NULL status means the task was abandoned at shutdown and is released as a whole. */
	if (outcome.status != NULL)
		pool_events.done(&outcome, pool_events.arg);
	free(stop_error);
}

static char *describe_server(const json_t *server)
{
	const char *name = json_string_value(json_object_get(server, "name"));

	if (name == NULL)
		return xstrdup("none");
	return xasprintf("%s (id %lld)", name,
			 (long long)json_integer_value(json_object_get(server, "id")));
}

void workers_dispatch(int64_t task_id, const char *type, json_t *request)
{
	struct worker *w = get_idle_worker();
	json_t *settings;
	char *line;
	size_t len;

	if (w == NULL) {
		struct task_outcome outcome = { .task_id = task_id, .status = "failed",
			.error = "could not start a worker process (fork or pipe failed; see the daemon log)",
			.transient = true, .finished_at = now_unix() };

		pool_events.done(&outcome, pool_events.arg);
		return;
	}

	settings = json_pack("{s:s, s:s, s:s, s:f}", "base_dir", pool_cfg->base_dir,
			     "ssh_private_key", pool_cfg->ssh_private_key,
			     "ssh_known_hosts", pool_cfg->ssh_known_hosts,
			     "lease_duration", pool_cfg->lease_duration);
	json_object_set_new(request, "settings", settings);
	line = proto_encode(request, &len);
	json_decref(w->task_request);
	w->task_request = json_incref(request);

	w->state = WORKER_BUSY;
	w->task_id = task_id;
	w->task_type = xstrdup(type);
	w->task_server = describe_server(json_object_get(request, "server"));
	w->task_started_at = ev_time();
	w->task_began_at = 0;
	w->task_warned = false;
	w->tasks_served++;
	ev_timer_set(&w->deadline, config_task_timeout(pool_cfg, type), 0);
	ev_timer_start(pool_loop, &w->deadline);

	log_info("task %lld started: type %s, server %s, attempt %lld, worker pid %d",
		 (long long)task_id, type, w->task_server,
		 (long long)json_integer_value(json_object_get(request, "attempt")), (int)w->pid);

	if (line == NULL) {
		finish_task(w, "failed", "could not encode the task for the worker", NULL, false);
		return;
	}
	if (len > PROTO_MAX_LINE) {
		char error[256];

		snprintf(error, sizeof(error), "args are too large: the task takes %zu bytes encoded, and "
			 "the limit is %d bytes; pass large data as files instead", len, PROTO_MAX_LINE);
		free(line);
		finish_task(w, "failed", error, NULL, false);
		return;
	}
	queue_request(w, line, len);
	free(line);
}

static struct worker *find_task(int64_t task_id)
{
	for (int i = 0; i < pool_size; i++)
		if (pool[i] != NULL && pool[i]->task_id == task_id && pool[i]->state != WORKER_DEAD)
			return pool[i];
	return NULL;
}

void workers_cancel(int64_t task_id)
{
	struct worker *w = find_task(task_id);

	if (w == NULL || w->stopping)
		return;
	log_info("task %lld: cancel requested; stopping worker pid %d", (long long)task_id, (int)w->pid);
	stop_task(w, "cancelled", "cancelled while running; the worker was stopped");
}

void workers_abandon(int64_t task_id, const char *reason)
{
	struct worker *w = find_task(task_id);

	if (w == NULL)
		return;
	log_warning("task %lld: %s; stopping worker pid %d without recording an outcome",
		    (long long)task_id, reason, (int)w->pid);
	stop_task(w, NULL, NULL);
}

void workers_confirm_lease(int64_t task_id)
{
	struct worker *w = find_task(task_id);

	if (w != NULL && !w->stopping)
		send_signal(w, SIGUSR1);
}

bool workers_has_task(int64_t task_id)
{
	return find_task(task_id) != NULL;
}

void workers_foreach_task(void (*fn)(int64_t task_id, void *arg), void *arg)
{
	for (int i = 0; i < pool_size; i++)
		if (pool[i] != NULL && pool[i]->task_id != 0 && pool[i]->state != WORKER_DEAD)
			fn(pool[i]->task_id, arg);
}

int workers_running(void)
{
	int n = 0;

	for (int i = 0; i < pool_size; i++)
		if (pool[i] != NULL && pool[i]->task_id != 0 && pool[i]->state != WORKER_DEAD)
			n++;
	return n;
}

int workers_free_slots(void)
{
	int n = pool_cfg->workers - workers_running();

	if (ev_now(pool_loop) < throttle_until)
		return 0;

	return n > 0 ? n : 0;
}

int workers_alive(void)
{
	int n = 0;

	for (int i = 0; i < pool_size; i++)
		if (pool[i] != NULL && pool[i]->state != WORKER_DEAD)
			n++;
	return n;
}

void workers_stop_all(void)
{
	for (int i = 0; i < pool_size; i++) {
		struct worker *w = pool[i];

		if (w == NULL || w->state == WORKER_DEAD)
			continue;
		retire(w, "the daemon is stopping");
		stop_task(w, NULL, NULL);
	}
}

void workers_pause_events(bool pause)
{
	if (pause == events_paused)
		return;
	events_paused = pause;
	for (int i = 0; i < pool_size; i++) {
		struct worker *w = pool[i];

		if (w == NULL || w->state == WORKER_DEAD || w->event_fd < 0)
			continue;
		if (pause)
			ev_io_stop(pool_loop, &w->event_watcher);
		else
			ev_io_start(pool_loop, &w->event_watcher);
	}
}

void workers_set_config(const struct config *cfg)
{
	pool_cfg = cfg;
}

/* Retires workers that had no task for worker_idle_timeout seconds, as Postfix's max_idle does. */
static void idle_cb(struct ev_loop *loop, ev_timer *timer, int revents)
{
	double now = ev_now(loop);

	for (int i = 0; i < pool_size; i++) {
		struct worker *w = pool[i];

		if (w != NULL && w->state == WORKER_IDLE &&
		    now - w->idle_since >= pool_cfg->worker_idle_timeout)
			retire(w, "worker_idle_timeout reached");
	}
}

void workers_init(struct ev_loop *loop, const struct config *cfg, const struct workers_events *events)
{
	pool_loop = loop;
	pool_cfg = cfg;
	pool_events = *events;

	ev_timer_init(&idle_timer, idle_cb, 1.0, 1.0);
	ev_timer_start(loop, &idle_timer);
	ev_unref(loop);
}
