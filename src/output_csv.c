/* CSV and JSON writers for result tables, and the atomic tables/ directory. */
#include "clickmill/output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clickmill/error.h"

void cm_csv_field(cm_buffer *out, const char *text, size_t len)
{
    int quote = 0;
    for (size_t i = 0; i < len && !quote; i++)
        quote = text[i] == ',' || text[i] == '"' || text[i] == '\r' || text[i] == '\n';
    if (!quote) {
        cm_buffer_append(out, text, len);
        return;
    }
    cm_buffer_append(out, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        cm_buffer_append(out, &text[i], 1);
        if (text[i] == '"')
            cm_buffer_append(out, "\"", 1);
    }
    cm_buffer_append(out, "\"", 1);
}

int cm_result_write_csv(FILE *out, const cm_result *table)
{
    char cell[64];
    cm_buffer field = {0};
    for (int c = 0; c < table->ncols; c++)
        fprintf(out, "%s%s", c ? "," : "", table->cols[c].name);
    fputc('\n', out);
    for (size_t r = 0; r < table->nrows; r++) {
        const cm_cell *row = cm_result_row(table, r);
        for (int c = 0; c < table->ncols; c++) {
            if (c)
                fputc(',', out);
            if (table->cols[c].type == CM_CELL_TEXT) {
                field.len = 0;
                cm_csv_field(&field, row[c].text, strlen(row[c].text));
                if (field.len)
                    fwrite(field.data, 1, field.len, out);
            } else {
                cm_cell_format(&table->cols[c], row[c], cell, sizeof cell);
                fputs(cell, out);
            }
        }
        fputc('\n', out);
    }
    cm_buffer_free(&field);
    return ferror(out) ? CM_EIO : 0;
}

static void write_json_text(FILE *out, const char *text)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c < 0x20)
            fprintf(out, "\\u%04x", *c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

int cm_result_write_json(FILE *out, const cm_result *table)
{
    char cell[64];
    fputc('[', out);
    for (size_t r = 0; r < table->nrows; r++) {
        const cm_cell *row = cm_result_row(table, r);
        fputs(r ? ",\n  {" : "\n  {", out);
        for (int c = 0; c < table->ncols; c++) {
            fprintf(out, "%s\"%s\": ", c ? ", " : "", table->cols[c].name);
            if (table->cols[c].type == CM_CELL_TEXT) {
                write_json_text(out, row[c].text);
            } else {
                cm_cell_format(&table->cols[c], row[c], cell, sizeof cell);
                fputs(cell, out);
            }
        }
        fputc('}', out);
    }
    fputs(table->nrows ? "\n]" : "]", out);
    return ferror(out) ? CM_EIO : 0;
}

int cm_mkdirs(const char *path, char *err, size_t err_size)
{
    if (path[0] == '\0') {
        snprintf(err, err_size, "the output directory name is empty");
        return CM_EIO;
    }
    char *copy = cm_xstrdup(path);
    int rc = 0;
    for (char *slash = copy + 1;; slash++) {
        if (*slash != '/' && *slash != '\0')
            continue;
        char saved = *slash;
        *slash = '\0';
        if (mkdir(copy, 0777) != 0 && errno != EEXIST) {
            snprintf(err, err_size, "%s: cannot create directory: %s", copy, strerror(errno));
            rc = CM_EIO;
            break;
        }
        struct stat st;
        if (stat(copy, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, err_size, "%s: exists and is not a directory", copy);
            rc = CM_EIO;
            break;
        }
        *slash = saved;
        if (saved == '\0')
            break;
    }
    free(copy);
    return rc;
}

/* Whether two paths name one file: the same inode when both exist; otherwise the same last
 * component in the same directory (by inode), so that "d/x" and "./d/x" match before x
 * exists. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (strcmp(a, b) == 0)
        return 1;
    int a_exists = stat(a, &sa) == 0, b_exists = stat(b, &sb) == 0;
    if (a_exists && b_exists)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (a_exists != b_exists)
        return 0;
    const char *base_a = strrchr(a, '/'), *base_b = strrchr(b, '/');
    base_a = base_a ? base_a + 1 : a;
    base_b = base_b ? base_b + 1 : b;
    if (strcmp(base_a, base_b) != 0)
        return 0;
    char dir_a[4096], dir_b[4096];
    cm_path_dir(a, dir_a, sizeof dir_a);
    cm_path_dir(b, dir_b, sizeof dir_b);
    return stat(dir_a, &sa) == 0 && stat(dir_b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int cm_output_check(const char *path, char *const *inputs, int ninputs, char *err, size_t err_size)
{
    struct stat out;
    if (!path[0]) {
        snprintf(err, err_size, "an output file name is empty");
        return CM_EUSAGE;
    }
    if (lstat(path, &out) == 0 && !S_ISREG(out.st_mode)) {
        /* The file is written under a temporary name and renamed: that would replace a
           device, a pipe or a link rather than write into it. */
        snprintf(err, err_size, "%s: is %s", path,
                 S_ISDIR(out.st_mode)   ? "a directory; give a file name"
                 : S_ISLNK(out.st_mode) ? "a symbolic link; give the file it points to"
                                        : "a device, pipe or socket; give a regular file");
        return CM_EUSAGE;
    }
    for (int i = 0; i < ninputs; i++)
        if (same_file(inputs[i], path)) {
            snprintf(err, err_size,
                     "%s: is also an input or another output; refusing to "
                     "overwrite it",
                     path);
            return CM_EUSAGE;
        }
    char temporary[4200];
    snprintf(temporary, sizeof temporary, "%s.tmp.%ld", path, (long)getpid());
    FILE *probe = fopen(temporary, "w");
    if (!probe) {
        snprintf(err, err_size, "%s: cannot write there: %s", path, strerror(errno));
        return CM_EIO;
    }
    fclose(probe);
    unlink(temporary);
    return 0;
}

int cm_commit_file(const char *temporary, const char *path, char *err, size_t err_size)
{
    if (rename(temporary, path) == 0)
        return 0;
    snprintf(err, err_size, "%s: cannot rename into place: %s", path, strerror(errno));
    unlink(temporary);
    return CM_EIO;
}

FILE *cm_output_open(const char *path, char *temporary, size_t temporary_size, char *err,
                     size_t err_size)
{
    snprintf(temporary, temporary_size, "%s.tmp.%ld", path, (long)getpid());
    FILE *out = fopen(temporary, "w");
    if (!out)
        snprintf(err, err_size, "%s: cannot create: %s", temporary, strerror(errno));
    return out;
}

int cm_output_commit(FILE *out, const char *temporary, const char *path, char *err, size_t err_size)
{
    if (ferror(out) | (fclose(out) != 0)) {
        snprintf(err, err_size, "%s: write error: %s", temporary, strerror(errno));
        unlink(temporary);
        return CM_EIO;
    }
    return cm_commit_file(temporary, path, err, err_size);
}

int cm_results_write_csv_dir(const char *dir, const cm_results *results, char *err, size_t err_size)
{
    char tables[4096], path[4200], temporary[4300];
    snprintf(tables, sizeof tables, "%s/tables", dir);
    int rc = cm_mkdirs(tables, err, err_size);
    for (int t = 0; t < CM_NTABLES && rc == 0; t++) {
        snprintf(path, sizeof path, "%s/%s.csv", tables, results->tables[t].name);
        FILE *out = cm_output_open(path, temporary, sizeof temporary, err, err_size);
        if (!out)
            return CM_EIO;
        cm_result_write_csv(out, &results->tables[t]); /* its errors stay in ferror(out) */
        rc = cm_output_commit(out, temporary, path, err, err_size);
    }
    return rc;
}

void cm_path_dir(const char *path, char *out, size_t size)
{
    snprintf(out, size, "%s", path);
    char *slash = strrchr(out, '/');
    if (!slash)
        snprintf(out, size, ".");
    else
        slash[slash == out] = '\0'; /* "/x" keeps its "/" */
}
