/* SPDX-License-Identifier: Apache-2.0 */
/* Integration tests of the live stream (/api/v1/live) against the real server: frames pushed
 * when a write touches a subscribed metric (not only at the interval), and bad input —
 * malformed, oversized, binary and out-of-order messages, 10,000 subscriptions on one socket,
 * and a client that never reads (disconnected; the server and other clients unaffected);
 * then, on a second server with a 1 s ping and a 3 s idle timeout, WebSocket keep-alive:
 * clients answering pings stay, silent ones are closed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "httpc.h"
#include "srvtest.h"
#include "testutil.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ADMIN_PW "live-test-Pa55word-0123"
#define HOUR_MS  "3600000"

static srvtest_t S;

static char *const server_env[] = {
    "OMEGA_ADMIN_PASSWORD=" ADMIN_PW,
    "OMEGA_PERFORMANCE_MONITOR_METRICS_COLLECTION_INTERVAL=1000",
    NULL,
};

static int group_setup(void **state)
{
    (void)state;
    return srvtest_start_session(&S, "live", server_env, "admin", ADMIN_PW);
}

static int group_teardown(void **state)
{
    (void)state;
    return srvtest_stop(&S);
}

static void open_live(wsc_t *c)
{
    char path[1300];
    snprintf(path, sizeof(path), "/api/v1/live?token=%s", S.token);
    assert_int_equal(wsc_connect(c, S.port, path, "omega-live.v1"), 101);
}

/* Next text message as JSON (the test fails on anything else within 20 s). */
static json_t *next_json(wsc_t *c)
{
    char *payload = NULL;
    int code = 0;
    int op = wsc_recv(c, 20000, &payload, NULL, &code); /* generous: shared, loaded CI */
    if (op != 1) {
        srvtest_dump_log(&S);
        fail_msg("expected a text message, got opcode %d (close code %d)", op, code);
    }
    json_t *j = json_loads(payload, 0, NULL);
    free(payload);
    assert_non_null(j);
    return j;
}

static const char *jstr(json_t *j, const char *k)
{
    const char *s = json_string_value(json_object_get(j, k));
    return s ? s : "";
}

/* Next "samples" message of subscription id, skipping alert and job events; returns the
 * first series' value (NaN when the result is empty). Other messages fail the test. */
static double next_value(wsc_t *c, const char *id)
{
    json_t *j = next_json(c);
    for (int i = 0;
         i < 100 && (strcmp(jstr(j, "type"), "alert") == 0 || strcmp(jstr(j, "type"), "job") == 0);
         i++) {
        json_decref(j); /* events broadcast to every reader (built-in alerts) */
        j = next_json(c);
    }
    if (strcmp(jstr(j, "type"), "samples") != 0 || strcmp(jstr(j, "id"), id) != 0)
        fail_msg("expected samples of %s, got %s %s", id, jstr(j, "type"), jstr(j, "error"));
    json_t *series = json_object_get(j, "series");
    double v = json_array_size(series)
                   ? json_number_value(json_object_get(json_array_get(series, 0), "value"))
                   : (double)NAN;
    json_decref(j);
    return v;
}

static void write_lp(const char *body)
{
    httpc_resp_t r;
    assert_int_equal(httpc_request(S.port, "POST", "/api/v1/write", S.auth, body, strlen(body), &r),
                     0);
    assert_int_equal(r.status, 204);
    httpc_resp_free(&r);
}

static void subscribe(wsc_t *c, const char *id, const char *query_json, const char *interval)
{
    char m[512];
    snprintf(m, sizeof(m), "{\"type\":\"subscribe\",\"id\":\"%s\",\"query\":%s,\"interval_ms\":%s}",
             id, query_json, interval);
    assert_int_equal(wsc_send_text(c, m), 0);
}

/* With an interval of an hour, every frame after the first is one a write pushed. */
static void test_write_pushes_a_frame(void **state)
{
    (void)state;
    wsc_t c;
    write_lp("live_push_a value=1\nlive_push_b value=1\nlive_push_c value=1");
    open_live(&c);
    subscribe(&c, "a", "\"live_push_a\"", HOUR_MS);
    assert_true(next_value(&c, "a") == 1.0);
    write_lp("live_push_a value=42");
    assert_true(next_value(&c, "a") == 42.0);
    /* A write of another metric pushes nothing: the next frame carries the next value. */
    write_lp("live_push_b value=7");
    write_lp("live_push_a value=43");
    assert_true(next_value(&c, "a") == 43.0);
    /* Expressions: the metric inside functions and aggregations is found. */
    subscribe(&c, "b", "\"max by (x) (live_push_b) * 2\"", HOUR_MS);
    assert_true(next_value(&c, "b") == 14.0);
    write_lp("live_push_b value=5");
    assert_true(next_value(&c, "b") == 10.0);
    /* A selector without a name may read any metric: any write pushes it (the system
     * collector's too, so frames with the old value may come first). */
    subscribe(&c, "c", "\"{__name__=\\\"live_push_c\\\"}\"", HOUR_MS);
    assert_true(next_value(&c, "c") == 1.0);
    write_lp("live_push_c value=9");
    double v = 1.0;
    for (int i = 0; i < 50 && v == 1.0; i++)
        v = next_value(&c, "c");
    assert_true(v == 9.0);
    wsc_close(&c);
}

/* Send one frame with the given first byte (FIN + opcode) and a zero mask. */
static void send_raw_frame(wsc_t *c, unsigned char b0, const char *p, size_t n)
{
    unsigned char hdr[8] = {b0, (unsigned char)(0x80 | n), 0, 0, 0, 0};
    assert_true(n < 126);
    assert_int_equal(send(c->fd, hdr, 6, MSG_NOSIGNAL), 6);
    if (n)
        assert_int_equal(send(c->fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void expect_error(wsc_t *c, const char *needle)
{
    json_t *j = next_json(c);
    assert_string_equal(jstr(j, "type"), "error");
    if (!strstr(jstr(j, "error"), needle))
        fail_msg("error \"%s\" does not mention \"%s\"", jstr(j, "error"), needle);
    json_decref(j);
}

/* The server closes c with code want. When the client still had bytes in flight the
 * kernel may reset the connection and lose the close frame: then the socket must be ended
 * (EOF or reset), not merely quiet. */
static void expect_close(wsc_t *c, int want)
{
    char *payload = NULL;
    int code = 0, op;
    do { /* frames queued before the close may still come first */
        free(payload);
        payload = NULL;
        op = wsc_recv(c, 5000, &payload, NULL, &code);
    } while (op == 1);
    free(payload);
    if (op == 8) {
        assert_int_equal(code, want);
    } else {
        char b;
        ssize_t r = recv(c->fd, &b, 1, MSG_DONTWAIT);
        if (!(r == 0 || (r < 0 && errno == ECONNRESET)))
            fail_msg("expected close %d, the socket is still open (recv %zd, errno %d)", want, r,
                     errno);
    }
    wsc_close(c);
}

static void test_malformed_and_out_of_order(void **state)
{
    (void)state;
    wsc_t c;
    open_live(&c);
    static const char *const bad[] = {
        "[1,2]",
        "{\"type\":\"subscribe\",\"type\":\"subscribe\"}",
        "{\"type\":7}",
        "{\"type\":\"subscribe\",\"id\":\"" /* 65 characters */
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"query\":\"up\"}",
        "{\"type\":\"subscribe\",\"id\":\"q\"}",
        "{\"type\":\"subscribe\",\"id\":\"q\",\"query\":\"live_push_a\",\"interval_ms\":\"1s\"}",
        "{\"type\":\"subscribe\",\"id\":\"q\",\"query\":\"live_push_a\",\"interval_ms\":1e12}",
        "{\"type\":\"subscribe\",\"id\":\"q\",\"query\":\"sum(\"}",
        "{\"type\":\"unsubscribe\",\"id\":\"never-subscribed\"}",
        "{\"type\":\"unsubscribe\"}",
        "{\"type\":\"subscribe\",\"id\":\"q\",\"query\":\"live_push_a\",\"interval_ms\":99}",
    };
    static const char *const needles[] = {
        "JSON object",
        "duplicate",
        "type",
        "1 to 64",
        "query",
        "interval_ms",
        "interval_ms",
        "",
        "no such subscription",
        "no such subscription",
        "interval_ms",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(wsc_send_text(&c, bad[i]), 0);
        expect_error(&c, needles[i]);
    }
    /* JSON nested deeper than any message needs. */
    char deep[4200];
    size_t n = 0;
    for (int i = 0; i < 2100; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    assert_int_equal(wsc_send_text(&c, deep), 0);
    expect_error(&c, "");
    /* A binary frame is not part of the protocol (even with JSON inside). */
    const char *sub = "{\"type\":\"subscribe\",\"id\":\"bin\",\"query\":\"live_push_a\"}";
    send_raw_frame(&c, 0x82, sub, strlen(sub));
    expect_error(&c, "text");
    /* Subscribing twice with one id replaces the query; unsubscribe then stops it. */
    subscribe(&c, "r", "\"live_push_a\"", HOUR_MS);
    assert_true(next_value(&c, "r") == 43.0);
    subscribe(&c, "r", "\"live_push_b\"", HOUR_MS);
    assert_true(next_value(&c, "r") == 5.0);
    assert_int_equal(wsc_send_text(&c, "{\"type\":\"unsubscribe\",\"id\":\"r\"}"), 0);
    assert_int_equal(wsc_send_text(&c, "{\"type\":\"unsubscribe\",\"id\":\"r\"}"), 0);
    expect_error(&c, "no such subscription");
    /* A second auth with a bad token ends the session. */
    assert_int_equal(wsc_send_text(&c, "{\"type\":\"auth\",\"token\":\"not.a.token\"}"), 0);
    expect_close(&c, 4401);
}

static void test_frame_level_abuse_closes(void **state)
{
    (void)state;
    wsc_t c;
    /* A message over 64 KiB: 1009. */
    open_live(&c);
    size_t big = 70 * 1024;
    char *msg = malloc(big + 1);
    memset(msg, ' ', big);
    msg[0] = '{';
    msg[big - 1] = '}';
    msg[big] = '\0';
    assert_int_equal(wsc_send_text(&c, msg), 0);
    free(msg);
    expect_close(&c, 1009);
    /* Fragments adding up to over 64 KiB: 1009 as well. */
    open_live(&c);
    char chunk[100];
    memset(chunk, ' ', sizeof(chunk));
    send_raw_frame(&c, 0x01, chunk, sizeof(chunk));
    int closed = 0;
    for (int i = 0; i < 700 && !closed; i++) {
        unsigned char hdr[6] = {0x00, 0x80 | 100, 0, 0, 0, 0};
        closed = send(c.fd, hdr, 6, MSG_NOSIGNAL) != 6 ||
                 send(c.fd, chunk, sizeof(chunk), MSG_NOSIGNAL) != (ssize_t)sizeof(chunk);
    }
    expect_close(&c, 1009);
    /* A continuation without a first fragment and invalid UTF-8: protocol errors. */
    open_live(&c);
    send_raw_frame(&c, 0x80, "{}", 2);
    expect_close(&c, 1002);
    open_live(&c);
    send_raw_frame(&c, 0x81, "{\"type\":\"\xff\xfe\"}", 14);
    expect_close(&c, 1007);
    /* The server still serves new clients. */
    open_live(&c);
    subscribe(&c, "ok", "\"live_push_a\"", HOUR_MS);
    assert_true(next_value(&c, "ok") == 43.0);
    wsc_close(&c);
}

/* 10,000 subscriptions from one socket: the first 64 are accepted, every other one gets a
 * clear error; the client reads meanwhile, so it is told of dropped frames, not cut off. */
static void test_ten_thousand_subscriptions(void **state)
{
    (void)state;
    wsc_t c;
    open_live(&c);
    int limit_errors = 0, samples = 0, lags = 0;
    for (int i = 0; i < 10000; i++) {
        char m[200];
        snprintf(m, sizeof(m),
                 "{\"type\":\"subscribe\",\"id\":\"s%d\",\"query\":\"live_push_a\","
                 "\"interval_ms\":" HOUR_MS "}",
                 i);
        /* Read whatever arrives until the socket takes the next message: a client that
         * reads while it floods. */
        for (;;) {
            struct pollfd p = {c.fd, POLLIN | POLLOUT, 0};
            assert_int_equal(poll(&p, 1, 20000), 1);
            if (c.npending == 0 && !(p.revents & POLLIN))
                break;
            json_t *j = next_json(&c);
            limit_errors += strstr(jstr(j, "error"), "at most 64 subscriptions") != NULL;
            samples += strcmp(jstr(j, "type"), "samples") == 0;
            lags += strcmp(jstr(j, "type"), "lag") == 0;
            json_decref(j);
        }
        assert_int_equal(wsc_send_text(&c, m), 0);
    }
    assert_int_equal(wsc_send_text(&c, "{\"type\":\"unsubscribe\",\"id\":\"s0\"}"), 0);
    subscribe(&c, "after", "\"live_push_a\"", HOUR_MS);
    for (int i = 0; i < 20000; i++) {
        json_t *j = next_json(&c);
        int done = strcmp(jstr(j, "id"), "after") == 0;
        if (done)
            assert_string_equal(jstr(j, "type"), "samples");
        limit_errors += strstr(jstr(j, "error"), "at most 64 subscriptions") != NULL;
        samples += strcmp(jstr(j, "type"), "samples") == 0;
        lags += strcmp(jstr(j, "type"), "lag") == 0;
        json_decref(j);
        if (done)
            break;
    }
    assert_true(limit_errors > 0);
    assert_true(samples >= 1 && samples <= 65);
    /* Every refusal arrived or was counted in a lag message. */
    assert_true(limit_errors + lags > 0);
    wsc_close(&c);
}

static double live_clients(void)
{
    httpc_resp_t r;
    assert_int_equal(httpc_request(S.port, "GET", "/metrics", S.auth, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    const char *p = strstr(r.body, "\nomega_monitor_live_clients ");
    assert_non_null(p);
    double v = strtod(p + strlen("\nomega_monitor_live_clients "), NULL);
    httpc_resp_free(&r);
    return v;
}

/* A client that subscribes to large results and never reads: its socket buffers fill, its
 * queue overflows and the server disconnects it (the live-client gauge drops: the server
 * closed it); ingestion, /metrics and another client carry on meanwhile. */
static void test_client_that_never_reads_is_dropped(void **state)
{
    (void)state;
    size_t cap = 600 * 80, n = 0;
    char *body = malloc(cap);
    for (int i = 0; i < 600; i++)
        n += (size_t)snprintf(body + n, cap - n,
                              "live_big,series=s%04d,pad=padding-padding value=%d\n", i, i);
    write_lp(body);
    free(body);
    double before = live_clients();
    wsc_t slow, other;
    open_live(&slow);
    for (int i = 0; i < 64; i++) {
        char id[16];
        snprintf(id, sizeof(id), "big%d", i);
        subscribe(&slow, id, "\"live_big\"", "100");
    }
    open_live(&other);
    subscribe(&other, "o", "\"live_push_a\"", "1000");
    assert_true(live_clients() == before + 2);
    /* Bounded: the server gives a stalled client 10 s; allow 60. */
    int gone = 0, frames = 0;
    for (int i = 0; i < 600 && !gone; i++) {
        usleep(100000);
        gone = live_clients() == before + 1;
        write_lp("live_push_b value=5"); /* ingestion carries on */
        if (i % 10 == 0) /* the other client keeps getting its frames (1 s interval) */
            frames += next_value(&other, "o") == 43.0;
    }
    assert_true(gone);
    assert_true(frames >= 1);
    wsc_close(&slow);
    wsc_close(&other);
}

/* ---- keep-alive: a second server pinging after 1 s and hanging up after 3 s ---- */

static srvtest_t K;

static char *const keepalive_env[] = {
    "OMEGA_ADMIN_PASSWORD=" ADMIN_PW,
    "OMEGA_SERVER_LIVE_PING_INTERVAL=1s",
    "OMEGA_SERVER_LIVE_IDLE_TIMEOUT=3s",
    NULL,
};

static int keepalive_setup(void **state)
{
    (void)state;
    return srvtest_start_session(&K, "live-keepalive", keepalive_env, "admin", ADMIN_PW);
}

static int keepalive_teardown(void **state)
{
    (void)state;
    return srvtest_stop(&K);
}

static void open_keepalive(wsc_t *c)
{
    char path[1300];
    snprintf(path, sizeof(path), "/api/v1/live?token=%s", K.token);
    assert_int_equal(wsc_connect(c, K.port, path, "omega-live.v1"), 101);
}

/* omega_monitor_live_clients of the keep-alive server. */
static double keepalive_clients(void)
{
    httpc_resp_t r;
    assert_int_equal(httpc_request(K.port, "GET", "/metrics", K.auth, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    const char *p = strstr(r.body, "\nomega_monitor_live_clients ");
    assert_non_null(p);
    double v = strtod(p + strlen("\nomega_monitor_live_clients "), NULL);
    httpc_resp_free(&r);
    return v;
}

/* Read for about step_ms (answering pings unless c->no_pong); 1 once the server closed. */
static int read_for(wsc_t *c, int step_ms)
{
    char *payload = NULL;
    int code = 0;
    if (!c->eof && wsc_recv(c, step_ms, &payload, NULL, &code) >= 0)
        free(payload);
    return c->eof;
}

/* read_for() until the server closes the connection, for at most limit_ms. Returns 1 when
 * it did. */
static int read_until_closed(wsc_t *c, int limit_ms)
{
    for (int waited = 0; waited < limit_ms && !c->eof; waited += 500)
        read_for(c, 500);
    return c->eof;
}

/* A client that answers pings stays connected well past the idle timeout (3 s), though it
 * sends nothing and nothing is pushed to it, and the socket still works afterwards. */
static void test_client_answering_pings_stays(void **state)
{
    (void)state;
    wsc_t c;
    open_keepalive(&c);
    assert_false(read_until_closed(&c, 10000)); /* three idle timeouts and more */
    assert_true(c.pings >= 2);                  /* about one a second; generous on a loaded box */
    char *payload = NULL;
    int code = 0;
    assert_int_equal(wsc_send_text(&c, "{\"type\":\"subscribe\",\"id\":\"k\","
                                       "\"query\":\"keepalive_probe\",\"interval_ms\":3600000}"),
                     0);
    int samples = 0;
    for (int i = 0; i < 50 && !samples; i++) { /* alert and job events may come first */
        assert_int_equal(wsc_recv(&c, 20000, &payload, NULL, &code), 1);
        samples = strstr(payload, "{\"type\":\"samples\",\"id\":\"k\"") != NULL;
        assert_true(samples || strstr(payload, "\"type\":\"alert\"") ||
                    strstr(payload, "\"type\":\"job\""));
        free(payload);
    }
    assert_true(samples);
    wsc_close(&c);
}

/* A client that reads but never answers pings, and one that never reads at all, are both
 * disconnected once the idle timeout passes (bound: 3 s; allowed: 30 s), the server counts
 * them gone, and a client answering pings meanwhile is unaffected. */
static void test_silent_clients_are_closed(void **state)
{
    (void)state;
    /* The previous test's socket may still be closing: start from none. */
    for (int i = 0; i < 100 && keepalive_clients() != 0; i++)
        usleep(100000);
    double before = keepalive_clients();
    assert_true(before == 0);
    wsc_t mute, deaf, good;
    open_keepalive(&mute);
    mute.no_pong = 1;
    open_keepalive(&deaf); /* not read below until the server has hung up */
    open_keepalive(&good);
    assert_true(keepalive_clients() == before + 3);
    int gone = 0;
    for (int i = 0; i < 60 && !gone; i++) { /* <= 30 s; good and mute read meanwhile */
        read_for(&good, 250);
        read_for(&mute, 250);
        gone = mute.eof && keepalive_clients() == before + 1;
    }
    assert_true(gone);
    assert_true(mute.pings >= 1); /* it was asked */
    assert_false(good.eof);
    deaf.no_pong = 1;
    assert_true(read_until_closed(&deaf, 5000)); /* it was closed while not reading */
    assert_false(read_for(&good, 500));
    wsc_close(&mute);
    wsc_close(&deaf);
    wsc_close(&good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_pushes_a_frame),
        cmocka_unit_test(test_malformed_and_out_of_order),
        cmocka_unit_test(test_frame_level_abuse_closes),
        cmocka_unit_test(test_ten_thousand_subscriptions),
        cmocka_unit_test(test_client_that_never_reads_is_dropped),
    };
    const struct CMUnitTest keepalive[] = {
        cmocka_unit_test(test_client_answering_pings_stays),
        cmocka_unit_test(test_silent_clients_are_closed),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    return failed + cmocka_run_group_tests(keepalive, keepalive_setup, keepalive_teardown);
}
