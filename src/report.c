/* The HTML report: a section per analysis with a sentence of insight, a chart and its numbers. */
#include "clickmill/report.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"
#include "clickmill/event.h"
#include "clickmill/features.h"
#include "clickmill/output.h"
#include "clickmill/summary.h"
#include "clickmill/svg.h"

#define WITHIN_CATEGORIES 6    /* categories that get their own brand and product charts */
#define WITHIN_TOP        5    /* brands or products per category */
#define LINE              4096 /* a sentence: names are at most 250 bytes each */

static const char style[] =
    ":root{color-scheme:light dark;--bg:#fff;--fg:#1d2330;--muted:#5b6475;--grid:#e3e6ec;"
    "--panel:#f5f6f8;--s0:#2f6fdf;--s1:#e08a1e;--s2:#1f9e6b;--s3:#b0479c;--ref:#8a93a3}\n"
    "@media (prefers-color-scheme:dark){:root{--bg:#14171d;--fg:#e6e9ef;--muted:#a3abb9;"
    "--grid:#2c323d;--panel:#1c2028;--s0:#6ea2ff;--s1:#f2a94a;--s2:#4cc994;--s3:#d77cc5;"
    "--ref:#7c8595}}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"
    "'Segoe UI',Roboto,'DejaVu Sans',sans-serif}\n"
    "main{max-width:980px;margin:0 auto;padding:16px}\n"
    "p,h1,h2,h3,li,figcaption{overflow-wrap:anywhere}\n"
    "h1{font-size:1.7em;margin:.2em 0}h2{font-size:1.3em;margin:1.6em 0 .3em;"
    "border-top:1px solid var(--grid);padding-top:.8em}h3{font-size:1.05em;margin:1em 0 .2em}\n"
    ".lead{color:var(--muted);margin:.2em 0 1em}\n"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;"
    "margin:12px 0}\n"
    ".card{background:var(--panel);border-radius:8px;padding:10px 12px}\n"
    ".card b{display:block;font-size:1.35em}.card span{color:var(--muted);font-size:.9em}\n"
    "nav ul{display:flex;flex-wrap:wrap;gap:4px 14px;padding:0;list-style:none;margin:0}\n"
    "nav a,a{color:var(--s0)}\n"
    ".insight{background:var(--panel);border-left:4px solid var(--s0);padding:8px 12px;"
    "border-radius:4px;margin:.6em 0}\n"
    ".note{color:var(--muted)}\n"
    "figure{margin:.8em 0;overflow-x:auto}\n"
    ".pair{display:flex;flex-wrap:wrap;gap:12px}.pair>figure{flex:1 1 380px;min-width:0}\n"
    "svg.chart{display:block;width:100%;height:auto;overflow:visible}\n"
    "svg.chart text{fill:var(--fg);font-size:12px}\n"
    "svg.chart .tick,svg.chart .axis-title{fill:var(--muted)}\n"
    "svg.chart .value,svg.chart .annotation{fill:var(--fg);font-size:11px}\n"
    "svg.chart .cell-value{font-size:18px;font-weight:600}\n"
    "svg.chart .grid{stroke:var(--grid)}svg.chart .axis{stroke:var(--muted)}\n"
    "svg.chart .reference{stroke:var(--ref);stroke-dasharray:5 4}\n"
    ".s0{fill:var(--s0);stroke:var(--s0)}.s1{fill:var(--s1);stroke:var(--s1)}"
    ".s2{fill:var(--s2);stroke:var(--s2)}.s3{fill:var(--s3);stroke:var(--s3)}\n"
    "svg.chart rect.bar.other{fill:var(--ref)}\n"
    "svg.chart rect.bar,svg.chart rect.swatch,svg.chart rect.cell{stroke:none}\n"
    "svg.chart .line{fill:none;stroke-width:2.5}svg.chart .point{fill-opacity:.75;stroke:none}\n"
    "figcaption{color:var(--muted);font-size:.9em}\n"
    "details{margin:.3em 0 1em}summary{cursor:pointer;color:var(--muted)}\n"
    ".scroll{overflow-x:auto}\n"
    "table{border-collapse:collapse;font-size:.9em;margin:.4em 0}\n"
    "th,td{padding:3px 10px;border-bottom:1px solid var(--grid);text-align:right}\n"
    "th:first-child,td:first-child{text-align:left}\n"
    "@media (max-width:640px){main{padding:10px}svg.chart{min-width:540px}"
    ".pair>figure{flex-basis:100%}}\n"
    "footer{color:var(--muted);font-size:.85em;margin-top:2em;border-top:1px solid var(--grid);"
    "padding-top:.8em;overflow-wrap:anywhere}\n";

/* Formats into a fixed buffer; the caller escapes it when it goes into the page. */
static const char *say(char *buffer, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static const char *say(char *buffer, size_t size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(buffer, size, format, args);
    va_end(args);
    return buffer;
}

static void element(cm_buffer *out, const char *tag, const char *attributes, const char *text)
{
    cm_buffer_printf(out, "<%s%s%s>", tag, attributes ? " " : "", attributes ? attributes : "");
    cm_xml_text(out, text);
    cm_buffer_printf(out, "</%s>\n", tag);
}

static void section(cm_buffer *out, const char *id, const char *title)
{
    cm_buffer_printf(out, "<section id=\"%s\">\n", id);
    element(out, "h2", NULL, title);
}

static void insight(cm_buffer *out, const char *text)
{
    element(out, "p", "class=\"insight\"", text);
}

static const char *count_text(int64_t value, char *out, size_t size)
{
    cm_format_count(value, out, size);
    return out;
}

static const char *money_text(int64_t cents, char *out, size_t size)
{
    cm_format_money(cents, out, size);
    return out;
}

/* A bar chart in a figure with its caption, and its numbers as a table below. */
static void bar_figure(cm_buffer *out, const cm_bar_chart *chart, const char *caption)
{
    char text[64];
    cm_buffer_text(out, "<figure>\n");
    cm_svg_bars(out, chart);
    if (caption)
        element(out, "figcaption", NULL, caption);
    cm_buffer_text(out, "</figure>\n<details><summary>The numbers</summary><div class=\"scroll\">"
                        "<table><thead><tr><th>");
    cm_xml_text(out, chart->category_axis ? chart->category_axis : "");
    cm_buffer_text(out, "</th>");
    for (int s = 0; s < chart->nseries; s++) {
        cm_buffer_text(out, "<th>");
        cm_xml_text(out, chart->series[s].name);
        cm_buffer_text(out, "</th>");
    }
    cm_buffer_text(out, "</tr></thead><tbody>\n");
    for (size_t c = 0; c < chart->ncategories; c++) {
        cm_buffer_text(out, "<tr><td>");
        cm_xml_text(out, chart->categories[c]);
        cm_buffer_text(out, "</td>");
        for (int s = 0; s < chart->nseries; s++) {
            cm_number_kind kind = chart->series[s].line ? chart->line_kind : chart->kind;
            cm_format_number(chart->series[s].values[c], kind, 0, text, sizeof text);
            cm_buffer_printf(out, "<td>%s</td>", text);
        }
        cm_buffer_text(out, "</tr>\n");
    }
    cm_buffer_text(out, "</tbody></table></div></details>\n");
}

/* The values of the top rows of a table and one "other" row for the rest. */
typedef struct {
    size_t n;
    char **labels;
    double *values;
    size_t *rows; /* table rows of the first n - (has_other) labels */
    int has_other;
} top_list;

static void top_list_make(top_list *list, const cm_result *table, int label_col, int by, int plus,
                          int then, size_t top, int skip_unknown, int money)
{
    int64_t rest = 0;
    size_t others = 0;
    list->rows = cm_xmalloc((top ? top : 1) * sizeof *list->rows);
    size_t n = cm_top_rows(table, by, plus, then, top, skip_unknown, list->rows, &rest);
    for (size_t r = 0; r < table->nrows; r++) {
        const cm_cell *row = cm_result_row(table, r);
        others += row[by].num + (plus < 0 ? 0 : row[plus].num) != 0;
    }
    others -= n;
    list->has_other = rest != 0;
    list->n = n + (size_t)list->has_other;
    list->labels = cm_xcalloc(list->n ? list->n : 1, sizeof *list->labels);
    list->values = cm_xcalloc(list->n ? list->n : 1, sizeof *list->values);
    for (size_t i = 0; i < n; i++) {
        const cm_cell *row = cm_result_row(table, list->rows[i]);
        list->labels[i] = cm_xstrdup(cm_shown(row[label_col].text));
        int64_t v = row[by].num + (plus < 0 ? 0 : row[plus].num);
        list->values[i] = money ? (double)v / 100.0 : (double)v;
    }
    if (list->has_other) {
        char label[64];
        snprintf(label, sizeof label, "other (%zu)", others);
        list->labels[n] = cm_xstrdup(label);
        list->values[n] = money ? (double)rest / 100.0 : (double)rest;
    }
}

static void top_list_free(top_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        free(list->labels[i]);
    free(list->labels);
    free(list->values);
    free(list->rows);
}

static void header(cm_buffer *out, const cm_report_input *in)
{
    const cm_results *results = in->results;
    const cm_cell *s = cm_result_row(&results->tables[CM_T_SUMMARY], 0);
    char a[64], b[64], line[512];
    cm_funnel_steps steps;
    cm_funnel_steps_get(results, &steps);
    element(out, "h1", NULL, "Clickstream report");
    if (s[6].text[0])
        say(line, sizeof line, "%s events from %s to %s, %d input file%s.",
            count_text(s[0].num, a, sizeof a), s[6].text, s[7].text, results->nfiles,
            results->nfiles == 1 ? "" : "s");
    else
        say(line, sizeof line, "No events were read from %d input file%s.", results->nfiles,
            results->nfiles == 1 ? "" : "s");
    element(out, "p", "class=\"lead\"", line);
    cm_buffer_text(out, "<div class=\"cards\">\n");
    const struct {
        const char *name;
        int64_t value;
        int money;
    } cards[] = {
        {"events", s[0].num, 0},   {"users", s[2].num, 0},   {"sessions", s[3].num, 0},
        {"products", s[4].num, 0}, {"revenue", s[5].num, 1}, {"rows rejected", s[1].num, 0},
    };
    for (size_t i = 0; i < sizeof cards / sizeof cards[0]; i++) {
        if (cards[i].money)
            money_text(cards[i].value, a, sizeof a);
        else
            count_text(cards[i].value, a, sizeof a);
        cm_buffer_printf(out,
                         "<div class=\"card\" id=\"card-%zu\"><b>%s</b><span>%s</span></div>\n", i,
                         a, cards[i].name);
    }
    if (steps.events[1])
        snprintf(b, sizeof b, "%.2f", (double)steps.events[2] / (double)steps.events[1]);
    else
        snprintf(b, sizeof b, "-");
    cm_buffer_printf(out, "<div class=\"card\"><b>%s</b><span>purchases per cart</span></div>\n",
                     b);
    cm_buffer_text(out, "</div>\n<nav><ul>\n");
    const char *links[][2] = {{"funnel", "Funnel"},
                              {"categories", "Categories"},
                              {"brands", "Brands"},
                              {"products", "Products"},
                              {"carts", "Carts vs purchases"},
                              {"abandonment", "Cart abandonment"},
                              {"days", "Days"},
                              {"hours", "Hours"},
                              {"model", "Model"}};
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (in->model || strcmp(links[i][0], "model") != 0)
            cm_buffer_printf(out, "<li><a href=\"#%s\">%s</a></li>\n", links[i][0], links[i][1]);
    cm_buffer_text(out, "</ul></nav>\n");
}

#define OTHER_TYPES 5 /* event types beyond view, cart and purchase drawn in the funnel */

static void funnel_section(cm_buffer *out, const cm_report_input *in)
{
    const cm_result *funnel = &in->results->tables[CM_T_FUNNEL];
    cm_funnel_steps steps;
    cm_funnel_steps_get(in->results, &steps);
    const char *labels[3 + OTHER_TYPES + 1];
    double events[3 + OTHER_TYPES + 1], users[3 + OTHER_TYPES + 1];
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        labels[n] = cm_funnel_step_names[i];
        events[n] = (double)steps.events[i];
        users[n++] = (double)steps.users[i];
    }
    /* other event types, such as remove_from_cart: the most frequent, then one bar for the
       rest (its users are not distinct across types, so that bar has none) */
    size_t *order = cm_rank_rows(funnel, 1, -1, 2), others = 0;
    int64_t rest = 0;
    char rest_label[64];
    for (size_t i = 0; i < funnel->nrows; i++) {
        const cm_cell *row = cm_result_row(funnel, order[i]);
        if (!strcmp(row[0].text, "view") || !strcmp(row[0].text, "cart") ||
            !strcmp(row[0].text, "purchase"))
            continue;
        if (n < 3 + OTHER_TYPES) {
            labels[n] = row[0].text;
            events[n] = (double)row[1].num;
            users[n++] = (double)row[2].num;
        } else {
            rest += row[1].num;
            others++;
        }
    }
    free(order);
    if (others) {
        snprintf(rest_label, sizeof rest_label, "other types (%zu)", others);
        labels[n] = rest_label;
        events[n] = (double)rest;
        users[n++] = 0;
    }
    section(out, "funnel", "Conversion funnel");
    char line[LINE], a[32], b[32], c[32];
    if (steps.events[0] && steps.events[1])
        say(line, sizeof line,
            "There are %.2f carts per 100 views and %.1f purchases per 100 carts%s.",
            100.0 * (double)steps.events[1] / (double)steps.events[0],
            100.0 * (double)steps.events[2] / (double)steps.events[1],
            steps.events[2] > steps.events[1]
                ? " (more purchases than carts: many purchases have no cart event in the log)"
                : "");
    else
        say(line, sizeof line, "There are %s views, %s carts and %s purchases.",
            count_text(steps.events[0], a, sizeof a), count_text(steps.events[1], b, sizeof b),
            count_text(steps.events[2], c, sizeof c));
    if (steps.users[0]) {
        size_t at = strlen(line);
        say(line + at, sizeof line - at,
            " %s users viewed products, %s put one in a cart and %s bought: %.1f buyers per "
            "100 viewers.",
            count_text(steps.users[0], a, sizeof a), count_text(steps.users[1], b, sizeof b),
            count_text(steps.users[2], c, sizeof c),
            100.0 * (double)steps.users[2] / (double)steps.users[0]);
    }
    insight(out, line);
    cm_bar_chart chart = {.id = "chart-funnel",
                          .title = "Events and users at each step of the funnel",
                          .horizontal = 1,
                          .value_labels = 1,
                          .last_is_other = others > 0,
                          .ncategories = n,
                          .categories = labels,
                          .nseries = 2,
                          .series = {{"events", events, 0}, {"users", users, 0}},
                          .value_axis = "events / distinct users",
                          .category_axis = "event type",
                          .kind = CM_NUM_COUNT};
    bar_figure(out, &chart,
               "Users are counted once per step, however many events they made; a user who "
               "bought need not have viewed or carted in this data.");
    cm_buffer_text(out, "</section>\n");
}

static void top_chart(cm_buffer *out, const char *id, const char *title, const top_list *list,
                      const char *series, const char *axis, const char *category_axis,
                      cm_number_kind kind)
{
    cm_bar_chart chart = {.id = id,
                          .title = title,
                          .horizontal = 1,
                          .value_labels = 1,
                          .ncategories = list->n,
                          .categories = (const char *const *)list->labels,
                          .nseries = 1,
                          .series = {{series, list->values, 0}},
                          .value_axis = axis,
                          .category_axis = category_axis,
                          .kind = kind,
                          .last_is_other = list->has_other};
    element(out, "h3", NULL, title);
    if (list->n == 0)
        element(out, "p", "class=\"note\"", "Nothing to show: no such events.");
    else
        bar_figure(out, &chart, list->has_other ? "The last bar adds up every other value." : NULL);
}

static void categories_section(cm_buffer *out, const cm_report_input *in)
{
    const cm_result *categories = &in->results->tables[CM_T_CATEGORIES];
    cm_funnel_steps steps;
    cm_funnel_steps_get(in->results, &steps);
    section(out, "categories", "Top categories");
    top_list browsed, purchased, revenue;
    top_list_make(&browsed, categories, 0, 1, 2, 3, (size_t)in->top, 1, 0);
    top_list_make(&purchased, categories, 0, 3, -1, 4, (size_t)in->top, 1, 0);
    top_list_make(&revenue, categories, 0, 4, -1, 3, (size_t)in->top, 1, 1);
    char line[LINE];
    const cm_cell *unknown = cm_result_find(categories, 0, "unknown");
    if (purchased.n > (size_t)purchased.has_other) {
        const cm_cell *first = cm_result_row(categories, purchased.rows[0]);
        say(line, sizeof line, "%s leads: %.1f%% of all purchases and %.1f%% of the revenue.",
            first[0].text, cm_percent(first[3].num, steps.events[2]),
            cm_percent(first[4].num, cm_result_row(&in->results->tables[CM_T_SUMMARY], 0)[5].num));
        if (unknown && unknown[3].num > 0) {
            size_t at = strlen(line);
            say(line + at, sizeof line - at,
                " Purchases with neither a category code nor a brand ('unknown', left out of "
                "the rankings) are %.1f%% of all.",
                cm_percent(unknown[3].num, steps.events[2]));
        }
        insight(out, line);
    } else {
        insight(out, steps.events[2] ? "No purchase has a category code or a brand."
                                     : "There are no purchases.");
    }
    element(out, "p", "class=\"note\"",
            "A category is the first part of category_code (electronics in "
            "electronics.smartphone), or the brand when the code is empty, and 'unknown' when "
            "both are; browsed counts views and carts. Both as the original study did.");
    top_chart(out, "chart-categories-browsed", "Top categories browsed", &browsed, "views + carts",
              "views + carts", "category", CM_NUM_COUNT);
    top_chart(out, "chart-categories-purchased", "Top categories purchased", &purchased,
              "purchases", "purchases", "category", CM_NUM_COUNT);
    top_chart(out, "chart-categories-revenue", "Top categories by revenue", &revenue, "revenue",
              "revenue", "category", CM_NUM_MONEY);
    cm_buffer_text(out, "</section>\n");
    top_list_free(&browsed);
    top_list_free(&purchased);
    top_list_free(&revenue);
}

/* For each top category by purchases: its top brands (or products) by purchases. */
static void within_section(cm_buffer *out, const cm_report_input *in, int table_id, const char *id,
                           const char *title, const char *what)
{
    const cm_result *categories = &in->results->tables[CM_T_CATEGORIES];
    const cm_result *table = &in->results->tables[table_id];
    section(out, id, title);
    size_t top_rows[WITHIN_CATEGORIES];
    /* the categories of the "Top categories purchased" chart, in its order */
    size_t n = cm_top_rows(categories, 3, -1, 4, WITHIN_CATEGORIES, 1, top_rows, NULL);
    if (n == 0)
        element(out, "p", "class=\"note\"", "No purchase has a category code or a brand.");
    int said = 0;
    cm_buffer charts = {0}; /* after the insight, which the first chart's numbers give */
    cm_buffer_text(&charts, "<div class=\"pair\">\n");
    for (size_t c = 0; c < n; c++) {
        const char *category = cm_result_row(categories, top_rows[c])[0].text;
        /* a scratch table with this category's rows only, so one ranking serves */
        cm_result part = *table;
        part.cells =
            cm_xmalloc((table->nrows ? table->nrows : 1) * (size_t)table->ncols * sizeof(cm_cell));
        part.nrows = 0;
        int64_t total = 0;
        for (size_t r = 0; r < table->nrows; r++) {
            const cm_cell *row = cm_result_row(table, r);
            if (strcmp(row[0].text, category) == 0) {
                memcpy(cm_result_row(&part, part.nrows++), row,
                       (size_t)table->ncols * sizeof(cm_cell));
                total += row[4].num;
            }
        }
        top_list list;
        top_list_make(&list, &part, 1, 4, -1, 2, WITHIN_TOP, 0, 0);
        if (!said && list.n > 0) {
            char line[LINE];
            const cm_cell *first = cm_result_row(&part, list.rows[0]);
            say(line, sizeof line, "In %s, the leading %s, %s, takes %.1f%% of the purchases.",
                category, what, cm_shown(first[1].text), cm_percent(first[4].num, total));
            insight(out, line);
            said = 1;
        }
        char chart_id[64], chart_title[LINE];
        snprintf(chart_id, sizeof chart_id, "chart-%s-%zu", id, c + 1);
        snprintf(chart_title, sizeof chart_title, "%s: top %ss by purchases", category, what);
        cm_bar_chart chart = {.id = chart_id,
                              .title = chart_title,
                              .horizontal = 1,
                              .value_labels = 1,
                              .ncategories = list.n,
                              .categories = (const char *const *)list.labels,
                              .nseries = 1,
                              .series = {{"purchases", list.values, 0}},
                              .value_axis = "purchases",
                              .category_axis = what,
                              .kind = CM_NUM_COUNT,
                              .last_is_other = list.has_other,
                              .width = 440};
        cm_buffer_text(&charts, "<figure>\n");
        element(&charts, "h3", NULL, category);
        cm_svg_bars(&charts, &chart);
        cm_buffer_text(&charts, "</figure>\n");
        top_list_free(&list);
        free(part.cells);
    }
    cm_buffer_text(&charts, "</div>\n</section>\n");
    cm_buffer_append(out, charts.data, charts.len);
    cm_buffer_free(&charts);
}

#define MAX_POINTS 1000 /* product types drawn in the scatter: those with the most activity */

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Carts against purchases per category/product, and a zoomed view of the small ones. */
static void carts_section(cm_buffer *out, const cm_report_input *in)
{
    const cm_result *products = &in->results->tables[CM_T_CATEGORY_PRODUCTS];
    section(out, "carts", "Carts vs purchases per product type");
    /* by carts + purchases, largest first: the points drawn and the one named in the text */
    size_t *order = cm_rank_rows(products, 3, 4, 2), active = 0, more_bought = 0;
    for (size_t r = 0; r < products->nrows; r++) {
        const cm_cell *row = cm_result_row(products, r);
        active += row[3].num + row[4].num > 0;
        more_bought += row[4].num > row[3].num;
    }
    if (active == 0) {
        insight(out, "No product was put in a cart or bought.");
        cm_buffer_text(out, "</section>\n");
        free(order);
        return;
    }
    size_t n = active < MAX_POINTS ? active : MAX_POINTS;
    double *carts = cm_xcalloc(n, sizeof *carts), *purchases = cm_xcalloc(n, sizeof *purchases);
    double *sorted = cm_xcalloc(active, sizeof *sorted);
    char **labels = cm_xcalloc(n, sizeof *labels);
    for (size_t i = 0; i < active; i++) {
        const cm_cell *row = cm_result_row(products, order[i]);
        sorted[i] = (double)row[3].num;
        if (i >= n)
            continue;
        char label[600];
        snprintf(label, sizeof label, "%s/%s", row[0].text, cm_shown(row[1].text));
        labels[i] = cm_xstrdup(label);
        carts[i] = (double)row[3].num;
        purchases[i] = (double)row[4].num;
    }
    /* the zoom: the carts of the product type at the 80th percentile, and the purchases of
       the types drawn below it */
    qsort(sorted, active, sizeof *sorted, compare_doubles);
    double zoom_x = sorted[(active - 1) * 8 / 10], zoom_y = 0;
    zoom_x = zoom_x > 1 ? zoom_x : 1;
    for (size_t i = 0; i < n; i++)
        if (carts[i] <= zoom_x && purchases[i] > zoom_y)
            zoom_y = purchases[i];
    free(sorted);
    char line[LINE], a[32], b[32], c[32], d[32];
    const cm_cell *top = cm_result_row(products, order[0]);
    say(line, sizeof line,
        "%s of %s product types have more purchases than carts (purchases without a cart "
        "event in the log). The most active is %s/%s: %s carts, %s purchases.",
        count_text((int64_t)more_bought, a, sizeof a), count_text((int64_t)active, b, sizeof b),
        top[0].text, cm_shown(top[1].text), count_text(top[3].num, c, sizeof c),
        count_text(top[4].num, d, sizeof d));
    insight(out, line);
    free(order);
    cm_xy_chart chart = {
        .id = "chart-carts",
        .title = "Carts and purchases per category/product",
        .x_axis = "carts",
        .y_axis = "purchases",
        .nseries = 1,
        .series = {{"product type", carts, purchases, n, 1, (const char *const *)labels}},
        .diagonal = 1,
        .x_kind = CM_NUM_COUNT,
        .y_kind = CM_NUM_COUNT};
    cm_buffer_text(out, "<div class=\"pair\">\n<figure>\n");
    cm_svg_xy(out, &chart);
    if (n < active)
        say(line, sizeof line,
            "The %s most active of %s category/products; the dashed line is purchases = carts.",
            count_text((int64_t)n, a, sizeof a), count_text((int64_t)active, b, sizeof b));
    else
        say(line, sizeof line,
            "Every point is a category/product; the dashed line is purchases = carts.");
    element(out, "figcaption", NULL, line);
    cm_buffer_text(out, "</figure>\n<figure>\n");
    chart.id = "chart-carts-tail";
    chart.title = "The long tail: product types with few carts";
    chart.x_max = zoom_x;
    chart.y_max = zoom_y > 0 ? zoom_y : 1;
    cm_svg_xy(out, &chart);
    say(line, sizeof line,
        "Zoomed to at most %s cart%s: the 80%% of product types with the fewest carts.",
        count_text((int64_t)zoom_x, a, sizeof a), zoom_x == 1 ? "" : "s");
    element(out, "figcaption", NULL, line);
    cm_buffer_text(out, "</figure>\n</div>\n</section>\n");
    for (size_t i = 0; i < n; i++)
        free(labels[i]);
    free(labels);
    free(carts);
    free(purchases);
}

static void abandonment_chart(cm_buffer *out, const cm_report_input *in, int table_id, int name_col,
                              const char *within, const char *id, const char *title,
                              const char *what)
{
    const cm_result *table = &in->results->tables[table_id];
    cm_abandonment *list;
    size_t n = cm_abandonment_list(table, name_col, within, in->car_min_carts, &list);
    char line[LINE], a[32], b[32];
    element(out, "h3", NULL, title);
    if (within && !cm_result_find(table, 0, within)) {
        say(line, sizeof line, "There is no category named '%s' (see --car-category).", within);
        element(out, "p", "class=\"note\"", line);
        free(list);
        return;
    }
    if (n == 0) {
        say(line, sizeof line,
            "No %s has at least %s cart%s and more carts than purchases (the threshold is "
            "--car-min-carts).",
            what, count_text(in->car_min_carts, a, sizeof a), in->car_min_carts == 1 ? "" : "s");
        element(out, "p", "class=\"note\"", line);
        free(list);
        return;
    }
    /* the highest rates are drawn; the sentence names the highest and the lowest of all */
    size_t shown = n < (size_t)in->top ? n : (size_t)in->top;
    const char **labels = cm_xcalloc(shown, sizeof *labels);
    double *rates = cm_xcalloc(shown, sizeof *rates);
    for (size_t i = 0; i < shown; i++) {
        labels[i] = cm_shown(cm_result_row(table, list[i].row)[name_col].text);
        rates[i] = list[i].rate;
    }
    if (n > 1)
        say(line, sizeof line,
            "Highest abandonment: %s, where %.1f%% of carts are not followed by a purchase; "
            "lowest: %s with %.1f%%.",
            labels[0], rates[0], cm_shown(cm_result_row(table, list[n - 1].row)[name_col].text),
            list[n - 1].rate);
    else
        say(line, sizeof line, "%s: %.1f%% of carts are not followed by a purchase.", labels[0],
            rates[0]);
    insight(out, line);
    cm_bar_chart chart = {.id = id,
                          .title = title,
                          .horizontal = 1,
                          .value_labels = 1,
                          .ncategories = shown,
                          .categories = labels,
                          .nseries = 1,
                          .series = {{"abandonment", rates, 0}},
                          .value_axis = "carts not purchased, % (1 - purchases / carts)",
                          .category_axis = what,
                          .kind = CM_NUM_PERCENT};
    if (shown < n)
        say(line, sizeof line, "The %zu highest of %s groups with at least %s cart%s.", shown,
            count_text((int64_t)n, b, sizeof b), count_text(in->car_min_carts, a, sizeof a),
            in->car_min_carts == 1 ? "" : "s");
    else
        say(line, sizeof line, "Groups with at least %s cart%s.",
            count_text(in->car_min_carts, a, sizeof a), in->car_min_carts == 1 ? "" : "s");
    bar_figure(out, &chart, line);
    free(labels);
    free(rates);
    free(list);
}

static void abandonment_section(cm_buffer *out, const cm_report_input *in)
{
    char title[LINE];
    section(out, "abandonment", "Cart abandonment");
    abandonment_chart(out, in, CM_T_CATEGORIES, 0, NULL, "chart-abandonment-categories",
                      "Cart abandonment by category", "category");
    snprintf(title, sizeof title, "Cart abandonment by brand in %s", in->car_category);
    abandonment_chart(out, in, CM_T_CATEGORY_BRANDS, 1, in->car_category,
                      "chart-abandonment-brands", title, "brand");
    cm_buffer_text(out, "</section>\n");
}

/* The weekday (0 = Monday) of a "YYYY-MM-DD" date, or -1. */
static int weekday_of(const char *date)
{
    char text[32];
    int64_t seconds;
    snprintf(text, sizeof text, "%.10s 00:00:00 UTC", date);
    return cm_time_parse(text, strlen(text), &seconds) == 0 ? cm_time_weekday(seconds) : -1;
}

static void days_section(cm_buffer *out, const cm_report_input *in)
{
    static const char *const weekdays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                           "Friday", "Saturday", "Sunday"};
    const cm_result *days = &in->results->tables[CM_T_DAYS];
    size_t n = days->nrows;
    const char **labels = cm_xcalloc(n + 1, sizeof *labels);
    double *purchases = cm_xcalloc(n + 1, sizeof *purchases);
    double *revenue = cm_xcalloc(n + 1, sizeof *revenue);
    size_t best = 0;
    double weekend = 0, weekday = 0;
    int weekends = 0, weekdays_n = 0;
    for (size_t r = 0; r < n; r++) {
        const cm_cell *row = cm_result_row(days, r);
        labels[r] = row[0].text;
        purchases[r] = (double)row[3].num;
        revenue[r] = (double)row[4].num / 100.0;
        if (row[3].num > cm_result_row(days, best)[3].num)
            best = r;
        int wday = weekday_of(row[0].text);
        if (wday >= 5)
            weekend += purchases[r], weekends++;
        else if (wday >= 0)
            weekday += purchases[r], weekdays_n++;
    }
    section(out, "days", "Purchases per day");
    char line[LINE], a[32], b[32];
    if (n == 0 || cm_result_row(days, best)[3].num == 0) {
        insight(out, n == 0 ? "No events." : "There are no purchases.");
    } else {
        const cm_cell *row = cm_result_row(days, best);
        int wday = weekday_of(row[0].text);
        const char *name = wday >= 0 ? weekdays[wday] : "";
        say(line, sizeof line, "The busiest day was %s, %s, with %s purchases (%s).", name,
            row[0].text, count_text(row[3].num, a, sizeof a), money_text(row[4].num, b, sizeof b));
        if (weekends && weekdays_n) {
            size_t at = strlen(line);
            say(line + at, sizeof line - at, " A weekend day averaged %s purchases, a weekday %s.",
                count_text((int64_t)llround(weekend / weekends), a, sizeof a),
                count_text((int64_t)llround(weekday / weekdays_n), b, sizeof b));
        }
        insight(out, line);
    }
    cm_bar_chart chart = {.id = "chart-days",
                          .title = "Purchases and revenue per day",
                          .ncategories = n,
                          .categories = labels,
                          .nseries = 2,
                          .series = {{"purchases", purchases, 0}, {"revenue", revenue, 1}},
                          .value_axis = "purchases",
                          .category_axis = "date (UTC)",
                          .line_axis = "revenue",
                          .kind = CM_NUM_COUNT,
                          .line_kind = CM_NUM_MONEY};
    if (n)
        bar_figure(out, &chart, "Bars: purchases (left axis); line: revenue (right axis).");
    cm_buffer_text(out, "</section>\n");
    free(labels);
    free(purchases);
    free(revenue);
}

static void hours_section(cm_buffer *out, const cm_report_input *in)
{
    const cm_result *hours = &in->results->tables[CM_T_HOURS];
    size_t n = hours->nrows;
    char(*labels_text)[8] = cm_xcalloc(n + 1, sizeof *labels_text);
    const char **labels = cm_xcalloc(n + 1, sizeof *labels);
    double *series[4];
    for (int s = 0; s < 4; s++)
        series[s] = cm_xcalloc(n + 1, sizeof **series);
    size_t peak = 0, half = 0;
    int64_t total_users = n ? cm_result_row(hours, n - 1)[6].num : 0;
    int half_found = 0;
    for (size_t r = 0; r < n; r++) {
        const cm_cell *row = cm_result_row(hours, r);
        snprintf(labels_text[r], sizeof labels_text[r], "%02d", (int)row[0].num);
        labels[r] = labels_text[r];
        series[0][r] = (double)row[1].num;
        series[1][r] = (double)row[2].num;
        series[2][r] = (double)row[3].num;
        series[3][r] = (double)row[6].num;
        if (row[1].num + row[2].num + row[3].num > cm_result_row(hours, peak)[1].num +
                                                       cm_result_row(hours, peak)[2].num +
                                                       cm_result_row(hours, peak)[3].num)
            peak = r;
        if (!half_found && 2 * row[6].num >= total_users) {
            half = r;
            half_found = 1;
        }
    }
    section(out, "hours", "Traffic per hour of day");
    char line[LINE], a[32];
    const cm_cell *busiest = n ? cm_result_row(hours, peak) : NULL;
    if (!busiest || busiest[1].num + busiest[2].num + busiest[3].num == 0) {
        insight(out, "There are no views, carts or purchases.");
    } else {
        const cm_cell *row = busiest;
        say(line, sizeof line,
            "Traffic peaks at %02d:00-%02d:59 UTC with %s events; half of all users had shown "
            "up by the end of hour %02d.",
            (int)row[0].num, (int)row[0].num,
            count_text(row[1].num + row[2].num + row[3].num, a, sizeof a),
            (int)cm_result_row(hours, half)[0].num);
        insight(out, line);
    }
    cm_bar_chart chart = {.id = "chart-hours",
                          .title = "Events per hour of day by type, and users so far",
                          .stacked = 1,
                          .ncategories = n,
                          .categories = labels,
                          .nseries = 4,
                          .series = {{"views", series[0], 0},
                                     {"carts", series[1], 0},
                                     {"purchases", series[2], 0},
                                     {"users so far", series[3], 1}},
                          .value_axis = "events",
                          .category_axis = "hour of day (UTC)",
                          .line_axis = "distinct users so far",
                          .kind = CM_NUM_COUNT,
                          .line_kind = CM_NUM_COUNT};
    if (n)
        bar_figure(out, &chart,
                   "Stacked bars: events by type (left axis); line: distinct users seen up to "
                   "the end of each hour, over all days (right axis).");
    cm_buffer_text(out, "</section>\n");
    for (int s = 0; s < 4; s++)
        free(series[s]);
    free(labels);
    free(labels_text);
}

static void metric_row(cm_buffer *out, const char *name, double test, double base, double train)
{
    cm_buffer_printf(out, "<tr><td>%s</td><td>%.4f</td><td>%.4f</td><td>%.4f</td></tr>\n", name,
                     test, base, train);
}

static void model_section(cm_buffer *out, const cm_report_input *in)
{
    const cm_model *model = in->model;
    const cm_metrics *t = &model->test, *r = &model->train;
    char line[LINE], a[32], b[32];
    section(out, "model", "Will they buy? The purchase model");
    if (t->positives == 0 || t->positives == t->samples)
        say(line, sizeof line,
            "The test set's %s carts were %s bought: with one class only, ROC AUC, precision "
            "and recall say little about the model.",
            count_text(t->samples, a, sizeof a), t->positives ? "all" : "none");
    else
        say(line, sizeof line,
            "On %s test carts (%.1f%% bought), the forest ranks a bought cart above one that "
            "was not with probability %.3f (ROC AUC; 0.5 is chance). At the threshold %.2f it "
            "finds %.1f%% of the purchases, and %.1f%% of the carts it flags are bought (F1 "
            "%.3f; the majority-class baseline has F1 %.3f).",
            count_text(t->samples, a, sizeof a), cm_percent(t->positives, t->samples), t->roc_auc,
            t->threshold, 100 * t->recall, 100 * t->precision, t->f1, t->base_f1);
    insight(out, line);
    if (model->test_fraction >= 0)
        say(line, sizeof line, "test set: sessions hashing below %g", model->test_fraction);
    else
        say(line, sizeof line, "test set: the last %d day%s of the data", model->test_days,
            model->test_days == 1 ? "" : "s");
    say(line + strlen(line), sizeof line - strlen(line),
        "; %d trees of depth at most %d, trained on %s samples on %d rank%s (%s).",
        model->forest.ntrees, model->params.max_depth, count_text(r->samples, b, sizeof b),
        model->ranks, model->ranks == 1 ? "" : "s", in->model_path ? in->model_path : "model");
    element(out, "p", "class=\"note\"", line);

    cm_xy_chart roc = {
        .id = "chart-roc",
        .title = "ROC curve on the test set",
        .x_axis = "false positive rate",
        .y_axis = "true positive rate",
        .x_max = 1,
        .y_max = 1,
        .nseries = 1,
        .series = {{"forest", model->roc.x, model->roc.y, (size_t)model->roc.count, 0, NULL}},
        .diagonal = 1,
        .x_kind = CM_NUM_RATIO,
        .y_kind = CM_NUM_RATIO};
    cm_xy_chart pr = {
        .id = "chart-pr",
        .title = "Precision-recall curve on the test set",
        .x_axis = "recall",
        .y_axis = "precision",
        .x_max = 1,
        .y_max = 1,
        .nseries = 1,
        .series = {{"forest", model->pr.x, model->pr.y, (size_t)model->pr.count, 0, NULL}},
        .level = t->samples ? (double)t->positives / (double)t->samples : 0,
        .level_name = "share bought",
        .x_kind = CM_NUM_RATIO,
        .y_kind = CM_NUM_RATIO};
    cm_buffer_text(out, "<div class=\"pair\">\n<figure>\n");
    element(out, "h3", NULL, "ROC curve");
    cm_svg_xy(out, &roc);
    say(line, sizeof line, "ROC AUC %.4f; the dashed diagonal is chance.", t->roc_auc);
    element(out, "figcaption", NULL, line);
    cm_buffer_text(out, "</figure>\n<figure>\n");
    element(out, "h3", NULL, "Precision and recall");
    cm_svg_xy(out, &pr);
    say(line, sizeof line, "PR AUC (average precision) %.4f; the dashed line is the share bought.",
        t->pr_auc);
    element(out, "figcaption", NULL, line);
    cm_buffer_text(out, "</figure>\n</div>\n<div class=\"pair\">\n<figure>\n");
    element(out, "h3", NULL, "Confusion matrix");
    const char *const rows[2] = {"bought", "not bought"};
    const char *const cols[2] = {"predicted buy", "predicted not"};
    int64_t cells[4] = {t->tp, t->fn, t->fp, t->tn};
    say(line, sizeof line, "Test carts at the threshold %.2f", t->threshold);
    cm_svg_matrix(out, "chart-confusion", line, rows, cols, "what happened", "what the model said",
                  cells);
    cm_buffer_text(out, "</figure>\n<figure>\n");
    element(out, "h3", NULL, "Metrics");
    cm_buffer_text(out, "<table id=\"metrics\"><thead><tr><th>metric</th><th>test</th>"
                        "<th>baseline</th><th>train</th></tr></thead><tbody>\n");
    metric_row(out, "accuracy", t->accuracy, t->base_accuracy, r->accuracy);
    metric_row(out, "balanced accuracy", t->balanced_accuracy, t->base_balanced_accuracy,
               r->balanced_accuracy);
    metric_row(out, "precision", t->precision, t->base_precision, r->precision);
    metric_row(out, "recall", t->recall, t->base_recall, r->recall);
    metric_row(out, "F1", t->f1, t->base_f1, r->f1);
    metric_row(out, "ROC AUC", t->roc_auc, t->base_roc_auc, r->roc_auc);
    metric_row(out, "PR AUC", t->pr_auc, t->base_pr_auc, r->pr_auc);
    metric_row(out, "log loss", t->log_loss, t->base_log_loss, r->log_loss);
    cm_buffer_text(out, "</tbody></table>\n<p class=\"note\">Baseline: the training set's majority "
                        "class for every cart.</p>\n</figure>\n</div>\n");

    double importance[CM_NFEATURES], values[CM_NFEATURES];
    int order[CM_NFEATURES];
    const char *labels[CM_NFEATURES];
    cm_importance_order(model, importance, order);
    for (int i = 0; i < CM_NFEATURES; i++) {
        labels[i] = cm_feature_defs[order[i]].name;
        values[i] = importance[order[i]];
    }
    if (values[0] > 0)
        say(line, sizeof line,
            "The most telling feature is %s (%s): %.0f%% of the forest's decrease in "
            "impurity.",
            labels[0], cm_feature_defs[order[0]].description, 100 * values[0]);
    else
        say(line, sizeof line, "The trees made no split: every tree is one leaf.");
    element(out, "h3", NULL, "Feature importance");
    insight(out, line);
    cm_bar_chart chart = {.id = "chart-importance",
                          .title = "Feature importance (mean decrease in gini impurity)",
                          .horizontal = 1,
                          .value_labels = 1,
                          .ncategories = CM_NFEATURES,
                          .categories = labels,
                          .nseries = 1,
                          .series = {{"importance", values, 0}},
                          .value_axis = "share of the decrease in gini impurity",
                          .category_axis = "feature",
                          .kind = CM_NUM_RATIO};
    bar_figure(out, &chart, "Features are known at the first cart of a product in a session.");
    cm_buffer_text(out, "</section>\n");
}

static void footer(cm_buffer *out, const cm_report_input *in)
{
    const cm_results *results = in->results;
    char a[32];
    cm_buffer_text(out, "<footer><p>Made by clickmill ");
    cm_xml_text(out, in->version ? in->version : "");
    cm_buffer_printf(out, " from an analysis run on %d rank%s in %.2f s", results->ranks,
                     results->ranks == 1 ? "" : "s", results->run_seconds);
    if (in->created) {
        cm_buffer_text(out, " on ");
        cm_xml_text(out, in->created);
    }
    cm_buffer_text(out, ". Times are UTC. Inputs:</p><ul>\n");
    for (int f = 0; f < results->nfiles; f++) {
        cm_buffer_text(out, "<li>");
        cm_xml_text(out, results->files[f]);
        cm_buffer_printf(out, " (%s bytes)</li>\n",
                         count_text(results->file_bytes ? results->file_bytes[f] : 0, a, sizeof a));
    }
    cm_buffer_text(out, "</ul></footer>\n");
}

void cm_report_html(cm_buffer *out, const cm_report_input *in)
{
    cm_buffer_text(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
                        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>"
                        "\n<meta name=\"generator\" content=\"clickmill\"/>\n"
                        "<title>Clickstream report</title>\n<style>\n");
    cm_buffer_text(out, style);
    cm_buffer_text(out, "</style>\n</head>\n<body>\n<main>\n");
    header(out, in);
    funnel_section(out, in);
    categories_section(out, in);
    within_section(out, in, CM_T_CATEGORY_BRANDS, "brands", "Top brands in the top categories",
                   "brand");
    within_section(out, in, CM_T_CATEGORY_PRODUCTS, "products",
                   "Top products in the top categories", "product");
    carts_section(out, in);
    abandonment_section(out, in);
    days_section(out, in);
    hours_section(out, in);
    if (in->model)
        model_section(out, in);
    footer(out, in);
    cm_buffer_text(out, "</main>\n</body>\n</html>\n");
}

int cm_report_write(const char *path, const cm_report_input *in, char *err, size_t err_size)
{
    cm_buffer page = {0};
    char temporary[4200];
    cm_report_html(&page, in);
    FILE *out = cm_output_open(path, temporary, sizeof temporary, err, err_size);
    if (!out) {
        cm_buffer_free(&page);
        return CM_EIO;
    }
    fwrite(page.data, 1, page.len, out); /* an error stays in ferror(out) */
    cm_buffer_free(&page);
    return cm_output_commit(out, temporary, path, err, err_size);
}
