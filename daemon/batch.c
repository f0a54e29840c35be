#include "batch.h"

void batch_columns(struct batch *b, struct pgarray *columns[BATCH_COLUMNS])
{
	struct pgarray *all[BATCH_COLUMNS] = {
		&b->log_task, &b->log_ts, &b->log_level, &b->log_message,
		&b->out_id, &b->out_status, &b->out_error, &b->out_result,
		&b->out_ts, &b->out_transient, &b->out_began,
	};

	for (int i = 0; i < BATCH_COLUMNS; i++)
		columns[i] = all[i];
}

void batch_clear(struct batch *b)
{
	struct pgarray *columns[BATCH_COLUMNS];

	batch_columns(b, columns);
	for (int i = 0; i < BATCH_COLUMNS; i++)
		pgarray_clear(columns[i]);
}

bool batch_empty(const struct batch *b)
{
	return b->log_task.count == 0 && b->out_id.count == 0;
}

void batch_concat(struct batch *dst, struct batch *src)
{
	struct pgarray *to[BATCH_COLUMNS], *from[BATCH_COLUMNS];

	batch_columns(dst, to);
	batch_columns(src, from);
	for (int i = 0; i < BATCH_COLUMNS; i++)
		pgarray_concat(to[i], from[i]);
}

size_t batch_bytes(const struct batch *b)
{
	return b->log_message.len + b->out_error.len + b->out_result.len;
}
