/* The plan of a parallel read: the input files as one logical byte space cut into rank ranges. */
#ifndef CLICKMILL_PLAN_H
#define CLICKMILL_PLAN_H

#include <mpi.h>
#include <stdint.h>

#include "clickmill/row.h"

/* One input file as rank 0 found it. */
typedef struct {
    const char *path;   /* borrowed from the caller (argv) */
    int64_t size;       /* bytes in the file when the plan was made */
    int64_t data_start; /* first byte after the header line */
    cm_layout layout;   /* where each column sits */
} cm_input;

/* All inputs. The data bytes of every file (after its header) form one logical byte space of
 * `data_bytes` bytes, which is cut into equal ranges, one per rank. */
typedef struct {
    int nfiles;
    cm_input *files;
    int64_t data_bytes;
    int64_t total_bytes; /* file sizes added up, headers included */
} cm_plan;

/* A piece of a rank's range inside one file: the rank owns every line of that file that starts
 * at an offset in [start, end). */
typedef struct {
    int file;
    int64_t start;
    int64_t end;
} cm_segment;

/* Rank 0 checks every input (exists, is a regular readable file, has a header naming the
 * expected columns) and broadcasts what it found. Collective. On failure every rank returns the
 * same error code and message (in err). The plan keeps pointers to paths; free with
 * cm_plan_free. */
int cm_plan_build(MPI_Comm comm, char *const *paths, int npaths, cm_plan *plan, char *err,
                  size_t err_size);

void cm_plan_free(cm_plan *plan);

/* The logical byte range [lo, hi) of rank `rank` out of `nranks`: equal shares of `total`.
 * Local. */
void cm_range_of_rank(int64_t total, int nranks, int rank, int64_t *lo, int64_t *hi);

/* The segments of rank `rank`: its logical range mapped back onto the files. Returns the number
 * of segments written to segs (at most plan->nfiles). Local. */
int cm_plan_segments(const cm_plan *plan, int nranks, int rank, cm_segment *segs);

/* Reads the first line of a file (header) and lays out its columns; used by cm_plan_build.
 * Local. */
int cm_input_open(cm_input *input, const char *path, char *err, size_t err_size);

#endif
