/* The subcommands of the clickmill binary. Each is collective over the communicator. */
#ifndef CLICKMILL_COMMANDS_H
#define CLICKMILL_COMMANDS_H

#include <mpi.h>

#include "clickmill/plan.h"

/* Exit codes shared by every command. */
enum { CM_EXIT_OK = 0, CM_EXIT_FAILURE = 1, CM_EXIT_USAGE = 2 };

/* Each takes the arguments after the command name and returns an exit code; every rank returns
 * the same code. Collective. */
int cm_cmd_analyze(MPI_Comm comm, int argc, char **argv);
int cm_cmd_journey(MPI_Comm comm, int argc, char **argv);
int cm_cmd_generate(MPI_Comm comm, int argc, char **argv);
int cm_cmd_ingest(MPI_Comm comm, int argc, char **argv);
int cm_cmd_train(MPI_Comm comm, int argc, char **argv);
int cm_cmd_predict(MPI_Comm comm, int argc, char **argv);
int cm_cmd_model_info(MPI_Comm comm, int argc, char **argv);
int cm_cmd_report(MPI_Comm comm, int argc, char **argv);
int cm_cmd_serve(MPI_Comm comm, int argc, char **argv);

/* Prints "clickmill: message" to stderr on rank 0 only. Local. */
void cm_say(MPI_Comm comm, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Whether to show progress: always with --progress, never with --quiet, otherwise when rank 0's
 * stderr is a terminal. Under mpirun a rank's stderr is a pipe to Open MPI even when mpirun runs
 * in a terminal (and its stdout a terminal even when mpirun's output goes to a file), so there
 * only --progress can ask for it. Only rank 0's answer is used. Local. */
int cm_progress_wanted(int quiet, int forced);

/* The cases every command's option loop ends with: 'h' prints the usage (rank 0) and gives
 * exit 0; ':' (a missing value) and anything unknown are usage errors. Local. */
int cm_option_end(MPI_Comm comm, const char *command, int c, const char *usage, char **argv);

/* Parses a non-negative integer option value; -1 on error. Local. */
long long cm_option_count(const char *text);

/* Parses a whole number in [lo, hi] into out; 0, or -1 after saying on rank 0 that option
 * --name of command needs one. Local. */
int cm_option_range(MPI_Comm comm, const char *command, const char *name, const char *text,
                    long long lo, long long hi, long long *out);
/* Parses a number in [lo, hi] into out; 0, or -1 on error. Local. */
int cm_option_real(const char *text, double lo, double hi, double *out);

/* Plans the read of the input files; on failure says why on rank 0 and returns the exit code
 * (usage or failure), else -1. Collective. */
int cm_command_plan(MPI_Comm comm, char *const *paths, int npaths, cm_plan *plan);

#endif
