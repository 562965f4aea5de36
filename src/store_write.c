/* Making an event store: rows as columns, global dictionaries, the collective write, append. */
#include "clickmill/store_write.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "clickmill/error.h"
#include "clickmill/event.h"
#include "clickmill/h5.h"
#include "clickmill/merge.h"
#include "clickmill/output.h"
#include "clickmill/shuffle.h"
#include "clickmill/store.h"
#include "clickmill/version.h"

/* Rows per chunk of every column, at most (the reader's block). */
#define CHUNK_ROWS 65536

enum { T_TYPE = 't', T_PAIR = 'p', T_SESSION = 's' };

void cm_store_columns_init(cm_store_columns *columns, int nfiles)
{
    memset(columns, 0, sizeof *columns);
    cm_table_init(&columns->texts, 1, NULL);
    columns->nfiles = nfiles;
    columns->file_rows = cm_xcalloc((size_t)(nfiles > 0 ? nfiles : 1), sizeof(int64_t));
}

void cm_store_columns_free(cm_store_columns *c)
{
    free(c->time);
    free(c->product_id);
    free(c->category_id);
    free(c->price);
    free(c->user_id);
    free(c->type);
    free(c->pair);
    free(c->session);
    free(c->session_text);
    cm_table_free(&c->texts);
    free(c->file_rows);
    memset(c, 0, sizeof *c);
}

static void columns_grow(cm_store_columns *c)
{
    size_t cap = c->cap ? c->cap * 2 : 65536;
    c->time = cm_xrealloc(c->time, cap * sizeof *c->time);
    c->product_id = cm_xrealloc(c->product_id, cap * sizeof *c->product_id);
    c->category_id = cm_xrealloc(c->category_id, cap * sizeof *c->category_id);
    c->price = cm_xrealloc(c->price, cap * sizeof *c->price);
    c->user_id = cm_xrealloc(c->user_id, cap * sizeof *c->user_id);
    c->type = cm_xrealloc(c->type, cap * sizeof *c->type);
    c->pair = cm_xrealloc(c->pair, cap * sizeof *c->pair);
    c->session = cm_xrealloc(c->session, cap * 16);
    c->session_text = cm_xrealloc(c->session_text, cap * sizeof *c->session_text);
    c->cap = cap;
}

/* The per-rank id of a text key: its index in the table. */
static uint32_t text_id(cm_table *texts, char kind, const cm_text *a, const cm_text *b)
{
    cm_key key;
    cm_key_reset(&key);
    cm_key_add_text(&key, &kind, 1);
    cm_key_add_text(&key, a->ptr, a->len);
    if (b)
        cm_key_add_text(&key, b->ptr, b->len);
    int64_t *values = cm_table_upsert(texts, key.bytes, key.len);
    return (uint32_t)(values - texts->values); /* one column: the row's index */
}

int cm_store_columns_add(void *ctx, const cm_event *event)
{
    cm_store_columns *c = ctx;
    if (c->texts.count >= INT32_MAX)
        return CM_ERANGE;
    if (c->count == c->cap)
        columns_grow(c);
    size_t i = c->count++;
    c->file_rows[event->file]++;
    c->time[i] = event->time;
    c->product_id[i] = event->product_id;
    c->category_id[i] = event->category_id;
    c->price[i] = event->price_cents;
    c->user_id[i] = event->user_id;
    c->type[i] = text_id(&c->texts, T_TYPE, &event->type_name, NULL);
    c->pair[i] = text_id(&c->texts, T_PAIR, &event->category_code, &event->brand);
    cm_session_id id;
    cm_session_id_of_event(&id, event);
    if (id.kind == CM_SESSION_UUID) {
        memcpy(c->session + 16 * i, id.bytes, 16);
        c->session_text[i] = -1;
    } else {
        memset(c->session + 16 * i, 0, 16);
        c->session_text[i] = (int32_t)text_id(&c->texts, T_SESSION, &event->user_session, NULL);
    }
    return 0;
}

/* ---- global dictionaries ---- */

/* A dictionary is a cm_table of texts in id order (an entry's index is its id). */
static uint32_t dict_add(cm_table *dict, const char *text, size_t len)
{
    return (uint32_t)(cm_table_upsert(dict, text, len) - dict->values);
}

static uint32_t dict_find(const cm_table *dict, const char *text, size_t len)
{
    const int64_t *values = cm_table_find(dict, text, len);
    return values ? (uint32_t)(values - dict->values) : UINT32_MAX;
}

static int compare_texts(const void *a, const void *b)
{
    const cm_text *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->ptr, y->ptr, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Adds the texts not yet in the dictionary, in byte order. */
static void dict_extend(cm_table *dict, cm_text *texts, size_t n)
{
    qsort(texts, n, sizeof *texts, compare_texts);
    for (size_t i = 0; i < n; i++)
        if (dict_find(dict, texts[i].ptr, texts[i].len) == UINT32_MAX)
            dict_add(dict, texts[i].ptr, texts[i].len);
}

/* The texts of a per-rank texts key, one per dictionary it feeds: an event type, a session,
 * or a (category_code, brand) pair with the category and product derived from it. Returns
 * the dictionaries fed, as bits (1 << CM_SD_*). */
static unsigned key_texts(const char *key, size_t len, cm_text texts[CM_SD_N])
{
    cm_key_reader reader;
    size_t kind_len;
    cm_text first, second;
    cm_key_reader_init(&reader, key, len);
    const char *kind = cm_key_next(&reader, &kind_len);
    first.ptr = cm_key_next(&reader, &first.len);
    second.ptr = cm_key_next(&reader, &second.len);
    if (!second.ptr)
        second = (cm_text){"", 0};
    if (kind[0] == T_TYPE) {
        texts[CM_SD_TYPE] = first;
        return 1u << CM_SD_TYPE;
    }
    if (kind[0] == T_SESSION) {
        texts[CM_SD_SESSION] = first;
        return 1u << CM_SD_SESSION;
    }
    cm_event event;
    memset(&event, 0, sizeof event);
    event.category_code = texts[CM_SD_CODE] = first;
    event.brand = texts[CM_SD_BRAND] = second;
    texts[CM_SD_CATEGORY] = cm_event_category(&event);
    texts[CM_SD_PRODUCT] = cm_event_product(&event);
    return 1u << CM_SD_CODE | 1u << CM_SD_BRAND | 1u << CM_SD_CATEGORY | 1u << CM_SD_PRODUCT;
}

/* Rank 0: the dictionaries after this ingest: the existing entries in place, the new ones
 * sorted after them. Returns 0, or CM_EINPUT when an append brings a new event type. */
static int extend_dictionaries(const cm_table *all, cm_table dicts[CM_SD_N], int append, char *err,
                               size_t err_size)
{
    size_t cap = all->count + 1, n[CM_SD_N] = {0};
    cm_text *found[CM_SD_N];
    for (int d = 0; d < CM_SD_N; d++)
        found[d] = cm_xcalloc(cap, sizeof *found[d]);
    for (size_t i = 0; i < all->count; i++) {
        size_t len;
        const char *key = cm_table_key(all, i, &len);
        cm_text texts[CM_SD_N];
        unsigned fed = key_texts(key, len, texts);
        for (int d = 0; d < CM_SD_N; d++)
            if (fed >> d & 1)
                found[d][n[d]++] = texts[d];
    }
    int rc = 0;
    if (!append || dicts[CM_SD_TYPE].count == 0) {
        /* A new store: the three types of the analysis first, whether or not they occur. */
        static const char *const first_types[3] = {"view", "cart", "purchase"};
        for (int t = 0; t < 3; t++)
            dict_add(&dicts[CM_SD_TYPE], first_types[t], strlen(first_types[t]));
    } else {
        for (size_t i = 0; i < n[CM_SD_TYPE] && rc == 0; i++)
            if (dict_find(&dicts[CM_SD_TYPE], found[CM_SD_TYPE][i].ptr, found[CM_SD_TYPE][i].len) ==
                UINT32_MAX) {
                snprintf(err, err_size,
                         "the event type '%.*s' is not one of the store's (its event types are "
                         "fixed when it is made); ingest all the files into a new store",
                         (int)found[CM_SD_TYPE][i].len, found[CM_SD_TYPE][i].ptr);
                rc = CM_EINPUT;
            }
    }
    for (int d = 0; d < CM_SD_N; d++) {
        if (rc == 0)
            dict_extend(&dicts[d], found[d], n[d]);
        free(found[d]);
    }
    if (rc == 0 && dicts[CM_SD_TYPE].count > 255) {
        snprintf(err, err_size, "more than 255 event types; a store holds at most 255");
        rc = CM_ERANGE;
    }
    return rc;
}

/* Serialised dictionaries: per dictionary a uint64 count, then each entry as a cm_table entry. */
static void dicts_serialize(const cm_table dicts[CM_SD_N], cm_buffer *out)
{
    for (int d = 0; d < CM_SD_N; d++) {
        uint64_t count = dicts[d].count;
        cm_buffer_append(out, &count, sizeof count);
        for (size_t i = 0; i < dicts[d].count; i++)
            cm_table_serialize_entry(&dicts[d], i, out);
    }
}

static void dicts_deserialize(const cm_buffer *in, cm_table dicts[CM_SD_N])
{
    size_t at = 0;
    for (int d = 0; d < CM_SD_N; d++) {
        uint64_t count;
        memcpy(&count, in->data + at, sizeof count);
        at += sizeof count;
        for (uint64_t i = 0; i < count; i++) {
            uint32_t len;
            memcpy(&len, in->data + at, sizeof len);
            dict_add(&dicts[d], in->data + at + sizeof len, len);
            at += sizeof len + len + sizeof(int64_t);
        }
    }
}

/* Per-rank text id → global id in each dictionary (for the texts that feed it). */
typedef struct {
    uint32_t *ids[CM_SD_N];
} id_maps;

static void map_ids(const cm_table *texts, const cm_table dicts[CM_SD_N], id_maps *maps)
{
    for (int d = 0; d < CM_SD_N; d++)
        maps->ids[d] = cm_xcalloc(texts->count ? texts->count : 1, sizeof(uint32_t));
    for (size_t i = 0; i < texts->count; i++) {
        size_t len;
        const char *key = cm_table_key(texts, i, &len);
        cm_text found[CM_SD_N];
        unsigned fed = key_texts(key, len, found);
        for (int d = 0; d < CM_SD_N; d++)
            if (fed >> d & 1)
                maps->ids[d][i] = dict_find(&dicts[d], found[d].ptr, found[d].len);
    }
}

static void id_maps_free(id_maps *maps)
{
    for (int d = 0; d < CM_SD_N; d++)
        free(maps->ids[d]);
}

/* ---- what the store already holds (append), read on rank 0 ---- */

typedef struct {
    int64_t rows;
    int64_t rejected[CM_NREASONS];
    size_t dictionary_sizes[CM_SD_N];
    int has_sources_set; /* a /sources dataset (every store this version makes has one) */
} store_state;

static int read_existing(const char *path, cm_table dicts[CM_SD_N], store_state *state, char *err,
                         size_t err_size)
{
    cm_input input;
    memset(&input, 0, sizeof input);
    input.path = path;
    if (!cm_store_is_hdf5(path)) {
        snprintf(err, err_size,
                 "%s: not an event store (not an HDF5 file); --append adds to a store made by "
                 "clickmill ingest",
                 path);
        return CM_EINPUT;
    }
    int rc = cm_store_inspect(&input, path, err, err_size);
    if (rc != 0)
        return rc;
    state->rows = input.rows;
    memcpy(state->rejected, input.rejected_by_reason, sizeof state->rejected);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        snprintf(err, err_size, "%s: cannot open the event store to append to it", path);
        return CM_EIO;
    }
    for (int d = 0; d < CM_SD_N && rc == 0; d++) {
        char name[96];
        hsize_t n = 0;
        snprintf(name, sizeof name, "/dictionaries/%s", cm_store_dictionary_names[d]);
        char **values = cm_h5_read_text_dataset(file, name, &n);
        if (!values) {
            snprintf(err, err_size, "%s: cannot read dictionary %s", path, name);
            rc = CM_EINPUT;
        }
        for (hsize_t i = 0; values && i < n; i++)
            dict_add(&dicts[d], values[i] ? values[i] : "", values[i] ? strlen(values[i]) : 0);
        cm_h5_free_text_array(values, n);
        state->dictionary_sizes[d] = dicts[d].count;
    }
    state->has_sources_set = H5Lexists(file, "sources", H5P_DEFAULT) > 0;
    H5Fclose(file);
    return rc;
}

/* Sets the store's state: "appending" once everything that can refuse an append has passed
 * (from then until the append completes, readers refuse the store), or back to "complete"
 * when the append failed before it wrote anything. */
static int set_state(const char *path, const char *state, char *err, size_t err_size)
{
    int rc = 0;
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), text = cm_h5_string_type();
    if (file < 0 || text < 0 || cm_h5_write_attribute(file, "state", text, 0, &state) != 0) {
        snprintf(err, err_size, "%s: cannot open the event store to append to it", path);
        rc = CM_EIO;
    }
    if (text >= 0)
        H5Tclose(text);
    if (file >= 0 && H5Fclose(file) < 0 && rc == 0) {
        snprintf(err, err_size, "%s: closing the event store failed", path);
        rc = CM_EHDF5;
    }
    return rc;
}

/* ---- the collective write ---- */

/* What every rank writes where: its rows of each input file go after the rows of the earlier
 * files and the lower ranks' rows of that file, so the store's rows follow the input order
 * whatever the number of ranks. */
typedef struct {
    int nfiles;
    const int64_t *count; /* this rank's rows of each file (a run each, in file order) */
    int64_t *offset;      /* where the run of each file goes */
    int64_t rows;         /* this rank's rows */
    int64_t total;        /* rows in the store after */
    int64_t before;       /* rows already in the store */
} row_share;

static hid_t column_type(int column, hid_t type_enum)
{
    switch (column) {
    case CM_SC_TYPE: return type_enum;
    case CM_SC_CATEGORY_CODE:
    case CM_SC_BRAND:
    case CM_SC_CATEGORY:
    case CM_SC_PRODUCT: return H5T_STD_U32LE;
    case CM_SC_SESSION: return H5T_STD_U8LE;
    case CM_SC_SESSION_TEXT: return H5T_STD_I32LE;
    default: return H5T_STD_I64LE;
    }
}

/* Creates (new store) or extends (append) the column datasets; collective. */
static int open_columns(hid_t file, int append, const row_share *share, int compress,
                        hid_t type_enum, hid_t sets[CM_SC_NCOLS], const char *path, char *err,
                        size_t err_size)
{
    int rc = CM_EHDF5;
    hid_t group = -1, space = -1, dcpl = -1;
    if (append)
        CM_H5_CHECK(group = H5Gopen2(file, "events", H5P_DEFAULT));
    else
        CM_H5_CHECK(group = H5Gcreate2(file, "events", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    for (int c = 0; c < CM_SC_NCOLS; c++) {
        int ndims = c == CM_SC_SESSION ? 2 : 1;
        hsize_t dims[2] = {(hsize_t)share->total, 16};
        if (append) {
            CM_H5_CHECK(sets[c] = H5Dopen2(group, cm_store_column_names[c], H5P_DEFAULT));
            CM_H5_CHECK(H5Dset_extent(sets[c], dims));
            continue;
        }
        /* A small store gets small chunks: parallel HDF5 allocates every chunk when the
           dataset is made. */
        hsize_t rows = CHUNK_ROWS;
        while (rows > 1024 && rows / 2 >= (hsize_t)share->total)
            rows /= 2;
        hsize_t maxdims[2] = {H5S_UNLIMITED, 16}, chunk[2] = {rows, 16};
        CM_H5_CHECK(space = H5Screate_simple(ndims, dims, maxdims));
        CM_H5_CHECK(dcpl = H5Pcreate(H5P_DATASET_CREATE));
        CM_H5_CHECK(H5Pset_chunk(dcpl, ndims, chunk));
        if (compress > 0) {
            CM_H5_CHECK(H5Pset_shuffle(dcpl));
            CM_H5_CHECK(H5Pset_deflate(dcpl, (unsigned)compress));
        }
        CM_H5_CHECK(sets[c] = H5Dcreate2(group, cm_store_column_names[c], column_type(c, type_enum),
                                         space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
        H5Pclose(dcpl);
        H5Sclose(space);
        dcpl = space = -1;
    }
    rc = 0;
cleanup:
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    if (group >= 0)
        H5Gclose(group);
    return rc;
}

/* Writes this rank's rows of one column at its offset; collective (a rank without rows selects
 * nothing). */
static int write_column(hid_t set, int column, hid_t memory_type, const row_share *share,
                        hid_t dxpl, const void *data)
{
    int wide = column == CM_SC_SESSION, ok = 0;
    hsize_t all[2] = {(hsize_t)(share->rows ? share->rows : 1), 16};
    hid_t file_space = H5Dget_space(set);
    hid_t memory = H5Screate_simple(wide ? 2 : 1, all, NULL);
    if (file_space >= 0 && memory >= 0) {
        /* The runs, in file order, are in increasing row order: memory order maps onto them. */
        ok = H5Sselect_none(file_space) >= 0;
        for (int f = 0; f < share->nfiles && ok; f++) {
            hsize_t start[2] = {(hsize_t)share->offset[f], 0};
            hsize_t count[2] = {(hsize_t)share->count[f], 16};
            if (count[0] > 0)
                ok = H5Sselect_hyperslab(file_space, H5S_SELECT_OR, start, NULL, count, NULL) >= 0;
        }
        if (share->rows == 0)
            ok = ok && H5Sselect_none(memory) >= 0;
        ok = ok && H5Dwrite(set, memory_type, memory, file_space, dxpl, data) >= 0;
    }
    if (memory >= 0)
        H5Sclose(memory);
    if (file_space >= 0)
        H5Sclose(file_space);
    return ok ? 0 : -1;
}

/* A failure once every rank has the file open leaves the other ranks inside HDF5's collective
 * calls (a full disk fails the write of one rank only), where no agreement can reach them: the
 * job stops, with the reason, and a new store's temporary file is removed. */
static void write_failed(MPI_Comm comm, const char *file_path, int append, const char *err)
{
    char message[1400], cause[200] = "", dir[4200];
    cm_path_dir(file_path, dir, sizeof dir);
    struct statvfs fs;
    if (statvfs(dir, &fs) == 0 && (uint64_t)fs.f_bavail * fs.f_frsize < ((uint64_t)64 << 20))
        snprintf(cause, sizeof cause, " (%.100s has %llu kB free: the disk is probably full)", dir,
                 (unsigned long long)((uint64_t)fs.f_bavail * fs.f_frsize / 1024));
    if (!append)
        unlink(file_path);
    snprintf(message, sizeof message, "%s%s%s", err, cause,
             append ? " (the store stays marked 'appending', and readers refuse it: ingest the "
                      "files again)"
                    : "");
    cm_abort_job(comm, message);
}

/* Every rank's part of the file: datasets and the rows, with the MPI-IO driver. */
static int write_rows(MPI_Comm comm, const char *file_path, int append, int compress,
                      const cm_table dicts[CM_SD_N], const cm_store_columns *c, const id_maps *maps,
                      const row_share *share, char *err, size_t err_size)
{
    const char *path = file_path;
    int rc = CM_EHDF5, opened = 0, all_opened = 0;
    hid_t fapl = -1, file = -1, dxpl = -1, type_enum = -1, sets[CM_SC_NCOLS];
    for (int col = 0; col < CM_SC_NCOLS; col++)
        sets[col] = -1;
    size_t n = c->count ? c->count : 1;
    uint32_t *ids = cm_xmalloc(n * sizeof *ids);
    uint8_t *types = cm_xmalloc(n);
    int32_t *sessions = cm_xmalloc(n * sizeof *sessions);

    /* Opening is collective and fails on every rank alike (a directory that cannot be written):
       that is reported as an error. */
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) >= 0 &&
        H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) >= 0)
        file = append ? H5Fopen(file_path, H5F_ACC_RDWR, fapl)
                      : H5Fcreate(file_path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    opened = file >= 0;
    CM_MPI_CHECK(comm, MPI_Allreduce(&opened, &all_opened, 1, MPI_INT, MPI_MIN, comm));
    if (!all_opened) {
        snprintf(err, err_size, "%s: cannot %s the event store (is the directory writable?)", path,
                 append ? "open" : "create");
        if (opened)
            write_failed(comm, file_path, append, err);
        goto cleanup;
    }
    if (append) {
        hid_t set;
        CM_H5_CHECK(set = H5Dopen2(file, "/events/event_type", H5P_DEFAULT));
        type_enum = H5Dget_type(set);
        H5Dclose(set);
        CM_H5_CHECK(type_enum);
    } else {
        CM_H5_CHECK(type_enum = H5Tenum_create(H5T_STD_U8LE));
        for (size_t t = 0; t < dicts[CM_SD_TYPE].count; t++) {
            size_t len;
            const char *name = cm_table_key(&dicts[CM_SD_TYPE], t, &len);
            char member[256];
            uint8_t value = (uint8_t)t;
            snprintf(member, sizeof member, "%.*s", (int)len, name);
            CM_H5_CHECK(H5Tenum_insert(type_enum, member, &value));
        }
    }
    if (open_columns(file, append, share, compress, type_enum, sets, path, err, err_size) != 0)
        goto cleanup;
    CM_H5_CHECK(dxpl = H5Pcreate(H5P_DATASET_XFER));
    CM_H5_CHECK(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE));

    CM_H5_CHECK(write_column(sets[CM_SC_TIME], CM_SC_TIME, H5T_NATIVE_INT64, share, dxpl, c->time));
    for (size_t i = 0; i < c->count; i++)
        types[i] = (uint8_t)maps->ids[CM_SD_TYPE][c->type[i]];
    CM_H5_CHECK(write_column(sets[CM_SC_TYPE], CM_SC_TYPE, type_enum, share, dxpl, types));
    CM_H5_CHECK(write_column(sets[CM_SC_PRODUCT_ID], CM_SC_PRODUCT_ID, H5T_NATIVE_INT64, share,
                             dxpl, c->product_id));
    CM_H5_CHECK(write_column(sets[CM_SC_CATEGORY_ID], CM_SC_CATEGORY_ID, H5T_NATIVE_INT64, share,
                             dxpl, c->category_id));
    const struct {
        int column;
        const uint32_t *map;
    } pair_columns[] = {{CM_SC_CATEGORY_CODE, maps->ids[CM_SD_CODE]},
                        {CM_SC_BRAND, maps->ids[CM_SD_BRAND]},
                        {CM_SC_CATEGORY, maps->ids[CM_SD_CATEGORY]},
                        {CM_SC_PRODUCT, maps->ids[CM_SD_PRODUCT]}};
    for (size_t p = 0; p < sizeof pair_columns / sizeof pair_columns[0]; p++) {
        for (size_t i = 0; i < c->count; i++)
            ids[i] = pair_columns[p].map[c->pair[i]];
        CM_H5_CHECK(write_column(sets[pair_columns[p].column], pair_columns[p].column,
                                 H5T_NATIVE_UINT32, share, dxpl, ids));
    }
    CM_H5_CHECK(
        write_column(sets[CM_SC_PRICE], CM_SC_PRICE, H5T_NATIVE_INT64, share, dxpl, c->price));
    CM_H5_CHECK(write_column(sets[CM_SC_USER_ID], CM_SC_USER_ID, H5T_NATIVE_INT64, share, dxpl,
                             c->user_id));
    CM_H5_CHECK(write_column(sets[CM_SC_SESSION], CM_SC_SESSION, H5T_NATIVE_UINT8, share, dxpl,
                             c->session));
    for (size_t i = 0; i < c->count; i++)
        sessions[i] =
            c->session_text[i] < 0 ? -1 : (int32_t)maps->ids[CM_SD_SESSION][c->session_text[i]];
    CM_H5_CHECK(write_column(sets[CM_SC_SESSION_TEXT], CM_SC_SESSION_TEXT, H5T_NATIVE_INT32, share,
                             dxpl, sessions));
    for (int col = 0; col < CM_SC_NCOLS; col++) {
        CM_H5_CHECK(H5Dclose(sets[col]));
        sets[col] = -1;
    }
    CM_H5_CHECK(H5Fclose(file));
    file = -1;
    rc = 0;
cleanup:
    if (rc != 0 && all_opened)
        write_failed(comm, file_path, append, err);
    if (type_enum >= 0)
        H5Tclose(type_enum);
    if (dxpl >= 0)
        H5Pclose(dxpl);
    if (fapl >= 0)
        H5Pclose(fapl);
    free(ids);
    free(types);
    free(sessions);
    return rc;
}

/* ---- rank 0 completes the file ---- */

/* Adds strings at the end of the 1-D string dataset `name` under loc, making it (chunked and
 * extendible) if `make`. Returns 0 or -1. */
static int append_strings(hid_t loc, const char *name, int make, const char *const *values,
                          hsize_t added)
{
    int ok = 0;
    hid_t text = cm_h5_string_type(), set = -1, space = -1, dcpl = -1, memory = -1;
    hsize_t before = 0, after, zero = 0, maxdims = H5S_UNLIMITED, chunk = 1024;
    if (text < 0)
        return -1;
    if (make) {
        if ((space = H5Screate_simple(1, &zero, &maxdims)) < 0 ||
            (dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0 || H5Pset_chunk(dcpl, 1, &chunk) < 0 ||
            (set = H5Dcreate2(loc, name, text, space, H5P_DEFAULT, dcpl, H5P_DEFAULT)) < 0)
            goto cleanup;
        H5Sclose(space);
        space = -1;
    } else if ((set = H5Dopen2(loc, name, H5P_DEFAULT)) < 0 || (space = H5Dget_space(set)) < 0 ||
               H5Sget_simple_extent_dims(space, &before, NULL) != 1) {
        goto cleanup;
    } else {
        H5Sclose(space);
        space = -1;
    }
    after = before + added;
    if (H5Dset_extent(set, &after) < 0)
        goto cleanup;
    if (added > 0 && ((space = H5Dget_space(set)) < 0 ||
                      H5Sselect_hyperslab(space, H5S_SELECT_SET, &before, NULL, &added, NULL) < 0 ||
                      (memory = H5Screate_simple(1, &added, NULL)) < 0 ||
                      H5Dwrite(set, text, memory, space, H5P_DEFAULT, values) < 0))
        goto cleanup;
    ok = 1;
cleanup:
    if (memory >= 0)
        H5Sclose(memory);
    if (space >= 0)
        H5Sclose(space);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (set >= 0)
        H5Dclose(set);
    H5Tclose(text);
    return ok ? 0 : -1;
}

/* The dictionaries' new entries (all of them for a new store), and the new sources. */
static int write_dictionaries(hid_t file, int append, const cm_table dicts[CM_SD_N],
                              const store_state *before, const cm_store_target *target,
                              const char *path, char *err, size_t err_size)
{
    int rc = CM_EHDF5;
    hid_t group = -1;
    if (append)
        CM_H5_CHECK(group = H5Gopen2(file, "dictionaries", H5P_DEFAULT));
    else
        CM_H5_CHECK(group =
                        H5Gcreate2(file, "dictionaries", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    for (int d = 0; d < CM_SD_N; d++) {
        size_t from = append ? before->dictionary_sizes[d] : 0, added = dicts[d].count - from;
        char **values = cm_xcalloc(added ? added : 1, sizeof *values);
        for (size_t i = 0; i < added; i++) {
            size_t len;
            const char *key = cm_table_key(&dicts[d], from + i, &len);
            values[i] = cm_xstrndup(key, len);
        }
        int written = append_strings(group, cm_store_dictionary_names[d], !append,
                                     (const char *const *)values, added);
        for (size_t i = 0; i < added; i++)
            free(values[i]);
        free(values);
        if (written != 0) {
            snprintf(err, err_size, "%s: cannot write dictionary %s", path,
                     cm_store_dictionary_names[d]);
            goto cleanup;
        }
    }
    /* The sources are a dataset, not an attribute: there can be more of them than an
       attribute holds. */
    if (append_strings(file, "sources", !append || !before->has_sources_set,
                       (const char *const *)target->sources, (hsize_t)target->nsources) != 0) {
        snprintf(err, err_size, "%s: cannot write the list of sources", path);
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (group >= 0)
        H5Gclose(group);
    return rc;
}

static int write_attributes(hid_t file, int append, const row_share *share,
                            const store_state *before, const cm_store_target *target,
                            const char *path, char *err, size_t err_size)
{
    int rc = CM_EHDF5;
    hid_t text = -1;
    /* Reasons 1 .. CM_NREASONS - 1 (0 is an accepted row). */
    int64_t rejected[CM_NREASONS - 1], rejected_total = 0;
    const char *reasons[CM_NREASONS - 1];
    for (int r = 1; r < CM_NREASONS; r++) {
        rejected[r - 1] = before->rejected[r] + target->stats->by_reason[r];
        rejected_total += rejected[r - 1];
        reasons[r - 1] = cm_reject_name(r);
    }
    char now[24];
    cm_time_format((int64_t)time(NULL), now);
    const char *format = CM_STORE_FORMAT, *version = CM_VERSION, *complete = "complete";
    const char *now_ptr = now;
    int format_version = CM_STORE_VERSION;

    CM_H5_CHECK(text = cm_h5_string_type());
    CM_H5_CHECK(cm_h5_write_attribute(file, "format", text, 0, &format));
    CM_H5_CHECK(cm_h5_write_attribute(file, "format_version", H5T_NATIVE_INT, 0, &format_version));
    CM_H5_CHECK(cm_h5_write_attribute(file, "clickmill_version", text, 0, &version));
    if (!append)
        CM_H5_CHECK(cm_h5_write_attribute(file, "created", text, 0, &now_ptr));
    CM_H5_CHECK(cm_h5_write_attribute(file, "updated", text, 0, &now_ptr));
    CM_H5_CHECK(cm_h5_write_attribute(file, "rows", H5T_NATIVE_INT64, 0, &share->total));
    CM_H5_CHECK(cm_h5_write_attribute(file, "rows_rejected", H5T_NATIVE_INT64, 0, &rejected_total));
    CM_H5_CHECK(cm_h5_write_attribute(file, "reject_reasons", text, CM_NREASONS - 1, reasons));
    CM_H5_CHECK(cm_h5_write_attribute(file, "rows_rejected_by_reason", H5T_NATIVE_INT64,
                                      CM_NREASONS - 1, rejected));
    CM_H5_CHECK(H5Fflush(file, H5F_SCOPE_GLOBAL));
    /* Last: the store is complete only once everything else is in it. */
    CM_H5_CHECK(cm_h5_write_attribute(file, "state", text, 0, &complete));
    rc = 0;
cleanup:
    if (text >= 0)
        H5Tclose(text);
    return rc;
}

static int finish_store(const char *file_path, const char *path, int append,
                        const cm_table dicts[CM_SD_N], const row_share *share,
                        const store_state *before, const cm_store_target *target, char *err,
                        size_t err_size)
{
    hid_t file = H5Fopen(file_path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (file < 0) {
        snprintf(err, err_size, "%s: cannot open the event store to complete it", file_path);
        return CM_EHDF5;
    }
    int rc = write_dictionaries(file, append, dicts, before, target, path, err, err_size);
    if (rc == 0)
        rc = write_attributes(file, append, share, before, target, path, err, err_size);
    if (append) {
        if (H5Fclose(file) < 0 && rc == 0) {
            snprintf(err, err_size, "%s: closing the event store failed", path);
            rc = CM_EHDF5;
        }
        return rc;
    }
    return cm_h5_close_commit(file, rc, file_path, path, err, err_size);
}

int cm_store_write(MPI_Comm comm, cm_store_columns *columns, const cm_store_target *target,
                   char *err, size_t err_size)
{
    int rank, rc = 0;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    cm_table dicts[CM_SD_N];
    for (int d = 0; d < CM_SD_N; d++)
        cm_table_init(&dicts[d], 1, NULL);
    store_state before;
    memset(&before, 0, sizeof before);
    int append = target->append && (rank != 0 || access(target->path, F_OK) == 0);
    CM_MPI_CHECK(comm, MPI_Bcast(&append, 1, MPI_INT, 0, comm));

    /* Rank 0: what the store holds already; then the union of every rank's texts. */
    if (rank == 0 && append)
        rc = read_existing(target->path, dicts, &before, err, err_size);
    rc = cm_agree(comm, rc, err, err_size);
    cm_table all;
    cm_table_init(&all, 0, NULL);
    cm_buffer serialized = {0};
    id_maps maps = {0};
    if (rc != 0)
        goto cleanup;
    for (size_t i = 0; i < columns->texts.count; i++) {
        size_t len;
        const char *key = cm_table_key(&columns->texts, i, &len);
        cm_table_upsert(&all, key, len);
    }
    cm_table_reduce(comm, &all);
    if (rank == 0) {
        rc = extend_dictionaries(&all, dicts, append, err, err_size);
        dicts_serialize(dicts, &serialized);
    }
    cm_table_free(&all);
    rc = cm_agree(comm, rc, err, err_size);
    if (rc != 0)
        goto cleanup;
    cm_bcast_buffer(comm, &serialized, 0);
    if (rank != 0)
        dicts_deserialize(&serialized, dicts);
    cm_buffer_free(&serialized);
    map_ids(&columns->texts, dicts, &maps);
    cm_table_free(&columns->texts);

    /* Rows: each file's run after the store's rows, the earlier files' and the lower ranks'. */
    int nfiles = columns->nfiles;
    int64_t *lower = cm_xcalloc((size_t)nfiles, sizeof *lower);
    int64_t *totals = cm_xcalloc((size_t)nfiles, sizeof *totals);
    CM_MPI_CHECK(comm, MPI_Bcast(&before.rows, 1, MPI_INT64_T, 0, comm));
    CM_MPI_CHECK(comm, MPI_Exscan(columns->file_rows, lower, nfiles, MPI_INT64_T, MPI_SUM, comm));
    CM_MPI_CHECK(comm,
                 MPI_Allreduce(columns->file_rows, totals, nfiles, MPI_INT64_T, MPI_SUM, comm));
    row_share share = {.nfiles = nfiles, .count = columns->file_rows, .before = before.rows};
    share.offset = cm_xcalloc((size_t)nfiles, sizeof *share.offset);
    share.rows = (int64_t)columns->count;
    share.total = before.rows;
    for (int f = 0; f < nfiles; f++) {
        share.offset[f] = share.total + (rank == 0 ? 0 : lower[f]);
        share.total += totals[f];
    }
    free(lower);
    free(totals);
    if (rank == 0 && append)
        rc = set_state(target->path, "appending", err, err_size);
    rc = cm_agree(comm, rc, err, err_size);
    if (rc != 0) {
        free(share.offset);
        goto cleanup;
    }

    /* A new store is written under a temporary name that rank 0 chooses. */
    char file_path[4200];
    if (append)
        snprintf(file_path, sizeof file_path, "%s", target->path);
    else
        snprintf(file_path, sizeof file_path, "%s.tmp.%ld", target->path, (long)getpid());
    CM_MPI_CHECK(comm, MPI_Bcast(file_path, sizeof file_path, MPI_CHAR, 0, comm));
    rc = write_rows(comm, file_path, append, target->compress, dicts, columns, &maps, &share, err,
                    err_size);
    rc = cm_agree(comm, rc, err, err_size);
    if (rc != 0 && rank == 0 && append) { /* no rank could open it: nothing was written */
        char unused[256];
        set_state(target->path, "complete", unused, sizeof unused);
    }
    if (rc == 0 && rank == 0)
        rc = finish_store(file_path, target->path, append, dicts, &share, &before, target, err,
                          err_size);
    else if (rc != 0 && rank == 0 && !append)
        unlink(file_path);
    rc = cm_agree(comm, rc, err, err_size);
    free(share.offset);
cleanup:
    id_maps_free(&maps);
    for (int d = 0; d < CM_SD_N; d++)
        cm_table_free(&dicts[d]);
    return rc;
}
