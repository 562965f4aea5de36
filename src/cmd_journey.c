/* `clickmill journey`: one session's or one user's events, gathered to rank 0 in time order. */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clickmill/commands.h"
#include "clickmill/console.h"
#include "clickmill/error.h"
#include "clickmill/output.h"
#include "clickmill/plan.h"
#include "clickmill/scan.h"
#include "clickmill/table.h"

static const char usage[] =
    "usage: mpirun -np N clickmill journey (--session ID | --user ID) [options] FILE...\n"
    "\n"
    "Prints every event of one session (or of one user) in time order.\n"
    "\n"
    "options:\n"
    "  -s, --session ID        the user_session to follow\n"
    "  -u, --user ID           the user_id to follow (all of that user's sessions)\n"
    "  -f, --format FORMAT     text (the default), csv or json\n"
    "      --max-rejects N     stop with an error when more than N rows are rejected\n"
    "  -q, --quiet             no progress line on stderr\n"
    "      --progress          show progress on stderr (rank 0: bytes done, rate, time\n"
    "                          left); the default only when stderr is a terminal, which\n"
    "                          under mpirun it is not\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 when events were found, 1 when none were or the input fails, 2 for a\n"
    "usage error.\n";

static const cm_column_def journey_cols[] = {
    {"event_time", CM_CELL_TEXT}, {"event_type", CM_CELL_TEXT},    {"product_id", CM_CELL_INT},
    {"category_id", CM_CELL_INT}, {"category_code", CM_CELL_TEXT}, {"brand", CM_CELL_TEXT},
    {"price", CM_CELL_MONEY},     {"user_id", CM_CELL_INT},        {"user_session", CM_CELL_TEXT},
};

/* One matching event as it travels to rank 0: fixed part, then four texts. */
typedef struct {
    int64_t time, offset, product_id, category_id, user_id, price_cents;
    int32_t file;
    uint8_t len[4]; /* event_type, category_code, brand, user_session */
} journey_record;

typedef struct {
    const char *session; /* or NULL */
    int64_t user_id;     /* or -1 */
    cm_buffer records;
} journey_filter;

static int collect(void *ctx, const cm_event *event)
{
    journey_filter *filter = ctx;
    if (filter->session) {
        size_t len = strlen(filter->session);
        if (event->user_session.len != len || memcmp(event->user_session.ptr, filter->session, len))
            return 0;
    } else if (event->user_id != filter->user_id) {
        return 0;
    }
    const cm_text texts[4] = {event->type_name, event->category_code, event->brand,
                              event->user_session};
    journey_record record = {event->time,        event->offset,  event->product_id,
                             event->category_id, event->user_id, event->price_cents,
                             event->file,        {0, 0, 0, 0}};
    for (int i = 0; i < 4; i++)
        record.len[i] = (uint8_t)texts[i].len;
    cm_buffer_append(&filter->records, &record, sizeof record);
    for (int i = 0; i < 4; i++)
        cm_buffer_append(&filter->records, texts[i].ptr, texts[i].len);
    return 0;
}

typedef struct {
    journey_record record;
    const char *texts; /* the four texts, back to back */
} journey_entry;

static int compare_entries(const void *a, const void *b)
{
    const journey_record *x = &((const journey_entry *)a)->record;
    const journey_record *y = &((const journey_entry *)b)->record;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Builds the time-ordered table from all gathered records. */
static void build_journey(const char *data, size_t len, cm_result *table)
{
    size_t count = 0, cap = 64;
    journey_entry *entries = cm_xmalloc(cap * sizeof *entries);
    for (size_t at = 0; at < len;) {
        if (count == cap)
            entries = cm_xrealloc(entries, (cap *= 2) * sizeof *entries);
        memcpy(&entries[count].record, data + at, sizeof(journey_record));
        at += sizeof(journey_record);
        entries[count].texts = data + at;
        for (int i = 0; i < 4; i++)
            at += entries[count].record.len[i];
        count++;
    }
    qsort(entries, count, sizeof *entries, compare_entries);
    for (size_t e = 0; e < count; e++) {
        const journey_record *record = &entries[e].record;
        const char *text = entries[e].texts;
        char *texts[4];
        for (int i = 0; i < 4; i++) {
            texts[i] = cm_xstrndup(text, record->len[i]);
            text += record->len[i];
        }
        char time[24];
        cm_time_format(record->time, time);
        cm_cell *row = cm_result_add_row(table);
        row[0].text = cm_xstrdup(time);
        row[1].text = texts[0];
        row[2].num = record->product_id;
        row[3].num = record->category_id;
        row[4].text = texts[1];
        row[5].text = texts[2];
        row[6].num = record->price_cents;
        row[7].num = record->user_id;
        row[8].text = texts[3];
    }
    free(entries);
}

static void print_journey_text(FILE *out, const cm_result *table, const journey_filter *filter)
{
    if (filter->session)
        fprintf(out, "session %s: %zu events", filter->session, table->nrows);
    else
        fprintf(out, "user %" PRId64 ": %zu events", filter->user_id, table->nrows);
    if (table->nrows) {
        const cm_cell *first = cm_result_row(table, 0);
        const cm_cell *last = cm_result_row(table, table->nrows - 1);
        fprintf(out, " from %s to %s", first[0].text, last[0].text);
        if (filter->session)
            fprintf(out, ", user %" PRId64, first[7].num);
    }
    fputc('\n', out);
    fprintf(out, "  %-23s %-16s %10s %-36s %-16s %10s%s\n", "time", "event", "product",
            "category_code", "brand", "price", filter->session ? "" : "  session");
    for (size_t r = 0; r < table->nrows; r++) {
        const cm_cell *row = cm_result_row(table, r);
        char price[32];
        cm_cell_format(&journey_cols[6], row[6], price, sizeof price);
        fprintf(out, "  %-23s %-16s %10" PRId64 " %-36s %-16s %10s%s%s\n", row[0].text, row[1].text,
                row[2].num, row[4].text[0] ? row[4].text : "-", row[5].text[0] ? row[5].text : "-",
                price, filter->session ? "" : "  ", filter->session ? "" : row[8].text);
    }
}

enum { OPT_MAX_REJECTS = 256, OPT_PROGRESS };

int cm_cmd_journey(MPI_Comm comm, int argc, char **argv)
{
    static const struct option options[] = {
        {"session", required_argument, NULL, 's'},
        {"user", required_argument, NULL, 'u'},
        {"format", required_argument, NULL, 'f'},
        {"max-rejects", required_argument, NULL, OPT_MAX_REJECTS},
        {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int rank;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    journey_filter filter = {.user_id = -1};
    const char *format = "text";
    long long max_rejects = -1;
    int quiet = 0, progress = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":s:u:f:qh", options, NULL)) != -1) {
        switch (c) {
        case 's': filter.session = optarg; break;
        case 'u':
            filter.user_id = cm_option_count(optarg);
            if (filter.user_id < 0) {
                cm_say(comm, "journey: --user needs a numeric user_id, not '%s'", optarg);
                return CM_EXIT_USAGE;
            }
            break;
        case 'f': format = optarg; break;
        case 'q': quiet = 1; break;
        case OPT_PROGRESS: progress = 1; break;
        case OPT_MAX_REJECTS:
            max_rejects = cm_option_count(optarg);
            if (max_rejects < 0) {
                cm_say(comm, "journey: --max-rejects needs a whole number, not '%s'", optarg);
                return CM_EXIT_USAGE;
            }
            break;
        default: return cm_option_end(comm, "journey", c, usage, argv);
        }
    }
    if ((filter.session == NULL) == (filter.user_id < 0)) {
        cm_say(comm, "journey: give exactly one of --session ID or --user ID (see --help)");
        return CM_EXIT_USAGE;
    }
    if (strcmp(format, "text") && strcmp(format, "csv") && strcmp(format, "json")) {
        cm_say(comm, "journey: --format must be text, csv or json, not '%s'", format);
        return CM_EXIT_USAGE;
    }
    if (optind >= argc) {
        cm_say(comm, "journey: no input files (see --help)");
        return CM_EXIT_USAGE;
    }

    char err[1024];
    cm_plan plan;
    int exit_code = cm_command_plan(comm, argv + optind, argc - optind, &plan);
    if (exit_code >= 0)
        return exit_code;
    int rc;
    cm_scan_opts scan_opts = {.max_rejects = max_rejects,
                              .progress = cm_progress_wanted(quiet, progress)};
    cm_scan_stats stats;
    rc = cm_scan(comm, &plan, &scan_opts, collect, &filter, &stats, err, sizeof err);
    if (rank == 0 && (rc == 0 || rc == CM_EREJECTS)) /* otherwise the counts are partial */
        cm_console_rejects(stderr, &stats, (const char *const *)(argv + optind));
    cm_plan_free(&plan);
    if (rc != 0) {
        cm_say(comm, "%s", err);
        cm_buffer_free(&filter.records);
        return CM_EXIT_FAILURE;
    }

    /* A journey is small; gather its records to rank 0 in one call. */
    int nranks;
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    int64_t mine = (int64_t)filter.records.len, total = 0;
    CM_MPI_CHECK(comm, MPI_Allreduce(&mine, &total, 1, MPI_INT64_T, MPI_SUM, comm));
    if (total > INT_MAX) {
        cm_say(comm, "journey: the selected events take %lld bytes, more than one gather allows",
               (long long)total);
        cm_buffer_free(&filter.records);
        return CM_EXIT_FAILURE;
    }
    int count = (int)mine, *counts = NULL, *displs = NULL;
    char *all = NULL;
    if (rank == 0) {
        counts = cm_xcalloc((size_t)nranks, sizeof(int));
        displs = cm_xcalloc((size_t)nranks, sizeof(int));
        all = cm_xmalloc((size_t)total + 1);
    }
    CM_MPI_CHECK(comm, MPI_Gather(&count, 1, MPI_INT, counts, 1, MPI_INT, 0, comm));
    if (rank == 0)
        for (int r = 1; r < nranks; r++)
            displs[r] = displs[r - 1] + counts[r - 1];
    CM_MPI_CHECK(comm, MPI_Gatherv(filter.records.data, count, MPI_BYTE, all, counts, displs,
                                   MPI_BYTE, 0, comm));
    cm_buffer_free(&filter.records);

    int found = 0;
    if (rank == 0) {
        cm_result table = {.name = "journey",
                           .ncols = (int)(sizeof journey_cols / sizeof journey_cols[0]),
                           .cols = journey_cols};
        build_journey(all, (size_t)total, &table);
        found = table.nrows > 0;
        if (!found) {
            if (filter.session)
                fprintf(stderr, "clickmill: journey: no events for session %s\n", filter.session);
            else
                fprintf(stderr, "clickmill: journey: no events for user %" PRId64 "\n",
                        filter.user_id);
        }
        if (!strcmp(format, "json")) {
            cm_result_write_json(stdout, &table);
            fputc('\n', stdout);
        } else if (!strcmp(format, "csv")) {
            cm_result_write_csv(stdout, &table);
        } else if (found) {
            print_journey_text(stdout, &table, &filter);
        }
        fflush(stdout);
        for (size_t r = 0; r < table.nrows; r++)
            for (int col = 0; col < table.ncols; col++)
                if (journey_cols[col].type == CM_CELL_TEXT)
                    free(cm_result_row(&table, r)[col].text);
        free(table.cells);
    }
    free(all);
    free(counts);
    free(displs);
    CM_MPI_CHECK(comm, MPI_Bcast(&found, 1, MPI_INT, 0, comm));
    return found ? CM_EXIT_OK : CM_EXIT_FAILURE;
}
