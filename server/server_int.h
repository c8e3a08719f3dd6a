/* SPDX-License-Identifier: Apache-2.0 */
/* Private types of the server module: the app (every subsystem the server wires
 * together), HTTP requests and responses as workers see them, the worker pool and the
 * live hub. Only server/ includes this file. */
#ifndef OMEGA_SERVER_INT_H
#define OMEGA_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "omega/auth.h"
#include "omega/buf.h"
#include "omega/config.h"
#include "omega/tsdb.h"

struct lws_context;
struct lws;

/* ---- HTTP request / response, as handed between the loop and the workers ---- */

#define HTTP_MAX_PARAMS 4 /* "*" segments a route pattern may capture */

typedef struct http_request {
    uint64_t id;          /* unique per request; key of the loop's in-flight registry */
    char method[8];       /* "GET", "POST", ... */
    char *path;           /* URL path without the query string */
    char **args;          /* decoded "name=value" query arguments */
    size_t n_args;        /* entries in args */
    char *authorization;  /* Authorization header value or NULL */
    char *api_key;        /* X-API-Key header value or NULL */
    char *content_type;   /* Content-Type header value or NULL */
    char *body;           /* request body (NUL-terminated) or NULL */
    size_t body_len;      /* bytes in body */
    char peer[64];        /* client address */
    char *params[HTTP_MAX_PARAMS]; /* path segments captured by the route's "*" (decoded) */
    size_t n_params;      /* entries in params */
} http_request_t;

typedef struct http_response {
    uint64_t id;              /* the request's id */
    int status;               /* HTTP status code */
    const char *content_type; /* static string */
    char *headers;            /* extra "name: value\n" lines (lower-case names) or NULL */
    char *body;               /* malloc'd body or NULL */
    size_t body_len;          /* bytes in body */
    struct http_response *next; /* done-queue link (owned by the queue) */
} http_response_t;

void http_request_free(http_request_t *req);
void http_response_free(http_response_t *resp);
/* Value of query argument `name` (decoded) or NULL; borrowed from req. */
const char *http_request_arg(const http_request_t *req, const char *name);

/* Build responses (body copied / taken). */
http_response_t *http_response_json(int status, const char *json);
http_response_t *http_response_take(int status, const char *content_type, char *body, size_t len);
/* API error shape {"status":"error","errorType":..,"error":..}. */
http_response_t *http_response_error(int status, const char *error_type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 400 for a body jansson could not parse, naming line and column. */
struct json_error_t;
http_response_t *http_response_bad_json(const struct json_error_t *je);
/* Append labels as a JSON object {"name":"value",...} (the "metric" of query results). */
void encode_labels(omega_buf_t *b, const omega_label_t *labels, size_t n);
/* Append one extra header line to resp. */
void http_response_add_header(http_response_t *resp, const char *name, const char *value);

/* ---- The app: everything the server wires together ---- */

typedef struct app app_t;
typedef struct workers workers_t;
typedef struct live_hub live_hub_t;

struct app {
    omega_config_t *cfg;          /* effective config (owned) */
    omega_tsdb_t *db;             /* store (owned) */
    omega_auth_t *auth;           /* users and tokens (owned) */
    workers_t *workers;           /* HTTP worker pool (owned) */
    live_hub_t *hub;              /* live subscriptions (owned) */
    struct lws_context *lws;      /* event loop (owned by http.c) */
    char web_root[4096];          /* resolved static root */
    int64_t started_ms;           /* start time, for uptime */
    atomic_int stopping;          /* set once by the signal thread */
};

/* ---- Routes: one table per API area (api_*.c), dispatched by routes.c ---- */

/* Permissions of API.md's RBAC table. */
typedef enum perm {
    PERM_PUBLIC = 0, /* no credentials needed */
    PERM_READ,       /* read metrics, dashboards, alerts, jobs, profiles */
    PERM_INGEST,     /* write samples */
    PERM_ADMIN,      /* rules, channels, schedules, config, users, keys */
} perm_t;

typedef http_response_t *(*handler_fn)(app_t *app, const http_request_t *req,
                                       const omega_principal_t *who);

typedef struct route {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* path; a "*" segment matches one segment, captured in req->params */
    perm_t perm;        /* what the caller must be allowed */
    handler_fn fn;      /* the handler */
} route_t;

typedef struct route_table {
    const route_t *routes; /* the area's routes */
    size_t n;              /* entries in routes */
} route_table_t;

extern const route_table_t api_auth_routes;  /* api_auth.c */
extern const route_table_t api_query_routes; /* api_query.c */

/* Find the route, capture its path parameters into req->params, authenticate, authorise,
 * run the handler (worker threads). */
http_response_t *router_handle(app_t *app, http_request_t *req);

/* ---- Worker pool (workers.c) ---- */
typedef http_response_t *(*workers_handler_fn)(app_t *app, http_request_t *req);
/* Start n threads running handler on submitted requests; results are queued and the
 * loop is woken with lws_cancel_service(app->lws). */
workers_t *workers_start(app_t *app, int n, size_t queue_limit, workers_handler_fn fn);
/* Queue a request (ownership passes on success). -1 when the queue is full. */
int workers_submit(workers_t *w, http_request_t *req);
/* Take every finished response (a linked list, oldest first); loop thread. */
http_response_t *workers_take_done(workers_t *w);
/* Stop threads (finishing the request in hand) and free everything queued. */
void workers_stop(workers_t *w);

/* ---- HTTP server (http.c) ---- */
/* Create the lws context with the HTTP and live protocols on cfg's listen address. */
int http_server_create(app_t *app, omega_error_t *err);
/* Run the loop until app->stopping. */
void http_server_run(app_t *app);
void http_server_destroy(app_t *app);

/* ---- Live hub (hub.c) ---- */
live_hub_t *hub_create(app_t *app, size_t queue_limit, size_t max_clients);
int hub_start(live_hub_t *h);
void hub_stop(live_hub_t *h);
void hub_destroy(live_hub_t *h);
/* Loop thread: register a socket; returns its id, 0 when the client limit is reached. */
uint64_t hub_conn_add(live_hub_t *h, struct lws *wsi);
void hub_conn_remove(live_hub_t *h, uint64_t conn);
/* Loop thread: add or replace subscription `sub_id`. OMEGA_EINVAL with err on a bad
 * query, OMEGA_E2BIG over the per-connection limit. */
int hub_subscribe(live_hub_t *h, uint64_t conn, const char *sub_id, const char *query,
                  int64_t interval_ms, omega_error_t *err);
int hub_unsubscribe(live_hub_t *h, uint64_t conn, const char *sub_id);
/* Any thread: queue a text frame for conn (copied). */
void hub_send(live_hub_t *h, uint64_t conn, const char *text, size_t len);
/* Loop thread: next frame for conn. Returns a malloc'd buffer with LWS_PRE headroom
 * (payload at buf + LWS_PRE, length *len) or NULL; *more says whether more wait. */
unsigned char *hub_next_frame(live_hub_t *h, uint64_t conn, size_t *len, int *more);
/* Loop thread: ask lws for a writable callback on every connection with queued frames. */
void hub_request_writes(live_hub_t *h);

/* ---- Live protocol (live.c) ---- */
extern const struct lws_protocols live_protocol;

#endif
