/* The readable summary on rank 0's stdout that answers the original study's questions. */
#ifndef CLICKMILL_CONSOLE_H
#define CLICKMILL_CONSOLE_H

#include <stdint.h>
#include <stdio.h>

#include "clickmill/model.h"
#include "clickmill/result.h"
#include "clickmill/scan.h"
#include "clickmill/summary.h"

typedef struct {
    int64_t car_min_carts;    /* cart abandonment: groups with at least this many carts */
    const char *car_category; /* cart abandonment by brand within this category */
    int top;                  /* rows in the top-N lists */
} cm_console_opts;

/* Writes the text summary of analyze. Local (rank 0). */
void cm_console_summary(FILE *out, const cm_results *results, const cm_console_opts *opts);

/* Writes every table to out as JSON (one object keyed by table name) or as CSV (each table
 * after a "# name" line). Local. */
void cm_console_json(FILE *out, const cm_results *results);
void cm_console_csv(FILE *out, const cm_results *results);

/* Tells the user on stderr how many rows were rejected, why, and where the first ones are.
 * Local (rank 0). */
void cm_console_rejects(FILE *out, const cm_scan_stats *stats, const char *const *paths);

/* Writes the model's parameters, split, metrics next to the baseline, confusion matrix and the
 * top_features most important features. Local (rank 0). */
void cm_console_model(FILE *out, const cm_model *model, int top_features);

#endif
