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
    uint64_t id;                   /* unique per request; key of the loop's in-flight registry */
    char method[8];                /* "GET", "POST", ... */
    char *path;                    /* URL path without the query string */
    char **args;                   /* decoded "name=value" query arguments */
    size_t n_args;                 /* entries in args */
    char *authorization;           /* Authorization header value or NULL */
    char *api_key;                 /* X-API-Key header value or NULL */
    char *content_type;            /* Content-Type header value or NULL */
    char *content_encoding;        /* Content-Encoding header value or NULL */
    char *accept;                  /* Accept header value or NULL */
    char *body;                    /* request body (NUL-terminated) or NULL */
    size_t body_len;               /* bytes in body */
    char peer[64];                 /* client address */
    char *params[HTTP_MAX_PARAMS]; /* path segments captured by the route's "*" (decoded) */
    size_t n_params;               /* entries in params */
} http_request_t;

typedef struct http_response {
    uint64_t id;                /* the request's id */
    int status;                 /* HTTP status code */
    const char *content_type;   /* static string */
    char *headers;              /* extra "name: value\n" lines (lower-case names) or NULL */
    char *body;                 /* malloc'd body or NULL */
    size_t body_len;            /* bytes in body */
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
    omega_config_t *_Atomic cfg;            /* effective config (owned); replaced only by
                                               app_config_apply(), old ones live until stop */
    omega_tsdb_t *db;                       /* store (owned) */
    omega_auth_t *auth;                     /* users and tokens (owned) */
    struct omega_alert_engine *alerts;      /* alert rules and delivery (owned) */
    struct omega_analytics *analytics;      /* operations / jobs (owned) */
    struct omega_report_service *reports;   /* background and scheduled reports (owned) */
    workers_t *workers;                     /* HTTP worker pool (owned) */
    live_hub_t *hub;                        /* live subscriptions (owned) */
    struct lws_context *lws;                /* event loop (owned by http.c) */
    char web_root[4096];                    /* resolved static root */
    int64_t started_ms;                     /* start time, for uptime */
    struct omega_collector *_Atomic sysmon; /* the system collector with process monitoring,
                                               NULL when off or not started yet (set by
                                               app.c, read by api_system.c's workers) */
    atomic_int stopping;                    /* set once by the signal thread */
    struct collect_state *collect;          /* the system collectors (app.c) */
    pthread_mutex_t cfg_lock;               /* serialises config changes and collector stop */
    struct app_retired *retired;            /* configs and collectors replaced live; freed at
                                               stop (app.c) */
};

/* Install next (owned from now on) as the effective config; the caller holds
 * app->cfg_lock. Sets the log level and, with collectors non-zero, restarts the system
 * collectors with next's options. The old config and collectors stay alive until the
 * server stops (readers may still hold them). Returns 0, OMEGA_EAGAIN when the server is
 * stopping, or OMEGA_EIO when the collectors cannot start (the old config and collectors
 * are then back in place and next is destroyed). Worker threads. app.c. */
int app_config_apply(app_t *app, omega_config_t *next, int collectors);
/* At start, after the store opened: merge the document persisted by PUT /api/v1/config
 * under the file/env/flag config (docs/api.md "Config") and make it effective. Returns 0
 * (a missing or unusable stored document is logged and ignored). api_config.c. */
int app_config_restore(app_t *app);

/* ---- Routes: one table per API area (api_*.c), dispatched by routes.c ---- */

/* Permissions of API.md's RBAC table: the model lives in auth/ (omega_perm_t,
 * omega_auth_allows, honouring security.access_control); route tables spell these. */
typedef omega_perm_t perm_t;
#define PERM_PUBLIC         OMEGA_PERM_PUBLIC         /* no credentials needed */
#define PERM_AUTHENTICATED  OMEGA_PERM_AUTHENTICATED  /* any valid session or API key */
#define PERM_READ           OMEGA_PERM_READ           /* metrics, dashboards, alerts, jobs */
#define PERM_INGEST         OMEGA_PERM_INGEST         /* write samples */
#define PERM_ACK            OMEGA_PERM_ACK            /* acknowledge / silence alerts */
#define PERM_EXPORT         OMEGA_PERM_EXPORT         /* export reports and data (audited) */
#define PERM_DASHBOARD      OMEGA_PERM_DASHBOARD_SAVE /* save shared dashboards */
#define PERM_DASHBOARD_SAVE OMEGA_PERM_DASHBOARD_SAVE /* same, the long spelling */
#define PERM_ADMIN          OMEGA_PERM_ADMIN          /* rules, channels, config, users, keys */
#define PERM_SUPERUSER      OMEGA_PERM_SUPERUSER      /* audit, key rotation, erasure */

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
extern const route_table_t api_users_routes; /* api_users.c */
extern const route_table_t api_keys_routes;  /* api_keys.c */
extern const route_table_t api_audit_routes; /* api_audit.c */

/* Fill o from cfg's security section (session lifetime, access_control roles, audit
 * settings) over omega_auth_options_init()'s defaults. auth_setup.c. */
void app_auth_options(const omega_config_t *cfg, omega_auth_options_t *o);
/* Take OMEGA_MASTER_KEY and OMEGA_ADMIN_PASSWORD out of the process environment
 * (omega_auth_env_take: /proc/<pid>/environ and child processes no longer show them) and
 * keep their values for the process's life. Idempotent; main() calls it before any thread
 * starts. The getters return the values (NULL when unset). auth_setup.c. */
void app_env_secrets_take(void);
const char *app_master_key_env(void);
const char *app_admin_password_env(void);
/* Storage options from the config (app.c): the one mapping every store opener uses. */
void app_tsdb_options(const omega_config_t *cfg, omega_tsdb_options_t *o);
/* Attach auth's blob cipher and security.sensitive_metrics (when enable_encryption) to db
 * (omega_tsdb_cipher_attach); call omega_tsdb_cipher_detach before destroying auth. Returns
 * 0 or -1 (logged). app.c. */
int app_storage_cipher(const omega_config_t *cfg, omega_tsdb_t *db, omega_auth_t *auth);

/* Record an audit event for req (address from req->peer, actor and role from who, which
 * may be NULL for unauthenticated requests); see omega_auth_audit(). api_audit.c. */
void api_audit(app_t *app, const http_request_t *req, const omega_principal_t *who,
               const char *action, const char *target, const char *outcome, const char *detail);

/* The permission each WebSocket message type of /api/v1/live needs (live.c). */
typedef struct live_message_perm {
    const char *type; /* client message "type" */
    perm_t perm;      /* what the socket's principal must be allowed */
} live_message_perm_t;
extern const live_message_perm_t live_message_perms[];
extern const size_t live_n_message_perms;
extern const route_table_t api_query_routes;      /* api_query.c */
extern const route_table_t api_ingest_routes;     /* api_ingest.c */
extern const route_table_t api_dashboards_routes; /* api_dashboards.c */
extern const route_table_t api_alerts_routes;     /* api_alerts.c */
extern const route_table_t api_system_routes;     /* api_system.c */
extern const route_table_t api_config_routes;     /* api_config.c */
extern const route_table_t api_operations_routes; /* api_operations.c */
extern const route_table_t api_security_routes;   /* api_security.c */
extern const route_table_t api_reports_routes;    /* api_reports.c */

/* Find the route, capture its path parameters into req->params, authenticate, authorise,
 * run the handler (worker threads). */
http_response_t *router_handle(app_t *app, http_request_t *req);

/* ---- Self metrics (stats.c): process-wide atomic counters, any thread ---- */
struct omega_expo;
/* One request answered by a worker: its path (grouped into query, ingest, metrics, other
 * for the duration histogram), status code and handling time. */
void stats_http_observe(const char *path, int code, int64_t duration_ns);
/* One request answered by the loop itself (411, 413, 503 before any handler ran). */
void stats_http_count(int code);
/* One ingest request (write, import) with its status and the samples it stored. */
void stats_ingest_request(int code, size_t samples);
/* Live WebSocket clients: +1 on connect, -1 on disconnect. */
void stats_live_clients_add(int delta);
/* Write the omega_monitor_* families (storage figures read from app->db). */
void stats_write(struct omega_expo *e, app_t *app);

/* ---- Worker pool (workers.c) ---- */
typedef http_response_t *(*workers_handler_fn)(app_t *app, http_request_t *req);
/* Start n threads running handler on submitted requests; results are queued and the
 * loop is woken with lws_cancel_service(app->lws). */
workers_t *workers_start(app_t *app, int n, size_t queue_limit, workers_handler_fn fn);
/* Queue a request (ownership passes on success). -1 when the queue is full. */
int workers_submit(workers_t *w, http_request_t *req);
/* Requests waiting for a worker now (any thread; for /metrics). */
size_t workers_queued(workers_t *w);
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
/* Any thread: queue a text frame (copied) for every connection holding at least one
 * subscription, i.e. authenticated readers (alert events). */
void hub_broadcast(live_hub_t *h, const char *text, size_t len);
/* Loop thread: next frame for conn. Returns a malloc'd buffer with LWS_PRE headroom
 * (payload at buf + LWS_PRE, length *len) or NULL; *more says whether more wait. */
unsigned char *hub_next_frame(live_hub_t *h, uint64_t conn, size_t *len, int *more);
/* Loop thread: ask lws for a writable callback on every connection with queued frames. */
void hub_request_writes(live_hub_t *h);
/* Any thread, after n points were stored: subscriptions whose query reads one of their
 * metric names get a frame now (at most every 100 ms each) instead of at their next tick.
 * Points are borrowed for the call. h may be NULL (no live hub yet). */
void hub_notify_write(live_hub_t *h, const omega_point_t *pts, size_t n);

/* ---- Live protocol (live.c) ---- */
extern const struct lws_protocols live_protocol;

#endif
