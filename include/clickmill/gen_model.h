/* The model behind `clickmill generate`: a product catalogue, the month's profiles and the
 * simulation of one visit, every draw a pure function of (seed, visit) or (seed, product). */
#ifndef CLICKMILL_GEN_MODEL_H
#define CLICKMILL_GEN_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* A small, fast random stream (splitmix64). */
typedef struct {
    uint64_t state;
    double spare; /* the second normal of the last pair */
    int has_spare;
} cm_rng;

/* A stream for one purpose of one object: the same (seed, object, purpose) always gives the
 * same numbers, on any rank. Local. */
cm_rng cm_rng_for(uint64_t seed, uint64_t object, uint64_t purpose);
uint64_t cm_rng_next(cm_rng *rng);
double cm_rng_uniform(cm_rng *rng); /* [0, 1) */
double cm_rng_normal(cm_rng *rng);  /* standard normal */

/* The longest a visit lasts; sessions spanning days are continuations (later visits). */
#define CM_GEN_VISIT_MAX_SECONDS (3 * 3600)

enum { CM_GEN_VIEW, CM_GEN_CART, CM_GEN_PURCHASE };

/* One generated row before formatting. */
typedef struct {
    uint32_t time;    /* seconds since the month's start */
    uint64_t session; /* the visit whose session id it carries */
    uint32_t product;
    uint32_t user;
    int32_t price_cents;
    uint8_t type;
    uint8_t no_session; /* an empty user_session (two rows per file, as in the real month) */
} cm_gen_event;

typedef struct {
    const char *code;  /* category_code, "" when missing */
    const char *brand; /* "" when missing */
    double weight;     /* share of visits */
    double cart;       /* cart propensity */
    double buy;        /* purchase propensity */
    double loyalty;    /* how much more often a cart of this brand is bought */
    uint32_t first_product, nproducts;
    int group; /* families with the same category_code form a group; -1 without code */
} cm_gen_family;

typedef struct {
    uint32_t id;
    uint32_t family;
    int32_t price_cents; /* base price; 0 for the products that are never bought */
    uint8_t varies;      /* the price moves a little over the month */
    float appeal;        /* how the price moves the chance of a cart or purchase */
    uint32_t prefix_off; /* "product_id,category_id,category_code,brand," in the arena */
    uint16_t prefix_len;
} cm_gen_product;

/* Everything the simulation needs; the same on every rank for the same arguments. */
typedef struct {
    uint64_t seed;
    int64_t month_start; /* seconds since the epoch */
    int days;
    uint32_t month_seconds;
    uint64_t visits; /* V */
    int last_rows;   /* rows of visit V - 1, cut so the total is exact */
    uint32_t users;  /* size of the user pool */
    cm_gen_family *families;
    int nfamilies;
    float *family_keep; /* alias tables (Vose) for drawing a family in constant time */
    uint32_t *family_alias;
    int ngroups;
    int *group_first, *group_count; /* families of a group are contiguous */
    cm_gen_product *products;
    uint32_t nproducts;
    float *product_keep; /* alias tables within each family, indices local to the family */
    uint32_t *product_alias;
    char *prefixes;
    char *brand_names;            /* the arena the families' brand strings point into */
    double hour_cdf[31 * 24 + 1]; /* cumulative visit intensity over the month's hours */
    double day_cart[31], day_buy[31];
} cm_gen_model;

/* Builds the catalogue for a month of about `rows` rows. Returns 0, or CM_EUSAGE for a month
 * outside 1970-2100. Local. */
int cm_gen_model_build(cm_gen_model *model, uint64_t seed, int year, int month, int64_t rows);
void cm_gen_model_free(cm_gen_model *model);

/* Rows of visit i before the cut (a pure function of seed and i). Local. */
int cm_gen_visit_rows(const cm_gen_model *model, uint64_t visit);

/* Start of visit i in seconds since the month's start, once model->visits is set; non-decreasing
 * in i. Local. */
uint32_t cm_gen_visit_start(const cm_gen_model *model, uint64_t visit);

/* The first visit starting at or after second t. Local. */
uint64_t cm_gen_first_visit_at(const cm_gen_model *model, int64_t t);

/* The time of visit i's last row, at most: a cheap bound used to skip visits that end before a
 * slice starts. Local. */
uint32_t cm_gen_visit_end(const cm_gen_model *model, uint64_t visit, uint32_t start);

/* Simulates visit i into out (room for its rows); returns the number of rows. Local. */
int cm_gen_visit(const cm_gen_model *model, uint64_t visit, cm_gen_event *out);

/* Formats rows; the formatter remembers the last date so consecutive rows reuse it. */
#define CM_GEN_LINE_MAX 512
typedef struct {
    int64_t day;
    char date[11];
} cm_gen_formatter;

/* Formats one row; returns its length (at most CM_GEN_LINE_MAX). Local. */
size_t cm_gen_format(const cm_gen_model *model, cm_gen_formatter *formatter,
                     const cm_gen_event *event, char *out);

/* The most visits one file may have (ROWS_MAX rows need far fewer). */
#define CM_GEN_VISITS_MAX 4000000000ULL

/* The CSV header line of the REES46 files, with its newline. */
extern const char cm_gen_header[];

#endif
