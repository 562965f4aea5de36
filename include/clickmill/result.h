/* Result tables: named columns of text, integers and money, the form every output writer takes. */
#ifndef CLICKMILL_RESULT_H
#define CLICKMILL_RESULT_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CM_CELL_TEXT,  /* a NUL-terminated string owned by the table */
    CM_CELL_INT,   /* a 64-bit count */
    CM_CELL_MONEY, /* integer cents, written with 2 decimals */
    CM_CELL_REAL,  /* a double, written in the fewest digits that read back the same */
} cm_cell_type;

typedef struct {
    const char *name;
    cm_cell_type type;
} cm_column_def;

typedef union {
    char *text;
    int64_t num;
    double real;
} cm_cell;

/* A table of rows; the first nkeys columns are its key, and rows are sorted by them. */
typedef struct {
    const char *name;
    int ncols;
    int nkeys;
    const cm_column_def *cols;
    size_t nrows, cap;
    cm_cell *cells; /* nrows * ncols, row-major */
} cm_result;

/* The tables of `clickmill analyze`, in the order of the data contract. */
enum {
    CM_T_SUMMARY,
    CM_T_FUNNEL,
    CM_T_CATEGORIES,
    CM_T_CATEGORY_BRANDS,
    CM_T_CATEGORY_PRODUCTS,
    CM_T_BRANDS,
    CM_T_DAYS,
    CM_T_HOURS,
    CM_NTABLES
};

/* Everything analyze produces on rank 0: the tables and what the run read. */
typedef struct {
    cm_result tables[CM_NTABLES];
    int nfiles;
    const char *const *files;  /* borrowed */
    const int64_t *file_bytes; /* borrowed */
    int ranks;
    int64_t rows_read;
    int64_t rows_rejected;
    double run_seconds;
} cm_results;

/* Sets up table `which` of the contract, empty. Local. */
void cm_results_init(cm_results *results);
void cm_results_free(cm_results *results);

/* Appends a row and returns its cells (zeroed). Local. */
cm_cell *cm_result_add_row(cm_result *table);
cm_cell *cm_result_row(const cm_result *table, size_t row);

/* Sorts the rows by the key columns: text in byte order, numbers in numeric order. Local. */
void cm_result_sort(cm_result *table);

/* The index of a column by name, or -1. Local. */
int cm_result_column(const cm_result *table, const char *name);

/* Formats a double so that reading it back gives the same value, in the fewest digits (at
 * most 31 characters). Local. */
void cm_format_double(double value, char out[32]);

/* Formats one cell (money with 2 decimals) into out. Local. */
void cm_cell_format(const cm_column_def *col, cm_cell cell, char *out, size_t size);

#endif
