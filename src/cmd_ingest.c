/* `clickmill ingest`: parse event files once into a columnar HDF5 event store. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clickmill/commands.h"
#include "clickmill/console.h"
#include "clickmill/error.h"
#include "clickmill/output.h"
#include "clickmill/plan.h"
#include "clickmill/scan.h"
#include "clickmill/store_write.h"

static const char usage[] =
    "usage: mpirun -np N clickmill ingest [options] -o STORE FILE...\n"
    "\n"
    "Parses REES46 event CSV files in parallel and writes their rows into STORE, a columnar\n"
    "HDF5 event store (docs/store.md). analyze, journey, train and predict read a store\n"
    "wherever they read CSV files, with the same results, without parsing text again.\n"
    "Rejected rows are counted (and reported) as by analyze and recorded in the store.\n"
    "\n"
    "options:\n"
    "  -o, --out STORE         the store to write (required); made under a temporary name\n"
    "                          and renamed when complete\n"
    "      --append            add the rows to STORE (made if it does not exist); its\n"
    "                          dictionaries keep their ids and grow\n"
    "      --compress LEVEL    deflate the columns, 1 (fast) to 9 (small); default 0 (none:\n"
    "                          the fastest to read); a store keeps the choice it was made\n"
    "                          with, so an append ignores it\n"
    "      --rejects FILE      write every rejected line to FILE (as analyze)\n"
    "      --max-rejects N     stop with an error when more than N rows are rejected\n"
    "  -q, --quiet             no progress line on stderr\n"
    "      --progress          show progress on stderr\n"
    "  -h, --help              show this help\n"
    "\n"
    "Memory per rank: about 75 bytes per row it reads (a 42M-row month on 2 ranks: 1.6 GB\n"
    "each). Exit status: 0 on success, 1 when an input or the store fails, 2 for a usage error.\n";

typedef struct {
    const char *out;
    const char *rejects;
    long long max_rejects;
    int append, compress, quiet, progress;
} ingest_opts;

enum { OPT_APPEND = 256, OPT_COMPRESS, OPT_REJECTS, OPT_MAX_REJECTS, OPT_PROGRESS };

static int parse_options(MPI_Comm comm, int argc, char **argv, ingest_opts *opts)
{
    static const struct option options[] = {
        {"out", required_argument, NULL, 'o'},
        {"append", no_argument, NULL, OPT_APPEND},
        {"compress", required_argument, NULL, OPT_COMPRESS},
        {"rejects", required_argument, NULL, OPT_REJECTS},
        {"max-rejects", required_argument, NULL, OPT_MAX_REJECTS},
        {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *opts = (ingest_opts){.max_rejects = -1};
    opterr = 0;
    optind = 1;
    int c, option_index = 0;
    long long value;
    while ((c = getopt_long(argc, argv, ":o:qh", options, &option_index)) != -1) {
        switch (c) {
        case 'o': opts->out = optarg; break;
        case 'q': opts->quiet = 1; break;
        case OPT_APPEND: opts->append = 1; break;
        case OPT_PROGRESS: opts->progress = 1; break;
        case OPT_REJECTS: opts->rejects = optarg; break;
        case OPT_COMPRESS:
        case OPT_MAX_REJECTS:
            value = cm_option_count(optarg);
            if (value < 0 || (c == OPT_COMPRESS && value > 9)) {
                cm_say(comm, "ingest: --%s needs a whole number%s, not '%s'",
                       options[option_index].name,
                       c == OPT_COMPRESS ? " from 0 to 9" : " (0 or more)", optarg);
                return CM_EXIT_USAGE;
            }
            if (c == OPT_COMPRESS)
                opts->compress = (int)value;
            else
                opts->max_rejects = value;
            break;
        default: return cm_option_end(comm, "ingest", c, usage, argv);
        }
    }
    if (!opts->out) {
        cm_say(comm, "ingest: say where the store goes with -o STORE (see --help)");
        return CM_EXIT_USAGE;
    }
    if (optind >= argc) {
        cm_say(comm, "ingest: no input files; usage: clickmill ingest -o STORE FILE... "
                     "(see --help)");
        return CM_EXIT_USAGE;
    }
    return -1;
}

/* Rank 0: refuses a store path that is one of the inputs (it would be overwritten or read
 * while it is written). */
static int check_output(const char *out, int append, char *const *paths, int npaths, char *err,
                        size_t err_size)
{
    struct stat target, input;
    char dir[4200];
    cm_path_dir(out, dir, sizeof dir);
    if (!(append && access(out, W_OK) == 0) &&
        access(dir, W_OK) != 0) { /* an append writes in place */
        snprintf(err, err_size, "ingest: cannot write the store into %.900s: %s", dir,
                 strerror(errno));
        return CM_EIO;
    }
    if (stat(out, &target) != 0)
        return 0;
    if (S_ISDIR(target.st_mode)) {
        snprintf(err, err_size, "ingest: %s is a directory; -o names the store file", out);
        return CM_EUSAGE;
    }
    for (int i = 0; i < npaths; i++)
        if (stat(paths[i], &input) == 0 && input.st_dev == target.st_dev &&
            input.st_ino == target.st_ino) {
            snprintf(err, err_size, "ingest: the store %s is also an input; name another file",
                     out);
            return CM_EUSAGE;
        }
    return 0;
}

int cm_cmd_ingest(MPI_Comm comm, int argc, char **argv)
{
    ingest_opts opts;
    int exit_code = parse_options(comm, argc, argv, &opts);
    if (exit_code >= 0)
        return exit_code;
    int rank, nranks;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    double started = MPI_Wtime();
    char **paths = argv + optind;
    int npaths = argc - optind;
    char err[1024] = "";
    int rc = rank == 0 ? check_output(opts.out, opts.append, paths, npaths, err, sizeof err) : 0;
    CM_MPI_CHECK(comm, MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
    if (rc != 0) {
        cm_say(comm, "%s", err);
        return rc == CM_EUSAGE ? CM_EXIT_USAGE : CM_EXIT_FAILURE;
    }
    cm_plan plan;
    if ((exit_code = cm_command_plan(comm, paths, npaths, &plan)) >= 0)
        return exit_code;

    cm_store_columns columns;
    cm_store_columns_init(&columns, plan.nfiles);
    cm_scan_opts scan_opts = {
        .max_rejects = opts.max_rejects,
        .rejects_path = opts.rejects,
        .progress = cm_progress_wanted(opts.quiet, opts.progress),
    };
    cm_scan_stats stats;
    rc = cm_scan(comm, &plan, &scan_opts, cm_store_columns_add, &columns, &stats, err, sizeof err);
    if (rank == 0 && (rc == 0 || rc == CM_EREJECTS))
        cm_console_rejects(stderr, &stats, (const char *const *)paths);
    double parsed = MPI_Wtime();
    if (rc == 0) {
        cm_store_target target = {
            .path = opts.out,
            .append = opts.append,
            .compress = opts.compress,
            .sources = paths,
            .nsources = npaths,
            .stats = &stats,
        };
        rc = cm_store_write(comm, &columns, &target, err, sizeof err);
    }
    cm_store_columns_free(&columns);
    if (rc != 0) {
        cm_say(comm, "%s", err);
        cm_plan_free(&plan);
        return CM_EXIT_FAILURE;
    }
    if (rank == 0) {
        struct stat st;
        double store_mb = stat(opts.out, &st) == 0 ? (double)st.st_size / 1e6 : 0;
        double input_mb = (double)plan.total_bytes / 1e6;
        char rows[32];
        cm_format_count(stats.rows, rows, sizeof rows);
        printf("%s %s rows (%lld rejected) from %d file%s into %s: %.1f MB (inputs %.1f MB)\n",
               opts.append ? "Appended" : "Ingested", rows, (long long)stats.rejected, npaths,
               npaths == 1 ? "" : "s", opts.out, store_mb, input_mb);
        printf("Read and parsed in %.2f s, written in %.2f s on %d rank%s\n", parsed - started,
               MPI_Wtime() - parsed, nranks, nranks == 1 ? "" : "s");
        fflush(stdout);
    }
    cm_plan_free(&plan);
    return CM_EXIT_OK;
}
