/* The parallel read: every rank reads and parses the lines it owns and hands each event on. */
#ifndef CLICKMILL_SCAN_H
#define CLICKMILL_SCAN_H

#include <mpi.h>
#include <stdint.h>

#include "clickmill/event.h"
#include "clickmill/plan.h"
#include "clickmill/row.h"

/* How many rejected rows are described by file and line on rank 0. */
#define CM_REPORTS_MAX 10

/* One rejected row, located for the user. */
typedef struct {
    int file;       /* index into the plan's files */
    int reason;     /* CM_REJECT_* */
    int64_t line;   /* 1-based line number in its file */
    int64_t offset; /* byte offset of the line in its file */
    char text[96];  /* the start of the line, NUL-terminated */
} cm_reject_report;

typedef struct {
    int64_t rows;                   /* accepted rows, all ranks */
    int64_t rejected;               /* rejected rows, all ranks */
    int64_t by_reason[CM_NREASONS]; /* rejected rows per reason, all ranks */
    int64_t rejected_in_stores;     /* of those, rows rejected when an input store was made */
    int64_t bytes;                  /* data bytes in the plan */
    int nreports;                   /* rank 0: the first rejected rows in file order */
    cm_reject_report reports[CM_REPORTS_MAX];
} cm_scan_stats;

typedef struct {
    int64_t max_rejects;      /* stop when more rows than this are rejected; -1: no limit */
    const char *rejects_path; /* write every rejected line here (CSV), or NULL */
    int progress;             /* rank 0: show progress on stderr */
    size_t block_size;        /* bytes per read; 0: the default (8 MiB) */
} cm_scan_opts;

/* Called for every accepted event, in file order within a rank. A non-zero return stops the
 * scan on this rank with that error code. */
typedef int (*cm_event_sink)(void *ctx, const cm_event *event);

/* Reads this rank's share of the plan, parses every owned line, calls sink for accepted rows and
 * counts rejected ones. Collective: every rank returns the same code, 0, CM_EIO or CM_EREJECTS
 * (or a sink's error), with the same message in err; stats are global on every rank and the
 * reports are on rank 0. */
int cm_scan(MPI_Comm comm, const cm_plan *plan, const cm_scan_opts *opts, cm_event_sink sink,
            void *ctx, cm_scan_stats *stats, char *err, size_t err_size);

#endif
