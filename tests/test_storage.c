/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the storage module against real RocksDB in a fresh temporary directory per
 * test: open/close, the KV facade, series writes and validation, selects, retention. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omega/tsdb.h"
#include "testutil.h"

typedef struct fixture {
    char *dir;            /* temp data dir, removed at teardown */
    omega_tsdb_t *db;     /* open store, or NULL */
    omega_tsdb_options_t o; /* options used to open db */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("storage");
    omega_tsdb_options_init(&f->o);
    f->o.data_dir = f->dir;
    f->o.sync_writes = 0; /* durability is RocksDB's; keeps the suite fast */
    omega_error_t err;
    f->db = omega_tsdb_open(&f->o, &err);
    if (!f->db) {
        fprintf(stderr, "open failed: %s\n", err.message);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    omega_tsdb_close(f->db);
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void reopen(fixture_t *f)
{
    omega_error_t err;
    omega_tsdb_close(f->db);
    f->db = omega_tsdb_open(&f->o, &err);
    assert_non_null(f->db);
}

/* Reopen the fixture's store with other retention / window / series-limit settings. */
static void open_with(fixture_t *f, int64_t retention_ms, int64_t window_ms, uint64_t max_series)
{
    f->o.raw_retention_ms = retention_ms;
    f->o.out_of_order_window_ms = window_ms;
    f->o.max_series = max_series;
    reopen(f);
}

/* ---- a callback that records what select / series_match hand out ---- */

#define MAX_SEEN 16

typedef struct seen_series {
    uint64_t id;                      /* series id */
    char text[256];                   /* name{l="v",...} as handed out */
    size_t n;                         /* samples handed out */
    omega_sample_t samples[MAX_SEEN]; /* the first MAX_SEEN of them */
} seen_series_t;

typedef struct seen {
    size_t n;                         /* callbacks */
    int stop_after;                   /* return 42 after this many callbacks, 0 = never */
    seen_series_t s[MAX_SEEN];        /* first MAX_SEEN callbacks */
} seen_t;

static int seen_cb(void *ctx, const omega_series_t *series, const omega_sample_t *samples,
                   size_t n)
{
    seen_t *seen = ctx;
    if (seen->n < MAX_SEEN) {
        seen_series_t *o = &seen->s[seen->n];
        size_t off = (size_t)snprintf(o->text, sizeof(o->text), "%s{", series->name);
        for (size_t i = 0; i < series->n_labels && off < sizeof(o->text); i++) {
            /* labels must arrive sorted and without __name__ */
            if (i > 0)
                assert_true(strcmp(series->labels[i - 1].name, series->labels[i].name) < 0);
            assert_string_not_equal(series->labels[i].name, "__name__");
            off += (size_t)snprintf(o->text + off, sizeof(o->text) - off, "%s%s=\"%s\"",
                                    i ? "," : "", series->labels[i].name,
                                    series->labels[i].value);
        }
        if (off < sizeof(o->text))
            snprintf(o->text + off, sizeof(o->text) - off, "}");
        o->id = series->id;
        o->n = n;
        for (size_t i = 0; i < n && i < MAX_SEEN; i++)
            o->samples[i] = samples[i];
        for (size_t i = 1; i < n; i++)
            assert_true(samples[i - 1].ts_ms < samples[i].ts_ms);
    }
    seen->n++;
    return seen->stop_after && (int)seen->n >= seen->stop_after ? 42 : 0;
}

/* Index of the series whose text is `text` in seen, or -1. */
static int seen_find(const seen_t *seen, const char *text)
{
    for (size_t i = 0; i < seen->n && i < MAX_SEEN; i++)
        if (strcmp(seen->s[i].text, text) == 0)
            return (int)i;
    return -1;
}

static int select_all(fixture_t *f, const omega_matcher_t *m, size_t n, int64_t start,
                      int64_t end, seen_t *seen, omega_error_t *err)
{
    memset(seen, 0, sizeof(*seen));
    return omega_tsdb_select(f->db, m, n, start, end, seen_cb, seen, err);
}

static int match_all(fixture_t *f, const omega_matcher_t *m, size_t n, seen_t *seen,
                     omega_error_t *err)
{
    memset(seen, 0, sizeof(*seen));
    return omega_tsdb_series_match(f->db, m, n, seen_cb, seen, err);
}

static omega_point_t pt(const char *name, const omega_label_t *labels, size_t n, int64_t ts,
                        double v)
{
    omega_point_t p = {.name = name, .labels = labels, .n_labels = n, .ts_ms = ts, .value = v};
    return p;
}

static uint64_t stat_series(fixture_t *f)
{
    omega_tsdb_stats_t st;
    omega_tsdb_stats(f->db, &st);
    return st.series;
}

/* ---- KV facade ---- */

static void test_kv_put_get_delete(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    char *val = NULL;
    size_t vlen = 0;
    assert_int_equal(omega_kv_put(f->db, OMEGA_KV_META, "user/alice", 10, "{\"a\":1}", 7, &err), 0);
    assert_int_equal(omega_kv_get(f->db, OMEGA_KV_META, "user/alice", 10, &val, &vlen, &err), 0);
    assert_int_equal(vlen, 7);
    assert_string_equal(val, "{\"a\":1}"); /* NUL-terminated one past vlen */
    free(val);
    /* spaces are separate */
    assert_int_equal(omega_kv_get(f->db, OMEGA_KV_AUDIT, "user/alice", 10, &val, &vlen, &err),
                     OMEGA_ENOENT);
    assert_null(val);
    /* binary values and empty values */
    assert_int_equal(omega_kv_put(f->db, OMEGA_KV_EVENTS, "b", 1, "\0\1\2", 3, &err), 0);
    assert_int_equal(omega_kv_get(f->db, OMEGA_KV_EVENTS, "b", 1, &val, &vlen, &err), 0);
    assert_int_equal(vlen, 3);
    assert_memory_equal(val, "\0\1\2", 3);
    free(val);
    assert_int_equal(omega_kv_put(f->db, OMEGA_KV_ALERTS, "e", 1, NULL, 0, &err), 0);
    assert_int_equal(omega_kv_get(f->db, OMEGA_KV_ALERTS, "e", 1, &val, &vlen, &err), 0);
    assert_int_equal(vlen, 0);
    assert_string_equal(val, "");
    free(val);
    /* overwrite, delete, delete absent */
    assert_int_equal(omega_kv_put(f->db, OMEGA_KV_META, "user/alice", 10, "x", 1, &err), 0);
    assert_int_equal(omega_kv_get(f->db, OMEGA_KV_META, "user/alice", 10, &val, &vlen, &err), 0);
    assert_string_equal(val, "x");
    free(val);
    assert_int_equal(omega_kv_delete(f->db, OMEGA_KV_META, "user/alice", 10, &err), 0);
    assert_int_equal(omega_kv_get(f->db, OMEGA_KV_META, "user/alice", 10, &val, &vlen, &err),
                     OMEGA_ENOENT);
    assert_int_equal(omega_kv_delete(f->db, OMEGA_KV_META, "nope", 4, &err), 0);
    /* unknown space */
    assert_int_equal(omega_kv_put(f->db, (omega_kv_space_t)9, "k", 1, "v", 1, &err), OMEGA_EINVAL);
}

typedef struct scan_ctx {
    int n;          /* keys seen */
    int stop_after; /* return 7 after this many keys, 0 = never */
    char keys[8][16]; /* first keys seen, NUL-terminated */
} scan_ctx_t;

static int scan_cb(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    scan_ctx_t *s = ctx;
    (void)val;
    (void)vlen;
    if (s->n < 8 && klen < 16) {
        memcpy(s->keys[s->n], key, klen);
        s->keys[s->n][klen] = '\0';
    }
    s->n++;
    return s->stop_after && s->n >= s->stop_after ? 7 : 0;
}

static void test_kv_scan_prefix_and_stop(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    const char *keys[] = {"a/2", "a/1", "b/1", "a/3", "ab", "c"};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(omega_kv_put(f->db, OMEGA_KV_META, keys[i], strlen(keys[i]), "v", 1, &err), 0);
    scan_ctx_t s = {0};
    assert_int_equal(omega_kv_scan(f->db, OMEGA_KV_META, "a/", 2, scan_cb, &s, &err), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.keys[0], "a/1");
    assert_string_equal(s.keys[1], "a/2");
    assert_string_equal(s.keys[2], "a/3");
    memset(&s, 0, sizeof(s));
    assert_int_equal(omega_kv_scan(f->db, OMEGA_KV_META, NULL, 0, scan_cb, &s, &err), 0);
    assert_int_equal(s.n, 6);
    assert_string_equal(s.keys[5], "c");
    memset(&s, 0, sizeof(s));
    s.stop_after = 2;
    assert_int_equal(omega_kv_scan(f->db, OMEGA_KV_META, "a", 1, scan_cb, &s, &err), 7);
    assert_int_equal(s.n, 2);
    memset(&s, 0, sizeof(s));
    assert_int_equal(omega_kv_scan(f->db, OMEGA_KV_AUDIT, "a", 1, scan_cb, &s, &err), 0);
    assert_int_equal(s.n, 0);
    /* from a start key inside the prefix: one seek, then on to the prefix's end */
    memset(&s, 0, sizeof(s));
    assert_int_equal(omega_kv_scan_from(f->db, OMEGA_KV_META, "a/", 2, "a/15", 4, scan_cb, &s,
                                        &err), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[0], "a/2");
    assert_string_equal(s.keys[1], "a/3");
    assert_int_equal(omega_kv_scan_from(f->db, OMEGA_KV_META, "a/", 2, "b/1", 3, scan_cb, &s,
                                        &err), OMEGA_EINVAL);
}

static void test_kv_survives_reopen(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    char *val = NULL;
    size_t vlen = 0;
    assert_int_equal(omega_kv_put(f->db, OMEGA_KV_AUDIT, "k", 1, "durable", 7, &err), 0);
    reopen(f);
    assert_int_equal(omega_kv_get(f->db, OMEGA_KV_AUDIT, "k", 1, &val, &vlen, &err), 0);
    assert_string_equal(val, "durable");
    free(val);
}

static void test_double_open_fails_clearly(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    omega_error_clear(&err);
    omega_tsdb_t *second = omega_tsdb_open(&f->o, &err);
    assert_null(second);
    assert_int_equal(err.code, OMEGA_EIO);
    assert_non_null(strstr(err.message, "already in use"));
    assert_non_null(strstr(err.message, f->dir));
    /* the first handle still works */
    assert_int_equal(omega_kv_put(f->db, OMEGA_KV_META, "k", 1, "v", 1, &err), 0);
}

/* ---- writes and reads ---- */

static void test_roundtrip_special_values_and_negative_ts(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    seen_t seen;
    open_with(f, 0, 0, 0); /* keep everything, accept any time: negative timestamps */
    /* unsorted labels and an empty label, which is the same as an absent one */
    omega_label_t l[] = {{"zone", "b"}, {"host", "h1"}, {"empty", ""}};
    omega_point_t p[] = {
        pt("temp_celsius", l, 3, 1000, 21.5),   pt("temp_celsius", l, 3, -5000, NAN),
        pt("temp_celsius", l, 3, -1, INFINITY), pt("temp_celsius", l, 3, 0, -INFINITY),
        pt("temp_celsius", l, 3, INT64_MIN + 1, -0.0),
    };
    assert_int_equal(omega_tsdb_write(f->db, p, 5, &err), 0);
    omega_matcher_t m = {"__name__", "temp_celsius", OMEGA_MATCH_EQ};
    assert_int_equal(select_all(f, &m, 1, INT64_MIN, INT64_MAX, &seen, &err), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.s[0].text, "temp_celsius{host=\"h1\",zone=\"b\"}");
    assert_int_equal(seen.s[0].n, 5);
    const omega_sample_t *s = seen.s[0].samples;
    assert_true(s[0].ts_ms == INT64_MIN + 1 && s[0].value == 0.0 && signbit(s[0].value));
    assert_true(s[1].ts_ms == -5000 && isnan(s[1].value));
    assert_true(s[2].ts_ms == -1 && isinf(s[2].value) && s[2].value > 0);
    assert_true(s[3].ts_ms == 0 && isinf(s[3].value) && s[3].value < 0);
    assert_true(s[4].ts_ms == 1000 && s[4].value == 21.5);
    assert_true(seen.s[0].id > 0);
    /* the same series named with the empty label left out is the same series */
    omega_point_t q = pt("temp_celsius", l, 2, 2000, 1.0);
    assert_int_equal(omega_tsdb_write(f->db, &q, 1, &err), 0);
    assert_int_equal(stat_series(f), 1);
}

static void test_reopen_keeps_data(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    seen_t seen;
    int64_t now = omega_now_ms();
    f->o.sync_writes = 1; /* the default: fsync'd WAL before returning */
    reopen(f);
    omega_label_t la[] = {{"job", "a"}}, lb[] = {{"job", "b"}};
    omega_point_t p[] = {pt("up", la, 1, now - 1000, 1), pt("up", lb, 1, now - 1000, 0),
                         pt("up", la, 1, now, 1)};
    assert_int_equal(omega_tsdb_write(f->db, p, 3, &err), 0);
    reopen(f);
    assert_int_equal(stat_series(f), 2);
    omega_matcher_t m = {"__name__", "up", OMEGA_MATCH_EQ};
    assert_int_equal(select_all(f, &m, 1, now - 60000, now, &seen, &err), 0);
    assert_int_equal(seen.n, 2);
    int ia = seen_find(&seen, "up{job=\"a\"}"), ib = seen_find(&seen, "up{job=\"b\"}");
    assert_true(ia >= 0 && ib >= 0);
    assert_int_equal(seen.s[ia].n, 2);
    assert_int_equal(seen.s[ib].n, 1);
    uint64_t id_a = seen.s[ia].id, id_b = seen.s[ib].id;
    assert_true(id_a != id_b);
    /* after reopen an existing series keeps its id, a new one gets a fresh id */
    omega_label_t lc[] = {{"job", "c"}};
    omega_point_t q[] = {pt("up", la, 1, now + 1, 1), pt("up", lc, 1, now + 1, 1)};
    assert_int_equal(omega_tsdb_write(f->db, q, 2, &err), 0);
    assert_int_equal(stat_series(f), 3);
    assert_int_equal(select_all(f, &m, 1, now - 60000, now + 1, &seen, &err), 0);
    assert_int_equal(seen.n, 3);
    ia = seen_find(&seen, "up{job=\"a\"}");
    int ic = seen_find(&seen, "up{job=\"c\"}");
    assert_int_equal(seen.s[ia].id, id_a);
    assert_int_equal(seen.s[ia].n, 3);
    assert_true(seen.s[ic].id != id_a && seen.s[ic].id != id_b);
}

static void test_last_write_wins(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    seen_t seen;
    int64_t t = omega_now_ms() - 5000;
    omega_point_t a = pt("g", NULL, 0, t, 1.0);
    assert_int_equal(omega_tsdb_write(f->db, &a, 1, &err), 0);
    a.value = 2.0;
    assert_int_equal(omega_tsdb_write(f->db, &a, 1, &err), 0);
    /* within one batch the later point wins too */
    omega_point_t b[] = {pt("g", NULL, 0, t + 1, 10), pt("g", NULL, 0, t + 1, 11)};
    assert_int_equal(omega_tsdb_write(f->db, b, 2, &err), 0);
    omega_matcher_t m = {"__name__", "g", OMEGA_MATCH_EQ};
    assert_int_equal(select_all(f, &m, 1, t, t + 1, &seen, &err), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.s[0].n, 2);
    assert_true(seen.s[0].samples[0].value == 2.0);
    assert_true(seen.s[0].samples[1].value == 11.0);
}

static void test_batch_is_atomic(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    seen_t seen;
    int64_t now = omega_now_ms();
    omega_label_t good[] = {{"k", "v"}}, bad[] = {{"k", "v"}, {"k", "w"}};
    omega_point_t p[] = {pt("m1", good, 1, now, 1), pt("m2", good, 1, now, 2),
                         pt("m3", bad, 2, now, 3), pt("m4", good, 1, now, 4)};
    assert_int_equal(omega_tsdb_write(f->db, p, 4, &err), OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "point 2:"));
    assert_int_equal(stat_series(f), 0);
    omega_matcher_t m = {"k", "v", OMEGA_MATCH_EQ};
    assert_int_equal(match_all(f, &m, 1, &seen, &err), 0);
    assert_int_equal(seen.n, 0);
    omega_matcher_t any = {"__name__", "m.*", OMEGA_MATCH_RE};
    assert_int_equal(select_all(f, &any, 1, INT64_MIN, INT64_MAX, &seen, &err), 0);
    assert_int_equal(seen.n, 0);
    omega_tsdb_stats_t st;
    omega_tsdb_stats(f->db, &st);
    assert_int_equal(st.samples_written, 0);
    /* the fixed batch then goes in whole */
    p[2].n_labels = 1;
    assert_int_equal(omega_tsdb_write(f->db, p, 4, &err), 0);
    assert_int_equal(match_all(f, &m, 1, &seen, &err), 0);
    assert_int_equal(seen.n, 4);
}

/* Write one point, expect OMEGA_EINVAL with `needle` in the message and nothing stored. */
static void expect_invalid(fixture_t *f, omega_point_t p, const char *needle)
{
    omega_error_t err;
    omega_error_clear(&err);
    omega_point_t batch[2] = {pt("ok_metric", NULL, 0, omega_now_ms(), 1), p};
    assert_int_equal(omega_tsdb_write(f->db, batch, 2, &err), OMEGA_EINVAL);
    assert_int_equal(err.code, OMEGA_EINVAL);
    if (!strstr(err.message, needle) || !strstr(err.message, "point 1: "))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
    assert_int_equal(stat_series(f), 0);
}

static void test_validation_names(void **state)
{
    fixture_t *f = *state;
    int64_t now = omega_now_ms();
    expect_invalid(f, pt("1abc", NULL, 0, now, 1), "invalid metric name \"1abc\"");
    expect_invalid(f, pt("a-b", NULL, 0, now, 1), "invalid metric name");
    expect_invalid(f, pt("", NULL, 0, now, 1), "invalid metric name");
    expect_invalid(f, pt(NULL, NULL, 0, now, 1), "metric name is missing");
    char *longname = malloc(1026);
    memset(longname, 'a', 1025);
    longname[1025] = '\0';
    expect_invalid(f, pt(longname, NULL, 0, now, 1), "longer than 1024 bytes");
    omega_label_t bad1[] = {{"1x", "v"}}, bad2[] = {{"a-b", "v"}}, bad3[] = {{"__name__", "x"}};
    omega_label_t bad4[] = {{"", "v"}}, bad5[] = {{NULL, "v"}}, bad6[] = {{"k", NULL}};
    expect_invalid(f, pt("m", bad1, 1, now, 1), "invalid label name \"1x\"");
    expect_invalid(f, pt("m", bad2, 1, now, 1), "invalid label name \"a-b\"");
    expect_invalid(f, pt("m", bad3, 1, now, 1), "__name__ is reserved");
    expect_invalid(f, pt("m", bad4, 1, now, 1), "invalid label name");
    expect_invalid(f, pt("m", bad5, 1, now, 1), "label name is missing");
    expect_invalid(f, pt("m", bad6, 1, now, 1), "label k has no value");
    omega_label_t longlabel[] = {{longname, "v"}};
    expect_invalid(f, pt("m", longlabel, 1, now, 1), "longer than 1024 bytes");
    omega_label_t dup[] = {{"b", "1"}, {"a", "2"}, {"b", "3"}};
    expect_invalid(f, pt("m", dup, 3, now, 1), "duplicate label name b");
    omega_label_t dup_empty[] = {{"b", ""}, {"b", "x"}};
    expect_invalid(f, pt("m", dup_empty, 2, now, 1), "duplicate label name b");
    expect_invalid(f, pt("m", NULL, 2, now, 1), "labels missing");
    free(longname);
    /* a colon is fine in metric names */
    omega_error_t err;
    omega_point_t ok = pt("job:rate5m", NULL, 0, now, 1);
    assert_int_equal(omega_tsdb_write(f->db, &ok, 1, &err), 0);
}

static void test_validation_values_and_limits(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    int64_t now = omega_now_ms();
    omega_label_t utf1[] = {{"k", "caf\xc3"}}, utf2[] = {{"k", "\xc0\xaf"}};
    omega_label_t utf3[] = {{"k", "\xed\xa0\x80"}}; /* a surrogate */
    expect_invalid(f, pt("m", utf1, 1, now, 1), "value of label k is not valid UTF-8");
    expect_invalid(f, pt("m", utf2, 1, now, 1), "not valid UTF-8");
    expect_invalid(f, pt("m", utf3, 1, now, 1), "not valid UTF-8");
    char *mb = malloc(1024 * 1024 + 1);
    memset(mb, 'x', 1024 * 1024);
    mb[1024 * 1024] = '\0';
    omega_label_t big[] = {{"k", mb}};
    expect_invalid(f, pt("m", big, 1, now, 1), "longer than 16384 bytes");
    mb[16384] = '\0'; /* exactly at the limit is fine */
    omega_point_t ok = pt("m", big, 1, now, 1);
    assert_int_equal(omega_tsdb_write(f->db, &ok, 1, &err), 0);
    free(mb);
    omega_label_t many[65];
    char names[65][8];
    for (int i = 0; i < 65; i++) {
        snprintf(names[i], sizeof(names[i]), "l%d", i);
        many[i] = (omega_label_t){names[i], "v"};
    }
    omega_error_clear(&err);
    omega_point_t too_many = pt("m", many, 65, now, 1);
    assert_int_equal(omega_tsdb_write(f->db, &too_many, 1, &err), OMEGA_EINVAL);
    assert_string_equal(err.message, "point 0: 65 labels, more than the limit of 64");
    /* 10,000 labels: refused at once with the same message, nothing stored */
    omega_label_t *huge = calloc(10000, sizeof(*huge));
    for (int i = 0; i < 10000; i++)
        huge[i] = (omega_label_t){names[i % 65], "v"};
    omega_point_t too_many2 = pt("m", huge, 10000, now, 1);
    assert_int_equal(omega_tsdb_write(f->db, &too_many2, 1, &err), OMEGA_EINVAL);
    assert_string_equal(err.message, "point 0: 10000 labels, more than the limit of 64");
    free(huge);
    omega_point_t max_ok = pt("m", many, 64, now, 1);
    assert_int_equal(omega_tsdb_write(f->db, &max_ok, 1, &err), 0);
    omega_label_t u[] = {{"k", "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80"}};
    omega_point_t utf_ok = pt("m", u, 1, now, 1);
    assert_int_equal(omega_tsdb_write(f->db, &utf_ok, 1, &err), 0);
    assert_int_equal(stat_series(f), 3);
}

static void test_validation_timestamps(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    int64_t now = omega_now_ms();
    /* default window 1h */
    omega_point_t old = pt("m", NULL, 0, 1577836800000LL, 1); /* 2020-01-01 */
    assert_int_equal(omega_tsdb_write(f->db, &old, 1, &err), OMEGA_EINVAL);
    assert_string_equal(err.message, "point 0: sample timestamp 2020-01-01T00:00:00.000Z is "
                                     "older than the out-of-order window (1h)");
    old.ts_ms = now - 3600 * 1000 - 60000;
    assert_int_equal(omega_tsdb_write(f->db, &old, 1, &err), OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "older than the out-of-order window (1h)"));
    omega_point_t future = pt("m", NULL, 0, now + 11 * 60000, 1);
    assert_int_equal(omega_tsdb_write(f->db, &future, 1, &err), OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "point 0: sample timestamp"));
    assert_non_null(strstr(err.message, "more than 10m in the future"));
    assert_int_equal(stat_series(f), 0);
    /* inside the window, and slightly ahead, are accepted */
    omega_point_t ok[] = {pt("m", NULL, 0, now - 3500 * 1000, 1),
                          pt("m", NULL, 0, now + 9 * 60000, 2)};
    assert_int_equal(omega_tsdb_write(f->db, ok, 2, &err), 0);
    /* window 0: no limit either way */
    open_with(f, 0, 0, 0);
    assert_int_equal(omega_tsdb_write(f->db, &old, 1, &err), 0);
    assert_int_equal(omega_tsdb_write(f->db, &future, 1, &err), 0);
    /* extreme windows, retention and timestamps: no overflow, a readable message */
    open_with(f, INT64_MAX, INT64_MAX, 0);
    omega_point_t ancient = pt("m", NULL, 0, INT64_MIN, 7);
    assert_int_equal(omega_tsdb_write(f->db, &ancient, 1, &err), OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "-9223372036854775808 ms is older than"));
    ancient.ts_ms = omega_now_ms() - INT64_MAX + 60000;
    assert_int_equal(omega_tsdb_write(f->db, &ancient, 1, &err), 0);
    seen_t seen;
    omega_matcher_t m = {"__name__", "m", OMEGA_MATCH_EQ};
    assert_int_equal(select_all(f, &m, 1, INT64_MIN, ancient.ts_ms, &seen, &err), 0);
    assert_int_equal(seen.n, 1);
    assert_true(seen.s[0].n == 1 && seen.s[0].samples[0].value == 7);
}

static void test_compression_setting_can_change(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    seen_t seen;
    int64_t now = omega_now_ms();
    f->o.compression = 0;
    reopen(f);
    omega_point_t a = pt("z", NULL, 0, now - 10, 1);
    assert_int_equal(omega_tsdb_write(f->db, &a, 1, &err), 0);
    f->o.compression = 1; /* zstd for new SST files; old ones stay readable */
    reopen(f);
    omega_point_t b = pt("z", NULL, 0, now, 2);
    assert_int_equal(omega_tsdb_write(f->db, &b, 1, &err), 0);
    assert_int_equal(omega_tsdb_compact(f->db, &err), 0);
    reopen(f);
    omega_matcher_t m = {"__name__", "z", OMEGA_MATCH_EQ};
    assert_int_equal(select_all(f, &m, 1, now - 10, now, &seen, &err), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.s[0].n, 2);
    assert_true(seen.s[0].samples[0].value == 1 && seen.s[0].samples[1].value == 2);
}

static void test_series_limit(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    seen_t seen;
    int64_t now = omega_now_ms();
    open_with(f, 24LL * 3600 * 1000, 3600 * 1000, 2);
    omega_label_t a[] = {{"s", "a"}}, b[] = {{"s", "b"}}, c[] = {{"s", "c"}};
    omega_point_t p[] = {pt("m", a, 1, now, 1), pt("m", b, 1, now, 1)};
    assert_int_equal(omega_tsdb_write(f->db, p, 2, &err), 0);
    omega_point_t q[] = {pt("m", a, 1, now + 1, 5), pt("m", c, 1, now + 1, 1)};
    omega_error_clear(&err);
    assert_int_equal(omega_tsdb_write(f->db, q, 2, &err), OMEGA_E2BIG);
    assert_string_equal(err.message, "series limit of 2 reached");
    assert_int_equal(stat_series(f), 2);
    /* nothing of the failed batch was stored, not even the existing series' sample */
    omega_matcher_t m = {"__name__", "m", OMEGA_MATCH_EQ};
    assert_int_equal(select_all(f, &m, 1, now + 1, now + 1, &seen, &err), 0);
    assert_int_equal(seen.n, 0);
    /* existing series still take writes; the limit holds across a reopen */
    assert_int_equal(omega_tsdb_write(f->db, q, 1, &err), 0);
    reopen(f);
    assert_int_equal(omega_tsdb_write(f->db, &q[1], 1, &err), OMEGA_E2BIG);
    assert_int_equal(omega_tsdb_write(f->db, q, 1, &err), 0);
}

/* ---- selectors ---- */

static void write_fixture_series(fixture_t *f, int64_t t)
{
    omega_error_t err;
    omega_label_t s1[] = {{"job", "api"}, {"code", "200"}}, s2[] = {{"job", "api"}, {"code", "500"}};
    omega_label_t s3[] = {{"job", "web"}, {"code", "200"}}, s4[] = {{"job", "web"}};
    omega_label_t s5[] = {{"job", "api"}};
    omega_point_t p[] = {pt("http_requests_total", s1, 2, t, 1), pt("http_requests_total", s2, 2, t, 2),
                         pt("http_requests_total", s3, 2, t, 3), pt("http_requests_total", s4, 1, t, 4),
                         pt("cpu_seconds_total", s5, 1, t, 5)};
    assert_int_equal(omega_tsdb_write(f->db, p, 5, &err), 0);
}

/* Number of series a selector matches through select, checked against series_match. */
static size_t count_matches(fixture_t *f, const omega_matcher_t *m, size_t n, int64_t t)
{
    omega_error_t err;
    seen_t a, b;
    assert_int_equal(select_all(f, m, n, t, t, &a, &err), 0);
    assert_int_equal(match_all(f, m, n, &b, &err), 0);
    assert_int_equal(a.n, b.n);
    return a.n;
}

static void test_matchers(void **state)
{
    fixture_t *f = *state;
    int64_t t = omega_now_ms();
    write_fixture_series(f, t);
    const char *name = "http_requests_total";
    omega_matcher_t eq_name = {"__name__", name, OMEGA_MATCH_EQ};
    assert_int_equal(count_matches(f, &eq_name, 1, t), 4);
    omega_matcher_t m[2] = {eq_name, {"job", "api", OMEGA_MATCH_EQ}};
    assert_int_equal(count_matches(f, m, 2, t), 2);
    m[1] = (omega_matcher_t){"code", "200", OMEGA_MATCH_NE}; /* absent code counts as "" */
    assert_int_equal(count_matches(f, m, 2, t), 2);
    m[1] = (omega_matcher_t){"code", "5..", OMEGA_MATCH_RE};
    assert_int_equal(count_matches(f, m, 2, t), 1);
    m[1] = (omega_matcher_t){"code", "2|5", OMEGA_MATCH_RE}; /* anchored as ^(2|5)$ */
    assert_int_equal(count_matches(f, m, 2, t), 0);
    m[1] = (omega_matcher_t){"job", "ap", OMEGA_MATCH_RE}; /* no partial matches */
    assert_int_equal(count_matches(f, m, 2, t), 0);
    m[1] = (omega_matcher_t){"job", "a.*", OMEGA_MATCH_NRE};
    assert_int_equal(count_matches(f, m, 2, t), 2);
    m[1] = (omega_matcher_t){"code", "", OMEGA_MATCH_EQ}; /* only series without code */
    assert_int_equal(count_matches(f, m, 2, t), 1);
    m[1] = (omega_matcher_t){"job", "api", OMEGA_MATCH_EQ};
    omega_matcher_t three[3] = {eq_name, m[1], {"code", "200", OMEGA_MATCH_EQ}};
    assert_int_equal(count_matches(f, three, 3, t), 1);
    /* no EQ matcher: candidates come from scanning postings */
    omega_matcher_t re_name = {"__name__", ".*_total", OMEGA_MATCH_RE};
    assert_int_equal(count_matches(f, &re_name, 1, t), 5);
    omega_matcher_t job_set = {"job", "", OMEGA_MATCH_NE};
    assert_int_equal(count_matches(f, &job_set, 1, t), 5);
    omega_matcher_t re2[2] = {{"job", "web|api", OMEGA_MATCH_RE}, {"code", "2.*", OMEGA_MATCH_RE}};
    assert_int_equal(count_matches(f, re2, 2, t), 2);
    omega_matcher_t none = {"__name__", "nothing", OMEGA_MATCH_EQ};
    assert_int_equal(count_matches(f, &none, 1, t), 0);
    omega_matcher_t text = {"job", "web", OMEGA_MATCH_EQ};
    seen_t seen;
    omega_error_t err;
    assert_int_equal(select_all(f, &text, 1, t, t, &seen, &err), 0);
    assert_int_equal(seen.n, 2);
    assert_true(seen_find(&seen, "http_requests_total{job=\"web\"}") >= 0);
    assert_true(seen_find(&seen, "http_requests_total{code=\"200\",job=\"web\"}") >= 0);
}

static void test_matchers_matching_empty_rejected(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    seen_t seen;
    write_fixture_series(f, omega_now_ms());
    omega_matcher_t cases[][2] = {
        {{"job", "", OMEGA_MATCH_EQ}, {"code", ".*", OMEGA_MATCH_RE}},
        {{"job", "x", OMEGA_MATCH_NE}, {"code", "2.*", OMEGA_MATCH_NRE}},
        {{"__name__", ".*", OMEGA_MATCH_RE}, {"__name__", "", OMEGA_MATCH_EQ}},
    };
    for (size_t i = 0; i < 3; i++) {
        omega_error_clear(&err);
        assert_int_equal(select_all(f, cases[i], 2, INT64_MIN, INT64_MAX, &seen, &err),
                         OMEGA_EINVAL);
        assert_string_equal(err.message, "at least one matcher must not match the empty string");
        assert_int_equal(match_all(f, cases[i], 1, &seen, &err), OMEGA_EINVAL);
        assert_int_equal(seen.n, 0);
    }
    assert_int_equal(select_all(f, NULL, 0, INT64_MIN, INT64_MAX, &seen, &err), OMEGA_EINVAL);
    assert_int_equal(seen.n, 0);
}

static void test_invalid_regex(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    seen_t seen;
    write_fixture_series(f, omega_now_ms());
    omega_matcher_t m[2] = {{"__name__", "http_requests_total", OMEGA_MATCH_EQ},
                            {"code", "(5", OMEGA_MATCH_RE}};
    omega_error_clear(&err);
    assert_int_equal(select_all(f, m, 2, INT64_MIN, INT64_MAX, &seen, &err), OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "invalid regular expression \"(5\" for label code"));
    assert_int_equal(seen.n, 0);
    m[1] = (omega_matcher_t){"code", "[a-", OMEGA_MATCH_NRE};
    assert_int_equal(match_all(f, m, 2, &seen, &err), OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "invalid regular expression"));
    m[1] = (omega_matcher_t){"code", NULL, OMEGA_MATCH_EQ};
    assert_int_equal(match_all(f, m, 2, &seen, &err), OMEGA_EINVAL);
    m[1] = (omega_matcher_t){"code", "x", (omega_match_op_t)9};
    assert_int_equal(match_all(f, m, 2, &seen, &err), OMEGA_EINVAL);
}

static void test_select_time_bounds_inclusive(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    seen_t seen;
    int64_t t = omega_now_ms() - 10000;
    omega_label_t a[] = {{"s", "a"}}, b[] = {{"s", "b"}};
    omega_point_t p[] = {pt("m", a, 1, t, 1), pt("m", a, 1, t + 1000, 2), pt("m", a, 1, t + 2000, 3),
                         pt("m", a, 1, t + 3000, 4), pt("m", b, 1, t + 5000, 9)};
    assert_int_equal(omega_tsdb_write(f->db, p, 5, &err), 0);
    omega_matcher_t m = {"__name__", "m", OMEGA_MATCH_EQ};
    assert_int_equal(select_all(f, &m, 1, t + 1000, t + 2000, &seen, &err), 0);
    assert_int_equal(seen.n, 1); /* series b has nothing in range: skipped */
    assert_int_equal(seen.s[0].n, 2);
    assert_true(seen.s[0].samples[0].ts_ms == t + 1000 && seen.s[0].samples[0].value == 2);
    assert_true(seen.s[0].samples[1].ts_ms == t + 2000 && seen.s[0].samples[1].value == 3);
    assert_int_equal(select_all(f, &m, 1, t + 3000, t + 3000, &seen, &err), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.s[0].n, 1);
    assert_int_equal(select_all(f, &m, 1, t + 3001, t + 4999, &seen, &err), 0);
    assert_int_equal(seen.n, 0);
    assert_int_equal(select_all(f, &m, 1, t + 2000, t + 1000, &seen, &err), 0);
    assert_int_equal(seen.n, 0);
    assert_int_equal(select_all(f, &m, 1, INT64_MIN, INT64_MAX, &seen, &err), 0);
    assert_int_equal(seen.n, 2);
    /* the callback's non-zero return stops the walk and is returned */
    memset(&seen, 0, sizeof(seen));
    seen.stop_after = 1;
    assert_int_equal(omega_tsdb_select(f->db, &m, 1, INT64_MIN, INT64_MAX, seen_cb, &seen, &err), 42);
    assert_int_equal(seen.n, 1);
}

static void test_retention_hides_and_compaction_drops(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    seen_t seen;
    int64_t now = omega_now_ms();
    open_with(f, 3600 * 1000, 0, 0); /* keep 1 h, accept any timestamp */
    omega_point_t p[] = {pt("r", NULL, 0, now - 3 * 3600 * 1000, 1),
                         pt("r", NULL, 0, now - 2 * 3600 * 1000, 2),
                         pt("r", NULL, 0, now - 1800 * 1000, 3), pt("r", NULL, 0, now, 4)};
    assert_int_equal(omega_tsdb_write(f->db, p, 4, &err), 0);
    omega_matcher_t m = {"__name__", "r", OMEGA_MATCH_EQ};
    assert_int_equal(select_all(f, &m, 1, INT64_MIN, INT64_MAX, &seen, &err), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.s[0].n, 2);
    assert_true(seen.s[0].samples[0].value == 3 && seen.s[0].samples[1].value == 4);
    /* a range wholly past retention returns no series */
    assert_int_equal(select_all(f, &m, 1, 0, now - 2 * 3600 * 1000, &seen, &err), 0);
    assert_int_equal(seen.n, 0);
    /* compaction removes expired samples from disk: reopened with no retention, they are gone */
    assert_int_equal(omega_tsdb_compact(f->db, &err), 0);
    open_with(f, 0, 0, 0);
    assert_int_equal(select_all(f, &m, 1, INT64_MIN, INT64_MAX, &seen, &err), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.s[0].n, 2);
    assert_true(seen.s[0].samples[0].value == 3);
    assert_int_equal(omega_tsdb_compact(NULL, &err), OMEGA_EINVAL);
}

static void test_series_match(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    seen_t seen;
    open_with(f, 3600 * 1000, 0, 0);
    /* series whose samples are all past retention are still listed by series_match */
    write_fixture_series(f, omega_now_ms() - 2 * 3600 * 1000);
    omega_matcher_t m = {"job", "api", OMEGA_MATCH_EQ};
    assert_int_equal(match_all(f, &m, 1, &seen, &err), 0);
    assert_int_equal(seen.n, 3);
    for (size_t i = 0; i < seen.n; i++)
        assert_int_equal(seen.s[i].n, 0);
    assert_true(seen_find(&seen, "cpu_seconds_total{job=\"api\"}") >= 0);
    assert_true(seen_find(&seen, "http_requests_total{code=\"500\",job=\"api\"}") >= 0);
    assert_int_equal(select_all(f, &m, 1, INT64_MIN, INT64_MAX, &seen, &err), 0);
    assert_int_equal(seen.n, 0);
    memset(&seen, 0, sizeof(seen));
    seen.stop_after = 2;
    assert_int_equal(omega_tsdb_series_match(f->db, &m, 1, seen_cb, &seen, &err), 42);
    assert_int_equal(seen.n, 2);
    assert_int_equal(omega_tsdb_series_match(f->db, &m, 1, NULL, NULL, &err), OMEGA_EINVAL);
}

/* Several equality matchers are intersected by seeking through their postings: the
 * result must be exactly the brute-force set, for small and large lists alike. */
static void test_eq_postings_intersection(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    int64_t t = omega_now_ms() - 60 * 1000;
    static char vals[4][420][8];
    omega_label_t labels[420][4];
    omega_point_t pts[420 * 2];
    for (int i = 0; i < 420; i++) {
        snprintf(vals[0][i], 8, "%d", i % 3);
        snprintf(vals[1][i], 8, "%d", i % 5);
        snprintf(vals[2][i], 8, "%d", i % 7);
        snprintf(vals[3][i], 8, "%d", i); /* every combination above repeats every 105 */
        labels[i][0] = (omega_label_t){"a", vals[0][i]};
        labels[i][1] = (omega_label_t){"b", vals[1][i]};
        labels[i][2] = (omega_label_t){"i", vals[2][i]};
        labels[i][3] = (omega_label_t){"n", vals[3][i]};
        pts[2 * i] = pt("lf_metric", labels[i], 4, t, i);
        pts[2 * i + 1] = pt("lf_other", labels[i], 4, t, i);
    }
    assert_int_equal(omega_tsdb_write(f->db, pts, 840, &err), 0);
    assert_int_equal(stat_series(f), 840);
    /* i % 3 == 1, i % 5 == 2, i % 7 == 3 holds for i = 52 + 105 k: four of 420 */
    omega_matcher_t m[4] = {{"__name__", "lf_metric", OMEGA_MATCH_EQ},
                            {"a", "1", OMEGA_MATCH_EQ},
                            {"b", "2", OMEGA_MATCH_EQ},
                            {"i", "3", OMEGA_MATCH_EQ}};
    seen_t seen;
    assert_int_equal(match_all(f, m, 4, &seen, &err), 0);
    assert_int_equal(seen.n, 4);
    /* without the name: both metrics */
    assert_int_equal(match_all(f, m + 1, 3, &seen, &err), 0);
    assert_int_equal(seen.n, 8);
    /* one tiny list against a big one, and a value that has no postings */
    omega_matcher_t one[2] = {{"__name__", "lf_other", OMEGA_MATCH_EQ}, {"i", "6", OMEGA_MATCH_EQ}};
    assert_int_equal(match_all(f, one, 2, &seen, &err), 0);
    assert_int_equal(seen.n, 60);
    omega_matcher_t none[2] = {{"__name__", "lf_metric", OMEGA_MATCH_EQ}, {"a", "9", OMEGA_MATCH_EQ}};
    assert_int_equal(match_all(f, none, 2, &seen, &err), 0);
    assert_int_equal(seen.n, 0);
    /* a value that is a prefix of another ("1" vs "10") must not mix their postings */
    omega_label_t pl[2] = {{"p", "1"}, {"p", "10"}};
    omega_point_t pp[2] = {pt("lf_prefix", &pl[0], 1, t, 1), pt("lf_prefix", &pl[1], 1, t, 2)};
    assert_int_equal(omega_tsdb_write(f->db, pp, 2, &err), 0);
    omega_matcher_t pm[2] = {{"__name__", "lf_prefix", OMEGA_MATCH_EQ}, {"p", "1", OMEGA_MATCH_EQ}};
    assert_int_equal(match_all(f, pm, 2, &seen, &err), 0);
    assert_int_equal(seen.n, 1);
    /* an EQ matcher plus a regex: the regex is checked on the intersection */
    omega_matcher_t mix[2] = {{"__name__", "lf_metric", OMEGA_MATCH_EQ}, {"i", "[36]", OMEGA_MATCH_RE}};
    assert_int_equal(match_all(f, mix, 2, &seen, &err), 0);
    assert_int_equal(seen.n, 120);
}

/* Points of one line protocol line share one label array: the second and later points
 * reuse the first one's sorted labels. The series must be exactly those written one point
 * per call, and a batch larger than the head's lock stripes keeps each series' order. */
static void test_shared_label_arrays(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    seen_t seen;
    int64_t t0 = omega_now_ms() - 600 * 1000;
    /* unsorted, with an empty value (dropped) */
    omega_label_t line[3] = {{"zone", "b"}, {"empty", ""}, {"host", "h1"}};
    omega_point_t pts[3 * 100];
    static char names[3][16] = {"m_a", "m_b", "m_c"};
    for (int r = 0; r < 100; r++)
        for (int k = 0; k < 3; k++)
            pts[r * 3 + k] = pt(names[k], line, 3, t0 + r * 1000, r * 10 + k);
    assert_int_equal(omega_tsdb_write(f->db, pts, 300, &err), 0);
    /* the same series written with their own, differently ordered arrays */
    omega_label_t other[2] = {{"host", "h1"}, {"zone", "b"}};
    omega_point_t one = pt("m_b", other, 2, t0 + 100 * 1000, 1001);
    assert_int_equal(omega_tsdb_write(f->db, &one, 1, &err), 0);
    assert_int_equal(stat_series(f), 3);
    omega_matcher_t m = {"host", "h1", OMEGA_MATCH_EQ};
    assert_int_equal(select_all(f, &m, 1, INT64_MIN, INT64_MAX, &seen, &err), 0);
    assert_int_equal(seen.n, 3);
    int b = seen_find(&seen, "m_b{host=\"h1\",zone=\"b\"}");
    assert_true(b >= 0);
    assert_int_equal(seen.s[b].n, 101);
    for (int r = 0; r < 100 && r < MAX_SEEN; r++) {
        assert_int_equal(seen.s[b].samples[r].ts_ms, t0 + r * 1000);
        assert_true(seen.s[b].samples[r].value == r * 10 + 1);
    }
    /* a bad label in a shared array fails the first point that carries it */
    omega_label_t bad[2] = {{"ok", "x"}, {"bad-name", "y"}};
    omega_point_t two[3] = {pt("m_a", line, 3, t0, 1), pt("m_a", bad, 2, t0, 1),
                            pt("m_b", bad, 2, t0, 1)};
    assert_int_equal(omega_tsdb_write(f->db, two, 3, &err), OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "point 1"));
    assert_int_equal(stat_series(f), 3);
}

/* A seal that commits while a select is between two series: the next series' samples,
 * moved from its head into chunks after the select's chunk iterator was made, are seen. */
typedef struct seal_mid {
    omega_tsdb_t *db; /* the store */
    int sealed;       /* the callback sealed once */
    size_t n_b;       /* samples handed out for series "b" */
} seal_mid_t;

static int seal_mid_cb(void *ctx, const omega_series_t *series, const omega_sample_t *s,
                       size_t n)
{
    seal_mid_t *c = ctx;
    (void)s;
    if (strcmp(series->labels[0].value, "b") == 0)
        c->n_b = n;
    if (!c->sealed) {
        c->sealed = 1;
        omega_error_t err;
        assert_int_equal(omega_tsdb_flush(c->db, &err), 0);
    }
    return 0;
}

static void test_select_sees_seal_between_series(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    int64_t t0 = omega_now_ms() - 60000;
    omega_label_t la = {"s", "a"}, lb = {"s", "b"};
    for (int i = 0; i < 10; i++) {
        omega_point_t p[2] = {{.name = "mid", .labels = &la, .n_labels = 1, .ts_ms = t0 + i,
                               .value = i},
                              {.name = "mid", .labels = &lb, .n_labels = 1, .ts_ms = t0 + i,
                               .value = i}};
        if (i == 5) /* half of each series sealed, so the select makes its iterator */
            assert_int_equal(omega_tsdb_flush(f->db, &err), 0);
        assert_int_equal(omega_tsdb_write(f->db, p, 2, &err), 0);
    }
    omega_matcher_t m = {"__name__", "mid", OMEGA_MATCH_EQ};
    seal_mid_t c = {.db = f->db};
    assert_int_equal(omega_tsdb_select(f->db, &m, 1, t0, t0 + 100, seal_mid_cb, &c, &err), 0);
    assert_true(c.sealed);
    assert_int_equal(c.n_b, 10);
}

/* Every series of a select over many series (read by several threads in batches) is
 * handed out once, in id order, complete, with the head and chunk samples merged; a stop
 * ends it at once; matchers that need the labels filter on the reading threads. */
typedef struct many {
    size_t calls;     /* callbacks */
    uint64_t last_id; /* id of the previous callback */
    size_t bad;       /* series with wrong samples */
    size_t stop_at;   /* return 7 at this many callbacks, 0 = never */
} many_t;

static int many_cb(void *ctx, const omega_series_t *series, const omega_sample_t *s, size_t n)
{
    many_t *m = ctx;
    assert_true(series->id > m->last_id);
    m->last_id = series->id;
    int k = atoi(series->labels[0].value);
    if (n != 20)
        m->bad++;
    for (size_t j = 0; j < n; j++)
        if (s[j].value != k * 1000 + (double)j || (j > 0 && s[j].ts_ms <= s[j - 1].ts_ms))
            m->bad++;
    m->calls++;
    return m->stop_at && m->calls == m->stop_at ? 7 : 0;
}

enum { SERIES = 300 };

/* SERIES series "many"{k="<k>"}, 20 samples each (k * 1000 + j): 12 sealed, 8 in heads. */
static void write_many(fixture_t *f, int64_t t0)
{
    omega_error_t err;
    static char vals[SERIES][8];
    static omega_label_t labels[SERIES];
    omega_point_t p[SERIES];
    for (int j = 0; j < 20; j++) {
        for (int k = 0; k < SERIES; k++) {
            snprintf(vals[k], sizeof(vals[k]), "%d", k);
            labels[k] = (omega_label_t){"k", vals[k]};
            p[k] = (omega_point_t){.name = "many", .labels = &labels[k], .n_labels = 1,
                                   .ts_ms = t0 + j * 1000, .value = k * 1000 + j};
        }
        assert_int_equal(omega_tsdb_write(f->db, p, SERIES, &err), 0);
        if (j == 11) /* the first 12 samples in chunks, the rest in heads */
            assert_int_equal(omega_tsdb_flush(f->db, &err), 0);
    }
}

static void test_select_many_series_in_parallel(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    int64_t t0 = omega_now_ms() - 600000;
    write_many(f, t0);
    omega_matcher_t m = {"__name__", "many", OMEGA_MATCH_EQ};
    many_t all = {0};
    assert_int_equal(omega_tsdb_select(f->db, &m, 1, t0, t0 + 60000, many_cb, &all, &err), 0);
    assert_int_equal(all.calls, SERIES);
    assert_int_equal(all.bad, 0);
    many_t stop = {.stop_at = 100};
    assert_int_equal(omega_tsdb_select(f->db, &m, 1, t0, t0 + 60000, many_cb, &stop, &err), 7);
    assert_int_equal(stop.calls, 100);
    /* k =~ "1.*": 1, 10-19, 100-199 */
    omega_matcher_t re[2] = {{"__name__", "many", OMEGA_MATCH_EQ}, {"k", "1.*", OMEGA_MATCH_RE}};
    many_t some = {0};
    assert_int_equal(omega_tsdb_select(f->db, re, 2, t0, t0 + 60000, many_cb, &some, &err), 0);
    assert_int_equal(some.calls, 111);
    assert_int_equal(some.bad, 0);
}

/* A regex over a label whose values each have many series (a metric name) runs once per
 * value and seeks past the postings of values it rejects, including a value that is a
 * prefix of another ("m_a" and "m_ab"). */
static void test_regex_postings_skip_rejected_values(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    static const struct {
        const char *name;
        int series;
    } metrics[] = {{"m_a", 10}, {"m_ab", 6}, {"m_b", 10}, {"other", 12}};
    int64_t t0 = omega_now_ms() - 60000;
    for (size_t m = 0; m < sizeof(metrics) / sizeof(metrics[0]); m++)
        for (int i = 0; i < metrics[m].series; i++) {
            char v[16];
            snprintf(v, sizeof(v), "%d", i);
            omega_label_t l = {"i", v};
            omega_point_t p = pt(metrics[m].name, &l, 1, t0, i);
            assert_int_equal(omega_tsdb_write(f->db, &p, 1, &err), 0);
        }
    static const struct {
        const char *re;
        omega_match_op_t op;
        size_t want;
    } cases[] = {
        {"m_a", OMEGA_MATCH_RE, 10},          {"m_ab", OMEGA_MATCH_RE, 6},
        {"m_a.*", OMEGA_MATCH_RE, 16},        {"m_b|other", OMEGA_MATCH_RE, 22},
        {"other", OMEGA_MATCH_RE, 12},        {"m_.*", OMEGA_MATCH_RE, 26},
        {"nothing", OMEGA_MATCH_RE, 0},       {"m_ab|m_b", OMEGA_MATCH_RE, 16},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        omega_matcher_t m = {"__name__", cases[c].re, cases[c].op};
        seen_t *seen = calloc(1, sizeof(*seen));
        assert_int_equal(match_all(f, &m, 1, seen, &err), 0);
        if (seen->n != cases[c].want)
            fail_msg("%s: %zu series, want %zu", cases[c].re, seen->n, cases[c].want);
        free(seen);
    }
    /* a value regex on a label with one series per value still steps through them */
    omega_matcher_t two[2] = {{"__name__", "other", OMEGA_MATCH_EQ}, {"i", "1.*", OMEGA_MATCH_RE}};
    seen_t *seen = calloc(1, sizeof(*seen));
    assert_int_equal(match_all(f, two, 2, seen, &err), 0);
    assert_int_equal(seen->n, 3); /* 1, 10, 11 */
    free(seen);
}

/* omega_tsdb_select_concurrent: the callback may run on several threads, in any order;
 * every series still comes exactly once and complete, and a stop ends the read. */
typedef struct conc_seen {
    pthread_mutex_t lock; /* guards the rest */
    int times[SERIES];    /* callbacks per k */
    size_t calls, bad;    /* callbacks, series with wrong samples */
    size_t stop_at;       /* return 7 at this many callbacks, 0 = never */
} conc_seen_t;

static int conc_cb(void *ctx, const omega_series_t *series, const omega_sample_t *s, size_t n)
{
    conc_seen_t *c = ctx;
    int k = atoi(series->labels[0].value);
    size_t bad = n != 20 || k < 0 || k >= SERIES;
    for (size_t j = 0; j < n; j++)
        if (s[j].value != k * 1000 + (double)j || (j > 0 && s[j].ts_ms <= s[j - 1].ts_ms))
            bad++;
    pthread_mutex_lock(&c->lock);
    if (k >= 0 && k < SERIES)
        c->times[k]++;
    c->bad += bad;
    size_t calls = ++c->calls;
    pthread_mutex_unlock(&c->lock);
    return c->stop_at && calls == c->stop_at ? 7 : 0;
}

static void test_select_concurrent_callbacks(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    int64_t t0 = omega_now_ms() - 600000;
    write_many(f, t0);
    omega_matcher_t m = {"__name__", "many", OMEGA_MATCH_EQ};
    static conc_seen_t all, stop, some;
    pthread_mutex_init(&all.lock, NULL);
    assert_int_equal(
        omega_tsdb_select_concurrent(f->db, &m, 1, t0, t0 + 60000, conc_cb, &all, &err), 0);
    assert_int_equal(all.calls, SERIES);
    assert_int_equal(all.bad, 0);
    for (int k = 0; k < SERIES; k++)
        assert_int_equal(all.times[k], 1);
    pthread_mutex_init(&stop.lock, NULL);
    stop.stop_at = 100;
    assert_int_equal(
        omega_tsdb_select_concurrent(f->db, &m, 1, t0, t0 + 60000, conc_cb, &stop, &err), 7);
    /* the other threads finish the series they hold, then stop */
    assert_true(stop.calls >= 100 && stop.calls < SERIES);
    omega_matcher_t re[2] = {{"__name__", "many", OMEGA_MATCH_EQ}, {"k", "1.*", OMEGA_MATCH_RE}};
    pthread_mutex_init(&some.lock, NULL);
    assert_int_equal(
        omega_tsdb_select_concurrent(f->db, re, 2, t0, t0 + 60000, conc_cb, &some, &err), 0);
    assert_int_equal(some.calls, 111);
    assert_int_equal(some.bad, 0);
    pthread_mutex_destroy(&all.lock);
    pthread_mutex_destroy(&stop.lock);
    pthread_mutex_destroy(&some.lock);
}

static int count_cb(void *ctx, const omega_series_t *series, const omega_sample_t *s, size_t n)
{
    (void)series;
    (void)s;
    assert_int_equal(n, 0);
    (*(int *)ctx)++;
    return 0;
}

static int active(fixture_t *f, int64_t start, int64_t end)
{
    omega_error_t err;
    omega_matcher_t m = {"__name__", "act", OMEGA_MATCH_EQ};
    int n = 0;
    assert_int_equal(omega_tsdb_series_active(f->db, &m, 1, start, end, count_cb, &n, &err), 0);
    return n;
}

/* Series with a sample in a range, from heads and chunk headers alone. */
static void test_series_active(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    int64_t t0 = omega_now_ms() - 3600000;
    omega_label_t la = {"s", "a"}, lb = {"s", "b"};
    for (int i = 0; i < 10; i++) { /* a: t0 .. t0 + 9 s, sealed */
        omega_point_t p = {.name = "act", .labels = &la, .n_labels = 1,
                           .ts_ms = t0 + i * 1000, .value = i};
        assert_int_equal(omega_tsdb_write(f->db, &p, 1, &err), 0);
    }
    assert_int_equal(omega_tsdb_flush(f->db, &err), 0);
    omega_point_t p = {.name = "act", .labels = &lb, .n_labels = 1, .ts_ms = t0 + 60000,
                       .value = 1}; /* b: one unsealed sample a minute later */
    assert_int_equal(omega_tsdb_write(f->db, &p, 1, &err), 0);
    assert_int_equal(active(f, t0, t0 + 60000), 2);
    assert_int_equal(active(f, t0 + 9000, t0 + 9000), 1);  /* a's last sample, inclusive */
    assert_int_equal(active(f, t0 + 9001, t0 + 59999), 0); /* the gap between them */
    assert_int_equal(active(f, t0 + 5000, t0 + 60000), 2);
    assert_int_equal(active(f, t0 - 5000, t0 - 1), 0);     /* before everything */
    assert_int_equal(active(f, t0 + 60001, INT64_MAX), 0);
    assert_int_equal(active(f, 10, 5), 0);                  /* empty range */
    omega_matcher_t m = {"__name__", "act", OMEGA_MATCH_EQ};
    int n = 0;
    assert_int_equal(omega_tsdb_series_active(f->db, &m, 1, 0, 1, NULL, &n, &err), OMEGA_EINVAL);
}

static int count_sel(fixture_t *f, const char *g)
{
    omega_error_t err;
    omega_matcher_t m[2] = {{"__name__", "pc", OMEGA_MATCH_EQ}, {"g", g, OMEGA_MATCH_EQ}};
    seen_t seen;
    assert_int_equal(select_all(f, m, 2, 0, INT64_MAX, &seen, &err), 0);
    return (int)seen.n;
}

static void write_pc(fixture_t *f, const char *g, const char *x)
{
    omega_error_t err;
    omega_label_t l[2] = {{"g", g}, {"x", x}};
    omega_point_t p = {.name = "pc", .labels = l, .n_labels = 2, .ts_ms = omega_now_ms() - 1000,
                       .value = 1};
    assert_int_equal(omega_tsdb_write(f->db, &p, 1, &err), 0);
}

/* Selects by label equality answer from the postings cache once the index has been
 * stable for a second; new and erased series show at once (the cache generation). */
static void test_postings_cache_follows_the_index(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    write_pc(f, "a", "1");
    write_pc(f, "a", "2");
    write_pc(f, "a", "3");
    write_pc(f, "b", "1");
    for (int round = 0; round < 2; round++) {
        struct timespec pause = {1, 100000000}; /* let the generation settle: cache filled */
        nanosleep(&pause, NULL);
        assert_int_equal(count_sel(f, "a"), 3);
        assert_int_equal(count_sel(f, "a"), 3); /* from the cache */
        assert_int_equal(count_sel(f, "b"), 1);
        assert_int_equal(count_sel(f, "c"), 0);
    }
    write_pc(f, "a", "new"); /* a new series retires the cached lists at once */
    assert_int_equal(count_sel(f, "a"), 4);
    struct timespec pause = {1, 100000000};
    nanosleep(&pause, NULL);
    assert_int_equal(count_sel(f, "a"), 4);
    omega_matcher_t gone = {"x", "new", OMEGA_MATCH_EQ};
    omega_tsdb_erase_stats_t st;
    assert_int_equal(omega_tsdb_erase(f->db, &gone, 1, &st, &err), 0);
    assert_int_equal(count_sel(f, "a"), 3);
    assert_int_equal(count_sel(f, "b"), 1);
}

/* A relaxed write (no fsync wait) is readable at once and still there after a reopen. */
static void test_relaxed_write(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    int64_t t0 = omega_now_ms() - 10000;
    omega_point_t p[2] = {{.name = "relaxed", .ts_ms = t0, .value = 1.5},
                          {.name = "relaxed", .ts_ms = t0 + 1000, .value = 2.5}};
    assert_int_equal(omega_tsdb_write_relaxed(f->db, p, 2, &err), 0);
    omega_matcher_t m = {"__name__", "relaxed", OMEGA_MATCH_EQ};
    seen_t seen;
    assert_int_equal(select_all(f, &m, 1, t0, t0 + 1000, &seen, &err), 0);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.s[0].n, 2);
    reopen(f);
    assert_int_equal(select_all(f, &m, 1, t0, t0 + 1000, &seen, &err), 0);
    assert_int_equal(seen.n, 1);
    assert_true(seen.s[0].n == 2 && seen.s[0].samples[1].value == 2.5);
    assert_int_equal(omega_tsdb_write_relaxed(NULL, p, 1, &err), OMEGA_EINVAL);
}

static void test_stats(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    omega_tsdb_stats_t st;
    int64_t now = omega_now_ms();
    omega_tsdb_stats(f->db, &st);
    assert_int_equal(st.series, 0);
    assert_int_equal(st.samples_written, 0);
    omega_label_t l[2][1] = {{{"i", "0"}}, {{"i", "1"}}};
    omega_point_t p[100];
    for (int i = 0; i < 100; i++)
        p[i] = pt("stat_metric", l[i % 2], 1, now - i, i);
    assert_int_equal(omega_tsdb_write(f->db, p, 100, &err), 0);
    omega_tsdb_stats(f->db, &st);
    assert_int_equal(st.series, 2);
    assert_int_equal(st.samples_written, 100);
    assert_true(st.disk_bytes > 0); /* at least the WAL */
    reopen(f);                      /* close flushes memtables into SST files */
    omega_tsdb_stats(f->db, &st);
    assert_int_equal(st.series, 2);
    assert_int_equal(st.samples_written, 0); /* since open */
    assert_true(st.disk_bytes > 100 * 8);
    omega_tsdb_stats(NULL, &st);
    assert_int_equal(st.series, 0);
}

/* ---- concurrency: writers racing to create the same series ---- */

typedef struct race_arg {
    omega_tsdb_t *db; /* shared store */
    int rc;           /* first failure */
} race_arg_t;

static void *race_writer(void *p)
{
    race_arg_t *a = p;
    omega_error_t err;
    int64_t now = omega_now_ms();
    char vals[50][8];
    omega_label_t l[50][1];
    omega_point_t pts[50];
    for (int round = 0; round < 10 && a->rc == 0; round++) {
        for (int i = 0; i < 50; i++) {
            snprintf(vals[i], sizeof(vals[i]), "%d", (i * 7 + round) % 50);
            l[i][0] = (omega_label_t){"n", vals[i]};
            pts[i] = pt("race", l[i], 1, now + round, i);
        }
        a->rc = omega_tsdb_write(a->db, pts, 50, &err);
    }
    return NULL;
}

static void test_concurrent_series_creation(void **state)
{
    fixture_t *f = *state;
    pthread_t th[4];
    race_arg_t args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (race_arg_t){f->db, 0};
        assert_int_equal(pthread_create(&th[i], NULL, race_writer, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].rc, 0);
    }
    assert_int_equal(stat_series(f), 50);
    reopen(f);
    assert_int_equal(stat_series(f), 50);
    omega_error_t err;
    seen_t seen;
    omega_matcher_t m = {"n", "7", OMEGA_MATCH_EQ};
    assert_int_equal(match_all(f, &m, 1, &seen, &err), 0);
    assert_int_equal(seen.n, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kv_put_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kv_scan_prefix_and_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kv_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_double_open_fails_clearly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_special_values_and_negative_ts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_write_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_is_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation_values_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compression_setting_can_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_series_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matchers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matchers_matching_empty_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_regex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_time_bounds_inclusive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_hides_and_compaction_drops, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_series_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eq_postings_intersection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_label_arrays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relaxed_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_postings_cache_follows_the_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_series_active, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_many_series_in_parallel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_sees_seal_between_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_concurrent_callbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regex_postings_skip_rejected_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_series_creation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
