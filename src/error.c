/* Error messages, the MPI failure path and allocation that never returns NULL. */
#include "clickmill/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

const char *cm_strerror(int code)
{
    switch (code) {
    case CM_OK: return "success";
    case CM_EIO: return "input/output error";
    case CM_EINPUT: return "malformed input";
    case CM_ENOMEM: return "out of memory";
    case CM_EUSAGE: return "bad usage";
    case CM_EREJECTS: return "too many rejected rows";
    case CM_EHDF5: return "HDF5 error";
    case CM_ERANGE: return "value out of range";
    case CM_ENOTFOUND: return "not found";
    default: return "unknown error";
    }
}

void cm_mpi_fail(MPI_Comm comm, int mpi_code, const char *what, const char *file, int line)
{
    char text[MPI_MAX_ERROR_STRING];
    int text_len = 0;
    int rank = -1;
    if (MPI_Error_string(mpi_code, text, &text_len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "MPI error %d", mpi_code);
    MPI_Comm_rank(comm, &rank);
    fprintf(stderr, "clickmill: rank %d: %s:%d: %s failed: %s\n", rank, file, line, what, text);
    MPI_Abort(comm, 1);
    exit(1);
}

void cm_abort_job(MPI_Comm comm, const char *message)
{
    int rank = -1;
    MPI_Comm_rank(comm, &rank);
    fprintf(stderr, "clickmill: rank %d: %s; stopping every rank\n", rank, message);
    fflush(stderr);
    MPI_Abort(comm, 1);
    exit(1);
}

static void out_of_memory(size_t size)
{
    fprintf(stderr, "clickmill: out of memory (asked for %zu bytes)\n", size);
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized)
        MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

void *cm_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        out_of_memory(size);
    return p;
}

void *cm_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size);
    return p;
}

void *cm_xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        out_of_memory(size);
    return p;
}

char *cm_xstrndup(const char *s, size_t len)
{
    char *p = cm_xmalloc(len + 1);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *cm_xstrdup(const char *s)
{
    return cm_xstrndup(s, strlen(s));
}

/* Below this, plain calloc: huge pages pay only for tables of several megabytes. */
#define HUGE_MIN ((size_t)4 << 20)

void *cm_huge_calloc(size_t size)
{
    if (size < HUGE_MIN)
        return cm_xcalloc(1, size);
    void *ptr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ptr == MAP_FAILED)
        out_of_memory(size);
    madvise(ptr, size, MADV_HUGEPAGE); /* a hint; without it the memory is still good */
    return ptr;
}

void cm_huge_free(void *ptr, size_t size)
{
    if (!ptr)
        return;
    if (size < HUGE_MIN)
        free(ptr);
    else
        munmap(ptr, size);
}
