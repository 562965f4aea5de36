/* Random forest growing on binned features, scoring, importances and serialisation. */
#include "clickmill/forest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"

void cm_forest_init(cm_forest *forest, int nfeatures)
{
    memset(forest, 0, sizeof *forest);
    forest->nfeatures = nfeatures;
    forest->tree_start = cm_xcalloc(1, sizeof *forest->tree_start);
    forest->importance = cm_xcalloc((size_t)nfeatures ? (size_t)nfeatures : 1, sizeof(double));
}

void cm_forest_free(cm_forest *forest)
{
    free(forest->tree_start);
    free(forest->nodes);
    free(forest->importance);
    memset(forest, 0, sizeof *forest);
}

void cm_forest_add_tree(cm_forest *forest, const cm_tree_node *nodes, size_t count,
                        const double *importance)
{
    if (forest->nnodes + count > forest->nodes_cap) {
        size_t cap = forest->nodes_cap ? forest->nodes_cap : 1024;
        while (cap < forest->nnodes + count)
            cap *= 2;
        forest->nodes = cm_xrealloc(forest->nodes, cap * sizeof *forest->nodes);
        forest->nodes_cap = cap;
    }
    memcpy(forest->nodes + forest->nnodes, nodes, count * sizeof *nodes);
    forest->nnodes += count;
    forest->ntrees++;
    forest->tree_start =
        cm_xrealloc(forest->tree_start, ((size_t)forest->ntrees + 1) * sizeof(int64_t));
    forest->tree_start[forest->ntrees] = (int64_t)forest->nnodes;
    if (importance)
        for (int f = 0; f < forest->nfeatures; f++)
            forest->importance[f] += importance[f];
}

/* xoshiro256** seeded through splitmix64: a small, well-tested generator. */
typedef struct {
    uint64_t s[4];
} rng;

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t state = seed ^ (stream * 0xD1B54A32D192ED03ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&state);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* A uniform integer in [0, bound), without modulo bias worth mentioning for bound < 2^32. */
static size_t rng_below(rng *r, size_t bound)
{
    return (size_t)(((rng_next(r) >> 32) * (uint64_t)bound) >> 32);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The data in the form the growing needs: bin codes per feature (column-major) and edges. */
typedef struct {
    size_t n;
    int nfeatures;
    uint8_t *codes; /* nfeatures * n */
    double *edges;  /* nfeatures * CM_BINS_MAX */
    int *nedges;    /* per feature */
    const uint8_t *y;
} binned;

static void bin_data(binned *data, const double *x, const uint8_t *y, size_t n, int nfeatures,
                     int bins)
{
    data->n = n;
    data->nfeatures = nfeatures;
    data->y = y;
    data->codes = cm_xmalloc((size_t)nfeatures * (n ? n : 1));
    data->edges = cm_xmalloc((size_t)nfeatures * CM_BINS_MAX * sizeof *data->edges);
    data->nedges = cm_xcalloc((size_t)nfeatures, sizeof *data->nedges);
    double *column = cm_xmalloc((n ? n : 1) * sizeof *column);
    for (int f = 0; f < nfeatures; f++) {
        for (size_t i = 0; i < n; i++)
            column[i] = x[i * (size_t)nfeatures + (size_t)f];
        qsort(column, n, sizeof *column, compare_doubles);
        size_t distinct = 0;
        for (size_t i = 0; i < n; i++)
            if (i == 0 || column[i] != column[i - 1])
                distinct++;
        double *edges = data->edges + (size_t)f * CM_BINS_MAX;
        int count = 0;
        if (distinct <= (size_t)bins) {
            for (size_t i = 0; i < n; i++)
                if (i == 0 || column[i] != column[i - 1])
                    edges[count++] = column[i];
        } else {
            /* Quantile edges: the value at each b/bins of the sorted column, the last being
               the maximum, without repeats. */
            for (int b = 1; b <= bins; b++) {
                size_t at = (size_t)((double)n * b / bins);
                at = at == 0 ? 0 : at - 1;
                if (count == 0 || column[at] > edges[count - 1])
                    edges[count++] = column[at];
            }
        }
        data->nedges[f] = count;
        uint8_t *codes = data->codes + (size_t)f * n;
        for (size_t i = 0; i < n; i++) {
            double v = x[i * (size_t)nfeatures + (size_t)f];
            int lo = 0, hi = count - 1; /* the first edge >= v */
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (edges[mid] >= v)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            codes[i] = (uint8_t)lo;
        }
    }
    free(column);
}

static void binned_free(binned *data)
{
    free(data->codes);
    free(data->edges);
    free(data->nedges);
}

/* Node bookkeeping while a tree grows. */
typedef struct {
    size_t start, end; /* its in-bag rows: records [start, end) */
    int64_t weight, positives;
    int32_t node;
    int32_t depth;
} work_item;

typedef struct {
    cm_tree_node *nodes;
    size_t count, cap;
} node_list;

static int32_t node_new(node_list *list)
{
    if (list->count == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 256;
        list->nodes = cm_xrealloc(list->nodes, list->cap * sizeof *list->nodes);
    }
    memset(&list->nodes[list->count], 0, sizeof list->nodes[0]);
    list->nodes[list->count].feature = -1;
    return (int32_t)list->count++;
}

/* Gini of a node times its weight, from integer weights: w - (p^2 + q^2) / w. */
static double weighted_gini(int64_t w, int64_t p)
{
    if (w <= 0)
        return 0.0;
    double q = (double)(w - p);
    return (double)w - ((double)p * (double)p + q * q) / (double)w;
}

/* An in-bag row as the growing reads it: its bin codes, label and bootstrap weight side by
 * side, so a node's rows are one contiguous run that histograms stream through and splits
 * partition in place. */
#define RECORD_LABEL(nf)  (nf)
#define RECORD_WEIGHT(nf) ((nf) + 2) /* uint16, unaligned */

static unsigned record_weight(const uint8_t *record, int nfeatures)
{
    uint16_t weight;
    memcpy(&weight, record + RECORD_WEIGHT(nfeatures), sizeof weight);
    return weight;
}

static void grow_tree(const binned *data, const cm_forest_params *params, int tree,
                      uint32_t *counts, uint8_t *records, node_list *list, double *importance)
{
    rng random;
    rng_seed(&random, params->seed, (uint64_t)tree + 1);
    size_t n = data->n;
    int nfeatures = data->nfeatures;
    size_t stride = (size_t)nfeatures + 4;

    /* Bootstrap: n draws with replacement, kept as a weight per row. */
    memset(counts, 0, n * sizeof *counts);
    for (size_t i = 0; i < n; i++)
        counts[rng_below(&random, n)]++;
    size_t in_bag = 0;
    int64_t total_w = 0, total_p = 0;
    for (size_t i = 0; i < n; i++) {
        if (!counts[i])
            continue;
        uint8_t *record = records + in_bag * stride;
        for (int f = 0; f < nfeatures; f++)
            record[f] = data->codes[(size_t)f * n + i];
        record[RECORD_LABEL(nfeatures)] = data->y[i] ? 1 : 0;
        uint16_t weight = (uint16_t)(counts[i] > UINT16_MAX ? UINT16_MAX : counts[i]);
        memcpy(record + RECORD_WEIGHT(nfeatures), &weight, sizeof weight);
        total_w += weight;
        total_p += data->y[i] ? weight : 0;
        in_bag++;
    }

    list->count = 0;
    memset(importance, 0, (size_t)nfeatures * sizeof *importance);
    int features[CM_FEATURES_MAX];
    for (int f = 0; f < nfeatures; f++)
        features[f] = f;

    work_item stack[CM_DEPTH_MAX + 2]; /* depth-first: one pending sibling per level */
    int top = 0;
    stack[top++] = (work_item){0, in_bag, total_w, total_p, node_new(list), 0};
    int64_t hist_w[CM_BINS_MAX], hist_p[CM_BINS_MAX];
    uint8_t *swap = cm_xmalloc(stride);
    while (top > 0) {
        work_item item = stack[--top];
        cm_tree_node *node = &list->nodes[item.node];
        node->depth = item.depth;
        node->weight = (double)item.weight;
        node->value = item.weight ? (double)item.positives / (double)item.weight : 0.0;
        if (item.depth >= params->max_depth || item.positives == 0 ||
            item.positives == item.weight || item.weight < 2 * (int64_t)params->min_leaf)
            continue;

        /* Try features in a random order: max_features of them, and more only while none
           of those tried has a valid split. */
        int best_feature = -1, best_bin = -1;
        double best_proxy = -1.0;
        int64_t best_left_w = 0, best_left_p = 0;
        const uint8_t *first = records + item.start * stride;
        const uint8_t *last = records + item.end * stride;
        for (int tried = 0; tried < nfeatures; tried++) {
            if (tried >= params->max_features && best_feature >= 0)
                break;
            int pick = tried + (int)rng_below(&random, (size_t)(nfeatures - tried));
            int f = features[pick];
            features[pick] = features[tried];
            features[tried] = f;
            int nb = data->nedges[f];
            if (nb < 2)
                continue;
            memset(hist_w, 0, (size_t)nb * sizeof *hist_w);
            memset(hist_p, 0, (size_t)nb * sizeof *hist_p);
            for (const uint8_t *record = first; record < last; record += stride) {
                unsigned weight = record_weight(record, nfeatures);
                hist_w[record[f]] += weight;
                hist_p[record[f]] += record[RECORD_LABEL(nfeatures)] ? weight : 0;
            }
            int64_t left_w = 0, left_p = 0;
            for (int b = 0; b < nb - 1; b++) {
                left_w += hist_w[b];
                left_p += hist_p[b];
                int64_t right_w = item.weight - left_w, right_p = item.positives - left_p;
                if (left_w < params->min_leaf || right_w < params->min_leaf || left_w == 0 ||
                    right_w == 0)
                    continue;
                /* Maximising sum over sides of (p^2 + q^2) / w minimises the weighted gini. */
                double lq = (double)(left_w - left_p), rq = (double)(right_w - right_p);
                double proxy = ((double)left_p * (double)left_p + lq * lq) / (double)left_w +
                               ((double)right_p * (double)right_p + rq * rq) / (double)right_w;
                if (proxy > best_proxy) {
                    best_proxy = proxy;
                    best_feature = f;
                    best_bin = b;
                    best_left_w = left_w;
                    best_left_p = left_p;
                }
            }
        }
        if (best_feature < 0)
            continue;

        /* Partition the node's records in place: bin <= best_bin to the left. */
        size_t lo = item.start, hi = item.end;
        while (lo < hi) {
            uint8_t *record = records + lo * stride;
            if (record[best_feature] <= best_bin) {
                lo++;
            } else {
                hi--;
                uint8_t *other = records + hi * stride;
                memcpy(swap, record, stride);
                memcpy(record, other, stride);
                memcpy(other, swap, stride);
            }
        }
        int64_t right_w = item.weight - best_left_w, right_p = item.positives - best_left_p;
        importance[best_feature] += weighted_gini(item.weight, item.positives) -
                                    weighted_gini(best_left_w, best_left_p) -
                                    weighted_gini(right_w, right_p);
        int32_t left = node_new(list), right = node_new(list);
        node = &list->nodes[item.node]; /* node_new may have moved the array */
        node->feature = best_feature;
        node->threshold = data->edges[(size_t)best_feature * CM_BINS_MAX + (size_t)best_bin];
        node->left = left;
        node->right = right;
        stack[top++] = (work_item){lo, item.end, right_w, right_p, right, item.depth + 1};
        stack[top++] = (work_item){item.start, lo, best_left_w, best_left_p, left, item.depth + 1};
    }
    free(swap);
    double sum = 0;
    for (int f = 0; f < nfeatures; f++)
        sum += importance[f];
    for (int f = 0; f < nfeatures; f++)
        importance[f] = sum > 0 ? importance[f] / sum : 0.0;
}

void cm_forest_grow(cm_forest *forest, const cm_forest_params *params, const double *x,
                    const uint8_t *y, size_t n, int first, int count, cm_forest_progress progress,
                    void *ctx)
{
    if (count <= 0)
        return;
    if (forest->nfeatures > CM_FEATURES_MAX || params->max_depth > CM_DEPTH_MAX ||
        params->bins > CM_BINS_MAX || params->bins < 2) {
        fprintf(stderr, "clickmill: forest limits exceeded: %d features, depth %d, %d bins\n",
                forest->nfeatures, params->max_depth, params->bins);
        abort();
    }
    binned data;
    bin_data(&data, x, y, n, forest->nfeatures, params->bins);
    uint32_t *counts = cm_xmalloc((n ? n : 1) * sizeof *counts);
    uint8_t *records = cm_xmalloc((n ? n : 1) * ((size_t)forest->nfeatures + 4));
    double *importance = cm_xmalloc((size_t)forest->nfeatures * sizeof *importance);
    node_list list = {0};
    for (int t = 0; t < count; t++) {
        if (n == 0) { /* no rows: a single leaf that says 0 */
            list.count = 0;
            node_new(&list);
            memset(importance, 0, (size_t)forest->nfeatures * sizeof *importance);
        } else {
            grow_tree(&data, params, first + t, counts, records, &list, importance);
        }
        cm_forest_add_tree(forest, list.nodes, list.count, importance);
        if (progress)
            progress(ctx, t + 1, count);
    }
    free(list.nodes);
    free(importance);
    free(records);
    free(counts);
    binned_free(&data);
}

/* Copies the subtree of node k of a tree (whose children were given slots at `at`). */
static void flatten(const cm_tree_node *nodes, int32_t k, cm_flat_node *out, int64_t at,
                    int64_t *used)
{
    if (nodes[k].feature < 0) {
        out[at] = (cm_flat_node){nodes[k].value, -1, 0};
        return;
    }
    int64_t children = *used;
    *used += 2;
    out[at] = (cm_flat_node){nodes[k].threshold, nodes[k].feature, (int32_t)(children - at)};
    flatten(nodes, nodes[k].left, out, children, used);
    flatten(nodes, nodes[k].right, out, children + 1, used);
}

void cm_flat_forest_build(cm_flat_forest *flat, const cm_forest *forest)
{
    flat->ntrees = forest->ntrees;
    flat->root = cm_xmalloc(((size_t)forest->ntrees + 1) * sizeof *flat->root);
    flat->nodes = cm_xmalloc((forest->nnodes ? forest->nnodes : 1) * sizeof *flat->nodes);
    int64_t used = 0;
    for (int t = 0; t < forest->ntrees; t++) {
        flat->root[t] = used++;
        flatten(forest->nodes + forest->tree_start[t], 0, flat->nodes, flat->root[t], &used);
    }
}

void cm_flat_forest_free(cm_flat_forest *flat)
{
    free(flat->root);
    free(flat->nodes);
    memset(flat, 0, sizeof *flat);
}

/* The leaf value row x reaches in the tree at nodes (left offsets are relative). */
static inline double flat_leaf(const cm_flat_node *node, const double *x)
{
    while (node->feature >= 0)
        node += node->left + !(x[node->feature] <= node->value); /* NaN goes right */
    return node->value;
}

double cm_flat_forest_score(const cm_flat_forest *flat, const double *x)
{
    double sum = 0.0;
    for (int t = 0; t < flat->ntrees; t++)
        sum += flat_leaf(flat->nodes + flat->root[t], x);
    return flat->ntrees ? sum / flat->ntrees : 0.0;
}

void cm_forest_score_rows(const cm_forest *forest, const double *x, size_t n, double *out)
{
    enum { BLOCK = 4096 };
    int nf = forest->nfeatures;
    cm_flat_forest flat;
    cm_flat_forest_build(&flat, forest);
    for (size_t start = 0; start < n; start += BLOCK) {
        size_t end = start + BLOCK < n ? start + BLOCK : n;
        for (size_t i = start; i < end; i++)
            out[i] = 0.0;
        for (int t = 0; t < flat.ntrees; t++)
            for (size_t i = start; i < end; i++)
                out[i] += flat_leaf(flat.nodes + flat.root[t], x + i * (size_t)nf);
        for (size_t i = start; i < end; i++)
            out[i] = flat.ntrees ? out[i] / flat.ntrees : 0.0;
    }
    cm_flat_forest_free(&flat);
}

double cm_forest_score(const cm_forest *forest, const double *x)
{
    double score;
    cm_forest_score_rows(forest, x, 1, &score);
    return score;
}

void cm_forest_importances(const cm_forest *forest, double *out)
{
    double sum = 0;
    for (int f = 0; f < forest->nfeatures; f++)
        sum += forest->importance[f];
    for (int f = 0; f < forest->nfeatures; f++)
        out[f] = sum > 0 ? forest->importance[f] / sum : 0.0;
}

int cm_forest_check(const cm_forest *forest, char *err, size_t err_size)
{
    if (forest->tree_start[0] != 0 ||
        forest->tree_start[forest->ntrees] != (int64_t)forest->nnodes) {
        snprintf(err, err_size, "the tree offsets do not cover the node arrays");
        return CM_EINPUT;
    }
    for (int t = 0; t < forest->ntrees; t++) {
        int64_t start = forest->tree_start[t], end = forest->tree_start[t + 1];
        /* start is 0 or the previous tree's end; end must not pass the nodes before they are
           read (a corrupt middle offset would otherwise read past the array). */
        if (end <= start || end > (int64_t)forest->nnodes || end - start > INT32_MAX) {
            snprintf(err, err_size, "tree %d has %lld nodes", t, (long long)(end - start));
            return CM_EINPUT;
        }
        int64_t size = end - start;
        for (int64_t k = 0; k < size; k++) {
            const cm_tree_node *node = &forest->nodes[start + k];
            if (!isfinite(node->value) || node->value < 0 || node->value > 1) {
                snprintf(err, err_size, "tree %d node %lld: value %g is not a probability", t,
                         (long long)k, node->value);
                return CM_EINPUT;
            }
            if (node->feature < 0)
                continue;
            /* Children after their parent: every path ends, so scoring cannot loop. */
            if (node->feature >= forest->nfeatures || node->left <= k || node->right <= k ||
                node->left >= size || node->right >= size || isnan(node->threshold)) {
                snprintf(err, err_size,
                         "tree %d node %lld: feature %d, children %d and %d out of "
                         "range",
                         t, (long long)k, node->feature, node->left, node->right);
                return CM_EINPUT;
            }
        }
    }
    for (int f = 0; f < forest->nfeatures; f++)
        if (!isfinite(forest->importance[f]) || forest->importance[f] < 0) {
            snprintf(err, err_size, "feature %d: importance %g", f, forest->importance[f]);
            return CM_EINPUT;
        }
    return 0;
}

void cm_forest_serialize(const cm_forest *forest, cm_buffer *out)
{
    int32_t head[2] = {forest->ntrees, forest->nfeatures};
    cm_buffer_append(out, head, sizeof head);
    cm_buffer_append(out, forest->importance, (size_t)forest->nfeatures * sizeof(double));
    cm_buffer_append(out, forest->tree_start, ((size_t)forest->ntrees + 1) * sizeof(int64_t));
    cm_buffer_append(out, forest->nodes, forest->nnodes * sizeof *forest->nodes);
}

int cm_forest_append_serialized(cm_forest *forest, const char *data, size_t len, char *err,
                                size_t err_size)
{
    int32_t head[2];
    if (len < sizeof head)
        goto short_data;
    memcpy(head, data, sizeof head);
    if (head[0] < 0 || head[1] != forest->nfeatures) {
        snprintf(err, err_size, "a forest of %d trees and %d features, expected %d features",
                 head[0], head[1], forest->nfeatures);
        return CM_EINPUT;
    }
    size_t at = sizeof head;
    size_t imp_size = (size_t)head[1] * sizeof(double);
    size_t start_size = ((size_t)head[0] + 1) * sizeof(int64_t);
    if (len - at < imp_size + start_size)
        goto short_data;
    const char *importance = data + at;
    at += imp_size;
    int64_t *starts = cm_xmalloc(start_size);
    memcpy(starts, data + at, start_size);
    at += start_size;
    if (starts[0] != 0 || starts[head[0]] < 0 ||
        (uint64_t)starts[head[0]] != (len - at) / sizeof(cm_tree_node) ||
        (len - at) % sizeof(cm_tree_node)) {
        free(starts);
        goto short_data;
    }
    cm_forest part;
    cm_forest_init(&part, forest->nfeatures);
    free(part.tree_start);
    part.tree_start = starts;
    part.ntrees = head[0];
    part.nnodes = part.nodes_cap = (size_t)starts[head[0]];
    part.nodes = cm_xmalloc((part.nnodes ? part.nnodes : 1) * sizeof *part.nodes);
    memcpy(part.nodes, data + at, part.nnodes * sizeof *part.nodes);
    memcpy(part.importance, importance, imp_size);
    int rc = cm_forest_check(&part, err, err_size);
    if (rc == 0) {
        for (int t = 0; t < part.ntrees; t++) {
            int64_t s = part.tree_start[t], e = part.tree_start[t + 1];
            cm_forest_add_tree(forest, part.nodes + s, (size_t)(e - s), NULL);
        }
        for (int f = 0; f < forest->nfeatures; f++)
            forest->importance[f] += part.importance[f];
    }
    cm_forest_free(&part);
    return rc;
short_data:
    snprintf(err, err_size, "a serialised forest of the wrong length");
    return CM_EINPUT;
}
