/* SPDX-License-Identifier: Apache-2.0 */
/* Notification templates: the specification's {placeholders} (plus {labels}, {alert},
 * {status}, {dashboard_url}, and {to}/{message} for SMS bodies), checked at save time and
 * rendered at send time with the escaping the target needs (none, JSON string, URL). "{{"
 * and "}}" are literal braces. Also the dashboard links. */
#include "alert_int.h"

#include <ctype.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "omega/buf.h"

/* SMS bodies and URLs also know the recipient and the rendered subject. The general
 * placeholders are config's omega_template_placeholders (one list for every template). */
static const char *const sms_only[] = {"to", "message", NULL};

int template_check(const char *text, const char *field, int sms, omega_error_t *err)
{
    char msg[512];
    if (omega_template_check(text, sms ? sms_only : NULL, msg, sizeof(msg)) != 0)
        return omega_error_set_path(err, OMEGA_EINVAL, field, "%s: %s", field, msg);
    return 0;
}

static void put_escaped(omega_buf_t *b, const char *s, int esc)
{
    if (esc == TEMPLATE_ESC_JSON) {
        omega_buf_t q;
        omega_buf_init(&q, 0);
        omega_buf_json_str(&q, s, strlen(s));
        if (q.len >= 2)
            omega_buf_append(b, q.data + 1, q.len - 2); /* without the quotes */
        omega_buf_deinit(&q);
    } else if (esc == TEMPLATE_ESC_URL) {
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
            if (isalnum(*p) || strchr("-_.~", *p))
                omega_buf_append(b, p, 1);
            else
                omega_buf_printf(b, "%%%02X", *p);
        }
    } else {
        omega_buf_puts(b, s);
    }
}

char *template_render(const char *text, json_t *vars, int esc)
{
    omega_buf_t b;
    omega_buf_init(&b, 0);
    for (size_t i = 0; text[i]; i++) {
        if ((text[i] == '{' && text[i + 1] == '{') || (text[i] == '}' && text[i + 1] == '}')) {
            omega_buf_append(&b, text + i, 1);
            i++;
            continue;
        }
        const char *close = text[i] == '{' ? strchr(text + i + 1, '}') : NULL;
        size_t n = close ? (size_t)(close - text - i - 1) : 0;
        char name[64];
        json_t *v = NULL;
        if (close && n > 0 && n < sizeof(name)) {
            memcpy(name, text + i + 1, n);
            name[n] = '\0';
            v = json_object_get(vars, name);
        }
        if (v && json_is_string(v)) {
            put_escaped(&b, json_string_value(v), esc);
            i += n + 1;
        } else {
            omega_buf_append(&b, text + i, 1);
        }
    }
    char *out = omega_buf_take(&b, NULL);
    return out ? out : omega_strdup("");
}

/* Shortest "%g" text that reads back exactly, never in exponent form for whole numbers
 * below 1e15 (people read these: "90", not "9e+01"). */
static void human_number(double d, char *buf, size_t len)
{
    if (d == (double)(long long)d && d > -1e15 && d < 1e15) {
        snprintf(buf, len, "%lld", (long long)d);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

static void set_num(json_t *vars, const char *name, json_t *v)
{
    char buf[40];
    if (json_is_number(v))
        human_number(json_number_value(v), buf, sizeof(buf));
    else
        snprintf(buf, sizeof(buf), "%s", json_is_string(v) ? json_string_value(v) : "");
    json_object_set_new(vars, name, json_string(buf));
}

static const char *str_of(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

json_t *template_vars(json_t *payload, int64_t at_ms)
{
    json_t *vars = json_object();
    json_object_set_new(vars, "metric_name", json_string(str_of(payload, "metric")));
    set_num(vars, "current_value", json_object_get(payload, "value"));
    set_num(vars, "threshold", json_object_get(payload, "threshold"));
    json_object_set_new(vars, "severity", json_string(str_of(payload, "severity")));
    char ts[40];
    json_object_set_new(vars, "timestamp",
                        json_string(omega_time_format_rfc3339(at_ms, ts, sizeof(ts))));
    json_object_set_new(vars, "description", json_string(str_of(payload, "description")));
    json_object_set_new(vars, "recommended_action",
                        json_string(str_of(payload, "recommended_action")));
    json_object_set_new(vars, "alert", json_string(str_of(payload, "alert")));
    json_object_set_new(vars, "status", json_string(str_of(payload, "status")));
    json_object_set_new(vars, "dashboard_url", json_string(str_of(payload, "dashboard_url")));
    omega_buf_t b;
    omega_buf_init(&b, 0);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(payload, "labels"), k, v)
    {
        omega_buf_printf(&b, "%s%s=\"%s\"", b.len ? ", " : "", k,
                         json_is_string(v) ? json_string_value(v) : "");
    }
    char *labels = omega_buf_take(&b, NULL);
    json_object_set_new(vars, "labels", json_string(labels ? labels : ""));
    free(labels);
    return vars;
}

void dashboard_base_init(omega_alert_engine_t *e)
{
    size_t cap = sizeof(e->dashboard_base);
    if (e->opt.dashboard_url && *e->opt.dashboard_url) {
        snprintf(e->dashboard_base, cap, "%s", e->opt.dashboard_url);
    } else {
        const char *listen = e->cfg->server.listen ? e->cfg->server.listen : "";
        const char *port = strrchr(listen, ':');
        size_t hlen = port ? (size_t)(port - listen) : strlen(listen);
        char host[256];
        snprintf(host, sizeof(host), "%.*s", (int)(hlen < 255 ? hlen : 255), listen);
        /* A wildcard listener is reachable by the machine's name; loopback stays as is. */
        if (!host[0] || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "[::]") == 0 ||
            strcmp(host, "::") == 0) {
            if (gethostname(host, sizeof(host)) != 0 || !host[0])
                snprintf(host, sizeof(host), "localhost");
            host[sizeof(host) - 1] = '\0';
        }
        snprintf(e->dashboard_base, cap, "%s://%s%s", e->cfg->server.tls.enabled ? "https" : "http",
                 host, port ? port : "");
    }
    size_t n = strlen(e->dashboard_base);
    while (n && e->dashboard_base[n - 1] == '/')
        e->dashboard_base[--n] = '\0';
}

json_t *dashboard_link(const omega_alert_engine_t *e, const char *expr, int64_t at_ms)
{
    omega_buf_t b;
    omega_buf_init(&b, 0);
    omega_buf_printf(&b, "%s/#/history?", e->dashboard_base);
    if (expr && *expr) {
        omega_buf_puts(&b, "expr=");
        put_escaped(&b, expr, TEMPLATE_ESC_URL);
        omega_buf_puts(&b, "&");
    }
    omega_buf_printf(&b, "from=%lld&to=%lld", (long long)(at_ms - 30 * 60000),
                     (long long)(at_ms + 30 * 60000));
    char *text = omega_buf_take(&b, NULL);
    json_t *v = json_string(text);
    free(text);
    return v;
}
