/* Reading helpers for the HDF5 files clickmill writes: attributes and string arrays. */
#include <hdf5.h>
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
