/* The feature extractor shared by training, batch prediction and live scoring. */
#include "clickmill/features.h"

#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"
#include "clickmill/event.h"

const cm_feature_def cm_feature_defs[CM_NFEATURES] = {
    [CM_F_PRICE] = {"price", 0, "price of the carted product"},
    [CM_F_CATEGORY] = {"category", 1, "derived category of the carted product"},
    [CM_F_PRODUCT] = {"product", 1, "derived product type of the carted product"},
    [CM_F_BRAND] = {"brand", 1, "brand of the carted product"},
    [CM_F_HOUR] = {"hour", 0, "hour of day of the cart event (UTC)"},
    [CM_F_WEEKDAY] = {"weekday", 0, "day of week of the cart event, 0 = Monday"},
    [CM_F_EVENTS_BEFORE] = {"events_before", 0, "events of the session before the cart"},
    [CM_F_VIEWS_BEFORE] = {"views_before", 0, "views in the session before the cart"},
    [CM_F_PRODUCTS_VIEWED] = {"products_viewed", 0, "distinct products viewed before the cart"},
    [CM_F_CATEGORIES_VIEWED] = {"categories_viewed", 0,
                                "distinct categories viewed before the cart"},
    [CM_F_VIEWS_OF_PRODUCT] = {"views_of_product", 0, "views of the carted product before"},
    [CM_F_CARTS_BEFORE] = {"carts_before", 0, "cart events of other products before"},
    [CM_F_PURCHASES_BEFORE] = {"purchases_before", 0, "purchase events before the cart"},
    [CM_F_SECONDS_IN_SESSION] = {"seconds_in_session", 0,
                                 "seconds from the session's first event to the cart"},
    [CM_F_SECONDS_SINCE_LAST] = {"seconds_since_last", 0,
                                 "seconds since the previous event, -1 if none"},
    [CM_F_PRICE_VS_VIEWED] = {"price_vs_viewed", 0,
                              "price / mean price of the views before, 0 if none"},
};

struct cm_product_seen {
    int64_t product_id;
    uint32_t views;
    uint8_t used, carted;
};

void cm_features_init(cm_features *state)
{
    memset(state, 0, sizeof *state);
}

void cm_features_reset(cm_features *state)
{
    if (state->products_used)
        memset(state->products, 0, state->products_cap * sizeof *state->products);
    if (state->categories_used)
        memset(state->categories, 0, state->categories_cap * sizeof *state->categories);
    struct cm_product_seen *products = state->products;
    uint64_t *categories = state->categories;
    size_t products_cap = state->products_cap, categories_cap = state->categories_cap;
    memset(state, 0, sizeof *state);
    state->products = products;
    state->products_cap = products_cap;
    state->categories = categories;
    state->categories_cap = categories_cap;
}

void cm_features_free(cm_features *state)
{
    free(state->products);
    free(state->categories);
    memset(state, 0, sizeof *state);
}

static size_t mix(uint64_t value, size_t cap)
{
    value ^= value >> 33;
    value *= 0xFF51AFD7ED558CCDULL;
    value ^= value >> 33;
    return (size_t)value & (cap - 1);
}

/* The product's entry, added if new; the table grows at half full. */
static struct cm_product_seen *product_entry(cm_features *state, int64_t product_id)
{
    if ((state->products_used + 1) * 2 > state->products_cap) {
        size_t cap = state->products_cap ? state->products_cap * 2 : 16;
        struct cm_product_seen *grown = cm_xcalloc(cap, sizeof *grown);
        for (size_t i = 0; i < state->products_cap; i++) {
            if (!state->products[i].used)
                continue;
            size_t s = mix((uint64_t)state->products[i].product_id, cap);
            while (grown[s].used)
                s = (s + 1) & (cap - 1);
            grown[s] = state->products[i];
        }
        free(state->products);
        state->products = grown;
        state->products_cap = cap;
    }
    size_t s = mix((uint64_t)product_id, state->products_cap);
    while (state->products[s].used && state->products[s].product_id != product_id)
        s = (s + 1) & (state->products_cap - 1);
    if (!state->products[s].used) {
        state->products[s].used = 1;
        state->products[s].product_id = product_id;
        state->products_used++;
    }
    return &state->products[s];
}

/* Adds a category to the set; returns 1 when it was new. */
static int category_add(cm_features *state, uint64_t category_hash)
{
    if ((state->categories_used + 1) * 2 > state->categories_cap) {
        size_t cap = state->categories_cap ? state->categories_cap * 2 : 16;
        uint64_t *grown = cm_xcalloc(cap, sizeof *grown);
        for (size_t i = 0; i < state->categories_cap; i++) {
            if (!state->categories[i])
                continue;
            size_t s = mix(state->categories[i], cap);
            while (grown[s])
                s = (s + 1) & (cap - 1);
            grown[s] = state->categories[i];
        }
        free(state->categories);
        state->categories = grown;
        state->categories_cap = cap;
    }
    uint64_t stored = category_hash ? category_hash : 1; /* 0 marks an empty slot */
    size_t s = mix(stored, state->categories_cap);
    while (state->categories[s] && state->categories[s] != stored)
        s = (s + 1) & (state->categories_cap - 1);
    if (state->categories[s])
        return 0;
    state->categories[s] = stored;
    state->categories_used++;
    return 1;
}

int cm_features_step(cm_features *state, const cm_feature_event *event, double x[CM_NFEATURES])
{
    struct cm_product_seen *product = product_entry(state, event->product_id);
    int decision = event->type == CM_TYPE_CART && !product->carted;
    if (decision) {
        double price = (double)event->price_cents / 100.0;
        x[CM_F_PRICE] = price;
        x[CM_F_CATEGORY] = event->ids[0];
        x[CM_F_PRODUCT] = event->ids[1];
        x[CM_F_BRAND] = event->ids[2];
        x[CM_F_HOUR] = cm_time_hour(event->time);
        x[CM_F_WEEKDAY] = cm_time_weekday(event->time);
        x[CM_F_EVENTS_BEFORE] = (double)state->events;
        x[CM_F_VIEWS_BEFORE] = (double)state->views;
        x[CM_F_PRODUCTS_VIEWED] = (double)state->products_viewed;
        x[CM_F_CATEGORIES_VIEWED] = (double)state->categories_viewed;
        x[CM_F_VIEWS_OF_PRODUCT] = product->views;
        x[CM_F_CARTS_BEFORE] = (double)state->carts;
        x[CM_F_PURCHASES_BEFORE] = (double)state->purchases;
        x[CM_F_SECONDS_IN_SESSION] =
            state->events ? (double)(event->time - state->first_time) : 0.0;
        x[CM_F_SECONDS_SINCE_LAST] =
            state->events ? (double)(event->time - state->last_time) : -1.0;
        x[CM_F_PRICE_VS_VIEWED] =
            state->views && state->viewed_cents > 0
                ? (double)event->price_cents * (double)state->views / (double)state->viewed_cents
                : 0.0;
    }

    /* Only now does the event join the state. */
    if (state->events == 0)
        state->first_time = event->time;
    state->last_time = event->time;
    state->events++;
    switch (event->type) {
    case CM_TYPE_VIEW:
        state->views++;
        state->viewed_cents += event->price_cents;
        if (product->views++ == 0)
            state->products_viewed++;
        if (category_add(state, event->category_hash))
            state->categories_viewed++;
        break;
    case CM_TYPE_CART:
        state->carts++;
        product->carted = 1;
        break;
    case CM_TYPE_PURCHASE: state->purchases++; break;
    default: break;
    }
    return decision;
}
