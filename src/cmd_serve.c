/* `clickmill serve`: the "Will they buy?" page and API until SIGINT or SIGTERM. */
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "clickmill/commands.h"
#include "clickmill/error.h"
#include "clickmill/model.h"
#include "clickmill/server.h"

static const char usage[] =
    "usage: clickmill serve --model FILE [options]\n"
    "\n"
    "Serves a model made by 'clickmill train' over HTTP until SIGINT (Ctrl-C) or SIGTERM:\n"
    "  GET  /          a page with the inputs of a cart (product, price, time, the session so\n"
    "                  far) that shows the probability of a purchase and the verdict\n"
    "  POST /predict   a JSON object of features in, {\"probability\": ..., \"purchase\": ...} "
    "out\n"
    "  POST /events    event lines (CSV, a header first or the original column order) in;\n"
    "                  event_time,user_session,product_id,probability out for each first cart\n"
    "                  of a product in a session, keeping session state between requests\n"
    "  GET  /health    status and counts;  GET /model  parameters, features, metrics\n"
    "\n"
    "options:\n"
    "  -m, --model FILE        the model (required)\n"
    "  -p, --port N            the port (default: 8080; 0: any free port, which is printed)\n"
    "      --bind ADDRESS      the address to listen on (default: 127.0.0.1, this machine\n"
    "                          only; 0.0.0.0 for every interface)\n"
    "      --max-connections N requests at once; more get 429 (default: 64)\n"
    "      --max-body BYTES    larger request bodies get 413 (default: 1048576)\n"
    "      --session-timeout S forget an /events session idle for S seconds of event time\n"
    "                          (default: 1800; 0: never)\n"
    "      --max-sessions N    /events sessions tracked at once (default: 100000)\n"
    "  -h, --help              show this help\n"
    "\n"
    "It runs as one process: start it without mpirun (or with -np 1).\n"
    "Exit status: 0 after a signal, 1 when the model cannot be read or the port opened, 2 for\n"
    "a usage error.\n";

enum { OPT_BIND = 256, OPT_MAX_CONNECTIONS, OPT_MAX_BODY, OPT_SESSION_TIMEOUT, OPT_MAX_SESSIONS };

int cm_cmd_serve(MPI_Comm comm, int argc, char **argv)
{
    static const struct option options[] = {
        {"model", required_argument, NULL, 'm'},
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, OPT_BIND},
        {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"session-timeout", required_argument, NULL, OPT_SESSION_TIMEOUT},
        {"max-sessions", required_argument, NULL, OPT_MAX_SESSIONS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *model_path = NULL;
    cm_server_opts opts = {.bind = "127.0.0.1",
                           .port = 8080,
                           .max_connections = 64,
                           .max_body = 1 << 20,
                           .live = {CM_LIVE_TIMEOUT, CM_LIVE_MAX_SESSIONS}};
    opterr = 0;
    optind = 1;
    int c;
    long long value = 0;
    while ((c = getopt_long(argc, argv, ":m:p:h", options, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': model_path = optarg; break;
        case OPT_BIND: opts.bind = optarg; break;
        case 'p':
            bad = cm_option_range(comm, "serve", "port", optarg, 0, 65535, &value);
            opts.port = (int)value;
            break;
        case OPT_MAX_CONNECTIONS:
            bad = cm_option_range(comm, "serve", "max-connections", optarg, 1, 100000, &value);
            opts.max_connections = (unsigned)value;
            break;
        case OPT_MAX_BODY:
            bad = cm_option_range(comm, "serve", "max-body", optarg, 1, 1LL << 30, &value);
            opts.max_body = (size_t)value;
            break;
        case OPT_SESSION_TIMEOUT:
            bad = cm_option_range(comm, "serve", "session-timeout", optarg, 0, 1000000000, &value);
            opts.live.session_timeout = value;
            break;
        case OPT_MAX_SESSIONS:
            bad = cm_option_range(comm, "serve", "max-sessions", optarg, 1, 1000000000, &value);
            opts.live.max_sessions = (size_t)value;
            break;
        default: return cm_option_end(comm, "serve", c, usage, argv);
        }
        if (bad)
            return CM_EXIT_USAGE;
    }
    int nranks;
    CM_MPI_CHECK(comm, MPI_Comm_size(comm, &nranks));
    if (!model_path || optind < argc || nranks > 1) {
        cm_say(comm, "serve: %s (see --help)",
               nranks > 1    ? "runs as one process: start it without mpirun, or with -np 1"
               : !model_path ? "--model FILE is required"
                             : "takes no file arguments");
        return CM_EXIT_USAGE;
    }
    unsigned char address[16];
    if (inet_pton(AF_INET, opts.bind, address) != 1 &&
        inet_pton(AF_INET6, opts.bind, address) != 1) {
        cm_say(comm,
               "serve: --bind '%s' is not an IPv4 or IPv6 address (such as 127.0.0.1, "
               "0.0.0.0 or ::1)",
               opts.bind);
        return CM_EXIT_USAGE;
    }
    char err[4400];
    cm_model model;
    if (cm_model_read(model_path, &model, err, sizeof err) != 0) {
        fprintf(stderr, "clickmill: %s\n", err);
        return CM_EXIT_FAILURE;
    }
    /* SIGINT and SIGTERM are taken by sigwait below; the server's thread inherits the mask */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    cm_server *server = cm_server_start(&model, model_path, &opts, err, sizeof err);
    if (!server) {
        fprintf(stderr, "clickmill: serve: %s\n", err);
        cm_model_free(&model);
        return CM_EXIT_FAILURE;
    }
    int port = cm_server_port(server);
    printf("clickmill serve: http://%s%s%s:%d/ (model %s); Ctrl-C to stop\n",
           strchr(opts.bind, ':') ? "[" : "", opts.bind, strchr(opts.bind, ':') ? "]" : "", port,
           model_path);
    fflush(stdout);
    int signal_number = 0;
    sigwait(&stop, &signal_number);
    cm_server_stats stats;
    cm_server_stop(server, &stats);
    fprintf(stderr,
            "clickmill serve: stopped by %s after %lld requests (%lld 2xx, %lld 4xx, %lld "
            "5xx)\n",
            signal_number == SIGINT ? "SIGINT" : "SIGTERM", (long long)stats.requests,
            (long long)stats.by_status[2], (long long)stats.by_status[4],
            (long long)stats.by_status[5]);
    cm_model_free(&model);
    return CM_EXIT_OK;
}
