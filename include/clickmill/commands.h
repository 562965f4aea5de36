/* The subcommands of the clickmill binary. Each is collective over the communicator. */
#ifndef CLICKMILL_COMMANDS_H
#define CLICKMILL_COMMANDS_H

#include <mpi.h>

/* Exit codes shared by every command. */
enum { CM_EXIT_OK = 0, CM_EXIT_FAILURE = 1, CM_EXIT_USAGE = 2 };

/* Each takes the arguments after the command name and returns an exit code; every rank returns
 * the same code. Collective. */
int cm_cmd_analyze(MPI_Comm comm, int argc, char **argv);
int cm_cmd_journey(MPI_Comm comm, int argc, char **argv);

/* Prints "clickmill: message" to stderr on rank 0 only. Local. */
void cm_say(MPI_Comm comm, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Whether to show progress: not with --quiet, and only when rank 0 writes to a terminal. Under
 * mpirun, Open MPI hands each rank a terminal for stdout but a pipe for stderr, so a terminal on
 * either counts. Only rank 0's answer is used. Local. */
int cm_progress_wanted(int quiet);

/* Parses a non-negative integer option value; -1 on error. Local. */
long long cm_option_count(const char *text);

#endif
