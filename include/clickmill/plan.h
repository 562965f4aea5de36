/* The plan of a parallel read: the input files as one logical byte space cut into rank ranges. */
#ifndef CLICKMILL_PLAN_H
#define CLICKMILL_PLAN_H

#include <mpi.h>
#include <stdint.h>

#include "clickmill/row.h"

enum { CM_INPUT_CSV, CM_INPUT_STORE };

/* One input file as rank 0 found it. */
typedef struct {
    const char *path;                        /* borrowed from the caller (argv) */
    int kind;                                /* CM_INPUT_CSV or CM_INPUT_STORE (by content) */
    int64_t size;                            /* bytes in the file when the plan was made */
    int64_t data_start;                      /* CSV: first byte after the header line */
    cm_layout layout;                        /* CSV: where each column sits */
    int64_t rows;                            /* store: its rows */
    int64_t rejected_by_reason[CM_NREASONS]; /* store: rows rejected when it was made */
} cm_input;

/* All inputs. The data bytes of every CSV file (after its header) form one logical byte space of
 * `data_bytes` bytes, and the rows of every store one logical row space of `store_rows` rows;
 * each is cut into equal ranges, one per rank. */
typedef struct {
    int nfiles;
    cm_input *files;
    int64_t data_bytes;
    int64_t store_rows;
    int64_t total_bytes; /* file sizes added up, headers included */
} cm_plan;

/* A piece of a rank's share inside one file: for a CSV file, the rank owns every line that
 * starts at a byte offset in [start, end); for a store, rows [start, end). */
typedef struct {
    int file;
    int64_t start;
    int64_t end;
} cm_segment;

/* Rank 0 checks every input (exists, is a regular readable file; a CSV file has a header naming
 * the expected columns, a store is complete and of a known version) and broadcasts what it
 * found. Collective. On failure every rank returns the
 * same error code and message (in err). The plan keeps pointers to paths; free with
 * cm_plan_free. */
int cm_plan_build(MPI_Comm comm, char *const *paths, int npaths, cm_plan *plan, char *err,
                  size_t err_size);

void cm_plan_free(cm_plan *plan);

/* The logical byte range [lo, hi) of rank `rank` out of `nranks`: equal shares of `total`.
 * Local. */
void cm_range_of_rank(int64_t total, int nranks, int rank, int64_t *lo, int64_t *hi);

/* The segments of rank `rank`: its byte range and its row range mapped back onto the files.
 * Returns the number of segments written to segs (at most plan->nfiles). Local. */
int cm_plan_segments(const cm_plan *plan, int nranks, int rank, cm_segment *segs);

/* Reads the first line of a file (header) and lays out its columns; used by cm_plan_build.
 * Local. */
int cm_input_open(cm_input *input, const char *path, char *err, size_t err_size);

#endif
