/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of alert delivery against real loopback receivers: a webhook endpoint (HMAC
 * signature, custom headers, 500-then-200 retries, a receiver that hangs, a 10 GB answer),
 * an SMTP listener (multipart message, auth, rejected recipients), an SMS gateway (GET and
 * JSON bodies from templates), the persisted queue across an engine restart, the retry
 * window, channel tests and template validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "omega/alert.h"
#include "omega/log.h"
#include "omega/tsdb.h"
#include "smtpd.h"
#include "storetest.h"
#include "testutil.h"

typedef struct fx {
    char *dir;
    omega_tsdb_t *db;
    omega_alert_engine_t *e;
    omega_config_t *cfg; /* SMS alerts are off by default: this config turns them on */
    test_httpd_t *rx;
    int64_t t0;
} fx_t;

static void fx_engine(fx_t *f, int64_t retry_window_ms)
{
    omega_alert_options_t o;
    omega_alert_options_init(&o);
    o.cfg = f->cfg;
    o.builtin_rules = 0;
    o.retry_base_ms = 1000;
    o.retry_window_ms = retry_window_ms;
    f->e = omega_alert_create(f->db, &o, NULL);
    assert_non_null(f->e);
}

static void open_store(fx_t *f)
{
    f->db = storetest_open(f->dir);
}

static int setup(void **state)
{
    omega_log_set_level(OMEGA_LOG_ERROR);
    fx_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("alertch");
    open_store(f);
    const char *conf = "{\"alerting\":{\"enable_sms_alerts\":true},\"notification_templates\":"
                       "{\"system.emergency\":{\"subject\":\"EMERGENCY {metric_name} "
                       "{current_value}\",\"body\":\"value {current_value}\"}}}";
    assert_int_equal(omega_config_load_string(conf, strlen(conf), NULL, NULL, NULL, &f->cfg), 0);
    fx_engine(f, 3600 * 1000);
    f->rx = test_httpd_start();
    assert_non_null(f->rx);
    f->t0 = omega_now_ms() / 1000 * 1000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    omega_alert_destroy(f->e);
    test_httpd_stop(f->rx);
    omega_tsdb_close(f->db);
    omega_config_destroy(f->cfg);
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void channel(fx_t *f, const char *fmt, int port)
{
    char body[2048];
    snprintf(body, sizeof(body), fmt, port);
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_alert_channel_put(f->e, NULL, body, NULL, &err) != 0)
        fail_msg("channel rejected: %s", err.message);
}

/* A rule "disk full" on metric disk{host="a"} notifying channel ch, firing at t0. */
static void fire(fx_t *f, const char *ch)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"name\":\"disk full\",\"expr\":\"disk\",\"warning\":80,\"critical\":90,"
             "\"category\":\"system\",\"channels\":[\"%s\"],\"annotations\":{\"description\":"
             "\"Disk \\\"/\\\" is full\",\"recommended_action\":\"rm -rf /tmp/*\"}}", ch);
    assert_int_equal(omega_alert_rule_put(f->e, NULL, body, NULL, NULL), 0);
    omega_label_t l = {"host", "a"};
    omega_point_t p = {"disk", &l, 1, f->t0, 93.5};
    assert_int_equal(omega_tsdb_write(f->db, &p, 1, NULL), 0);
    assert_int_equal(omega_alert_evaluate(f->e, f->t0), 0);
}

static void test_webhook_signature_and_headers(void **state)
{
    fx_t *f = *state;
    channel(f, "{\"id\":\"wh\",\"name\":\"wh\",\"type\":\"webhook\",\"config\":{\"url\":"
               "\"http://127.0.0.1:%d/in\",\"secret\":\"s3cret\",\"headers\":{\"X-Team\":"
               "\"ci\"}}}", test_httpd_port(f->rx));
    char *out = NULL;
    assert_int_equal(omega_alert_channel_list(f->e, &out, NULL), 0);
    assert_null(strstr(out, "s3cret")); /* secrets never come back */
    assert_non_null(strstr(out, "********"));
    free(out);
    fire(f, "wh");
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0), 0);
    httpd_req_t r;
    assert_int_equal(test_httpd_get(f->rx, 0, &r), 0);
    assert_string_equal(r.method, "POST");
    assert_string_equal(r.target, "/in");
    char sig[160], h[64];
    assert_non_null(httpd_req_header(&r, "x-omega-signature", sig, sizeof(sig)));
    assert_non_null(httpd_req_header(&r, "x-team", h, sizeof(h)));
    assert_string_equal(h, "ci");
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    HMAC(EVP_sha256(), "s3cret", 6, (const unsigned char *)r.body, r.body_len, mac, &mlen);
    char want[160] = "sha256=";
    for (unsigned int i = 0; i < mlen; i++)
        snprintf(want + 7 + 2 * i, 3, "%02x", mac[i]);
    assert_string_equal(sig, want);
    json_t *b = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(b, "severity")), "critical");
    assert_true(json_number_value(json_object_get(b, "value")) == 93.5);
    assert_true(json_number_value(json_object_get(b, "threshold")) == 90);
    assert_string_equal(json_string_value(json_object_get(b, "description")), "Disk \"/\" is full");
    json_decref(b);
    httpd_req_free(&r);
    /* A masked secret sent back keeps the stored one. */
    char body[256];
    snprintf(body, sizeof(body), "{\"name\":\"wh2\",\"type\":\"webhook\",\"config\":{\"url\":"
             "\"http://127.0.0.1:%d/in\",\"secret\":\"********\"}}", test_httpd_port(f->rx));
    assert_int_equal(omega_alert_channel_put(f->e, "wh", body, NULL, NULL), 0);
    assert_int_equal(omega_alert_channel_test(f->e, "wh", NULL), 0);
    assert_int_equal(test_httpd_get(f->rx, 1, &r), 0);
    mlen = 0;
    HMAC(EVP_sha256(), "s3cret", 6, (const unsigned char *)r.body, r.body_len, mac, &mlen);
    for (unsigned int i = 0; i < mlen; i++)
        snprintf(want + 7 + 2 * i, 3, "%02x", mac[i]);
    assert_non_null(httpd_req_header(&r, "x-omega-signature", sig, sizeof(sig)));
    assert_string_equal(sig, want);
    httpd_req_free(&r);
}

static void test_webhook_retry_after_500(void **state)
{
    fx_t *f = *state;
    int script[] = {500, 503};
    test_httpd_script(f->rx, script, 2);
    channel(f, "{\"id\":\"wh\",\"name\":\"wh\",\"type\":\"webhook\",\"config\":{\"url\":"
               "\"http://127.0.0.1:%d/in\"}}", test_httpd_port(f->rx));
    fire(f, "wh");
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0), 1);
    /* Not due again before the backoff (1 s), then 2 s after the second failure. */
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0 + 500), 1);
    assert_int_equal((int)test_httpd_count(f->rx), 1);
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0 + 1000), 1);
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0 + 2500), 1);
    assert_int_equal((int)test_httpd_count(f->rx), 2);
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0 + 3000), 0);
    assert_int_equal((int)test_httpd_count(f->rx), 3);
    omega_alert_stats_t st;
    omega_alert_stats(f->e, &st);
    assert_int_equal(st.notifications_failed, 2);
    assert_int_equal(st.notifications_sent, 1);
}

static void test_webhook_hang_times_out(void **state)
{
    fx_t *f = *state;
    test_httpd_set_delay(f->rx, 3000);
    channel(f, "{\"id\":\"wh\",\"name\":\"wh\",\"type\":\"webhook\",\"config\":{\"url\":"
               "\"http://127.0.0.1:%d/in\",\"timeout\":\"300ms\"}}", test_httpd_port(f->rx));
    fire(f, "wh");
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0), 1);
    omega_alert_stats_t st;
    omega_alert_stats(f->e, &st);
    assert_int_equal(st.notifications_failed, 1);
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_alert_channel_test(f->e, "wh", &err), OMEGA_ETIMEDOUT);
    assert_non_null(strstr(err.message, "300 ms"));
}

static void test_webhook_huge_answer(void **state)
{
    fx_t *f = *state;
    test_httpd_set_huge_body(f->rx, 1);
    channel(f, "{\"id\":\"wh\",\"name\":\"wh\",\"type\":\"webhook\",\"config\":{\"url\":"
               "\"http://127.0.0.1:%d/in\"}}", test_httpd_port(f->rx));
    assert_int_equal(omega_alert_channel_test(f->e, "wh", NULL), 0);
}

static void test_email(void **state)
{
    fx_t *f = *state;
    test_smtpd_t *s = test_smtpd_start(0);
    assert_non_null(s);
    channel(f, "{\"id\":\"mail\",\"name\":\"ops mail\",\"type\":\"email\",\"config\":{\"to\":"
               "[\"ops@example.org\",\"dev@example.org\"],\"from\":\"omega@example.org\","
               "\"smtp_url\":\"smtp://127.0.0.1:%d\",\"username\":\"u\",\"password\":\"p\"}}",
            test_smtpd_port(s));
    fire(f, "mail");
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0), 0);
    assert_int_equal((int)test_smtpd_wait(s, 1, 5000), 1);
    smtpd_msg_t m;
    assert_int_equal(test_smtpd_get(s, 0, &m), 0);
    assert_string_equal(m.from, "<omega@example.org>");
    assert_string_equal(m.rcpt, "<ops@example.org>,<dev@example.org>");
    assert_true(strncmp(m.auth, "PLAIN", 5) == 0);
    /* The system template of the config, rendered. */
    assert_non_null(strstr(m.data, "Subject: OMEGA System Alert - disk"));
    assert_non_null(strstr(m.data, "multipart/alternative"));
    assert_non_null(strstr(m.data, "Content-Type: text/html"));
    assert_non_null(strstr(m.data, "Current Value: 93.5"));
    assert_non_null(strstr(m.data, "Threshold: 90"));
    assert_non_null(strstr(m.data, "Severity: critical"));
    assert_non_null(strstr(m.data, "Recommended Action: rm -rf /tmp/*"));
    smtpd_msg_free(&m);
    test_smtpd_stop(s);
}

static void test_email_rejected(void **state)
{
    fx_t *f = *state;
    test_smtpd_t *s = test_smtpd_start(1);
    assert_non_null(s);
    channel(f, "{\"id\":\"mail\",\"name\":\"m\",\"type\":\"email\",\"config\":{\"to\":"
               "[\"nobody@example.org\"],\"from\":\"omega@example.org\","
               "\"smtp_url\":\"smtp://127.0.0.1:%d\"}}", test_smtpd_port(s));
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_alert_channel_test(f->e, "mail", &err), OMEGA_EIO);
    assert_non_null(strstr(err.message, "550"));
    test_smtpd_stop(s);
}

static void test_sms_gateway(void **state)
{
    fx_t *f = *state;
    channel(f, "{\"id\":\"sms\",\"name\":\"sms\",\"type\":\"sms\",\"config\":{\"url\":"
               "\"http://127.0.0.1:%d/sms\",\"method\":\"POST\",\"to\":[\"+15551234567\","
               "\"+15557654321\"],\"body_template\":\"{{\\\"to\\\":\\\"{to}\\\",\\\"text\\\":"
               "\\\"{severity}: {description}\\\"}}\"}}", test_httpd_port(f->rx));
    channel(f, "{\"id\":\"smsget\",\"name\":\"sms get\",\"type\":\"sms\",\"config\":{\"url\":"
               "\"http://127.0.0.1:%d/send?to={to}&msg={message}\",\"method\":\"GET\","
               "\"to\":[\"+15551234567\"]}}", test_httpd_port(f->rx));
    fire(f, "sms");
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0), 0);
    assert_int_equal((int)test_httpd_count(f->rx), 2);
    httpd_req_t r;
    assert_int_equal(test_httpd_get(f->rx, 1, &r), 0);
    json_t *b = json_loads(r.body, 0, NULL);
    assert_non_null(b); /* the description's quotes were escaped */
    assert_string_equal(json_string_value(json_object_get(b, "to")), "+15557654321");
    assert_string_equal(json_string_value(json_object_get(b, "text")),
                        "critical: Disk \"/\" is full");
    json_decref(b);
    httpd_req_free(&r);
    assert_int_equal(omega_alert_channel_test(f->e, "smsget", NULL), 0);
    assert_int_equal(test_httpd_get(f->rx, 2, &r), 0);
    assert_string_equal(r.method, "GET");
    assert_non_null(strstr(r.target, "/send?to=%2B15551234567&msg=OMEGA%20Application"));
    httpd_req_free(&r);
}

/* {dashboard_url} links to the history view of the rule's expression around the alert
 * time, under the configured base (trailing slash dropped); unknown placeholders next to it
 * are still refused. */
static void test_dashboard_link_placeholder(void **state)
{
    fx_t *f = *state;
    omega_alert_destroy(f->e);
    omega_alert_options_t o;
    omega_alert_options_init(&o);
    o.cfg = f->cfg;
    o.builtin_rules = 0;
    o.dashboard_url = "https://omega.example.com/";
    f->e = omega_alert_create(f->db, &o, NULL);
    assert_non_null(f->e);
    channel(f, "{\"id\":\"sms\",\"name\":\"sms\",\"type\":\"sms\",\"config\":{\"url\":"
               "\"http://127.0.0.1:%d/sms\",\"to\":[\"+15551234567\"],\"body_template\":"
               "\"{{\\\"text\\\":\\\"{alert} {dashboard_url}\\\"}}\"}}", test_httpd_port(f->rx));
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_alert_channel_put(f->e, NULL,
                                             "{\"name\":\"x\",\"type\":\"sms\",\"config\":"
                                             "{\"url\":\"http://h/{dashboard_link}\",\"to\":"
                                             "[\"+1555\"]}}",
                                             NULL, &err),
                     OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "unknown placeholder {dashboard_link}"));
    fire(f, "sms");
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0), 0);
    httpd_req_t r;
    assert_int_equal(test_httpd_get(f->rx, 0, &r), 0);
    json_t *b = json_loads(r.body, 0, NULL);
    assert_non_null(b);
    char want[256];
    snprintf(want, sizeof(want),
             "disk full https://omega.example.com/#/history?expr=disk&from=%lld&to=%lld",
             (long long)(f->t0 - 1800000), (long long)(f->t0 + 1800000));
    assert_string_equal(json_string_value(json_object_get(b, "text")), want);
    json_decref(b);
    httpd_req_free(&r);
    /* A channel test has no expression: the link carries only the time range. */
    assert_int_equal(omega_alert_channel_test(f->e, "sms", NULL), 0);
    assert_int_equal(test_httpd_get(f->rx, 1, &r), 0);
    b = json_loads(r.body, 0, NULL);
    httpd_req_free(&r);
    assert_non_null(b);
    const char *text = json_string_value(json_object_get(b, "text"));
    const char *prefix = "Test notification https://omega.example.com/#/history?from=";
    assert_int_equal(strncmp(text, prefix, strlen(prefix)), 0);
    assert_non_null(strstr(text, "&to="));
    json_decref(b);
}

/* Keeps the first problem the config loader reports. */
static void first_problem(void *ctx, const char *source, int line, int column, const char *path,
                          const char *message)
{
    (void)source, (void)line, (void)column;
    char *buf = ctx;
    if (!buf[0])
        snprintf(buf, 512, "%s: %s", path, message);
}

/* The config loader checks notification_templates with the channels' check: the same
 * message for the same text, unbalanced braces and unknown placeholders refused at load
 * (that is, save) time, {dashboard_url} and literal {{ }} accepted. */
static void test_config_template_checked_like_channels(void **state)
{
    fx_t *f = *state;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"{{ x {metric_name} {current_value", "unbalanced '{' at byte 19"},
        {"} {", "unbalanced '}' at byte 0"},
        {"see {dashboard_link}", "unknown placeholder {dashboard_link}; known: metric_name"},
        {"{message}", "unknown placeholder {message}"}, /* SMS only */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char conf[512], diag[512] = "";
        snprintf(conf, sizeof(conf), "{\"notification_templates\":{\"odd\":{\"body\":\"%s\"}}}",
                 bad[i].text);
        omega_config_t *cfg = NULL;
        assert_int_equal(omega_config_load_string(conf, strlen(conf), NULL, first_problem, diag,
                                                  &cfg),
                         OMEGA_EINVAL);
        assert_null(cfg);
        const char *prefix = "notification_templates.odd.body: ";
        if (strncmp(diag, prefix, strlen(prefix)) != 0 ||
            !strstr(diag, bad[i].want))
            fail_msg("config: '%s' for '%s'", diag, bad[i].text);
        /* The same text as an SMS body template: the same reason after the field name. */
        char body[512];
        snprintf(body, sizeof(body), "{\"name\":\"x\",\"type\":\"sms\",\"config\":{\"url\":"
                 "\"http://127.0.0.1:1/\",\"to\":[\"+1555\"],\"body_template\":\"%s\"}}",
                 bad[i].text);
        omega_error_t err;
        omega_error_clear(&err);
        int rc = omega_alert_channel_put(f->e, NULL, body, NULL, &err);
        if (strcmp(bad[i].text, "{message}") == 0) {
            assert_int_equal(rc, 0); /* known to SMS bodies */
            continue;
        }
        assert_int_equal(rc, OMEGA_EINVAL);
        const char *reason = strstr(diag, ": ") + 2;
        if (!strstr(err.message, reason))
            fail_msg("channel '%s' vs config '%s'", err.message, reason);
    }
    const char *good = "{\"notification_templates\":{\"odd\":{\"subject\":\"{{x}} {alert}\","
                       "\"body\":\"{dashboard_url}\"}}}";
    omega_config_t *cfg = NULL;
    assert_int_equal(omega_config_load_string(good, strlen(good), NULL, NULL, NULL, &cfg), 0);
    omega_config_destroy(cfg);
}

/* A configuration template naming every placeholder renders each of them (none left in
 * braces), {dashboard_url} as the link to the dashboard's history view around the alert's
 * time. */
static void test_config_template_dashboard_url(void **state)
{
    fx_t *f = *state;
    omega_alert_destroy(f->e);
    f->e = NULL;
    omega_config_destroy(f->cfg);
    f->cfg = NULL;
    char subject[512] = "{{x}}";
    for (size_t i = 0; omega_template_placeholders[i]; i++)
        snprintf(subject + strlen(subject), sizeof(subject) - strlen(subject), " {%s}",
                 omega_template_placeholders[i]);
    char conf[1024];
    snprintf(conf, sizeof(conf), "{\"alerting\":{\"enable_sms_alerts\":true},"
             "\"notification_templates\":{\"linked\":{\"subject\":\"%s\"}}}", subject);
    assert_int_equal(omega_config_load_string(conf, strlen(conf), NULL, NULL, NULL, &f->cfg), 0);
    omega_alert_options_t o;
    omega_alert_options_init(&o);
    o.cfg = f->cfg;
    o.builtin_rules = 0;
    o.dashboard_url = "http://127.0.0.1:8080";
    f->e = omega_alert_create(f->db, &o, NULL);
    assert_non_null(f->e);
    channel(f, "{\"id\":\"smsget\",\"name\":\"sms get\",\"type\":\"sms\",\"template\":\"linked\","
               "\"config\":{\"url\":\"http://127.0.0.1:%d/send?msg={message}\",\"method\":\"GET\","
               "\"to\":[\"+15551234567\"]}}", test_httpd_port(f->rx));
    fire(f, "smsget");
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0), 0);
    httpd_req_t r;
    assert_int_equal(test_httpd_get(f->rx, 0, &r), 0);
    /* Literal {x} once, no other brace: every placeholder had a value. */
    const char *x = strstr(r.target, "%7Bx%7D");
    assert_non_null(x);
    x += strlen("%7Bx%7D");
    if (strstr(x, "%7B") || strstr(x, "%7D"))
        fail_msg("a placeholder was left unrendered: %s", r.target);
    char want[256];
    snprintf(want, sizeof(want),
             "%%20http%%3A%%2F%%2F127.0.0.1%%3A8080%%2F%%23%%2Fhistory%%3Fexpr%%3Ddisk%%26from"
             "%%3D%lld%%26to%%3D%lld",
             (long long)(f->t0 - 1800000), (long long)(f->t0 + 1800000));
    if (!strstr(r.target, want))
        fail_msg("'%s' lacks the dashboard link '%s'", r.target, want);
    assert_non_null(strstr(r.target, "disk%20full")); /* {alert} */
    assert_non_null(strstr(r.target, "93.5"));        /* {current_value} */
    httpd_req_free(&r);
}

/* "<category>.<severity>" templates win over the category's. */
static void test_template_per_severity(void **state)
{
    fx_t *f = *state;
    channel(f, "{\"id\":\"smsget\",\"name\":\"sms get\",\"type\":\"sms\",\"config\":{\"url\":"
               "\"http://127.0.0.1:%d/send?msg={message}\",\"method\":\"GET\","
               "\"to\":[\"+15551234567\"]}}", test_httpd_port(f->rx));
    assert_int_equal(omega_alert_rule_put(f->e, NULL, "{\"name\":\"hot\",\"expr\":\"temp\","
                                          "\"emergency\":90,\"category\":\"system\","
                                          "\"channels\":[\"smsget\"]}", NULL, NULL), 0);
    omega_label_t l = {"host", "a"};
    omega_point_t p = {"temp", &l, 1, f->t0, 95};
    assert_int_equal(omega_tsdb_write(f->db, &p, 1, NULL), 0);
    assert_int_equal(omega_alert_evaluate(f->e, f->t0), 0);
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0), 0);
    httpd_req_t r;
    assert_int_equal(test_httpd_get(f->rx, 0, &r), 0);
    assert_string_equal(r.target, "/send?msg=EMERGENCY%20temp%2095");
    httpd_req_free(&r);
}

static void test_queue_survives_restart(void **state)
{
    fx_t *f = *state;
    int script[] = {500};
    test_httpd_script(f->rx, script, 1);
    channel(f, "{\"id\":\"wh\",\"name\":\"wh\",\"type\":\"webhook\",\"config\":{\"url\":"
               "\"http://127.0.0.1:%d/in\"}}", test_httpd_port(f->rx));
    fire(f, "wh");
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0), 1);
    /* A whole restart: the engine and the store closed and opened again. */
    omega_alert_destroy(f->e);
    omega_tsdb_close(f->db);
    open_store(f);
    fx_engine(f, 3600 * 1000);
    omega_alert_stats_t st;
    omega_alert_stats(f->e, &st);
    assert_int_equal(st.queue_depth, 1);
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0 + 1000), 0);
    assert_int_equal((int)test_httpd_count(f->rx), 2);
    httpd_req_t r;
    assert_int_equal(test_httpd_get(f->rx, 1, &r), 0);
    assert_non_null(strstr(r.body, "\"alert\":\"disk full\""));
    httpd_req_free(&r);
    /* Delivered: gone from the store too. */
    omega_alert_destroy(f->e);
    fx_engine(f, 3600 * 1000);
    omega_alert_stats(f->e, &st);
    assert_int_equal(st.queue_depth, 0);
}

static void test_retry_window_drops(void **state)
{
    fx_t *f = *state;
    omega_alert_destroy(f->e);
    fx_engine(f, 5000);
    int script[] = {500, 500, 500, 500, 500, 500};
    test_httpd_script(f->rx, script, 6);
    channel(f, "{\"id\":\"wh\",\"name\":\"wh\",\"type\":\"webhook\",\"config\":{\"url\":"
               "\"http://127.0.0.1:%d/in\"}}", test_httpd_port(f->rx));
    fire(f, "wh");
    size_t left = 1;
    for (int64_t t = 0; t <= 20000 && left; t += 1000)
        left = omega_alert_deliver(f->e, f->t0 + t);
    assert_int_equal((int)left, 0);
    omega_alert_stats_t st;
    omega_alert_stats(f->e, &st);
    assert_int_equal(st.notifications_dropped, 1);
    assert_int_equal(st.notifications_sent, 0);
}

/* A channel whose endpoint hangs does not delay another channel: with the sender thread
 * running, the prompt receiver gets its notification while the hanging one still holds its
 * request (its 30 s timeout has not passed, so nothing failed yet). Stopping the engine
 * aborts the hanging attempt, which stays queued, uncounted, across a restart. */
static void test_hanging_channel_does_not_delay_others(void **state)
{
    fx_t *f = *state;
    test_httpd_t *slow = test_httpd_start();
    assert_non_null(slow);
    test_httpd_set_delay(slow, 120000);
    channel(f, "{\"id\":\"a-slow\",\"name\":\"slow\",\"type\":\"webhook\",\"config\":{\"url\":"
               "\"http://127.0.0.1:%d/in\",\"timeout\":\"60s\"}}", test_httpd_port(slow));
    channel(f, "{\"id\":\"b-fast\",\"name\":\"fast\",\"type\":\"webhook\",\"config\":{\"url\":"
               "\"http://127.0.0.1:%d/in\"}}", test_httpd_port(f->rx));
    fire(f, "a-slow\",\"b-fast"); /* the hanging channel's item is first in the queue */
    assert_int_equal(omega_alert_start(f->e), 0);
    assert_int_equal((int)test_httpd_wait(slow, 1, 20000), 1);
    assert_int_equal((int)test_httpd_wait(f->rx, 1, 20000), 1);
    omega_alert_stats_t st;
    /* The receiver records the request before it answers: the sender counts the delivery
     * once the answer is in (bounded wait, 10 s). */
    for (int i = 0; i < 1000; i++) {
        omega_alert_stats(f->e, &st);
        if (st.notifications_sent)
            break;
        usleep(10 * 1000);
    }
    assert_int_equal(st.notifications_sent, 1);
    assert_int_equal(st.notifications_failed, 0);
    assert_int_equal(st.queue_depth, 1);
    omega_alert_stop(f->e);
    omega_alert_stats(f->e, &st);
    assert_int_equal(st.notifications_failed, 0);
    assert_int_equal(st.queue_depth, 1);
    omega_alert_destroy(f->e);
    fx_engine(f, 3600 * 1000);
    omega_alert_stats(f->e, &st);
    assert_int_equal(st.queue_depth, 1);
    test_httpd_stop(slow);
}

/* After a timeout the channel's other queued items wait for its retry instead of costing a
 * timeout each, and other channels are not held. */
static void test_timeout_holds_only_its_channel(void **state)
{
    fx_t *f = *state;
    test_httpd_t *slow = test_httpd_start();
    assert_non_null(slow);
    test_httpd_set_delay(slow, 3000);
    channel(f, "{\"id\":\"a-slow\",\"name\":\"slow\",\"type\":\"webhook\",\"config\":{\"url\":"
               "\"http://127.0.0.1:%d/in\",\"timeout\":\"200ms\"}}", test_httpd_port(slow));
    channel(f, "{\"id\":\"b-fast\",\"name\":\"fast\",\"type\":\"webhook\",\"config\":{\"url\":"
               "\"http://127.0.0.1:%d/in\"}}", test_httpd_port(f->rx));
    fire(f, "a-slow\",\"b-fast");
    /* A second alert of the same rule: two items per channel. */
    omega_label_t l = {"host", "b"};
    omega_point_t p = {"disk", &l, 1, f->t0 + 1000, 95};
    assert_int_equal(omega_tsdb_write(f->db, &p, 1, NULL), 0);
    assert_int_equal(omega_alert_evaluate(f->e, f->t0 + 1000), 0);
    assert_int_equal((int)omega_alert_deliver(f->e, f->t0 + 1000), 2);
    omega_alert_stats_t st;
    omega_alert_stats(f->e, &st);
    assert_int_equal(st.notifications_sent, 2);   /* both of the prompt channel */
    assert_int_equal(st.notifications_failed, 1); /* one timeout, the other item held */
    assert_int_equal((int)test_httpd_count(f->rx), 2);
    test_httpd_stop(slow);
}

static void expect_bad_channel(fx_t *f, const char *json, const char *path, const char *needle)
{
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_alert_channel_put(f->e, NULL, json, NULL, &err), OMEGA_EINVAL);
    if (path)
        assert_string_equal(err.path, path);
    if (needle && !strstr(err.message, needle))
        fail_msg("message '%s' lacks '%s'", err.message, needle);
}

static void test_channel_validation(void **state)
{
    fx_t *f = *state;
    expect_bad_channel(f, "{\"name\":\"x\",\"type\":\"pager\"}", "type", NULL);
    expect_bad_channel(f, "{\"type\":\"log\"}", "name", NULL);
    expect_bad_channel(f, "{\"name\":\"x\",\"type\":\"webhook\",\"config\":{}}", "config.url",
                       "required");
    expect_bad_channel(f, "{\"name\":\"x\",\"type\":\"webhook\",\"config\":{\"url\":\"ftp://x\"}}",
                       "config.url", "http://");
    expect_bad_channel(f, "{\"name\":\"x\",\"type\":\"webhook\",\"config\":{\"url\":\"http://x\","
                          "\"headers\":{\"Bad Header\":\"v\"}}}", "config.headers", NULL);
    expect_bad_channel(f, "{\"name\":\"x\",\"type\":\"webhook\",\"config\":{\"url\":\"http://x\","
                          "\"timeout\":\"1h\"}}", "config.timeout", NULL);
    expect_bad_channel(f, "{\"name\":\"x\",\"type\":\"email\",\"config\":{\"to\":[\"nobody\"],"
                          "\"from\":\"a@b\",\"smtp_url\":\"smtp://h\"}}", "config.to", NULL);
    expect_bad_channel(f, "{\"name\":\"x\",\"type\":\"email\",\"config\":{\"to\":[\"a@b\"],"
                          "\"from\":\"a@b\",\"smtp_url\":\"http://h\"}}", "config.smtp_url", NULL);
    expect_bad_channel(f, "{\"name\":\"x\",\"type\":\"email\",\"config\":{\"to\":[\"a@b\"],"
                          "\"from\":\"a@b\\r\\nBcc: all@x\",\"smtp_url\":\"smtp://h\"}}",
                       "config.from", "single line");
    expect_bad_channel(f, "{\"name\":\"x\",\"type\":\"webhook\",\"config\":{\"url\":"
                          "\"http://h/\\r\\nX: y\"}}", "config.url", "single line");
    expect_bad_channel(f, "{\"name\":\"x\",\"type\":\"sms\",\"config\":{\"url\":\"http://h\"}}",
                       "config.to", NULL);
    expect_bad_channel(f, "{\"name\":\"x\",\"type\":\"sms\",\"config\":{\"url\":\"http://h\","
                          "\"to\":[\"+1555\"],\"method\":\"DELETE\"}}", "config.method", NULL);
    expect_bad_channel(f, "{\"name\":\"x\",\"type\":\"sms\",\"config\":{\"url\":\"http://h\","
                          "\"to\":[\"+1555\"],\"body_template\":\"{nope}\"}}", "config.body_template",
                       "unknown placeholder {nope}");
    expect_bad_channel(f, "{\"name\":\"x\",\"type\":\"sms\",\"config\":{\"url\":\"http://h\","
                          "\"to\":[\"+1555\"],\"body_template\":\"{\\\"to\\\":1\"}}", "config.body_template",
                       "unbalanced");
    expect_bad_channel(f, "{\"name\":\"x\",\"type\":\"sms\",\"config\":{\"url\":\"http://h\","
                          "\"to\":[\"+1555\"],\"body_template\":\"a}\"}}", "config.body_template", "unbalanced");
    expect_bad_channel(f, "{\"name\":\"x\",\"type\":\"log\",\"template\":\"missing\"}",
                       "template", "missing");
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_alert_channel_put(f->e, NULL, "{\"name\":\"x\",\"type\":\"log\","
                                             "\"template\":\"performance\"}", NULL, &err), 0);
    assert_int_equal(omega_alert_channel_test(f->e, "nope", &err), OMEGA_ENOENT);
    assert_int_equal(omega_alert_channel_delete(f->e, "nope", &err), OMEGA_ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_webhook_signature_and_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_retry_after_500, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_hang_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_huge_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_email, setup, teardown),
        cmocka_unit_test_setup_teardown(test_email_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sms_gateway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_template_per_severity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_link_placeholder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_template_checked_like_channels, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_config_template_dashboard_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_window_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channel_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hanging_channel_does_not_delay_others, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_timeout_holds_only_its_channel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
