/*
 * The rows of one batch write: task log lines and final task statuses,
 * each column kept as the text of a PostgreSQL array (pgarray.h), in the
 * order of the parameters of SQL_WRITE_BATCH.
 */
#ifndef PROVISIOND_BATCH_H
#define PROVISIOND_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "pgarray.h"

struct batch {
	struct pgarray log_task, log_ts, log_level, log_message;
	struct pgarray out_id, out_status, out_error, out_result, out_ts, out_transient, out_began;
};

#define BATCH_COLUMNS 11

/* Stores pointers to the columns of B, in a fixed order, into COLUMNS. */
void batch_columns(struct batch *b, struct pgarray *columns[BATCH_COLUMNS]);

void batch_clear(struct batch *b);
bool batch_empty(const struct batch *b);

/* Appends SRC's rows after DST's and empties SRC, keeping the order of log lines. */
void batch_concat(struct batch *dst, struct batch *src);

/* Returns the bytes of text in a batch (messages, errors and results). */
size_t batch_bytes(const struct batch *b);

#endif
