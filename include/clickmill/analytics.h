/* The analyses of the original study: per-rank aggregation of events, then the global tables. */
#ifndef CLICKMILL_ANALYTICS_H
#define CLICKMILL_ANALYTICS_H

#include <mpi.h>
#include <stdint.h>

#include "clickmill/event.h"
#include "clickmill/result.h"
#include "clickmill/table.h"

/* What is known of one user, session or product: the bits that the distinct counts need. */
typedef struct {
    uint64_t key[3];    /* the entity's key part (kind, then its id), zero padded */
    uint64_t days;      /* bit i: active on day window * 64 + i (days since 1970-01-01) */
    int32_t window;     /* which 64 days the bits cover */
    uint32_t hours;     /* bit h: active in hour of day h (users) */
    uint8_t types;      /* bit t: an event of type t (CM_TYPE_VIEW, _CART, _PURCHASE) */
    uint8_t first_hour; /* earliest hour of day (users) */
    uint8_t used;
    uint8_t key_len; /* bytes of key used */
} cm_entity;

/* Open addressing over entity records, keys inline. */
typedef struct {
    cm_entity *slots;
    size_t cap, count; /* cap: a power of two */
} cm_entity_table;

/* An entity of an event whose record is updated a few events later, once the prefetch of its
 * slot has had time to arrive. */
typedef struct {
    uint64_t key[3];
    uint64_t hash;
    uint8_t len;
} cm_entity_ref;

typedef struct {
    cm_entity_ref user, session, product;
    int64_t day;
    int8_t type; /* CM_TYPE_* */
    uint8_t hour;
    uint8_t has_session;
} cm_pending_event;

#define CM_PENDING_EVENTS 8

/* One rank's partial aggregates. */
typedef struct {
    cm_table items; /* (event type, category_code, brand): views, carts, purchases, revenue,
                       events; expanded into the group-by tables at the end */
    cm_table days;  /* the days group-by table, its rows as items' */
    int64_t day, *day_values; /* the last event's day and its row in `days` */
    cm_entity_table users, sessions, products;
    cm_table distinct;    /* what entity records cannot hold: (entity, question, group) keys for
                             event types other than view, cart and purchase, and for days outside
                             an entity's 64-day window */
    int64_t hours[24][5]; /* per hour of day, a row as items' */
    int64_t first_time, last_time;
    cm_pending_event pending[CM_PENDING_EVENTS]; /* a ring: the oldest at `next` when full */
    int npending, next;
} cm_analytics;

void cm_analytics_init(cm_analytics *analytics);
void cm_analytics_free(cm_analytics *analytics);

/* Adds one event. Local; usable as a cm_event_sink (ctx is the cm_analytics). */
int cm_analytics_add(void *analytics, const cm_event *event);

/* Merges every rank's partials and fills the tables of the data contract on rank 0 (the
 * summary's row counts come from the caller). The partials are consumed. Collective. */
void cm_analytics_finish(MPI_Comm comm, cm_analytics *analytics, cm_results *results);

#endif
