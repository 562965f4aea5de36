/* Unit tests of the classification metrics: hand-worked examples, brute-force AUC and average
 * precision, the curves and the edge cases. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/metrics.h"

#define TOL 1e-12

/* splitmix64, for reproducible random scores. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *state)
{
    return (double)(rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* Every double field of the metrics, for the "no NaN anywhere" checks. */
static void assert_all_finite(const cm_metrics *m)
{
    const double values[] = {m->threshold,
                             m->accuracy,
                             m->balanced_accuracy,
                             m->precision,
                             m->recall,
                             m->f1,
                             m->roc_auc,
                             m->pr_auc,
                             m->log_loss,
                             m->base_accuracy,
                             m->base_balanced_accuracy,
                             m->base_log_loss,
                             m->base_roc_auc,
                             m->base_pr_auc};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        ck_assert_msg(isfinite(values[i]), "field %zu is %g", i, values[i]);
}

/* The curve starts at start, its points never go back in x or y (roc) or in x (pr). */
static void assert_curve_shape(const cm_curve *curve, int monotone_y)
{
    ck_assert_int_ge(curve->count, 1);
    ck_assert_int_le(curve->count, CM_CURVE_POINTS);
    for (int i = 0; i < curve->count; i++) {
        ck_assert(curve->x[i] >= 0 && curve->x[i] <= 1);
        ck_assert(curve->y[i] >= 0 && curve->y[i] <= 1);
        if (i > 0) {
            ck_assert_double_ge(curve->x[i], curve->x[i - 1]);
            if (monotone_y)
                ck_assert_double_ge(curve->y[i], curve->y[i - 1]);
        }
    }
}

/* The area under a curve by trapezoids. */
static double trapezoid(const cm_curve *curve)
{
    double area = 0;
    for (int i = 1; i < curve->count; i++)
        area += (curve->x[i] - curve->x[i - 1]) * (curve->y[i] + curve->y[i - 1]) / 2;
    return area;
}

/* The ROC AUC by its definition: over every (positive, negative) pair, 1 when the positive
 * scores higher, 1/2 on a tie. */
static double brute_auc(const double *scores, const uint8_t *labels, size_t n)
{
    double wins = 0, pairs = 0;
    for (size_t i = 0; i < n; i++) {
        if (!labels[i])
            continue;
        for (size_t j = 0; j < n; j++) {
            if (labels[j])
                continue;
            pairs++;
            wins += scores[i] > scores[j] ? 1.0 : scores[i] == scores[j] ? 0.5 : 0.0;
        }
    }
    return wins / pairs;
}

/* Average precision as scikit-learn defines it: over the distinct scores t from the highest,
 * sum of (R(t) - R(previous t)) * P(t), with P and R of the rule "score >= t". */
static double brute_ap(const double *scores, const uint8_t *labels, size_t n)
{
    double positives = 0;
    for (size_t i = 0; i < n; i++)
        positives += labels[i];
    double ap = 0, previous_recall = 0, previous_t = INFINITY;
    for (;;) {
        double t = -INFINITY; /* the next distinct score below previous_t */
        for (size_t i = 0; i < n; i++)
            if (scores[i] < previous_t && scores[i] > t)
                t = scores[i];
        if (t == -INFINITY)
            break;
        double tp = 0, predicted = 0;
        for (size_t i = 0; i < n; i++)
            if (scores[i] >= t) {
                predicted++;
                tp += labels[i];
            }
        double recall = tp / positives;
        ap += (recall - previous_recall) * (tp / predicted);
        previous_recall = recall;
        previous_t = t;
    }
    return ap;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static size_t distinct_scores(const double *scores, size_t n)
{
    double *copy = malloc((n ? n : 1) * sizeof *copy);
    memcpy(copy, scores, n * sizeof *copy);
    qsort(copy, n, sizeof *copy, compare_doubles);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        distinct += i == 0 || copy[i] != copy[i - 1];
    free(copy);
    return distinct;
}

/* ---- core ---- */

START_TEST(test_hand_worked)
{
    /* Eight samples, four of each class:
         score  0.9 0.8 0.7 0.6 0.4 0.3 0.2 0.1
         label    1   1   0   1   0   0   1   0                                               */
    const double scores[] = {0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1};
    const uint8_t labels[] = {1, 1, 0, 1, 0, 0, 1, 0};
    cm_metrics m;
    cm_curve roc, pr;
    cm_metrics_compute(scores, labels, 8, 0.5, 0.25, &m, &roc, &pr);

    /* At 0.5 the first four are predicted: tp 3 (0.9, 0.8, 0.6), fp 1 (0.7); below, tn 3 and
       fn 1 (0.2). */
    ck_assert_int_eq(m.samples, 8);
    ck_assert_int_eq(m.positives, 4);
    ck_assert_int_eq(m.tp, 3);
    ck_assert_int_eq(m.fp, 1);
    ck_assert_int_eq(m.tn, 3);
    ck_assert_int_eq(m.fn, 1);
    ck_assert_double_eq(m.threshold, 0.5);
    ck_assert_double_eq_tol(m.accuracy, 6.0 / 8, TOL);
    ck_assert_double_eq_tol(m.balanced_accuracy, (3.0 / 4 + 3.0 / 4) / 2, TOL);
    ck_assert_double_eq_tol(m.precision, 3.0 / 4, TOL);
    ck_assert_double_eq_tol(m.recall, 3.0 / 4, TOL);
    ck_assert_double_eq_tol(m.f1, 0.75, TOL); /* 2 * 0.75 * 0.75 / 1.5 */

    /* Pairs won out of 16: 0.9 beats all 4 negatives, 0.8 all 4, 0.6 three (0.4, 0.3, 0.1),
       0.2 one (0.1): 12 / 16. */
    ck_assert_double_eq_tol(m.roc_auc, 12.0 / 16, TOL);
    /* Precision at each positive going down: 1/1, 2/2, 3/4, 4/7; their mean (each adds 1/4 of
       recall): (1 + 1 + 3/4 + 4/7) / 4 = 93 / 112. */
    ck_assert_double_eq_tol(m.pr_auc, 93.0 / 112, TOL);
    /* The probabilities given to the true class: .9 .8 .3 .6 .6 .7 .2 .9, whose product is
       0.00979776; the log loss is minus its log over 8 (0.578200...). */
    ck_assert_double_eq_tol(m.log_loss, -log(0.00979776) / 8, 1e-12);

    /* The baseline with a prior of 0.25: predicts "no purchase", right on the 4 negatives;
       average precision of a constant score is the positive rate; log loss
       -(4 ln 0.25 + 4 ln 0.75) / 8 = -ln(0.1875) / 2. */
    ck_assert_double_eq_tol(m.base_accuracy, 0.5, TOL);
    ck_assert_double_eq_tol(m.base_pr_auc, 0.5, TOL);
    ck_assert_double_eq_tol(m.base_log_loss, -log(0.1875) / 2, 1e-12);
    ck_assert_double_eq(m.base_roc_auc, 0.5);
    ck_assert_double_eq(m.base_balanced_accuracy, 0.5);

    /* Eight distinct scores: no thinning, one point per score after (0, 0). */
    static const double roc_x[] = {0, 0, 0, .25, .25, .5, .75, .75, 1};
    static const double roc_y[] = {0, .25, .5, .5, .75, .75, .75, 1, 1};
    ck_assert_int_eq(roc.count, 9);
    for (int i = 0; i < 9; i++) {
        ck_assert_double_eq_tol(roc.x[i], roc_x[i], TOL);
        ck_assert_double_eq_tol(roc.y[i], roc_y[i], TOL);
    }
    static const double pr_x[] = {.25, .5, .5, .75, .75, .75, 1, 1};
    static const double pr_y[] = {1, 1, 2.0 / 3, .75, .6, .5, 4.0 / 7, .5};
    ck_assert_int_eq(pr.count, 8);
    for (int i = 0; i < 8; i++) {
        ck_assert_double_eq_tol(pr.x[i], pr_x[i], TOL);
        ck_assert_double_eq_tol(pr.y[i], pr_y[i], TOL);
    }
    ck_assert_double_eq_tol(trapezoid(&roc), m.roc_auc, TOL);

    /* The input is not reordered (the scores are sorted in a copy). */
    ck_assert_double_eq(scores[2], 0.7);
    ck_assert_int_eq(labels[2], 0);
}
END_TEST

START_TEST(test_hand_worked_ties)
{
    /* Positives 0.8, 0.5, 0.5; negatives 0.9, 0.5, 0.2 (given shuffled). */
    const double scores[] = {0.5, 0.9, 0.2, 0.5, 0.8, 0.5};
    const uint8_t labels[] = {1, 0, 0, 0, 1, 1};
    cm_metrics m;
    cm_curve roc, pr;
    cm_metrics_compute(scores, labels, 6, 0.5, 0.5, &m, &roc, &pr);

    /* Score >= 0.5 predicts a purchase: 0.9 (fp), 0.8 (tp), three 0.5 (2 tp, 1 fp); 0.2 tn. */
    ck_assert_int_eq(m.tp, 3);
    ck_assert_int_eq(m.fp, 2);
    ck_assert_int_eq(m.tn, 1);
    ck_assert_int_eq(m.fn, 0);
    ck_assert_double_eq_tol(m.accuracy, 4.0 / 6, TOL);
    ck_assert_double_eq_tol(m.balanced_accuracy, (1.0 + 1.0 / 3) / 2, TOL);
    ck_assert_double_eq_tol(m.precision, 3.0 / 5, TOL);
    ck_assert_double_eq_tol(m.recall, 1.0, TOL);
    ck_assert_double_eq_tol(m.f1, 0.75, TOL); /* 2 * 0.6 * 1 / 1.6 */

    /* 9 pairs: 0.8 beats 0.5 and 0.2 (2); each 0.5 positive ties the 0.5 negative (1/2) and
       beats 0.2 (1): 1.5 each. (2 + 3) / 9. */
    ck_assert_double_eq_tol(m.roc_auc, 5.0 / 9, TOL);
    /* Thresholds 0.9: R 0, P 0; 0.8: R 1/3, P 1/2; 0.5: R 1, P 3/5; 0.2: R unchanged.
       AP = 1/3 * 1/2 + 2/3 * 3/5 = 17 / 30. */
    ck_assert_double_eq_tol(m.pr_auc, 17.0 / 30, TOL);

    /* Tied scores make one point: (0,0) (1/3,0) (1/3,1/3) (2/3,1) (1,1). */
    static const double roc_x[] = {0, 1.0 / 3, 1.0 / 3, 2.0 / 3, 1};
    static const double roc_y[] = {0, 0, 1.0 / 3, 1, 1};
    ck_assert_int_eq(roc.count, 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_double_eq_tol(roc.x[i], roc_x[i], TOL);
        ck_assert_double_eq_tol(roc.y[i], roc_y[i], TOL);
    }
    /* The trapezoids count a tie as half: the same 5/9. */
    ck_assert_double_eq_tol(trapezoid(&roc), 5.0 / 9, TOL);
    ck_assert_int_eq(pr.count, 4);
    ck_assert_double_eq_tol(pr.x[2], 1.0, TOL);
    ck_assert_double_eq_tol(pr.y[2], 3.0 / 5, TOL);

    /* A prior of 0.5: either class as the majority is right 3 times of 6; log loss ln 2. */
    ck_assert_double_eq_tol(m.base_accuracy, 0.5, TOL);
    ck_assert_double_eq_tol(m.base_log_loss, log(2.0), TOL);
}
END_TEST

START_TEST(test_perfect_and_inverted)
{
    const double scores[] = {0.1, 0.2, 0.3, 0.7, 0.8, 0.9};
    const uint8_t right[] = {0, 0, 0, 1, 1, 1};
    const uint8_t wrong[] = {1, 1, 1, 0, 0, 0};
    cm_metrics m;
    cm_metrics_compute(scores, right, 6, 0.5, 0.5, &m, NULL, NULL);
    ck_assert_double_eq(m.roc_auc, 1.0);
    ck_assert_double_eq(m.pr_auc, 1.0);
    ck_assert_double_eq(m.accuracy, 1.0);
    ck_assert_double_eq(m.f1, 1.0);
    /* -(2 ln .9 + 2 ln .8 + 2 ln .7) / 6 */
    ck_assert_double_eq_tol(m.log_loss, -(log(0.9) + log(0.8) + log(0.7)) / 3, TOL);

    cm_metrics_compute(scores, wrong, 6, 0.5, 0.5, &m, NULL, NULL);
    ck_assert_double_eq(m.roc_auc, 0.0);
    ck_assert_double_eq(m.accuracy, 0.0);
    ck_assert_double_eq(m.precision, 0.0);
    ck_assert_double_eq(m.f1, 0.0);
    /* Precision 1/4, 2/5, 3/6 at the three positives: (1/4 + 2/5 + 1/2) / 3 = 23 / 60. */
    ck_assert_double_eq_tol(m.pr_auc, 23.0 / 60, TOL);

    /* All scores equal: every pair ties, AUC 1/2; AP is the positive rate. */
    const double flat[] = {0.3, 0.3, 0.3, 0.3, 0.3};
    const uint8_t some[] = {1, 0, 0, 1, 0};
    cm_curve roc;
    cm_metrics_compute(flat, some, 5, 0.3, 0.4, &m, &roc, NULL);
    ck_assert_double_eq(m.roc_auc, 0.5);
    ck_assert_double_eq_tol(m.pr_auc, 0.4, TOL);
    ck_assert_int_eq(m.tp, 2); /* 0.3 >= 0.3 predicts a purchase */
    ck_assert_int_eq(m.fp, 3);
    ck_assert_int_eq(roc.count, 2);
    ck_assert_double_eq(roc.x[1], 1.0);
    ck_assert_double_eq(roc.y[1], 1.0);
}
END_TEST

START_TEST(test_against_brute_force)
{
    uint64_t seed = 1;
    for (int trial = 0; trial < 60; trial++) {
        size_t n = 2 + rng_next(&seed) % 600;
        int levels = trial % 3 == 0 ? 0 : 1 + (int)(rng_next(&seed) % 30); /* 0: continuous */
        double threshold = rng_unit(&seed), prior = 0.05 + 0.9 * rng_unit(&seed);
        double *scores = malloc(n * sizeof *scores);
        uint8_t *labels = malloc(n);
        int64_t positives = 0;
        for (size_t i = 0; i < n; i++) {
            double s = rng_unit(&seed);
            if (levels)
                s = floor(s * levels) / levels;
            scores[i] = s;
            labels[i] = rng_unit(&seed) < 0.2 + 0.6 * s; /* informative, not perfect */
            positives += labels[i];
        }
        if (positives == 0 || positives == (int64_t)n) { /* AUC needs both classes */
            labels[0] = !labels[0];
            positives += labels[0] ? 1 : -1;
        }
        cm_metrics m;
        cm_curve roc, pr;
        cm_metrics_compute(scores, labels, n, threshold, prior, &m, &roc, &pr);

        int64_t tp = 0, fp = 0, tn = 0, fn = 0;
        double loss = 0, base_loss = 0;
        for (size_t i = 0; i < n; i++) {
            int predicted = scores[i] >= threshold;
            tp += predicted && labels[i];
            fp += predicted && !labels[i];
            tn += !predicted && !labels[i];
            fn += !predicted && labels[i];
            double p = labels[i] ? scores[i] : 1 - scores[i];
            loss -= log(p < 1e-15 ? 1e-15 : p);
            base_loss -= log(labels[i] ? prior : 1 - prior);
        }
        ck_assert_int_eq(m.positives, positives);
        ck_assert_int_eq(m.tp, tp);
        ck_assert_int_eq(m.fp, fp);
        ck_assert_int_eq(m.tn, tn);
        ck_assert_int_eq(m.fn, fn);
        double precision = tp + fp ? (double)tp / (double)(tp + fp) : 0;
        double recall = (double)tp / (double)positives;
        ck_assert_double_eq_tol(m.accuracy, (double)(tp + tn) / (double)n, TOL);
        ck_assert_double_eq_tol(m.precision, precision, TOL);
        ck_assert_double_eq_tol(m.recall, recall, TOL);
        ck_assert_double_eq_tol(
            m.f1, precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0, TOL);
        ck_assert_double_eq_tol(m.balanced_accuracy, (recall + (double)tn / (double)(tn + fp)) / 2,
                                TOL);
        ck_assert_double_eq_tol(m.log_loss, loss / (double)n, 1e-9);
        ck_assert_double_eq_tol(m.base_log_loss, base_loss / (double)n, 1e-9);
        ck_assert_double_eq_tol(m.roc_auc, brute_auc(scores, labels, n), 1e-9);
        ck_assert_double_eq_tol(m.pr_auc, brute_ap(scores, labels, n), 1e-9);
        ck_assert_double_eq_tol(m.base_pr_auc, (double)positives / (double)n, TOL);
        ck_assert_double_eq_tol(
            m.base_accuracy, (double)(prior >= 0.5 ? positives : (int64_t)n - positives) / n, TOL);

        /* With fewer than 199 distinct scores the ROC curve has every point, so its
           trapezoids are the AUC exactly (ties as half); thinned, about it. */
        assert_curve_shape(&roc, 1);
        assert_curve_shape(&pr, 0);
        ck_assert_double_eq(roc.x[0], 0);
        ck_assert_double_eq(roc.y[0], 0);
        ck_assert_double_eq_tol(roc.x[roc.count - 1], 1, TOL);
        ck_assert_double_eq_tol(roc.y[roc.count - 1], 1, TOL);
        ck_assert_double_eq_tol(pr.x[pr.count - 1], 1, TOL);
        if (distinct_scores(scores, n) < CM_CURVE_POINTS - 2)
            ck_assert_double_eq_tol(trapezoid(&roc), m.roc_auc, 1e-9);
        else
            ck_assert_double_eq_tol(trapezoid(&roc), m.roc_auc, 0.02);
        free(scores);
        free(labels);
    }
}
END_TEST

/* ---- limits ---- */

START_TEST(test_curve_thinning)
{
    /* g distinct scores, each held by one positive and one negative: whatever g, at most
       CM_CURVE_POINTS points from (0,0) to (1,1), in order. */
    static const size_t groups[] = {1, 2, 198, 199, 200, 201, 397, 398, 399, 400, 1000, 5000};
    for (size_t k = 0; k < sizeof groups / sizeof groups[0]; k++) {
        size_t g = groups[k], n = 2 * g;
        double *scores = malloc(n * sizeof *scores);
        uint8_t *labels = malloc(n);
        for (size_t i = 0; i < n; i++) {
            scores[i] = (double)(i / 2) / (double)g;
            labels[i] = (uint8_t)(i % 2);
        }
        cm_metrics m;
        cm_curve roc, pr;
        cm_metrics_compute(scores, labels, n, 0.5, 0.5, &m, &roc, &pr);
        ck_assert_double_eq_tol(m.roc_auc, 0.5, TOL);
        assert_curve_shape(&roc, 1);
        assert_curve_shape(&pr, 0);
        ck_assert_msg(roc.count <= CM_CURVE_POINTS && pr.count <= CM_CURVE_POINTS,
                      "%zu groups: %d and %d points", g, roc.count, pr.count);
        if (g < CM_CURVE_POINTS - 2)
            ck_assert_int_eq(roc.count, (int)g + 1); /* nothing thinned */
        else
            ck_assert_int_ge(roc.count, CM_CURVE_POINTS / 2);
        ck_assert_double_eq(roc.x[0], 0);
        ck_assert_double_eq(roc.y[0], 0);
        ck_assert_double_eq_tol(roc.x[roc.count - 1], 1, TOL);
        ck_assert_double_eq_tol(roc.y[roc.count - 1], 1, TOL);
        /* Every group is on the diagonal, so every point is. */
        for (int i = 0; i < roc.count; i++)
            ck_assert_double_eq_tol(roc.x[i], roc.y[i], TOL);
        free(scores);
        free(labels);
    }

    /* Many distinct random scores: the thinned curve still encloses about the AUC. */
    enum { N = 20000 };
    double *scores = malloc(N * sizeof *scores);
    uint8_t *labels = malloc(N);
    uint64_t seed = 3;
    for (size_t i = 0; i < N; i++) {
        scores[i] = rng_unit(&seed);
        labels[i] = rng_unit(&seed) < scores[i];
    }
    cm_metrics m;
    cm_curve roc;
    cm_metrics_compute(scores, labels, N, 0.5, 0.5, &m, &roc, NULL);
    assert_curve_shape(&roc, 1);
    ck_assert_int_le(roc.count, CM_CURVE_POINTS);
    ck_assert_double_eq_tol(roc.x[roc.count - 1], 1, TOL);
    ck_assert_double_eq_tol(roc.y[roc.count - 1], 1, TOL);
    ck_assert_double_eq_tol(trapezoid(&roc), m.roc_auc, 1e-3);
    /* Labels drawn with P(1) = s: positives have density 2s, negatives 2(1 - s), and
       P(pos > neg) = int_0^1 2x * int_0^x 2(1 - y) dy dx = 4 (1/3 - 1/8) = 5/6. */
    ck_assert_double_eq_tol(m.roc_auc, 5.0 / 6, 0.01);
    free(scores);
    free(labels);
}
END_TEST

START_TEST(test_no_samples)
{
    cm_metrics m;
    cm_curve roc, pr;
    roc.count = pr.count = 99;
    cm_metrics_compute(NULL, NULL, 0, 0.5, 0.3, &m, &roc, &pr);
    assert_all_finite(&m);
    ck_assert_int_eq(m.samples, 0);
    ck_assert_int_eq(m.positives, 0);
    ck_assert_int_eq(m.tp + m.fp + m.tn + m.fn, 0);
    ck_assert_double_eq(m.accuracy, 0);
    ck_assert_double_eq(m.roc_auc, 0.5);
    ck_assert_double_eq(m.pr_auc, 0);
    ck_assert_double_eq(m.log_loss, 0);
    ck_assert_double_eq(m.base_pr_auc, 0);
    ck_assert_int_le(roc.count, 1);
    ck_assert_int_eq(pr.count, 0);
    if (roc.count == 1) {
        ck_assert_double_eq(roc.x[0], 0);
        ck_assert_double_eq(roc.y[0], 0);
    }
}
END_TEST

START_TEST(test_one_class)
{
    const double scores[] = {0.9, 0.6, 0.4, 0.1};
    const uint8_t none[] = {0, 0, 0, 0};
    const uint8_t all[] = {1, 1, 1, 1};
    cm_metrics m;
    cm_curve roc, pr;

    /* No positives: two false positives at 0.5, recall and precision 0, no ranking to judge. */
    cm_metrics_compute(scores, none, 4, 0.5, 0.2, &m, &roc, &pr);
    assert_all_finite(&m);
    ck_assert_int_eq(m.fp, 2);
    ck_assert_int_eq(m.tn, 2);
    ck_assert_double_eq_tol(m.accuracy, 0.5, TOL);
    ck_assert_double_eq(m.precision, 0);
    ck_assert_double_eq(m.recall, 0);
    ck_assert_double_eq(m.f1, 0);
    ck_assert_double_eq(m.roc_auc, 0.5);
    ck_assert_double_eq(m.pr_auc, 0);
    ck_assert_double_eq(m.base_pr_auc, 0);
    ck_assert_double_eq_tol(m.base_accuracy, 1.0, TOL); /* the prior says "no" */
    /* -(ln .1 + ln .4 + ln .6 + ln .9) / 4 */
    ck_assert_double_eq_tol(m.log_loss, -log(0.1 * 0.4 * 0.6 * 0.9) / 4, TOL);
    ck_assert_double_eq_tol(m.base_log_loss, -log(0.8), TOL);
    assert_curve_shape(&roc, 1);
    ck_assert_double_eq_tol(roc.x[roc.count - 1], 1, TOL);

    /* No negatives: every threshold has precision 1, so AP is 1. */
    cm_metrics_compute(scores, all, 4, 0.5, 0.8, &m, &roc, &pr);
    assert_all_finite(&m);
    ck_assert_int_eq(m.tp, 2);
    ck_assert_int_eq(m.fn, 2);
    ck_assert_double_eq(m.precision, 1.0);
    ck_assert_double_eq_tol(m.recall, 0.5, TOL);
    ck_assert_double_eq_tol(m.f1, 2.0 / 3, TOL);
    ck_assert_double_eq(m.roc_auc, 0.5);
    ck_assert_double_eq_tol(m.pr_auc, 1.0, TOL);
    ck_assert_double_eq_tol(m.base_pr_auc, 1.0, TOL);
    ck_assert_double_eq_tol(m.base_accuracy, 1.0, TOL); /* the prior says "yes" */
    ck_assert_double_eq_tol(m.base_log_loss, -log(0.8), TOL);
    ck_assert(m.balanced_accuracy >= 0 && m.balanced_accuracy <= 1);
    assert_curve_shape(&roc, 1);
    ck_assert_double_eq_tol(roc.y[roc.count - 1], 1, TOL);
    for (int i = 0; i < pr.count; i++)
        ck_assert_double_eq(pr.y[i], 1.0);
}
END_TEST

START_TEST(test_threshold_and_clipping)
{
    /* A score equal to the threshold predicts a purchase. */
    const double scores[] = {0.25, 0.25};
    const uint8_t labels[] = {1, 0};
    cm_metrics m;
    cm_metrics_compute(scores, labels, 2, 0.25, 0.5, &m, NULL, NULL);
    ck_assert_int_eq(m.tp, 1);
    ck_assert_int_eq(m.fp, 1);
    cm_metrics_compute(scores, labels, 2, 0.2500001, 0.5, &m, NULL, NULL);
    ck_assert_int_eq(m.fn, 1);
    ck_assert_int_eq(m.tn, 1);

    /* Certain and wrong: the log loss is large but finite, for the model and for a prior of 0
       or 1. */
    const double certain[] = {0.0, 1.0};
    cm_metrics_compute(certain, labels, 2, 0.5, 0.0, &m, NULL, NULL);
    assert_all_finite(&m);
    ck_assert_double_gt(m.log_loss, 30);
    ck_assert_double_gt(m.base_log_loss, 15);
    cm_metrics_compute(certain, labels, 2, 0.5, 1.0, &m, NULL, NULL);
    assert_all_finite(&m);
    ck_assert_double_gt(m.base_log_loss, 15);
    /* Certain and right costs (almost) nothing. */
    const uint8_t swapped[] = {0, 1};
    cm_metrics_compute(certain, swapped, 2, 0.5, 0.5, &m, NULL, NULL);
    ck_assert_double_eq_tol(m.log_loss, 0, 1e-12);
    ck_assert_double_eq(m.roc_auc, 1.0);
}
END_TEST

START_TEST(test_baseline_prior)
{
    /* 3 positives of 8. The baseline follows the prior, not the test set's own rate. */
    const double scores[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8};
    const uint8_t labels[] = {0, 1, 0, 0, 1, 0, 1, 0};
    cm_metrics m;
    cm_metrics_compute(scores, labels, 8, 0.5, 0.7, &m, NULL, NULL);
    ck_assert_double_eq_tol(m.base_accuracy, 3.0 / 8, TOL); /* "buys" is right 3 times */
    ck_assert_double_eq_tol(m.base_pr_auc, 3.0 / 8, TOL);
    ck_assert_double_eq_tol(m.base_log_loss, -(3 * log(0.7) + 5 * log(0.3)) / 8, TOL);
    /* Predicting "buys" for all 8: precision 3/8, recall 1, F1 2 * 3/8 / (3/8 + 1) = 6/11. */
    ck_assert_double_eq_tol(m.base_precision, 3.0 / 8, TOL);
    ck_assert_double_eq_tol(m.base_recall, 1.0, TOL);
    ck_assert_double_eq_tol(m.base_f1, 6.0 / 11, TOL);
    cm_metrics_compute(scores, labels, 8, 0.5, 0.3, &m, NULL, NULL);
    /* Predicting "does not buy" for all: no predicted purchase, so 0, 0 and 0. */
    ck_assert_double_eq(m.base_precision, 0.0);
    ck_assert_double_eq(m.base_recall, 0.0);
    ck_assert_double_eq(m.base_f1, 0.0);
    ck_assert_double_eq_tol(m.base_accuracy, 5.0 / 8, TOL);
    ck_assert_double_eq_tol(m.base_pr_auc, 3.0 / 8, TOL);
    ck_assert_double_eq_tol(m.base_log_loss, -(3 * log(0.3) + 5 * log(0.7)) / 8, TOL);
    ck_assert_double_eq(m.base_roc_auc, 0.5);
    ck_assert_double_eq(m.base_balanced_accuracy, 0.5);
    /* Pairs: positives 0.2, 0.5, 0.7 beat 1, 3 and 4 of the negatives 0.1 .3 .4 .6 .8: 8/15. */
    ck_assert_double_eq_tol(m.roc_auc, 8.0 / 15, TOL);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *suite = suite_create("metrics");
    TCase *core = tcase_create("core");
    tcase_set_timeout(core, 60);
    tcase_add_test(core, test_hand_worked);
    tcase_add_test(core, test_hand_worked_ties);
    tcase_add_test(core, test_perfect_and_inverted);
    tcase_add_test(core, test_against_brute_force);
    suite_add_tcase(suite, core);

    TCase *limits = tcase_create("limits");
    tcase_set_timeout(limits, 60);
    tcase_add_test(limits, test_curve_thinning);
    tcase_add_test(limits, test_no_samples);
    tcase_add_test(limits, test_one_class);
    tcase_add_test(limits, test_threshold_and_clipping);
    tcase_add_test(limits, test_baseline_prior);
    suite_add_tcase(suite, limits);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(metrics_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
