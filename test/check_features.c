/* Unit tests of the feature extractor (a hand-worked session, no leak from later events, a
 * brute-force recount) and of the compact session ids. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clickmill/event.h"
#include "clickmill/features.h"
#include "clickmill/shuffle.h"

/* splitmix64, for reproducible random sessions. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* 2019-10-01 10:00:00 UTC, a Tuesday. */
#define T0 ((int64_t)1569888000 + 10 * 3600)

/* Distinct categories by their text's hash: here a function of the test's category id. */
static uint64_t category_hash(uint32_t category)
{
    return ((uint64_t)category + 1) * 0x9E3779B97F4A7C15ULL;
}

static cm_feature_event ev(int64_t time, int type, int64_t product, int64_t cents,
                           uint32_t category, uint32_t product_type, uint32_t brand)
{
    return (cm_feature_event){.time = time,
                              .type = type,
                              .product_id = product,
                              .price_cents = cents,
                              .ids = {category, product_type, brand},
                              .category_hash = category_hash(category)};
}

/* One emitted sample: the event that decided it and its features. */
typedef struct {
    size_t at;
    double x[CM_NFEATURES];
} sample;

/* Feeds events to a state and records the samples; returns how many. */
static size_t run(cm_features *state, const cm_feature_event *events, size_t n, sample *out)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        double x[CM_NFEATURES];
        for (int f = 0; f < CM_NFEATURES; f++)
            x[f] = -12345.0; /* must be left alone when there is no sample */
        int decided = cm_features_step(state, &events[i], x);
        if (decided == 1) {
            out[count].at = i;
            memcpy(out[count].x, x, sizeof x);
            count++;
            continue;
        }
        /* Checked without an assertion per value: each passing assertion costs a write. */
        if (decided != 0)
            ck_abort_msg("event %zu: step returned %d", i, decided);
        for (int f = 0; f < CM_NFEATURES; f++)
            if (x[f] != -12345.0)
                ck_abort_msg("event %zu is no sample but wrote feature %d", i, f);
    }
    return count;
}

static size_t run_fresh(const cm_feature_event *events, size_t n, sample *out)
{
    cm_features state;
    cm_features_init(&state);
    size_t count = run(&state, events, n, out);
    cm_features_free(&state);
    return count;
}

static void assert_samples_equal(const sample *a, const sample *b, size_t count)
{
    for (size_t s = 0; s < count; s++) {
        if (a[s].at != b[s].at)
            ck_abort_msg("sample %zu: at event %zu vs %zu", s, a[s].at, b[s].at);
        for (int f = 0; f < CM_NFEATURES; f++)
            if (memcmp(&a[s].x[f], &b[s].x[f], sizeof(double)) != 0)
                ck_abort_msg("sample %zu feature %s: %.17g vs %.17g", s, cm_feature_defs[f].name,
                             a[s].x[f], b[s].x[f]);
    }
}

/* The features of event i recounted from scratch over events 0 .. i-1, the O(n^2) way, with
 * libc's gmtime for the calendar. Returns 0 when event i is not a sample. */
static int reference(const cm_feature_event *events, size_t i, double x[CM_NFEATURES])
{
    const cm_feature_event *e = &events[i];
    if (e->type != CM_TYPE_CART)
        return 0;
    for (size_t j = 0; j < i; j++)
        if (events[j].type == CM_TYPE_CART && events[j].product_id == e->product_id)
            return 0;
    time_t t = (time_t)e->time;
    struct tm tm;
    gmtime_r(&t, &tm);
    int64_t views = 0, carts = 0, purchases = 0, product_views = 0, cents = 0;
    int64_t products = 0, categories = 0;
    for (size_t j = 0; j < i; j++) {
        const cm_feature_event *p = &events[j];
        carts += p->type == CM_TYPE_CART;
        purchases += p->type == CM_TYPE_PURCHASE;
        if (p->type != CM_TYPE_VIEW)
            continue;
        views++;
        cents += p->price_cents;
        product_views += p->product_id == e->product_id;
        int new_product = 1, new_category = 1;
        for (size_t k = 0; k < j; k++) {
            if (events[k].type != CM_TYPE_VIEW)
                continue;
            if (events[k].product_id == p->product_id)
                new_product = 0;
            if (events[k].ids[0] == p->ids[0])
                new_category = 0;
        }
        products += new_product;
        categories += new_category;
    }
    x[CM_F_PRICE] = (double)e->price_cents / 100.0;
    x[CM_F_CATEGORY] = e->ids[0];
    x[CM_F_PRODUCT] = e->ids[1];
    x[CM_F_BRAND] = e->ids[2];
    x[CM_F_HOUR] = tm.tm_hour;
    x[CM_F_WEEKDAY] = (tm.tm_wday + 6) % 7;
    x[CM_F_EVENTS_BEFORE] = (double)i;
    x[CM_F_VIEWS_BEFORE] = (double)views;
    x[CM_F_PRODUCTS_VIEWED] = (double)products;
    x[CM_F_CATEGORIES_VIEWED] = (double)categories;
    x[CM_F_VIEWS_OF_PRODUCT] = (double)product_views;
    x[CM_F_CARTS_BEFORE] = (double)carts;
    x[CM_F_PURCHASES_BEFORE] = (double)purchases;
    x[CM_F_SECONDS_IN_SESSION] = i ? (double)(e->time - events[0].time) : 0.0;
    x[CM_F_SECONDS_SINCE_LAST] = i ? (double)(e->time - events[i - 1].time) : -1.0;
    x[CM_F_PRICE_VS_VIEWED] =
        views && cents > 0 ? ((double)e->price_cents / 100.0) / ((double)cents / 100.0 / views)
                           : 0.0;
    return 1;
}

/* A random session: a few products with their own prices and categories, increasing times
 * (equal seconds allowed), every event type. */
static void random_session(cm_feature_event *events, size_t n, uint64_t *seed, int64_t start)
{
    int64_t time = start;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rng_next(seed);
        int64_t product = 1000 + (int64_t)(r % 9);
        int type = (int)((r >> 8) % 10);
        type = type < 6   ? CM_TYPE_VIEW
               : type < 8 ? CM_TYPE_CART
               : type < 9 ? CM_TYPE_PURCHASE
                          : CM_TYPE_OTHER;
        int64_t cents = product == 1004 ? 0 : (product * 7919) % 50000;
        time += (int64_t)((r >> 16) % 4 == 0 ? 0 : (r >> 24) % 900);
        events[i] = ev(time, type, product, cents, (uint32_t)(product % 4), (uint32_t)(product % 6),
                       (uint32_t)(product % 5));
    }
}

static void assert_features(const double *x, const double *want)
{
    for (int f = 0; f < CM_NFEATURES; f++)
        if (!(fabs(x[f] - want[f]) <= 1e-12 * (1 + fabs(want[f]))))
            ck_abort_msg("feature %s: %.17g, expected %.17g", cm_feature_defs[f].name, x[f],
                         want[f]);
}

/* ---- features: core ---- */

/* The session worked by hand. ids are {category, product type, brand}. */
static const cm_feature_event hand_session[] = {
    /* e0 10:00:00 */ {T0 + 0, CM_TYPE_VIEW, 101, 1000, {5, 7, 9}},
    /* e1 10:00:30 */ {T0 + 30, CM_TYPE_VIEW, 102, 2000, {5, 8, 9}},
    /* e2 10:01:30 */ {T0 + 90, CM_TYPE_VIEW, 101, 1000, {5, 7, 9}},
    /* e3 10:02:30 */ {T0 + 150, CM_TYPE_VIEW, 103, 6000, {6, 10, 11}},
    /* e4 10:03:20: first cart of 101, sample A */ {T0 + 200, CM_TYPE_CART, 101, 1000, {5, 7, 9}},
    /* e5 10:04:20 */ {T0 + 260, CM_TYPE_PURCHASE, 101, 1000, {5, 7, 9}},
    /* e6 10:05:00: 101 again, not a sample */ {T0 + 300, CM_TYPE_CART, 101, 1000, {5, 7, 9}},
    /* e7 10:05:20 remove_from_cart */ {T0 + 320, CM_TYPE_OTHER, 101, 1000, {5, 7, 9}},
    /* e8 11:01:40 */ {T0 + 3700, CM_TYPE_VIEW, 104, 3000, {7, 12, 13}},
    /* e9 11:02:40: first cart of 102, sample B */ {T0 + 3760, CM_TYPE_CART, 102, 2000, {5, 8, 9}},
    /* e10 11:02:40: 105, never viewed, sample C */
    {T0 + 3760, CM_TYPE_CART, 105, 500, {6, 14, 15}},
};
enum { HAND_N = sizeof hand_session / sizeof hand_session[0] };

/* The hand session with each event's category hash filled in from its category id. */
static const cm_feature_event *hand_events(void)
{
    static cm_feature_event events[HAND_N];
    for (int i = 0; i < HAND_N; i++) {
        events[i] = hand_session[i];
        events[i].category_hash = category_hash(events[i].ids[0]);
    }
    return events;
}

START_TEST(test_hand_worked_session)
{
    sample got[HAND_N];
    size_t count = run_fresh(hand_events(), HAND_N, got);
    ck_assert_uint_eq(count, 3);
    ck_assert_uint_eq(got[0].at, 4);
    ck_assert_uint_eq(got[1].at, 9);
    ck_assert_uint_eq(got[2].at, 10);

    /* A at e4: 4 events before, all views (101, 102, 101, 103): 3 products, categories {5, 6},
       101 viewed twice; no carts or purchases yet; 200 s since e0, 50 s since e3; the views
       cost 10 + 20 + 10 + 60 = 100, a mean of 25, and 10 / 25 = 0.4. Tuesday, hour 10. */
    const double a[CM_NFEATURES] = {
        [CM_F_PRICE] = 10.0,
        [CM_F_CATEGORY] = 5,
        [CM_F_PRODUCT] = 7,
        [CM_F_BRAND] = 9,
        [CM_F_HOUR] = 10,
        [CM_F_WEEKDAY] = 1,
        [CM_F_EVENTS_BEFORE] = 4,
        [CM_F_VIEWS_BEFORE] = 4,
        [CM_F_PRODUCTS_VIEWED] = 3,
        [CM_F_CATEGORIES_VIEWED] = 2,
        [CM_F_VIEWS_OF_PRODUCT] = 2,
        [CM_F_CARTS_BEFORE] = 0,
        [CM_F_PURCHASES_BEFORE] = 0,
        [CM_F_SECONDS_IN_SESSION] = 200,
        [CM_F_SECONDS_SINCE_LAST] = 50,
        [CM_F_PRICE_VS_VIEWED] = 0.4,
    };
    /* B at e9: 9 events before; views e0-e3 and e8: 5, products {101, 102, 103, 104},
       categories {5, 6, 7}; 102 viewed once (e1); carts e4 and e6, purchase e5; 3760 s since
       e0, 60 s since e8; views cost 100 + 30 = 130, mean 26, and 20 / 26 = 10 / 13. 11:02:40. */
    const double b[CM_NFEATURES] = {
        [CM_F_PRICE] = 20.0,
        [CM_F_CATEGORY] = 5,
        [CM_F_PRODUCT] = 8,
        [CM_F_BRAND] = 9,
        [CM_F_HOUR] = 11,
        [CM_F_WEEKDAY] = 1,
        [CM_F_EVENTS_BEFORE] = 9,
        [CM_F_VIEWS_BEFORE] = 5,
        [CM_F_PRODUCTS_VIEWED] = 4,
        [CM_F_CATEGORIES_VIEWED] = 3,
        [CM_F_VIEWS_OF_PRODUCT] = 1,
        [CM_F_CARTS_BEFORE] = 2,
        [CM_F_PURCHASES_BEFORE] = 1,
        [CM_F_SECONDS_IN_SESSION] = 3760,
        [CM_F_SECONDS_SINCE_LAST] = 60,
        [CM_F_PRICE_VS_VIEWED] = 10.0 / 13.0,
    };
    /* C at e10, the same second as e9: 10 events before, the same views, 105 never viewed,
       carts e4, e6 and e9, 0 s since e9; 5 / 26. */
    const double c[CM_NFEATURES] = {
        [CM_F_PRICE] = 5.0,
        [CM_F_CATEGORY] = 6,
        [CM_F_PRODUCT] = 14,
        [CM_F_BRAND] = 15,
        [CM_F_HOUR] = 11,
        [CM_F_WEEKDAY] = 1,
        [CM_F_EVENTS_BEFORE] = 10,
        [CM_F_VIEWS_BEFORE] = 5,
        [CM_F_PRODUCTS_VIEWED] = 4,
        [CM_F_CATEGORIES_VIEWED] = 3,
        [CM_F_VIEWS_OF_PRODUCT] = 0,
        [CM_F_CARTS_BEFORE] = 3,
        [CM_F_PURCHASES_BEFORE] = 1,
        [CM_F_SECONDS_IN_SESSION] = 3760,
        [CM_F_SECONDS_SINCE_LAST] = 0,
        [CM_F_PRICE_VS_VIEWED] = 5.0 / 26.0,
    };
    assert_features(got[0].x, a);
    assert_features(got[1].x, b);
    assert_features(got[2].x, c);

    /* The brute-force recount agrees on the same session. */
    double x[CM_NFEATURES];
    for (size_t i = 0, s = 0; i < HAND_N; i++) {
        if (!reference(hand_session, i, x))
            continue;
        ck_assert_uint_eq(got[s].at, i);
        assert_features(got[s].x, x);
        s++;
    }
}
END_TEST

START_TEST(test_feature_defs)
{
    /* Every feature has a distinct name and a description; the three dictionary ids are the
       categorical ones. */
    for (int f = 0; f < CM_NFEATURES; f++) {
        ck_assert_ptr_nonnull(cm_feature_defs[f].name);
        ck_assert_ptr_nonnull(cm_feature_defs[f].description);
        ck_assert_int_eq(cm_feature_defs[f].categorical,
                         f == CM_F_CATEGORY || f == CM_F_PRODUCT || f == CM_F_BRAND);
        for (int g = 0; g < f; g++)
            ck_assert_str_ne(cm_feature_defs[f].name, cm_feature_defs[g].name);
    }
    ck_assert_str_eq(cm_feature_defs[CM_F_PRICE].name, "price");
    ck_assert_str_eq(cm_feature_defs[CM_F_PRICE_VS_VIEWED].name, "price_vs_viewed");
}
END_TEST

START_TEST(test_against_brute_force)
{
    enum { N = 120 };
    cm_feature_event events[N];
    sample got[N];
    double x[CM_NFEATURES];
    uint64_t seed = 2019;
    size_t total = 0;
    for (int session = 0; session < 200; session++) {
        size_t n = 1 + rng_next(&seed) % N;
        random_session(events, n, &seed, T0 + session * 40000);
        size_t count = run_fresh(events, n, got), s = 0;
        for (size_t i = 0; i < n; i++) {
            if (!reference(events, i, x))
                continue;
            ck_assert_msg(s < count, "session %d: event %zu is not a sample", session, i);
            ck_assert_uint_eq(got[s].at, i);
            assert_features(got[s].x, x);
            s++;
        }
        ck_assert_uint_eq(count, s);
        total += count;
    }
    ck_assert_uint_gt(total, 500); /* the sessions did have samples */
}
END_TEST

START_TEST(test_no_leak_from_later_events)
{
    enum { N = 80 };
    cm_feature_event events[N], altered[N + 40];
    sample full[N], part[N + 40];
    uint64_t seed = 46;
    for (int session = 0; session < 30; session++) {
        random_session(events, N, &seed, T0);
        size_t count = run_fresh(events, N, full);
        ck_assert_uint_gt(count, 0);
        /* Every prefix: exactly the samples of the full session decided within it. */
        for (size_t k = 0; k <= N; k++) {
            size_t within = 0;
            while (within < count && full[within].at < k)
                within++;
            ck_assert_uint_eq(run_fresh(events, k, part), within);
            assert_samples_equal(part, full, within);
        }
        /* After each decision point, change, add or remove events: the samples up to and
           including that point do not move. */
        for (size_t s = 0; s < count; s++) {
            size_t d = full[s].at;
            for (int variant = 0; variant < 3; variant++) {
                memcpy(altered, events, (d + 1) * sizeof *events);
                size_t n = d + 1;
                if (variant == 0) { /* another future of random events */
                    size_t extra = rng_next(&seed) % 40;
                    random_session(altered + n, extra, &seed, events[d].time);
                    n += extra;
                } else if (variant == 1) { /* the same future with each event altered */
                    for (size_t i = d + 1; i < N; i++) {
                        altered[n] = events[i];
                        altered[n].type = (altered[n].type + 1) % 4;
                        altered[n].price_cents += 999;
                        altered[n].ids[0] += 3;
                        altered[n].category_hash = category_hash(altered[n].ids[0]);
                        n++;
                    }
                } else { /* the future with every other event removed */
                    for (size_t i = d + 1; i < N; i += 2)
                        altered[n++] = events[i];
                }
                size_t got = run_fresh(altered, n, part);
                ck_assert_uint_ge(got, s + 1);
                assert_samples_equal(part, full, s + 1);
            }
        }
    }
}
END_TEST

START_TEST(test_reset_equals_fresh)
{
    enum { N = 60 };
    cm_feature_event a[N], b[N];
    sample fresh[N], reused[N];
    uint64_t seed = 7;
    cm_features state;
    cm_features_init(&state);
    for (int session = 0; session < 50; session++) {
        random_session(a, N, &seed, T0);
        random_session(b, N, &seed, T0 + 86400);
        run(&state, a, N, reused);
        cm_features_reset(&state);
        ck_assert_int_eq(state.events, 0);
        ck_assert_uint_eq(state.products_viewed, 0);
        ck_assert_uint_eq(state.categories_viewed, 0);
        size_t count = run(&state, b, N, reused);
        ck_assert_uint_eq(run_fresh(b, N, fresh), count);
        assert_samples_equal(reused, fresh, count);
        cm_features_reset(&state);
    }
    cm_features_free(&state);
    ck_assert_ptr_null(state.products);
    ck_assert_ptr_null(state.categories);
}
END_TEST

/* ---- features: limits ---- */

START_TEST(test_many_products)
{
    /* 1500 distinct products in 700 categories, ids far apart and some negative, then the
       first 300 viewed again: the open-addressing tables grow several times. */
    enum { PRODUCTS = 1500, CATEGORIES = 700, AGAIN = 300 };
    static cm_feature_event events[PRODUCTS + AGAIN + 3];
    size_t n = 0;
    for (int p = 0; p < PRODUCTS + AGAIN; p++) {
        int id = p % PRODUCTS;
        int64_t product = (id % 2 ? -1 : 1) * ((int64_t)id * 1000003 + 17);
        events[n] = ev(T0 + p, CM_TYPE_VIEW, product, 100, (uint32_t)(id % CATEGORIES), 1, 1);
        n++;
    }
    /* Product 5 (viewed twice), an unseen one, and product 5 again (not a sample). */
    events[n++] = ev(T0 + 5000, CM_TYPE_CART, -(5 * 1000003LL + 17), 300, 5, 1, 1);
    events[n++] = ev(T0 + 5001, CM_TYPE_CART, 42, 50, 9999, 1, 1);
    events[n++] = ev(T0 + 5002, CM_TYPE_CART, -(5 * 1000003LL + 17), 300, 5, 1, 1);

    cm_features state;
    cm_features_init(&state);
    for (int round = 0; round < 2; round++) { /* the second time after a reset */
        sample got[3];
        ck_assert_uint_eq(run(&state, events, n, got), 2);
        ck_assert_double_eq(got[0].x[CM_F_EVENTS_BEFORE], PRODUCTS + AGAIN);
        ck_assert_double_eq(got[0].x[CM_F_VIEWS_BEFORE], PRODUCTS + AGAIN);
        ck_assert_double_eq(got[0].x[CM_F_PRODUCTS_VIEWED], PRODUCTS);
        ck_assert_double_eq(got[0].x[CM_F_CATEGORIES_VIEWED], CATEGORIES);
        ck_assert_double_eq(got[0].x[CM_F_VIEWS_OF_PRODUCT], 2);
        ck_assert_double_eq(got[0].x[CM_F_PRICE_VS_VIEWED], 3.0); /* 3.00 / 1.00 */
        ck_assert_double_eq(got[1].x[CM_F_PRODUCTS_VIEWED], PRODUCTS);
        ck_assert_double_eq(got[1].x[CM_F_VIEWS_OF_PRODUCT], 0);
        ck_assert_double_eq(got[1].x[CM_F_CARTS_BEFORE], 1);
        ck_assert_uint_ge(state.products_cap, 2 * (PRODUCTS + 2));
        cm_features_reset(&state);
    }
    cm_features_free(&state);
}
END_TEST

START_TEST(test_first_event_cart_and_free_views)
{
    /* A cart as the session's first event: nothing before, no previous event (-1), no views
       (ratio 0). Sunday 2019-10-06 23:59:50. */
    int64_t sunday = (int64_t)1569888000 + 5 * 86400 + 86390;
    cm_feature_event events[] = {
        ev(sunday, CM_TYPE_CART, 1, 12345, 3, 4, 5),
        /* Free views only: the mean viewed price is 0, so the ratio is 0. */
        ev(sunday + 5, CM_TYPE_VIEW, 2, 0, 3, 4, 5),
        ev(sunday + 20, CM_TYPE_VIEW, 3, 0, 3, 4, 5),
        /* Monday 00:00:10, after midnight. */
        ev(sunday + 20, CM_TYPE_CART, 2, 700, 3, 4, 5),
        /* Unknown type: counts as an event, nothing else. */
        ev(sunday + 30, 7, 9, 100, 3, 4, 5),
        ev(sunday + 31, CM_TYPE_CART, 9, 0, 3, 4, 5),
    };
    sample got[6];
    ck_assert_uint_eq(run_fresh(events, 6, got), 3);
    const double first[CM_NFEATURES] = {
        [CM_F_PRICE] = 123.45,
        [CM_F_CATEGORY] = 3,
        [CM_F_PRODUCT] = 4,
        [CM_F_BRAND] = 5,
        [CM_F_HOUR] = 23,
        [CM_F_WEEKDAY] = 6,
        [CM_F_SECONDS_SINCE_LAST] = -1,
    };
    assert_features(got[0].x, first);
    const double second[CM_NFEATURES] = {
        [CM_F_PRICE] = 7.0,
        [CM_F_CATEGORY] = 3,
        [CM_F_PRODUCT] = 4,
        [CM_F_BRAND] = 5,
        [CM_F_HOUR] = 0,
        [CM_F_WEEKDAY] = 0,
        [CM_F_EVENTS_BEFORE] = 3,
        [CM_F_VIEWS_BEFORE] = 2,
        [CM_F_PRODUCTS_VIEWED] = 2,
        [CM_F_CATEGORIES_VIEWED] = 1,
        [CM_F_VIEWS_OF_PRODUCT] = 1,
        [CM_F_CARTS_BEFORE] = 1,
        [CM_F_SECONDS_IN_SESSION] = 20,
        [CM_F_SECONDS_SINCE_LAST] = 0,
    };
    assert_features(got[1].x, second);
    ck_assert_uint_eq(got[2].at, 5);
    ck_assert_double_eq(got[2].x[CM_F_EVENTS_BEFORE], 5);
    ck_assert_double_eq(got[2].x[CM_F_VIEWS_BEFORE], 2);
    ck_assert_double_eq(got[2].x[CM_F_CARTS_BEFORE], 2);
    ck_assert_double_eq(got[2].x[CM_F_PURCHASES_BEFORE], 0);
    ck_assert_double_eq(got[2].x[CM_F_SECONDS_SINCE_LAST], 1);
    ck_assert_double_eq(got[2].x[CM_F_PRICE], 0);
    ck_assert_double_eq(got[2].x[CM_F_PRICE_VS_VIEWED], 0);
}
END_TEST

START_TEST(test_purchase_without_cart)
{
    /* A purchase is never a sample, and a purchase before the cart does not stop the cart
       from being the first cart of its product. */
    cm_feature_event events[] = {
        ev(T0, CM_TYPE_PURCHASE, 8, 100, 1, 1, 1),
        ev(T0 + 1, CM_TYPE_OTHER, 8, 100, 1, 1, 1),
        ev(T0 + 2, CM_TYPE_CART, 8, 100, 1, 1, 1),
    };
    sample got[3];
    ck_assert_uint_eq(run_fresh(events, 3, got), 1);
    ck_assert_uint_eq(got[0].at, 2);
    ck_assert_double_eq(got[0].x[CM_F_PURCHASES_BEFORE], 1);
    ck_assert_double_eq(got[0].x[CM_F_VIEWS_OF_PRODUCT], 0);
    ck_assert_double_eq(got[0].x[CM_F_PRODUCTS_VIEWED], 0);
    ck_assert_double_eq(got[0].x[CM_F_SECONDS_IN_SESSION], 2);
}
END_TEST

START_TEST(test_unseen_categories_stay_distinct)
{
    /* Three categories the model never saw share the "unseen" id 40, but they are three
       categories: counted by their text's hash, not by the id. */
    cm_feature_event events[] = {
        ev(T0, CM_TYPE_VIEW, 1, 100, 40, 1, 1),     ev(T0 + 1, CM_TYPE_VIEW, 2, 100, 40, 1, 1),
        ev(T0 + 2, CM_TYPE_VIEW, 3, 100, 40, 1, 1), ev(T0 + 3, CM_TYPE_VIEW, 4, 100, 40, 1, 1),
        ev(T0 + 4, CM_TYPE_CART, 4, 100, 40, 1, 1),
    };
    events[0].category_hash = 111;
    events[1].category_hash = 222;
    events[2].category_hash = 333;
    events[3].category_hash = 222;
    sample got[1];
    ck_assert_uint_eq(run_fresh(events, 5, got), 1);
    ck_assert_double_eq(got[0].x[CM_F_CATEGORIES_VIEWED], 3);
    ck_assert_double_eq(got[0].x[CM_F_PRODUCTS_VIEWED], 4);
}
END_TEST

/* ---- session ids ---- */

static cm_session_id make_id(const char *text)
{
    cm_session_id id;
    cm_session_id_make(&id, text, strlen(text));
    return id;
}

static void assert_formats(const cm_session_id *id, const char *expected)
{
    char out[40];
    cm_session_id_format(id, out);
    ck_assert_str_eq(out, expected);
}

static int is_hash_text(const char *text)
{
    if (strlen(text) != 37 || strncmp(text, "hash:", 5) != 0)
        return 0;
    for (int i = 5; i < 37; i++)
        if (!((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')))
            return 0;
    return 1;
}

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

START_TEST(test_session_uuid)
{
    const char *uuid = "b37abd25-7672-4dd7-a098-40e50e314388";
    cm_session_id id = make_id(uuid);
    ck_assert_int_eq(id.kind, CM_SESSION_UUID);
    static const unsigned char bytes[16] = {0xb3, 0x7a, 0xbd, 0x25, 0x76, 0x72, 0x4d, 0xd7,
                                            0xa0, 0x98, 0x40, 0xe5, 0x0e, 0x31, 0x43, 0x88};
    ck_assert_int_eq(memcmp(id.bytes, bytes, 16), 0);
    assert_formats(&id, uuid);
    cm_session_id same = make_id(uuid);
    ck_assert_int_eq(cm_session_id_compare(&id, &same), 0);
    cm_session_id zero = make_id("00000000-0000-0000-0000-000000000000");
    cm_session_id ones = make_id("ffffffff-ffff-ffff-ffff-ffffffffffff");
    ck_assert_int_eq(zero.kind, CM_SESSION_UUID);
    ck_assert_int_eq(ones.kind, CM_SESSION_UUID);
    assert_formats(&zero, "00000000-0000-0000-0000-000000000000");
    assert_formats(&ones, "ffffffff-ffff-ffff-ffff-ffffffffffff");
    ck_assert_int_lt(cm_session_id_compare(&zero, &ones), 0);

    /* Random UUIDs: each round-trips, and ids order as their canonical texts do. */
    enum { COUNT = 300 };
    static char texts[COUNT][37];
    static cm_session_id ids[COUNT];
    uint64_t seed = 4;
    for (int i = 0; i < COUNT; i++) {
        uint64_t hi = rng_next(&seed), lo = rng_next(&seed);
        snprintf(texts[i], sizeof texts[i], "%08llx-%04llx-%04llx-%04llx-%012llx",
                 (unsigned long long)(hi >> 32), (unsigned long long)((hi >> 16) & 0xffff),
                 (unsigned long long)(hi & 0xffff), (unsigned long long)(lo >> 48),
                 (unsigned long long)(lo & 0xffffffffffffULL));
        ids[i] = make_id(texts[i]);
        ck_assert_int_eq(ids[i].kind, CM_SESSION_UUID);
        assert_formats(&ids[i], texts[i]);
    }
    for (int i = 0; i < COUNT; i++)
        for (int j = 0; j < COUNT; j++)
            if (sign(cm_session_id_compare(&ids[i], &ids[j])) != sign(strcmp(texts[i], texts[j])))
                ck_abort_msg("'%s' and '%s' compare out of text order", texts[i], texts[j]);
}
END_TEST

START_TEST(test_session_text_and_hash)
{
    /* Short text is kept as it is. */
    static const char *const short_texts[] = {
        "", "a", "abc", "session-1", "0123456789abcdef", "B37ABD25"};
    for (size_t i = 0; i < sizeof short_texts / sizeof short_texts[0]; i++) {
        cm_session_id id = make_id(short_texts[i]);
        ck_assert_int_eq(id.kind, CM_SESSION_TEXT);
        ck_assert_uint_eq(id.len, strlen(short_texts[i]));
        assert_formats(&id, short_texts[i]);
    }
    /* "ab" and "ab\0" hold the same bytes but are different sessions. */
    cm_session_id ab, ab0;
    cm_session_id_make(&ab, "ab", 2);
    cm_session_id_make(&ab0, "ab\0", 3);
    ck_assert_int_ne(cm_session_id_compare(&ab, &ab0), 0);
    ck_assert_int_eq(sign(cm_session_id_compare(&ab, &ab0)),
                     -sign(cm_session_id_compare(&ab0, &ab)));

    /* An upper-case UUID is not canonical: 36 bytes of text, so a hash. */
    cm_session_id upper = make_id("B37ABD25-7672-4DD7-A098-40E50E314388");
    cm_session_id lower = make_id("b37abd25-7672-4dd7-a098-40e50e314388");
    ck_assert_int_eq(upper.kind, CM_SESSION_HASH);
    ck_assert_int_ne(cm_session_id_compare(&upper, &lower), 0);
    /* Nor is a UUID with other separators, one digit short, or braces. */
    ck_assert_int_eq(make_id("b37abd25_7672_4dd7_a098_40e50e314388").kind, CM_SESSION_HASH);
    ck_assert_int_eq(make_id("b37abd25-7672-4dd7-a098-40e50e31438").kind, CM_SESSION_HASH);
    ck_assert_int_eq(make_id("{b37abd25-7672-4dd7-a098-40e50e3143}").kind, CM_SESSION_HASH);
    ck_assert_int_eq(make_id("g37abd25-7672-4dd7-a098-40e50e314388").kind, CM_SESSION_HASH);
    /* 17 bytes is one too many for text. */
    ck_assert_int_eq(make_id("0123456789abcdefg").kind, CM_SESSION_HASH);

    char out[40];
    cm_session_id_format(&upper, out);
    ck_assert_msg(is_hash_text(out), "'%s' is not hash: and 32 hex digits", out);
    cm_session_id again = make_id("B37ABD25-7672-4DD7-A098-40E50E314388");
    ck_assert_int_eq(cm_session_id_compare(&upper, &again), 0);
    char out_again[40];
    cm_session_id_format(&again, out_again);
    ck_assert_str_eq(out, out_again);
}
END_TEST

START_TEST(test_session_hash_distinct)
{
    /* Long texts differing anywhere (first half, second half, the last byte, length) give
       different ids, and equal texts equal ids. */
    enum { COUNT = 2000 };
    static char texts[COUNT][64];
    static cm_session_id ids[COUNT];
    for (int i = 0; i < COUNT; i++) {
        int kind = i % 4;
        if (kind == 0)
            snprintf(texts[i], sizeof texts[i], "%05d-a-long-session-name-of-some-user", i);
        else if (kind == 1)
            snprintf(texts[i], sizeof texts[i], "a-long-session-name-of-some-user-%05d", i);
        else if (kind == 2)
            snprintf(texts[i], sizeof texts[i], "same-first-half-of-the-text......%c%04d",
                     'a' + i % 26, i);
        else
            snprintf(texts[i], sizeof texts[i], "%.*s", 17 + i % 40,
                     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        /* kind 3 repeats its 40 lengths: equal texts, which must give equal ids */
        ids[i] = make_id(texts[i]);
        ck_assert_int_eq(ids[i].kind, CM_SESSION_HASH);
        char out[40];
        cm_session_id_format(&ids[i], out);
        ck_assert_msg(is_hash_text(out), "'%s'", out);
        cm_session_id same = make_id(texts[i]);
        ck_assert_int_eq(cm_session_id_compare(&ids[i], &same), 0);
        ck_assert_int_eq(memcmp(&ids[i], &same, sizeof same), 0);
    }
    for (int i = 0; i < COUNT; i++)
        for (int j = i + 1; j < COUNT; j++) {
            int equal_texts = strcmp(texts[i], texts[j]) == 0;
            int c = cm_session_id_compare(&ids[i], &ids[j]);
            if ((c == 0) != equal_texts ||
                sign(c) != -sign(cm_session_id_compare(&ids[j], &ids[i])))
                ck_abort_msg("'%s' and '%s': compare %d", texts[i], texts[j], c);
        }
}
END_TEST

START_TEST(test_session_kinds_order)
{
    /* Ids of different kinds never compare equal, ordered UUID < TEXT < HASH. */
    cm_session_id uuid = make_id("ffffffff-ffff-ffff-ffff-ffffffffffff");
    cm_session_id text = make_id("");
    cm_session_id hash = make_id("a text of more than sixteen bytes");
    ck_assert_int_lt(cm_session_id_compare(&uuid, &text), 0);
    ck_assert_int_lt(cm_session_id_compare(&text, &hash), 0);
    ck_assert_int_lt(cm_session_id_compare(&uuid, &hash), 0);
    ck_assert_int_gt(cm_session_id_compare(&hash, &uuid), 0);
    /* Text that spells 16 bytes of a UUID is still text. */
    cm_session_id digits = make_id("b37abd2576724dd7");
    ck_assert_int_eq(digits.kind, CM_SESSION_TEXT);
    assert_formats(&digits, "b37abd2576724dd7");
}
END_TEST

static Suite *features_suite(void)
{
    Suite *suite = suite_create("features");
    TCase *core = tcase_create("core");
    tcase_set_timeout(core, 60);
    tcase_add_test(core, test_hand_worked_session);
    tcase_add_test(core, test_feature_defs);
    tcase_add_test(core, test_against_brute_force);
    tcase_add_test(core, test_no_leak_from_later_events);
    tcase_add_test(core, test_reset_equals_fresh);
    suite_add_tcase(suite, core);

    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_many_products);
    tcase_add_test(limits, test_first_event_cart_and_free_views);
    tcase_add_test(limits, test_purchase_without_cart);
    tcase_add_test(limits, test_unseen_categories_stay_distinct);
    suite_add_tcase(suite, limits);
    return suite;
}

static Suite *session_suite(void)
{
    Suite *suite = suite_create("session_id");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_session_uuid);
    tcase_add_test(core, test_session_text_and_hash);
    suite_add_tcase(suite, core);

    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_session_hash_distinct);
    tcase_add_test(limits, test_session_kinds_order);
    suite_add_tcase(suite, limits);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(features_suite());
    srunner_add_suite(runner, session_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
