/* Splits a line into fields with libcsv and validates them into an event. */
#include "clickmill/row.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "clickmill/error.h"

const char *const cm_column_names[CM_NCOLUMNS] = {
    "event_time", "event_type", "product_id", "category_id",  "category_code",
    "brand",      "price",      "user_id",    "user_session",
};

static const struct {
    const char *name;
    const char *text;
} reasons[CM_NREASONS] = {
    [CM_ROW_OK] = {"ok", "accepted"},
    [CM_REJECT_FIELD_COUNT] = {"field_count", "wrong number of fields"},
    [CM_REJECT_QUOTING] = {"quoting", "unterminated or misplaced quote (a newline inside a quoted "
                                      "field is not supported)"},
    [CM_REJECT_LONG_FIELD] = {"long_field", "a field is longer than 250 bytes"},
    [CM_REJECT_LONG_LINE] = {"long_line", "the line is longer than 1 MiB"},
    [CM_REJECT_NUL] = {"nul_byte", "the line contains a NUL byte"},
    [CM_REJECT_EMPTY_LINE] = {"empty_line", "the line is empty"},
    [CM_REJECT_TIME] = {"bad_time", "event_time is not 'YYYY-MM-DD HH:MM:SS UTC'"},
    [CM_REJECT_EVENT_TYPE] = {"bad_event_type",
                              "event_type is empty or not a word of a-z, 0-9 and '_'"},
    [CM_REJECT_ID] = {"bad_id", "product_id, category_id or user_id is not a non-negative integer"},
    [CM_REJECT_PRICE] = {"bad_price", "price is not a non-negative number with at most 2 decimals"},
};

const char *cm_reject_name(int reason)
{
    return reason >= 0 && reason < CM_NREASONS ? reasons[reason].name : "unknown";
}

const char *cm_reject_text(int reason)
{
    return reason >= 0 && reason < CM_NREASONS ? reasons[reason].text : "unknown reason";
}

/* Only the line feed ends a row: lines arrive already split, and a CR inside a line is data. */
static int is_line_feed(unsigned char c)
{
    return c == CSV_LF;
}

/* Spaces are data: trimming them would silently change a brand or a category. */
static int is_never_space(unsigned char c)
{
    (void)c;
    return 0;
}

int cm_row_parser_init(cm_row_parser *parser)
{
    memset(parser, 0, sizeof *parser);
    if (csv_init(&parser->csv, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return CM_ENOMEM;
    csv_set_term_func(&parser->csv, is_line_feed);
    csv_set_space_func(&parser->csv, is_never_space);
    return 0;
}

void cm_row_parser_free(cm_row_parser *parser)
{
    csv_free(&parser->csv);
}

/* A field of a plain line, left where it is in the line. */
static void plain_field(cm_row_parser *parser, const char *field, size_t len)
{
    if (parser->nfields < CM_FIELDS_MAX) {
        if (len > CM_FIELD_MAX) {
            parser->too_long = 1;
            len = 0;
        }
        parser->field[parser->nfields] = field;
        parser->field_len[parser->nfields] = len;
    }
    parser->nfields++;
}

/* libcsv's callback: its field buffer is reused, so the field is copied. */
static void on_field(void *field, size_t len, void *data)
{
    cm_row_parser *parser = data;
    if (parser->nfields < CM_FIELDS_MAX) {
        if (len > CM_FIELD_MAX) {
            parser->too_long = 1;
            len = 0;
        }
        if (len)
            memcpy(parser->storage[parser->nfields], field, len);
        parser->storage[parser->nfields][len] = '\0';
        parser->field[parser->nfields] = parser->storage[parser->nfields];
        parser->field_len[parser->nfields] = len;
    }
    parser->nfields++;
}

/* Splits a line that has no quote and no NUL at its commas: exactly what libcsv does with
 * such a line (strict, no space trimming, LF the only terminator); test/check_row.c and
 * fuzz/row_split.c hold the two to the same fields. Returns 0, with nothing split, when the
 * line has a quote or a NUL, which only libcsv and the NUL check may judge. Sixteen bytes at
 * a time where SSE2 is there. */
static int split_plain(cm_row_parser *parser, const char *line, size_t len)
{
    size_t start = 0, i = 0;
#ifdef __SSE2__
    const __m128i comma = _mm_set1_epi8(','), quote = _mm_set1_epi8('"');
    const __m128i nul = _mm_setzero_si128();
    for (; i + 16 <= len; i += 16) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)(const void *)(line + i));
        if (_mm_movemask_epi8(
                _mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, nul))))
            return 0;
        for (unsigned commas = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, comma)); commas;
             commas &= commas - 1) {
            size_t at = i + (size_t)__builtin_ctz(commas);
            plain_field(parser, line + start, at - start);
            start = at + 1;
        }
    }
#endif
    for (; i < len; i++) {
        if (line[i] == '"' || line[i] == '\0')
            return 0;
        if (line[i] == ',') {
            plain_field(parser, line + start, i - start);
            start = i + 1;
        }
    }
    plain_field(parser, line + start, len - start);
    return 1;
}

int cm_row_split(cm_row_parser *parser, const char *line, size_t len)
{
    parser->nfields = 0;
    parser->too_long = 0;
    if (len == 0)
        return -CM_REJECT_EMPTY_LINE;
    if (!parser->libcsv_only && split_plain(parser, line, len))
        return parser->too_long ? -CM_REJECT_LONG_FIELD : parser->nfields;
    parser->nfields = 0; /* the plain split may have begun before it met a quote */
    parser->too_long = 0;
    if (memchr(line, '\0', len))
        return -CM_REJECT_NUL;
    size_t used = csv_parse(&parser->csv, line, len, on_field, NULL, parser);
    int failed = used != len;
    if (csv_fini(&parser->csv, on_field, NULL, parser) != 0)
        failed = 1;
    if (failed) {
        int error = csv_error(&parser->csv);
        if (error == CSV_ENOMEM || error == CSV_ETOOBIG)
            cm_xmalloc((size_t)-1); /* reports out of memory and aborts */
        /* csv_fini returns before resetting its state when a quoted field is left open, so
         * start a fresh parser: the next line must not begin inside this line's quote. */
        cm_row_parser_free(parser);
        if (cm_row_parser_init(parser) != 0)
            cm_xmalloc((size_t)-1);
        return -CM_REJECT_QUOTING;
    }
    if (parser->too_long)
        return -CM_REJECT_LONG_FIELD;
    return parser->nfields;
}

int cm_parse_id(const char *text, size_t len, int64_t *value)
{
    if (len == 0 || len > 18 + 1)
        return -1;
    uint64_t result = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        result = result * 10 + (uint64_t)(text[i] - '0');
    }
    if (result > (uint64_t)INT64_MAX)
        return -1;
    *value = (int64_t)result;
    return 0;
}

int cm_parse_cents(const char *text, size_t len, int64_t *cents)
{
    size_t i = 0;
    int64_t whole = 0;
    if (len == 0)
        return -1;
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
        whole = whole * 10 + (text[i] - '0');
        if (whole > CM_PRICE_MAX_CENTS / 100)
            return -1;
    }
    if (i == 0)
        return -1;
    int64_t fraction = 0;
    int decimals = 0;
    if (i < len && text[i] == '.') {
        i++;
        for (; i < len && text[i] >= '0' && text[i] <= '9'; i++, decimals++) {
            if (decimals >= 2) {
                if (text[i] != '0') /* 1.005 cannot be a whole number of cents */
                    return -1;
                continue;
            }
            fraction = fraction * 10 + (text[i] - '0');
        }
        if (decimals == 0)
            return -1;
    }
    if (i != len)
        return -1;
    if (decimals == 1)
        fraction *= 10;
    if (whole * 100 + fraction > CM_PRICE_MAX_CENTS)
        return -1;
    *cents = whole * 100 + fraction;
    return 0;
}

static int is_event_type(const char *text, size_t len)
{
    if (len == 0 || len > 32)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

static cm_text field_text(const cm_row_parser *parser, const cm_layout *layout, int column)
{
    int index = layout->index[column];
    return (cm_text){parser->field[index], parser->field_len[index]};
}

int cm_row_parse(cm_row_parser *parser, const cm_layout *layout, const char *line, size_t len,
                 cm_event *event)
{
    int nfields = cm_row_split(parser, line, len);
    if (nfields < 0)
        return -nfields;
    if (nfields != layout->nfields)
        return CM_REJECT_FIELD_COUNT;

    cm_text time = field_text(parser, layout, CM_COL_EVENT_TIME);
    if (cm_time_parse(time.ptr, time.len, &event->time) != 0)
        return CM_REJECT_TIME;

    cm_text type = field_text(parser, layout, CM_COL_EVENT_TYPE);
    if (!is_event_type(type.ptr, type.len))
        return CM_REJECT_EVENT_TYPE;
    event->type_name = type;
    if (type.len == 4 && memcmp(type.ptr, "view", 4) == 0)
        event->type = CM_TYPE_VIEW;
    else if (type.len == 4 && memcmp(type.ptr, "cart", 4) == 0)
        event->type = CM_TYPE_CART;
    else if (type.len == 8 && memcmp(type.ptr, "purchase", 8) == 0)
        event->type = CM_TYPE_PURCHASE;
    else
        event->type = CM_TYPE_OTHER;

    cm_text product = field_text(parser, layout, CM_COL_PRODUCT_ID);
    cm_text category = field_text(parser, layout, CM_COL_CATEGORY_ID);
    cm_text user = field_text(parser, layout, CM_COL_USER_ID);
    if (cm_parse_id(product.ptr, product.len, &event->product_id) ||
        cm_parse_id(category.ptr, category.len, &event->category_id) ||
        cm_parse_id(user.ptr, user.len, &event->user_id))
        return CM_REJECT_ID;

    cm_text price = field_text(parser, layout, CM_COL_PRICE);
    if (cm_parse_cents(price.ptr, price.len, &event->price_cents) != 0)
        return CM_REJECT_PRICE;

    event->category_code = field_text(parser, layout, CM_COL_CATEGORY_CODE);
    event->brand = field_text(parser, layout, CM_COL_BRAND);
    event->user_session = field_text(parser, layout, CM_COL_USER_SESSION);
    event->session_uuid = NULL;
    return CM_ROW_OK;
}

int cm_layout_parse(cm_layout *layout, const char *line, size_t len, char *err, size_t err_size)
{
    cm_row_parser *parser = cm_xmalloc(sizeof *parser);
    int rc = CM_EINPUT;
    if (cm_row_parser_init(parser) != 0) {
        free(parser);
        return CM_ENOMEM;
    }
    int nfields = cm_row_split(parser, line, len);
    if (nfields <= 0) {
        snprintf(err, err_size, "the header line cannot be read as CSV (%s)",
                 nfields == -CM_REJECT_EMPTY_LINE ? "it is empty" : cm_reject_text(-nfields));
        goto cleanup;
    }
    if (nfields > CM_FIELDS_MAX) {
        snprintf(err, err_size, "the header has %d columns; at most %d are supported", nfields,
                 CM_FIELDS_MAX);
        goto cleanup;
    }
    for (int column = 0; column < CM_NCOLUMNS; column++)
        layout->index[column] = -1;
    for (int field = 0; field < nfields; field++) {
        for (int column = 0; column < CM_NCOLUMNS; column++) {
            size_t name_len = strlen(cm_column_names[column]);
            if (parser->field_len[field] != name_len ||
                memcmp(parser->field[field], cm_column_names[column], name_len) != 0)
                continue;
            if (layout->index[column] >= 0) {
                snprintf(err, err_size, "the header names column '%s' twice",
                         cm_column_names[column]);
                goto cleanup;
            }
            layout->index[column] = field;
        }
    }
    for (int column = 0; column < CM_NCOLUMNS; column++) {
        if (layout->index[column] < 0) {
            snprintf(err, err_size,
                     "the header lacks column '%s' (expected a first line naming event_time, "
                     "event_type, product_id, category_id, category_code, brand, price, "
                     "user_id, user_session; found '%.*s')",
                     cm_column_names[column], (int)(len < 80 ? len : 80), line);
            goto cleanup;
        }
    }
    layout->nfields = nfields;
    rc = 0;
cleanup:
    cm_row_parser_free(parser);
    free(parser);
    return rc;
}
