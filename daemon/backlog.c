#include "backlog.h"

#include <stdlib.h>

#include "xalloc.h"

struct entry {
	struct entry *next;
	int64_t task_id;
	char *type;
	json_t *request;
};

static struct entry *head, *tail;
static int count;

void backlog_push(int64_t task_id, const char *type, json_t *request)
{
	struct entry *e = xcalloc(1, sizeof(*e));

	e->task_id = task_id;
	e->type = xstrdup(type);
	e->request = json_incref(request);
	if (tail != NULL)
		tail->next = e;
	else
		head = e;
	tail = e;
	count++;
}

bool backlog_pop(int64_t *task_id, char **type, json_t **request)
{
	struct entry *e = head;

	if (e == NULL)
		return false;
	head = e->next;
	if (head == NULL)
		tail = NULL;
	count--;

	*task_id = e->task_id;
	*type = e->type;
	*request = e->request;
	free(e);
	return true;
}

bool backlog_remove(int64_t task_id)
{
	struct entry *prev = NULL;

	for (struct entry *e = head; e != NULL; prev = e, e = e->next) {
		if (e->task_id != task_id)
			continue;
		if (prev != NULL)
			prev->next = e->next;
		else
			head = e->next;
		if (tail == e)
			tail = prev;
		count--;
		free(e->type);
		json_decref(e->request);
		free(e);
		return true;
	}
	return false;
}

int backlog_count(void)
{
	return count;
}

void backlog_foreach(void (*fn)(int64_t task_id, void *arg), void *arg)
{
	for (struct entry *e = head; e != NULL; e = e->next)
		fn(e->task_id, arg);
}
