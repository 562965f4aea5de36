/* `clickmill train`: samples from the events, a random forest grown across ranks, model.h5. */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clickmill/commands.h"
#include "clickmill/console.h"
#include "clickmill/error.h"
#include "clickmill/event.h"
#include "clickmill/merge.h"
#include "clickmill/model.h"
#include "clickmill/output.h"
#include "clickmill/samples.h"

static const char usage[] =
    "usage: mpirun -np N clickmill train [options] FILE...\n"
    "\n"
    "Trains a random forest that predicts whether a carted product will be bought in the same\n"
    "session. One sample per (session, product) with a cart event; its features are what the\n"
    "session showed up to that first cart (docs/model.md lists them); its label is a purchase of\n"
    "the product later in the session. Each rank grows its share of the trees on its own\n"
    "samples; rank 0 gathers them into one forest, scores the test set on every rank and\n"
    "writes the model with its metrics.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE        where to write the model (default: model.h5)\n"
    "      --trees N           trees in the forest (default: 100)\n"
    "      --max-depth N       maximum tree depth, 1 to 64 (default: 12)\n"
    "      --min-leaf N        samples a leaf must keep (default: 1)\n"
    "      --max-features N    features tried per node (default: 4, the square root of 16)\n"
    "      --bins N            split candidates per feature, 2 to 256 (default: 128)\n"
    "      --seed N            random seed (default: 46); the same seed and rank count give\n"
    "                          the same model\n"
    "      --test-days K       test on the samples of the last K calendar days (UTC) of the\n"
    "                          data, train on the earlier ones (the default, K = 7)\n"
    "      --test-fraction F   instead, test on the sessions whose hash falls below F (0-1)\n"
    "      --threshold P       a score at or above P predicts a purchase (default: 0.5)\n"
    "      --export-features FILE\n"
    "                          also write every sample (session, product, time, features,\n"
    "                          label, train/test) to FILE as CSV, for other tools\n"
    "      --max-rejects N     stop with an error when more than N rows are rejected\n"
    "  -q, --quiet             no progress on stderr\n"
    "      --progress          show progress on stderr (the default only on a terminal)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 on success, 1 when the input or an output fails, 2 for a usage error.\n";

typedef struct {
    const char *model_path;
    const char *export_path;
    cm_forest_params params;
    int test_days;
    double test_fraction;
    double threshold;
    long long max_rejects;
    int quiet, progress;
} train_opts;

enum {
    OPT_TREES = 256,
    OPT_MAX_DEPTH,
    OPT_MIN_LEAF,
    OPT_MAX_FEATURES,
    OPT_BINS,
    OPT_SEED,
    OPT_TEST_DAYS,
    OPT_TEST_FRACTION,
    OPT_THRESHOLD,
    OPT_EXPORT,
    OPT_MAX_REJECTS,
    OPT_PROGRESS,
};

static int parse_options(MPI_Comm comm, int argc, char **argv, train_opts *opts)
{
    static const struct option options[] = {
        {"model", required_argument, NULL, 'm'},
        {"trees", required_argument, NULL, OPT_TREES},
        {"max-depth", required_argument, NULL, OPT_MAX_DEPTH},
        {"min-leaf", required_argument, NULL, OPT_MIN_LEAF},
        {"max-features", required_argument, NULL, OPT_MAX_FEATURES},
        {"bins", required_argument, NULL, OPT_BINS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"test-days", required_argument, NULL, OPT_TEST_DAYS},
        {"test-fraction", required_argument, NULL, OPT_TEST_FRACTION},
        {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"export-features", required_argument, NULL, OPT_EXPORT},
        {"max-rejects", required_argument, NULL, OPT_MAX_REJECTS},
        {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *opts = (train_opts){
        .model_path = "model.h5",
        .params = {.trees = 100,
                   .max_depth = 12,
                   .min_leaf = 1,
                   .max_features = 4,
                   .bins = 128,
                   .seed = 46},
        .test_days = 7,
        .test_fraction = -1,
        .threshold = 0.5,
        .max_rejects = -1,
    };
    int days_given = 0;
    opterr = 0;
    optind = 1;
    int c, option_index = 0;
    while ((c = getopt_long(argc, argv, ":m:qh", options, &option_index)) != -1) {
        long long value = -1, lo = 0, hi = LLONG_MAX;
        switch (c) {
        case 'm': opts->model_path = optarg; continue;
        case 'q': opts->quiet = 1; continue;
        case OPT_PROGRESS: opts->progress = 1; continue;
        case OPT_EXPORT: opts->export_path = optarg; continue;
        case OPT_TEST_FRACTION:
            if (cm_option_real(optarg, 0, 1, &opts->test_fraction) != 0) {
                cm_say(comm, "train: --test-fraction needs a number from 0 to 1, not '%s'", optarg);
                return CM_EXIT_USAGE;
            }
            continue;
        case OPT_THRESHOLD:
            if (cm_option_real(optarg, 0, 1, &opts->threshold) != 0) {
                cm_say(comm, "train: --threshold needs a number from 0 to 1, not '%s'", optarg);
                return CM_EXIT_USAGE;
            }
            continue;
        case OPT_TREES: lo = 1, hi = 100000; break;
        case OPT_MAX_DEPTH: lo = 1, hi = CM_DEPTH_MAX; break;
        case OPT_MIN_LEAF: lo = 1, hi = INT_MAX; break;
        case OPT_MAX_FEATURES: lo = 1, hi = CM_NFEATURES; break;
        case OPT_BINS: lo = 2, hi = CM_BINS_MAX; break;
        case OPT_TEST_DAYS: lo = 1, hi = 100000; break;
        case OPT_SEED:
        case OPT_MAX_REJECTS: break;
        default: return cm_option_end(comm, "train", c, usage, argv);
        }
        value = cm_option_count(optarg);
        if (value < lo || value > hi) {
            if (hi == LLONG_MAX)
                cm_say(comm, "train: --%s needs a whole number of at least %lld, not '%s'",
                       options[option_index].name, lo, optarg);
            else
                cm_say(comm, "train: --%s needs a whole number from %lld to %lld, not '%s'",
                       options[option_index].name, lo, hi, optarg);
            return CM_EXIT_USAGE;
        }
        switch (c) {
        case OPT_TREES: opts->params.trees = (int)value; break;
        case OPT_MAX_DEPTH: opts->params.max_depth = (int)value; break;
        case OPT_MIN_LEAF: opts->params.min_leaf = (int)value; break;
        case OPT_MAX_FEATURES: opts->params.max_features = (int)value; break;
        case OPT_BINS: opts->params.bins = (int)value; break;
        case OPT_SEED: opts->params.seed = (uint64_t)value; break;
        case OPT_TEST_DAYS: opts->test_days = (int)value, days_given = 1; break;
        case OPT_MAX_REJECTS: opts->max_rejects = value; break;
        }
    }
    if (days_given && opts->test_fraction >= 0) {
        cm_say(comm, "train: give --test-days or --test-fraction, not both");
        return CM_EXIT_USAGE;
    }
    if (optind >= argc) {
        cm_say(comm, "train: no input files; usage: clickmill train [options] FILE... "
                     "(see --help)");
        return CM_EXIT_USAGE;
    }
    return -1;
}

/* Rank 0's progress line while trees grow. */
typedef struct {
    int show;
    int total;
} grow_progress;

static void show_growth(void *ctx, int done, int count)
{
    const grow_progress *progress = ctx;
    if (progress->show)
        fprintf(stderr, "\rclickmill: growing trees: %d of rank 0's %d (%d in all)%s", done, count,
                progress->total, done == count ? "\n" : "");
}

/* The training rows of this rank, copied into their own arrays. */
static size_t training_rows(const cm_samples *samples, double **x, uint8_t **y)
{
    size_t n = 0;
    for (size_t i = 0; i < samples->count; i++)
        n += !samples->test[i];
    *x = cm_xmalloc((n ? n : 1) * CM_NFEATURES * sizeof **x);
    *y = cm_xmalloc(n ? n : 1);
    size_t at = 0;
    for (size_t i = 0; i < samples->count; i++) {
        if (samples->test[i])
            continue;
        memcpy(*x + at * CM_NFEATURES, samples->x + i * CM_NFEATURES, CM_NFEATURES * sizeof **x);
        (*y)[at++] = samples->label[i];
    }
    return n;
}

/* Grows this rank's share of the trees and gathers the whole forest on every rank, in tree
 * order. Ranks without training samples grow none; the others share the trees in contiguous
 * blocks. Returns the longest growing time of any rank. Collective. */
static double grow_forest(MPI_Comm comm, const train_opts *opts, const cm_samples *samples,
                          cm_forest *forest, int show_progress)
{
    int rank, nranks;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    double *x;
    uint8_t *y;
    size_t n = training_rows(samples, &x, &y);
    int has_rows = n > 0;
    int *eligible = cm_xcalloc((size_t)nranks, sizeof *eligible);
    CM_MPI_CHECK(comm, MPI_Allgather(&has_rows, 1, MPI_INT, eligible, 1, MPI_INT, comm));
    int growers = 0, my_index = -1;
    for (int r = 0; r < nranks; r++) {
        if (r == rank && eligible[r])
            my_index = growers;
        growers += eligible[r];
    }
    free(eligible);
    int trees = opts->params.trees, first = 0, count = 0;
    if (my_index >= 0) {
        first = (int)((int64_t)trees * my_index / growers);
        count = (int)((int64_t)trees * (my_index + 1) / growers) - first;
    }
    grow_progress progress = {show_progress && rank == 0 && count > 0, trees};
    CM_MPI_CHECK(comm, MPI_Barrier(comm));
    double started = MPI_Wtime();
    cm_forest mine;
    cm_forest_init(&mine, CM_NFEATURES);
    cm_forest_grow(&mine, &opts->params, x, y, n, first, count, show_growth, &progress);
    double seconds = MPI_Wtime() - started, slowest;
    free(x);
    free(y);
    CM_MPI_CHECK(comm, MPI_Allreduce(&seconds, &slowest, 1, MPI_DOUBLE, MPI_MAX, comm));

    /* Rank 0 appends the blocks in rank order, which is tree order, then sends the forest to
       every rank. */
    cm_buffer buffer = {0};
    if (rank != 0) {
        cm_forest_serialize(&mine, &buffer);
        cm_send_bytes(comm, 0, buffer.data, buffer.len);
    } else {
        char why[256];
        cm_forest_serialize(&mine, &buffer);
        if (cm_forest_append_serialized(forest, buffer.data, buffer.len, why, sizeof why) != 0)
            cm_mpi_fail(comm, MPI_ERR_OTHER, why, __FILE__, __LINE__);
        for (int r = 1; r < nranks; r++) {
            cm_recv_bytes(comm, r, &buffer);
            if (cm_forest_append_serialized(forest, buffer.data, buffer.len, why, sizeof why))
                cm_mpi_fail(comm, MPI_ERR_OTHER, why, __FILE__, __LINE__);
        }
        buffer.len = 0;
        cm_forest_serialize(forest, &buffer);
    }
    cm_forest_free(&mine);
    cm_bcast_buffer(comm, &buffer, 0);
    if (rank != 0) {
        char why[256];
        if (cm_forest_append_serialized(forest, buffer.data, buffer.len, why, sizeof why) != 0)
            cm_mpi_fail(comm, MPI_ERR_OTHER, why, __FILE__, __LINE__);
    }
    cm_buffer_free(&buffer);
    return slowest;
}

/* The scores and labels of one set (test or train), gathered to rank 0 for the metrics; rank 0
 * gets malloc'd arrays and their length. Collective. */
static size_t gather_set(MPI_Comm comm, const cm_samples *samples, const double *scores, int test,
                         double **all_scores, uint8_t **all_labels)
{
    int rank, nranks;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    size_t n = 0;
    for (size_t i = 0; i < samples->count; i++)
        n += samples->test[i] == test;
    double *mine = cm_xmalloc((n ? n : 1) * sizeof *mine);
    uint8_t *labels = cm_xmalloc(n ? n : 1);
    size_t at = 0;
    for (size_t i = 0; i < samples->count; i++)
        if (samples->test[i] == test) {
            mine[at] = scores[i];
            labels[at++] = samples->label[i];
        }
    int64_t local = (int64_t)n, total = 0;
    CM_MPI_CHECK(comm, MPI_Allreduce(&local, &total, 1, MPI_INT64_T, MPI_SUM, comm));
    if (total > INT_MAX / (int)sizeof(double))
        cm_mpi_fail(comm, MPI_ERR_COUNT, "too many samples to gather for the metrics", __FILE__,
                    __LINE__);
    int count = (int)n, *counts = cm_xcalloc((size_t)nranks, sizeof(int));
    int *displs = cm_xcalloc((size_t)nranks, sizeof(int));
    CM_MPI_CHECK(comm, MPI_Gather(&count, 1, MPI_INT, counts, 1, MPI_INT, 0, comm));
    for (int r = 1; r < nranks; r++)
        displs[r] = displs[r - 1] + counts[r - 1];
    *all_scores = rank == 0 ? cm_xmalloc((size_t)(total ? total : 1) * sizeof(double)) : NULL;
    *all_labels = rank == 0 ? cm_xmalloc((size_t)(total ? total : 1)) : NULL;
    CM_MPI_CHECK(comm, MPI_Gatherv(mine, count, MPI_DOUBLE, *all_scores, counts, displs, MPI_DOUBLE,
                                   0, comm));
    CM_MPI_CHECK(comm, MPI_Gatherv(labels, count, MPI_UINT8_T, *all_labels, counts, displs,
                                   MPI_UINT8_T, 0, comm));
    free(mine);
    free(labels);
    free(counts);
    free(displs);
    return rank == 0 ? (size_t)total : 0;
}

/* Counts of train and test samples and their positives, all ranks. */
static void split_counts(MPI_Comm comm, const cm_samples *samples, int64_t out[4])
{
    int64_t local[4] = {0, 0, 0, 0}; /* train, train positives, test, test positives */
    for (size_t i = 0; i < samples->count; i++) {
        int set = samples->test[i] ? 2 : 0;
        local[set]++;
        local[set + 1] += samples->label[i];
    }
    CM_MPI_CHECK(comm, MPI_Allreduce(local, out, 4, MPI_INT64_T, MPI_SUM, comm));
}

/* Rank 0 writes the exported features; all ranks learn whether it worked. Collective. */
static int export_features(MPI_Comm comm, const char *path, const cm_samples *samples)
{
    int rank, rc = 0;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    cm_sample_row *rows;
    size_t count;
    cm_samples_gather(comm, samples, NULL, &rows, &count);
    if (rank == 0) {
        char err[1024];
        rc = cm_samples_write_csv(path, rows, count, err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "clickmill: %s\n", err);
        free(rows);
    }
    CM_MPI_CHECK(comm, MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
    return rc;
}

static void print_data_summary(const cm_scan_stats *scan, const cm_samples_stats *stats, int nfiles,
                               int nranks, double seconds)
{
    char a[32], b[32], c[32], d[32];
    cm_format_count(scan->rows, a, sizeof a);
    cm_format_count(scan->rejected, b, sizeof b);
    printf("clickmill train: %s rows (%s rejected) from %d file%s on %d rank%s in %.2f s\n", a, b,
           nfiles, nfiles == 1 ? "" : "s", nranks, nranks == 1 ? "" : "s", seconds);
    cm_format_count(stats->cart_sessions, a, sizeof a);
    cm_format_count(stats->session_events, b, sizeof b);
    cm_format_count(stats->samples, c, sizeof c);
    cm_format_count(stats->positives, d, sizeof d);
    printf("sessions with a cart: %s (%s events); samples: %s carted (session, product) pairs, "
           "%s bought later in the session (%.1f %%)\n",
           a, b, c, d, stats->samples ? 100.0 * stats->positives / stats->samples : 0.0);
    if (stats->events_without_session) {
        cm_format_count(stats->events_without_session, a, sizeof a);
        printf("events without a user_session (not used): %s\n", a);
    }
}

int cm_cmd_train(MPI_Comm comm, int argc, char **argv)
{
    train_opts opts;
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
    if (rank == 0) {
        /* The inputs, then the model: an export may clobber neither. */
        char **others = cm_xmalloc(((size_t)npaths + 1) * sizeof *others);
        memcpy(others, paths, (size_t)npaths * sizeof *others);
        others[npaths] = (char *)opts.model_path;
        rc = cm_output_check(opts.model_path, paths, npaths, err, sizeof err);
        if (rc == 0 && opts.export_path)
            rc = cm_output_check(opts.export_path, others, npaths + 1, err, sizeof err);
        free(others);
    }
    CM_MPI_CHECK(comm, MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
    if (rc != 0) {
        cm_say(comm, "%s", err);
        cm_plan_free(&plan);
        return rc == CM_EUSAGE ? CM_EXIT_USAGE : CM_EXIT_FAILURE;
    }
    int show_progress = cm_progress_wanted(opts.quiet, opts.progress);
    cm_scan_opts scan_opts = {.max_rejects = opts.max_rejects, .progress = show_progress};
    cm_scan_stats scan_stats;
    cm_samples_stats stats;
    cm_vocabulary vocab;
    cm_samples samples;
    cm_split split = {opts.test_days, opts.test_fraction};
    rc = cm_samples_build(comm, &plan, &scan_opts, &split, NULL, &vocab, &samples, &scan_stats,
                          &stats, err, sizeof err);
    if (rank == 0 && (rc == 0 || rc == CM_EREJECTS))
        cm_console_rejects(stderr, &scan_stats, (const char *const *)paths);
    cm_plan_free(&plan);
    if (rc != 0) {
        cm_say(comm, "%s", err);
        return CM_EXIT_FAILURE;
    }
    double read_seconds = MPI_Wtime() - started;
    if (rank == 0 && !opts.quiet)
        print_data_summary(&scan_stats, &stats, npaths, nranks, read_seconds);

    cm_model model;
    cm_model_init(&model);
    exit_code = CM_EXIT_FAILURE;
    if (stats.samples == 0) {
        cm_say(comm, "train: the input has no cart events with a user_session, so there is "
                     "nothing to learn from");
        goto done;
    }
    int64_t counts[4];
    split_counts(comm, &samples, counts);
    if (counts[0] == 0 || counts[2] == 0) {
        char first[11], last[11];
        cm_date_format(stats.first_time, first);
        cm_date_format(stats.last_time, last);
        if (opts.test_fraction >= 0)
            cm_say(comm,
                   "train: --test-fraction %g leaves the %s set empty (%lld samples in "
                   "all); choose a fraction further from %s",
                   opts.test_fraction, counts[0] ? "test" : "training", (long long)stats.samples,
                   counts[0] ? "0" : "1");
        else if (cm_time_day(stats.first_time) == cm_time_day(stats.last_time))
            cm_say(comm,
                   "train: the data covers one day only (%s), so there is no earlier "
                   "day to train on; split by session with --test-fraction 0.2",
                   first);
        else if (counts[0] == 0)
            cm_say(comm,
                   "train: the data runs from %s to %s, so a test set of the last %d "
                   "day%s leaves no earlier samples to train on; give a smaller "
                   "--test-days or split by session with --test-fraction 0.2",
                   first, last, opts.test_days, opts.test_days == 1 ? "" : "s");
        else
            cm_say(comm,
                   "train: the data runs from %s to %s, and its last %d day%s hold no "
                   "cart event to test on; give a larger --test-days or split by session "
                   "with --test-fraction 0.2",
                   first, last, opts.test_days, opts.test_days == 1 ? "" : "s");
        goto done;
    }
    if (opts.export_path && export_features(comm, opts.export_path, &samples) != 0)
        goto done;

    model.params = opts.params;
    model.ranks = nranks;
    model.test_days = opts.test_fraction >= 0 ? 0 : opts.test_days;
    model.test_fraction = opts.test_fraction;
    model.threshold = opts.threshold;
    model.prior = (double)counts[1] / (double)counts[0];
    double grow_started = MPI_Wtime();
    model.train_seconds = grow_forest(comm, &opts, &samples, &model.forest, show_progress);
    double grow_seconds = MPI_Wtime() - grow_started;

    /* Every rank scores its own samples with the whole forest. */
    double *scores = cm_xmalloc((samples.count ? samples.count : 1) * sizeof *scores);
    cm_forest_score_rows(&model.forest, samples.x, samples.count, scores);
    cm_metrics *sets[2] = {&model.train, &model.test};
    for (int test = 0; test <= 1; test++) {
        double *all_scores;
        uint8_t *all_labels;
        size_t n = gather_set(comm, &samples, scores, test, &all_scores, &all_labels);
        if (rank == 0)
            cm_metrics_compute(all_scores, all_labels, n, opts.threshold, model.prior, sets[test],
                               test ? &model.roc : NULL, test ? &model.pr : NULL);
        free(all_scores);
        free(all_labels);
    }
    free(scores);

    if (rank == 0) {
        for (int d = 0; d < CM_NDICTS; d++)
            cm_dictionary_copy(&model.dicts[d], &vocab.dicts[d]);
        cm_time_format((int64_t)time(NULL), model.created);
        rc = cm_model_write(opts.model_path, &model, err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "clickmill: %s\n", err);
        } else if (!opts.quiet) {
            cm_console_model(stdout, &model, CM_NFEATURES);
            double total = MPI_Wtime() - started;
            printf("\nmodel written to %s (%.2f s in all: reading and samples %.2f s, trees "
                   "%.2f s, scoring, metrics and writing %.2f s)\n",
                   opts.model_path, total, read_seconds, grow_seconds,
                   total - read_seconds - grow_seconds);
        }
        fflush(stdout);
    }
    CM_MPI_CHECK(comm, MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
    exit_code = rc == 0 ? CM_EXIT_OK : CM_EXIT_FAILURE;
done:
    cm_model_free(&model);
    cm_samples_free(&samples);
    cm_vocabulary_free(&vocab);
    return exit_code;
}
