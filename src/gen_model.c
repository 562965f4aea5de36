/* The generator's model: catalogue, month profiles and the simulation of one visit. */
#include "clickmill/gen_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"
#include "clickmill/event.h"

const char cm_gen_header[] =
    "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,"
    "user_session\n";

/* ---- random streams ---- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

cm_rng cm_rng_for(uint64_t seed, uint64_t object, uint64_t purpose)
{
    cm_rng rng = {mix64(seed * 0x9E3779B97F4A7C15ULL ^ mix64(object + 0x632BE59BD9B4E019ULL) ^
                        (purpose << 56 | purpose)),
                  0, 0};
    return rng;
}

uint64_t cm_rng_next(cm_rng *rng)
{
    rng->state += 0x9E3779B97F4A7C15ULL;
    return mix64(rng->state);
}

double cm_rng_uniform(cm_rng *rng)
{
    return (double)(cm_rng_next(rng) >> 11) * 0x1.0p-53;
}

double cm_rng_normal(cm_rng *rng)
{
    /* Marsaglia's polar method: two normals per logarithm, no trigonometry. */
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare;
    }
    double u, v, s;
    do {
        u = 2 * cm_rng_uniform(rng) - 1;
        v = 2 * cm_rng_uniform(rng) - 1;
        s = u * u + v * v;
    } while (s >= 1 || s == 0);
    double scale = sqrt(-2 * log(s) / s);
    rng->spare = v * scale;
    rng->has_spare = 1;
    return u * scale;
}

/* ---- the catalogue ---- */

/* Category codes of the real tree with their share of events (percent), how often their
 * products are carted and bought relative to the average, and their median price. Shares and
 * the top brands follow the published October 2019 figures; the rest is a plausible spread. */
static const struct {
    const char *code;
    double share, cart, buy, price;
    const char *brands; /* top brands with weights, "name:weight ..."; others share the rest */
    double no_brand;    /* share of the code's events without a brand */
} codes[] = {
    {"electronics.smartphone", 27.0, 2.6, 1.55, 240,
     "samsung:34 apple:30 xiaomi:21 huawei:8 oppo:4 vivo:1 meizu:1", 0.01},
    {"electronics.video.tv", 2.6, 1.7, 0.85, 380, "samsung:35 lg:25 sony:10 xiaomi:8 philips:6",
     0.02},
    {"computers.notebook", 2.7, 0.7, 0.60, 560, "apple:22 asus:20 lenovo:20 hp:16 acer:14", 0.02},
    {"appliances.kitchen.washer", 2.0, 0.9, 0.85, 310,
     "samsung:30 lg:28 indesit:15 bosch:12 beko:10", 0.02},
    {"electronics.audio.headphone", 2.5, 1.7, 0.75, 55,
     "apple:30 samsung:20 xiaomi:18 sony:12 jbl:10", 0.03},
    {"electronics.clocks", 1.8, 1.7, 0.95, 190, "apple:35 samsung:25 xiaomi:20 garmin:6 casio:5",
     0.03},
    {"appliances.environment.vacuum", 1.7, 0.9, 0.75, 140,
     "samsung:22 lg:18 philips:15 bosch:12 xiaomi:10", 0.03},
    {"appliances.kitchen.refrigerators", 1.6, 0.8, 0.70, 450,
     "samsung:25 lg:25 bosch:15 indesit:12 beko:10", 0.02},
    {"electronics.tablet", 0.9, 1.7, 0.60, 260, "apple:45 samsung:30 huawei:10 lenovo:8", 0.02},
    {"electronics.telephone", 0.5, 1.7, 0.95, 25, "nokia:40 texet:20 panasonic:15 philips:10",
     0.05},
    {"appliances.kitchen.microwave", 0.7, 0.8, 0.70, 90, "samsung:30 lg:25 midea:15 bosch:10",
     0.03},
    {"appliances.iron", 0.6, 0.8, 0.70, 40, "philips:30 tefal:30 bosch:15 polaris:10", 0.04},
    {"appliances.kitchen.blender", 0.5, 0.7, 0.55, 45, "redmond:25 philips:25 bosch:15 polaris:15",
     0.05},
    {"appliances.environment.air_heater", 0.5, 0.6, 0.45, 60, "ballu:30 timberk:20 polaris:15",
     0.06},
    {"appliances.kitchen.hob", 0.4, 0.6, 0.45, 250, "bosch:30 electrolux:20 gorenje:20", 0.04},
    {"computers.desktop", 0.5, 0.6, 0.45, 420, "lenovo:30 hp:25 acer:20 asus:15", 0.05},
    {"computers.peripherals.printer", 0.4, 0.7, 0.50, 190, "hp:40 canon:30 epson:20", 0.03},
    {"computers.components.videocards", 0.5, 0.5, 0.35, 380, "msi:30 gigabyte:30 asus:25", 0.04},
    {"apparel.shoes", 1.9, 0.08, 0.10, 75, "nike:20 adidas:18 respect:10 salamander:8", 0.30},
    {"apparel.shoes.keds", 0.8, 0.08, 0.10, 60, "nike:25 adidas:20 puma:10", 0.30},
    {"apparel.trousers", 0.4, 0.05, 0.08, 40, "levis:20 wrangler:10", 0.40},
    {"furniture.living_room.sofa", 1.2, 0.25, 0.12, 520, "brw:10 sv:8 santeri:6", 0.55},
    {"furniture.bedroom.bed", 0.7, 0.2, 0.10, 300, "brw:10 bts:8", 0.55},
    {"furniture.kitchen.table", 0.4, 0.3, 0.15, 160, "brw:8 sv:6", 0.55},
    {"auto.accessories.player", 0.9, 0.5, 0.95, 80, "pioneer:35 kenwood:20 prology:15", 0.05},
    {"auto.accessories.videoregister", 0.6, 0.5, 0.60, 70, "xiaomi:30 inspector:20 prology:15",
     0.05},
    {"construction.tools.drill", 0.7, 0.7, 0.55, 80, "bosch:30 makita:25 dewalt:10", 0.08},
    {"construction.tools.saw", 0.3, 0.6, 0.45, 120, "bosch:30 makita:25 huter:15", 0.08},
    {"construction.tools.welding", 0.3, 0.6, 0.45, 140, "resanta:40 huter:15", 0.08},
    {"kids.toys", 0.7, 0.6, 0.40, 35, "lego:40 hasbro:20 mattel:15", 0.25},
    {"kids.carriage", 0.4, 0.5, 0.40, 240, "tutis:20 anex:20 carrello:15", 0.20},
    {"accessories.bag", 0.5, 0.5, 0.45, 60, "karya:20 rivacase:20 samsonite:10", 0.15},
    {"sport.bicycle", 0.35, 0.5, 0.40, 300, "stels:30 forward:25 stern:15", 0.10},
    {"medicine.tools.tonometer", 0.04, 0.8, 0.90, 40, "omron:50 and:30", 0.05},
    {"country_yard.lawn_mower", 0.04, 0.6, 0.60, 200, "huter:30 champion:30", 0.05},
    {"stationery.cartrige", 0.02, 0.8, 0.90, 30, "hp:50 canon:40", 0.05},
};

/* Brands that appear without a category_code (they become their own "category" in the
 * analysis, as lucente, cordiant and triangle do in the real data), with their weight within the
 * 25 % of events that have a brand and no code. */
static const char *const no_code_brands =
    "xiaomi:12 lucente:8 cordiant:8 samsung:6 sony:6 triangle:4 nokian:4 apple:3 huawei:3 "
    "bosch:3 lg:3 philips:3 tefal:2 redmond:2 polaris:2 vitek:2 elenberg:2 canon:1 hp:1 "
    "respect:1 karya:1 michelin:2 continental:2 yokohama:2 pirelli:2";

/* The long tail of brands, named like real ones. */
static const char *const tail_syllables[] = {"ar",  "bel", "co", "dex", "el", "fo",  "gar", "hel",
                                             "ix",  "jo",  "ka", "lum", "mo", "nor", "ox",  "pra",
                                             "quo", "ro",  "sa", "tek", "ul", "vo",  "wi",  "zen"};

/* Share of events without category_code (published: 31.84 %) and of those, the share that have
 * no brand either ("unknown" in the analysis). */
#define NO_CODE_SHARE 31.8
#define UNKNOWN_SHARE 9.5

/* Daily sessions and the days' cart and purchase regimes of October 2019 (the published daily
 * session KPIs), used for every month by day of month. */
static const double day_sessions[31] = {
    268727, 260220, 239895, 299349, 275601, 271624, 261885, 306800, 299685, 293577, 331795,
    302890, 331995, 306153, 333196, 327472, 301775, 333909, 320290, 338726, 319981, 315291,
    309046, 292147, 316723, 288260, 288524, 279588, 275319, 273565, 280065};
static const double day_cart_sessions[31] = {10179, 10567, 11540, 26659, 21142, 19047, 10997, 11438,
                                             11273, 11632, 12900, 12390, 14945, 28164, 31090, 28598,
                                             25471, 24642, 24560, 24914, 22837, 23039, 23108, 22103,
                                             23123, 22085, 21368, 11086, 10755, 10718, 10722};
static const double day_buy_sessions[31] = {16259, 16417, 16159, 22943, 19645, 18831, 18045, 19587,
                                            19310, 18651, 22188, 21611, 25205, 24147, 22397, 26503,
                                            24059, 21677, 20896, 21271, 21425, 21280, 20974, 20291,
                                            20301, 19351, 19859, 17914, 17347, 17702, 17313};
/* Views per hour of day, UTC, millions over October (the original study's chart). */
static const double hour_views[24] = {0.30, 0.55, 1.04, 1.49, 1.83, 2.02, 2.15, 2.22,
                                      2.27, 2.23, 2.18, 2.09, 2.04, 2.26, 2.59, 2.89,
                                      2.97, 2.66, 2.07, 1.31, 0.72, 0.43, 0.27, 0.21};

/* Tuning of the visit simulation, calibrated so that the generated month reproduces the
 * published shares (docs/generator.md has the comparison). */
#define CART_RATE       0.0150 /* per event slot, times day and family factors */
#define DIRECT_RATE     0.0085 /* purchase without a cart, per slot */
#define AFTER_CART      0.068  /* purchase of a carted product, per later slot */
#define DUPLICATE_CART  0.03
#define CONTINUATION    0.002 /* a visit that continues a session of an earlier day */
#define PRICE_CAP_CENTS 257407

typedef struct {
    char name[32];
    double weight;
} weighted_name;

/* Parses "name:weight name:weight ..." into at most `max` entries. */
static int parse_weights(const char *text, weighted_name *out, int max)
{
    int count = 0;
    while (*text && count < max) {
        while (*text == ' ')
            text++;
        const char *colon = strchr(text, ':');
        if (!colon)
            break;
        size_t len = (size_t)(colon - text) < sizeof out->name - 1 ? (size_t)(colon - text)
                                                                   : sizeof out->name - 1;
        memcpy(out[count].name, text, len);
        out[count].name[len] = '\0';
        out[count].weight = strtod(colon + 1, (char **)&text);
        count++;
    }
    return count;
}

static void tail_brand(uint64_t seed, int index, char *out, size_t size)
{
    cm_rng rng = cm_rng_for(seed, (uint64_t)index, 0xB1);
    int syllables = 2 + (int)(cm_rng_next(&rng) % 2);
    out[0] = '\0';
    for (int s = 0; s < syllables; s++)
        strncat(out, tail_syllables[cm_rng_next(&rng) % 24], size - strlen(out) - 1);
}

typedef struct {
    cm_gen_family *items;
    int count, cap;
    char *names; /* brand strings, NUL-separated, kept for the model's life */
    size_t names_len, names_cap;
} family_list;

static const char *keep_name(family_list *list, const char *name)
{
    /* Names are stored as offsets first and resolved when the arena stops growing. */
    size_t len = strlen(name) + 1;
    if (list->names_len + len > list->names_cap) {
        list->names_cap = list->names_cap ? list->names_cap * 2 : 4096;
        while (list->names_cap < list->names_len + len)
            list->names_cap *= 2;
        list->names = cm_xrealloc(list->names, list->names_cap);
    }
    memcpy(list->names + list->names_len, name, len);
    list->names_len += len;
    return (const char *)(uintptr_t)(list->names_len - len + 1); /* offset + 1; 0 is NULL */
}

static void add_family(family_list *list, const char *code, const char *brand, double weight,
                       double cart, double buy, int group)
{
    if (list->count == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 256;
        list->items = cm_xrealloc(list->items, (size_t)list->cap * sizeof *list->items);
    }
    cm_gen_family *family = &list->items[list->count++];
    memset(family, 0, sizeof *family);
    family->code = code;
    family->brand = keep_name(list, brand);
    family->weight = weight;
    family->cart = cart;
    family->buy = buy;
    family->group = group;
    /* Carts of some brands are abandoned less often (apple: 32 % against samsung's 43 %). */
    family->loyalty = !strcmp(brand, "apple") ? 1.5 : 1.0;
}

/* Brands without a code are mostly bought without a cart (tyres such as cordiant and triangle
 * have more purchases than carts); xiaomi and sony are carted like electronics. */
static double no_code_cart(const char *brand)
{
    if (!strcmp(brand, "xiaomi"))
        return 2.2;
    if (!strcmp(brand, "sony") || !strcmp(brand, "samsung") || !strcmp(brand, "apple") ||
        !strcmp(brand, "huawei"))
        return 1.4;
    return 0.3;
}

/* Scales the codes' shares so that coded events make up 100 - NO_CODE_SHARE percent, with the
 * smartphone code (the first) at its published 27 %. */
static double code_scale(int code_index)
{
    if (code_index == 0)
        return 1.0;
    double others = 0;
    for (size_t c = 1; c < sizeof codes / sizeof codes[0]; c++)
        others += codes[c].share;
    return (100.0 - NO_CODE_SHARE - codes[0].share) / others;
}

/* Families of one code: its named brands, tail brands, and the unbranded share. */
static void add_code_families(family_list *list, uint64_t seed, int code_index, int tail_brands)
{
    weighted_name brands[16];
    int nbrands = parse_weights(codes[code_index].brands, brands, 16);
    double named = 0;
    for (int b = 0; b < nbrands; b++)
        named += brands[b].weight;
    double share = codes[code_index].share * code_scale(code_index);
    double branded = share * (1 - codes[code_index].no_brand);
    /* Named brands take their weight in percent; the rest goes to tail brands. */
    double tail_total = branded * (named < 100 ? (100 - named) / 100 : 0.05);
    double named_total = branded - tail_total;
    for (int b = 0; b < nbrands; b++)
        add_family(list, codes[code_index].code, brands[b].name,
                   named_total * brands[b].weight / named, codes[code_index].cart,
                   codes[code_index].buy, code_index);
    double harmonic = 0;
    for (int t = 0; t < tail_brands; t++)
        harmonic += 1.0 / (t + 1);
    for (int t = 0; t < tail_brands; t++) {
        char name[32];
        tail_brand(seed, code_index * 1000 + t, name, sizeof name);
        add_family(list, codes[code_index].code, name, tail_total / (t + 1) / harmonic,
                   codes[code_index].cart, codes[code_index].buy, code_index);
    }
    add_family(list, codes[code_index].code, "", share * codes[code_index].no_brand,
               codes[code_index].cart * 0.8, codes[code_index].buy * 0.8, code_index);
}

static int64_t category_id_for(uint64_t seed, uint64_t key)
{
    cm_rng rng = cm_rng_for(seed, key, 0xC1);
    return 2053013552000000000LL + (int64_t)(cm_rng_next(&rng) % 50000000000000000ULL);
}

/* Vose's alias tables from cumulative weights: a draw is one slot and one comparison. */
static void build_alias(const double *cdf, uint32_t count, float *keep, uint32_t *alias)
{
    double total = cdf[count - 1];
    double *scaled = cm_xmalloc(count * sizeof *scaled);
    uint32_t *small = cm_xmalloc(count * sizeof *small), *large = cm_xmalloc(count * sizeof *large);
    uint32_t nsmall = 0, nlarge = 0;
    for (uint32_t i = 0; i < count; i++) {
        double weight = cdf[i] - (i ? cdf[i - 1] : 0);
        scaled[i] = weight * count / total;
        if (scaled[i] < 1)
            small[nsmall++] = i;
        else
            large[nlarge++] = i;
    }
    while (nsmall && nlarge) {
        uint32_t s = small[--nsmall], l = large[nlarge - 1];
        keep[s] = (float)scaled[s];
        alias[s] = l;
        scaled[l] -= 1 - scaled[s];
        if (scaled[l] < 1) {
            nlarge--;
            small[nsmall++] = l;
        }
    }
    while (nlarge) {
        uint32_t l = large[--nlarge];
        keep[l] = 1;
        alias[l] = l;
    }
    while (nsmall) {
        uint32_t s = small[--nsmall];
        keep[s] = 1;
        alias[s] = s;
    }
    free(scaled);
    free(small);
    free(large);
}

static uint32_t draw_alias(const float *keep, const uint32_t *alias, uint32_t count, cm_rng *rng)
{
    uint64_t r = cm_rng_next(rng);
    uint32_t slot = (uint32_t)(((r >> 32) * count) >> 32);
    float u = (float)(r & 0xFFFFFF) * 0x1.0p-24f;
    return u < keep[slot] ? slot : alias[slot];
}

static void append_text(char **arena, size_t *len, size_t *cap, const char *text, size_t n)
{
    if (*len + n > *cap) {
        *cap = *cap ? *cap * 2 : 65536;
        while (*cap < *len + n)
            *cap *= 2;
        *arena = cm_xrealloc(*arena, *cap);
    }
    memcpy(*arena + *len, text, n);
    *len += n;
}

/* How a price changes the chance of a cart or a purchase: cheaper sells a little better. */
static double price_factor(int32_t cents)
{
    if (cents <= 0)
        return 0;
    double factor = pow(cents / 30000.0, -0.2);
    return factor < 0.6 ? 0.6 : factor > 1.8 ? 1.8 : factor;
}

static void build_products(cm_gen_model *model, uint32_t total_products)
{
    double weight_sum = 0;
    for (int f = 0; f < model->nfamilies; f++)
        weight_sum += pow(model->families[f].weight, 0.8);
    /* Products per family grow a little slower than the family's traffic. */
    uint32_t count = 0;
    for (int f = 0; f < model->nfamilies; f++) {
        double share = pow(model->families[f].weight, 0.8) / weight_sum;
        uint32_t n = (uint32_t)(share * total_products) + 1;
        model->families[f].first_product = count;
        model->families[f].nproducts = n;
        count += n;
    }
    model->nproducts = count;
    model->products = cm_xcalloc(count, sizeof *model->products);
    double *product_cdf = cm_xcalloc(count, sizeof *product_cdf);
    size_t arena_len = 0, arena_cap = 0;
    char *arena = NULL;
    for (int f = 0; f < model->nfamilies; f++) {
        cm_gen_family *family = &model->families[f];
        int code = family->group;
        double median = code >= 0 ? codes[code].price : 120;
        double cumulative = 0;
        /* Products of one code under several category ids, as 55 real codes have. */
        cm_rng ids_rng = cm_rng_for(model->seed, (uint64_t)f, 0xC2);
        int ids = code >= 0 ? 1 + (int)(cm_rng_next(&ids_rng) % 3) : 1;
        for (uint32_t k = 0; k < family->nproducts; k++) {
            uint32_t p = family->first_product + k;
            cm_rng rng = cm_rng_for(model->seed, p, 0xA1);
            cm_gen_product *product = &model->products[p];
            product->id = 1000978u + p * 311u;
            product->family = (uint32_t)f;
            double price = median * exp(0.95 * cm_rng_normal(&rng));
            if (price > PRICE_CAP_CENTS / 100.0)
                price = PRICE_CAP_CENTS / 100.0;
            product->price_cents = (int32_t)(price * 100 + 0.5);
            if (product->price_cents < 50)
                product->price_cents = 50 + (int32_t)(cm_rng_next(&rng) % 400);
            /* A few unpopular products have a zero price and are never bought. */
            if (k > family->nproducts / 3 && cm_rng_uniform(&rng) < 0.1)
                product->price_cents = 0;
            product->varies = cm_rng_uniform(&rng) < 0.35;
            product->appeal = (float)price_factor(product->price_cents);
            /* Zero-price products are rarely seen (0.16 % of the real month's events). */
            cumulative += (product->price_cents ? 1.0 : 0.1) / pow(k + 1.0, 1.05);
            product_cdf[p] = cumulative;

            int64_t category_id =
                code >= 0 ? category_id_for(model->seed, (uint64_t)code * 8 + k % (uint32_t)ids)
                          : category_id_for(model->seed, 100000 + (uint64_t)f);
            char prefix[320];
            int n = snprintf(prefix, sizeof prefix, "%u,%lld,%s,%s,", product->id,
                             (long long)category_id, family->code, family->brand);
            product->prefix_off = (uint32_t)arena_len;
            product->prefix_len = (uint16_t)n;
            append_text(&arena, &arena_len, &arena_cap, prefix, (size_t)n);
        }
    }
    model->prefixes = arena;
    model->product_keep = cm_xmalloc(count * sizeof *model->product_keep);
    model->product_alias = cm_xmalloc(count * sizeof *model->product_alias);
    for (int f = 0; f < model->nfamilies; f++) {
        const cm_gen_family *family = &model->families[f];
        build_alias(product_cdf + family->first_product, family->nproducts,
                    model->product_keep + family->first_product,
                    model->product_alias + family->first_product);
    }
    free(product_cdf);
}

int cm_gen_model_build(cm_gen_model *model, uint64_t seed, int year, int month, int64_t rows)
{
    memset(model, 0, sizeof *model);
    if (year < 1970 || year > 2100 || month < 1 || month > 12)
        return CM_EUSAGE;
    model->seed = seed;
    char text[24];
    snprintf(text, sizeof text, "%04d-%02d-01 00:00:00 UTC", year, month);
    cm_time_parse(text, 23, &model->month_start);
    int next_year = month == 12 ? year + 1 : year, next_month = month == 12 ? 1 : month + 1;
    int64_t next_start;
    snprintf(text, sizeof text, "%04d-%02d-01 00:00:00 UTC", next_year, next_month);
    cm_time_parse(text, 23, &next_start);
    model->days = (int)((next_start - model->month_start) / 86400);
    model->month_seconds = (uint32_t)(next_start - model->month_start);

    /* The catalogue grows with the data, up to the real month's 166,794 products. */
    double scale = rows / 42448764.0;
    int tail_brands = (int)(4 + 60 * sqrt(scale > 1 ? 1 : scale));
    uint32_t total_products = (uint32_t)(rows / 255 < 800 ? 800 : rows / 255);
    if (total_products > 400000)
        total_products = 400000;

    family_list list = {0};
    int ncodes = (int)(sizeof codes / sizeof codes[0]);
    for (int c = 0; c < ncodes; c++)
        add_code_families(&list, seed, c, tail_brands);
    weighted_name brands[64];
    int nbrands = parse_weights(no_code_brands, brands, 64);
    double named = 0;
    for (int b = 0; b < nbrands; b++)
        named += brands[b].weight;
    double branded_no_code = NO_CODE_SHARE - UNKNOWN_SHARE;
    for (int b = 0; b < nbrands; b++)
        add_family(&list, "", brands[b].name, branded_no_code * 0.8 * brands[b].weight / named,
                   no_code_cart(brands[b].name), 0.75, -1);
    int no_code_tail = tail_brands * 4;
    double harmonic = 0;
    for (int t = 0; t < no_code_tail; t++)
        harmonic += 1.0 / (t + 1);
    for (int t = 0; t < no_code_tail; t++) {
        char name[32];
        tail_brand(seed, 900000 + t, name, sizeof name);
        add_family(&list, "", name, branded_no_code * 0.2 / (t + 1) / harmonic, 0.35, 0.75, -1);
    }
    add_family(&list, "", "", UNKNOWN_SHARE, 0.5, 0.65, -1);

    for (int f = 0; f < list.count; f++) /* resolve brand offsets into the final arena */
        list.items[f].brand = list.names + ((uintptr_t)list.items[f].brand - 1);
    model->families = list.items;
    model->nfamilies = list.count;
    double *family_cdf = cm_xcalloc((size_t)list.count, sizeof(double));
    double cumulative = 0;
    for (int f = 0; f < list.count; f++) {
        cumulative += list.items[f].weight;
        family_cdf[f] = cumulative;
    }
    model->family_keep = cm_xmalloc((size_t)list.count * sizeof *model->family_keep);
    model->family_alias = cm_xmalloc((size_t)list.count * sizeof *model->family_alias);
    build_alias(family_cdf, (uint32_t)list.count, model->family_keep, model->family_alias);
    free(family_cdf);
    model->ngroups = ncodes;
    model->group_first = cm_xcalloc((size_t)ncodes, sizeof(int));
    model->group_count = cm_xcalloc((size_t)ncodes, sizeof(int));
    for (int f = list.count - 1; f >= 0; f--) {
        int g = list.items[f].group;
        if (g >= 0) {
            model->group_first[g] = f;
            model->group_count[g]++;
        }
    }
    model->brand_names = list.names;
    build_products(model, total_products);

    double acc = 0;
    for (int d = 0; d < model->days; d++) {
        for (int h = 0; h < 24; h++) {
            model->hour_cdf[d * 24 + h] = acc;
            acc += day_sessions[d % 31] * hour_views[h];
        }
    }
    model->hour_cdf[model->days * 24] = acc;
    double cart_mean = 0, buy_mean = 0;
    for (int d = 0; d < 31; d++) {
        cart_mean += day_cart_sessions[d] / day_sessions[d] / 31;
        buy_mean += day_buy_sessions[d] / day_sessions[d] / 31;
    }
    for (int d = 0; d < 31; d++) {
        model->day_cart[d] = day_cart_sessions[d] / day_sessions[d] / cart_mean;
        model->day_buy[d] = day_buy_sessions[d] / day_sessions[d] / buy_mean;
    }
    /* About 3.06 sessions per user, so the pool is a little larger than visits / 3. */
    double visits = rows / 4.59;
    model->users = (uint32_t)(visits / 2.55 < 100 ? 100 : visits / 2.55);
    return 0;
}

void cm_gen_model_free(cm_gen_model *model)
{
    free(model->brand_names);
    free(model->families);
    free(model->family_keep);
    free(model->family_alias);
    free(model->product_keep);
    free(model->product_alias);
    free(model->group_first);
    free(model->group_count);
    free(model->products);
    free(model->prefixes);
    memset(model, 0, sizeof *model);
}

/* ---- visits ---- */

enum { S_ROWS = 1, S_START, S_VISIT, S_USER, S_CONTINUE, S_GAPS };

int cm_gen_visit_rows(const cm_gen_model *model, uint64_t visit)
{
    if (model->visits && visit == model->visits - 1)
        return model->last_rows;
    cm_rng rng = cm_rng_for(model->seed, visit, S_ROWS);
    /* A discretised log-normal: median 2, p90 about 10, p99 about 32, mean about 4.5. */
    double size = 2.2 * exp(1.17 * cm_rng_normal(&rng));
    int rows = (int)(size + 0.5);
    if (rows < 1)
        rows = 1;
    if (rows > 1000)
        rows = 1000;
    return rows;
}

static double inverse_profile(const cm_gen_model *model, double x)
{
    double target = x * model->hour_cdf[model->days * 24];
    int lo = 0, hi = model->days * 24 - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (model->hour_cdf[mid] <= target)
            lo = mid;
        else
            hi = mid - 1;
    }
    double width = model->hour_cdf[lo + 1] - model->hour_cdf[lo];
    double within = width > 0 ? (target - model->hour_cdf[lo]) / width : 0;
    return (lo + within) * 3600.0;
}

uint32_t cm_gen_visit_start(const cm_gen_model *model, uint64_t visit)
{
    cm_rng rng = cm_rng_for(model->seed, visit, S_START);
    double x = ((double)visit + cm_rng_uniform(&rng)) / (double)model->visits;
    double t = inverse_profile(model, x);
    uint32_t seconds = (uint32_t)t;
    return seconds < model->month_seconds ? seconds : model->month_seconds - 1;
}

uint64_t cm_gen_first_visit_at(const cm_gen_model *model, int64_t t)
{
    uint64_t lo = 0, hi = model->visits;
    if (t <= 0)
        return 0;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if ((int64_t)cm_gen_visit_start(model, mid) >= t)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static uint32_t user_of(const cm_gen_model *model, uint64_t visit)
{
    cm_rng rng = cm_rng_for(model->seed, visit, S_USER);
    /* Skewed toward low numbers: a few users are very active, most come once or twice. */
    double u = cm_rng_uniform(&rng);
    return (uint32_t)(model->users * pow(u, 1.9));
}

static int32_t price_on(const cm_gen_model *model, uint32_t product, uint32_t time)
{
    const cm_gen_product *p = &model->products[product];
    if (!p->varies || p->price_cents == 0)
        return p->price_cents;
    uint64_t period = time / (3 * 86400);
    int step = (int)(mix64(model->seed ^ (uint64_t)product << 20 ^ period) % 5) - 2;
    int64_t price = (int64_t)p->price_cents * (100 + 3 * step) / 100;
    return (int32_t)(price > PRICE_CAP_CENTS ? PRICE_CAP_CENTS : price);
}

static uint32_t pick_product(const cm_gen_model *model, uint32_t family, cm_rng *rng)
{
    const cm_gen_family *f = &model->families[family];
    return f->first_product + draw_alias(model->product_keep + f->first_product,
                                         model->product_alias + f->first_product, f->nproducts,
                                         rng);
}

/* Long visits move faster, so that no visit outlasts CM_GEN_VISIT_MAX_SECONDS (at worst the
 * last rows come one second apart after end_limit). */
static double visit_pace(int rows)
{
    return rows > 60 ? 60.0 / rows : 1.0;
}

/* The time of a visit's next row. The gaps have a stream of their own, so a visit's last time
 * can be found without simulating the rest of it. */
static uint32_t next_time(cm_rng *gaps, uint32_t time, double pace, uint32_t end_limit)
{
    double gap = 30 * exp(1.25 * cm_rng_normal(gaps));
    if (cm_rng_uniform(gaps) < 0.012)
        gap += 1200 * exp(cm_rng_normal(gaps));
    gap *= pace;
    return time + gap > end_limit ? time + 1 : time + 1 + (uint32_t)gap;
}

uint32_t cm_gen_visit_end(const cm_gen_model *model, uint64_t visit, uint32_t start)
{
    int rows = cm_gen_visit_rows(model, visit);
    cm_rng gaps = cm_rng_for(model->seed, visit, S_GAPS);
    double pace = visit_pace(rows);
    uint32_t time = start, end_limit = start + CM_GEN_VISIT_MAX_SECONDS - 1000;
    for (int k = 1; k < rows; k++)
        time = next_time(&gaps, time, pace, end_limit);
    return time;
}

int cm_gen_visit(const cm_gen_model *model, uint64_t visit, cm_gen_event *out)
{
    int rows = cm_gen_visit_rows(model, visit);
    cm_rng rng = cm_rng_for(model->seed, visit, S_VISIT);
    uint32_t start = cm_gen_visit_start(model, visit);
    uint32_t family =
        draw_alias(model->family_keep, model->family_alias, (uint32_t)model->nfamilies, &rng);

    uint64_t session = visit;
    cm_rng cont = cm_rng_for(model->seed, visit, S_CONTINUE);
    if (cm_rng_uniform(&cont) < CONTINUATION) {
        int64_t back = (int64_t)(86400 * (1 + 3 * cm_rng_uniform(&cont)));
        if ((int64_t)start - back > 0) {
            uint64_t parent = cm_gen_first_visit_at(model, (int64_t)start - back);
            if (parent < visit)
                session = parent;
        }
    }
    uint32_t user = user_of(model, session);
    int day = (int)(start / 86400) % 31;
    /* One visitor is more or less decided than another: noise the model cannot see. */
    double mood = exp(0.6 * cm_rng_normal(&rng));
    const cm_gen_family *fam = &model->families[family];

    uint32_t product = pick_product(model, family, &rng);
    uint32_t carted[4];
    int ncarted = 0, views_here = 0, duplicate = 0;
    cm_rng gaps = cm_rng_for(model->seed, visit, S_GAPS);
    double pace = visit_pace(rows);
    uint32_t time = start, end_limit = start + CM_GEN_VISIT_MAX_SECONDS - 1000;
    for (int k = 0; k < rows; k++) {
        cm_gen_event *event = &out[k];
        if (k > 0)
            time = next_time(&gaps, time, pace, end_limit);
        if (duplicate) { /* an exact duplicate row, as the real logs have (mostly carts) */
            *event = out[k - 1];
            duplicate = 0;
            continue;
        }
        uint32_t t = time < model->month_seconds ? time : model->month_seconds - 1;
        int32_t price = price_on(model, product, t);
        double pf = price ? model->products[product].appeal : 0;
        double u = cm_rng_uniform(&rng);
        int type = CM_GEN_VIEW;
        uint32_t subject = product;
        if (ncarted > 0) {
            uint32_t c = carted[ncarted - 1];
            double q = AFTER_CART * model->products[c].appeal * mood * fam->loyalty *
                       (1 + 0.04 * (views_here < 10 ? views_here : 10));
            if (u < q) {
                type = CM_GEN_PURCHASE;
                subject = c;
                ncarted--;
            }
            u = cm_rng_uniform(&rng);
        }
        if (type == CM_GEN_VIEW) {
            double cart = CART_RATE * model->day_cart[day] * fam->cart * pf;
            double direct = DIRECT_RATE * model->day_buy[day] * fam->buy * pf * mood;
            if (u < cart) {
                type = CM_GEN_CART;
                if (ncarted < 4)
                    carted[ncarted++] = product;
                duplicate = k + 1 < rows && cm_rng_uniform(&rng) < DUPLICATE_CART;
            } else if (u < cart + direct) {
                type = CM_GEN_PURCHASE;
            } else {
                views_here++;
                /* Move on: another product of the family, now and then another brand of the
                 * same category. */
                if (cm_rng_uniform(&rng) < 0.6) {
                    if (fam->group >= 0 && cm_rng_uniform(&rng) < 0.12) {
                        int g = fam->group;
                        family =
                            (uint32_t)(model->group_first[g] +
                                       (int)(cm_rng_next(&rng) % (uint64_t)model->group_count[g]));
                        fam = &model->families[family];
                    }
                    product = pick_product(model, family, &rng);
                }
            }
        }
        event->time = t;
        event->session = session;
        event->product = subject;
        event->user = user;
        event->price_cents = subject == product ? price : price_on(model, subject, t);
        event->type = (uint8_t)type;
        event->no_session = 0;
    }
    /* Two rows of the month have no session, as in the real October file. */
    if (model->visits > 3 && (visit == model->visits / 3 || visit == 2 * model->visits / 3))
        out[0].no_session = 1;
    return rows;
}

/* ---- formatting ---- */

static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                  "31323334353637383940414243444546474849505152535455565758596061"
                                  "6263646566676869707172737475767778798081828384858687888990919293"
                                  "949596979899";

static char *put_uint(char *out, uint64_t value)
{
    char digits[24];
    int n = 24;
    while (value >= 100) {
        n -= 2;
        memcpy(digits + n, digit_pairs + 2 * (value % 100), 2);
        value /= 100;
    }
    if (value >= 10) {
        n -= 2;
        memcpy(digits + n, digit_pairs + 2 * value, 2);
    } else {
        digits[--n] = (char)('0' + value);
    }
    memcpy(out, digits + n, (size_t)(24 - n));
    return out + (24 - n);
}

static char *put_uuid(char *out, uint64_t seed, uint64_t session)
{
    static const char hex[] = "0123456789abcdef";
    cm_rng rng = cm_rng_for(seed, session, 0x5E55);
    uint64_t a = cm_rng_next(&rng), b = cm_rng_next(&rng);
    a = (a & ~0xF000ULL) | 0x4000ULL;       /* version 4 */
    b = (b & ~(3ULL << 62)) | (2ULL << 62); /* RFC 4122 variant */
    char text[32];
    for (int i = 0; i < 16; i++) {
        text[i] = hex[(a >> (60 - 4 * i)) & 15];
        text[16 + i] = hex[(b >> (60 - 4 * i)) & 15];
    }
    memcpy(out, text, 8);
    out[8] = '-';
    memcpy(out + 9, text + 8, 4);
    out[13] = '-';
    memcpy(out + 14, text + 12, 4);
    out[18] = '-';
    memcpy(out + 19, text + 16, 4);
    out[23] = '-';
    memcpy(out + 24, text + 20, 12);
    return out + 36;
}

static void put_two(char *out, unsigned value)
{
    out[0] = (char)('0' + value / 10);
    out[1] = (char)('0' + value % 10);
}

size_t cm_gen_format(const cm_gen_model *model, cm_gen_formatter *formatter,
                     const cm_gen_event *event, char *out)
{
    static const char *const types[] = {"view", "cart", "purchase"};
    static const size_t type_len[] = {4, 4, 8};
    char *at = out;
    int64_t day = event->time / 86400;
    if (day != formatter->day || formatter->date[0] == '\0') {
        cm_date_format(model->month_start + day * 86400, formatter->date);
        formatter->day = day;
    }
    unsigned in_day = event->time % 86400;
    memcpy(at, formatter->date, 10);
    at[10] = ' ';
    put_two(at + 11, in_day / 3600);
    at[13] = ':';
    put_two(at + 14, in_day / 60 % 60);
    at[16] = ':';
    put_two(at + 17, in_day % 60);
    memcpy(at + 19, " UTC", 4);
    at += 23;
    *at++ = ',';
    memcpy(at, types[event->type], type_len[event->type]);
    at += type_len[event->type];
    *at++ = ',';
    const cm_gen_product *product = &model->products[event->product];
    memcpy(at, model->prefixes + product->prefix_off, product->prefix_len);
    at += product->prefix_len;
    at = put_uint(at, (uint64_t)event->price_cents / 100);
    *at++ = '.';
    *at++ = (char)('0' + event->price_cents / 10 % 10);
    *at++ = (char)('0' + event->price_cents % 10);
    *at++ = ',';
    /* user ids spread over 430,000,000 .. 564,217,727 by an odd multiplier: one-to-one for up to
     * 2^27 users (about 1.5 billion rows) */
    at = put_uint(at, 430000000ULL + ((event->user * 2654435761ULL) & ((1ULL << 27) - 1)));
    *at++ = ',';
    if (!event->no_session)
        at = put_uuid(at, model->seed, event->session);
    *at++ = '\n';
    return (size_t)(at - out);
}
