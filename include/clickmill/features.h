/* The one feature extractor: what is known about a session at the moment a product is carted.
 * Training, batch prediction and live scoring all call cm_features_step. */
#ifndef CLICKMILL_FEATURES_H
#define CLICKMILL_FEATURES_H

#include <stddef.h>
#include <stdint.h>

enum {
    CM_F_PRICE,              /* price of the carted product */
    CM_F_CATEGORY,           /* its derived category (dictionary id) */
    CM_F_PRODUCT,            /* its derived product type (dictionary id) */
    CM_F_BRAND,              /* its brand (dictionary id) */
    CM_F_HOUR,               /* hour of the cart event, 0-23 UTC */
    CM_F_WEEKDAY,            /* 0 = Monday .. 6 = Sunday */
    CM_F_EVENTS_BEFORE,      /* events of the session before the cart */
    CM_F_VIEWS_BEFORE,       /* view events before the cart */
    CM_F_PRODUCTS_VIEWED,    /* distinct products viewed before */
    CM_F_CATEGORIES_VIEWED,  /* distinct categories viewed before */
    CM_F_VIEWS_OF_PRODUCT,   /* views of the carted product before */
    CM_F_CARTS_BEFORE,       /* cart events (of other products) before */
    CM_F_PURCHASES_BEFORE,   /* purchase events before */
    CM_F_SECONDS_IN_SESSION, /* seconds from the session's first event to the cart */
    CM_F_SECONDS_SINCE_LAST, /* seconds from the previous event; -1 when there is none */
    CM_F_PRICE_VS_VIEWED,    /* price / mean price of the views before; 0 when none */
    CM_NFEATURES
};

typedef struct {
    const char *name;
    int categorical; /* a dictionary id: see dictionary.h */
    const char *description;
} cm_feature_def;

extern const cm_feature_def cm_feature_defs[CM_NFEATURES];

/* What the extractor reads from one event. */
typedef struct {
    int64_t time; /* seconds since the epoch */
    int type;     /* CM_TYPE_* */
    int64_t product_id;
    int64_t price_cents;
    uint32_t ids[3];        /* category, product type, brand: dictionary ids (CM_DICT_*) */
    uint64_t category_hash; /* cm_hash of the derived category's text: distinct categories
                               are counted by it, since every unseen category has one id */
} cm_feature_event;

/* The state of one session: counts, times and small sets of what it has seen so far. */
typedef struct {
    int64_t events, views, carts, purchases;
    int64_t first_time, last_time;
    int64_t viewed_cents; /* sum of the prices of the views */
    size_t products_viewed, categories_viewed;
    struct cm_product_seen *products; /* open addressing on product_id */
    size_t products_used, products_cap;
    uint64_t *categories; /* open addressing set of category hashes (0 stored as 1) */
    size_t categories_used, categories_cap;
} cm_features;

/* An empty session state; free releases its sets. Reset empties it for the next session and
 * keeps the memory. Local. */
void cm_features_init(cm_features *state);
void cm_features_reset(cm_features *state);
void cm_features_free(cm_features *state);

/* Feeds the session's next event, in (time, file order). If it is the first cart event of its
 * product in this session, x receives the features as they stand at that moment (the earlier
 * events and this one) and 1 is returned; otherwise 0. The event is added to the state only
 * after x is written, so x never depends on a later event. Local. */
int cm_features_step(cm_features *state, const cm_feature_event *event, double x[CM_NFEATURES]);

#endif
