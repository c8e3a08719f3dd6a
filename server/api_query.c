/* SPDX-License-Identifier: Apache-2.0 */
/* Query endpoints with the Prometheus HTTP API's paths, parameters (query string or an
 * application/x-www-form-urlencoded POST body), JSON shapes and error types: query,
 * query_range, series, labels and label/<name>/values. Evaluation is the query module's. */
#include "server_int.h"

#include "omega/buf.h"
#include "omega/query.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PARAMS 512
/* Series a listing may return before it fails (memory bound per request). */
#define MAX_LIST_SERIES 500000

/* ---- parameters: query string plus form body ---- */

typedef struct params {
    const char *name[MAX_PARAMS];  /* borrowed from req->args or from owned */
    const char *value[MAX_PARAMS]; /* decoded values */
    size_t n;                      /* pairs */
    char *owned;                   /* decoded copy of the form body */
} params_t;

static int hexv(int c)
{
    return isdigit(c)               ? c - '0'
           : (c >= 'a' && c <= 'f') ? c - 'a' + 10
           : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                    : -1;
}

/* Decode a form field in place ('+' is a space, %XX a byte); -1 on a bad escape. */
static int form_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '+') {
            *o++ = ' ';
        } else if (*s == '%') {
            int a = hexv((unsigned char)s[1]), b = a < 0 ? -1 : hexv((unsigned char)s[2]);
            if (b < 0)
                return -1;
            *o++ = (char)(a * 16 + b);
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return 0;
}

static void add_param(params_t *p, char *pair)
{
    if (p->n >= MAX_PARAMS)
        return;
    char *eq = strchr(pair, '=');
    if (!eq)
        return;
    *eq = '\0';
    p->name[p->n] = pair;
    p->value[p->n++] = eq + 1;
}

/* Collect parameters; returns an error response for a body we cannot read. */
static http_response_t *params_init(const http_request_t *req, params_t *p)
{
    memset(p, 0, sizeof(*p));
    size_t total = 0;
    for (size_t i = 0; i < req->n_args; i++)
        total += strlen(req->args[i]) + 1;
    size_t blen = strcmp(req->method, "POST") == 0 && req->body ? req->body_len : 0;
    if (blen && (!req->content_type ||
                 strncasecmp(req->content_type, "application/x-www-form-urlencoded", 33) != 0))
        return http_response_error(400, "bad_data",
                                   "POST bodies must be application/x-www-form-urlencoded");
    p->owned = omega_malloc(total + blen + 2);
    char *o = p->owned;
    /* Body values first: they take precedence, as in Go's Request.Form. */
    if (blen) {
        memcpy(o, req->body, blen);
        o[blen] = '\0';
        for (char *save = NULL, *f = strtok_r(o, "&", &save); f; f = strtok_r(NULL, "&", &save)) {
            if (form_decode(f) != 0)
                return http_response_error(400, "bad_data", "malformed form body: bad %%-escape");
            add_param(p, f);
        }
        o += blen + 1;
    }
    for (size_t i = 0; i < req->n_args; i++) {
        size_t l = strlen(req->args[i]);
        memcpy(o, req->args[i], l + 1);
        add_param(p, o);
        o += l + 1;
    }
    return NULL;
}

static const char *param(const params_t *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->name[i], name) == 0)
            return p->value[i];
    return NULL;
}

static size_t param_all(const params_t *p, const char *name, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n && n < max; i++)
        if (strcmp(p->name[i], name) == 0)
            out[n++] = p->value[i];
    return n;
}

static http_response_t *bad_param(const char *name, const char *what, const char *value)
{
    return http_response_error(400, "bad_data",
                               "invalid parameter \"%s\": cannot parse \"%.100s\" to a valid %s",
                               name, value, what);
}

/* A time parameter (RFC 3339 or Unix seconds); *out keeps def when absent. */
static http_response_t *time_param(const params_t *p, const char *name, int64_t *out)
{
    const char *v = param(p, name);
    if (v && *v && omega_time_parse(v, out) != 0)
        return bad_param(name, "timestamp", v);
    return NULL;
}

/* A duration parameter: float seconds ("15", "0.5") or a duration ("1m30s"). */
static http_response_t *duration_param(const params_t *p, const char *name, int64_t *out)
{
    const char *v = param(p, name);
    if (!v || !*v)
        return NULL;
    char *end;
    double s = strtod(v, &end);
    if (*end == '\0' && isfinite(s)) {
        if (s * 1000 > 9.2e18 || s * 1000 < -9.2e18)
            return bad_param(name, "duration", v);
        *out = (int64_t)llround(s * 1000);
        return NULL;
    }
    if (omega_duration_parse(v, 1000, out) != 0)
        return bad_param(name, "duration", v);
    return NULL;
}

/* ---- JSON encoding ---- */

/* Sample values as Prometheus writes them: a JSON string of Go's FormatFloat(v, 'f', -1). */
static void put_value(omega_buf_t *b, double v)
{
    char text[400];
    size_t n = omega_format_plain(v, text);
    omega_buf_append(b, "\"", 1);
    omega_buf_append(b, text, n);
    omega_buf_append(b, "\"", 1);
}

/* Prometheus' timestamp: seconds, with ".mmm" only when there are milliseconds. */
static void put_ts(omega_buf_t *b, int64_t ts)
{
    long long ms = llabs(ts);
    if (ts < 0)
        omega_buf_append(b, "-", 1);
    omega_buf_put_i64(b, ms / 1000);
    if (ms % 1000) {
        char frac[5] = {'.', (char)('0' + ms % 1000 / 100), (char)('0' + ms % 100 / 10),
                        (char)('0' + ms % 10), 0};
        omega_buf_append(b, frac, 4);
    }
}

static void put_point(omega_buf_t *b, int64_t ts, double v)
{
    omega_buf_puts(b, "[");
    put_ts(b, ts);
    omega_buf_puts(b, ",");
    put_value(b, v);
    omega_buf_puts(b, "]");
}

static const char *const type_names[] = {"scalar", "vector", "matrix", "string"};

static http_response_t *encode_result(const omega_query_result_t *r)
{
    omega_buf_t b;
    omega_buf_init(&b, 0);
    omega_buf_printf(&b, "{\"status\":\"success\",\"data\":{\"resultType\":\"%s\",\"result\":",
                     type_names[r->type]);
    if (r->type == OMEGA_QUERY_SCALAR) {
        put_point(&b, r->ts_ms, r->scalar);
    } else if (r->type == OMEGA_QUERY_STRING) {
        omega_buf_puts(&b, "[");
        put_ts(&b, r->ts_ms);
        omega_buf_puts(&b, ",");
        omega_buf_json_str(&b, r->string, strlen(r->string));
        omega_buf_puts(&b, "]");
    } else {
        omega_buf_puts(&b, "[");
        for (size_t i = 0; i < r->n_series; i++) {
            const omega_query_series_t *s = &r->series[i];
            omega_buf_puts(&b, i ? ",{\"metric\":" : "{\"metric\":");
            encode_labels(&b, s->labels, s->n_labels);
            if (r->type == OMEGA_QUERY_VECTOR) {
                omega_buf_puts(&b, ",\"value\":");
                put_point(&b, s->points[0].ts_ms, s->points[0].value);
            } else {
                omega_buf_puts(&b, ",\"values\":[");
                for (size_t k = 0; k < s->n_points; k++) {
                    if (k)
                        omega_buf_puts(&b, ",");
                    put_point(&b, s->points[k].ts_ms, s->points[k].value);
                }
                omega_buf_puts(&b, "]");
            }
            omega_buf_puts(&b, "}");
        }
        omega_buf_puts(&b, "]");
    }
    omega_buf_puts(&b, "}}");
    size_t len;
    char *body = omega_buf_take(&b, &len);
    return http_response_take(200, "application/json", body, len);
}

/* Engine status -> Prometheus' HTTP status and errorType. */
static http_response_t *query_error(int rc, const omega_error_t *err)
{
    switch (rc) {
    case OMEGA_EINVAL:
        return http_response_error(400, "bad_data", "invalid parameter \"query\": %s",
                                   err->message);
    case OMEGA_EEXIST:
    case OMEGA_E2BIG:
        return http_response_error(422, "execution", "%s", err->message);
    case OMEGA_ETIMEDOUT:
        return http_response_error(503, "timeout", "%s", err->message);
    default:
        return http_response_error(500, "internal", "%s",
                                   err->message[0] ? err->message : omega_strerror(rc));
    }
}

/* ---- handlers ---- */

/* Default and maximum evaluation time of one query (a `timeout` parameter may lower it). */
#define QUERY_TIMEOUT_MS 30000

static http_response_t *run_query(app_t *app, const params_t *p, int64_t start, int64_t end,
                                  int64_t step)
{
    const char *q = param(p, "query");
    if (!q || !*q)
        return http_response_error(400, "bad_data",
                                   "invalid parameter \"query\": the query is empty");
    omega_query_opts_t opts;
    omega_query_opts_init(&opts);
    opts.timeout_ms = QUERY_TIMEOUT_MS;
    http_response_t *bad = duration_param(p, "timeout", &opts.timeout_ms);
    if (bad)
        return bad;
    if (opts.timeout_ms <= 0 || opts.timeout_ms > QUERY_TIMEOUT_MS)
        opts.timeout_ms = QUERY_TIMEOUT_MS;
    omega_query_result_t *r = NULL;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_query_exec(app->db, q, start, end, step, &opts, &r, &err);
    if (rc != 0)
        return query_error(rc, &err);
    http_response_t *resp = encode_result(r);
    omega_query_result_destroy(r);
    return resp;
}

static http_response_t *h_query(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    (void)who;
    params_t p;
    int64_t at = omega_now_ms();
    http_response_t *resp = params_init(req, &p);
    if (!resp)
        resp = time_param(&p, "time", &at);
    if (!resp)
        resp = run_query(app, &p, at, at, 0);
    free(p.owned);
    return resp;
}

static http_response_t *range_args(const params_t *p, int64_t *start, int64_t *end, int64_t *step)
{
    static const char *const names[] = {"start", "end", "step"};
    for (int i = 0; i < 3; i++) {
        const char *v = param(p, names[i]);
        if (!v || !*v)
            return bad_param(names[i], i == 2 ? "duration" : "timestamp", "");
    }
    http_response_t *bad = time_param(p, "start", start);
    if (!bad)
        bad = time_param(p, "end", end);
    if (!bad)
        bad = duration_param(p, "step", step);
    if (bad)
        return bad;
    if (*end < *start)
        return http_response_error(400, "bad_data", "end timestamp must not be before start time");
    if (*step <= 0)
        return http_response_error(400, "bad_data",
                                   "zero or negative query resolution step widths are not "
                                   "accepted. Try a positive integer");
    if ((*end - *start) / *step >= OMEGA_QUERY_MAX_STEPS)
        return http_response_error(400, "bad_data",
                                   "exceeded maximum resolution of 11,000 points per "
                                   "timeseries. Try decreasing the query resolution (?step=XX)");
    return NULL;
}

static http_response_t *h_query_range(app_t *app, const http_request_t *req,
                                      const omega_principal_t *who)
{
    (void)who;
    params_t p;
    int64_t start = 0, end = 0, step = 0;
    http_response_t *resp = params_init(req, &p);
    if (!resp)
        resp = range_args(&p, &start, &end, &step);
    if (!resp)
        resp = run_query(app, &p, start, end, step);
    free(p.owned);
    return resp;
}

static http_response_t *listing_error(int rc, const omega_error_t *err)
{
    if (rc == OMEGA_EINVAL)
        return http_response_error(400, "bad_data", "%s", err->message);
    if (rc == OMEGA_E2BIG)
        return http_response_error(422, "execution", "%s", err->message);
    return http_response_error(500, "internal", "%s",
                               err->message[0] ? err->message : omega_strerror(rc));
}

/* The match[], start and end of the listing endpoints. */
static http_response_t *listing_args(const params_t *p, const char **match, size_t *n,
                                     int64_t *start, int64_t *end)
{
    *n = param_all(p, "match[]", match, MAX_PARAMS);
    http_response_t *bad = time_param(p, "start", start);
    if (!bad)
        bad = time_param(p, "end", end);
    if (!bad && *start && *end && *end < *start)
        bad = http_response_error(400, "bad_data", "end timestamp must not be before start time");
    return bad;
}

static http_response_t *strings_response(const omega_query_strings_t *s)
{
    omega_buf_t b;
    omega_buf_init(&b, 0);
    omega_buf_puts(&b, "{\"status\":\"success\",\"data\":[");
    for (size_t i = 0; i < s->n; i++) {
        if (i)
            omega_buf_puts(&b, ",");
        omega_buf_json_str(&b, s->v[i], strlen(s->v[i]));
    }
    omega_buf_puts(&b, "]}");
    size_t len;
    char *body = omega_buf_take(&b, &len);
    return http_response_take(200, "application/json", body, len);
}

static http_response_t *h_series(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who)
{
    (void)who;
    params_t p;
    const char *match[MAX_PARAMS];
    size_t n = 0;
    int64_t start = 0, end = 0;
    http_response_t *resp = params_init(req, &p);
    if (!resp)
        resp = listing_args(&p, match, &n, &start, &end);
    if (!resp) {
        omega_query_labelsets_t *ls = NULL;
        omega_error_t err;
        omega_error_clear(&err);
        int rc = omega_query_series(app->db, match, n, start, end, MAX_LIST_SERIES, &ls, &err);
        if (rc != 0) {
            resp = listing_error(rc, &err);
        } else {
            omega_buf_t b;
            omega_buf_init(&b, 0);
            omega_buf_puts(&b, "{\"status\":\"success\",\"data\":[");
            for (size_t i = 0; i < ls->n; i++) {
                if (i)
                    omega_buf_puts(&b, ",");
                encode_labels(&b, ls->sets[i].labels, ls->sets[i].n_labels);
            }
            omega_buf_puts(&b, "]}");
            size_t len;
            char *body = omega_buf_take(&b, &len);
            resp = http_response_take(200, "application/json", body, len);
        }
        omega_query_labelsets_destroy(ls);
    }
    free(p.owned);
    return resp;
}

static http_response_t *h_labels(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who)
{
    (void)who;
    params_t p;
    const char *match[MAX_PARAMS];
    size_t n = 0;
    int64_t start = 0, end = 0;
    http_response_t *resp = params_init(req, &p);
    if (!resp)
        resp = listing_args(&p, match, &n, &start, &end);
    if (!resp) {
        omega_query_strings_t *s = NULL;
        omega_error_t err;
        omega_error_clear(&err);
        int rc = omega_query_label_names(app->db, match, n, start, end, &s, &err);
        resp = rc ? listing_error(rc, &err) : strings_response(s);
        omega_query_strings_destroy(s);
    }
    free(p.owned);
    return resp;
}

/* GET /api/v1/label/<name>/values: the name is the route's one path parameter. */
static http_response_t *h_label_values(app_t *app, const http_request_t *req,
                                       const omega_principal_t *who)
{
    (void)who;
    const char *name = req->n_params == 1 ? req->params[0] : "";
    params_t p;
    const char *match[MAX_PARAMS];
    size_t n = 0;
    int64_t start = 0, end = 0;
    http_response_t *resp = params_init(req, &p);
    if (!resp)
        resp = listing_args(&p, match, &n, &start, &end);
    if (!resp) {
        omega_query_strings_t *s = NULL;
        omega_error_t err;
        omega_error_clear(&err);
        int rc = omega_query_label_values(app->db, name, match, n, start, end, &s, &err);
        resp = rc ? listing_error(rc, &err) : strings_response(s);
        omega_query_strings_destroy(s);
    }
    free(p.owned);
    return resp;
}

static const route_t routes[] = {
    {"GET", "/api/v1/query", PERM_READ, h_query},
    {"POST", "/api/v1/query", PERM_READ, h_query},
    {"GET", "/api/v1/query_range", PERM_READ, h_query_range},
    {"POST", "/api/v1/query_range", PERM_READ, h_query_range},
    {"GET", "/api/v1/series", PERM_READ, h_series},
    {"POST", "/api/v1/series", PERM_READ, h_series},
    {"GET", "/api/v1/labels", PERM_READ, h_labels},
    {"POST", "/api/v1/labels", PERM_READ, h_labels},
    {"GET", "/api/v1/label/*/values", PERM_READ, h_label_values},
};

const route_table_t api_query_routes = {routes, sizeof(routes) / sizeof(routes[0])};
