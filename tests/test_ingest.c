/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the ingest module: the line protocol (syntax, escaping, mapping, every
 * malformed kind, incremental feeding, random garbage), gzip (good, corrupt, bomb), the JSON
 * import with its error paths, and metric definitions stored in a real store. The exposition
 * writer has its own file (test_ingest_expo.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "omega/ingest.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define NOW 1700000000123LL

/* ---- helpers ---- */

static omega_ingest_batch_t *lp_ok(const char *text, omega_lp_precision_t prec, size_t want_n)
{
    omega_ingest_batch_t *b = omega_ingest_batch_create();
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_lp_parse(text, strlen(text), prec, NOW, NULL, b, &err);
    if (rc != 0)
        fail_msg("unexpected error: %s", err.message);
    size_t n;
    omega_ingest_batch_points(b, &n);
    assert_int_equal(n, want_n);
    return b;
}

/* Parse text (len bytes) expecting an error whose message is exactly `want`. */
static void lp_bad_n(const char *text, size_t len, int code, const char *want,
                     const omega_ingest_limits_t *lim)
{
    omega_ingest_batch_t *b = omega_ingest_batch_create();
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_lp_parse(text, len, OMEGA_LP_NS, NOW, lim, b, &err);
    if (rc != code || strcmp(err.message, want) != 0)
        fail_msg("rc %d, message \"%s\"; want rc %d, \"%s\"", rc, err.message, code, want);
    assert_true(err.line >= 1);
    omega_ingest_batch_destroy(b);
}

static void lp_bad(const char *text, const char *want)
{
    lp_bad_n(text, strlen(text), OMEGA_EINVAL, want, NULL);
}

static const char *label(const omega_point_t *p, const char *name)
{
    for (size_t i = 0; i < p->n_labels; i++)
        if (!strcmp(p->labels[i].name, name))
            return p->labels[i].value;
    return NULL;
}

/* ---- label rewrite hook ---- */

/* Upper-cases the values of label "note"; counts its calls. */
static char *upper_note(void *ctx, const char *name, const char *value)
{
    (*(int *)ctx)++;
    if (strcmp(name, "note") != 0)
        return NULL;
    char *v = strdup(value);
    for (char *c = v; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 'a' + 'A');
    return v;
}

static void test_rewrite_labels(void **state)
{
    /* The two fields of the first line share one label set. */
    omega_ingest_batch_t *b = lp_ok("m,host=a,note=hello\\ world x=1,y=2 1000000000\n"
                                    "m,host=b,note=bye z=3 1000000000\n"
                                    "m,host=c w=4 1000000000\n",
                                    OMEGA_LP_NS, 4);
    int calls = 0;
    omega_ingest_batch_rewrite_labels(b, upper_note, &calls);
    assert_int_equal(calls, 5); /* every label of every label set once */
    size_t n;
    const omega_point_t *p = omega_ingest_batch_points(b, &n);
    assert_string_equal(label(&p[0], "note"), "HELLO WORLD");
    assert_string_equal(label(&p[1], "note"), "HELLO WORLD");
    assert_string_equal(label(&p[0], "host"), "a"); /* NULL: kept */
    assert_string_equal(label(&p[2], "note"), "BYE");
    assert_null(label(&p[3], "note"));
    assert_string_equal(p[3].labels[0].name, "host");
    omega_ingest_batch_destroy(b);
    /* An empty batch: never called. */
    b = omega_ingest_batch_create();
    calls = 0;
    omega_ingest_batch_rewrite_labels(b, upper_note, &calls);
    assert_int_equal(calls, 0);
    omega_ingest_batch_destroy(b);
}

/* ---- line protocol: good input ---- */

static void test_lp_basic_mapping(void **state)
{
    omega_ingest_batch_t *b = lp_ok(
        "cpu,host=a,region=eu usage=1.5,idle=2i,value=3 1700000000000000000\n", OMEGA_LP_NS, 3);
    size_t n;
    const omega_point_t *p = omega_ingest_batch_points(b, &n);
    assert_string_equal(p[0].name, "cpu_usage");
    assert_string_equal(p[1].name, "cpu_idle");
    assert_string_equal(p[2].name, "cpu"); /* a field named value maps to the measurement */
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(p[i].n_labels, 2);
        assert_string_equal(label(&p[i], "host"), "a");
        assert_string_equal(label(&p[i], "region"), "eu");
        assert_int_equal(p[i].ts_ms, 1700000000000LL);
    }
    assert_true(p[0].value == 1.5 && p[1].value == 2 && p[2].value == 3);
    assert_int_equal(omega_ingest_batch_origin(b, 2), 1);
    omega_ingest_batch_destroy(b);
}

static void test_lp_value_types(void **state)
{
    omega_ingest_batch_t *b = lp_ok("m a=-12i,b=18446744073709551615u,c=1e3,d=-2.5E-2,e=.5,"
                                    "f=+7,g=3.,h=-9223372036854775808i\n",
                                    OMEGA_LP_NS, 8);
    size_t n;
    const omega_point_t *p = omega_ingest_batch_points(b, &n);
    assert_true(p[0].value == -12);
    assert_true(p[1].value == 18446744073709551615.0);
    assert_true(p[2].value == 1000);
    assert_true(p[3].value == -0.025);
    assert_true(p[4].value == 0.5);
    assert_true(p[5].value == 7);
    assert_true(p[6].value == 3);
    assert_true(p[7].value == -9223372036854775808.0);
    assert_int_equal(p[0].ts_ms, NOW); /* no timestamp: receive time */
    omega_ingest_batch_destroy(b);
}

static void test_lp_booleans(void **state)
{
    const char *yes[] = {"t", "T", "true", "True", "TRUE"};
    const char *no[] = {"f", "F", "false", "False", "FALSE"};
    for (int i = 0; i < 5; i++) {
        char line[64];
        snprintf(line, sizeof(line), "m up=%s,down=%s", yes[i], no[i]);
        omega_ingest_batch_t *b = lp_ok(line, OMEGA_LP_NS, 2);
        size_t n;
        const omega_point_t *p = omega_ingest_batch_points(b, &n);
        assert_true(p[0].value == 1 && p[1].value == 0);
        omega_ingest_batch_destroy(b);
    }
    lp_bad("m up=tRUE", "line 1: invalid field value 'tRUE' for field 'up'");
    lp_bad("m up=yes", "line 1: invalid field value 'yes' for field 'up'");
}

static void test_lp_strings_skipped(void **state)
{
    omega_ingest_batch_t *b =
        lp_ok("m msg=\"a, b=c \\\"q\\\" \\\\ end\",x=1,note=\"\" 5000000\n", OMEGA_LP_NS, 1);
    size_t n;
    const omega_point_t *p = omega_ingest_batch_points(b, &n);
    assert_string_equal(p[0].name, "m_x");
    assert_int_equal(p[0].ts_ms, 5);
    omega_ingest_batch_destroy(b);
    /* Only string fields: a valid line that stores nothing. */
    b = lp_ok("m msg=\"hello\"\n", OMEGA_LP_NS, 0);
    omega_ingest_batch_destroy(b);
}

static void test_lp_escapes(void **state)
{
    omega_ingest_batch_t *b =
        lp_ok("my\\ meas\\,x=y,tag\\ key=v\\,a\\=b\\ c\\\\,t2=a\\b f\\=k\\ 1=4\n", OMEGA_LP_NS, 1);
    size_t n;
    const omega_point_t *p = omega_ingest_batch_points(b, &n);
    /* measurement "my meas,x=y" and field "f=k 1", sanitised */
    assert_string_equal(p[0].name, "my_meas_x_y_f_k_1");
    assert_string_equal(label(&p[0], "tag_key"), "v,a=b c\\");
    assert_string_equal(label(&p[0], "t2"), "a\\b"); /* \b is no escape: kept */
    omega_ingest_batch_destroy(b);
}

static void test_lp_sanitising(void **state)
{
    omega_ingest_batch_t *b = lp_ok(
        "9disk.io,dev-name=sda,\xc3\xa9t\xc3\xa9=\xc3\xa9 read.bytes=1,2x=2\n", OMEGA_LP_NS, 2);
    size_t n;
    const omega_point_t *p = omega_ingest_batch_points(b, &n);
    assert_string_equal(p[0].name, "_9disk_io_read_bytes");
    assert_string_equal(p[1].name, "_9disk_io__2x");
    assert_string_equal(label(&p[0], "dev_name"), "sda");
    assert_string_equal(label(&p[0], "_t_"), "\xc3\xa9"); /* one '_' per character */
    for (size_t i = 0; i < n; i++)
        assert_true(omega_metric_name_valid(p[i].name));
    omega_ingest_batch_destroy(b);
}

static void test_lp_precision(void **state)
{
    static const struct {
        omega_lp_precision_t prec;
        const char *ts;
        int64_t ms;
    } cases[] = {
        {OMEGA_LP_NS, "1700000000123456789", 1700000000123LL},
        {OMEGA_LP_US, "1700000000123456", 1700000000123LL},
        {OMEGA_LP_MS, "1700000000123", 1700000000123LL},
        {OMEGA_LP_S, "1700000000", 1700000000000LL},
        {OMEGA_LP_NS, "-1", -1},
        {OMEGA_LP_US, "-1500", -2},
        {OMEGA_LP_S, "-5", -5000},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[80];
        snprintf(line, sizeof(line), "m v=1 %s", cases[i].ts);
        omega_ingest_batch_t *b = lp_ok(line, cases[i].prec, 1);
        size_t n;
        assert_int_equal(omega_ingest_batch_points(b, &n)[0].ts_ms, cases[i].ms);
        omega_ingest_batch_destroy(b);
    }
    omega_lp_precision_t p;
    assert_int_equal(omega_lp_precision_parse(NULL, &p), 0);
    assert_int_equal(p, OMEGA_LP_NS);
    assert_int_equal(omega_lp_precision_parse("u", &p), 0);
    assert_int_equal(p, OMEGA_LP_US);
    assert_int_equal(omega_lp_precision_parse("s", &p), 0);
    assert_int_equal(p, OMEGA_LP_S);
    assert_int_equal(omega_lp_precision_parse("h", &p), OMEGA_EINVAL);
    assert_int_equal(omega_lp_precision_parse("nss", &p), OMEGA_EINVAL);
}

static void test_lp_comments_blank_crlf(void **state)
{
    omega_ingest_batch_t *b = lp_ok("# a comment\r\n\r\n   \n  # indented comment\n"
                                    "m v=1 1000000\r\nm v=2 2000000\r\n\n",
                                    OMEGA_LP_NS, 2);
    size_t n;
    const omega_point_t *p = omega_ingest_batch_points(b, &n);
    assert_int_equal(p[0].ts_ms, 1);
    assert_int_equal(p[1].ts_ms, 2);
    assert_int_equal(omega_ingest_batch_origin(b, 1), 6);
    omega_ingest_batch_destroy(b);
    b = lp_ok("", OMEGA_LP_NS, 0);
    omega_ingest_batch_destroy(b);
}

/* Feeding byte by byte (lines spanning pieces) gives exactly the one-shot result. */
static void test_lp_incremental_equals_oneshot(void **state)
{
    const char *text = "cpu,host=a usage=1.5,idle=2i 1000000\r\n# c\nmem,host=b\\ c "
                       "used=3u,s=\"x\\\"y\" 2000000\nlast v=4";
    omega_ingest_batch_t *one = lp_ok(text, OMEGA_LP_NS, 4);
    omega_ingest_batch_t *inc = omega_ingest_batch_create();
    omega_lp_parser_t *p = omega_lp_parser_create(inc, OMEGA_LP_NS, NOW, NULL);
    omega_error_t err;
    for (size_t i = 0; text[i]; i++)
        assert_int_equal(omega_lp_parser_feed(p, text + i, 1, &err), 0);
    assert_int_equal(omega_lp_parser_finish(p, &err), 0);
    omega_lp_parser_destroy(p);
    size_t n1, n2;
    const omega_point_t *a = omega_ingest_batch_points(one, &n1);
    const omega_point_t *b = omega_ingest_batch_points(inc, &n2);
    assert_int_equal(n1, n2);
    for (size_t i = 0; i < n1; i++) {
        assert_string_equal(a[i].name, b[i].name);
        assert_int_equal(a[i].n_labels, b[i].n_labels);
        for (size_t k = 0; k < a[i].n_labels; k++) {
            assert_string_equal(a[i].labels[k].name, b[i].labels[k].name);
            assert_string_equal(a[i].labels[k].value, b[i].labels[k].value);
        }
        assert_int_equal(a[i].ts_ms, b[i].ts_ms);
        assert_true(a[i].value == b[i].value);
        assert_int_equal(omega_ingest_batch_origin(one, i), omega_ingest_batch_origin(inc, i));
    }
    omega_ingest_batch_destroy(one);
    omega_ingest_batch_destroy(inc);
}

/* ---- line protocol: every malformed kind ---- */

static void test_lp_missing_parts(void **state)
{
    lp_bad("m v=1\nm v=2\ncpu,host=a usage=abc\n",
           "line 3: invalid field value 'abc' for field 'usage'");
    lp_bad("cpu,host=a", "line 1: missing field set");
    lp_bad("cpu,host=a ", "line 1: missing field set");
    lp_bad("cpu", "line 1: missing field set");
    lp_bad(",host=a v=1", "line 1: missing measurement name");
    lp_bad("cpu,=a v=1", "line 1: missing tag key");
    lp_bad("cpu,host v=1", "line 1: missing '=' after tag key 'host'");
    lp_bad("cpu,host= v=1", "line 1: missing value for tag 'host'");
    lp_bad("cpu,host=a,host=b v=1", "line 1: duplicate tag key 'host'");
    lp_bad("cpu,a-b=1,a_b=2 v=1", "line 1: duplicate tag key 'a_b'");
    lp_bad("cpu,__name__=x v=1",
           "line 1: tag key '__name__' is reserved (names starting with '__')");
    lp_bad("cpu v", "line 1: missing '=' and value after field key 'v'");
    lp_bad("cpu v=", "line 1: missing value for field 'v'");
    lp_bad("cpu v=1,", "line 1: missing field key");
    lp_bad("cpu =1", "line 1: missing field key");
    lp_bad("cpu v=1,,w=2", "line 1: missing field key");
    lp_bad("cpu v=\"x\"y", "line 1: unexpected character after the value of field 'v'");
    lp_bad("cpu v=1 123 456", "line 1: unexpected text '456' after the timestamp");
}

static void test_lp_bad_escapes_and_strings(void **state)
{
    lp_bad("cpu\\", "line 1: bad escape: backslash at the end of the line");
    lp_bad("cpu,host=a\\", "line 1: bad escape: backslash at the end of the line");
    lp_bad("cpu v\\", "line 1: bad escape: backslash at the end of the line");
    lp_bad("cpu s=\"abc", "line 1: unterminated string value for field 's'");
    lp_bad("cpu s=\"abc\\\"", "line 1: unterminated string value for field 's'");
    lp_bad("ok v=1\ncpu s=\"multi\nline\"", "line 2: unterminated string value for field 's'");
}

static void test_lp_bad_numbers(void **state)
{
    const char *bad[] = {"1.2.3",
                         "1e",
                         "1e+",
                         "--1",
                         "0x10",
                         "NaN",
                         "Inf",
                         "1e999",
                         "-1u",
                         "1.5i",
                         "9223372036854775808i",
                         "18446744073709551616u",
                         "i",
                         "u",
                         "1_000",
                         "+",
                         "."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char line[64], want[160];
        snprintf(line, sizeof(line), "m v=%s", bad[i]);
        snprintf(want, sizeof(want), "line 1: invalid field value '%s' for field 'v'", bad[i]);
        lp_bad(line, want);
    }
}

static void test_lp_bad_timestamps(void **state)
{
    lp_bad("m v=1 99999999999999999999",
           "line 1: timestamp '99999999999999999999' overflows 64 bits");
    lp_bad("m v=1 -9223372036854775809",
           "line 1: timestamp '-9223372036854775809' overflows 64 bits");
    lp_bad("m v=1 12ab", "line 1: invalid timestamp '12ab' (expected an integer)");
    lp_bad("m v=1 1.5", "line 1: invalid timestamp '1.5' (expected an integer)");
    omega_ingest_batch_t *b = omega_ingest_batch_create();
    omega_error_t err;
    const char *s = "m v=1 9223372036854775807";
    assert_int_equal(omega_lp_parse(s, strlen(s), OMEGA_LP_S, NOW, NULL, b, &err), OMEGA_EINVAL);
    assert_string_equal(err.message, "line 1: timestamp '9223372036854775807' in seconds "
                                     "overflows milliseconds");
    omega_ingest_batch_destroy(b);
}

static void test_lp_nul_and_utf8(void **state)
{
    lp_bad_n("m v=1\nm,h=a\0b v=1\n", 19, OMEGA_EINVAL, "line 2: NUL byte at column 6", NULL);
    lp_bad("m v=1\nm,h=\xff v=1\n", "line 2: invalid UTF-8");
    lp_bad("m,h=\xc0\xaf v=1", "line 1: invalid UTF-8");     /* overlong '/' */
    lp_bad("m,h=\xed\xa0\x80 v=1", "line 1: invalid UTF-8"); /* surrogate */
}

static void test_lp_limits(void **state)
{
    omega_ingest_limits_t lim;
    omega_ingest_limits_init(&lim);
    lim.max_line_bytes = 64;
    char big[200];
    memset(big, 'a', sizeof(big));
    memcpy(big, "m v=1\n", 6);
    big[sizeof(big) - 1] = '\0';
    lp_bad_n(big, strlen(big), OMEGA_EINVAL, "line 2: line exceeds the limit of 64 bytes", &lim);
    big[150] = '\n';
    lp_bad_n(big, strlen(big), OMEGA_EINVAL, "line 2: line exceeds the limit of 64 bytes", &lim);
    big[150] = 'a';
    /* The same huge line fed in pieces is stopped while it is carried, never buffered. */
    omega_ingest_batch_t *b = omega_ingest_batch_create();
    omega_lp_parser_t *p = omega_lp_parser_create(b, OMEGA_LP_NS, NOW, &lim);
    omega_error_t err;
    assert_int_equal(omega_lp_parser_feed(p, big, 40, &err), 0);
    assert_int_equal(omega_lp_parser_feed(p, big + 40, 100, &err), OMEGA_EINVAL);
    assert_string_equal(err.message, "line 2: line exceeds the limit of 64 bytes");
    /* After an error the parser only repeats it. */
    assert_int_equal(omega_lp_parser_feed(p, "m v=1\n", 6, &err), OMEGA_EINVAL);
    assert_int_equal(omega_lp_parser_finish(p, &err), OMEGA_EINVAL);
    omega_lp_parser_destroy(p);
    omega_ingest_batch_destroy(b);

    omega_ingest_limits_init(&lim);
    lim.max_points = 3;
    lp_bad_n("m a=1,b=2\nm c=3,d=4\n", 20, OMEGA_E2BIG,
             "line 2: more than 3 samples in one "
             "request",
             &lim);
    lim.max_labels = 2;
    lp_bad_n("m,a=1,b=2,c=3 v=1", 17, OMEGA_EINVAL, "line 1: more than 2 tags", &lim);
}

/* Random garbage and mutated valid input: never a crash, always 0 or a line-numbered error. */
static void test_lp_random_garbage_never_crashes(void **state)
{
    static const char alphabet[] = "m,= \\\"\n\r#0123456789.eEiu-+tfTF\x00\xff\xc3\xa9"
                                   "abc";
    const char *seed = "cpu,host=a\\ b,t=x usage=1.5,n=2i,s=\"q\\\"\",ok=t 1700000000000000000\n";
    srand(12345);
    char buf[512];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = (size_t)(rand() % (int)sizeof(buf));
        if (iter % 2) {
            for (size_t i = 0; i < len; i++)
                buf[i] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
        } else {
            len = strlen(seed);
            memcpy(buf, seed, len);
            for (int m = 0; m < 1 + rand() % 4; m++)
                buf[rand() % (int)len] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
        }
        omega_ingest_batch_t *b = omega_ingest_batch_create();
        omega_error_t err;
        omega_error_clear(&err);
        int rc = omega_lp_parse(buf, len, (omega_lp_precision_t)(iter % 4), NOW, NULL, b, &err);
        assert_true(rc == 0 || rc == OMEGA_EINVAL);
        if (rc)
            assert_memory_equal(err.message, "line ", 5);
        size_t n;
        const omega_point_t *p = omega_ingest_batch_points(b, &n);
        for (size_t i = 0; i < n; i++) {
            assert_true(omega_metric_name_valid(p[i].name));
            for (size_t k = 0; k < p[i].n_labels; k++)
                assert_true(omega_label_name_valid(p[i].labels[k].name));
        }
        omega_ingest_batch_destroy(b);
    }
}

/* ---- gzip ---- */

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

static int collect_sink(void *ctx, const char *data, size_t len)
{
    omega_buf_append(ctx, data, len);
    return 0;
}

static void test_gzip_roundtrip_and_members(void **state)
{
    const char *text = "cpu v=1\ncpu v=2\n";
    size_t n1, n2;
    unsigned char *a = gz(text, 8, &n1);
    unsigned char *b = gz(text + 8, 8, &n2);
    unsigned char *both = malloc(n1 + n2);
    memcpy(both, a, n1);
    memcpy(both + n1, b, n2);
    omega_buf_t out;
    omega_buf_init(&out, 0);
    omega_error_t err;
    assert_int_equal(omega_gunzip(both, n1 + n2, 1024, collect_sink, &out, &err), 0);
    assert_int_equal(out.len, 16);
    assert_memory_equal(out.data, text, 16);
    omega_buf_deinit(&out);
    free(a);
    free(b);
    free(both);
}

static void test_gzip_bad_input(void **state)
{
    omega_buf_t out;
    omega_buf_init(&out, 0);
    omega_error_t err;
    assert_int_equal(omega_gunzip("plain text", 10, 1024, collect_sink, &out, &err), OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "not gzip"));
    size_t n;
    unsigned char *z = gz("hello hello hello hello", 23, &n);
    assert_int_equal(omega_gunzip(z, n - 6, 1024, collect_sink, &out, &err), OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "truncated"));
    z[n - 3] ^= 0x55; /* length trailer */
    assert_int_equal(omega_gunzip(z, n, 1024, collect_sink, &out, &err), OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "corrupt"));
    free(z);
    omega_buf_deinit(&out);
}

static void test_gzip_bomb_stops_at_limit(void **state)
{
    size_t big = 64 * 1024 * 1024, n;
    char *zeros = calloc(1, big);
    unsigned char *z = gz(zeros, big, &n);
    free(zeros);
    assert_true(n < 200 * 1024); /* ~1000:1 */
    omega_buf_t out;
    omega_buf_init(&out, 0);
    omega_error_t err;
    assert_int_equal(omega_gunzip(z, n, 1024 * 1024, collect_sink, &out, &err), OMEGA_E2BIG);
    assert_true(out.len <= 1024 * 1024);
    assert_non_null(strstr(err.message, "limit of 1048576 bytes"));
    omega_buf_deinit(&out);
    free(z);
}

/* ---- JSON import ---- */

static void test_import_good(void **state)
{
    const char *j = "[{\"metric\":\"temp_celsius\",\"labels\":{\"room\":\"a\",\"empty\":\"\"},"
                    "\"samples\":[[1000,21.5],[2000,\"NaN\"],[3000,\"+Inf\"],[4000,\"-Inf\"]]},"
                    "{\"metric\":\"up\",\"samples\":[[5000,1]]}]";
    omega_ingest_batch_t *b = omega_ingest_batch_create();
    omega_error_t err;
    assert_int_equal(omega_import_parse(j, strlen(j), NULL, b, &err), 0);
    size_t n;
    const omega_point_t *p = omega_ingest_batch_points(b, &n);
    assert_int_equal(n, 5);
    assert_string_equal(p[0].name, "temp_celsius");
    assert_int_equal(p[0].n_labels, 1); /* empty label = no label */
    assert_string_equal(label(&p[0], "room"), "a");
    assert_true(p[0].value == 21.5 && p[0].ts_ms == 1000);
    assert_true(isnan(p[1].value));
    assert_true(isinf(p[2].value) && p[2].value > 0);
    assert_true(isinf(p[3].value) && p[3].value < 0);
    assert_string_equal(p[4].name, "up");
    assert_int_equal(p[4].n_labels, 0);
    assert_int_equal(omega_ingest_batch_origin(b, 4), 1);
    omega_ingest_batch_destroy(b);
}

static void import_bad(const char *j, const char *want)
{
    omega_ingest_batch_t *b = omega_ingest_batch_create();
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_import_parse(j, strlen(j), NULL, b, &err);
    if (rc != OMEGA_EINVAL || strcmp(err.message, want) != 0)
        fail_msg("rc %d, \"%s\"; want \"%s\"", rc, err.message, want);
    omega_ingest_batch_destroy(b);
}

static void test_import_errors_name_paths(void **state)
{
    import_bad("{}", "$: expected an array of {\"metric\",\"labels\",\"samples\"} objects");
    import_bad("[1]", "[0]: expected an object {\"metric\",\"labels\",\"samples\"}");
    import_bad("[{\"samples\":[]}]", "[0].metric: expected the metric name as a string");
    import_bad("[{\"metric\":\"1x\",\"samples\":[]}]",
               "[0].metric: invalid metric name (expected [a-zA-Z_:][a-zA-Z0-9_:]*)");
    import_bad("[{\"metric\":\"x\"}]",
               "[0].samples: missing (expected an array of [timestamp_ms, value] pairs)");
    import_bad("[{\"metric\":\"x\",\"samples\":[],\"extra\":1}]",
               "[0].extra: unknown field (expected metric, labels, samples)");
    import_bad("[{\"metric\":\"x\",\"labels\":[],\"samples\":[]}]",
               "[0].labels: expected an object of label names to string values");
    import_bad("[{\"metric\":\"x\",\"labels\":{\"a-b\":\"v\"},\"samples\":[]}]",
               "[0].labels.a-b: invalid label name (expected [a-zA-Z_][a-zA-Z0-9_]*)");
    import_bad("[{\"metric\":\"x\",\"labels\":{\"__name__\":\"v\"},\"samples\":[]}]",
               "[0].labels.__name__: label names starting with '__' are reserved");
    import_bad("[{\"metric\":\"x\",\"labels\":{\"a\":1},\"samples\":[]}]",
               "[0].labels.a: expected a string");
    import_bad("[{\"metric\":\"x\",\"samples\":{}}]",
               "[0].samples: expected an array of [timestamp_ms, value] pairs");
    import_bad("[{\"metric\":\"x\",\"samples\":[[1,2,3]]}]",
               "[0].samples[0]: expected a [timestamp_ms, value] pair");
    import_bad("[{\"metric\":\"x\",\"samples\":[[1.5,2]]}]",
               "[0].samples[0][0]: expected an integer timestamp in Unix milliseconds");
    import_bad("[{\"metric\":\"a\",\"samples\":[]},{\"metric\":\"b\",\"samples\":[]},"
               "{\"metric\":\"x\",\"samples\":[[1,1],[2,2],[3,3],[4,4],[5,5],[6,\"abc\"]]}]",
               "[2].samples[5][1]: expected a number or \"NaN\", \"+Inf\", \"-Inf\"");
    import_bad("[{\"metric\":\"x\",\"samples\":[[1,null]]}]",
               "[0].samples[0][1]: expected a number or \"NaN\", \"+Inf\", \"-Inf\"");
    omega_ingest_batch_t *b = omega_ingest_batch_create();
    omega_error_t err;
    assert_int_equal(omega_import_parse("[{\"metric\":", 11, NULL, b, &err), OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "invalid JSON at line 1"));
    assert_int_equal(omega_import_parse("[1,\xff]", 5, NULL, b, &err), OMEGA_EINVAL);
    omega_ingest_limits_t lim;
    omega_ingest_limits_init(&lim);
    lim.max_points = 1;
    const char *two = "[{\"metric\":\"x\",\"samples\":[[1,1],[2,2]]}]";
    assert_int_equal(omega_import_parse(two, strlen(two), &lim, b, &err), OMEGA_E2BIG);
    omega_ingest_batch_destroy(b);
}

static int nop_sink(void *ctx, const char *data, size_t len)
{
    (*(size_t *)ctx) += len;
    return 0;
}

/* Mutated JSON and gzip input: no crash, no leak, only the documented codes. */
static void test_import_and_gzip_garbage_never_crash(void **state)
{
    const char *seed = "[{\"metric\":\"a_b\",\"labels\":{\"x\":\"y\"},\"samples\":[[1,2.5],"
                       "[2,\"NaN\"],[3,\"-Inf\"]]}]";
    static const char alphabet[] = "[]{}\",:0123456789.-+eNaIf\\ \xff";
    size_t zn;
    unsigned char *z = gz("m v=1\nm v=2\nm v=3\n", 18, &zn);
    srand(777);
    for (int iter = 0; iter < 5000; iter++) {
        char buf[256];
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        for (int m = 0; m < 1 + rand() % 3; m++)
            buf[rand() % (int)len] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
        omega_ingest_batch_t *b = omega_ingest_batch_create();
        omega_error_t err;
        int rc = omega_import_parse(buf, len, NULL, b, &err);
        assert_true(rc == 0 || rc == OMEGA_EINVAL);
        omega_ingest_batch_destroy(b);

        unsigned char zb[256];
        memcpy(zb, z, zn);
        for (int m = 0; m < 1 + rand() % 3; m++)
            zb[rand() % (int)zn] ^= (unsigned char)(1 + rand() % 255);
        size_t got = 0;
        rc = omega_gunzip(zb, (size_t)(rand() % (int)(zn + 1)), 1024, nop_sink, &got, &err);
        assert_true(rc == 0 || rc == OMEGA_EINVAL || rc == OMEGA_E2BIG);
        assert_true(got <= 1024);
    }
    free(z);
}

/* ---- metric definitions ---- */

static void def_bad(const char *j, const char *path, const char *want_part)
{
    omega_metric_def_t d;
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_metric_def_from_json(j, strlen(j), &d, &err), OMEGA_EINVAL);
    assert_string_equal(err.path, path);
    if (!strstr(err.message, want_part))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, want_part);
}

static void test_defs_validation(void **state)
{
    omega_metric_def_t d;
    omega_error_t err;
    const char *h = "{\"name\":\"job_duration_seconds\",\"type\":\"histogram\",\"help\":\"Job "
                    "time\",\"unit\":\"seconds\",\"buckets\":[0.1,1,10]}";
    assert_int_equal(omega_metric_def_from_json(h, strlen(h), &d, &err), 0);
    assert_int_equal(d.type, OMEGA_METRIC_HISTOGRAM);
    assert_int_equal(d.n_buckets, 3);
    const char *c = "{\"help\":\"h\",\"name\":\"jobs_total\",\"type\":\"counter\"}";
    assert_int_equal(omega_metric_def_from_json(c, strlen(c), &d, &err), 0);
    def_bad("{\"help\":\"h\",\"type\":\"gauge\"}", "name", "required");
    def_bad("{\"help\":\"h\",\"name\":\"a-b\",\"type\":\"gauge\"}", "name", "expected");
    def_bad("{\"help\":\"h\",\"name\":\"a:b\",\"type\":\"gauge\"}", "name", "recording rules");
    def_bad("{\"help\":\"h\",\"name\":\"x\",\"type\":\"summary\"}", "type", "expected");
    def_bad("{\"help\":\"h\",\"name\":\"x\",\"type\":\"gauge\",\"buckets\":[1]}", "buckets",
            "only histograms");
    def_bad("{\"help\":\"h\",\"name\":\"x\",\"type\":\"histogram\"}", "buckets", "non-empty");
    def_bad("{\"help\":\"h\",\"name\":\"x\",\"type\":\"histogram\",\"buckets\":[1,1]}",
            "buckets[1]", "strictly increasing");
    def_bad("{\"help\":\"h\",\"name\":\"x\",\"type\":\"histogram\",\"buckets\":[2,1]}",
            "buckets[1]", "strictly increasing");
    def_bad("{\"help\":\"h\",\"name\":\"x\",\"type\":\"histogram\",\"buckets\":[\"1\"]}",
            "buckets[0]", "finite number");
    def_bad("{\"help\":\"h\",\"name\":\"x_bucket\",\"type\":\"histogram\",\"buckets\":[1]}", "name",
            "_bucket");
    def_bad("{\"help\":\"h\",\"name\":\"x\",\"type\":\"gauge\",\"unit\":\"seconds\"}", "unit",
            "_seconds");
    def_bad("{\"help\":\"h\",\"name\":\"x_Seconds\",\"type\":\"gauge\",\"unit\":\"Seconds\"}",
            "unit", "lower-case");
    def_bad("{\"name\":\"x\",\"type\":\"gauge\",\"help\":7}", "help", "expected a string");
    def_bad("{\"help\":\"h\",\"name\":\"x\",\"type\":\"gauge\",\"colour\":\"red\"}", "colour",
            "unknown field");
    def_bad("{\"name\":\"x\",\"type\":\"gauge\"}", "help", "required");
    def_bad("{\"help\":\"\",\"name\":\"x\",\"type\":\"gauge\"}", "help", "non-empty");
    def_bad("{\"help\":\"h\",\"name\":\"jobs\",\"type\":\"counter\"}", "name",
            "must end in _total");
    def_bad("{\"help\":\"h\",\"name\":\"x_total\",\"type\":\"gauge\"}", "name", "only counters");
    assert_int_equal(omega_metric_def_from_json("{", 1, &d, &err), OMEGA_EINVAL);
    assert_string_equal(err.path, ""); /* syntax errors carry no path */
}

typedef struct store_fixture {
    char *dir;
    omega_tsdb_t *db;
} store_fixture_t;

static int store_setup(void **state)
{
    store_fixture_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("ingest");
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = f->dir;
    o.sync_writes = 0;
    f->db = omega_tsdb_open(&o, NULL);
    *state = f;
    return f->db ? 0 : -1;
}

static int store_teardown(void **state)
{
    store_fixture_t *f = *state;
    omega_tsdb_close(f->db);
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void put_json(omega_tsdb_t *db, const char *j, int want_rc, int want_created)
{
    omega_metric_def_t d;
    omega_error_t err;
    assert_int_equal(omega_metric_def_from_json(j, strlen(j), &d, &err), 0);
    int created = -1;
    int rc = omega_metric_def_put(db, &d, &created, &err);
    if (rc != want_rc)
        fail_msg("put %s: rc %d (%s), want %d", j, rc, err.message, want_rc);
    if (rc == 0)
        assert_int_equal(created, want_created);
}

static void test_defs_store_and_conflicts(void **state)
{
    store_fixture_t *f = *state;
    put_json(f->db,
             "{\"help\":\"h\",\"name\":\"req_seconds\",\"type\":\"histogram\",\"buckets\":[0.5,1]}",
             0, 1);
    put_json(f->db, "{\"name\":\"jobs_total\",\"type\":\"counter\",\"help\":\"a\"}", 0, 1);
    put_json(f->db, "{\"name\":\"jobs_total\",\"type\":\"counter\",\"help\":\"b\"}", 0, 0);
    put_json(f->db, "{\"help\":\"h\",\"name\":\"req_seconds\",\"type\":\"gauge\"}", OMEGA_EEXIST,
             0);
    put_json(f->db,
             "{\"help\":\"h\",\"name\":\"req_seconds\",\"type\":\"histogram\",\"buckets\":[0.5,2]}",
             OMEGA_EEXIST, 0);
    put_json(f->db, "{\"help\":\"h\",\"name\":\"req_seconds_count\",\"type\":\"gauge\"}",
             OMEGA_EEXIST, 0);
    put_json(f->db, "{\"help\":\"h\",\"name\":\"temp\",\"type\":\"gauge\"}", 0, 1);
    omega_metric_defs_t defs;
    omega_error_t err;
    assert_int_equal(omega_metric_defs_load(f->db, &defs, &err), 0);
    assert_int_equal(defs.n, 3);
    assert_string_equal(defs.items[0].name, "jobs_total");
    assert_string_equal(defs.items[0].help, "b"); /* help may change */
    assert_string_equal(defs.items[1].name, "req_seconds");
    assert_true(defs.items[1].buckets[1] == 1);
    assert_non_null(omega_metric_defs_find(&defs, "temp"));
    assert_null(omega_metric_defs_find(&defs, "nope"));

    /* Writes against the definitions, as Prometheus treats them. */
    omega_label_t le = {"le", "0.5"}, bad_le = {"le", "half"}, host = {"host", "a"};
    omega_point_t ok[] = {
        {"req_seconds_bucket", &le, 1, 1, 3},
        {"req_seconds_sum", &host, 1, 1, 1.5},
        {"req_seconds_count", NULL, 0, 1, 3},
        {"jobs_total", NULL, 0, 1, 10},
        {"jobs_total", NULL, 0, 2, 0}, /* counter reset: allowed */
        {"temp", NULL, 0, 1, -40},
    };
    size_t bad = 99;
    assert_int_equal(omega_metric_defs_check(&defs, ok, 6, &bad, &err), 0);
    omega_point_t no_le[] = {{"temp", NULL, 0, 1, 1}, {"req_seconds_bucket", &host, 1, 1, 3}};
    assert_int_equal(omega_metric_defs_check(&defs, no_le, 2, &bad, &err), OMEGA_EINVAL);
    assert_int_equal(bad, 1);
    assert_non_null(strstr(err.message, "needs an 'le' label"));
    omega_point_t nan_le[] = {{"req_seconds_bucket", &bad_le, 1, 1, 3}};
    assert_int_equal(omega_metric_defs_check(&defs, nan_le, 1, &bad, &err), OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "not a number"));
    omega_point_t bare[] = {{"req_seconds", NULL, 0, 1, 3}};
    assert_int_equal(omega_metric_defs_check(&defs, bare, 1, &bad, &err), OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "is a histogram"));
    omega_metric_defs_deinit(&defs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lp_basic_mapping),
        cmocka_unit_test(test_rewrite_labels),
        cmocka_unit_test(test_lp_value_types),
        cmocka_unit_test(test_lp_booleans),
        cmocka_unit_test(test_lp_strings_skipped),
        cmocka_unit_test(test_lp_escapes),
        cmocka_unit_test(test_lp_sanitising),
        cmocka_unit_test(test_lp_precision),
        cmocka_unit_test(test_lp_comments_blank_crlf),
        cmocka_unit_test(test_lp_incremental_equals_oneshot),
        cmocka_unit_test(test_lp_missing_parts),
        cmocka_unit_test(test_lp_bad_escapes_and_strings),
        cmocka_unit_test(test_lp_bad_numbers),
        cmocka_unit_test(test_lp_bad_timestamps),
        cmocka_unit_test(test_lp_nul_and_utf8),
        cmocka_unit_test(test_lp_limits),
        cmocka_unit_test(test_lp_random_garbage_never_crashes),
        cmocka_unit_test(test_gzip_roundtrip_and_members),
        cmocka_unit_test(test_gzip_bad_input),
        cmocka_unit_test(test_gzip_bomb_stops_at_limit),
        cmocka_unit_test(test_import_good),
        cmocka_unit_test(test_import_errors_name_paths),
        cmocka_unit_test(test_import_and_gzip_garbage_never_crash),
        cmocka_unit_test(test_defs_validation),
        cmocka_unit_test_setup_teardown(test_defs_store_and_conflicts, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
