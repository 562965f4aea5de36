/* Progress of a long read on rank 0's terminal: bytes done across all ranks, rate and ETA. */
#ifndef CLICKMILL_PROGRESS_H
#define CLICKMILL_PROGRESS_H

#include <mpi.h>
#include <stdint.h>

/* Every rank adds the bytes it has read into a counter on rank 0 (one-sided MPI_Accumulate), so
 * rank 0 shows the whole job's progress without waiting for anyone. */
typedef struct {
    MPI_Comm comm;
    int enabled;
    int rank;
    MPI_Win win;
    int64_t *counter; /* rank 0's window memory */
    int64_t pending;  /* bytes read here and not yet added on rank 0 */
    int64_t total;    /* bytes the job will read */
    double started, last_shown;
} cm_progress;

/* Starts progress reporting. It is shown only when `wanted` is true on rank 0 (the caller checks
 * that stderr is a terminal and --quiet is off). Collective. */
void cm_progress_start(cm_progress *progress, MPI_Comm comm, int wanted, int64_t total);

/* Counts bytes read on this rank, and on rank 0 redraws the line at most twice a second.
 * Local. */
void cm_progress_add(cm_progress *progress, int64_t bytes);

/* Ends reporting and clears the line. Collective. */
void cm_progress_end(cm_progress *progress);

#endif
