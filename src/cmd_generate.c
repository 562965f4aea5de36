/* `clickmill generate`: a synthetic month in the REES46 format, written by all ranks at once. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clickmill/commands.h"
#include "clickmill/error.h"
#include "clickmill/gen_model.h"
#include "clickmill/table.h"

static const char usage[] =
    "usage: mpirun -np N clickmill generate (--rows N | --size SIZE) [options] -o FILE\n"
    "\n"
    "Writes a synthetic month of e-commerce events in the REES46 CSV format, sorted by time,\n"
    "shaped like the real October 2019 month (docs/generator.md). The file is the same for a\n"
    "given seed and size whatever the number of ranks.\n"
    "\n"
    "options:\n"
    "  -n, --rows N        exactly N data rows (42448764 is the real October)\n"
    "  -s, --size SIZE     about SIZE bytes instead, e.g. 500M or 5.7G (K, M, G are powers of\n"
    "                      1000; the real October is 5.67G)\n"
    "  -m, --month YYYY-MM the month to generate (default 2019-10)\n"
    "      --seed S        the random seed (default 46)\n"
    "  -o, --out FILE      the CSV file to write (required; written under a temporary name and\n"
    "                      renamed when complete; every rank writes its part, so FILE must be on\n"
    "                      a filesystem all ranks see)\n"
    "  -q, --quiet         no summary line on stderr\n"
    "  -h, --help          show this help\n"
    "\n"
    "Memory: each rank holds one slice of the file at a time (up to about 350 MB).\n";

/* Average bytes per row of the real October file (5,668,612,855 / 42,448,764). */
#define BYTES_PER_ROW  133.54
#define WINDOW_SECONDS 600

typedef struct {
    int64_t rows;
    int year, month;
    uint64_t seed;
    const char *out;
    int quiet;
} generate_opts;

static int parse_size(const char *text, int64_t *bytes)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno || end == text || !(value > 0 && value < 1e18))
        return -1;
    double unit = 1;
    if (*end == 'K' || *end == 'k')
        unit = 1e3;
    else if (*end == 'M' || *end == 'm')
        unit = 1e6;
    else if (*end == 'G' || *end == 'g')
        unit = 1e9;
    else if (*end == 'T' || *end == 't')
        unit = 1e12;
    if (unit > 1)
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end)
        return -1;
    if (value * unit > 1e18)
        return -1;
    *bytes = (int64_t)(value * unit);
    return 0;
}

/* YYYY-MM exactly: four digits, a dash, two digits. */
static int month_text(const char *text)
{
    if (strlen(text) != 7 || text[4] != '-')
        return 0;
    for (int i = 0; i < 7; i++)
        if (i != 4 && (text[i] < '0' || text[i] > '9'))
            return 0;
    return 1;
}

/* Far beyond any month of the real data (4 billion rows, about 530 GB); the row order needs
 * fewer than 2^32 visits. */
#define ROWS_MAX 4000000000LL

enum { OPT_SEED = 256 };

static int parse_options(MPI_Comm comm, int argc, char **argv, generate_opts *opts)
{
    static const struct option options[] = {
        {"rows", required_argument, NULL, 'n'},  {"size", required_argument, NULL, 's'},
        {"month", required_argument, NULL, 'm'}, {"seed", required_argument, NULL, OPT_SEED},
        {"out", required_argument, NULL, 'o'},   {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    int rank;
    MPI_Comm_rank(comm, &rank);
    *opts = (generate_opts){.rows = -1, .year = 2019, .month = 10, .seed = 46};
    int64_t size = -1;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":n:s:m:o:qh", options, NULL)) != -1) {
        switch (c) {
        case 'n':
            opts->rows = cm_option_count(optarg);
            if (opts->rows < 1) {
                cm_say(comm, "generate: --rows needs a whole number of at least 1, not '%s'",
                       optarg);
                return CM_EXIT_USAGE;
            }
            break;
        case 's':
            if (parse_size(optarg, &size) != 0 || size < 1000) {
                cm_say(comm,
                       "generate: --size needs a size such as 500M or 5.7G (at least 1K), "
                       "not '%s'",
                       optarg);
                return CM_EXIT_USAGE;
            }
            break;
        case 'm':
            if (!month_text(optarg) || sscanf(optarg, "%4d-%2d", &opts->year, &opts->month) != 2 ||
                opts->year < 1970 || opts->year > 2100 || opts->month < 1 || opts->month > 12 ||
                strlen(optarg) != 7) {
                cm_say(comm,
                       "generate: --month needs YYYY-MM between 1970-01 and 2100-12, not "
                       "'%s'",
                       optarg);
                return CM_EXIT_USAGE;
            }
            break;
        case OPT_SEED: {
            long long seed = cm_option_count(optarg);
            if (seed < 0) {
                cm_say(comm, "generate: --seed needs a whole number, not '%s'", optarg);
                return CM_EXIT_USAGE;
            }
            opts->seed = (uint64_t)seed;
            break;
        }
        case 'o': opts->out = optarg; break;
        case 'q': opts->quiet = 1; break;
        default: return cm_option_end(comm, "generate", c, usage, argv);
        }
    }
    if ((opts->rows > 0) == (size > 0)) {
        cm_say(comm, "generate: give exactly one of --rows N or --size SIZE (see --help)");
        return CM_EXIT_USAGE;
    }
    if (size > 0)
        opts->rows = (int64_t)((double)(size - (int64_t)strlen(cm_gen_header)) / BYTES_PER_ROW);
    if (opts->rows < 1)
        opts->rows = 1;
    if (opts->rows > ROWS_MAX) {
        cm_say(comm, "generate: at most %lld rows (4 billion) per file", ROWS_MAX);
        return CM_EXIT_USAGE;
    }
    if (!opts->out || !opts->out[0]) {
        cm_say(comm, "generate: -o FILE is required (see --help)");
        return CM_EXIT_USAGE;
    }
    if (optind < argc) {
        cm_say(comm, "generate: unexpected argument '%s' (see --help)", argv[optind]);
        return CM_EXIT_USAGE;
    }
    return -1;
}

/* Finds the number of visits whose rows add up to exactly `rows` (the last one cut), summing
 * the visits' row counts over index chunks on all ranks. Collective. */
static void count_visits(MPI_Comm comm, cm_gen_model *model, int64_t rows)
{
    int rank, nranks;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    int64_t *sums = cm_xcalloc((size_t)nranks, sizeof *sums);
    uint64_t candidates = (uint64_t)(rows / 4.3) + 64, base = 0;
    int64_t before = 0; /* rows of visits [0, base) */
    for (;;) {
        uint64_t lo = base + (candidates - base) * (uint64_t)rank / (uint64_t)nranks;
        uint64_t hi = base + (candidates - base) * (uint64_t)(rank + 1) / (uint64_t)nranks;
        int64_t mine = 0;
        for (uint64_t i = lo; i < hi; i++)
            mine += cm_gen_visit_rows(model, i);
        CM_MPI_CHECK(comm, MPI_Allgather(&mine, 1, MPI_INT64_T, sums, 1, MPI_INT64_T, comm));
        int64_t running = before;
        int owner = -1;
        for (int r = 0; r < nranks && owner < 0; r++) {
            if (running + sums[r] >= rows)
                owner = r;
            else
                running += sums[r];
        }
        if (owner >= 0) {
            /* The owner walks its chunk to the visit that reaches `rows`. */
            uint64_t visits = 0;
            int last_rows = 0;
            if (rank == owner) {
                for (uint64_t i = lo; i < hi; i++) {
                    int n = cm_gen_visit_rows(model, i);
                    if (running + n >= rows) {
                        visits = i + 1;
                        last_rows = (int)(rows - running);
                        break;
                    }
                    running += n;
                }
            }
            CM_MPI_CHECK(comm, MPI_Bcast(&visits, 1, MPI_UINT64_T, owner, comm));
            CM_MPI_CHECK(comm, MPI_Bcast(&last_rows, 1, MPI_INT, owner, comm));
            model->visits = visits;
            model->last_rows = last_rows;
            break;
        }
        before = running;
        base = candidates;
        candidates += candidates / 4 + 64;
    }
    free(sums);
}

typedef struct {
    cm_gen_event *items;
    size_t count, cap;
} event_list;

static void reserve_events(event_list *list, size_t count)
{
    if (count > list->cap) {
        list->cap = count * 2;
        list->items = cm_xrealloc(list->items, list->cap * sizeof *list->items);
    }
}

static void push_event(event_list *list, const cm_gen_event *event)
{
    if (list->count == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 4096;
        list->items = cm_xrealloc(list->items, list->cap * sizeof *list->items);
    }
    list->items[list->count++] = *event;
}

/* Where a rank's rows go: one slice at a time into the buffer, then to the file at the slice's
 * offset, which the rank that wrote the slice before it sends along. */
typedef struct {
    int fd;
    int64_t offset; /* where the buffer's first byte goes */
    cm_buffer buffer;
    int failed;
    char err[512];
} output_sink;

#define TAG_OFFSET 301

static void sink_flush(output_sink *sink, const char *path)
{
    for (size_t at = 0; !sink->failed && at < sink->buffer.len;) {
        ssize_t wrote = pwrite(sink->fd, sink->buffer.data + at, sink->buffer.len - at,
                               (off_t)(sink->offset + (int64_t)at));
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote <= 0) {
            sink->failed = 1;
            snprintf(sink->err, sizeof sink->err, "%.300s: write error: %s", path,
                     wrote < 0 ? strerror(errno) : "nothing written");
            break;
        }
        at += (size_t)wrote;
    }
    sink->offset += (int64_t)sink->buffer.len;
    sink->buffer.len = 0;
}

/* Generates slice `slice` of `slices`, formatted, into the sink's buffer: the rows whose times
 * fall in that share of the visits' start times. Local. */
static void generate_slice(const cm_gen_model *model, int slice, int slices, output_sink *sink)
{
    uint64_t first = model->visits * (uint64_t)slice / (uint64_t)slices;
    uint64_t last = model->visits * (uint64_t)(slice + 1) / (uint64_t)slices;
    int64_t from = slice == 0 ? 0 : cm_gen_visit_start(model, first);
    int64_t to = slice == slices - 1 ? (int64_t)model->month_seconds
                                     : (int64_t)cm_gen_visit_start(model, last);
    uint64_t visit = cm_gen_first_visit_at(model, from - CM_GEN_VISIT_MAX_SECONDS);
    uint64_t visits_end = slice == slices - 1 ? model->visits : cm_gen_first_visit_at(model, to);
    sink->buffer.len = 0;
    if (slice == 0)
        cm_buffer_append(&sink->buffer, cm_gen_header, strlen(cm_gen_header));

    event_list pending = {0};
    cm_gen_event *scratch = cm_xmalloc(1001 * sizeof *scratch);
    event_list ready_list = {0}, sorted = {0};
    size_t second_count[WINDOW_SECONDS + 1];
    cm_gen_formatter formatter = {.day = -1};
    uint32_t next_start = visit < visits_end ? cm_gen_visit_start(model, visit) : 0;
    for (int64_t window = from; window < to; window += WINDOW_SECONDS) {
        int64_t window_end = window + WINDOW_SECONDS < to ? window + WINDOW_SECONDS : to;
        while (visit < visits_end && (int64_t)next_start < window_end) {
            /* A visit that started before the slice matters only if it lasts into it. */
            if ((int64_t)next_start < from &&
                (int64_t)cm_gen_visit_end(model, visit, next_start) < from) {
                visit++;
                if (visit < visits_end)
                    next_start = cm_gen_visit_start(model, visit);
                continue;
            }
            int n = cm_gen_visit(model, visit, scratch);
            for (int k = 0; k < n; k++) {
                if ((int64_t)scratch[k].time >= from && (int64_t)scratch[k].time < to) {
                    push_event(&pending, &scratch[k]);
                    reserve_events(&ready_list, pending.count);
                    reserve_events(&sorted, pending.count);
                }
            }
            visit++;
            if (visit < visits_end)
                next_start = cm_gen_visit_start(model, visit);
        }
        /* The window's events, in (time, visit, seq) order: pending holds them in (visit, seq)
         * order, so a stable split and a stable counting sort by second are enough. */
        size_t ready = 0, later = 0;
        for (size_t i = 0; i < pending.count; i++) {
            if ((int64_t)pending.items[i].time < window_end)
                ready_list.items[ready++] = pending.items[i];
            else
                pending.items[later++] = pending.items[i];
        }
        pending.count = later;
        memset(second_count, 0, sizeof second_count);
        for (size_t i = 0; i < ready; i++)
            second_count[ready_list.items[i].time - window + 1]++;
        for (int b = 1; b <= WINDOW_SECONDS; b++)
            second_count[b] += second_count[b - 1];
        for (size_t i = 0; i < ready; i++)
            sorted.items[second_count[ready_list.items[i].time - window]++] = ready_list.items[i];
        if (sink->buffer.cap - sink->buffer.len < ready * CM_GEN_LINE_MAX) {
            size_t want = sink->buffer.len + ready * CM_GEN_LINE_MAX;
            sink->buffer.cap = want + want / 4;
            sink->buffer.data = cm_xrealloc(sink->buffer.data, sink->buffer.cap);
        }
        for (size_t i = 0; i < ready; i++)
            sink->buffer.len += cm_gen_format(model, &formatter, &sorted.items[i],
                                              sink->buffer.data + sink->buffer.len);
    }
    free(scratch);
    free(pending.items);
    free(ready_list.items);
    free(sorted.items);
}

/* Creates the temporary file on rank 0 and opens it on every rank. Collective. */
static int open_output(MPI_Comm comm, const char *path, char *temporary, size_t temporary_size,
                       output_sink *sink, char *err, size_t err_size)
{
    int rank, ok = 1;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    long pid = (long)getpid();
    CM_MPI_CHECK(comm, MPI_Bcast(&pid, 1, MPI_LONG, 0, comm));
    snprintf(temporary, temporary_size, "%s.tmp.%ld", path, pid);
    char message[512] = "";
    struct stat st;
    if (rank == 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        ok = 0;
        snprintf(message, sizeof message, "%.300s: is a directory; -o needs a file name", path);
    } else if (rank == 0) {
        int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (fd < 0) {
            ok = 0;
            snprintf(message, sizeof message, "%.300s: cannot create: %s", temporary,
                     strerror(errno));
        } else {
            close(fd);
        }
    }
    CM_MPI_CHECK(comm, MPI_Bcast(&ok, 1, MPI_INT, 0, comm));
    if (ok) {
        sink->fd = open(temporary, O_WRONLY);
        if (sink->fd < 0)
            snprintf(message, sizeof message, "%.300s: cannot open on rank %d: %s", temporary, rank,
                     strerror(errno));
    }
    int failed = ok && sink->fd >= 0 ? INT32_MAX : rank, first_failed;
    CM_MPI_CHECK(comm, MPI_Allreduce(&failed, &first_failed, 1, MPI_INT, MPI_MIN, comm));
    if (first_failed == INT32_MAX)
        return 0;
    CM_MPI_CHECK(comm, MPI_Bcast(message, sizeof message, MPI_CHAR, first_failed, comm));
    snprintf(err, err_size, "%s", message);
    if (sink->fd >= 0)
        close(sink->fd);
    sink->fd = -1;
    if (rank == 0 && ok)
        unlink(temporary);
    return CM_EIO;
}

/* Generates this rank's slices in order and writes each at its offset: slice k's offset comes
 * from the rank of slice k - 1 as soon as that slice is generated, and slice k sends its own end
 * on to the rank of slice k + 1. Ranks work on neighbouring slices at the same time, so writing
 * goes on all along and each rank holds one slice at a time. Collective. */
static void generate_slices(MPI_Comm comm, const cm_gen_model *model, int slices, output_sink *sink,
                            const char *path, int64_t *total)
{
    int rank, nranks;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    int64_t end = 0;
    for (int slice = rank; slice < slices; slice += nranks) {
        generate_slice(model, slice, slices, sink);
        /* On one rank the previous slice was this rank's own: its end is already known. */
        sink->offset = slice == 0 || nranks == 1 ? end : 0;
        if (slice > 0 && nranks > 1)
            CM_MPI_CHECK(comm, MPI_Recv(&sink->offset, 1, MPI_INT64_T, (slice - 1) % nranks,
                                        TAG_OFFSET, comm, MPI_STATUS_IGNORE));
        end = sink->offset + (int64_t)sink->buffer.len;
        if (slice + 1 < slices && nranks > 1)
            CM_MPI_CHECK(comm,
                         MPI_Send(&end, 1, MPI_INT64_T, (slice + 1) % nranks, TAG_OFFSET, comm));
        sink_flush(sink, path); /* after a failure it only moves on, so no rank waits for ever */
    }
    *total = end;
    CM_MPI_CHECK(comm, MPI_Bcast(total, 1, MPI_INT64_T, (slices - 1) % nranks, comm));
}

/* Closes the file everywhere and renames it on rank 0 if every rank wrote its part. Collective. */
static int finish_output(MPI_Comm comm, const char *path, const char *temporary, output_sink *sink,
                         char *err, size_t err_size)
{
    int rank;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    if (close(sink->fd) != 0 && !sink->failed) {
        sink->failed = 1;
        snprintf(sink->err, sizeof sink->err, "%.300s: write error: %s", temporary,
                 strerror(errno));
    }
    int failed = sink->failed ? rank : INT32_MAX, first_failed;
    CM_MPI_CHECK(comm, MPI_Allreduce(&failed, &first_failed, 1, MPI_INT, MPI_MIN, comm));
    int ok = first_failed == INT32_MAX;
    if (!ok)
        CM_MPI_CHECK(comm, MPI_Bcast(sink->err, sizeof sink->err, MPI_CHAR, first_failed, comm));
    if (rank == 0) {
        if (ok && rename(temporary, path) != 0) {
            ok = 0;
            snprintf(sink->err, sizeof sink->err, "%.300s: cannot rename into place: %s", path,
                     strerror(errno));
        }
        if (!ok)
            unlink(temporary);
    }
    CM_MPI_CHECK(comm, MPI_Bcast(&ok, 1, MPI_INT, 0, comm));
    if (ok)
        return 0;
    CM_MPI_CHECK(comm, MPI_Bcast(sink->err, sizeof sink->err, MPI_CHAR, 0, comm));
    snprintf(err, err_size, "%s", sink->err);
    return CM_EIO;
}

/* Slices per rank: at most about 2.5 million rows each (about 350 MB held per rank), which is
 * also enough for writing to overlap generating, and few enough that re-simulating the visits
 * that run into a slice (up to 3 hours' worth, fewer
 * since visits that end before the slice are skipped) stays cheap.
 */
static int slice_count(int64_t rows, int nranks)
{
    int64_t per_rank = (rows / nranks + 2499999) / 2500000;
    return nranks * (int)(per_rank < 1 ? 1 : per_rank);
}

int cm_cmd_generate(MPI_Comm comm, int argc, char **argv)
{
    generate_opts opts;
    int exit_code = parse_options(comm, argc, argv, &opts);
    if (exit_code >= 0)
        return exit_code;
    int rank, nranks;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    double started = MPI_Wtime();

    cm_gen_model model;
    cm_gen_model_build(&model, opts.seed, opts.year, opts.month, opts.rows);
    count_visits(comm, &model, opts.rows);
    if (model.visits > CM_GEN_VISITS_MAX) {
        cm_say(comm,
               "generate: %" PRId64 " rows are more than one file can hold (at most about "
               "%.0f billion)",
               opts.rows, CM_GEN_VISITS_MAX * 4.5 / 1e9);
        cm_gen_model_free(&model);
        return CM_EXIT_USAGE;
    }

    char err[1024], temporary[4200];
    output_sink sink = {.fd = -1};
    int rc = open_output(comm, opts.out, temporary, sizeof temporary, &sink, err, sizeof err);
    int64_t total = 0;
    int slices = slice_count(opts.rows, nranks);
    if (rc == 0) {
        /* Reserve about one slice, so the buffer rarely moves. */
        size_t expected = (size_t)((double)opts.rows / slices * BYTES_PER_ROW * 1.05);
        sink.buffer.data = cm_xmalloc(expected + 1);
        sink.buffer.cap = expected + 1;
        generate_slices(comm, &model, slices, &sink, temporary, &total);
        rc = finish_output(comm, opts.out, temporary, &sink, err, sizeof err);
    }
    cm_buffer_free(&sink.buffer);
    double finished = MPI_Wtime();
    if (rc != 0) {
        cm_say(comm, "generate: %s", err);
    } else if (!opts.quiet && rank == 0) {
        double seconds = finished - started;
        fprintf(stderr,
                "clickmill: generate: %" PRId64 " rows, %" PRIu64 " visits, %.1f MB in %s in "
                "%.2f s on %d rank%s (%d slices): %.0f rows/s per rank\n",
                opts.rows, model.visits, (double)total / 1e6, opts.out, seconds, nranks,
                nranks == 1 ? "" : "s", slices, (double)opts.rows / seconds / nranks);
    }
    cm_gen_model_free(&model);
    return rc == 0 ? CM_EXIT_OK : CM_EXIT_FAILURE;
}
