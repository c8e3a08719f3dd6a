/* SPDX-License-Identifier: Apache-2.0 */
/* Report requests: parsing and validating the JSON body, the default periods of the
 * daily/weekly/monthly types, and the names, content types and file name of the result. */
#include "report_int.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const type_names[] = {"daily", "weekly", "monthly", "custom"};
static const char *const format_names[] = {"pdf", "html", "csv", "json"};
static const char *const format_types[] = {"application/pdf", "text/html; charset=utf-8",
                                           "text/csv; charset=utf-8", "application/json"};
static const char *const section_names[] = {"compilation_performance", "system_resources",
                                            "application_performance", "error_analysis",
                                            "trend_analysis"};

#define N_TYPES    4
#define N_FORMATS  4
#define N_SECTIONS 5
/* 9999-12-31T23:59:59Z: times past it do not print as RFC 3339. */
#define MAX_TIME_MS 253402300799000LL

const char *omega_report_type_name(omega_report_type_t t)
{
    return (unsigned)t < N_TYPES ? type_names[t] : NULL;
}

const char *omega_report_format_name(omega_report_format_t f)
{
    return (unsigned)f < N_FORMATS ? format_names[f] : NULL;
}

const char *omega_report_content_type(omega_report_format_t f)
{
    return (unsigned)f < N_FORMATS ? format_types[f] : "application/octet-stream";
}

const char *omega_report_extension(omega_report_format_t f)
{
    return (unsigned)f < N_FORMATS ? format_names[f] : "bin";
}

const char *omega_report_section_name(unsigned bit)
{
    for (unsigned i = 0; i < N_SECTIONS; i++)
        if (bit == 1u << i)
            return section_names[i];
    return NULL;
}

static int find_name(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

/* Local midnight of the day holding t (seconds), shifted by `days`. */
static time_t local_midnight(time_t t, int days)
{
    struct tm tm;
    localtime_r(&t, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_mday += days;
    tm.tm_isdst = -1;
    return mktime(&tm);
}

void omega_report_default_period(omega_report_type_t type, int64_t now_ms, int64_t *from_ms,
                                 int64_t *to_ms)
{
    time_t now = (time_t)(now_ms / 1000);
    time_t from, to;
    struct tm tm;
    switch (type) {
    case OMEGA_REPORT_DAILY:
        to = local_midnight(now, 0);
        from = local_midnight(now, -1);
        break;
    case OMEGA_REPORT_WEEKLY:
        localtime_r(&now, &tm);
        to = local_midnight(now, -((tm.tm_wday + 6) % 7)); /* this week's Monday */
        from = local_midnight(to, -7);
        break;
    case OMEGA_REPORT_MONTHLY:
        localtime_r(&now, &tm);
        tm.tm_mday = 1;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_isdst = -1;
        to = mktime(&tm);
        tm.tm_mon -= 1;
        tm.tm_isdst = -1;
        from = mktime(&tm);
        break;
    default:
        *to_ms = now_ms;
        *from_ms = now_ms - 24 * 3600 * 1000LL;
        return;
    }
    *from_ms = (int64_t)from * 1000;
    *to_ms = (int64_t)to * 1000;
}

/* A time field: RFC 3339 / Unix seconds as a string, or a number of seconds. */
static int parse_time(json_t *v, const char *field, int64_t *out, omega_error_t *err)
{
    if (json_is_string(v)) {
        if (omega_time_parse(json_string_value(v), out) != 0)
            return omega_error_set_path(err, OMEGA_EINVAL, field,
                                        "%s: expected an RFC 3339 time or Unix seconds", field);
    } else if (json_is_number(v)) {
        double s = json_number_value(v);
        if (!isfinite(s) || s < 0 || s * 1000.0 > (double)MAX_TIME_MS)
            return omega_error_set_path(err, OMEGA_EINVAL, field, "%s: Unix seconds out of range",
                                        field);
        *out = (int64_t)llround(s * 1000.0);
    } else {
        return omega_error_set_path(err, OMEGA_EINVAL, field,
                                    "%s: expected a string (RFC 3339) or a number (Unix seconds)",
                                    field);
    }
    if (*out < 0 || *out > MAX_TIME_MS)
        return omega_error_set_path(err, OMEGA_EINVAL, field,
                                    "%s: time outside 1970-01-01 .. 9999-12-31", field);
    return 0;
}

static int parse_sections(json_t *v, unsigned *out, omega_error_t *err)
{
    if (!json_is_array(v))
        return omega_error_set_path(err, OMEGA_EINVAL, "sections",
                                    "sections: expected an array of section names");
    if (json_array_size(v) == 0)
        return omega_error_set_path(err, OMEGA_EINVAL, "sections",
                                    "sections: give at least one section");
    if (json_array_size(v) > 32)
        return omega_error_set_path(err, OMEGA_EINVAL, "sections", "sections: too many entries");
    unsigned bits = 0;
    size_t i;
    json_t *it;
    json_array_foreach(v, i, it)
    {
        char path[32];
        snprintf(path, sizeof(path), "sections[%zu]", i);
        if (!json_is_string(it))
            return omega_error_set_path(err, OMEGA_EINVAL, path, "%s: expected a string", path);
        int k = find_name(section_names, N_SECTIONS, json_string_value(it));
        if (k < 0)
            return omega_error_set_path(
                err, OMEGA_EINVAL, path,
                "%s: unknown section (compilation_performance, system_resources, "
                "application_performance, error_analysis, trend_analysis)",
                path);
        bits |= 1u << k;
    }
    *out = bits;
    return 0;
}

static unsigned default_sections(const omega_config_t *cfg)
{
    if (!cfg)
        return OMEGA_REPORT_SEC_ALL;
    unsigned bits = 0;
    for (size_t i = 0; i < cfg->reports.include_metrics.n; i++) {
        int k = find_name(section_names, N_SECTIONS, cfg->reports.include_metrics.items[i]);
        if (k >= 0)
            bits |= 1u << k;
    }
    return bits ? bits : OMEGA_REPORT_SEC_ALL;
}

/* An enumerated string field into *out (index), or an error naming the field. */
static int parse_enum(json_t *v, const char *field, const char *const *names, size_t n, int *out,
                      const char *choices, omega_error_t *err)
{
    if (!json_is_string(v))
        return omega_error_set_path(err, OMEGA_EINVAL, field, "%s: expected a string (%s)", field,
                                    choices);
    int k = find_name(names, n, json_string_value(v));
    if (k < 0)
        return omega_error_set_path(err, OMEGA_EINVAL, field, "%s: unknown value (%s)", field,
                                    choices);
    *out = k;
    return 0;
}

static int check_fields(json_t *root, omega_error_t *err)
{
    static const char *const known[] = {"type", "from", "to", "sections", "format", "async"};
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (find_name(known, 6, key) < 0) {
            char path[64];
            snprintf(path, sizeof(path), "%.60s", key);
            return omega_error_set_path(
                err, OMEGA_EINVAL, path,
                "%s: unknown field (type, from, to, sections, format, async)", path);
        }
    }
    return 0;
}

static int parse_fields(json_t *root, const omega_config_t *cfg, int64_t now_ms,
                        omega_report_request_t *r, omega_error_t *err)
{
    int k = 0, rc;
    json_t *type = json_object_get(root, "type"), *from = json_object_get(root, "from");
    json_t *to = json_object_get(root, "to"), *sec = json_object_get(root, "sections");
    json_t *fmt = json_object_get(root, "format"), *async = json_object_get(root, "async");
    if (async && !json_is_boolean(async))
        return omega_error_set_path(err, OMEGA_EINVAL, "async", "async: expected true or false");
    r->async = json_is_true(async);
    if (!type)
        return omega_error_set_path(err, OMEGA_EINVAL, "type",
                                    "type: required (daily, weekly, monthly, custom)");
    if ((rc = parse_enum(type, "type", type_names, N_TYPES, &k, "daily, weekly, monthly, custom",
                         err)) != 0)
        return rc;
    r->type = (omega_report_type_t)k;
    r->format = OMEGA_REPORT_PDF;
    if (fmt && (rc = parse_enum(fmt, "format", format_names, N_FORMATS, &k, "pdf, html, csv, json",
                                err)) != 0)
        return rc;
    if (fmt)
        r->format = (omega_report_format_t)k;
    r->sections = default_sections(cfg);
    if (sec && (rc = parse_sections(sec, &r->sections, err)) != 0)
        return rc;
    if (!from != !to)
        return omega_error_set_path(err, OMEGA_EINVAL, from ? "to" : "from",
                                    "%s: give both from and to, or neither", from ? "to" : "from");
    if (!from && r->type == OMEGA_REPORT_CUSTOM)
        return omega_error_set_path(err, OMEGA_EINVAL, "from",
                                    "from: required for a custom report (with to)");
    if (!from) {
        omega_report_default_period(r->type, now_ms, &r->from_ms, &r->to_ms);
        return 0;
    }
    if ((rc = parse_time(from, "from", &r->from_ms, err)) != 0 ||
        (rc = parse_time(to, "to", &r->to_ms, err)) != 0)
        return rc;
    if (r->from_ms >= r->to_ms)
        return omega_error_set_path(err, OMEGA_EINVAL, "to", "to: must be after from");
    if (r->to_ms - r->from_ms > OMEGA_REPORT_MAX_RANGE_MS)
        return omega_error_set_path(err, OMEGA_EINVAL, "to",
                                    "to: the period is longer than 400 days");
    return 0;
}

int omega_report_request_parse(const char *json, size_t len, const omega_config_t *cfg,
                               int64_t now_ms, omega_report_request_t *out, omega_error_t *err)
{
    json_error_t je;
    if (!json || len == 0)
        return omega_error_set(err, OMEGA_EINVAL,
                               "empty body: expected a JSON object {\"type\":...}");
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        int rc = omega_error_set(err, OMEGA_EINVAL,
                                 "body is not valid JSON: %s (line %d, "
                                 "column %d)",
                                 je.text, je.line, je.column);
        if (err) {
            err->line = je.line;
            err->column = je.column;
        }
        return rc;
    }
    omega_report_request_t r;
    memset(&r, 0, sizeof(r));
    int rc = json_is_object(root)
                 ? check_fields(root, err)
                 : omega_error_set(err, OMEGA_EINVAL, "body: expected a JSON object");
    if (rc == 0)
        rc = parse_fields(root, cfg, now_ms, &r, err);
    json_decref(root);
    if (rc == 0)
        *out = r;
    return rc;
}

/* 20261125T000000Z */
static void compact_utc(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y%m%dT%H%M%SZ", &tm);
}

char *omega_report_filename(const omega_report_request_t *req, char *buf, size_t len)
{
    char a[32], b[32];
    compact_utc(req->from_ms, a, sizeof(a));
    compact_utc(req->to_ms, b, sizeof(b));
    const char *type = omega_report_type_name(req->type);
    snprintf(buf, len, "omega-%s-%s-%s.%s", type ? type : "report", a, b,
             omega_report_extension(req->format));
    return buf;
}
