/* Error codes shared by every module, and the checks that stop an MPI job cleanly. */
#ifndef CLICKMILL_ERROR_H
#define CLICKMILL_ERROR_H

#include <mpi.h>

/* Functions return 0 on success or one of these negative codes. */
enum {
    CM_OK = 0,
    CM_EIO = -1,       /* reading or writing a file failed */
    CM_EINPUT = -2,    /* the input is malformed (header, file) */
    CM_ENOMEM = -3,    /* out of memory */
    CM_EUSAGE = -4,    /* a bad option or argument */
    CM_EREJECTS = -5,  /* more rows rejected than --max-rejects allows */
    CM_EHDF5 = -6,     /* the HDF5 library reported an error */
    CM_ERANGE = -7,    /* a value or a buffer is beyond what clickmill supports */
    CM_ENOTFOUND = -8, /* what was asked for is not in the data */
};

/* The message for an error code. Local. */
const char *cm_strerror(int code);

/* Prints "clickmill: rank R: file:line: what (MPI's text)" and aborts the whole job.
 * Used for failures of the MPI library itself, which leave the job in no state to continue. */
void cm_mpi_fail(MPI_Comm comm, int mpi_code, const char *what, const char *file, int line);

#define CM_MPI_CHECK(comm, call)                                                                   \
    do {                                                                                           \
        int cm_mpi_rc_ = (call);                                                                   \
        if (cm_mpi_rc_ != MPI_SUCCESS)                                                             \
            cm_mpi_fail((comm), cm_mpi_rc_, #call, __FILE__, __LINE__);                            \
    } while (0)

/* Stops the whole job from one rank (MPI_Abort), after printing "clickmill: rank R: message".
 * For failures that leave other ranks inside a collective call, where no agreement can reach
 * them. Local; does not return. */
void cm_abort_job(MPI_Comm comm, const char *message) __attribute__((noreturn));

/* Out of memory is not recoverable for an aggregation; these abort with a clear message. */
void *cm_xmalloc(size_t size);
void *cm_xcalloc(size_t count, size_t size);
void *cm_xrealloc(void *ptr, size_t size);
char *cm_xstrdup(const char *s);
char *cm_xstrndup(const char *s, size_t len);

/* Zeroed memory for large hash tables, backed by huge pages where the kernel allows, which
 * spares random lookups most TLB misses; free with cm_huge_free and the same size. Aborts on
 * out-of-memory like the others. */
void *cm_huge_calloc(size_t size);
void cm_huge_free(void *ptr, size_t size);

#endif
