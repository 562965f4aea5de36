/* Rank 0 checks the inputs and cuts their data bytes into one range per rank. */
#include "clickmill/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clickmill/error.h"
#include "clickmill/store.h"

int cm_input_open(cm_input *input, const char *path, char *err, size_t err_size)
{
    struct stat st;
    char *head = NULL;
    int rc = CM_EINPUT;
    int fd = open(path, O_RDONLY);
    memset(input, 0, sizeof *input);
    input->path = path;
    if (fd < 0) {
        snprintf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        return CM_EIO;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, err_size, "%s: cannot stat: %s", path, strerror(errno));
        rc = CM_EIO;
        goto cleanup;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, err_size, "%s: is a directory, expected a CSV file", path);
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_size, "%s: is not a regular file", path);
        goto cleanup;
    }
    input->size = st.st_size;
    if (cm_store_is_hdf5(path)) {
        rc = cm_store_inspect(input, path, err, err_size);
        input->size = st.st_size;
        goto cleanup;
    }
    if (input->size == 0) {
        snprintf(err, err_size, "%s: the file is empty; expected a header line naming the columns",
                 path);
        goto cleanup;
    }

    size_t want = input->size < CM_LINE_MAX + 1 ? (size_t)input->size : CM_LINE_MAX + 1;
    head = cm_xmalloc(want);
    size_t have = 0;
    while (have < want) {
        ssize_t got = pread(fd, head + have, want - have, (off_t)have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            snprintf(err, err_size, "%s: cannot read the header: %s", path,
                     got < 0 ? strerror(errno) : "unexpected end of file");
            rc = CM_EIO;
            goto cleanup;
        }
        have += (size_t)got;
    }
    const char *newline = memchr(head, '\n', have);
    if (!newline && have > CM_LINE_MAX) {
        snprintf(err, err_size, "%s: the first line is longer than 1 MiB; expected a header", path);
        goto cleanup;
    }
    size_t line_len = newline ? (size_t)(newline - head) : have;
    input->data_start = newline ? (int64_t)line_len + 1 : input->size;
    const char *line = head;
    if (line_len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) { /* UTF-8 byte order mark */
        line += 3;
        line_len -= 3;
    }
    if (line_len > 0 && line[line_len - 1] == '\r')
        line_len--;
    char reason[384];
    if (cm_layout_parse(&input->layout, line, line_len, reason, sizeof reason) != 0) {
        snprintf(err, err_size, "%s: line 1: %s", path, reason);
        goto cleanup;
    }
    rc = 0;
cleanup:
    free(head);
    close(fd);
    return rc;
}

int cm_plan_build(MPI_Comm comm, char *const *paths, int npaths, cm_plan *plan, char *err,
                  size_t err_size)
{
    int rank;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    memset(plan, 0, sizeof *plan);
    plan->nfiles = npaths;
    plan->files = cm_xcalloc((size_t)npaths, sizeof *plan->files);

    int status = 0;
    char message[512] = "";
    if (rank == 0) {
        for (int i = 0; i < npaths && status == 0; i++) {
            status = cm_input_open(&plan->files[i], paths[i], message, sizeof message);
        }
        if (npaths == 0) {
            status = CM_EUSAGE;
            snprintf(message, sizeof message, "no input files given");
        }
    }
    CM_MPI_CHECK(comm, MPI_Bcast(&status, 1, MPI_INT, 0, comm));
    if (status != 0) {
        CM_MPI_CHECK(comm, MPI_Bcast(message, sizeof message, MPI_CHAR, 0, comm));
        snprintf(err, err_size, "%s", message);
        cm_plan_free(plan);
        return status;
    }
    /* The inputs are plain data apart from the paths, which every rank has. */
    CM_MPI_CHECK(comm,
                 MPI_Bcast(plan->files, (int)(npaths * sizeof *plan->files), MPI_BYTE, 0, comm));
    for (int i = 0; i < npaths; i++) {
        cm_input *input = &plan->files[i];
        input->path = paths[i];
        if (input->kind == CM_INPUT_STORE)
            plan->store_rows += input->rows;
        else
            plan->data_bytes += input->size - input->data_start;
        plan->total_bytes += input->size;
    }
    return 0;
}

void cm_plan_free(cm_plan *plan)
{
    free(plan->files);
    plan->files = NULL;
    plan->nfiles = 0;
}

void cm_range_of_rank(int64_t total, int nranks, int rank, int64_t *lo, int64_t *hi)
{
    *lo = (int64_t)((__int128)total * rank / nranks);
    *hi = (int64_t)((__int128)total * (rank + 1) / nranks);
}

int cm_plan_segments(const cm_plan *plan, int nranks, int rank, cm_segment *segs)
{
    /* Index CM_INPUT_CSV: the byte space; CM_INPUT_STORE: the row space. */
    int64_t lo[2], hi[2], base[2] = {0, 0};
    int count = 0;
    cm_range_of_rank(plan->data_bytes, nranks, rank, &lo[CM_INPUT_CSV], &hi[CM_INPUT_CSV]);
    cm_range_of_rank(plan->store_rows, nranks, rank, &lo[CM_INPUT_STORE], &hi[CM_INPUT_STORE]);
    for (int i = 0; i < plan->nfiles; i++) {
        const cm_input *input = &plan->files[i];
        int k = input->kind;
        int64_t first = k == CM_INPUT_STORE ? 0 : input->data_start;
        int64_t len = k == CM_INPUT_STORE ? input->rows : input->size - input->data_start;
        int64_t from = lo[k] > base[k] ? lo[k] : base[k];
        int64_t to = hi[k] < base[k] + len ? hi[k] : base[k] + len;
        if (from < to) {
            segs[count].file = i;
            segs[count].start = first + (from - base[k]);
            segs[count].end = first + (to - base[k]);
            count++;
        }
        base[k] += len;
    }
    return count;
}
