/* SPDX-License-Identifier: Apache-2.0 */
/* Module test of report/: requests (every field, every kind of bad input, default
 * periods), reports built from real data written to a temp store (system series, a latency
 * histogram, jobs through analytics/, alerts through alert/) in all four formats, PII
 * masking in every format, CSV formula defusing, HTML escaping, bounds on long periods,
 * and sections that say "no data in this range" instead of failing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "omega/alert.h"
#include "omega/analytics.h"
#include "omega/auth.h"
#include "omega/report.h"
#include "omega/tsdb.h"
#include "reporttest.h"
#include "testutil.h"

#define MIN  (60 * 1000LL)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)

typedef reporttest_t fixture_t; /* t0: start of the data window (2 h of data) */

static fixture_t F;

/* Personal data planted in the data, and what the masker turns it into. */
static const struct {
    const char *raw, *masked;
} pii[] = {
    {"alice@example.com", "[EMAIL]"}, /* alert rule name */
    {"192.0.2.17", "[IPV4]"},         /* alert series label */
    {"+44 20 7946 0958", "[PHONE]"},  /* alert message */
    {"4111111111111111", "[CARD]"},   /* job id */
    {"/home/carol", "/home/[USER]"},  /* job label */
};
#define N_PII (sizeof(pii) / sizeof(pii[0]))

static void put(const char *name, const omega_label_t *l, size_t nl, int64_t t, double v)
{
    omega_point_t p = {name, l, nl, t, v};
    assert_int_equal(omega_tsdb_write(F.db, &p, 1, NULL), 0);
}

static void write_system(void)
{
    omega_label_t cpu = {"cpu", "total"}, fs[2] = {{"device", "sda1"}, {"mountpoint", "/"}};
    omega_label_t ifc = {"interface", "eth0"}, lo = {"interface", "lo"};
    static const char *const les[] = {"0.1", "0.5", "1", "+Inf"};
    for (int k = 0; k <= 120; k++) {
        int64_t t = F.t0 + k * MIN;
        put("system_cpu_usage_percent", &cpu, 1, t, 10.0 + 40.0 * k / 120.0);
        put("system_memory_used_percent", NULL, 0, t, 40.0);
        put("system_filesystem_used_percent", fs, 2, t, 50.0 + k / 12.0);
        put("system_network_receive_bytes_total", &ifc, 1, t, 1000.0 * k * 60);
        put("system_network_receive_bytes_total", &lo, 1, t, 1e9 * k);
        /* one request per second: 60% under 0.1 s, 90% under 0.5 s, all under 1 s */
        for (int b = 0; b < 4; b++) {
            double share = b == 0 ? 0.6 : b == 1 ? 0.9 : 1.0;
            omega_label_t le = {"le", les[b]};
            put("app_request_duration_seconds_bucket", &le, 1, t, share * 60.0 * k);
        }
        put("app_request_duration_seconds_count", NULL, 0, t, 60.0 * k);
    }
}

static void write_alerts(void)
{
    assert_int_equal(
        omega_alert_rule_put(F.alerts, NULL,
                             "{\"id\":\"hot\",\"name\":\"temp for alice@example.com\","
                             "\"expr\":\"room_temp\",\"warning\":50,\"critical\":80,"
                             "\"category\":\"system\",\"channels\":[\"builtin-log\"],"
                             "\"annotations\":{\"description\":\"call +44 20 7946 0958 "
                             "<b>now</b>\"}}",
                             NULL, NULL),
        0);
    omega_label_t l = {"client", "192.0.2.17"};
    for (int k = 0; k <= 6; k++) {
        int64_t t = F.t0 + 10 * MIN + k * MIN;
        put("room_temp", &l, 1, t, k < 3 ? 60 : k < 5 ? 90 : 20);
        assert_int_equal(omega_alert_evaluate(F.alerts, t), 0);
    }
}

static void write_jobs(void)
{
    reporttest_job(&F, "4111111111111111",
                   "{\"kind\":\"compile\",\"labels\":{\"src\":\"/home/carol/x.c\"}}",
                   F.t0 + 5 * MIN, F.t0 + 8 * MIN, "failed");
    for (int k = 0; k < 9; k++) {
        char id[32];
        snprintf(id, sizeof(id), "build-%d", k);
        reporttest_job(&F, id, "{\"kind\":\"compile\"}", F.t0 + 20 * MIN + k * MIN,
                       F.t0 + 20 * MIN + k * MIN + (k + 1) * 1000, "ok");
    }
    reporttest_job(&F, "evil", "{\"kind\":\"=HYPERLINK(\\\"http://x\\\")\"}", F.t0 + 30 * MIN,
                   F.t0 + 31 * MIN, "ok");
}

static int setup(void **state)
{
    reporttest_open(&F, "report");
    return 0;
}

static int teardown(void **state)
{
    reporttest_close(&F);
    return 0;
}

static int setup_data(void **state)
{
    setup(state);
    write_system();
    write_alerts();
    write_jobs();
    return 0;
}

/* Generate a report over the data window (2 h) in format fmt with masking on or off. */
static char *gen(omega_report_format_t fmt, int mask, unsigned sections, size_t *len)
{
    omega_report_sources_t src = {.db = F.db, .alerts = F.alerts, .analytics = F.ana};
    if (mask)
        src.mask = omega_pii_mask_cb;
    omega_report_request_t req = {OMEGA_REPORT_CUSTOM, F.t0, F.t0 + 2 * HOUR, sections, fmt, 0};
    char *out = NULL;
    omega_error_t err = {0};
    int rc = omega_report_generate(&src, &req, &out, len, &err);
    if (rc != 0)
        fail_msg("generate: %s", err.message);
    return out;
}

/* pdftotext of a PDF held in memory (malloc'd text). */
static char *pdf_text(const char *pdf, size_t len)
{
    char path[700], txt[700], cmd[1600];
    snprintf(path, sizeof(path), "%s/r.pdf", F.dir);
    snprintf(txt, sizeof(txt), "%s/r.txt", F.dir);
    assert_int_equal(testutil_write_file(path, pdf, len), 0);
    snprintf(cmd, sizeof(cmd), "pdftotext -q -raw '%s' '%s'", path, txt);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char *text = testutil_read_file(txt, NULL);
    assert_non_null(text);
    return text;
}

static void check_pdf_shape(const char *pdf, size_t len)
{
    assert_true(len > 200);
    assert_memory_equal(pdf, "%PDF-", 5);
    /* %%EOF within the last bytes */
    const char *tail = pdf + len - (len < 32 ? len : 32);
    assert_non_null(memmem(tail, (size_t)(pdf + len - tail), "%%EOF", 5));
}

/* ---- requests ---- */

static void test_request_good(void **state)
{
    omega_report_request_t r;
    omega_error_t err = {0};
    const char *body = "{\"type\":\"custom\",\"from\":\"2026-11-01T00:00:00Z\",\"to\":1795651200,"
                       "\"sections\":[\"error_analysis\",\"system_resources\"],\"format\":\"csv\"}";
    assert_int_equal(omega_report_request_parse(body, strlen(body), NULL, 0, &r, &err), 0);
    assert_int_equal(r.type, OMEGA_REPORT_CUSTOM);
    assert_int_equal(r.from_ms, 1793491200000LL);
    assert_int_equal(r.to_ms, 1795651200000LL);
    assert_int_equal(r.sections, OMEGA_REPORT_SEC_ERRORS | OMEGA_REPORT_SEC_SYSTEM);
    assert_int_equal(r.format, OMEGA_REPORT_CSV);
    char name[96];
    assert_string_equal(omega_report_filename(&r, name, sizeof(name)),
                        "omega-custom-20261101T000000Z-20261126T000000Z.csv");
    /* defaults: format pdf, sections from the config (all five without one) */
    body = "{\"type\":\"daily\"}";
    int64_t now = 1795705200000LL; /* Thursday 2026-11-26 15:00 UTC */
    assert_int_equal(omega_report_request_parse(body, strlen(body), NULL, now, &r, &err), 0);
    assert_int_equal(r.format, OMEGA_REPORT_PDF);
    assert_int_equal(r.sections, OMEGA_REPORT_SEC_ALL);
    assert_int_equal(r.from_ms, 1795564800000LL);
    assert_int_equal(r.to_ms, 1795651200000LL);
    omega_config_t *cfg = NULL;
    const char *conf = "{\"reports\":{\"include_metrics\":[\"trend_analysis\"]}}";
    assert_int_equal(omega_config_load_string(conf, strlen(conf), NULL, NULL, NULL, &cfg), 0);
    body = "{\"type\":\"weekly\",\"format\":\"json\"}";
    assert_int_equal(omega_report_request_parse(body, strlen(body), cfg, now, &r, &err), 0);
    omega_config_destroy(cfg);
    assert_int_equal(r.sections, OMEGA_REPORT_SEC_TRENDS);
    assert_int_equal(r.from_ms, 1794787200000LL); /* Monday 2026-11-16 */
    assert_int_equal(r.to_ms, 1795392000000LL);   /* Monday 2026-11-23 */
    body = "{\"type\":\"monthly\"}";
    assert_int_equal(omega_report_request_parse(body, strlen(body), NULL, now, &r, &err), 0);
    assert_int_equal(r.from_ms, 1790812800000LL); /* 2026-10-01 */
    assert_int_equal(r.to_ms, 1793491200000LL);   /* 2026-11-01 */
    /* a daily report for a chosen day, and exactly 400 days */
    body = "{\"type\":\"daily\",\"from\":\"1795000000\",\"to\":\"1795086400\"}";
    assert_int_equal(omega_report_request_parse(body, strlen(body), NULL, now, &r, &err), 0);
    assert_int_equal(r.to_ms - r.from_ms, DAY);
    body = "{\"type\":\"custom\",\"from\":0,\"to\":34560000}";
    assert_int_equal(omega_report_request_parse(body, strlen(body), NULL, now, &r, &err), 0);
}

static void test_request_bad(void **state)
{
    static const struct {
        const char *body, *path, *says;
    } bad[] = {
        {"", "", "empty"},
        {"[1]", "", "object"},
        {"{\"type\":\"daily\"", "", "JSON"},
        {"{}", "type", "required"},
        {"{\"type\":\"hourly\"}", "type", "unknown"},
        {"{\"type\":7}", "type", "string"},
        {"{\"type\":\"daily\",\"format\":\"xlsx\"}", "format", "unknown"},
        {"{\"type\":\"daily\",\"format\":null}", "format", "string"},
        {"{\"type\":\"daily\",\"sections\":[\"gpu\"]}", "sections[0]", "unknown section"},
        {"{\"type\":\"daily\",\"sections\":[\"system_resources\",3]}", "sections[1]", "string"},
        {"{\"type\":\"daily\",\"sections\":[]}", "sections", "at least one"},
        {"{\"type\":\"daily\",\"sections\":\"system_resources\"}", "sections", "array"},
        {"{\"type\":\"daily\",\"colour\":\"red\"}", "colour", "unknown field"},
        {"{\"type\":\"daily\",\"async\":\"yes\"}", "async", "true or false"},
        {"{\"type\":\"custom\"}", "from", "required"},
        {"{\"type\":\"custom\",\"from\":100}", "to", "both"},
        {"{\"type\":\"custom\",\"to\":100}", "from", "both"},
        {"{\"type\":\"custom\",\"from\":200,\"to\":100}", "to", "after"},
        {"{\"type\":\"custom\",\"from\":100,\"to\":100}", "to", "after"},
        {"{\"type\":\"custom\",\"from\":0,\"to\":34560001}", "to", "400 days"},
        {"{\"type\":\"custom\",\"from\":\"yesterday\",\"to\":100}", "from", "RFC 3339"},
        {"{\"type\":\"custom\",\"from\":-5,\"to\":100}", "from", "range"},
        {"{\"type\":\"custom\",\"from\":1e300,\"to\":100}", "from", "range"},
        {"{\"type\":\"custom\",\"from\":true,\"to\":100}", "from", "number"},
        {"{\"type\":\"custom\",\"from\":1,\"to\":{}}", "to", "number"},
        {"{\"type\":\"daily\",\"type\":\"weekly\"}", "", "JSON"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        omega_report_request_t r;
        omega_error_t err = {0};
        int rc = omega_report_request_parse(bad[i].body, strlen(bad[i].body), NULL, 0, &r, &err);
        if (rc != OMEGA_EINVAL || strcmp(err.path, bad[i].path) != 0 ||
            !strstr(err.message, bad[i].says))
            fail_msg("%s: rc %d path '%s' message '%s'", bad[i].body, rc, err.path, err.message);
    }
}

/* ---- reports over real data ---- */

static json_t *section(json_t *rep, const char *id)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(rep, "sections"), i, s)
    {
        if (strcmp(json_string_value(json_object_get(s, "id")), id) == 0)
            return s;
    }
    fail_msg("no section %s", id);
    return NULL;
}

static json_t *table(json_t *sec, const char *title)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(sec, "tables"), i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "title")), title) == 0)
            return t;
    }
    fail_msg("no table %s", title);
    return NULL;
}

/* The row of table t whose first cell is key. */
static json_t *row(json_t *t, const char *key)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(t, "rows"), i, r)
    {
        if (strcmp(json_string_value(json_array_get(r, 0)), key) == 0)
            return r;
    }
    fail_msg("no row %s", key);
    return NULL;
}

static double num(json_t *r, size_t i)
{
    return json_number_value(json_array_get(r, i));
}

static void test_json_over_real_data(void **state)
{
    size_t len;
    char *out = gen(OMEGA_REPORT_JSON, 0, OMEGA_REPORT_SEC_ALL, &len);
    json_error_t je;
    json_t *rep = json_loads(out, 0, &je);
    if (!rep)
        fail_msg("not JSON: %s", je.text);
    free(out);
    assert_string_equal(json_string_value(json_object_get(rep, "type")), "custom");
    assert_int_equal(json_array_size(json_object_get(rep, "sections")), 5);
    /* system: CPU 10 -> 50 % over the window, memory flat at 40 */
    json_t *sys = section(rep, "system_resources");
    assert_true(json_is_null(json_object_get(sys, "note")));
    json_t *cpu = row(table(sys, "Resource usage"), "CPU usage");
    assert_true(num(cpu, 2) > 29 && num(cpu, 2) < 31);
    assert_true(num(cpu, 4) > 49.9 && num(cpu, 4) <= 50.0);
    json_t *mem = row(table(sys, "Resource usage"), "Memory used");
    assert_true(num(mem, 2) == 40.0 && num(mem, 4) == 40.0);
    /* network excludes lo: 1000 bytes/s on eth0 */
    json_t *net = row(table(sys, "Resource usage"), "Network received");
    /* (rate()'s extrapolation stops at the counter's zero on the window's first points) */
    if (fabs(num(net, 2) - 1000.0) >= 10.0 || fabs(num(net, 4) - 1000.0) >= 1.0)
        fail_msg("network received: avg %g max %g, expected 1000", num(net, 2), num(net, 4));
    json_t *charts = json_object_get(sys, "charts");
    assert_true(json_array_size(charts) >= 2);
    json_t *pts = json_object_get(
        json_array_get(json_object_get(json_array_get(charts, 0), "series"), 0), "points");
    assert_true(json_array_size(pts) >= 100 && json_array_size(pts) <= 300);
    /* application: the histogram's quantiles and observations */
    json_t *app = row(table(section(rep, "application_performance"), "Latency"),
                      "app_request_duration_seconds");
    assert_true(fabs(num(app, 1) - 7200.0) < 1.0);
    assert_true(num(app, 2) <= 0.1 && num(app, 3) > 0.1 && num(app, 3) <= 1.0);
    /* jobs: 11 in two kinds, one failed */
    json_t *jobs = section(rep, "compilation_performance");
    json_t *compile = row(table(jobs, "Jobs by kind"), "compile");
    assert_int_equal((int)num(compile, 1), 10);
    assert_int_equal((int)num(compile, 3), 1);
    assert_true(fabs(num(compile, 5) - 90.0) < 0.01);
    assert_true(fabs(num(compile, 8) - 180.0) < 0.01); /* the failed job ran 3 minutes */
    json_t *failed = table(jobs, "Failed and abandoned jobs (newest first)");
    assert_int_equal(json_array_size(json_object_get(failed, "rows")), 1);
    /* errors: fired warning, escalated to critical, resolved */
    json_t *errs = section(rep, "error_analysis");
    json_t *sev = table(errs, "Alerts fired by severity");
    assert_int_equal((int)num(row(sev, "warning"), 1), 1);
    assert_int_equal((int)num(row(sev, "critical"), 1), 1);
    assert_int_equal((int)num(row(sev, "resolved"), 1), 1);
    json_t *rule = row(table(errs, "Alerts by rule"), "temp for alice@example.com");
    assert_string_equal(json_string_value(json_array_get(rule, 4)), "critical");
    /* trends: CPU rises 40 points in 2 h = 480 per day */
    json_t *tr = row(table(section(rep, "trend_analysis"), "Linear trends (forecast: one period "
                                                           "past the end)"),
                     "CPU usage");
    assert_true(fabs(num(tr, 4) - 480.0) < 5.0);
    assert_true(fabs(num(tr, 3) - 50.0) < 1.0);
    json_decref(rep);
}

static void test_masking_every_format(void **state)
{
    static const omega_report_format_t fmts[] = {OMEGA_REPORT_JSON, OMEGA_REPORT_CSV,
                                                 OMEGA_REPORT_HTML, OMEGA_REPORT_PDF};
    for (int mask = 0; mask <= 1; mask++)
        for (size_t f = 0; f < 4; f++) {
            size_t len;
            char *out = gen(fmts[f], mask, OMEGA_REPORT_SEC_ALL, &len);
            char *text = out;
            if (fmts[f] == OMEGA_REPORT_PDF) {
                check_pdf_shape(out, len);
                text = pdf_text(out, len);
                free(out);
            }
            for (size_t i = 0; i < N_PII; i++) {
                int raw = strstr(text, pii[i].raw) != NULL;
                int masked = strstr(text, pii[i].masked) != NULL;
                if (raw != !mask || masked != mask)
                    fail_msg("%s, masking %s: '%s' %s, '%s' %s", omega_report_format_name(fmts[f]),
                             mask ? "on" : "off", pii[i].raw, raw ? "present" : "absent",
                             pii[i].masked, masked ? "present" : "absent");
            }
            free(text);
        }
}

static void test_csv_defused_and_rfc4180(void **state)
{
    size_t len;
    char *csv =
        gen(OMEGA_REPORT_CSV, 0, OMEGA_REPORT_SEC_COMPILATION | OMEGA_REPORT_SEC_ERRORS, &len);
    /* the job kind "=HYPERLINK(...)" is a quoted text with a leading apostrophe */
    assert_non_null(strstr(csv, ",\"'=HYPERLINK(\"\"http://x\"\")\","));
    assert_null(strstr(csv, ",=HYPERLINK"));
    /* the alert message with a comma-free text and markup is kept as text */
    assert_non_null(strstr(csv, "call +44 20 7946 0958 <b>now</b>"));
    /* every line ends in CRLF; header rows name the section and table */
    for (const char *p = strchr(csv, '\n'); p; p = strchr(p + 1, '\n'))
        assert_true(p > csv && p[-1] == '\r');
    assert_non_null(strstr(csv, "section,table,kind,jobs,ok,failed,abandoned,success %,"));
    assert_non_null(strstr(csv, "section,chart,series,time,value\r\n"));
    free(csv);
}

static void test_html_inert(void **state)
{
    size_t len;
    char *html = gen(OMEGA_REPORT_HTML, 0, OMEGA_REPORT_SEC_ALL, &len);
    assert_non_null(strstr(html, "<!DOCTYPE html>"));
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<b>now"));
    assert_non_null(strstr(html, "&lt;b&gt;now&lt;/b&gt;"));
    assert_non_null(strstr(html, "<svg"));
    assert_non_null(strstr(html, "<polyline"));
    assert_null(strstr(html, "http://x\"")); /* the kind's quotes are escaped too */
    free(html);
}

static void test_pdf_content(void **state)
{
    size_t len;
    char *pdf = gen(OMEGA_REPORT_PDF, 0, OMEGA_REPORT_SEC_ALL, &len);
    check_pdf_shape(pdf, len);
    char *text = pdf_text(pdf, len);
    free(pdf);
    static const char *const want[] = {"custom report",
                                       "Period:",
                                       "Compilation performance",
                                       "System resources",
                                       "Application performance",
                                       "Error analysis",
                                       "Trend analysis",
                                       "Resource usage",
                                       "CPU usage",
                                       "Jobs by kind",
                                       "compile"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(text, want[i]))
            fail_msg("PDF text lacks '%s'", want[i]);
    free(text);
}

/* ---- empty data, bounds ---- */

static void test_empty_store_every_format(void **state)
{
    static const omega_report_format_t fmts[] = {OMEGA_REPORT_JSON, OMEGA_REPORT_CSV,
                                                 OMEGA_REPORT_HTML, OMEGA_REPORT_PDF};
    for (size_t f = 0; f < 4; f++) {
        size_t len;
        char *out = gen(fmts[f], 1, OMEGA_REPORT_SEC_ALL, &len);
        char *text = out;
        if (fmts[f] == OMEGA_REPORT_PDF) {
            check_pdf_shape(out, len);
            text = pdf_text(out, len);
            free(out);
        }
        /* every one of the five sections says so */
        size_t n = 0;
        for (const char *p = text; (p = strstr(p, "no data in this range")); p++)
            n++;
        if (n < 5)
            fail_msg("%s: %zu 'no data' notes", omega_report_format_name(fmts[f]), n);
        free(text);
    }
    /* and without alerting or jobs */
    omega_report_sources_t src = {.db = F.db};
    omega_report_request_t req = {OMEGA_REPORT_DAILY, F.t0, F.t0 + DAY, OMEGA_REPORT_SEC_ALL,
                                  OMEGA_REPORT_JSON,  0};
    char *out = NULL;
    size_t len;
    assert_int_equal(omega_report_generate(&src, &req, &out, &len, NULL), 0);
    assert_non_null(strstr(out, "alerting is not running"));
    assert_non_null(strstr(out, "job tracking is not running"));
    free(out);
}

static void test_long_period_bounded(void **state)
{
    /* a year of hourly samples and 250 failed jobs */
    omega_label_t cpu = {"cpu", "total"};
    int64_t start = F.t0 - 365 * DAY;
    for (int64_t t = start; t < F.t0; t += HOUR)
        put("system_cpu_usage_percent", &cpu, 1, t, (double)((t / HOUR) % 100));
    for (int k = 0; k < 250; k++) {
        char id[32];
        snprintf(id, sizeof(id), "j%d", k);
        reporttest_job(&F, id, "{\"kind\":\"link\"}", start + k * HOUR, start + k * HOUR + 1000,
                       "failed");
    }
    omega_report_sources_t src = {.db = F.db, .alerts = F.alerts, .analytics = F.ana};
    omega_report_request_t req = {OMEGA_REPORT_CUSTOM, start, F.t0, OMEGA_REPORT_SEC_ALL,
                                  OMEGA_REPORT_JSON,   0};
    char *out = NULL;
    size_t len;
    omega_error_t err = {0};
    assert_int_equal(omega_report_generate(&src, &req, &out, &len, &err), 0);
    json_t *rep = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(rep);
    assert_true(json_integer_value(json_object_get(rep, "step_seconds")) >= 86400);
    json_t *sys = section(rep, "system_resources");
    json_t *ch = json_array_get(json_object_get(sys, "charts"), 0);
    json_t *pts = json_object_get(json_array_get(json_object_get(ch, "series"), 0), "points");
    assert_true(json_array_size(pts) > 100 && json_array_size(pts) <= 300);
    json_t *failed =
        table(section(rep, "compilation_performance"), "Failed and abandoned jobs (newest first)");
    assert_int_equal(json_array_size(json_object_get(failed, "rows")), 50);
    assert_int_equal(json_integer_value(json_object_get(failed, "total_rows")), 250);
    assert_true(json_is_true(json_object_get(failed, "truncated")));
    json_decref(rep);
    /* the same year as a PDF stays a small file */
    req.format = OMEGA_REPORT_PDF;
    assert_int_equal(omega_report_generate(&src, &req, &out, &len, &err), 0);
    check_pdf_shape(out, len);
    assert_true(len < 2 * 1024 * 1024);
    free(out);
}

static void test_generate_rejects_bad_requests(void **state)
{
    omega_report_sources_t src = {.db = F.db};
    static const omega_report_request_t bad[] = {
        {OMEGA_REPORT_CUSTOM, 1000, 1000, OMEGA_REPORT_SEC_ALL, OMEGA_REPORT_JSON, 0},
        {OMEGA_REPORT_CUSTOM, 0, OMEGA_REPORT_MAX_RANGE_MS + 1, OMEGA_REPORT_SEC_ALL,
         OMEGA_REPORT_JSON, 0},
        {OMEGA_REPORT_CUSTOM, 0, 1000, 0, OMEGA_REPORT_JSON, 0},
        {OMEGA_REPORT_CUSTOM, 0, 1000, 64, OMEGA_REPORT_JSON, 0},
        {(omega_report_type_t)9, 0, 1000, 1, OMEGA_REPORT_JSON, 0},
        {OMEGA_REPORT_CUSTOM, 0, 1000, 1, (omega_report_format_t)9, 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *out = (char *)1;
        size_t len = 1;
        omega_error_t err = {0};
        assert_int_equal(omega_report_generate(&src, &bad[i], &out, &len, &err), OMEGA_EINVAL);
        assert_null(out);
        assert_true(err.message[0] != '\0');
    }
    omega_report_sources_t none = {0};
    char *out;
    size_t len;
    assert_int_equal(omega_report_generate(&none, &bad[0], &out, &len, NULL), OMEGA_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_good),
        cmocka_unit_test(test_request_bad),
        cmocka_unit_test_setup_teardown(test_json_over_real_data, setup_data, teardown),
        cmocka_unit_test_setup_teardown(test_masking_every_format, setup_data, teardown),
        cmocka_unit_test_setup_teardown(test_csv_defused_and_rfc4180, setup_data, teardown),
        cmocka_unit_test_setup_teardown(test_html_inert, setup_data, teardown),
        cmocka_unit_test_setup_teardown(test_pdf_content, setup_data, teardown),
        cmocka_unit_test_setup_teardown(test_empty_store_every_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_period_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generate_rejects_bad_requests, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    omega_report_cleanup();
    return failed;
}
