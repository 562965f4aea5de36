/* Aggregates events into group-by tables and distinct-count keys, merges them, builds tables. */
#include "clickmill/analytics.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"
#include "clickmill/merge.h"
#include "clickmill/shuffle.h"

/* The group-by tables, named by the first part of a groups key. */
enum { G_FUNNEL = 1, G_CATEGORY, G_CATEGORY_BRAND, G_CATEGORY_PRODUCT, G_BRAND, G_DAY };
enum { V_VIEWS, V_CARTS, V_PURCHASES, V_REVENUE, V_EVENTS, V_NCOLS };
_Static_assert(sizeof((cm_analytics *)0)->hours[0] == V_NCOLS * sizeof(int64_t),
               "an hour's row is an item row");

/* Distinct counts are counts of (entity, question, group) facts, for example (user 42, "active
 * on day", 2019-10-01). Entities are users, sessions and products. Per event, each entity's
 * record gets the bits of its facts; records and the facts they cannot hold (cm_analytics
 * .distinct) go to the entity's owner rank, where each fact is counted once. */
enum { E_USER = 'u', E_SESSION = 's', E_PRODUCT = 'p' };
enum { Q_ANY = 1, Q_TYPE, Q_DAY, Q_HOUR, Q_FIRST_HOUR };

static const char *const type_names[3] = {"view", "cart", "purchase"};

#define NO_WINDOW INT32_MIN

static int32_t window_of(int64_t day)
{
    return (int32_t)(day >= 0 ? day / 64 : -((-day + 63) / 64));
}

/* ---- entity records ---- */

static void entities_free(cm_entity_table *table)
{
    if (table->dense)
        free(table->slots);
    else
        cm_huge_free(table->slots, table->cap * sizeof *table->slots);
    memset(table, 0, sizeof *table);
}

/* A hash of the three key words: cheaper than cm_hash for this one fixed width, and mixed
 * enough in every bit (the cache uses the low bits, a table the high ones). */
static uint64_t entity_hash(const uint64_t key[3])
{
    uint64_t h = key[0] * 0x9E3779B97F4A7C15ULL;
    h ^= (key[1] * 0xC2B2AE3D27D4EB4FULL) >> 17 | (key[1] * 0xC2B2AE3D27D4EB4FULL) << 47;
    h ^= (key[2] * 0x165667B19E3779F9ULL) >> 41 | (key[2] * 0x165667B19E3779F9ULL) << 23;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ULL;
    return h ^ h >> 32;
}

static int same_key(const uint64_t a[3], const uint64_t b[3])
{
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
}

static size_t entity_slot(const cm_entity_table *table, const uint64_t key[3])
{
    size_t s = (size_t)(entity_hash(key) >> table->shift);
    while (table->slots[s].used && !same_key(table->slots[s].key, key))
        s = (s + 1) & (table->cap - 1);
    return s;
}

/* An empty table with room for `count` records, at most 3/4 full. */
static void entities_make(cm_entity_table *table, size_t count)
{
    memset(table, 0, sizeof *table);
    size_t cap = 1024;
    int bits = 10;
    while (count * 4 > cap * 3) {
        cap *= 2;
        bits++;
    }
    table->slots = cm_huge_calloc(cap * sizeof *table->slots);
    table->cap = cap;
    table->count = 0;
    table->shift = 64 - bits;
}

static void entity_init(cm_entity *entity, const uint64_t key[3], size_t key_len)
{
    memset(entity, 0, sizeof *entity);
    memcpy(entity->key, key, sizeof entity->key);
    entity->key_len = (uint8_t)key_len;
    entity->window = NO_WINDOW;
    entity->first_hour = 24;
    entity->used = 1;
}

/* The record of an entity, created empty if new (the table has room for it). */
static cm_entity *entity_get(cm_entity_table *table, const uint64_t key[3], size_t key_len)
{
    cm_entity *entity = &table->slots[entity_slot(table, key)];
    if (!entity->used) {
        entity_init(entity, key, key_len);
        table->count++;
    }
    return entity;
}

/* Cache sizes: a user's or a session's events come within minutes of each other; products
 * are fewer, and the popular ones come back all the time. */
#define CACHE_PEOPLE   16384
#define CACHE_PRODUCTS 65536

static void cache_init(cm_entity_cache *cache, size_t slots)
{
    /* The tests shrink the caches (to a power of two) so that records are evicted and merged
       all the time. */
    const char *forced = getenv("CLICKMILL_ENTITY_CACHE");
    if (forced && atol(forced) > 0)
        for (slots = 1; slots * 2 <= (size_t)atol(forced); slots *= 2)
            ;
    memset(cache, 0, sizeof *cache);
    cache->slots = cm_xcalloc(slots, sizeof *cache->slots);
    cache->mask = slots - 1;
}

static void cache_free(cm_entity_cache *cache)
{
    free(cache->slots);
    free(cache->spilled);
    memset(cache, 0, sizeof *cache);
}

static void cache_spill(cm_entity_cache *cache, const cm_entity *entity)
{
    if (cache->nspilled == cache->spilled_cap) {
        /* realloc moves large blocks by remapping their pages, not by copying them */
        cache->spilled_cap = cache->spilled_cap ? cache->spilled_cap * 2 : 65536;
        cache->spilled = cm_xrealloc(cache->spilled, cache->spilled_cap * sizeof *cache->spilled);
    }
    cache->spilled[cache->nspilled++] = *entity;
}

/* The cached record of an entity; the record it replaces goes to the spilled ones. */
static cm_entity *cache_get(cm_entity_cache *cache, const uint64_t key[3], size_t key_len,
                            uint64_t hash)
{
    cm_entity *entity = &cache->slots[hash & cache->mask];
    if (entity->used && same_key(entity->key, key))
        return entity;
    if (entity->used)
        cache_spill(cache, entity);
    entity_init(entity, key, key_len);
    return entity;
}

/* Moves every cached record to the spilled ones. */
static void cache_flush(cm_entity_cache *cache)
{
    for (size_t i = 0; i <= cache->mask; i++)
        if (cache->slots[i].used)
            cache_spill(cache, &cache->slots[i]);
    free(cache->slots);
    cache->slots = NULL;
}

/* The (entity, question, group) key of a fact, its first part the entity's key bytes. */
static void fact_key(cm_key *key, const cm_entity *entity, int question, const void *group,
                     size_t group_len)
{
    char q = (char)question;
    cm_key_reset(key);
    cm_key_add_text(key, (const char *)entity->key, entity->key_len);
    cm_key_add_text(key, &q, 1);
    if (group)
        cm_key_add_text(key, group, group_len);
}

static void add_fact(cm_table *distinct, const cm_entity *entity, int question, const void *group,
                     size_t group_len)
{
    cm_key key;
    fact_key(&key, entity, question, group, group_len);
    cm_table_upsert(distinct, key.bytes, key.len);
}

/* The 8 bytes of an integer group part, as cm_key_add_int writes them. */
static void int_group(int64_t value, unsigned char out[8])
{
    cm_key key;
    cm_key_reset(&key);
    cm_key_add_int(&key, value);
    memcpy(out, key.bytes + 1, 8);
}

/* Marks an entity active on a day: a bit of its window, or a fact when outside it. */
static void entity_add_day(cm_table *distinct, cm_entity *entity, int64_t day)
{
    int32_t window = window_of(day);
    if (entity->window == NO_WINDOW)
        entity->window = window;
    if (entity->window == window) {
        entity->days |= (uint64_t)1 << (day - (int64_t)window * 64);
    } else {
        unsigned char group[8];
        int_group(day, group);
        add_fact(distinct, entity, Q_DAY, group, 8);
    }
}

/* A fact of an event type other than view, cart and purchase, which records have no bit for. */
static void add_type_fact(cm_table *distinct, const cm_entity *entity, const cm_event *event)
{
    add_fact(distinct, entity, Q_TYPE, event->type_name.ptr, event->type_name.len);
}

void cm_analytics_init(cm_analytics *analytics)
{
    memset(analytics, 0, sizeof *analytics);
    cm_table_init(&analytics->items, V_NCOLS, NULL);
    cm_table_init(&analytics->days, V_NCOLS, NULL);
    cm_table_init(&analytics->distinct, 0, NULL);
    analytics->first_time = INT64_MAX;
    analytics->last_time = INT64_MIN;
    cache_init(&analytics->users, CACHE_PEOPLE);
    cache_init(&analytics->sessions, CACHE_PEOPLE);
    cache_init(&analytics->products, CACHE_PRODUCTS);
}

void cm_analytics_free(cm_analytics *analytics)
{
    cm_table_free(&analytics->items);
    cm_table_free(&analytics->days);
    cm_table_free(&analytics->distinct);
    cache_free(&analytics->users);
    cache_free(&analytics->sessions);
    cache_free(&analytics->products);
}

/* An entity key: kind, then the id's bytes, zero padded to 24 bytes. */
static size_t entity_key(uint64_t key[3], char kind, const void *id, size_t len)
{
    memset(key, 0, 3 * sizeof key[0]);
    unsigned char *bytes = (unsigned char *)key;
    bytes[0] = (unsigned char)kind;
    memcpy(bytes + 1, id, len);
    return len + 1;
}

/* The entity key of an 8-byte id, as entity_key makes it, in whole words (the key is read back
 * as words at once, and byte-wise writes would stall that read). */
static size_t int_entity_key(uint64_t key[3], char kind, uint64_t id)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    key[0] = (uint64_t)(unsigned char)kind | id << 8;
    key[1] = id >> 56;
    key[2] = 0;
    return 1 + sizeof id;
#else
    return entity_key(key, kind, &id, sizeof id);
#endif
}

/* The entity key of a session, as entity_key makes it, in whole words. */
static size_t session_entity_key(uint64_t key[3], const cm_session_id *session)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    _Static_assert(sizeof *session == 18 && offsetof(cm_session_id, kind) == 16 &&
                       offsetof(cm_session_id, len) == 17,
                   "a session id is 16 bytes, its kind and its length");
    uint64_t a, b;
    memcpy(&a, session->bytes, 8);
    memcpy(&b, session->bytes + 8, 8);
    key[0] = (uint64_t)E_SESSION | a << 8;
    key[1] = a >> 56 | b << 8;
    key[2] = b >> 56 | (uint64_t)session->kind << 8 | (uint64_t)session->len << 16;
    return 1 + sizeof *session;
#else
    return entity_key(key, E_SESSION, session, sizeof *session);
#endif
}

/* Adds an event to a row of views, carts, purchases, revenue and events. */
static void add_values(int64_t *values, const cm_event *event)
{
    if (event->type != CM_TYPE_OTHER)
        values[event->type]++; /* V_VIEWS, V_CARTS, V_PURCHASES share the type's number */
    if (event->type == CM_TYPE_PURCHASE)
        values[V_REVENUE] += event->price_cents;
    values[V_EVENTS]++;
}

int cm_analytics_add(void *ctx, const cm_event *event)
{
    cm_analytics *analytics = ctx;
    int hour = cm_time_hour(event->time);
    int64_t day = cm_time_day(event->time);

    /* The entities' keys first, so their cache slots are on their way while the items are
       added. */
    uint64_t user_key[3], session_key[3], product_key[3];
    size_t user_len = int_entity_key(user_key, E_USER, (uint64_t)event->user_id);
    size_t product_len = int_entity_key(product_key, E_PRODUCT, (uint64_t)event->product_id);
    size_t session_len = 0;
    uint64_t user_hash = entity_hash(user_key), product_hash = entity_hash(product_key);
    uint64_t session_hash = 0;
    __builtin_prefetch(&analytics->users.slots[user_hash & analytics->users.mask], 1);
    __builtin_prefetch(&analytics->products.slots[product_hash & analytics->products.mask], 1);
    if (event->user_session.len > 0) {
        cm_session_id session_id;
        cm_session_id_of_event(&session_id, event);
        session_len = session_entity_key(session_key, &session_id);
        session_hash = entity_hash(session_key);
        __builtin_prefetch(&analytics->sessions.slots[session_hash & analytics->sessions.mask], 1);
    }

    /* One upsert per event; the group-by tables are expanded from these at the end. Days are
       apart, so that the items stay few enough to stay in cache. */
    cm_key key;
    cm_key_reset(&key);
    cm_key_add_text(&key, event->type_name.ptr, event->type_name.len);
    cm_key_add_text(&key, event->category_code.ptr, event->category_code.len);
    cm_key_add_text(&key, event->brand.ptr, event->brand.len);
    add_values(cm_table_upsert(&analytics->items, key.bytes, key.len), event);
    if (!analytics->day_values || day != analytics->day) {
        char table = G_DAY;
        cm_key_reset(&key);
        cm_key_add_text(&key, &table, 1);
        cm_key_add_int(&key, day);
        analytics->day_values = cm_table_upsert(&analytics->days, key.bytes, key.len);
        analytics->day = day;
    }
    add_values(analytics->day_values, event);

    add_values(analytics->hours[hour], event);
    if (event->time < analytics->first_time)
        analytics->first_time = event->time;
    if (event->time > analytics->last_time)
        analytics->last_time = event->time;

    /* The entities' records: the user, the session and the product. */
    cm_entity *user = cache_get(&analytics->users, user_key, user_len, user_hash);
    if (event->type != CM_TYPE_OTHER)
        user->types |= (uint8_t)(1u << event->type);
    else
        add_type_fact(&analytics->distinct, user, event);
    entity_add_day(&analytics->distinct, user, day);
    user->hours |= (uint32_t)1 << hour;
    if (hour < user->first_hour)
        user->first_hour = (uint8_t)hour;
    if (session_len > 0) {
        cm_entity *session =
            cache_get(&analytics->sessions, session_key, session_len, session_hash);
        if (event->type != CM_TYPE_OTHER)
            session->types |= (uint8_t)(1u << event->type);
        else
            add_type_fact(&analytics->distinct, session, event);
        entity_add_day(&analytics->distinct, session, day);
    }
    cache_get(&analytics->products, product_key, product_len, product_hash);
    return 0;
}

/* ---- merging and counting ---- */

/* Merges a record into the entity's record; day bits of another window become facts. */
static void merge_entity(cm_entity *entity, const cm_entity *in, cm_table *distinct)
{
    entity->types |= in->types;
    entity->hours |= in->hours;
    if (in->first_hour < entity->first_hour)
        entity->first_hour = in->first_hour;
    if (in->window == NO_WINDOW)
        return;
    if (entity->window == NO_WINDOW || entity->window == in->window) {
        entity->window = in->window;
        entity->days |= in->days;
        return;
    }
    for (int bit = 0; bit < 64; bit++)
        if (in->days >> bit & 1) {
            unsigned char group[8];
            int_group((int64_t)in->window * 64 + bit, group);
            add_fact(distinct, entity, Q_DAY, group, 8);
        }
}

/* Puts records in the order of the top byte of their hash, in place (American flag sort);
 * start[p] is where the records of byte p begin, start[256] = n. */
static void order_by_hash(cm_entity *records, size_t n, size_t start[257])
{
    size_t next[256];
    memset(start, 0, 257 * sizeof *start);
    for (size_t i = 0; i < n; i++)
        start[(entity_hash(records[i].key) >> 56) + 1]++;
    for (int p = 0; p < 256; p++) {
        start[p + 1] += start[p];
        next[p] = start[p];
    }
    for (int p = 0; p < 256; p++)
        while (next[p] < start[p + 1]) {
            cm_entity moving = records[next[p]];
            size_t b = (size_t)(entity_hash(moving.key) >> 56);
            while (b != (size_t)p) { /* swap it into its bucket, take what was there */
                cm_entity there = records[next[b]];
                records[next[b]++] = moving;
                moving = there;
                b = (size_t)(entity_hash(moving.key) >> 56);
            }
            records[next[p]++] = moving;
        }
}

#define NO_RECORD UINT32_MAX

/* Merges the records of each entity into one, in place: the records, in hash order first, are
 * merged one top-byte bucket at a time with a small index that stays in cache. Returns how
 * many records are left (one per entity, still in hash order). */
static size_t merge_records(cm_entity *records, size_t n, cm_table *distinct)
{
    size_t start[257], largest = 0, out = 0;
    order_by_hash(records, n, start);
    for (int p = 0; p < 256; p++)
        if (start[p + 1] - start[p] > largest)
            largest = start[p + 1] - start[p];
    size_t cap = 16;
    while (cap < 2 * largest)
        cap *= 2;
    uint32_t *index = cm_xmalloc(cap * sizeof *index);
    for (int p = 0; p < 256; p++) {
        size_t first = start[p], count = start[p + 1] - first, mask = 15;
        while (mask + 1 < 2 * count)
            mask = mask * 2 + 1;
        memset(index, 0xff, (mask + 1) * sizeof *index);
        for (size_t i = first; i < first + count; i++) {
            size_t slot = (size_t)entity_hash(records[i].key) & mask; /* low bits: the top */
            while (index[slot] != NO_RECORD &&                        /* byte is the bucket's */
                   !same_key(records[first + index[slot]].key, records[i].key))
                slot = (slot + 1) & mask;
            if (index[slot] == NO_RECORD) {
                index[slot] = (uint32_t)(i - first);
            } else {
                merge_entity(&records[first + index[slot]], &records[i], distinct);
                records[i].used = 0;
            }
        }
        for (size_t i = first; i < first + count; i++)
            if (records[i].used)
                records[out++] = records[i];
    }
    free(index);
    return out;
}

/* Merges records into one per entity in `table` (made here, sized for them). */
static void build_entities(cm_entity_table *table, cm_entity *records, size_t n, cm_table *distinct)
{
    size_t kept = merge_records(records, n, distinct);
    /* Counting only walks the records: they stay a plain array (the memory given back), and
       are indexed only if a lookup needs them (entities_index). */
    memset(table, 0, sizeof *table);
    table->slots = cm_xrealloc(records, (kept ? kept : 1) * sizeof *records);
    table->cap = table->count = kept;
    table->dense = 1;
}

/* Makes a plain array of records a table that lookups can use. */
static void entities_index(cm_entity_table *table)
{
    if (!table->dense)
        return;
    cm_entity_table indexed;
    entities_make(&indexed, table->count);
    for (size_t i = 0; i < table->count; i++)
        *entity_get(&indexed, table->slots[i].key, table->slots[i].key_len) = table->slots[i];
    entities_free(table);
    *table = indexed;
}

/* Merges the records of the cache into one per entity in `table`. The facts this makes (days
 * of another window) go into `distinct` before it moves to the owners. */
static void merge_cached(cm_entity_cache *cache, cm_entity_table *table, cm_table *distinct)
{
    cache_flush(cache);
    build_entities(table, cache->spilled, cache->nspilled, distinct);
    cache->spilled = NULL; /* the table has them now */
    cache->spilled_cap = 0;
    cache_free(cache);
}

/* Moves every record to its owner (the rank that owns its facts' keys) and merges the records
 * of one entity there into `table`; the facts this makes are the owner's. Collective. */
static void merge_owned(MPI_Comm comm, cm_entity_table *table, cm_table *distinct)
{
    int nranks;
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    if (nranks == 1) /* every record is on its owner already */
        return;
    cm_buffer *outgoing = cm_xcalloc((size_t)nranks, sizeof *outgoing);
    cm_buffer *incoming = cm_xcalloc((size_t)nranks, sizeof *incoming);
    for (size_t i = 0; i < table->cap; i++) {
        const cm_entity *entity = &table->slots[i];
        if (!entity->used)
            continue;
        cm_key key;
        fact_key(&key, entity, Q_ANY, NULL, 0);
        cm_buffer_append(&outgoing[cm_key_owner(key.bytes, key.len, nranks)], entity,
                         sizeof *entity);
    }
    entities_free(table);
    cm_exchange_buffers(comm, outgoing, incoming);
    size_t arriving = 0;
    for (int r = 0; r < nranks; r++)
        arriving += incoming[r].len / sizeof(cm_entity);
    cm_entity *records = cm_xmalloc((arriving ? arriving : 1) * sizeof *records);
    for (size_t r = 0, at = 0; r < (size_t)nranks; r++) {
        size_t count = incoming[r].len / sizeof(cm_entity);
        memcpy(records + at, incoming[r].data, count * sizeof(cm_entity));
        at += count;
        cm_buffer_free(&incoming[r]);
    }
    build_entities(table, records, arriving, distinct); /* the table keeps them */
    free(incoming);
    free(outgoing);
}

static void count_fact(cm_table *counts, char kind, int question, const void *group,
                       size_t group_len, int64_t n)
{
    if (n == 0)
        return;
    cm_key out;
    char head[2] = {kind, (char)question};
    cm_key_reset(&out);
    cm_key_add_text(&out, head, 2);
    if (group)
        cm_key_add_text(&out, group, group_len);
    cm_table_merge_row(counts, out.bytes, out.len, &n);
}

/* Day counts per 64-day window: a short list, as the data rarely spans more than two. */
typedef struct {
    int32_t window;
    int64_t counts[64];
} window_counts;

/* On each owner: counts the facts of its entity records. */
static void count_entities(const cm_entity_table *table, char kind, cm_table *counts)
{
    int64_t any = 0, types[3] = {0}, hours[24] = {0}, first_hours[25] = {0};
    window_counts *windows = NULL;
    size_t nwindows = 0;
    for (size_t i = 0; i < table->cap; i++) {
        const cm_entity *entity = &table->slots[i];
        if (!entity->used)
            continue;
        any++;
        for (int t = 0; t < 3; t++)
            types[t] += entity->types >> t & 1;
        for (int h = 0; h < 24; h++)
            hours[h] += entity->hours >> h & 1;
        first_hours[entity->first_hour]++;
        if (entity->window == NO_WINDOW)
            continue;
        size_t w = 0;
        while (w < nwindows && windows[w].window != entity->window)
            w++;
        if (w == nwindows) {
            windows = cm_xrealloc(windows, ++nwindows * sizeof *windows);
            memset(&windows[w], 0, sizeof windows[w]);
            windows[w].window = entity->window;
        }
        for (uint64_t days = entity->days; days; days &= days - 1)
            windows[w].counts[__builtin_ctzll(days)]++;
    }
    count_fact(counts, kind, Q_ANY, NULL, 0, any);
    for (int t = 0; t < 3; t++)
        count_fact(counts, kind, Q_TYPE, type_names[t], strlen(type_names[t]), types[t]);
    unsigned char group[8];
    if (kind == E_USER)
        for (int h = 0; h < 24; h++) {
            int_group(h, group);
            count_fact(counts, kind, Q_HOUR, group, 8, hours[h]);
            count_fact(counts, kind, Q_FIRST_HOUR, group, 8, first_hours[h]);
        }
    for (size_t w = 0; w < nwindows; w++)
        for (int bit = 0; bit < 64; bit++) {
            int_group((int64_t)windows[w].window * 64 + bit, group);
            count_fact(counts, kind, Q_DAY, group, 8, windows[w].counts[bit]);
        }
    free(windows);
}

/* On each owner: counts the facts records could not hold. A day fact that another rank's
 * record also has as a bit was counted with the record. */
static void count_distinct(const cm_table *distinct, cm_entity_table *users,
                           cm_entity_table *sessions, cm_table *counts)
{
    cm_key_reader reader;
    for (size_t i = 0; i < distinct->count; i++) {
        size_t len, entity_len, question_len, group_len = 0;
        const char *key = cm_table_key(distinct, i, &len);
        cm_key_reader_init(&reader, key, len);
        const char *entity = cm_key_next(&reader, &entity_len);
        const char *question = cm_key_next(&reader, &question_len);
        const char *group = cm_key_next(&reader, &group_len);
        if (question[0] == Q_DAY) {
            cm_entity_table *table = entity[0] == E_USER ? users : sessions;
            entities_index(table);
            uint64_t id[3];
            entity_key(id, entity[0], entity + 1, entity_len - 1);
            const cm_entity *record = table->cap ? &table->slots[entity_slot(table, id)] : NULL;
            int64_t day = cm_key_part_int(group);
            if (record && record->used && record->window == window_of(day) &&
                (record->days >> (day - (int64_t)record->window * 64) & 1))
                continue;
        }
        count_fact(counts, entity[0], question[0], group, group_len, 1);
    }
}

/* The group-by tables but days, from the (type, category_code, brand) items. */
static void expand_items(const cm_table *items, cm_table *groups)
{
    cm_key_reader reader;
    for (size_t i = 0; i < items->count; i++) {
        size_t len, type_len, code_len, brand_len;
        const char *key = cm_table_key(items, i, &len);
        const int64_t *values = cm_table_values(items, i);
        cm_key_reader_init(&reader, key, len);
        const char *type = cm_key_next(&reader, &type_len);
        const char *code = cm_key_next(&reader, &code_len);
        const char *brand = cm_key_next(&reader, &brand_len);
        cm_event event = {0};
        event.category_code = (cm_text){code, code_len};
        event.brand = (cm_text){brand, brand_len};
        cm_text category = cm_event_category(&event), product = cm_event_product(&event);
        const struct {
            char table;
            cm_text first, second;
        } groups_of[] = {
            {G_FUNNEL, {type, type_len}, {NULL, 0}},
            {G_CATEGORY, category, {NULL, 0}},
            {G_CATEGORY_BRAND, category, {brand, brand_len}},
            {G_CATEGORY_PRODUCT, category, product},
            {G_BRAND, {brand, brand_len}, {NULL, 0}},
        };
        for (size_t g = 0; g < sizeof groups_of / sizeof groups_of[0]; g++) {
            cm_key out;
            cm_key_reset(&out);
            cm_key_add_text(&out, &groups_of[g].table, 1);
            cm_key_add_text(&out, groups_of[g].first.ptr, groups_of[g].first.len);
            if (groups_of[g].second.ptr)
                cm_key_add_text(&out, groups_of[g].second.ptr, groups_of[g].second.len);
            cm_table_merge_row(groups, out.bytes, out.len, values);
        }
    }
}

static int64_t count_of(const cm_table *counts, char kind, char question, const char *group,
                        size_t group_len)
{
    cm_key key;
    char head[2] = {kind, question};
    cm_key_reset(&key);
    cm_key_add_text(&key, head, 2);
    if (group)
        cm_key_add_text(&key, group, group_len);
    const int64_t *row = cm_table_find(counts, key.bytes, key.len);
    return row ? row[0] : 0;
}

static void put_counts(cm_cell *cells, const int64_t *values)
{
    cells[0].num = values[V_VIEWS];
    cells[1].num = values[V_CARTS];
    cells[2].num = values[V_PURCHASES];
    cells[3].num = values[V_REVENUE];
}

static void build_tables(const cm_table *groups, const cm_table *counts,
                         const int64_t hours[24][V_NCOLS], cm_results *results)
{
    cm_key_reader reader;
    for (size_t i = 0; i < groups->count; i++) {
        size_t len, part_len[3] = {0, 0, 0};
        const char *key = cm_table_key(groups, i, &len);
        const int64_t *values = cm_table_values(groups, i);
        cm_key_reader_init(&reader, key, len);
        const char *id = cm_key_next(&reader, &part_len[0]);
        const char *first = cm_key_next(&reader, &part_len[1]);
        const char *second = cm_key_next(&reader, &part_len[2]);
        cm_cell *row;
        switch (id[0]) {
        case G_FUNNEL:
            row = cm_result_add_row(&results->tables[CM_T_FUNNEL]);
            row[0].text = cm_xstrndup(first, part_len[1]);
            row[1].num = values[V_EVENTS];
            row[2].num = count_of(counts, E_USER, Q_TYPE, first, part_len[1]);
            row[3].num = count_of(counts, E_SESSION, Q_TYPE, first, part_len[1]);
            break;
        case G_CATEGORY:
        case G_BRAND:
            row = cm_result_add_row(
                &results->tables[id[0] == G_CATEGORY ? CM_T_CATEGORIES : CM_T_BRANDS]);
            row[0].text = cm_xstrndup(first, part_len[1]);
            put_counts(row + 1, values);
            break;
        case G_CATEGORY_BRAND:
        case G_CATEGORY_PRODUCT:
            row = cm_result_add_row(
                &results->tables[id[0] == G_CATEGORY_BRAND ? CM_T_CATEGORY_BRANDS
                                                           : CM_T_CATEGORY_PRODUCTS]);
            row[0].text = cm_xstrndup(first, part_len[1]);
            row[1].text = cm_xstrndup(second, part_len[2]);
            put_counts(row + 2, values);
            break;
        case G_DAY: {
            char date[11];
            cm_date_format(cm_key_part_int(first) * 86400, date);
            row = cm_result_add_row(&results->tables[CM_T_DAYS]);
            row[0].text = cm_xstrdup(date);
            put_counts(row + 1, values);
            row[5].num = count_of(counts, E_USER, Q_DAY, first, part_len[1]);
            row[6].num = count_of(counts, E_SESSION, Q_DAY, first, part_len[1]);
            break;
        }
        }
    }

    int64_t cumulative = 0;
    for (int hour = 0; hour < 24; hour++) {
        cm_key hour_key;
        cm_key_reset(&hour_key);
        cm_key_add_int(&hour_key, hour);
        const char *group = (const char *)hour_key.bytes + 1;
        cm_cell *row = cm_result_add_row(&results->tables[CM_T_HOURS]);
        row[0].num = hour;
        put_counts(row + 1, hours[hour]);
        row[5].num = count_of(counts, E_USER, Q_HOUR, group, 8);
        cumulative += count_of(counts, E_USER, Q_FIRST_HOUR, group, 8);
        row[6].num = cumulative;
    }
    for (int t = 0; t < CM_NTABLES; t++)
        cm_result_sort(&results->tables[t]);
}

void cm_analytics_finish(MPI_Comm comm, cm_analytics *analytics, cm_results *results)
{
    int rank;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));

    /* Fixed-size arrays: one reduction each. */
    int64_t hours[24][V_NCOLS];
    int64_t first_time, last_time;
    CM_MPI_CHECK(comm,
                 MPI_Reduce(analytics->hours, hours, 24 * V_NCOLS, MPI_INT64_T, MPI_SUM, 0, comm));
    CM_MPI_CHECK(comm,
                 MPI_Reduce(&analytics->first_time, &first_time, 1, MPI_INT64_T, MPI_MIN, 0, comm));
    CM_MPI_CHECK(comm,
                 MPI_Reduce(&analytics->last_time, &last_time, 1, MPI_INT64_T, MPI_MAX, 0, comm));

    /* The group-by tables from the items, reduced to rank 0. */
    cm_table groups;
    cm_table_init(&groups, V_NCOLS, NULL);
    expand_items(&analytics->items, &groups);
    for (size_t i = 0; i < analytics->days.count; i++) {
        size_t len;
        const char *key = cm_table_key(&analytics->days, i, &len);
        cm_table_merge_row(&groups, key, len, cm_table_values(&analytics->days, i));
    }
    cm_table_free(&analytics->items);
    cm_table_free(&analytics->days);
    cm_table_reduce(comm, &groups);

    /* Entity records and the other facts go to their owners, are counted there, and the
     * counts reduce to rank 0. */
    cm_entity_table users, sessions, products;
    merge_cached(&analytics->users, &users, &analytics->distinct);
    merge_cached(&analytics->sessions, &sessions, &analytics->distinct);
    merge_cached(&analytics->products, &products, &analytics->distinct);
    cm_table_exchange(comm, &analytics->distinct);
    merge_owned(comm, &users, &analytics->distinct);
    merge_owned(comm, &sessions, &analytics->distinct);
    merge_owned(comm, &products, &analytics->distinct);
    cm_table counts;
    cm_table_init(&counts, 1, NULL);
    count_entities(&users, E_USER, &counts);
    count_entities(&sessions, E_SESSION, &counts);
    count_entities(&products, E_PRODUCT, &counts);
    count_distinct(&analytics->distinct, &users, &sessions, &counts);
    cm_table_free(&analytics->distinct);
    entities_free(&users);
    entities_free(&sessions);
    entities_free(&products);
    cm_table_reduce(comm, &counts);

    if (rank == 0) {
        build_tables(&groups, &counts, (const int64_t(*)[V_NCOLS])hours, results);
        cm_cell *summary = cm_result_add_row(&results->tables[CM_T_SUMMARY]);
        summary[0].num = results->rows_read;
        summary[1].num = results->rows_rejected;
        summary[2].num = count_of(&counts, E_USER, Q_ANY, NULL, 0);
        summary[3].num = count_of(&counts, E_SESSION, Q_ANY, NULL, 0);
        summary[4].num = count_of(&counts, E_PRODUCT, Q_ANY, NULL, 0);
        for (int hour = 0; hour < 24; hour++)
            summary[5].num += hours[hour][V_REVENUE];
        char time[24] = "";
        if (first_time != INT64_MAX)
            cm_time_format(first_time, time);
        summary[6].text = cm_xstrdup(time);
        time[0] = '\0';
        if (last_time != INT64_MIN)
            cm_time_format(last_time, time);
        summary[7].text = cm_xstrdup(time);
    }
    cm_table_free(&counts);
    cm_table_free(&groups);
}
