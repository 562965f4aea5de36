/* Live scoring: events one at a time, per-session state in bounded memory, and a probability
 * at each first cart of a product in a session, from the same feature extractor and forest as
 * training and batch prediction. Used by `predict --stream` and `serve`. */
#ifndef CLICKMILL_LIVE_H
#define CLICKMILL_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "clickmill/event.h"
#include "clickmill/features.h"
#include "clickmill/model.h"
#include "clickmill/row.h"
#include "clickmill/shuffle.h"
#include "clickmill/table.h"

typedef struct {
    int64_t session_timeout; /* seconds of event time a session may be idle; <= 0: no limit */
    size_t max_sessions;     /* sessions tracked at once (at least 1) */
} cm_live_opts;

#define CM_LIVE_TIMEOUT      1800
#define CM_LIVE_MAX_SESSIONS 100000
#define CM_LIVE_MAX_PRODUCTS                                                                       \
    100000 /* distinct products a session may hold before it is                                    \
              forgotten (its state would otherwise grow unbounded) */

typedef struct {
    int64_t events;            /* events fed */
    int64_t scored;            /* first carts scored */
    int64_t without_session;   /* events with no user_session: no state to keep */
    int64_t sessions;          /* sessions started (one back after a timeout counts again) */
    int64_t evicted_idle;      /* sessions started anew after --session-timeout of event time */
    int64_t evicted_full;      /* sessions dropped, least recently active first, at the cap */
    int64_t evicted_large;     /* sessions started anew past CM_LIVE_MAX_PRODUCTS products */
    int64_t out_of_order;      /* events earlier than their session's latest (scored as they
                                  come; batch predict sorts them) */
    int64_t unseen[CM_NDICTS]; /* scored carts with a value the model never saw */
} cm_live_stats;

typedef struct live_session live_session;

typedef struct {
    const cm_model *model;
    cm_flat_forest forest; /* the model's, laid out for scoring */
    cm_live_opts opts;
    live_session *sessions; /* a pool; index 0 is the list head, never a session */
    size_t count, cap;      /* sessions in use; pool size */
    uint32_t *buckets;      /* hash of the session id -> first pool index, 0 for none */
    size_t nbuckets;
    uint32_t free_list;
    cm_live_stats stats;
} cm_live;

/* The scored cart of an event. */
typedef struct {
    double probability;
    int unseen; /* bit d set: dictionary value d never seen by the model */
    double x[CM_NFEATURES];
} cm_live_score;

/* Starts with no session; the model must outlive the scorer. Local. */
void cm_live_init(cm_live *live, const cm_model *model, const cm_live_opts *opts);
void cm_live_free(cm_live *live);

/* Feeds one event, in time order within its session. Returns 1 when it is the first cart of
 * its product in the session (score filled in), 0 otherwise. Local. */
int cm_live_event(cm_live *live, const cm_event *event, cm_live_score *score);

/* The ids of an event's category, product type and brand in the model's dictionaries and the
 * hash of its category: what training computed for the same (category_code, brand). Local. */
void cm_live_feature_event(const cm_model *model, const cm_event *event, cm_feature_event *out);

/* The output line of a scored cart, as predict writes it (less predicted and bought):
 * "event_time,user_session,product_id,probability\n". */
#define CM_LIVE_HEADER "event_time,user_session,product_id,probability\n"
void cm_live_format(const cm_event *event, const cm_live_score *score, cm_buffer *out);

/* Parses one event line (its line end removed) laid out as `layout` says and feeds it; a
 * scored cart appends its output line to out. Returns CM_ROW_OK, or the reason the line was
 * rejected (it then changes nothing). Local. */
int cm_live_line(cm_live *live, cm_row_parser *parser, const cm_layout *layout, const char *line,
                 size_t len, cm_buffer *out);

/* The first line of a stream or of a POST /events body: 1 when it is a header (a UTF-8 byte
 * order mark allowed), whose layout goes to layout; 0 when it is a row (layout is then the
 * original files' order); -1 when it names a column but is not a valid header (the reason in
 * err). Local. */
int cm_live_header(const char *line, size_t len, cm_layout *layout, char *err, size_t err_size);

/* The layout of the columns in the original files' order, for input without a header. */
void cm_layout_standard(cm_layout *layout);

#endif
