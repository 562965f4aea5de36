/* The events that training and prediction need, moved to the rank that owns their session. */
#ifndef CLICKMILL_SHUFFLE_H
#define CLICKMILL_SHUFFLE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "clickmill/event.h"
#include "clickmill/table.h"

/* How a user_session is held in 16 bytes: a canonical lower-case UUID as its 128 bits, text of
 * at most 16 bytes as itself, anything longer as a 128-bit hash (which cannot be printed back;
 * REES46 sessions are all UUIDs). */
enum { CM_SESSION_UUID = 0, CM_SESSION_TEXT = 1, CM_SESSION_HASH = 2 };

typedef struct {
    unsigned char bytes[16];
    uint8_t kind; /* CM_SESSION_* */
    uint8_t len;  /* text length for CM_SESSION_TEXT */
} cm_session_id;

/* Encodes a user_session. Local. */
void cm_session_id_make(cm_session_id *id, const char *text, size_t len);

/* Encodes an event's user_session, from its UUID bytes when the reader has them. Local. */
void cm_session_id_of_event(cm_session_id *id, const cm_event *event);

/* Writes the session as text: the UUID or the text itself, or "hash:" and 32 hex digits.
 * Local. */
void cm_session_id_format(const cm_session_id *id, char out[40]);

/* Orders sessions; equal ids compare 0. Local. */
int cm_session_id_compare(const cm_session_id *a, const cm_session_id *b);

/* One event of a session, as compact as the features allow (56 bytes: the 8-byte fields
 * first, so nothing is padded but the end). */
typedef struct {
    int64_t time;
    uint64_t order; /* file index << 40 | byte offset: file order for events of the same second */
    int64_t product_id;
    int64_t price_cents;
    uint32_t item; /* the (category_code, brand) pair: a per-rank id until cm_shuffle_finish
                      maps it to the global one */
    cm_session_id session;
    uint8_t type; /* CM_TYPE_* */
} cm_session_event;

typedef struct {
    cm_session_event *events; /* after cm_shuffle_finish: this rank's sessions, each one run
                                 of events in (time, order) */
    size_t count, cap;
    cm_table items;          /* key: (category_code, brand); column: events. Entry i is the
                                per-rank item id i */
    int64_t without_session; /* events with an empty user_session, not kept */
    int64_t min_time;        /* earliest event time this rank read, INT64_MAX if none */
    int64_t max_time;        /* latest event time this rank read, INT64_MIN if none */
    int64_t cart_sessions;   /* after cm_shuffle_finish: sessions with a cart, all ranks */
    int64_t kept_events;     /* after cm_shuffle_finish: their events, all ranks */
} cm_shuffle;

void cm_shuffle_init(cm_shuffle *shuffle);
void cm_shuffle_free(cm_shuffle *shuffle);

/* A cm_event_sink (ctx: a cm_shuffle): keeps the event as a record and counts its item.
 * Returns CM_ERANGE for a row at a byte offset of 1 TiB or more, which the file-order key
 * cannot hold. Local. */
int cm_shuffle_sink(void *ctx, const cm_event *event);

/* Keeps only sessions that hold a cart event somewhere (any rank), replaces each record's item
 * by item_map[item], moves every record to the rank that owns its session and sorts them there.
 * Collective. */
void cm_shuffle_finish(MPI_Comm comm, cm_shuffle *shuffle, const uint32_t *item_map);

/* The owner rank of a session. Local. */
int cm_session_owner(const cm_session_id *id, int nranks);

#endif
