/* `clickmill predict`: score every cart of event files with a trained model. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/commands.h"
#include "clickmill/console.h"
#include "clickmill/error.h"
#include "clickmill/live.h"
#include "clickmill/model.h"
#include "clickmill/output.h"
#include "clickmill/samples.h"

static const char usage[] =
    "usage: mpirun -np N clickmill predict --model FILE [options] FILE...\n"
    "       clickmill predict --model FILE --stream [options] < EVENTS\n"
    "\n"
    "Scores the first cart of each product in each session of the event files with a model\n"
    "from 'clickmill train', using the same features. Writes one line per cart, in time order:\n"
    "event_time,user_session,product_id,probability,predicted,bought where predicted applies\n"
    "the model's threshold and bought says whether the file shows a later purchase. The\n"
    "metrics of these predictions go to stderr. Any number of ranks gives the same output.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE        the model (required)\n"
    "  -o, --output FILE       write the predictions to FILE (default: stdout)\n"
    "      --threshold P       predict a purchase at a probability of P or more (default: the\n"
    "                          model's)\n"
    "      --max-rejects N     stop with an error when more than N rows are rejected\n"
    "  -q, --quiet             no progress and no metrics on stderr\n"
    "      --progress          show progress on stderr (the default only on a terminal)\n"
    "  -h, --help              show this help\n"
    "\n"
    "With --stream, one process reads event lines from stdin as they come (a header line\n"
    "first names the columns; without one they are in the original files' order), keeps\n"
    "each session's state, and writes event_time,user_session,product_id,probability for\n"
    "every first cart of a product in a session at once, line by line (docs/serve.md).\n"
    "\n"
    "stream options:\n"
    "      --stream            score a stream of events from stdin\n"
    "      --session-timeout S forget a session idle for S seconds of event time\n"
    "                          (default: 1800; 0: never)\n"
    "      --max-sessions N    sessions tracked at once; the least recently active is\n"
    "                          forgotten first (default: 100000)\n"
    "\n"
    "Values the model never saw (a new brand, say) are scored as 'unseen', which the trees\n"
    "treat like the rarest values they know; their count is reported.\n"
    "\n"
    "Exit status: 0 on success, 1 when the model, the input or the output fails, 2 for a\n"
    "usage error.\n";

enum {
    OPT_THRESHOLD = 256,
    OPT_MAX_REJECTS,
    OPT_PROGRESS,
    OPT_STREAM,
    OPT_SESSION_TIMEOUT,
    OPT_MAX_SESSIONS
};

/* Writes the predictions to path (atomically) or to stdout. Returns 0 or CM_EIO. */
static int write_predictions(const char *path, const cm_sample_row *rows, size_t count,
                             double threshold, char *err, size_t err_size)
{
    char temporary[4200];
    FILE *out = path ? cm_output_open(path, temporary, sizeof temporary, err, err_size) : stdout;
    if (!out)
        return CM_EIO;
    fputs("event_time,user_session,product_id,probability,predicted,bought\n", out);
    cm_buffer field = {0};
    for (size_t r = 0; r < count; r++) {
        char time[24], session[40], score[32];
        cm_time_format(rows[r].time, time);
        cm_session_id_format(&rows[r].session, session);
        cm_format_double(rows[r].score, score);
        field.len = 0;
        cm_csv_field(&field, session, strlen(session));
        fprintf(out, "%s,%.*s,%lld,%s,%d,%d\n", time, (int)field.len, field.data,
                (long long)rows[r].product_id, score, rows[r].score >= threshold, rows[r].label);
    }
    cm_buffer_free(&field);
    if (!path)
        return fflush(out) == 0 ? 0 : CM_EIO;
    return cm_output_commit(out, temporary, path, err, err_size);
}

/* Rank 0: how well the predictions did, and how many used unseen values. */
static void report(const cm_sample_row *rows, size_t count, const cm_model *model, double threshold,
                   int64_t without_session)
{
    double *scores = cm_xmalloc((count ? count : 1) * sizeof *scores);
    uint8_t *labels = cm_xmalloc(count ? count : 1);
    int64_t unseen[CM_NDICTS] = {0};
    static const int dict_feature[CM_NDICTS] = {CM_F_CATEGORY, CM_F_PRODUCT, CM_F_BRAND};
    for (size_t r = 0; r < count; r++) {
        scores[r] = rows[r].score;
        labels[r] = rows[r].label;
        for (int d = 0; d < CM_NDICTS; d++)
            unseen[d] += rows[r].x[dict_feature[d]] >= (double)model->dicts[d].count;
    }
    cm_metrics m;
    cm_metrics_compute(scores, labels, count, threshold, model->prior, &m, NULL, NULL);
    char a[32], b[32];
    cm_format_count(m.samples, a, sizeof a);
    cm_format_count(m.positives, b, sizeof b);
    fprintf(stderr,
            "clickmill: predict: %s carts scored, %s bought later; ROC AUC %.4f, PR AUC "
            "%.4f, accuracy %.4f, F1 %.4f at threshold %.2f\n",
            a, b, m.roc_auc, m.pr_auc, m.accuracy, m.f1, threshold);
    for (int d = 0; d < CM_NDICTS; d++)
        if (unseen[d]) {
            cm_format_count(unseen[d], a, sizeof a);
            fprintf(stderr,
                    "clickmill: predict: %s carts have a %s the model never saw "
                    "(scored as unseen)\n",
                    a, cm_dictionary_names[d]);
        }
    if (without_session) {
        cm_format_count(without_session, a, sizeof a);
        fprintf(stderr, "clickmill: predict: %s events without a user_session (not used)\n", a);
    }
    free(scores);
    free(labels);
}

/* The next line of in, without its "\n", into buf (room for CM_LINE_MAX bytes): returns its
 * length, CM_LINE_MAX + 1 for a longer line (read to its end and dropped, so that no line can
 * take more memory than that), or -1 at the end of the input. */
static long read_line(FILE *in, char *buf)
{
    long len = 0;
    int c;
    while ((c = getc_unlocked(in)) != EOF && c != '\n') {
        if (len < CM_LINE_MAX)
            buf[len] = (char)c;
        len += len <= CM_LINE_MAX;
    }
    return c == EOF && len == 0 ? -1 : len;
}

/* --stream: lines from stdin, one output line per scored cart, flushed at once. Rank 0 alone.
 * Returns an exit code. */
static int predict_stream(const cm_model *model, const cm_live_opts *live_opts,
                          long long max_rejects, int quiet)
{
    cm_live live;
    cm_live_init(&live, model, live_opts);
    cm_row_parser parser;
    if (cm_row_parser_init(&parser) != 0) {
        fprintf(stderr, "clickmill: predict: out of memory\n");
        return CM_EXIT_FAILURE;
    }
    cm_layout layout;
    cm_layout_standard(&layout);
    cm_buffer out = {0};
    char *line = cm_xmalloc(CM_LINE_MAX + 1), err[512];
    long got;
    int64_t number = 0, rejected = 0, by_reason[CM_NREASONS] = {0};
    int exit_code = CM_EXIT_OK;
    fputs(CM_LIVE_HEADER, stdout);
    fflush(stdout);
    while ((got = read_line(stdin, line)) >= 0) {
        size_t len = (size_t)got;
        number++;
        if (len <= CM_LINE_MAX && len && line[len - 1] == '\r')
            len--;
        if (number == 1) {
            int header = cm_live_header(line, len, &layout, err, sizeof err);
            if (header < 0) { /* a header that does not name the columns: stop */
                fprintf(stderr, "clickmill: predict: stdin: line 1: %s\n", err);
                exit_code = CM_EXIT_FAILURE;
                break;
            }
            if (header)
                continue;
        }
        out.len = 0;
        int reason = len > CM_LINE_MAX ? CM_REJECT_LONG_LINE
                                       : cm_live_line(&live, &parser, &layout, line, len, &out);
        if (reason != CM_ROW_OK) {
            rejected++;
            by_reason[reason]++;
            if (rejected <= 10)
                fprintf(stderr, "clickmill: predict: stdin:%lld: %s\n", (long long)number,
                        cm_reject_text(reason));
            if (max_rejects >= 0 && rejected > max_rejects) {
                fprintf(stderr, "clickmill: predict: more than %lld rows rejected; stopping\n",
                        max_rejects);
                exit_code = CM_EXIT_FAILURE;
                break;
            }
            continue;
        }
        if (out.len && (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0)) {
            fprintf(stderr, "clickmill: predict: writing the scores failed: %s\n", strerror(errno));
            exit_code = CM_EXIT_FAILURE;
            break;
        }
    }
    if (ferror(stdin)) {
        fprintf(stderr, "clickmill: predict: reading stdin failed\n");
        exit_code = CM_EXIT_FAILURE;
    }
    if (!quiet) {
        const cm_live_stats *st = &live.stats;
        fprintf(stderr,
                "clickmill: predict --stream: %lld events, %lld carts scored, %lld sessions "
                "(%lld started anew after the timeout, %lld forgotten at the cap, %lld started "
                "anew past %d products), %lld rows rejected, %lld events without a session, "
                "%lld out of time order within their session\n",
                (long long)st->events, (long long)st->scored, (long long)st->sessions,
                (long long)st->evicted_idle, (long long)st->evicted_full,
                (long long)st->evicted_large, CM_LIVE_MAX_PRODUCTS, (long long)rejected,
                (long long)st->without_session, (long long)st->out_of_order);
        for (int d = 0; d < CM_NDICTS; d++)
            if (st->unseen[d])
                fprintf(stderr,
                        "clickmill: predict --stream: %lld carts have a %s the model never saw "
                        "(scored as unseen)\n",
                        (long long)st->unseen[d], cm_dictionary_names[d]);
    }
    free(line);
    cm_buffer_free(&out);
    cm_row_parser_free(&parser);
    cm_live_free(&live);
    return exit_code;
}

int cm_cmd_predict(MPI_Comm comm, int argc, char **argv)
{
    static const struct option options[] = {
        {"model", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'},
        {"threshold", required_argument, NULL, OPT_THRESHOLD},
        {"max-rejects", required_argument, NULL, OPT_MAX_REJECTS},
        {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"stream", no_argument, NULL, OPT_STREAM},
        {"session-timeout", required_argument, NULL, OPT_SESSION_TIMEOUT},
        {"max-sessions", required_argument, NULL, OPT_MAX_SESSIONS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *model_path = NULL, *output = NULL;
    double threshold = -1;
    long long max_rejects = -1;
    int quiet = 0, progress = 0, stream = 0, c;
    long long value;
    cm_live_opts live_opts = {CM_LIVE_TIMEOUT, CM_LIVE_MAX_SESSIONS};
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":m:o:qh", options, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'o': output = optarg; break;
        case 'q': quiet = 1; break;
        case OPT_PROGRESS: progress = 1; break;
        case OPT_STREAM: stream = 1; break;
        case OPT_SESSION_TIMEOUT:
            if (cm_option_range(comm, "predict", "session-timeout", optarg, 0, 1000000000,
                                &value) != 0)
                return CM_EXIT_USAGE;
            live_opts.session_timeout = value;
            break;
        case OPT_MAX_SESSIONS:
            if (cm_option_range(comm, "predict", "max-sessions", optarg, 1, 1000000000, &value) !=
                0)
                return CM_EXIT_USAGE;
            live_opts.max_sessions = (size_t)value;
            break;
        case OPT_THRESHOLD:
            if (cm_option_real(optarg, 0, 1, &threshold) != 0) {
                cm_say(comm, "predict: --threshold needs a number from 0 to 1, not '%s'", optarg);
                return CM_EXIT_USAGE;
            }
            break;
        case OPT_MAX_REJECTS:
            max_rejects = cm_option_count(optarg);
            if (max_rejects < 0) {
                cm_say(comm, "predict: --max-rejects needs a whole number, not '%s'", optarg);
                return CM_EXIT_USAGE;
            }
            break;
        default: return cm_option_end(comm, "predict", c, usage, argv);
        }
    }
    if (!model_path) {
        cm_say(comm, "predict: --model FILE is required (see --help)");
        return CM_EXIT_USAGE;
    }
    int rank, nranks;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    if (stream && (optind < argc || output || nranks > 1 || threshold >= 0)) {
        cm_say(comm, "predict: --stream reads stdin and writes stdout on one process: give no "
                     "input files, --output or --threshold, and start it without mpirun (or "
                     "with -np 1)");
        return CM_EXIT_USAGE;
    }
    if (!stream && optind >= argc) {
        cm_say(comm, "predict: no input files (see --help)");
        return CM_EXIT_USAGE;
    }
    char err[4400]; /* room for an output path in the message */
    cm_model model;
    int rc = cm_model_load(comm, model_path, &model, err, sizeof err);
    if (rc != 0) {
        cm_say(comm, "%s", err);
        return CM_EXIT_FAILURE;
    }
    if (stream) {
        int exit_code = predict_stream(&model, &live_opts, max_rejects, quiet);
        cm_model_free(&model);
        return exit_code;
    }
    if (threshold < 0)
        threshold = model.threshold;
    char **paths = argv + optind;
    cm_plan plan;
    int exit_code = cm_command_plan(comm, paths, argc - optind, &plan);
    if (exit_code >= 0) {
        cm_model_free(&model);
        return exit_code;
    }
    if (rank == 0 && output) {
        char **others = cm_xmalloc(((size_t)(argc - optind) + 1) * sizeof *others);
        memcpy(others, paths, (size_t)(argc - optind) * sizeof *others);
        others[argc - optind] = (char *)model_path;
        rc = cm_output_check(output, others, argc - optind + 1, err, sizeof err);
        free(others);
    }
    CM_MPI_CHECK(comm, MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
    if (rc != 0) {
        cm_say(comm, "%s", err);
        cm_plan_free(&plan);
        cm_model_free(&model);
        return rc == CM_EUSAGE ? CM_EXIT_USAGE : CM_EXIT_FAILURE;
    }
    cm_scan_opts scan_opts = {.max_rejects = max_rejects,
                              .progress = cm_progress_wanted(quiet, progress)};
    cm_scan_stats scan_stats;
    cm_samples_stats stats;
    cm_vocabulary vocab;
    cm_samples samples;
    rc = cm_samples_build(comm, &plan, &scan_opts, NULL, model.dicts, &vocab, &samples, &scan_stats,
                          &stats, err, sizeof err);
    if (rank == 0 && (rc == 0 || rc == CM_EREJECTS))
        cm_console_rejects(stderr, &scan_stats, (const char *const *)paths);
    cm_plan_free(&plan);
    if (rc != 0) {
        cm_say(comm, "%s", err);
        cm_model_free(&model);
        return CM_EXIT_FAILURE;
    }
    double *scores = cm_xmalloc((samples.count ? samples.count : 1) * sizeof *scores);
    cm_forest_score_rows(&model.forest, samples.x, samples.count, scores);
    cm_sample_row *rows;
    size_t count;
    cm_samples_gather(comm, &samples, scores, &rows, &count);
    free(scores);
    if (rank == 0) {
        rc = write_predictions(output, rows, count, threshold, err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "clickmill: %s\n", err);
        else if (!quiet)
            report(rows, count, &model, threshold, stats.events_without_session);
        free(rows);
    }
    CM_MPI_CHECK(comm, MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
    cm_samples_free(&samples);
    cm_vocabulary_free(&vocab);
    cm_model_free(&model);
    return rc == 0 ? CM_EXIT_OK : CM_EXIT_FAILURE;
}
