/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus remote_write decoding: the snappy block decoder (hand-made streams with
 * literals and every kind of back-reference, and hostile ones) and the protobuf
 * WriteRequest parser (messages built here field by field, the malformed ones too). The
 * interoperability proof with a real Prometheus is tests/promwrite/run.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omega/ingest.h"

/* ---- snappy ---- */

static void expect_snappy(const char *in, size_t len, const char *want)
{
    char *out = NULL;
    size_t n = 0;
    omega_error_t err;
    int rc = omega_snappy_decode(in, len, 1 << 20, &out, &n, &err);
    if (rc != 0)
        fail_msg("decode failed: %s", err.message);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    assert_int_equal(out[n], '\0');
    free(out);
}

static void expect_snappy_error(const char *in, size_t len, size_t max, int code, const char *text)
{
    char *out = (char *)0x1;
    size_t n = 0;
    omega_error_t err;
    assert_int_equal(omega_snappy_decode(in, len, max, &out, &n, &err), code);
    if (!strstr(err.message, text))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, text);
    assert_ptr_equal(out, (char *)0x1); /* untouched on failure */
}

static void test_snappy_streams(void **state)
{
    /* literal "abc" then copy(len 9, offset 3, 1-byte form): overlapping forward copy */
    expect_snappy("\x0c\x08" "abc" "\x15\x03", 7, "abcabcabcabc");
    /* empty */
    expect_snappy("\x00", 1, "");
    /* copy with a 2-byte offset (tag 2): "hello " + copy(len 5, off 6) */
    expect_snappy("\x0b\x14" "hello " "\x12\x06\x00", 11, "hello hello");
    /* copy with a 4-byte offset (tag 3) */
    expect_snappy("\x08\x0c" "wxyz" "\x0f\x04\x00\x00\x00", 11, "wxyzwxyz");
    /* a 70-byte literal with a one-byte length (tag 60) */
    char big[80], want[71];
    memset(want, 'q', 70);
    want[70] = '\0';
    big[0] = 70;
    big[1] = (char)(60 << 2);
    big[2] = 69;
    memset(big + 3, 'q', 70);
    expect_snappy(big, 73, want);
}

static void test_snappy_hostile(void **state)
{
    expect_snappy_error("", 0, 100, OMEGA_EINVAL, "preamble");
    expect_snappy_error("\xff\xff\xff\xff\xff\xff", 6, 100, OMEGA_EINVAL, "preamble");
    /* declares 1 GiB: refused before any allocation */
    expect_snappy_error("\x80\x80\x80\x80\x04", 5, 1 << 20, OMEGA_E2BIG, "limit");
    /* back-reference at the start, offset 0, past the declared length */
    expect_snappy_error("\x04\x01\x01", 3, 100, OMEGA_EINVAL, "before the start");
    expect_snappy_error("\x08\x08" "abc" "\x01\x00", 7, 100, OMEGA_EINVAL, "before the start");
    expect_snappy_error("\x05\x08" "abc" "\x15\x03", 7, 100, OMEGA_EINVAL, "declared length");
    /* literal longer than the input, truncated tags, output shorter than declared */
    expect_snappy_error("\x0a\x24" "abc", 5, 100, OMEGA_EINVAL, "literal");
    expect_snappy_error("\x0a\xf0", 2, 100, OMEGA_EINVAL, "truncated literal");
    expect_snappy_error("\x0a\x08" "abc" "\x12\x03", 7, 100, OMEGA_EINVAL, "truncated");
    expect_snappy_error("\x0a\x08" "abc", 5, 100, OMEGA_EINVAL, "shorter");
}

/* ---- protobuf building ---- */

typedef struct pb {
    unsigned char b[4096];
    size_t n;
} pb_t;

static void pb_varint(pb_t *p, uint64_t v)
{
    do {
        unsigned char c = v & 0x7f;
        v >>= 7;
        p->b[p->n++] = c | (v ? 0x80 : 0);
    } while (v);
}

static void pb_bytes(pb_t *p, unsigned field, const void *data, size_t len)
{
    pb_varint(p, (uint64_t)field << 3 | 2);
    pb_varint(p, len);
    memcpy(p->b + p->n, data, len);
    p->n += len;
}

static void pb_label(pb_t *ts, const char *name, const char *value)
{
    pb_t l = {.n = 0};
    pb_bytes(&l, 1, name, strlen(name));
    pb_bytes(&l, 2, value, strlen(value));
    pb_bytes(ts, 1, l.b, l.n);
}

static void pb_sample(pb_t *ts, double v, int64_t t)
{
    pb_t s = {.n = 0};
    uint64_t bits;
    memcpy(&bits, &v, 8);
    pb_varint(&s, 1 << 3 | 1);
    for (int i = 0; i < 8; i++)
        s.b[s.n++] = (unsigned char)(bits >> (8 * i));
    pb_varint(&s, 2 << 3 | 0);
    pb_varint(&s, (uint64_t)t);
    pb_bytes(ts, 2, s.b, s.n);
}

static const omega_point_t *parse_ok(const pb_t *req, omega_ingest_batch_t *b, size_t *n,
                                     size_t *stale)
{
    omega_error_t err;
    int rc = omega_promwrite_parse(req->b, req->n, NULL, b, stale, &err);
    if (rc != 0)
        fail_msg("parse failed: %s", err.message);
    return omega_ingest_batch_points(b, n);
}

static void test_write_request(void **state)
{
    pb_t req = {.n = 0}, ts1 = {.n = 0}, ts2 = {.n = 0};
    pb_label(&ts1, "job", "node");
    pb_label(&ts1, "__name__", "up"); /* the name need not come first */
    pb_label(&ts1, "instance", "127.0.0.1:9100");
    pb_sample(&ts1, 1.0, 1700000000000);
    pb_sample(&ts1, 0.0, 1700000015000);
    pb_bytes(&ts1, 3, "\x0a\x00", 2); /* an exemplar: skipped */
    pb_label(&ts2, "__name__", "http_requests_total");
    pb_sample(&ts2, INFINITY, -5);
    union {
        uint64_t u;
        double d;
    } stale = {UINT64_C(0x7ff0000000000002)};
    pb_sample(&ts2, stale.d, 1700000030000);
    pb_sample(&ts2, NAN, 1700000045000); /* an ordinary NaN is a value */
    pb_bytes(&req, 1, ts1.b, ts1.n);
    pb_bytes(&req, 3, "\x08\x01", 2); /* metadata: skipped */
    pb_bytes(&req, 1, ts2.b, ts2.n);
    omega_ingest_batch_t *b = omega_ingest_batch_create();
    size_t n, dropped = 99;
    const omega_point_t *p = parse_ok(&req, b, &n, &dropped);
    assert_int_equal(n, 4);
    assert_int_equal(dropped, 1);
    assert_string_equal(p[0].name, "up");
    assert_int_equal(p[0].n_labels, 2);
    assert_string_equal(p[0].labels[0].name, "job");
    assert_string_equal(p[0].labels[1].value, "127.0.0.1:9100");
    assert_int_equal(p[0].ts_ms, 1700000000000);
    assert_true(p[0].value == 1.0);
    assert_int_equal(p[1].ts_ms, 1700000015000);
    assert_string_equal(p[2].name, "http_requests_total");
    assert_int_equal(p[2].n_labels, 0);
    assert_true(isinf(p[2].value) && p[2].value > 0);
    assert_int_equal(p[2].ts_ms, -5);
    assert_true(isnan(p[3].value));
    assert_int_equal(omega_ingest_batch_origin(b, 3), 1);
    omega_ingest_batch_destroy(b);
}

static void expect_parse_error(const pb_t *req, int code, const char *text)
{
    omega_ingest_batch_t *b = omega_ingest_batch_create();
    omega_error_t err;
    omega_ingest_limits_t lim;
    omega_ingest_limits_init(&lim);
    lim.max_points = 3;
    lim.max_labels = 4;
    assert_int_equal(omega_promwrite_parse(req->b, req->n, &lim, b, NULL, &err), code);
    if (!strstr(err.message, text))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, text);
    omega_ingest_batch_destroy(b);
}

static void test_write_request_bad(void **state)
{
    pb_t req = {.n = 0}, ts = {.n = 0};
    /* no __name__ */
    pb_label(&ts, "job", "x");
    pb_sample(&ts, 1, 1);
    pb_bytes(&req, 1, ts.b, ts.n);
    expect_parse_error(&req, OMEGA_EINVAL, "timeseries[0]: no __name__");
    /* truncated message */
    req.n--;
    expect_parse_error(&req, OMEGA_EINVAL, "malformed");
    /* not protobuf at all: a JSON body */
    pb_t json = {.n = 0};
    memcpy(json.b, "{\"a\":1}", 7);
    json.n = 7;
    expect_parse_error(&json, OMEGA_EINVAL, "malformed");
    /* NUL inside a label value, an empty label name */
    pb_t r2 = {.n = 0}, t2 = {.n = 0}, l = {.n = 0};
    pb_label(&t2, "__name__", "m");
    pb_bytes(&l, 1, "a", 1);
    pb_bytes(&l, 2, "x\0y", 3);
    pb_bytes(&t2, 1, l.b, l.n);
    pb_bytes(&r2, 1, t2.b, t2.n);
    expect_parse_error(&r2, OMEGA_EINVAL, "NUL byte");
    pb_t r3 = {.n = 0}, t3 = {.n = 0};
    pb_label(&t3, "__name__", "m");
    pb_label(&t3, "", "v");
    pb_bytes(&r3, 1, t3.b, t3.n);
    expect_parse_error(&r3, OMEGA_EINVAL, "empty name");
    /* limits: labels and samples */
    pb_t r4 = {.n = 0}, t4 = {.n = 0};
    pb_label(&t4, "__name__", "m");
    for (int i = 0; i < 5; i++) {
        char nm[8];
        snprintf(nm, sizeof(nm), "l%d", i);
        pb_label(&t4, nm, "v");
    }
    pb_bytes(&r4, 1, t4.b, t4.n);
    expect_parse_error(&r4, OMEGA_EINVAL, "more than 4 labels");
    pb_t r5 = {.n = 0}, t5 = {.n = 0};
    pb_label(&t5, "__name__", "m");
    for (int i = 0; i < 4; i++)
        pb_sample(&t5, i, i);
    pb_bytes(&r5, 1, t5.b, t5.n);
    expect_parse_error(&r5, OMEGA_E2BIG, "more than 3 samples");
    /* a sample field with the wrong wire type */
    pb_t r6 = {.n = 0}, t6 = {.n = 0};
    pb_label(&t6, "__name__", "m");
    pb_varint(&t6, 2 << 3 | 0);
    pb_varint(&t6, 7);
    pb_bytes(&r6, 1, t6.b, t6.n);
    expect_parse_error(&r6, OMEGA_EINVAL, "malformed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snappy_streams),
        cmocka_unit_test(test_snappy_hostile),
        cmocka_unit_test(test_write_request),
        cmocka_unit_test(test_write_request_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
