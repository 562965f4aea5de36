/* Categorical values with ids that every rank and the model agree on. */
#ifndef CLICKMILL_DICTIONARY_H
#define CLICKMILL_DICTIONARY_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "clickmill/table.h"

/* The categorical features: the derived category, the derived product type, the brand. */
enum { CM_DICT_CATEGORY = 0, CM_DICT_PRODUCT = 1, CM_DICT_BRAND = 2, CM_NDICTS = 3 };

extern const char *const cm_dictionary_names[CM_NDICTS];

/* Values in id order: the most frequent first (ties by byte order). A value that is not in the
 * dictionary gets the id `count`, "unseen", which sorts after the rarest value. */
typedef struct {
    size_t count;
    char **values;   /* NUL-terminated, owned */
    int64_t *events; /* how many events had the value when the dictionary was built */
    cm_table index;  /* value -> id (one column) */
} cm_dictionary;

/* Takes ownership of values and events (count entries each, in id order) and indexes them.
 * Local. */
void cm_dictionary_init(cm_dictionary *dict, char **values, int64_t *events, size_t count);
void cm_dictionary_free(cm_dictionary *dict);

/* The id of a value, or dict->count when it is unseen. Local. */
uint32_t cm_dictionary_lookup(const cm_dictionary *dict, const char *text, size_t len);

/* The three ids of a (category_code, brand) pair: the derived category and product type, and
 * the brand. Local. */
void cm_dictionary_ids(const cm_dictionary dicts[CM_NDICTS], const char *category_code,
                       size_t code_len, const char *brand, size_t brand_len,
                       uint32_t ids[CM_NDICTS]);

/* The dictionaries and every (category_code, brand) pair seen in the data, with its ids. */
typedef struct {
    cm_dictionary dicts[CM_NDICTS];
    size_t nitems;
    uint32_t (*item_ids)[CM_NDICTS]; /* per global item */
    uint64_t *item_category_hash;    /* per global item: cm_hash of its derived category */
} cm_vocabulary;

/* Builds the vocabulary from the pairs every rank saw (a table keyed (category_code, brand),
 * entry i being the rank's item i) and their counts: counts[i] for item i, or the table's one
 * column when counts is NULL. Items counted 0 everywhere get global ids but add no value to the
 * dictionaries. With `fixed` (a model's dictionaries, copied) the dictionaries are those;
 * without, they are built from the counts on rank 0 and broadcast. *local_map (allocated, one
 * entry per local item, caller frees) gives each local item's global id. Collective. */
void cm_vocabulary_build(MPI_Comm comm, const cm_table *local_items, const int64_t *counts,
                         const cm_dictionary fixed[CM_NDICTS], cm_vocabulary *vocab,
                         uint32_t **local_map);
void cm_vocabulary_free(cm_vocabulary *vocab);

/* Copies a dictionary. Local. */
void cm_dictionary_copy(cm_dictionary *to, const cm_dictionary *from);

/* Appends the dictionary's values and counts to a buffer, and reads them back (returns 0, or
 * CM_EINPUT when the bytes are not a dictionary). Local. */
void cm_dictionary_serialize(const cm_dictionary *dict, cm_buffer *out);
int cm_dictionary_deserialize(cm_dictionary *dict, const char *data, size_t len, size_t *used);

#endif
