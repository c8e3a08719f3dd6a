/* SPDX-License-Identifier: Apache-2.0 */
/* Integration tests of ingestion against the real omega-monitor binary on loopback: line
 * protocol on /api/v1/write and /write read back through /api/v1/query, every error code
 * (400 naming the line, 401, 411/413, 415), gzip bodies and a gzip bomb, the JSON import,
 * metric definitions, and GET /metrics in both exposition formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "httpc.h"
#include "srvtest.h"
#include "test_ingest_expocheck.h"
#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define ADMIN_PW "correct-horse-battery-staple"

static srvtest_t S;

static char *const server_env[] = {
    "OMEGA_ADMIN_PASSWORD=" ADMIN_PW,
    "OMEGA_SERVER_MAX_BODY_SIZE=65536",
    NULL,
};

static int group_setup(void **state)
{
    return srvtest_start_session(&S, "server-ingest", server_env, "admin", ADMIN_PW);
}

static int group_teardown(void **state)
{
    return srvtest_stop(&S);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* POST body to path with the admin token plus extra header lines. */
static void post(const char *path, const char *extra, const void *body, size_t len, httpc_resp_t *r)
{
    char h[2048];
    snprintf(h, sizeof(h), "%s%s", S.auth, extra ? extra : "");
    assert_int_equal(httpc_request(S.port, "POST", path, h, body, len, r), 0);
}

static void expect_error(const httpc_resp_t *r, int status, const char *type, const char *text)
{
    if (r->status != status || !strstr(r->body, text))
        fail_msg("got %d %s; want %d containing \"%s\"", r->status, r->body, status, text);
    srvtest_assert_error(r, status, type);
}

/* Instant query; returns the number of series and copies the first value into val. */
static int query(const char *expr, char *val, size_t vlen)
{
    char path[1024], enc[800];
    snprintf(path, sizeof(path), "/api/v1/query?query=%s", httpc_urlencode(expr, enc, sizeof(enc)));
    httpc_resp_t r;
    assert_int_equal(httpc_request(S.port, "GET", path, S.auth, NULL, 0, &r), 0);
    if (r.status != 200)
        fail_msg("query %s: %d %s", expr, r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    json_t *res = json_object_get(json_object_get(j, "data"), "result");
    int n = (int)json_array_size(res);
    if (n && val)
        snprintf(
            val, vlen, "%s",
            json_string_value(json_array_get(json_object_get(json_array_get(res, 0), "value"), 1)));
    json_decref(j);
    httpc_resp_free(&r);
    return n;
}

static unsigned char *gz(const void *data, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)len) + 64;
    unsigned char *out = malloc(cap);
    zs.next_in = (unsigned char *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

/* ---- line protocol ---- */

static void test_write_and_read_back(void **state)
{
    char body[256], v[64];
    snprintf(body, sizeof(body), "lpt_cpu,host=a\\ b usage=42.5,idle=3i %lld\nlpt_up value=1\n",
             (long long)now_ms() * 1000000);
    httpc_resp_t r;
    post("/api/v1/write", NULL, body, strlen(body), &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body_len, 0);
    httpc_resp_free(&r);
    assert_int_equal(query("lpt_cpu_usage{host=\"a b\"}", v, sizeof(v)), 1);
    assert_string_equal(v, "42.5");
    assert_int_equal(query("lpt_cpu_idle", v, sizeof(v)), 1);
    assert_string_equal(v, "3");
    assert_int_equal(query("lpt_up", v, sizeof(v)), 1);
}

static void test_influx_v1_alias_with_params(void **state)
{
    char body[128], v[64];
    snprintf(body, sizeof(body), "lpt_v1,db=tag temp=-3.5 %lld", (long long)now_ms() / 1000);
    httpc_resp_t r;
    post("/write?db=telegraf&rp=autogen&u=x&p=y&precision=s", NULL, body, strlen(body), &r);
    assert_int_equal(r.status, 204);
    httpc_resp_free(&r);
    assert_int_equal(query("lpt_v1_temp{db=\"tag\"}", v, sizeof(v)), 1);
    assert_string_equal(v, "-3.5");
    post("/write?precision=h", NULL, body, strlen(body), &r);
    expect_error(&r, 400, "bad_data", "precision");
    httpc_resp_free(&r);
}

static void test_bad_line_rejects_whole_request(void **state)
{
    const char *body = "lpt_atomic v=1\nlpt_atomic w=2\ncpu,host=a usage=abc\nlpt_atomic x=3\n";
    httpc_resp_t r;
    post("/api/v1/write", NULL, body, strlen(body), &r);
    expect_error(&r, 400, "bad_data", "line 3: invalid field value 'abc' for field 'usage'");
    httpc_resp_free(&r);
    assert_int_equal(query("lpt_atomic_v", NULL, 0), 0);
    assert_int_equal(query("lpt_atomic_w", NULL, 0), 0);
    /* A line storage refuses (older than the out-of-order window) also names its line and
     * leaves nothing behind. */
    char old[128];
    snprintf(old, sizeof(old), "lpt_atomic2 v=1\nlpt_atomic2 w=2 %lld\n",
             (long long)(now_ms() - 3 * 3600 * 1000) * 1000000);
    post("/api/v1/write", NULL, old, strlen(old), &r);
    expect_error(&r, 400, "bad_data", "line 2: ");
    httpc_resp_free(&r);
    assert_int_equal(query("lpt_atomic2_v", NULL, 0), 0);
}

static void test_malformed_kinds_name_their_line(void **state)
{
    static const struct {
        const char *body;
        const char *want;
    } cases[] = {
        {"ok v=1\nlpt_x,host=a\n", "line 2: missing field set"},
        {"lpt_x v\\", "line 1: bad escape"},
        {"lpt_x s=\"open", "line 1: unterminated string value for field 's'"},
        {"lpt_x v=1 99999999999999999999", "line 1: timestamp '99999999999999999999' overflows"},
        {"lpt_x,a=1,a=2 v=1", "line 1: duplicate tag key 'a'"},
        {"\n\nlpt_x v=1e", "line 3: invalid field value '1e' for field 'v'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        httpc_resp_t r;
        post("/api/v1/write", NULL, cases[i].body, strlen(cases[i].body), &r);
        expect_error(&r, 400, "bad_data", cases[i].want);
        httpc_resp_free(&r);
    }
    /* NUL bytes and a gzip'd line with invalid UTF-8 are named too. */
    httpc_resp_t r;
    post("/api/v1/write", NULL, "ok v=1\nlpt\0x v=1\n", 17, &r);
    expect_error(&r, 400, "bad_data", "line 2: NUL byte at column 4");
    httpc_resp_free(&r);
    size_t zn;
    unsigned char *z = gz("ok v=1\nlpt,t=\xff v=1\n", 19, &zn);
    post("/api/v1/write", "Content-Encoding: gzip\r\n", z, zn, &r);
    expect_error(&r, 400, "bad_data", "line 2: invalid UTF-8");
    httpc_resp_free(&r);
    free(z);
    /* Plain bodies with invalid UTF-8 are refused before the parser. */
    post("/api/v1/write", NULL, "lpt,t=\xff v=1\n", 12, &r);
    expect_error(&r, 400, "bad_data", "UTF-8");
    httpc_resp_free(&r);
}

static void test_auth_and_size_errors(void **state)
{
    httpc_resp_t r;
    assert_int_equal(httpc_request(S.port, "POST", "/api/v1/write", NULL, "m v=1", 5, &r), 0);
    expect_error(&r, 401, "unauthorized", "authentication required");
    httpc_resp_free(&r);
    assert_int_equal(
        httpc_request(S.port, "POST", "/write", "Authorization: Bearer nope\r\n", "m v=1", 5, &r),
        0);
    assert_int_equal(r.status, 401);
    httpc_resp_free(&r);
    char raw[2048];
    snprintf(raw, sizeof(raw),
             "POST /api/v1/write HTTP/1.1\r\nHost: x\r\n%s"
             "Content-Length: 1000000000\r\n\r\n",
             S.auth);
    assert_int_equal(httpc_raw(S.port, raw, strlen(raw), &r), 0);
    expect_error(&r, 413, "too_large", "server.max_body_size");
    httpc_resp_free(&r);
    assert_int_equal(httpc_request(S.port, "GET", "/api/v1/write", S.auth, NULL, 0, &r), 0);
    assert_int_equal(r.status, 405);
    httpc_resp_free(&r);
}

/* Create an API key with the given scopes JSON array; returns it (malloc'd). */
static char *make_key(const char *name, const char *scopes)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"scopes\":%s}", name, scopes);
    httpc_resp_t r;
    post("/api/v1/apikeys", "Content-Type: application/json\r\n", body, strlen(body), &r);
    if (r.status != 201 && r.status != 200)
        fail_msg("create key: %d %s", r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    char *key = strdup(json_string_value(json_object_get(j, "key")));
    json_decref(j);
    httpc_resp_free(&r);
    return key;
}

/* Agents push with an ingest-scoped API key (X-API-Key, as Telegraf's http_headers can
 * send); a read-only key may scrape /metrics but not write, and the reverse. */
static void test_api_keys_scopes(void **state)
{
    char *ingest = make_key("lpt-agent", "[\"ingest\"]");
    char *read = make_key("lpt-scraper", "[\"read\"]");
    char h[512], body[128], v[64];
    snprintf(body, sizeof(body), "lpt_key,agent=a v=5 %lld", (long long)now_ms());
    httpc_resp_t r;
    snprintf(h, sizeof(h), "X-API-Key: %s\r\n", ingest);
    assert_int_equal(
        httpc_request(S.port, "POST", "/write?precision=ms", h, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 204);
    httpc_resp_free(&r);
    assert_int_equal(query("lpt_key_v", v, sizeof(v)), 1);
    assert_int_equal(httpc_request(S.port, "GET", "/metrics", h, NULL, 0, &r), 0);
    assert_int_equal(r.status, 403);
    httpc_resp_free(&r);
    srvtest_bearer(read, h, sizeof(h));
    assert_int_equal(httpc_request(S.port, "POST", "/api/v1/write", h, body, strlen(body), &r), 0);
    expect_error(&r, 403, "forbidden", "ingest");
    httpc_resp_free(&r);
    assert_int_equal(httpc_request(S.port, "GET", "/metrics", h, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    httpc_resp_free(&r);
    free(ingest);
    free(read);
}

/* Clients that cannot send a Bearer header: Telegraf/InfluxDB 2 "Token", Grafana and
 * InfluxDB 1 Basic (password = key, user ignored), InfluxDB 1's p= query argument. */
static void test_client_credential_forms(void **state)
{
    char *ingest = make_key("lpt-forms", "[\"ingest\"]");
    char h[512], body[128], b64[400], path[600];
    httpc_resp_t r;
    snprintf(body, sizeof(body), "lpt_forms,via=x v=1 %lld", (long long)now_ms());
    snprintf(h, sizeof(h), "Authorization: Token %s\r\n", ingest);
    assert_int_equal(httpc_request(S.port, "POST", "/write?precision=ms", h, body, strlen(body), &r),
                     0);
    assert_int_equal(r.status, 204);
    httpc_resp_free(&r);
    char userpass[300];
    snprintf(userpass, sizeof(userpass), "telegraf:%s", ingest);
    testutil_base64(userpass, strlen(userpass), b64, sizeof(b64));
    snprintf(h, sizeof(h), "Authorization: Basic %s\r\n", b64);
    assert_int_equal(httpc_request(S.port, "POST", "/write?precision=ms", h, body, strlen(body), &r),
                     0);
    assert_int_equal(r.status, 204);
    httpc_resp_free(&r);
    snprintf(path, sizeof(path), "/write?precision=ms&u=telegraf&p=%s", ingest);
    assert_int_equal(httpc_request(S.port, "POST", path, "", body, strlen(body), &r), 0);
    assert_int_equal(r.status, 204);
    httpc_resp_free(&r);
    /* wrong key, not base64, no colon, unknown scheme: 401 in the error shape */
    const char *bad[] = {"Authorization: Basic dTpvbWtfbm9wZQ==\r\n", /* u:omk_nope */
                         "Authorization: Basic !!!notbase64\r\n",
                         "Authorization: Basic bm9jb2xvbg==\r\n", /* nocolon */
                         "Authorization: Digest x\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            httpc_request(S.port, "POST", "/write?precision=ms", bad[i], body, strlen(body), &r), 0);
        srvtest_assert_error(&r, 401, "unauthorized");
        httpc_resp_free(&r);
    }
    assert_int_equal(
        httpc_request(S.port, "POST", "/write?precision=ms&p=omk_wrong", "", body, strlen(body), &r),
        0);
    srvtest_assert_error(&r, 401, "unauthorized");
    httpc_resp_free(&r);
    free(ingest);
}

/* ---- gzip ---- */

static void test_gzip_good_bad_and_bomb(void **state)
{
    char body[128], v[64];
    snprintf(body, sizeof(body), "lpt_gz,host=z bytes=123u %lld\n", (long long)now_ms());
    size_t zn;
    unsigned char *z = gz(body, strlen(body), &zn);
    httpc_resp_t r;
    post("/api/v1/write?precision=ms", "Content-Encoding: gzip\r\n", z, zn, &r);
    assert_int_equal(r.status, 204);
    httpc_resp_free(&r);
    assert_int_equal(query("lpt_gz_bytes", v, sizeof(v)), 1);
    assert_string_equal(v, "123");
    post("/api/v1/write", "Content-Encoding: gzip\r\n", z, zn - 9, &r);
    expect_error(&r, 400, "bad_data", "gzip body is truncated");
    httpc_resp_free(&r);
    z[zn - 8] ^= 0xff; /* CRC-32 trailer: the data decodes but fails its check */
    post("/api/v1/write", "Content-Encoding: gzip\r\n", z, zn, &r);
    expect_error(&r, 400, "bad_data", "gzip body is corrupt");
    httpc_resp_free(&r);
    free(z);
    post("/api/v1/write", "Content-Encoding: gzip\r\n", "m v=1", 5, &r);
    expect_error(&r, 400, "bad_data", "not gzip");
    httpc_resp_free(&r);
    post("/api/v1/write", "Content-Encoding: br\r\n", "m v=1", 5, &r);
    expect_error(&r, 415, "unsupported_media_type", "Content-Encoding 'br'");
    httpc_resp_free(&r);

    /* 4 MB of valid lines in a few KB: past 16 x 64 KiB decoded, so 413, nothing stored. */
    size_t big = 4 * 1024 * 1024;
    char *lines = malloc(big);
    for (size_t i = 0; i + 13 <= big; i += 13)
        memcpy(lines + i, "lpt_bomb v=1\n", 13);
    size_t used = big / 13 * 13;
    z = gz(lines, used, &zn);
    free(lines);
    assert_true(zn < 65536);
    post("/api/v1/write", "Content-Encoding: gzip\r\n", z, zn, &r);
    expect_error(&r, 413, "too_large", "decodes to more than the limit");
    httpc_resp_free(&r);
    free(z);
    assert_int_equal(query("lpt_bomb_v", NULL, 0), 0);
}

/* ---- JSON import ---- */

static void test_import_good_and_bad(void **state)
{
    char body[512], v[64];
    long long t = (long long)now_ms();
    snprintf(body, sizeof(body),
             "[{\"metric\":\"imp_temp\",\"labels\":{\"room\":\"a\"},\"samples\":[[%lld,20],"
             "[%lld,21.5]]},{\"metric\":\"imp_nan\",\"samples\":[[%lld,\"NaN\"]]}]",
             t - 2000, t - 1000, t - 1000);
    httpc_resp_t r;
    post("/api/v1/import", "Content-Type: application/json\r\n", body, strlen(body), &r);
    assert_int_equal(r.status, 204);
    httpc_resp_free(&r);
    assert_int_equal(query("imp_temp{room=\"a\"}", v, sizeof(v)), 1);
    assert_string_equal(v, "21.5");
    assert_int_equal(query("imp_nan", v, sizeof(v)), 1);
    assert_string_equal(v, "NaN");

    snprintf(body, sizeof(body),
             "[{\"metric\":\"imp_bad\",\"samples\":[[%lld,1]]},{\"metric\":\"imp_bad\","
             "\"samples\":[[%lld,1],[%lld,\"x\"]]}]",
             t, t, t);
    post("/api/v1/import", NULL, body, strlen(body), &r);
    expect_error(&r, 400, "bad_data", "[1].samples[1][1]: expected a number");
    httpc_resp_free(&r);
    assert_int_equal(query("imp_bad", NULL, 0), 0);
    post("/api/v1/import", NULL, "[{", 2, &r);
    expect_error(&r, 400, "bad_data", "invalid JSON");
    httpc_resp_free(&r);
    size_t zn;
    snprintf(body, sizeof(body), "[{\"metric\":\"imp_gz\",\"samples\":[[%lld,7]]}]", t);
    unsigned char *z = gz(body, strlen(body), &zn);
    post("/api/v1/import", "Content-Encoding: gzip\r\n", z, zn, &r);
    assert_int_equal(r.status, 204);
    httpc_resp_free(&r);
    free(z);
    assert_int_equal(query("imp_gz", v, sizeof(v)), 1);
}

/* ---- metric definitions ---- */

static void metrics_fixture(void);

static void test_definitions(void **state)
{
    const char *h = "{\"name\":\"def_req_seconds\",\"type\":\"histogram\",\"help\":\"Request "
                    "time.\",\"unit\":\"seconds\",\"buckets\":[0.1,1]}";
    httpc_resp_t r;
    post("/api/v1/metrics/definitions", NULL, h, strlen(h), &r);
    assert_int_equal(r.status, 201);
    assert_non_null(strstr(r.body, "\"buckets\":[0.1,1]"));
    httpc_resp_free(&r);
    post("/api/v1/metrics/definitions", NULL, h, strlen(h), &r);
    assert_int_equal(r.status, 200);
    httpc_resp_free(&r);
    const char *g = "{\"name\":\"def_req_seconds\",\"type\":\"gauge\",\"help\":\"g\"}";
    post("/api/v1/metrics/definitions", NULL, g, strlen(g), &r);
    expect_error(&r, 409, "conflict", "already defined as a histogram");
    httpc_resp_free(&r);
    const char *badb =
        "{\"name\":\"def_x\",\"type\":\"histogram\",\"help\":\"x\",\"buckets\":[2,1]}";
    post("/api/v1/metrics/definitions", NULL, badb, strlen(badb), &r);
    expect_error(&r, 422, "bad_data", "buckets[1]: bucket bounds must be strictly increasing");
    httpc_resp_free(&r);
    post("/api/v1/metrics/definitions", NULL, "{\"name\":", 8, &r);
    expect_error(&r, 400, "bad_data", "invalid JSON");
    httpc_resp_free(&r);
    const char *c = "{\"name\":\"def_jobs_total\",\"type\":\"counter\",\"help\":\"Jobs.\"}";
    post("/api/v1/metrics/definitions", NULL, c, strlen(c), &r);
    assert_int_equal(r.status, 201);
    httpc_resp_free(&r);

    assert_int_equal(
        httpc_request(S.port, "GET", "/api/v1/metrics/definitions", S.auth, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "name")),
                        "def_jobs_total");
    json_decref(j);
    httpc_resp_free(&r);

    /* Writes that contradict the histogram are refused, whole request. */
    const char *nole = "def_jobs_total value=1\ndef_req_seconds_bucket,h=x value=3\n";
    post("/api/v1/write", NULL, nole, strlen(nole), &r);
    expect_error(&r, 400, "bad_data", "line 2: def_req_seconds_bucket needs an 'le' label");
    httpc_resp_free(&r);
    assert_int_equal(query("def_jobs_total", NULL, 0), 0);
    const char *bare = "def_req_seconds value=3\n";
    post("/api/v1/write", NULL, bare, strlen(bare), &r);
    expect_error(&r, 400, "bad_data", "line 1: def_req_seconds is a histogram");
    httpc_resp_free(&r);
    /* A proper histogram and a counter that resets (allowed, as in Prometheus). */
    metrics_fixture();
    char v[64];
    assert_int_equal(query("def_jobs_total", v, sizeof(v)), 1);
    assert_string_equal(v, "2");
}

/* ---- GET /metrics ---- */

static char *get_metrics(const char *accept, char *ctype, size_t clen)
{
    char h[1400];
    snprintf(h, sizeof(h), "%s%s", S.auth, accept ? accept : "");
    httpc_resp_t r;
    assert_int_equal(httpc_request(S.port, "GET", "/metrics", h, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(httpc_header(&r, "content-type", ctype, clen));
    char *body = strdup(r.body);
    httpc_resp_free(&r);
    return body;
}

/* What /metrics must show, made here so the test also runs alone: two definitions, data
 * for them (the counter reset on the way), one refused write. */
static void metrics_fixture(void)
{
    static const char *const defs[] = {
        "{\"name\":\"def_req_seconds\",\"type\":\"histogram\",\"help\":\"Request time.\","
        "\"unit\":\"seconds\",\"buckets\":[0.1,1]}",
        "{\"name\":\"def_jobs_total\",\"type\":\"counter\",\"help\":\"Jobs.\"}",
    };
    httpc_resp_t r;
    for (size_t i = 0; i < 2; i++) {
        post("/api/v1/metrics/definitions", NULL, defs[i], strlen(defs[i]), &r);
        assert_true(r.status == 200 || r.status == 201);
        httpc_resp_free(&r);
    }
    char ok[512];
    long long t = (long long)now_ms();
    snprintf(ok, sizeof(ok),
             "def_req_seconds,h=x,le=0.1 bucket=1 %lld\ndef_req_seconds,h=x,le=1 bucket=4 %lld\n"
             "def_req_seconds,h=x,le=+Inf bucket=5 %lld\ndef_req_seconds,h=x sum=2.5,count=5 "
             "%lld\ndef_jobs_total value=10 %lld\ndef_jobs_total value=2 %lld\n",
             t, t, t, t, t - 1000, t);
    post("/api/v1/write?precision=ms", NULL, ok, strlen(ok), &r);
    assert_int_equal(r.status, 204);
    httpc_resp_free(&r);
    post("/api/v1/write", NULL, "bad", 3, &r);
    assert_int_equal(r.status, 400);
    httpc_resp_free(&r);
}

static void test_metrics_exposition(void **state)
{
    char ct[128], why[256];
    metrics_fixture();
    char *t = get_metrics(NULL, ct, sizeof(ct));
    assert_non_null(strstr(ct, "text/plain; version=0.0.4"));
    if (expo_check(t, 0, why, sizeof(why)) != 0)
        fail_msg("%s\n%s", why, t);
    static const char *const families[] = {
        "# TYPE omega_monitor_ingested_samples_total counter\n",
        "# TYPE omega_monitor_ingest_requests_total counter\n",
        "omega_monitor_ingest_requests_total{status=\"204\"} ",
        "omega_monitor_ingest_requests_total{status=\"400\"} ",
        "# TYPE omega_monitor_http_requests_total counter\n",
        "omega_monitor_http_requests_total{code=\"204\"} ",
        "# TYPE omega_monitor_http_request_duration_seconds histogram\n",
        "omega_monitor_http_request_duration_seconds_bucket{handler=\"query\",le=\"+Inf\"} ",
        "omega_monitor_http_request_duration_seconds_count{handler=\"ingest\"} ",
        "# TYPE omega_monitor_http_queue_depth gauge\n",
        "# TYPE omega_monitor_live_clients gauge\n",
        "# TYPE omega_monitor_storage_series gauge\n",
        "# TYPE omega_monitor_storage_disk_bytes gauge\n",
        "omega_monitor_build_info{version=\"",
        /* defined application metrics with their latest values */
        "# HELP def_jobs_total Jobs.\n# TYPE def_jobs_total counter\ndef_jobs_total 2\n",
        "# TYPE def_req_seconds histogram\n",
        "def_req_seconds_bucket{h=\"x\",le=\"0.1\"} 1\ndef_req_seconds_bucket{h=\"x\",le=\"1\"} 4\n"
        "def_req_seconds_bucket{h=\"x\",le=\"+Inf\"} 5\ndef_req_seconds_sum{h=\"x\"} 2.5\n"
        "def_req_seconds_count{h=\"x\"} 5\n",
    };
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        if (!strstr(t, families[i]))
            fail_msg("missing \"%s\" in:\n%s", families[i], t);
    assert_null(strstr(t, "omega_monitor_ingested_samples_total 0\n"));
    if (access("/usr/bin/promtool", X_OK) == 0) {
        FILE *f = popen("/usr/bin/promtool check metrics > /dev/null 2>&1", "w");
        assert_non_null(f);
        fputs(t, f);
        assert_int_equal(pclose(f), 0);
    }
    free(t);

    t = get_metrics("Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5\r\n", ct,
                    sizeof(ct));
    assert_non_null(strstr(ct, "application/openmetrics-text"));
    if (expo_check(t, 1, why, sizeof(why)) != 0)
        fail_msg("%s\n%s", why, t);
    assert_non_null(strstr(t, "# TYPE omega_monitor_ingested_samples counter\n"));
    assert_non_null(strstr(t, "# UNIT def_req_seconds seconds\n"));
    free(t);

    httpc_resp_t r;
    assert_int_equal(httpc_request(S.port, "GET", "/metrics", NULL, NULL, 0, &r), 0);
    expect_error(&r, 401, "unauthorized", "authentication required");
    httpc_resp_free(&r);
}

/* The live client gauge follows WebSocket connects and disconnects. */
static double live_clients(void)
{
    char ct[128];
    char *t = get_metrics(NULL, ct, sizeof(ct));
    const char *p = strstr(t, "\nomega_monitor_live_clients ");
    assert_non_null(p);
    double v = strtod(p + strlen("\nomega_monitor_live_clients "), NULL);
    free(t);
    return v;
}

static void test_metrics_live_clients(void **state)
{
    double before = live_clients();
    wsc_t c;
    assert_int_equal(wsc_connect(&c, S.port, "/api/v1/live", "omega-live.v1"), 101);
    assert_true(live_clients() == before + 1);
    wsc_close(&c);
    /* The server notices the close asynchronously: poll, bounded by count. */
    double now = before + 1;
    for (int i = 0; i < 200 && now != before; i++) {
        usleep(10000);
        now = live_clients();
    }
    assert_true(now == before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_and_read_back),
        cmocka_unit_test(test_influx_v1_alias_with_params),
        cmocka_unit_test(test_bad_line_rejects_whole_request),
        cmocka_unit_test(test_malformed_kinds_name_their_line),
        cmocka_unit_test(test_auth_and_size_errors),
        cmocka_unit_test(test_api_keys_scopes),
        cmocka_unit_test(test_client_credential_forms),
        cmocka_unit_test(test_gzip_good_bad_and_bomb),
        cmocka_unit_test(test_import_good_and_bad),
        cmocka_unit_test(test_definitions),
        cmocka_unit_test(test_metrics_exposition),
        cmocka_unit_test(test_metrics_live_clients),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
