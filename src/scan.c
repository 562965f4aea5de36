/* Reads each rank's segments, parses the lines, counts and locates rejected rows. */
#include "clickmill/scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clickmill/error.h"
#include "clickmill/lines.h"
#include "clickmill/merge.h"
#include "clickmill/output.h"
#include "clickmill/progress.h"
#include "clickmill/store.h"
#include "clickmill/table.h"

#define DEFAULT_BLOCK (8u << 20)

/* A rejected line kept for the --rejects file, before its line number is known. */
typedef struct {
    int file;
    int reason;
    int64_t local_line; /* index among this rank's lines of that file */
    int64_t offset;
    uint32_t text_len; /* followed by the text in the buffer */
} reject_record;

typedef struct {
    cm_scan_stats *stats;
    int64_t *lines_in_file; /* lines this rank owns per file */
    int nreports;
    cm_reject_report reports[CM_REPORTS_MAX];
    cm_buffer records; /* reject_record + text, when --rejects is on */
    int keep_records;
} scan_state;

static void note_reject(scan_state *state, int file, int64_t offset, int reason, const char *line,
                        size_t len)
{
    int64_t local_line = state->lines_in_file[file];
    state->stats->rejected++;
    state->stats->by_reason[reason]++;
    if (state->nreports < CM_REPORTS_MAX) {
        cm_reject_report *report = &state->reports[state->nreports++];
        report->file = file;
        report->reason = reason;
        report->line = local_line;
        report->offset = offset;
        size_t shown = len < sizeof report->text - 1 ? len : sizeof report->text - 1;
        for (size_t i = 0; i < shown; i++) /* keep the report printable */
            report->text[i] = line[i] >= 0x20 && line[i] != 0x7f ? line[i] : '?';
        report->text[shown] = '\0';
    }
    if (state->keep_records) {
        reject_record record = {file, reason, local_line, offset, (uint32_t)len};
        cm_buffer_append(&state->records, &record, sizeof record);
        cm_buffer_append(&state->records, line, len);
    }
}

/* Formats this rank's rejected lines as CSV rows, now that their line numbers are known. */
static void format_rejects(const cm_plan *plan, const scan_state *state, const int64_t *first_line,
                           cm_buffer *text)
{
    for (size_t at = 0; at < state->records.len;) {
        reject_record record;
        memcpy(&record, state->records.data + at, sizeof record);
        at += sizeof record;
        char number[64];
        const char *file = plan->files[record.file].path;
        cm_csv_field(text, file, strlen(file));
        int n = snprintf(number, sizeof number, ",%lld,%lld,%s,",
                         (long long)(first_line[record.file] + record.local_line),
                         (long long)record.offset, cm_reject_name(record.reason));
        cm_buffer_append(text, number, (size_t)n);
        cm_csv_field(text, state->records.data + at, record.text_len);
        cm_buffer_append(text, "\n", 1);
        at += record.text_len;
    }
}

/* Writes every rank's rejected lines into one CSV file, in file order. Rank 0 receives each
 * rank's rows in turn and writes them, so only rank 0 needs to see the path (as for every other
 * output); the file gets its name when it is complete. Collective. */
static int write_rejects(MPI_Comm comm, const cm_plan *plan, const scan_state *state,
                         const int64_t *first_line, const char *path, char *err, size_t err_size)
{
    int rank, nranks, ok = 1;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    cm_buffer text = {0};
    if (rank == 0)
        cm_buffer_append(&text, "file,line,byte_offset,reason,text\n", 34);
    format_rejects(plan, state, first_line, &text);
    if (rank != 0) {
        cm_send_bytes(comm, 0, text.data, text.len);
    } else {
        char temporary[4200];
        snprintf(temporary, sizeof temporary, "%s.tmp.%ld", path, (long)getpid());
        FILE *out = fopen(temporary, "w");
        if (!out) {
            ok = 0;
            snprintf(err, err_size, "%.300s: cannot create the rejects file: %s", temporary,
                     strerror(errno));
        }
        for (int r = 0; r < nranks; r++) {
            if (r > 0) /* receive even after a failure, so no rank waits for ever */
                cm_recv_bytes(comm, r, &text);
            if (ok && text.len && fwrite(text.data, 1, text.len, out) != text.len) {
                ok = 0;
                snprintf(err, err_size, "%.300s: write error: %s", temporary, strerror(errno));
            }
        }
        if (out && fclose(out) != 0 && ok) {
            ok = 0;
            snprintf(err, err_size, "%.300s: write error: %s", temporary, strerror(errno));
        }
        if (ok && rename(temporary, path) != 0) {
            ok = 0;
            snprintf(err, err_size, "%.300s: cannot rename into place: %s", path, strerror(errno));
        }
        if (!ok && out)
            unlink(temporary);
    }
    cm_buffer_free(&text);
    CM_MPI_CHECK(comm, MPI_Bcast(&ok, 1, MPI_INT, 0, comm));
    if (!ok) {
        CM_MPI_CHECK(comm, MPI_Bcast(err, (int)err_size, MPI_CHAR, 0, comm));
        return CM_EIO;
    }
    return 0;
}

static int compare_reports(const void *a, const void *b)
{
    const cm_reject_report *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Reads this rank's segments. Returns 0 or an error code with the message in err. */
static int read_segments(const cm_plan *plan, const cm_segment *segs, int nsegs,
                         const cm_scan_opts *opts, cm_event_sink sink, void *ctx, scan_state *state,
                         cm_progress *progress, char *err, size_t err_size)
{
    cm_row_parser *parser = cm_xmalloc(sizeof *parser);
    int rc = cm_row_parser_init(parser);
    size_t block = opts->block_size ? opts->block_size : DEFAULT_BLOCK;
    for (int s = 0; s < nsegs && rc == 0; s++) {
        const cm_input *input = &plan->files[segs[s].file];
        if (input->kind == CM_INPUT_STORE) {
            rc = cm_store_scan(input, segs[s].file, segs[s].start, segs[s].end, sink, ctx,
                               &state->stats->rows, progress, err, err_size);
            continue;
        }
        cm_lines lines;
        rc = cm_lines_open(&lines, input->path, input->size, input->data_start, segs[s].start,
                           segs[s].end, block);
        if (rc)
            snprintf(err, err_size, "%s", lines.err);
        int64_t reported = 0;
        while (rc == 0) {
            const char *line = NULL;
            size_t len = 0;
            int64_t offset = 0;
            int got = cm_lines_next(&lines, &line, &len, &offset);
            if (got < 0) {
                rc = got;
                snprintf(err, err_size, "%s", lines.err);
                break;
            }
            if (got == 0)
                break;
            if (got == CM_LINE_TOO_LONG) {
                note_reject(state, segs[s].file, offset, CM_REJECT_LONG_LINE, "", 0);
            } else {
                cm_event event;
                int reason = cm_row_parse(parser, &input->layout, line, len, &event);
                if (reason == CM_ROW_OK) {
                    event.file = segs[s].file;
                    event.offset = offset;
                    state->stats->rows++;
                    rc = sink(ctx, &event);
                    if (rc)
                        snprintf(err, err_size, "%s: byte %lld: %s", input->path, (long long)offset,
                                 cm_strerror(rc));
                } else {
                    note_reject(state, segs[s].file, offset, reason, line, len);
                }
            }
            state->lines_in_file[segs[s].file]++;
            if (opts->max_rejects >= 0 && state->stats->rejected > opts->max_rejects)
                break; /* the whole job is over the limit; the collective check says so */
            cm_progress_add(progress, lines.bytes_read - reported);
            reported = lines.bytes_read;
        }
        cm_lines_close(&lines);
    }
    cm_row_parser_free(parser);
    free(parser);
    return rc;
}

int cm_scan(MPI_Comm comm, const cm_plan *plan, const cm_scan_opts *opts, cm_event_sink sink,
            void *ctx, cm_scan_stats *stats, char *err, size_t err_size)
{
    int rank, nranks;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    memset(stats, 0, sizeof *stats);
    stats->bytes = plan->data_bytes;

    scan_state state = {.stats = stats, .keep_records = opts->rejects_path != NULL};
    state.lines_in_file = cm_xcalloc((size_t)plan->nfiles, sizeof(int64_t));
    cm_segment *segs = cm_xcalloc((size_t)plan->nfiles, sizeof *segs);
    int nsegs = cm_plan_segments(plan, nranks, rank, segs);

    int64_t work = plan->data_bytes; /* progress: CSV data bytes and the stores' sizes */
    for (int f = 0; f < plan->nfiles; f++)
        if (plan->files[f].kind == CM_INPUT_STORE)
            work += plan->files[f].size;
    cm_progress progress;
    cm_progress_start(&progress, comm, opts->progress, work);
    char message[512] = "";
    int rc = read_segments(plan, segs, nsegs, opts, sink, ctx, &state, &progress, message,
                           sizeof message);
    cm_progress_end(&progress);

    /* Agree on failure: the lowest failing rank's message goes to everyone. */
    rc = cm_agree(comm, rc, message, sizeof message);
    if (rc != 0) {
        snprintf(err, err_size, "%s", message);
        goto cleanup;
    }

    /* Global counts. */
    int64_t local[2 + CM_NREASONS], global[2 + CM_NREASONS];
    local[0] = stats->rows;
    local[1] = stats->rejected;
    memcpy(local + 2, stats->by_reason, sizeof stats->by_reason);
    CM_MPI_CHECK(comm, MPI_Allreduce(local, global, 2 + CM_NREASONS, MPI_INT64_T, MPI_SUM, comm));
    stats->rows = global[0];
    stats->rejected = global[1];
    memcpy(stats->by_reason, global + 2, sizeof stats->by_reason);
    for (int f = 0; f < plan->nfiles; f++) /* rows a store's maker rejected count here too */
        for (int r = 0; r < CM_NREASONS; r++) {
            stats->by_reason[r] += plan->files[f].rejected_by_reason[r];
            stats->rejected += plan->files[f].rejected_by_reason[r];
            stats->rejected_in_stores += plan->files[f].rejected_by_reason[r];
        }

    /* Line numbers: a file's lines owned by lower ranks come first. Line 1 is the header. */
    int64_t *first_line = cm_xcalloc((size_t)plan->nfiles, sizeof(int64_t));
    CM_MPI_CHECK(comm, MPI_Exscan(state.lines_in_file, first_line, plan->nfiles, MPI_INT64_T,
                                  MPI_SUM, comm));
    for (int f = 0; f < plan->nfiles; f++)
        first_line[f] = (rank == 0 ? 0 : first_line[f]) + 2;
    for (int i = 0; i < state.nreports; i++)
        state.reports[i].line += first_line[state.reports[i].file];

    /* The first reports in file order reach rank 0. */
    cm_reject_report *all =
        rank == 0 ? cm_xcalloc((size_t)nranks * CM_REPORTS_MAX, sizeof *all) : NULL;
    int count = state.nreports, *counts = NULL, *displs = NULL;
    if (rank == 0) {
        counts = cm_xcalloc((size_t)nranks, sizeof(int));
        displs = cm_xcalloc((size_t)nranks, sizeof(int));
    }
    CM_MPI_CHECK(comm, MPI_Gather(&count, 1, MPI_INT, counts, 1, MPI_INT, 0, comm));
    if (rank == 0) {
        for (int r = 0, at = 0; r < nranks; r++) {
            displs[r] = at * (int)sizeof *all;
            at += counts[r];
            counts[r] *= (int)sizeof *all;
        }
    }
    CM_MPI_CHECK(comm, MPI_Gatherv(state.reports, count * (int)sizeof *all, MPI_BYTE, all, counts,
                                   displs, MPI_BYTE, 0, comm));
    if (rank == 0) {
        int total = 0;
        for (int r = 0; r < nranks; r++)
            total += counts[r] / (int)sizeof *all;
        qsort(all, (size_t)total, sizeof *all, compare_reports);
        stats->nreports = total < CM_REPORTS_MAX ? total : CM_REPORTS_MAX;
        memcpy(stats->reports, all, (size_t)stats->nreports * sizeof *all);
    }
    free(all);
    free(counts);
    free(displs);

    if (opts->max_rejects >= 0 && stats->rejected > opts->max_rejects) {
        /* Each rank stopped reading once it alone was over the limit: the count is a floor. */
        snprintf(err, err_size,
                 "at least %lld rows rejected, more than --max-rejects %lld allows; stopped%s",
                 (long long)stats->rejected, (long long)opts->max_rejects,
                 opts->rejects_path ? " (the rejects file lists those found before the stop)" : "");
        rc = CM_EREJECTS;
    }
    if (opts->rejects_path) {
        char write_err[512] = "";
        int written = write_rejects(comm, plan, &state, first_line, opts->rejects_path, write_err,
                                    sizeof write_err);
        if (written != 0 && rc == 0) {
            rc = written;
            snprintf(err, err_size, "%s", write_err);
        }
    }
    free(first_line);
cleanup:
    cm_buffer_free(&state.records);
    free(state.lines_in_file);
    free(segs);
    return rc;
}
