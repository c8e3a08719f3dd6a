/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the storage head and sealing: chunks sealed by size and age, reads that merge
 * chunks with the head, out-of-order and duplicate samples across sealed chunks (the
 * latest write wins), concurrent writers and readers during seals, corrupt chunks and
 * damaged SST files on disk (and the integrity check), the format-1 migration, and
 * kill -9 of a writer process mid-burst. RocksDB is
 * used directly only to fabricate on-disk states (corruption, format 1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "omega/tsdb.h"
#include "testutil.h"

typedef struct fixture {
    char *dir;              /* temp data dir */
    omega_tsdb_t *db;       /* open store or NULL */
    omega_tsdb_options_t o; /* options of db */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("storage-head");
    omega_tsdb_options_init(&f->o);
    f->o.data_dir = f->dir;
    f->o.sync_writes = 0;
    f->o.raw_retention_ms = 0;
    f->o.out_of_order_window_ms = 0;
    f->o.chunk_max_samples = 16;
    f->o.chunk_max_age_ms = 0;
    omega_error_t err;
    f->db = omega_tsdb_open(&f->o, &err);
    *state = f;
    return f->db ? 0 : -1;
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
    if (!f->db)
        fail_msg("reopen: %s", err.message);
}

/* ---- collecting select results ---- */

typedef struct got {
    size_t n_series;         /* callbacks */
    omega_sample_t *s;       /* samples of the last series, owned */
    size_t n;                /* samples in s */
    uint64_t total;          /* samples over all series */
} got_t;

static int got_cb(void *ctx, const omega_series_t *series, const omega_sample_t *samples,
                  size_t n)
{
    got_t *g = ctx;
    (void)series;
    for (size_t i = 1; i < n; i++)
        assert_true(samples[i - 1].ts_ms < samples[i].ts_ms); /* sorted, no duplicates */
    g->n_series++;
    g->total += n;
    free(g->s);
    g->s = malloc((n ? n : 1) * sizeof(*samples));
    memcpy(g->s, samples, n * sizeof(*samples));
    g->n = n;
    return 0;
}

static int get_series(omega_tsdb_t *db, const char *name, int64_t start, int64_t end, got_t *g,
                      omega_error_t *err)
{
    free(g->s);
    memset(g, 0, sizeof(*g));
    omega_matcher_t m = {"__name__", name, OMEGA_MATCH_EQ};
    return omega_tsdb_select(db, &m, 1, start, end, got_cb, g, err);
}

static void write1(omega_tsdb_t *db, const char *name, int64_t ts, double v)
{
    omega_error_t err;
    omega_point_t p = {.name = name, .ts_ms = ts, .value = v};
    if (omega_tsdb_write(db, &p, 1, &err) != 0)
        fail_msg("write: %s", err.message);
}

static void stats(omega_tsdb_t *db, omega_tsdb_stats_t *st)
{
    omega_tsdb_stats(db, st);
}

/* ---- sealing ---- */

static void test_seal_by_size_and_read_across(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    omega_tsdb_stats_t st;
    got_t g = {0};
    for (int i = 0; i < 100; i++)
        write1(f->db, "m", 1000 * (int64_t)i, i * 0.5);
    stats(f->db, &st);
    assert_int_equal(st.chunks_written, 6); /* 6 x 16 sealed, 4 in the head */
    assert_int_equal(st.head_samples, 4);
    assert_int_equal(get_series(f->db, "m", INT64_MIN, INT64_MAX, &g, &err), 0);
    assert_int_equal(g.n, 100);
    for (int i = 0; i < 100; i++)
        assert_true(g.s[i].ts_ms == 1000 * i && g.s[i].value == i * 0.5);
    /* a range that starts inside one chunk and ends in the head */
    assert_int_equal(get_series(f->db, "m", 20500, 97000, &g, &err), 0);
    assert_int_equal(g.n, 97 - 21 + 1);
    assert_true(g.s[0].ts_ms == 21000 && g.s[g.n - 1].ts_ms == 97000);
    /* flush seals the rest; nothing changes for readers */
    assert_int_equal(omega_tsdb_flush(f->db, &err), 0);
    stats(f->db, &st);
    assert_int_equal(st.head_samples, 0);
    assert_int_equal(get_series(f->db, "m", INT64_MIN, INT64_MAX, &g, &err), 0);
    assert_int_equal(g.n, 100);
    reopen(f);
    stats(f->db, &st);
    assert_int_equal(st.head_samples, 0);
    assert_int_equal(get_series(f->db, "m", INT64_MIN, INT64_MAX, &g, &err), 0);
    assert_int_equal(g.n, 100);
    assert_true(g.s[99].value == 49.5);
    assert_int_equal(omega_tsdb_flush(NULL, &err), OMEGA_EINVAL);
    free(g.s);
}

static void test_seal_by_span_and_wall_clock_age(void **state)
{
    fixture_t *f = *state;
    omega_tsdb_stats_t st;
    f->o.chunk_max_age_ms = 1500;
    reopen(f);
    /* a data span of max_age seals at once */
    write1(f->db, "span", 0, 1);
    write1(f->db, "span", 1000, 2);
    stats(f->db, &st);
    assert_int_equal(st.chunks_written, 0);
    write1(f->db, "span", 1500, 3);
    stats(f->db, &st);
    assert_int_equal(st.chunks_written, 1);
    assert_int_equal(st.head_samples, 0);
    /* a head opened more than max_age ago (wall clock) is sealed by a later write */
    write1(f->db, "idle", 0, 1);
    struct timespec ts = {1, 700 * 1000000L};
    nanosleep(&ts, NULL);
    write1(f->db, "other", 0, 1);
    stats(f->db, &st);
    assert_int_equal(st.chunks_written, 2);
    assert_int_equal(st.head_samples, 1); /* "other" just started */
}

static void test_out_of_order_and_duplicates_across_chunks(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    got_t g = {0};
    for (int i = 0; i < 64; i++)
        write1(f->db, "ooo", 1000 * (int64_t)i, i); /* 4 sealed chunks */
    /* rewrite a sealed sample, insert between sealed samples, before all, and a
     * duplicate inside the head */
    write1(f->db, "ooo", 5000, -5);
    write1(f->db, "ooo", 5500, 55);
    write1(f->db, "ooo", -1000, -1);
    write1(f->db, "ooo", 70000, 7);
    write1(f->db, "ooo", 70000, 8);
    for (int pass = 0; pass < 3; pass++) {
        assert_int_equal(get_series(f->db, "ooo", INT64_MIN, INT64_MAX, &g, &err), 0);
        assert_int_equal(g.n, 64 + 3);
        assert_true(g.s[0].ts_ms == -1000 && g.s[0].value == -1);
        assert_true(g.s[6].ts_ms == 5000 && g.s[6].value == -5);
        assert_true(g.s[7].ts_ms == 5500 && g.s[7].value == 55);
        assert_true(g.s[8].ts_ms == 6000 && g.s[8].value == 6);
        assert_true(g.s[g.n - 1].ts_ms == 70000 && g.s[g.n - 1].value == 8);
        if (pass == 0)
            assert_int_equal(omega_tsdb_flush(f->db, &err), 0); /* merge into chunks */
        else
            reopen(f);
    }
    /* the same again when the rewrite is sealed by size, not by flush */
    for (int i = 0; i < 40; i++)
        write1(f->db, "ooo", 1000 * (int64_t)i, 1000 + i);
    assert_int_equal(get_series(f->db, "ooo", INT64_MIN, INT64_MAX, &g, &err), 0);
    assert_int_equal(g.n, 64 + 3);
    assert_true(g.s[1].ts_ms == 0 && g.s[1].value == 1000);
    assert_true(g.s[7].ts_ms == 5500 && g.s[7].value == 55);
    assert_true(g.s[6].ts_ms == 5000 && g.s[6].value == 1005);
    assert_true(g.s[41].ts_ms == 39000 && g.s[41].value == 1039);
    assert_true(g.s[42].ts_ms == 40000 && g.s[42].value == 40);
    free(g.s);
}

static void test_special_values_survive_sealing(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    got_t g = {0};
    double v[] = {NAN, -0.0, INFINITY, -INFINITY, 5e-324, 12.5, 37.25, 1e300};
    for (int i = 0; i < 40; i++)
        write1(f->db, "sv", INT64_MIN + 1 + (int64_t)i * 1000000007LL, v[i % 8]);
    reopen(f);
    assert_int_equal(get_series(f->db, "sv", INT64_MIN, INT64_MAX, &g, &err), 0);
    assert_int_equal(g.n, 40);
    for (int i = 0; i < 40; i++) {
        double want = v[i % 8], have = g.s[i].value;
        assert_true(memcmp(&want, &have, sizeof(double)) == 0 || (isnan(want) && isnan(have)));
    }
    free(g.s);
}

/* ---- concurrency ---- */

typedef struct cw {
    omega_tsdb_t *db; /* shared store */
    int id;           /* writer number */
    int rc;           /* first failure */
} cw_t;

static void *conc_writer(void *p)
{
    cw_t *a = p;
    char v[8];
    snprintf(v, sizeof(v), "%d", a->id);
    omega_label_t l = {"w", v};
    omega_error_t err;
    for (int i = 0; i < 500 && a->rc == 0; i++) {
        omega_point_t pt = {.name = "conc", .labels = &l, .n_labels = 1,
                            .ts_ms = (int64_t)i * 10, .value = i};
        a->rc = omega_tsdb_write(a->db, &pt, 1, &err);
    }
    return NULL;
}

static void *conc_reader(void *p)
{
    cw_t *a = p;
    omega_error_t err;
    got_t g = {0};
    for (int i = 0; i < 50 && a->rc == 0; i++) {
        omega_matcher_t m = {"__name__", "conc", OMEGA_MATCH_EQ};
        a->rc = omega_tsdb_select(a->db, &m, 1, INT64_MIN, INT64_MAX, got_cb, &g, &err);
    }
    free(g.s);
    return NULL;
}

static void test_concurrent_writers_and_readers(void **state)
{
    fixture_t *f = *state;
    pthread_t th[5];
    cw_t a[5];
    for (int i = 0; i < 5; i++) {
        a[i] = (cw_t){f->db, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, i < 4 ? conc_writer : conc_reader, &a[i]),
                         0);
    }
    for (int i = 0; i < 5; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(a[i].rc, 0);
    }
    omega_error_t err;
    got_t g = {0};
    assert_int_equal(get_series(f->db, "conc", INT64_MIN, INT64_MAX, &g, &err), 0);
    assert_int_equal(g.n_series, 4);
    assert_int_equal(g.total, 2000);
    reopen(f);
    assert_int_equal(get_series(f->db, "conc", INT64_MIN, INT64_MAX, &g, &err), 0);
    assert_int_equal(g.total, 2000);
    free(g.s);
}

/* ---- fabricated on-disk states ---- */

typedef struct rdb {
    rocksdb_t *db;                         /* raw handle */
    rocksdb_options_t *opts;               /* shared options */
    rocksdb_column_family_handle_t **cf;   /* handles */
    char **names;                          /* CF names */
    size_t n;                              /* CFs */
} rdb_t;

static void rdb_open(rdb_t *r, const char *dir)
{
    char *e = NULL;
    r->opts = rocksdb_options_create();
    r->names = rocksdb_list_column_families(r->opts, dir, &r->n, &e);
    assert_null(e);
    const rocksdb_options_t **o = calloc(r->n, sizeof(*o));
    for (size_t i = 0; i < r->n; i++)
        o[i] = r->opts;
    r->cf = calloc(r->n, sizeof(*r->cf));
    r->db = rocksdb_open_column_families(r->opts, dir, (int)r->n, (const char *const *)r->names,
                                         o, r->cf, &e);
    free(o);
    assert_null(e);
}

static rocksdb_column_family_handle_t *rdb_cf(rdb_t *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0)
            return r->cf[i];
    fail_msg("no column family %s", name);
    return NULL;
}

static void rdb_close(rdb_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        rocksdb_column_family_handle_destroy(r->cf[i]);
    rocksdb_close(r->db);
    rocksdb_list_column_families_destroy(r->names, r->n);
    rocksdb_options_destroy(r->opts);
    free(r->cf);
}

typedef struct corrupt_seen {
    size_t n;    /* corrupt chunks reported */
    uint64_t id; /* series of the last one */
    int64_t ts;  /* its chunk time */
} corrupt_seen_t;

static void corrupt_cb(void *ctx, uint64_t id, int64_t ts)
{
    corrupt_seen_t *c = ctx;
    c->n++;
    c->id = id;
    c->ts = ts;
}

static void test_corrupt_chunk_reported_not_crashing(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    got_t g = {0};
    for (int i = 0; i < 32; i++) {
        write1(f->db, "bad", 1000 * (int64_t)i, i);
        write1(f->db, "good", 1000 * (int64_t)i, i);
    }
    omega_tsdb_close(f->db);
    f->db = NULL;
    rdb_t r;
    rdb_open(&r, f->dir);
    rocksdb_column_family_handle_t *raw = rdb_cf(&r, "raw");
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(r.db, ro, raw);
    rocksdb_iter_seek_to_first(it); /* series ids: "bad" was created first */
    assert_true(rocksdb_iter_valid(it));
    size_t klen, vlen;
    const char *k = rocksdb_iter_key(it, &klen);
    const char *v = rocksdb_iter_value(it, &vlen);
    char *key = malloc(klen), *val = malloc(vlen);
    memcpy(key, k, klen);
    memcpy(val, v, vlen);
    val[vlen / 2] ^= 0x10; /* one flipped bit */
    rocksdb_iter_destroy(it);
    char *e = NULL;
    rocksdb_put_cf(r.db, wo, raw, key, klen, val, vlen, &e);
    assert_null(e);
    free(key);
    free(val);
    rocksdb_readoptions_destroy(ro);
    rocksdb_writeoptions_destroy(wo);
    rdb_close(&r);
    reopen(f);
    /* the integrity check finds exactly that chunk and reads everything else */
    omega_tsdb_integrity_t ic;
    corrupt_seen_t cs = {0};
    assert_int_equal(omega_tsdb_verify(f->db, &ic, corrupt_cb, &cs, &err), OMEGA_ECORRUPT);
    assert_non_null(strstr(err.message, "1 of 4 chunks are corrupt"));
    assert_true(ic.chunks == 4 && ic.corrupt_chunks == 1 && ic.samples == 48);
    assert_true(cs.n == 1 && cs.id == 1 && cs.ts == 0);
    assert_int_equal(get_series(f->db, "bad", INT64_MIN, INT64_MAX, &g, &err), OMEGA_ECORRUPT);
    assert_non_null(strstr(err.message, "corrupt"));
    /* the other chunk of the series and other series still read */
    assert_int_equal(get_series(f->db, "bad", 16000, INT64_MAX, &g, &err), 0);
    assert_int_equal(g.n, 16);
    assert_int_equal(get_series(f->db, "good", INT64_MIN, INT64_MAX, &g, &err), 0);
    assert_int_equal(g.n, 32);
    /* a rewrite of the damaged range replaces the chunk (logged) and reads work again */
    for (int i = 0; i < 16; i++)
        write1(f->db, "bad", 1000 * (int64_t)i, 100 + i);
    assert_int_equal(get_series(f->db, "bad", INT64_MIN, INT64_MAX, &g, &err), 0);
    assert_int_equal(g.n, 32);
    assert_true(g.s[3].value == 103 && g.s[20].value == 20);
    assert_int_equal(omega_tsdb_flush(f->db, &err), 0);
    assert_int_equal(omega_tsdb_verify(f->db, &ic, NULL, NULL, &err), 0);
    assert_true(ic.corrupt_chunks == 0 && ic.samples == 64);
    assert_int_equal(omega_tsdb_verify(NULL, &ic, NULL, NULL, &err), OMEGA_EINVAL);
    free(g.s);
}

/* The largest .sst file of dir (the raw chunks), as a malloc'd path. */
static char *largest_sst(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    char *best = NULL;
    off_t best_size = -1;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".sst") != 0)
            continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) == 0 && st.st_size > best_size) {
            best_size = st.st_size;
            free(best);
            best = strdup(path);
        }
    }
    closedir(d);
    assert_non_null(best);
    return best;
}

static void test_sst_damage_reported_not_crashing(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    enum { SERIES = 128, SAMPLES = 96 };
    char name[16], names[SERIES][16];
    omega_point_t pts[SERIES];
    /* full-precision values: several 64 KiB blocks of chunks */
    for (int i = 0; i < SAMPLES; i++) {
        for (int k = 0; k < SERIES; k++) {
            snprintf(names[k], sizeof(names[k]), "sst_%d", k);
            pts[k] = (omega_point_t){.name = names[k], .ts_ms = 1000 * (int64_t)i,
                                     .value = (double)rand() / 7};
        }
        assert_int_equal(omega_tsdb_write(f->db, pts, SERIES, &err), 0);
    }
    omega_tsdb_close(f->db);
    f->db = NULL;
    char *sst = largest_sst(f->dir);
    size_t len;
    char *data = testutil_read_file(sst, &len);
    assert_non_null(data);
    memset(data + len / 4, 0x5a, 32); /* inside a data block */
    assert_int_equal(testutil_write_file(sst, data, len), 0);
    free(data);
    free(sst);
    reopen(f);
    omega_tsdb_integrity_t ic;
    int rc = omega_tsdb_verify(f->db, &ic, NULL, NULL, &err);
    assert_true(rc == OMEGA_EIO || rc == OMEGA_ECORRUPT);
    assert_true(err.message[0] != '\0');
    /* reads of every series either work or fail with a clear error, never crash */
    size_t failed = 0;
    got_t g = {0};
    for (int k = 0; k < SERIES; k++) {
        snprintf(name, sizeof(name), "sst_%d", k);
        rc = get_series(f->db, name, INT64_MIN, INT64_MAX, &g, &err);
        assert_true(rc == 0 || rc == OMEGA_EIO || rc == OMEGA_ECORRUPT);
        if (rc)
            failed++;
        else
            assert_int_equal(g.n, SAMPLES);
    }
    assert_true(failed > 0 && failed < SERIES); /* damage stays local to its block */
    free(g.s);
}

static void test_format1_samples_migrated(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    got_t g = {0};
    write1(f->db, "legacy", 1000, 1);
    omega_tsdb_close(f->db);
    f->db = NULL;
    /* format 1: one key per sample in `samples`: id (u64 BE) + ts (sign-flipped BE) */
    rdb_t r;
    rdb_open(&r, f->dir);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    char *e = NULL;
    for (int i = 2; i <= 40; i++) {
        char key[16], val[8];
        uint64_t id = 1, ts = (uint64_t)(1000 * (int64_t)i) ^ (UINT64_C(1) << 63);
        double d = i * 1.5;
        uint64_t bits;
        memcpy(&bits, &d, 8);
        for (int b = 0; b < 8; b++) {
            key[b] = (char)(id >> (56 - 8 * b));
            key[8 + b] = (char)(ts >> (56 - 8 * b));
            val[b] = (char)(bits >> (8 * b));
        }
        rocksdb_put_cf(r.db, wo, rdb_cf(&r, "samples"), key, 16, val, 8, &e);
        assert_null(e);
    }
    char v1[4] = {0, 0, 0, 1};
    rocksdb_put_cf(r.db, wo, rdb_cf(&r, "default"), "format_version", 14, v1, 4, &e);
    assert_null(e);
    rocksdb_writeoptions_destroy(wo);
    rdb_close(&r);
    reopen(f);
    assert_int_equal(get_series(f->db, "legacy", INT64_MIN, INT64_MAX, &g, &err), 0);
    assert_int_equal(g.n, 40);
    assert_true(g.s[0].value == 1 && g.s[39].value == 60);
    omega_tsdb_stats_t st;
    stats(f->db, &st);
    assert_int_equal(st.head_samples, 0); /* all sealed into chunks by the migration */
    reopen(f);                            /* migrates nothing twice */
    assert_int_equal(get_series(f->db, "legacy", INT64_MIN, INT64_MAX, &g, &err), 0);
    assert_int_equal(g.n, 40);
    free(g.s);
}

/* ---- kill -9 ---- */

/* Start the writer on rounds [first, last]; read acknowledged rounds until at least
 * `until`, then SIGKILL it. Returns the last acknowledged round. */
static long run_and_kill(const char *dir, long first, long last, long until, int compact)
{
    char exe[4096], a1[32], a2[32];
    testutil_build_path("tests/storage_crash_writer", exe, sizeof(exe));
    snprintf(a1, sizeof(a1), "%ld", first);
    snprintf(a2, sizeof(a2), "%ld", last);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execl(exe, exe, dir, a1, a2, compact ? "compact" : (char *)NULL, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    FILE *in = fdopen(pfd[0], "r");
    long acked = first - 1, r;
    while (acked < until && fscanf(in, "%ld", &r) == 1)
        acked = r;
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    fclose(in);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
        fail_msg("writer ended before the kill (status %d, acked %ld)", status, acked);
    return acked;
}

/* Six kills mid-burst; the last three while a second thread compacts, flushes and rolls
 * up back to back, so some land inside a compaction. */
static void test_kill9_mid_burst_loses_and_duplicates_nothing(void **state)
{
    fixture_t *f = *state;
    omega_error_t err;
    omega_tsdb_close(f->db);
    f->db = NULL;
    long next = 0;
    for (int iter = 0; iter < 6; iter++) {
        long acked =
            run_and_kill(f->dir, next, next + 100000, next + 40 + iter * 23, iter >= 3);
        f->o.chunk_max_samples = 16;
        f->o.sync_writes = 1;
        f->db = omega_tsdb_open(&f->o, &err);
        if (!f->db)
            fail_msg("reopen after kill: %s", err.message);
        long max_seen = -1;
        for (int k = 0; k < 20; k++) {
            char kv[8];
            snprintf(kv, sizeof(kv), "%d", k);
            omega_matcher_t m[2] = {{"__name__", "crash_metric", OMEGA_MATCH_EQ},
                                    {"k", kv, OMEGA_MATCH_EQ}};
            got_t g = {0};
            assert_int_equal(omega_tsdb_select(f->db, m, 2, INT64_MIN, INT64_MAX, got_cb, &g,
                                               &err), 0);
            assert_int_equal(g.n_series, 1);
            /* every acknowledged round is there exactly once (got_cb checks ordering),
             * with its value; later rounds (acks still in the pipe, or the one in flight)
             * may be there too, each once and contiguous */
            if (g.n < (size_t)acked + 1)
                fail_msg("series %d: %zu rounds after the kill, %ld acknowledged", k, g.n,
                         acked + 1);
            for (size_t i = 0; i < g.n; i++) {
                assert_true(g.s[i].ts_ms == 1600000000000LL + (int64_t)i * 1000);
                assert_true(g.s[i].value == (double)((int64_t)i * 100 + k));
            }
            if ((long)g.n - 1 > max_seen)
                max_seen = (long)g.n - 1;
            free(g.s);
        }
        omega_tsdb_close(f->db); /* a clean close in between: seals what the log replayed */
        f->db = NULL;
        next = max_seen + 1;
    }
    f->db = omega_tsdb_open(&f->o, &err);
    assert_non_null(f->db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seal_by_size_and_read_across, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seal_by_span_and_wall_clock_age, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_and_duplicates_across_chunks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_special_values_survive_sealing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers_and_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_chunk_reported_not_crashing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sst_damage_reported_not_crashing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_format1_samples_migrated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_mid_burst_loses_and_duplicates_nothing,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
