/* SPDX-License-Identifier: Apache-2.0 */
/* Encryption at rest, key rotation and the right to erasure through the real omega-monitor:
 * alert channel credentials saved through the API never appear in any file of the data dir
 * after a clean stop, and still work after a restart; a wrong OMEGA_MASTER_KEY or a
 * world-readable key file stops the server with a clear message; OMEGA_MASTER_KEY (and
 * OMEGA_ADMIN_PASSWORD) are wiped from the running server's /proc/<pid>/environ; POST
 * /api/v1/security/rotate-key re-encrypts in the background and is audited; POST
 * /api/v1/admin/erase removes a selector's series for good (also after a restart) and
 * refuses bad bodies; process owners and command lines are withheld until an admin records
 * consent (POST /api/v1/admin/consent), which survives a restart and can be withdrawn;
 * alert e-mails carry PII masked (data_masking), and so do the free_text_labels of ingested
 * samples; enable_rbac false makes every session an admin but keeps authentication and the
 * superuser-only routes; enable_encryption false turns sealed secrets back into plain text
 * and refuses rotation; the samples of security.sensitive_metrics series never appear in
 * clear in the data dir and still answer queries, and a rotation re-seals them in the
 * background until the old key version is no longer pinned and is retired. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "httpc.h"
#include "omega/common.h"
#include "smtpd.h"
#include "srvtest.h"
#include "testutil.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ADMIN_PW "correct-horse-battery-staple"
#define WRONG_KEY                                                                                  \
    "OMEGA_MASTER_KEY=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static srvtest_t S;

static char *const server_env[] = {
    "OMEGA_ADMIN_PASSWORD=" ADMIN_PW, "OMEGA_ALERTING_EVALUATION_INTERVAL=200",
    "OMEGA_SYSTEM_MONITOR_MONITORING_INTERVAL=500",
    "OMEGA_SECURITY_PRIVACY_SETTINGS_FREE_TEXT_LABELS=note,comment", NULL};
static char *const wrong_key_env[] = {"OMEGA_ADMIN_PASSWORD=" ADMIN_PW, WRONG_KEY, NULL};
static char *const no_rbac_env[] = {"OMEGA_ADMIN_PASSWORD=" ADMIN_PW,
                                    "OMEGA_SECURITY_ACCESS_CONTROL_ENABLE_RBAC=false", NULL};
static char *const plain_env[] = {"OMEGA_ADMIN_PASSWORD=" ADMIN_PW,
                                  "OMEGA_SECURITY_ENABLE_ENCRYPTION=false", NULL};

static int group_setup(void **state)
{
    (void)state;
    return srvtest_start_session(&S, "server-security", server_env, "admin", ADMIN_PW);
}

static int group_teardown(void **state)
{
    (void)state;
    return srvtest_stop(&S);
}

/* method path body as the admin session; the status, and the parsed body into *out (may be
 * NULL; json_decref it). */
static int call(const char *method, const char *path, const char *body, json_t **out)
{
    httpc_resp_t r;
    assert_int_equal(httpc_request(S.port, method, path, S.auth, body, body ? strlen(body) : 0, &r),
                     0);
    int status = r.status;
    if (out)
        *out = r.body ? json_loads(r.body, 0, NULL) : NULL;
    httpc_resp_free(&r);
    return status;
}

static void expect_error(const char *method, const char *path, const char *body, int status,
                         const char *type)
{
    httpc_resp_t r;
    assert_int_equal(httpc_request(S.port, method, path, S.auth, body, body ? strlen(body) : 0, &r),
                     0);
    srvtest_assert_error(&r, status, type);
    httpc_resp_free(&r);
}

static void stop_server(void)
{
    assert_int_equal(server_stop(S.pid), 0);
    S.pid = -1;
}

/* Start the server again with env and log in. Another process on this shared machine may
 * have taken the port while the server was down: then retry on a fresh one. */
static void launch_with(char *const env[])
{
    for (int i = 0; i < 3; i++) {
        if (srvtest_launch_session(&S, env, "admin", ADMIN_PW) == 0)
            return;
        S.port = testutil_free_port();
    }
    fail_msg("server did not come back");
}

static void relaunch(void)
{
    launch_with(server_env);
}

static const char *const secrets[] = {"tok-WEBHOOK-7f3a9c", "hdr-BEARER-41d2e8",
                                      "hmac-SECRET-90b1c7", "smtp-PASSWORD-5e6f0a",
                                      "sms-GATEWAY-KEY-c0ffee"};

static void test_channel_secrets_sealed_on_disk(void **state)
{
    (void)state;
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"id\":\"hook\",\"name\":\"hook\",\"type\":\"webhook\",\"config\":{\"url\":"
             "\"http://127.0.0.1:9/hooks/%s\",\"headers\":{\"Authorization\":\"Bearer %s\"},"
             "\"secret\":\"%s\"}}",
             secrets[0], secrets[1], secrets[2]);
    assert_int_equal(call("POST", "/api/v1/alerts/channels", body, NULL), 201);
    snprintf(body, sizeof(body),
             "{\"id\":\"mail\",\"name\":\"mail\",\"type\":\"email\",\"config\":{\"to\":"
             "[\"ops@example.org\"],\"from\":\"omega@example.org\",\"smtp_url\":"
             "\"smtp://127.0.0.1:9\",\"username\":\"omega\",\"password\":\"%s\"}}",
             secrets[3]);
    assert_int_equal(call("POST", "/api/v1/alerts/channels", body, NULL), 201);
    snprintf(body, sizeof(body),
             "{\"id\":\"sms\",\"name\":\"sms\",\"type\":\"sms\",\"config\":{\"url\":"
             "\"http://127.0.0.1:9/send?key=%s\",\"method\":\"POST\",\"body_template\":"
             "\"{{message}}\",\"to\":[\"+15550100\"]}}",
             secrets[4]);
    assert_int_equal(call("POST", "/api/v1/alerts/channels", body, NULL), 201);
    stop_server();
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        if (testutil_dir_contains(S.data, secrets[i]))
            fail_msg("'%s' found in plain text in the data dir", secrets[i]);
    char key[700];
    snprintf(key, sizeof(key), "%s/master.key", S.data);
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    relaunch();
    /* The channels open again: the webhook URL (not masked) carries its token. */
    json_t *list = NULL;
    assert_int_equal(call("GET", "/api/v1/alerts/channels", NULL, &list), 200);
    char *text = json_dumps(list, 0);
    assert_non_null(strstr(text, secrets[0]));
    assert_non_null(strstr(text, secrets[4]));
    assert_null(strstr(text, secrets[2])); /* secrets stay masked in answers */
    assert_null(strstr(text, secrets[3]));
    free(text);
    json_decref(list);
}

static void test_bad_master_key_stops_server(void **state)
{
    (void)state;
    stop_server();
    assert_int_not_equal(srvtest_launch(&S, wrong_key_env), 0);
    size_t len = 0;
    char *log = testutil_read_file(S.log, &len);
    assert_non_null(log);
    assert_non_null(strstr(log, "master key does not open"));
    free(log);
    char key[700];
    snprintf(key, sizeof(key), "%s/master.key", S.data);
    assert_int_equal(chmod(key, 0644), 0);
    assert_int_not_equal(srvtest_launch(&S, server_env), 0);
    log = testutil_read_file(S.log, &len);
    assert_non_null(strstr(log, "chmod 600"));
    free(log);
    assert_int_equal(chmod(key, 0600), 0);
    relaunch();
}

/* The server reads OMEGA_MASTER_KEY and OMEGA_ADMIN_PASSWORD and wipes them from its
 * environment: the right key opens the store, and /proc/<pid>/environ of the running server
 * no longer holds either. */
static void test_master_key_env_scrubbed(void **state)
{
    (void)state;
    char path[700], env_key[128];
    snprintf(path, sizeof(path), "%s/master.key", S.data);
    size_t len = 0;
    char *hex = testutil_read_file(path, &len);
    assert_non_null(hex);
    assert_true(len >= 64);
    hex[64] = '\0';
    snprintf(env_key, sizeof(env_key), "OMEGA_MASTER_KEY=%s", hex);
    char *env[] = {"OMEGA_ADMIN_PASSWORD=" ADMIN_PW, env_key,
                   "OMEGA_ALERTING_EVALUATION_INTERVAL=200", NULL};
    stop_server();
    launch_with(env); /* starts: the key from the environment opens the data keys */
    snprintf(path, sizeof(path), "/proc/%d/environ", (int)S.pid);
    char *environ_text = testutil_read_file(path, &len);
    assert_non_null(environ_text);
    assert_true(len > 0);
    int seen_other = 0, seen_password = 0, seen_key = 0;
    for (size_t i = 0; i < len; i += strlen(environ_text + i) + 1) {
        seen_other |= strcmp(environ_text + i, "OMEGA_ALERTING_EVALUATION_INTERVAL=200") == 0;
        seen_password |= strstr(environ_text + i, ADMIN_PW) != NULL;
        seen_key |= strstr(environ_text + i, hex) != NULL;
        seen_key |=
            strncmp(environ_text + i, "OMEGA_MASTER_KEY=", 17) == 0 && environ_text[i + 17] != '\0';
    }
    assert_true(seen_other); /* the right process's environment was read */
    assert_false(seen_key);
    assert_false(seen_password); /* OMEGA_ADMIN_PASSWORD is wiped the same way */
    free(environ_text);
    /* The secrets still open with the key given this way. */
    json_t *list = NULL;
    assert_int_equal(call("GET", "/api/v1/alerts/channels", NULL, &list), 200);
    char *text = json_dumps(list, 0);
    assert_non_null(strstr(text, secrets[0]));
    free(text);
    json_decref(list);
    free(hex);
    stop_server();
    relaunch();
}

static int key_version(json_t **st)
{
    assert_int_equal(call("GET", "/api/v1/security/keys", NULL, st), 200);
    return (int)json_integer_value(json_object_get(*st, "current_version"));
}

static void test_rotate_key(void **state)
{
    (void)state;
    json_t *st = NULL;
    int v = key_version(&st);
    assert_true(json_is_true(json_object_get(st, "enabled")));
    assert_string_equal(json_string_value(json_object_get(st, "algorithm")), "AES-256-GCM");
    json_decref(st);
    json_t *r = NULL;
    assert_int_equal(call("POST", "/api/v1/security/rotate-key", "{}", &r), 202);
    assert_int_equal(json_integer_value(json_object_get(r, "current_version")), v + 1);
    json_decref(r);
    expect_error("POST", "/api/v1/security/rotate-key", "{\"x\":1}", 400, "bad_data");
    expect_error("POST", "/api/v1/security/rotate-key", "{", 400, "bad_data");
    /* The background walk retires the old key: wait for it (bounded). */
    int held = 0;
    for (int i = 0; i < 600; i++) {
        assert_int_equal(key_version(&st), v + 1);
        held = (int)json_integer_value(json_object_get(st, "versions_held"));
        int busy = json_is_true(json_object_get(st, "reencrypting"));
        json_decref(st);
        if (held == 1 && !busy)
            break;
        usleep(50000);
    }
    assert_int_equal(held, 1);
    /* Audited: who rotated, and the walk. */
    json_t *audit = NULL;
    assert_int_equal(call("GET", "/api/v1/audit?event=security.rotate_key", NULL, &audit), 200);
    char *text = json_dumps(audit, 0);
    assert_non_null(strstr(text, "\"actor\": \"admin\""));
    free(text);
    json_decref(audit);
    /* Secrets still open after a restart under the new key. */
    stop_server();
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        assert_false(testutil_dir_contains(S.data, secrets[i]));
    relaunch();
    json_t *list = NULL;
    assert_int_equal(call("GET", "/api/v1/alerts/channels", NULL, &list), 200);
    text = json_dumps(list, 0);
    assert_non_null(strstr(text, secrets[0]));
    free(text);
    json_decref(list);
}

static void write_lp(const char *lines)
{
    assert_int_equal(call("POST", "/api/v1/write?precision=ms", lines, NULL), 204);
}

static int series_count(const char *match)
{
    char path[512], enc[400];
    snprintf(path, sizeof(path), "/api/v1/series?match[]=%s",
             httpc_urlencode(match, enc, sizeof(enc)));
    json_t *r = NULL;
    assert_int_equal(call("GET", path, NULL, &r), 200);
    int n = (int)json_array_size(json_object_get(r, "data"));
    json_decref(r);
    return n;
}

static void test_erase(void **state)
{
    (void)state;
    char lines[512];
    long long now = (long long)omega_now_ms();
    snprintf(lines, sizeof(lines),
             "proc_rss,user=alice,host=a value=1 %lld\nproc_rss,user=bob,host=a value=2 %lld\n"
             "proc_cpu,user=alice,host=a value=3 %lld\n",
             now - 2000, now - 2000, now - 1000);
    write_lp(lines);
    assert_int_equal(series_count("{user=\"alice\"}"), 2);
    json_t *r = NULL;
    assert_int_equal(
        call("POST", "/api/v1/admin/erase", "{\"match\":\"{user=\\\"alice\\\"}\"}", &r), 200);
    assert_int_equal(json_integer_value(json_object_get(r, "series")), 2);
    assert_non_null(json_object_get(json_object_get(r, "rollup_buckets"), "mo1"));
    json_decref(r);
    assert_int_equal(series_count("{user=\"alice\"}"), 0);
    assert_int_equal(series_count("{user=\"bob\"}"), 1);
    /* Nothing matched: not an error, zero counts. */
    assert_int_equal(
        call("POST", "/api/v1/admin/erase", "{\"match\":\"{user=\\\"nobody\\\"}\"}", &r), 200);
    assert_int_equal(json_integer_value(json_object_get(r, "series")), 0);
    json_decref(r);
    /* Bad bodies. */
    expect_error("POST", "/api/v1/admin/erase", "{}", 400, "bad_data");
    expect_error("POST", "/api/v1/admin/erase", "[]", 400, "bad_data");
    expect_error("POST", "/api/v1/admin/erase", "{\"match\":\"{user=\"}", 400, "bad_data");
    expect_error("POST", "/api/v1/admin/erase", "{\"match\":\"{user=~\\\".*\\\"}\"}", 400,
                 "bad_data");
    expect_error("POST", "/api/v1/admin/erase", "{\"match\":\"x\",\"all\":true}", 400, "bad_data");
    expect_error("POST", "/api/v1/admin/erase", "{\"match\":5}", 400, "bad_data");
    /* Audited with the selector and the counts. */
    json_t *audit = NULL;
    assert_int_equal(call("GET", "/api/v1/audit?event=data.delete", NULL, &audit), 200);
    char *text = json_dumps(audit, 0);
    assert_non_null(strstr(text, "right to erasure: 2 series"));
    free(text);
    json_decref(audit);
    /* Still gone after a restart (head log replay). */
    stop_server();
    relaunch();
    assert_int_equal(series_count("{user=\"alice\"}"), 0);
    assert_int_equal(series_count("{user=\"bob\"}"), 1);
}

/* The server's own entry of /api/v1/system/processes (waits for the first scan, bounded);
 * *list gets the whole answer (json_decref it). */
static json_t *own_process(json_t **list)
{
    for (int i = 0; i < 1200; i++) {
        assert_int_equal(call("GET", "/api/v1/system/processes?pattern=omega-monitor", NULL, list),
                         200);
        size_t k;
        json_t *p;
        json_array_foreach(json_object_get(*list, "items"), k, p)
        {
            if (json_integer_value(json_object_get(p, "pid")) == S.pid)
                return p;
        }
        json_decref(*list);
        usleep(50000);
    }
    fail_msg("the server's own process never showed up");
    return NULL;
}

static void test_consent_gates_per_user_process_data(void **state)
{
    (void)state;
    json_t *list = NULL, *p = own_process(&list), *r = NULL;
    assert_true(json_is_true(json_object_get(list, "consent_required")));
    assert_true(json_is_null(json_object_get(p, "user")));
    assert_true(json_is_null(json_object_get(p, "cmdline")));
    assert_string_equal(json_string_value(json_object_get(p, "name")), "omega-monitor");
    json_decref(list);
    assert_int_equal(call("GET", "/api/v1/admin/consent", NULL, &r), 200);
    assert_true(json_is_true(json_object_get(r, "required")));
    assert_true(json_is_false(json_object_get(r, "granted")));
    assert_true(json_is_null(json_object_get(r, "recorded_by")));
    json_decref(r);
    assert_int_equal(call("POST", "/api/v1/admin/consent", "{\"granted\":true}", &r), 200);
    assert_true(json_is_true(json_object_get(r, "granted")));
    assert_string_equal(json_string_value(json_object_get(r, "recorded_by")), "admin");
    json_decref(r);
    p = own_process(&list);
    assert_true(json_is_false(json_object_get(list, "consent_required")));
    assert_non_null(strstr(json_string_value(json_object_get(p, "cmdline")), "serve"));
    assert_non_null(json_string_value(json_object_get(p, "user")));
    json_decref(list);
    const char *bad[] = {"{}", "{\"granted\":1}", "{\"granted\":true,\"x\":1}", "[true]",
                         "{\"granted\":\"yes\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error("POST", "/api/v1/admin/consent", bad[i], 400, "bad_data");
    /* Kept across a restart; withdrawn: withheld again. */
    stop_server();
    relaunch();
    p = own_process(&list);
    assert_non_null(json_string_value(json_object_get(p, "user")));
    json_decref(list);
    assert_int_equal(call("POST", "/api/v1/admin/consent", "{\"granted\":false}", &r), 200);
    json_decref(r);
    p = own_process(&list);
    assert_true(json_is_null(json_object_get(p, "cmdline")));
    json_decref(list);
    json_t *audit = NULL;
    assert_int_equal(call("GET", "/api/v1/audit?event=privacy.consent", NULL, &audit), 200);
    char *text = json_dumps(audit, 0);
    assert_non_null(strstr(text, "withdrawn"));
    assert_non_null(strstr(text, "granted"));
    free(text);
    json_decref(audit);
}

static void test_alert_messages_pii_masked(void **state)
{
    (void)state;
    test_smtpd_t *smtp = test_smtpd_start(0);
    assert_non_null(smtp);
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"id\":\"mailpii\",\"name\":\"mail\",\"type\":\"email\",\"config\":{\"to\":"
             "[\"ops@example.org\"],\"from\":\"omega@example.org\",\"smtp_url\":"
             "\"smtp://127.0.0.1:%d\"}}",
             test_smtpd_port(smtp));
    assert_int_equal(call("POST", "/api/v1/alerts/channels", body, NULL), 201);
    snprintf(body, sizeof(body), "pii_probe,owner=carol@example.org,ip=10.1.2.3 value=5 %lld\n",
             (long long)omega_now_ms() - 1000);
    write_lp(body);
    const char *rule =
        "{\"id\":\"pii\",\"name\":\"pii probe\",\"expr\":\"pii_probe\","
        "\"warning\":0,\"for\":\"0s\",\"category\":\"system\",\"channels\":"
        "[\"mailpii\"],\"annotations\":{\"description\":\"ask carol@example.org on 10.1.2.3\","
        "\"recommended_action\":\"call +44 20 7946 0958\"}}";
    assert_int_equal(call("POST", "/api/v1/alerts/rules", rule, NULL), 201);
    if (test_smtpd_wait(smtp, 1, 30000) < 1) {
        srvtest_dump_log(&S);
        fail_msg("no alert mail arrived");
    }
    smtpd_msg_t m;
    assert_int_equal(test_smtpd_get(smtp, 0, &m), 0);
    assert_non_null(strstr(m.data, "pii_probe"));
    assert_non_null(strstr(m.data, "[EMAIL]"));
    assert_non_null(strstr(m.data, "[IPV4]"));
    assert_non_null(strstr(m.data, "[PHONE]"));
    assert_null(strstr(m.data, "carol@example.org"));
    assert_null(strstr(m.data, "10.1.2.3"));
    assert_null(strstr(m.data, "7946 0958"));
    smtpd_msg_free(&m);
    assert_int_equal(call("DELETE", "/api/v1/alerts/rules/pii", NULL, NULL), 204);
    test_smtpd_stop(smtp);
}

/* privacy_settings.free_text_labels: personal data in those labels' values is masked at
 * ingest (line protocol and JSON import alike); other labels are stored as given. */
static void test_free_text_labels_masked_at_ingest(void **state)
{
    (void)state;
    char body[1024];
    long long now = (long long)omega_now_ms() - 1000;
    snprintf(body, sizeof(body),
             "ftl_probe,host=h1,note=mail\\ carol@example.org\\ from\\ 10.1.2.3 value=1 %lld\n"
             "ftl_probe,host=dave@example.org,comment=/home/dave/x value=2 %lld\n",
             now, now);
    write_lp(body);
    snprintf(body, sizeof(body),
             "[{\"metric\":\"ftl_probe\",\"labels\":{\"host\":\"h2\",\"note\":"
             "\"call +44 20 7946 0958\"},\"samples\":[[%lld,3]]}]",
             now);
    assert_int_equal(call("POST", "/api/v1/import", body, NULL), 204);
    json_t *r = NULL;
    assert_int_equal(call("GET", "/api/v1/series?match[]=ftl_probe", NULL, &r), 200);
    char *text = json_dumps(r, JSON_SORT_KEYS);
    json_decref(r);
    assert_non_null(strstr(text, "\"note\": \"mail [EMAIL] from [IPV4]\""));
    assert_non_null(strstr(text, "\"comment\": \"/home/[USER]/x\""));
    assert_non_null(strstr(text, "\"note\": \"call [PHONE]\""));
    assert_non_null(strstr(text, "\"host\": \"dave@example.org\"")); /* not free text */
    assert_null(strstr(text, "carol@"));
    assert_null(strstr(text, "10.1.2.3"));
    assert_null(strstr(text, "7946"));
    free(text);
    /* Selecting by the masked value finds the sample. */
    assert_int_equal(series_count("{note=\"mail [EMAIL] from [IPV4]\"}"), 1);
}

/* Status of method path (body may be NULL) with token (NULL: none). */
static int status_as(const char *token, const char *method, const char *path, const char *body)
{
    char hdr[1200] = "";
    if (token)
        srvtest_bearer(token, hdr, sizeof(hdr));
    httpc_resp_t r;
    assert_int_equal(httpc_request(S.port, method, path, hdr, body, body ? strlen(body) : 0, &r),
                     0);
    int st = r.status;
    httpc_resp_free(&r);
    return st;
}

static void test_rbac_off_keeps_authentication_and_superuser_rights(void **state)
{
    (void)state;
    assert_int_equal(call("POST", "/api/v1/users",
                          "{\"username\":\"vera\",\"password\":\"a fine long password\","
                          "\"role\":\"viewer\"}",
                          NULL),
                     201);
    char tok[1100];
    assert_int_equal(srvtest_login(&S, "vera", "a fine long password", tok, sizeof(tok)), 200);
    assert_int_equal(status_as(tok, "GET", "/api/v1/apikeys", NULL), 403);
    stop_server();
    launch_with(no_rbac_env);
    assert_int_equal(srvtest_login(&S, "vera", "a fine long password", tok, sizeof(tok)), 200);
    assert_int_equal(status_as(tok, "GET", "/api/v1/apikeys", NULL), 200); /* admin column */
    assert_int_equal(status_as(tok, "GET", "/api/v1/config", NULL), 200);
    assert_int_equal(status_as(tok, "GET", "/api/v1/audit", NULL), 403); /* superuser only */
    assert_int_equal(status_as(tok, "POST", "/api/v1/admin/erase", "{}"), 403);
    assert_int_equal(status_as(NULL, "GET", "/api/v1/apikeys", NULL), 401); /* still needs auth */
    assert_int_equal(status_as("garbage", "GET", "/api/v1/query?query=up", NULL), 401);
    stop_server();
    relaunch();
}

static void test_encryption_off_turns_secrets_plain(void **state)
{
    (void)state;
    stop_server();
    launch_with(plain_env);
    expect_error("POST", "/api/v1/security/rotate-key", "{}", 409, "conflict");
    json_t *st = NULL;
    for (int i = 0; i < 600; i++) { /* the keeper turns sealed values plain (bounded wait) */
        assert_int_equal(call("GET", "/api/v1/security/keys", NULL, &st), 200);
        int held = (int)json_integer_value(json_object_get(st, "versions_held"));
        assert_true(json_is_false(json_object_get(st, "enabled")));
        json_decref(st);
        if (held == 0)
            break;
        usleep(50000);
    }
    json_t *list = NULL; /* the channels still work */
    assert_int_equal(call("GET", "/api/v1/alerts/channels", NULL, &list), 200);
    char *text = json_dumps(list, 0);
    assert_non_null(strstr(text, secrets[0]));
    free(text);
    json_decref(list);
    stop_server();
    assert_int_equal(testutil_dir_contains(S.data, secrets[0]),
                     1); /* documented: stored as given now */
    launch_with(plain_env);
}

/* security.sensitive_metrics: the samples of matching series (raw chunks, rollup buckets,
 * head log) are sealed on disk; queries still see them; a normal metric's bytes are found
 * (the control: block compression off so the grep can see them). */
static char *const sensitive_env[] = {
    "OMEGA_ADMIN_PASSWORD=" ADMIN_PW, "OMEGA_SECURITY_SENSITIVE_METRICS=secret_.*,billing_cost",
    "OMEGA_PERFORMANCE_MONITOR_STORAGE_CONFIGURATION_COMPRESSION_ENABLED=false", NULL};

static void test_sensitive_metric_samples_sealed_on_disk(void **state)
{
    (void)state;
    stop_server();
    launch_with(sensitive_env);
    char body[8192];
    size_t len = 0;
    long long now = (long long)omega_now_ms() - 60000;
    for (int i = 0; i < 20; i++)
        len += (size_t)snprintf(body + len, sizeof(body) - len,
                                "secret_cost,host=h1 value=1234567.891 %lld\n"
                                "plain_cost,host=h1 value=7654321.123 %lld\n",
                                now + i * 1000, now + i * 1000);
    json_t *r = NULL;
    int st = call("POST", "/api/v1/write?precision=ms", body, &r);
    char *text = r ? json_dumps(r, 0) : NULL;
    if (st != 204)
        fail_msg("write: %d %s", st, text ? text : "");
    free(text);
    json_decref(r);
    stop_server();
    double secret = 1234567.891, plain = 7654321.123;
    char sn[9] = "", pn[9] = "";
    memcpy(sn, &secret, 8); /* neither has a zero byte */
    memcpy(pn, &plain, 8);
    assert_int_equal(testutil_dir_contains(S.data, sn), 0);
    assert_int_equal(testutil_dir_contains(S.data, pn), 1);
    launch_with(sensitive_env);
    assert_int_equal(call("GET", "/api/v1/query?query=secret_cost", NULL, &r), 200);
    text = json_dumps(r, 0);
    json_decref(r);
    assert_non_null(strstr(text, "\"1234567.891\""));
    free(text);
    assert_int_equal(
        call("GET", "/api/v1/query?query=count_over_time(secret_cost%5B1h%5D)", NULL, &r), 200);
    text = json_dumps(r, 0);
    json_decref(r);
    assert_non_null(strstr(text, "\"20\""));
    free(text);
}

/* The series re-encryption state in a key status answer. */
static json_t *series_state(json_t *st)
{
    json_t *s = json_object_get(st, "series_reencryption");
    assert_non_null(s);
    return s;
}

/* After a rotation the sealed samples (chunks, rollup buckets, head-log records) are
 * re-sealed in the background: the pass reaches the new version, the old one stops being
 * pinned and is retired, the values still answer queries (also after a restart with only
 * the new key in the store) and never appear in clear. Runs on the previous test's data. */
static void test_rotation_reseals_sensitive_series(void **state)
{
    (void)state;
    char body[2048];
    size_t len = 0;
    long long now = (long long)omega_now_ms() - 30000;
    for (int i = 0; i < 5; i++) /* in the head log (sealed) when the rotation comes */
        len += (size_t)snprintf(body + len, sizeof(body) - len,
                                "secret_cost,host=h1 value=1234567.891 %lld\n", now + i * 1000);
    write_lp(body);
    json_t *st = NULL;
    int v = key_version(&st);
    json_decref(st);
    json_t *r = NULL;
    assert_int_equal(call("POST", "/api/v1/security/rotate-key", "{}", &r), 202);
    assert_non_null(series_state(r));
    json_decref(r);
    int done = 0, pinned = -1, held = -1;
    for (int i = 0; i < 600 && !done; i++) {
        assert_int_equal(key_version(&st), v + 1);
        json_t *s = series_state(st);
        pinned = (int)json_integer_value(json_object_get(st, "versions_pinned"));
        held = (int)json_integer_value(json_object_get(st, "versions_held"));
        done = json_integer_value(json_object_get(s, "done_version")) == v + 1 && pinned == 0 &&
               held == 1 && !json_is_true(json_object_get(st, "reencrypting"));
        if (done) {
            assert_string_equal(json_string_value(json_object_get(s, "state")), "idle");
            assert_true(json_integer_value(json_object_get(s, "resealed")) >= 3);
            assert_int_equal(json_integer_value(json_object_get(s, "unreadable")), 0);
            assert_true(json_real_value(json_object_get(s, "progress")) == 1.0);
            assert_true(json_is_string(json_object_get(s, "finished_at")));
            assert_true(json_is_null(json_object_get(s, "error")));
        }
        json_decref(st);
        if (!done)
            usleep(50000);
    }
    if (!done)
        fail_msg("re-encryption did not finish: pinned %d, held %d", pinned, held);
    assert_int_equal(
        call("GET", "/api/v1/query?query=count_over_time(secret_cost%5B1h%5D)", NULL, &r), 200);
    char *text = json_dumps(r, 0);
    json_decref(r);
    assert_non_null(strstr(text, "\"25\""));
    free(text);
    stop_server();
    double secret = 1234567.891;
    char sn[9] = "";
    memcpy(sn, &secret, 8);
    assert_int_equal(testutil_dir_contains(S.data, sn), 0);
    launch_with(sensitive_env); /* the old data key is gone from the store */
    assert_int_equal(key_version(&st), v + 1);
    assert_int_equal(json_integer_value(json_object_get(st, "versions_held")), 1);
    json_decref(st);
    assert_int_equal(
        call("GET", "/api/v1/query?query=count_over_time(secret_cost%5B1h%5D)", NULL, &r), 200);
    text = json_dumps(r, 0);
    json_decref(r);
    assert_non_null(strstr(text, "\"25\""));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_secrets_sealed_on_disk),
        cmocka_unit_test(test_bad_master_key_stops_server),
        cmocka_unit_test(test_master_key_env_scrubbed),
        cmocka_unit_test(test_rotate_key),
        cmocka_unit_test(test_erase),
        cmocka_unit_test(test_consent_gates_per_user_process_data),
        cmocka_unit_test(test_alert_messages_pii_masked),
        cmocka_unit_test(test_free_text_labels_masked_at_ingest),
        cmocka_unit_test(test_rbac_off_keeps_authentication_and_superuser_rights),
        cmocka_unit_test(test_encryption_off_turns_secrets_plain),
        cmocka_unit_test(test_sensitive_metric_samples_sealed_on_disk),
        cmocka_unit_test(test_rotation_reseals_sensitive_series),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
