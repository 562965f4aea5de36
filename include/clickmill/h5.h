/* The HDF5 helpers that the results file, the model file and the event store share. */
#ifndef CLICKMILL_H5_H
#define CLICKMILL_H5_H

#include <hdf5.h>

#include "clickmill/result.h"

/* Checks an HDF5 call inside a function that has `path`, `err`, `err_size` and a `cleanup`
 * label: on failure it records the call and where, and jumps to cleanup. */
#define CM_H5_CHECK(expr)                                                                          \
    do {                                                                                           \
        if ((expr) < 0) {                                                                          \
            snprintf(err, err_size, "%s: HDF5 call failed: %s (%s:%d)", path, #expr, __FILE__,     \
                     __LINE__);                                                                    \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

/* A variable-length UTF-8 string type; the caller closes it. Local. */
hid_t cm_h5_string_type(void);

/* The memory type of a result table's rows: one 8-byte member per column (text as the given
 * string type, an int64, or a double for money and reals). The caller closes it; -1 on
 * failure. Local. */
hid_t cm_h5_table_type(const cm_result *table, hid_t text);

/* Writes a result table as a compound dataset named table->name under loc: one 8-byte member
 * per column (a string, an int64, or a double; money as a double of whole units). Returns 0 or
 * CM_EHDF5 with the reason (naming path) in err. Local. */
int cm_h5_write_table(hid_t loc, const cm_result *table, const char *path, char *err,
                      size_t err_size);

/* Reads a compound dataset named table->name into the empty table (names and types of its
 * columns set): every column must be a member of the same name and kind (text, integer,
 * number); money comes back in cents. Returns 0, CM_EINPUT (missing, another layout, damaged)
 * or CM_EHDF5 with the reason in err. Local. */
int cm_h5_read_table(hid_t loc, cm_result *table, const char *path, char *err, size_t err_size);

/* Writes an attribute, replacing one of that name: a scalar when count is 0, else a 1-D array.
 * Returns 0 or -1. Local. */
int cm_h5_write_attribute(hid_t loc, const char *name, hid_t type, hsize_t count, const void *data);

/* Ends writing a file made under a temporary name: closes it (a failure to close is an error
 * too); on success renames it to path, otherwise removes it. Returns rc, or the first error.
 * Local. */
int cm_h5_close_commit(hid_t file, int rc, const char *temporary, const char *path, char *err,
                       size_t err_size);

/* Reads an attribute of exactly `count` values (1 for a scalar) as `type` into out. Returns 0
 * or -1 (missing, of another size, unreadable). Local. */
int cm_h5_read_attribute(hid_t loc, const char *name, hid_t type, hsize_t count, void *out);

/* Reads a scalar string attribute into out (cut to size). Returns 0 or -1. Local. */
int cm_h5_read_text_attribute(hid_t loc, const char *name, char *out, size_t size);

/* Reads a 1-D string attribute or dataset: an array of *count NUL-terminated copies (NULL
 * entries for empty values), or NULL when it is missing or unreadable. Free with
 * cm_h5_free_text_array. Local. */
char **cm_h5_read_text_array(hid_t loc, const char *attribute, hsize_t *count);
char **cm_h5_read_text_dataset(hid_t loc, const char *dataset, hsize_t *count);
void cm_h5_free_text_array(char **values, hsize_t count);

#endif
