/* Helpers the commands share: rank-0 messages and option values. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "clickmill/commands.h"
#include "clickmill/error.h"

void cm_say(MPI_Comm comm, const char *format, ...)
{
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    if (rank != 0)
        return;
    va_list args;
    va_start(args, format);
    fputs("clickmill: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
}

long long cm_option_count(const char *text)
{
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno || end == text || *end != '\0' || value < 0)
        return -1;
    return value;
}

int cm_option_range(MPI_Comm comm, const char *command, const char *name, const char *text,
                    long long lo, long long hi, long long *out)
{
    long long value = cm_option_count(text);
    if (value < lo || value > hi) {
        cm_say(comm, "%s: --%s needs a whole number from %lld to %lld, not '%s'", command, name, lo,
               hi, text);
        return -1;
    }
    *out = value;
    return 0;
}

int cm_option_real(const char *text, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno || end == text || *end || !(value >= lo && value <= hi))
        return -1;
    *out = value;
    return 0;
}

int cm_command_plan(MPI_Comm comm, char *const *paths, int npaths, cm_plan *plan)
{
    char err[1024];
    int rc = cm_plan_build(comm, paths, npaths, plan, err, sizeof err);
    if (rc == 0)
        return -1;
    cm_say(comm, "%s", err);
    return rc == CM_EUSAGE ? CM_EXIT_USAGE : CM_EXIT_FAILURE;
}

int cm_progress_wanted(int quiet, int forced)
{
    return !quiet && (forced || isatty(STDERR_FILENO));
}

int cm_option_end(MPI_Comm comm, const char *command, int c, const char *usage, char **argv)
{
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    if (c == 'h') {
        if (rank == 0)
            fputs(usage, stdout);
        return CM_EXIT_OK;
    }
    if (c == ':')
        cm_say(comm, "%s: option '%s' needs a value; see --help", command, argv[optind - 1]);
    else
        cm_say(comm, "%s: unknown option '%s'; see --help", command, argv[optind - 1]);
    return CM_EXIT_USAGE;
}
