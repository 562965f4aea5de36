/* Unit tests of the splitter: rank ranges, their segments and the lines each segment reads. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clickmill/error.h"
#include "clickmill/lines.h"
#include "clickmill/plan.h"
#include "clickmill/row.h"

#define HEADER                                                                                     \
    "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,"              \
    "user_session"
#define MAX_FILES     4
#define DEFAULT_BLOCK ((size_t)1 << 16)

/* A deterministic generator (splitmix64), so every random case can be replayed. */
static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static size_t rng_below(uint64_t *state, size_t bound)
{
    return (size_t)(rng_next(state) % bound);
}

/* Every temporary file goes into one directory that main() removes after the run, so a failing
 * test (Check ends its process at the failed assertion) leaves nothing behind. */
static char tmp_dir[64];

/* A file written to a temporary path; the test keeps its content to compute the expected lines. */
typedef struct {
    char path[128];
    char *content;
    size_t len;
} tmp_file;

static void tmp_file_write(tmp_file *file, const char *content, size_t len)
{
    snprintf(file->path, sizeof file->path, "%s/input_XXXXXX", tmp_dir);
    int fd = mkstemp(file->path);
    ck_assert_msg(fd >= 0, "mkstemp: %s", strerror(errno));
    size_t done = 0;
    while (done < len) {
        ssize_t wrote = write(fd, content + done, len - done);
        ck_assert_msg(wrote > 0, "write: %s", strerror(errno));
        done += (size_t)wrote;
    }
    close(fd);
    file->content = malloc(len + 1);
    ck_assert_ptr_nonnull(file->content);
    memcpy(file->content, content, len);
    file->content[len] = '\0';
    file->len = len;
}

static void tmp_file_write_str(tmp_file *file, const char *content)
{
    tmp_file_write(file, content, strlen(content));
}

static void tmp_file_remove(tmp_file *file)
{
    unlink(file->path);
    free(file->content);
    file->content = NULL;
}

/* The first byte after the header, found without the library: one past the first '\n'. */
static int64_t expected_data_start(const tmp_file *file)
{
    const char *newline = memchr(file->content, '\n', file->len);
    return newline ? (int64_t)(newline - file->content) + 1 : (int64_t)file->len;
}

/* Opens every file with cm_input_open and adds the sizes up as cm_plan_build does. */
static void plan_from_files(cm_plan *plan, cm_input *inputs, const tmp_file *files, int nfiles)
{
    char err[512];
    memset(plan, 0, sizeof *plan);
    plan->nfiles = nfiles;
    plan->files = inputs;
    for (int i = 0; i < nfiles; i++) {
        int rc = cm_input_open(&inputs[i], files[i].path, err, sizeof err);
        ck_assert_msg(rc == 0, "cm_input_open(%s) = %d: %s", files[i].path, rc, err);
        ck_assert_int_eq(inputs[i].size, (int64_t)files[i].len);
        ck_assert_int_eq(inputs[i].data_start, expected_data_start(&files[i]));
        plan->data_bytes += inputs[i].size - inputs[i].data_start;
        plan->total_bytes += inputs[i].size;
    }
}

/* One line as an independent split of the file content by '\n' says it should be read. */
typedef struct {
    int file;
    int64_t offset;
    const char *text;
    size_t len;
    int too_long;
} expected_line;

typedef struct {
    expected_line *lines;
    size_t count, cap;
} expected_lines;

static void expect_line(expected_lines *all, expected_line line)
{
    if (all->count == all->cap) {
        all->cap = all->cap ? all->cap * 2 : 64;
        all->lines = realloc(all->lines, all->cap * sizeof *all->lines);
        ck_assert_ptr_nonnull(all->lines);
    }
    all->lines[all->count++] = line;
}

/* Every data line of every file in order: split at '\n', a final '\r' dropped, and a last line
 * without '\n' still a line. */
static void split_expected(const tmp_file *files, int nfiles, expected_lines *all)
{
    memset(all, 0, sizeof *all);
    for (int f = 0; f < nfiles; f++) {
        const char *text = files[f].content;
        size_t pos = (size_t)expected_data_start(&files[f]);
        while (pos < files[f].len) {
            size_t end = pos;
            while (end < files[f].len && text[end] != '\n')
                end++;
            size_t len = end - pos;
            if (len > 0 && text[end - 1] == '\r')
                len--;
            expect_line(all, (expected_line){f, (int64_t)pos, text + pos, len, len > CM_LINE_MAX});
            pos = end + 1;
        }
    }
}

/* Reads every rank's segments with cm_lines and checks that together they give exactly the
 * expected lines, each once and in order. */
static void check_ranks(const cm_plan *plan, const tmp_file *files, int nranks, size_t block)
{
    expected_lines all;
    split_expected(files, plan->nfiles, &all);
    size_t cursor = 0;
    int64_t covered = 0;
    for (int rank = 0; rank < nranks; rank++) {
        cm_segment segs[MAX_FILES];
        int nsegs = cm_plan_segments(plan, nranks, rank, segs);
        int64_t lo, hi, seg_bytes = 0;
        cm_range_of_rank(plan->data_bytes, nranks, rank, &lo, &hi);
        ck_assert_int_ge(nsegs, 0);
        ck_assert_int_le(nsegs, plan->nfiles);
        for (int s = 0; s < nsegs; s++) {
            const cm_input *input = &plan->files[segs[s].file];
            ck_assert_msg(s == 0 || segs[s].file > segs[s - 1].file, "segments out of file order");
            ck_assert_int_ge(segs[s].start, input->data_start);
            ck_assert_int_le(segs[s].end, input->size);
            ck_assert_int_lt(segs[s].start, segs[s].end);
            seg_bytes += segs[s].end - segs[s].start;

            cm_lines lines;
            int rc = cm_lines_open(&lines, input->path, input->size, input->data_start,
                                   segs[s].start, segs[s].end, block);
            ck_assert_int_eq(rc, 0);
            for (;;) {
                const char *line = NULL;
                size_t len = 0;
                int64_t offset = -1;
                rc = cm_lines_next(&lines, &line, &len, &offset);
                ck_assert_msg(rc >= 0, "cm_lines_next failed: %s", lines.err);
                if (rc == 0)
                    break;
                ck_assert_msg(cursor < all.count,
                              "nranks %d block %zu rank %d: extra line at offset %lld", nranks,
                              block, rank, (long long)offset);
                const expected_line *want = &all.lines[cursor++];
                ck_assert_msg(segs[s].file == want->file && offset == want->offset,
                              "nranks %d block %zu rank %d: line %zu read at file %d offset %lld, "
                              "expected file %d offset %lld",
                              nranks, block, rank, cursor - 1, segs[s].file, (long long)offset,
                              want->file, (long long)want->offset);
                if (want->too_long) {
                    ck_assert_int_eq(rc, CM_LINE_TOO_LONG);
                    continue;
                }
                ck_assert_msg(rc == 1, "nranks %d block %zu: line at offset %lld gave %d", nranks,
                              block, (long long)offset, rc);
                ck_assert_msg(len == want->len && memcmp(line, want->text, len) == 0,
                              "nranks %d block %zu rank %d: line at offset %lld is '%.*s' (%zu "
                              "bytes), expected '%.*s' (%zu bytes)",
                              nranks, block, rank, (long long)offset, (int)(len < 60 ? len : 60),
                              line, len, (int)(want->len < 60 ? want->len : 60), want->text,
                              want->len);
            }
            cm_lines_close(&lines);
        }
        ck_assert_int_eq(seg_bytes, hi - lo);
        covered += seg_bytes;
    }
    ck_assert_int_eq(covered, plan->data_bytes);
    ck_assert_msg(cursor == all.count, "nranks %d block %zu: read %zu lines, expected %zu", nranks,
                  block, cursor, all.count);
    free(all.lines);
}

static const size_t block_sizes[] = {1, 7, 64, DEFAULT_BLOCK};
#define NBLOCKS (sizeof block_sizes / sizeof block_sizes[0])

/* Checks one set of files for every rank count in [1, max_ranks] and every block size. */
static void check_files(const char *const *contents, const size_t *lens, int nfiles, int min_ranks,
                        int max_ranks)
{
    tmp_file files[MAX_FILES];
    cm_input inputs[MAX_FILES];
    cm_plan plan;
    memset(files, 0, sizeof files);
    for (int f = 0; f < nfiles; f++)
        tmp_file_write(&files[f], contents[f], lens ? lens[f] : strlen(contents[f]));
    plan_from_files(&plan, inputs, files, nfiles);
    for (int nranks = min_ranks; nranks <= max_ranks; nranks++)
        for (size_t b = 0; b < NBLOCKS; b++)
            check_ranks(&plan, files, nranks, block_sizes[b]);
    for (int f = 0; f < nfiles; f++)
        tmp_file_remove(&files[f]);
}

static void check_one_file(const char *content, int max_ranks)
{
    check_files(&content, NULL, 1, 1, max_ranks);
}

/* ---- core ---- */

START_TEST(test_range_hand_worked)
{
    int64_t lo, hi;
    cm_range_of_rank(10, 3, 0, &lo, &hi);
    ck_assert_int_eq(lo, 0);
    ck_assert_int_eq(hi, 3);
    cm_range_of_rank(10, 3, 1, &lo, &hi);
    ck_assert_int_eq(lo, 3);
    ck_assert_int_eq(hi, 6);
    cm_range_of_rank(10, 3, 2, &lo, &hi);
    ck_assert_int_eq(lo, 6);
    ck_assert_int_eq(hi, 10);
    cm_range_of_rank(5, 1, 0, &lo, &hi);
    ck_assert_int_eq(lo, 0);
    ck_assert_int_eq(hi, 5);
}
END_TEST

START_TEST(test_range_covers_total)
{
    static const int64_t totals[] = {0,
                                     1,
                                     2,
                                     3,
                                     7,
                                     100,
                                     1000003,
                                     123456789,
                                     INT32_MAX,
                                     ((int64_t)1 << 40) + 17,
                                     ((int64_t)1 << 62) + 12345,
                                     INT64_MAX};
    for (size_t t = 0; t < sizeof totals / sizeof totals[0]; t++) {
        int64_t total = totals[t];
        for (int nranks = 1; nranks <= 70; nranks++) {
            int64_t share = total / nranks, prev_hi = 0;
            for (int rank = 0; rank < nranks; rank++) {
                int64_t lo, hi;
                cm_range_of_rank(total, nranks, rank, &lo, &hi);
                ck_assert_msg(lo == prev_hi, "total %lld nranks %d rank %d: lo %lld, expected %lld",
                              (long long)total, nranks, rank, (long long)lo, (long long)prev_hi);
                ck_assert_int_le(lo, hi);
                ck_assert_msg(hi - lo == share || hi - lo == share + 1,
                              "total %lld nranks %d rank %d: %lld bytes, share %lld",
                              (long long)total, nranks, rank, (long long)(hi - lo),
                              (long long)share);
                prev_hi = hi;
            }
            ck_assert_int_eq(prev_hi, total);
        }
    }
}
END_TEST

START_TEST(test_segments_hand_worked)
{
    /* file 0: 10 data bytes at [10, 20); file 1: 20 data bytes at [5, 25); 30 bytes in all. */
    cm_input inputs[2] = {{.path = "a", .size = 20, .data_start = 10},
                          {.path = "b", .size = 25, .data_start = 5}};
    cm_plan plan = {.nfiles = 2, .files = inputs, .data_bytes = 30, .total_bytes = 45};
    cm_segment segs[2];

    /* 4 ranks: [0,7) [7,15) [15,22) [22,30) */
    ck_assert_int_eq(cm_plan_segments(&plan, 4, 0, segs), 1);
    ck_assert_int_eq(segs[0].file, 0);
    ck_assert_int_eq(segs[0].start, 10);
    ck_assert_int_eq(segs[0].end, 17);
    ck_assert_int_eq(cm_plan_segments(&plan, 4, 1, segs), 2);
    ck_assert_int_eq(segs[0].file, 0);
    ck_assert_int_eq(segs[0].start, 17);
    ck_assert_int_eq(segs[0].end, 20);
    ck_assert_int_eq(segs[1].file, 1);
    ck_assert_int_eq(segs[1].start, 5);
    ck_assert_int_eq(segs[1].end, 10);
    ck_assert_int_eq(cm_plan_segments(&plan, 4, 2, segs), 1);
    ck_assert_int_eq(segs[0].file, 1);
    ck_assert_int_eq(segs[0].start, 10);
    ck_assert_int_eq(segs[0].end, 17);
    ck_assert_int_eq(cm_plan_segments(&plan, 4, 3, segs), 1);
    ck_assert_int_eq(segs[0].file, 1);
    ck_assert_int_eq(segs[0].start, 17);
    ck_assert_int_eq(segs[0].end, 25);

    /* 3 ranks: [0,10) [10,20) [20,30): the first cut falls exactly on the file boundary. */
    ck_assert_int_eq(cm_plan_segments(&plan, 3, 0, segs), 1);
    ck_assert_int_eq(segs[0].file, 0);
    ck_assert_int_eq(segs[0].start, 10);
    ck_assert_int_eq(segs[0].end, 20);
    ck_assert_int_eq(cm_plan_segments(&plan, 3, 1, segs), 1);
    ck_assert_int_eq(segs[0].file, 1);
    ck_assert_int_eq(segs[0].start, 5);
    ck_assert_int_eq(segs[0].end, 15);

    /* 40 ranks over 30 bytes: some ranks own nothing. */
    int empty = 0;
    for (int rank = 0; rank < 40; rank++)
        empty += cm_plan_segments(&plan, 40, rank, segs) == 0;
    ck_assert_int_eq(empty, 10);
}
END_TEST

START_TEST(test_segments_mixed_inputs)
{
    /* CSV a: 10 data bytes at [10, 20); store s: 7 rows; CSV b: 20 data bytes at [5, 25);
       store t: 5 rows. 30 bytes and 12 rows, each cut into equal shares. */
    cm_input inputs[4] = {
        {.path = "a", .kind = CM_INPUT_CSV, .size = 20, .data_start = 10},
        {.path = "s", .kind = CM_INPUT_STORE, .size = 9999, .rows = 7},
        {.path = "b", .kind = CM_INPUT_CSV, .size = 25, .data_start = 5},
        {.path = "t", .kind = CM_INPUT_STORE, .size = 9999, .rows = 5},
    };
    cm_plan plan = {.nfiles = 4, .files = inputs, .data_bytes = 30, .store_rows = 12};
    cm_segment segs[4];

    /* 2 ranks: bytes [0,15) and [15,30), rows [0,6) and [6,12). */
    ck_assert_int_eq(cm_plan_segments(&plan, 2, 0, segs), 3);
    ck_assert_int_eq(segs[0].file, 0);
    ck_assert_int_eq(segs[0].start, 10);
    ck_assert_int_eq(segs[0].end, 20);
    ck_assert_int_eq(segs[1].file, 1);
    ck_assert_int_eq(segs[1].start, 0);
    ck_assert_int_eq(segs[1].end, 6);
    ck_assert_int_eq(segs[2].file, 2);
    ck_assert_int_eq(segs[2].start, 5);
    ck_assert_int_eq(segs[2].end, 10);
    ck_assert_int_eq(cm_plan_segments(&plan, 2, 1, segs), 3);
    ck_assert_int_eq(segs[0].file, 1);
    ck_assert_int_eq(segs[0].start, 6);
    ck_assert_int_eq(segs[0].end, 7);
    ck_assert_int_eq(segs[1].file, 2);
    ck_assert_int_eq(segs[1].start, 10);
    ck_assert_int_eq(segs[1].end, 25);
    ck_assert_int_eq(segs[2].file, 3);
    ck_assert_int_eq(segs[2].start, 0);
    ck_assert_int_eq(segs[2].end, 5);

    /* Any rank count: every byte and every row belongs to exactly one rank. */
    for (int nranks = 1; nranks <= 20; nranks++) {
        int owners[4][32] = {{0}};
        for (int rank = 0; rank < nranks; rank++) {
            int n = cm_plan_segments(&plan, nranks, rank, segs);
            for (int s = 0; s < n; s++)
                for (int64_t at = segs[s].start; at < segs[s].end; at++)
                    owners[segs[s].file][at]++;
        }
        for (int f = 0; f < 4; f++) {
            int64_t first = inputs[f].kind == CM_INPUT_STORE ? 0 : inputs[f].data_start;
            int64_t end = inputs[f].kind == CM_INPUT_STORE ? inputs[f].rows : inputs[f].size;
            for (int64_t at = 0; at < 32; at++)
                ck_assert_int_eq(owners[f][at], at >= first && at < end ? 1 : 0);
        }
    }
}
END_TEST

START_TEST(test_input_open_layout)
{
    tmp_file file;
    cm_input input;
    char err[512];
    tmp_file_write_str(&file, HEADER "\n2019-10-01 00:00:00 UTC,view,1,2,,,1.00,3,s\n");
    ck_assert_int_eq(cm_input_open(&input, file.path, err, sizeof err), 0);
    ck_assert_str_eq(input.path, file.path);
    ck_assert_int_eq(input.size, (int64_t)file.len);
    ck_assert_int_eq(input.data_start, (int64_t)strlen(HEADER) + 1);
    ck_assert_int_eq(input.layout.nfields, 9);
    for (int c = 0; c < CM_NCOLUMNS; c++)
        ck_assert_int_eq(input.layout.index[c], c);
    tmp_file_remove(&file);
}
END_TEST

START_TEST(test_lines_simple)
{
    /* Offsets worked by hand: the header is 91 bytes plus its '\n'. */
    tmp_file file;
    cm_input input;
    char err[512];
    const char *line;
    size_t len;
    int64_t offset;
    cm_lines lines;
    tmp_file_write_str(&file, HEADER "\nab\ncde\n\nf");
    ck_assert_int_eq(cm_input_open(&input, file.path, err, sizeof err), 0);
    ck_assert_int_eq(input.data_start, 92);
    ck_assert_int_eq(cm_lines_open(&lines, file.path, input.size, input.data_start,
                                   input.data_start, input.size, DEFAULT_BLOCK),
                     0);
    ck_assert_int_eq(cm_lines_next(&lines, &line, &len, &offset), 1);
    ck_assert_int_eq(offset, 92);
    ck_assert_int_eq(len, 2);
    ck_assert_int_eq(memcmp(line, "ab", 2), 0);
    ck_assert_int_eq(cm_lines_next(&lines, &line, &len, &offset), 1);
    ck_assert_int_eq(offset, 95);
    ck_assert_int_eq(len, 3);
    ck_assert_int_eq(memcmp(line, "cde", 3), 0);
    ck_assert_int_eq(cm_lines_next(&lines, &line, &len, &offset), 1);
    ck_assert_int_eq(offset, 99);
    ck_assert_int_eq(len, 0);
    ck_assert_int_eq(cm_lines_next(&lines, &line, &len, &offset), 1);
    ck_assert_int_eq(offset, 100);
    ck_assert_int_eq(len, 1);
    ck_assert_int_eq(line[0], 'f');
    ck_assert_int_eq(cm_lines_next(&lines, &line, &len, &offset), 0);
    ck_assert_int_eq(cm_lines_next(&lines, &line, &len, &offset), 0);
    cm_lines_close(&lines);

    /* A segment starting one byte into "cde" owns only the lines after it. */
    ck_assert_int_eq(
        cm_lines_open(&lines, file.path, input.size, input.data_start, 96, input.size, 7), 0);
    ck_assert_int_eq(cm_lines_next(&lines, &line, &len, &offset), 1);
    ck_assert_int_eq(offset, 99);
    ck_assert_int_eq(len, 0);
    cm_lines_close(&lines);

    /* A segment starting right after a '\n' owns the line starting there. */
    ck_assert_int_eq(cm_lines_open(&lines, file.path, input.size, input.data_start, 95, 96, 1), 0);
    ck_assert_int_eq(cm_lines_next(&lines, &line, &len, &offset), 1);
    ck_assert_int_eq(offset, 95);
    ck_assert_int_eq(len, 3);
    ck_assert_int_eq(cm_lines_next(&lines, &line, &len, &offset), 0);
    cm_lines_close(&lines);
    tmp_file_remove(&file);
}
END_TEST

START_TEST(test_lines_straddle_boundaries)
{
    check_one_file(HEADER "\n"
                          "2019-10-01 00:00:00 UTC,view,1,2,electronics.smartphone,apple,1.00,3,s\n"
                          "a,b\n"
                          "ccccccccccccccccccccccccccccccccccccccccccccccccc\n"
                          "d\n"
                          "eeeeeeeeeeeeeeeeeeeeeeeeeeee,ffffffffffff\n"
                          "g\n",
                   12);
}
END_TEST

START_TEST(test_lines_no_trailing_newline)
{
    check_one_file(HEADER "\nfirst line\nsecond line\nlast line without newline", 12);
}
END_TEST

START_TEST(test_lines_crlf)
{
    check_one_file(HEADER "\r\nalpha,1\r\nbeta,22\r\n\r\ngamma,333\r\nno newline", 12);
}
END_TEST

START_TEST(test_lines_empty_line_in_middle)
{
    check_one_file(HEADER "\nbefore\n\nafter\n\n\nend\n", 12);
}
END_TEST

START_TEST(test_lines_several_files)
{
    const char *contents[3] = {
        HEADER "\nfile0 line0\nfile0 line1 is a bit longer\nfile0 last",
        /* a header without a trailing newline: no data at all */
        HEADER,
        "user_session,event_time,event_type,product_id,category_id,category_code,brand,price,"
        "user_id\r\nfile2 line0\r\n\r\nfile2 line2\r\n",
    };
    check_files(contents, NULL, 3, 1, 12);
}
END_TEST

START_TEST(test_lines_random_property)
{
    uint64_t seed = 20191001;
    for (int round = 0; round < 25; round++) {
        int nfiles = 1 + (int)rng_below(&seed, 3);
        tmp_file files[MAX_FILES];
        cm_input inputs[MAX_FILES];
        cm_plan plan;
        memset(files, 0, sizeof files);
        for (int f = 0; f < nfiles; f++) {
            size_t cap = 16384, len = 0;
            char *text = malloc(cap);
            ck_assert_ptr_nonnull(text);
            if (rng_below(&seed, 5) == 0) {
                memcpy(text, "\xEF\xBB\xBF", 3);
                len = 3;
            }
            memcpy(text + len, HEADER, strlen(HEADER));
            len += strlen(HEADER);
            int nlines = (int)rng_below(&seed, 50);
            int crlf = rng_below(&seed, 3) == 0;
            int final_newline = rng_below(&seed, 2);
            if (nlines > 0 || rng_below(&seed, 2))
                text[len++] = '\n';
            for (int l = 0; l < nlines; l++) {
                size_t line_len = rng_below(&seed, 8) == 0 ? 0 : rng_below(&seed, 120);
                for (size_t i = 0; i < line_len; i++) {
                    /* A '\r' only inside a line: at a line's end it would be part of its end. */
                    size_t pick = rng_below(&seed, i + 1 < line_len ? 40 : 39);
                    text[len++] = pick < 26    ? (char)('a' + pick)
                                  : pick < 36  ? (char)('0' + pick - 26)
                                  : pick < 38  ? ','
                                  : pick == 38 ? '"'
                                               : '\r';
                }
                if (l < nlines - 1 || final_newline) {
                    if (crlf)
                        text[len++] = '\r';
                    text[len++] = '\n';
                }
            }
            tmp_file_write(&files[f], text, len);
            free(text);
        }
        plan_from_files(&plan, inputs, files, nfiles);
        for (int nranks = 1; nranks <= 9; nranks++) {
            size_t block = 1 + rng_below(&seed, 300);
            check_ranks(&plan, files, nranks, block);
        }
        check_ranks(&plan, files, 64, DEFAULT_BLOCK);
        for (int f = 0; f < nfiles; f++)
            tmp_file_remove(&files[f]);
    }
}
END_TEST

/* ---- limits ---- */

START_TEST(test_lines_ranges_shorter_than_a_line)
{
    char content[1024];
    char line[300];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\0';
    snprintf(content, sizeof content, "%s\n%.250s\n%.270s\n%.299s\n", HEADER, line, line, line);
    const char *contents[1] = {content};
    check_files(contents, NULL, 1, 1, 20);
    check_files(contents, NULL, 1, 200, 200);
}
END_TEST

START_TEST(test_lines_more_ranks_than_lines)
{
    check_one_file(HEADER "\na\nb\nc\nd\ne\n", 40);
}
END_TEST

START_TEST(test_lines_header_only)
{
    const char *contents[1] = {HEADER "\n"};
    check_files(contents, NULL, 1, 1, 5);
    contents[0] = HEADER;
    check_files(contents, NULL, 1, 1, 5);
    contents[0] = HEADER "\r\n";
    check_files(contents, NULL, 1, 1, 5);

    tmp_file file;
    cm_input inputs[1];
    cm_plan plan;
    cm_segment segs[1];
    tmp_file_write_str(&file, HEADER "\n");
    plan_from_files(&plan, inputs, &file, 1);
    ck_assert_int_eq(plan.data_bytes, 0);
    for (int rank = 0; rank < 4; rank++)
        ck_assert_int_eq(cm_plan_segments(&plan, 4, rank, segs), 0);
    tmp_file_remove(&file);
}
END_TEST

START_TEST(test_lines_empty_data_between_files)
{
    const char *contents[3] = {HEADER "\nx1\nx2\n", HEADER "\n", HEADER "\ny1\ny2"};
    check_files(contents, NULL, 3, 1, 12);
}
END_TEST

START_TEST(test_lines_empty_segment)
{
    tmp_file file;
    cm_lines lines;
    const char *line;
    size_t len;
    int64_t offset;
    tmp_file_write_str(&file, HEADER "\nabc\ndef\n");
    int64_t data_start = (int64_t)strlen(HEADER) + 1;
    ck_assert_int_eq(cm_lines_open(&lines, file.path, (int64_t)file.len, data_start, data_start + 4,
                                   data_start + 4, 64),
                     0);
    ck_assert_int_eq(cm_lines_next(&lines, &line, &len, &offset), 0);
    cm_lines_close(&lines);
    tmp_file_remove(&file);
}
END_TEST

/* Builds HEADER, some short lines, one line of `long_len` bytes, then more short lines. */
static char *content_with_long_line(size_t long_len, const char *line_end, size_t *len)
{
    size_t cap = long_len + 4096;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    int n = snprintf(text, cap, "%s\nshort one%sshort two%s", HEADER, line_end, line_end);
    size_t at = (size_t)n;
    memset(text + at, 'L', long_len);
    at += long_len;
    n = snprintf(text + at, cap - at, "%safter one%s%safter three%s", line_end, line_end, line_end,
                 line_end);
    *len = at + (size_t)n;
    return text;
}

START_TEST(test_lines_too_long)
{
    size_t len;
    char *text = content_with_long_line((size_t)CM_LINE_MAX + 10, "\n", &len);
    const char *contents[1] = {text};
    size_t lens[1] = {len};
    tmp_file files[1];
    cm_input inputs[1];
    cm_plan plan;
    tmp_file_write(&files[0], contents[0], lens[0]);
    plan_from_files(&plan, inputs, files, 1);
    for (int nranks = 1; nranks <= 5; nranks++) {
        check_ranks(&plan, files, nranks, 64);
        check_ranks(&plan, files, nranks, DEFAULT_BLOCK);
    }
    check_ranks(&plan, files, 1, 1);
    tmp_file_remove(&files[0]);
    free(text);

    /* A too-long last line without a newline, and one of exactly CM_LINE_MAX + 1 bytes. */
    text = content_with_long_line((size_t)CM_LINE_MAX + 1, "\n", &len);
    tmp_file_write(&files[0], text, len);
    plan_from_files(&plan, inputs, files, 1);
    check_ranks(&plan, files, 1, DEFAULT_BLOCK);
    check_ranks(&plan, files, 3, 7);
    tmp_file_remove(&files[0]);
    free(text);

    size_t big = (size_t)CM_LINE_MAX * 2 + 5;
    text = malloc(strlen(HEADER) + big + 16);
    ck_assert_ptr_nonnull(text);
    len = (size_t)sprintf(text, "%s\nok\n", HEADER);
    memset(text + len, 'Z', big);
    len += big;
    tmp_file_write(&files[0], text, len);
    plan_from_files(&plan, inputs, files, 1);
    check_ranks(&plan, files, 1, DEFAULT_BLOCK);
    check_ranks(&plan, files, 4, 64);
    tmp_file_remove(&files[0]);
    free(text);
}
END_TEST

START_TEST(test_lines_max_length_accepted)
{
    /* A line of exactly CM_LINE_MAX bytes is not over the limit. */
    size_t len;
    char *text = content_with_long_line((size_t)CM_LINE_MAX, "\n", &len);
    tmp_file files[1];
    cm_input inputs[1];
    cm_plan plan;
    tmp_file_write(&files[0], text, len);
    plan_from_files(&plan, inputs, files, 1);
    check_ranks(&plan, files, 1, DEFAULT_BLOCK);
    check_ranks(&plan, files, 1, 64);
    check_ranks(&plan, files, 3, 7);
    tmp_file_remove(&files[0]);
    free(text);
}
END_TEST

START_TEST(test_lines_max_length_crlf_any_block)
{
    /* A line of exactly CM_LINE_MAX bytes ended by "\r\n" is within the limit whatever the block
     * size: the bytes before it are chosen so that the first window ends between its '\r' and
     * its '\n' (the window holds block_size + CM_LINE_MAX + 2 bytes from the first line). */
    static const size_t blocks[] = {64, 1000, DEFAULT_BLOCK};
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        size_t block = blocks[b];
        size_t first = block - 1; /* first line plus "\r\n" is block + 1 bytes */
        size_t cap = strlen(HEADER) + 2 + first + 2 + (size_t)CM_LINE_MAX + 2 + 16;
        char *text = malloc(cap);
        ck_assert_ptr_nonnull(text);
        size_t len = (size_t)sprintf(text, "%s\r\n", HEADER);
        memset(text + len, 'a', first);
        len += first;
        memcpy(text + len, "\r\n", 2);
        len += 2;
        memset(text + len, 'M', (size_t)CM_LINE_MAX);
        len += (size_t)CM_LINE_MAX;
        len += (size_t)sprintf(text + len, "\r\ntail\r\n");

        tmp_file files[1];
        cm_input inputs[1];
        cm_plan plan;
        tmp_file_write(&files[0], text, len);
        plan_from_files(&plan, inputs, files, 1);
        check_ranks(&plan, files, 1, block);
        tmp_file_remove(&files[0]);
        free(text);
    }
}
END_TEST

START_TEST(test_lines_open_missing_file)
{
    cm_lines lines;
    ck_assert_int_eq(cm_lines_open(&lines, "/nonexistent/clickmill/x.csv", 10, 0, 0, 10, 64),
                     CM_EIO);
    ck_assert_ptr_nonnull(strstr(lines.err, "/nonexistent/clickmill/x.csv"));
    cm_lines_close(&lines);
}
END_TEST

START_TEST(test_lines_file_shrank)
{
    /* The plan says 200 bytes but the file holds fewer: an error, not a silent short read. */
    tmp_file file;
    cm_lines lines;
    const char *line;
    size_t len;
    int64_t offset;
    tmp_file_write_str(&file, "h\nabc\ndef");
    ck_assert_int_eq(cm_lines_open(&lines, file.path, 200, 2, 2, 200, 64), 0);
    int rc;
    do
        rc = cm_lines_next(&lines, &line, &len, &offset);
    while (rc == 1);
    ck_assert_int_eq(rc, CM_EIO);
    ck_assert_ptr_nonnull(strstr(lines.err, "shrank"));
    cm_lines_close(&lines);
    tmp_file_remove(&file);
}
END_TEST

START_TEST(test_input_open_errors)
{
    cm_input input;
    char err[512];
    tmp_file file;

    ck_assert_int_eq(cm_input_open(&input, "/nonexistent/clickmill/x.csv", err, sizeof err),
                     CM_EIO);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/clickmill/x.csv"));

    ck_assert_int_eq(cm_input_open(&input, "/tmp", err, sizeof err), CM_EINPUT);
    ck_assert_ptr_nonnull(strstr(err, "directory"));

    tmp_file_write(&file, "", 0);
    ck_assert_int_eq(cm_input_open(&input, file.path, err, sizeof err), CM_EINPUT);
    ck_assert_ptr_nonnull(strstr(err, file.path));
    ck_assert_ptr_nonnull(strstr(err, "empty"));
    tmp_file_remove(&file);

    tmp_file_write_str(&file, "event_time,event_type,product_id,category_id,category_code,brand,"
                              "user_id,user_session\n2019-10-01 00:00:00 UTC,view,1,2,,,3,s\n");
    ck_assert_int_eq(cm_input_open(&input, file.path, err, sizeof err), CM_EINPUT);
    ck_assert_ptr_nonnull(strstr(err, "'price'"));
    ck_assert_ptr_nonnull(strstr(err, "line 1"));
    tmp_file_remove(&file);

    /* Data only, no header. */
    tmp_file_write_str(&file, "2019-10-01 00:00:00 UTC,view,1,2,,,1.00,3,s\n");
    ck_assert_int_eq(cm_input_open(&input, file.path, err, sizeof err), CM_EINPUT);
    tmp_file_remove(&file);

    /* An empty first line. */
    tmp_file_write_str(&file, "\n" HEADER "\n");
    ck_assert_int_eq(cm_input_open(&input, file.path, err, sizeof err), CM_EINPUT);
    tmp_file_remove(&file);
}
END_TEST

START_TEST(test_input_open_bom_and_order)
{
    cm_input input;
    char err[512];
    tmp_file file;

    tmp_file_write_str(&file, "\xEF\xBB\xBF" HEADER "\r\nx\n");
    ck_assert_int_eq(cm_input_open(&input, file.path, err, sizeof err), 0);
    ck_assert_int_eq(input.data_start, 3 + (int64_t)strlen(HEADER) + 2);
    for (int c = 0; c < CM_NCOLUMNS; c++)
        ck_assert_int_eq(input.layout.index[c], c);
    tmp_file_remove(&file);

    tmp_file_write_str(&file, "user_id,extra,price,brand,category_code,category_id,product_id,"
                              "event_type,event_time,user_session\n");
    ck_assert_int_eq(cm_input_open(&input, file.path, err, sizeof err), 0);
    ck_assert_int_eq(input.layout.nfields, 10);
    ck_assert_int_eq(input.layout.index[CM_COL_USER_ID], 0);
    ck_assert_int_eq(input.layout.index[CM_COL_PRICE], 2);
    ck_assert_int_eq(input.layout.index[CM_COL_BRAND], 3);
    ck_assert_int_eq(input.layout.index[CM_COL_CATEGORY_CODE], 4);
    ck_assert_int_eq(input.layout.index[CM_COL_CATEGORY_ID], 5);
    ck_assert_int_eq(input.layout.index[CM_COL_PRODUCT_ID], 6);
    ck_assert_int_eq(input.layout.index[CM_COL_EVENT_TYPE], 7);
    ck_assert_int_eq(input.layout.index[CM_COL_EVENT_TIME], 8);
    ck_assert_int_eq(input.layout.index[CM_COL_USER_SESSION], 9);
    ck_assert_int_eq(input.data_start, (int64_t)file.len);
    tmp_file_remove(&file);
}
END_TEST

static Suite *plan_suite(void)
{
    Suite *suite = suite_create("plan");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_range_hand_worked);
    tcase_add_test(core, test_range_covers_total);
    tcase_add_test(core, test_segments_hand_worked);
    tcase_add_test(core, test_segments_mixed_inputs);
    tcase_add_test(core, test_input_open_layout);
    tcase_add_test(core, test_lines_simple);
    tcase_add_test(core, test_lines_straddle_boundaries);
    tcase_add_test(core, test_lines_no_trailing_newline);
    tcase_add_test(core, test_lines_crlf);
    tcase_add_test(core, test_lines_empty_line_in_middle);
    tcase_add_test(core, test_lines_several_files);
    tcase_add_test(core, test_lines_random_property);
    tcase_set_timeout(core, 30);
    suite_add_tcase(suite, core);

    TCase *limits = tcase_create("limits");
    tcase_add_test(limits, test_lines_ranges_shorter_than_a_line);
    tcase_add_test(limits, test_lines_more_ranks_than_lines);
    tcase_add_test(limits, test_lines_header_only);
    tcase_add_test(limits, test_lines_empty_data_between_files);
    tcase_add_test(limits, test_lines_empty_segment);
    tcase_add_test(limits, test_lines_too_long);
    tcase_add_test(limits, test_lines_max_length_accepted);
    tcase_add_test(limits, test_lines_max_length_crlf_any_block);
    tcase_add_test(limits, test_lines_open_missing_file);
    tcase_add_test(limits, test_lines_file_shrank);
    tcase_add_test(limits, test_input_open_errors);
    tcase_add_test(limits, test_input_open_bom_and_order);
    tcase_set_timeout(limits, 30);
    suite_add_tcase(suite, limits);
    return suite;
}

static void remove_tmp_dir(void)
{
    DIR *dir = opendir(tmp_dir);
    if (dir) {
        struct dirent *entry;
        char path[512];
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", tmp_dir, entry->d_name);
            unlink(path);
        }
        closedir(dir);
    }
    rmdir(tmp_dir);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/check_plan_XXXXXX",
             base && *base && strlen(base) < 40 ? base : "/tmp");
    if (!mkdtemp(tmp_dir)) {
        fprintf(stderr, "check_plan: cannot create a temporary directory: %s\n", strerror(errno));
        return EXIT_FAILURE;
    }
    SRunner *runner = srunner_create(plan_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    remove_tmp_dir();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
