/* Unit tests of the random forest: splits on hand-made data, planted rules, determinism, the
 * shape of the trees, scoring, importances and the serialised form. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"
#include "clickmill/forest.h"
#include "clickmill/table.h"

/* splitmix64, for reproducible random rows (independent of the forest's own generator). */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* A uniform double in [0, 1). */
static double rng_unit(uint64_t *state)
{
    return (double)(rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

static cm_forest_params params_of(int trees, int max_depth, int min_leaf, int max_features,
                                  int bins, uint64_t seed)
{
    return (cm_forest_params){.trees = trees,
                              .max_depth = max_depth,
                              .min_leaf = min_leaf,
                              .max_features = max_features,
                              .bins = bins,
                              .seed = seed};
}

static void grow(cm_forest *forest, int nfeatures, const cm_forest_params *params, const double *x,
                 const uint8_t *y, size_t n)
{
    cm_forest_init(forest, nfeatures);
    cm_forest_grow(forest, params, x, y, n, 0, params->trees, NULL, NULL);
}

static const cm_tree_node *tree_nodes(const cm_forest *forest, int t, int64_t *size)
{
    *size = forest->tree_start[t + 1] - forest->tree_start[t];
    return forest->nodes + forest->tree_start[t];
}

/* Rows where x[0] alone decides: class 0 has x0 in [0, 0.4), class 1 in [0.6, 1); the other
 * features are uniform noise. */
static void separable_rows(double *x, uint8_t *y, size_t n, int nfeatures, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        y[i] = (uint8_t)(i % 2);
        double *row = x + i * (size_t)nfeatures;
        row[0] = (y[i] ? 0.6 : 0.0) + 0.4 * rng_unit(&seed);
        for (int f = 1; f < nfeatures; f++)
            row[f] = rng_unit(&seed);
    }
}

/* Rows whose label is x2 > 3 (x uniform in [0, 6)), flipped with probability noise. */
static void threshold_rows(double *x, uint8_t *y, size_t n, int nfeatures, double noise,
                           uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        double *row = x + i * (size_t)nfeatures;
        for (int f = 0; f < nfeatures; f++)
            row[f] = 6.0 * rng_unit(&seed);
        int label = row[2] > 3.0;
        if (rng_unit(&seed) < noise)
            label = !label;
        y[i] = (uint8_t)label;
    }
}

/* Rows whose label is (x0 > 0.5) XOR (x1 > 0.5), with three noise features. */
static void xor_rows(double *x, uint8_t *y, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        double *row = x + i * 5;
        for (int f = 0; f < 5; f++)
            row[f] = rng_unit(&seed);
        y[i] = (uint8_t)((row[0] > 0.5) != (row[1] > 0.5));
    }
}

/* Every tree well formed as the growing promises: leaves have no children, children come after
 * their parent one level deeper and share its weight, depth and leaf size within bounds. */
static void assert_tree_shapes(const cm_forest *forest, const cm_forest_params *params, size_t n)
{
    char err[256];
    ck_assert_int_eq(cm_forest_check(forest, err, sizeof err), 0);
    for (int t = 0; t < forest->ntrees; t++) {
        int64_t size;
        const cm_tree_node *nodes = tree_nodes(forest, t, &size);
        ck_assert_int_ge(size, 1);
        ck_assert_int_eq(nodes[0].depth, 0);
        ck_assert_double_eq(nodes[0].weight, (double)n); /* n bootstrap draws */
        for (int64_t k = 0; k < size; k++) {
            const cm_tree_node *node = &nodes[k];
            ck_assert_int_le(node->depth, params->max_depth);
            ck_assert(node->value >= 0.0 && node->value <= 1.0);
            /* value is positives / weight over whole samples. */
            double positives = node->value * node->weight;
            ck_assert_double_eq_tol(positives, round(positives), 1e-6);
            if (node->feature < 0) {
                ck_assert_int_eq(node->left, 0);
                ck_assert_int_eq(node->right, 0);
                if (k > 0 || n >= 2 * (size_t)params->min_leaf)
                    ck_assert_msg(node->weight >= params->min_leaf,
                                  "tree %d leaf %lld weight %g < min_leaf %d", t, (long long)k,
                                  node->weight, params->min_leaf);
                continue;
            }
            ck_assert_int_gt(node->left, k);
            ck_assert_int_gt(node->right, k);
            ck_assert_int_lt(node->left, size);
            ck_assert_int_lt(node->right, size);
            const cm_tree_node *left = &nodes[node->left], *right = &nodes[node->right];
            ck_assert_int_eq(left->depth, node->depth + 1);
            ck_assert_int_eq(right->depth, node->depth + 1);
            ck_assert_double_eq(left->weight + right->weight, node->weight);
            ck_assert_double_eq_tol(left->value * left->weight + right->value * right->weight,
                                    node->value * node->weight, 1e-6);
        }
    }
}

/* ---- core ---- */

START_TEST(test_stump_on_separable_feature)
{
    enum { N = 200, NF = 3 };
    static double x[N * NF];
    static uint8_t y[N];
    separable_rows(x, y, N, NF, 11);
    double min_class0 = 1.0;
    for (size_t i = 0; i < N; i++)
        if (!y[i] && x[i * NF] < min_class0)
            min_class0 = x[i * NF];

    /* Every feature is tried at the root; only x0 splits the classes perfectly (the best gini,
       0), so the root splits on it between the classes and both leaves are pure. */
    for (uint64_t seed = 1; seed <= 5; seed++) {
        cm_forest_params params = params_of(1, 1, 1, NF, CM_BINS_MAX, seed);
        cm_forest forest;
        grow(&forest, NF, &params, x, y, N);
        ck_assert_int_eq(forest.ntrees, 1);
        ck_assert_uint_eq(forest.nnodes, 3);
        const cm_tree_node *root = &forest.nodes[0];
        ck_assert_int_eq(root->feature, 0);
        ck_assert_msg(root->threshold >= min_class0 && root->threshold < 0.4,
                      "threshold %g is not between the classes", root->threshold);
        ck_assert_double_eq(root->weight, N);
        const cm_tree_node *left = &forest.nodes[root->left], *right = &forest.nodes[root->right];
        ck_assert_double_eq(left->value, 0.0);
        ck_assert_double_eq(right->value, 1.0);
        ck_assert_double_eq(left->weight + right->weight, N);
        /* The root's share: positives drawn / N, so left->weight draws were of class 0. */
        ck_assert_double_eq_tol(root->value, right->weight / N, 1e-12);
        ck_assert_int_eq(left->feature, -1);
        ck_assert_int_eq(right->feature, -1);
        /* Scoring: every row of class 1 lies right of the threshold, and every row at or left
           of it (all in-bag rows of class 0, and out-of-bag ones) scores 0. */
        for (size_t i = 0; i < N; i++) {
            double want = x[i * NF] <= root->threshold ? 0.0 : 1.0;
            if (y[i])
                ck_assert_double_eq(want, 1.0);
            ck_assert_double_eq(cm_forest_score(&forest, x + i * NF), want);
        }
        /* A single split: x0 has all the importance. */
        double importance[NF];
        cm_forest_importances(&forest, importance);
        ck_assert_double_eq_tol(importance[0], 1.0, 1e-12);
        ck_assert_double_eq(importance[1], 0.0);
        ck_assert_double_eq(importance[2], 0.0);
        cm_forest_free(&forest);
    }
}
END_TEST

START_TEST(test_hand_made_tree_scores)
{
    /* Tree 0: x1 <= 2.5 ? 0.2 : (x0 <= -1 ? 0.6 : 0.9). Tree 1: a leaf of 0.5. */
    cm_tree_node tree0[5] = {
        {.feature = 1, .left = 1, .right = 2, .depth = 0, .threshold = 2.5, .value = 0.5},
        {.feature = -1, .depth = 1, .value = 0.2},
        {.feature = 0, .left = 3, .right = 4, .depth = 1, .threshold = -1.0, .value = 0.8},
        {.feature = -1, .depth = 2, .value = 0.6},
        {.feature = -1, .depth = 2, .value = 0.9},
    };
    cm_tree_node tree1[1] = {{.feature = -1, .value = 0.5}};
    double importance[2] = {0.25, 0.75};
    cm_forest forest;
    cm_forest_init(&forest, 2);
    ck_assert_double_eq(cm_forest_score(&forest, (double[]){0, 0}), 0.0); /* no trees */
    cm_forest_add_tree(&forest, tree0, 5, importance);
    cm_forest_add_tree(&forest, tree1, 1, importance);
    char err[256];
    ck_assert_int_eq(cm_forest_check(&forest, err, sizeof err), 0);
    ck_assert_int_eq(forest.ntrees, 2);
    ck_assert_int_eq(forest.tree_start[1], 5);
    ck_assert_int_eq(forest.tree_start[2], 6);
    /* x1 = 2.5 goes left (<=): (0.2 + 0.5) / 2. */
    ck_assert_double_eq_tol(cm_forest_score(&forest, (double[]){5, 2.5}), 0.35, 1e-12);
    /* x1 = 3, x0 = -1 goes right then left: (0.6 + 0.5) / 2. */
    ck_assert_double_eq_tol(cm_forest_score(&forest, (double[]){-1, 3}), 0.55, 1e-12);
    /* x1 = 3, x0 = 0: (0.9 + 0.5) / 2. */
    ck_assert_double_eq_tol(cm_forest_score(&forest, (double[]){0, 3}), 0.70, 1e-12);
    /* Importances add up over trees, then normalise: 0.5 / 2 and 1.5 / 2. */
    double out[2];
    cm_forest_importances(&forest, out);
    ck_assert_double_eq_tol(out[0], 0.25, 1e-12);
    ck_assert_double_eq_tol(out[1], 0.75, 1e-12);
    cm_forest_free(&forest);
}
END_TEST

START_TEST(test_learns_threshold_rule)
{
    enum { N = 3000, NF = 5, TEST = 2000 };
    double *x = malloc(sizeof(double) * N * NF), *tx = malloc(sizeof(double) * TEST * NF);
    uint8_t *y = malloc(N), *ty = malloc(TEST);
    threshold_rows(x, y, N, NF, 0.0, 3);
    threshold_rows(tx, ty, TEST, NF, 0.0, 4); /* fresh rows */
    cm_forest_params params = params_of(20, 6, 1, 2, 64, 46);
    cm_forest forest;
    grow(&forest, NF, &params, x, y, N);
    int correct = 0;
    for (size_t i = 0; i < TEST; i++)
        correct += (cm_forest_score(&forest, tx + i * NF) >= 0.5) == ty[i];
    /* The only error comes from the bin around 3 (64 bins of 6 / 64 wide, about 1.5%). */
    ck_assert_msg(correct >= TEST * 97 / 100, "held-out accuracy %d / %d", correct, TEST);
    assert_tree_shapes(&forest, &params, N);
    cm_forest_free(&forest);
    free(x);
    free(tx);
    free(y);
    free(ty);
}
END_TEST

START_TEST(test_learns_xor_rule)
{
    enum { N = 4000, NF = 5, TEST = 2000 };
    double *x = malloc(sizeof(double) * N * NF), *tx = malloc(sizeof(double) * TEST * NF);
    uint8_t *y = malloc(N), *ty = malloc(TEST);
    xor_rows(x, y, N, 21);
    xor_rows(tx, ty, TEST, 22);
    cm_forest_params params = params_of(30, 8, 1, 3, 128, 7);
    cm_forest forest;
    grow(&forest, NF, &params, x, y, N);
    int correct = 0;
    for (size_t i = 0; i < TEST; i++)
        correct += (cm_forest_score(&forest, tx + i * NF) >= 0.5) == ty[i];
    ck_assert_msg(correct >= TEST * 95 / 100, "held-out accuracy %d / %d", correct, TEST);
    /* x0 and x1 carry the rule: each has more importance than any noise feature. */
    double importance[NF];
    cm_forest_importances(&forest, importance);
    for (int f = 2; f < NF; f++) {
        ck_assert_double_gt(importance[0], importance[f]);
        ck_assert_double_gt(importance[1], importance[f]);
    }
    cm_forest_free(&forest);
    free(x);
    free(tx);
    free(y);
    free(ty);
}
END_TEST

START_TEST(test_determinism)
{
    enum { N = 1500, NF = 6 };
    double *x = malloc(sizeof(double) * N * NF);
    uint8_t *y = malloc(N);
    threshold_rows(x, y, N, NF, 0.15, 99);
    cm_forest_params params = params_of(10, 7, 2, 3, 32, 12345);
    cm_forest a, b, c, parts;
    grow(&a, NF, &params, x, y, N);
    grow(&b, NF, &params, x, y, N);
    ck_assert_int_eq(a.ntrees, b.ntrees);
    ck_assert_uint_eq(a.nnodes, b.nnodes);
    ck_assert_int_eq(memcmp(a.nodes, b.nodes, a.nnodes * sizeof *a.nodes), 0);
    ck_assert_int_eq(memcmp(a.tree_start, b.tree_start, (a.ntrees + 1) * sizeof(int64_t)), 0);
    ck_assert_int_eq(memcmp(a.importance, b.importance, NF * sizeof(double)), 0);

    /* Tree t depends on (seed, t) only: growing trees 0-3 then 4-9 gives the same forest. */
    cm_forest_init(&parts, NF);
    cm_forest_grow(&parts, &params, x, y, N, 0, 4, NULL, NULL);
    cm_forest_grow(&parts, &params, x, y, N, 4, 6, NULL, NULL);
    ck_assert_uint_eq(parts.nnodes, a.nnodes);
    ck_assert_int_eq(memcmp(parts.nodes, a.nodes, a.nnodes * sizeof *a.nodes), 0);
    ck_assert_int_eq(memcmp(parts.tree_start, a.tree_start, (a.ntrees + 1) * sizeof(int64_t)), 0);

    /* Another seed: other bootstrap samples and feature draws, another forest. */
    params.seed = 12346;
    grow(&c, NF, &params, x, y, N);
    ck_assert(c.nnodes != a.nnodes || memcmp(c.nodes, a.nodes, a.nnodes * sizeof *a.nodes) != 0);
    /* And the trees within one forest differ from each other. */
    int64_t s0, s1;
    const cm_tree_node *t0 = tree_nodes(&a, 0, &s0), *t1 = tree_nodes(&a, 1, &s1);
    ck_assert(s0 != s1 || memcmp(t0, t1, (size_t)s0 * sizeof *t0) != 0);
    cm_forest_free(&a);
    cm_forest_free(&b);
    cm_forest_free(&c);
    cm_forest_free(&parts);
    free(x);
    free(y);
}
END_TEST

START_TEST(test_tree_shape_limits)
{
    enum { N = 2000, NF = 4 };
    double *x = malloc(sizeof(double) * N * NF);
    uint8_t *y = malloc(N);
    threshold_rows(x, y, N, NF, 0.3, 5); /* much label noise: trees grow as deep as allowed */
    static const int depths[] = {1, 3, 6, 12};
    static const int min_leaves[] = {1, 7, 50, 400};
    for (size_t d = 0; d < 4; d++) {
        for (size_t m = 0; m < 4; m++) {
            cm_forest_params params = params_of(4, depths[d], min_leaves[m], 2, 64, 8 + d * 4 + m);
            cm_forest forest;
            grow(&forest, NF, &params, x, y, N);
            ck_assert_int_eq(forest.ntrees, 4);
            assert_tree_shapes(&forest, &params, N);
            int deepest = 0;
            for (size_t k = 0; k < forest.nnodes; k++)
                if (forest.nodes[k].depth > deepest)
                    deepest = forest.nodes[k].depth;
            /* With noisy labels and small leaves the depth limit is what stops the growing. */
            if (min_leaves[m] == 1)
                ck_assert_int_eq(deepest, depths[d]);
            cm_forest_free(&forest);
        }
    }
    free(x);
    free(y);
}
END_TEST

START_TEST(test_serialize_round_trip)
{
    enum { N = 1000, NF = 5, PROBES = 500 };
    double *x = malloc(sizeof(double) * N * NF);
    uint8_t *y = malloc(N);
    threshold_rows(x, y, N, NF, 0.1, 17);
    cm_forest_params params = params_of(8, 6, 3, 2, 48, 2);
    cm_forest forest, copy;
    grow(&forest, NF, &params, x, y, N);
    cm_buffer buffer = {0};
    cm_forest_serialize(&forest, &buffer);
    /* Hand-counted layout: 2 int32, the importances, ntrees + 1 offsets, the nodes. */
    ck_assert_uint_eq(buffer.len, 8 + NF * 8 + (size_t)(forest.ntrees + 1) * 8 +
                                      forest.nnodes * sizeof(cm_tree_node));

    char err[256];
    cm_forest_init(&copy, NF);
    ck_assert_int_eq(cm_forest_append_serialized(&copy, buffer.data, buffer.len, err, sizeof err),
                     0);
    ck_assert_int_eq(copy.ntrees, forest.ntrees);
    ck_assert_uint_eq(copy.nnodes, forest.nnodes);
    ck_assert_int_eq(memcmp(copy.nodes, forest.nodes, forest.nnodes * sizeof *forest.nodes), 0);
    double a[NF], b[NF];
    cm_forest_importances(&forest, a);
    cm_forest_importances(&copy, b);
    for (int f = 0; f < NF; f++)
        ck_assert_double_eq_tol(a[f], b[f], 1e-12);
    uint64_t seed = 77;
    double probe[NF];
    for (int i = 0; i < PROBES; i++) {
        for (int f = 0; f < NF; f++)
            probe[f] = 6.0 * rng_unit(&seed);
        ck_assert_double_eq(cm_forest_score(&copy, probe), cm_forest_score(&forest, probe));
    }

    /* Appending the same trees again doubles the forest; the mean score stays the same. */
    ck_assert_int_eq(cm_forest_append_serialized(&copy, buffer.data, buffer.len, err, sizeof err),
                     0);
    ck_assert_int_eq(copy.ntrees, 2 * forest.ntrees);
    ck_assert_int_eq(copy.tree_start[copy.ntrees], 2 * (int64_t)forest.nnodes);
    ck_assert_int_eq(cm_forest_check(&copy, err, sizeof err), 0);
    for (int i = 0; i < PROBES; i++) {
        for (int f = 0; f < NF; f++)
            probe[f] = 6.0 * rng_unit(&seed);
        ck_assert_double_eq_tol(cm_forest_score(&copy, probe), cm_forest_score(&forest, probe),
                                1e-12);
    }
    cm_forest_free(&copy);

    /* An empty forest round-trips as an empty forest. */
    cm_forest empty;
    cm_buffer empty_buffer = {0};
    cm_forest_init(&empty, NF);
    cm_forest_serialize(&empty, &empty_buffer);
    cm_forest_init(&copy, NF);
    ck_assert_int_eq(
        cm_forest_append_serialized(&copy, empty_buffer.data, empty_buffer.len, err, sizeof err),
        0);
    ck_assert_int_eq(copy.ntrees, 0);
    ck_assert_uint_eq(copy.nnodes, 0);
    cm_forest_free(&copy);
    cm_forest_free(&empty);
    cm_buffer_free(&empty_buffer);
    cm_buffer_free(&buffer);
    cm_forest_free(&forest);
    free(x);
    free(y);
}
END_TEST

START_TEST(test_score_rows)
{
    /* Scoring many rows at once (in blocks of rows) gives exactly the one-row scores, across
       block boundaries. */
    enum { N = 800, NF = 4, PROBES = 9000 };
    double *x = malloc(sizeof(double) * N * NF), *probe = malloc(sizeof(double) * PROBES * NF);
    double *out = malloc(sizeof(double) * (PROBES + 1));
    uint8_t *y = malloc(N), *unused = malloc(PROBES);
    threshold_rows(x, y, N, NF, 0.2, 61);
    threshold_rows(probe, unused, PROBES, NF, 0.0, 62);
    cm_forest_params params = params_of(7, 5, 2, 2, 32, 5);
    cm_forest forest;
    grow(&forest, NF, &params, x, y, N);
    out[PROBES] = -7.0;
    cm_forest_score_rows(&forest, probe, PROBES, out);
    for (size_t i = 0; i < PROBES; i++)
        if (memcmp(&out[i], &(double){cm_forest_score(&forest, probe + i * NF)}, sizeof(double)))
            ck_abort_msg("row %zu: %.17g vs %.17g", i, out[i],
                         cm_forest_score(&forest, probe + i * NF));
    ck_assert_double_eq(out[PROBES], -7.0); /* nothing written past n */
    cm_forest_score_rows(&forest, probe, 0, out);
    cm_forest_free(&forest);

    /* A forest without trees scores 0. */
    cm_forest_init(&forest, NF);
    cm_forest_score_rows(&forest, probe, 3, out);
    ck_assert_double_eq(out[0], 0.0);
    ck_assert_double_eq(out[2], 0.0);
    cm_forest_free(&forest);
    free(x);
    free(probe);
    free(out);
    free(y);
    free(unused);
}
END_TEST

START_TEST(test_importances)
{
    enum { N = 3000, NF = 5 };
    double *x = malloc(sizeof(double) * N * NF);
    uint8_t *y = malloc(N);
    threshold_rows(x, y, N, NF, 0.1, 31);
    cm_forest_params params = params_of(20, 8, 1, 2, 64, 3);
    cm_forest forest;
    grow(&forest, NF, &params, x, y, N);
    double importance[NF], sum = 0;
    cm_forest_importances(&forest, importance);
    for (int f = 0; f < NF; f++) {
        ck_assert_double_ge(importance[f], 0.0);
        sum += importance[f];
    }
    ck_assert_double_eq_tol(sum, 1.0, 1e-9);
    for (int f = 0; f < NF; f++)
        if (f != 2)
            ck_assert_msg(importance[2] > importance[f], "importance of x2 %g <= x%d %g",
                          importance[2], f, importance[f]);
    /* Each tree adds its own shares, which sum to 1. */
    double raw = 0;
    for (int f = 0; f < NF; f++)
        raw += forest.importance[f];
    ck_assert_double_eq_tol(raw, forest.ntrees, 1e-9);
    cm_forest_free(&forest);
    free(x);
    free(y);
}
END_TEST

/* ---- limits ---- */

START_TEST(test_no_rows)
{
    enum { NF = 3 };
    cm_forest_params params = params_of(3, 5, 1, NF, 16, 1);
    cm_forest forest;
    cm_forest_init(&forest, NF);
    cm_forest_grow(&forest, &params, NULL, NULL, 0, 0, 3, NULL, NULL);
    ck_assert_int_eq(forest.ntrees, 3);
    ck_assert_uint_eq(forest.nnodes, 3);
    for (int t = 0; t < 3; t++) {
        int64_t size;
        const cm_tree_node *nodes = tree_nodes(&forest, t, &size);
        ck_assert_int_eq(size, 1);
        ck_assert_int_eq(nodes[0].feature, -1);
        ck_assert_double_eq(nodes[0].value, 0.0);
    }
    char err[256];
    ck_assert_int_eq(cm_forest_check(&forest, err, sizeof err), 0);
    ck_assert_double_eq(cm_forest_score(&forest, (double[]){1, 2, 3}), 0.0);
    double importance[NF];
    cm_forest_importances(&forest, importance);
    for (int f = 0; f < NF; f++)
        ck_assert_double_eq(importance[f], 0.0);
    /* Growing no trees adds nothing. */
    cm_forest_grow(&forest, &params, NULL, NULL, 0, 3, 0, NULL, NULL);
    ck_assert_int_eq(forest.ntrees, 3);
    cm_forest_free(&forest);
}
END_TEST

START_TEST(test_single_class_and_single_row)
{
    enum { N = 100, NF = 2 };
    double x[N * NF];
    uint8_t y[N];
    uint64_t seed = 5;
    for (size_t i = 0; i < N * NF; i++)
        x[i] = rng_unit(&seed);
    for (int label = 0; label <= 1; label++) {
        memset(y, label, sizeof y);
        cm_forest_params params = params_of(4, 10, 1, NF, 64, 9);
        cm_forest forest;
        grow(&forest, NF, &params, x, y, N);
        ck_assert_int_eq(forest.ntrees, 4);
        ck_assert_uint_eq(forest.nnodes, 4); /* one leaf per tree */
        for (int t = 0; t < 4; t++) {
            ck_assert_int_eq(forest.nodes[t].feature, -1);
            ck_assert_double_eq(forest.nodes[t].value, (double)label);
            ck_assert_double_eq(forest.nodes[t].weight, N);
        }
        ck_assert_double_eq(cm_forest_score(&forest, x), (double)label);
        cm_forest_free(&forest);
    }
    /* One row: every bootstrap draws it; a single leaf. */
    cm_forest_params params = params_of(2, 10, 1, NF, 64, 9);
    cm_forest forest;
    grow(&forest, NF, &params, x, (const uint8_t[]){1}, 1);
    ck_assert_uint_eq(forest.nnodes, 2);
    ck_assert_double_eq(forest.nodes[0].value, 1.0);
    ck_assert_double_eq(forest.nodes[0].weight, 1.0);
    cm_forest_free(&forest);
}
END_TEST

START_TEST(test_constant_features)
{
    enum { N = 300, NF = 3 };
    static double x[N * NF];
    static uint8_t y[N];
    for (size_t i = 0; i < N; i++) {
        y[i] = (uint8_t)(i % 3 == 0);
        x[i * NF + 0] = 4.0;
        x[i * NF + 1] = -2.0;
        x[i * NF + 2] = 0.0;
    }
    /* Nothing to split on: every tree is a root leaf holding its bootstrap's share. */
    cm_forest_params params = params_of(5, 6, 1, NF, 32, 3);
    cm_forest forest;
    grow(&forest, NF, &params, x, y, N);
    ck_assert_uint_eq(forest.nnodes, 5);
    for (int t = 0; t < 5; t++) {
        ck_assert_int_eq(forest.nodes[t].feature, -1);
        ck_assert_double_eq(forest.nodes[t].weight, N);
        ck_assert(forest.nodes[t].value > 0.0 && forest.nodes[t].value < 1.0);
    }
    /* Each tree drew its own bootstrap sample (n draws with replacement), so the shares differ
       from tree to tree and from the full data's 100 / 300, though not by much. */
    int differ = 0;
    double mean = 0;
    for (int t = 0; t < 5; t++) {
        differ += forest.nodes[t].value != forest.nodes[0].value;
        mean += forest.nodes[t].value / 5;
    }
    ck_assert_int_gt(differ, 0);
    ck_assert(mean != 100.0 / 300);
    ck_assert_double_eq_tol(mean, 1.0 / 3, 0.05);
    double importance[NF];
    cm_forest_importances(&forest, importance);
    for (int f = 0; f < NF; f++)
        ck_assert_double_eq(importance[f], 0.0);
    cm_forest_free(&forest);

    /* Make x1 the label itself; with max_features 1 the constant features drawn first have no
       split, so the search goes on until it reaches x1, in every tree. */
    for (size_t i = 0; i < N; i++)
        x[i * NF + 1] = y[i] ? 10.0 : -10.0;
    params = params_of(8, 3, 1, 1, 32, 4);
    grow(&forest, NF, &params, x, y, N);
    ck_assert_uint_eq(forest.nnodes, 8 * 3);
    for (int t = 0; t < 8; t++) {
        int64_t size;
        const cm_tree_node *nodes = tree_nodes(&forest, t, &size);
        ck_assert_int_eq(size, 3);
        ck_assert_int_eq(nodes[0].feature, 1);
        ck_assert_double_eq(nodes[0].threshold, -10.0);
        ck_assert_double_eq(nodes[nodes[0].left].value, 0.0);
        ck_assert_double_eq(nodes[nodes[0].right].value, 1.0);
    }
    cm_forest_importances(&forest, importance);
    ck_assert_double_eq_tol(importance[1], 1.0, 1e-12);
    cm_forest_free(&forest);
}
END_TEST

START_TEST(test_two_bins)
{
    /* x0 = i / 100 for i = 0..99 in a scrambled order; label x0 >= 0.5. With 2 bins the edges
       are the values at 1/2 and 2/2 of the sorted column: sorted[49] = 0.49 and 0.99. The only
       split is x0 <= 0.49, which is exactly the rule. */
    enum { N = 100, NF = 2 };
    double x[N * NF];
    uint8_t y[N];
    uint64_t seed = 8;
    for (size_t i = 0; i < N; i++) {
        size_t v = (i * 37) % N; /* 37 is prime to 100: a permutation */
        x[i * NF] = (double)v / 100.0;
        x[i * NF + 1] = rng_unit(&seed);
        y[i] = v >= 50;
    }
    cm_forest_params params = params_of(6, 4, 1, NF, 2, 10);
    cm_forest forest;
    grow(&forest, NF, &params, x, y, N);
    for (int t = 0; t < 6; t++) {
        int64_t size;
        const cm_tree_node *nodes = tree_nodes(&forest, t, &size);
        ck_assert_int_eq(size, 3);
        ck_assert_int_eq(nodes[0].feature, 0);
        ck_assert_double_eq(nodes[0].threshold, 0.49);
        ck_assert_double_eq(nodes[nodes[0].left].value, 0.0);
        ck_assert_double_eq(nodes[nodes[0].right].value, 1.0);
    }
    ck_assert_double_eq(cm_forest_score(&forest, (double[]){0.49, 0.5}), 0.0);
    ck_assert_double_eq(cm_forest_score(&forest, (double[]){0.495, 0.5}), 1.0);
    cm_forest_free(&forest);
}
END_TEST

/* A grown forest of a few trees and its serialised form. */
static void small_forest(cm_forest *forest, cm_buffer *buffer)
{
    enum { N = 400, NF = 3 };
    static double x[N * NF];
    static uint8_t y[N];
    separable_rows(x, y, N, NF, 41);
    for (size_t i = 0; i < N; i += 7)
        y[i] = !y[i]; /* some noise, so the trees have more than one split */
    cm_forest_params params = params_of(3, 4, 1, NF, 32, 6);
    grow(forest, NF, &params, x, y, N);
    ck_assert_int_ge(forest->nnodes, 9);
    cm_forest_serialize(forest, buffer);
}

/* Offsets of the parts of a serialised forest of nfeatures features and ntrees trees. */
static size_t starts_at(int nfeatures)
{
    return 8 + (size_t)nfeatures * 8;
}

static size_t nodes_at(int nfeatures, int ntrees)
{
    return starts_at(nfeatures) + ((size_t)ntrees + 1) * 8;
}

/* Appends a copy of the buffer changed by edit and expects CM_EINPUT, with nothing added. */
static void assert_rejected(const cm_buffer *buffer, size_t len, size_t at, const void *bytes,
                            size_t size, const char *what)
{
    char *data = malloc(buffer->len + 1);
    memcpy(data, buffer->data, buffer->len);
    if (bytes)
        memcpy(data + at, bytes, size);
    cm_forest forest;
    cm_forest_init(&forest, 3);
    char err[256] = "";
    int rc = cm_forest_append_serialized(&forest, data, len, err, sizeof err);
    ck_assert_msg(rc == CM_EINPUT, "%s: accepted (rc %d)", what, rc);
    ck_assert_msg(err[0] != '\0', "%s: no reason given", what);
    ck_assert_int_eq(forest.ntrees, 0);
    ck_assert_uint_eq(forest.nnodes, 0);
    cm_forest_free(&forest);
    free(data);
}

START_TEST(test_corrupt_serialized)
{
    cm_forest forest;
    cm_buffer buffer = {0};
    small_forest(&forest, &buffer);
    int ntrees = forest.ntrees;
    size_t nodes = nodes_at(3, ntrees);
    ck_assert_uint_eq(buffer.len, nodes + forest.nnodes * sizeof(cm_tree_node));

    /* Every truncation, and one byte too many. */
    for (size_t len = 0; len < buffer.len; len++)
        assert_rejected(&buffer, len, 0, NULL, 0, "truncated");
    cm_buffer longer = {0};
    cm_buffer_append(&longer, buffer.data, buffer.len);
    cm_buffer_append(&longer, "", 1);
    assert_rejected(&longer, longer.len, 0, NULL, 0, "one byte more");
    cm_buffer_free(&longer);

    int32_t i32;
    int64_t i64;
    double f64;
    i32 = 4;
    assert_rejected(&buffer, buffer.len, 4, &i32, 4, "other feature count");
    i32 = -1;
    assert_rejected(&buffer, buffer.len, 0, &i32, 4, "negative tree count");
    i32 = INT32_MAX;
    assert_rejected(&buffer, buffer.len, 0, &i32, 4, "huge tree count");
    i32 = ntrees + 1;
    assert_rejected(&buffer, buffer.len, 0, &i32, 4, "one tree more");
    f64 = NAN;
    assert_rejected(&buffer, buffer.len, 8, &f64, 8, "NaN importance");
    f64 = -1;
    assert_rejected(&buffer, buffer.len, 8, &f64, 8, "negative importance");
    i64 = 1;
    assert_rejected(&buffer, buffer.len, starts_at(3), &i64, 8, "first offset not 0");
    /* A middle offset beyond the nodes, or backwards: the trees would read past the array. */
    i64 = (int64_t)forest.nnodes + 1000;
    assert_rejected(&buffer, buffer.len, starts_at(3) + 8, &i64, 8, "offset past the end");
    i64 = 1000000000;
    assert_rejected(&buffer, buffer.len, starts_at(3) + 8, &i64, 8, "offset far past the end");
    i64 = -5;
    assert_rejected(&buffer, buffer.len, starts_at(3) + 8, &i64, 8, "negative offset");
    i64 = 0;
    assert_rejected(&buffer, buffer.len, starts_at(3) + 8, &i64, 8, "empty tree");

    /* The root of tree 0 split: its fields, with the node at offset nodes. */
    ck_assert_int_ge(forest.nodes[0].feature, 0);
    size_t root = nodes;
    i32 = 3;
    assert_rejected(&buffer, buffer.len, root + offsetof(cm_tree_node, feature), &i32, 4,
                    "feature out of range");
    i32 = 0;
    assert_rejected(&buffer, buffer.len, root + offsetof(cm_tree_node, left), &i32, 4,
                    "child pointing at itself");
    i32 = 1000;
    assert_rejected(&buffer, buffer.len, root + offsetof(cm_tree_node, right), &i32, 4,
                    "child outside the tree");
    f64 = NAN;
    assert_rejected(&buffer, buffer.len, root + offsetof(cm_tree_node, threshold), &f64, 8,
                    "NaN threshold");
    assert_rejected(&buffer, buffer.len, root + offsetof(cm_tree_node, value), &f64, 8,
                    "NaN value");
    f64 = 1.5;
    assert_rejected(&buffer, buffer.len, root + offsetof(cm_tree_node, value), &f64, 8,
                    "value above 1");
    /* The first child of the root pointing back at the root: a loop. */
    const cm_tree_node *first = &forest.nodes[forest.nodes[0].left];
    size_t child = nodes + (size_t)forest.nodes[0].left * sizeof(cm_tree_node);
    if (first->feature < 0) {
        i32 = 0;
        assert_rejected(&buffer, buffer.len, child + offsetof(cm_tree_node, feature), &i32, 4,
                        "leaf turned into a split with children 0");
    } else {
        i32 = 0;
        assert_rejected(&buffer, buffer.len, child + offsetof(cm_tree_node, left), &i32, 4,
                        "child pointing back at the root");
    }

    /* Two one-leaf trees, so every node in the array is valid on its own: a first tree that
       claims 1000 nodes must be rejected from its offsets, not by reading past the array. */
    cm_forest leaves;
    cm_buffer leaves_buffer = {0};
    cm_tree_node leaf = {.feature = -1, .value = 0.25, .weight = 1};
    cm_forest_init(&leaves, 3);
    cm_forest_add_tree(&leaves, &leaf, 1, NULL);
    cm_forest_add_tree(&leaves, &leaf, 1, NULL);
    cm_forest_serialize(&leaves, &leaves_buffer);
    i64 = 1000;
    assert_rejected(&leaves_buffer, leaves_buffer.len, starts_at(3) + 8, &i64, 8,
                    "first tree past the end");
    i64 = 2;
    assert_rejected(&leaves_buffer, leaves_buffer.len, starts_at(3) + 8, &i64, 8,
                    "first tree holding both nodes");
    cm_buffer_free(&leaves_buffer);
    cm_forest_free(&leaves);

    /* The forest itself still appends. */
    cm_forest copy;
    char err[256];
    cm_forest_init(&copy, 3);
    ck_assert_int_eq(cm_forest_append_serialized(&copy, buffer.data, buffer.len, err, sizeof err),
                     0);
    cm_forest_free(&copy);
    cm_buffer_free(&buffer);
    cm_forest_free(&forest);
}
END_TEST

/* Adds one hand-made tree to an empty forest of 2 features and returns cm_forest_check's code. */
static int check_tree(const cm_tree_node *nodes, size_t count)
{
    cm_forest forest;
    char err[256] = "";
    cm_forest_init(&forest, 2);
    cm_forest_add_tree(&forest, nodes, count, NULL);
    int rc = cm_forest_check(&forest, err, sizeof err);
    if (rc != 0)
        ck_assert_msg(err[0] != '\0', "no reason given");
    cm_forest_free(&forest);
    return rc;
}

START_TEST(test_check_rejects)
{
    cm_tree_node good[3] = {
        {.feature = 0, .left = 1, .right = 2, .threshold = 0.5, .value = 0.5},
        {.feature = -1, .depth = 1, .value = 0.0},
        {.feature = -1, .depth = 1, .value = 1.0},
    };
    ck_assert_int_eq(check_tree(good, 3), 0);

    cm_tree_node bad[3];
    /* Node 1 splits with a child pointing back at the root: a loop. */
    memcpy(bad, good, sizeof bad);
    bad[1] = (cm_tree_node){.feature = 1, .left = 0, .right = 2, .depth = 1, .value = 0.2};
    ck_assert_int_eq(check_tree(bad, 3), CM_EINPUT);
    /* Or at itself. */
    bad[1].left = 2;
    bad[1].right = 1;
    ck_assert_int_eq(check_tree(bad, 3), CM_EINPUT);
    /* Features out of range, both ways of being a split. */
    memcpy(bad, good, sizeof bad);
    bad[0].feature = 2;
    ck_assert_int_eq(check_tree(bad, 3), CM_EINPUT);
    bad[0].feature = INT32_MAX;
    ck_assert_int_eq(check_tree(bad, 3), CM_EINPUT);
    /* Children outside the tree. */
    memcpy(bad, good, sizeof bad);
    bad[0].right = 3;
    ck_assert_int_eq(check_tree(bad, 3), CM_EINPUT);
    bad[0].right = -1;
    ck_assert_int_eq(check_tree(bad, 3), CM_EINPUT);
    /* Values that are not probabilities, and a NaN threshold. */
    memcpy(bad, good, sizeof bad);
    bad[2].value = NAN;
    ck_assert_int_eq(check_tree(bad, 3), CM_EINPUT);
    bad[2].value = INFINITY;
    ck_assert_int_eq(check_tree(bad, 3), CM_EINPUT);
    bad[2].value = -0.1;
    ck_assert_int_eq(check_tree(bad, 3), CM_EINPUT);
    memcpy(bad, good, sizeof bad);
    bad[0].threshold = NAN;
    ck_assert_int_eq(check_tree(bad, 3), CM_EINPUT);
    /* A split as the last node has no room for children. */
    memcpy(bad, good, sizeof bad);
    bad[2] = bad[0];
    ck_assert_int_eq(check_tree(bad, 3), CM_EINPUT);

    /* Offsets that do not cover the nodes. */
    cm_forest forest;
    char err[256];
    cm_forest_init(&forest, 2);
    cm_forest_add_tree(&forest, good, 3, NULL);
    forest.tree_start[1] = 2;
    ck_assert_int_eq(cm_forest_check(&forest, err, sizeof err), CM_EINPUT);
    forest.tree_start[1] = 3;
    forest.importance[1] = NAN;
    ck_assert_int_eq(cm_forest_check(&forest, err, sizeof err), CM_EINPUT);
    cm_forest_free(&forest);
}
END_TEST

static Suite *forest_suite(void)
{
    Suite *suite = suite_create("forest");
    TCase *core = tcase_create("core");
    tcase_set_timeout(core, 60);
    tcase_add_test(core, test_stump_on_separable_feature);
    tcase_add_test(core, test_hand_made_tree_scores);
    tcase_add_test(core, test_learns_threshold_rule);
    tcase_add_test(core, test_learns_xor_rule);
    tcase_add_test(core, test_determinism);
    tcase_add_test(core, test_tree_shape_limits);
    tcase_add_test(core, test_serialize_round_trip);
    tcase_add_test(core, test_score_rows);
    tcase_add_test(core, test_importances);
    suite_add_tcase(suite, core);

    TCase *limits = tcase_create("limits");
    tcase_set_timeout(limits, 60);
    tcase_add_test(limits, test_no_rows);
    tcase_add_test(limits, test_single_class_and_single_row);
    tcase_add_test(limits, test_constant_features);
    tcase_add_test(limits, test_two_bins);
    tcase_add_test(limits, test_corrupt_serialized);
    tcase_add_test(limits, test_check_rejects);
    suite_add_tcase(suite, limits);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(forest_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
