/* `clickmill analyze`: read the inputs in parallel, aggregate, merge, and write every table. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clickmill/analytics.h"
#include "clickmill/commands.h"
#include "clickmill/console.h"
#include "clickmill/error.h"
#include "clickmill/event.h"
#include "clickmill/output.h"
#include "clickmill/plan.h"
#include "clickmill/report.h"
#include "clickmill/row.h"
#include "clickmill/scan.h"
#include "clickmill/version.h"

static const char usage[] =
    "usage: mpirun -np N clickmill analyze [options] FILE...\n"
    "\n"
    "Reads REES46 event files, CSV files or event stores made by ingest (several files are\n"
    "one data set), computes the funnel, categories, brands, products, days and hours tables,\n"
    "writes them to DIR/results.h5 and DIR/tables/*.csv, and prints a summary. The answer is\n"
    "the same for any number of ranks.\n"
    "\n"
    "options:\n"
    "  -o, --out DIR           where to write the tables (default: clickmill-out)\n"
    "  -f, --format FORMAT     what goes to stdout: text (a readable summary, the default),\n"
    "                          csv (every table) or json (every table)\n"
    "      --rejects FILE      write every rejected line to FILE (CSV: file, line, byte\n"
    "                          offset, reason, text)\n"
    "      --max-rejects N     stop with an error when more than N rows are rejected\n"
    "                          (default: no limit; rejected rows are counted and reported)\n"
    "      --car-min-carts N   cart abandonment: only groups with at least N carts\n"
    "                          (default: 5000)\n"
    "      --car-category C    cart abandonment by brand within category C\n"
    "                          (default: electronics)\n"
    "      --top N             rows in the top-N lists of the summary (default: 10)\n"
    "      --report FILE       also write the HTML report (as clickmill report does)\n"
    "  -q, --quiet             no progress line on stderr\n"
    "      --progress          show progress on stderr (rank 0: bytes done, rate, time\n"
    "                          left); the default only when stderr is a terminal, which\n"
    "                          under mpirun it is not\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 on success, 1 when the input or an output fails, 2 for a usage error.\n"
    "The tables are described in docs/data-contract.md.\n";

typedef struct {
    const char *out_dir;
    const char *format;
    const char *rejects;
    const char *report;
    long long max_rejects;
    cm_console_opts console;
    int quiet;
    int progress;
} analyze_opts;

enum {
    OPT_REJECTS = 256,
    OPT_PROGRESS,
    OPT_MAX_REJECTS,
    OPT_CAR_MIN,
    OPT_CAR_CATEGORY,
    OPT_TOP,
    OPT_REPORT
};

/* Returns -1 to go on, or an exit code. */
static int parse_options(MPI_Comm comm, int argc, char **argv, analyze_opts *opts)
{
    static const struct option options[] = {
        {"out", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {"rejects", required_argument, NULL, OPT_REJECTS},
        {"max-rejects", required_argument, NULL, OPT_MAX_REJECTS},
        {"car-min-carts", required_argument, NULL, OPT_CAR_MIN},
        {"car-category", required_argument, NULL, OPT_CAR_CATEGORY},
        {"top", required_argument, NULL, OPT_TOP},
        {"report", required_argument, NULL, OPT_REPORT},
        {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int rank;
    MPI_Comm_rank(comm, &rank);
    *opts = (analyze_opts){
        .out_dir = "clickmill-out",
        .format = "text",
        .max_rejects = -1,
        .console = {.car_min_carts = 5000, .car_category = "electronics", .top = 10}};
    opterr = 0;
    optind = 1;
    int c, option_index = 0;
    long long value;
    while ((c = getopt_long(argc, argv, ":o:f:qh", options, &option_index)) != -1) {
        switch (c) {
        case 'o': opts->out_dir = optarg; break;
        case 'f': opts->format = optarg; break;
        case 'q': opts->quiet = 1; break;
        case OPT_PROGRESS: opts->progress = 1; break;
        case OPT_REJECTS: opts->rejects = optarg; break;
        case OPT_REPORT: opts->report = optarg; break;
        case OPT_CAR_CATEGORY:
            if (strlen(optarg) > CM_FIELD_MAX) {
                cm_say(comm, "analyze: --car-category is longer than a field can be (%d bytes)",
                       CM_FIELD_MAX);
                return CM_EXIT_USAGE;
            }
            opts->console.car_category = optarg;
            break;
        case OPT_MAX_REJECTS:
        case OPT_CAR_MIN:
        case OPT_TOP:
            value = cm_option_count(optarg);
            if (value < 0 || (c == OPT_TOP && (value < 1 || value > 1000))) {
                cm_say(comm, "analyze: --%s needs a whole number%s, not '%s'",
                       options[option_index].name,
                       c == OPT_TOP ? " from 1 to 1000" : " (0 or more)", optarg);
                return CM_EXIT_USAGE;
            }
            if (c == OPT_MAX_REJECTS)
                opts->max_rejects = value;
            else if (c == OPT_CAR_MIN)
                opts->console.car_min_carts = value;
            else
                opts->console.top = (int)value;
            break;
        default: return cm_option_end(comm, "analyze", c, usage, argv);
        }
    }
    if (strcmp(opts->format, "text") && strcmp(opts->format, "csv") &&
        strcmp(opts->format, "json")) {
        cm_say(comm, "analyze: --format must be text, csv or json, not '%s'", opts->format);
        return CM_EXIT_USAGE;
    }
    if (optind >= argc) {
        cm_say(comm, "analyze: no input files; usage: clickmill analyze [options] FILE... "
                     "(see --help)");
        return CM_EXIT_USAGE;
    }
    return -1;
}

/* Rank 0 writes every output; the others learn whether it worked. */
static int write_outputs(MPI_Comm comm, const analyze_opts *opts, cm_results *results)
{
    int rank, rc = 0;
    char err[1024] = "";
    MPI_Comm_rank(comm, &rank);
    if (rank == 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s/results.h5", opts->out_dir);
        rc = cm_mkdirs(opts->out_dir, err, sizeof err);
        if (rc == 0)
            rc = cm_results_write_h5(path, results, err, sizeof err);
        if (rc == 0)
            rc = cm_results_write_csv_dir(opts->out_dir, results, err, sizeof err);
        if (rc == 0 && opts->report) {
            char created[24];
            cm_time_format((int64_t)time(NULL), created);
            cm_report_input report = {.results = results,
                                      .created = created,
                                      .version = CM_VERSION,
                                      .top = opts->console.top < 100 ? opts->console.top : 100,
                                      .car_min_carts = opts->console.car_min_carts,
                                      .car_category = opts->console.car_category};
            rc = cm_report_write(opts->report, &report, err, sizeof err);
        }
        if (rc != 0) {
            fprintf(stderr, "clickmill: %s\n", err);
        } else if (!strcmp(opts->format, "json")) {
            cm_console_json(stdout, results);
        } else if (!strcmp(opts->format, "csv")) {
            cm_console_csv(stdout, results);
        } else {
            cm_console_summary(stdout, results, &opts->console);
            printf("\nTables written to %s/results.h5 and %s/tables/\n", opts->out_dir,
                   opts->out_dir);
            if (opts->report)
                printf("Report written to %s\n", opts->report);
        }
        fflush(stdout);
    }
    CM_MPI_CHECK(comm, MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
    return rc;
}

/* The report may overwrite neither an input nor another output of the run. */
static int check_report_path(const analyze_opts *opts, char **paths, int npaths, char *err,
                             size_t err_size)
{
    int n = 0;
    char(*names)[4200] = cm_xmalloc((CM_NTABLES + 2) * sizeof *names);
    char **others = cm_xmalloc(((size_t)npaths + CM_NTABLES + 2) * sizeof *others);
    cm_results contract;
    cm_results_init(&contract);
    snprintf(names[n++], sizeof *names, "%s/results.h5", opts->out_dir);
    for (int t = 0; t < CM_NTABLES; t++)
        snprintf(names[n++], sizeof *names, "%s/tables/%s.csv", opts->out_dir,
                 contract.tables[t].name);
    for (int i = 0; i < npaths; i++)
        others[i] = paths[i];
    for (int i = 0; i < n; i++)
        others[npaths + i] = names[i];
    if (opts->rejects)
        others[npaths + n++] = (char *)opts->rejects;
    int rc = cm_output_check(opts->report, others, npaths + n, err, err_size);
    free(others);
    free(names);
    return rc;
}

int cm_cmd_analyze(MPI_Comm comm, int argc, char **argv)
{
    analyze_opts opts;
    int exit_code = parse_options(comm, argc, argv, &opts);
    if (exit_code >= 0)
        return exit_code;
    int rank, nranks;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    double started = MPI_Wtime();

    char **paths = argv + optind;
    int npaths = argc - optind;
    char err[1024];
    cm_plan plan;
    if ((exit_code = cm_command_plan(comm, paths, npaths, &plan)) >= 0)
        return exit_code;
    int rc = 0;

    /* Fail before the long read, not after it, when an output cannot be written. */
    if (rank == 0)
        rc = cm_mkdirs(opts.out_dir, err, sizeof err);
    if (rank == 0 && rc == 0 && opts.report)
        rc = check_report_path(&opts, paths, npaths, err, sizeof err);
    CM_MPI_CHECK(comm, MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
    if (rc != 0) {
        cm_say(comm, "%s", err);
        cm_plan_free(&plan);
        return rc == CM_EUSAGE ? CM_EXIT_USAGE : CM_EXIT_FAILURE;
    }

    cm_analytics analytics;
    cm_analytics_init(&analytics);
    cm_scan_opts scan_opts = {
        .max_rejects = opts.max_rejects,
        .rejects_path = opts.rejects,
        .progress = cm_progress_wanted(opts.quiet, opts.progress),
    };
    cm_scan_stats stats;
    rc = cm_scan(comm, &plan, &scan_opts, cm_analytics_add, &analytics, &stats, err, sizeof err);
    if (rank == 0 && (rc == 0 || rc == CM_EREJECTS)) /* otherwise the counts are partial */
        cm_console_rejects(stderr, &stats, (const char *const *)paths);
    if (rc != 0) {
        cm_say(comm, "%s", err);
        cm_analytics_free(&analytics);
        cm_plan_free(&plan);
        return CM_EXIT_FAILURE;
    }

    cm_results results;
    cm_results_init(&results);
    int64_t *file_bytes = cm_xcalloc((size_t)plan.nfiles, sizeof *file_bytes);
    for (int i = 0; i < plan.nfiles; i++)
        file_bytes[i] = plan.files[i].size;
    results.nfiles = plan.nfiles;
    results.files = (const char *const *)paths;
    results.file_bytes = file_bytes;
    results.ranks = nranks;
    results.rows_read = stats.rows;
    results.rows_rejected = stats.rejected;
    cm_analytics_finish(comm, &analytics, &results);
    results.run_seconds = MPI_Wtime() - started;

    rc = write_outputs(comm, &opts, &results);
    cm_results_free(&results);
    cm_analytics_free(&analytics);
    free(file_bytes);
    cm_plan_free(&plan);
    return rc == 0 ? CM_EXIT_OK : CM_EXIT_FAILURE;
}
