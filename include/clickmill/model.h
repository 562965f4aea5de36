/* The trained model: forest, dictionaries, parameters and metrics, as stored in model.h5. */
#ifndef CLICKMILL_MODEL_H
#define CLICKMILL_MODEL_H

#include <mpi.h>

#include "clickmill/dictionary.h"
#include "clickmill/forest.h"
#include "clickmill/metrics.h"

#define CM_MODEL_FORMAT  "clickmill-model"
#define CM_MODEL_VERSION 1

typedef struct {
    cm_forest forest;
    cm_forest_params params;
    cm_dictionary dicts[CM_NDICTS];
    int test_days;        /* the split: the last test_days days ... */
    double test_fraction; /* ... unless this is >= 0: sessions hashing below it */
    int ranks;            /* ranks that trained it */
    char version[32];     /* clickmill version that wrote it */
    char created[32];
    double train_seconds;
    double threshold; /* a score at or above it predicts a purchase */
    double prior;     /* purchase rate of the training samples */
    cm_metrics train, test;
    cm_curve roc, pr; /* on the test set */
} cm_model;

void cm_model_init(cm_model *model);
void cm_model_free(cm_model *model);

/* Writes the model under a temporary name and renames it into place. Returns 0, CM_EIO or
 * CM_EHDF5 with the reason in err. Local (serial HDF5). */
int cm_model_write(const char *path, const cm_model *model, char *err, size_t err_size);

/* Reads and checks a model file: an HDF5 file with this program's format attribute and
 * version, this clickmill's features, and well-formed trees. Returns 0, or CM_EINPUT (not a
 * model, another format, inconsistent) or CM_EIO (unreadable) with the reason in err; after a
 * failure the model holds nothing to free. Local. */
int cm_model_read(const char *path, cm_model *model, char *err, size_t err_size);

/* Rank 0 reads the model; every rank gets the same model or the same error. Collective. */
int cm_model_load(MPI_Comm comm, const char *path, cm_model *model, char *err, size_t err_size);

#endif
