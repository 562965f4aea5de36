/* What the console summary and the HTML report show, picked the same way for both: rankings,
 * the funnel's steps, cart abandonment, feature importances, and number formats. */
#ifndef CLICKMILL_SUMMARY_H
#define CLICKMILL_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "clickmill/model.h"
#include "clickmill/result.h"

/* Row indices of a table ranked by column `by` (plus column `plus` when it is >= 0), then by
 * `then`, largest first; ties keep key order. Caller frees. Local. */
size_t *cm_rank_rows(const cm_result *table, int by, int plus, int then);

/* The first `top` rows of that ranking whose score is not zero, leaving out rows whose first
 * column is "unknown" when skip_unknown. Fills rows[] (room for top) and returns how many. The
 * scores of all other rows, unknown included, add up to *rest when rest is not NULL. Local. */
size_t cm_top_rows(const cm_result *table, int by, int plus, int then, size_t top, int skip_unknown,
                   size_t *rows, int64_t *rest);

/* The conversion funnel's steps view, cart and purchase (0 where a step is missing). */
typedef struct {
    int64_t events[3], users[3], sessions[3];
} cm_funnel_steps;
extern const char *const cm_funnel_step_names[3];
void cm_funnel_steps_get(const cm_results *results, cm_funnel_steps *steps);

/* Cart abandonment = (1 - purchases / carts) x 100 of the groups of table (name in column
 * name_col, carts and purchases in name_col + 2 and + 3) with at least min_carts carts and a
 * rate above zero, highest rate first; only rows whose first column is `within` when it is not
 * NULL. Returns the count; *out (caller frees) holds row index and rate. Local. */
typedef struct {
    size_t row;
    double rate;
} cm_abandonment;
size_t cm_abandonment_list(const cm_result *table, int name_col, const char *within,
                           int64_t min_carts, cm_abandonment **out);

/* The forest's feature importances and the features in decreasing importance. Local. */
void cm_importance_order(const cm_model *model, double importance[], int order[]);

/* A count with thousands separators (12,345,678), money from cents (12,345,678.90), a part of a
 * whole in percent (0 when the whole is 0), and "(none)" for an empty text. Local. */
void cm_format_count(int64_t value, char *out, size_t size);
void cm_format_money(int64_t cents, char *out, size_t size);
double cm_percent(int64_t part, int64_t whole);
const char *cm_shown(const char *text);

/* The row of a table whose column col holds text, or NULL. Local. */
const cm_cell *cm_result_find(const cm_result *table, int col, const char *text);

#endif
