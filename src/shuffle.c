/* Compact session records, the cart-session filter and the exchange to session owners. */
#include "clickmill/shuffle.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"
#include "clickmill/merge.h"

#define ORDER_OFFSET_BITS 40

/* One more than the value of a lower-case hex digit; 0 for any other byte. */
static const unsigned char hex_digit[256] = {
    ['0'] = 1, ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

/* Where the two digits of each byte of a canonical UUID (8-4-4-4-12) sit. */
static const unsigned char uuid_digit_at[16] = {0,  2,  4,  6,  9,  11, 14, 16,
                                                19, 21, 24, 26, 28, 30, 32, 34};

/* A canonical lower-case UUID: 8-4-4-4-12 hex digits. */
static int parse_uuid(const char *text, size_t len, unsigned char out[16])
{
    if (len != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-')
        return -1;
    int bad = 0;
    for (int i = 0; i < 16; i++) {
        int high = hex_digit[(unsigned char)text[uuid_digit_at[i]]] - 1;
        int low = hex_digit[(unsigned char)text[uuid_digit_at[i] + 1]] - 1;
        bad |= high | low; /* negative when either is not a digit */
        out[i] = (unsigned char)((high & 15) << 4 | (low & 15)); /* (a bad digit is -1) */
    }
    return bad < 0 ? -1 : 0;
}

void cm_session_id_make(cm_session_id *id, const char *text, size_t len)
{
    memset(id, 0, sizeof *id);
    if (parse_uuid(text, len, id->bytes) == 0) {
        id->kind = CM_SESSION_UUID;
    } else if (len <= sizeof id->bytes) {
        id->kind = CM_SESSION_TEXT;
        id->len = (uint8_t)len;
        memcpy(id->bytes, text, len);
    } else {
        id->kind = CM_SESSION_HASH;
        /* The second half mixes a hash of the first with one of the text's first half, so the
           128 bits are not two copies of one hash. */
        uint64_t low = cm_hash(text, len);
        uint64_t high = low ^ cm_hash(&low, sizeof low) * 0x9E3779B97F4A7C15ULL;
        high ^= cm_hash(text, len / 2) + len;
        memcpy(id->bytes, &low, 8);
        memcpy(id->bytes + 8, &high, 8);
    }
}

void cm_session_id_of_event(cm_session_id *id, const cm_event *event)
{
    if (event->session_uuid) {
        memset(id, 0, sizeof *id);
        memcpy(id->bytes, event->session_uuid, sizeof id->bytes);
        id->kind = CM_SESSION_UUID;
    } else {
        cm_session_id_make(id, event->user_session.ptr, event->user_session.len);
    }
}

void cm_session_id_format(const cm_session_id *id, char out[40])
{
    static const char digits[] = "0123456789abcdef";
    if (id->kind == CM_SESSION_TEXT) {
        memcpy(out, id->bytes, id->len);
        out[id->len] = '\0';
        return;
    }
    if (id->kind == CM_SESSION_UUID) {
        for (int i = 0; i < 16; i++) {
            out[uuid_digit_at[i]] = digits[id->bytes[i] >> 4];
            out[uuid_digit_at[i] + 1] = digits[id->bytes[i] & 15];
        }
        out[8] = out[13] = out[18] = out[23] = '-';
        out[36] = '\0';
        return;
    }
    char *at = out;
    if (id->kind == CM_SESSION_HASH)
        at += sprintf(at, "hash:");
    for (int i = 0; i < 16; i++) {
        if (id->kind == CM_SESSION_UUID && (i == 4 || i == 6 || i == 8 || i == 10))
            *at++ = '-';
        *at++ = digits[id->bytes[i] >> 4];
        *at++ = digits[id->bytes[i] & 15];
    }
    *at = '\0';
}

int cm_session_id_compare(const cm_session_id *a, const cm_session_id *b)
{
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    int c = memcmp(a->bytes, b->bytes, sizeof a->bytes);
    if (c)
        return c < 0 ? -1 : 1;
    return a->len < b->len ? -1 : a->len > b->len;
}

int cm_session_owner(const cm_session_id *id, int nranks)
{
    return (int)(cm_hash(id, sizeof *id) % (uint64_t)nranks);
}

void cm_shuffle_init(cm_shuffle *shuffle)
{
    memset(shuffle, 0, sizeof *shuffle);
    cm_table_init(&shuffle->items, 1, NULL);
    shuffle->min_time = INT64_MAX;
    shuffle->max_time = INT64_MIN;
}

void cm_shuffle_free(cm_shuffle *shuffle)
{
    free(shuffle->events);
    cm_table_free(&shuffle->items);
    memset(shuffle, 0, sizeof *shuffle);
}

int cm_shuffle_sink(void *ctx, const cm_event *event)
{
    cm_shuffle *shuffle = ctx;
    if (event->time < shuffle->min_time)
        shuffle->min_time = event->time;
    if (event->time > shuffle->max_time)
        shuffle->max_time = event->time;
    if (event->user_session.len == 0) {
        shuffle->without_session++;
        return 0;
    }
    cm_key key;
    cm_key_reset(&key);
    cm_key_add_text(&key, event->category_code.ptr, event->category_code.len);
    cm_key_add_text(&key, event->brand.ptr, event->brand.len);
    int64_t *count = cm_table_upsert(&shuffle->items, key.bytes, key.len);
    (*count)++;
    /* The item id is the entry's index: its row's place in the values array (one column). */
    size_t item = (size_t)(count - shuffle->items.values);
    /* The file order key holds a byte offset below 1 TiB and a file index below 2^24. */
    if ((uint64_t)event->offset >> ORDER_OFFSET_BITS || (uint64_t)event->file >> 24)
        return CM_ERANGE;
    if (shuffle->count == shuffle->cap) {
        shuffle->cap = shuffle->cap ? shuffle->cap * 2 : 1 << 16;
        shuffle->events = cm_xrealloc(shuffle->events, shuffle->cap * sizeof *shuffle->events);
    }
    cm_session_event *record = &shuffle->events[shuffle->count++];
    memset(record, 0, sizeof *record);
    cm_session_id_of_event(&record->session, event);
    record->time = event->time;
    record->order = (uint64_t)event->file << ORDER_OFFSET_BITS | (uint64_t)event->offset;
    record->product_id = event->product_id;
    record->price_cents = event->price_cents;
    record->item = (uint32_t)item;
    record->type = (uint8_t)event->type;
    return 0;
}

static int compare_records(const void *a, const void *b)
{
    const cm_session_event *x = a, *y = b;
    int c = cm_session_id_compare(&x->session, &y->session);
    if (c)
        return c;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* The sessions holding a cart event, from every rank: each rank's distinct ones, gathered to
 * all (MPI_Allgatherv). Their number is the session state a rank keeps anyway. */
static void gather_cart_sessions(MPI_Comm comm, const cm_shuffle *shuffle, cm_table *carts)
{
    cm_table local;
    cm_table_init(&local, 0, NULL);
    for (size_t i = 0; i < shuffle->count; i++)
        if (shuffle->events[i].type == CM_TYPE_CART)
            cm_table_upsert(&local, &shuffle->events[i].session, sizeof(cm_session_id));
    int nranks;
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    size_t size = sizeof(cm_session_id);
    if (local.count > (size_t)INT_MAX / size)
        cm_mpi_fail(comm, MPI_ERR_COUNT, "too many cart sessions on one rank", __FILE__, __LINE__);
    int mine = (int)(local.count * size);
    int *counts = cm_xcalloc((size_t)nranks, sizeof(int));
    int *displs = cm_xcalloc((size_t)nranks, sizeof(int));
    CM_MPI_CHECK(comm, MPI_Allgather(&mine, 1, MPI_INT, counts, 1, MPI_INT, comm));
    int64_t total = 0;
    for (int r = 0; r < nranks; r++) {
        displs[r] = (int)total;
        total += counts[r];
    }
    if (total > INT_MAX)
        cm_mpi_fail(comm, MPI_ERR_COUNT, "too many cart sessions to gather", __FILE__, __LINE__);
    unsigned char *mine_data = cm_xmalloc((size_t)mine + 1);
    for (size_t i = 0; i < local.count; i++) {
        size_t len;
        memcpy(mine_data + i * size, cm_table_key(&local, i, &len), size);
    }
    cm_table_free(&local);
    unsigned char *all = cm_xmalloc((size_t)total + 1);
    CM_MPI_CHECK(comm,
                 MPI_Allgatherv(mine_data, mine, MPI_BYTE, all, counts, displs, MPI_BYTE, comm));
    free(mine_data);
    for (int64_t at = 0; at < total; at += (int64_t)size)
        cm_table_upsert(carts, all + at, size);
    free(all);
    free(counts);
    free(displs);
}

void cm_shuffle_finish(MPI_Comm comm, cm_shuffle *shuffle, const uint32_t *item_map)
{
    int nranks;
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));

    cm_table carts;
    cm_table_init(&carts, 0, NULL);
    gather_cart_sessions(comm, shuffle, &carts);
    shuffle->cart_sessions = (int64_t)carts.count;

    /* Keep the records of cart sessions, in place, with their global item ids. */
    size_t kept = 0;
    for (size_t i = 0; i < shuffle->count; i++) {
        cm_session_event *record = &shuffle->events[i];
        if (!cm_table_find(&carts, &record->session, sizeof record->session))
            continue;
        record->item = item_map[record->item];
        shuffle->events[kept++] = *record;
    }
    cm_table_free(&carts);
    shuffle->count = kept;
    int64_t kept_local = (int64_t)kept;
    CM_MPI_CHECK(comm,
                 MPI_Allreduce(&kept_local, &shuffle->kept_events, 1, MPI_INT64_T, MPI_SUM, comm));

    if (nranks > 1) {
        cm_buffer *outgoing = cm_xcalloc((size_t)nranks, sizeof *outgoing);
        cm_buffer *incoming = cm_xcalloc((size_t)nranks, sizeof *incoming);
        for (size_t i = 0; i < shuffle->count; i++) {
            const cm_session_event *record = &shuffle->events[i];
            cm_buffer_append(&outgoing[cm_session_owner(&record->session, nranks)], record,
                             sizeof *record);
        }
        free(shuffle->events);
        shuffle->events = NULL;
        shuffle->count = shuffle->cap = 0;
        cm_exchange_buffers(comm, outgoing, incoming);
        size_t total = 0;
        for (int r = 0; r < nranks; r++)
            total += incoming[r].len / sizeof(cm_session_event);
        shuffle->events = cm_xmalloc((total ? total : 1) * sizeof *shuffle->events);
        shuffle->cap = total ? total : 1;
        for (int r = 0; r < nranks; r++) {
            memcpy(shuffle->events + shuffle->count, incoming[r].data, incoming[r].len);
            shuffle->count += incoming[r].len / sizeof(cm_session_event);
            cm_buffer_free(&incoming[r]);
        }
        free(incoming);
        free(outgoing);
    }
    qsort(shuffle->events, shuffle->count, sizeof *shuffle->events, compare_records);
}
