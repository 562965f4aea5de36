/* Unit tests of the keyed aggregate table, its serialised form and keys, and of result tables. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"
#include "clickmill/merge.h"
#include "clickmill/result.h"
#include "clickmill/table.h"

/* splitmix64, for reproducible random rows. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int64_t rng_value(uint64_t *state)
{
    return (int64_t)(rng_next(state) % 2000001) - 1000000;
}

static size_t key_name(char *out, size_t size, int k)
{
    return (size_t)snprintf(out, size, "key-%d", k);
}

/* ---- table: core ---- */

START_TEST(test_upsert_find)
{
    cm_table table;
    cm_table_init(&table, 2, NULL);
    ck_assert_ptr_null(cm_table_find(&table, "a", 1));

    int64_t *row = cm_table_upsert(&table, "apple", 5);
    ck_assert_int_eq(row[0], 0);
    ck_assert_int_eq(row[1], 0);
    row[0] = 7;
    row[1] = -3;
    row = cm_table_upsert(&table, "pear", 4);
    row[0] = 11;
    ck_assert_uint_eq(table.count, 2);

    row = cm_table_upsert(&table, "apple", 5); /* existing: no new entry, same values */
    ck_assert_uint_eq(table.count, 2);
    ck_assert_int_eq(row[0], 7);
    ck_assert_int_eq(row[1], -3);

    row = cm_table_find(&table, "pear", 4);
    ck_assert_ptr_nonnull(row);
    ck_assert_int_eq(row[0], 11);
    ck_assert_int_eq(row[1], 0);
    ck_assert_ptr_null(cm_table_find(&table, "pea", 3));
    ck_assert_ptr_null(cm_table_find(&table, "pears", 5));
    ck_assert_ptr_null(cm_table_find(&table, "apple", 4));

    size_t len;
    const char *key = cm_table_key(&table, 0, &len);
    ck_assert_uint_eq(len, 5);
    ck_assert_int_eq(memcmp(key, "apple", 5), 0);
    key = cm_table_key(&table, 1, &len);
    ck_assert_uint_eq(len, 4);
    ck_assert_int_eq(memcmp(key, "pear", 4), 0);
    ck_assert_int_eq(cm_table_values(&table, 1)[0], 11);
    cm_table_free(&table);
}
END_TEST

START_TEST(test_many_keys)
{
    enum { NKEYS = 30000 };
    cm_table table;
    char name[32];
    cm_table_init(&table, 1, NULL);
    for (int k = 0; k < NKEYS; k++) {
        size_t len = key_name(name, sizeof name, k);
        cm_table_upsert(&table, name, len)[0] = (int64_t)k * 3;
    }
    /* Every key a second time, adding 1: no duplicates appear while the table grows. */
    for (int k = 0; k < NKEYS; k++) {
        size_t len = key_name(name, sizeof name, k);
        cm_table_upsert(&table, name, len)[0] += 1;
    }
    ck_assert_uint_eq(table.count, NKEYS);
    for (int k = 0; k < NKEYS; k++) {
        size_t len = key_name(name, sizeof name, k);
        int64_t *row = cm_table_find(&table, name, len);
        ck_assert_msg(row != NULL, "key %s lost", name);
        ck_assert_int_eq(row[0], (int64_t)k * 3 + 1);
        size_t stored_len;
        const char *stored = cm_table_key(&table, (size_t)k, &stored_len);
        ck_assert_uint_eq(stored_len, len);
        ck_assert_int_eq(memcmp(stored, name, len), 0);
    }
    for (int k = NKEYS; k < NKEYS + 1000; k++) {
        size_t len = key_name(name, sizeof name, k);
        ck_assert_ptr_null(cm_table_find(&table, name, len));
    }
    cm_table_free(&table);
}
END_TEST

START_TEST(test_binary_and_empty_keys)
{
    cm_table table;
    cm_table_init(&table, 1, NULL);
    cm_table_upsert(&table, "", 0)[0] = 1;
    cm_table_upsert(&table, "\0", 1)[0] = 2;
    cm_table_upsert(&table, "\0\0", 2)[0] = 3;
    cm_table_upsert(&table, "a\0b", 3)[0] = 4;
    cm_table_upsert(&table, "a\0c", 3)[0] = 5;
    ck_assert_uint_eq(table.count, 5);
    ck_assert_int_eq(cm_table_find(&table, "", 0)[0], 1);
    ck_assert_int_eq(cm_table_find(&table, "\0", 1)[0], 2);
    ck_assert_int_eq(cm_table_find(&table, "\0\0", 2)[0], 3);
    ck_assert_int_eq(cm_table_find(&table, "a\0b", 3)[0], 4);
    ck_assert_int_eq(cm_table_find(&table, "a\0c", 3)[0], 5);
    ck_assert_ptr_null(cm_table_find(&table, "a", 1));
    cm_table_free(&table);
}
END_TEST

START_TEST(test_merge_ops)
{
    const cm_merge_op ops[3] = {CM_MERGE_SUM, CM_MERGE_MIN, CM_MERGE_MAX};
    cm_table table;
    cm_table_init(&table, 3, ops);
    int64_t *row = cm_table_upsert(&table, "k", 1);
    ck_assert_int_eq(row[0], 0);
    ck_assert_int_eq(row[1], INT64_MAX);
    ck_assert_int_eq(row[2], INT64_MIN);

    const int64_t a[3] = {5, 5, 5}, b[3] = {-2, -2, -2}, c[3] = {10, 10, 10};
    cm_table_merge_row(&table, "x", 1, a);
    cm_table_merge_row(&table, "x", 1, b);
    cm_table_merge_row(&table, "x", 1, c);
    row = cm_table_find(&table, "x", 1);
    ck_assert_int_eq(row[0], 13);
    ck_assert_int_eq(row[1], -2);
    ck_assert_int_eq(row[2], 10);

    /* One row merged into a fresh key is that row. */
    cm_table_merge_row(&table, "y", 1, b);
    row = cm_table_find(&table, "y", 1);
    ck_assert_int_eq(row[0], -2);
    ck_assert_int_eq(row[1], -2);
    ck_assert_int_eq(row[2], -2);
    cm_table_free(&table);
}
END_TEST

START_TEST(test_serialize_format)
{
    cm_table table;
    cm_buffer buffer = {0};
    cm_table_init(&table, 2, NULL);
    int64_t *row = cm_table_upsert(&table, "ab", 2);
    row[0] = 5;
    row[1] = -1;
    cm_table_serialize_entry(&table, 0, &buffer);
    ck_assert_uint_eq(buffer.len, 4 + 2 + 2 * 8);
    uint32_t key_len;
    int64_t values[2];
    memcpy(&key_len, buffer.data, 4);
    memcpy(values, buffer.data + 6, sizeof values);
    ck_assert_uint_eq(key_len, 2);
    ck_assert_int_eq(memcmp(buffer.data + 4, "ab", 2), 0);
    ck_assert_int_eq(values[0], 5);
    ck_assert_int_eq(values[1], -1);
    cm_buffer_free(&buffer);
    ck_assert_ptr_null(buffer.data);
    ck_assert_uint_eq(buffer.len, 0);
    cm_table_free(&table);
}
END_TEST

/* Brute-force aggregates over key indices, the reference for the table. */
enum { DOMAIN = 300, NCOLS = 3 };
typedef struct {
    int seen[DOMAIN];
    int64_t values[DOMAIN][NCOLS];
} reference;

static const cm_merge_op test_ops[NCOLS] = {CM_MERGE_SUM, CM_MERGE_MIN, CM_MERGE_MAX};

static void reference_add(reference *ref, int k, const int64_t *values)
{
    if (!ref->seen[k]) {
        ref->seen[k] = 1;
        memcpy(ref->values[k], values, sizeof ref->values[k]);
        return;
    }
    ref->values[k][0] += values[0];
    if (values[1] < ref->values[k][1])
        ref->values[k][1] = values[1];
    if (values[2] > ref->values[k][2])
        ref->values[k][2] = values[2];
}

static void assert_matches(const cm_table *table, const reference *ref)
{
    size_t distinct = 0;
    char name[32];
    for (int k = 0; k < DOMAIN; k++) {
        size_t len = key_name(name, sizeof name, k);
        int64_t *row = cm_table_find(table, name, len);
        if (!ref->seen[k]) {
            ck_assert_msg(row == NULL, "key %s present but never added", name);
            continue;
        }
        distinct++;
        ck_assert_msg(row != NULL, "key %s missing", name);
        for (int c = 0; c < NCOLS; c++)
            ck_assert_msg(row[c] == ref->values[k][c], "key %s column %d: %lld, expected %lld",
                          name, c, (long long)row[c], (long long)ref->values[k][c]);
    }
    ck_assert_uint_eq(table->count, distinct);
}

static void serialize_all(const cm_table *table, cm_buffer *out)
{
    for (size_t i = 0; i < table->count; i++)
        cm_table_serialize_entry(table, i, out);
}

START_TEST(test_serialize_round_trip)
{
    uint64_t seed = 7;
    cm_table table, copy;
    reference *ref = calloc(1, sizeof *ref);
    char name[32];
    cm_table_init(&table, NCOLS, test_ops);
    for (int i = 0; i < 5000; i++) {
        int k = (int)(rng_next(&seed) % DOMAIN);
        int64_t v = rng_value(&seed);
        int64_t values[NCOLS] = {v, v, v};
        size_t len = key_name(name, sizeof name, k);
        cm_table_merge_row(&table, name, len, values);
        reference_add(ref, k, values);
    }
    assert_matches(&table, ref);

    cm_buffer buffer = {0};
    serialize_all(&table, &buffer);
    cm_table_init(&copy, NCOLS, test_ops);
    ck_assert_int_eq(cm_table_merge_serialized(&copy, buffer.data, buffer.len), 0);
    assert_matches(&copy, ref);
    /* Same insertion order as the original. */
    for (size_t i = 0; i < table.count; i++) {
        size_t a_len, b_len;
        const char *a = cm_table_key(&table, i, &a_len);
        const char *b = cm_table_key(&copy, i, &b_len);
        ck_assert_uint_eq(a_len, b_len);
        ck_assert_int_eq(memcmp(a, b, a_len), 0);
    }
    /* An empty buffer merges nothing. */
    ck_assert_int_eq(cm_table_merge_serialized(&copy, NULL, 0), 0);
    assert_matches(&copy, ref);
    cm_buffer_free(&buffer);
    cm_table_free(&copy);
    cm_table_free(&table);
    free(ref);
}
END_TEST

START_TEST(test_merge_partials_equals_direct)
{
    /* Rows dealt to several partial tables, whose serialisations are merged in one table, must
     * give what aggregating all rows at once gives. */
    enum { NPARTS = 4 };
    uint64_t seed = 20191101;
    cm_table parts[NPARTS], merged;
    reference *ref = calloc(1, sizeof *ref);
    char name[32];
    for (int p = 0; p < NPARTS; p++)
        cm_table_init(&parts[p], NCOLS, test_ops);
    for (int i = 0; i < 20000; i++) {
        int k = (int)(rng_next(&seed) % DOMAIN);
        int p = (int)(rng_next(&seed) % NPARTS);
        int64_t values[NCOLS] = {rng_value(&seed), rng_value(&seed), rng_value(&seed)};
        size_t len = key_name(name, sizeof name, k);
        cm_table_merge_row(&parts[p], name, len, values);
        reference_add(ref, k, values);
    }
    cm_table_init(&merged, NCOLS, test_ops);
    for (int p = 0; p < NPARTS; p++) {
        cm_buffer buffer = {0};
        serialize_all(&parts[p], &buffer);
        ck_assert_int_eq(cm_table_merge_serialized(&merged, buffer.data, buffer.len), 0);
        cm_buffer_free(&buffer);
    }
    assert_matches(&merged, ref);

    /* All serialisations concatenated in one buffer merge the same. */
    cm_buffer all = {0};
    cm_table again;
    cm_table_init(&again, NCOLS, test_ops);
    for (int p = NPARTS - 1; p >= 0; p--)
        serialize_all(&parts[p], &all);
    ck_assert_int_eq(cm_table_merge_serialized(&again, all.data, all.len), 0);
    assert_matches(&again, ref);
    cm_buffer_free(&all);
    cm_table_free(&again);
    cm_table_free(&merged);
    for (int p = 0; p < NPARTS; p++)
        cm_table_free(&parts[p]);
    free(ref);
}
END_TEST

START_TEST(test_set_table)
{
    /* With no columns the table is a set of keys. */
    cm_table set, copy;
    char name[32];
    cm_table_init(&set, 0, NULL);
    for (int i = 0; i < 3000; i++) {
        size_t len = key_name(name, sizeof name, i % 700);
        cm_table_upsert(&set, name, len);
    }
    ck_assert_uint_eq(set.count, 700);
    ck_assert_ptr_nonnull(cm_table_find(&set, "key-699", 7));
    ck_assert_ptr_null(cm_table_find(&set, "key-700", 7));

    cm_buffer buffer = {0};
    serialize_all(&set, &buffer);
    size_t expected_len = 0;
    for (int k = 0; k < 700; k++)
        expected_len += 4 + key_name(name, sizeof name, k);
    ck_assert_uint_eq(buffer.len, expected_len);
    cm_table_init(&copy, 0, NULL);
    cm_table_upsert(&copy, "key-5", 5);
    cm_table_upsert(&copy, "other", 5);
    ck_assert_int_eq(cm_table_merge_serialized(&copy, buffer.data, buffer.len), 0);
    ck_assert_uint_eq(copy.count, 701);
    ck_assert_ptr_nonnull(cm_table_find(&copy, "other", 5));
    ck_assert_ptr_nonnull(cm_table_find(&copy, "key-0", 5));
    cm_buffer_free(&buffer);
    cm_table_free(&copy);
    cm_table_free(&set);
}
END_TEST

START_TEST(test_key_parts_round_trip)
{
    cm_key key;
    cm_key_reset(&key);
    cm_key_add_text(&key, "ab", 2);
    cm_key_add_int(&key, 1);
    /* Hand-encoded: a length byte and the bytes; 8 and the integer big-endian. */
    static const unsigned char expected[] = {2, 'a', 'b', 8, 0, 0, 0, 0, 0, 0, 0, 1};
    ck_assert_uint_eq(key.len, sizeof expected);
    ck_assert_int_eq(memcmp(key.bytes, expected, sizeof expected), 0);

    cm_key_add_int(&key, -5);
    cm_key_add_text(&key, "", 0);
    cm_key_add_text(&key, "electronics", 11);
    cm_key_add_int(&key, INT64_MAX);

    cm_key_reader reader;
    size_t len;
    const char *part;
    cm_key_reader_init(&reader, key.bytes, key.len);
    part = cm_key_next(&reader, &len);
    ck_assert_ptr_nonnull(part);
    ck_assert_uint_eq(len, 2);
    ck_assert_int_eq(memcmp(part, "ab", 2), 0);
    part = cm_key_next(&reader, &len);
    ck_assert_uint_eq(len, 8);
    ck_assert_int_eq(cm_key_part_int(part), 1);
    part = cm_key_next(&reader, &len);
    ck_assert_uint_eq(len, 8);
    ck_assert_int_eq(cm_key_part_int(part), -5);
    part = cm_key_next(&reader, &len);
    ck_assert_ptr_nonnull(part);
    ck_assert_uint_eq(len, 0);
    part = cm_key_next(&reader, &len);
    ck_assert_uint_eq(len, 11);
    ck_assert_int_eq(memcmp(part, "electronics", 11), 0);
    part = cm_key_next(&reader, &len);
    ck_assert_uint_eq(len, 8);
    ck_assert_int_eq(cm_key_part_int(part), INT64_MAX);
    ck_assert_ptr_null(cm_key_next(&reader, &len));
}
END_TEST

START_TEST(test_key_part_int_values)
{
    static const int64_t values[] = {0,
                                     1,
                                     -1,
                                     255,
                                     256,
                                     -256,
                                     INT32_MAX,
                                     INT32_MIN,
                                     1LL << 40,
                                     -(1LL << 40),
                                     1234567890123LL,
                                     INT64_MAX,
                                     INT64_MIN,
                                     INT64_MIN + 1};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        cm_key key;
        cm_key_reset(&key);
        cm_key_add_int(&key, values[i]);
        ck_assert_uint_eq(key.len, 9);
        ck_assert_int_eq(cm_key_part_int((const char *)key.bytes + 1), values[i]);
    }
    /* Hand-encoded: -1 is eight 0xFF bytes; 256 is 00 .. 01 00. */
    static const char minus_one[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    static const char two_five_six[8] = {0, 0, 0, 0, 0, 0, 1, 0};
    ck_assert_int_eq(cm_key_part_int(minus_one), -1);
    ck_assert_int_eq(cm_key_part_int(two_five_six), 256);

    /* For non-negative values byte order is numeric order. */
    static const int64_t ordered[] = {0, 1, 255, 256, 65535, 65536, 1LL << 40, INT64_MAX};
    for (size_t i = 1; i < sizeof ordered / sizeof ordered[0]; i++) {
        cm_key a, b;
        cm_key_reset(&a);
        cm_key_reset(&b);
        cm_key_add_int(&a, ordered[i - 1]);
        cm_key_add_int(&b, ordered[i]);
        ck_assert_int_lt(memcmp(a.bytes, b.bytes, 9), 0);
    }
}
END_TEST

START_TEST(test_key_owner)
{
    char other_second[64];
    for (int nranks = 1; nranks <= 16; nranks++) {
        int used[16] = {0};
        for (int k = 0; k < 2000; k++) {
            cm_key key, other;
            char name[32];
            size_t len = key_name(name, sizeof name, k);
            cm_key_reset(&key);
            cm_key_add_text(&key, name, len);
            cm_key_add_int(&key, k);
            int owner = cm_key_owner(key.bytes, key.len, nranks);
            ck_assert_int_ge(owner, 0);
            ck_assert_int_lt(owner, nranks);
            ck_assert_int_eq(cm_key_owner(key.bytes, key.len, nranks), owner);
            used[owner] = 1;

            /* Same first part, different later parts: same owner. */
            cm_key_reset(&other);
            cm_key_add_text(&other, name, len);
            int n = snprintf(other_second, sizeof other_second, "brand-%d", k * 7);
            cm_key_add_text(&other, other_second, (size_t)n);
            cm_key_add_int(&other, -k);
            ck_assert_int_eq(cm_key_owner(other.bytes, other.len, nranks), owner);
            cm_key_reset(&other);
            cm_key_add_text(&other, name, len);
            ck_assert_int_eq(cm_key_owner(other.bytes, other.len, nranks), owner);
        }
        /* 2000 different first parts reach every rank. */
        for (int r = 0; r < nranks; r++)
            ck_assert_msg(used[r], "no key owned by rank %d of %d", r, nranks);
    }
    /* Integer first parts too. */
    cm_key a, b;
    cm_key_reset(&a);
    cm_key_reset(&b);
    cm_key_add_int(&a, 541312140);
    cm_key_add_text(&a, "x", 1);
    cm_key_add_int(&b, 541312140);
    cm_key_add_int(&b, 99);
    ck_assert_int_eq(cm_key_owner(a.bytes, a.len, 7), cm_key_owner(b.bytes, b.len, 7));
}
END_TEST

/* ---- table: limits ---- */

START_TEST(test_truncated_buffer)
{
    cm_table table;
    cm_buffer buffer = {0};
    cm_table_init(&table, 2, NULL);
    cm_table_upsert(&table, "first", 5)[0] = 1;
    cm_table_upsert(&table, "second", 6)[1] = 2;
    serialize_all(&table, &buffer);
    size_t first_entry = 4 + 5 + 16;
    ck_assert_uint_eq(buffer.len, first_entry + 4 + 6 + 16);
    for (size_t cut = 1; cut < buffer.len; cut++) {
        cm_table target;
        cm_table_init(&target, 2, NULL);
        int rc = cm_table_merge_serialized(&target, buffer.data, cut);
        if (cut == first_entry)
            ck_assert_int_eq(rc, 0);
        else
            ck_assert_msg(rc == CM_EINPUT, "a buffer cut at %zu of %zu bytes gave %d", cut,
                          buffer.len, rc);
        cm_table_free(&target);
    }
    /* A key length pointing far past the end. */
    char bogus[4 + 16] = {0};
    uint32_t huge = UINT32_MAX;
    memcpy(bogus, &huge, 4);
    cm_table target;
    cm_table_init(&target, 2, NULL);
    ck_assert_int_eq(cm_table_merge_serialized(&target, bogus, sizeof bogus), CM_EINPUT);
    /* A buffer for a table with more columns is not a whole number of entries here. */
    cm_table wide;
    cm_table_init(&wide, 1, NULL);
    ck_assert_int_eq(cm_table_merge_serialized(&wide, buffer.data, first_entry), CM_EINPUT);
    cm_table_free(&wide);
    cm_table_free(&target);
    cm_buffer_free(&buffer);
    cm_table_free(&table);
}
END_TEST

START_TEST(test_clear_keeps_columns)
{
    const cm_merge_op ops[2] = {CM_MERGE_MAX, CM_MERGE_MIN};
    cm_table table;
    cm_table_init(&table, 2, ops);
    for (int i = 0; i < 500; i++) {
        char name[32];
        size_t len = key_name(name, sizeof name, i);
        cm_table_upsert(&table, name, len)[0] = i;
    }
    cm_table_clear(&table);
    ck_assert_uint_eq(table.count, 0);
    ck_assert_int_eq(table.ncols, 2);
    ck_assert_ptr_null(cm_table_find(&table, "key-1", 5));
    int64_t *row = cm_table_upsert(&table, "key-1", 5);
    ck_assert_int_eq(row[0], INT64_MIN);
    ck_assert_int_eq(row[1], INT64_MAX);
    ck_assert_uint_eq(table.count, 1);
    cm_table_free(&table);
}
END_TEST

START_TEST(test_key_limits)
{
    cm_key key;
    char text[400];
    memset(text, 't', sizeof text);
    /* Text over 255 bytes is cut to 255. */
    cm_key_reset(&key);
    cm_key_add_text(&key, text, 300);
    ck_assert_uint_eq(key.len, 256);
    ck_assert_uint_eq(key.bytes[0], 255);

    /* Parts that do not fit CM_KEY_MAX are left out, never written past the end. */
    cm_key_reset(&key);
    for (int i = 0; i < 10; i++)
        cm_key_add_text(&key, text, 255);
    ck_assert_uint_le(key.len, CM_KEY_MAX);
    ck_assert_uint_eq(key.len, 4 * 256);
    cm_key_add_int(&key, 5);
    ck_assert_uint_eq(key.len, 4 * 256);

    /* A part whose length runs past the end ends the reading. */
    static const unsigned char broken[] = {2, 'a', 'b', 9, 1, 2};
    cm_key_reader reader;
    size_t len;
    cm_key_reader_init(&reader, broken, sizeof broken);
    ck_assert_ptr_nonnull(cm_key_next(&reader, &len));
    ck_assert_ptr_null(cm_key_next(&reader, &len));
    cm_key_reader_init(&reader, broken, 0);
    ck_assert_ptr_null(cm_key_next(&reader, &len));

    /* An empty key still has an owner in range. */
    ck_assert_int_eq(cm_key_owner("", 0, 1), 0);
    int owner = cm_key_owner("", 0, 5);
    ck_assert_int_ge(owner, 0);
    ck_assert_int_lt(owner, 5);
    /* A key whose first length byte runs past its end. */
    owner = cm_key_owner(broken + 3, 3, 5);
    ck_assert_int_ge(owner, 0);
    ck_assert_int_lt(owner, 5);
}
END_TEST

/* ---- result: core ---- */

static void free_text_cells(cm_result *table)
{
    for (size_t r = 0; r < table->nrows; r++)
        for (int c = 0; c < table->ncols; c++)
            if (table->cols[c].type == CM_CELL_TEXT)
                free(cm_result_row(table, r)[c].text);
    free(table->cells);
}

START_TEST(test_sort_text_byte_order)
{
    static const cm_column_def cols[] = {{"brand", CM_CELL_TEXT}, {"views", CM_CELL_INT}};
    cm_result table = {.name = "brands", .ncols = 2, .nkeys = 1, .cols = cols};
    /* Byte order: upper case before lower case, and UTF-8 (0xC3 ..) after ASCII. */
    static const char *const sorted[] = {"",  "B",    "Zeta", "a",           "acme, inc",
                                         "b", "cafe", "cafz", "caf\xc3\xa9", "\xc3\xa9"};
    enum { N = sizeof sorted / sizeof sorted[0] };
    static const int shuffled[N] = {7, 2, 9, 0, 5, 8, 3, 1, 6, 4};
    for (int i = 0; i < N; i++) {
        cm_cell *row = cm_result_add_row(&table);
        row[0].text = strdup(sorted[shuffled[i]]);
        row[1].num = shuffled[i] * 10;
    }
    ck_assert_uint_eq(table.nrows, N);
    cm_result_sort(&table);
    for (int i = 0; i < N; i++) {
        cm_cell *row = cm_result_row(&table, (size_t)i);
        ck_assert_str_eq(row[0].text, sorted[i]);
        ck_assert_int_eq(row[1].num, i * 10); /* the row moved whole */
    }
    free_text_cells(&table);
}
END_TEST

START_TEST(test_sort_numbers_and_two_keys)
{
    static const cm_column_def cols[] = {{"hour", CM_CELL_INT}, {"users", CM_CELL_INT}};
    cm_result table = {.name = "hours", .ncols = 2, .nkeys = 1, .cols = cols};
    static const int64_t sorted[] = {INT64_MIN, -5, 0, 2, 9, 10, 100, INT64_MAX};
    static const int shuffled[] = {5, 3, 7, 0, 6, 2, 4, 1};
    for (int i = 0; i < 8; i++) {
        cm_cell *row = cm_result_add_row(&table);
        row[0].num = sorted[shuffled[i]];
        row[1].num = shuffled[i];
    }
    cm_result_sort(&table);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(cm_result_row(&table, (size_t)i)[0].num, sorted[i]);
        ck_assert_int_eq(cm_result_row(&table, (size_t)i)[1].num, i);
    }
    free(table.cells);

    /* Two text keys: by the first, then the second. */
    static const cm_column_def pair_cols[] = {
        {"category", CM_CELL_TEXT}, {"brand", CM_CELL_TEXT}, {"revenue", CM_CELL_MONEY}};
    cm_result pairs = {.name = "category_brands", .ncols = 3, .nkeys = 2, .cols = pair_cols};
    static const char *const rows[][2] = {
        {"b", "a"}, {"a", "z"}, {"a", ""}, {"b", "A"}, {"ab", "a"}};
    static const char *const want[][2] = {
        {"a", ""}, {"a", "z"}, {"ab", "a"}, {"b", "A"}, {"b", "a"}};
    for (int i = 0; i < 5; i++) {
        cm_cell *row = cm_result_add_row(&pairs);
        row[0].text = strdup(rows[i][0]);
        row[1].text = strdup(rows[i][1]);
    }
    cm_result_sort(&pairs);
    for (int i = 0; i < 5; i++) {
        ck_assert_str_eq(cm_result_row(&pairs, (size_t)i)[0].text, want[i][0]);
        ck_assert_str_eq(cm_result_row(&pairs, (size_t)i)[1].text, want[i][1]);
    }
    free_text_cells(&pairs);
}
END_TEST

START_TEST(test_cell_format)
{
    static const cm_column_def money = {"revenue", CM_CELL_MONEY};
    static const cm_column_def count = {"views", CM_CELL_INT};
    static const cm_column_def text = {"brand", CM_CELL_TEXT};
    static const struct {
        int64_t cents;
        const char *text;
    } cases[] = {
        {0, "0.00"},
        {5, "0.05"},
        {10, "0.10"},
        {99, "0.99"},
        {100, "1.00"},
        {257407, "2574.07"},
        {-150, "-1.50"},
        {-5, "-0.05"},
        {-100, "-1.00"},
        {100000000000LL, "1000000000.00"},
        {INT64_MAX, "92233720368547758.07"},
        {INT64_MIN, "-92233720368547758.08"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cm_cell cell = {.num = cases[i].cents};
        cm_cell_format(&money, cell, out, sizeof out);
        ck_assert_str_eq(out, cases[i].text);
    }
    cm_cell cell = {.num = -42};
    cm_cell_format(&count, cell, out, sizeof out);
    ck_assert_str_eq(out, "-42");
    cell.num = INT64_MAX;
    cm_cell_format(&count, cell, out, sizeof out);
    ck_assert_str_eq(out, "9223372036854775807");
    char brand[] = "say \"hi\"";
    cell.text = brand;
    cm_cell_format(&text, cell, out, sizeof out);
    ck_assert_str_eq(out, "say \"hi\"");
}
END_TEST

START_TEST(test_results_contract)
{
    /* The columns of docs/data-contract.md, in its order. */
    static const char *const expected[CM_NTABLES][9] = {
        [CM_T_SUMMARY] = {"rows", "rows_rejected", "users", "sessions", "products", "revenue",
                          "first_event", "last_event"},
        [CM_T_FUNNEL] = {"event_type", "events", "users", "sessions"},
        [CM_T_CATEGORIES] = {"category", "views", "carts", "purchases", "revenue"},
        [CM_T_CATEGORY_BRANDS] = {"category", "brand", "views", "carts", "purchases", "revenue"},
        [CM_T_CATEGORY_PRODUCTS] = {"category", "product", "views", "carts", "purchases",
                                    "revenue"},
        [CM_T_BRANDS] = {"brand", "views", "carts", "purchases", "revenue"},
        [CM_T_DAYS] = {"date", "views", "carts", "purchases", "revenue", "users", "sessions"},
        [CM_T_HOURS] = {"hour", "views", "carts", "purchases", "revenue", "users",
                        "users_cumulative"},
    };
    static const char *const names[CM_NTABLES] = {
        "summary",           "funnel", "categories", "category_brands",
        "category_products", "brands", "days",       "hours"};
    static const int nkeys[CM_NTABLES] = {0, 1, 1, 2, 2, 1, 1, 1};
    cm_results results;
    cm_results_init(&results);
    for (int t = 0; t < CM_NTABLES; t++) {
        const cm_result *table = &results.tables[t];
        ck_assert_str_eq(table->name, names[t]);
        ck_assert_int_eq(table->nkeys, nkeys[t]);
        ck_assert_uint_eq(table->nrows, 0);
        int ncols = 0;
        while (ncols < 9 && expected[t][ncols])
            ncols++;
        ck_assert_int_eq(table->ncols, ncols);
        for (int c = 0; c < ncols; c++) {
            ck_assert_str_eq(table->cols[c].name, expected[t][c]);
            ck_assert_int_eq(cm_result_column(table, expected[t][c]), c);
            int money = strcmp(expected[t][c], "revenue") == 0;
            ck_assert_int_eq(table->cols[c].type == CM_CELL_MONEY, money);
        }
        ck_assert_int_eq(cm_result_column(table, "no_such_column"), -1);
    }
    /* Rows with text cells are freed by cm_results_free. */
    cm_cell *row = cm_result_add_row(&results.tables[CM_T_BRANDS]);
    row[0].text = strdup("acme");
    ck_assert_int_eq(row[1].num, 0);
    cm_results_free(&results);
    ck_assert_uint_eq(results.tables[CM_T_BRANDS].nrows, 0);
}
END_TEST

/* ---- result: limits ---- */

START_TEST(test_result_growth_and_small_sorts)
{
    static const cm_column_def cols[] = {{"hour", CM_CELL_INT}};
    cm_result table = {.name = "t", .ncols = 1, .nkeys = 1, .cols = cols};
    cm_result_sort(&table); /* empty */
    ck_assert_uint_eq(table.nrows, 0);
    cm_result_add_row(&table)[0].num = 3;
    cm_result_sort(&table); /* one row */
    ck_assert_int_eq(cm_result_row(&table, 0)[0].num, 3);
    /* Many rows in descending order: the buffer grows and the sort reverses them. */
    for (int i = 1000; i > 0; i--)
        cm_result_add_row(&table)[0].num = i * 2;
    ck_assert_uint_eq(table.nrows, 1001);
    cm_result_sort(&table);
    int64_t previous = INT64_MIN;
    for (size_t r = 0; r < table.nrows; r++) {
        int64_t value = cm_result_row(&table, r)[0].num;
        ck_assert_int_ge(value, previous);
        previous = value;
    }
    ck_assert_int_eq(cm_result_row(&table, 0)[0].num, 2);
    ck_assert_int_eq(cm_result_row(&table, 1)[0].num, 3);
    ck_assert_int_eq(cm_result_row(&table, 1000)[0].num, 2000);
    free(table.cells);

    /* A table without keys keeps its rows in insertion order. */
    static const cm_column_def plain[] = {{"rows", CM_CELL_INT}};
    cm_result summary = {.name = "s", .ncols = 1, .nkeys = 0, .cols = plain};
    cm_result_add_row(&summary)[0].num = 9;
    cm_result_add_row(&summary)[0].num = 1;
    cm_result_sort(&summary);
    ck_assert_int_eq(cm_result_row(&summary, 0)[0].num, 9);
    ck_assert_int_eq(cm_result_row(&summary, 1)[0].num, 1);
    free(summary.cells);
}
END_TEST

START_TEST(test_cell_format_small_buffer)
{
    static const cm_column_def money = {"revenue", CM_CELL_MONEY};
    static const cm_column_def text = {"brand", CM_CELL_TEXT};
    char out[5];
    cm_cell cell = {.num = 257407};
    cm_cell_format(&money, cell, out, sizeof out);
    ck_assert_str_eq(out, "2574"); /* cut, still terminated */
    cell.text = NULL;
    cm_cell_format(&text, cell, out, sizeof out);
    ck_assert_str_eq(out, "");
}
END_TEST

static Suite *table_suite(void)
{
    Suite *suite = suite_create("table");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_upsert_find);
    tcase_add_test(core, test_many_keys);
    tcase_add_test(core, test_binary_and_empty_keys);
    tcase_add_test(core, test_merge_ops);
    tcase_add_test(core, test_serialize_format);
    tcase_add_test(core, test_serialize_round_trip);
    tcase_add_test(core, test_merge_partials_equals_direct);
    tcase_add_test(core, test_set_table);
    tcase_add_test(core, test_key_parts_round_trip);
    tcase_add_test(core, test_key_part_int_values);
    tcase_add_test(core, test_key_owner);
    suite_add_tcase(suite, core);

    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_truncated_buffer);
    tcase_add_test(limits, test_clear_keeps_columns);
    tcase_add_test(limits, test_key_limits);
    suite_add_tcase(suite, limits);
    return suite;
}

static Suite *result_suite(void)
{
    Suite *suite = suite_create("result");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_sort_text_byte_order);
    tcase_add_test(core, test_sort_numbers_and_two_keys);
    tcase_add_test(core, test_cell_format);
    tcase_add_test(core, test_results_contract);
    suite_add_tcase(suite, core);

    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_result_growth_and_small_sorts);
    tcase_add_test(limits, test_cell_format_small_buffer);
    suite_add_tcase(suite, limits);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(table_suite());
    srunner_add_suite(runner, result_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
