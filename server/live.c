/* SPDX-License-Identifier: Apache-2.0 */
/* The `omega-live.v1` WebSocket protocol of /api/v1/live: authentication (URL token, API
 * key or a first auth message, 4401 otherwise within 5 s, and again when the token
 * expires or stops verifying), one permission per client message type (the same check
 * as the HTTP routes), and writing the hub's queued frames. */
#include "server_int.h"

#include "omega/buf.h"
#include "omega/log.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_TIMEOUT_MS    5000
#define MAX_MESSAGE        65536
#define CLOSE_UNAUTHORIZED 4401

#define RECHECK_MAX_MS (24LL * 3600 * 1000) /* API keys never expire: re-arm daily */

typedef struct live_pss {
    uint64_t conn;         /* hub connection id, 0 when not registered */
    int authed;            /* 1 once a valid token was presented */
    int64_t deadline_ms;   /* auth deadline, then token expiry (Unix ms) */
    omega_buf_t rx;        /* message being reassembled from fragments */
    char *credential;      /* the token or API key presented (malloc'd), re-checked per message */
    omega_principal_t who; /* whom it speaks for */
} live_pss_t;

/* What each client message needs; "auth" is how a socket gets a principal at all. */
const live_message_perm_t live_message_perms[] = {
    {"auth", PERM_PUBLIC},
    {"subscribe", PERM_READ},
    {"unsubscribe", PERM_READ},
};
const size_t live_n_message_perms = sizeof(live_message_perms) / sizeof(live_message_perms[0]);

static int close_with(struct lws *wsi, int code, const char *reason)
{
    lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)reason, strlen(reason));
    return -1;
}

static void arm_timer(struct lws *wsi, int64_t deadline_ms)
{
    int64_t delay = deadline_ms - omega_now_ms();
    if (delay < 1)
        delay = 1;
    lws_set_timer_usecs(wsi, (lws_usec_t)delay * 1000);
}

static void send_error(app_t *app, live_pss_t *pss, const char *id, const char *msg)
{
    omega_buf_t b;
    omega_buf_init(&b, 0);
    omega_buf_puts(&b, "{\"type\":\"error\",\"id\":");
    if (id)
        omega_buf_json_str(&b, id, strlen(id));
    else
        omega_buf_puts(&b, "null");
    omega_buf_puts(&b, ",\"error\":");
    omega_buf_json_str(&b, msg, strlen(msg));
    omega_buf_puts(&b, "}");
    hub_send(app->hub, pss->conn, b.data, b.len);
    omega_buf_deinit(&b);
}

/* Verify token; on success mark the socket authenticated until the token expires. */
static int authenticate(struct lws *wsi, app_t *app, live_pss_t *pss, const char *token)
{
    omega_principal_t who;
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_auth_verify_credential(app->auth, token, &who, &err) != 0)
        return close_with(wsi, CLOSE_UNAUTHORIZED, err.message[0] ? err.message : "unauthorized");
    pss->authed = 1;
    pss->who = who;
    char *copy = omega_strdup(token); /* token may be pss->credential itself */
    free(pss->credential);
    pss->credential = copy;
    int64_t cap = omega_now_ms() + RECHECK_MAX_MS;
    pss->deadline_ms = who.expires_at_ms < cap ? who.expires_at_ms : cap;
    arm_timer(wsi, pss->deadline_ms);
    return 0;
}

/* The permission a message type needs; -1 for an unknown type. */
static int message_perm(const char *type)
{
    for (size_t i = 0; type && i < live_n_message_perms; i++)
        if (strcmp(type, live_message_perms[i].type) == 0)
            return (int)live_message_perms[i].perm;
    return -1;
}

/* Same check as the HTTP router, per message: the credential must still verify (logout,
 * disabling or deleting the user closes the socket at its next message) and allow perm.
 * Returns 0 to go on, 1 when an error was sent, -1 when the socket is being closed. */
static int authorize(struct lws *wsi, app_t *app, live_pss_t *pss, const char *id, int perm)
{
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_auth_verify_credential(app->auth, pss->credential, &pss->who, &err) != 0)
        return close_with(wsi, CLOSE_UNAUTHORIZED, err.message[0] ? err.message : "unauthorized");
    if (omega_auth_allows(app->auth, &pss->who, (omega_perm_t)perm))
        return 0;
    send_error(app, pss, id, "forbidden: this credential may not use this message type");
    return 1;
}

static int on_established(struct lws *wsi, app_t *app, live_pss_t *pss)
{
    memset(pss, 0, sizeof(*pss));
    omega_buf_init(&pss->rx, 0);
    pss->conn = hub_conn_add(app->hub, wsi);
    if (!pss->conn)
        return close_with(wsi, 1013 /* try again later */, "too many live clients");
    char buf[2048];
    const char *tok = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof(buf));
    if (tok && *tok)
        return authenticate(wsi, app, pss, tok);
    pss->deadline_ms = omega_now_ms() + AUTH_TIMEOUT_MS;
    arm_timer(wsi, pss->deadline_ms);
    return 0;
}

static int on_subscribe(app_t *app, live_pss_t *pss, json_t *msg, const char *id)
{
    json_t *q = json_object_get(msg, "query");
    json_t *iv = json_object_get(msg, "interval_ms");
    if (!id || !*id || strlen(id) > 64)
        return send_error(app, pss, id, "field 'id' must be a string of 1 to 64 characters"), 0;
    if (!json_is_string(q))
        return send_error(app, pss, id, "field 'query' is required and must be a string"), 0;
    int64_t interval = 1000;
    if (iv && !json_is_number(iv))
        return send_error(app, pss, id, "field 'interval_ms' must be a number"), 0;
    if (iv) {
        double d = json_number_value(iv);
        if (!(d >= 100 && d <= 3600000))
            return send_error(app, pss, id, "field 'interval_ms' must be between 100 and 3600000"),
                   0;
        interval = (int64_t)d;
    }
    omega_error_t err;
    omega_error_clear(&err);
    if (hub_subscribe(app->hub, pss->conn, id, json_string_value(q), interval, &err) != 0)
        send_error(app, pss, id, err.message);
    return 0;
}

static const char *const known_fields[] = {"type", "id", "query", "interval_ms", "token", NULL};

static int on_message(struct lws *wsi, app_t *app, live_pss_t *pss)
{
    json_error_t je;
    json_t *msg =
        json_loadb(pss->rx.data ? pss->rx.data : "", pss->rx.len, JSON_REJECT_DUPLICATES, &je);
    pss->rx.len = 0;
    if (!msg || !json_is_object(msg)) {
        send_error(app, pss, NULL, msg ? "message must be a JSON object" : je.text);
        json_decref(msg);
        return 0;
    }
    const char *type = json_string_value(json_object_get(msg, "type"));
    const char *id = json_string_value(json_object_get(msg, "id"));
    const char *key;
    json_t *val;
    int rc = 0;
    json_object_foreach(msg, key, val)
    {
        int ok = 0;
        for (int i = 0; known_fields[i]; i++)
            ok |= strcmp(key, known_fields[i]) == 0;
        if (!ok) {
            char m[128];
            snprintf(m, sizeof(m), "unknown field '%.60s'", key);
            send_error(app, pss, id, m);
            goto out;
        }
    }
    if (type && strcmp(type, "auth") == 0) {
        const char *tok = json_string_value(json_object_get(msg, "token"));
        rc = authenticate(wsi, app, pss, tok ? tok : "");
    } else if (!pss->authed) {
        rc = close_with(wsi, CLOSE_UNAUTHORIZED, "authenticate first");
    } else if (message_perm(type) >= 0 &&
               (rc = authorize(wsi, app, pss, id, message_perm(type))) != 0) {
        rc = rc < 0 ? -1 : 0;
    } else if (type && strcmp(type, "subscribe") == 0) {
        rc = on_subscribe(app, pss, msg, id);
    } else if (type && strcmp(type, "unsubscribe") == 0) {
        if (!id || hub_unsubscribe(app->hub, pss->conn, id) != 0)
            send_error(app, pss, id, "no such subscription");
    } else {
        send_error(app, pss, id, "field 'type' must be one of auth, subscribe, unsubscribe");
    }
out:
    json_decref(msg);
    return rc;
}

static int on_receive(struct lws *wsi, app_t *app, live_pss_t *pss, const void *in, size_t len)
{
    if (pss->rx.len + len > MAX_MESSAGE)
        return close_with(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
    if (lws_frame_is_binary(wsi)) { /* answered once, when the message ends */
        pss->rx.len = 0;
        if (lws_is_final_fragment(wsi))
            send_error(app, pss, NULL,
                       "binary messages are not part of omega-live.v1: send "
                       "JSON as text messages");
        return 0;
    }
    omega_buf_append(&pss->rx, in, len);
    if (!lws_is_final_fragment(wsi))
        return 0;
    return on_message(wsi, app, pss);
}

static int on_writeable(struct lws *wsi, app_t *app, live_pss_t *pss)
{
    size_t len;
    int more;
    unsigned char *buf = hub_next_frame(app->hub, pss->conn, &len, &more);
    if (!buf)
        return 0;
    int n = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT);
    free(buf);
    if (n < (int)len)
        return -1;
    if (more)
        lws_callback_on_writable(wsi);
    return 0;
}

static int live_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    live_pss_t *pss = user;
    app_t *app = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        return on_established(wsi, app, pss);
    case LWS_CALLBACK_RECEIVE:
        return on_receive(wsi, app, pss, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return on_writeable(wsi, app, pss);
    case LWS_CALLBACK_TIMER:
        if (omega_now_ms() + 1 < pss->deadline_ms) {
            arm_timer(wsi, pss->deadline_ms);
            return 0;
        }
        if (pss->authed && pss->who.is_api_key) /* keys do not expire: check it still exists */
            return authenticate(wsi, app, pss, pss->credential);
        return close_with(wsi, CLOSE_UNAUTHORIZED,
                          pss->authed ? "token expired" : "authentication required");
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (app && app->hub)
            hub_request_writes(app->hub);
        return 0;
    case LWS_CALLBACK_CLOSED:
        if (pss && pss->conn)
            hub_conn_remove(app->hub, pss->conn);
        if (pss) {
            omega_buf_deinit(&pss->rx);
            free(pss->credential);
            pss->credential = NULL;
            pss->conn = 0;
        }
        return 0;
    default:
        return 0;
    }
}

const struct lws_protocols live_protocol = {
    "omega-live.v1", live_callback, sizeof(live_pss_t), MAX_MESSAGE, 0, NULL, 0,
};
