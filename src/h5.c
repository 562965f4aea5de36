/* Reading helpers for the HDF5 files clickmill writes: attributes and string arrays. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"
#include "clickmill/h5.h"

int cm_h5_read_attribute(hid_t loc, const char *name, hid_t type, hsize_t count, void *out)
{
    int ok = 0;
    hid_t attribute = -1, space = -1;
    if (H5Aexists(loc, name) > 0 && (attribute = H5Aopen(loc, name, H5P_DEFAULT)) >= 0 &&
        (space = H5Aget_space(attribute)) >= 0 &&
        H5Sget_simple_extent_npoints(space) == (hssize_t)count)
        ok = H5Aread(attribute, type, out) >= 0;
    if (space >= 0)
        H5Sclose(space);
    if (attribute >= 0)
        H5Aclose(attribute);
    return ok ? 0 : -1;
}

int cm_h5_read_text_attribute(hid_t loc, const char *name, char *out, size_t size)
{
    hsize_t count = 0;
    char **values = cm_h5_read_text_array(loc, name, &count);
    if (!values || count != 1) {
        cm_h5_free_text_array(values, count);
        return -1;
    }
    snprintf(out, size, "%s", values[0] ? values[0] : "");
    cm_h5_free_text_array(values, count);
    return 0;
}

/* Copies the strings HDF5 allocated into our own, and lets HDF5 free its. */
static char **copy_strings(char **read, hsize_t count)
{
    char **values = cm_xcalloc(count ? count : 1, sizeof *values);
    for (hsize_t i = 0; i < count; i++)
        if (read[i] && read[i][0])
            values[i] = cm_xstrdup(read[i]);
    for (hsize_t i = 0; i < count; i++)
        H5free_memory(read[i]);
    return values;
}

/* Reads the whole of an attribute (is_attribute) or a dataset of strings. */
static char **read_strings(hid_t loc, const char *name, int is_attribute, hsize_t *count)
{
    char **values = NULL, **read = NULL;
    hid_t object = -1, space = -1, type = -1, file_type = -1;
    *count = 0;
    if (is_attribute) {
        if (H5Aexists(loc, name) <= 0 || (object = H5Aopen(loc, name, H5P_DEFAULT)) < 0)
            goto cleanup;
        space = H5Aget_space(object);
        file_type = H5Aget_type(object);
    } else {
        if (H5Lexists(loc, name, H5P_DEFAULT) <= 0 ||
            (object = H5Dopen2(loc, name, H5P_DEFAULT)) < 0)
            goto cleanup;
        space = H5Dget_space(object);
        file_type = H5Dget_type(object);
    }
    if (space < 0 || file_type < 0 || H5Tget_class(file_type) != H5T_STRING ||
        H5Tis_variable_str(file_type) <= 0 || H5Sget_simple_extent_ndims(space) > 1)
        goto cleanup;
    hssize_t n = H5Sget_simple_extent_npoints(space);
    if (n < 0 || (type = cm_h5_string_type()) < 0)
        goto cleanup;
    read = cm_xcalloc(n ? (size_t)n : 1, sizeof *read);
    if (n > 0 && (is_attribute ? H5Aread(object, type, read)
                               : H5Dread(object, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, read)) < 0)
        goto cleanup;
    values = copy_strings(read, (hsize_t)n);
    *count = (hsize_t)n;
cleanup:
    free(read);
    if (type >= 0)
        H5Tclose(type);
    if (file_type >= 0)
        H5Tclose(file_type);
    if (space >= 0)
        H5Sclose(space);
    if (object >= 0)
        is_attribute ? H5Aclose(object) : H5Dclose(object);
    return values;
}

char **cm_h5_read_text_array(hid_t loc, const char *attribute, hsize_t *count)
{
    return read_strings(loc, attribute, 1, count);
}

char **cm_h5_read_text_dataset(hid_t loc, const char *dataset, hsize_t *count)
{
    return read_strings(loc, dataset, 0, count);
}

void cm_h5_free_text_array(char **values, hsize_t count)
{
    if (!values)
        return;
    for (hsize_t i = 0; i < count; i++)
        free(values[i]);
    free(values);
}

int cm_h5_read_table(hid_t loc, cm_result *table, const char *path, char *err, size_t err_size)
{
    int rc = CM_EINPUT;
    hid_t set = -1, space = -1, file_type = -1, type = -1, text = -1;
    size_t row_size = 8 * (size_t)table->ncols;
    char *rows = NULL;
    hsize_t count = 0;

    if (H5Lexists(loc, table->name, H5P_DEFAULT) <= 0 ||
        (set = H5Dopen2(loc, table->name, H5P_DEFAULT)) < 0 || (space = H5Dget_space(set)) < 0 ||
        H5Sget_simple_extent_ndims(space) != 1 ||
        H5Sget_simple_extent_dims(space, &count, NULL) != 1 || (file_type = H5Dget_type(set)) < 0 ||
        H5Tget_class(file_type) != H5T_COMPOUND) {
        snprintf(err, err_size, "%s: no readable table '%s'", path, table->name);
        goto cleanup;
    }
    for (int c = 0; c < table->ncols; c++) {
        int member = H5Tget_member_index(file_type, table->cols[c].name);
        H5T_class_t want = table->cols[c].type == CM_CELL_TEXT  ? H5T_STRING
                           : table->cols[c].type == CM_CELL_INT ? H5T_INTEGER
                                                                : H5T_FLOAT;
        int fixed_string = 0;
        if (member >= 0 && want == H5T_STRING) {
            hid_t member_type = H5Tget_member_type(file_type, (unsigned)member);
            fixed_string = member_type >= 0 && H5Tis_variable_str(member_type) <= 0;
            if (member_type >= 0)
                H5Tclose(member_type);
        }
        if (member < 0 || H5Tget_member_class(file_type, (unsigned)member) != want ||
            fixed_string) {
            snprintf(err, err_size, "%s: table '%s' has no %s column '%s'", path, table->name,
                     want == H5T_STRING    ? "text (variable-length string)"
                     : want == H5T_INTEGER ? "integer"
                                           : "number",
                     table->cols[c].name);
            goto cleanup;
        }
    }
    /* A dataset stored whole holds every row's bytes (a compressed one holds fewer). */
    hid_t create = H5Dget_create_plist(set);
    int filtered = create >= 0 && H5Pget_nfilters(create) > 0;
    if (create >= 0)
        H5Pclose(create);
    if (!filtered && H5Dget_storage_size(set) < count * H5Tget_size(file_type)) {
        snprintf(err, err_size, "%s: table '%s' declares %llu rows but stores fewer (damaged)",
                 path, table->name, (unsigned long long)count);
        goto cleanup;
    }
    rc = CM_EHDF5;
    CM_H5_CHECK(text = cm_h5_string_type());
    CM_H5_CHECK(type = cm_h5_table_type(table, text));
    rows = cm_xcalloc(count ? count : 1, row_size);
    if (count && H5Dread(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0) {
        snprintf(err, err_size, "%s: cannot read table '%s' (damaged?)", path, table->name);
        rc = CM_EINPUT;
        goto cleanup;
    }
    for (hsize_t r = 0; r < count; r++) {
        cm_cell *row = cm_result_add_row(table);
        const char *in = rows + r * row_size;
        for (int c = 0; c < table->ncols; c++) {
            if (table->cols[c].type == CM_CELL_TEXT) {
                char *value;
                memcpy(&value, in + 8 * c, sizeof value);
                row[c].text = cm_xstrdup(value ? value : "");
            } else if (table->cols[c].type == CM_CELL_MONEY) {
                double units;
                memcpy(&units, in + 8 * c, sizeof units);
                row[c].num = isfinite(units) && fabs(units) < 9e15 ? llround(units * 100.0) : 0;
            } else {
                memcpy(&row[c], in + 8 * c, 8);
            }
        }
    }
    rc = 0;
cleanup:
    if (rows && count)
        H5Dvlen_reclaim(type, space, H5P_DEFAULT, rows);
    free(rows);
    if (type >= 0)
        H5Tclose(type);
    if (text >= 0)
        H5Tclose(text);
    if (file_type >= 0)
        H5Tclose(file_type);
    if (space >= 0)
        H5Sclose(space);
    if (set >= 0)
        H5Dclose(set);
    return rc;
}
