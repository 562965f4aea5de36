/* A keyed aggregate table: byte-string keys, each with a fixed row of 64-bit counters. */
#ifndef CLICKMILL_TABLE_H
#define CLICKMILL_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define CM_TABLE_MAXCOLS 8
#define CM_KEY_MAX       1024

/* How two values of one column combine when rows with the same key meet. */
typedef enum { CM_MERGE_SUM, CM_MERGE_MIN, CM_MERGE_MAX } cm_merge_op;

/* An open-addressing hash table. Keys are copied into the table; values are int64 columns that
 * start at the identity of their merge op (0, INT64_MAX or INT64_MIN). A table with no columns is
 * a set. Every group-by of clickmill is one of these, and all merge the same way. */
typedef struct {
    int ncols;
    cm_merge_op ops[CM_TABLE_MAXCOLS];
    size_t count;     /* entries */
    size_t slots_cap; /* a power of two */
    uint64_t *slots;  /* low 32 bits: entry index + 1 (0 is empty); high 32: the hash's top bits,
                         so most probes settle without touching the entry */
    uint64_t *hashes; /* per entry */
    uint64_t *key_off;
    uint32_t *key_len;
    int64_t *values; /* count * ncols */
    size_t entries_cap;
    char *keys;
    size_t keys_len, keys_cap;
} cm_table;

/* Sets up an empty table with `ncols` columns merged by ops (NULL: all sums). Local. */
void cm_table_init(cm_table *table, int ncols, const cm_merge_op *ops);
void cm_table_free(cm_table *table);
void cm_table_clear(cm_table *table);

/* The value row of a key, inserted (at the identity values) if absent. The pointer is valid
 * until the next insertion. Local. */
int64_t *cm_table_upsert(cm_table *table, const void *key, size_t len);

/* The value row of a key, or NULL. Local. */
int64_t *cm_table_find(const cm_table *table, const void *key, size_t len);

/* Combines one row into the table with the merge ops. Local. */
void cm_table_merge_row(cm_table *table, const void *key, size_t len, const int64_t *values);

/* Entry i's key and values, for 0 <= i < count, in insertion order. Local. */
const char *cm_table_key(const cm_table *table, size_t i, size_t *len);
int64_t *cm_table_values(const cm_table *table, size_t i);

/* The serialised form: for each entry a uint32 key length, the key, then ncols int64 values.
 * cm_table_serialize appends entries [from, to) to a growing buffer; cm_table_merge_serialized
 * merges such a buffer into a table with the same columns. Local. */
typedef struct {
    char *data;
    size_t len, cap;
} cm_buffer;

void cm_buffer_append(cm_buffer *buffer, const void *data, size_t len);
void cm_buffer_free(cm_buffer *buffer);
/* Appends formatted text (printf) to a buffer; cm_buffer_text appends a string. */
void cm_buffer_printf(cm_buffer *buffer, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void cm_buffer_text(cm_buffer *buffer, const char *text);
void cm_table_serialize_entry(const cm_table *table, size_t i, cm_buffer *out);
/* Returns 0, or CM_EINPUT if the buffer is not a whole number of entries. */
int cm_table_merge_serialized(cm_table *table, const char *data, size_t len);

/* A 64-bit hash of bytes. Local. */
uint64_t cm_hash(const void *data, size_t len);

/* Composite keys: a sequence of length-prefixed parts. The first part is what cm_table_exchange
 * partitions on. */
typedef struct {
    unsigned char bytes[CM_KEY_MAX];
    size_t len;
} cm_key;

static inline void cm_key_reset(cm_key *key)
{
    key->len = 0;
}
/* Adds a text part (at most 255 bytes; longer text is cut, which the row limits never allow). */
void cm_key_add_text(cm_key *key, const char *text, size_t len);
/* Adds an integer part, big-endian so that byte order is numeric order for non-negatives. */
void cm_key_add_int(cm_key *key, int64_t value);

/* Reads the parts back: returns the next part's bytes and length, or NULL at the end. */
typedef struct {
    const unsigned char *at, *end;
} cm_key_reader;

void cm_key_reader_init(cm_key_reader *reader, const void *key, size_t len);
const char *cm_key_next(cm_key_reader *reader, size_t *len);
int64_t cm_key_part_int(const char *part);

#endif
