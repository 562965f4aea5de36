/* Fuzz target: what the server reads from a request. The first byte picks the handler: a
 * POST /predict body (JSON features, through jansson and our checks) or a POST /events body
 * (event lines through the row parser and the live scorer). Any input is answered or refused
 * with a message; a probability is always in [0, 1]. The model is fuzz/model.h5 (a small real
 * one). Built by `make fuzz` (clang's libFuzzer). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickmill/live.h"
#include "clickmill/model.h"
#include "clickmill/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cm_model model;
    static cm_live live;
    static cm_row_parser parser;
    static int ready;
    char err[512] = "";
    if (!ready) {
        if (cm_model_read("fuzz/model.h5", &model, err, sizeof err) != 0 ||
            cm_row_parser_init(&parser) != 0) {
            fprintf(stderr, "fuzz: %s (run from the repository)\n", err);
            abort();
        }
        cm_live_init(&live, &model, &(cm_live_opts){CM_LIVE_TIMEOUT, 64});
        ready = 1;
    }
    if (size == 0)
        return 0;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] & 1) {
        double x[CM_NFEATURES];
        int unseen;
        if (cm_server_features(&model, body, len, x, &unseen, err, sizeof err) == 0) {
            double p = cm_forest_score(&model.forest, x);
            if (!(p >= 0 && p <= 1))
                abort();
        } else if (!err[0]) {
            abort();
        }
        return 0;
    }
    cm_layout layout;
    cm_layout_standard(&layout);
    cm_buffer out = {0};
    for (size_t at = 0; at < len;) {
        const char *end = memchr(body + at, '\n', len - at);
        size_t line = end ? (size_t)(end - (body + at)) : len - at;
        if (line <= CM_LINE_MAX)
            cm_live_line(&live, &parser, &layout, body + at, line, &out);
        at += line + 1;
    }
    cm_buffer_free(&out);
    return 0;
}
