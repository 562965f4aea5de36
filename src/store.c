/* The event store's layout, its check on open, and the reader that turns rows into events. */
#include "clickmill/store.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"
#include "clickmill/h5.h"
#include "clickmill/shuffle.h"

const char *const cm_store_column_names[CM_SC_NCOLS] = {
    "event_time", "event_type", "product_id",  "category_id", "category_code", "brand",
    "category",   "product",    "price_cents", "user_id",     "user_session",  "user_session_text",
};

const char *const cm_store_dictionary_names[CM_SD_N] = {
    "event_type", "category_code", "brand", "category", "product", "user_session",
};

/* Rows read per column at a time. */
#define BLOCK_ROWS 65536

int cm_store_is_hdf5(const char *path)
{
    static const unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char head[8];
    FILE *file = fopen(path, "rb");
    if (!file)
        return 0;
    size_t got = fread(head, 1, sizeof head, file);
    fclose(file);
    return got == sizeof head && memcmp(head, signature, sizeof head) == 0;
}

/* The dataset path of a column or a dictionary. */
static void column_path(int column, char *out, size_t size)
{
    snprintf(out, size, "/events/%s", cm_store_column_names[column]);
}

static void dictionary_path(int dictionary, char *out, size_t size)
{
    snprintf(out, size, "/dictionaries/%s", cm_store_dictionary_names[dictionary]);
}

/* The first dimension of a dataset, or -1 when it is missing or not `ndims`-dimensional with a
 * second dimension of `width`. */
static int64_t dataset_length(hid_t file, const char *name, int ndims, hsize_t width)
{
    int64_t length = -1;
    hid_t set = -1, space = -1;
    hsize_t dims[2] = {0, 0};
    if (H5Lexists(file, name, H5P_DEFAULT) > 0 && (set = H5Dopen2(file, name, H5P_DEFAULT)) >= 0 &&
        (space = H5Dget_space(set)) >= 0 && H5Sget_simple_extent_ndims(space) == ndims &&
        H5Sget_simple_extent_dims(space, dims, NULL) == ndims && (ndims == 1 || dims[1] == width))
        length = (int64_t)dims[0];
    if (space >= 0)
        H5Sclose(space);
    if (set >= 0)
        H5Dclose(set);
    return length;
}

/* Checks the attributes and datasets of an open store; fills rows and rejected counts. */
static int check_store(hid_t file, cm_input *input, const char *path, char *err, size_t err_size)
{
    char format[64] = "", state[64] = "";
    int version = 0;
    if (cm_h5_read_text_attribute(file, "format", format, sizeof format) != 0 ||
        strcmp(format, CM_STORE_FORMAT) != 0) {
        snprintf(err, err_size,
                 "%s: an HDF5 file, but not a clickmill event store (no format attribute '%s'); "
                 "make one with clickmill ingest",
                 path, CM_STORE_FORMAT);
        return CM_EINPUT;
    }
    if (cm_h5_read_attribute(file, "format_version", H5T_NATIVE_INT, 1, &version) != 0 ||
        version != CM_STORE_VERSION) {
        snprintf(err, err_size,
                 "%s: event store format version %d; this clickmill reads version %d (ingest the "
                 "CSV files again with this version)",
                 path, version, CM_STORE_VERSION);
        return CM_EINPUT;
    }
    if (cm_h5_read_text_attribute(file, "state", state, sizeof state) != 0 ||
        strcmp(state, "complete") != 0) {
        snprintf(err, err_size,
                 "%s: the event store is not complete (state '%s': an ingest or an append was "
                 "interrupted); ingest the CSV files again",
                 path, state);
        return CM_EINPUT;
    }
    if (cm_h5_read_attribute(file, "rows", H5T_NATIVE_INT64, 1, &input->rows) != 0 ||
        input->rows < 0) {
        snprintf(err, err_size, "%s: the event store has no valid 'rows' attribute", path);
        return CM_EINPUT;
    }
    for (int c = 0; c < CM_SC_NCOLS; c++) {
        char name[96];
        column_path(c, name, sizeof name);
        int wide = c == CM_SC_SESSION;
        int64_t length = dataset_length(file, name, wide ? 2 : 1, 16);
        if (length < input->rows) {
            snprintf(err, err_size, "%s: dataset %s is %s (damaged, or not written by clickmill)",
                     path, name,
                     length < 0 ? "missing or of the wrong shape" : "shorter than 'rows'");
            return CM_EINPUT;
        }
    }
    for (int d = 0; d < CM_SD_N; d++) {
        char name[96];
        dictionary_path(d, name, sizeof name);
        if (dataset_length(file, name, 1, 0) < 0) {
            snprintf(err, err_size,
                     "%s: dictionary %s is missing (damaged, or not written by "
                     "clickmill)",
                     path, name);
            return CM_EINPUT;
        }
    }
    /* Rejected rows by reason name (names this build does not know are left out). */
    int64_t counts[64];
    hsize_t n = 0;
    char **names = cm_h5_read_text_array(file, "reject_reasons", &n);
    int ok =
        names && n <= 64 &&
        cm_h5_read_attribute(file, "rows_rejected_by_reason", H5T_NATIVE_INT64, n, counts) == 0;
    for (hsize_t i = 0; ok && i < n; i++) {
        ok = counts[i] >= 0;
        for (int r = 1; r < CM_NREASONS; r++)
            if (ok && names[i] && strcmp(names[i], cm_reject_name(r)) == 0)
                input->rejected_by_reason[r] += counts[i];
    }
    cm_h5_free_text_array(names, n);
    if (!ok) {
        snprintf(err, err_size,
                 "%s: the event store's rejected-row counts are missing or malformed (damaged, or "
                 "not written by clickmill)",
                 path);
        return CM_EINPUT;
    }
    return 0;
}

int cm_store_inspect(cm_input *input, const char *path, char *err, size_t err_size)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    input->kind = CM_INPUT_STORE;
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        snprintf(err, err_size,
                 "%s: starts like an HDF5 file but HDF5 cannot open it (damaged "
                 "or truncated)",
                 path);
        return CM_EINPUT;
    }
    int rc = check_store(file, input, path, err, err_size);
    H5Fclose(file);
    return rc;
}

/* One dictionary in memory: entries point into one block of text. */
typedef struct {
    cm_text *entries;
    size_t count;
    char *text;
} dictionary;

static int read_dictionary(hid_t file, int which, dictionary *dict, const char *path, char *err,
                           size_t err_size)
{
    char name[96];
    dictionary_path(which, name, sizeof name);
    hsize_t n = 0;
    char **values = cm_h5_read_text_dataset(file, name, &n);
    if (!values) {
        snprintf(err, err_size, "%s: cannot read dictionary %s", path, name);
        return CM_EINPUT;
    }
    size_t total = 0;
    for (hsize_t i = 0; i < n; i++)
        total += values[i] ? strlen(values[i]) : 0;
    dict->count = (size_t)n;
    dict->entries = cm_xcalloc(n ? n : 1, sizeof *dict->entries);
    dict->text = cm_xmalloc(total ? total : 1);
    for (hsize_t i = 0, at = 0; i < n; i++) {
        size_t len = values[i] ? strlen(values[i]) : 0;
        if (len)
            memcpy(dict->text + at, values[i], len);
        dict->entries[i] = (cm_text){dict->text + at, len};
        at += len;
    }
    cm_h5_free_text_array(values, n);
    return 0;
}

/* A rank's open store: datasets, dictionaries and the buffers of one block. */
typedef struct {
    hid_t file, sets[CM_SC_NCOLS], spaces[CM_SC_NCOLS], types[CM_SC_NCOLS];
    dictionary dicts[CM_SD_N];
    int *type_kind; /* CM_TYPE_* of each event_type entry */
    int64_t *time, *product_id, *category_id, *price, *user_id;
    uint8_t *type;
    uint32_t *code, *brand;
    unsigned char *session;
    int32_t *session_text;
} reader;

static void reader_close(reader *r)
{
    for (int c = 0; c < CM_SC_NCOLS; c++) {
        if (r->spaces[c] >= 0)
            H5Sclose(r->spaces[c]);
        if (r->types[c] >= 0)
            H5Tclose(r->types[c]);
        if (r->sets[c] >= 0)
            H5Dclose(r->sets[c]);
    }
    if (r->file >= 0)
        H5Fclose(r->file);
    for (int d = 0; d < CM_SD_N; d++) {
        free(r->dicts[d].entries);
        free(r->dicts[d].text);
    }
    free(r->type_kind);
    free(r->time);
    free(r->product_id);
    free(r->category_id);
    free(r->price);
    free(r->user_id);
    free(r->type);
    free(r->code);
    free(r->brand);
    free(r->session);
    free(r->session_text);
}

static int reader_open(reader *r, const cm_input *input, char *err, size_t err_size)
{
    const char *path = input->path;
    memset(r, 0, sizeof *r);
    r->file = -1;
    for (int c = 0; c < CM_SC_NCOLS; c++)
        r->sets[c] = r->spaces[c] = r->types[c] = -1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    r->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (r->file < 0) {
        snprintf(err, err_size, "%s: HDF5 cannot open the event store", path);
        return CM_EIO;
    }
    cm_input seen = *input;
    int rc = check_store(r->file, &seen, path, err, err_size);
    if (rc == 0 && seen.rows != input->rows) {
        snprintf(err, err_size,
                 "%s: the event store changed while it was read (%lld rows, then "
                 "%lld)",
                 path, (long long)input->rows, (long long)seen.rows);
        rc = CM_EIO;
    }
    for (int d = 0; d < CM_SD_N && rc == 0; d++)
        rc = read_dictionary(r->file, d, &r->dicts[d], path, err, err_size);
    for (int c = 0; c < CM_SC_NCOLS && rc == 0; c++) {
        char name[96];
        column_path(c, name, sizeof name);
        if ((r->sets[c] = H5Dopen2(r->file, name, H5P_DEFAULT)) < 0 ||
            (r->spaces[c] = H5Dget_space(r->sets[c])) < 0 ||
            (r->types[c] = H5Dget_type(r->sets[c])) < 0) {
            snprintf(err, err_size, "%s: cannot open dataset %s", path, name);
            rc = CM_EINPUT;
        }
    }
    if (rc != 0)
        return rc;
    const dictionary *types = &r->dicts[CM_SD_TYPE];
    r->type_kind = cm_xcalloc(types->count ? types->count : 1, sizeof *r->type_kind);
    for (size_t i = 0; i < types->count; i++) {
        r->type_kind[i] = CM_TYPE_OTHER;
        for (int t = CM_TYPE_VIEW; t <= CM_TYPE_PURCHASE; t++) {
            static const char *const names[3] = {"view", "cart", "purchase"};
            if (types->entries[i].len == strlen(names[t]) &&
                memcmp(types->entries[i].ptr, names[t], types->entries[i].len) == 0)
                r->type_kind[i] = t;
        }
    }
    r->time = cm_xmalloc(BLOCK_ROWS * sizeof *r->time);
    r->product_id = cm_xmalloc(BLOCK_ROWS * sizeof *r->product_id);
    r->category_id = cm_xmalloc(BLOCK_ROWS * sizeof *r->category_id);
    r->price = cm_xmalloc(BLOCK_ROWS * sizeof *r->price);
    r->user_id = cm_xmalloc(BLOCK_ROWS * sizeof *r->user_id);
    r->type = cm_xmalloc(BLOCK_ROWS * sizeof *r->type);
    r->code = cm_xmalloc(BLOCK_ROWS * sizeof *r->code);
    r->brand = cm_xmalloc(BLOCK_ROWS * sizeof *r->brand);
    r->session = cm_xmalloc(BLOCK_ROWS * 16);
    r->session_text = cm_xmalloc(BLOCK_ROWS * sizeof *r->session_text);
    return 0;
}

/* Reads rows [at, at + n) of one column into out, converted to the memory type. */
static int read_column(reader *r, int column, hid_t memory_type, int64_t at, size_t n, void *out)
{
    int wide = column == CM_SC_SESSION;
    hsize_t start[2] = {(hsize_t)at, 0}, count[2] = {n, 16};
    hid_t memory = H5Screate_simple(wide ? 2 : 1, count, NULL);
    int ok =
        memory >= 0 &&
        H5Sselect_hyperslab(r->spaces[column], H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
        H5Dread(r->sets[column], memory_type, memory, r->spaces[column], H5P_DEFAULT, out) >= 0;
    if (memory >= 0)
        H5Sclose(memory);
    return ok ? 0 : -1;
}

static int read_block(reader *r, int64_t at, size_t n)
{
    /* event_type is read with its own enumeration type: HDF5 does not convert enumerations
       to integers, and its values are the dictionary's indices. */
    return read_column(r, CM_SC_TIME, H5T_NATIVE_INT64, at, n, r->time) |
           read_column(r, CM_SC_TYPE, r->types[CM_SC_TYPE], at, n, r->type) |
           read_column(r, CM_SC_PRODUCT_ID, H5T_NATIVE_INT64, at, n, r->product_id) |
           read_column(r, CM_SC_CATEGORY_ID, H5T_NATIVE_INT64, at, n, r->category_id) |
           read_column(r, CM_SC_CATEGORY_CODE, H5T_NATIVE_UINT32, at, n, r->code) |
           read_column(r, CM_SC_BRAND, H5T_NATIVE_UINT32, at, n, r->brand) |
           read_column(r, CM_SC_PRICE, H5T_NATIVE_INT64, at, n, r->price) |
           read_column(r, CM_SC_USER_ID, H5T_NATIVE_INT64, at, n, r->user_id) |
           read_column(r, CM_SC_SESSION, H5T_NATIVE_UINT8, at, n, r->session) |
           read_column(r, CM_SC_SESSION_TEXT, H5T_NATIVE_INT32, at, n, r->session_text);
}

/* What is wrong with row i of the block, or NULL: dictionary ids that do not exist, or a time,
 * an id or a price that no accepted CSV row has. */
static const char *row_damage(const reader *r, size_t i)
{
    const dictionary *d = r->dicts;
    int32_t text = r->session_text[i];
    if (r->type[i] >= d[CM_SD_TYPE].count || r->code[i] >= d[CM_SD_CODE].count ||
        r->brand[i] >= d[CM_SD_BRAND].count || text < -1 ||
        (text >= 0 && (size_t)text >= d[CM_SD_SESSION].count))
        return "refers to a dictionary entry that does not exist";
    if (r->time[i] < 0 || r->time[i] > CM_TIME_MAX || r->product_id[i] < 0 ||
        r->category_id[i] < 0 || r->user_id[i] < 0 || r->price[i] < 0 ||
        r->price[i] > CM_PRICE_MAX_CENTS)
        return "has a time, an id or a price no CSV row could have";
    return NULL;
}

int cm_store_scan(const cm_input *input, int file, int64_t start, int64_t end, cm_event_sink sink,
                  void *ctx, int64_t *rows, cm_progress *progress, char *err, size_t err_size)
{
    const char *path = input->path;
    reader r;
    int rc = reader_open(&r, input, err, err_size);
    if (rc == 0 && H5Tget_size(r.types[CM_SC_TYPE]) != 1) {
        snprintf(err, err_size, "%s: event_type is not a one-byte enumeration", path);
        rc = CM_EINPUT;
    }
    const dictionary *d = r.dicts;
    char session_text[40];
    for (int64_t at = start; at < end && rc == 0; at += BLOCK_ROWS) {
        size_t n = (size_t)(end - at < BLOCK_ROWS ? end - at : BLOCK_ROWS);
        if (read_block(&r, at, n) != 0) {
            snprintf(err, err_size, "%s: cannot read rows %lld to %lld", path, (long long)at,
                     (long long)(at + (int64_t)n));
            rc = CM_EIO;
            break;
        }
        for (size_t i = 0; i < n && rc == 0; i++) {
            int64_t row = at + (int64_t)i;
            int32_t text = r.session_text[i];
            const char *damage = row_damage(&r, i);
            if (damage) {
                snprintf(err, err_size, "%s: row %lld %s (damaged store)", path, (long long)row,
                         damage);
                rc = CM_EINPUT;
                break;
            }
            cm_event event;
            event.time = r.time[i];
            event.type = r.type_kind[r.type[i]];
            event.type_name = d[CM_SD_TYPE].entries[r.type[i]];
            event.product_id = r.product_id[i];
            event.category_id = r.category_id[i];
            event.user_id = r.user_id[i];
            event.price_cents = r.price[i];
            event.category_code = d[CM_SD_CODE].entries[r.code[i]];
            event.brand = d[CM_SD_BRAND].entries[r.brand[i]];
            event.session_uuid = NULL;
            if (text >= 0) {
                event.user_session = d[CM_SD_SESSION].entries[text];
            } else {
                event.session_uuid = r.session + 16 * i;
                cm_session_id id = {.kind = CM_SESSION_UUID};
                memcpy(id.bytes, r.session + 16 * i, 16);
                cm_session_id_format(&id, session_text);
                event.user_session = (cm_text){session_text, 36};
            }
            event.file = file;
            event.offset = row;
            (*rows)++;
            rc = sink(ctx, &event);
            if (rc)
                snprintf(err, err_size, "%s: row %lld: %s", path, (long long)row, cm_strerror(rc));
        }
        if (input->rows > 0)
            cm_progress_add(progress,
                            (int64_t)((double)input->size * (double)n / (double)input->rows));
    }
    reader_close(&r);
    return rc;
}
