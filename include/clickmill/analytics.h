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

/* Open addressing over entity records, keys inline; the slot of a key is picked by the top
 * bits of its hash, so records inserted in hash order fill the table from start to end. */
typedef struct {
    cm_entity *slots;
    size_t cap, count; /* cap: a power of two */
    int shift;         /* 64 - log2(cap) */
    int dense;         /* instead, a plain array of `count` records (cap = count), not indexed */
} cm_entity_table;

/* While reading: the records of recent entities in a small direct-mapped cache (an entity's
 * events come close together: a session's within minutes), and the records it evicted. An
 * entity may so have several records; they are merged at the end. */
typedef struct {
    cm_entity *slots;
    size_t mask; /* slots - 1, a power of two less one */
    cm_entity *spilled;
    size_t nspilled, spilled_cap;
} cm_entity_cache;

/* One rank's partial aggregates. */
typedef struct {
    cm_table items; /* (event type, category_code, brand): views, carts, purchases, revenue,
                       events; expanded into the group-by tables at the end */
    cm_table days;  /* the days group-by table, its rows as items' */
    int64_t day, *day_values; /* the last event's day and its row in `days` */
    cm_entity_cache users, sessions, products;
    cm_table distinct;    /* what entity records cannot hold: (entity, question, group) keys for
                             event types other than view, cart and purchase, and for days outside
                             an entity's 64-day window */
    int64_t hours[24][5]; /* per hour of day, a row as items' */
    int64_t first_time, last_time;
} cm_analytics;

void cm_analytics_init(cm_analytics *analytics);
void cm_analytics_free(cm_analytics *analytics);

/* Adds one event. Local; usable as a cm_event_sink (ctx is the cm_analytics). */
int cm_analytics_add(void *analytics, const cm_event *event);

/* Merges every rank's partials and fills the tables of the data contract on rank 0 (the
 * summary's row counts come from the caller). The partials are consumed. Collective. */
void cm_analytics_finish(MPI_Comm comm, cm_analytics *analytics, cm_results *results);

#endif
