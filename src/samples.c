/* From event files to model samples: scan, shuffle to session owners, features and labels. */
#include "clickmill/samples.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"
#include "clickmill/merge.h"
#include "clickmill/output.h"

#define DAY 86400

void cm_samples_free(cm_samples *samples)
{
    free(samples->x);
    free(samples->label);
    free(samples->test);
    free(samples->time);
    free(samples->product_id);
    free(samples->session);
    memset(samples, 0, sizeof *samples);
}

static size_t samples_add(cm_samples *samples)
{
    if (samples->count == samples->cap) {
        size_t cap = samples->cap ? samples->cap * 2 : 1024;
        samples->x = cm_xrealloc(samples->x, cap * CM_NFEATURES * sizeof *samples->x);
        samples->label = cm_xrealloc(samples->label, cap * sizeof *samples->label);
        samples->test = cm_xrealloc(samples->test, cap * sizeof *samples->test);
        samples->time = cm_xrealloc(samples->time, cap * sizeof *samples->time);
        samples->product_id = cm_xrealloc(samples->product_id, cap * sizeof *samples->product_id);
        samples->session = cm_xrealloc(samples->session, cap * sizeof *samples->session);
        samples->cap = cap;
    }
    size_t i = samples->count++;
    samples->label[i] = 0;
    samples->test[i] = 0;
    return i;
}

/* A sample of the current session waiting for its label. */
typedef struct {
    int64_t product_id;
    size_t event; /* index of the cart event in the session's run */
    size_t sample;
} pending;

static int by_product(const void *a, const void *b)
{
    const pending *x = a, *y = b;
    return x->product_id < y->product_id ? -1 : x->product_id > y->product_id;
}

/* Walks one session's events through the extractor, then labels each sample by the purchases
 * of its product that come after its cart event. */
static void extract_session(const cm_session_event *events, size_t count,
                            const cm_vocabulary *vocab, cm_features *state, pending **waiting,
                            size_t *waiting_cap, cm_samples *samples)
{
    cm_features_reset(state);
    size_t nwaiting = 0;
    for (size_t i = 0; i < count; i++) {
        const cm_session_event *record = &events[i];
        cm_feature_event event = {record->time,       record->type,
                                  record->product_id, record->price_cents,
                                  {0, 0, 0},          vocab->item_category_hash[record->item]};
        memcpy(event.ids, vocab->item_ids[record->item], sizeof event.ids);
        double x[CM_NFEATURES];
        if (!cm_features_step(state, &event, x))
            continue;
        size_t s = samples_add(samples);
        memcpy(samples->x + s * CM_NFEATURES, x, sizeof x);
        samples->time[s] = record->time;
        samples->product_id[s] = record->product_id;
        samples->session[s] = record->session;
        if (nwaiting == *waiting_cap) {
            *waiting_cap = *waiting_cap ? *waiting_cap * 2 : 16;
            *waiting = cm_xrealloc(*waiting, *waiting_cap * sizeof **waiting);
        }
        (*waiting)[nwaiting++] = (pending){record->product_id, i, s};
    }
    if (nwaiting == 0)
        return;
    /* One sample per product per session, so a purchase finds at most one sample. */
    qsort(*waiting, nwaiting, sizeof **waiting, by_product);
    for (size_t i = 0; i < count; i++) {
        if (events[i].type != CM_TYPE_PURCHASE)
            continue;
        pending key = {events[i].product_id, 0, 0};
        const pending *hit = bsearch(&key, *waiting, nwaiting, sizeof key, by_product);
        if (hit && hit->event < i)
            samples->label[hit->sample] = 1;
    }
}

int64_t cm_split_cutoff(const cm_split *split, int64_t last_time)
{
    return (cm_time_day(last_time) - (split->test_days - 1)) * DAY;
}

int cm_split_is_test(const cm_split *split, int64_t cutoff, int64_t time,
                     const cm_session_id *session)
{
    if (split->test_fraction >= 0) {
        uint64_t hash = cm_hash(session, sizeof *session);
        return (double)(hash >> 11) * (1.0 / 9007199254740992.0) < split->test_fraction;
    }
    return time >= cutoff;
}

int cm_samples_build(MPI_Comm comm, const cm_plan *plan, const cm_scan_opts *scan_opts,
                     const cm_split *split, const cm_dictionary fixed[CM_NDICTS],
                     cm_vocabulary *vocab, cm_samples *samples, cm_scan_stats *scan_stats,
                     cm_samples_stats *stats, char *err, size_t err_size)
{
    memset(samples, 0, sizeof *samples);
    memset(stats, 0, sizeof *stats);
    memset(vocab, 0, sizeof *vocab);
    cm_shuffle shuffle;
    cm_shuffle_init(&shuffle);
    int rc = cm_scan(comm, plan, scan_opts, cm_shuffle_sink, &shuffle, scan_stats, err, err_size);
    if (rc != 0) {
        cm_shuffle_free(&shuffle);
        return rc;
    }
    CM_MPI_CHECK(comm, MPI_Allreduce(&shuffle.without_session, &stats->events_without_session, 1,
                                     MPI_INT64_T, MPI_SUM, comm));
    CM_MPI_CHECK(
        comm, MPI_Allreduce(&shuffle.min_time, &stats->first_time, 1, MPI_INT64_T, MPI_MIN, comm));
    CM_MPI_CHECK(
        comm, MPI_Allreduce(&shuffle.max_time, &stats->last_time, 1, MPI_INT64_T, MPI_MAX, comm));

    /* Training: the dictionaries count only the events on the training side of the split. */
    /* With no accepted row there is no last day (and no sample either). */
    int64_t cutoff =
        split && stats->last_time != INT64_MIN ? cm_split_cutoff(split, stats->last_time) : 0;
    int64_t *counts = NULL;
    if (split) {
        counts = cm_xcalloc(shuffle.items.count ? shuffle.items.count : 1, sizeof *counts);
        for (size_t i = 0; i < shuffle.count; i++) {
            const cm_session_event *record = &shuffle.events[i];
            if (!cm_split_is_test(split, cutoff, record->time, &record->session))
                counts[record->item]++;
        }
    }
    uint32_t *item_map;
    cm_vocabulary_build(comm, &shuffle.items, counts, fixed, vocab, &item_map);
    free(counts);
    cm_shuffle_finish(comm, &shuffle, item_map);
    free(item_map);
    stats->cart_sessions = shuffle.cart_sessions;
    stats->session_events = shuffle.kept_events;

    cm_features state;
    cm_features_init(&state);
    pending *waiting = NULL;
    size_t waiting_cap = 0;
    for (size_t start = 0; start < shuffle.count;) {
        size_t end = start + 1;
        while (end < shuffle.count && cm_session_id_compare(&shuffle.events[end].session,
                                                            &shuffle.events[start].session) == 0)
            end++;
        extract_session(shuffle.events + start, end - start, vocab, &state, &waiting, &waiting_cap,
                        samples);
        start = end;
    }
    free(waiting);
    cm_features_free(&state);
    cm_shuffle_free(&shuffle);
    if (split)
        for (size_t i = 0; i < samples->count; i++)
            samples->test[i] =
                (uint8_t)cm_split_is_test(split, cutoff, samples->time[i], &samples->session[i]);

    int64_t local[2] = {(int64_t)samples->count, 0};
    for (size_t i = 0; i < samples->count; i++)
        local[1] += samples->label[i];
    int64_t global[2];
    CM_MPI_CHECK(comm, MPI_Allreduce(local, global, 2, MPI_INT64_T, MPI_SUM, comm));
    stats->samples = global[0];
    stats->positives = global[1];
    return 0;
}

static int compare_rows(const void *a, const void *b)
{
    const cm_sample_row *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    int c = cm_session_id_compare(&x->session, &y->session);
    if (c)
        return c;
    return x->product_id < y->product_id ? -1 : x->product_id > y->product_id;
}

void cm_samples_gather(MPI_Comm comm, const cm_samples *samples, const double *scores,
                       cm_sample_row **rows, size_t *count)
{
    int rank, nranks;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    cm_buffer mine = {0};
    for (size_t i = 0; i < samples->count; i++) {
        cm_sample_row row;
        memset(&row, 0, sizeof row);
        row.session = samples->session[i];
        row.label = samples->label[i];
        row.test = samples->test[i];
        row.time = samples->time[i];
        row.product_id = samples->product_id[i];
        row.score = scores ? scores[i] : 0.0;
        memcpy(row.x, samples->x + i * CM_NFEATURES, sizeof row.x);
        cm_buffer_append(&mine, &row, sizeof row);
    }
    *rows = NULL;
    *count = 0;
    if (rank != 0) {
        cm_send_bytes(comm, 0, mine.data, mine.len);
        cm_buffer_free(&mine);
        return;
    }
    cm_buffer part = {0};
    for (int r = 1; r < nranks; r++) {
        cm_recv_bytes(comm, r, &part);
        cm_buffer_append(&mine, part.data, part.len);
    }
    cm_buffer_free(&part);
    *count = mine.len / sizeof(cm_sample_row);
    *rows = (cm_sample_row *)(void *)mine.data; /* the buffer's bytes become the array */
    if (*count)
        qsort(*rows, *count, sizeof **rows, compare_rows);
}

int cm_samples_write_csv(const char *path, const cm_sample_row *rows, size_t count, char *err,
                         size_t err_size)
{
    char temporary[4200];
    FILE *out = cm_output_open(path, temporary, sizeof temporary, err, err_size);
    if (!out)
        return CM_EIO;
    fputs("user_session,product_id,event_time", out);
    for (int f = 0; f < CM_NFEATURES; f++)
        fprintf(out, ",%s", cm_feature_defs[f].name);
    fputs(",label,set\n", out);
    cm_buffer line = {0};
    for (size_t r = 0; r < count; r++) {
        char session[40], time[24], number[32];
        cm_session_id_format(&rows[r].session, session);
        cm_time_format(rows[r].time, time);
        line.len = 0;
        cm_csv_field(&line, session, strlen(session));
        fwrite(line.data, 1, line.len, out);
        fprintf(out, ",%lld,%s", (long long)rows[r].product_id, time);
        for (int f = 0; f < CM_NFEATURES; f++) {
            cm_format_double(rows[r].x[f], number);
            fprintf(out, ",%s", number);
        }
        fprintf(out, ",%d,%s\n", rows[r].label, rows[r].test ? "test" : "train");
    }
    cm_buffer_free(&line);
    return cm_output_commit(out, temporary, path, err, err_size);
}
