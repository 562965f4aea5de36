/* Fuzz target: the model reader. Any bytes as a model file (seeded with a real model, so that
 * mutations reach inside its HDF5 structures and tables): the reader either refuses it with a
 * message or returns a model whose forest passes its check and scores a row. Built by
 * `make fuzz` (clang's libFuzzer). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clickmill/features.h"
#include "clickmill/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("model", 0);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    char path[64], err[1024] = "";
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    cm_model model;
    if (cm_model_read(path, &model, err, sizeof err) == 0) {
        if (cm_forest_check(&model.forest, err, sizeof err) != 0)
            abort(); /* the reader let a bad forest through */
        double x[CM_NFEATURES] = {0};
        double p = cm_forest_score(&model.forest, x);
        if (!(p >= 0 && p <= 1))
            abort();
        cm_model_free(&model);
    } else if (!err[0]) {
        abort(); /* refused without saying why */
    }
    close(fd);
    return 0;
}
