/* SPDX-License-Identifier: Apache-2.0 */
/* Query endpoints (Prometheus HTTP API shapes): instant queries today. */
#include "server_int.h"

#include "omega/buf.h"
#include "omega/query.h"

#include <string.h>

static void append_vector(omega_buf_t *b, const omega_vector_t *v)
{
    omega_buf_puts(b, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[");
    for (size_t i = 0; i < v->n; i++) {
        const omega_vector_item_t *it = &v->items[i];
        omega_buf_puts(b, i ? ",{\"metric\":" : "{\"metric\":");
        encode_labels(b, it->labels, it->n_labels);
        char val[40];
        omega_format_double(it->value, val, sizeof(val));
        omega_buf_printf(b, ",\"value\":[%lld.%03lld,\"%s\"]}", (long long)(it->ts_ms / 1000),
                         (long long)(it->ts_ms % 1000), val);
    }
    omega_buf_puts(b, "]}}");
}

static http_response_t *h_query(app_t *app, const http_request_t *req,
                                const omega_principal_t *who)
{
    const char *q = http_request_arg(req, "query");
    const char *t = http_request_arg(req, "time");
    if (!q || !*q)
        return http_response_error(400, "bad_data", "parameter 'query' is required");
    int64_t at = omega_now_ms();
    if (t && *t && omega_time_parse(t, &at) != 0)
        return http_response_error(400, "bad_data",
                                   "invalid parameter 'time': cannot parse \"%s\" as RFC 3339 "
                                   "or Unix seconds", t);
    omega_vector_t *v = NULL;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_query_instant(app->db, q, at, &v, &err);
    if (rc == OMEGA_EINVAL)
        return http_response_error(400, "bad_data", "invalid parameter 'query': %s", err.message);
    if (rc != 0)
        return http_response_error(500, "execution", "%s", err.message);
    omega_buf_t b;
    omega_buf_init(&b, 0);
    append_vector(&b, v);
    omega_vector_destroy(v);
    size_t len;
    char *body = omega_buf_take(&b, &len);
    return http_response_take(200, "application/json", body, len);
}

static const route_t routes[] = {
    {"GET", "/api/v1/query", PERM_READ, h_query},
};

const route_table_t api_query_routes = {routes, sizeof(routes) / sizeof(routes[0])};
