/* Writing results: CSV tables, the HDF5 results file, and machine-readable stdout. Rank 0 only. */
#ifndef CLICKMILL_OUTPUT_H
#define CLICKMILL_OUTPUT_H

#include <stdio.h>

#include "clickmill/result.h"
#include "clickmill/table.h"

/* Appends one CSV field with RFC 4180 quoting: quoted when it holds a comma, a double quote, CR
 * or LF, with quotes doubled. Every CSV clickmill writes goes through it. Local. */
void cm_csv_field(cm_buffer *out, const char *text, size_t len);

/* Writes one table as CSV (header row, RFC 4180 quoting, money with 2 decimals). Returns 0 or
 * CM_EIO. Local. */
int cm_result_write_csv(FILE *out, const cm_result *table);

/* Writes one table as a JSON array of objects. Local. */
int cm_result_write_json(FILE *out, const cm_result *table);

/* Writes DIR/tables/NAME.csv for every table, each under a temporary name renamed when complete.
 * Creates the directories. Returns 0 or CM_EIO with the reason in err. Local. */
int cm_results_write_csv_dir(const char *dir, const cm_results *results, char *err,
                             size_t err_size);

/* Writes DIR/results.h5 (one compound dataset per table, attributes describing the run) under a
 * temporary name renamed when complete. Returns 0, CM_EIO or CM_EHDF5 with the reason in err.
 * Local (serial HDF5 on the calling rank). */
int cm_results_write_h5(const char *path, const cm_results *results, char *err, size_t err_size);

/* results.h5 carries these in its `format` and `format_version` attributes. */
#define CM_RESULTS_FORMAT  "clickmill-results"
#define CM_RESULTS_VERSION 1

/* results.h5 read back: the tables as analyze made them, what the run read, and when. */
typedef struct {
    cm_results results; /* files and file_bytes point into the two below */
    char **files;
    int64_t *file_bytes;
    int nfiles;
    char created[32], version[32];
} cm_results_file;

/* Reads and checks a results file written by cm_results_write_h5. Returns 0, CM_EIO
 * (unreadable) or CM_EINPUT (another file, missing or damaged tables) with the reason in err;
 * free with cm_results_file_free. Local. */
int cm_results_read_h5(const char *path, cm_results_file *out, char *err, size_t err_size);
void cm_results_file_free(cm_results_file *file);

/* Creates a directory and its parents if missing. Returns 0 or CM_EIO. Local. */
int cm_mkdirs(const char *path, char *err, size_t err_size);

/* The directory part of a file path: "." for a bare name, "/" for "/x". Local. */
void cm_path_dir(const char *path, char *out, size_t size);

/* Checks before a long run that an output file can be written: not a directory, none of the
 * given other files (the inputs, and the other outputs: by name or by being the same file),
 * and its temporary name can be created in its directory. Returns 0, CM_EUSAGE or
 * CM_EIO with the reason in err. Local. */
int cm_output_check(const char *path, char *const *inputs, int ninputs, char *err, size_t err_size);

/* Opens PATH.tmp.PID for writing (its name in temporary), or returns NULL with the reason in
 * err. cm_output_commit closes it and renames it to path, or removes it after a write error;
 * returns 0 or CM_EIO. Every CSV output is written this way. Local. */
FILE *cm_output_open(const char *path, char *temporary, size_t temporary_size, char *err,
                     size_t err_size);
int cm_output_commit(FILE *out, const char *temporary, const char *path, char *err,
                     size_t err_size);

/* Moves `temporary` to `path`, or removes it and reports why. Local. */
int cm_commit_file(const char *temporary, const char *path, char *err, size_t err_size);

#endif
