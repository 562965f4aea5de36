/* Making and appending to an event store: rows kept as columns, global dictionaries, the
 * parallel write. */
#ifndef CLICKMILL_STORE_WRITE_H
#define CLICKMILL_STORE_WRITE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "clickmill/event.h"
#include "clickmill/scan.h"
#include "clickmill/table.h"

/* One rank's rows as columns. Texts are ids into `texts`, a per-rank dictionary whose keys are
 * ('t', event type), ('p', category_code, brand) or ('s', a session that is not a UUID); an
 * id is the key's index in the table. */
typedef struct {
    size_t count, cap;
    int64_t *time, *product_id, *category_id, *price, *user_id;
    uint32_t *type, *pair;
    unsigned char *session; /* 16 bytes a row: the UUID, or zeros */
    int32_t *session_text;  /* the session's id in texts, or -1 for a UUID */
    cm_table texts;
    int nfiles;
    int64_t *file_rows; /* rows per input file: a file's rows are one run, in file order */
} cm_store_columns;

/* Empty columns for rows of `nfiles` input files. Local. */
void cm_store_columns_init(cm_store_columns *columns, int nfiles);
void cm_store_columns_free(cm_store_columns *columns);

/* A cm_event_sink (ctx: cm_store_columns) that adds the event as a row. Local. */
int cm_store_columns_add(void *ctx, const cm_event *event);

typedef struct {
    const char *path;     /* the store (made, or appended to) */
    int append;           /* add to the store at path, which must be complete, or be made */
    int compress;         /* deflate level 0-9 (0: none) */
    char *const *sources; /* the input paths, recorded in the store */
    int nsources;
    const cm_scan_stats *stats; /* the scan's rejected counts, recorded in the store */
} cm_store_target;

/* Writes every rank's columns as one store: global dictionaries, row offsets, collective
 * writes, then rank 0 completes the file. The columns' texts are consumed. Collective: every
 * rank returns the same code (0, CM_EINPUT, CM_EIO or CM_EHDF5) and message. */
int cm_store_write(MPI_Comm comm, cm_store_columns *columns, const cm_store_target *target,
                   char *err, size_t err_size);

#endif
