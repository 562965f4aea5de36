/* The analyses of the original study: per-rank aggregation of events, then the global tables. */
#ifndef CLICKMILL_ANALYTICS_H
#define CLICKMILL_ANALYTICS_H

#include <mpi.h>

#include "clickmill/event.h"
#include "clickmill/result.h"
#include "clickmill/table.h"

/* One rank's partial aggregates. */
typedef struct {
    cm_table groups;   /* group-by tables: views, carts, purchases, revenue, events per key */
    cm_table distinct; /* (entity, question, group) keys for exact distinct counts */
    int64_t hours[24][4];
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
