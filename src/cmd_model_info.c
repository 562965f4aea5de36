/* `clickmill model-info`: what a model file holds, in words. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "clickmill/commands.h"
#include "clickmill/console.h"
#include "clickmill/error.h"
#include "clickmill/features.h"
#include "clickmill/model.h"

static const char usage[] =
    "usage: clickmill model-info MODEL\n"
    "\n"
    "Prints a model's parameters, its features and their importance, the sizes of its\n"
    "dictionaries and its training and test metrics next to the majority-class baseline.\n"
    "\n"
    "options:\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 on success, 1 when the file is not a readable model, 2 for a usage error.\n";

int cm_cmd_model_info(MPI_Comm comm, int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1)
        return cm_option_end(comm, "model-info", c, usage, argv);
    if (argc - optind != 1) {
        cm_say(comm, "model-info: give one model file (see --help)");
        return CM_EXIT_USAGE;
    }
    int rank;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    char err[1024];
    cm_model model;
    int rc = 0;
    if (rank == 0) {
        rc = cm_model_read(argv[optind], &model, err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "clickmill: %s\n", err);
        } else {
            printf("model %s: written by clickmill %s on %s\n", argv[optind], model.version,
                   model.created);
            printf("dictionaries:");
            for (int d = 0; d < CM_NDICTS; d++)
                printf(" %zu %s values%s", model.dicts[d].count, cm_dictionary_names[d],
                       d + 1 < CM_NDICTS ? "," : "\n");
            cm_console_model(stdout, &model, CM_NFEATURES);
            fflush(stdout);
            cm_model_free(&model);
        }
    }
    CM_MPI_CHECK(comm, MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
    return rc == 0 ? CM_EXIT_OK : CM_EXIT_FAILURE;
}
