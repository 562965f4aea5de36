/* Charts as inline SVG: bars with an optional line, XY curves and points, a 2 x 2 matrix. */
#include "clickmill/svg.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/summary.h"

#define CHAR_WIDTH 7.0 /* an estimate of one character of the 12px labels */
#define FIT_WIDTH  7.8 /* the same, on the safe side, for cutting labels to their room */
#define LEGEND     22.0

void cm_format_number(double value, cm_number_kind kind, int compact, char *out, size_t size)
{
    if (!isfinite(value)) {
        snprintf(out, size, "-");
        return;
    }
    if (kind == CM_NUM_PERCENT) {
        snprintf(out, size, compact ? "%.0f%%" : "%.1f%%", value);
        return;
    }
    if (kind == CM_NUM_RATIO) {
        snprintf(out, size, compact ? "%.2g" : "%.3f", value);
        return;
    }
    double magnitude = fabs(value);
    if (compact && magnitude >= 1000) {
        static const char suffix[] = "kMBT";
        int power = 0;
        while (magnitude >= 1000 && power < 4) {
            magnitude /= 1000;
            value /= 1000;
            power++;
        }
        snprintf(out, size, "%.*f%c", magnitude < 10 && magnitude != floor(magnitude) ? 1 : 0,
                 value, suffix[power - 1]);
        return;
    }
    if (compact && value != floor(value)) { /* a tick such as 2.5 */
        snprintf(out, size, "%.1f", value);
        return;
    }
    if (kind == CM_NUM_MONEY && !compact)
        cm_format_money((int64_t)llround(value * 100.0), out, size);
    else
        cm_format_count((int64_t)llround(value), out, size);
}

/* The length of the valid UTF-8 character at c that XML allows (1 to 4), or 0: a malformed,
 * overlong or surrogate sequence, a code point above U+10FFFF, or U+FFFE / U+FFFF. */
static int xml_char_length(const unsigned char *c)
{
    if (c[0] < 0x80)
        return 1;
    int n = c[0] < 0xc2 ? 0 : c[0] < 0xe0 ? 2 : c[0] < 0xf0 ? 3 : c[0] <= 0xf4 ? 4 : 0;
    if (n == 0)
        return 0;
    uint32_t code = c[0] & (0x7f >> n);
    for (int i = 1; i < n; i++) {
        if ((c[i] & 0xc0) != 0x80)
            return 0;
        code = code << 6 | (c[i] & 0x3f);
    }
    if ((n == 3 && code < 0x800) || (n == 4 && (code < 0x10000 || code > 0x10ffff)) ||
        (code >= 0xd800 && code <= 0xdfff) || code == 0xfffe || code == 0xffff)
        return 0;
    return n;
}

void cm_xml_text(cm_buffer *out, const char *text)
{
    for (const char *c = text; *c;) {
        int n = xml_char_length((const unsigned char *)c);
        switch (n ? *c : 0) {
        case 0: cm_buffer_text(out, "\xef\xbf\xbd"); break; /* U+FFFD for what is not text */
        case '&': cm_buffer_text(out, "&amp;"); break;
        case '<': cm_buffer_text(out, "&lt;"); break;
        case '>': cm_buffer_text(out, "&gt;"); break;
        case '"': cm_buffer_text(out, "&quot;"); break;
        case '\'': cm_buffer_text(out, "&#39;"); break;
        default:
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                cm_buffer_text(out, " ");
            else
                cm_buffer_append(out, c, (size_t)n);
        }
        c += n ? n : 1;
    }
}

/* A label cut to at most `chars` characters (whole UTF-8 characters), with an ellipsis. */
static void fitted(cm_buffer *out, const char *text, int chars)
{
    int count = 0;
    const char *c = text;
    for (; *c; c++) {
        if (((unsigned char)*c & 0xc0) != 0x80 && ++count > chars)
            break;
    }
    if (!*c) {
        cm_xml_text(out, text);
        return;
    }
    /* leave room for the ellipsis: back up one character */
    const char *end = c;
    do
        end--;
    while (end > text && ((unsigned char)*end & 0xc0) == 0x80);
    char *copy = strndup(text, (size_t)(end - text));
    cm_xml_text(out, copy);
    cm_buffer_text(out, "\xe2\x80\xa6");
    free(copy);
}

static int text_chars(const char *text)
{
    int count = 0;
    for (const char *c = text; *c; c++)
        count += ((unsigned char)*c & 0xc0) != 0x80;
    return count;
}

/* Round ticks from 0 to at least max: *step apart, the last at the returned top. */
static double nice_axis(double max, int ticks, int whole, double *step)
{
    if (!(max > 0))
        max = 1;
    double raw = max / ticks, magnitude = pow(10, floor(log10(raw))), norm = raw / magnitude;
    /* 2.5 makes ticks like 7.5 that a whole-number axis cannot write */
    double factor = norm <= 1                                   ? 1
                    : norm <= 2                                 ? 2
                    : norm <= 2.5 && !(whole && magnitude < 10) ? 2.5
                    : norm <= 5                                 ? 5
                                                                : 10;
    *step = factor * magnitude;
    if (whole && *step < 1)
        *step = 1;
    return ceil(max / *step - 1e-9) * *step;
}

/* A bar's length on an axis of `length` pixels up to top; a value above zero gets at least one
 * pixel, so that it shows. */
static double bar_length(double value, double top, double length)
{
    return value > 0 ? fmax(length * value / top, 1.0) : 0.0;
}

static void open_svg(cm_buffer *out, const char *id, const char *title, double width, double height)
{
    cm_buffer_printf(out,
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"%s\" "
                     "viewBox=\"0 0 %.0f %.0f\" style=\"max-width:%.0fpx\" role=\"img\" "
                     "aria-labelledby=\"%s-title\"><title id=\"%s-title\">",
                     id, width, height, width, id, id);
    cm_xml_text(out, title);
    cm_buffer_text(out, "</title>\n");
}

static void legend(cm_buffer *out, double x, double y, int n, const char *const *names,
                   const int *lines)
{
    for (int s = 0; s < n; s++) {
        if (lines && lines[s])
            cm_buffer_printf(out,
                             "<line class=\"line s%d\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                             "y2=\"%.1f\"/>",
                             s, x, y + 5, x + 14, y + 5);
        else
            cm_buffer_printf(out,
                             "<rect class=\"swatch s%d\" x=\"%.1f\" y=\"%.1f\" width=\"10\" "
                             "height=\"10\"/>",
                             s, x + 2, y);
        cm_buffer_printf(out, "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\">", x + 18, y + 9);
        cm_xml_text(out, names[s]);
        cm_buffer_text(out, "</text>\n");
        x += 30 + CHAR_WIDTH * text_chars(names[s]);
    }
}

static void axis_title(cm_buffer *out, const char *title, double x, double y, int vertical)
{
    if (!title)
        return;
    if (vertical)
        cm_buffer_printf(out,
                         "<text class=\"axis-title\" text-anchor=\"middle\" "
                         "transform=\"translate(%.1f %.1f) rotate(-90)\">",
                         x, y);
    else
        cm_buffer_printf(out,
                         "<text class=\"axis-title\" text-anchor=\"middle\" x=\"%.1f\" "
                         "y=\"%.1f\">",
                         x, y);
    cm_xml_text(out, title);
    cm_buffer_text(out, "</text>\n");
}

/* The raw value in a data-value attribute: whole numbers without decimals, money with two. */
static void data_value(cm_buffer *out, const char *name, double value, cm_number_kind kind)
{
    if (kind == CM_NUM_COUNT)
        cm_buffer_printf(out, " %s=\"%.0f\"", name, value);
    else if (kind == CM_NUM_MONEY)
        cm_buffer_printf(out, " %s=\"%.2f\"", name, value);
    else
        cm_buffer_printf(out, " %s=\"%.6g\"", name, value);
}

static void mark_title(cm_buffer *out, const char *label, const char *series, double value,
                       cm_number_kind kind)
{
    char text[64];
    cm_format_number(value, kind, 0, text, sizeof text);
    cm_buffer_text(out, "<title>");
    cm_xml_text(out, label);
    if (series) {
        cm_buffer_text(out, ", ");
        cm_xml_text(out, series);
    }
    cm_buffer_printf(out, ": %s</title>", text);
}

/* Grid lines and round tick labels from 0 to top along one axis of the plot area at (left,
 * plot_top), plot_w by plot_h: the horizontal axis (labels below) or the vertical one (labels
 * on the left). */
static void axis_ticks(cm_buffer *out, int vertical, double top, double step, cm_number_kind kind,
                       double left, double plot_top, double plot_w, double plot_h)
{
    char text[64];
    for (double t = 0; t <= top + step / 2; t += step) {
        cm_format_number(t, kind, 1, text, sizeof text);
        if (vertical) {
            double y = plot_top + plot_h - plot_h * t / top;
            cm_buffer_printf(out,
                             "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                             "y2=\"%.1f\"/><text class=\"tick\" text-anchor=\"end\" "
                             "x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                             left, y, left + plot_w, y, left - 6, y + 4, text);
        } else {
            double x = left + plot_w * t / top;
            cm_buffer_printf(out,
                             "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                             "y2=\"%.1f\"/><text class=\"tick\" text-anchor=\"middle\" "
                             "x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                             x, plot_top, x, plot_top + plot_h, x, plot_top + plot_h + 14, text);
        }
    }
}

/* One bar: series s, category c, at (x, y), w by h; the last category's bars are muted when
 * it is "other". */
static void bar_rect(cm_buffer *out, const cm_bar_chart *chart, int s, size_t c, double x, double y,
                     double w, double h)
{
    double v = chart->series[s].values[c];
    int other = chart->last_is_other && c + 1 == chart->ncategories;
    cm_buffer_printf(out,
                     "<rect class=\"bar s%d%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                     "height=\"%.1f\" data-label=\"",
                     s, other ? " other" : "", x, y, w, h);
    cm_xml_text(out, chart->categories[c]);
    cm_buffer_text(out, "\" data-series=\"");
    cm_xml_text(out, chart->series[s].name);
    cm_buffer_text(out, "\"");
    data_value(out, "data-value", v, chart->kind);
    cm_buffer_text(out, ">");
    mark_title(out, chart->categories[c], chart->nseries > 1 ? chart->series[s].name : NULL, v,
               chart->kind);
    cm_buffer_text(out, "</rect>\n");
}

void cm_svg_bars(cm_buffer *out, const cm_bar_chart *chart)
{
    size_t n = chart->ncategories;
    int bars = 0, line = -1;
    const char *names[CM_CHART_SERIES];
    int lines[CM_CHART_SERIES];
    for (int s = 0; s < chart->nseries; s++) {
        names[s] = chart->series[s].name;
        lines[s] = chart->series[s].line;
        if (chart->series[s].line)
            line = s;
        else
            bars++;
    }
    /* the largest bar (or stack) and line value */
    double most = 0, line_most = 0;
    for (size_t c = 0; c < n; c++) {
        double stack = 0;
        for (int s = 0; s < chart->nseries; s++) {
            double v = chart->series[s].values[c];
            if (chart->series[s].line)
                line_most = v > line_most ? v : line_most;
            else if (chart->stacked)
                stack += v > 0 ? v : 0;
            else
                most = v > most ? v : most;
        }
        most = stack > most ? stack : most;
    }
    double step,
        top = nice_axis(most, chart->horizontal ? 4 : 5, chart->kind == CM_NUM_COUNT, &step);
    double line_step = 1, line_top = line >= 0 ? nice_axis(line_most, 5, 1, &line_step) : 1;
    double legend_h = chart->nseries > 1 ? LEGEND : 0;
    int longest = 1;
    for (size_t c = 0; c < n; c++)
        longest =
            text_chars(chart->categories[c]) > longest ? text_chars(chart->categories[c]) : longest;
    char text[64];

    if (chart->horizontal) {
        double slot = chart->stacked || bars <= 1 ? 24 : 8 + 11.0 * bars;
        double left = fmin(fmax(CHAR_WIDTH * longest + 14, 60), 230);
        double right = chart->value_labels ? 100 : 24,
               width = chart->width > 0 ? chart->width : 720;
        if (width < 2 * (left + right))
            left = fmax(width / 2 - right, 60);
        double plot_top = 6 + legend_h, plot_h = slot * (double)(n ? n : 1);
        double plot_w = width - left - right, height = plot_top + plot_h + 44;
        int fit = (int)((left - 14) / FIT_WIDTH);
        open_svg(out, chart->id, chart->title, width, height);
        if (legend_h)
            legend(out, left, 4, chart->nseries, names, NULL);
        axis_ticks(out, 0, top, step, chart->kind, left, plot_top, plot_w, plot_h);
        axis_title(out, chart->value_axis, left + plot_w / 2, height - 6, 0);
        for (size_t c = 0; c < n; c++) {
            double y = plot_top + slot * (double)c;
            cm_buffer_printf(out,
                             "<text class=\"label\" text-anchor=\"end\" x=\"%.1f\" "
                             "y=\"%.1f\">",
                             left - 6, y + slot / 2 + 4);
            fitted(out, chart->categories[c], fit);
            cm_buffer_text(out, "<title>");
            cm_xml_text(out, chart->categories[c]);
            cm_buffer_text(out, "</title></text>\n");
            double x = left, bar_h = chart->stacked || bars <= 1 ? slot - 6 : 10;
            int b = 0;
            for (int s = 0; s < chart->nseries; s++) {
                double v = chart->series[s].values[c], w = bar_length(v, top, plot_w);
                double by = chart->stacked || bars <= 1 ? y + 3 : y + 4 + 11.0 * b++;
                bar_rect(out, chart, s, c, x, by, w, bar_h);
                if (chart->value_labels && !chart->stacked) {
                    cm_format_number(v, chart->kind, 0, text, sizeof text);
                    cm_buffer_printf(out, "<text class=\"value\" x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                                     x + w + 4, by + bar_h / 2 + 4, text);
                }
                if (chart->stacked)
                    x += w;
            }
        }
        cm_buffer_printf(out,
                         "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                         "\n</svg>\n",
                         left, plot_top, left, plot_top + plot_h);
        return;
    }

    double width = chart->width > 0 ? chart->width : 720, left = 62, right = line >= 0 ? 62 : 16;
    double plot_top = 8 + legend_h, plot_h = 240, height = plot_top + plot_h + 58;
    double plot_w = width - left - right, slot = plot_w / (double)(n ? n : 1);
    size_t every = (size_t)ceil((CHAR_WIDTH * longest + 8) / slot);
    every = every ? every : 1;
    open_svg(out, chart->id, chart->title, width, height);
    if (legend_h)
        legend(out, left, 4, chart->nseries, names, lines);
    axis_ticks(out, 1, top, step, chart->kind, left, plot_top, plot_w, plot_h);
    if (line >= 0)
        for (double t = 0; t <= line_top + line_step / 2; t += line_step) {
            double y = plot_top + plot_h - plot_h * t / line_top;
            cm_format_number(t, chart->line_kind, 1, text, sizeof text);
            cm_buffer_printf(out, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                             left + plot_w + 6, y + 4, text);
        }
    axis_title(out, chart->value_axis, 14, plot_top + plot_h / 2, 1);
    if (line >= 0)
        axis_title(out, chart->line_axis, width - 6, plot_top + plot_h / 2, 1);
    axis_title(out, chart->category_axis, left + plot_w / 2, height - 6, 0);
    double bar_w = chart->stacked || bars <= 1 ? slot * 0.8 : slot * 0.8 / bars;
    for (size_t c = 0; c < n; c++) {
        double x0 = left + slot * (double)c + slot * 0.1, base = plot_top + plot_h;
        int b = 0;
        for (int s = 0; s < chart->nseries; s++) {
            if (chart->series[s].line)
                continue;
            double v = chart->series[s].values[c], h = bar_length(v, top, plot_h);
            double x = chart->stacked ? x0 : x0 + bar_w * b++;
            bar_rect(out, chart, s, c, x, base - h, bar_w, h);
            if (chart->stacked)
                base -= h;
        }
        if (c % every == 0) {
            cm_buffer_printf(out,
                             "<text class=\"label\" text-anchor=\"middle\" x=\"%.1f\" "
                             "y=\"%.1f\">",
                             left + slot * ((double)c + 0.5), plot_top + plot_h + 16);
            cm_xml_text(out, chart->categories[c]);
            cm_buffer_text(out, "</text>\n");
        }
    }
    if (line >= 0) {
        const cm_bar_series *series = &chart->series[line];
        cm_buffer_printf(out, "<polyline class=\"line s%d\" points=\"", line);
        for (size_t c = 0; c < n; c++)
            cm_buffer_printf(out, "%s%.1f,%.1f", c ? " " : "", left + slot * ((double)c + 0.5),
                             plot_top + plot_h - plot_h * series->values[c] / line_top);
        cm_buffer_text(out, "\"/>\n");
        for (size_t c = 0; c < n; c++) {
            cm_buffer_printf(out,
                             "<circle class=\"point s%d\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
                             "data-label=\"",
                             line, left + slot * ((double)c + 0.5),
                             plot_top + plot_h - plot_h * series->values[c] / line_top);
            cm_xml_text(out, chart->categories[c]);
            cm_buffer_text(out, "\" data-series=\"");
            cm_xml_text(out, series->name);
            cm_buffer_text(out, "\"");
            data_value(out, "data-value", series->values[c], chart->line_kind);
            cm_buffer_text(out, ">");
            mark_title(out, chart->categories[c], series->name, series->values[c],
                       chart->line_kind);
            cm_buffer_text(out, "</circle>\n");
        }
    }
    cm_buffer_printf(out,
                     "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n"
                     "</svg>\n",
                     left, plot_top + plot_h, left + plot_w, plot_top + plot_h);
}

/* The point order by decreasing y, for naming the largest points. */
static const cm_xy_series *sorting_series;
static int by_y_desc(const void *a, const void *b)
{
    double x = sorting_series->y[*(const size_t *)a], y = sorting_series->y[*(const size_t *)b];
    return x > y ? -1 : x < y;
}

void cm_svg_xy(cm_buffer *out, const cm_xy_chart *chart)
{
    double x_most = chart->x_max, y_most = chart->y_max;
    for (int s = 0; s < chart->nseries; s++)
        for (size_t i = 0; i < chart->series[s].n; i++) {
            if (chart->x_max <= 0 && chart->series[s].x[i] > x_most)
                x_most = chart->series[s].x[i];
            if (chart->y_max <= 0 && chart->series[s].y[i] > y_most)
                y_most = chart->series[s].y[i];
        }
    double x_step, y_step;
    double x_top = nice_axis(x_most, 5, chart->x_kind == CM_NUM_COUNT, &x_step);
    double y_top = nice_axis(y_most, 5, chart->y_kind == CM_NUM_COUNT, &y_step);
    if (chart->x_max > 0 && chart->x_max <= 1 && chart->x_kind == CM_NUM_RATIO)
        x_top = chart->x_max, x_step = x_top / 5;
    if (chart->y_max > 0 && chart->y_max <= 1 && chart->y_kind == CM_NUM_RATIO)
        y_top = chart->y_max, y_step = y_top / 5;
    const char *names[CM_CHART_SERIES];
    int lines[CM_CHART_SERIES];
    for (int s = 0; s < chart->nseries; s++) {
        names[s] = chart->series[s].name;
        lines[s] = !chart->series[s].points;
    }
    double legend_h = chart->nseries > 1 ? LEGEND : 0;
    double width = 480, left = 62, right = 18, plot_top = 10 + legend_h, plot_h = 300;
    double plot_w = width - left - right, height = plot_top + plot_h + 46;
    char text[64];
#define PX(v) (left + plot_w * (v) / x_top)
#define PY(v) (plot_top + plot_h - plot_h * (v) / y_top)
    open_svg(out, chart->id, chart->title, width, height);
    if (legend_h)
        legend(out, left, 4, chart->nseries, names, lines);
    axis_ticks(out, 0, x_top, x_step, chart->x_kind, left, plot_top, plot_w, plot_h);
    axis_ticks(out, 1, y_top, y_step, chart->y_kind, left, plot_top, plot_w, plot_h);
    axis_title(out, chart->x_axis, left + plot_w / 2, height - 6, 0);
    axis_title(out, chart->y_axis, 14, plot_top + plot_h / 2, 1);
    if (chart->diagonal) {
        double end = fmin(x_top, y_top);
        cm_buffer_printf(out,
                         "<line class=\"reference\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                         "y2=\"%.1f\"/>\n",
                         PX(0), PY(0), PX(end), PY(end));
    }
    if (chart->level > 0 && chart->level <= y_top) {
        cm_buffer_printf(out,
                         "<line class=\"reference\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                         "y2=\"%.1f\"/><text class=\"legend\" text-anchor=\"end\" x=\"%.1f\" "
                         "y=\"%.1f\">",
                         PX(0), PY(chart->level), PX(x_top), PY(chart->level), PX(x_top) - 4,
                         PY(chart->level) - 5);
        cm_xml_text(out, chart->level_name ? chart->level_name : "");
        cm_buffer_text(out, "</text>\n");
    }
    cm_buffer_printf(out,
                     "<g clip-path=\"url(#%s-clip)\"><clipPath id=\"%s-clip\"><rect x=\"%.1f\" "
                     "y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></clipPath>\n",
                     chart->id, chart->id, left - 4, plot_top - 4, plot_w + 8, plot_h + 8);
    for (int s = 0; s < chart->nseries; s++) {
        const cm_xy_series *series = &chart->series[s];
        if (!series->points) {
            cm_buffer_printf(out, "<polyline class=\"line s%d\" points=\"", s);
            for (size_t i = 0; i < series->n; i++)
                cm_buffer_printf(out, "%s%.1f,%.1f", i ? " " : "", PX(series->x[i]),
                                 PY(series->y[i]));
            cm_buffer_text(out, "\"/>\n");
            continue;
        }
        for (size_t i = 0; i < series->n; i++) {
            if (series->x[i] > x_top || series->y[i] > y_top)
                continue;
            cm_buffer_printf(out,
                             "<circle class=\"point s%d\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" "
                             "data-label=\"",
                             s, PX(series->x[i]), PY(series->y[i]));
            cm_xml_text(out, series->labels ? series->labels[i] : "");
            cm_buffer_text(out, "\"");
            data_value(out, "data-x", series->x[i], chart->x_kind);
            data_value(out, "data-y", series->y[i], chart->y_kind);
            cm_buffer_text(out, "><title>");
            cm_xml_text(out, series->labels ? series->labels[i] : series->name);
            cm_format_number(series->x[i], chart->x_kind, 0, text, sizeof text);
            cm_buffer_text(out, ": ");
            cm_xml_text(out, chart->x_axis ? chart->x_axis : "x");
            cm_buffer_printf(out, " %s, ", text);
            cm_format_number(series->y[i], chart->y_kind, 0, text, sizeof text);
            cm_xml_text(out, chart->y_axis ? chart->y_axis : "y");
            cm_buffer_printf(out, " %s</title></circle>\n", text);
        }
        if (series->labels) { /* name the five highest points shown */
            size_t *order = malloc((series->n ? series->n : 1) * sizeof *order);
            size_t named = 0;
            for (size_t i = 0; order && i < series->n; i++)
                order[i] = i;
            sorting_series = series;
            if (order)
                qsort(order, series->n, sizeof *order, by_y_desc);
            double placed[5][2];
            for (size_t k = 0; order && k < series->n && named < 5; k++) {
                size_t i = order[k];
                if (series->x[i] > x_top || series->y[i] > y_top)
                    continue;
                double x = PX(series->x[i]), y = PY(series->y[i]);
                int clash = 0; /* a name over another is unreadable: that point stays unnamed */
                for (size_t p = 0; p < named; p++)
                    clash |= fabs(placed[p][1] - y) < 13 && fabs(placed[p][0] - x) < 160;
                if (clash)
                    continue;
                placed[named][0] = x;
                placed[named][1] = y;
                named++;
                int right_side = x > left + plot_w * 0.6;
                cm_buffer_printf(out,
                                 "<text class=\"annotation\" text-anchor=\"%s\" x=\"%.1f\" "
                                 "y=\"%.1f\">",
                                 right_side ? "end" : "start", right_side ? x - 6 : x + 6,
                                 PY(series->y[i]) + 4);
                fitted(out, series->labels[i], 28);
                cm_buffer_text(out, "</text>\n");
            }
            free(order);
        }
    }
    cm_buffer_printf(out,
                     "</g><line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                     "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n"
                     "</svg>\n",
                     left, plot_top, left, plot_top + plot_h, left, plot_top + plot_h,
                     left + plot_w, plot_top + plot_h);
#undef PX
#undef PY
}

void cm_svg_matrix(cm_buffer *out, const char *id, const char *title, const char *const rows[2],
                   const char *const cols[2], const char *row_axis, const char *col_axis,
                   const int64_t cells[4])
{
    double total = (double)(cells[0] + cells[1] + cells[2] + cells[3]);
    double left = 130, top = 46, cell_w = 150, cell_h = 86, width = left + 2 * cell_w + 16;
    double height = top + 2 * cell_h + 16;
    char text[64];
    open_svg(out, id, title, width, height);
    axis_title(out, col_axis, left + cell_w, 14, 0);
    for (int c = 0; c < 2; c++) {
        cm_buffer_printf(out, "<text class=\"label\" text-anchor=\"middle\" x=\"%.1f\" y=\"%.1f\">",
                         left + cell_w * (c + 0.5), top - 10);
        cm_xml_text(out, cols[c]);
        cm_buffer_text(out, "</text>\n");
    }
    axis_title(out, row_axis, 14, top + cell_h, 1);
    for (int r = 0; r < 2; r++) {
        cm_buffer_printf(out, "<text class=\"label\" text-anchor=\"end\" x=\"%.1f\" y=\"%.1f\">",
                         left - 8, top + cell_h * (r + 0.5) + 4);
        cm_xml_text(out, rows[r]);
        cm_buffer_text(out, "</text>\n");
        for (int c = 0; c < 2; c++) {
            int64_t v = cells[r * 2 + c];
            double share = total > 0 ? (double)v / total : 0;
            cm_format_count(v, text, sizeof text);
            cm_buffer_printf(out,
                             "<rect class=\"cell %s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                             "height=\"%.1f\" fill-opacity=\"%.2f\" data-label=\"",
                             r == c ? "s0" : "s2", left + cell_w * c + 2, top + cell_h * r + 2,
                             cell_w - 4, cell_h - 4, 0.15 + 0.75 * share);
            cm_xml_text(out, rows[r]);
            cm_buffer_text(out, " / ");
            cm_xml_text(out, cols[c]);
            cm_buffer_printf(out, "\" data-value=\"%" PRId64 "\"/>", v);
            cm_buffer_printf(out,
                             "<text class=\"cell-value\" text-anchor=\"middle\" x=\"%.1f\" "
                             "y=\"%.1f\">%s</text><text class=\"tick\" text-anchor=\"middle\" "
                             "x=\"%.1f\" y=\"%.1f\">%.1f%%</text>\n",
                             left + cell_w * (c + 0.5), top + cell_h * (r + 0.5), text,
                             left + cell_w * (c + 0.5), top + cell_h * (r + 0.5) + 18, 100 * share);
        }
    }
    cm_buffer_text(out, "</svg>\n");
}
