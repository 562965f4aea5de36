/* A one-sided byte counter on rank 0 and the progress line drawn from it. */
#include "clickmill/progress.h"

#include <stdio.h>
#include <string.h>

#include "clickmill/error.h"

#define FLUSH_BYTES (16 << 20)

void cm_progress_start(cm_progress *progress, MPI_Comm comm, int wanted, int64_t total)
{
    memset(progress, 0, sizeof *progress);
    progress->comm = comm;
    progress->total = total;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &progress->rank));
    progress->enabled = wanted;
    CM_MPI_CHECK(comm, MPI_Bcast(&progress->enabled, 1, MPI_INT, 0, comm));
    if (!progress->enabled)
        return;
    MPI_Aint size = progress->rank == 0 ? (MPI_Aint)sizeof(int64_t) : 0;
    CM_MPI_CHECK(comm, MPI_Win_allocate(size, sizeof(int64_t), MPI_INFO_NULL, comm,
                                        &progress->counter, &progress->win));
    if (progress->rank == 0)
        *progress->counter = 0;
    CM_MPI_CHECK(comm, MPI_Barrier(comm));
    progress->started = progress->last_shown = MPI_Wtime();
}

static void draw(cm_progress *progress, int64_t done)
{
    double now = MPI_Wtime();
    double elapsed = now - progress->started;
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    double percent = progress->total > 0 ? 100.0 * (double)done / (double)progress->total : 100;
    char eta[32] = "--";
    if (rate > 0 && done < progress->total) {
        double left = (double)(progress->total - done) / rate;
        snprintf(eta, sizeof eta, "%dm%02ds", (int)left / 60, (int)left % 60);
    }
    fprintf(stderr, "\rclickmill: %6.1f%%  %8.1f of %.1f MB  %7.1f MB/s  ETA %s   ", percent,
            (double)done / 1e6, (double)progress->total / 1e6, rate / 1e6, eta);
    fflush(stderr);
    progress->last_shown = now;
}

void cm_progress_add(cm_progress *progress, int64_t bytes)
{
    if (!progress->enabled)
        return;
    progress->pending += bytes;
    if (progress->pending < FLUSH_BYTES)
        return;
    CM_MPI_CHECK(progress->comm, MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, progress->win));
    CM_MPI_CHECK(progress->comm, MPI_Accumulate(&progress->pending, 1, MPI_INT64_T, 0, 0, 1,
                                                MPI_INT64_T, MPI_SUM, progress->win));
    CM_MPI_CHECK(progress->comm, MPI_Win_unlock(0, progress->win));
    progress->pending = 0;
    if (progress->rank == 0 && MPI_Wtime() - progress->last_shown >= 0.5) {
        int64_t done = 0;
        CM_MPI_CHECK(progress->comm, MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, progress->win));
        CM_MPI_CHECK(progress->comm,
                     MPI_Fetch_and_op(NULL, &done, MPI_INT64_T, 0, 0, MPI_NO_OP, progress->win));
        CM_MPI_CHECK(progress->comm, MPI_Win_unlock(0, progress->win));
        draw(progress, done);
    }
}

void cm_progress_end(cm_progress *progress)
{
    if (!progress->enabled)
        return;
    CM_MPI_CHECK(progress->comm, MPI_Barrier(progress->comm));
    if (progress->rank == 0) {
        draw(progress, progress->total);
        fprintf(stderr, "\n");
    }
    CM_MPI_CHECK(progress->comm, MPI_Win_free(&progress->win));
    progress->enabled = 0;
}
