/* The "Will they buy?" server: routes, limits and answers on libmicrohttpd, JSON by jansson. */
#include "clickmill/server.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clickmill/dictionary.h"
#include "clickmill/error.h"
#include "clickmill/row.h"
#include "clickmill/svg.h"
#include "clickmill/version.h"

#define PAGE_VALUES 2000 /* dictionary values offered by the page, most frequent first */

struct cm_server {
    const cm_model *model;
    const char *model_path;
    cm_server_opts opts;
    struct MHD_Daemon *daemon;
    cm_live live; /* the sessions of POST /events */
    cm_row_parser parser;
    cm_flat_forest forest;
    unsigned connections;
    int loopback; /* listening on a loopback address */
    cm_server_stats stats;
    time_t started;
    cm_buffer page, model_json;
};

typedef struct {
    cm_buffer body;
    int too_large;  /* 1: answered on its headers; 2: grew past the limit while read */
    size_t dropped; /* bytes read past the limit */
} request;

/* --- answers ------------------------------------------------------------------------------ */

static enum MHD_Result answer_with(cm_server *server, struct MHD_Connection *connection, int status,
                                   const char *type, const char *data, size_t len,
                                   const char *allow);

static enum MHD_Result answer(cm_server *server, struct MHD_Connection *connection, int status,
                              const char *type, const char *data, size_t len)
{
    return answer_with(server, connection, status, type, data, len, NULL);
}

/* An answer; `allow` is the Allow header of a 405. */
static enum MHD_Result answer_with(cm_server *server, struct MHD_Connection *connection, int status,
                                   const char *type, const char *data, size_t len,
                                   const char *allow)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (!response)
        return MHD_NO;
    MHD_add_response_header(response, "Content-Type", type);
    MHD_add_response_header(response, "Cache-Control", "no-store");
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    if (allow)
        MHD_add_response_header(response, "Allow", allow);
    if (status == MHD_HTTP_TOO_MANY_REQUESTS)
        MHD_add_response_header(response, "Retry-After", "1");
    enum MHD_Result queued = MHD_queue_response(connection, (unsigned)status, response);
    MHD_destroy_response(response);
    server->stats.requests++;
    server->stats.by_status[status / 100 < 6 ? status / 100 : 5]++;
    return queued;
}

static enum MHD_Result answer_json(cm_server *server, struct MHD_Connection *connection, int status,
                                   json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(value);
    if (!text)
        return MHD_NO;
    size_t len = strlen(text);
    text = realloc(text, len + 2);
    if (!text)
        return MHD_NO;
    memcpy(text + len, "\n", 2);
    enum MHD_Result queued = answer(server, connection, status, "application/json", text, len + 1);
    free(text);
    return queued;
}

static enum MHD_Result answer_error(cm_server *server, struct MHD_Connection *connection,
                                    int status, const char *message)
{
    return answer_json(server, connection, status, json_pack("{s:s}", "error", message));
}

/* --- POST /predict ------------------------------------------------------------------------- */

static int feature_index(const char *name)
{
    for (int f = 0; f < CM_NFEATURES; f++)
        if (strcmp(cm_feature_defs[f].name, name) == 0)
            return f;
    return -1;
}

int cm_server_features(const cm_model *model, const char *json, size_t len, double x[CM_NFEATURES],
                       int *unseen, char *err, size_t err_size)
{
    static const int dict_of[CM_NFEATURES] = {
        [CM_F_CATEGORY] = CM_DICT_CATEGORY + 1,
        [CM_F_PRODUCT] = CM_DICT_PRODUCT + 1,
        [CM_F_BRAND] = CM_DICT_BRAND + 1,
    };
    json_error_t error;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        snprintf(err, err_size, "not valid JSON: %s (line %d, column %d)", error.text, error.line,
                 error.column);
        return -1;
    }
    if (!json_is_object(root)) {
        snprintf(err, err_size,
                 "expected a JSON object of features, such as "
                 "{\"category\": \"electronics\", \"price\": 199.99}");
        json_decref(root);
        return -1;
    }
    for (int f = 0; f < CM_NFEATURES; f++)
        x[f] = 0;
    x[CM_F_SECONDS_SINCE_LAST] = -1; /* what a first event has */
    for (int d = 0; d < CM_NDICTS; d++)
        x[CM_F_CATEGORY + d] = (double)model->dicts[d].count; /* unseen until named */
    *unseen = 0;
    int named[CM_NDICTS] = {0};
    const char *key;
    json_t *value;
    int rc = 0;
    json_object_foreach(root, key, value)
    {
        int f = feature_index(key);
        if (f < 0) {
            snprintf(err, err_size, "unknown feature '%.64s'; GET /model lists the features", key);
            rc = -1;
            break;
        }
        if (dict_of[f]) {
            int d = dict_of[f] - 1;
            if (!json_is_string(value) || json_string_length(value) > CM_FIELD_MAX) {
                snprintf(err, err_size, "'%s' must be a text of at most %d bytes", key,
                         CM_FIELD_MAX);
                rc = -1;
                break;
            }
            uint32_t id = cm_dictionary_lookup(&model->dicts[d], json_string_value(value),
                                               json_string_length(value));
            x[f] = (double)id;
            named[d] = 1;
            continue;
        }
        double v = json_is_number(value) ? json_number_value(value) : NAN;
        double lo = f == CM_F_SECONDS_SINCE_LAST ? -1 : 0;
        double hi = f == CM_F_HOUR ? 23 : f == CM_F_WEEKDAY ? 6 : 1e15;
        if (!isfinite(v) || v < lo || v > hi ||
            ((f == CM_F_HOUR || f == CM_F_WEEKDAY) && v != floor(v))) {
            snprintf(err, err_size, "'%s' must be a number from %g to %g", key, lo, hi);
            rc = -1;
            break;
        }
        /* a price is read as a CSV price is: whole cents */
        x[f] = f == CM_F_PRICE ? (double)llround(v * 100.0) / 100.0 : v;
    }
    json_decref(root);
    for (int d = 0; d < CM_NDICTS && rc == 0; d++)
        if (x[CM_F_CATEGORY + d] >= (double)model->dicts[d].count)
            *unseen |= 1 << d;
    (void)named;
    return rc;
}

static enum MHD_Result predict(cm_server *server, struct MHD_Connection *connection,
                               const request *req)
{
    double x[CM_NFEATURES];
    int unseen;
    char err[512];
    if (cm_server_features(server->model, req->body.data ? req->body.data : "", req->body.len, x,
                           &unseen, err, sizeof err) != 0)
        return answer_error(server, connection, MHD_HTTP_BAD_REQUEST, err);
    double probability = cm_flat_forest_score(&server->forest, x);
    json_t *unseen_list = json_array(), *features = json_object();
    for (int d = 0; d < CM_NDICTS; d++)
        if (unseen & (1 << d))
            json_array_append_new(unseen_list, json_string(cm_dictionary_names[d]));
    for (int f = 0; f < CM_NFEATURES; f++)
        json_object_set_new(features, cm_feature_defs[f].name, json_real(x[f]));
    return answer_json(server, connection, MHD_HTTP_OK,
                       json_pack("{s:f, s:b, s:f, s:o, s:o}", "probability", probability,
                                 "purchase", probability >= server->model->threshold, "threshold",
                                 server->model->threshold, "unseen", unseen_list, "features",
                                 features));
}

/* --- POST /events -------------------------------------------------------------------------- */

/* Every line is checked before any is fed, so a bad body changes no session. */
static enum MHD_Result events(cm_server *server, struct MHD_Connection *connection,
                              const request *req)
{
    cm_layout layout, header;
    cm_layout_standard(&layout); /* an empty body has no first line */
    const char *data = req->body.data ? req->body.data : "";
    size_t len = req->body.len, at = 0, line_number = 0;
    char err[512];
    cm_event event;
    for (int pass = 0; pass < 2; pass++) {
        cm_buffer out = {0};
        if (pass == 1)
            cm_buffer_text(&out, CM_LIVE_HEADER);
        for (at = 0, line_number = 0; at < len;) {
            const char *end = memchr(data + at, '\n', len - at);
            size_t line_len = end ? (size_t)(end - (data + at)) : len - at;
            const char *line = data + at;
            at += line_len + (end != NULL);
            line_number++;
            while (line_len && line[line_len - 1] == '\r')
                line_len--;
            if (line_number == 1) {
                int is_header = cm_live_header(line, line_len, &header, err, sizeof err);
                if (is_header < 0) {
                    char message[600];
                    snprintf(message, sizeof message, "line 1: %s", err);
                    return answer_error(server, connection, MHD_HTTP_BAD_REQUEST, message);
                }
                layout = header; /* a header names the columns; a row keeps the usual order */
                if (is_header)
                    continue;
            }
            if (line_len == 0)
                continue;
            if (pass == 0) {
                int reason = line_len > CM_LINE_MAX
                                 ? CM_REJECT_LONG_LINE
                                 : cm_row_parse(&server->parser, &layout, line, line_len, &event);
                if (reason != CM_ROW_OK) {
                    snprintf(err, sizeof err, "line %zu: %s", line_number, cm_reject_text(reason));
                    return answer_error(server, connection, MHD_HTTP_BAD_REQUEST, err);
                }
            } else {
                cm_live_line(&server->live, &server->parser, &layout, line, line_len, &out);
            }
        }
        if (pass == 1) {
            enum MHD_Result queued =
                answer(server, connection, MHD_HTTP_OK, "text/csv", out.data, out.len);
            cm_buffer_free(&out);
            return queued;
        }
    }
    return MHD_NO;
}

/* --- GET /health, /model, / ---------------------------------------------------------------- */

static enum MHD_Result health(cm_server *server, struct MHD_Connection *connection)
{
    return answer_json(
        server, connection, MHD_HTTP_OK,
        json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "status", "ok", "model", server->model_path,
                  "uptime_seconds", (json_int_t)(time(NULL) - server->started), "requests",
                  (json_int_t)server->stats.requests, "sessions", (json_int_t)server->live.count,
                  "events", (json_int_t)server->live.stats.events));
}

static json_t *metrics_json(const cm_metrics *m)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, "
                     "s:f}",
                     "samples", (json_int_t)m->samples, "positives", (json_int_t)m->positives, "tp",
                     (json_int_t)m->tp, "fp", (json_int_t)m->fp, "tn", (json_int_t)m->tn, "fn",
                     (json_int_t)m->fn, "threshold", m->threshold, "accuracy", m->accuracy,
                     "balanced_accuracy", m->balanced_accuracy, "precision", m->precision, "recall",
                     m->recall, "f1", m->f1, "roc_auc", m->roc_auc, "pr_auc", m->pr_auc, "log_loss",
                     m->log_loss, "base_f1", m->base_f1);
}

static void build_model_json(cm_server *server)
{
    const cm_model *model = server->model;
    double importance[CM_NFEATURES];
    cm_forest_importances(&model->forest, importance);
    json_t *features = json_array(), *dictionaries = json_object();
    for (int f = 0; f < CM_NFEATURES; f++)
        json_array_append_new(
            features, json_pack("{s:s, s:s, s:b, s:f}", "name", cm_feature_defs[f].name,
                                "description", cm_feature_defs[f].description, "categorical",
                                cm_feature_defs[f].categorical, "importance", importance[f]));
    for (int d = 0; d < CM_NDICTS; d++)
        json_object_set_new(dictionaries, cm_dictionary_names[d],
                            json_integer((json_int_t)model->dicts[d].count));
    json_t *split = model->test_fraction >= 0
                        ? json_pack("{s:f}", "test_fraction", model->test_fraction)
                        : json_pack("{s:i}", "test_days", model->test_days);
    json_t *value = json_pack(
        "{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:I, s:i, s:f, s:f, s:o, s:o, s:o, s:o, s:o}",
        "model", server->model_path, "clickmill_version", model->version, "created", model->created,
        "trees", model->forest.ntrees, "max_depth", model->params.max_depth, "min_leaf",
        model->params.min_leaf, "max_features", model->params.max_features, "bins",
        model->params.bins, "seed", (json_int_t)model->params.seed, "ranks", model->ranks,
        "threshold", model->threshold, "prior", model->prior, "split", split, "features", features,
        "dictionaries", dictionaries, "test", metrics_json(&model->test), "train",
        metrics_json(&model->train));
    char *text = json_dumps(value, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(value);
    cm_buffer_text(&server->model_json, text ? text : "{}");
    cm_buffer_text(&server->model_json, "\n");
    free(text);
}

static const char page_style[] =
    ":root{color-scheme:light dark;--bg:#fff;--fg:#1d2330;--muted:#5b6475;--panel:#f5f6f8;"
    "--accent:#2f6fdf;--yes:#1f9e6b;--no:#c2452d;--line:#d5d9e0}"
    "@media (prefers-color-scheme:dark){:root{--bg:#14171d;--fg:#e6e9ef;--muted:#a3abb9;"
    "--panel:#1c2028;--accent:#6ea2ff;--yes:#4cc994;--no:#ef7b62;--line:#2c323d}}"
    "*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);"
    "font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}"
    "main{max-width:760px;margin:0 auto;padding:16px}h1{margin:.2em 0}"
    ".lead,.note{color:var(--muted)}fieldset{border:1px solid var(--line);border-radius:8px;"
    "margin:12px 0;padding:8px 12px}legend{color:var(--muted)}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:8px 14px}"
    "label{display:flex;flex-direction:column;font-size:.9em}"
    "input,select,button{font:inherit;padding:6px 8px;border:1px solid var(--line);"
    "border-radius:6px;background:var(--bg);color:var(--fg)}"
    "button{background:var(--accent);color:#fff;border:0;padding:10px 18px;cursor:pointer}"
    "#result{background:var(--panel);border-radius:8px;padding:12px;margin:12px 0;"
    "min-height:3em}#probability{font-size:2em;font-weight:700}"
    ".yes{color:var(--yes)}.no{color:var(--no)}"
    ".bar{height:10px;background:var(--line);border-radius:5px;overflow:hidden}"
    ".bar>div{height:100%;background:var(--accent)}";

static const char page_script[] =
    "const form=document.getElementById('form');"
    "form.addEventListener('submit',async e=>{e.preventDefault();"
    "const body={};for(const el of form.elements){if(!el.name||el.value==='')continue;"
    "body[el.name]=el.dataset.kind==='text'?el.value:Number(el.value);}"
    "const out=document.getElementById('result');out.setAttribute('aria-busy','true');"
    "try{const r=await fetch('predict',{method:'POST',headers:{'Content-Type':"
    "'application/json'},body:JSON.stringify(body)});const a=await r.json();"
    "if(!r.ok){out.innerHTML='';const p=document.createElement('p');p.className='no';"
    "p.id='error';p.textContent='Error: '+a.error;out.appendChild(p);return;}"
    "const pct=(100*a.probability).toFixed(1);"
    "out.innerHTML='<div id=\"probability\"></div><div id=\"verdict\"></div>"
    "<div class=\"bar\"><div></div></div><p class=\"note\" id=\"unseen\"></p>';"
    "document.getElementById('probability').textContent=pct+' %';"
    "const v=document.getElementById('verdict');v.className=a.purchase?'yes':'no';"
    "v.textContent=a.purchase?'Likely to buy':'Unlikely to buy';"
    "out.querySelector('.bar>div').style.width=pct+'%';"
    "document.getElementById('unseen').textContent=a.unseen.length?"
    "'Never seen in training (scored as unseen): '+a.unseen.join(', '):"
    "'The model threshold is '+a.threshold+'.';"
    "}catch(err){out.textContent='The server did not answer: '+err;}"
    "finally{out.removeAttribute('aria-busy');}});";

static void page_input(cm_buffer *page, const char *name, const char *label, const char *kind,
                       const char *attributes)
{
    cm_buffer_printf(page, "<label>%s<input name=\"%s\" id=\"%s\" data-kind=\"%s\" %s/></label>\n",
                     label, name, name, kind, attributes);
}

static void build_page(cm_server *server)
{
    const cm_model *model = server->model;
    cm_buffer *page = &server->page;
    cm_buffer_text(page, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
                         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>"
                         "<title>Will they buy?</title><style>");
    cm_buffer_text(page, page_style);
    cm_buffer_text(page, "</style></head><body><main><h1>Will they buy?</h1>"
                         "<p class=\"lead\">A shopper has just put a product in the cart. From "
                         "what the session shows so far, the model says how likely the "
                         "product is bought before the session ends.</p>\n"
                         "<form id=\"form\"><fieldset><legend>The product</legend>"
                         "<div class=\"grid\">\n");
    const char *names[CM_NDICTS] = {"category", "product", "brand"};
    const char *labels[CM_NDICTS] = {"Category", "Product type", "Brand"};
    for (int d = 0; d < CM_NDICTS; d++) {
        char attributes[128];
        snprintf(attributes, sizeof attributes, "list=\"%s-values\" autocomplete=\"off\"",
                 names[d]);
        page_input(page, names[d], labels[d], "text", attributes);
    }
    page_input(page, "price", "Price", "number",
               "type=\"number\" min=\"0\" step=\"0.01\" "
               "value=\"100\" required=\"required\"");
    cm_buffer_text(page, "</div></fieldset><fieldset><legend>When</legend><div class=\"grid\">"
                         "<label>Weekday<select name=\"weekday\" id=\"weekday\" "
                         "data-kind=\"number\">");
    static const char *const weekdays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                           "Friday", "Saturday", "Sunday"};
    for (int w = 0; w < 7; w++)
        cm_buffer_printf(page, "<option value=\"%d\">%s</option>", w, weekdays[w]);
    cm_buffer_text(page, "</select></label><label>Hour (UTC)<select name=\"hour\" id=\"hour\" "
                         "data-kind=\"number\">");
    for (int h = 0; h < 24; h++)
        cm_buffer_printf(page, "<option value=\"%d\"%s>%02d:00</option>", h,
                         h == 12 ? " selected=\"selected\"" : "", h);
    cm_buffer_text(page, "</select></label></div></fieldset>\n<fieldset><legend>The session so "
                         "far</legend><div class=\"grid\">\n");
    const struct {
        int feature;
        const char *label;
        const char *value;
    } activity[] = {
        {CM_F_EVENTS_BEFORE, "Events before the cart", "5"},
        {CM_F_VIEWS_BEFORE, "Views before", "4"},
        {CM_F_VIEWS_OF_PRODUCT, "Views of this product", "1"},
        {CM_F_PRODUCTS_VIEWED, "Products viewed", "3"},
        {CM_F_CATEGORIES_VIEWED, "Categories viewed", "1"},
        {CM_F_CARTS_BEFORE, "Carts before", "0"},
        {CM_F_PURCHASES_BEFORE, "Purchases before", "0"},
        {CM_F_SECONDS_IN_SESSION, "Seconds in the session", "300"},
        {CM_F_SECONDS_SINCE_LAST, "Seconds since the last event (-1: none)", "30"},
        {CM_F_PRICE_VS_VIEWED, "Price / mean price viewed (0: none)", "1"},
    };
    for (size_t i = 0; i < sizeof activity / sizeof activity[0]; i++) {
        char attributes[128];
        snprintf(attributes, sizeof attributes,
                 "type=\"number\" min=\"%d\" step=\"any\" "
                 "value=\"%s\"",
                 activity[i].feature == CM_F_SECONDS_SINCE_LAST ? -1 : 0, activity[i].value);
        page_input(page, cm_feature_defs[activity[i].feature].name, activity[i].label, "number",
                   attributes);
    }
    cm_buffer_text(page, "</div></fieldset><button type=\"submit\" id=\"ask\">Will they buy?"
                         "</button></form>\n<div id=\"result\" role=\"status\" "
                         "aria-live=\"polite\"></div>\n");
    for (int d = 0; d < CM_NDICTS; d++) {
        cm_buffer_printf(page, "<datalist id=\"%s-values\">", names[d]);
        for (size_t i = 0; i < model->dicts[d].count && i < PAGE_VALUES; i++) {
            cm_buffer_text(page, "<option value=\"");
            cm_xml_text(page, model->dicts[d].values[i]);
            cm_buffer_text(page, "\"></option>");
        }
        cm_buffer_text(page, "</datalist>\n");
    }
    cm_buffer_printf(page,
                     "<p class=\"note\">Model: %d trees, test ROC AUC %.3f; "
                     "<a href=\"model\">its description</a>. Values never seen in "
                     "training are scored as unseen.</p>",
                     model->forest.ntrees, model->test.roc_auc);
    cm_buffer_text(page, "</main><script>");
    cm_buffer_text(page, page_script);
    cm_buffer_text(page, "</script></body></html>\n");
}

/* --- dispatch ------------------------------------------------------------------------------ */

static void notify_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                              enum MHD_ConnectionNotificationCode code)
{
    (void)connection;
    (void)socket_context;
    cm_server *server = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        server->connections++;
    else if (server->connections)
        server->connections--;
}

static void completed(void *cls, struct MHD_Connection *connection, void **context,
                      enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)connection;
    (void)code;
    request *req = *context;
    if (req) {
        cm_buffer_free(&req->body);
        free(req);
        *context = NULL;
    }
}

/* Whether a Host names this machine's loopback: 127.x.y.z, localhost or [::1], any port. */
static int loopback_host(const char *host)
{
    size_t len = strcspn(host, ":");
    if (host[0] == '[')
        return strncmp(host, "[::1]", 5) == 0 && (host[5] == '\0' || host[5] == ':');
    return (len == 9 && strncmp(host, "localhost", 9) == 0) ||
           (len >= 7 && strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") == len);
}

/* Why a request from a web page elsewhere is refused, or NULL. A page on another site may
 * make the browser send requests here (cross-site request forgery), and a name of its own
 * that it points at 127.0.0.1 may make them look same-origin (DNS rebinding): so on loopback
 * the Host must name loopback, and an Origin, when a browser sends one, must be this
 * server's own. */
static const char *refuse_origin(const cm_server *server, struct MHD_Connection *connection)
{
    const char *host = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Host");
    const char *origin = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Origin");
    if (server->loopback && (!host || !loopback_host(host)))
        return "this server answers requests for 127.0.0.1, localhost or [::1] only";
    if (origin && (!host || strncmp(origin, "http://", 7) != 0 || strcmp(origin + 7, host) != 0))
        return "requests from another origin are refused";
    return NULL;
}

static enum MHD_Result dispatch(void *cls, struct MHD_Connection *connection, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **context)
{
    (void)version;
    cm_server *server = cls;
    request *req = *context;
    if (!req) { /* the headers are in: refuse early what will not be read */
        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        *context = req;
        if (server->connections > server->opts.max_connections)
            return answer_error(server, connection, MHD_HTTP_TOO_MANY_REQUESTS,
                                "too many connections; try again");
        const char *refused = refuse_origin(server, connection);
        if (refused) {
            req->too_large = 1; /* answered: whatever body follows is dropped */
            return answer_error(server, connection, MHD_HTTP_FORBIDDEN, refused);
        }
        const char *length =
            MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Content-Length");
        if (length && strtoull(length, NULL, 10) > server->opts.max_body) {
            req->too_large = 1;
            return answer_error(server, connection, MHD_HTTP_CONTENT_TOO_LARGE,
                                "the request body is too large");
        }
        return MHD_YES;
    }
    if (*upload_size) {
        size_t size = *upload_size;
        *upload_size = 0;
        if (req->too_large == 1)
            return MHD_YES; /* answered on the headers: the rest is dropped */
        if (req->body.len + size <= server->opts.max_body) {
            cm_buffer_append(&req->body, upload, size);
            return MHD_YES;
        }
        /* A chunked body tells its size only as it comes. Past the limit it is read and
           dropped, so that the client reads the 413 at its end; past 16 times the limit the
           connection is closed. */
        req->too_large = 2;
        req->dropped += size;
        return req->dropped > 16 * server->opts.max_body ? MHD_NO : MHD_YES;
    }
    if (req->too_large == 1)
        return MHD_YES;
    if (req->too_large)
        return answer_error(server, connection, MHD_HTTP_CONTENT_TOO_LARGE,
                            "the request body is too large");
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
    struct {
        const char *path;
        int post;
    } routes[] = {{"/", 0}, {"/health", 0}, {"/model", 0}, {"/predict", 1}, {"/events", 1}};
    for (size_t r = 0; r < sizeof routes / sizeof routes[0]; r++) {
        if (strcmp(url, routes[r].path) != 0)
            continue;
        if (routes[r].post ? !post : !get) {
            const char *message =
                routes[r].post ? "{\"error\":\"use POST\"}\n" : "{\"error\":\"use GET\"}\n";
            return answer_with(server, connection, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json",
                               message, strlen(message), routes[r].post ? "POST" : "GET, HEAD");
        }
        switch (r) {
        case 0:
            return answer(server, connection, MHD_HTTP_OK, "text/html; charset=utf-8",
                          server->page.data, server->page.len);
        case 1: return health(server, connection);
        case 2:
            return answer(server, connection, MHD_HTTP_OK, "application/json",
                          server->model_json.data, server->model_json.len);
        case 3: return predict(server, connection, req);
        default: return events(server, connection, req);
        }
    }
    return answer_error(server, connection, MHD_HTTP_NOT_FOUND,
                        "no such page; try /, /predict, /events, /health or /model");
}

cm_server *cm_server_start(const cm_model *model, const char *model_path,
                           const cm_server_opts *opts, char *err, size_t err_size)
{
    struct sockaddr_storage address;
    memset(&address, 0, sizeof address);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&address;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&address;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
    int loopback = 0;
    if (inet_pton(AF_INET, opts->bind, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)opts->port);
        loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    } else if (inet_pton(AF_INET6, opts->bind, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)opts->port);
        flags |= MHD_USE_IPv6;
        loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
    } else {
        snprintf(err, err_size, "--bind: '%s' is not an IPv4 or IPv6 address", opts->bind);
        return NULL;
    }
    cm_server *server = cm_xcalloc(1, sizeof *server);
    server->model = model;
    server->model_path = model_path;
    server->opts = *opts;
    server->loopback = loopback;
    server->started = time(NULL);
    cm_live_init(&server->live, model, &opts->live);
    cm_flat_forest_build(&server->forest, &model->forest);
    if (cm_row_parser_init(&server->parser) != 0) {
        snprintf(err, err_size, "out of memory");
        cm_server_stop(server, NULL);
        return NULL;
    }
    build_page(server);
    build_model_json(server);
    /* The hard limit leaves room to answer many over the soft one with 429, so that idle or
       slow clients take a long while to shut others out; an idle one is closed after 10 s. */
    server->daemon = MHD_start_daemon(
        flags, (uint16_t)opts->port, NULL, NULL, dispatch, server, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&address, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(opts->max_connections * 8 > 512 ? opts->max_connections * 8 : 512),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_NOTIFY_COMPLETED, completed, server,
        MHD_OPTION_NOTIFY_CONNECTION, notify_connection, server, MHD_OPTION_END);
    if (!server->daemon) {
        snprintf(err, err_size,
                 "cannot listen on %s port %d (in use, or not an address of this machine?)",
                 opts->bind, opts->port);
        cm_server_stop(server, NULL);
        return NULL;
    }
    return server;
}

int cm_server_port(const cm_server *server)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : server->opts.port;
}

void cm_server_stop(cm_server *server, cm_server_stats *stats)
{
    if (server->daemon) {
        /* no new connections; those open get up to two seconds to finish */
        MHD_quiesce_daemon(server->daemon);
        for (int waited = 0; waited < 200 && server->connections > 0; waited++)
            nanosleep(&(struct timespec){0, 10000000}, NULL);
        MHD_stop_daemon(server->daemon);
    }
    if (stats)
        *stats = server->stats;
    cm_live_free(&server->live);
    cm_flat_forest_free(&server->forest);
    cm_row_parser_free(&server->parser);
    cm_buffer_free(&server->page);
    cm_buffer_free(&server->model_json);
    free(server);
}
