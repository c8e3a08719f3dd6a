/* SPDX-License-Identifier: Apache-2.0 */
/* System endpoints: GET /api/v1/health (SystemHealth: system_thresholds and
 * performance_thresholds against the newest stored samples), GET /api/v1/system/usage (a
 * summary of current CPU, memory, disk and network) and GET /api/v1/system/processes (the
 * process monitor's list; owners and command lines withheld until consent is recorded when
 * privacy_settings.user_consent_required, command lines PII-masked). Values come from the store
 * through instant queries, so they are the figures the dashboards show; the process list is the
 * collector's. */
#include "server_int.h"

#include "omega/collect.h"
#include "omega/query.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static http_response_t *json_reply(int status, json_t *o)
{
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return http_response_take(status, "application/json", text, strlen(text));
}

/* A JSON string of text that may hold any bytes (process names and arguments): bytes that
 * are not valid UTF-8 become '?'. */
static json_t *json_text(const char *s)
{
    size_t n = strlen(s);
    if (omega_utf8_valid(s, n))
        return json_string(s);
    char *c = omega_strdup(s);
    for (size_t i = 0; i < n; i++) {
        size_t k = 1;
        while (k <= 4 && i + k <= n && !omega_utf8_valid(c + i, k))
            k++;
        if (k > 4 || i + k > n)
            c[i] = '?';
        else
            i += k - 1;
    }
    json_t *j = json_string(c);
    free(c);
    return j;
}

/* Newest value of every series expr selects (instant query at now); NULL when none. */
static omega_vector_t *fetch(app_t *app, const char *expr, int64_t now)
{
    omega_vector_t *v = NULL;
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_query_instant(app->db, expr, now, &v, &err) != 0) {
        omega_log_warn("system API: query %s failed: %s", expr, err.message);
        return NULL;
    }
    if (v && v->n == 0) {
        omega_vector_destroy(v);
        return NULL;
    }
    return v;
}

static const char *label_of(const omega_vector_item_t *it, const char *name)
{
    for (size_t i = 0; i < it->n_labels; i++)
        if (strcmp(it->labels[i].name, name) == 0)
            return it->labels[i].value;
    return "";
}

/* The first series' value as a JSON number, or null. */
static json_t *scalar(app_t *app, const char *expr, int64_t now)
{
    omega_vector_t *v = fetch(app, expr, now);
    json_t *j = v && isfinite(v->items[0].value) ? json_real(v->items[0].value) : json_null();
    omega_vector_destroy(v);
    return j;
}

/* ---- GET /api/v1/health ---- */

/* One threshold check: every series of expr is compared with critical and (when not NaN)
 * warning, after multiplying by scale. */
typedef struct check {
    const char *component; /* cpu, memory, disk, network, processes */
    const char *expr;      /* instant query */
    const char *label1;    /* label naming the series in the issue, or NULL */
    const char *label2;    /* second such label, or NULL */
    const char *unit;      /* unit of value and threshold */
    double scale;          /* stored unit -> unit */
    double critical;       /* system_thresholds */
    double warning;        /* performance_thresholds, NAN for none */
} check_t;

/* "name{l1="v1",l2="v2"}" for an issue. */
static void series_name(const check_t *c, const omega_vector_item_t *it, char *out, size_t cap)
{
    const char *name = label_of(it, "__name__");
    int n = snprintf(out, cap, "%s", name[0] ? name : c->expr);
    if (c->label1 && n >= 0 && (size_t)n < cap)
        n += snprintf(out + n, cap - (size_t)n, "{%s=\"%s\"", c->label1, label_of(it, c->label1));
    if (c->label2 && n >= 0 && (size_t)n < cap)
        n += snprintf(out + n, cap - (size_t)n, ",%s=\"%s\"", c->label2, label_of(it, c->label2));
    if (c->label1 && n >= 0 && (size_t)n < cap)
        snprintf(out + n, cap - (size_t)n, "}");
}

/* Append the issues of one check; returns the worst severity (0 none, 1 warning, 2 critical). */
static int run_check(app_t *app, const check_t *c, int64_t now, json_t *issues)
{
    int worst = 0;
    char name[512];
    omega_vector_t *v = fetch(app, c->expr, now);
    for (size_t i = 0; v && i < v->n; i++) {
        double x = v->items[i].value * c->scale;
        int sev = x >= c->critical ? 2 : (!isnan(c->warning) && x >= c->warning) ? 1 : 0;
        if (!isfinite(x) || sev == 0)
            continue;
        series_name(c, &v->items[i], name, sizeof(name));
        json_array_append_new(
            issues, json_pack("{s:s, s:s, s:f, s:f, s:s, s:s}", "component", c->component, "metric",
                              name, "value", x, "threshold", sev == 2 ? c->critical : c->warning,
                              "severity", sev == 2 ? "critical" : "warning", "unit", c->unit));
        worst = sev > worst ? sev : worst;
    }
    omega_vector_destroy(v);
    return worst;
}

static http_response_t *h_health(app_t *app, const http_request_t *req,
                                 const omega_principal_t *who)
{
    (void)req;
    (void)who;
    const omega_config_system_monitor_t *sm = &app->cfg->system_monitor;
    const omega_config_performance_monitor_t *pm = &app->cfg->performance_monitor;
    const check_t checks[] = {
        {"cpu", "system_cpu_usage_percent{cpu=\"total\"}", NULL, NULL, "percent", 1,
         sm->system_thresholds.cpu_critical, pm->performance_thresholds.cpu_usage},
        {"memory", "system_memory_used_percent", NULL, NULL, "percent", 1,
         sm->system_thresholds.memory_critical, pm->performance_thresholds.memory_usage},
        {"disk", "system_filesystem_used_percent", "mountpoint", NULL, "percent", 1,
         sm->system_thresholds.disk_critical, pm->performance_thresholds.disk_usage},
        {"network", "system_network_throughput_bytes_per_second", "interface", "direction", "Mbps",
         8.0 / 1e6, sm->system_thresholds.network_critical, NAN},
        {"processes", "sum(system_processes)", NULL, NULL, "processes", 1,
         (double)sm->system_thresholds.process_count_critical, NAN},
    };
    int64_t now = omega_now_ms();
    json_t *issues = json_array();
    int worst = 0;
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        int w = run_check(app, &checks[i], now, issues);
        worst = w > worst ? w : worst;
    }
    static const char *const status[3] = {"healthy", "degraded", "critical"};
    char ts[40];
    return json_reply(200,
                      json_pack("{s:s, s:o, s:s}", "status", status[worst], "issues", issues,
                                "evaluated_at", omega_time_format_rfc3339(now, ts, sizeof(ts))));
}

/* ---- GET /api/v1/system/usage ---- */

static json_t *usage_cpu(app_t *app, int64_t now)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o}", "usage_percent",
                     scalar(app, "system_cpu_usage_percent{cpu=\"total\"}", now), "cores",
                     scalar(app, "count(system_cpu_usage_percent{cpu!=\"total\"})", now), "load1",
                     scalar(app, "system_load1", now), "load5", scalar(app, "system_load5", now),
                     "load15", scalar(app, "system_load15", now));
}

static json_t *usage_memory(app_t *app, int64_t now)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "total_bytes",
                     scalar(app, "system_memory_total_bytes", now), "available_bytes",
                     scalar(app, "system_memory_available_bytes", now), "used_bytes",
                     scalar(app, "system_memory_used_bytes", now), "used_percent",
                     scalar(app, "system_memory_used_percent", now), "swap_total_bytes",
                     scalar(app, "system_swap_total_bytes", now), "swap_used_bytes",
                     scalar(app, "system_swap_used_bytes", now), "swap_used_percent",
                     scalar(app, "system_swap_used_percent", now));
}

/* Set key of the array element whose label (lname) is value to x, adding the element (with
 * the labels named in keep) when missing. */
static void merge(json_t *arr, const omega_vector_item_t *it, const char *const *keep,
                  const char *key, double x)
{
    json_t *el = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        int same = 1;
        for (size_t k = 0; keep[k] && same; k++) {
            json_t *want = json_text(label_of(it, keep[k]));
            same = json_equal(json_object_get(e, keep[k]), want);
            json_decref(want);
        }
        if (same) {
            el = e;
            break;
        }
    }
    if (!el) {
        el = json_object();
        for (size_t k = 0; keep[k]; k++)
            json_object_set_new(el, keep[k], json_text(label_of(it, keep[k])));
        json_array_append_new(arr, el);
    }
    json_object_set_new(el, key, isfinite(x) ? json_real(x) : json_null());
}

/* One array from several metrics sharing labels: [{labels..., key: value, ...}]. */
static json_t *usage_table(app_t *app, int64_t now, const char *const *keep,
                           const char *const *exprs, const char *const *keys)
{
    json_t *arr = json_array();
    for (size_t m = 0; exprs[m]; m++) {
        omega_vector_t *v = fetch(app, exprs[m], now);
        for (size_t i = 0; v && i < v->n; i++)
            merge(arr, &v->items[i], keep, keys[m], v->items[i].value);
        omega_vector_destroy(v);
    }
    return arr;
}

static http_response_t *h_usage(app_t *app, const http_request_t *req, const omega_principal_t *who)
{
    (void)req;
    (void)who;
    int64_t now = omega_now_ms();
    static const char *const fs_keep[] = {"mountpoint", "device", "fstype", NULL};
    static const char *const fs_expr[] = {"system_filesystem_size_bytes",
                                          "system_filesystem_available_bytes",
                                          "system_filesystem_used_percent", NULL};
    static const char *const fs_keys[] = {"size_bytes", "available_bytes", "used_percent", NULL};
    static const char *const net_keep[] = {"interface", NULL};
    static const char *const net_expr[] = {
        "system_network_throughput_bytes_per_second{direction=\"receive\"}",
        "system_network_throughput_bytes_per_second{direction=\"transmit\"}",
        "system_network_utilization_percent{direction=\"receive\"}",
        "system_network_utilization_percent{direction=\"transmit\"}", NULL};
    static const char *const net_keys[] = {"receive_bytes_per_second", "transmit_bytes_per_second",
                                           "receive_utilization_percent",
                                           "transmit_utilization_percent", NULL};
    char ts[40];
    json_t *o = json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:{s:o, s:o}}", "timestamp",
        omega_time_format_rfc3339(now, ts, sizeof(ts)), "cpu", usage_cpu(app, now), "memory",
        usage_memory(app, now), "disk", usage_table(app, now, fs_keep, fs_expr, fs_keys), "network",
        usage_table(app, now, net_keep, net_expr, net_keys), "processes", "total",
        scalar(app, "sum(system_processes)", now), "threads", scalar(app, "system_threads", now));
    return json_reply(200, o);
}

/* ---- GET /api/v1/system/processes ---- */

/* Secret-looking option values in command lines, always redacted (credentials, not personal
 * data); personal data goes through auth's PII masker when privacy_settings.data_masking
 * is on. */
static const char *const mask_res[] = {
    "(pass(word)?|passwd|pwd|secret|token|api[_-]?key|key)[=:][^ ]+",
};
static const char *const mask_with[] = {"\\1=<redacted>"};
#define N_MASKS (sizeof(mask_res) / sizeof(mask_res[0]))
static regex_t masks[N_MASKS];
static pthread_once_t masks_once = PTHREAD_ONCE_INIT;
static int masks_ok;

static void masks_init(void)
{
    masks_ok = 1;
    for (size_t i = 0; i < N_MASKS; i++)
        masks_ok &= regcomp(&masks[i], mask_res[i], REG_EXTENDED | REG_ICASE) == 0;
}

/* Replace every match of re in s by with ("\1" = the first group); returns a new string. */
static char *mask_one(const regex_t *re, const char *with, char *s)
{
    omega_buf_t out;
    omega_buf_init(&out, 0);
    regmatch_t m[2];
    const char *p = s;
    while (*p && regexec(re, p, 2, m, p == s ? 0 : REG_NOTBOL) == 0 && m[0].rm_eo > 0) {
        omega_buf_append(&out, p, (size_t)m[0].rm_so);
        for (const char *w = with; *w; w++) {
            if (w[0] == '\\' && w[1] == '1') {
                if (m[1].rm_so >= 0)
                    omega_buf_append(&out, p + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so));
                w++;
            } else {
                omega_buf_append(&out, w, 1);
            }
        }
        p += m[0].rm_eo;
    }
    omega_buf_append(&out, p, strlen(p));
    free(s);
    char *r = omega_buf_take(&out, NULL);
    return r ? r : omega_strdup("");
}

static char *mask_cmdline(const char *cmd, int pii)
{
    pthread_once(&masks_once, masks_init);
    char *s = omega_strdup(cmd);
    if (!masks_ok) { /* cannot happen with these literals; never leak the raw line */
        free(s);
        return omega_strdup("<redacted>");
    }
    for (size_t i = 0; i < N_MASKS; i++)
        s = mask_one(&masks[i], mask_with[i], s);
    if (pii) {
        char *m = omega_pii_mask(s, OMEGA_PII_ALL, NULL);
        free(s);
        s = m;
    }
    return s;
}

/* p as JSON; withhold: owner and command line left out (no consent recorded). */
static json_t *process_json(const omega_process_info_t *p, int withhold, int pii)
{
    char ts[40];
    char *cmd = withhold ? NULL : mask_cmdline(p->cmdline, pii);
    json_t *o = json_pack(
        "{s:I, s:I, s:o, s:o, s:o, s:s, s:o, s:I, s:I, s:s, s:b}", "pid", (json_int_t)p->pid,
        "ppid", (json_int_t)p->ppid, "name", json_text(p->name), "cmdline",
        withhold ? json_null() : json_text(cmd), "user",
        withhold ? json_null() : json_text(p->user), "state", p->state, "cpu_percent",
        p->cpu_percent >= 0 ? json_real(p->cpu_percent) : json_null(), "rss_bytes",
        (json_int_t)p->rss_bytes, "threads", (json_int_t)p->threads, "started_at",
        omega_time_format_rfc3339(p->started_at_ms, ts, sizeof(ts)), "watched", p->watched);
    free(cmd);
    return o;
}

static http_response_t *h_processes(app_t *app, const http_request_t *req,
                                    const omega_principal_t *who)
{
    (void)who;
    const char *pattern = http_request_arg(req, "pattern");
    omega_process_info_t *p = NULL;
    size_t n = 0;
    omega_error_t err;
    omega_error_clear(&err);
    if (pattern && strlen(pattern) > 1024)
        return http_response_error(400, "bad_data", "pattern is longer than 1024 bytes");
    int rc = omega_collector_processes(atomic_load(&app->sysmon), pattern, &p, &n, &err);
    if (rc == OMEGA_EINVAL)
        return http_response_error(400, "bad_data", "invalid parameter \"pattern\": %s",
                                   err.message);
    if (rc != 0)
        return http_response_error(503, "unavailable",
                                   "process monitoring is off (system_monitor."
                                   "enable_process_monitoring)");
    /* Per-user data (owner, command line) only once consent is recorded, when required. */
    const omega_config_t *cfg = app->cfg;
    omega_consent_t consent;
    int withhold = cfg->security.privacy_settings.user_consent_required &&
                   (omega_auth_consent_get(app->auth, &consent, NULL) != 0 || !consent.granted);
    int pii = cfg->security.privacy_settings.data_masking;
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, process_json(&p[i], withhold, pii));
    omega_process_info_free(p, n);
    return json_reply(200, json_pack("{s:o, s:b}", "items", items, "consent_required", withhold));
}

static const route_t routes[] = {
    {"GET", "/api/v1/health", PERM_READ, h_health},
    {"GET", "/api/v1/system/usage", PERM_READ, h_usage},
    {"GET", "/api/v1/system/processes", PERM_READ, h_processes},
};

const route_table_t api_system_routes = {routes, sizeof(routes) / sizeof(routes[0])};
