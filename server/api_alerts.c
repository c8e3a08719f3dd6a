/* SPDX-License-Identifier: Apache-2.0 */
/* Alerts API (API.md "Alerts"): rules, channels, silences, active alerts, history,
 * acknowledgement and channel tests. Handlers translate HTTP to omega_alert_* calls; the
 * alert module validates and stores. */
#include "server_int.h"

#include "omega/alert.h"

#include <stdlib.h>
#include <string.h>

/* The module's status as an HTTP answer: a path in err means a field was wrong (422),
 * none means the body itself was unreadable (400). */
static http_response_t *alert_error(int rc, const omega_error_t *err)
{
    const char *msg = err->message[0] ? err->message : omega_strerror(rc);
    switch (rc) {
    case OMEGA_EINVAL:
        return err->path[0] ? http_response_error(422, "bad_data", "%s", msg)
                            : http_response_error(400, "bad_data", "%s", msg);
    case OMEGA_ENOENT:
        return http_response_error(404, "not_found", "%s", msg);
    case OMEGA_EEXIST:
    case OMEGA_EPERM:
        return http_response_error(409, "conflict", "%s", msg);
    case OMEGA_ETIMEDOUT:
        return http_response_error(504, "delivery", "%s", msg);
    default:
        return http_response_error(500, "internal", "%s", msg);
    }
}

static http_response_t *reply(int rc, int status, char *json, const omega_error_t *err)
{
    if (rc != 0) {
        free(json);
        return alert_error(rc, err);
    }
    if (!json)
        return http_response_take(status, "application/json", NULL, 0);
    return http_response_take(status, "application/json", json, strlen(json));
}

static http_response_t *not_running(void)
{
    return http_response_error(503, "unavailable", "alerting is not running");
}

#define ENGINE_OR_503(app)                                                                         \
    do {                                                                                           \
        if (!(app)->alerts)                                                                        \
            return not_running();                                                                  \
    } while (0)

/* Audit a change and answer. */
static http_response_t *changed(app_t *app, const http_request_t *req, const omega_principal_t *who,
                                const char *action, int rc, int status, char *json,
                                const omega_error_t *err)
{
    api_audit(app, req, who, action, req->n_params ? req->params[0] : "",
              rc == 0 ? "success" : "failure", rc == 0 ? NULL : err->message);
    return reply(rc, status, json, err);
}

static http_response_t *h_rules_list(app_t *app, const http_request_t *req,
                                     const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    char *out = NULL;
    int rc = omega_alert_rule_list(app->alerts, &out, &err);
    return reply(rc, 200, out, &err);
}

static http_response_t *h_rule_create(app_t *app, const http_request_t *req,
                                      const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    char *out = NULL;
    int rc = omega_alert_rule_put(app->alerts, NULL, req->body, &out, &err);
    return changed(app, req, who, "alert.rule.create", rc, 201, out, &err);
}

static http_response_t *h_rule_get(app_t *app, const http_request_t *req,
                                   const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    char *out = NULL;
    int rc = omega_alert_rule_get(app->alerts, req->params[0], &out, &err);
    return reply(rc, 200, out, &err);
}

static http_response_t *h_rule_put(app_t *app, const http_request_t *req,
                                   const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    char *out = NULL;
    int rc = omega_alert_rule_put(app->alerts, req->params[0], req->body, &out, &err);
    return changed(app, req, who, "alert.rule.update", rc, 200, out, &err);
}

static http_response_t *h_rule_patch(app_t *app, const http_request_t *req,
                                     const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    char *out = NULL;
    int rc = omega_alert_rule_patch(app->alerts, req->params[0], req->body, &out, &err);
    return changed(app, req, who, "alert.rule.update", rc, 200, out, &err);
}

/* A built-in rule back to the configuration's version. */
static http_response_t *h_rule_reset(app_t *app, const http_request_t *req,
                                     const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    char *out = NULL;
    int rc = omega_alert_rule_reset(app->alerts, req->params[0], &out, &err);
    return changed(app, req, who, "alert.rule.reset", rc, 200, out, &err);
}

static http_response_t *h_rule_delete(app_t *app, const http_request_t *req,
                                      const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    int rc = omega_alert_rule_delete(app->alerts, req->params[0], &err);
    return changed(app, req, who, "alert.rule.delete", rc, 204, NULL, &err);
}

static http_response_t *h_active(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    char *out = NULL;
    int rc = omega_alert_active(app->alerts, &out, &err);
    return reply(rc, 200, out, &err);
}

static int time_arg(const http_request_t *req, const char *name, int64_t *out)
{
    const char *v = http_request_arg(req, name);
    return v && *v ? omega_time_parse(v, out) : 0;
}

static http_response_t *h_history(app_t *app, const http_request_t *req,
                                  const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    int64_t until = omega_now_ms(), since = until - 24 * 3600 * 1000LL;
    if (time_arg(req, "since", &since) != 0 || time_arg(req, "until", &until) != 0)
        return http_response_error(400, "bad_data",
                                   "since and until must be RFC 3339 times "
                                   "or Unix seconds");
    const char *lim = http_request_arg(req, "limit");
    char *end = NULL;
    long limit = lim && *lim ? strtol(lim, &end, 10) : 0;
    if (lim && *lim && (*end || limit < 1 || limit > 10000))
        return http_response_error(400, "bad_data", "limit must be an integer from 1 to 10000");
    omega_error_t err = {0};
    char *out = NULL;
    int rc = omega_alert_history(app->alerts, since, until, http_request_arg(req, "rule"),
                                 http_request_arg(req, "severity"), (size_t)limit, &out, &err);
    return reply(rc, 200, out, &err);
}

static http_response_t *h_ack(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    int rc = omega_alert_ack(app->alerts, req->params[0], who->username, &err);
    return changed(app, req, who, "alert.ack", rc, 204, NULL, &err);
}

static http_response_t *h_silences(app_t *app, const http_request_t *req,
                                   const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    char *out = NULL;
    int rc = omega_alert_silence_list(app->alerts, omega_now_ms(), &out, &err);
    return reply(rc, 200, out, &err);
}

static http_response_t *h_silence_create(app_t *app, const http_request_t *req,
                                         const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    char *out = NULL;
    int rc = omega_alert_silence_create(app->alerts, req->body, &out, &err);
    return changed(app, req, who, "alert.silence.create", rc, 201, out, &err);
}

static http_response_t *h_silence_delete(app_t *app, const http_request_t *req,
                                         const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    int rc = omega_alert_silence_delete(app->alerts, req->params[0], &err);
    return changed(app, req, who, "alert.silence.delete", rc, 204, NULL, &err);
}

static http_response_t *h_channels(app_t *app, const http_request_t *req,
                                   const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    char *out = NULL;
    int rc = omega_alert_channel_list(app->alerts, &out, &err);
    return reply(rc, 200, out, &err);
}

static http_response_t *h_channel_create(app_t *app, const http_request_t *req,
                                         const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    char *out = NULL;
    int rc = omega_alert_channel_put(app->alerts, NULL, req->body, &out, &err);
    return changed(app, req, who, "alert.channel.create", rc, 201, out, &err);
}

static http_response_t *h_channel_put(app_t *app, const http_request_t *req,
                                      const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    char *out = NULL;
    int rc = omega_alert_channel_put(app->alerts, req->params[0], req->body, &out, &err);
    return changed(app, req, who, "alert.channel.update", rc, 200, out, &err);
}

static http_response_t *h_channel_delete(app_t *app, const http_request_t *req,
                                         const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    int rc = omega_alert_channel_delete(app->alerts, req->params[0], &err);
    return changed(app, req, who, "alert.channel.delete", rc, 204, NULL, &err);
}

/* Sends on this worker thread, bounded by the channel's timeout. */
static http_response_t *h_channel_test(app_t *app, const http_request_t *req,
                                       const omega_principal_t *who)
{
    ENGINE_OR_503(app);
    omega_error_t err = {0};
    int rc = omega_alert_channel_test(app->alerts, req->params[0], &err);
    if (rc == OMEGA_EIO)
        return http_response_error(502, "delivery", "%s", err.message);
    return reply(rc, 200, rc == 0 ? omega_strdup("{\"status\":\"sent\"}") : NULL, &err);
}

static const route_t routes[] = {
    {"GET", "/api/v1/alerts", PERM_READ, h_active},
    {"GET", "/api/v1/alerts/history", PERM_READ, h_history},
    {"GET", "/api/v1/alerts/rules", PERM_READ, h_rules_list},
    {"POST", "/api/v1/alerts/rules", PERM_ADMIN, h_rule_create},
    {"GET", "/api/v1/alerts/rules/*", PERM_READ, h_rule_get},
    {"PUT", "/api/v1/alerts/rules/*", PERM_ADMIN, h_rule_put},
    {"PATCH", "/api/v1/alerts/rules/*", PERM_ADMIN, h_rule_patch},
    {"DELETE", "/api/v1/alerts/rules/*/override", PERM_ADMIN, h_rule_reset},
    {"DELETE", "/api/v1/alerts/rules/*", PERM_ADMIN, h_rule_delete},
    {"GET", "/api/v1/alerts/silences", PERM_READ, h_silences},
    {"POST", "/api/v1/alerts/silences", PERM_ACK, h_silence_create},
    {"DELETE", "/api/v1/alerts/silences/*", PERM_ACK, h_silence_delete},
    {"GET", "/api/v1/alerts/channels", PERM_ADMIN, h_channels},
    {"POST", "/api/v1/alerts/channels", PERM_ADMIN, h_channel_create},
    {"PUT", "/api/v1/alerts/channels/*", PERM_ADMIN, h_channel_put},
    {"DELETE", "/api/v1/alerts/channels/*", PERM_ADMIN, h_channel_delete},
    {"POST", "/api/v1/alerts/channels/*/test", PERM_ADMIN, h_channel_test},
    {"POST", "/api/v1/alerts/*/ack", PERM_ACK, h_ack},
};

const route_table_t api_alerts_routes = {routes, sizeof(routes) / sizeof(routes[0])};
