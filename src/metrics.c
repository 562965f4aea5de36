/* Classification metrics from scores and labels. */
#include "clickmill/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"

typedef struct {
    double score;
    uint8_t label;
} scored;

static int by_score_descending(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (int)y->label - (int)x->label;
}

static double ratio(double num, double den)
{
    return den > 0 ? num / den : 0.0;
}

static double clipped_log(double p)
{
    const double eps = 1e-15;
    return log(p < eps ? eps : p > 1 - eps ? 1 - eps : p);
}

static void curve_add(cm_curve *curve, double x, double y)
{
    if (curve && curve->count < CM_CURVE_POINTS) {
        curve->x[curve->count] = x;
        curve->y[curve->count] = y;
        curve->count++;
    }
}

void cm_metrics_compute(const double *scores, const uint8_t *labels, size_t n, double threshold,
                        double prior, cm_metrics *m, cm_curve *roc, cm_curve *pr)
{
    memset(m, 0, sizeof *m);
    if (roc)
        roc->count = 0;
    if (pr)
        pr->count = 0;
    m->samples = (int64_t)n;
    m->threshold = threshold;
    double loss = 0, base_loss = 0;
    for (size_t i = 0; i < n; i++) {
        int predicted = scores[i] >= threshold;
        m->positives += labels[i];
        if (labels[i])
            predicted ? m->tp++ : m->fn++;
        else
            predicted ? m->fp++ : m->tn++;
        loss -= labels[i] ? clipped_log(scores[i]) : clipped_log(1 - scores[i]);
        base_loss -= labels[i] ? clipped_log(prior) : clipped_log(1 - prior);
    }
    int64_t negatives = m->samples - m->positives;
    m->accuracy = ratio((double)(m->tp + m->tn), (double)n);
    double tpr = ratio((double)m->tp, (double)m->positives);
    double tnr = ratio((double)m->tn, (double)negatives);
    m->balanced_accuracy = (tpr + tnr) / 2;
    m->precision = ratio((double)m->tp, (double)(m->tp + m->fp));
    m->recall = tpr;
    m->f1 = ratio(2.0 * m->precision * m->recall, m->precision + m->recall);
    m->log_loss = ratio(loss, (double)n);
    m->base_log_loss = ratio(base_loss, (double)n);
    int majority_buys = prior >= 0.5;
    m->base_accuracy = ratio((double)(majority_buys ? m->positives : negatives), (double)n);
    m->base_balanced_accuracy = 0.5;
    if (majority_buys) { /* every sample predicted bought */
        m->base_precision = ratio((double)m->positives, (double)n);
        m->base_recall = m->positives ? 1.0 : 0.0;
        m->base_f1 =
            ratio(2.0 * m->base_precision * m->base_recall, m->base_precision + m->base_recall);
    }
    m->base_roc_auc = 0.5;
    m->base_pr_auc = ratio((double)m->positives, (double)n);

    /* Walk the scores from the highest down, one group of equal scores at a time. */
    scored *order = cm_xmalloc((n ? n : 1) * sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = (scored){scores[i], labels[i]};
    qsort(order, n, sizeof *order, by_score_descending);
    double tp = 0, fp = 0, auc = 0, ap = 0;
    size_t groups = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && order[j].score == order[i].score)
            j++;
        groups++;
        i = j;
    }
    size_t step = groups / (CM_CURVE_POINTS - 2) + 1, group = 0;
    curve_add(roc, 0, 0);
    for (size_t i = 0; i < n;) {
        double group_tp = 0, group_fp = 0;
        size_t j = i;
        while (j < n && order[j].score == order[i].score) {
            order[j].label ? group_tp++ : group_fp++;
            j++;
        }
        /* Each negative of the group is outranked by every positive before the group, and ties
           with the positives in it (half a pair each). */
        auc += group_fp * (tp + group_tp / 2);
        tp += group_tp;
        fp += group_fp;
        ap += group_tp * ratio(tp, tp + fp);
        group++;
        if (group % step == 0 || j == n) {
            curve_add(roc, ratio(fp, (double)negatives), ratio(tp, (double)m->positives));
            curve_add(pr, ratio(tp, (double)m->positives), ratio(tp, tp + fp));
        }
        i = j;
    }
    free(order);
    m->roc_auc = m->positives && negatives ? auc / ((double)m->positives * (double)negatives) : 0.5;
    m->pr_auc = ratio(ap, (double)m->positives);
}
