/* The clickmill binary: starts MPI and runs one command. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/commands.h"
#include "clickmill/version.h"

static const char usage[] =
    "usage: mpirun -np N clickmill COMMAND [options] FILE...\n"
    "\n"
    "clickmill analyses REES46 / Open CDP e-commerce event logs in parallel with MPI.\n"
    "It runs the same on one rank, on a laptop's cores and on a cluster.\n"
    "\n"
    "commands:\n"
    "  analyze     funnel, categories, brands, products, days and hours from event files\n"
    "  journey     one session's (or user's) events in time order\n"
    "  generate    a synthetic month in the same format, as large as the real one\n"
    "  ingest      parse CSV files once into a columnar HDF5 event store, which every\n"
    "              command reads in place of the CSV files\n"
    "  train       a random forest that predicts whether a carted product is bought\n"
    "  predict     score the carts in event files with a trained model, or a live stream\n"
    "  model-info  a model's parameters, features, importances and metrics\n"
    "  report      an HTML page with a chart for every analysis (and a model's)\n"
    "  serve       the \"Will they buy?\" page and a JSON/CSV scoring API over HTTP\n"
    "\n"
    "Run 'clickmill COMMAND --help' for a command's options.\n"
    "  -h, --help      show this help\n"
    "  -V, --version   show the version\n";

int main(int argc, char **argv)
{
    /* serve and predict --stream run as one process. Started without mpirun, Open MPI would
       would still open a TCP port on every interface for ranks that will never come; the
       shared-memory and self transports are all one process needs. (Its helper daemon, orted,
       keeps listening ports of its own: docs/serve.md.) */
    if (argc > 1 && !getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") &&
        (!strcmp(argv[1], "serve") || !strcmp(argv[1], "predict"))) {
        setenv("OMPI_MCA_btl", "self,vader", 0);
    }
    MPI_Init(&argc, &argv);
    MPI_Comm comm = MPI_COMM_WORLD;
    /* Errors from MPI calls are checked and reported by clickmill itself. */
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    int rank;
    MPI_Comm_rank(comm, &rank);

    int exit_code;
    const char *command = argc > 1 ? argv[1] : NULL;
    if (!command) {
        if (rank == 0)
            fputs(usage, stderr);
        exit_code = CM_EXIT_USAGE;
    } else if (!strcmp(command, "-h") || !strcmp(command, "--help") || !strcmp(command, "help")) {
        if (rank == 0)
            fputs(usage, stdout);
        exit_code = CM_EXIT_OK;
    } else if (!strcmp(command, "-V") || !strcmp(command, "--version")) {
        if (rank == 0)
            printf("clickmill %s\n", CM_VERSION);
        exit_code = CM_EXIT_OK;
    } else if (!strcmp(command, "analyze")) {
        exit_code = cm_cmd_analyze(comm, argc - 1, argv + 1);
    } else if (!strcmp(command, "ingest")) {
        exit_code = cm_cmd_ingest(comm, argc - 1, argv + 1);
    } else if (!strcmp(command, "generate")) {
        exit_code = cm_cmd_generate(comm, argc - 1, argv + 1);
    } else if (!strcmp(command, "train")) {
        exit_code = cm_cmd_train(comm, argc - 1, argv + 1);
    } else if (!strcmp(command, "predict")) {
        exit_code = cm_cmd_predict(comm, argc - 1, argv + 1);
    } else if (!strcmp(command, "model-info")) {
        exit_code = cm_cmd_model_info(comm, argc - 1, argv + 1);
    } else if (!strcmp(command, "serve")) {
        exit_code = cm_cmd_serve(comm, argc - 1, argv + 1);
    } else if (!strcmp(command, "report")) {
        exit_code = cm_cmd_report(comm, argc - 1, argv + 1);
    } else if (!strcmp(command, "journey")) {
        exit_code = cm_cmd_journey(comm, argc - 1, argv + 1);
    } else {
        cm_say(comm, "unknown command '%s'; run 'clickmill --help' for the list", command);
        exit_code = CM_EXIT_USAGE;
    }
    MPI_Finalize();
    return exit_code;
}
