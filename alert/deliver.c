/* SPDX-License-Identifier: Apache-2.0 */
/* Sending one notification through one channel: the log, a webhook (API.md's JSON body,
 * optional HMAC-SHA256 signature), e-mail over SMTP (STARTTLS when offered, auth,
 * multipart text + HTML) and SMS through an HTTP gateway. libcurl is used here only; calls
 * block up to the channel's timeout and run on a delivery thread (or an API worker for a
 * channel test), never on the event loop; an engine stop aborts them. */
#include "alert_int.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omega/buf.h"
#include "omega/log.h"

#define RESPONSE_MAX (64 * 1024) /* bytes of a response body we read before hanging up */

static const char *const fallback_subject = "OMEGA Alert - {metric_name}";
static const char *const fallback_body =
    "Alert: {alert}\nStatus: {status}\nMetric: {metric_name}\nCurrent Value: {current_value}\n"
    "Threshold: {threshold}\nSeverity: {severity}\nTimestamp: {timestamp}\nLabels: {labels}\n\n"
    "Description: {description}\nRecommended Action: {recommended_action}\n"
    "Dashboard: {dashboard_url}\n";

static int64_t timeout_of(const omega_alert_engine_t *e, const channel_t *c)
{
    int64_t ms = 0;
    json_t *t = json_object_get(c->config, "timeout");
    if (!t || json_duration(t, "timeout", &ms, NULL) != 0 || ms <= 0)
        ms = e->opt.http_timeout_ms;
    return ms;
}

/* The template for this channel, category and severity: "<name>.<severity>" then "<name>",
 * where name is the channel's template or else the category; a template whose
 * severity_levels exclude the severity does not apply; else the built-in text. */
static void pick_template(const omega_alert_engine_t *e, const channel_t *c, category_t cat,
                          const char *sev, const char **subject, const char **body)
{
    const char *base = c->template[0] ? c->template : category_name(cat);
    char name[160];
    snprintf(name, sizeof(name), "%s.%s", base, sev ? sev : "");
    const omega_config_template_t *t = omega_config_template_find(e->cfg, name);
    if (!t)
        t = omega_config_template_find(e->cfg, base);
    int ok = t != NULL;
    if (t && t->severity_levels.n) {
        ok = 0;
        for (size_t i = 0; i < t->severity_levels.n; i++)
            ok |= strcmp(t->severity_levels.items[i], sev) == 0;
    }
    *subject = ok ? t->subject : fallback_subject;
    *body = ok ? t->body : fallback_body;
}

/* Rendered subject and text body; for a group, every alert's body in turn. */
static void render(const omega_alert_engine_t *e, const channel_t *c, category_t cat,
                   json_t *payload, int64_t at_ms, char **subject, char **text)
{
    json_t *alerts = json_object_get(payload, "alerts");
    size_t n = json_is_array(alerts) ? json_array_size(alerts) : 0;
    const char *st, *bt;
    pick_template(e, c, cat, json_string_value(json_object_get(payload, "severity")), &st, &bt);
    json_t *vars = template_vars(payload, at_ms);
    char *s = template_render(st, vars, TEMPLATE_ESC_NONE);
    json_decref(vars);
    if (n > 1) {
        omega_buf_t b;
        omega_buf_init(&b, 0);
        omega_buf_printf(&b, "%s (+%zu more)", s, n - 1);
        free(s);
        s = omega_buf_take(&b, NULL);
    }
    *subject = s;
    omega_buf_t b;
    omega_buf_init(&b, 0);
    for (size_t i = 0; i < (n ? n : 1); i++) {
        json_t *one = n ? json_array_get(alerts, i) : payload;
        json_t *v = template_vars(one, at_ms);
        char *r = template_render(bt, v, TEMPLATE_ESC_NONE);
        json_decref(v);
        omega_buf_printf(&b, "%s%s", i ? "\n----\n" : "", r);
        free(r);
    }
    *text = omega_buf_take(&b, NULL);
    if (!*text)
        *text = omega_strdup("");
    if (e->opt.mask) { /* security.privacy_settings.data_masking */
        char *m = e->opt.mask(e->opt.mask_ctx, *subject);
        free(*subject);
        *subject = m;
        m = e->opt.mask(e->opt.mask_ctx, *text);
        free(*text);
        *text = m;
    }
}

static size_t discard_body(char *p, size_t size, size_t n, void *ctx)
{
    size_t *seen = ctx;
    *seen += size * n;
    return *seen > RESPONSE_MAX ? 0 : size * n; /* hang up on huge answers */
}

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    const atomic_int *cancel = ctx;
    return atomic_load(cancel) ? 1 : 0; /* non-zero aborts the transfer */
}

void deliver_watch_cancel(void *h, const channel_t *c)
{
    if (!c->cancel)
        return;
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)c->cancel);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
}

static int curl_fail(CURLcode cc, const char *what, int64_t timeout_ms, omega_error_t *err)
{
    if (cc == CURLE_ABORTED_BY_CALLBACK)
        return omega_error_set(err, OMEGA_EAGAIN, "%s: interrupted by shutdown", what);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return omega_error_set(err, OMEGA_ETIMEDOUT, "%s: no answer within %lld ms", what,
                               (long long)timeout_ms);
    return omega_error_set(err, OMEGA_EIO, "%s: %s", what, curl_easy_strerror(cc));
}

/* One HTTP request; 0 when the answer is 2xx (read up to RESPONSE_MAX bytes of it). */
static int http_send(const channel_t *c, const char *url, const char *method,
                     struct curl_slist *headers, const char *body, int64_t timeout_ms,
                     omega_error_t *err)
{
    CURL *h = curl_easy_init();
    if (!h)
        return omega_error_set(err, OMEGA_EIO, "cannot create an HTTP client");
    deliver_watch_cancel(h, c);
    size_t seen = 0;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "omega-monitor");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &seen);
    if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    }
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    /* A 2xx whose body we refused to read to the end still counts as delivered. */
    if (status >= 200 && status < 300 && (cc == CURLE_OK || cc == CURLE_WRITE_ERROR))
        return 0;
    if (cc != CURLE_OK && (status == 0 || cc == CURLE_ABORTED_BY_CALLBACK))
        return curl_fail(cc, url, timeout_ms, err);
    return omega_error_set(err, OMEGA_EIO, "%s answered HTTP %ld", url, status);
}

static struct curl_slist *config_headers(json_t *cfg, struct curl_slist *l)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(cfg, "headers"), k, v)
    {
        char line[TEXT_MAX + 160];
        snprintf(line, sizeof(line), "%s: %s", k, json_string_value(v));
        l = curl_slist_append(l, line);
    }
    return l;
}

/* The webhook body is exactly API.md's: the dashboard links travel in the queued payload
 * for the templates only. */
static char *webhook_body(json_t *payload)
{
    json_t *b = json_deep_copy(payload);
    json_object_del(b, "dashboard_url");
    size_t i;
    json_t *one;
    json_array_foreach(json_object_get(b, "alerts"), i, one) json_object_del(one, "dashboard_url");
    char *text = json_dumps(b, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(b);
    return text;
}

static int send_webhook(const omega_alert_engine_t *e, const channel_t *c, json_t *payload,
                        omega_error_t *err)
{
    char *body = webhook_body(payload);
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    hl = config_headers(c->config, hl);
    const char *secret = json_string_value(json_object_get(c->config, "secret"));
    if (secret && *secret) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mlen = 0;
        HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, strlen(body),
             mac, &mlen);
        char line[32 + 2 * EVP_MAX_MD_SIZE] = "X-Omega-Signature: sha256=";
        size_t o = strlen(line);
        for (unsigned int i = 0; i < mlen; i++, o += 2)
            snprintf(line + o, 3, "%02x", mac[i]);
        hl = curl_slist_append(hl, line);
    }
    int rc = http_send(c, json_string_value(json_object_get(c->config, "url")), "POST", hl,
                       body, timeout_of(e, c), err);
    curl_slist_free_all(hl);
    free(body);
    return rc;
}

static int send_sms(const omega_alert_engine_t *e, const channel_t *c, category_t cat,
                    json_t *payload, int64_t at_ms, omega_error_t *err)
{
    char *subject, *text;
    render(e, c, cat, payload, at_ms, &subject, &text);
    free(text);
    const char *url = json_string_value(json_object_get(c->config, "url"));
    const char *method = json_string_value(json_object_get(c->config, "method"));
    const char *tpl = json_string_value(json_object_get(c->config, "body_template"));
    const char *ctype = json_string_value(json_object_get(c->config, "content_type"));
    if (!tpl)
        tpl = "{{\"to\":\"{to}\",\"message\":\"{message}\"}}";
    if (!ctype)
        ctype = tpl[0] == '{' && tpl[1] == '{' ? "application/json"
                                               : "application/x-www-form-urlencoded";
    int esc = strstr(ctype, "json")         ? TEMPLATE_ESC_JSON
              : strstr(ctype, "urlencoded") ? TEMPLATE_ESC_URL
                                            : TEMPLATE_ESC_NONE;
    json_t *to = json_object_get(c->config, "to"); /* validated: 1..100 recipients */
    int rc = 0;
    for (size_t i = 0; i < json_array_size(to) && rc == 0; i++) {
        json_t *vars = template_vars(payload, at_ms);
        json_object_set_new(vars, "to", json_string(json_string_value(json_array_get(to, i))));
        json_object_set_new(vars, "message", json_string(subject));
        char *u = template_render(url, vars, TEMPLATE_ESC_URL);
        char *body = template_render(tpl, vars, esc);
        char ct[300];
        snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
        struct curl_slist *hl = config_headers(c->config, curl_slist_append(NULL, ct));
        rc = http_send(c, u, method ? method : "POST", hl, body, timeout_of(e, c), err);
        curl_slist_free_all(hl);
        free(u);
        free(body);
        json_decref(vars);
    }
    free(subject);
    return rc;
}

int deliver(const omega_alert_engine_t *e, const channel_t *c, category_t cat, json_t *payload,
            int64_t at_ms, omega_error_t *err)
{
    switch (c->type) {
    case CH_LOG: {
        char *subject, *text;
        render(e, c, cat, payload, at_ms, &subject, &text);
        const char *status = json_string_value(json_object_get(payload, "status"));
        const char *sev = json_string_value(json_object_get(payload, "severity"));
        int loud = status && strcmp(status, "firing") == 0 && sev && strcmp(sev, "warning") != 0;
        omega_log(loud ? OMEGA_LOG_ERROR : OMEGA_LOG_WARN, "alert %s: %s", status ? status : "",
                  subject);
        free(subject);
        free(text);
        return 0;
    }
    case CH_WEBHOOK:
        return send_webhook(e, c, payload, err);
    case CH_SMS:
        return send_sms(e, c, cat, payload, at_ms, err);
    case CH_EMAIL: {
        char *subject, *text;
        render(e, c, cat, payload, at_ms, &subject, &text);
        int rc = email_send(c, subject, text, timeout_of(e, c), err);
        free(subject);
        free(text);
        return rc;
    }
    }
    return omega_error_set(err, OMEGA_EINVAL, "unknown channel type");
}
