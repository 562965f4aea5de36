/* What the console summary and the report show: rankings, funnel steps, abandonment, formats. */
#include "clickmill/summary.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"
#include "clickmill/features.h"

/* A ranking of a table's rows by one integer column (or the sum of two), then another,
 * largest first; ties keep key order, so the ranking is deterministic. */
typedef struct {
    const cm_result *table;
    int by, plus, then;
} ranking;

static const ranking *ranking_now; /* qsort has no context argument; rank 0 is one thread */

static int64_t score(const cm_cell *row, int col, int plus)
{
    return (col < 0 ? 0 : row[col].num) + (plus < 0 ? 0 : row[plus].num);
}

static int compare_ranked(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    const cm_cell *rx = cm_result_row(ranking_now->table, x);
    const cm_cell *ry = cm_result_row(ranking_now->table, y);
    int64_t sx = score(rx, ranking_now->by, ranking_now->plus);
    int64_t sy = score(ry, ranking_now->by, ranking_now->plus);
    if (sx != sy)
        return sx > sy ? -1 : 1;
    sx = score(rx, ranking_now->then, -1);
    sy = score(ry, ranking_now->then, -1);
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return x < y ? -1 : x > y;
}

size_t *cm_rank_rows(const cm_result *table, int by, int plus, int then)
{
    size_t *order = cm_xmalloc((table->nrows ? table->nrows : 1) * sizeof *order);
    for (size_t i = 0; i < table->nrows; i++)
        order[i] = i;
    ranking r = {table, by, plus, then};
    ranking_now = &r;
    qsort(order, table->nrows, sizeof *order, compare_ranked);
    ranking_now = NULL;
    return order;
}

size_t cm_top_rows(const cm_result *table, int by, int plus, int then, size_t top, int skip_unknown,
                   size_t *rows, int64_t *rest)
{
    size_t *order = cm_rank_rows(table, by, plus, then);
    size_t kept = 0;
    int64_t others = 0;
    for (size_t i = 0; i < table->nrows; i++) {
        const cm_cell *row = cm_result_row(table, order[i]);
        int64_t value = score(row, by, plus);
        if (kept < top && value != 0 && !(skip_unknown && !strcmp(row[0].text, "unknown")))
            rows[kept++] = order[i];
        else
            others += value;
    }
    free(order);
    if (rest)
        *rest = others;
    return kept;
}

const char *const cm_funnel_step_names[3] = {"view", "cart", "purchase"};

void cm_funnel_steps_get(const cm_results *results, cm_funnel_steps *steps)
{
    memset(steps, 0, sizeof *steps);
    for (int i = 0; i < 3; i++) {
        const cm_cell *row =
            cm_result_find(&results->tables[CM_T_FUNNEL], 0, cm_funnel_step_names[i]);
        if (row) {
            steps->events[i] = row[1].num;
            steps->users[i] = row[2].num;
            steps->sessions[i] = row[3].num;
        }
    }
}

size_t cm_abandonment_list(const cm_result *table, int name_col, const char *within,
                           int64_t min_carts, cm_abandonment **out)
{
    cm_abandonment *list = cm_xmalloc((table->nrows ? table->nrows : 1) * sizeof *list);
    size_t kept = 0;
    int carts_col = name_col + 2, purchases_col = name_col + 3;
    for (size_t r = 0; r < table->nrows; r++) {
        const cm_cell *row = cm_result_row(table, r);
        if (within && strcmp(row[0].text, within) != 0)
            continue;
        int64_t carts = row[carts_col].num, purchases = row[purchases_col].num;
        if (carts < min_carts || carts == 0)
            continue;
        double rate = (1.0 - (double)purchases / (double)carts) * 100.0;
        if (rate <= 0)
            continue;
        /* insertion keeps it simple: the list is short */
        size_t at = kept++;
        while (at > 0 && list[at - 1].rate < rate) {
            list[at] = list[at - 1];
            at--;
        }
        list[at] = (cm_abandonment){r, rate};
    }
    *out = list;
    return kept;
}

void cm_importance_order(const cm_model *model, double importance[], int order[])
{
    cm_forest_importances(&model->forest, importance);
    for (int f = 0; f < CM_NFEATURES; f++)
        order[f] = f;
    for (int i = 1; i < CM_NFEATURES; i++) /* insertion sort, largest first */
        for (int j = i; j > 0 && importance[order[j]] > importance[order[j - 1]]; j--) {
            int swap = order[j];
            order[j] = order[j - 1];
            order[j - 1] = swap;
        }
}

void cm_format_count(int64_t value, char *out, size_t size)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%" PRIu64,
                       value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value);
    size_t at = 0;
    if (value < 0 && at + 1 < size)
        out[at++] = '-';
    for (int i = 0; i < len && at + 2 < size; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[at++] = ',';
        out[at++] = digits[i];
    }
    out[at] = '\0';
}

void cm_format_money(int64_t cents, char *out, size_t size)
{
    int64_t magnitude = cents < 0 ? -cents : cents;
    cm_format_count(magnitude / 100, out, size);
    size_t at = strlen(out);
    snprintf(out + at, size - at, ".%02d", (int)(magnitude % 100));
    if (cents < 0 && strlen(out) + 1 < size) {
        memmove(out + 1, out, strlen(out) + 1);
        out[0] = '-';
    }
}

double cm_percent(int64_t part, int64_t whole)
{
    return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

const char *cm_shown(const char *text)
{
    return text[0] ? text : "(none)";
}

const cm_cell *cm_result_find(const cm_result *table, int col, const char *text)
{
    for (size_t r = 0; r < table->nrows; r++) {
        const cm_cell *row = cm_result_row(table, r);
        if (strcmp(row[col].text, text) == 0)
            return row;
    }
    return NULL;
}
