/* The "Will they buy?" HTTP server: a page, JSON predictions, event lines scored with session
 * state, health and model descriptions, on libmicrohttpd and jansson. */
#ifndef CLICKMILL_SERVER_H
#define CLICKMILL_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "clickmill/features.h"
#include "clickmill/live.h"
#include "clickmill/model.h"

typedef struct {
    const char *bind;         /* address to listen on: 127.0.0.1 unless told otherwise */
    int port;                 /* 0: any free port */
    unsigned max_connections; /* more at once get 429 */
    size_t max_body;          /* larger request bodies get 413 */
    cm_live_opts live;        /* POST /events session state */
} cm_server_opts;

typedef struct {
    int64_t requests, by_status[6]; /* by_status[k]: answers kxx */
} cm_server_stats;

typedef struct cm_server cm_server;

/* Starts serving on a thread of its own. Returns NULL with the reason in err (address in use,
 * not an address, ...). The model must outlive the server. Local. */
cm_server *cm_server_start(const cm_model *model, const char *model_path,
                           const cm_server_opts *opts, char *err, size_t err_size);

/* The port it listens on (the one chosen when 0 was asked). Local. */
int cm_server_port(const cm_server *server);

/* Stops accepting, finishes, and frees; stats (if not NULL) receives the counts. Local. */
void cm_server_stop(cm_server *server, cm_server_stats *stats);

/* The features of a JSON object that names them (categorical ones by value, looked up in the
 * model's dictionaries; missing ones take the value of a first event: 0, and -1 for
 * seconds_since_last). Returns 0, or -1 with the reason in err (not an object, an unknown
 * name, a value of the wrong kind or out of range). unseen gets a bit per dictionary value the
 * model never saw. Local. */
int cm_server_features(const cm_model *model, const char *json, size_t len, double x[CM_NFEATURES],
                       int *unseen, char *err, size_t err_size);

#endif
