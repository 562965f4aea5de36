/* Fuzz target: the row splitter's fast path for lines without quotes gives exactly libcsv's
 * fields, and no line crashes either path. Built by `make fuzz` (clang's libFuzzer). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/row.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cm_row_parser *fast, *slow;
    if (!fast) {
        fast = calloc(1, sizeof *fast);
        slow = calloc(1, sizeof *slow);
        if (!fast || !slow || cm_row_parser_init(fast) || cm_row_parser_init(slow))
            abort();
        slow->libcsv_only = 1;
    }
    /* A line as the reader hands it over: never with its line feed. */
    const uint8_t *feed = memchr(data, '\n', size);
    size_t len = feed ? (size_t)(feed - data) : size;
    int fast_count = cm_row_split(fast, (const char *)data, len);
    int slow_count = cm_row_split(slow, (const char *)data, len);
    if (fast_count != slow_count)
        abort();
    int fields = fast_count < CM_FIELDS_MAX ? fast_count : CM_FIELDS_MAX;
    for (int f = 0; f < fields; f++)
        if (fast->field_len[f] != slow->field_len[f] ||
            memcmp(fast->field[f], slow->field[f], fast->field_len[f]) != 0)
            abort();
    return 0;
}
