/* Fuzz target: the byte-range splitter and the line reader. Any content, cut into one or two
 * files (each with a header line), any rank count from 1 to 16 and any block size: the lines
 * every rank reads from its segments, put together, are each line of every file exactly once,
 * with its text and offset. Built by `make fuzz` (clang's libFuzzer). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clickmill/lines.h"
#include "clickmill/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    int64_t offset;
    size_t len;
    int seen;
} expected_line;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int nranks = 1 + data[0] % 16;
    size_t block = 1 + data[1] % 64; /* tiny blocks: every line crosses block ends */
    int nfiles = 1 + data[2] % 2;
    data += 3;
    size -= 3;
    size_t cut = nfiles == 2 ? size / 2 : size;

    cm_input inputs[2];
    char paths[2][64];
    int fds[2];
    const uint8_t *content[2] = {data, data + cut};
    size_t lengths[2] = {cut, size - cut};
    cm_plan plan = {.nfiles = nfiles, .files = inputs};
    for (int f = 0; f < nfiles; f++) {
        fds[f] = memfd_create("fuzz", 0);
        if (fds[f] < 0 || write(fds[f], content[f], lengths[f]) != (ssize_t)lengths[f])
            abort();
        snprintf(paths[f], sizeof paths[f], "/proc/self/fd/%d", fds[f]);
        const uint8_t *newline = memchr(content[f], '\n', lengths[f]);
        memset(&inputs[f], 0, sizeof inputs[f]);
        inputs[f].path = paths[f];
        inputs[f].kind = CM_INPUT_CSV;
        inputs[f].size = (int64_t)lengths[f];
        inputs[f].data_start = newline ? newline - content[f] + 1 : (int64_t)lengths[f];
        plan.data_bytes += inputs[f].size - inputs[f].data_start;
        plan.total_bytes += inputs[f].size;
    }

    /* every line of the data, by its start offset */
    expected_line *want[2] = {NULL, NULL};
    size_t nwant[2] = {0, 0};
    for (int f = 0; f < nfiles; f++) {
        want[f] = calloc(lengths[f] + 1, sizeof **want);
        for (int64_t at = inputs[f].data_start; at < inputs[f].size;) {
            const uint8_t *end = memchr(content[f] + at, '\n', (size_t)(inputs[f].size - at));
            size_t len = end ? (size_t)(end - (content[f] + at)) : (size_t)(inputs[f].size - at);
            size_t text = len && content[f][at + (int64_t)len - 1] == '\r' ? len - 1 : len;
            want[f][nwant[f]++] = (expected_line){at, text, 0};
            at += (int64_t)len + 1;
        }
    }

    cm_segment segs[2];
    for (int rank = 0; rank < nranks; rank++) {
        int nsegs = cm_plan_segments(&plan, nranks, rank, segs);
        for (int s = 0; s < nsegs; s++) {
            const cm_input *input = &inputs[segs[s].file];
            cm_lines lines;
            if (cm_lines_open(&lines, input->path, input->size, input->data_start, segs[s].start,
                              segs[s].end, block) != 0)
                abort();
            const char *line;
            size_t len;
            int64_t offset;
            int status;
            while ((status = cm_lines_next(&lines, &line, &len, &offset)) == 1 ||
                   status == CM_LINE_TOO_LONG) {
                int f = segs[s].file;
                size_t k = 0;
                while (k < nwant[f] && want[f][k].offset != offset)
                    k++;
                if (k == nwant[f] || want[f][k].seen++) /* not a line start, or read twice */
                    abort();
                if (status == 1 &&
                    (len != want[f][k].len || memcmp(line, content[f] + offset, len) != 0))
                    abort();
            }
            if (status != 0) /* a read error on a file that did not change */
                abort();
            cm_lines_close(&lines);
        }
    }
    for (int f = 0; f < nfiles; f++) {
        for (size_t k = 0; k < nwant[f]; k++)
            if (!want[f][k].seen) /* a line nobody read */
                abort();
        free(want[f]);
        close(fds[f]);
    }
    return 0;
}
