/* SPDX-License-Identifier: Apache-2.0 */
/* The libwebsockets HTTP side: context and mounts (static web root, /api, /healthz), TLS,
 * turning each request into an http_request_t for the worker pool, collecting bodies
 * within the size limit, and writing the worker's response back in pieces. Nothing here
 * decides what a request means; routes.c does, on a worker thread. */
#include "server_int.h"

#include "omega/log.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITE_CHUNK 16384

typedef struct http_pss {
    http_request_t *req;   /* request being received (body pending), owned */
    uint64_t inflight;     /* id of the request the workers hold, 0 when none */
    http_response_t *resp; /* response being written, owned */
    size_t sent;           /* body bytes written so far */
    size_t body_cap;       /* request body bytes announced (buffer holds one more) */
    int headers_sent;      /* 1 once the status line and headers are out */
    int close_after;       /* close the connection after this response */
} http_pss_t;

/* In-flight requests: id -> wsi, loop thread only. Small and short-lived. */
typedef struct inflight {
    uint64_t id;
    struct lws *wsi;
} inflight_t;

static inflight_t *inflight_tab;
static size_t inflight_n, inflight_cap;
static uint64_t next_request_id = 1;

static void inflight_add(uint64_t id, struct lws *wsi)
{
    if (inflight_n == inflight_cap) {
        inflight_cap = inflight_cap ? inflight_cap * 2 : 64;
        inflight_tab = omega_realloc(inflight_tab, inflight_cap * sizeof(*inflight_tab));
    }
    inflight_tab[inflight_n].id = id;
    inflight_tab[inflight_n++].wsi = wsi;
}

static struct lws *inflight_take(uint64_t id)
{
    for (size_t i = 0; i < inflight_n; i++) {
        if (inflight_tab[i].id == id) {
            struct lws *wsi = inflight_tab[i].wsi;
            inflight_tab[i] = inflight_tab[--inflight_n];
            return wsi;
        }
    }
    return NULL;
}

static const struct {
    enum lws_token_indexes tok;
    const char *name;
} methods[] = {
    {WSI_TOKEN_GET_URI, "GET"},       {WSI_TOKEN_POST_URI, "POST"},
    {WSI_TOKEN_PUT_URI, "PUT"},       {WSI_TOKEN_PATCH_URI, "PATCH"},
    {WSI_TOKEN_DELETE_URI, "DELETE"}, {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
    {WSI_TOKEN_HEAD_URI, "HEAD"},
};

static char *hdr_dup(struct lws *wsi, enum lws_token_indexes tok)
{
    int n = lws_hdr_total_length(wsi, tok);
    if (n <= 0)
        return NULL;
    char *s = omega_malloc((size_t)n + 1);
    if (lws_hdr_copy(wsi, s, n + 1, tok) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

static char *custom_hdr_dup(struct lws *wsi, const char *name)
{
    int nlen = (int)strlen(name);
    int n = lws_hdr_custom_length(wsi, name, nlen);
    if (n <= 0)
        return NULL;
    char *s = omega_malloc((size_t)n + 1);
    if (lws_hdr_custom_copy(wsi, s, n + 1, name, nlen) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

static void read_args(struct lws *wsi, http_request_t *req)
{
    char frag[8192];
    for (int i = 0; i < 256; i++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        req->args = omega_realloc(req->args, (req->n_args + 1) * sizeof(char *));
        req->args[req->n_args++] = omega_strndup(frag, (size_t)n);
    }
}

static http_request_t *request_from_wsi(struct lws *wsi)
{
    http_request_t *req = omega_calloc(1, sizeof(*req));
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (lws_hdr_total_length(wsi, methods[i].tok) > 0) {
            snprintf(req->method, sizeof(req->method), "%s", methods[i].name);
            req->path = hdr_dup(wsi, methods[i].tok);
            break;
        }
    }
    if (!req->path)
        req->path = omega_strdup("/");
    read_args(wsi, req);
    req->authorization = hdr_dup(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    req->content_type = hdr_dup(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE);
    req->content_encoding = hdr_dup(wsi, WSI_TOKEN_HTTP_CONTENT_ENCODING);
    req->accept = hdr_dup(wsi, WSI_TOKEN_HTTP_ACCEPT);
    req->api_key = custom_hdr_dup(wsi, "x-api-key:");
    lws_get_peer_simple(wsi, req->peer, sizeof(req->peer));
    req->id = next_request_id++;
    return req;
}

/* Queue resp for writing on wsi (takes ownership). */
static void respond(struct lws *wsi, http_pss_t *pss, http_response_t *resp)
{
    http_response_free(pss->resp);
    pss->resp = resp;
    pss->sent = 0;
    pss->headers_sent = 0;
    lws_callback_on_writable(wsi);
}

static void dispatch(struct lws *wsi, http_pss_t *pss, app_t *app)
{
    http_request_t *req = pss->req;
    pss->req = NULL;
    uint64_t id = req->id;
    if (workers_submit(app->workers, req) != 0) {
        http_request_free(req);
        http_response_t *r =
            http_response_error(503, "unavailable", "server overloaded: request queue is full");
        http_response_add_header(r, "retry-after", "1");
        stats_http_count(r->status);
        respond(wsi, pss, r);
        return;
    }
    pss->inflight = id;
    inflight_add(id, wsi);
}

static int refuse_now(struct lws *wsi, http_pss_t *pss, http_response_t *r);

/* Whether a Content-Length value is one decimal number of at most 19 digits. */
static int content_length_valid(const char *v)
{
    size_t n = strspn(v, "0123456789");
    return n > 0 && n <= 19 && v[n] == '\0';
}

static int on_http(struct lws *wsi, http_pss_t *pss, app_t *app)
{
    if (pss->close_after || pss->resp || pss->inflight || pss->req) {
        /* A request pipelined behind one still being answered (or behind a framing error:
         * the bytes after a refused body are not a request to trust). It is not read: the
         * pending answer goes out with Connection: close, and the client may retry. */
        pss->close_after = 1;
        return 0;
    }
    memset(pss, 0, sizeof(*pss));
    pss->req = request_from_wsi(wsi);
    int chunked_any = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
    if (strcmp(pss->req->method, "POST") && strcmp(pss->req->method, "PUT") &&
        strcmp(pss->req->method, "PATCH") && !chunked_any) {
        dispatch(wsi, pss, app);
        return 0;
    }
    /* Bodies: lws 4.1 cannot read chunked bodies, so a length is required. */
    char cl[32] = "";
    int have_len = lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0;
    int chunked = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
    unsigned long long want = have_len ? strtoull(cl, NULL, 10) : 0;
    http_response_t *early = NULL;
    if (have_len && !content_length_valid(cl))
        /* RFC 9112 6.3: a length that is not 1*DIGIT (a sign, a list, two headers that
         * lws joins, a value too long for the buffer) is a framing error; answering and
         * closing keeps whatever follows from being read as another request. */
        early = http_response_error(400, "bad_data",
                                    "invalid Content-Length header: a single decimal number "
                                    "is required");
    else if (chunked || !have_len)
        early = http_response_error(411, "bad_data",
                                    "a Content-Length header is required (chunked request "
                                    "bodies are not supported)");
    else if (want > app->cfg->server.max_body_size)
        early = http_response_error(413, "too_large",
                                    "request body of %llu bytes exceeds the limit of %llu bytes "
                                    "(server.max_body_size)",
                                    want, (unsigned long long)app->cfg->server.max_body_size);
    if (early) {
        http_request_free(pss->req);
        pss->req = NULL;
        stats_http_count(early->status);
        return refuse_now(wsi, pss, early);
    }
    pss->req->body = omega_malloc((size_t)want + 1);
    pss->req->body[0] = '\0';
    pss->body_cap = (size_t)want;
    if (want == 0) {
        /* lws does not always report completion of an empty body (PUT): dispatch now. */
        dispatch(wsi, pss, app);
        return 0;
    }
    return 0;
}

static int on_body(http_pss_t *pss, const void *in, size_t len, app_t *app)
{
    http_request_t *req = pss->req;
    if (!req || !req->body || len == 0)
        return 0; /* an early error response is on its way, or nothing to add */
    /* The buffer was sized from Content-Length (checked against the limit): more bytes
     * than announced means the peer is lying, so drop the connection. */
    if (len > pss->body_cap - req->body_len)
        return -1;
    memcpy(req->body + req->body_len, in, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
    return 0;
}

static int write_headers(struct lws *wsi, http_pss_t *pss)
{
    http_response_t *r = pss->resp;
    unsigned char buf[LWS_PRE + 4096];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)r->status, r->content_type, r->body_len, &p,
                                    end))
        return -1;
    for (char *line = r->headers; line && *line;) {
        char *nl = strchr(line, '\n');
        char *colon = strchr(line, ':');
        if (!nl || !colon || colon > nl)
            break;
        char name[128];
        snprintf(name, sizeof(name), "%.*s:", (int)(colon - line), line);
        const char *val = colon + 2;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                        (const unsigned char *)val, (int)(nl - val), &p, end))
            return -1;
        line = nl + 1;
    }
    if (pss->close_after &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5,
                                     &p, end))
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    pss->headers_sent = 1;
    return 0;
}

/* Answer a request refused before its body (bad framing, too large) at once and close:
 * nothing the peer sent after the headers is read, so it can never be taken for another
 * request. Returns -1 (close). */
static int refuse_now(struct lws *wsi, http_pss_t *pss, http_response_t *r)
{
    unsigned char buf[LWS_PRE + 2048];
    pss->resp = r;
    pss->close_after = 1;
    if (r->body_len <= sizeof(buf) - LWS_PRE && write_headers(wsi, pss) == 0) {
        memcpy(buf + LWS_PRE, r->body, r->body_len);
        lws_write(wsi, buf + LWS_PRE, r->body_len, LWS_WRITE_HTTP_FINAL);
    }
    http_response_free(pss->resp);
    pss->resp = NULL;
    return -1;
}

/* Returns 0 to keep going, -1 to close the connection. */
static int on_writeable(struct lws *wsi, http_pss_t *pss)
{
    http_response_t *r = pss->resp;
    if (!r)
        return 0;
    if (!pss->headers_sent) {
        if (write_headers(wsi, pss) != 0)
            return -1;
        if (r->body_len > 0) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    } else {
        unsigned char buf[LWS_PRE + WRITE_CHUNK];
        size_t n = r->body_len - pss->sent;
        if (n > WRITE_CHUNK)
            n = WRITE_CHUNK;
        memcpy(buf + LWS_PRE, r->body + pss->sent, n);
        int final = pss->sent + n == r->body_len;
        if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
            (int)n)
            return -1;
        pss->sent += n;
        if (!final) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    int close_after = pss->close_after;
    http_response_free(pss->resp);
    pss->resp = NULL;
    if (close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static void deliver_done(app_t *app)
{
    http_response_t *r = workers_take_done(app->workers);
    while (r) {
        http_response_t *next = r->next;
        r->next = NULL;
        struct lws *wsi = inflight_take(r->id);
        if (wsi) {
            http_pss_t *pss = lws_wsi_user(wsi);
            pss->inflight = 0;
            respond(wsi, pss, r);
        } else {
            http_response_free(r); /* the client went away */
        }
        r = next;
    }
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    http_pss_t *pss = user;
    app_t *app = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(wsi, pss, app);
    case LWS_CALLBACK_HTTP_BODY:
        return on_body(pss, in, len, app);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (pss->req)
            dispatch(wsi, pss, app);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_writeable(wsi, pss);
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        deliver_done(app);
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss) {
            if (pss->inflight)
                inflight_take(pss->inflight);
            http_request_free(pss->req);
            http_response_free(pss->resp);
            memset(pss, 0, sizeof(*pss));
        }
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* lws's dummy HTTP handler, except for client certificates (mutual TLS): lws asks protocol
 * 0 and accepts whatever it answers, and the dummy answers "accept". Here OpenSSL's own
 * verdict against server.tls.client_ca (len = preverify_ok) decides. */
static int first_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len)
{
    if (reason == LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION)
        return len ? 0 : 1;
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    /* First: lws sends unmatched requests here, so misses become plain 404s. */
    {"http-only", first_callback, 0, 0, 0, NULL, 0},
    {"omega-http", http_callback, sizeof(http_pss_t), 0, 0, NULL, 0},
    {"omega-live.v1", NULL, 0, 0, 0, NULL, 0}, /* replaced by live_protocol at create */
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static struct lws_protocols active_protocols[4];

/* Security headers on every response, static files included. */
static const struct lws_protocol_vhost_options hdr_referrer = {NULL, NULL,
                                                               "referrer-policy:", "no-referrer"};
static const struct lws_protocol_vhost_options hdr_frame = {&hdr_referrer, NULL,
                                                            "x-frame-options:", "DENY"};
static const struct lws_protocol_vhost_options hdr_nosniff = {&hdr_frame, NULL,
                                                              "x-content-type-options:", "nosniff"};
static const struct lws_protocol_vhost_options hdr_csp = {
    &hdr_nosniff, NULL, "content-security-policy:",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"};

/* With TLS on, HSTS goes first in the same list: browsers then refuse plain HTTP to this
 * host for a year. Without TLS it is not sent (browsers ignore it over plain HTTP, so
 * the redirect of redirect_http carrying it is harmless). */
static const struct lws_protocol_vhost_options hdr_hsts = {
    &hdr_csp, NULL, "strict-transport-security:", "max-age=31536000"};

/* TLS 1.2 suites with forward secrecy and AEAD only (TLS 1.3 keeps OpenSSL's default list,
 * which is already AEAD-only). */
#define TLS12_CIPHERS                                                                              \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static const struct lws_protocol_vhost_options mime_mjs = {NULL, NULL, ".mjs", "text/javascript"};

static struct lws_http_mount mount_web, mount_api, mount_health, mount_metrics, mount_write;

static void setup_mounts(app_t *app)
{
    memset(&mount_web, 0, sizeof(mount_web));
    mount_web.mountpoint = "/";
    mount_web.mountpoint_len = 1;
    mount_web.origin = app->web_root;
    mount_web.def = "index.html";
    mount_web.origin_protocol = LWSMPRO_FILE;
    mount_web.extra_mimetypes = &mime_mjs;
    /* "must-revalidate, private, max-age=1" with the file's ETag: a reload (team screens,
     * kiosk reconnects) gets 304s and Chromium reuses its compiled code of Chart.js and the
     * modules, yet an upgraded file is picked up at once. */
    mount_web.cache_max_age = 1;
    mount_web.cache_reusable = 1;
    mount_web.cache_revalidate = 1;

    memset(&mount_api, 0, sizeof(mount_api));
    mount_api.mount_next = &mount_web;
    mount_api.mountpoint = "/api";
    mount_api.mountpoint_len = 4;
    mount_api.origin = "omega-http";
    mount_api.origin_protocol = LWSMPRO_CALLBACK;

    /* Paths outside /api that the API still answers: liveness, Prometheus scraping and
     * the Influx v1 write alias. */
    mount_health = mount_api;
    mount_health.mount_next = &mount_api;
    mount_health.mountpoint = "/healthz";
    mount_health.mountpoint_len = 8;

    mount_metrics = mount_api;
    mount_metrics.mount_next = &mount_health;
    mount_metrics.mountpoint = "/metrics";
    mount_metrics.mountpoint_len = 8;

    mount_write = mount_api;
    mount_write.mount_next = &mount_metrics;
    mount_write.mountpoint = "/write";
    mount_write.mountpoint_len = 6;
}

static void lws_log_emit(int level, const char *line)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", line);
    size_t l = strlen(msg);
    while (l && (msg[l - 1] == '\n' || msg[l - 1] == '\r'))
        msg[--l] = '\0';
    omega_log(level & LLL_ERR ? OMEGA_LOG_ERROR : OMEGA_LOG_WARN, "lws: %s", msg);
}

/* Split "host:port" / "[v6]:port" into iface and port. */
static int parse_listen(const char *listen, char *host, size_t hlen, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return -1;
    const char *h = listen;
    size_t n = (size_t)(colon - listen);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n >= hlen)
        return -1;
    memcpy(host, h, n);
    host[n] = '\0';
    *port = atoi(colon + 1);
    return *port > 0 && *port < 65536 ? 0 : -1;
}

/* server.tls onto the vhost: certificate and key, TLS 1.2 or newer with the suites above,
 * client certificates against client_ca when set (mutual TLS), HSTS, and the plain-HTTP
 * redirect on the same port when redirect_http is on. */
static int setup_tls(const app_t *app, struct lws_context_creation_info *info, omega_error_t *err)
{
    const omega_config_server_t *s = &app->cfg->server;
    if (!s->tls.enabled)
        return 0;
    /* lws only logs a bad CA file and then serves anyway: check every file first. */
    omega_error_t why;
    memset(&why, 0, sizeof(why));
    int rc = omega_auth_tls_check_files(s->tls.cert, s->tls.key, s->tls.client_ca, &why);
    if (rc != 0) {
        char field[160];
        snprintf(field, sizeof(field), "server.tls.%s", why.path);
        return omega_error_set_path(err, rc, field, "%s", why.message);
    }
    /* Without DO_SSL_GLOBAL_INIT on the vhost itself lws silently serves plain HTTP. */
    info->options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info->ssl_cert_filepath = s->tls.cert;
    info->ssl_private_key_filepath = s->tls.key;
    info->ssl_options_set = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 |
                            SSL_OP_NO_TLSv1_1 | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION;
    info->ssl_cipher_list = TLS12_CIPHERS;
    info->headers = &hdr_hsts;
    if (s->tls.client_ca[0]) {
        info->ssl_ca_filepath = s->tls.client_ca;
        info->options |= LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT;
    }
    if (s->tls.redirect_http)
        info->options |=
            LWS_SERVER_OPTION_ALLOW_NON_SSL_ON_SSL_PORT | LWS_SERVER_OPTION_REDIRECT_HTTP_TO_HTTPS;
    return 0;
}

/* WebSocket keep-alive (the vhost's idle policy; lws applies it to WebSocket and HTTP/2
 * connections, not to HTTP/1 keep-alive, which timeout_secs covers): a ping once a
 * connection has shown no proof of life (a pong; the upgrade counts) for
 * server.live_ping_interval, the connection closed at server.live_idle_timeout. */
static lws_retry_bo_t idle_policy;

static uint16_t whole_secs(int64_t ms)
{
    int64_t s = (ms + 999) / 1000;
    return (uint16_t)(s < 1 ? 1 : s > 65534 ? 65534 : s);
}

static void setup_idle_policy(const omega_config_server_t *s)
{
    memset(&idle_policy, 0, sizeof(idle_policy));
    idle_policy.secs_since_valid_ping = whole_secs(s->live_ping_interval_ms);
    idle_policy.secs_since_valid_hangup = whole_secs(s->live_idle_timeout_ms);
    /* The config insists on ping < idle; rounding to seconds may make them equal. */
    if (idle_policy.secs_since_valid_hangup <= idle_policy.secs_since_valid_ping)
        idle_policy.secs_since_valid_hangup = (uint16_t)(idle_policy.secs_since_valid_ping + 1);
}

int http_server_create(app_t *app, omega_error_t *err)
{
    static char host[256];
    int port;
    if (parse_listen(app->cfg->server.listen, host, sizeof(host), &port) != 0)
        return omega_error_set_path(err, OMEGA_EINVAL, "server.listen",
                                    "cannot parse listen address '%s'", app->cfg->server.listen);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    memcpy(active_protocols, protocols, sizeof(protocols));
    active_protocols[2] = live_protocol;
    setup_mounts(app);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = port;
    info.iface = host[0] ? host : NULL;
    info.protocols = active_protocols;
    info.mounts = &mount_write;
    info.headers = &hdr_csp;
    info.user = app;
    info.max_http_header_data = 16384;
    /* Static files go out in pieces of this size, one per writable event (lws' default is
     * 4 KiB: Chart.js alone took 50 loop turns, and a busy loop made the dashboard's first
     * paint wait for its scripts). */
    info.pt_serv_buf_size = 65536;
    info.timeout_secs = 30;
    setup_idle_policy(&app->cfg->server);
    info.retry_and_idle_policy = &idle_policy;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (strchr(host, ':') == NULL)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.vhost_name = "omega";
    int rc = setup_tls(app, &info, err);
    if (rc != 0)
        return rc;
    app->lws = lws_create_context(&info);
    if (!app->lws && app->cfg->server.tls.enabled)
        return omega_error_set_path(err, OMEGA_EIO, "server.tls",
                                    "cannot serve TLS on %s (address in use or not available, or "
                                    "OpenSSL refused the certificate, key or client CA: see the "
                                    "lws error above)",
                                    app->cfg->server.listen);
    if (!app->lws)
        return omega_error_set_path(err, OMEGA_EIO, "server.listen",
                                    "cannot listen on %s (address in use or not available)",
                                    app->cfg->server.listen);
    return 0;
}

void http_server_run(app_t *app)
{
    while (!app->stopping) {
        if (lws_service(app->lws, 0) < 0)
            break;
    }
}

void http_server_destroy(app_t *app)
{
    if (app->lws)
        lws_context_destroy(app->lws);
    app->lws = NULL;
    free(inflight_tab);
    inflight_tab = NULL;
    inflight_n = inflight_cap = 0;
}
