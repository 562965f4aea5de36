/* Charts as inline SVG for the HTML report: bars (with an optional line), XY curves and points,
 * and a 2 x 2 matrix. They size themselves by viewBox, take their colours from CSS variables
 * (--s0 .. --s3, --text, --muted, --grid) and carry every number drawn as a data-value
 * attribute, with a <title> that a pointer shows. */
#ifndef CLICKMILL_SVG_H
#define CLICKMILL_SVG_H

#include <stddef.h>
#include <stdint.h>

#include "clickmill/table.h"

/* How a number is written: 12,345 / 12,345.67 / 12.3% / 0.123. Axis ticks use a short form
 * (12k, 1.5M). */
typedef enum { CM_NUM_COUNT, CM_NUM_MONEY, CM_NUM_PERCENT, CM_NUM_RATIO } cm_number_kind;

/* Writes value as kind into out; compact gives the axis form. Local. */
void cm_format_number(double value, cm_number_kind kind, int compact, char *out, size_t size);

/* Appends text escaped for XML and HTML (&, <, >, " and '); control bytes become spaces. */
void cm_xml_text(cm_buffer *out, const char *text);

#define CM_CHART_SERIES 4

typedef struct {
    const char *name;     /* in the legend and the titles */
    const double *values; /* one per category */
    int line;             /* drawn as a line with points on the right-hand axis */
} cm_bar_series;

typedef struct {
    const char *id;    /* the svg element's id */
    const char *title; /* what the chart shows, for screen readers */
    int horizontal;    /* categories top to bottom, bars left to right */
    int stacked;       /* bar series stacked; otherwise side by side */
    int value_labels;  /* the value written at the end of each bar (horizontal charts) */
    int last_is_other; /* the last category adds up the rest: drawn in a muted colour */
    double width;      /* of the drawing, in CSS pixels at full size (0: 720) */
    size_t ncategories;
    const char *const *categories;
    int nseries;
    cm_bar_series series[CM_CHART_SERIES];
    const char *value_axis, *category_axis, *line_axis; /* axis titles (NULL: none) */
    cm_number_kind kind, line_kind;
} cm_bar_chart;

/* A bar chart; bars are <rect class="bar sN" data-label data-series data-value>, line points
 * <circle class="point sN" ...>. Local. */
void cm_svg_bars(cm_buffer *out, const cm_bar_chart *chart);

typedef struct {
    const char *name;
    const double *x, *y;
    size_t n;
    int points;                /* points (a scatter); otherwise a line through them */
    const char *const *labels; /* a name per point for its title, or NULL */
} cm_xy_series;

typedef struct {
    const char *id, *title;
    const char *x_axis, *y_axis;
    double x_max, y_max; /* the axes run from 0; a maximum <= 0 comes from the data */
    int nseries;
    cm_xy_series series[CM_CHART_SERIES];
    int diagonal; /* a dashed y = x line */
    double level; /* a dashed horizontal line at this y when > 0 */
    const char *level_name;
    cm_number_kind x_kind, y_kind;
} cm_xy_chart;

/* An XY chart; points outside the axes are left out (a zoomed view). Points are
 * <circle class="point sN" data-label data-x data-y>, lines <polyline class="line sN">.
 * Local. */
void cm_svg_xy(cm_buffer *out, const cm_xy_chart *chart);

/* A 2 x 2 matrix of counts, cells shaded by their share of the total: cells[row * 2 + col].
 * Local. */
void cm_svg_matrix(cm_buffer *out, const char *id, const char *title, const char *const rows[2],
                   const char *const cols[2], const char *row_axis, const char *col_axis,
                   const int64_t cells[4]);

#endif
