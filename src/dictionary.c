/* Global dictionaries of categorical values and the (category_code, brand) items of the data. */
#include "clickmill/dictionary.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"
#include "clickmill/event.h"
#include "clickmill/merge.h"

const char *const cm_dictionary_names[CM_NDICTS] = {"category", "product", "brand"};

void cm_dictionary_init(cm_dictionary *dict, char **values, int64_t *events, size_t count)
{
    dict->count = count;
    dict->values = values;
    dict->events = events;
    cm_table_init(&dict->index, 1, NULL);
    for (size_t i = 0; i < count; i++)
        *cm_table_upsert(&dict->index, values[i], strlen(values[i])) = (int64_t)i;
}

void cm_dictionary_free(cm_dictionary *dict)
{
    for (size_t i = 0; i < dict->count; i++)
        free(dict->values[i]);
    free(dict->values);
    free(dict->events);
    cm_table_free(&dict->index);
    memset(dict, 0, sizeof *dict);
}

uint32_t cm_dictionary_lookup(const cm_dictionary *dict, const char *text, size_t len)
{
    const int64_t *id = cm_table_find(&dict->index, text, len);
    return id ? (uint32_t)*id : (uint32_t)dict->count;
}

static void derive(const char *code, size_t code_len, const char *brand, size_t brand_len,
                   cm_text out[CM_NDICTS])
{
    cm_event event = {0};
    event.category_code = (cm_text){code, code_len};
    event.brand = (cm_text){brand, brand_len};
    out[CM_DICT_CATEGORY] = cm_event_category(&event);
    out[CM_DICT_PRODUCT] = cm_event_product(&event);
    out[CM_DICT_BRAND] = event.brand;
}

void cm_dictionary_ids(const cm_dictionary dicts[CM_NDICTS], const char *category_code,
                       size_t code_len, const char *brand, size_t brand_len,
                       uint32_t ids[CM_NDICTS])
{
    cm_text texts[CM_NDICTS];
    derive(category_code, code_len, brand, brand_len, texts);
    for (int d = 0; d < CM_NDICTS; d++)
        ids[d] = cm_dictionary_lookup(&dicts[d], texts[d].ptr, texts[d].len);
}

void cm_dictionary_copy(cm_dictionary *to, const cm_dictionary *from)
{
    char **values = cm_xmalloc((from->count ? from->count : 1) * sizeof *values);
    int64_t *events = cm_xmalloc((from->count ? from->count : 1) * sizeof *events);
    for (size_t i = 0; i < from->count; i++) {
        values[i] = cm_xstrdup(from->values[i]);
        events[i] = from->events[i];
    }
    cm_dictionary_init(to, values, events, from->count);
}

void cm_dictionary_serialize(const cm_dictionary *dict, cm_buffer *out)
{
    uint64_t count = dict->count;
    cm_buffer_append(out, &count, sizeof count);
    for (size_t i = 0; i < dict->count; i++) {
        uint32_t len = (uint32_t)strlen(dict->values[i]);
        cm_buffer_append(out, &len, sizeof len);
        cm_buffer_append(out, dict->values[i], len);
        cm_buffer_append(out, &dict->events[i], sizeof dict->events[i]);
    }
}

int cm_dictionary_deserialize(cm_dictionary *dict, const char *data, size_t len, size_t *used)
{
    uint64_t count;
    size_t at = 0;
    if (len < sizeof count)
        return CM_EINPUT;
    memcpy(&count, data, sizeof count);
    at += sizeof count;
    if (count > len) /* every value takes at least 12 bytes */
        return CM_EINPUT;
    char **values = cm_xcalloc(count ? count : 1, sizeof *values);
    int64_t *events = cm_xcalloc(count ? count : 1, sizeof *events);
    for (uint64_t i = 0; i < count; i++) {
        uint32_t value_len;
        if (len - at < sizeof value_len)
            goto fail;
        memcpy(&value_len, data + at, sizeof value_len);
        at += sizeof value_len;
        if (len - at < (size_t)value_len + sizeof(int64_t))
            goto fail;
        values[i] = cm_xstrndup(data + at, value_len);
        at += value_len;
        memcpy(&events[i], data + at, sizeof events[i]);
        at += sizeof events[i];
    }
    cm_dictionary_init(dict, values, events, count);
    *used = at;
    return 0;
fail:
    for (uint64_t i = 0; i < count; i++)
        free(values[i]);
    free(values);
    free(events);
    return CM_EINPUT;
}

typedef struct {
    const char *text;
    size_t len;
    int64_t events;
} value_count;

static int by_frequency(const void *a, const void *b)
{
    const value_count *x = a, *y = b;
    if (x->events != y->events)
        return x->events > y->events ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->text, y->text, n);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

typedef struct {
    const char *key;
    size_t len;
    int64_t events;
} item_entry;

static int by_key(const void *a, const void *b)
{
    const item_entry *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* The two parts of an item key. */
static void item_parts(const char *key, size_t len, cm_text *code, cm_text *brand)
{
    cm_key_reader reader;
    cm_key_reader_init(&reader, key, len);
    code->ptr = cm_key_next(&reader, &code->len);
    brand->ptr = cm_key_next(&reader, &brand->len);
}

/* Rank 0: the dictionaries ordered by frequency over all events. */
static void build_dictionaries(const item_entry *items, size_t nitems, cm_dictionary *dicts)
{
    for (int d = 0; d < CM_NDICTS; d++) {
        cm_table counts;
        cm_table_init(&counts, 1, NULL);
        for (size_t i = 0; i < nitems; i++) {
            if (items[i].events == 0) /* an item the counts leave out, seen only in testing */
                continue;
            cm_text code, brand, texts[CM_NDICTS];
            item_parts(items[i].key, items[i].len, &code, &brand);
            derive(code.ptr, code.len, brand.ptr, brand.len, texts);
            *cm_table_upsert(&counts, texts[d].ptr, texts[d].len) += items[i].events;
        }
        value_count *order = cm_xmalloc((counts.count ? counts.count : 1) * sizeof *order);
        for (size_t i = 0; i < counts.count; i++) {
            order[i].text = cm_table_key(&counts, i, &order[i].len);
            order[i].events = cm_table_values(&counts, i)[0];
        }
        qsort(order, counts.count, sizeof *order, by_frequency);
        char **values = cm_xmalloc((counts.count ? counts.count : 1) * sizeof *values);
        int64_t *events = cm_xmalloc((counts.count ? counts.count : 1) * sizeof *events);
        for (size_t i = 0; i < counts.count; i++) {
            values[i] = cm_xstrndup(order[i].text, order[i].len);
            events[i] = order[i].events;
        }
        cm_dictionary_init(&dicts[d], values, events, counts.count);
        free(order);
        cm_table_free(&counts);
    }
}

void cm_vocabulary_build(MPI_Comm comm, const cm_table *local_items, const int64_t *counts,
                         const cm_dictionary fixed[CM_NDICTS], cm_vocabulary *vocab,
                         uint32_t **local_map)
{
    int rank;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    memset(vocab, 0, sizeof *vocab);

    /* Every item with its event count, on rank 0. */
    cm_table all;
    cm_table_init(&all, 1, NULL);
    for (size_t i = 0; i < local_items->count; i++) {
        size_t len;
        const char *key = cm_table_key(local_items, i, &len);
        cm_table_merge_row(&all, key, len, counts ? &counts[i] : cm_table_values(local_items, i));
    }
    cm_table_reduce(comm, &all);

    /* Rank 0 orders the items by key (their global ids) and, for training, builds the
       dictionaries; one buffer carries both to every rank. */
    cm_buffer message = {0};
    if (rank == 0) {
        item_entry *items = cm_xmalloc((all.count ? all.count : 1) * sizeof *items);
        for (size_t i = 0; i < all.count; i++) {
            items[i].key = cm_table_key(&all, i, &items[i].len);
            items[i].events = cm_table_values(&all, i)[0];
        }
        qsort(items, all.count, sizeof *items, by_key);
        uint64_t count = all.count;
        cm_buffer_append(&message, &count, sizeof count);
        for (size_t i = 0; i < all.count; i++) {
            uint32_t len = (uint32_t)items[i].len;
            cm_buffer_append(&message, &len, sizeof len);
            cm_buffer_append(&message, items[i].key, len);
        }
        if (!fixed) {
            cm_dictionary dicts[CM_NDICTS];
            build_dictionaries(items, all.count, dicts);
            for (int d = 0; d < CM_NDICTS; d++) {
                cm_dictionary_serialize(&dicts[d], &message);
                cm_dictionary_free(&dicts[d]);
            }
        }
        free(items);
    }
    cm_table_free(&all);
    cm_bcast_buffer(comm, &message, 0);

    /* Every rank: the items in global order, their ids, and the map from local items. */
    const char *at = message.data, *end = message.data + message.len;
    uint64_t nitems;
    memcpy(&nitems, at, sizeof nitems);
    at += sizeof nitems;
    cm_table global;
    cm_table_init(&global, 1, NULL);
    const char *item_keys = at;
    for (uint64_t i = 0; i < nitems; i++) {
        uint32_t len;
        memcpy(&len, at, sizeof len);
        at += sizeof len;
        *cm_table_upsert(&global, at, len) = (int64_t)i;
        at += len;
    }
    for (int d = 0; d < CM_NDICTS; d++) {
        if (fixed) {
            cm_dictionary_copy(&vocab->dicts[d], &fixed[d]);
        } else {
            size_t used;
            if (cm_dictionary_deserialize(&vocab->dicts[d], at, (size_t)(end - at), &used) != 0)
                cm_mpi_fail(comm, MPI_ERR_TRUNCATE, "reading the broadcast dictionaries", __FILE__,
                            __LINE__);
            at += used;
        }
    }
    vocab->nitems = nitems;
    vocab->item_ids = cm_xmalloc((nitems ? nitems : 1) * sizeof *vocab->item_ids);
    vocab->item_category_hash =
        cm_xmalloc((nitems ? nitems : 1) * sizeof *vocab->item_category_hash);
    at = item_keys;
    for (uint64_t i = 0; i < nitems; i++) {
        uint32_t len;
        memcpy(&len, at, sizeof len);
        at += sizeof len;
        cm_text code, brand;
        item_parts(at, len, &code, &brand);
        cm_dictionary_ids(vocab->dicts, code.ptr, code.len, brand.ptr, brand.len,
                          vocab->item_ids[i]);
        cm_text texts[CM_NDICTS];
        derive(code.ptr, code.len, brand.ptr, brand.len, texts);
        vocab->item_category_hash[i] =
            cm_hash(texts[CM_DICT_CATEGORY].ptr, texts[CM_DICT_CATEGORY].len);
        at += len;
    }
    uint32_t *map = cm_xmalloc((local_items->count ? local_items->count : 1) * sizeof *map);
    for (size_t i = 0; i < local_items->count; i++) {
        size_t len;
        const char *key = cm_table_key(local_items, i, &len);
        map[i] = (uint32_t)*cm_table_find(&global, key, len);
    }
    *local_map = map;
    cm_table_free(&global);
    cm_buffer_free(&message);
}

void cm_vocabulary_free(cm_vocabulary *vocab)
{
    for (int d = 0; d < CM_NDICTS; d++)
        cm_dictionary_free(&vocab->dicts[d]);
    free(vocab->item_ids);
    free(vocab->item_category_hash);
    memset(vocab, 0, sizeof *vocab);
}
