/* `clickmill report`: the HTML report of a results file, with a model's section if given. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "clickmill/commands.h"
#include "clickmill/error.h"
#include "clickmill/model.h"
#include "clickmill/output.h"
#include "clickmill/report.h"
#include "clickmill/row.h"

static const char usage[] =
    "usage: clickmill report RESULTS [options]\n"
    "\n"
    "Writes one self-contained HTML page with a chart, a sentence of insight and the numbers\n"
    "for every analysis in RESULTS (the results.h5 of clickmill analyze, or its directory):\n"
    "the funnel, top categories, brands and products, carts vs purchases, cart abandonment,\n"
    "purchases per day and traffic per hour; with --model, the model's ROC and PR curves,\n"
    "confusion matrix, metrics and feature importances. It needs no network to view.\n"
    "\n"
    "options:\n"
    "  -o, --out FILE          the page (default: report.html beside RESULTS)\n"
    "  -m, --model FILE        add the section of a model made by clickmill train\n"
    "      --top N             categories in the top lists before \"other\" (default: 10)\n"
    "      --car-min-carts N   cart abandonment: only groups with at least N carts\n"
    "                          (default: 5000)\n"
    "      --car-category C    cart abandonment by brand within category C\n"
    "                          (default: electronics)\n"
    "  -h, --help              show this help\n"
    "\n"
    "analyze --report FILE writes the same page at the end of an analysis.\n"
    "Exit status: 0 on success, 1 when a file cannot be read or written, 2 for a usage error.\n";

enum { OPT_CAR_MIN = 256, OPT_CAR_CATEGORY, OPT_TOP };

typedef struct {
    const char *out, *model;
    cm_report_input input;
} report_opts;

static int parse_options(MPI_Comm comm, int argc, char **argv, report_opts *opts)
{
    static const struct option options[] = {
        {"out", required_argument, NULL, 'o'},
        {"model", required_argument, NULL, 'm'},
        {"top", required_argument, NULL, OPT_TOP},
        {"car-min-carts", required_argument, NULL, OPT_CAR_MIN},
        {"car-category", required_argument, NULL, OPT_CAR_CATEGORY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *opts =
        (report_opts){.input = {.top = 10, .car_min_carts = 5000, .car_category = "electronics"}};
    opterr = 0;
    optind = 1;
    int c, option_index = 0;
    long long value;
    while ((c = getopt_long(argc, argv, ":o:m:h", options, &option_index)) != -1) {
        switch (c) {
        case 'o': opts->out = optarg; break;
        case 'm': opts->model = optarg; break;
        case OPT_CAR_CATEGORY:
            if (strlen(optarg) > CM_FIELD_MAX) {
                cm_say(comm, "report: --car-category is longer than a field can be (%d bytes)",
                       CM_FIELD_MAX);
                return CM_EXIT_USAGE;
            }
            opts->input.car_category = optarg;
            break;
        case OPT_CAR_MIN:
        case OPT_TOP:
            value = cm_option_count(optarg);
            if (value < 0 || (c == OPT_TOP && (value < 1 || value > 100))) {
                cm_say(comm, "report: --%s needs a whole number%s, not '%s'",
                       options[option_index].name, c == OPT_TOP ? " from 1 to 100" : " (0 or more)",
                       optarg);
                return CM_EXIT_USAGE;
            }
            if (c == OPT_TOP)
                opts->input.top = (int)value;
            else
                opts->input.car_min_carts = value;
            break;
        default: return cm_option_end(comm, "report", c, usage, argv);
        }
    }
    if (argc - optind != 1) {
        cm_say(comm, "report: give one results file (results.h5 or its directory); see --help");
        return CM_EXIT_USAGE;
    }
    return -1;
}

/* Reads, draws and writes on rank 0. Returns 0 or an error code with the reason in err. */
static int make_report(report_opts *opts, const char *results_arg, char *err, size_t err_size)
{
    char results_path[4200], out_path[4300], dir[4200];
    struct stat st;
    if (stat(results_arg, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(results_path, sizeof results_path, "%s/results.h5", results_arg);
    else
        snprintf(results_path, sizeof results_path, "%s", results_arg);
    cm_path_dir(results_path, dir, sizeof dir);
    if (opts->out)
        snprintf(out_path, sizeof out_path, "%s", opts->out);
    else
        snprintf(out_path, sizeof out_path, "%s/report.html", dir);
    /* the inputs first, so that a missing one is named as such */
    cm_results_file results;
    int rc = cm_results_read_h5(results_path, &results, err, err_size);
    if (rc != 0)
        return rc;
    cm_model model;
    if (opts->model && (rc = cm_model_read(opts->model, &model, err, err_size)) != 0) {
        cm_results_file_free(&results);
        return rc;
    }
    char *inputs[2] = {results_path, (char *)(opts->model ? opts->model : results_path)};
    if ((rc = cm_output_check(out_path, inputs, 2, err, err_size)) != 0) {
        if (opts->model)
            cm_model_free(&model);
        cm_results_file_free(&results);
        return rc;
    }
    opts->input.results = &results.results;
    opts->input.created = results.created;
    opts->input.version = results.version;
    opts->input.model = opts->model ? &model : NULL;
    opts->input.model_path = opts->model;
    rc = cm_report_write(out_path, &opts->input, err, err_size);
    if (rc == 0)
        printf("report written to %s\n", out_path);
    if (opts->model)
        cm_model_free(&model);
    cm_results_file_free(&results);
    return rc;
}

int cm_cmd_report(MPI_Comm comm, int argc, char **argv)
{
    report_opts opts;
    int exit_code = parse_options(comm, argc, argv, &opts);
    if (exit_code >= 0)
        return exit_code;
    int rank, rc = 0;
    char err[1024];
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    if (rank == 0) {
        rc = make_report(&opts, argv[optind], err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "clickmill: %s\n", err);
        fflush(stdout);
    }
    CM_MPI_CHECK(comm, MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
    return rc == 0 ? CM_EXIT_OK : rc == CM_EUSAGE ? CM_EXIT_USAGE : CM_EXIT_FAILURE;
}
