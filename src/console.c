/* The console summary: funnel, categories, brands, products, abandonment, days and hours. */
#include "clickmill/console.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"
#include "clickmill/features.h"
#include "clickmill/output.h"

/* A ranking of a table's rows by one or two integer columns, largest first; ties keep key
 * order, so the ranking is deterministic. */
typedef struct {
    const cm_result *table;
    int by, then;
} ranking;

static const ranking *ranking_now; /* qsort has no context argument; rank 0 is one thread */

static int64_t score(const cm_cell *row, int col)
{
    return col < 0 ? 0 : row[col].num;
}

static int compare_ranked(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    const cm_cell *rx = cm_result_row(ranking_now->table, x);
    const cm_cell *ry = cm_result_row(ranking_now->table, y);
    int64_t sx = score(rx, ranking_now->by), sy = score(ry, ranking_now->by);
    if (sx != sy)
        return sx > sy ? -1 : 1;
    sx = score(rx, ranking_now->then);
    sy = score(ry, ranking_now->then);
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Row indices sorted by column `by` (then `then`), largest first. Caller frees. */
static size_t *rank_rows(const cm_result *table, int by, int then)
{
    size_t *order = cm_xmalloc((table->nrows ? table->nrows : 1) * sizeof *order);
    for (size_t i = 0; i < table->nrows; i++)
        order[i] = i;
    ranking r = {table, by, then};
    ranking_now = &r;
    qsort(order, table->nrows, sizeof *order, compare_ranked);
    ranking_now = NULL;
    return order;
}

/* A count with thousands separators: 12,345,678. */
void cm_format_count(int64_t value, char *out, size_t size)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%" PRId64, value < 0 ? -value : value);
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

/* Money from cents: 12,345,678.90. */
static void money(int64_t cents, char *out, size_t size)
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

static double percent(int64_t part, int64_t whole)
{
    return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

static void heading(FILE *out, const char *title)
{
    fprintf(out, "\n%s\n", title);
    for (const char *c = title; *c; c++)
        fputc('-', out);
    fputc('\n', out);
}

static const cm_cell *find_text(const cm_result *table, int col, const char *text)
{
    for (size_t r = 0; r < table->nrows; r++) {
        const cm_cell *row = cm_result_row(table, r);
        if (strcmp(row[col].text, text) == 0)
            return row;
    }
    return NULL;
}

static const char *shown(const char *text)
{
    return text[0] ? text : "(none)";
}

static void print_funnel(FILE *out, const cm_results *results)
{
    const cm_result *funnel = &results->tables[CM_T_FUNNEL];
    const char *order[] = {"view", "cart", "purchase"};
    char a[32], b[32], c[32];
    heading(out, "Conversion funnel");
    fprintf(out, "  %-18s %14s %12s %12s\n", "event", "events", "users", "sessions");
    int64_t events[3] = {0, 0, 0}, users[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        const cm_cell *row = find_text(funnel, 0, order[i]);
        if (row) {
            events[i] = row[1].num;
            users[i] = row[2].num;
        }
        cm_format_count(row ? row[1].num : 0, a, sizeof a);
        cm_format_count(row ? row[2].num : 0, b, sizeof b);
        cm_format_count(row ? row[3].num : 0, c, sizeof c);
        fprintf(out, "  %-18s %14s %12s %12s\n", order[i], a, b, c);
    }
    for (size_t r = 0; r < funnel->nrows; r++) {
        const cm_cell *row = cm_result_row(funnel, r);
        if (!strcmp(row[0].text, "view") || !strcmp(row[0].text, "cart") ||
            !strcmp(row[0].text, "purchase"))
            continue;
        cm_format_count(row[1].num, a, sizeof a);
        cm_format_count(row[2].num, b, sizeof b);
        cm_format_count(row[3].num, c, sizeof c);
        fprintf(out, "  %-18s %14s %12s %12s\n", row[0].text, a, b, c);
    }
    fprintf(out, "  carts per view: %.2f %%; cart conversion (purchases / carts): %.1f %%\n",
            percent(events[1], events[0]), percent(events[2], events[1]));
    fprintf(out, "  users who viewed: %.1f %% carted, %.1f %% purchased\n",
            percent(users[1], users[0]), percent(users[2], users[0]));
}

/* Top categories by a score computed from views, carts or purchases columns. */
static void print_top_categories(FILE *out, const cm_results *results, int top)
{
    const cm_result *categories = &results->tables[CM_T_CATEGORIES];
    char a[32], b[32];
    /* Browsed = views + carts, as the original study defined it; kept in a scratch table. */
    cm_result browsed = *categories;
    browsed.cells = cm_xmalloc((categories->nrows ? categories->nrows : 1) *
                               (size_t)categories->ncols * sizeof(cm_cell));
    memcpy(browsed.cells, categories->cells,
           categories->nrows * (size_t)categories->ncols * sizeof(cm_cell));
    for (size_t r = 0; r < browsed.nrows; r++) {
        cm_cell *row = cm_result_row(&browsed, r);
        row[1].num += row[2].num; /* views column now holds views + carts */
    }

    struct {
        const char *title;
        const cm_result *table;
        int by, then;
    } lists[] = {
        {"Top categories browsed (views + carts, 'unknown' excluded)", &browsed, 1, 3},
        {"Top categories purchased ('unknown' excluded)", categories, 3, 4},
        {"Top categories by revenue ('unknown' excluded)", categories, 4, 3},
    };
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        heading(out, lists[l].title);
        size_t *order = rank_rows(lists[l].table, lists[l].by, lists[l].then);
        int shown_rows = 0;
        for (size_t i = 0; i < lists[l].table->nrows && shown_rows < top; i++) {
            const cm_cell *row = cm_result_row(lists[l].table, order[i]);
            if (!strcmp(row[0].text, "unknown") || row[lists[l].by].num == 0)
                continue;
            shown_rows++;
            if (lists[l].by == 4)
                money(row[4].num, a, sizeof a);
            else
                cm_format_count(row[lists[l].by].num, a, sizeof a);
            money(row[4].num, b, sizeof b);
            fprintf(out, "  %2d. %-28s %16s%s%s\n", shown_rows, row[0].text, a,
                    lists[l].by == 4 ? "" : "   revenue ", lists[l].by == 4 ? "" : b);
        }
        if (!shown_rows)
            fprintf(out, "  (none)\n");
        free(order);
    }
    free(browsed.cells);
}

/* For each of the top categories by purchases: its top brands and products by purchases. */
static void print_within_categories(FILE *out, const cm_results *results, int top)
{
    const cm_result *categories = &results->tables[CM_T_CATEGORIES];
    const struct {
        const char *title;
        const cm_result *table;
    } parts[] = {
        {"Top 5 brands in the top categories (purchases in brackets)",
         &results->tables[CM_T_CATEGORY_BRANDS]},
        {"Top 5 products in the top categories (purchases in brackets)",
         &results->tables[CM_T_CATEGORY_PRODUCTS]},
    };
    size_t *top_categories = rank_rows(categories, 3, 1);
    for (size_t p = 0; p < 2; p++) {
        heading(out, parts[p].title);
        size_t *order = rank_rows(parts[p].table, 4, 2);
        int listed = 0;
        for (size_t c = 0; c < categories->nrows && listed < top; c++) {
            const cm_cell *category = cm_result_row(categories, top_categories[c]);
            if (!strcmp(category[0].text, "unknown") || category[3].num == 0)
                continue;
            listed++;
            fprintf(out, "  %s:", category[0].text);
            int n = 0;
            for (size_t i = 0; i < parts[p].table->nrows && n < 5; i++) {
                const cm_cell *row = cm_result_row(parts[p].table, order[i]);
                if (strcmp(row[0].text, category[0].text) != 0)
                    continue;
                char a[32];
                cm_format_count(row[4].num, a, sizeof a);
                fprintf(out, "%s %s (%s)", n ? "," : "", shown(row[1].text), a);
                n++;
            }
            fputc('\n', out);
        }
        if (!listed)
            fprintf(out, "  (no purchases)\n");
        free(order);
    }
    free(top_categories);
}

static void print_carts_vs_purchases(FILE *out, const cm_results *results)
{
    const cm_result *products = &results->tables[CM_T_CATEGORY_PRODUCTS];
    heading(out, "Carts vs purchases per category/product (top 20 by purchases)");
    fprintf(out, "  %-40s %12s %12s\n", "category/product", "carts", "purchases");
    size_t *order = rank_rows(products, 4, 3);
    for (size_t i = 0; i < products->nrows && i < 20; i++) {
        const cm_cell *row = cm_result_row(products, order[i]);
        if (row[4].num == 0 && row[3].num == 0)
            break;
        char name[300], a[32], b[32];
        snprintf(name, sizeof name, "%s/%s", row[0].text, shown(row[1].text));
        cm_format_count(row[3].num, a, sizeof a);
        cm_format_count(row[4].num, b, sizeof b);
        fprintf(out, "  %-40s %12s %12s\n", name, a, b);
    }
    free(order);
}

/* Cart abandonment = (1 - purchases / carts) x 100, for groups with enough carts and a rate
 * above zero, highest rate first. */
static void print_abandonment(FILE *out, const cm_result *table, int name_col, const char *filter,
                              const cm_console_opts *opts, const char *title)
{
    heading(out, title);
    size_t *order = cm_xmalloc((table->nrows ? table->nrows : 1) * sizeof *order);
    double *rates = cm_xmalloc((table->nrows ? table->nrows : 1) * sizeof *rates);
    size_t kept = 0;
    int carts_col = name_col + 2, purchases_col = name_col + 3;
    for (size_t r = 0; r < table->nrows; r++) {
        const cm_cell *row = cm_result_row(table, r);
        if (filter && strcmp(row[0].text, filter) != 0)
            continue;
        int64_t carts = row[carts_col].num, purchases = row[purchases_col].num;
        if (carts < opts->car_min_carts || carts == 0)
            continue;
        double rate = (1.0 - (double)purchases / (double)carts) * 100.0;
        if (rate <= 0)
            continue;
        /* insertion keeps it simple: the list is short */
        size_t at = kept++;
        while (at > 0 && rates[at - 1] < rate) {
            rates[at] = rates[at - 1];
            order[at] = order[at - 1];
            at--;
        }
        rates[at] = rate;
        order[at] = r;
    }
    if (kept == 0) {
        fprintf(out,
                "  (no group with at least %" PRId64 " carts and a positive rate; "
                "see --car-min-carts)\n",
                opts->car_min_carts);
    } else {
        fprintf(out, "  %-28s %12s %12s %9s\n", name_col ? "brand" : "category", "carts",
                "purchases", "rate");
    }
    for (size_t i = 0; i < kept; i++) {
        const cm_cell *row = cm_result_row(table, order[i]);
        char a[32], b[32];
        cm_format_count(row[carts_col].num, a, sizeof a);
        cm_format_count(row[purchases_col].num, b, sizeof b);
        fprintf(out, "  %-28s %12s %12s %8.2f%%\n", shown(row[name_col].text), a, b, rates[i]);
    }
    free(order);
    free(rates);
}

static void print_days(FILE *out, const cm_results *results)
{
    const cm_result *days = &results->tables[CM_T_DAYS];
    heading(out, "Purchases per day");
    fprintf(out, "  %-10s %12s %16s %12s %12s\n", "date", "purchases", "revenue", "users",
            "sessions");
    for (size_t r = 0; r < days->nrows; r++) {
        const cm_cell *row = cm_result_row(days, r);
        char a[32], b[32], c[32], d[32];
        cm_format_count(row[3].num, a, sizeof a);
        money(row[4].num, b, sizeof b);
        cm_format_count(row[5].num, c, sizeof c);
        cm_format_count(row[6].num, d, sizeof d);
        fprintf(out, "  %-10s %12s %16s %12s %12s\n", row[0].text, a, b, c, d);
    }
}

static void print_hours(FILE *out, const cm_results *results)
{
    const cm_result *hours = &results->tables[CM_T_HOURS];
    heading(out, "Traffic per hour of day (UTC)");
    fprintf(out, "  %4s %12s %10s %10s %10s %12s  %s\n", "hour", "views", "carts", "purchases",
            "users", "cumulative", "views");
    int64_t most = 1;
    for (size_t r = 0; r < hours->nrows; r++)
        most = cm_result_row(hours, r)[1].num > most ? cm_result_row(hours, r)[1].num : most;
    for (size_t r = 0; r < hours->nrows; r++) {
        const cm_cell *row = cm_result_row(hours, r);
        char a[32], b[32], c[32], d[32], e[32], bar[41];
        cm_format_count(row[1].num, a, sizeof a);
        cm_format_count(row[2].num, b, sizeof b);
        cm_format_count(row[3].num, c, sizeof c);
        cm_format_count(row[5].num, d, sizeof d);
        cm_format_count(row[6].num, e, sizeof e);
        int width = (int)(40 * row[1].num / most);
        memset(bar, '#', (size_t)width);
        bar[width] = '\0';
        fprintf(out, "  %4" PRId64 " %12s %10s %10s %10s %12s  %s\n", row[0].num, a, b, c, d, e,
                bar);
    }
}

void cm_console_summary(FILE *out, const cm_results *results, const cm_console_opts *opts)
{
    const cm_cell *s = cm_result_row(&results->tables[CM_T_SUMMARY], 0);
    char rows[32], rejected[32], users[32], sessions[32], products[32], revenue[32];
    cm_format_count(s[0].num, rows, sizeof rows);
    cm_format_count(s[1].num, rejected, sizeof rejected);
    cm_format_count(s[2].num, users, sizeof users);
    cm_format_count(s[3].num, sessions, sizeof sessions);
    cm_format_count(s[4].num, products, sizeof products);
    money(s[5].num, revenue, sizeof revenue);
    fprintf(out, "clickmill analyze: %s rows (%s rejected) from %d file%s on %d rank%s in %.2f s\n",
            rows, rejected, results->nfiles, results->nfiles == 1 ? "" : "s", results->ranks,
            results->ranks == 1 ? "" : "s", results->run_seconds);
    fprintf(out, "  %s users, %s sessions, %s products, revenue %s\n", users, sessions, products,
            revenue);
    if (s[6].text[0])
        fprintf(out, "  events from %s to %s\n", s[6].text, s[7].text);

    print_funnel(out, results);
    print_top_categories(out, results, opts->top);
    print_within_categories(out, results, opts->top);
    print_carts_vs_purchases(out, results);
    char title[256];
    snprintf(title, sizeof title, "Cart abandonment by category (at least %" PRId64 " carts)",
             opts->car_min_carts);
    print_abandonment(out, &results->tables[CM_T_CATEGORIES], 0, NULL, opts, title);
    snprintf(title, sizeof title, "Cart abandonment by brand in %s (at least %" PRId64 " carts)",
             opts->car_category, opts->car_min_carts);
    print_abandonment(out, &results->tables[CM_T_CATEGORY_BRANDS], 1, opts->car_category, opts,
                      title);
    print_days(out, results);
    print_hours(out, results);
}

void cm_console_json(FILE *out, const cm_results *results)
{
    fputs("{", out);
    for (int t = 0; t < CM_NTABLES; t++) {
        fprintf(out, "%s\n\"%s\": ", t ? "," : "", results->tables[t].name);
        cm_result_write_json(out, &results->tables[t]);
    }
    fputs("\n}\n", out);
}

void cm_console_csv(FILE *out, const cm_results *results)
{
    for (int t = 0; t < CM_NTABLES; t++) {
        fprintf(out, "%s# %s\n", t ? "\n" : "", results->tables[t].name);
        cm_result_write_csv(out, &results->tables[t]);
    }
}

void cm_console_rejects(FILE *out, const cm_scan_stats *stats, const char *const *paths)
{
    if (stats->rejected == 0)
        return;
    fprintf(out, "clickmill: %" PRId64 " row%s rejected:", stats->rejected,
            stats->rejected == 1 ? "" : "s");
    for (int reason = 1; reason < CM_NREASONS; reason++)
        if (stats->by_reason[reason])
            fprintf(out, " %s %" PRId64, cm_reject_name(reason), stats->by_reason[reason]);
    fputc('\n', out);
    for (int i = 0; i < stats->nreports; i++) {
        const cm_reject_report *report = &stats->reports[i];
        fprintf(out, "  %s:%" PRId64 " (byte %" PRId64 "): %s: %s\n", paths[report->file],
                report->line, report->offset, cm_reject_text(report->reason), report->text);
    }
    int64_t listable = stats->rejected - stats->rejected_in_stores;
    if (listable > stats->nreports)
        fprintf(out, "  ... and %" PRId64 " more (use --rejects FILE to keep them all)\n",
                listable - stats->nreports);
    if (stats->rejected_in_stores > 0)
        fprintf(out,
                "  %" PRId64 " of them when an event store was made (ingest --rejects lists "
                "such rows)\n",
                stats->rejected_in_stores);
}

/* One metric in three columns: test, the majority-class baseline on the test set, train. */
static void metric_line(FILE *out, const char *name, double test, double base, double train)
{
    fprintf(out, "  %-20s %9.4f %10.4f %9.4f\n", name, test, base, train);
}

void cm_console_model(FILE *out, const cm_model *model, int top_features)
{
    const cm_forest_params *p = &model->params;
    if (model->test_fraction >= 0)
        fprintf(out, "split: test = sessions hashing below %g\n", model->test_fraction);
    else
        fprintf(out, "split: test = the last %d day%s of the data\n", model->test_days,
                model->test_days == 1 ? "" : "s");
    fprintf(out,
            "forest: %d trees, depth at most %d, at least %d sample%s per leaf, %d of %d "
            "features tried per node, %d bins; seed %llu; grown on %d rank%s in %.2f s\n",
            model->forest.ntrees, p->max_depth, p->min_leaf, p->min_leaf == 1 ? "" : "s",
            p->max_features, CM_NFEATURES, p->bins, (unsigned long long)p->seed, model->ranks,
            model->ranks == 1 ? "" : "s", model->train_seconds);
    char a[32], b[32], c[32], d[32];
    cm_format_count(model->train.samples, a, sizeof a);
    cm_format_count(model->train.positives, b, sizeof b);
    cm_format_count(model->test.samples, c, sizeof c);
    cm_format_count(model->test.positives, d, sizeof d);
    fprintf(out, "samples: train %s (%s bought, %.1f %%), test %s (%s bought, %.1f %%)\n", a, b,
            percent(model->train.positives, model->train.samples), c, d,
            percent(model->test.positives, model->test.samples));

    const cm_metrics *t = &model->test, *r = &model->train;
    fprintf(out, "\n  %-20s %9s %10s %9s\n", "metric", "test", "baseline", "train");
    metric_line(out, "accuracy", t->accuracy, t->base_accuracy, r->accuracy);
    metric_line(out, "balanced accuracy", t->balanced_accuracy, t->base_balanced_accuracy,
                r->balanced_accuracy);
    metric_line(out, "precision", t->precision, t->base_precision, r->precision);
    metric_line(out, "recall", t->recall, t->base_recall, r->recall);
    metric_line(out, "F1", t->f1, t->base_f1, r->f1);
    metric_line(out, "ROC AUC", t->roc_auc, t->base_roc_auc, r->roc_auc);
    metric_line(out, "PR AUC", t->pr_auc, t->base_pr_auc, r->pr_auc);
    metric_line(out, "log loss", t->log_loss, t->base_log_loss, r->log_loss);
    fprintf(out,
            "  (baseline: the training set's majority class for every sample, with its "
            "purchase rate %.4f as the probability)\n",
            model->prior);

    cm_format_count(t->tp, a, sizeof a);
    cm_format_count(t->fn, b, sizeof b);
    cm_format_count(t->fp, c, sizeof c);
    cm_format_count(t->tn, d, sizeof d);
    fprintf(out, "\nconfusion matrix on the test set (a score >= %.2f predicts a purchase):\n",
            t->threshold);
    fprintf(out, "  %-16s %14s %14s\n", "", "predicted buy", "predicted not");
    fprintf(out, "  %-16s %14s %14s\n", "bought", a, b);
    fprintf(out, "  %-16s %14s %14s\n", "not bought", c, d);

    double importance[CM_NFEATURES];
    cm_forest_importances(&model->forest, importance);
    int order[CM_NFEATURES];
    for (int f = 0; f < CM_NFEATURES; f++)
        order[f] = f;
    for (int i = 1; i < CM_NFEATURES; i++) /* insertion sort, largest first */
        for (int j = i; j > 0 && importance[order[j]] > importance[order[j - 1]]; j--) {
            int swap = order[j];
            order[j] = order[j - 1];
            order[j - 1] = swap;
        }
    fprintf(out, "\nfeature importance (mean decrease in gini impurity):\n");
    for (int i = 0; i < top_features && i < CM_NFEATURES; i++)
        fprintf(out, "  %-20s %6.3f  %s\n", cm_feature_defs[order[i]].name, importance[order[i]],
                cm_feature_defs[order[i]].description);
}
