/* Unit tests of event times (parse, format, hour, weekday) and the derived category and product. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clickmill/event.h"

static int parse_time(const char *text, int64_t *seconds)
{
    return cm_time_parse(text, strlen(text), seconds);
}

static cm_text text_of(const char *s)
{
    return (cm_text){s, strlen(s)};
}

static void assert_text(cm_text text, const char *expected)
{
    ck_assert_msg(text.len == strlen(expected) && memcmp(text.ptr, expected, text.len) == 0,
                  "got '%.*s', expected '%s'", (int)text.len, text.ptr, expected);
}

static cm_event event_with(const char *category_code, const char *brand)
{
    cm_event event;
    memset(&event, 0, sizeof event);
    event.category_code = text_of(category_code);
    event.brand = text_of(brand);
    return event;
}

/* splitmix64, for reproducible random times. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* ---- core ---- */

START_TEST(test_time_parse_hand_worked)
{
    int64_t seconds = -1;
    ck_assert_int_eq(parse_time("1970-01-01 00:00:00 UTC", &seconds), 0);
    ck_assert_int_eq(seconds, 0);
    ck_assert_int_eq(parse_time("1970-01-01 00:00:01 UTC", &seconds), 0);
    ck_assert_int_eq(seconds, 1);
    ck_assert_int_eq(parse_time("1970-01-02 01:01:01 UTC", &seconds), 0);
    ck_assert_int_eq(seconds, 86400 + 3600 + 60 + 1);
    /* 1970..2018 is 49 years with 12 leap days: 17897 days, and 273 more to October 1st. */
    ck_assert_int_eq(parse_time("2019-10-01 00:00:00 UTC", &seconds), 0);
    ck_assert_int_eq(seconds, 1569888000);
    ck_assert_int_eq(parse_time("2019-10-01 23:59:59 UTC", &seconds), 0);
    ck_assert_int_eq(seconds, 1569888000 + 86399);
    /* 2000-01-01 is day 10957; plus 31 + 28 days is February 29th. */
    ck_assert_int_eq(parse_time("2000-02-29 12:34:56 UTC", &seconds), 0);
    ck_assert_int_eq(seconds, (int64_t)(10957 + 59) * 86400 + 12 * 3600 + 34 * 60 + 56);
    ck_assert_int_eq(parse_time("2000-03-01 00:00:00 UTC", &seconds), 0);
    ck_assert_int_eq(seconds, (int64_t)(10957 + 60) * 86400);
    ck_assert_int_eq(parse_time("9999-12-31 23:59:59 UTC", &seconds), 0);
    ck_assert_int_eq(seconds, 253402300799LL);
    /* Only the first 23 bytes are looked at when len says so. */
    ck_assert_int_eq(cm_time_parse("2019-10-01 00:00:00 UTCxyz", 23, &seconds), 0);
    ck_assert_int_eq(seconds, 1569888000);
}
END_TEST

START_TEST(test_time_format_hand_worked)
{
    char out[24];
    cm_time_format(0, out);
    ck_assert_str_eq(out, "1970-01-01 00:00:00 UTC");
    cm_time_format(1569888000, out);
    ck_assert_str_eq(out, "2019-10-01 00:00:00 UTC");
    cm_time_format(1569888000 + 13 * 3600 + 45 * 60 + 7, out);
    ck_assert_str_eq(out, "2019-10-01 13:45:07 UTC");
    cm_time_format(951827696, out);
    ck_assert_str_eq(out, "2000-02-29 12:34:56 UTC");
    cm_time_format(253402300799LL, out);
    ck_assert_str_eq(out, "9999-12-31 23:59:59 UTC");

    char date[11];
    cm_date_format(0, date);
    ck_assert_str_eq(date, "1970-01-01");
    cm_date_format(1569888000 - 1, date);
    ck_assert_str_eq(date, "2019-09-30");
    cm_date_format(1569888000, date);
    ck_assert_str_eq(date, "2019-10-01");
    cm_date_format(951827696, date);
    ck_assert_str_eq(date, "2000-02-29");
}
END_TEST

START_TEST(test_hour_and_weekday)
{
    ck_assert_int_eq(cm_time_hour(0), 0);
    ck_assert_int_eq(cm_time_hour(3599), 0);
    ck_assert_int_eq(cm_time_hour(3600), 1);
    ck_assert_int_eq(cm_time_hour(1569888000 + 23 * 3600 + 59 * 60 + 59), 23);
    ck_assert_int_eq(cm_time_hour(1569888000 + 86400), 0);
    /* 1970-01-01 was a Thursday; 2019-10-01 a Tuesday; 2019-10-06 a Sunday. */
    ck_assert_int_eq(cm_time_weekday(0), 3);
    ck_assert_int_eq(cm_time_weekday(1569888000), 1);
    ck_assert_int_eq(cm_time_weekday(1569888000 + 86399), 1);
    ck_assert_int_eq(cm_time_weekday(1569888000 - 1), 0);
    ck_assert_int_eq(cm_time_weekday(1569888000 + 5 * 86400), 6);
    ck_assert_int_eq(cm_time_weekday(1569888000 + 6 * 86400), 0);
}
END_TEST

START_TEST(test_time_round_trip_against_libc)
{
    /* gmtime_r is an independent reckoning of the same calendar. */
    uint64_t seed = 46;
    for (int i = 0; i < 20000; i++) {
        int64_t seconds = (int64_t)(rng_next(&seed) % 253402300800ULL);
        if (i < 2000) /* the data's own years, densely */
            seconds = 1546300800 + (int64_t)(rng_next(&seed) % (3 * 366 * 86400ULL));
        time_t t = (time_t)seconds;
        struct tm tm;
        ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
        char want[64], want_date[16];
        strftime(want, sizeof want, "%Y-%m-%d %H:%M:%S UTC", &tm);
        strftime(want_date, sizeof want_date, "%Y-%m-%d", &tm);

        char out[24], date[11];
        cm_time_format(seconds, out);
        ck_assert_str_eq(out, want);
        cm_date_format(seconds, date);
        ck_assert_str_eq(date, want_date);
        ck_assert_int_eq(cm_time_hour(seconds), tm.tm_hour);
        ck_assert_int_eq(cm_time_weekday(seconds), (tm.tm_wday + 6) % 7);

        int64_t back = -1;
        ck_assert_int_eq(cm_time_parse(want, 23, &back), 0);
        ck_assert_int_eq(back, seconds);
    }
}
END_TEST

START_TEST(test_category_and_product)
{
    cm_event event = event_with("electronics.smartphone", "samsung");
    assert_text(cm_event_category(&event), "electronics");
    assert_text(cm_event_product(&event), "smartphone");

    event = event_with("appliances.kitchen.washer", "");
    assert_text(cm_event_category(&event), "appliances");
    assert_text(cm_event_product(&event), "washer");

    event = event_with("computers", "lenovo");
    assert_text(cm_event_category(&event), "computers");
    assert_text(cm_event_product(&event), "computers");

    event = event_with("", "xiaomi");
    assert_text(cm_event_category(&event), "xiaomi");
    assert_text(cm_event_product(&event), "xiaomi");

    event = event_with("", "");
    assert_text(cm_event_category(&event), "unknown");
    assert_text(cm_event_product(&event), "unknown");

    /* The result borrows from the event's own text. */
    event = event_with("kids.toys", "");
    ck_assert_ptr_eq(cm_event_category(&event).ptr, event.category_code.ptr);
    ck_assert_ptr_eq(cm_event_product(&event).ptr, event.category_code.ptr + 5);
}
END_TEST

/* ---- limits ---- */

START_TEST(test_time_parse_rejects)
{
    static const char *const bad[] = {
        "1900-01-01 00:00:00 UTC", "1969-12-31 23:59:59 UTC",  "2019-13-01 00:00:00 UTC",
        "2019-00-01 00:00:00 UTC", "2019-10-00 00:00:00 UTC",  "2019-10-32 00:00:00 UTC",
        "2019-04-31 00:00:00 UTC", "2019-02-29 00:00:00 UTC",  "2100-02-29 00:00:00 UTC",
        "1900-02-29 00:00:00 UTC", "2019-10-01 24:00:00 UTC",  "2019-10-01 00:60:00 UTC",
        "2019-10-01 00:00:60 UTC", "2019-10-01 00:00:00",      "2019-10-01 00:00:00 utc",
        "2019-10-01 00:00:00 GMT", "2019-10-01T00:00:00 UTC",  "2019/10/01 00:00:00 UTC",
        "2019-10-01 00.00.00 UTC", "2019-1a-01 00:00:00 UTC",  "YYYY-MM-DD HH:MM:SS UTC",
        "2019-10-01 0:00:00 UTC ", " 2019-10-01 00:00:00 UTC", "2019-10-01 00:00:00 UTC ",
        "-019-10-01 00:00:00 UTC", "2019-+1-01 00:00:00 UTC",  "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t seconds = 42;
        ck_assert_msg(parse_time(bad[i], &seconds) == -1, "'%s' accepted", bad[i]);
        ck_assert_int_eq(seconds, 42);
    }
    /* A shorter length cuts the text: "UT" is not "UTC". */
    int64_t seconds;
    ck_assert_int_eq(cm_time_parse("2019-10-01 00:00:00 UTC", 22, &seconds), -1);
}
END_TEST

START_TEST(test_leap_years)
{
    int64_t seconds;
    ck_assert_int_eq(parse_time("2000-02-29 00:00:00 UTC", &seconds), 0);
    ck_assert_int_eq(parse_time("2004-02-29 00:00:00 UTC", &seconds), 0);
    ck_assert_int_eq(parse_time("2020-02-29 00:00:00 UTC", &seconds), 0);
    ck_assert_int_eq(parse_time("2400-02-29 00:00:00 UTC", &seconds), 0);
    ck_assert_int_eq(parse_time("2019-02-29 00:00:00 UTC", &seconds), -1);
    ck_assert_int_eq(parse_time("2100-02-29 00:00:00 UTC", &seconds), -1);
    ck_assert_int_eq(parse_time("2200-02-29 00:00:00 UTC", &seconds), -1);
    ck_assert_int_eq(parse_time("2020-02-30 00:00:00 UTC", &seconds), -1);
    /* The day after February 28th of a common year is March 1st. */
    int64_t feb28, mar1;
    ck_assert_int_eq(parse_time("2019-02-28 00:00:00 UTC", &feb28), 0);
    ck_assert_int_eq(parse_time("2019-03-01 00:00:00 UTC", &mar1), 0);
    ck_assert_int_eq(mar1 - feb28, 86400);
    ck_assert_int_eq(parse_time("2020-02-28 00:00:00 UTC", &feb28), 0);
    ck_assert_int_eq(parse_time("2020-03-01 00:00:00 UTC", &mar1), 0);
    ck_assert_int_eq(mar1 - feb28, 2 * 86400);
}
END_TEST

START_TEST(test_category_edges)
{
    /* The brand fallback applies only when the code is empty. */
    cm_event event = event_with("furniture", "");
    assert_text(cm_event_category(&event), "furniture");
    assert_text(cm_event_product(&event), "furniture");

    event = event_with("a.b", "brand");
    assert_text(cm_event_category(&event), "a");
    assert_text(cm_event_product(&event), "b");

    /* Spaces and upper case are kept as they are. */
    event = event_with("", " Acme ");
    assert_text(cm_event_category(&event), " Acme ");
    assert_text(cm_event_product(&event), " Acme ");

    /* The text is not NUL-terminated: only len bytes count. */
    event.category_code = (cm_text){"sport.bicycle.extra", 13};
    event.brand = (cm_text){"", 0};
    assert_text(cm_event_category(&event), "sport");
    assert_text(cm_event_product(&event), "bicycle");
}
END_TEST

static Suite *event_suite(void)
{
    Suite *suite = suite_create("event");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_time_parse_hand_worked);
    tcase_add_test(core, test_time_format_hand_worked);
    tcase_add_test(core, test_hour_and_weekday);
    tcase_add_test(core, test_time_round_trip_against_libc);
    tcase_add_test(core, test_category_and_product);
    suite_add_tcase(suite, core);

    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_time_parse_rejects);
    tcase_add_test(limits, test_leap_years);
    tcase_add_test(limits, test_category_edges);
    suite_add_tcase(suite, limits);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(event_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
