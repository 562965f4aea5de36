/* The columnar HDF5 event store: its layout, checking a store, and reading rows into events.
 * docs/store.md describes the layout for readers outside clickmill. */
#ifndef CLICKMILL_STORE_H
#define CLICKMILL_STORE_H

#include <stdint.h>

#include "clickmill/plan.h"
#include "clickmill/progress.h"
#include "clickmill/scan.h"

#define CM_STORE_FORMAT  "clickmill-events"
#define CM_STORE_VERSION 1

/* The columns, datasets under /events, in this order. */
enum {
    CM_SC_TIME,          /* event_time: int64 seconds since 1970-01-01 UTC */
    CM_SC_TYPE,          /* event_type: enum (uint8) named by /dictionaries/event_type */
    CM_SC_PRODUCT_ID,    /* product_id: int64 */
    CM_SC_CATEGORY_ID,   /* category_id: int64 */
    CM_SC_CATEGORY_CODE, /* category_code: uint32 id into /dictionaries/category_code */
    CM_SC_BRAND,         /* brand: uint32 id */
    CM_SC_CATEGORY,      /* category: uint32 id (derived, as the analysis defines it) */
    CM_SC_PRODUCT,       /* product: uint32 id (derived) */
    CM_SC_PRICE,         /* price_cents: int64 */
    CM_SC_USER_ID,       /* user_id: int64 */
    CM_SC_SESSION,       /* user_session: uint8 [rows][16], a UUID's 16 bytes, or zeros */
    CM_SC_SESSION_TEXT,  /* user_session_text: int32 id of a session that is not a
                            canonical UUID (or is missing), -1 for a UUID */
    CM_SC_NCOLS
};

/* The dictionaries, variable-length strings under /dictionaries. */
enum { CM_SD_TYPE, CM_SD_CODE, CM_SD_BRAND, CM_SD_CATEGORY, CM_SD_PRODUCT, CM_SD_SESSION, CM_SD_N };

extern const char *const cm_store_column_names[CM_SC_NCOLS];
extern const char *const cm_store_dictionary_names[CM_SD_N];

/* Whether the file at path starts with the HDF5 signature (so it is read as a store, not as a
 * CSV file). Local. */
int cm_store_is_hdf5(const char *path);

/* Checks that path is a complete clickmill event store of a version this build reads, and
 * fills the input's store fields (rows, rejected counts). Returns 0, or CM_EINPUT / CM_EIO with
 * the reason in err. Local (rank 0 while planning). */
int cm_store_inspect(cm_input *input, const char *path, char *err, size_t err_size);

/* Reads rows [start, end) of a store, in blocks, and calls sink for each as an event (its
 * `file` is `file`, its `offset` the row number). *rows counts the rows handed on; progress
 * gets the share of the file's size they stand for. Returns 0, a sink's error or CM_EIO /
 * CM_EINPUT with the reason in err. Local: each rank opens the file by itself. */
int cm_store_scan(const cm_input *input, int file, int64_t start, int64_t end, cm_event_sink sink,
                  void *ctx, int64_t *rows, cm_progress *progress, char *err, size_t err_size);

#endif
