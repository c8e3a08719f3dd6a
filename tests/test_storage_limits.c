/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of max_storage_size (oldest raw data dropped first, rollups kept longer, then
 * OMEGA_ENOSPC on sample writes while reads and KV writes go on) and of backups and
 * restore (round trip, retention of the newest N, refusals of non-empty targets and of
 * missing, foreign or damaged backups, the periodic backup thread). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "omega/tsdb.h"
#include "testutil.h"

#define N_SERIES  8
#define N_SAMPLES 3000

typedef struct fixture {
    char *dir;              /* temp dir: data/ plus anything a test adds */
    char data[600];         /* data dir */
    omega_tsdb_t *db;       /* open store (may be NULL) */
    omega_tsdb_options_t o; /* its options */
    int64_t t0;             /* time of the first sample written by fill() */
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("storage-limits");
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    omega_tsdb_options_init(&f->o);
    f->o.data_dir = f->data;
    f->o.sync_writes = 0;
    f->o.raw_retention_ms = 0;
    f->o.out_of_order_window_ms = 0;
    f->o.hourly_retention_ms = f->o.daily_retention_ms = 0;
    f->o.weekly_retention_ms = f->o.monthly_retention_ms = 0;
    f->o.chunk_max_samples = 100;
    /* whole seconds, well in the past, so every hour bucket is complete */
    f->t0 = (time(NULL) - 3 * 86400) / 3600 * 3600 * 1000LL;
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

/* Value of series s at sample i: hard to compress, reproducible. */
static double value_of(int s, int i, int gen)
{
    uint64_t x = (uint64_t)(s + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)i * 0xC2B2AE3D27D4EB4Full;
    x ^= (uint64_t)gen << 40;
    x ^= x >> 29;
    return (double)(x % 1000003) / 7.0;
}

/* Write samples [from, to) of every series (one per 10 s from t0) with generation gen. */
static void fill(fixture_t *f, int from, int to, int gen)
{
    omega_point_t pts[N_SERIES];
    omega_label_t lab[N_SERIES];
    char host[N_SERIES][16];
    for (int i = from; i < to; i++) {
        for (int s = 0; s < N_SERIES; s++) {
            snprintf(host[s], sizeof(host[s]), "h%d", s);
            lab[s] = (omega_label_t){"host", host[s]};
            pts[s] =
                (omega_point_t){"lim_metric", &lab[s], 1, f->t0 + i * 10000LL, value_of(s, i, gen)};
        }
        omega_error_t err;
        int rc = omega_tsdb_write(f->db, pts, N_SERIES, &err);
        if (rc != 0)
            fail_msg("write %d: %s", i, err.message);
    }
}

typedef struct scan {
    size_t series;     /* series with samples */
    size_t samples;    /* samples seen */
    int64_t first;     /* earliest timestamp seen */
    int64_t last;      /* latest timestamp seen */
    int gen;           /* expected generation, -1: do not check values */
    int64_t t0;        /* fixture t0 */
    size_t mismatches; /* values not equal to value_of(gen) */
} scan_t;

static int on_series(void *ctx, const omega_series_t *se, const omega_sample_t *s, size_t n)
{
    scan_t *c = ctx;
    int sid = atoi(se->labels[0].value + 1);
    c->series++;
    for (size_t i = 0; i < n; i++) {
        c->samples++;
        if (c->samples == 1 || s[i].ts_ms < c->first)
            c->first = s[i].ts_ms;
        if (c->samples == 1 || s[i].ts_ms > c->last)
            c->last = s[i].ts_ms;
        int idx = (int)((s[i].ts_ms - c->t0) / 10000);
        if (c->gen >= 0 && s[i].value != value_of(sid, idx, c->gen))
            c->mismatches++;
    }
    return 0;
}

static scan_t scan_all(omega_tsdb_t *db, const fixture_t *f, int gen)
{
    scan_t c = {.gen = gen, .t0 = f->t0};
    omega_matcher_t m = {"__name__", "lim_metric", OMEGA_MATCH_EQ};
    omega_error_t err;
    int rc = omega_tsdb_select(db, &m, 1, INT64_MIN / 2, INT64_MAX / 2, on_series, &c, &err);
    if (rc != 0)
        fail_msg("select: %s", err.message);
    return c;
}

static int on_buckets(void *ctx, const omega_series_t *se, const omega_tsdb_bucket_t *b, size_t n)
{
    (void)se;
    int64_t *first = ctx;
    if (n && (*first == 0 || b[0].start_ms < *first))
        *first = b[0].start_ms;
    return 0;
}

/* Fill, seal, roll up and compact, then reopen with limit as max_storage_size; returns
 * the bytes on disk before the limit applies. */
static uint64_t prepare(fixture_t *f, uint64_t limit)
{
    fill(f, 0, N_SAMPLES, 0);
    omega_error_t err;
    assert_int_equal(omega_tsdb_compact(f->db, &err), 0);
    reopen(f);
    omega_tsdb_stats_t st;
    omega_tsdb_stats(f->db, &st);
    f->o.max_storage_size = limit ? limit : st.disk_bytes / 2;
    reopen(f);
    return st.disk_bytes;
}

/* Over the limit: the oldest raw chunks go, the newest samples and the rollups stay. */
static void test_limit_drops_oldest_raw(void **state)
{
    fixture_t *f = *state;
    uint64_t before = prepare(f, 0);
    assert_true(before > 100000);
    omega_error_t err;
    assert_int_equal(omega_tsdb_enforce_limit(f->db, &err), 0);
    omega_tsdb_stats_t st;
    omega_tsdb_stats(f->db, &st);
    assert_true(st.disk_bytes <= f->o.max_storage_size);
    scan_t c = scan_all(f->db, f, 0);
    assert_int_equal(c.series, N_SERIES);
    assert_true(c.samples > 0 && c.samples < (size_t)N_SERIES * N_SAMPLES);
    assert_true(c.first > f->t0);                                /* oldest dropped */
    assert_int_equal(c.last, f->t0 + (N_SAMPLES - 1) * 10000LL); /* newest kept */
    assert_int_equal(c.mismatches, 0);
    /* the hourly rollups of the dropped time are still there */
    int64_t first_bucket = 0;
    omega_matcher_t m = {"__name__", "lim_metric", OMEGA_MATCH_EQ};
    assert_int_equal(omega_tsdb_select_tier(f->db, OMEGA_TSDB_TIER_H1, &m, 1, f->t0,
                                            f->t0 + N_SAMPLES * 10000LL, on_buckets, &first_bucket,
                                            &err),
                     0);
    assert_int_equal(first_bucket, f->t0);
    /* writes go on */
    fill(f, N_SAMPLES, N_SAMPLES + 10, 0);
}

/* Nothing left to drop: sample writes fail with a clear ENOSPC, reads and KV work. */
static void test_limit_full(void **state)
{
    fixture_t *f = *state;
    prepare(f, 1);
    omega_error_t err;
    assert_int_equal(omega_tsdb_enforce_limit(f->db, &err), OMEGA_ENOSPC);
    assert_non_null(strstr(err.message, "storage full"));
    assert_non_null(strstr(err.message, "max_storage_size"));
    scan_t c = scan_all(f->db, f, 0); /* reads work: raw and rollups are gone */
    assert_int_equal(c.samples, 0);
    omega_label_t l = {"host", "h0"};
    omega_point_t p = {"lim_metric", &l, 1, f->t0 + N_SAMPLES * 10000LL, 1.0};
    assert_int_equal(omega_tsdb_write(f->db, &p, 1, &err), OMEGA_ENOSPC);
    assert_non_null(strstr(err.message, "storage full"));
    assert_non_null(strstr(err.message, "performance_monitor.storage_configuration"));
    assert_int_equal(omega_kv_put(f->db, OMEGA_KV_META, "k", 1, "v", 1, &err), 0);
    char *v = NULL;
    size_t vlen = 0;
    assert_int_equal(omega_kv_get(f->db, OMEGA_KV_META, "k", 1, &v, &vlen, &err), 0);
    assert_string_equal(v, "v");
    free(v);
    /* the limit raised: writes are accepted again */
    f->o.max_storage_size = 0;
    reopen(f);
    assert_int_equal(omega_tsdb_enforce_limit(f->db, &err), 0);
    assert_int_equal(omega_tsdb_write(f->db, &p, 1, &err), 0);
}

/* Under the limit nothing is dropped; NULL is refused. */
static void test_limit_under_and_bad(void **state)
{
    fixture_t *f = *state;
    prepare(f, 1ull << 40);
    omega_error_t err;
    assert_int_equal(omega_tsdb_enforce_limit(f->db, &err), 0);
    assert_int_equal(scan_all(f->db, f, 0).samples, (size_t)N_SERIES * N_SAMPLES);
    assert_int_equal(omega_tsdb_enforce_limit(NULL, &err), OMEGA_EINVAL);
}

/* ---- backups ---- */

static int count_dirs(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Write, back up, write more, restore elsewhere: exactly the backed-up data. */
static void test_backup_restore_round_trip(void **state)
{
    fixture_t *f = *state;
    fill(f, 0, 500, 1); /* half sealed, half in the heads at backup time */
    char bdir[700], path[1024], target[700];
    snprintf(bdir, sizeof(bdir), "%s/bk", f->dir);
    omega_error_t err;
    assert_int_equal(omega_tsdb_backup(f->db, bdir, path, sizeof(path), &err), 0);
    assert_int_equal(strncmp(path, bdir, strlen(bdir)), 0);
    assert_int_equal(strlen(path), strlen(bdir) + 1 + 16); /* YYYYMMDDTHHMMSSZ */
    fill(f, 500, 800, 1);
    fill(f, 0, 100, 2); /* rewrites after the backup */
    snprintf(target, sizeof(target), "%s/restored", f->dir);
    assert_int_equal(omega_tsdb_restore(path, target, 0, &err), 0);
    omega_tsdb_options_t o = f->o;
    o.data_dir = target;
    omega_tsdb_t *r = omega_tsdb_open(&o, &err);
    assert_non_null(r);
    scan_t c = scan_all(r, f, 1);
    assert_int_equal(c.series, N_SERIES);
    assert_int_equal(c.samples, (size_t)N_SERIES * 500);
    assert_int_equal(c.mismatches, 0);
    assert_int_equal(c.last, f->t0 + 499 * 10000LL);
    omega_tsdb_close(r);
    /* the live store is untouched by all this */
    scan_t live = scan_all(f->db, f, -1);
    assert_int_equal(live.samples, (size_t)N_SERIES * 800);
}

/* A non-empty target is refused (and left alone) unless forced. */
static void test_restore_non_empty(void **state)
{
    fixture_t *f = *state;
    fill(f, 0, 50, 1);
    char path[1024];
    omega_error_t err;
    assert_int_equal(omega_tsdb_backup(f->db, NULL, path, sizeof(path), &err), 0);
    char prefix[700];
    snprintf(prefix, sizeof(prefix), "%s/backups/", f->data); /* the default folder */
    assert_int_equal(strncmp(path, prefix, strlen(prefix)), 0);
    fill(f, 50, 100, 1);
    omega_tsdb_close(f->db);
    f->db = NULL;
    assert_int_equal(omega_tsdb_restore(path, f->data, 0, &err), OMEGA_EEXIST);
    assert_non_null(strstr(err.message, "not empty"));
    assert_non_null(strstr(err.message, "--force"));
    reopen(f);
    assert_int_equal(scan_all(f->db, f, 1).samples, (size_t)N_SERIES * 100);
    omega_tsdb_close(f->db);
    f->db = NULL;
    /* forced: the data dir gets the backup, the backups folder survives */
    assert_int_equal(omega_tsdb_restore(path, f->data, 1, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    reopen(f);
    scan_t c = scan_all(f->db, f, 1);
    assert_int_equal(c.samples, (size_t)N_SERIES * 50);
    assert_int_equal(c.mismatches, 0);
}

/* Flip bytes in the middle of every SST file in dir (the largest hold the chunks).
 * Returns 0 when at least one file was damaged. */
static int corrupt_ssts(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int done = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".sst") != 0)
            continue;
        char p[1200];
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        size_t n = 0;
        char *buf = testutil_read_file(p, &n);
        if (!buf)
            continue;
        if (n > 4096) {
            for (size_t i = n / 4; i < n / 4 + 256; i++)
                buf[i] ^= 0x5a;
            unlink(p); /* a checkpoint hard-links the live store's files: never write through */
            done += testutil_write_file(p, buf, n) == 0;
        }
        free(buf);
    }
    closedir(d);
    return done ? 0 : -1;
}

/* Missing, foreign and damaged backups are refused with a clear message. */
static void test_restore_bad_backups(void **state)
{
    fixture_t *f = *state;
    char target[700], missing[700], foreign[700], path[1024], file[1200];
    snprintf(target, sizeof(target), "%s/t", f->dir);
    snprintf(missing, sizeof(missing), "%s/nope", f->dir);
    snprintf(foreign, sizeof(foreign), "%s/foreign", f->dir);
    omega_error_t err;
    assert_int_equal(omega_tsdb_restore(missing, target, 0, &err), OMEGA_ENOENT);
    assert_non_null(strstr(err.message, missing));
    assert_int_equal(mkdir(foreign, 0700), 0);
    snprintf(file, sizeof(file), "%s/x.txt", foreign);
    assert_int_equal(testutil_write_file(file, "x", 1), 0);
    assert_int_equal(omega_tsdb_restore(foreign, target, 0, &err), OMEGA_ECORRUPT);
    assert_non_null(strstr(err.message, "not an omega-monitor backup"));
    assert_int_equal(omega_tsdb_restore(NULL, target, 0, &err), OMEGA_EINVAL);
    assert_int_equal(omega_tsdb_restore(foreign, "", 0, &err), OMEGA_EINVAL);
    /* a backup whose CURRENT names a manifest that is not there */
    fill(f, 0, 50, 1);
    assert_int_equal(omega_tsdb_backup(f->db, NULL, path, sizeof(path), &err), 0);
    snprintf(file, sizeof(file), "%s/CURRENT", path);
    assert_int_equal(testutil_write_file(file, "MANIFEST-999999\n", 16), 0);
    assert_int_equal(omega_tsdb_restore(path, target, 0, &err), OMEGA_ECORRUPT);
    assert_non_null(strstr(err.message, "is damaged"));
    struct stat st;
    assert_int_not_equal(stat(target, &st), 0); /* nothing half-restored */
    char tmp[800];
    snprintf(tmp, sizeof(tmp), "%s.restore-tmp", target);
    assert_int_not_equal(stat(tmp, &st), 0);
    /* a backup whose SST files have flipped bytes: the verification finds it */
    fill(f, 50, 2000, 1);
    assert_int_equal(omega_tsdb_compact(f->db, &err), 0);
    assert_int_equal(omega_tsdb_backup(f->db, NULL, path, sizeof(path), &err), 0);
    assert_int_equal(corrupt_ssts(path), 0);
    assert_int_equal(omega_tsdb_restore(path, target, 0, &err), OMEGA_ECORRUPT);
    assert_non_null(strstr(err.message, "is damaged"));
    assert_int_not_equal(stat(target, &st), 0);
}

/* Only the newest backup_keep backups stay. */
static void test_backup_keep(void **state)
{
    fixture_t *f = *state;
    f->o.backup_keep = 2;
    reopen(f);
    fill(f, 0, 10, 1);
    char bdir[700], p[3][1024];
    snprintf(bdir, sizeof(bdir), "%s/keep", f->dir);
    omega_error_t err;
    for (int i = 0; i < 3; i++)
        assert_int_equal(omega_tsdb_backup(f->db, bdir, p[i], sizeof(p[i]), &err), 0);
    assert_int_equal(count_dirs(bdir), 2);
    struct stat st;
    assert_int_not_equal(stat(p[0], &st), 0);
    assert_int_equal(stat(p[1], &st), 0);
    assert_int_equal(stat(p[2], &st), 0);
    assert_int_equal(omega_tsdb_backup(NULL, bdir, p[0], sizeof(p[0]), &err), OMEGA_EINVAL);
}

/* backup_interval_ms makes the storage thread take backups on its own. */
static void test_backup_periodic(void **state)
{
    fixture_t *f = *state;
    char bdir[700];
    snprintf(bdir, sizeof(bdir), "%s/auto", f->dir);
    f->o.backup_dir = bdir;
    f->o.backup_interval_ms = 1;
    reopen(f);
    fill(f, 0, 10, 1);
    int n = 0;
    for (int i = 0; i < 300 && n < 1; i++) { /* bounded wait: the thread checks every 5 s */
        usleep(100000);
        n = count_dirs(bdir);
    }
    assert_true(n >= 1);
}

static int count_samples(void *ctx, const omega_series_t *s, const omega_sample_t *v, size_t n)
{
    (void)s;
    (void)v;
    *(size_t *)ctx += n;
    return 0;
}

/* The disk fills up under the writer: a child process whose file size limit
 * (RLIMIT_FSIZE, SIGXFSZ ignored) makes RocksDB's next append fail the way a full disk
 * does. Writes must then fail with an error, not crash, and after a restart without the
 * limit every acknowledged sample is readable and nothing else half-written shows. */
static void test_disk_full_under_writer(void **state)
{
    fixture_t *f = *state;
    omega_tsdb_close(f->db);
    f->db = NULL;
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {2 << 20, 2 << 20};
        setrlimit(RLIMIT_FSIZE, &rl);
        omega_tsdb_options_t o = f->o;
        o.sync_writes = 1;
        omega_error_t err;
        omega_tsdb_t *db = omega_tsdb_open(&o, &err);
        if (!db)
            _exit(3);
        omega_label_t l[1] = {{"k", "v"}};
        omega_point_t pts[500];
        char line[600];
        for (long r = 0; r < 100000; r++) {
            for (int i = 0; i < 500; i++) /* random-ish values: ~10 bytes per sample logged */
                pts[i] = (omega_point_t){"full_metric", l, 1, f->t0 + (r * 500 + i) * 1000,
                                         (double)((r * 7919 + i * 104729) % 1000003) / 7.0};
            int rc = omega_tsdb_write(db, pts, 500, &err);
            int len = rc ? snprintf(line, sizeof(line), "error %d %s\n", rc, err.message)
                         : snprintf(line, sizeof(line), "acked %ld\n", r);
            if (write(pfd[1], line, (size_t)len) != len || rc)
                _exit(rc ? 0 : 4); /* no close: the process just ends, as after a crash */
        }
        _exit(5);
    }
    close(pfd[1]);
    FILE *in = fdopen(pfd[0], "r");
    char line[600];
    long acked = -1;
    int got_error = 0;
    while (fgets(line, sizeof(line), in)) {
        if (strncmp(line, "acked ", 6) == 0)
            acked = strtol(line + 6, NULL, 10);
        else if (strncmp(line, "error ", 6) == 0) {
            got_error = 1;
            print_message("writer stopped after %ld batches: %s", acked + 1, line + 6);
        }
    }
    fclose(in);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(got_error);
    assert_true(acked >= 1);
    omega_error_t err;
    f->db = omega_tsdb_open(&f->o, &err);
    if (!f->db)
        fail_msg("reopen after the full disk: %s", err.message);
    omega_matcher_t m = {"__name__", "full_metric", OMEGA_MATCH_EQ};
    size_t n = 0;
    assert_int_equal(omega_tsdb_select(f->db, &m, 1, INT64_MIN, INT64_MAX, count_samples, &n,
                                       &err), 0);
    /* every acknowledged batch; at most the failed one besides (its outcome was unknown) */
    assert_true(n >= (size_t)(acked + 1) * 500);
    assert_true(n <= (size_t)(acked + 2) * 500);
    assert_int_equal(n % 500, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_limit_drops_oldest_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_under_and_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_restore_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_non_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_bad_backups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_keep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_periodic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full_under_writer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
