/* Helpers the commands share: rank-0 messages and option values. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "clickmill/commands.h"

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
