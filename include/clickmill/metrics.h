/* How well scores predict labels: the confusion matrix and the usual summaries. */
#ifndef CLICKMILL_METRICS_H
#define CLICKMILL_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t samples, positives;
    int64_t tp, fp, tn, fn; /* at the threshold: score >= threshold predicts a purchase */
    double threshold;
    double accuracy, balanced_accuracy, precision, recall, f1;
    double roc_auc; /* ties share their rank: the probability that a random positive scores
                       above a random negative, ties counting half */
    double pr_auc;  /* average precision: sum over positives of precision at its score */
    double log_loss;
    /* The majority-class baseline: predicts the training set's majority class for every
       sample, with the training set's purchase rate as its probability. */
    double base_accuracy, base_balanced_accuracy, base_precision, base_recall, base_f1;
    double base_log_loss, base_roc_auc, base_pr_auc;
} cm_metrics;

/* A curve as at most CM_CURVE_POINTS points (x, y), thinned evenly along the threshold. */
#define CM_CURVE_POINTS 201
typedef struct {
    int count;
    double x[CM_CURVE_POINTS], y[CM_CURVE_POINTS];
} cm_curve;

/* Computes the metrics of n scores against labels; prior is the training set's purchase rate.
 * Sorts a copy of the scores. roc receives (false positive rate, true positive rate) and pr
 * (recall, precision) when not NULL. Local. */
void cm_metrics_compute(const double *scores, const uint8_t *labels, size_t n, double threshold,
                        double prior, cm_metrics *m, cm_curve *roc, cm_curve *pr);

#endif
