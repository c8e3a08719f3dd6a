/* SPDX-License-Identifier: Apache-2.0 */
/* Notification channels: validation of each type's config (log, webhook, email, sms), the
 * stored form in the meta space, and the built-in channels derived from the config. Sending
 * lives in deliver.c. */
#include "alert_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omega/log.h"

static const char *const type_names[] = {"log", "webhook", "email", "sms"};

void channel_free(channel_t *c)
{
    if (!c)
        return;
    free(c->id);
    free(c->name);
    json_decref(c->config);
    free(c->template);
    free(c);
}

channel_t *channel_dup(const channel_t *c)
{
    channel_t *d = omega_calloc(1, sizeof(*d));
    d->id = omega_strdup(c->id);
    d->name = omega_strdup(c->name);
    d->type = c->type;
    d->config = json_deep_copy(c->config);
    d->template = omega_strdup(c->template);
    d->builtin = c->builtin;
    return d;
}

static int bad(omega_error_t *err, const char *field, const char *what)
{
    char path[96];
    snprintf(path, sizeof(path), "config.%s", field);
    return omega_error_set_path(err, OMEGA_EINVAL, path, "config.%s %s", field, what);
}

static int check_str(json_t *cfg, const char *field, int required, const char *prefix1,
                     const char *prefix2, omega_error_t *err)
{
    json_t *v = json_object_get(cfg, field);
    if (!v)
        return required ? bad(err, field, "is required") : 0;
    if (!json_is_string(v) || json_string_length(v) > TEXT_MAX ||
        (required && json_string_length(v) == 0))
        return bad(err, field, "must be a non-empty string");
    const char *s = json_string_value(v);
    /* Only a body may span lines: a CR or LF elsewhere would inject headers or commands. */
    if (strcmp(field, "body_template") != 0 && strpbrk(s, "\r\n"))
        return bad(err, field, "must be a single line");
    if (strcmp(field, "from") == 0 && (!strchr(s, '@') || strpbrk(s, "<>,")))
        return bad(err, field, "must be one e-mail address");
    if (prefix1 && strncmp(s, prefix1, strlen(prefix1)) != 0 &&
        (!prefix2 || strncmp(s, prefix2, strlen(prefix2)) != 0)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "must start with %s%s%s", prefix1, prefix2 ? " or " : "",
                 prefix2 ? prefix2 : "");
        return bad(err, field, msg);
    }
    return 0;
}

static int check_list(json_t *cfg, const char *field, int email, omega_error_t *err)
{
    json_t *v = json_object_get(cfg, field);
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 100)
        return bad(err, field, "must be a list of 1 to 100 recipients");
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s)
    {
        const char *t = json_is_string(s) ? json_string_value(s) : NULL;
        if (!t || !*t || strlen(t) > 254 || strpbrk(t, "\r\n<>,") || (email && !strchr(t, '@')))
            return bad(err, field,
                       email ? "holds an invalid e-mail address" : "holds an invalid recipient");
    }
    return 0;
}

static int check_headers(json_t *cfg, omega_error_t *err)
{
    json_t *h = json_object_get(cfg, "headers");
    if (!h)
        return 0;
    if (!json_is_object(h) || json_object_size(h) > 32)
        return bad(err, "headers", "must be an object of at most 32 header names and values");
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v)
    {
        size_t n = strlen(k);
        if (n == 0 || n > 128 ||
            strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != n ||
            !json_is_string(v) || strpbrk(json_string_value(v), "\r\n"))
            return bad(err, "headers", "must map header names to single-line string values");
    }
    return 0;
}

static int check_timeout(json_t *cfg, omega_error_t *err)
{
    json_t *t = json_object_get(cfg, "timeout");
    int64_t ms;
    if (!t)
        return 0;
    if (json_duration(t, "config.timeout", &ms, err) || ms < 100 || ms > 300000)
        return bad(err, "timeout", "must be a duration between 100ms and 5m");
    return 0;
}

static int check_config(chan_type_t type, json_t *cfg, omega_error_t *err)
{
    switch (type) {
    case CH_LOG:
        return 0;
    case CH_WEBHOOK:
        return check_str(cfg, "url", 1, "http://", "https://", err) ||
                       check_str(cfg, "secret", 0, NULL, NULL, err) || check_headers(cfg, err) ||
                       check_timeout(cfg, err)
                   ? OMEGA_EINVAL
                   : 0;
    case CH_EMAIL:
        return check_list(cfg, "to", 1, err) || check_str(cfg, "from", 1, NULL, NULL, err) ||
                       check_str(cfg, "smtp_url", 1, "smtp://", "smtps://", err) ||
                       check_str(cfg, "username", 0, NULL, NULL, err) ||
                       check_str(cfg, "password", 0, NULL, NULL, err) || check_timeout(cfg, err)
                   ? OMEGA_EINVAL
                   : 0;
    case CH_SMS:
        if (check_str(cfg, "url", 1, "http://", "https://", err) ||
            check_str(cfg, "body_template", 0, NULL, NULL, err) || check_list(cfg, "to", 0, err) ||
            check_headers(cfg, err) || check_str(cfg, "content_type", 0, NULL, NULL, err) ||
            check_timeout(cfg, err))
            return OMEGA_EINVAL;
        json_t *m = json_object_get(cfg, "method");
        if (m && (!json_is_string(m) || (strcmp(json_string_value(m), "GET") != 0 &&
                                         strcmp(json_string_value(m), "POST") != 0 &&
                                         strcmp(json_string_value(m), "PUT") != 0)))
            return bad(err, "method", "must be GET, POST or PUT");
        json_t *bt = json_object_get(cfg, "body_template");
        if (bt && template_check(json_string_value(bt), "config.body_template", 1, err))
            return OMEGA_EINVAL;
        return template_check(json_string_value(json_object_get(cfg, "url")), "config.url", 1, err);
    }
    return 0;
}

channel_t *channel_parse(const char *id, json_t *body, omega_error_t *err)
{
    channel_t *c = omega_calloc(1, sizeof(*c));
    json_t *jid = json_object_get(body, "id"), *name = json_object_get(body, "name");
    json_t *type = json_object_get(body, "type"), *cfg = json_object_get(body, "config");
    json_t *tpl = json_object_get(body, "template");
    if (!id && jid && (!json_is_string(jid) || !id_valid(json_string_value(jid)))) {
        omega_error_set_path(err, OMEGA_EINVAL, "id",
                             "id must be 1-64 characters of letters, digits, '_', '-', '.'");
        goto fail;
    }
    c->id = id ? omega_strdup(id) : jid ? omega_strdup(json_string_value(jid)) : NULL;
    if (!json_is_string(name) || json_string_length(name) == 0 || json_string_length(name) > 256) {
        omega_error_set_path(err, OMEGA_EINVAL, "name", "name must be a string of 1-256 bytes");
        goto fail;
    }
    c->name = omega_strdup(json_string_value(name));
    int found = 0;
    for (int i = 0; i < 4 && json_is_string(type); i++)
        if (strcmp(json_string_value(type), type_names[i]) == 0) {
            c->type = (chan_type_t)i;
            found = 1;
        }
    if (!found) {
        omega_error_set_path(err, OMEGA_EINVAL, "type", "type must be log, webhook, email or sms");
        goto fail;
    }
    if (cfg && !json_is_object(cfg)) {
        omega_error_set_path(err, OMEGA_EINVAL, "config", "config must be an object");
        goto fail;
    }
    c->config = cfg ? json_deep_copy(cfg) : json_object();
    if (check_config(c->type, c->config, err))
        goto fail;
    if (tpl && !json_is_null(tpl) && (!json_is_string(tpl) || json_string_length(tpl) > 64)) {
        omega_error_set_path(err, OMEGA_EINVAL, "template",
                             "template must name an entry of notification_templates");
        goto fail;
    }
    c->template = omega_strdup(json_is_string(tpl) ? json_string_value(tpl) : "");
    return c;
fail:
    channel_free(c);
    return NULL;
}

json_t *channel_json(const channel_t *c, int mask_secrets)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(c->id));
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "type", json_string(type_names[c->type]));
    json_t *cfg = json_deep_copy(c->config);
    if (mask_secrets) {
        const char *secrets[] = {"secret", "password"};
        for (size_t i = 0; i < 2; i++)
            if (json_object_get(cfg, secrets[i]))
                json_object_set_new(cfg, secrets[i], json_string("********"));
    }
    json_object_set_new(o, "config", cfg);
    if (c->template[0])
        json_object_set_new(o, "template", json_string(c->template));
    if (mask_secrets)
        json_object_set_new(o, "builtin", json_boolean(c->builtin));
    return o;
}

channel_t *channel_find(omega_alert_engine_t *e, const char *id, size_t *index)
{
    for (size_t i = 0; i < e->n_channels; i++)
        if (strcmp(e->channels[i]->id, id) == 0) {
            if (index)
                *index = i;
            return e->channels[i];
        }
    return NULL;
}

static void add_channel(omega_alert_engine_t *e, channel_t *c)
{
    e->channels = omega_realloc(e->channels, (e->n_channels + 1) * sizeof(*e->channels));
    e->channels[e->n_channels++] = c;
}

static int load_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    omega_alert_engine_t *e = ctx;
    omega_error_t err;
    omega_error_clear(&err);
    char *name = omega_strndup(key, klen), *plain = NULL;
    size_t plen = 0;
    int stale = 0;
    if (e->opt.vault.open && /* sealed at rest: opened by auth */
        e->opt.vault.open(e->opt.vault.ctx, name, val, vlen, &plain, &plen, &stale, &err) != 0)
        vlen = 0;
    json_t *body = json_loadb(plain ? plain : val, plain ? plen : vlen, 0, NULL);
    channel_t *c = body ? channel_parse(NULL, body, &err) : NULL;
    if (c && c->id && stale) /* plain (or old key) while sealing is on: re-store it */
        e->opt.vault.put(e->opt.vault.ctx, name, plain, plen, NULL);
    json_decref(body);
    free(plain);
    free(name);
    if (!c || !c->id) {
        omega_log_error("stored alert channel %.*s is unreadable (%s); skipped", (int)klen,
                        (const char *)key, err.message);
        channel_free(c);
        return 0;
    }
    add_channel(e, c);
    return 0;
}

static void add_builtin(omega_alert_engine_t *e, const char *id, chan_type_t type, json_t *cfg)
{
    channel_t *c = omega_calloc(1, sizeof(*c));
    c->id = omega_strdup(id);
    c->name = omega_strdup(id);
    c->type = type;
    c->config = cfg;
    c->template = omega_strdup("");
    c->builtin = 1;
    add_channel(e, c);
}

/* The log channel, and one webhook channel per alerting.notification_channels.webhook_urls
 * entry (e-mail and SMS need an SMTP server / gateway, which only channels carry). */
static void add_builtins(omega_alert_engine_t *e)
{
    add_builtin(e, "builtin-log", CH_LOG, json_object());
    const omega_strlist_t *urls = &e->cfg->alerting.notification_channels.webhook_urls;
    for (size_t i = 0; i < urls->n; i++) {
        char id[48];
        snprintf(id, sizeof(id), "builtin-webhook-%zu", i + 1);
        add_builtin(e, id, CH_WEBHOOK, json_pack("{s:s}", "url", urls->items[i]));
    }
}

int channels_load(omega_alert_engine_t *e, omega_error_t *err)
{
    int rc =
        omega_kv_scan(e->db, OMEGA_KV_META, KEY_CHANNEL, strlen(KEY_CHANNEL), load_one, e, err);
    if (rc == 0 && e->opt.builtin_rules)
        add_builtins(e);
    return rc;
}

int channel_enabled(const omega_alert_engine_t *e, chan_type_t type, category_t cat)
{
    const omega_config_alerting_t *a = &e->cfg->alerting;
    const __typeof__(e->cfg->performance_monitor.alert_configurations) *p =
        &e->cfg->performance_monitor.alert_configurations;
    int perf = cat == CAT_PERFORMANCE;
    switch (type) {
    case CH_LOG:
        return !perf || p->log_alerts;
    case CH_WEBHOOK:
        return a->enable_webhook_alerts && (!perf || p->webhook_alerts);
    case CH_EMAIL:
        return a->enable_email_alerts && (!perf || p->email_alerts);
    case CH_SMS:
        return a->enable_sms_alerts;
    }
    return 0;
}
