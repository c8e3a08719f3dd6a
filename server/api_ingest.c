/* SPDX-License-Identifier: Apache-2.0 */
/* Ingestion endpoints: Influx line protocol (/api/v1/write and the v1 alias /write), the
 * JSON import, metric definitions and GET /metrics. Parsing, gzip, definitions and the
 * exposition format live in ingest/; this file maps HTTP to those calls and to one atomic
 * omega_tsdb_write per request. */
#include "server_int.h"

#include "omega/ingest.h"
#include "omega/query.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- shared steps ---- */

/* Feed the body (gzip-decoded when Content-Encoding says so) to sink. */
static int feed_body(const http_request_t *req, size_t max_decoded, omega_ingest_sink_fn sink,
                     void *ctx, omega_error_t *err)
{
    const char *ce = req->content_encoding;
    if (!ce || !*ce || !strcasecmp(ce, "identity"))
        return req->body_len ? sink(ctx, req->body, req->body_len) : 0;
    if (!strcasecmp(ce, "gzip") || !strcasecmp(ce, "x-gzip"))
        return omega_gunzip(req->body, req->body_len, max_decoded, sink, ctx, err);
    return omega_error_set(err, OMEGA_EUNSUPP,
                           "unsupported Content-Encoding '%.40s' (send gzip or identity)", ce);
}

/* Limits of one request: the module's defaults, with gzip bodies allowed to decode to
 * 16x server.max_body_size (line protocol compresses ~10-20x), at most the default. */
static void request_limits(const app_t *app, omega_ingest_limits_t *lim)
{
    omega_ingest_limits_init(lim);
    uint64_t decoded = app->cfg->server.max_body_size * 16;
    if (decoded < lim->max_decoded_bytes)
        lim->max_decoded_bytes = (size_t)decoded;
}

static http_response_t *parse_error(int rc, const omega_error_t *err)
{
    switch (rc) {
    case OMEGA_E2BIG:
        return http_response_error(413, "too_large", "%s", err->message);
    case OMEGA_EUNSUPP:
        return http_response_error(415, "unsupported_media_type", "%s", err->message);
    case OMEGA_ENOMEM:
        return http_response_error(503, "unavailable", "%s", err->message);
    default:
        return http_response_error(400, "bad_data", "%s", err->message);
    }
}

/* How a batch's origins read in messages. */
enum { ORIGIN_ELEMENT = 0, ORIGIN_LINE = 1, ORIGIN_SERIES = 2 };

/* Where point i came from, for messages: "line 7", "[3]" or "timeseries[3]". */
static void origin_text(const omega_ingest_batch_t *b, size_t i, int lines, char *buf, size_t len)
{
    size_t o = omega_ingest_batch_origin(b, i);
    if (lines == ORIGIN_LINE)
        snprintf(buf, len, "line %zu", o);
    else if (lines == ORIGIN_SERIES)
        snprintf(buf, len, "timeseries[%zu]", o);
    else
        snprintf(buf, len, "[%zu]", o);
}

/* security.privacy_settings: with data_masking on, personal data in the values of the
 * free_text_labels is masked before anything is stored (auth's masker, ingest's hook). */
static void mask_free_text(const app_t *app, omega_ingest_batch_t *b)
{
    const omega_config_t *cfg = app->cfg;
    const omega_strlist_t *l = &cfg->security.privacy_settings.free_text_labels;
    if (!cfg->security.privacy_settings.data_masking || l->n == 0)
        return;
    omega_pii_labels_t pl = {(const char *const *)l->items, l->n, OMEGA_PII_ALL};
    omega_ingest_batch_rewrite_labels(b, omega_pii_label_cb, &pl);
}

/* Mask free-text labels, check against the definitions, then one atomic write. NULL on
 * success. */
static http_response_t *store(app_t *app, omega_ingest_batch_t *b, int lines, size_t *stored)
{
    size_t n, bad = 0;
    mask_free_text(app, b);
    const omega_point_t *pts = omega_ingest_batch_points(b, &n);
    *stored = 0;
    if (n == 0)
        return NULL;
    char where[48];
    omega_error_t err;
    omega_error_clear(&err);
    omega_metric_defs_t defs;
    int rc = omega_metric_defs_load(app->db, &defs, &err);
    if (rc != 0)
        return http_response_error(500, "internal", "reading metric definitions: %s", err.message);
    rc = omega_metric_defs_check(&defs, pts, n, &bad, &err);
    omega_metric_defs_deinit(&defs);
    if (rc != 0) {
        origin_text(b, bad, lines, where, sizeof(where));
        return http_response_error(400, "bad_data", "%s: %s", where, err.message);
    }
    rc = omega_tsdb_write(app->db, pts, n, &err);
    size_t idx;
    int off = 0;
    switch (rc) {
    case 0:
        *stored = n;
        hub_notify_write(app->hub, pts, n); /* live subscribers see it now */
        return NULL;
    case OMEGA_EINVAL:
        /* Storage names the point index; the client wants its own line or element. */
        if (sscanf(err.message, "point %zu: %n", &idx, &off) == 1 && off > 0 && idx < n) {
            origin_text(b, idx, lines, where, sizeof(where));
            return http_response_error(400, "bad_data", "%s: %s", where, err.message + off);
        }
        return http_response_error(400, "bad_data", "%s", err.message);
    case OMEGA_E2BIG:
        return http_response_error(422, "limit", "%s", err.message);
    case OMEGA_ENOSPC:
        return http_response_error(507, "storage_full", "%s", err.message);
    default:
        return http_response_error(500, "internal", "storing samples failed: %s", err.message);
    }
}

static http_response_t *no_content(void)
{
    return http_response_take(204, "text/plain", NULL, 0);
}

/* ---- POST /api/v1/write, POST /write ---- */

typedef struct lp_feed {
    omega_lp_parser_t *parser; /* the request's parser */
    omega_error_t *err;        /* where a bad line is described */
} lp_feed_t;

static int lp_sink(void *ctx, const char *data, size_t len)
{
    lp_feed_t *f = ctx;
    return omega_lp_parser_feed(f->parser, data, len, f->err);
}

static http_response_t *h_write(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    omega_lp_precision_t prec;
    const char *ps = http_request_arg(req, "precision");
    if (omega_lp_precision_parse(ps, &prec) != 0) {
        stats_ingest_request(400, 0);
        return http_response_error(400, "bad_data",
                                   "invalid parameter 'precision': \"%.20s\" (expected ns, us, "
                                   "ms or s)",
                                   ps);
    }
    /* db, rp, u and p of Influx v1 clients are accepted and ignored: one store, and
     * credentials travel in the Authorization header. */
    omega_ingest_limits_t lim;
    request_limits(app, &lim);
    omega_ingest_batch_t *b = omega_ingest_batch_create();
    omega_lp_parser_t *p = omega_lp_parser_create(b, prec, omega_now_ms(), &lim);
    omega_error_t err;
    omega_error_clear(&err);
    lp_feed_t feed = {p, &err};
    int rc = feed_body(req, lim.max_decoded_bytes, lp_sink, &feed, &err);
    if (rc == 0)
        rc = omega_lp_parser_finish(p, &err);
    omega_lp_parser_destroy(p);
    size_t stored = 0;
    http_response_t *r = rc ? parse_error(rc, &err) : store(app, b, ORIGIN_LINE, &stored);
    omega_ingest_batch_destroy(b);
    if (!r)
        r = no_content();
    stats_ingest_request(r->status, stored);
    return r;
}

/* ---- POST /api/v1/import ---- */

static int buf_sink(void *ctx, const char *data, size_t len)
{
    omega_buf_append(ctx, data, len);
    return 0;
}

static http_response_t *h_import(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who)
{
    omega_ingest_limits_t lim;
    request_limits(app, &lim);
    omega_error_t err;
    omega_error_clear(&err);
    omega_buf_t text; /* the decoded body; plain bodies are parsed where they are */
    omega_buf_init(&text, 0);
    int rc = 0;
    const char *json = req->body ? req->body : "";
    size_t len = req->body_len;
    if (req->content_encoding) {
        rc = feed_body(req, lim.max_decoded_bytes, buf_sink, &text, &err);
        json = text.data ? text.data : "";
        len = text.len;
    }
    omega_ingest_batch_t *b = omega_ingest_batch_create();
    if (rc == 0)
        rc = omega_import_parse(json, len, &lim, b, &err);
    omega_buf_deinit(&text);
    size_t stored = 0;
    http_response_t *r = rc ? parse_error(rc, &err) : store(app, b, ORIGIN_ELEMENT, &stored);
    omega_ingest_batch_destroy(b);
    if (!r)
        r = no_content();
    stats_ingest_request(r->status, stored);
    return r;
}

/* ---- POST /api/v1/prom/write (Prometheus remote_write 1.0) ---- */

static http_response_t *h_promwrite(app_t *app, const http_request_t *req,
                                    const omega_principal_t *who)
{
    const char *ce = req->content_encoding;
    if (ce && *ce && strcasecmp(ce, "snappy") != 0) {
        stats_ingest_request(415, 0);
        return http_response_error(415, "unsupported_media_type",
                                   "unsupported Content-Encoding '%.40s': remote_write bodies are "
                                   "snappy-compressed protobuf",
                                   ce);
    }
    omega_ingest_limits_t lim;
    request_limits(app, &lim);
    omega_error_t err;
    omega_error_clear(&err);
    char *proto = NULL;
    size_t plen = 0;
    omega_ingest_batch_t *b = omega_ingest_batch_create();
    int rc = omega_snappy_decode(req->body ? req->body : "", req->body_len, lim.max_decoded_bytes,
                                 &proto, &plen, &err);
    if (rc == 0)
        rc = omega_promwrite_parse(proto, plen, &lim, b, NULL, &err);
    free(proto);
    size_t stored = 0;
    http_response_t *r = rc ? parse_error(rc, &err) : store(app, b, ORIGIN_SERIES, &stored);
    omega_ingest_batch_destroy(b);
    if (!r)
        r = no_content();
    stats_ingest_request(r->status, stored);
    return r;
}

/* ---- /api/v1/metrics/definitions ---- */

static http_response_t *h_defs_get(app_t *app, const http_request_t *req,
                                   const omega_principal_t *who)
{
    omega_metric_defs_t defs;
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_metric_defs_load(app->db, &defs, &err) != 0)
        return http_response_error(500, "internal", "%s", err.message);
    omega_buf_t b;
    omega_buf_init(&b, 0);
    omega_buf_puts(&b, "{\"items\":[");
    for (size_t i = 0; i < defs.n; i++) {
        if (i)
            omega_buf_puts(&b, ",");
        omega_metric_def_to_json(&defs.items[i], &b);
    }
    omega_buf_puts(&b, "]}");
    omega_metric_defs_deinit(&defs);
    size_t len;
    char *body = omega_buf_take(&b, &len);
    return http_response_take(200, "application/json", body, len);
}

static http_response_t *h_defs_post(app_t *app, const http_request_t *req,
                                    const omega_principal_t *who)
{
    omega_metric_def_t def;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_metric_def_from_json(req->body ? req->body : "", req->body_len, &def, &err);
    if (rc != 0) /* syntax errors have no path; invalid values name their field */
        return http_response_error(err.path[0] ? 422 : 400, "bad_data", "%s", err.message);
    int created = 0;
    rc = omega_metric_def_put(app->db, &def, &created, &err);
    if (rc == OMEGA_EEXIST)
        return http_response_error(409, "conflict", "%s", err.message);
    if (rc != 0)
        return http_response_error(rc == OMEGA_ENOSPC ? 507 : 500,
                                   rc == OMEGA_ENOSPC ? "storage_full" : "internal", "%s",
                                   err.message);
    omega_buf_t b;
    omega_buf_init(&b, 0);
    omega_metric_def_to_json(&def, &b);
    size_t len;
    char *body = omega_buf_take(&b, &len);
    return http_response_take(created ? 201 : 200, "application/json", body, len);
}

/* ---- GET /metrics ---- */

/* One histogram series being assembled from name_bucket / _sum / _count vectors. */
typedef struct hgroup {
    const omega_vector_item_t *first; /* a bucket item: its labels minus le name the group */
    double bounds[OMEGA_METRIC_MAX_BUCKETS + 1], cum[OMEGA_METRIC_MAX_BUCKETS + 1];
    size_t nb;         /* buckets seen */
    double inf;        /* the +Inf bucket, NAN when absent */
    double sum, count; /* from _sum / _count, NAN when absent */
} hgroup_t;

/* Same labels, ignoring __name__ and le. */
static int same_series(const omega_vector_item_t *a, const omega_vector_item_t *b)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < a->n_labels &&
               (!strcmp(a->labels[i].name, "__name__") || !strcmp(a->labels[i].name, "le")))
            i++;
        while (j < b->n_labels &&
               (!strcmp(b->labels[j].name, "__name__") || !strcmp(b->labels[j].name, "le")))
            j++;
        if (i == a->n_labels || j == b->n_labels)
            return i == a->n_labels && j == b->n_labels;
        if (strcmp(a->labels[i].name, b->labels[j].name) ||
            strcmp(a->labels[i].value, b->labels[j].value))
            return 0;
        i++, j++;
    }
}

static const char *label_of(const omega_vector_item_t *it, const char *name)
{
    for (size_t i = 0; i < it->n_labels; i++)
        if (!strcmp(it->labels[i].name, name))
            return it->labels[i].value;
    return NULL;
}

static omega_vector_t *query_name(app_t *app, const char *name, const char *suffix, int64_t now)
{
    char q[300];
    snprintf(q, sizeof(q), "%s%s", name, suffix);
    omega_vector_t *v = NULL;
    omega_error_t err;
    if (omega_query_instant(app->db, q, now, &v, &err) != 0)
        return NULL;
    return v;
}

static void group_buckets(hgroup_t *g, size_t *ng, size_t cap, const omega_vector_t *bk)
{
    for (size_t i = 0; bk && i < bk->n; i++) {
        const omega_vector_item_t *it = &bk->items[i];
        const char *le = label_of(it, "le");
        char *end;
        double x = le ? strtod(le, &end) : NAN;
        if (!le || *end || isnan(x))
            continue;
        size_t k = 0;
        while (k < *ng && !same_series(g[k].first, it))
            k++;
        if (k == *ng) {
            if (*ng == cap)
                continue;
            memset(&g[k], 0, sizeof(g[k]));
            g[k].first = it;
            g[k].inf = g[k].sum = g[k].count = NAN;
            (*ng)++;
        }
        if (isinf(x) && x > 0)
            g[k].inf = it->value;
        else if (g[k].nb < OMEGA_METRIC_MAX_BUCKETS) {
            size_t at = g[k].nb++; /* insertion sort by bound */
            while (at > 0 && g[k].bounds[at - 1] > x) {
                g[k].bounds[at] = g[k].bounds[at - 1];
                g[k].cum[at] = g[k].cum[at - 1];
                at--;
            }
            g[k].bounds[at] = x;
            g[k].cum[at] = it->value;
        }
    }
}

static void group_totals(hgroup_t *g, size_t ng, const omega_vector_t *v, int is_sum)
{
    for (size_t i = 0; v && i < v->n; i++)
        for (size_t k = 0; k < ng; k++)
            if (same_series(g[k].first, &v->items[i]))
                *(is_sum ? &g[k].sum : &g[k].count) = v->items[i].value;
}

static void write_histogram(omega_expo_t *e, app_t *app, const omega_metric_def_t *d, int64_t now)
{
    omega_vector_t *bk = query_name(app, d->name, "_bucket", now);
    omega_vector_t *sm = query_name(app, d->name, "_sum", now);
    omega_vector_t *ct = query_name(app, d->name, "_count", now);
    size_t cap = bk ? bk->n : 0, ng = 0;
    hgroup_t *g = cap ? omega_calloc(cap, sizeof(*g)) : NULL;
    group_buckets(g, &ng, cap, bk);
    group_totals(g, ng, sm, 1);
    group_totals(g, ng, ct, 0);
    for (size_t k = 0; k < ng; k++) {
        if (isnan(g[k].inf))
            continue; /* no +Inf bucket: not a complete histogram at this instant */
        double count = isnan(g[k].count) ? g[k].inf : g[k].count;
        omega_expo_histogram(e, g[k].first->labels, g[k].first->n_labels, g[k].bounds, g[k].cum,
                             g[k].nb, isnan(g[k].sum) ? 0 : g[k].sum, count);
    }
    free(g);
    omega_vector_destroy(bk);
    omega_vector_destroy(sm);
    omega_vector_destroy(ct);
}

/* A defined application metric with its latest values (5-minute lookback). */
static void write_defined(omega_expo_t *e, app_t *app, const omega_metric_def_t *d, int64_t now)
{
    if (omega_expo_family(e, d->name, d->type, d->help, d->unit) != 0)
        return; /* clashes with one of the server's own families */
    if (d->type == OMEGA_METRIC_HISTOGRAM) {
        write_histogram(e, app, d, now);
        return;
    }
    omega_vector_t *v = query_name(app, d->name, "", now);
    for (size_t i = 0; v && i < v->n; i++)
        omega_expo_sample(e, v->items[i].labels, v->items[i].n_labels, v->items[i].value);
    omega_vector_destroy(v);
}

static http_response_t *h_metrics(app_t *app, const http_request_t *req,
                                  const omega_principal_t *who)
{
    omega_expo_format_t fmt = omega_expo_negotiate(req->accept);
    omega_buf_t b;
    omega_buf_init(&b, 0);
    omega_expo_t e;
    omega_expo_init(&e, &b, fmt);
    stats_write(&e, app);
    omega_metric_defs_t defs;
    omega_error_t err;
    if (omega_metric_defs_load(app->db, &defs, &err) == 0) {
        int64_t now = omega_now_ms();
        for (size_t i = 0; i < defs.n; i++)
            write_defined(&e, app, &defs.items[i], now);
        omega_metric_defs_deinit(&defs);
    }
    omega_expo_finish(&e);
    omega_expo_deinit(&e);
    size_t len;
    char *body = omega_buf_take(&b, &len);
    return http_response_take(200, omega_expo_content_type(fmt), body, len);
}

static const route_t routes[] = {
    {"POST", "/api/v1/write", PERM_INGEST, h_write},
    {"POST", "/write", PERM_INGEST, h_write},
    {"POST", "/api/v1/import", PERM_INGEST, h_import},
    {"POST", "/api/v1/prom/write", PERM_INGEST, h_promwrite},
    {"GET", "/api/v1/metrics/definitions", PERM_READ, h_defs_get},
    {"POST", "/api/v1/metrics/definitions", PERM_INGEST, h_defs_post},
    {"GET", "/metrics", PERM_READ, h_metrics},
};

const route_table_t api_ingest_routes = {routes, sizeof(routes) / sizeof(routes[0])};
