/* model.h5: writing the model, and reading it back with every part checked. */
#include "clickmill/model.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clickmill/error.h"
#include "clickmill/features.h"
#include "clickmill/h5.h"
#include "clickmill/merge.h"
#include "clickmill/output.h"
#include "clickmill/result.h"
#include "clickmill/version.h"

void cm_model_init(cm_model *model)
{
    memset(model, 0, sizeof *model);
    cm_forest_init(&model->forest, CM_NFEATURES);
    model->test_fraction = -1;
    model->threshold = 0.5;
}

void cm_model_free(cm_model *model)
{
    cm_forest_free(&model->forest);
    for (int d = 0; d < CM_NDICTS; d++)
        cm_dictionary_free(&model->dicts[d]);
    memset(model, 0, sizeof *model);
}

/* The metrics table: one row per set, one column per field of cm_metrics. */
typedef struct {
    cm_column_def col;
    size_t offset;
} metric_field;

#define METRIC_INT(name)                                                                           \
    {                                                                                              \
        {#name, CM_CELL_INT}, offsetof(cm_metrics, name)                                           \
    }
#define METRIC_REAL(name)                                                                          \
    {                                                                                              \
        {#name, CM_CELL_REAL}, offsetof(cm_metrics, name)                                          \
    }
static const metric_field metric_fields[] = {
    METRIC_INT(samples),
    METRIC_INT(positives),
    METRIC_INT(tp),
    METRIC_INT(fp),
    METRIC_INT(tn),
    METRIC_INT(fn),
    METRIC_REAL(threshold),
    METRIC_REAL(accuracy),
    METRIC_REAL(balanced_accuracy),
    METRIC_REAL(precision),
    METRIC_REAL(recall),
    METRIC_REAL(f1),
    METRIC_REAL(roc_auc),
    METRIC_REAL(pr_auc),
    METRIC_REAL(log_loss),
    METRIC_REAL(base_accuracy),
    METRIC_REAL(base_balanced_accuracy),
    METRIC_REAL(base_precision),
    METRIC_REAL(base_recall),
    METRIC_REAL(base_f1),
    METRIC_REAL(base_log_loss),
    METRIC_REAL(base_roc_auc),
    METRIC_REAL(base_pr_auc),
};
#define NMETRICS ((int)(sizeof metric_fields / sizeof metric_fields[0]))

static const cm_column_def feature_cols[] = {
    {"name", CM_CELL_TEXT},           {"categorical", CM_CELL_INT},  {"importance", CM_CELL_REAL},
    {"importance_sum", CM_CELL_REAL}, {"description", CM_CELL_TEXT},
};
static const cm_column_def dictionary_cols[] = {
    {"id", CM_CELL_INT}, {"value", CM_CELL_TEXT}, {"events", CM_CELL_INT}};
static const cm_column_def node_cols[] = {
    {"tree", CM_CELL_INT},       {"node", CM_CELL_INT},   {"feature", CM_CELL_INT},
    {"left", CM_CELL_INT},       {"right", CM_CELL_INT},  {"depth", CM_CELL_INT},
    {"threshold", CM_CELL_REAL}, {"value", CM_CELL_REAL}, {"weight", CM_CELL_REAL},
};
static const cm_column_def roc_cols[] = {{"fpr", CM_CELL_REAL}, {"tpr", CM_CELL_REAL}};
static const cm_column_def pr_cols[] = {{"recall", CM_CELL_REAL}, {"precision", CM_CELL_REAL}};

#define NCOLS(cols) ((int)(sizeof cols / sizeof cols[0]))

static void result_free(cm_result *table)
{
    free(table->cells);
    table->cells = NULL;
    table->nrows = table->cap = 0;
}

static int write_curve(hid_t file, const char *name, const cm_column_def *cols,
                       const cm_curve *curve, const char *path, char *err, size_t err_size)
{
    cm_result table = {.name = name, .ncols = 2, .cols = cols};
    for (int i = 0; i < curve->count; i++) {
        cm_cell *row = cm_result_add_row(&table);
        row[0].real = curve->x[i];
        row[1].real = curve->y[i];
    }
    int rc = cm_h5_write_table(file, &table, path, err, err_size);
    result_free(&table);
    return rc;
}

static int write_parts(hid_t file, const cm_model *model, const char *path, char *err,
                       size_t err_size)
{
    int rc;
    double importance[CM_NFEATURES];
    cm_forest_importances(&model->forest, importance);
    cm_result features = {.name = "features", .ncols = NCOLS(feature_cols), .cols = feature_cols};
    for (int f = 0; f < CM_NFEATURES; f++) {
        cm_cell *row = cm_result_add_row(&features);
        row[0].text = (char *)cm_feature_defs[f].name;
        row[1].num = cm_feature_defs[f].categorical;
        row[2].real = importance[f];
        row[3].real = model->forest.importance[f];
        row[4].text = (char *)cm_feature_defs[f].description;
    }
    rc = cm_h5_write_table(file, &features, path, err, err_size);
    result_free(&features);
    for (int d = 0; d < CM_NDICTS && rc == 0; d++) {
        char name[64];
        snprintf(name, sizeof name, "dictionary_%s", cm_dictionary_names[d]);
        cm_result dict = {.name = name, .ncols = NCOLS(dictionary_cols), .cols = dictionary_cols};
        for (size_t i = 0; i < model->dicts[d].count; i++) {
            cm_cell *row = cm_result_add_row(&dict);
            row[0].num = (int64_t)i;
            row[1].text = model->dicts[d].values[i];
            row[2].num = model->dicts[d].events[i];
        }
        rc = cm_h5_write_table(file, &dict, path, err, err_size);
        result_free(&dict);
    }
    if (rc == 0) {
        cm_result nodes = {.name = "nodes", .ncols = NCOLS(node_cols), .cols = node_cols};
        const cm_forest *forest = &model->forest;
        for (int t = 0; t < forest->ntrees; t++)
            for (int64_t k = forest->tree_start[t]; k < forest->tree_start[t + 1]; k++) {
                const cm_tree_node *node = &forest->nodes[k];
                cm_cell *row = cm_result_add_row(&nodes);
                row[0].num = t;
                row[1].num = k - forest->tree_start[t];
                row[2].num = node->feature;
                row[3].num = node->left;
                row[4].num = node->right;
                row[5].num = node->depth;
                row[6].real = node->threshold;
                row[7].real = node->value;
                row[8].real = node->weight;
            }
        rc = cm_h5_write_table(file, &nodes, path, err, err_size);
        result_free(&nodes);
    }
    if (rc == 0) {
        cm_column_def cols[NMETRICS + 1] = {{"set", CM_CELL_TEXT}};
        for (int m = 0; m < NMETRICS; m++)
            cols[m + 1] = metric_fields[m].col;
        cm_result metrics = {.name = "metrics", .ncols = NMETRICS + 1, .cols = cols};
        const cm_metrics *sets[2] = {&model->train, &model->test};
        const char *names[2] = {"train", "test"};
        for (int s = 0; s < 2; s++) {
            cm_cell *row = cm_result_add_row(&metrics);
            row[0].text = (char *)names[s];
            for (int m = 0; m < NMETRICS; m++)
                memcpy(&row[m + 1], (const char *)sets[s] + metric_fields[m].offset, 8);
        }
        rc = cm_h5_write_table(file, &metrics, path, err, err_size);
        result_free(&metrics);
    }
    if (rc == 0)
        rc = write_curve(file, "roc", roc_cols, &model->roc, path, err, err_size);
    if (rc == 0)
        rc = write_curve(file, "pr", pr_cols, &model->pr, path, err, err_size);
    return rc;
}

int cm_model_write(const char *path, const cm_model *model, char *err, size_t err_size)
{
    char temporary[4200];
    int rc = CM_EHDF5;
    hid_t file = -1, text = -1;
    snprintf(temporary, sizeof temporary, "%s.tmp.%ld", path, (long)getpid());
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    CM_H5_CHECK(file = H5Fcreate(temporary, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    if (write_parts(file, model, path, err, err_size) != 0)
        goto cleanup;
    CM_H5_CHECK(text = cm_h5_string_type());
    const char *format = CM_MODEL_FORMAT, *version = CM_VERSION, *created = model->created;
    int format_version = CM_MODEL_VERSION;
    const cm_forest_params *p = &model->params;
    int64_t seed = (int64_t)p->seed;
    CM_H5_CHECK(cm_h5_write_attribute(file, "format", text, 0, &format));
    CM_H5_CHECK(cm_h5_write_attribute(file, "format_version", H5T_NATIVE_INT, 0, &format_version));
    CM_H5_CHECK(cm_h5_write_attribute(file, "clickmill_version", text, 0, &version));
    CM_H5_CHECK(cm_h5_write_attribute(file, "created", text, 0, &created));
    CM_H5_CHECK(cm_h5_write_attribute(file, "ranks", H5T_NATIVE_INT, 0, &model->ranks));
    CM_H5_CHECK(cm_h5_write_attribute(file, "trees", H5T_NATIVE_INT, 0, &model->forest.ntrees));
    CM_H5_CHECK(cm_h5_write_attribute(file, "max_depth", H5T_NATIVE_INT, 0, &p->max_depth));
    CM_H5_CHECK(cm_h5_write_attribute(file, "min_leaf", H5T_NATIVE_INT, 0, &p->min_leaf));
    CM_H5_CHECK(cm_h5_write_attribute(file, "max_features", H5T_NATIVE_INT, 0, &p->max_features));
    CM_H5_CHECK(cm_h5_write_attribute(file, "bins", H5T_NATIVE_INT, 0, &p->bins));
    CM_H5_CHECK(cm_h5_write_attribute(file, "seed", H5T_NATIVE_INT64, 0, &seed));
    CM_H5_CHECK(cm_h5_write_attribute(file, "test_days", H5T_NATIVE_INT, 0, &model->test_days));
    CM_H5_CHECK(
        cm_h5_write_attribute(file, "test_fraction", H5T_NATIVE_DOUBLE, 0, &model->test_fraction));
    CM_H5_CHECK(cm_h5_write_attribute(file, "threshold", H5T_NATIVE_DOUBLE, 0, &model->threshold));
    CM_H5_CHECK(cm_h5_write_attribute(file, "prior", H5T_NATIVE_DOUBLE, 0, &model->prior));
    CM_H5_CHECK(
        cm_h5_write_attribute(file, "train_seconds", H5T_NATIVE_DOUBLE, 0, &model->train_seconds));
    CM_H5_CHECK(H5Fflush(file, H5F_SCOPE_GLOBAL));
    rc = 0;
cleanup:
    if (text >= 0)
        H5Tclose(text);
    return cm_h5_close_commit(file, rc, temporary, path, err, err_size);
}

/* Reading. Every reader names the file and the part that is wrong. */

static int read_attribute(hid_t file, const char *name, hid_t type, void *out, const char *path,
                          char *err, size_t err_size)
{
    if (cm_h5_read_attribute(file, name, type, 1, out) == 0)
        return 0;
    snprintf(err, err_size, "%s: the model has no readable attribute '%s'", path, name);
    return CM_EINPUT;
}

/* Reads a string attribute into out (cut to size). */
static int read_text_attribute(hid_t file, const char *name, char *out, size_t size,
                               const char *path, char *err, size_t err_size)
{
    if (cm_h5_read_text_attribute(file, name, out, size) == 0)
        return 0;
    snprintf(err, err_size, "%s: the model has no readable attribute '%s'", path, name);
    return CM_EINPUT;
}

/* The rows of a compound dataset, and one named member of every row. */
static int dataset_rows(hid_t file, const char *name, hsize_t *rows, const char *path, char *err,
                        size_t err_size)
{
    hid_t set = -1, space = -1, type = -1;
    int ok = 0;
    size_t row_size = 0;
    hsize_t stored = 0;
    if (H5Lexists(file, name, H5P_DEFAULT) > 0 && (set = H5Dopen2(file, name, H5P_DEFAULT)) >= 0 &&
        (space = H5Dget_space(set)) >= 0 && H5Sget_simple_extent_ndims(space) == 1 &&
        (type = H5Dget_type(set)) >= 0) {
        ok = H5Sget_simple_extent_dims(space, rows, NULL) == 1;
        row_size = H5Tget_size(type);
        stored = H5Dget_storage_size(set);
    }
    if (type >= 0)
        H5Tclose(type);
    if (space >= 0)
        H5Sclose(space);
    if (set >= 0)
        H5Dclose(set);
    if (!ok) {
        snprintf(err, err_size, "%s: the model has no readable dataset '%s'", path, name);
        return CM_EINPUT;
    }
    /* clickmill writes every dataset whole and uncompressed: a dataset that declares more rows
       than it stores is damaged, and is refused before anything is allocated for it. */
    if (row_size == 0 || *rows > stored / row_size) {
        snprintf(err, err_size,
                 "%s: dataset '%s' declares %llu rows but stores %llu bytes "
                 "(damaged, or not written by clickmill)",
                 path, name, (unsigned long long)*rows, (unsigned long long)stored);
        return CM_EINPUT;
    }
    return 0;
}

static int read_member(hid_t file, const char *name, const char *member, hid_t type, size_t size,
                       void *out, const char *path, char *err, size_t err_size)
{
    hid_t set = -1, file_type = -1, memory = -1;
    int ok = 0;
    if ((set = H5Dopen2(file, name, H5P_DEFAULT)) >= 0 && (file_type = H5Dget_type(set)) >= 0 &&
        H5Tget_class(file_type) == H5T_COMPOUND && H5Tget_member_index(file_type, member) >= 0 &&
        (memory = H5Tcreate(H5T_COMPOUND, size)) >= 0 && H5Tinsert(memory, member, 0, type) >= 0)
        ok = H5Dread(set, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0;
    if (memory >= 0)
        H5Tclose(memory);
    if (file_type >= 0)
        H5Tclose(file_type);
    if (set >= 0)
        H5Dclose(set);
    if (!ok) {
        snprintf(err, err_size, "%s: cannot read column '%s' of dataset '%s'", path, member, name);
        return CM_EINPUT;
    }
    return 0;
}

static int read_int_column(hid_t file, const char *name, const char *member, hsize_t rows,
                           int64_t **out, const char *path, char *err, size_t err_size)
{
    *out = cm_xcalloc(rows ? rows : 1, sizeof **out);
    return read_member(file, name, member, H5T_NATIVE_INT64, sizeof **out, *out, path, err,
                       err_size);
}

static int read_real_column(hid_t file, const char *name, const char *member, hsize_t rows,
                            double **out, const char *path, char *err, size_t err_size)
{
    *out = cm_xcalloc(rows ? rows : 1, sizeof **out);
    return read_member(file, name, member, H5T_NATIVE_DOUBLE, sizeof **out, *out, path, err,
                       err_size);
}

/* Reads a string column into malloc'd copies. */
static int read_text_column(hid_t file, const char *name, const char *member, hsize_t rows,
                            char ***out, const char *path, char *err, size_t err_size)
{
    char **values = cm_xcalloc(rows ? rows : 1, sizeof *values);
    hid_t text = cm_h5_string_type();
    int rc = read_member(file, name, member, text, sizeof(char *), values, path, err, err_size);
    *out = cm_xcalloc(rows ? rows : 1, sizeof **out);
    for (hsize_t i = 0; i < rows; i++) {
        (*out)[i] = cm_xstrdup(values[i] ? values[i] : "");
        if (values[i])
            H5free_memory(values[i]);
    }
    H5Tclose(text);
    free(values);
    return rc;
}

static void free_texts(char **texts, hsize_t rows)
{
    if (!texts)
        return;
    for (hsize_t i = 0; i < rows; i++)
        free(texts[i]);
    free(texts);
}

static int read_features(hid_t file, cm_model *model, const char *path, char *err, size_t err_size)
{
    hsize_t rows;
    char **names = NULL;
    double *sums = NULL;
    int rc = dataset_rows(file, "features", &rows, path, err, err_size);
    if (rc == 0 && rows != CM_NFEATURES) {
        snprintf(err, err_size, "%s: the model has %llu features, this clickmill uses %d", path,
                 (unsigned long long)rows, CM_NFEATURES);
        rc = CM_EINPUT;
    }
    if (rc == 0)
        rc = read_text_column(file, "features", "name", rows, &names, path, err, err_size);
    if (rc == 0)
        rc = read_real_column(file, "features", "importance_sum", rows, &sums, path, err, err_size);
    for (int f = 0; rc == 0 && f < CM_NFEATURES; f++) {
        if (strcmp(names[f], cm_feature_defs[f].name) != 0) {
            snprintf(err, err_size, "%s: feature %d is '%s', this clickmill's is '%s'", path, f,
                     names[f], cm_feature_defs[f].name);
            rc = CM_EINPUT;
        }
        model->forest.importance[f] = sums[f];
    }
    free_texts(names, names ? rows : 0);
    free(sums);
    return rc;
}

static int read_dictionary(hid_t file, int d, cm_model *model, const char *path, char *err,
                           size_t err_size)
{
    char name[64];
    snprintf(name, sizeof name, "dictionary_%s", cm_dictionary_names[d]);
    hsize_t rows;
    char **values = NULL;
    int64_t *ids = NULL, *events = NULL;
    int rc = dataset_rows(file, name, &rows, path, err, err_size);
    if (rc == 0)
        rc = read_text_column(file, name, "value", rows, &values, path, err, err_size);
    if (rc == 0)
        rc = read_int_column(file, name, "id", rows, &ids, path, err, err_size);
    if (rc == 0)
        rc = read_int_column(file, name, "events", rows, &events, path, err, err_size);
    for (hsize_t i = 0; rc == 0 && i < rows; i++)
        if (ids[i] != (int64_t)i) {
            snprintf(err, err_size, "%s: %s: row %llu has id %lld", path, name,
                     (unsigned long long)i, (long long)ids[i]);
            rc = CM_EINPUT;
        }
    free(ids);
    if (rc != 0) {
        free_texts(values, values ? rows : 0);
        free(events);
        return rc;
    }
    cm_dictionary_init(&model->dicts[d], values, events, (size_t)rows);
    if (model->dicts[d].index.count != rows) {
        snprintf(err, err_size, "%s: %s holds a value twice", path, name);
        return CM_EINPUT;
    }
    return 0;
}

static int read_forest(hid_t file, cm_model *model, const char *path, char *err, size_t err_size)
{
    static const char *const int_names[] = {"tree", "node", "feature", "left", "right", "depth"};
    static const char *const real_names[] = {"threshold", "value", "weight"};
    hsize_t rows;
    int64_t *ints[6] = {0};
    double *reals[3] = {0};
    int rc = dataset_rows(file, "nodes", &rows, path, err, err_size);
    for (int c = 0; c < 6 && rc == 0; c++)
        rc = read_int_column(file, "nodes", int_names[c], rows, &ints[c], path, err, err_size);
    for (int c = 0; c < 3 && rc == 0; c++)
        rc = read_real_column(file, "nodes", real_names[c], rows, &reals[c], path, err, err_size);
    int trees = 0;
    if (rc == 0)
        rc = read_attribute(file, "trees", H5T_NATIVE_INT, &trees, path, err, err_size);
    if (rc == 0 && (trees < 1 || (hsize_t)trees > rows)) {
        snprintf(err, err_size, "%s: the model says %d trees but has %llu nodes", path, trees,
                 (unsigned long long)rows);
        rc = CM_EINPUT;
    }
    /* Rows come tree by tree, each tree's nodes numbered from 0. */
    cm_forest *forest = &model->forest;
    for (hsize_t start = 0; rc == 0 && start < rows;) {
        hsize_t end = start;
        while (end < rows && ints[0][end] == ints[0][start])
            end++;
        if (ints[0][start] != forest->ntrees) {
            snprintf(err, err_size, "%s: nodes of tree %lld where tree %d was expected", path,
                     (long long)ints[0][start], forest->ntrees);
            rc = CM_EINPUT;
            break;
        }
        cm_tree_node *nodes = cm_xcalloc(end - start, sizeof *nodes);
        for (hsize_t k = start; k < end && rc == 0; k++) {
            if (ints[1][k] != (int64_t)(k - start) || ints[2][k] < -1 ||
                ints[2][k] >= CM_NFEATURES || ints[3][k] < 0 || ints[3][k] > INT32_MAX ||
                ints[4][k] < 0 || ints[4][k] > INT32_MAX) {
                snprintf(err, err_size, "%s: tree %lld node %lld is malformed", path,
                         (long long)ints[0][k], (long long)ints[1][k]);
                rc = CM_EINPUT;
            }
            cm_tree_node *node = &nodes[k - start];
            node->feature = (int32_t)ints[2][k];
            node->left = (int32_t)ints[3][k];
            node->right = (int32_t)ints[4][k];
            node->depth = (int32_t)ints[5][k];
            node->threshold = reals[0][k];
            node->value = reals[1][k];
            node->weight = reals[2][k];
        }
        if (rc == 0)
            cm_forest_add_tree(forest, nodes, end - start, NULL);
        free(nodes);
        start = end;
    }
    if (rc == 0 && forest->ntrees != trees) {
        snprintf(err, err_size, "%s: the model says %d trees but has %d", path, trees,
                 forest->ntrees);
        rc = CM_EINPUT;
    }
    if (rc == 0) {
        char why[512];
        if (cm_forest_check(forest, why, sizeof why) != 0) {
            snprintf(err, err_size, "%s: %s", path, why);
            rc = CM_EINPUT;
        }
    }
    for (int c = 0; c < 6; c++)
        free(ints[c]);
    for (int c = 0; c < 3; c++)
        free(reals[c]);
    return rc;
}

static int read_metrics(hid_t file, cm_model *model, const char *path, char *err, size_t err_size)
{
    hsize_t rows;
    int rc = dataset_rows(file, "metrics", &rows, path, err, err_size);
    if (rc == 0 && rows != 2) {
        snprintf(err, err_size, "%s: the metrics dataset has %llu rows, not 2", path,
                 (unsigned long long)rows);
        rc = CM_EINPUT;
    }
    cm_metrics *sets[2] = {&model->train, &model->test};
    for (int m = 0; m < NMETRICS && rc == 0; m++) {
        hid_t type =
            metric_fields[m].col.type == CM_CELL_INT ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE;
        char values[2][8];
        rc = read_member(file, "metrics", metric_fields[m].col.name, type, 8, values, path, err,
                         err_size);
        for (int s = 0; s < 2 && rc == 0; s++) {
            int64_t count;
            memcpy(&count, values[s], 8);
            if (metric_fields[m].col.type == CM_CELL_INT && (count < 0 || count > INT64_MAX / 4)) {
                snprintf(err, err_size, "%s: metric '%s' is %lld", path, metric_fields[m].col.name,
                         (long long)count);
                rc = CM_EINPUT;
            }
            memcpy((char *)sets[s] + metric_fields[m].offset, values[s], 8);
        }
    }
    const char *curves[2] = {"roc", "pr"};
    const cm_column_def *cols[2] = {roc_cols, pr_cols};
    cm_curve *out[2] = {&model->roc, &model->pr};
    for (int c = 0; c < 2 && rc == 0; c++) {
        double *xs = NULL, *ys = NULL;
        rc = dataset_rows(file, curves[c], &rows, path, err, err_size);
        if (rc == 0 && rows > CM_CURVE_POINTS) {
            snprintf(err, err_size, "%s: curve '%s' has %llu points", path, curves[c],
                     (unsigned long long)rows);
            rc = CM_EINPUT;
        }
        if (rc == 0)
            rc = read_real_column(file, curves[c], cols[c][0].name, rows, &xs, path, err, err_size);
        if (rc == 0)
            rc = read_real_column(file, curves[c], cols[c][1].name, rows, &ys, path, err, err_size);
        if (rc == 0) {
            out[c]->count = (int)rows;
            memcpy(out[c]->x, xs, rows * sizeof *xs);
            memcpy(out[c]->y, ys, rows * sizeof *ys);
        }
        free(xs);
        free(ys);
    }
    return rc;
}

int cm_model_read(const char *path, cm_model *model, char *err, size_t err_size)
{
    memset(model, 0, sizeof *model); /* a failure leaves it holding nothing */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (access(path, R_OK) != 0) {
        snprintf(err, err_size, "%s: cannot read the model: %s", path, strerror(errno));
        return CM_EIO;
    }
    if (H5Fis_hdf5(path) <= 0) {
        snprintf(err, err_size, "%s: not a model: not an HDF5 file, or a truncated one", path);
        return CM_EINPUT;
    }
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        snprintf(err, err_size, "%s: cannot open the HDF5 file (truncated or damaged?)", path);
        return CM_EINPUT;
    }
    cm_model_init(model);
    char format[64] = "";
    int version = 0;
    int rc = 0;
    if (read_text_attribute(file, "format", format, sizeof format, path, err, err_size) != 0 ||
        strcmp(format, CM_MODEL_FORMAT) != 0) {
        snprintf(err, err_size,
                 "%s: not a clickmill model (its 'format' attribute is not '%s'); "
                 "train one with 'clickmill train'",
                 path, CM_MODEL_FORMAT);
        rc = CM_EINPUT;
    }
    if (rc == 0)
        rc = read_attribute(file, "format_version", H5T_NATIVE_INT, &version, path, err, err_size);
    if (rc == 0 && version != CM_MODEL_VERSION) {
        snprintf(err, err_size, "%s: model format version %d; this clickmill reads version %d",
                 path, version, CM_MODEL_VERSION);
        rc = CM_EINPUT;
    }
    cm_forest_params *p = &model->params;
    int64_t seed = 0;
    struct {
        const char *name;
        hid_t type;
        void *out;
    } attributes[] = {
        {"ranks", H5T_NATIVE_INT, &model->ranks},
        {"max_depth", H5T_NATIVE_INT, &p->max_depth},
        {"min_leaf", H5T_NATIVE_INT, &p->min_leaf},
        {"max_features", H5T_NATIVE_INT, &p->max_features},
        {"bins", H5T_NATIVE_INT, &p->bins},
        {"seed", H5T_NATIVE_INT64, &seed},
        {"test_days", H5T_NATIVE_INT, &model->test_days},
        {"test_fraction", H5T_NATIVE_DOUBLE, &model->test_fraction},
        {"threshold", H5T_NATIVE_DOUBLE, &model->threshold},
        {"prior", H5T_NATIVE_DOUBLE, &model->prior},
        {"train_seconds", H5T_NATIVE_DOUBLE, &model->train_seconds},
    };
    for (size_t a = 0; rc == 0 && a < sizeof attributes / sizeof attributes[0]; a++)
        rc = read_attribute(file, attributes[a].name, attributes[a].type, attributes[a].out, path,
                            err, err_size);
    p->seed = (uint64_t)seed;
    if (rc == 0)
        rc = read_text_attribute(file, "clickmill_version", model->version, sizeof model->version,
                                 path, err, err_size);
    if (rc == 0)
        rc = read_text_attribute(file, "created", model->created, sizeof model->created, path, err,
                                 err_size);
    if (rc == 0 && !(model->threshold >= 0 && model->threshold <= 1)) {
        snprintf(err, err_size, "%s: threshold %g is not a probability", path, model->threshold);
        rc = CM_EINPUT;
    }
    if (rc == 0)
        rc = read_features(file, model, path, err, err_size);
    for (int d = 0; d < CM_NDICTS && rc == 0; d++)
        rc = read_dictionary(file, d, model, path, err, err_size);
    if (rc == 0)
        rc = read_forest(file, model, path, err, err_size);
    if (rc == 0)
        rc = read_metrics(file, model, path, err, err_size);
    p->trees = model->forest.ntrees;
    H5Fclose(file);
    if (rc != 0)
        cm_model_free(model);
    return rc;
}

int cm_model_load(MPI_Comm comm, const char *path, cm_model *model, char *err, size_t err_size)
{
    int rank;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    int rc = 0;
    if (rank == 0)
        rc = cm_model_read(path, model, err, err_size);
    CM_MPI_CHECK(comm, MPI_Bcast(&rc, 1, MPI_INT, 0, comm));
    if (rc != 0) {
        CM_MPI_CHECK(comm, MPI_Bcast(err, (int)err_size, MPI_CHAR, 0, comm));
        if (rank != 0)
            memset(model, 0, sizeof *model);
        return rc;
    }
    /* The plain fields travel as the struct's bytes (its pointers are rebuilt on arrival),
       then the dictionaries and the forest in their serialised forms. */
    cm_buffer message = {0};
    if (rank == 0) {
        cm_buffer_append(&message, model, sizeof *model);
        for (int d = 0; d < CM_NDICTS; d++)
            cm_dictionary_serialize(&model->dicts[d], &message);
        cm_forest_serialize(&model->forest, &message);
    }
    cm_bcast_buffer(comm, &message, 0);
    if (rank != 0) {
        memcpy(model, message.data, sizeof *model);
        cm_forest_init(&model->forest, CM_NFEATURES);
        size_t at = sizeof *model;
        for (int d = 0; d < CM_NDICTS; d++) {
            size_t used;
            if (cm_dictionary_deserialize(&model->dicts[d], message.data + at, message.len - at,
                                          &used) != 0)
                cm_mpi_fail(comm, MPI_ERR_TRUNCATE, "reading the broadcast model", __FILE__,
                            __LINE__);
            at += used;
        }
        char why[256];
        if (cm_forest_append_serialized(&model->forest, message.data + at, message.len - at, why,
                                        sizeof why) != 0)
            cm_mpi_fail(comm, MPI_ERR_TRUNCATE, why, __FILE__, __LINE__);
    }
    cm_buffer_free(&message);
    return 0;
}
