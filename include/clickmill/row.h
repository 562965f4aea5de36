/* Splitting one CSV line into an event with libcsv, and the reasons a row is rejected. */
#ifndef CLICKMILL_ROW_H
#define CLICKMILL_ROW_H

#include <csv.h>

#include "clickmill/event.h"

/* The columns every input file must name in its header (in any order). */
enum {
    CM_COL_EVENT_TIME,
    CM_COL_EVENT_TYPE,
    CM_COL_PRODUCT_ID,
    CM_COL_CATEGORY_ID,
    CM_COL_CATEGORY_CODE,
    CM_COL_BRAND,
    CM_COL_PRICE,
    CM_COL_USER_ID,
    CM_COL_USER_SESSION,
    CM_NCOLUMNS
};

/* Column names in header order of the original files. */
extern const char *const cm_column_names[CM_NCOLUMNS];

/* Limits: a longer field or line is rejected, never truncated. */
#define CM_FIELD_MAX       250
#define CM_LINE_MAX        (1 << 20)
#define CM_FIELDS_MAX      64
#define CM_PRICE_MAX_CENTS 100000000000LL /* one billion in the shop's currency */

/* Why a row was rejected. 0 is an accepted row. */
enum {
    CM_ROW_OK = 0,
    CM_REJECT_FIELD_COUNT, /* not as many fields as the header */
    CM_REJECT_QUOTING,     /* unterminated or misplaced quote */
    CM_REJECT_LONG_FIELD,  /* a field over CM_FIELD_MAX bytes */
    CM_REJECT_LONG_LINE,   /* a line over CM_LINE_MAX bytes */
    CM_REJECT_NUL,         /* a NUL byte in the line */
    CM_REJECT_EMPTY_LINE,  /* a line with nothing on it */
    CM_REJECT_TIME,        /* event_time not "YYYY-MM-DD HH:MM:SS UTC" */
    CM_REJECT_EVENT_TYPE,  /* event_type empty or not a lowercase word */
    CM_REJECT_ID,          /* product_id, category_id or user_id not a non-negative integer */
    CM_REJECT_PRICE,       /* price not a non-negative number with at most 2 decimals */
    CM_NREASONS
};

/* A short name for a reject reason ("field_count", "bad_time", ...). Local. */
const char *cm_reject_name(int reason);

/* A sentence describing a reject reason. Local. */
const char *cm_reject_text(int reason);

/* Where each expected column sits in a file's rows. */
typedef struct {
    int index[CM_NCOLUMNS]; /* field index of each CM_COL_* */
    int nfields;            /* fields per row, as in the header */
} cm_layout;

/* Reads a header line (without its line end) and maps the expected columns by name. Extra
 * columns are allowed and ignored. On failure returns CM_EINPUT and writes the reason into err.
 * Local. */
int cm_layout_parse(cm_layout *layout, const char *line, size_t len, char *err, size_t err_size);

/* A reusable row parser. Parsed events point into the line or into the parser's storage, valid
 * until the next line. */
typedef struct {
    struct csv_parser csv;
    const char *field[CM_FIELDS_MAX]; /* each field: into the line itself for a line without
                                         quotes, else into storage (libcsv unquotes) */
    size_t field_len[CM_FIELDS_MAX];
    char storage[CM_FIELDS_MAX][CM_FIELD_MAX + 1];
    int nfields;
    int too_long;    /* a field was over CM_FIELD_MAX */
    int libcsv_only; /* 1: no fast path for lines without quotes (for the tests that compare
                        the two) */
} cm_row_parser;

/* Sets up a parser; free it with cm_row_parser_free. Returns 0 or CM_ENOMEM. Local. */
int cm_row_parser_init(cm_row_parser *parser);
void cm_row_parser_free(cm_row_parser *parser);

/* Splits one line (its line end already removed) into fields. Returns the field count, or
 * -CM_REJECT_* for a line that cannot be split. Local. */
int cm_row_split(cm_row_parser *parser, const char *line, size_t len);

/* Parses one line into an event laid out as `layout` says. Returns CM_ROW_OK or the reason the
 * row is rejected. The event's text fields point into the parser. Local. */
int cm_row_parse(cm_row_parser *parser, const cm_layout *layout, const char *line, size_t len,
                 cm_event *event);

/* The strict number readers the row parser uses; 0 on success, -1 otherwise. Local. */
int cm_parse_id(const char *text, size_t len, int64_t *value);
int cm_parse_cents(const char *text, size_t len, int64_t *cents);

#endif
