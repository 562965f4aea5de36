/* A random forest of binary classification trees: growing, scoring, serialising. */
#ifndef CLICKMILL_FOREST_H
#define CLICKMILL_FOREST_H

#include <stddef.h>
#include <stdint.h>

#include "clickmill/table.h"

#define CM_BINS_MAX     256
#define CM_FEATURES_MAX 64 /* features a forest can have */
#define CM_DEPTH_MAX    64 /* the deepest max_depth */

typedef struct {
    int32_t feature; /* -1 for a leaf */
    int32_t left;    /* child indices within the tree; a leaf has 0 and 0 */
    int32_t right;
    int32_t depth;
    double threshold; /* x[feature] <= threshold goes left */
    double value;     /* share of purchases among the node's training samples */
    double weight;    /* training samples (bootstrap copies counted) reaching the node */
} cm_tree_node;

typedef struct {
    int trees;        /* trees in the forest */
    int max_depth;    /* the root has depth 0 */
    int min_leaf;     /* samples a leaf must keep */
    int max_features; /* features tried per node (more only while no valid split is found) */
    int bins;         /* bin edges per feature, at most CM_BINS_MAX */
    uint64_t seed;    /* tree t draws from a stream seeded by (seed, t) */
} cm_forest_params;

typedef struct {
    int ntrees, nfeatures;
    int64_t *tree_start; /* ntrees + 1 offsets into nodes */
    cm_tree_node *nodes;
    size_t nnodes, nodes_cap;
    double *importance; /* per feature: sum over trees of each tree's share of its impurity
                           decrease (cm_forest_importances normalises) */
} cm_forest;

void cm_forest_init(cm_forest *forest, int nfeatures);
void cm_forest_free(cm_forest *forest);

/* Called after each tree grown with the number done so far. */
typedef void (*cm_forest_progress)(void *ctx, int done, int count);

/* Grows trees first .. first + count - 1 and appends them. Each draws a bootstrap sample of the
 * n rows of x (row-major, nfeatures columns) with labels y (0/1), finds splits on per-feature
 * bin edges of these rows (quantiles, or every distinct value when there are few) with the
 * gini criterion and a random subset of features per node. Deterministic for the same
 * arguments. nfeatures <= CM_FEATURES_MAX, max_depth <= CM_DEPTH_MAX, bins <= CM_BINS_MAX.
 * Local. */
void cm_forest_grow(cm_forest *forest, const cm_forest_params *params, const double *x,
                    const uint8_t *y, size_t n, int first, int count, cm_forest_progress progress,
                    void *ctx);

/* The forest's probability of a purchase for one row: the mean of its trees' leaf values.
 * Local. */
double cm_forest_score(const cm_forest *forest, const double *x);

/* Scores n rows (row-major) into out: the same values as cm_forest_score, tree by tree over
 * blocks of rows so each tree stays in cache. Local. */
void cm_forest_score_rows(const cm_forest *forest, const double *x, size_t n, double *out);

/* The forest as scoring reads it: 16-byte nodes (a split, or a leaf's value) with the two
 * children of a node side by side, laid out depth first, so that a row's path touches few
 * cache lines. Every score goes through it; it adds the same leaf values in the same order,
 * so its scores are those of the trees. */
typedef struct {
    double value;    /* the threshold, or a leaf's value */
    int32_t feature; /* -1 for a leaf */
    int32_t left;    /* the left child; the right one follows it */
} cm_flat_node;

typedef struct {
    int ntrees;
    int64_t *root; /* ntrees offsets into nodes */
    cm_flat_node *nodes;
} cm_flat_forest;

void cm_flat_forest_build(cm_flat_forest *flat, const cm_forest *forest);
void cm_flat_forest_free(cm_flat_forest *flat);
double cm_flat_forest_score(const cm_flat_forest *flat, const double *x);

/* Mean decrease in impurity per feature, normalised to sum to 1 (all 0 for a forest of
 * stumps). Local. */
void cm_forest_importances(const cm_forest *forest, double *out);

/* Appends the forest to a buffer; appends a serialised forest's trees to another forest with
 * the same number of features. Deserialising checks the structure (returns 0 or CM_EINPUT with
 * the reason in err). Local. */
void cm_forest_serialize(const cm_forest *forest, cm_buffer *out);
int cm_forest_append_serialized(cm_forest *forest, const char *data, size_t len, char *err,
                                size_t err_size);

/* Checks that every tree is well formed: children inside the tree and after their parent,
 * features in range, thresholds and values finite. Returns 0 or CM_EINPUT. Local. */
int cm_forest_check(const cm_forest *forest, char *err, size_t err_size);

/* Adds one tree given as its node array (checked by cm_forest_check later). Local. */
void cm_forest_add_tree(cm_forest *forest, const cm_tree_node *nodes, size_t count,
                        const double *importance);

#endif
