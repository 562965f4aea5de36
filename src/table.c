/* The keyed aggregate table behind every group-by, and its serialised form. */
#include "clickmill/table.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"

static int64_t identity(cm_merge_op op)
{
    return op == CM_MERGE_MIN ? INT64_MAX : op == CM_MERGE_MAX ? INT64_MIN : 0;
}

uint64_t cm_hash(const void *data, size_t len)
{
    /* A multiply-and-mix hash over 8-byte words, finished with the murmur3 avalanche. */
    const unsigned char *bytes = data;
    uint64_t hash = 0x9E3779B97F4A7C15ULL ^ (len * 0xC2B2AE3D27D4EB4FULL);
    while (len >= 8) {
        uint64_t word;
        memcpy(&word, bytes, 8);
        hash = (hash ^ (word * 0x87C37B91114253D5ULL)) * 0x4CF5AD432745937FULL;
        hash ^= hash >> 31;
        bytes += 8;
        len -= 8;
    }
    uint64_t tail = 0;
    for (size_t i = 0; i < len; i++)
        tail |= (uint64_t)bytes[i] << (8 * i);
    hash = (hash ^ (tail * 0x87C37B91114253D5ULL)) * 0x4CF5AD432745937FULL;
    hash ^= hash >> 33;
    hash *= 0xFF51AFD7ED558CCDULL;
    hash ^= hash >> 33;
    hash *= 0xC4CEB9FE1A85EC53ULL;
    hash ^= hash >> 33;
    return hash;
}

void cm_table_init(cm_table *table, int ncols, const cm_merge_op *ops)
{
    memset(table, 0, sizeof *table);
    table->ncols = ncols;
    for (int c = 0; c < ncols; c++)
        table->ops[c] = ops ? ops[c] : CM_MERGE_SUM;
}

void cm_table_free(cm_table *table)
{
    free(table->slots);
    free(table->hashes);
    free(table->key_off);
    free(table->key_len);
    free(table->values);
    free(table->keys);
    int ncols = table->ncols;
    cm_merge_op ops[CM_TABLE_MAXCOLS];
    memcpy(ops, table->ops, sizeof ops);
    cm_table_init(table, ncols, ops);
}

void cm_table_clear(cm_table *table)
{
    cm_table_free(table);
}

#define SLOT_ENTRY(slot) ((uint32_t)(slot))
#define SLOT_TAG(hash)   ((hash) >> 32 << 32)

static void grow_slots(cm_table *table)
{
    size_t cap = table->slots_cap ? table->slots_cap * 2 : 64;
    uint64_t *slots = cm_xcalloc(cap, sizeof *slots);
    for (size_t i = 0; i < table->count; i++) {
        size_t s = table->hashes[i] & (cap - 1);
        while (slots[s])
            s = (s + 1) & (cap - 1);
        slots[s] = SLOT_TAG(table->hashes[i]) | (uint64_t)(i + 1);
    }
    free(table->slots);
    table->slots = slots;
    table->slots_cap = cap;
}

static size_t find_slot(const cm_table *table, const void *key, size_t len, uint64_t hash)
{
    size_t mask = table->slots_cap - 1;
    size_t s = hash & mask;
    uint64_t tag = SLOT_TAG(hash);
    for (;;) {
        uint64_t slot = table->slots[s];
        if (!slot)
            return s;
        if ((slot & ~(uint64_t)UINT32_MAX) == tag) {
            size_t i = SLOT_ENTRY(slot) - 1;
            if (table->hashes[i] == hash && table->key_len[i] == len &&
                (len == 0 || memcmp(table->keys + table->key_off[i], key, len) == 0))
                return s;
        }
        s = (s + 1) & mask;
    }
}

int64_t *cm_table_find(const cm_table *table, const void *key, size_t len)
{
    if (!table->count)
        return NULL;
    size_t s = find_slot(table, key, len, cm_hash(key, len));
    uint32_t entry = SLOT_ENTRY(table->slots[s]);
    return entry ? table->values + (size_t)(entry - 1) * (size_t)table->ncols : NULL;
}

int64_t *cm_table_upsert(cm_table *table, const void *key, size_t len)
{
    if ((table->count + 1) * 4 > table->slots_cap * 3)
        grow_slots(table);
    uint64_t hash = cm_hash(key, len);
    size_t s = find_slot(table, key, len, hash);
    if (table->slots[s])
        return table->values + (size_t)(SLOT_ENTRY(table->slots[s]) - 1) * (size_t)table->ncols;

    if (table->count == UINT32_MAX - 1)
        cm_xmalloc((size_t)-1); /* beyond 4 billion keys: report and abort */
    if (table->count == table->entries_cap) {
        size_t cap = table->entries_cap ? table->entries_cap * 2 : 64;
        table->hashes = cm_xrealloc(table->hashes, cap * sizeof *table->hashes);
        table->key_off = cm_xrealloc(table->key_off, cap * sizeof *table->key_off);
        table->key_len = cm_xrealloc(table->key_len, cap * sizeof *table->key_len);
        table->values = cm_xrealloc(table->values, cap * (size_t)table->ncols * sizeof(int64_t));
        table->entries_cap = cap;
    }
    if (table->keys_len + len > table->keys_cap) {
        size_t cap = table->keys_cap ? table->keys_cap * 2 : 4096;
        while (cap < table->keys_len + len)
            cap *= 2;
        table->keys = cm_xrealloc(table->keys, cap);
        table->keys_cap = cap;
    }
    size_t i = table->count++;
    if (len)
        memcpy(table->keys + table->keys_len, key, len);
    table->hashes[i] = hash;
    table->key_off[i] = table->keys_len;
    table->key_len[i] = (uint32_t)len;
    table->keys_len += len;
    int64_t *values = table->values + i * (size_t)table->ncols;
    for (int c = 0; c < table->ncols; c++)
        values[c] = identity(table->ops[c]);
    table->slots[s] = SLOT_TAG(hash) | (uint64_t)(i + 1);
    return values;
}

void cm_table_merge_row(cm_table *table, const void *key, size_t len, const int64_t *values)
{
    int64_t *row = cm_table_upsert(table, key, len);
    for (int c = 0; c < table->ncols; c++) {
        switch (table->ops[c]) {
        case CM_MERGE_SUM: row[c] += values[c]; break;
        case CM_MERGE_MIN: row[c] = values[c] < row[c] ? values[c] : row[c]; break;
        case CM_MERGE_MAX: row[c] = values[c] > row[c] ? values[c] : row[c]; break;
        }
    }
}

const char *cm_table_key(const cm_table *table, size_t i, size_t *len)
{
    *len = table->key_len[i];
    return table->keys + table->key_off[i];
}

int64_t *cm_table_values(const cm_table *table, size_t i)
{
    return table->values + i * (size_t)table->ncols;
}

void cm_buffer_printf(cm_buffer *buffer, const char *format, ...)
{
    char small[512];
    va_list args;
    va_start(args, format);
    int len = vsnprintf(small, sizeof small, format, args);
    va_end(args);
    if (len < 0)
        return;
    if ((size_t)len < sizeof small) {
        cm_buffer_append(buffer, small, (size_t)len);
        return;
    }
    char *large = cm_xmalloc((size_t)len + 1);
    va_start(args, format);
    vsnprintf(large, (size_t)len + 1, format, args);
    va_end(args);
    cm_buffer_append(buffer, large, (size_t)len);
    free(large);
}

void cm_buffer_text(cm_buffer *buffer, const char *text)
{
    cm_buffer_append(buffer, text, strlen(text));
}

void cm_buffer_append(cm_buffer *buffer, const void *data, size_t len)
{
    if (len == 0)
        return;
    if (buffer->len + len > buffer->cap) {
        size_t cap = buffer->cap ? buffer->cap * 2 : 4096;
        while (cap < buffer->len + len)
            cap *= 2;
        buffer->data = cm_xrealloc(buffer->data, cap);
        buffer->cap = cap;
    }
    memcpy(buffer->data + buffer->len, data, len);
    buffer->len += len;
}

void cm_buffer_free(cm_buffer *buffer)
{
    free(buffer->data);
    memset(buffer, 0, sizeof *buffer);
}

void cm_table_serialize_entry(const cm_table *table, size_t i, cm_buffer *out)
{
    uint32_t len = table->key_len[i];
    cm_buffer_append(out, &len, sizeof len);
    cm_buffer_append(out, table->keys + table->key_off[i], len);
    cm_buffer_append(out, cm_table_values(table, i), (size_t)table->ncols * sizeof(int64_t));
}

int cm_table_merge_serialized(cm_table *table, const char *data, size_t len)
{
    size_t at = 0;
    size_t values_size = (size_t)table->ncols * sizeof(int64_t);
    int64_t values[CM_TABLE_MAXCOLS];
    while (at < len) {
        uint32_t key_len;
        if (len - at < sizeof key_len)
            return CM_EINPUT;
        memcpy(&key_len, data + at, sizeof key_len);
        at += sizeof key_len;
        if (len - at < (size_t)key_len + values_size)
            return CM_EINPUT;
        const char *key = data + at;
        at += key_len;
        memcpy(values, data + at, values_size);
        at += values_size;
        cm_table_merge_row(table, key, key_len, values);
    }
    return 0;
}

void cm_key_add_text(cm_key *key, const char *text, size_t len)
{
    if (len > 255)
        len = 255;
    if (key->len + 1 + len > CM_KEY_MAX)
        return;
    key->bytes[key->len++] = (unsigned char)len;
    memcpy(key->bytes + key->len, text, len);
    key->len += len;
}

void cm_key_add_int(cm_key *key, int64_t value)
{
    if (key->len + 9 > CM_KEY_MAX)
        return;
    uint64_t bits = (uint64_t)value;
    key->bytes[key->len++] = 8;
    for (int i = 7; i >= 0; i--)
        key->bytes[key->len++] = (unsigned char)(bits >> (8 * i));
}

void cm_key_reader_init(cm_key_reader *reader, const void *key, size_t len)
{
    reader->at = key;
    reader->end = reader->at + len;
}

const char *cm_key_next(cm_key_reader *reader, size_t *len)
{
    if (reader->at >= reader->end)
        return NULL;
    size_t part_len = *reader->at++;
    if (part_len > (size_t)(reader->end - reader->at))
        return NULL;
    const char *part = (const char *)reader->at;
    reader->at += part_len;
    *len = part_len;
    return part;
}

int64_t cm_key_part_int(const char *part)
{
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++)
        bits = bits << 8 | (unsigned char)part[i];
    return (int64_t)bits;
}
