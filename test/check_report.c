/* Unit tests of the report's pieces: number formats, escaping, label fitting, chart axes and
 * marks, the rankings with "other", and results.h5 read back. */
#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clickmill/output.h"
#include "clickmill/report.h"
#include "clickmill/summary.h"
#include "clickmill/svg.h"

static char *text_of(cm_buffer *buffer)
{
    cm_buffer_append(buffer, "", 1);
    return buffer->data;
}

START_TEST(test_number_formats)
{
    const struct {
        double value;
        cm_number_kind kind;
        int compact;
        const char *want;
    } cases[] = {
        {0, CM_NUM_COUNT, 0, "0"},          {1234567, CM_NUM_COUNT, 0, "1,234,567"},
        {-1234, CM_NUM_COUNT, 0, "-1,234"}, {1234567.891, CM_NUM_MONEY, 0, "1,234,567.89"},
        {0.5, CM_NUM_MONEY, 0, "0.50"},     {44.68477, CM_NUM_PERCENT, 0, "44.7%"},
        {40, CM_NUM_PERCENT, 1, "40%"},     {0.1234, CM_NUM_RATIO, 0, "0.123"},
        {0.2, CM_NUM_RATIO, 1, "0.2"},      {999, CM_NUM_COUNT, 1, "999"},
        {2500, CM_NUM_COUNT, 1, "2.5k"},    {50000, CM_NUM_COUNT, 1, "50k"},
        {7500000, CM_NUM_COUNT, 1, "7.5M"}, {10000000, CM_NUM_COUNT, 1, "10M"},
        {3e9, CM_NUM_MONEY, 1, "3B"},       {NAN, CM_NUM_COUNT, 0, "-"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        cm_format_number(cases[i].value, cases[i].kind, cases[i].compact, out, sizeof out);
        ck_assert_msg(strcmp(out, cases[i].want) == 0, "case %zu: got '%s', want '%s'", i, out,
                      cases[i].want);
    }
}
END_TEST

START_TEST(test_escaping)
{
    cm_buffer out = {0};
    cm_xml_text(&out, "<a href=\"x\">Tom & Jerry's</a>\x01\x7f caf\xc3\xa9");
    ck_assert_str_eq(text_of(&out), "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
                                    "   caf\xc3\xa9");
    /* what is not UTF-8 text XML allows becomes U+FFFD, one per bad byte or sequence */
    const struct {
        const char *in, *want;
    } bad[] = {
        {"a\xff"
         "b",
         "a\xef\xbf\xbd"
         "b"},                                                    /* a byte that starts nothing */
        {"\xc3", "\xef\xbf\xbd"},                                 /* cut short */
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong '/' */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
        {"\xef\xbf\xbf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* U+FFFF */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf0\x9f\x98\x80 \xe2\x82\xac", "\xf0\x9f\x98\x80 \xe2\x82\xac"}, /* kept */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        out.len = 0;
        cm_xml_text(&out, bad[i].in);
        ck_assert_msg(strcmp(text_of(&out), bad[i].want) == 0, "case %zu", i);
    }
    cm_buffer_free(&out);
}
END_TEST

/* A chart's marks carry every value, escaped labels, and a long label is cut with an
 * ellipsis at a character boundary while its title keeps it whole. */
START_TEST(test_bar_chart_marks)
{
    char long_label[400];
    memset(long_label, 'x', sizeof long_label - 3);
    memcpy(long_label + 100, "\xc3\xa9", 2); /* a two-byte character inside the cut region */
    long_label[sizeof long_label - 3] = '\0';
    const char *labels[] = {"a<b", long_label, "zero"};
    double values[] = {1234, 0.25, 0};
    cm_bar_chart chart = {.id = "t",
                          .title = "t & u",
                          .horizontal = 1,
                          .value_labels = 1,
                          .ncategories = 3,
                          .categories = labels,
                          .nseries = 1,
                          .series = {{"n", values, 0}},
                          .kind = CM_NUM_COUNT};
    cm_buffer out = {0};
    cm_svg_bars(&out, &chart);
    const char *svg = text_of(&out);
    ck_assert_ptr_nonnull(
        strstr(svg, "data-label=\"a&lt;b\" data-series=\"n\" data-value=\"1234\""));
    ck_assert_ptr_nonnull(strstr(svg, "data-value=\"0\""));
    ck_assert_ptr_nonnull(strstr(svg, "<title id=\"t-title\">t &amp; u</title>"));
    ck_assert_ptr_nonnull(strstr(svg, ">1,234</text>"));
    ck_assert_ptr_nonnull(strstr(svg, "\xe2\x80\xa6")); /* the ellipsis */
    ck_assert_ptr_nonnull(strstr(svg, long_label));     /* whole, in the title */
    /* the cut never splits the two-byte character: every byte 0xa9 follows a 0xc3 */
    for (const char *c = svg; *c; c++)
        if ((unsigned char)*c == 0xa9)
            ck_assert_int_eq((unsigned char)c[-1], 0xc3);
    /* a value above zero always gets a bar of at least one pixel; zero gets none */
    const char *tiny = strstr(svg, long_label);
    ck_assert_ptr_nonnull(tiny);
    ck_assert_ptr_nonnull(strstr(svg, "width=\"0.0\""));
    cm_buffer_free(&out);
}
END_TEST

/* Axis ticks are round numbers from 0 to at least the largest value. */
START_TEST(test_axis_ticks)
{
    const double maxima[] = {1, 7, 10, 99, 101, 2480, 9615206, 0.37};
    /* four intervals of 1, 2, 2.5 or 5 times a power of ten: 7 -> 2 x 4 = 8, 101 -> 50 x 3 */
    const char *const last_tick[] = {"1", "8", "10", "100", "150", "3k", "10M", "0.4"};
    for (size_t i = 0; i < sizeof maxima / sizeof maxima[0]; i++) {
        const char *labels[] = {"a"};
        double values[] = {maxima[i]};
        cm_bar_chart chart = {.id = "t",
                              .title = "t",
                              .horizontal = 1,
                              .ncategories = 1,
                              .categories = labels,
                              .nseries = 1,
                              .series = {{"n", values, 0}},
                              .kind = maxima[i] < 1 ? CM_NUM_RATIO : CM_NUM_COUNT};
        cm_buffer out = {0};
        cm_svg_bars(&out, &chart);
        const char *svg = text_of(&out), *tick = NULL, *at = svg;
        while ((at = strstr(at, "class=\"tick\"")) != NULL)
            tick = at++;
        ck_assert_ptr_nonnull(tick);
        char want[64];
        snprintf(want, sizeof want, ">%s</text>", last_tick[i]);
        ck_assert_msg(strncmp(strchr(tick, '>'), want, strlen(want)) == 0,
                      "max %g: last tick %.20s, want %s", maxima[i], strchr(tick, '>'), want);
        cm_buffer_free(&out);
    }
}
END_TEST

/* The top rows by a score, "unknown" left out, the rest added up, ties in key order. */
START_TEST(test_top_rows)
{
    static const cm_column_def cols[] = {
        {"name", CM_CELL_TEXT}, {"a", CM_CELL_INT}, {"b", CM_CELL_INT}};
    cm_result table = {.name = "t", .ncols = 3, .nkeys = 1, .cols = cols};
    const char *names[] = {"c", "d", "e", "f", "unknown", "g"};
    int64_t a[] = {5, 3, 5, 0, 50, 1}, b[] = {1, 4, 1, 0, 0, 9};
    for (int i = 0; i < 6; i++) {
        cm_cell *row = cm_result_add_row(&table);
        row[0].text = strdup(names[i]);
        row[1].num = a[i];
        row[2].num = b[i];
    }
    size_t rows[3];
    int64_t rest;
    /* by a: c=5, e=5 (tie: key order), d=3; rest: unknown 50 + g 1 */
    size_t n = cm_top_rows(&table, 1, -1, 2, 3, 1, rows, &rest);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(rows[0], 0);
    ck_assert_uint_eq(rows[1], 2);
    ck_assert_uint_eq(rows[2], 1);
    ck_assert_int_eq(rest, 51);
    /* by a + b: g=10, d=7, c=6, e=6; unknown kept when not skipped */
    n = cm_top_rows(&table, 1, 2, -1, 3, 0, rows, &rest);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(rows[0], 4);
    ck_assert_uint_eq(rows[1], 5);
    ck_assert_uint_eq(rows[2], 1);
    ck_assert_int_eq(rest, 12);
    for (size_t r = 0; r < table.nrows; r++)
        free(cm_result_row(&table, r)[0].text);
    free(table.cells);
}
END_TEST

/* results.h5 read back gives the tables written, money to the cent; values no analysis can
 * produce are refused. */
START_TEST(test_results_round_trip)
{
    cm_results results;
    cm_results_init(&results);
    const char *files[] = {"a.csv", "b.csv"};
    int64_t bytes[] = {10, 20};
    results.nfiles = 2;
    results.files = files;
    results.file_bytes = bytes;
    results.ranks = 3;
    results.rows_read = 7;
    results.run_seconds = 1.5;
    for (int t = 0; t < CM_NTABLES; t++) {
        cm_result *table = &results.tables[t];
        for (int r = 0; r < (t == CM_T_SUMMARY ? 1 : 3); r++) {
            cm_cell *row = cm_result_add_row(table);
            for (int c = 0; c < table->ncols; c++) {
                if (table->cols[c].type == CM_CELL_TEXT) {
                    char text[32];
                    snprintf(text, sizeof text, "%s<%d,%d>\xc3\xa9", table->name, r, c);
                    row[c].text = strdup(text);
                } else {
                    row[c].num = (int64_t)(r * 1000003 + c) * 7919 + 1; /* money: odd cents */
                    if (t == CM_T_HOURS && c == 0)
                        row[c].num = r; /* an hour of the day */
                }
            }
        }
    }
    char path[] = "/tmp/check_report.XXXXXX", err[1024];
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(cm_results_write_h5(path, &results, err, sizeof err), 0);
    cm_results_file back;
    ck_assert_msg(cm_results_read_h5(path, &back, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(back.nfiles, 2);
    ck_assert_str_eq(back.files[1], "b.csv");
    ck_assert_int_eq(back.file_bytes[1], 20);
    ck_assert_int_eq(back.results.ranks, 3);
    ck_assert_int_eq(back.results.rows_read, 7);
    for (int t = 0; t < CM_NTABLES; t++) {
        const cm_result *a = &results.tables[t], *b = &back.results.tables[t];
        ck_assert_uint_eq(a->nrows, b->nrows);
        for (size_t r = 0; r < a->nrows; r++)
            for (int c = 0; c < a->ncols; c++) {
                const cm_cell *x = cm_result_row(a, r), *y = cm_result_row(b, r);
                if (a->cols[c].type == CM_CELL_TEXT)
                    ck_assert_str_eq(x[c].text, y[c].text);
                else
                    ck_assert_int_eq(x[c].num, y[c].num);
            }
    }
    cm_results_file_free(&back);
    /* an hour of 24, and a negative count, are damage */
    cm_result_row(&results.tables[CM_T_HOURS], 1)[0].num = 24;
    ck_assert_int_eq(cm_results_write_h5(path, &results, err, sizeof err), 0);
    ck_assert_int_ne(cm_results_read_h5(path, &back, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "hour = 24 is out of range"));
    cm_result_row(&results.tables[CM_T_HOURS], 1)[0].num = 1;
    cm_result_row(&results.tables[CM_T_DAYS], 2)[3].num = -1;
    ck_assert_int_eq(cm_results_write_h5(path, &results, err, sizeof err), 0);
    ck_assert_int_ne(cm_results_read_h5(path, &back, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "purchases = -1 is out of range"));
    cm_results_free(&results);
    unlink(path);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *suite = suite_create("report");
    TCase *core = tcase_create("core");
    tcase_set_timeout(core, 60);
    tcase_add_test(core, test_number_formats);
    tcase_add_test(core, test_escaping);
    tcase_add_test(core, test_bar_chart_marks);
    tcase_add_test(core, test_axis_ticks);
    tcase_add_test(core, test_top_rows);
    tcase_add_test(core, test_results_round_trip);
    suite_add_tcase(suite, core);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(report_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
