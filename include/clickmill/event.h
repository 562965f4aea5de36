/* One parsed event row and the fields derived from it, as the original analysis defined them. */
#ifndef CLICKMILL_EVENT_H
#define CLICKMILL_EVENT_H

#include <stddef.h>
#include <stdint.h>

/* The event types that have a column of their own in the tables; every other type is kept
 * under its name (CM_TYPE_OTHER). */
enum { CM_TYPE_VIEW = 0, CM_TYPE_CART = 1, CM_TYPE_PURCHASE = 2, CM_TYPE_OTHER = 3 };

/* A borrowed piece of text: not NUL-terminated, valid as long as its owner says. */
typedef struct {
    const char *ptr;
    size_t len;
} cm_text;

/* One accepted row. The text fields point into the row parser's storage and are valid until the
 * next cm_row_parse() on the same parser. */
typedef struct {
    int64_t time;      /* seconds since 1970-01-01 00:00:00 UTC */
    int type;          /* CM_TYPE_* */
    cm_text type_name; /* "view", "cart", "remove_from_cart", ... */
    int64_t product_id;
    int64_t category_id;
    int64_t user_id;
    int64_t price_cents; /* price in integer cents, so sums are exact */
    cm_text category_code;
    cm_text brand;                     /* empty when missing */
    cm_text user_session;              /* empty when missing */
    const unsigned char *session_uuid; /* when the reader has it (a store): the session's 16
                                          bytes, the session being a canonical UUID; else NULL */
    int file;                          /* index of the input file */
    int64_t offset;                    /* byte offset of the row in its file */
} cm_event;

/* The last second cm_time_parse accepts: 9999-12-31 23:59:59 UTC. */
#define CM_TIME_MAX 253402300799LL

/* Parses "YYYY-MM-DD HH:MM:SS UTC" into seconds since the epoch. Returns 0, or -1 when the text
 * is not exactly that form or names an impossible date or time. Local. */
int cm_time_parse(const char *text, size_t len, int64_t *seconds);

/* Writes "YYYY-MM-DD HH:MM:SS UTC" (24 bytes with the NUL) into out. Local. */
void cm_time_format(int64_t seconds, char out[24]);

/* Writes "YYYY-MM-DD" (11 bytes with the NUL) into out. Local. */
void cm_date_format(int64_t seconds, char out[11]);

/* Days since 1970-01-01 (UTC), rounded down, so times before 1970 get negative days. Local. */
int64_t cm_time_day(int64_t seconds);

/* Hour of day (0-23, UTC) and weekday (0 = Monday .. 6 = Sunday). Local. */
int cm_time_hour(int64_t seconds);
int cm_time_weekday(int64_t seconds);

/* The derived category: first segment of category_code, else the brand, else "unknown".
 * The result borrows from the event. Local. */
cm_text cm_event_category(const cm_event *event);

/* The derived product: last segment of category_code, same fallback. Local. */
cm_text cm_event_product(const cm_event *event);

#endif
