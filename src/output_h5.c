/* The HDF5 results file: one compound dataset per table and attributes describing the run. */
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clickmill/error.h"
#include "clickmill/event.h"
#include "clickmill/h5.h"
#include "clickmill/output.h"
#include "clickmill/version.h"

hid_t cm_h5_string_type(void)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type >= 0 &&
        (H5Tset_size(type, H5T_VARIABLE) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0)) {
        H5Tclose(type);
        return -1;
    }
    return type;
}

hid_t cm_h5_table_type(const cm_result *table, hid_t text)
{
    hid_t type = H5Tcreate(H5T_COMPOUND, 8 * (size_t)table->ncols);
    for (int c = 0; type >= 0 && c < table->ncols; c++) {
        hid_t member = table->cols[c].type == CM_CELL_TEXT  ? text
                       : table->cols[c].type == CM_CELL_INT ? H5T_NATIVE_INT64
                                                            : H5T_NATIVE_DOUBLE;
        if (H5Tinsert(type, table->cols[c].name, 8 * (size_t)c, member) < 0) {
            H5Tclose(type);
            type = -1;
        }
    }
    return type;
}

/* Every member is 8 bytes (a string pointer, an int64 or a double), so a row is 8 * ncols. */
int cm_h5_write_table(hid_t file, const cm_result *table, const char *path, char *err,
                      size_t err_size)
{
    int rc = CM_EHDF5;
    hid_t type = -1, text = -1, space = -1, set = -1;
    size_t row_size = 8 * (size_t)table->ncols;
    char *rows = cm_xcalloc(table->nrows ? table->nrows : 1, row_size);

    CM_H5_CHECK(text = cm_h5_string_type());
    CM_H5_CHECK(type = cm_h5_table_type(table, text));
    for (size_t r = 0; r < table->nrows; r++) {
        const cm_cell *row = cm_result_row(table, r);
        char *out = rows + r * row_size;
        for (int c = 0; c < table->ncols; c++) {
            if (table->cols[c].type == CM_CELL_MONEY) {
                double money = (double)row[c].num / 100.0;
                memcpy(out + 8 * c, &money, 8);
            } else {
                memcpy(out + 8 * c, &row[c], 8);
            }
        }
    }
    hsize_t dims[1] = {table->nrows};
    CM_H5_CHECK(space = H5Screate_simple(1, dims, NULL));
    CM_H5_CHECK(
        set = H5Dcreate2(file, table->name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    if (table->nrows)
        CM_H5_CHECK(H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows));
    rc = 0;
cleanup:
    if (set >= 0)
        H5Dclose(set);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (text >= 0)
        H5Tclose(text);
    free(rows);
    return rc;
}

int cm_h5_close_commit(hid_t file, int rc, const char *temporary, const char *path, char *err,
                       size_t err_size)
{
    if (file >= 0 && H5Fclose(file) < 0 && rc == 0) {
        snprintf(err, err_size, "%s: closing the HDF5 file failed", temporary);
        rc = CM_EHDF5;
    }
    if (rc != 0) {
        unlink(temporary);
        return rc;
    }
    return cm_commit_file(temporary, path, err, err_size);
}

int cm_h5_write_attribute(hid_t file, const char *name, hid_t type, hsize_t count, const void *data)
{
    int ok = 0;
    if (H5Aexists(file, name) > 0 && H5Adelete(file, name) < 0) /* rewritten: a store's append */
        return -1;
    hid_t space = count == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &count, NULL);
    hid_t attribute =
        space < 0 ? -1 : H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attribute >= 0)
        ok = H5Awrite(attribute, type, data) >= 0;
    if (attribute >= 0)
        H5Aclose(attribute);
    if (space >= 0)
        H5Sclose(space);
    return ok ? 0 : -1;
}

int cm_results_write_h5(const char *path, const cm_results *results, char *err, size_t err_size)
{
    char temporary[4200];
    int rc = CM_EHDF5;
    hid_t file = -1, text = -1;
    snprintf(temporary, sizeof temporary, "%s.tmp.%ld", path, (long)getpid());
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported by H5_CHECK instead */

    CM_H5_CHECK(file = H5Fcreate(temporary, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    for (int t = 0; t < CM_NTABLES; t++)
        if (cm_h5_write_table(file, &results->tables[t], path, err, err_size) != 0)
            goto cleanup;

    CM_H5_CHECK(text = cm_h5_string_type());
    const char *version = CM_VERSION;
    char created[24];
    cm_time_format((int64_t)time(NULL), created);
    const char *created_ptr = created;
    int ranks = results->ranks;
    const char *format = CM_RESULTS_FORMAT;
    int format_version = CM_RESULTS_VERSION;
    CM_H5_CHECK(cm_h5_write_attribute(file, "format", text, 0, &format));
    CM_H5_CHECK(cm_h5_write_attribute(file, "format_version", H5T_NATIVE_INT, 0, &format_version));
    CM_H5_CHECK(cm_h5_write_attribute(file, "clickmill_version", text, 0, &version));
    CM_H5_CHECK(cm_h5_write_attribute(file, "created", text, 0, &created_ptr));
    CM_H5_CHECK(
        cm_h5_write_attribute(file, "input_files", text, (hsize_t)results->nfiles, results->files));
    CM_H5_CHECK(cm_h5_write_attribute(file, "input_bytes", H5T_NATIVE_INT64,
                                      (hsize_t)results->nfiles, results->file_bytes));
    CM_H5_CHECK(cm_h5_write_attribute(file, "ranks", H5T_NATIVE_INT, 0, &ranks));
    CM_H5_CHECK(cm_h5_write_attribute(file, "rows_read", H5T_NATIVE_INT64, 0, &results->rows_read));
    CM_H5_CHECK(
        cm_h5_write_attribute(file, "rows_rejected", H5T_NATIVE_INT64, 0, &results->rows_rejected));
    CM_H5_CHECK(
        cm_h5_write_attribute(file, "run_seconds", H5T_NATIVE_DOUBLE, 0, &results->run_seconds));
    CM_H5_CHECK(H5Fflush(file, H5F_SCOPE_GLOBAL));
    rc = 0;
cleanup:
    if (text >= 0)
        H5Tclose(text);
    return cm_h5_close_commit(file, rc, temporary, path, err, err_size);
}

/* Whether every count and amount of the tables is one analyze can write: not negative,
 * below 2^53 (exact as a double, far from overflow when added up), hours 0 to 23. */
static int results_in_range(const cm_results *results, const char *path, char *err, size_t err_size)
{
    const int64_t most = (int64_t)1 << 53;
    for (int t = 0; t < CM_NTABLES; t++) {
        const cm_result *table = &results->tables[t];
        for (size_t r = 0; r < table->nrows; r++)
            for (int c = 0; c < table->ncols; c++) {
                if (table->cols[c].type == CM_CELL_TEXT)
                    continue;
                int64_t v = cm_result_row(table, r)[c].num;
                int64_t top = t == CM_T_HOURS && c == 0 ? 23 : most;
                if (v < 0 || v > top) {
                    snprintf(err, err_size,
                             "%s: table '%s', row %zu: %s = %lld is out of range (damaged, or "
                             "not written by clickmill)",
                             path, table->name, r + 1, table->cols[c].name, (long long)v);
                    return 0;
                }
            }
    }
    if (results->ranks < 1 || results->rows_read < 0 || results->rows_read > most ||
        results->rows_rejected < 0 || results->rows_rejected > most ||
        !(results->run_seconds >= 0 && results->run_seconds < 1e9)) {
        snprintf(err, err_size, "%s: the run attributes (ranks, rows, seconds) are out of range",
                 path);
        return 0;
    }
    return 1;
}

int cm_results_read_h5(const char *path, cm_results_file *out, char *err, size_t err_size)
{
    int rc = CM_EINPUT;
    hid_t file = -1;
    memset(out, 0, sizeof *out);
    cm_results_init(&out->results);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (access(path, R_OK) != 0) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return CM_EIO;
    }
    if (H5Fis_hdf5(path) <= 0 || (file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        snprintf(err, err_size, "%s: not an HDF5 file (results.h5 of clickmill analyze expected)",
                 path);
        return CM_EINPUT;
    }
    char format[64] = "";
    int format_version = CM_RESULTS_VERSION;
    if (cm_h5_read_text_attribute(file, "format", format, sizeof format) == 0 &&
        strcmp(format, CM_RESULTS_FORMAT) != 0) {
        snprintf(err, err_size, "%s: is a '%s' file, not the results of clickmill analyze", path,
                 format);
        goto cleanup;
    }
    if (format[0] &&
        (cm_h5_read_attribute(file, "format_version", H5T_NATIVE_INT, 1, &format_version) != 0 ||
         format_version != CM_RESULTS_VERSION)) {
        snprintf(err, err_size, "%s: results format version %d; this clickmill reads version %d",
                 path, format_version, CM_RESULTS_VERSION);
        goto cleanup;
    }
    for (int t = 0; t < CM_NTABLES; t++)
        if ((rc = cm_h5_read_table(file, &out->results.tables[t], path, err, err_size)) != 0)
            goto cleanup;
    rc = CM_EINPUT;
    hsize_t nfiles = 0;
    out->files = cm_h5_read_text_array(file, "input_files", &nfiles);
    out->nfiles = (int)nfiles;
    out->file_bytes = cm_xcalloc(nfiles ? nfiles : 1, sizeof *out->file_bytes);
    if (!out->files ||
        cm_h5_read_attribute(file, "input_bytes", H5T_NATIVE_INT64, nfiles, out->file_bytes) != 0 ||
        cm_h5_read_attribute(file, "ranks", H5T_NATIVE_INT, 1, &out->results.ranks) != 0 ||
        cm_h5_read_attribute(file, "rows_read", H5T_NATIVE_INT64, 1, &out->results.rows_read) !=
            0 ||
        cm_h5_read_attribute(file, "rows_rejected", H5T_NATIVE_INT64, 1,
                             &out->results.rows_rejected) != 0 ||
        cm_h5_read_attribute(file, "run_seconds", H5T_NATIVE_DOUBLE, 1,
                             &out->results.run_seconds) != 0 ||
        cm_h5_read_text_attribute(file, "created", out->created, sizeof out->created) != 0 ||
        cm_h5_read_text_attribute(file, "clickmill_version", out->version, sizeof out->version) !=
            0 ||
        out->results.tables[CM_T_SUMMARY].nrows != 1) {
        snprintf(err, err_size,
                 "%s: not a results file of clickmill analyze (its run "
                 "attributes or summary are missing)",
                 path);
        goto cleanup;
    }
    if (!results_in_range(&out->results, path, err, err_size))
        goto cleanup;
    for (hsize_t i = 0; i < nfiles; i++)
        if (!out->files[i])
            out->files[i] = cm_xstrdup("");
    out->results.nfiles = (int)nfiles;
    out->results.files = (const char *const *)out->files;
    out->results.file_bytes = out->file_bytes;
    rc = 0;
cleanup:
    H5Fclose(file);
    if (rc != 0)
        cm_results_file_free(out);
    return rc;
}

void cm_results_file_free(cm_results_file *file)
{
    cm_results_free(&file->results);
    cm_h5_free_text_array(file->files, (hsize_t)file->nfiles);
    free(file->file_bytes);
    memset(file, 0, sizeof *file);
}
