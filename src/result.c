/* The result tables of the data contract, and the operations all writers share. */
#include "clickmill/result.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"

/* clang-format off */
#define COUNTS {"views", CM_CELL_INT}, {"carts", CM_CELL_INT}, {"purchases", CM_CELL_INT}, \
    {"revenue", CM_CELL_MONEY}
/* clang-format on */

static const cm_column_def summary_cols[] = {
    {"rows", CM_CELL_INT},         {"rows_rejected", CM_CELL_INT}, {"users", CM_CELL_INT},
    {"sessions", CM_CELL_INT},     {"products", CM_CELL_INT},      {"revenue", CM_CELL_MONEY},
    {"first_event", CM_CELL_TEXT}, {"last_event", CM_CELL_TEXT},
};
static const cm_column_def funnel_cols[] = {
    {"event_type", CM_CELL_TEXT},
    {"events", CM_CELL_INT},
    {"users", CM_CELL_INT},
    {"sessions", CM_CELL_INT},
};
static const cm_column_def categories_cols[] = {{"category", CM_CELL_TEXT}, COUNTS};
static const cm_column_def category_brands_cols[] = {
    {"category", CM_CELL_TEXT}, {"brand", CM_CELL_TEXT}, COUNTS};
static const cm_column_def category_products_cols[] = {
    {"category", CM_CELL_TEXT}, {"product", CM_CELL_TEXT}, COUNTS};
static const cm_column_def brands_cols[] = {{"brand", CM_CELL_TEXT}, COUNTS};
static const cm_column_def days_cols[] = {
    {"date", CM_CELL_TEXT}, COUNTS, {"users", CM_CELL_INT}, {"sessions", CM_CELL_INT}};
static const cm_column_def hours_cols[] = {
    {"hour", CM_CELL_INT}, COUNTS, {"users", CM_CELL_INT}, {"users_cumulative", CM_CELL_INT}};

#define TABLE(id, table_name, columns, keys)                                                       \
    [id] = {.name = table_name,                                                                    \
            .ncols = (int)(sizeof columns / sizeof columns[0]),                                    \
            .nkeys = keys,                                                                         \
            .cols = columns}

static const cm_result contract[CM_NTABLES] = {
    TABLE(CM_T_SUMMARY, "summary", summary_cols, 0),
    TABLE(CM_T_FUNNEL, "funnel", funnel_cols, 1),
    TABLE(CM_T_CATEGORIES, "categories", categories_cols, 1),
    TABLE(CM_T_CATEGORY_BRANDS, "category_brands", category_brands_cols, 2),
    TABLE(CM_T_CATEGORY_PRODUCTS, "category_products", category_products_cols, 2),
    TABLE(CM_T_BRANDS, "brands", brands_cols, 1),
    TABLE(CM_T_DAYS, "days", days_cols, 1),
    TABLE(CM_T_HOURS, "hours", hours_cols, 1),
};

void cm_results_init(cm_results *results)
{
    memset(results, 0, sizeof *results);
    memcpy(results->tables, contract, sizeof contract);
}

void cm_results_free(cm_results *results)
{
    for (int t = 0; t < CM_NTABLES; t++) {
        cm_result *table = &results->tables[t];
        for (size_t r = 0; r < table->nrows; r++)
            for (int c = 0; c < table->ncols; c++)
                if (table->cols[c].type == CM_CELL_TEXT)
                    free(table->cells[r * (size_t)table->ncols + (size_t)c].text);
        free(table->cells);
        table->cells = NULL;
        table->nrows = table->cap = 0;
    }
}

cm_cell *cm_result_add_row(cm_result *table)
{
    if (table->nrows == table->cap) {
        table->cap = table->cap ? table->cap * 2 : 16;
        table->cells =
            cm_xrealloc(table->cells, table->cap * (size_t)table->ncols * sizeof(cm_cell));
    }
    cm_cell *row = cm_result_row(table, table->nrows++);
    memset(row, 0, (size_t)table->ncols * sizeof *row);
    return row;
}

cm_cell *cm_result_row(const cm_result *table, size_t row)
{
    return table->cells + row * (size_t)table->ncols;
}

/* qsort has no context argument; sorting is done by one thread on rank 0. */
static const cm_result *sorting;

static int compare_rows(const void *a, const void *b)
{
    const cm_cell *x = a, *y = b;
    for (int c = 0; c < sorting->nkeys; c++) {
        int order;
        if (sorting->cols[c].type == CM_CELL_TEXT)
            order = strcmp(x[c].text, y[c].text);
        else
            order = x[c].num < y[c].num ? -1 : x[c].num > y[c].num;
        if (order)
            return order;
    }
    return 0;
}

void cm_result_sort(cm_result *table)
{
    if (table->nkeys == 0 || table->nrows < 2)
        return;
    sorting = table;
    qsort(table->cells, table->nrows, (size_t)table->ncols * sizeof(cm_cell), compare_rows);
    sorting = NULL;
}

int cm_result_column(const cm_result *table, const char *name)
{
    for (int c = 0; c < table->ncols; c++)
        if (strcmp(table->cols[c].name, name) == 0)
            return c;
    return -1;
}

void cm_cell_format(const cm_column_def *col, cm_cell cell, char *out, size_t size)
{
    switch (col->type) {
    case CM_CELL_TEXT: snprintf(out, size, "%s", cell.text ? cell.text : ""); break;
    case CM_CELL_INT: snprintf(out, size, "%" PRId64, cell.num); break;
    case CM_CELL_REAL: {
        char number[32];
        cm_format_double(cell.real, number);
        snprintf(out, size, "%s", number);
        break;
    }
    case CM_CELL_MONEY: {
        int64_t cents = cell.num;
        const char *sign = cents < 0 ? "-" : "";
        uint64_t magnitude = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
        snprintf(out, size, "%s%" PRIu64 ".%02u", sign, magnitude / 100,
                 (unsigned)(magnitude % 100));
        break;
    }
    }
}

void cm_format_double(double value, char out[32])
{
    if (!isfinite(value)) {
        snprintf(out, 32, "%s", isnan(value) ? "nan" : value > 0 ? "inf" : "-inf");
        return;
    }
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(out, 32, "%.*g", digits, value);
        if (strtod(out, NULL) == value)
            return;
    }
}
