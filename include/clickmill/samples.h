/* The samples of the purchase model: one per (session, product) with a cart event. */
#ifndef CLICKMILL_SAMPLES_H
#define CLICKMILL_SAMPLES_H

#include <mpi.h>
#include <stdint.h>

#include "clickmill/dictionary.h"
#include "clickmill/features.h"
#include "clickmill/plan.h"
#include "clickmill/scan.h"
#include "clickmill/shuffle.h"

/* This rank's samples, in (session, decision) order. */
typedef struct {
    size_t count, cap;
    double *x;              /* count * CM_NFEATURES, one row per sample */
    uint8_t *label;         /* 1: the product was bought in the session after the cart */
    uint8_t *test;          /* 1: in the test set (cm_samples_split) */
    int64_t *time;          /* the cart event's time */
    int64_t *product_id;    /* the carted product */
    cm_session_id *session; /* its session */
} cm_samples;

/* How samples divide into a training and a test set. */
typedef struct {
    int test_days;        /* test: samples of the last test_days calendar days (UTC) ... */
    double test_fraction; /* ... unless this is >= 0: sessions whose hash falls below it */
} cm_split;

/* Counts of the whole run, the same on every rank. */
typedef struct {
    int64_t events_without_session; /* accepted rows with an empty user_session */
    int64_t cart_sessions;          /* sessions with at least one cart event */
    int64_t session_events;         /* events of those sessions */
    int64_t samples, positives;     /* all ranks */
    int64_t first_time, last_time;  /* of all accepted events */
} cm_samples_stats;

/* Reads the plan (as analyze does), keeps the events of sessions with a cart, moves them to
 * their session's owner and extracts the samples and labels there.
 * Training (split given, fixed NULL): the dictionaries are built from the events of the
 * training side of the split only (so nothing about the test period shapes the ids) and
 * returned in vocab; each sample's test flag is set. Prediction (split NULL, fixed a model's
 * dictionaries): the ids are the model's; test flags are 0. Collective: every rank returns the
 * same code (0 or cm_scan's error, with the message in err). */
int cm_samples_build(MPI_Comm comm, const cm_plan *plan, const cm_scan_opts *scan_opts,
                     const cm_split *split, const cm_dictionary fixed[CM_NDICTS],
                     cm_vocabulary *vocab, cm_samples *samples, cm_scan_stats *scan_stats,
                     cm_samples_stats *stats, char *err, size_t err_size);

void cm_samples_free(cm_samples *samples);

/* The first second of the test period for a days split: midnight UTC test_days - 1 days
 * before the day of last_time. Local. */
int64_t cm_split_cutoff(const cm_split *split, int64_t last_time);

/* Whether an event or sample at `time` in `session` is on the test side. Local. */
int cm_split_is_test(const cm_split *split, int64_t cutoff, int64_t time,
                     const cm_session_id *session);

/* One sample as rank 0 collects it for writing. */
typedef struct {
    cm_session_id session;
    uint8_t label, test;
    int64_t time, product_id;
    double score;
    double x[CM_NFEATURES];
} cm_sample_row;

/* Gathers every rank's samples (with score[i] when scores is not NULL, else 0) to rank 0,
 * sorted by (time, session, product): the same order for every rank count. Rank 0 gets a
 * malloc'd array and its length; the others get NULL and 0. Collective. */
void cm_samples_gather(MPI_Comm comm, const cm_samples *samples, const double *scores,
                       cm_sample_row **rows, size_t *count);

/* Writes the rows as CSV (session, product, time, the features, label, set), under a temporary
 * name renamed when complete. Returns 0 or CM_EIO with the reason in err. Local. */
int cm_samples_write_csv(const char *path, const cm_sample_row *rows, size_t count, char *err,
                         size_t err_size);

#endif
