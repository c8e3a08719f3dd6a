/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the config module: defaults against the specification, every kind of bad input
 * with its exact message and position, environment overrides, exports and the generated
 * documentation. White-box tests of the scanner and checks use config/config_int.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../config/config_int.h"
#include "omega/config.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------------------------- */

#define MAX_DIAGS 128

typedef struct diags {
    char lines[MAX_DIAGS][1024]; /* "source:line:column: path: message" */
    int n;                       /* lines kept */
} diags_t;

static void collect(void *ctx, const char *source, int line, int column, const char *path,
                    const char *message)
{
    diags_t *d = ctx;
    if (d->n < MAX_DIAGS)
        snprintf(d->lines[d->n++], sizeof(d->lines[0]), "%s:%d:%d: %s: %s", source, line, column,
                 path, message);
}

static diags_t *diags_new(void)
{
    return calloc(1, sizeof(diags_t));
}

static int load(const char *json, diags_t *d, omega_config_t **out)
{
    return omega_config_load_string(json, strlen(json), "t.json", collect, d, out);
}

/* Column (1-based) of the first occurrence of "key" (quoted) in a one-line document. */
static int col_of(const char *json, const char *key)
{
    char quoted[256];
    snprintf(quoted, sizeof(quoted), "\"%s\"", key);
    const char *p = strstr(json, quoted);
    assert_non_null(p);
    return (int)(p - json) + 1;
}

/* A one-line document with exactly one problem, at the key `key` (NULL: 1:1). */
static void expect_problem(const char *json, const char *key, const char *path, const char *message)
{
    diags_t *d = diags_new();
    omega_config_t *cfg = (omega_config_t *)1;
    char want[1024];
    assert_int_equal(load(json, d, &cfg), OMEGA_EINVAL);
    assert_null(cfg);
    snprintf(want, sizeof(want), "t.json:1:%d: %s: %s", key ? col_of(json, key) : 1, path, message);
    if (d->n != 1 || strcmp(d->lines[0], want) != 0) {
        for (int i = 0; i < d->n; i++)
            print_error("got:  %s\n", d->lines[i]);
        print_error("want: %s\n", want);
    }
    assert_int_equal(d->n, 1);
    assert_string_equal(d->lines[0], want);
    free(d);
}

static omega_config_t *load_ok(const char *json)
{
    diags_t *d = diags_new();
    omega_config_t *cfg = NULL;
    int rc = load(json, d, &cfg);
    for (int i = 0; i < d->n; i++)
        print_error("unexpected: %s\n", d->lines[i]);
    assert_int_equal(rc, 0);
    assert_int_equal(d->n, 0);
    assert_non_null(cfg);
    free(d);
    return cfg;
}

/* Run --validate-config on path; returns the exit code and the output (malloc'd). */
static int validate(const char *path, char **output)
{
    size_t len = 0;
    FILE *out = open_memstream(output, &len);
    assert_non_null(out);
    int rc = omega_config_validate_file(path, out);
    fclose(out);
    return rc;
}

static const char *fixture(const char *name, char *buf, size_t len)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "tests/fixtures/config/%s", name);
    return testutil_source_path(rel, buf, len);
}

/* The value at a dotted path of a JSON tree (no arrays). */
static json_t *json_at(json_t *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *v = root;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = json_object_get(v, k);
    return v;
}

/* ---- defaults --------------------------------------------------------------------------- */

/* Print the leaves where two documents differ. */
static void print_differences(json_t *want, json_t *got, const char *path)
{
    const char *k;
    json_t *v;
    char sub[512];
    if (json_is_object(want) && json_is_object(got)) {
        json_object_foreach(want, k, v)
        {
            snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", k);
            print_differences(v, json_object_get(got, k), sub);
        }
        json_object_foreach(got, k, v)
        {
            if (!json_object_get(want, k))
                print_error("unexpected %s%s%s\n", path, *path ? "." : "", k);
        }
    } else if (!got || !json_equal(want, got)) {
        print_error("default of %s differs\n", path);
    }
}

static void test_defaults_match_specification(void **state)
{
    (void)state;
    char path[1024];
    /* The specification's defaults (and ours), written out by hand as the export shows them. */
    json_t *want = json_load_file(fixture("defaults.json", path, sizeof(path)), 0, NULL);
    assert_non_null(want);
    omega_config_t *cfg = omega_config_create_default();
    char *text = omega_config_to_json(cfg, 0);
    json_t *got = json_loads(text, 0, NULL);
    assert_non_null(got);
    if (!json_equal(want, got))
        print_differences(want, got, "");
    assert_true(json_equal(want, got));
    json_decref(want);
    json_decref(got);
    free(text);
    /* The struct fields the server reads. */
    assert_string_equal(cfg->server.listen, "127.0.0.1:8080");
    assert_int_equal(cfg->server.max_body_size, 16u << 20);
    assert_int_equal(cfg->storage.out_of_order_window_ms, 3600000);
    assert_string_equal(cfg->storage.sync_policy, "always");
    assert_int_equal(cfg->system_monitor.monitoring_interval_ms, 5000);
    assert_int_equal(cfg->retention.raw_data_retention_ms, 86400000);
    assert_int_equal(cfg->security.session_ttl_ms, 12 * 3600000);
    assert_int_equal(cfg->performance_monitor.storage_configuration.max_storage_size,
                     10737418240ULL);
    assert_int_equal(omega_config_log_level(cfg), OMEGA_LOG_INFO);
    assert_int_equal(cfg->notification_templates.n, 3);
    const omega_config_template_t *t = omega_config_template_find(cfg, "system");
    assert_non_null(t);
    assert_string_equal(t->subject, "OMEGA System Alert - {metric_name}");
    assert_null(omega_config_template_find(cfg, "nope"));
    omega_config_destroy(cfg);
}

static void test_empty_object_gives_defaults(void **state)
{
    (void)state;
    omega_config_t *def = omega_config_create_default();
    omega_config_t *cfg = load_ok("{}");
    assert_true(omega_config_equal(def, cfg));
    cfg->server.worker_threads++;
    assert_false(omega_config_equal(def, cfg));
    omega_config_destroy(cfg);
    omega_config_destroy(def);
    omega_config_destroy(NULL);
}

static void test_example_file_is_complete_and_valid(void **state)
{
    (void)state;
    char path[1024], *out = NULL;
    testutil_source_path("omega-monitor.example.json", path, sizeof(path));
    assert_int_equal(validate(path, &out), 0);
    assert_string_equal(out, "");
    free(out);
    json_t *root = json_load_file(path, 0, NULL);
    assert_non_null(root);
    for (size_t i = 0; i < cfg_n_fields; i++) {
        if (!json_at(root, cfg_fields[i].path))
            print_error("example lacks %s\n", cfg_fields[i].path);
        assert_non_null(json_at(root, cfg_fields[i].path));
    }
    json_decref(root);
    omega_config_t *cfg = NULL;
    assert_int_equal(omega_config_load_file(path, NULL, NULL, &cfg), 0);
    assert_int_equal(cfg->server.worker_threads, 4);
    assert_int_equal(cfg->storage.block_cache_size, 128u << 20);
    assert_int_equal(cfg->alerting.notification_channels.email_recipients.n, 2);
    assert_int_equal(cfg->notification_templates.n, 4);
    const omega_config_template_t *t = omega_config_template_find(cfg, "system");
    assert_int_equal(t->severity_levels.n, 2);
    assert_non_null(strstr(t->body, "System Health Alert")); /* kept from the built-in */
    omega_config_destroy(cfg);
}

/* ---- error kinds ------------------------------------------------------------------------ */

static void test_unknown_key_suggests(void **state)
{
    (void)state;
    expect_problem("{\"system_monitor\": {\"monitoring_intervl\": 5000}}", "monitoring_intervl",
                   "system_monitor.monitoring_intervl",
                   "unknown key; did you mean 'monitoring_interval'?");
    expect_problem("{\"Server\": {}}", "Server", "Server", "unknown key; did you mean 'server'?");
    expect_problem("{\"server\": {\"tls\": {\"enable\": true}}}", "enable", "server.tls.enable",
                   "unknown key; did you mean 'enabled'?");
    expect_problem("{\"telemetry\": {\"x\": 1}}", "telemetry", "telemetry", "unknown key");
    expect_problem("{\"server\": {\"tls.enabled\": true}}", "tls.enabled", "server.tls.enabled",
                   "unknown key");
}

static void test_wrong_type_for_each_type(void **state)
{
    (void)state;
    expect_problem("{\"server\": {\"tls\": {\"enabled\": \"yes\"}}}", "enabled",
                   "server.tls.enabled", "expected boolean, got string");
    expect_problem("{\"server\": {\"worker_threads\": \"4\"}}", "worker_threads",
                   "server.worker_threads", "expected integer, got string");
    expect_problem("{\"server\": {\"worker_threads\": 2.5}}", "worker_threads",
                   "server.worker_threads", "expected integer, got 2.5");
    expect_problem("{\"application_monitor\": {\"sampling_rate\": \"10%\"}}", "sampling_rate",
                   "application_monitor.sampling_rate", "expected number, got string");
    expect_problem("{\"server\": {\"data_dir\": 5}}", "data_dir", "server.data_dir",
                   "expected string, got integer");
    expect_problem("{\"server\": {\"log_level\": 3}}", "log_level", "server.log_level",
                   "expected string, got integer");
    expect_problem("{\"system_monitor\": {\"monitoring_interval\": true}}", "monitoring_interval",
                   "system_monitor.monitoring_interval",
                   "expected duration (number of milliseconds or string like \"5s\"), got boolean");
    expect_problem("{\"security\": {\"session_ttl\": null}}", "session_ttl", "security.session_ttl",
                   "expected duration (number of seconds or string like \"5m\"), got null");
    expect_problem("{\"server\": {\"max_body_size\": [1]}}", "max_body_size",
                   "server.max_body_size",
                   "expected size (number of bytes or string like \"512MiB\"), got array");
    expect_problem("{\"system_monitor\": {\"probe_targets\": \"db:5432\"}}", "probe_targets",
                   "system_monitor.probe_targets", "expected array of strings, got string");
    expect_problem("{\"reports\": {\"export_formats\": {\"pdf\": true}}}", "export_formats",
                   "reports.export_formats", "expected array of strings, got object");
    expect_problem("{\"notification_templates\": [\"x\"]}", "notification_templates",
                   "notification_templates", "expected object, got array");
    expect_problem("{\"server\": \"localhost\"}", "server", "server",
                   "expected object, got string");
    expect_problem("{\"notification_templates\": {\"system\": \"x\"}}", "system",
                   "notification_templates.system",
                   "expected object {subject, body, severity_levels}, got string");
    expect_problem("{\"notification_templates\": {\"system\": {\"subject\": 1}}}", "subject",
                   "notification_templates.system.subject", "expected string, got integer");
    /* An array item is located at the item itself. */
    const char *doc = "{\"reports\": {\"recipients\": [\"a@example.org\", 7]}}";
    diags_t *d = diags_new();
    omega_config_t *cfg = NULL;
    char want[256];
    assert_int_equal(load(doc, d, &cfg), OMEGA_EINVAL);
    snprintf(want, sizeof(want), "t.json:1:%d: reports.recipients[1]: expected string, got integer",
             (int)(strchr(doc, '7') - doc) + 1);
    assert_int_equal(d->n, 1);
    assert_string_equal(d->lines[0], want);
    free(d);
}

static void test_out_of_range_names_range_and_unit(void **state)
{
    (void)state;
    expect_problem("{\"server\": {\"worker_threads\": 65}}", "worker_threads",
                   "server.worker_threads",
                   "out of range: must be between 1 and 64 threads, got 65 threads");
    expect_problem("{\"system_monitor\": {\"system_thresholds\": {\"cpu_critical\": 101}}}",
                   "cpu_critical", "system_monitor.system_thresholds.cpu_critical",
                   "out of range: must be between 0 and 100 %, got 101 %");
    expect_problem("{\"security\": {\"session_ttl\": \"31d\"}}", "session_ttl",
                   "security.session_ttl", "out of range: must be between 1m and 30d, got 31d");
    expect_problem("{\"performance_monitor\": {\"alert_configurations\": {\"alert_cooldown\": "
                   "-5}}}",
                   "alert_cooldown", "performance_monitor.alert_configurations.alert_cooldown",
                   "out of range: must be between 0s and 7d, got -5s");
    expect_problem("{\"server\": {\"max_body_size\": \"2GiB\"}}", "max_body_size",
                   "server.max_body_size", "out of range: must be between 1KiB and 1GiB, got 2GiB");
    expect_problem("{\"server\": {\"max_body_size\": 100}}", "max_body_size",
                   "server.max_body_size",
                   "out of range: must be between 1KiB and 1GiB, got 100 bytes");
    expect_problem("{\"retention\": {\"compression_settings\": {\"compression_ratio\": 0}}}",
                   "compression_ratio", "retention.compression_settings.compression_ratio",
                   "out of range: must be greater than 0 and at most 1, got 0");
    expect_problem("{\"storage\": {\"chunk_max_samples\": 15}}", "chunk_max_samples",
                   "storage.chunk_max_samples",
                   "out of range: must be between 16 and 65535 samples, got 15 samples");
    expect_problem("{\"server\": {\"data_dir\": \"\"}}", "data_dir", "server.data_dir",
                   "must not be empty");
    /* 257 probe targets: one over the limit. */
    char *doc = malloc(16384);
    size_t o = (size_t)sprintf(doc, "{\"system_monitor\": {\"probe_targets\": [");
    for (int i = 0; i < 257; i++)
        o += (size_t)sprintf(doc + o, "%s\"h%d:80\"", i ? "," : "", i);
    sprintf(doc + o, "]}}");
    expect_problem(doc, "probe_targets", "system_monitor.probe_targets",
                   "must have 0 to 256 items, got 257");
    free(doc);
}

static void test_bad_enum_lists_allowed_values(void **state)
{
    (void)state;
    expect_problem("{\"server\": {\"log_level\": \"verbose\"}}", "log_level", "server.log_level",
                   "invalid value \"verbose\"; allowed: error, warn, info, debug");
    expect_problem("{\"security\": {\"encryption_algorithm\": \"AES-128-CBC\"}}",
                   "encryption_algorithm", "security.encryption_algorithm",
                   "invalid value \"AES-128-CBC\"; allowed: AES-256-GCM");
    const char *doc = "{\"security\": {\"audit_logging\": {\"audit_events\": [\"access\", "
                      "\"delete\"]}}}";
    diags_t *d = diags_new();
    omega_config_t *cfg = NULL;
    assert_int_equal(load(doc, d, &cfg), OMEGA_EINVAL);
    assert_int_equal(d->n, 1);
    char want[256];
    snprintf(want, sizeof(want),
             "t.json:1:%d: security.audit_logging.audit_events[1]: invalid "
             "value \"delete\"; allowed: access, modification, deletion, export",
             col_of(doc, "delete"));
    assert_string_equal(d->lines[0], want);
    free(d);
    doc = "{\"reports\": {\"report_types\": [\"daily\", \"daily\"]}}";
    d = diags_new();
    assert_int_equal(load(doc, d, &cfg), OMEGA_EINVAL);
    assert_int_equal(d->n, 1);
    snprintf(want, sizeof(want), "t.json:1:%d: reports.report_types[1]: duplicate value \"daily\"",
             (int)(strstr(strstr(doc, "\"daily\"") + 1, "\"daily\"") - doc) + 1);
    assert_string_equal(d->lines[0], want);
    free(d);
}

static void test_bad_duration_and_size(void **state)
{
    (void)state;
    expect_problem("{\"storage\": {\"chunk_max_age\": \"5 minutes\"}}", "chunk_max_age",
                   "storage.chunk_max_age",
                   "invalid duration \"5 minutes\"; use a number of "
                   "seconds or a string such as \"30s\", \"5m\", \"1h30m\"");
    expect_problem("{\"system_monitor\": {\"monitoring_interval\": \"1h30\"}}",
                   "monitoring_interval", "system_monitor.monitoring_interval",
                   "invalid duration \"1h30\"; use a number of milliseconds or a string such as "
                   "\"30s\", \"5m\", \"1h30m\"");
    expect_problem("{\"storage\": {\"block_cache_size\": \"lots\"}}", "block_cache_size",
                   "storage.block_cache_size",
                   "invalid size \"lots\"; use a number of bytes or a "
                   "string such as \"512MiB\" or \"10GB\"");
    expect_problem("{\"storage\": {\"block_cache_size\": \"-1GiB\"}}", "block_cache_size",
                   "storage.block_cache_size",
                   "invalid size \"-1GiB\"; use a number of bytes or "
                   "a string such as \"512MiB\" or \"10GB\"");
    /* Strings and numbers in the field's unit both work. */
    omega_config_t *cfg = load_ok("{\"storage\": {\"chunk_max_age\": \"1h30m\", "
                                  "\"block_cache_size\": \"10GB\", \"out_of_order_window\": 90},"
                                  " \"system_monitor\": {\"monitoring_interval\": \"2s\"}}");
    assert_int_equal(cfg->storage.chunk_max_age_ms, 5400000);
    assert_int_equal(cfg->storage.block_cache_size, 10000000000ULL);
    assert_int_equal(cfg->storage.out_of_order_window_ms, 90000);
    assert_int_equal(cfg->system_monitor.monitoring_interval_ms, 2000);
    omega_config_destroy(cfg);
}

static void test_bad_regex_names_index(void **state)
{
    (void)state;
    const char *doc = "{\"system_monitor\": {\"process_filters\": {\"custom_process_patterns\": "
                      "[\"ok.*\", \"bad(\", \"[z-a]\"]}}}";
    diags_t *d = diags_new();
    omega_config_t *cfg = NULL;
    char want[512];
    assert_int_equal(load(doc, d, &cfg), OMEGA_EINVAL);
    assert_int_equal(d->n, 2);
    snprintf(want, sizeof(want),
             "t.json:1:%d: system_monitor.process_filters."
             "custom_process_patterns[1]: invalid regular expression: ",
             col_of(doc, "bad("));
    assert_memory_equal(d->lines[0], want, strlen(want));
    snprintf(want, sizeof(want),
             "t.json:1:%d: system_monitor.process_filters."
             "custom_process_patterns[2]: invalid regular expression: ",
             col_of(doc, "[z-a]"));
    assert_memory_equal(d->lines[1], want, strlen(want));
    free(d);
}

static void test_format_checks(void **state)
{
    (void)state;
    /* Values each format check accepts, then values it refuses. */
    static const struct {
        const cfg_check_t *check;
        const char *good[6], *bad[12];
    } cases[] = {
        {&cfg_check_hostport,
         {"127.0.0.1:8080", "[::1]:80", "localhost:1", "db.example.com:65535"},
         {"::1:80", "host", "host:0", "host:65536", "-bad.com:80", "256.1.1.1:80", "[::1]", ":80",
          "a..b:80", "[zz]:80"}},
        {&cfg_check_url,
         {"https://a.example/c?x=1", "http://[::1]:8080/x", "http://u:p@host:99/"},
         {"ftp://x.org", "https://", "https://a b.org", "https://host:99999/", "https://h_st/"}},
        {&cfg_check_email,
         {"a.b+c@example.org"},
         {"a@b", "@x.org", "a..b@x.org", "a@-x.org", "a b@x.org"}},
        {&cfg_check_e164, {"+1234567890"}, {"1234567890", "+0123", "+12 34", "+1234567890123456"}},
        {&cfg_check_cron,
         {"0 6 * * *", "*/15 0-23/2 1,15 1-12 0-7", "", "5/10 * * * *"},
         {"0 6 * *", "0 6 * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *",
          "* * * * 8", "5-1 * * * *", "*/0 * * * *", "a * * * *", "1,,2 * * * *"}},
        {&cfg_check_daily, {"23:59"}, {"24:00", "6:00", "12:60"}},
        {&cfg_check_weekly, {"Sunday 23:00"}, {"monday 6:00", "funday 06:00"}},
        {&cfg_check_monthly,
         {"2nd 01:00", "3rd 00:00", "11th 00:00", "21st 00:00", "31st 23:59"},
         {"2st 06:00", "32nd 00:00", "0th 00:00", "11st 00:00", "01st 00:00"}},
        {&cfg_check_regex, {"^(a|b)+$"}, {"a("}},
        {&cfg_check_label_name,
         {"note", "_comment", "Free_Text_2", "a", "_"},
         {"", "2nd", "__name__", "__x", "user-name", "note.text", "é", "a b", "a\"b", "<b>"}},
    };
    char msg[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t j = 0; j < 18; j++) {
            int ok = j < 6;
            const char *value = ok ? cases[i].good[j] : cases[i].bad[j - 6];
            if (!value)
                continue;
            msg[0] = '\0';
            int rc = cases[i].check->fn(value, msg, sizeof(msg));
            if ((rc == 0) != ok)
                print_error("%s check of \"%s\": rc %d (%s)\n", cases[i].check->name, value, rc,
                            msg);
            assert_int_equal(rc == 0, ok);
            assert_true(rc == 0 || msg[0] != '\0'); /* a rejection always says why */
        }
    }
    expect_problem("{\"server\": {\"listen\": \"localhost:99999\"}}", "listen", "server.listen",
                   "port must be a number 1-65535");
    /* free_text_labels entries are label names; the error names the entry and its value */
    expect_problem("{\"security\": {\"privacy_settings\": {\"free_text_labels\": [\"note\", "
                   "\"user-name\"]}}}",
                   "user-name", "security.privacy_settings.free_text_labels[1]",
                   "\"user-name\" is not a label name: use letters, digits and '_', not starting "
                   "with a digit");
    expect_problem("{\"security\": {\"privacy_settings\": {\"free_text_labels\": "
                   "[\"__name__\"]}}}",
                   "__name__", "security.privacy_settings.free_text_labels[0]",
                   "\"__name__\" is not a label name: names starting with \"__\" are reserved");
    expect_problem("{\"reports\": {\"scheduling\": {\"custom_schedule\": \"0 24 * * *\"}}}",
                   "custom_schedule", "reports.scheduling.custom_schedule",
                   "cron field 2 (hour) must be *, numbers 0-23, ranges a-b, lists a,b and "
                   "steps /n");
}

static void test_cross_field_rules(void **state)
{
    (void)state;
    expect_problem("{\"alerting\": {\"alert_thresholds\": {\"cpu_usage_warning\": 96}}}",
                   "cpu_usage_warning", "alerting.alert_thresholds.cpu_usage_warning",
                   "cpu_usage_warning (96 %) must be less than cpu_usage_critical (95 %)");
    expect_problem(
        "{\"alerting\": {\"alert_thresholds\": {\"compilation_time_warning\": \"5m\"}}}",
        "compilation_time_warning", "alerting.alert_thresholds.compilation_time_warning",
        "compilation_time_warning (5m) must be less than compilation_time_critical (5m)");
    /* The warning is not in the text: the nearest ancestor present gives the position. */
    expect_problem("{\"alerting\": {\"alert_thresholds\": {\"memory_usage_critical\": 60}}}",
                   "alert_thresholds", "alerting.alert_thresholds.memory_usage_warning",
                   "memory_usage_warning (70 %) must be less than memory_usage_critical (60 %)");
    /* A field that is itself wrong takes no part in rules. */
    expect_problem("{\"alerting\": {\"alert_thresholds\": {\"memory_usage_warning\": \"x\", "
                   "\"memory_usage_critical\": 60}}}",
                   "memory_usage_warning", "alerting.alert_thresholds.memory_usage_warning",
                   "expected number, got string");
    expect_problem("{\"retention\": {\"daily_aggregates_retention\": \"2d\"}}",
                   "daily_aggregates_retention", "retention.daily_aggregates_retention",
                   "daily_aggregates_retention (2d) must be at least hourly_aggregates_retention "
                   "(7d)");
    expect_problem("{\"server\": {\"tls\": {\"enabled\": true, \"cert\": \"/c.pem\"}}}", "tls",
                   "server.tls.key", "server.tls.key is required when server.tls.enabled is true");
    expect_problem("{\"security\": {\"access_control\": {\"viewer_roles\": [\"admin\"]}}}",
                   "viewer_roles", "security.access_control.viewer_roles",
                   "role \"admin\" is in both admin_roles and viewer_roles");
    expect_problem("{\"server\": {\"live_ping_interval\": \"1m\", \"live_idle_timeout\": 60}}",
                   "live_ping_interval", "server.live_ping_interval",
                   "live_ping_interval (1m) must be less than live_idle_timeout (1m)");
    char path[1024], *out = NULL, want[4096];
    fixture("cross-field.json", path, sizeof(path));
    assert_int_equal(validate(path, &out), 1);
    /* Rules are checked (and reported) in the order of docs/configuration.md. */
    snprintf(want, sizeof(want),
             "%s:3:5: alerting.alert_thresholds.memory_usage_warning: memory_usage_warning "
             "(70 %%) must be less than memory_usage_critical (60 %%)\n"
             "%s:4:7: alerting.alert_thresholds.cpu_usage_warning: cpu_usage_warning (96 %%) "
             "must be less than cpu_usage_critical (95 %%)\n"
             "%s:9:5: retention.daily_aggregates_retention: daily_aggregates_retention (2d) "
             "must be at least hourly_aggregates_retention (7d)\n",
             path, path, path);
    assert_string_equal(out, want);
    free(out);
}

static void test_templates_merge_and_validate(void **state)
{
    (void)state;
    omega_config_t *cfg = load_ok("{\"notification_templates\": {\"system\": {\"subject\": "
                                  "\"Host {metric_name} at {current_value}\"}, \"nightly\": "
                                  "{\"severity_levels\": [\"critical\"]}}}");
    assert_int_equal(cfg->notification_templates.n, 4);
    const omega_config_template_t *t = omega_config_template_find(cfg, "system");
    assert_string_equal(t->subject, "Host {metric_name} at {current_value}");
    assert_non_null(strstr(t->body, "Alert Type: System Health Alert"));
    t = omega_config_template_find(cfg, "nightly");
    assert_non_null(t);
    assert_string_equal(t->subject, "OMEGA Alert - {metric_name}");
    assert_int_equal(t->severity_levels.n, 1);
    assert_string_equal(t->severity_levels.items[0], "critical");
    omega_config_destroy(cfg);
    expect_problem("{\"notification_templates\": {\"system\": {\"severity_levels\": [\"info\"]}}}",
                   "info", "notification_templates.system.severity_levels[0]",
                   "invalid value \"info\"; allowed: warning, critical, emergency");
    expect_problem("{\"notification_templates\": {\"system\": {\"severity_levels\": []}}}",
                   "severity_levels", "notification_templates.system.severity_levels",
                   "must have 1 to 3 items, got 0");
    expect_problem("{\"notification_templates\": {\"system\": {\"subject\": \"a\\nb\"}}}",
                   "subject", "notification_templates.system.subject",
                   "the subject must be a single line");
    expect_problem("{\"notification_templates\": {\"system\": {\"body\": \"{metric}\"}}}", "body",
                   "notification_templates.system.body",
                   "unknown placeholder {metric}; known: metric_name, current_value, threshold, "
                   "severity, timestamp, description, recommended_action, labels, alert, status, "
                   "dashboard_url");
    expect_problem("{\"notification_templates\": {\"bad name!\": {}}}", "bad name!",
                   "notification_templates.bad name!",
                   "template names use letters, digits, '_', '-' and '.'");
    expect_problem("{\"notification_templates\": {\"system\": {\"bdy\": \"x\"}}}", "bdy",
                   "notification_templates.system.bdy", "unknown key; did you mean 'body'?");
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    const char *doc = "{\"server\": {\"listen\": \"a:1\", \"listen\": \"b:2\"}, \"reports\": "
                      "{\"recipients\": [{\"x\": 1, \"x\": 2}]}}";
    diags_t *d = diags_new();
    omega_config_t *cfg = NULL;
    char want[256];
    assert_int_equal(load(doc, d, &cfg), OMEGA_EINVAL);
    assert_int_equal(d->n, 1); /* jansson stops at the first duplicate */
    snprintf(want, sizeof(want), "t.json:1:%d: server.listen: duplicate key",
             (int)(strstr(strstr(doc, "\"listen\"") + 1, "\"listen\"") - doc) + 1);
    assert_string_equal(d->lines[0], want);
    const char *doc2 = "{\"reports\": {\"recipients\": [\"a@b.org\", {\"x\": 1, \"x\": 2}]}}";
    d->n = 0;
    assert_int_equal(load(doc2, d, &cfg), OMEGA_EINVAL);
    assert_int_equal(d->n, 1);
    snprintf(want, sizeof(want), "t.json:1:%d: reports.recipients[1].x: duplicate key",
             (int)(strstr(strstr(doc2, "\"x\"") + 1, "\"x\"") - doc2) + 1);
    assert_string_equal(d->lines[0], want);
    free(d);
}

static void test_document_level_errors(void **state)
{
    (void)state;
    char path[1024], *out = NULL, want[2048];
    static const struct {
        const char *file, *line;
        int rc;
    } cases[] = {
        {"duplicate-keys.json", "6:7: server.tls.enabled: duplicate key", 1},
        {"top-level-array.json", "1:1: (document): the top level must be an object, got array", 1},
        {"empty.json", "1:1: (document): empty document; write {} to use the built-in defaults", 1},
        {"truncated.json", "5:0: (document): invalid JSON: ", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fixture(cases[i].file, path, sizeof(path));
        assert_int_equal(validate(path, &out), cases[i].rc);
        snprintf(want, sizeof(want), "%s:%s", path, cases[i].line);
        /* jansson reports the end of a truncated file at its own column: compare the rest. */
        if (strstr(cases[i].file, "truncated")) {
            snprintf(want, sizeof(want), "%s:5:", path);
            assert_memory_equal(out, want, strlen(want));
            assert_non_null(strstr(out, ": (document): invalid JSON: "));
        } else {
            assert_string_equal(out, strcat(want, "\n"));
        }
        assert_int_equal(strchr(out, '\n') - out + 1, strlen(out)); /* exactly one line */
        free(out);
    }
    omega_config_t *cfg = (omega_config_t *)1;
    assert_int_equal(omega_config_load_string("5", 1, NULL, NULL, NULL, &cfg), OMEGA_EINVAL);
    assert_null(cfg);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    const char doc[] = "{\n  \"server\": {\"data_dir\": \"caf\xe9\"}\n}";
    diags_t *d = diags_new();
    omega_config_t *cfg = (omega_config_t *)1;
    assert_int_equal(omega_config_load_string(doc, strlen(doc), "u.json", collect, d, &cfg),
                     OMEGA_EINVAL);
    assert_null(cfg);
    assert_int_equal(d->n, 1);
    assert_string_equal(d->lines[0], "u.json:2:30: (document): invalid UTF-8 (byte 0xe9 at "
                                     "offset 31)");
    free(d);
    char *dir = testutil_mkdtemp("cfg-utf8"), path[1024], *out = NULL, want[1200];
    snprintf(path, sizeof(path), "%s/bad.json", dir);
    assert_int_equal(testutil_write_file(path, doc, strlen(doc)), 0);
    assert_int_equal(validate(path, &out), 2);
    snprintf(want, sizeof(want), "%s:2:30: (document): not UTF-8 text (byte 0xe9 at offset 31)\n",
             path);
    assert_string_equal(out, want);
    free(out);
    testutil_rmtree(dir);
    free(dir);
}

static void test_huge_document_refused(void **state)
{
    (void)state;
    size_t len = OMEGA_CONFIG_MAX_BYTES + 100;
    char *doc = malloc(len + 1);
    memset(doc, 'a', len);
    memcpy(doc, "{\"server\": {\"data_dir\": \"", 25);
    memcpy(doc + len - 4, "\"}}\n", 4);
    doc[len] = '\0';
    diags_t *d = diags_new();
    omega_config_t *cfg = (omega_config_t *)1;
    assert_int_equal(omega_config_load_string(doc, len, "big.json", collect, d, &cfg), OMEGA_E2BIG);
    assert_null(cfg);
    assert_int_equal(d->n, 1);
    assert_string_equal(d->lines[0], "big.json:0:0: (document): document is larger than 4 MiB "
                                     "(4194404 bytes); refusing to read it");
    char *dir = testutil_mkdtemp("cfg-big"), path[1024], *out = NULL, want[1200];
    snprintf(path, sizeof(path), "%s/big.json", dir);
    assert_int_equal(testutil_write_file(path, doc, len), 0);
    assert_int_equal(validate(path, &out), 2);
    snprintf(want, sizeof(want),
             "%s:0:0: (document): file is larger than 4 MiB (4194404 bytes); "
             "refusing to read it\n",
             path);
    assert_string_equal(out, want);
    free(out);
    d->n = 0;
    assert_int_equal(omega_config_load_file(path, collect, d, &cfg), OMEGA_E2BIG);
    assert_int_equal(d->n, 1);
    testutil_rmtree(dir);
    free(dir);
    free(d);
    free(doc);
}

static void test_deeply_nested_garbage(void **state)
{
    (void)state;
    size_t depth = 5000, o = 0;
    char *doc = malloc(2 * depth + 256);
    o = (size_t)sprintf(doc, "{\"server\": ");
    for (size_t i = 0; i < depth; i++)
        doc[o++] = '[';
    doc[o] = '\0';
    diags_t *d = diags_new();
    omega_config_t *cfg = NULL;
    assert_int_equal(load(doc, d, &cfg), OMEGA_EINVAL);
    assert_int_equal(d->n, 1);
    assert_non_null(strstr(d->lines[0], ": (document): invalid JSON: maximum parsing depth"));
    /* Deep but legal: skipped without recursion, later keys still located exactly. */
    depth = 1000;
    o = (size_t)sprintf(doc, "{\"zzz\": ");
    for (size_t i = 0; i < depth; i++)
        doc[o++] = '[';
    for (size_t i = 0; i < depth; i++)
        doc[o++] = ']';
    sprintf(doc + o, ", \"server\": {\"tls\": {\"enabled\": [[[{\"a\": [1]}]]]}}}");
    d->n = 0;
    assert_int_equal(load(doc, d, &cfg), OMEGA_EINVAL);
    assert_int_equal(d->n, 2);
    char want[256];
    snprintf(want, sizeof(want), "t.json:1:2: zzz: unknown key");
    assert_string_equal(d->lines[0], want);
    snprintf(want, sizeof(want), "t.json:1:%d: server.tls.enabled: expected boolean, got array",
             col_of(doc, "enabled"));
    assert_string_equal(d->lines[1], want);
    free(d);
    free(doc);
}

static void test_three_problems_fixture(void **state)
{
    (void)state;
    char path[1024], *out = NULL, want[4096];
    fixture("three-problems.json", path, sizeof(path));
    assert_int_equal(validate(path, &out), 1);
    snprintf(want, sizeof(want),
             "%s:4:5: server.worker_thread: unknown key; did you mean 'worker_threads'?\n"
             "%s:7:5: system_monitor.enable_cpu_monitoring: expected boolean, got string\n"
             "%s:8:5: system_monitor.monitoring_interval: out of range: must be between 100ms "
             "and 1h, got 50ms\n",
             path, path, path);
    assert_string_equal(out, want);
    free(out);
}

static void test_too_many_problems_are_capped(void **state)
{
    (void)state;
    char *doc = malloc(8192);
    size_t o = (size_t)sprintf(doc, "{");
    for (int i = 0; i < 150; i++)
        o += (size_t)sprintf(doc + o, "%s\"unknown%03d\": 1", i ? ", " : "", i);
    sprintf(doc + o, "}");
    diags_t *d = diags_new();
    omega_config_t *cfg = NULL;
    assert_int_equal(load(doc, d, &cfg), OMEGA_EINVAL);
    assert_int_equal(d->n, CFG_MAX_REPORTED + 1);
    assert_non_null(strstr(d->lines[99], "unknown099: unknown key"));
    assert_string_equal(d->lines[100], "t.json:0:0: (document): too many problems (150 in all); "
                                       "only the first 100 are shown");
    free(d);
    free(doc);
}

static void test_load_file_unreadable(void **state)
{
    (void)state;
    diags_t *d = diags_new();
    omega_config_t *cfg = (omega_config_t *)1;
    assert_int_equal(omega_config_load_file("/nonexistent/omega.json", collect, d, &cfg),
                     OMEGA_EIO);
    assert_null(cfg);
    assert_int_equal(d->n, 1);
    assert_string_equal(d->lines[0], "/nonexistent/omega.json:0:0: (document): cannot read "
                                     "file: No such file or directory");
    free(d);
    char *out = NULL, *dir = testutil_mkdtemp("cfg-dir"), want[1200];
    assert_int_equal(validate("/nonexistent/omega.json", &out), 2);
    assert_string_equal(out, "/nonexistent/omega.json:0:0: (document): cannot read file: No "
                             "such file or directory\n");
    free(out);
    assert_int_equal(validate(dir, &out), 2);
    snprintf(want, sizeof(want), "%s:0:0: (document): cannot read file: not a regular file\n", dir);
    assert_string_equal(out, want);
    free(out);
    testutil_rmtree(dir);
    free(dir);
}

/* ---- environment ------------------------------------------------------------------------ */

static void test_env_overrides_apply(void **state)
{
    (void)state;
    char *env[] = {"PATH=/usr/bin",
                   "OMEGA_SERVER_LISTEN=0.0.0.0:9090",
                   "OMEGA_SERVER_DATA_DIR=/srv/omega",
                   "OMEGA_SERVER_WORKER_THREADS=8",
                   "OMEGA_SERVER_MAX_BODY_SIZE=1MiB",
                   "OMEGA_SERVER_TLS_REDIRECT_HTTP=TRUE",
                   "OMEGA_SYSTEM_MONITOR_MONITORING_INTERVAL=2s",
                   "OMEGA_SYSTEM_MONITOR_ENABLE_CPU_MONITORING=0",
                   "OMEGA_SYSTEM_MONITOR_PROBE_TARGETS=",
                   "OMEGA_SECURITY_ACCESS_CONTROL_DEFAULT_ROLE=analyst",
                   "OMEGA_APPLICATION_MONITOR_SAMPLING_RATE=0.5",
                   "OMEGA_RETENTION_RAW_DATA_RETENTION=172800",
                   "OMEGA_REPORTS_RECIPIENTS= a@example.org , b@example.org ",
                   "OMEGA_CONFIG=/etc/omega-monitor.json",
                   "OMEGA_ADMIN_PASSWORD=hunter2",
                   "OMEGA_TEST_ANYTHING=1",
                   "OMEGA_NOTIFICATION_TEMPLATES=x",
                   "OMEGA_NOT_A_FIELD=1",
                   NULL};
    omega_config_t *cfg = omega_config_create_default();
    diags_t *d = diags_new();
    assert_int_equal(omega_config_apply_env(cfg, env, collect, d), 0);
    assert_int_equal(d->n, 0);
    assert_string_equal(cfg->server.listen, "0.0.0.0:9090");
    assert_string_equal(cfg->server.data_dir, "/srv/omega");
    assert_int_equal(cfg->server.worker_threads, 8);
    assert_int_equal(cfg->server.max_body_size, 1u << 20);
    assert_true(cfg->server.tls.redirect_http);
    assert_int_equal(cfg->system_monitor.monitoring_interval_ms, 2000);
    assert_false(cfg->system_monitor.enable_cpu_monitoring);
    assert_int_equal(cfg->system_monitor.probe_targets.n, 0);
    assert_string_equal(cfg->security.access_control.default_role, "analyst");
    assert_true(cfg->application_monitor.sampling_rate == 0.5);
    assert_int_equal(cfg->retention.raw_data_retention_ms, 172800000);
    assert_int_equal(cfg->reports.recipients.n, 2);
    assert_string_equal(cfg->reports.recipients.items[1], "b@example.org");
    assert_int_equal(omega_config_apply_env(cfg, NULL, collect, d), 0);
    free(d);
    omega_config_destroy(cfg);
}

static void test_env_bad_value_applies_nothing(void **state)
{
    (void)state;
    char *env[] = {"OMEGA_SERVER_LISTEN=0.0.0.0:9090", "OMEGA_SERVER_WORKER_THREADS=lots",
                   "OMEGA_SERVER_LOG_LEVEL=verbose",   "OMEGA_REPORTS_RECIPIENTS=a@example.org,bad",
                   "OMEGA_SERVER_TLS_ENABLED=yes",     NULL};
    omega_config_t *cfg = omega_config_create_default();
    omega_config_t *before = omega_config_create_default();
    diags_t *d = diags_new();
    assert_int_equal(omega_config_apply_env(cfg, env, collect, d), OMEGA_EINVAL);
    assert_true(omega_config_equal(cfg, before));
    assert_string_equal(cfg->server.listen, "127.0.0.1:8080");
    assert_int_equal(d->n, 4);
    assert_string_equal(d->lines[0], "env:0:0: OMEGA_SERVER_WORKER_THREADS: expected an integer, "
                                     "got \"lots\"");
    assert_string_equal(d->lines[1], "env:0:0: OMEGA_SERVER_LOG_LEVEL: invalid value \"verbose\"; "
                                     "allowed: error, warn, info, debug");
    assert_string_equal(d->lines[2], "env:0:0: OMEGA_REPORTS_RECIPIENTS[1]: not an e-mail "
                                     "address (expected local@domain)");
    assert_string_equal(d->lines[3], "env:0:0: OMEGA_SERVER_TLS_ENABLED: expected true, false, 1 "
                                     "or 0, got \"yes\"");
    /* A rule broken by one variable names that variable. */
    char *env2[] = {"OMEGA_ALERTING_ALERT_THRESHOLDS_CPU_USAGE_CRITICAL=50", NULL};
    d->n = 0;
    assert_int_equal(omega_config_apply_env(cfg, env2, collect, d), OMEGA_EINVAL);
    assert_int_equal(d->n, 1);
    assert_string_equal(d->lines[0], "env:0:0: OMEGA_ALERTING_ALERT_THRESHOLDS_CPU_USAGE_CRITICAL: "
                                     "cpu_usage_warning (80 %) must be less than "
                                     "cpu_usage_critical (50 %)");
    assert_true(omega_config_equal(cfg, before));
    free(d);
    omega_config_destroy(before);
    omega_config_destroy(cfg);
}

/* ---- exports ---------------------------------------------------------------------------- */

static void round_trip(omega_config_t *cfg)
{
    char *text = omega_config_to_json(cfg, 0);
    omega_config_t *again = load_ok(text);
    assert_true(omega_config_equal(cfg, again));
    char *text2 = omega_config_to_json(again, 0);
    assert_string_equal(text, text2);
    free(text2);
    free(text);
    omega_config_destroy(again);
}

static void test_to_json_round_trips(void **state)
{
    (void)state;
    char path[1024];
    omega_config_t *cfg = NULL;
    testutil_source_path("omega-monitor.example.json", path, sizeof(path));
    assert_int_equal(omega_config_load_file(path, NULL, NULL, &cfg), 0);
    round_trip(cfg);
    omega_config_destroy(cfg);
    cfg = load_ok("{\"storage\": {\"out_of_order_window\": \"1500ms\"}, \"application_monitor\": "
                  "{\"sampling_rate\": 0.123456789012345678}, \"performance_monitor\": "
                  "{\"performance_thresholds\": {\"cpu_usage\": 33.3}}, \"server\": "
                  "{\"data_dir\": \"d\\u00e9j\\u00e0 \\\"vu\\\"\\n\"}}");
    char *text = omega_config_to_json(cfg, 0);
    assert_non_null(strstr(text, "\"out_of_order_window\": 1.5,"));
    assert_non_null(strstr(text, "\"cpu_usage\": 33.299999999999997")); /* needs 17 digits */
    round_trip(cfg);
    free(text);
    omega_config_destroy(cfg);
    cfg = omega_config_create_default();
    text = omega_config_to_json(cfg, 1);
    assert_non_null(strstr(text, "\"sampling_rate\": 0.1,")); /* short when exact */
    assert_null(strstr(text, CFG_MASK));                      /* no field is secret */
    free(text);
    round_trip(cfg);
    omega_config_destroy(cfg);
}

typedef struct secret_doc {
    char *token;          /* secret */
    char *name;           /* plain */
    omega_strlist_t keys; /* secret list */
    char *unset;          /* secret, empty */
    bool flag;            /* secret bool (for messages) */
} secret_doc_t;

static const cfg_field_t secret_rows[] = {
    {.path = "token",
     .type = CFG_STRING,
     .offset = offsetof(secret_doc_t, token),
     .max = 64,
     .flags = CFG_SECRET},
    {.path = "name", .type = CFG_STRING, .offset = offsetof(secret_doc_t, name), .max = 64},
    {.path = "auth", .type = CFG_OBJECT},
    {.path = "auth.keys",
     .type = CFG_STRLIST,
     .offset = offsetof(secret_doc_t, keys),
     .max = 4,
     .flags = CFG_SECRET},
    {.path = "auth.unset",
     .type = CFG_STRING,
     .offset = offsetof(secret_doc_t, unset),
     .max = 64,
     .flags = CFG_SECRET},
    {.path = "auth.flag",
     .type = CFG_BOOL,
     .offset = offsetof(secret_doc_t, flag),
     .flags = CFG_SECRET},
};

static void test_secret_fields_are_masked(void **state)
{
    (void)state;
    char *keys[] = {"k1", "k2"};
    secret_doc_t doc = {"s3cr3t", "visible", {keys, 2}, "", true};
    size_t n = sizeof(secret_rows) / sizeof(secret_rows[0]);
    json_t *masked = cfg_export_tree(secret_rows, n, &doc, 1);
    char *text = json_dumps(masked, JSON_COMPACT);
    assert_string_equal(text, "{\"token\":\"********\",\"name\":\"visible\",\"auth\":{\"keys\":"
                              "[\"********\",\"********\"],\"unset\":\"\",\"flag\":true}}");
    free(text);
    json_decref(masked);
    json_t *plain = cfg_export_tree(secret_rows, n, &doc, 0);
    text = json_dumps(plain, JSON_COMPACT);
    assert_string_equal(text, "{\"token\":\"s3cr3t\",\"name\":\"visible\",\"auth\":{\"keys\":"
                              "[\"k1\",\"k2\"],\"unset\":\"\",\"flag\":true}}");
    free(text);
    json_decref(plain);
    /* Messages never quote a secret's text. */
    diags_t *d = diags_new();
    cfg_ctx_t c = {.source = "env", .diag = collect, .diag_ctx = d, .env_name = "OMEGA_FLAG"};
    assert_null(cfg_env_value(&c, &secret_rows[5], "hunter2"));
    assert_int_equal(d->n, 1);
    assert_string_equal(d->lines[0], "env:0:0: OMEGA_FLAG: expected true, false, 1 or 0, got "
                                     "\"********\"");
    free(d);
}

static void test_schema_lists_every_row(void **state)
{
    (void)state;
    char *text = omega_config_schema_json();
    json_t *root = json_loads(text, 0, NULL);
    assert_non_null(root);
    json_t *fields = json_object_get(root, "fields");
    assert_int_equal(json_array_size(fields), cfg_n_fields);
    assert_int_equal(json_array_size(json_object_get(root, "rules")), cfg_n_rules);
    for (size_t i = 0; i < cfg_n_fields; i++) {
        json_t *f = json_array_get(fields, i);
        const cfg_field_t *row = &cfg_fields[i];
        assert_string_equal(json_string_value(json_object_get(f, "path")), row->path);
        assert_string_equal(json_string_value(json_object_get(f, "type")),
                            cfg_type_name(row->type));
        assert_true(strlen(json_string_value(json_object_get(f, "help"))) > 5);
        assert_int_equal(json_object_get(f, "default") != NULL, row->type != CFG_OBJECT);
        /* Environment names are unique. */
        for (size_t j = 0; j < i && json_object_get(f, "env"); j++) {
            json_t *other = json_object_get(json_array_get(fields, j), "env");
            assert_false(other && json_equal(other, json_object_get(f, "env")));
        }
    }
    json_t *mi = NULL;
    for (size_t i = 0; i < cfg_n_fields; i++)
        if (strcmp(cfg_fields[i].path, "system_monitor.monitoring_interval") == 0)
            mi = json_array_get(fields, i);
    json_t *want = json_loads("{\"path\": \"system_monitor.monitoring_interval\", \"type\": "
                              "\"duration\", \"unit\": \"ms\", \"help\": \"Period of the system "
                              "collectors.\", \"default\": 5000, \"secret\": false, \"env\": "
                              "\"OMEGA_SYSTEM_MONITOR_MONITORING_INTERVAL\", \"min\": 100, "
                              "\"max\": 3600000}",
                              0, NULL);
    assert_true(json_equal(mi, want));
    json_decref(want);
    json_t *level = json_array_get(fields, 4);
    assert_string_equal(json_string_value(json_object_get(level, "path")), "server.log_level");
    want = json_loads("[\"error\", \"warn\", \"info\", \"debug\"]", 0, NULL);
    assert_true(json_equal(json_object_get(level, "values"), want));
    json_decref(want);
    json_decref(root);
    free(text);
}

static void test_markdown_matches_committed_docs(void **state)
{
    (void)state;
    char *gen = NULL, path[1024];
    size_t gen_len = 0, doc_len = 0;
    FILE *out = open_memstream(&gen, &gen_len);
    assert_int_equal(omega_config_write_markdown(out), 0);
    fclose(out);
    char *doc = testutil_read_file(
        testutil_source_path("docs/configuration.md", path, sizeof(path)), &doc_len);
    assert_non_null(doc);
    if (doc_len != gen_len || memcmp(doc, gen, gen_len) != 0) {
        size_t i = 0, line = 1;
        while (i < doc_len && i < gen_len && doc[i] == gen[i])
            line += doc[i++] == '\n';
        print_error("docs/configuration.md differs from the generator at line %zu; regenerate "
                    "it with build/config/omega-config-docs > docs/configuration.md\n",
                    line);
    }
    assert_int_equal(doc_len, gen_len);
    assert_memory_equal(doc, gen, gen_len);
    /* Every field is documented. */
    for (size_t i = 0; i < cfg_n_fields; i++) {
        const char *leaf = strrchr(cfg_fields[i].path, '.');
        char cellname[160];
        snprintf(cellname, sizeof(cellname), "%s`", leaf ? leaf + 1 : cfg_fields[i].path);
        if (!strstr(gen, cellname))
            print_error("%s is not documented\n", cfg_fields[i].path);
        assert_non_null(strstr(gen, cellname));
    }
    free(doc);
    free(gen);
}

/* ---- the position scanner --------------------------------------------------------------- */

static void test_locate_positions(void **state)
{
    (void)state;
    const char *text = "{\n  \"a\\u0062\": {\"x\": [1, {\"y\": 2}]},\n  \"\xc3\xa9\": 1, \"k\": "
                       "[[1], \"s,]\"]\n}";
    size_t len = strlen(text);
    int line = 0, col = 0;
    cfg_comp_t ab_y[] = {{"ab", 0}, {"x", 0}, {NULL, 1}, {"y", 0}};
    cfg_locate(text, len, ab_y, 4, &line, &col);
    assert_int_equal(line, 2);
    assert_int_equal(col, 25); /* the escape counts as the six characters it is written with */
    cfg_comp_t k1[] = {{"k", 0}, {NULL, 1}};
    cfg_locate(text, len, k1, 2, &line, &col);
    assert_int_equal(line, 3);
    assert_int_equal(col, 22); /* "é" is one column */
    cfg_comp_t missing[] = {{"k", 0}, {NULL, 5}};
    cfg_locate(text, len, missing, 2, &line, &col);
    assert_int_equal(line, 3);
    assert_int_equal(col, 11); /* falls back to the key "k" */
    cfg_locate(text, len, NULL, 0, &line, &col);
    assert_int_equal(line, 1);
    assert_int_equal(col, 1);
    /* Truncated text never reads past the end. */
    cfg_comp_t deep[] = {{"a", 0}, {"b", 0}};
    cfg_locate("{\"a\": {\"b", 9, deep, 2, &line, &col);
    assert_int_equal(line, 1);
    assert_int_equal(col, 2);
    assert_int_equal(cfg_utf8_invalid_at("ok \xe2\x82\xac", 6), 6);
    assert_int_equal(cfg_utf8_invalid_at("\xc0\x80", 2), 0);       /* overlong */
    assert_int_equal(cfg_utf8_invalid_at("ab\xed\xa0\x80", 5), 2); /* surrogate */
    assert_int_equal(cfg_utf8_invalid_at("abc\xe2\x82", 5), 3);    /* cut short */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_match_specification),
        cmocka_unit_test(test_empty_object_gives_defaults),
        cmocka_unit_test(test_example_file_is_complete_and_valid),
        cmocka_unit_test(test_unknown_key_suggests),
        cmocka_unit_test(test_wrong_type_for_each_type),
        cmocka_unit_test(test_out_of_range_names_range_and_unit),
        cmocka_unit_test(test_bad_enum_lists_allowed_values),
        cmocka_unit_test(test_bad_duration_and_size),
        cmocka_unit_test(test_bad_regex_names_index),
        cmocka_unit_test(test_format_checks),
        cmocka_unit_test(test_cross_field_rules),
        cmocka_unit_test(test_templates_merge_and_validate),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_document_level_errors),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_huge_document_refused),
        cmocka_unit_test(test_deeply_nested_garbage),
        cmocka_unit_test(test_three_problems_fixture),
        cmocka_unit_test(test_too_many_problems_are_capped),
        cmocka_unit_test(test_load_file_unreadable),
        cmocka_unit_test(test_env_overrides_apply),
        cmocka_unit_test(test_env_bad_value_applies_nothing),
        cmocka_unit_test(test_to_json_round_trips),
        cmocka_unit_test(test_secret_fields_are_masked),
        cmocka_unit_test(test_schema_lists_every_row),
        cmocka_unit_test(test_markdown_matches_committed_docs),
        cmocka_unit_test(test_locate_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
