/* The HTML report: one self-contained page with a chart, a sentence of insight and the numbers
 * for every analysis, and the model's curves and metrics when a model is given. */
#ifndef CLICKMILL_REPORT_H
#define CLICKMILL_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "clickmill/model.h"
#include "clickmill/result.h"
#include "clickmill/table.h"

typedef struct {
    const cm_results *results;
    const char *created;   /* when the analysis ran, "YYYY-MM-DD HH:MM:SS UTC" */
    const char *version;   /* the clickmill that ran it */
    const cm_model *model; /* NULL: no model section */
    const char *model_path;
    int top;                  /* categories, brands and products shown before "other" */
    int64_t car_min_carts;    /* cart abandonment: groups with at least this many carts */
    const char *car_category; /* cart abandonment by brand within this category */
} cm_report_input;

/* Appends the whole HTML document to out. Local. */
void cm_report_html(cm_buffer *out, const cm_report_input *in);

/* Writes the document to path (temporary name, then rename). Returns 0 or CM_EIO with the
 * reason in err. Local (rank 0). */
int cm_report_write(const char *path, const cm_report_input *in, char *err, size_t err_size);

#endif
