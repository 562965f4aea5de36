/* The console summary: funnel, categories, brands, products, abandonment, days and hours. */
#include "clickmill/console.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"
#include "clickmill/features.h"
#include "clickmill/output.h"
#include "clickmill/summary.h"

static void heading(FILE *out, const char *title)
{
    fprintf(out, "\n%s\n", title);
    for (const char *c = title; *c; c++)
        fputc('-', out);
    fputc('\n', out);
}

static void print_funnel(FILE *out, const cm_results *results)
{
    const cm_result *funnel = &results->tables[CM_T_FUNNEL];
    cm_funnel_steps steps;
    char a[32], b[32], c[32];
    cm_funnel_steps_get(results, &steps);
    heading(out, "Conversion funnel");
    fprintf(out, "  %-18s %14s %12s %12s\n", "event", "events", "users", "sessions");
    for (int i = 0; i < 3; i++) {
        cm_format_count(steps.events[i], a, sizeof a);
        cm_format_count(steps.users[i], b, sizeof b);
        cm_format_count(steps.sessions[i], c, sizeof c);
        fprintf(out, "  %-18s %14s %12s %12s\n", cm_funnel_step_names[i], a, b, c);
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
            cm_percent(steps.events[1], steps.events[0]),
            cm_percent(steps.events[2], steps.events[1]));
    fprintf(out, "  users who viewed: %.1f %% carted, %.1f %% purchased\n",
            cm_percent(steps.users[1], steps.users[0]), cm_percent(steps.users[2], steps.users[0]));
}

/* Top categories browsed (views + carts), purchased and by revenue. */
static void print_top_categories(FILE *out, const cm_results *results, int top)
{
    const cm_result *categories = &results->tables[CM_T_CATEGORIES];
    char a[32], b[32];
    const struct {
        const char *title;
        int by, plus, then;
    } lists[] = {
        {"Top categories browsed (views + carts, 'unknown' excluded)", 1, 2, 3},
        {"Top categories purchased ('unknown' excluded)", 3, -1, 4},
        {"Top categories by revenue ('unknown' excluded)", 4, -1, 3},
    };
    size_t *rows = cm_xmalloc((size_t)top * sizeof *rows);
    for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
        heading(out, lists[l].title);
        size_t n = cm_top_rows(categories, lists[l].by, lists[l].plus, lists[l].then, (size_t)top,
                               1, rows, NULL);
        for (size_t i = 0; i < n; i++) {
            const cm_cell *row = cm_result_row(categories, rows[i]);
            int64_t value = row[lists[l].by].num + (lists[l].plus < 0 ? 0 : row[lists[l].plus].num);
            if (lists[l].by == 4)
                cm_format_money(value, a, sizeof a);
            else
                cm_format_count(value, a, sizeof a);
            cm_format_money(row[4].num, b, sizeof b);
            fprintf(out, "  %2zu. %-28s %16s%s%s\n", i + 1, row[0].text, a,
                    lists[l].by == 4 ? "" : "   revenue ", lists[l].by == 4 ? "" : b);
        }
        if (!n)
            fprintf(out, "  (none)\n");
    }
    free(rows);
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
    size_t *top_categories = cm_rank_rows(categories, 3, -1, 4);
    for (size_t p = 0; p < 2; p++) {
        heading(out, parts[p].title);
        size_t *order = cm_rank_rows(parts[p].table, 4, -1, 2);
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
                fprintf(out, "%s %s (%s)", n ? "," : "", cm_shown(row[1].text), a);
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
    size_t *order = cm_rank_rows(products, 4, -1, 3);
    for (size_t i = 0; i < products->nrows && i < 20; i++) {
        const cm_cell *row = cm_result_row(products, order[i]);
        if (row[4].num == 0 && row[3].num == 0)
            break;
        char name[300], a[32], b[32];
        snprintf(name, sizeof name, "%s/%s", row[0].text, cm_shown(row[1].text));
        cm_format_count(row[3].num, a, sizeof a);
        cm_format_count(row[4].num, b, sizeof b);
        fprintf(out, "  %-40s %12s %12s\n", name, a, b);
    }
    free(order);
}

/* Cart abandonment of the groups with enough carts and a rate above zero, highest first. */
static void print_abandonment(FILE *out, const cm_result *table, int name_col, const char *within,
                              const cm_console_opts *opts, const char *title)
{
    heading(out, title);
    cm_abandonment *list;
    size_t kept = cm_abandonment_list(table, name_col, within, opts->car_min_carts, &list);
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
        const cm_cell *row = cm_result_row(table, list[i].row);
        char a[32], b[32];
        cm_format_count(row[name_col + 2].num, a, sizeof a);
        cm_format_count(row[name_col + 3].num, b, sizeof b);
        fprintf(out, "  %-28s %12s %12s %8.2f%%\n", cm_shown(row[name_col].text), a, b,
                list[i].rate);
    }
    free(list);
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
        cm_format_money(row[4].num, b, sizeof b);
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
    cm_format_money(s[5].num, revenue, sizeof revenue);
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
            cm_percent(model->train.positives, model->train.samples), c, d,
            cm_percent(model->test.positives, model->test.samples));

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
    int order[CM_NFEATURES];
    cm_importance_order(model, importance, order);
    fprintf(out, "\nfeature importance (mean decrease in gini impurity):\n");
    for (int i = 0; i < top_features && i < CM_NFEATURES; i++)
        fprintf(out, "  %-20s %6.3f  %s\n", cm_feature_defs[order[i]].name, importance[order[i]],
                cm_feature_defs[order[i]].description);
}
