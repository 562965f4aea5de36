/* Unit tests of the row parser: header layouts, accepted rows and every reason to reject one. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"
#include "clickmill/event.h"
#include "clickmill/row.h"

#define HEADER                                                                                     \
    "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,"              \
    "user_session"

/* Line 164 of the October 2019 head extract, a real purchase. */
static const char real_row[] =
    "2019-10-01 00:02:14 UTC,purchase,1004856,2053013555631882655,electronics.smartphone,"
    "samsung,130.76,543272936,8187d148-3c41-46d4-b0c0-9c08cd9dc564";

/* The fields of a valid row in header order, which the tests replace one at a time. */
static const char *const good_fields[CM_NCOLUMNS] = {
    "2019-10-01 00:00:00 UTC",
    "view",
    "44600062",
    "2103807459595387724",
    "",
    "shiseido",
    "35.79",
    "541312140",
    "72d76fde-8bb3-4e00-8c23-a032dfed738c",
};

static cm_row_parser parser;
static cm_layout layout;

static void setup(void)
{
    char err[512];
    ck_assert_int_eq(cm_row_parser_init(&parser), 0);
    ck_assert_int_eq(cm_layout_parse(&layout, HEADER, strlen(HEADER), err, sizeof err), 0);
}

static void teardown(void)
{
    cm_row_parser_free(&parser);
}

/* The good row with field `column` written as `value` (raw CSV text, quotes included). */
static const char *row_with(int column, const char *value)
{
    static char line[4096];
    size_t at = 0;
    for (int c = 0; c < CM_NCOLUMNS; c++) {
        const char *field = c == column ? value : good_fields[c];
        at += (size_t)snprintf(line + at, sizeof line - at, "%s%s", c ? "," : "", field);
    }
    return line;
}

static int parse(const char *line, cm_event *event)
{
    return cm_row_parse(&parser, &layout, line, strlen(line), event);
}

static int parse_with(int column, const char *value)
{
    cm_event event;
    return parse(row_with(column, value), &event);
}

static void assert_text(cm_text text, const char *expected)
{
    ck_assert_msg(text.len == strlen(expected) && memcmp(text.ptr, expected, text.len) == 0,
                  "got '%.*s', expected '%s'", (int)text.len, text.ptr, expected);
}

/* ---- core ---- */

START_TEST(test_real_row)
{
    cm_event event;
    ck_assert_int_eq(parse(real_row, &event), CM_ROW_OK);
    /* 2019-10-01 00:00:00 UTC is 1569888000; plus 2 minutes 14 seconds. */
    ck_assert_int_eq(event.time, 1569888134);
    ck_assert_int_eq(event.type, CM_TYPE_PURCHASE);
    assert_text(event.type_name, "purchase");
    ck_assert_int_eq(event.product_id, 1004856);
    ck_assert_int_eq(event.category_id, 2053013555631882655LL);
    ck_assert_int_eq(event.user_id, 543272936);
    ck_assert_int_eq(event.price_cents, 13076);
    assert_text(event.category_code, "electronics.smartphone");
    assert_text(event.brand, "samsung");
    assert_text(event.user_session, "8187d148-3c41-46d4-b0c0-9c08cd9dc564");
}
END_TEST

START_TEST(test_event_types)
{
    cm_event event;
    ck_assert_int_eq(parse(row_with(CM_COL_EVENT_TYPE, "view"), &event), CM_ROW_OK);
    ck_assert_int_eq(event.type, CM_TYPE_VIEW);
    ck_assert_int_eq(parse(row_with(CM_COL_EVENT_TYPE, "cart"), &event), CM_ROW_OK);
    ck_assert_int_eq(event.type, CM_TYPE_CART);
    ck_assert_int_eq(parse(row_with(CM_COL_EVENT_TYPE, "purchase"), &event), CM_ROW_OK);
    ck_assert_int_eq(event.type, CM_TYPE_PURCHASE);
    ck_assert_int_eq(parse(row_with(CM_COL_EVENT_TYPE, "remove_from_cart"), &event), CM_ROW_OK);
    ck_assert_int_eq(event.type, CM_TYPE_OTHER);
    assert_text(event.type_name, "remove_from_cart");
    /* Prefixes and extensions of the known names are other types, not those names. */
    ck_assert_int_eq(parse(row_with(CM_COL_EVENT_TYPE, "views"), &event), CM_ROW_OK);
    ck_assert_int_eq(event.type, CM_TYPE_OTHER);
    ck_assert_int_eq(parse(row_with(CM_COL_EVENT_TYPE, "car"), &event), CM_ROW_OK);
    ck_assert_int_eq(event.type, CM_TYPE_OTHER);
    ck_assert_int_eq(parse(row_with(CM_COL_EVENT_TYPE, "purchase2"), &event), CM_ROW_OK);
    ck_assert_int_eq(event.type, CM_TYPE_OTHER);
    assert_text(event.type_name, "purchase2");
}
END_TEST

START_TEST(test_quoted_fields)
{
    cm_event event;
    ck_assert_int_eq(parse(row_with(CM_COL_CATEGORY_CODE, "\"kids,toys\""), &event), CM_ROW_OK);
    assert_text(event.category_code, "kids,toys");
    ck_assert_int_eq(parse(row_with(CM_COL_BRAND, "\"the \"\"best\"\", inc\""), &event), CM_ROW_OK);
    assert_text(event.brand, "the \"best\", inc");
    ck_assert_int_eq(parse(row_with(CM_COL_PRICE, "\"2574.07\""), &event), CM_ROW_OK);
    ck_assert_int_eq(event.price_cents, 257407);
    ck_assert_int_eq(parse(row_with(CM_COL_BRAND, "\"\""), &event), CM_ROW_OK);
    ck_assert_int_eq(event.brand.len, 0);
}
END_TEST

START_TEST(test_empty_optional_fields)
{
    cm_event event;
    const char *line = "2019-10-01 00:00:00 UTC,view,1,2,,,0,3,";
    ck_assert_int_eq(parse(line, &event), CM_ROW_OK);
    ck_assert_int_eq(event.category_code.len, 0);
    ck_assert_int_eq(event.brand.len, 0);
    ck_assert_int_eq(event.user_session.len, 0);
    ck_assert_int_eq(event.price_cents, 0);
    ck_assert_int_eq(event.product_id, 1);
    ck_assert_int_eq(event.category_id, 2);
    ck_assert_int_eq(event.user_id, 3);
}
END_TEST

START_TEST(test_prices_accepted)
{
    static const struct {
        const char *text;
        int64_t cents;
    } cases[] = {
        {"0", 0},        {"0.00", 0},
        {"1.5", 150},    {"1.50", 150},
        {"1.500", 150},  {"2574.07", 257407},
        {"35.79", 3579}, {"0.01", 1},
        {"007", 700},    {"1000000000", 100000000000LL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cm_event event;
        ck_assert_msg(parse(row_with(CM_COL_PRICE, cases[i].text), &event) == CM_ROW_OK,
                      "price '%s' rejected", cases[i].text);
        ck_assert_msg(event.price_cents == cases[i].cents, "price '%s' -> %lld, expected %lld",
                      cases[i].text, (long long)event.price_cents, (long long)cases[i].cents);
        int64_t cents = -1;
        ck_assert_int_eq(cm_parse_cents(cases[i].text, strlen(cases[i].text), &cents), 0);
        ck_assert_int_eq(cents, cases[i].cents);
    }
}
END_TEST

START_TEST(test_spaces_preserved)
{
    cm_event event;
    ck_assert_int_eq(parse(row_with(CM_COL_BRAND, " acme "), &event), CM_ROW_OK);
    assert_text(event.brand, " acme ");
    ck_assert_int_eq(parse(row_with(CM_COL_CATEGORY_CODE, "\" a.b \""), &event), CM_ROW_OK);
    assert_text(event.category_code, " a.b ");
}
END_TEST

START_TEST(test_parse_id)
{
    int64_t value = -1;
    ck_assert_int_eq(cm_parse_id("0", 1, &value), 0);
    ck_assert_int_eq(value, 0);
    ck_assert_int_eq(cm_parse_id("541312140", 9, &value), 0);
    ck_assert_int_eq(value, 541312140);
    ck_assert_int_eq(cm_parse_id("9223372036854775807", 19, &value), 0);
    ck_assert_int_eq(value, INT64_MAX);
    ck_assert_int_eq(cm_parse_id("0000000000000000042", 19, &value), 0);
    ck_assert_int_eq(value, 42);
    /* Only the first len bytes count. */
    ck_assert_int_eq(cm_parse_id("12345", 3, &value), 0);
    ck_assert_int_eq(value, 123);
}
END_TEST

START_TEST(test_row_after_reject)
{
    /* A rejected row leaves the parser ready: the next good rows parse fully, whatever the
     * reason the row before them was rejected. */
    static const struct {
        int column;
        const char *value;
        int reason;
    } bad[] = {
        {CM_COL_BRAND, "ac\"me", CM_REJECT_QUOTING},
        {CM_COL_BRAND, "\"acme\"x", CM_REJECT_QUOTING},
        {CM_COL_PRICE, "1.234", CM_REJECT_PRICE},
        {CM_COL_EVENT_TIME, "2019-10-01", CM_REJECT_TIME},
        {CM_COL_BRAND, "\"unterminated", CM_REJECT_QUOTING},
        {CM_COL_USER_SESSION, "\"abc", CM_REJECT_QUOTING},
    };
    cm_event event;
    ck_assert_int_eq(cm_row_parse(&parser, &layout, "a\0b", 3, &event), CM_REJECT_NUL);
    ck_assert_int_eq(parse(real_row, &event), CM_ROW_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(parse_with(bad[i].column, bad[i].value), bad[i].reason);
        for (int again = 0; again < 2; again++) {
            int reason = parse(real_row, &event);
            ck_assert_msg(reason == CM_ROW_OK, "good row %d after the row with '%s' rejected as %s",
                          again + 1, bad[i].value, cm_reject_name(reason));
            assert_text(event.brand, "samsung");
            ck_assert_int_eq(event.price_cents, 13076);
        }
    }
}
END_TEST

START_TEST(test_layout_standard)
{
    cm_layout parsed;
    char err[512] = "";
    ck_assert_int_eq(cm_layout_parse(&parsed, HEADER, strlen(HEADER), err, sizeof err), 0);
    ck_assert_int_eq(parsed.nfields, 9);
    for (int c = 0; c < CM_NCOLUMNS; c++)
        ck_assert_int_eq(parsed.index[c], c);
}
END_TEST

START_TEST(test_layout_other_order_and_extra)
{
    static const char header[] = "price,x_extra,user_session,brand,user_id,event_type,"
                                 "category_code,event_time,category_id,product_id,y_extra";
    cm_layout parsed;
    char err[512] = "";
    ck_assert_int_eq(cm_layout_parse(&parsed, header, strlen(header), err, sizeof err), 0);
    ck_assert_int_eq(parsed.nfields, 11);
    ck_assert_int_eq(parsed.index[CM_COL_PRICE], 0);
    ck_assert_int_eq(parsed.index[CM_COL_USER_SESSION], 2);
    ck_assert_int_eq(parsed.index[CM_COL_BRAND], 3);
    ck_assert_int_eq(parsed.index[CM_COL_USER_ID], 4);
    ck_assert_int_eq(parsed.index[CM_COL_EVENT_TYPE], 5);
    ck_assert_int_eq(parsed.index[CM_COL_CATEGORY_CODE], 6);
    ck_assert_int_eq(parsed.index[CM_COL_EVENT_TIME], 7);
    ck_assert_int_eq(parsed.index[CM_COL_CATEGORY_ID], 8);
    ck_assert_int_eq(parsed.index[CM_COL_PRODUCT_ID], 9);

    /* A row in that order parses into the right fields. */
    static const char line[] = "1.25,ignored,sess,acme,77,cart,a.b.c,2019-10-01 00:00:01 UTC,66,"
                               "55,also ignored";
    cm_event event;
    ck_assert_int_eq(cm_row_parse(&parser, &parsed, line, strlen(line), &event), CM_ROW_OK);
    ck_assert_int_eq(event.price_cents, 125);
    assert_text(event.user_session, "sess");
    assert_text(event.brand, "acme");
    ck_assert_int_eq(event.user_id, 77);
    ck_assert_int_eq(event.type, CM_TYPE_CART);
    assert_text(event.category_code, "a.b.c");
    ck_assert_int_eq(event.time, 1569888001);
    ck_assert_int_eq(event.category_id, 66);
    ck_assert_int_eq(event.product_id, 55);
    /* The extra columns count: a row of 9 fields is now one of the wrong length. */
    ck_assert_int_eq(cm_row_parse(&parser, &parsed, real_row, strlen(real_row), &event),
                     CM_REJECT_FIELD_COUNT);
}
END_TEST

/* ---- limits ---- */

START_TEST(test_reject_field_count)
{
    char line[1024];
    cm_event event;
    snprintf(line, sizeof line, "%s,extra", real_row);
    ck_assert_int_eq(parse(line, &event), CM_REJECT_FIELD_COUNT);
    snprintf(line, sizeof line, "%s,", real_row);
    ck_assert_int_eq(parse(line, &event), CM_REJECT_FIELD_COUNT);
    /* The real row without its last field. */
    snprintf(line, sizeof line, "%.*s", (int)(strrchr(real_row, ',') - real_row), real_row);
    ck_assert_int_eq(parse(line, &event), CM_REJECT_FIELD_COUNT);
    ck_assert_int_eq(parse("abc", &event), CM_REJECT_FIELD_COUNT);
    ck_assert_int_eq(parse(",", &event), CM_REJECT_FIELD_COUNT);
    /* More fields than the parser stores (CM_FIELDS_MAX) is a count error, not an overflow. */
    size_t at = 0;
    for (int i = 0; i < CM_FIELDS_MAX + 20; i++)
        at += (size_t)snprintf(line + at, sizeof line - at, "%sf", i ? "," : "");
    ck_assert_int_eq(parse(line, &event), CM_REJECT_FIELD_COUNT);
}
END_TEST

START_TEST(test_reject_quoting)
{
    ck_assert_int_eq(parse_with(CM_COL_BRAND, "\"unterminated"), CM_REJECT_QUOTING);
    ck_assert_int_eq(parse_with(CM_COL_USER_SESSION, "\"abc"), CM_REJECT_QUOTING);
    ck_assert_int_eq(parse_with(CM_COL_BRAND, "ac\"me"), CM_REJECT_QUOTING);
    ck_assert_int_eq(parse_with(CM_COL_BRAND, "\"acme\"x"), CM_REJECT_QUOTING);
}
END_TEST

START_TEST(test_reject_long_field)
{
    char field[CM_FIELD_MAX + 2];
    cm_event event;
    memset(field, 'b', CM_FIELD_MAX);
    field[CM_FIELD_MAX] = '\0';
    ck_assert_int_eq(parse(row_with(CM_COL_BRAND, field), &event), CM_ROW_OK);
    ck_assert_int_eq(event.brand.len, CM_FIELD_MAX);
    field[CM_FIELD_MAX] = 'b';
    field[CM_FIELD_MAX + 1] = '\0';
    ck_assert_int_eq(parse_with(CM_COL_BRAND, field), CM_REJECT_LONG_FIELD);
    ck_assert_int_eq(parse_with(CM_COL_USER_SESSION, field), CM_REJECT_LONG_FIELD);
}
END_TEST

START_TEST(test_reject_nul_and_empty)
{
    cm_event event;
    char line[1024];
    size_t len = strlen(real_row);
    memcpy(line, real_row, len);
    line[40] = '\0';
    ck_assert_int_eq(cm_row_parse(&parser, &layout, line, len, &event), CM_REJECT_NUL);
    ck_assert_int_eq(cm_row_parse(&parser, &layout, "", 0, &event), CM_REJECT_EMPTY_LINE);
    ck_assert_int_eq(cm_row_parse(&parser, &layout, real_row, 0, &event), CM_REJECT_EMPTY_LINE);
}
END_TEST

START_TEST(test_reject_time)
{
    static const char *const bad[] = {
        "2019-10-01 00:00:00",     "2019-10-01 00:00:00 utc", "2019-10-01 00:00:00 UTC ",
        "2019-02-30 00:00:00 UTC", "2019-10-01 24:00:00 UTC", "2019-10-01 00:60:00 UTC",
        "2019-10-01 00:00:60 UTC", "2019-1O-01 00:00:00 UTC", "abcd-ef-gh ij:kl:mn UTC",
        "2019-10-01T00:00:00 UTC", "2019/10/01 00:00:00 UTC", "",
        "1969-12-31 23:59:59 UTC", "2019-13-01 00:00:00 UTC", "2019-10-00 00:00:00 UTC",
        "2019-10-01 0:00:00 UTC",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse_with(CM_COL_EVENT_TIME, bad[i]) == CM_REJECT_TIME,
                      "time '%s' not rejected as bad_time", bad[i]);
}
END_TEST

START_TEST(test_reject_event_type)
{
    static const char *const bad[] = {
        "", "View", "CART", "add to cart", " view", "view ", "remove-from-cart"};
    ck_assert_int_eq(parse_with(CM_COL_EVENT_TYPE, bad[0]), CM_REJECT_EVENT_TYPE);
    for (size_t i = 1; i < 7; i++)
        ck_assert_msg(parse_with(CM_COL_EVENT_TYPE, bad[i]) == CM_REJECT_EVENT_TYPE,
                      "event_type '%s' not rejected", bad[i]);
    /* A quoted event type with a space inside: still not a word. */
    ck_assert_int_eq(parse_with(CM_COL_EVENT_TYPE, "\"a b\""), CM_REJECT_EVENT_TYPE);
}
END_TEST

START_TEST(test_reject_ids)
{
    static const char *const bad[] = {"-1",
                                      "12a",
                                      "",
                                      "9223372036854775808",
                                      "1.0",
                                      "+5",
                                      " 1",
                                      "1 ",
                                      "99999999999999999999",
                                      "0x10",
                                      "9999999999999999999",
                                      "18446744073709551616"};
    static const int columns[] = {CM_COL_PRODUCT_ID, CM_COL_CATEGORY_ID, CM_COL_USER_ID};
    for (size_t c = 0; c < 3; c++)
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            ck_assert_msg(parse_with(columns[c], bad[i]) == CM_REJECT_ID,
                          "id '%s' in column %d not rejected as bad_id", bad[i], columns[c]);
    int64_t value = 7;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(cm_parse_id(bad[i], strlen(bad[i]), &value), -1);
        ck_assert_int_eq(value, 7); /* untouched on failure */
    }
}
END_TEST

START_TEST(test_reject_prices)
{
    static const char *const bad[] = {
        "-1.00", "-0",    "NaN",  "nan", "inf",        "1e5",
        "1.234", "",      ".5",   "5.",  "1.2.3",      " 1",
        "1 ",    "1.005", "0x10", "+1",  "1000000001", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse_with(CM_COL_PRICE, bad[i]) == CM_REJECT_PRICE,
                      "price '%s' not rejected as bad_price", bad[i]);
    int64_t cents = 7;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(cm_parse_cents(bad[i], strlen(bad[i]), &cents) == -1,
                      "cm_parse_cents accepted '%s'", bad[i]);
        ck_assert_int_eq(cents, 7);
    }
    /* A comma splits the row before the price is read; on its own it is not a number. */
    ck_assert_int_eq(cm_parse_cents("1,5", 3, &cents), -1);
    ck_assert_int_eq(parse_with(CM_COL_PRICE, "1,5"), CM_REJECT_FIELD_COUNT);
    ck_assert_int_eq(parse_with(CM_COL_PRICE, "\"1,5\""), CM_REJECT_PRICE);
}
END_TEST

START_TEST(test_price_within_max)
{
    /* No accepted price is above CM_PRICE_MAX_CENTS, decimals included. */
    static const char *const texts[] = {"1000000000", "1000000000.00", "1000000000.01",
                                        "1000000000.99"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int64_t cents = 0;
        if (cm_parse_cents(texts[i], strlen(texts[i]), &cents) == 0)
            ck_assert_msg(cents <= CM_PRICE_MAX_CENTS,
                          "price '%s' accepted as %lld cents, over CM_PRICE_MAX_CENTS %lld",
                          texts[i], (long long)cents, (long long)CM_PRICE_MAX_CENTS);
    }
}
END_TEST

START_TEST(test_first_failing_check_wins)
{
    /* A row with several faults reports the first one in field order: time before price. */
    static const char line[] = "2019-10-01 00:00:00,view,1,2,,,-1,3,s";
    cm_event event;
    ck_assert_int_eq(parse(line, &event), CM_REJECT_TIME);
}
END_TEST

START_TEST(test_layout_errors)
{
    cm_layout parsed;
    char err[512];

    static const char missing[] = "event_time,event_type,product_id,category_id,category_code,"
                                  "price,user_id,user_session";
    err[0] = '\0';
    ck_assert_int_eq(cm_layout_parse(&parsed, missing, strlen(missing), err, sizeof err),
                     CM_EINPUT);
    ck_assert_ptr_nonnull(strstr(err, "'brand'"));

    static const char twice[] = "event_time,event_type,product_id,category_id,category_code,"
                                "brand,price,user_id,user_session,product_id";
    err[0] = '\0';
    ck_assert_int_eq(cm_layout_parse(&parsed, twice, strlen(twice), err, sizeof err), CM_EINPUT);
    ck_assert_ptr_nonnull(strstr(err, "'product_id'"));
    ck_assert_ptr_nonnull(strstr(err, "twice"));

    err[0] = '\0';
    ck_assert_int_eq(cm_layout_parse(&parsed, "", 0, err, sizeof err), CM_EINPUT);
    ck_assert_str_ne(err, "");

    static const char unterminated[] = "event_time,\"event_type,product_id";
    err[0] = '\0';
    ck_assert_int_eq(cm_layout_parse(&parsed, unterminated, strlen(unterminated), err, sizeof err),
                     CM_EINPUT);
    ck_assert_str_ne(err, "");

    /* Names are exact: case and spaces matter. */
    static const char upper[] = "EVENT_TIME,event_type,product_id,category_id,category_code,"
                                "brand,price,user_id,user_session";
    ck_assert_int_eq(cm_layout_parse(&parsed, upper, strlen(upper), err, sizeof err), CM_EINPUT);
    ck_assert_ptr_nonnull(strstr(err, "'event_time'"));

    /* More columns than CM_FIELDS_MAX. */
    char wide[2048];
    size_t at = (size_t)snprintf(wide, sizeof wide, "%s", HEADER);
    for (int i = 0; i < CM_FIELDS_MAX; i++)
        at += (size_t)snprintf(wide + at, sizeof wide - at, ",x%d", i);
    ck_assert_int_eq(cm_layout_parse(&parsed, wide, at, err, sizeof err), CM_EINPUT);
}
END_TEST

START_TEST(test_reject_names)
{
    ck_assert_str_eq(cm_reject_name(CM_REJECT_FIELD_COUNT), "field_count");
    ck_assert_str_eq(cm_reject_name(CM_REJECT_TIME), "bad_time");
    ck_assert_str_eq(cm_reject_name(CM_REJECT_PRICE), "bad_price");
    ck_assert_str_eq(cm_reject_name(-1), "unknown");
    ck_assert_str_eq(cm_reject_name(CM_NREASONS), "unknown");
    for (int r = 1; r < CM_NREASONS; r++)
        ck_assert_str_ne(cm_reject_text(r), "unknown reason");
}
END_TEST

/* The fast path for lines without a quote must give exactly libcsv's fields. Random lines over
 * an alphabet of commas, CR, tab, spaces, letters and digits (and no quote or NUL), some with
 * fields over CM_FIELD_MAX or more than CM_FIELDS_MAX fields, are split both ways. */
START_TEST(test_fast_path_equals_libcsv)
{
    static const char alphabet[] = ",,,,,\r\t  abcxyz0129.-_:/";
    static cm_row_parser slow;
    ck_assert_int_eq(cm_row_parser_init(&slow), 0);
    slow.libcsv_only = 1;
    uint64_t state = 0x9E3779B97F4A7C15ULL;
    static char line[4096];
    int compared = 0, long_fields = 0, many_fields = 0;
    for (int round = 0; round < 60000; round++) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t len = (size_t)(state >> 33) % (round % 50 == 0 ? 3000 : 120);
        int commas_only = round % 97 == 0;
        for (size_t i = 0; i < len; i++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t pick = (size_t)(state >> 33) % (sizeof alphabet - 1);
            line[i] = commas_only ? ',' : alphabet[pick];
            if (round % 50 == 0 && i > 0 && (state >> 20) % 300 != 0 && line[i] == ',')
                line[i] = 'x'; /* long lines with long fields */
        }
        int fast_count = cm_row_split(&parser, line, len);
        int slow_count = cm_row_split(&slow, line, len);
        if (fast_count != slow_count)
            ck_abort_msg("round %d: fast path gives %d, libcsv %d for '%.*s'", round, fast_count,
                         slow_count, (int)(len < 200 ? len : 200), line);
        long_fields += fast_count == -CM_REJECT_LONG_FIELD;
        many_fields += fast_count > CM_FIELDS_MAX;
        int fields = fast_count < CM_FIELDS_MAX ? fast_count : CM_FIELDS_MAX;
        for (int f = 0; f < fields; f++) {
            if (parser.field_len[f] != slow.field_len[f] ||
                memcmp(parser.field[f], slow.field[f], parser.field_len[f]) != 0)
                ck_abort_msg("round %d field %d differs: '%.*s' vs '%.*s'", round, f,
                             (int)parser.field_len[f], parser.field[f], (int)slow.field_len[f],
                             slow.field[f]);
        }
        compared++;
    }
    ck_assert_int_eq(compared, 60000);
    ck_assert_int_gt(long_fields, 10); /* the interesting cases did occur */
    ck_assert_int_gt(many_fields, 10);
    cm_row_parser_free(&slow);
}
END_TEST

static Suite *row_suite(void)
{
    Suite *suite = suite_create("row");
    TCase *core = tcase_create("core");
    tcase_add_checked_fixture(core, setup, teardown);
    tcase_add_test(core, test_real_row);
    tcase_add_test(core, test_event_types);
    tcase_add_test(core, test_quoted_fields);
    tcase_add_test(core, test_empty_optional_fields);
    tcase_add_test(core, test_prices_accepted);
    tcase_add_test(core, test_spaces_preserved);
    tcase_add_test(core, test_parse_id);
    tcase_add_test(core, test_row_after_reject);
    tcase_add_test(core, test_layout_standard);
    tcase_add_test(core, test_layout_other_order_and_extra);
    suite_add_tcase(suite, core);

    TCase *limits = tcase_create("limits");
    tcase_add_checked_fixture(limits, setup, teardown);
    tcase_add_test(limits, test_reject_field_count);
    tcase_add_test(limits, test_reject_quoting);
    tcase_add_test(limits, test_reject_long_field);
    tcase_add_test(limits, test_reject_nul_and_empty);
    tcase_add_test(limits, test_reject_time);
    tcase_add_test(limits, test_reject_event_type);
    tcase_add_test(limits, test_reject_ids);
    tcase_add_test(limits, test_reject_prices);
    tcase_add_test(limits, test_price_within_max);
    tcase_add_test(limits, test_first_failing_check_wins);
    tcase_add_test(limits, test_layout_errors);
    tcase_add_test(limits, test_reject_names);
    tcase_add_test(limits, test_fast_path_equals_libcsv);
    suite_add_tcase(suite, limits);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(row_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
