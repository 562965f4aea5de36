/* Live scoring: a bounded table of session states fed one event at a time. */
#include "clickmill/live.h"

#include <stdlib.h>
#include <string.h>

#include "clickmill/dictionary.h"
#include "clickmill/error.h"
#include "clickmill/output.h"
#include "clickmill/result.h"
#include "clickmill/table.h"

struct live_session {
    cm_session_id id;
    cm_features state;
    int64_t last_time;   /* of its latest event */
    uint32_t prev, next; /* the activity list: most recent after the head (index 0) */
    uint32_t chain;      /* the next session in its bucket, 0 for none */
};

static uint64_t session_hash(const cm_session_id *id)
{
    return cm_hash(id, sizeof *id);
}

void cm_live_init(cm_live *live, const cm_model *model, const cm_live_opts *opts)
{
    memset(live, 0, sizeof *live);
    live->model = model;
    cm_flat_forest_build(&live->forest, &model->forest);
    live->opts = *opts;
    if (live->opts.max_sessions < 1)
        live->opts.max_sessions = 1;
    if (live->opts.max_sessions > UINT32_MAX / 4)
        live->opts.max_sessions = UINT32_MAX / 4;
    for (live->nbuckets = 16;
         live->nbuckets < 2 * live->opts.max_sessions && live->nbuckets < ((size_t)1 << 24);
         live->nbuckets *= 2)
        ;
    live->buckets = cm_xcalloc(live->nbuckets, sizeof *live->buckets);
    live->cap = 1;
    live->sessions = cm_xcalloc(1, sizeof *live->sessions); /* the list head */
}

void cm_live_free(cm_live *live)
{
    for (uint32_t i = live->sessions[0].next; i != 0; i = live->sessions[i].next)
        cm_features_free(&live->sessions[i].state);
    for (uint32_t i = live->free_list; i != 0; i = live->sessions[i].next)
        cm_features_free(&live->sessions[i].state);
    free(live->sessions);
    free(live->buckets);
    cm_flat_forest_free(&live->forest);
    memset(live, 0, sizeof *live);
}

static void unlink_activity(cm_live *live, uint32_t i)
{
    live_session *s = &live->sessions[i];
    live->sessions[s->prev].next = s->next;
    live->sessions[s->next].prev = s->prev;
}

static void link_first(cm_live *live, uint32_t i)
{
    live_session *head = &live->sessions[0], *s = &live->sessions[i];
    s->prev = 0;
    s->next = head->next;
    live->sessions[head->next].prev = i;
    head->next = i;
}

/* Empties a session's state; sets grown past their first sizes are given back, so that one
 * long session does not keep its memory once it is gone. */
static void forget(cm_features *state)
{
    if (state->products_cap > 64 || state->categories_cap > 64) {
        cm_features_free(state);
        cm_features_init(state);
    } else {
        cm_features_reset(state);
    }
}

/* Drops a session: out of its bucket and the activity list, its pool entry reused (its
 * state's memory kept for the next session, emptied). */
static void evict(cm_live *live, uint32_t i)
{
    live_session *s = &live->sessions[i];
    uint32_t *link = &live->buckets[session_hash(&s->id) & (live->nbuckets - 1)];
    while (*link != i)
        link = &live->sessions[*link].chain;
    *link = s->chain;
    unlink_activity(live, i);
    forget(&s->state);
    s->next = live->free_list;
    live->free_list = i;
    live->count--;
}

static uint32_t find(const cm_live *live, const cm_session_id *id, uint64_t hash)
{
    for (uint32_t i = live->buckets[hash & (live->nbuckets - 1)]; i != 0;
         i = live->sessions[i].chain)
        if (cm_session_id_compare(&live->sessions[i].id, id) == 0)
            return i;
    return 0;
}

/* A new, empty session. */
static uint32_t add(cm_live *live, const cm_session_id *id, uint64_t hash)
{
    uint32_t i;
    if (live->free_list) {
        i = live->free_list;
        live->free_list = live->sessions[i].next;
    } else {
        if (live->cap == live->opts.max_sessions + 1 || live->cap >= UINT32_MAX)
            return 0; /* cannot happen: the caller evicts first */
        size_t grown = live->cap * 2 < live->opts.max_sessions + 1 ? live->cap * 2
                                                                   : live->opts.max_sessions + 1;
        live->sessions = cm_xrealloc(live->sessions, grown * sizeof *live->sessions);
        for (size_t k = live->cap + 1; k < grown; k++) { /* the rest go to the free list */
            cm_features_init(&live->sessions[k].state);
            live->sessions[k].next = k + 1 < grown ? (uint32_t)(k + 1) : live->free_list;
        }
        if (grown > live->cap + 1)
            live->free_list = (uint32_t)(live->cap + 1);
        i = (uint32_t)live->cap;
        cm_features_init(&live->sessions[i].state);
        live->cap = grown;
    }
    live_session *s = &live->sessions[i];
    s->id = *id;
    uint32_t *bucket = &live->buckets[hash & (live->nbuckets - 1)];
    s->chain = *bucket;
    *bucket = i;
    link_first(live, i);
    live->count++;
    live->stats.sessions++;
    return i;
}

void cm_live_feature_event(const cm_model *model, const cm_event *event, cm_feature_event *out)
{
    cm_text category = cm_event_category(event);
    out->time = event->time;
    out->type = event->type;
    out->product_id = event->product_id;
    out->price_cents = event->price_cents;
    cm_dictionary_ids(model->dicts, event->category_code.ptr, event->category_code.len,
                      event->brand.ptr, event->brand.len, out->ids);
    out->category_hash = cm_hash(category.ptr, category.len);
}

int cm_live_event(cm_live *live, const cm_event *event, cm_live_score *score)
{
    live->stats.events++;
    if (event->user_session.len == 0) {
        live->stats.without_session++;
        return 0;
    }
    cm_session_id id;
    cm_session_id_of_event(&id, event);
    uint64_t hash = session_hash(&id);
    uint32_t i = find(live, &id, hash);
    if (i == 0) {
        if (live->count == live->opts.max_sessions) {
            evict(live, live->sessions[0].prev); /* the least recently active */
            live->stats.evicted_full++;
        }
        i = add(live, &id, hash);
    } else {
        live_session *s = &live->sessions[i];
        /* Each session is judged by its own events, never by a clock that one event far
           ahead of the others could move: idle too long, it starts anew (a new visit); too
           big, it is forgotten and starts anew too. */
        if (live->opts.session_timeout > 0 &&
            event->time - s->last_time > live->opts.session_timeout) {
            forget(&s->state);
            live->stats.evicted_idle++;
            live->stats.sessions++;
        } else if (s->state.products_used >= CM_LIVE_MAX_PRODUCTS) {
            forget(&s->state);
            live->stats.evicted_large++;
            live->stats.sessions++;
        } else if (event->time < s->last_time) {
            live->stats.out_of_order++;
        }
        unlink_activity(live, i);
        link_first(live, i);
    }
    live_session *s = &live->sessions[i];
    s->last_time = s->state.events && event->time < s->last_time ? s->last_time : event->time;

    cm_feature_event features;
    cm_live_feature_event(live->model, event, &features);
    if (!cm_features_step(&s->state, &features, score->x))
        return 0;
    score->probability = cm_flat_forest_score(&live->forest, score->x);
    score->unseen = 0;
    for (int d = 0; d < CM_NDICTS; d++)
        if (features.ids[d] >= live->model->dicts[d].count) {
            score->unseen |= 1 << d;
            live->stats.unseen[d]++;
        }
    live->stats.scored++;
    return 1;
}

void cm_live_format(const cm_event *event, const cm_live_score *score, cm_buffer *out)
{
    char time[24], session[40], probability[32];
    cm_session_id id;
    cm_session_id_of_event(&id, event);
    cm_time_format(event->time, time);
    cm_session_id_format(&id, session);
    cm_format_double(score->probability, probability);
    cm_buffer_text(out, time);
    cm_buffer_text(out, ",");
    cm_csv_field(out, session, strlen(session));
    cm_buffer_printf(out, ",%lld,%s\n", (long long)event->product_id, probability);
}

int cm_live_line(cm_live *live, cm_row_parser *parser, const cm_layout *layout, const char *line,
                 size_t len, cm_buffer *out)
{
    cm_event event;
    int reason = cm_row_parse(parser, layout, line, len, &event);
    if (reason != CM_ROW_OK)
        return reason;
    cm_live_score score;
    if (cm_live_event(live, &event, &score))
        cm_live_format(&event, &score, out);
    return CM_ROW_OK;
}

void cm_layout_standard(cm_layout *layout)
{
    for (int c = 0; c < CM_NCOLUMNS; c++)
        layout->index[c] = c;
    layout->nfields = CM_NCOLUMNS;
}

int cm_live_header(const char *line, size_t len, cm_layout *layout, char *err, size_t err_size)
{
    if (len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) { /* a UTF-8 byte order mark */
        line += 3;
        len -= 3;
    }
    cm_layout parsed;
    if (cm_layout_parse(&parsed, line, len, err, err_size) == 0) {
        *layout = parsed;
        return 1;
    }
    /* A line naming two columns or more is a header meant to be one: its fault is reported,
       rather than its columns read in the wrong places. */
    int named = 0;
    for (int c = 0; c < CM_NCOLUMNS; c++)
        named += memmem(line, len, cm_column_names[c], strlen(cm_column_names[c])) != NULL;
    if (named >= 2)
        return -1;
    cm_layout_standard(layout);
    return 0;
}
