/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of collect/: CPU, load and memory collectors over fixture trees and over /proc
 * snapshots written by the test (exact percentages), bad input of every kind, the warning rate
 * limit, the runner thread, and one smoke pass over the real /proc. */
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

#include "omega/collect.h"
#include "omega/log.h"
#include "testutil.h"

/* Private helpers are unit-tested directly too (the file reader's cap, the number parsers). */
#include "../collect/collect_int.h"

#define TS 1767225600000LL /* a fixed pass timestamp, ms */
#define KB 1024.0

/* ---- a sink that copies the last pass ---------------------------------------------------- */

typedef struct cap_point {
    char name[64];      /* metric name */
    size_t n_labels;    /* label pairs used */
    char lname[4][16];  /* label names */
    char lvalue[4][32]; /* label values */
    double value;       /* sample value */
    int64_t ts_ms;      /* sample time */
} cap_point_t;

typedef struct capture {
    cap_point_t *pts;     /* points of the last emit (malloc'd) */
    size_t n;             /* entries in pts */
    int emits;            /* emit calls so far */
    int fail_rc;          /* returned by emit when non-zero */
    int64_t ts[64];       /* first point's ts of each emit (first 64 emits) */
    pthread_mutex_t lock; /* for the runner tests */
    pthread_cond_t cond;  /* signalled on every emit */
} capture_t;

static void capture_init(capture_t *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
}

static void capture_deinit(capture_t *c)
{
    free(c->pts);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
}

static void copy_point(cap_point_t *d, const omega_point_t *s)
{
    assert_true(strlen(s->name) < sizeof(d->name));
    assert_true(s->n_labels <= 4);
    snprintf(d->name, sizeof(d->name), "%s", s->name);
    d->n_labels = s->n_labels;
    for (size_t j = 0; j < s->n_labels; j++) {
        assert_non_null(s->labels);
        snprintf(d->lname[j], sizeof(d->lname[j]), "%s", s->labels[j].name);
        snprintf(d->lvalue[j], sizeof(d->lvalue[j]), "%s", s->labels[j].value);
    }
    d->value = s->value;
    d->ts_ms = s->ts_ms;
}

static int capture_emit(void *ctx, const omega_point_t *points, size_t n)
{
    capture_t *c = ctx;
    pthread_mutex_lock(&c->lock);
    free(c->pts);
    c->pts = calloc(n ? n : 1, sizeof(*c->pts));
    for (size_t i = 0; i < n; i++)
        copy_point(&c->pts[i], &points[i]);
    c->n = n;
    if (c->emits < 64)
        c->ts[c->emits] = n ? points[0].ts_ms : 0;
    c->emits++;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return c->fail_rc;
}

static omega_collect_sink_t sink_of(capture_t *c)
{
    omega_collect_sink_t s = {capture_emit, c};
    return s;
}

/* Forget the last pass so a pass that emits nothing is seen as empty. */
static void capture_clear(capture_t *c)
{
    free(c->pts);
    c->pts = NULL;
    c->n = 0;
}

/* The point named name whose labels are exactly the given pairs (NULL-terminated list of
 * name, value, name, value ...), or NULL. */
static const cap_point_t *find(const capture_t *c, const char *name, ...)
{
    const char *want[8];
    size_t nw = 0;
    va_list ap;
    va_start(ap, name);
    for (const char *s; nw < 8 && (s = va_arg(ap, const char *)) != NULL;)
        want[nw++] = s;
    va_end(ap);
    for (size_t i = 0; i < c->n; i++) {
        const cap_point_t *p = &c->pts[i];
        if (strcmp(p->name, name) != 0 || p->n_labels * 2 != nw)
            continue;
        size_t hits = 0;
        for (size_t w = 0; w < nw; w += 2)
            for (size_t j = 0; j < p->n_labels; j++)
                if (!strcmp(p->lname[j], want[w]) && !strcmp(p->lvalue[j], want[w + 1]))
                    hits++;
        if (hits * 2 == nw)
            return p;
    }
    return NULL;
}

static size_t count(const capture_t *c, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += strcmp(c->pts[i].name, name) == 0;
    return n;
}

/* Value of a point that must exist. */
static double value_of(const capture_t *c, const char *name, const char *l1, const char *v1,
                       const char *l2, const char *v2)
{
    const cap_point_t *p = l2   ? find(c, name, l1, v1, l2, v2, NULL)
                           : l1 ? find(c, name, l1, v1, NULL)
                                : find(c, name, NULL);
    if (!p)
        fail_msg("missing %s{%s=%s,%s=%s}", name, l1 ? l1 : "", v1 ? v1 : "", l2 ? l2 : "",
                 v2 ? v2 : "");
    return p->value;
}

static void assert_close(double got, double want)
{
    if (fabs(got - want) > 1e-9)
        fail_msg("got %.12g, want %.12g", got, want);
}

/* ---- roots: fixtures and temp trees ------------------------------------------------------- */

static const char *fixture(const char *name, char *buf, size_t len)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "tests/fixtures/proc/%s", name);
    return testutil_source_path(rel, buf, len);
}

/* Write <root>/proc/<file> with text. */
static void put(const char *root, const char *file, const char *text)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/proc/%s", root, file);
    assert_int_equal(testutil_write_file(path, text, strlen(text)), 0);
}

static omega_collector_t *make(const char *root, int cpu, int mem)
{
    omega_collect_options_t o;
    omega_error_t err;
    omega_collect_options_init(&o);
    o.root = root;
    o.enable_cpu = cpu;
    o.enable_memory = mem;
    /* The other sources are tested in test_collect_sources.c; these trees only hold the
     * CPU and memory files. */
    o.enable_vmstat = o.enable_disk = o.enable_network = o.enable_sensors = 0;
    o.enable_processes = o.enable_self = o.enable_pressure = 0;
    omega_collector_t *c = omega_collector_create(&o, &err);
    if (!c)
        fail_msg("create: %s", err.message);
    return c;
}

/* One pass into cap (cleared first); returns the collector's status. */
static int pass(omega_collector_t *c, capture_t *cap, int64_t ts)
{
    omega_collect_sink_t s = sink_of(cap);
    capture_clear(cap);
    return omega_collector_collect(c, ts, &s);
}

/* No percentage anywhere is negative, over 100 or NaN. */
static void assert_percentages_sane(const capture_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        if (!strstr(c->pts[i].name, "_percent"))
            continue;
        double v = c->pts[i].value;
        if (!(v >= 0.0 && v <= 100.0))
            fail_msg("%s = %g out of 0..100", c->pts[i].name, v);
    }
}

/* Two /proc/stat snapshots with known deltas: total 200 ticks of which idle+iowait 50 -> 75 %;
 * cpu0 100 ticks, idle 20 -> 80 %; cpu1 100 ticks, idle 30 -> 70 %. Guest columns move too and
 * must not count twice (they are inside user/nice already). */
static const char stat_a[] = "cpu  1000 100 500 8000 200 50 50 100 0 0\n"
                             "cpu0 500 50 250 4000 100 25 25 50 0 0\n"
                             "cpu1 500 50 250 4000 100 25 25 50 0 0\n"
                             "ctxt 1000\nprocesses 50\n";
static const char stat_b[] = "cpu  1090 110 530 8040 210 55 55 110 40 10\n"
                             "cpu0 560 60 260 4010 110 25 25 50 20 10\n"
                             "cpu1 530 50 270 4030 100 30 30 60 20 0\n"
                             "ctxt 1500\nprocesses 60\n";

/* ---- options and create ------------------------------------------------------------------- */

static void test_options_defaults_and_bad_options(void **state)
{
    (void)state;
    omega_collect_options_t o;
    omega_error_t err;
    omega_collect_options_init(&o);
    assert_string_equal(o.root, "/");
    assert_true(o.enable_cpu && o.enable_memory);
    assert_int_equal(o.interval_ms, 5000);

    o.interval_ms = 99;
    assert_null(omega_collector_create(&o, &err));
    assert_int_equal(err.code, OMEGA_EINVAL);
    assert_string_equal(err.path, "interval_ms");
    o.interval_ms = 3600001;
    assert_null(omega_collector_create(&o, &err));
    o.interval_ms = 1000;
    o.root = "";
    assert_null(omega_collector_create(&o, &err));
    assert_string_equal(err.path, "root");
    assert_null(omega_collector_create(NULL, &err));
    omega_collector_destroy(NULL);
}

/* ---- CPU ---------------------------------------------------------------------------------- */

static void test_first_pass_has_counters_but_no_cpu_percentages(void **state)
{
    (void)state;
    char root[1024];
    capture_t cap;
    capture_init(&cap);
    omega_collector_t *c = make(fixture("normal", root, sizeof(root)), 1, 1);

    assert_int_equal(pass(c, &cap, TS), 0);
    assert_int_equal(cap.emits, 1);
    assert_int_equal(count(&cap, "system_cpu_usage_percent"), 0);
    assert_int_equal(count(&cap, "system_cpu_mode_percent"), 0);
    assert_close(value_of(&cap, "system_context_switches_total", NULL, NULL, NULL, NULL), 329267);
    assert_close(value_of(&cap, "system_interrupts_total", NULL, NULL, NULL, NULL), 152894);
    assert_close(value_of(&cap, "system_forks_total", NULL, NULL, NULL, NULL), 10021);
    assert_close(value_of(&cap, "system_processes", "state", "running", NULL, NULL), 3);
    assert_close(value_of(&cap, "system_processes", "state", "blocked", NULL, NULL), 1);
    assert_close(value_of(&cap, "system_load1", NULL, NULL, NULL, NULL), 0.52);
    assert_close(value_of(&cap, "system_load5", NULL, NULL, NULL, NULL), 0.58);
    assert_close(value_of(&cap, "system_load15", NULL, NULL, NULL, NULL), 0.59);
    assert_true(omega_collector_last_duration_ns(c) > 0);

    omega_collector_destroy(c);
    capture_deinit(&cap);
}

static void test_cpu_percentages_exact_from_two_snapshots(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("collect-cpu");
    capture_t cap;
    capture_init(&cap);
    put(root, "stat", stat_a);
    omega_collector_t *c = make(root, 1, 0);
    /* loadavg is missing in this tree: the pass reports it but still emits /proc/stat. */
    assert_int_equal(pass(c, &cap, TS), OMEGA_EIO);
    put(root, "stat", stat_b);
    assert_int_equal(pass(c, &cap, TS + 1000), OMEGA_EIO);

    assert_close(value_of(&cap, "system_cpu_usage_percent", "cpu", "total", NULL, NULL), 75.0);
    assert_close(value_of(&cap, "system_cpu_usage_percent", "cpu", "0", NULL, NULL), 80.0);
    assert_close(value_of(&cap, "system_cpu_usage_percent", "cpu", "1", NULL, NULL), 70.0);
    static const struct {
        const char *mode;
        double total, cpu0, cpu1;
    } want[] = {{"user", 45, 60, 30},   {"nice", 5, 10, 0},   {"system", 15, 10, 20},
                {"idle", 20, 10, 30},   {"iowait", 5, 10, 0}, {"irq", 2.5, 0, 5},
                {"softirq", 2.5, 0, 5}, {"steal", 5, 0, 10}};
    double sum[3] = {0, 0, 0};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        double t = value_of(&cap, "system_cpu_mode_percent", "cpu", "total", "mode", want[i].mode);
        double a = value_of(&cap, "system_cpu_mode_percent", "cpu", "0", "mode", want[i].mode);
        double b = value_of(&cap, "system_cpu_mode_percent", "cpu", "1", "mode", want[i].mode);
        assert_close(t, want[i].total);
        assert_close(a, want[i].cpu0);
        assert_close(b, want[i].cpu1);
        sum[0] += t;
        sum[1] += a;
        sum[2] += b;
    }
    for (int i = 0; i < 3; i++)
        assert_true(fabs(sum[i] - 100.0) < 1e-6);
    /* 8 modes x 3 cpus, 3 usage points, no guest modes. */
    assert_int_equal(count(&cap, "system_cpu_mode_percent"), 24);
    assert_int_equal(count(&cap, "system_cpu_usage_percent"), 3);
    assert_close(value_of(&cap, "system_context_switches_total", NULL, NULL, NULL, NULL), 1500);
    assert_close(value_of(&cap, "system_forks_total", NULL, NULL, NULL, NULL), 60);
    /* Lines this kernel did not print give no point at all (never a made-up zero). */
    assert_null(find(&cap, "system_processes", "state", "blocked", NULL));
    assert_int_equal(count(&cap, "system_load1"), 0);

    omega_collector_destroy(c);
    capture_deinit(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_all_points_share_pass_timestamp_and_valid_names(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("collect-ts");
    char fx[1024];
    capture_t cap;
    capture_init(&cap);
    put(root, "stat", stat_a);
    put(root, "loadavg", "0.00 0.01 0.05 1/100 42\n");
    char *mem = testutil_read_file(fixture("normal/proc/meminfo", fx, sizeof(fx)), NULL);
    assert_non_null(mem);
    put(root, "meminfo", mem);
    free(mem);
    omega_collector_t *c = make(root, 1, 1);
    assert_int_equal(pass(c, &cap, TS), 0);
    put(root, "stat", stat_b);
    assert_int_equal(pass(c, &cap, TS + 5000), 0);
    assert_true(cap.n > 30);
    for (size_t i = 0; i < cap.n; i++) {
        assert_int_equal(cap.pts[i].ts_ms, TS + 5000);
        assert_true(omega_metric_name_valid(cap.pts[i].name));
        for (size_t j = 0; j < cap.pts[i].n_labels; j++)
            assert_true(omega_label_name_valid(cap.pts[i].lname[j]));
    }
    omega_collector_destroy(c);
    capture_deinit(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_cpu_four_column_kernel(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("collect-old");
    capture_t cap;
    capture_init(&cap);
    put(root, "stat", "cpu  100 0 100 800\ncpu0 100 0 100 800\n");
    put(root, "loadavg", "1.00 0.50 0.25 1/60 400\n");
    omega_collector_t *c = make(root, 1, 0);
    assert_int_equal(pass(c, &cap, TS), 0);
    /* +30 user, +10 nice, +20 system, +40 idle = 100 ticks, busy 60 */
    put(root, "stat", "cpu  130 10 120 840\ncpu0 130 10 120 840\n");
    assert_int_equal(pass(c, &cap, TS + 1000), 0);
    assert_close(value_of(&cap, "system_cpu_usage_percent", "cpu", "total", NULL, NULL), 60.0);
    assert_close(value_of(&cap, "system_cpu_usage_percent", "cpu", "0", NULL, NULL), 60.0);
    assert_close(value_of(&cap, "system_cpu_mode_percent", "cpu", "0", "mode", "user"), 30.0);
    assert_close(value_of(&cap, "system_cpu_mode_percent", "cpu", "0", "mode", "nice"), 10.0);
    assert_close(value_of(&cap, "system_cpu_mode_percent", "cpu", "0", "mode", "system"), 20.0);
    assert_close(value_of(&cap, "system_cpu_mode_percent", "cpu", "0", "mode", "idle"), 40.0);
    /* Modes the kernel does not report are absent, not zero. */
    assert_null(find(&cap, "system_cpu_mode_percent", "cpu", "0", "mode", "iowait", NULL));
    assert_null(find(&cap, "system_cpu_mode_percent", "cpu", "total", "mode", "steal", NULL));
    assert_int_equal(count(&cap, "system_cpu_mode_percent"), 8);
    omega_collector_destroy(c);
    capture_deinit(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_cpu_old_kernel_fixture(void **state)
{
    (void)state;
    char root[1024];
    capture_t cap;
    capture_init(&cap);
    omega_collector_t *c = make(fixture("oldkernel", root, sizeof(root)), 1, 1);
    assert_int_equal(pass(c, &cap, TS), 0);
    assert_close(value_of(&cap, "system_interrupts_total", NULL, NULL, NULL, NULL), 5000);
    assert_close(value_of(&cap, "system_processes", "state", "running", NULL, NULL), 1);
    assert_null(find(&cap, "system_processes", "state", "blocked", NULL));
    assert_close(value_of(&cap, "system_load1", NULL, NULL, NULL, NULL), 1.0);
    /* Same files again: zero tick delta, so no percentages rather than 0/0. */
    assert_int_equal(pass(c, &cap, TS + 1000), 0);
    assert_int_equal(count(&cap, "system_cpu_usage_percent"), 0);
    omega_collector_destroy(c);
    capture_deinit(&cap);
}

static void test_cpu_counter_going_backwards_skips_that_cpu(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("collect-back");
    capture_t cap;
    capture_init(&cap);
    put(root, "loadavg", "0 0 0 1/1 1\n");
    put(root, "stat", stat_b);
    omega_collector_t *c = make(root, 1, 0);
    assert_int_equal(pass(c, &cap, TS), 0);
    /* Everything went backwards except cpu1, which moved forward by 100 ticks (50 idle). */
    put(root, "stat",
        "cpu  1000 100 500 8000 200 50 50 100 0 0\n"
        "cpu0 500 50 250 4000 100 25 25 50 0 0\n"
        "cpu1 570 60 270 4080 100 30 30 60 20 0\n");
    assert_int_equal(pass(c, &cap, TS + 1000), 0);
    assert_null(find(&cap, "system_cpu_usage_percent", "cpu", "total", NULL));
    assert_null(find(&cap, "system_cpu_usage_percent", "cpu", "0", NULL));
    assert_close(value_of(&cap, "system_cpu_usage_percent", "cpu", "1", NULL, NULL), 50.0);
    assert_percentages_sane(&cap);
    /* Counting resumes from the lower values on the next pass. */
    put(root, "stat",
        "cpu  1100 100 500 8100 200 50 50 100 0 0\n"
        "cpu0 600 50 250 4100 100 25 25 50 0 0\n"
        "cpu1 570 60 270 4080 100 30 30 60 20 0\n");
    assert_int_equal(pass(c, &cap, TS + 2000), 0);
    assert_close(value_of(&cap, "system_cpu_usage_percent", "cpu", "total", NULL, NULL), 50.0);
    assert_close(value_of(&cap, "system_cpu_usage_percent", "cpu", "0", NULL, NULL), 50.0);
    assert_null(find(&cap, "system_cpu_usage_percent", "cpu", "1", NULL)); /* zero delta */
    assert_percentages_sane(&cap);
    omega_collector_destroy(c);
    capture_deinit(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_cpu_hotplug(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("collect-hotplug");
    capture_t cap;
    capture_init(&cap);
    put(root, "loadavg", "0 0 0 1/1 1\n");
    put(root, "stat", "cpu  20 0 0 80\ncpu0 10 0 0 40\ncpu1 10 0 0 40\n");
    omega_collector_t *c = make(root, 1, 0);
    assert_int_equal(pass(c, &cap, TS), 0);
    /* cpu1 goes offline, cpu3 appears (sparse ids are normal after hotplug). */
    put(root, "stat", "cpu  40 0 0 160\ncpu0 20 0 0 80\ncpu3 5 0 0 5\n");
    assert_int_equal(pass(c, &cap, TS + 1000), 0);
    assert_close(value_of(&cap, "system_cpu_usage_percent", "cpu", "0", NULL, NULL), 20.0);
    assert_null(find(&cap, "system_cpu_usage_percent", "cpu", "1", NULL));
    assert_null(find(&cap, "system_cpu_usage_percent", "cpu", "3", NULL)); /* no previous */
    /* cpu1 comes back: it starts over, cpu3 now has a previous pass. */
    put(root, "stat", "cpu  60 0 0 240\ncpu0 30 0 0 120\ncpu1 10 0 0 40\ncpu3 10 0 0 10\n");
    assert_int_equal(pass(c, &cap, TS + 2000), 0);
    assert_null(find(&cap, "system_cpu_usage_percent", "cpu", "1", NULL));
    assert_close(value_of(&cap, "system_cpu_usage_percent", "cpu", "3", NULL, NULL), 50.0);
    put(root, "stat", "cpu  80 0 0 320\ncpu0 40 0 0 160\ncpu1 20 0 0 40\ncpu3 10 0 0 10\n");
    assert_int_equal(pass(c, &cap, TS + 3000), 0);
    assert_close(value_of(&cap, "system_cpu_usage_percent", "cpu", "1", NULL, NULL), 100.0);
    assert_null(find(&cap, "system_cpu_usage_percent", "cpu", "3", NULL));
    omega_collector_destroy(c);
    capture_deinit(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_cpu_id_over_limit_is_malformed(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("collect-cpuid");
    capture_t cap;
    capture_init(&cap);
    put(root, "loadavg", "0 0 0 1/1 1\n");
    put(root, "stat",
        "cpu  20 0 0 80\ncpu0 10 0 0 40\ncpu99999999 1 2 3 4\n"
        "cpu184467440737095516160 1 2 3 4\ncpu0 10 0 0 40\n");
    omega_collector_t *c = make(root, 1, 0);
    assert_int_equal(pass(c, &cap, TS), OMEGA_EIO);
    put(root, "stat", "cpu  40 0 0 160\ncpu0 20 0 0 80\n");
    assert_int_equal(pass(c, &cap, TS + 1000), 0);
    assert_close(value_of(&cap, "system_cpu_usage_percent", "cpu", "total", NULL, NULL), 20.0);
    assert_close(value_of(&cap, "system_cpu_usage_percent", "cpu", "0", NULL, NULL), 20.0);
    omega_collector_destroy(c);
    capture_deinit(&cap);
    testutil_rmtree(root);
    free(root);
}

/* ---- load and memory --------------------------------------------------------------------- */

static const char meminfo_full[] = "MemTotal:        8000000 kB\n"
                                   "MemFree:         1000000 kB\n"
                                   "MemAvailable:    6000000 kB\n"
                                   "Buffers:          200000 kB\n"
                                   "Cached:          3000000 kB\n"
                                   "SwapCached:            0 kB\n"
                                   "SwapTotal:       2000000 kB\n"
                                   "SwapFree:        1500000 kB\n"
                                   "HugePages_Total:       0\n";

static void test_meminfo_bytes_and_percents_exact(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("collect-mem");
    capture_t cap;
    capture_init(&cap);
    put(root, "meminfo", meminfo_full);
    omega_collector_t *c = make(root, 0, 1);
    assert_int_equal(pass(c, &cap, TS), 0);
    assert_close(value_of(&cap, "system_memory_total_bytes", NULL, NULL, NULL, NULL), 8000000 * KB);
    assert_close(value_of(&cap, "system_memory_available_bytes", NULL, NULL, NULL, NULL),
                 6000000 * KB);
    assert_close(value_of(&cap, "system_memory_used_bytes", NULL, NULL, NULL, NULL), 2000000 * KB);
    assert_close(value_of(&cap, "system_memory_used_percent", NULL, NULL, NULL, NULL), 25.0);
    assert_close(value_of(&cap, "system_memory_free_bytes", NULL, NULL, NULL, NULL), 1000000 * KB);
    assert_close(value_of(&cap, "system_memory_cached_bytes", NULL, NULL, NULL, NULL),
                 3000000 * KB);
    assert_close(value_of(&cap, "system_memory_buffers_bytes", NULL, NULL, NULL, NULL),
                 200000 * KB);
    assert_close(value_of(&cap, "system_swap_total_bytes", NULL, NULL, NULL, NULL), 2000000 * KB);
    assert_close(value_of(&cap, "system_swap_used_bytes", NULL, NULL, NULL, NULL), 500000 * KB);
    assert_close(value_of(&cap, "system_swap_used_percent", NULL, NULL, NULL, NULL), 25.0);
    /* The full set: every line under its kernel name, kB lines in bytes. */
    assert_close(value_of(&cap, "system_memory_MemTotal_bytes", NULL, NULL, NULL, NULL),
                 8000000 * KB);
    assert_close(value_of(&cap, "system_memory_SwapCached_bytes", NULL, NULL, NULL, NULL), 0);
    assert_close(value_of(&cap, "system_memory_HugePages_Total", NULL, NULL, NULL, NULL), 0);
    assert_int_equal(cap.n, 10 + 9);
    /* CPU is disabled: its files were not even looked for, so no failure and no points. */
    assert_int_equal(count(&cap, "system_load1"), 0);
    omega_collector_destroy(c);
    capture_deinit(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_meminfo_without_memavailable_estimates(void **state)
{
    (void)state;
    char root[1024];
    capture_t cap;
    capture_init(&cap);
    omega_collector_t *c = make(fixture("oldkernel", root, sizeof(root)), 0, 1);
    assert_int_equal(pass(c, &cap, TS), 0);
    /* MemFree 65536 + Buffers 16384 + Cached 49152 = 131072 kB of 262144 kB. */
    assert_close(value_of(&cap, "system_memory_available_bytes", NULL, NULL, NULL, NULL),
                 131072 * KB);
    assert_close(value_of(&cap, "system_memory_used_bytes", NULL, NULL, NULL, NULL), 131072 * KB);
    assert_close(value_of(&cap, "system_memory_used_percent", NULL, NULL, NULL, NULL), 50.0);
    assert_close(value_of(&cap, "system_swap_used_bytes", NULL, NULL, NULL, NULL), 131072 * KB);
    assert_close(value_of(&cap, "system_swap_used_percent", NULL, NULL, NULL, NULL), 25.0);
    omega_collector_destroy(c);
    capture_deinit(&cap);
}

static void test_meminfo_no_swap_is_explicit_zero(void **state)
{
    (void)state;
    char root[1024];
    capture_t cap;
    capture_init(&cap);
    omega_collector_t *c = make(fixture("normal", root, sizeof(root)), 0, 1);
    assert_int_equal(pass(c, &cap, TS), 0);
    assert_close(value_of(&cap, "system_swap_total_bytes", NULL, NULL, NULL, NULL), 0);
    assert_close(value_of(&cap, "system_swap_used_bytes", NULL, NULL, NULL, NULL), 0);
    assert_close(value_of(&cap, "system_swap_used_percent", NULL, NULL, NULL, NULL), 0);
    assert_close(value_of(&cap, "system_memory_total_bytes", NULL, NULL, NULL, NULL), 4028440 * KB);
    assert_close(value_of(&cap, "system_memory_used_bytes", NULL, NULL, NULL, NULL),
                 (4028440 - 3375644) * KB);
    assert_close(value_of(&cap, "system_memory_used_percent", NULL, NULL, NULL, NULL),
                 100.0 * (4028440 - 3375644) / 4028440);
    omega_collector_destroy(c);
    capture_deinit(&cap);
}

static void test_meminfo_bad_units_and_duplicates(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("collect-memunit");
    capture_t cap;
    capture_init(&cap);
    /* A bare number would be read as bytes when it means kB: refused. */
    put(root, "meminfo", "MemTotal: 8000000\nMemFree: 100 kB\n");
    omega_collector_t *c = make(root, 0, 1);
    assert_int_equal(pass(c, &cap, TS), OMEGA_EIO);
    assert_int_equal(count(&cap, "system_memory_total_bytes"), 0);
    assert_close(value_of(&cap, "system_memory_free_bytes", NULL, NULL, NULL, NULL), 100 * KB);
    put(root, "meminfo",
        "MemTotal: 1000 kB\nMemFree: 100 kB\nMemFree: 200 kB\n"
        "MemAvailable: 99999999999999999999999 kB\n");
    assert_int_equal(pass(c, &cap, TS + 1), OMEGA_EIO);
    assert_int_equal(count(&cap, "system_memory_free_bytes"), 0);
    assert_int_equal(count(&cap, "system_memory_available_bytes"), 0);
    assert_close(value_of(&cap, "system_memory_total_bytes", NULL, NULL, NULL, NULL), 1000 * KB);
    /* MemAvailable above MemTotal (racy kernel accounting) is clamped: used never negative. */
    put(root, "meminfo",
        "MemTotal: 1000 kB\nMemFree: 100 kB\nMemAvailable: 1200 kB\n"
        "SwapTotal: 10 kB\nSwapFree: 20 kB\n");
    assert_int_equal(pass(c, &cap, TS + 2), 0);
    assert_close(value_of(&cap, "system_memory_used_bytes", NULL, NULL, NULL, NULL), 0);
    assert_close(value_of(&cap, "system_swap_used_bytes", NULL, NULL, NULL, NULL), 0);
    assert_percentages_sane(&cap);
    omega_collector_destroy(c);
    capture_deinit(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_loadavg_values(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("collect-load");
    capture_t cap;
    capture_init(&cap);
    put(root, "stat", stat_a);
    put(root, "loadavg", "12.75 3.10 0.00 5/900 31337");
    omega_collector_t *c = make(root, 1, 0);
    assert_int_equal(pass(c, &cap, TS), 0);
    assert_close(value_of(&cap, "system_load1", NULL, NULL, NULL, NULL), 12.75);
    assert_close(value_of(&cap, "system_load5", NULL, NULL, NULL, NULL), 3.10);
    assert_close(value_of(&cap, "system_load15", NULL, NULL, NULL, NULL), 0.0);
    /* Half-good lines give nothing: all three or none. */
    put(root, "loadavg", "1.5 -2 3\n");
    assert_int_equal(pass(c, &cap, TS + 1), OMEGA_EIO);
    assert_int_equal(count(&cap, "system_load1"), 0);
    put(root, "loadavg", "1.5 2 1e3\n");
    assert_int_equal(pass(c, &cap, TS + 2), OMEGA_EIO);
    assert_int_equal(count(&cap, "system_load1"), 0);
    omega_collector_destroy(c);
    capture_deinit(&cap);
    testutil_rmtree(root);
    free(root);
}

/* ---- bad input --------------------------------------------------------------------------- */

static void test_missing_files_give_eio_and_no_points(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("collect-missing");
    capture_t cap;
    capture_init(&cap);
    omega_collector_t *c = make(root, 1, 1);
    assert_int_equal(pass(c, &cap, TS), OMEGA_EIO);
    assert_int_equal(pass(c, &cap, TS + 1), OMEGA_EIO);
    assert_int_equal(cap.emits, 0); /* nothing to deliver, so the sink is not called */
    assert_int_equal(cap.n, 0);
    omega_collector_destroy(c);

    /* One missing source: the others are still emitted. */
    put(root, "stat", stat_a);
    put(root, "loadavg", "0 0 0 1/1 1\n");
    c = make(root, 1, 1);
    assert_int_equal(pass(c, &cap, TS), OMEGA_EIO);
    assert_int_equal(count(&cap, "system_memory_total_bytes"), 0);
    assert_int_equal(count(&cap, "system_load1"), 1);
    assert_int_equal(count(&cap, "system_context_switches_total"), 1);
    omega_collector_destroy(c);

    /* A directory where a file should be is unreadable, not a crash. */
    char path[1024];
    snprintf(path, sizeof(path), "%s/proc/meminfo/x", root);
    assert_int_equal(testutil_write_file(path, "x", 1), 0);
    c = make(root, 0, 1);
    assert_int_equal(pass(c, &cap, TS), OMEGA_EIO);
    assert_int_equal(cap.n, 0);
    omega_collector_destroy(c);
    capture_deinit(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_empty_files(void **state)
{
    (void)state;
    char root[1024];
    capture_t cap;
    capture_init(&cap);
    omega_collector_t *c = make(fixture("empty", root, sizeof(root)), 1, 1);
    assert_int_equal(pass(c, &cap, TS), OMEGA_EIO);
    assert_int_equal(pass(c, &cap, TS + 1), OMEGA_EIO);
    assert_int_equal(cap.n, 0);
    omega_collector_destroy(c);
    capture_deinit(&cap);
}

static void test_truncated_files(void **state)
{
    (void)state;
    char root[1024];
    capture_t cap;
    capture_init(&cap);
    omega_collector_t *c = make(fixture("truncated", root, sizeof(root)), 1, 1);
    assert_int_equal(pass(c, &cap, TS), OMEGA_EIO);
    assert_int_equal(pass(c, &cap, TS + 1000), OMEGA_EIO);
    /* The complete "cpu" line still counts (zero delta here); "ctxt" without value does not. */
    assert_int_equal(count(&cap, "system_context_switches_total"), 0);
    assert_null(find(&cap, "system_cpu_usage_percent", "cpu", "0", NULL));
    assert_int_equal(count(&cap, "system_load1"), 0);
    /* MemTotal was complete; MemFree and MemAvailable were cut: no used figures. */
    assert_close(value_of(&cap, "system_memory_total_bytes", NULL, NULL, NULL, NULL), 4028440 * KB);
    assert_int_equal(count(&cap, "system_memory_used_bytes"), 0);
    assert_int_equal(count(&cap, "system_memory_available_bytes"), 0);
    assert_percentages_sane(&cap);
    omega_collector_destroy(c);
    capture_deinit(&cap);
}

static void test_non_numeric_fields(void **state)
{
    (void)state;
    char root[1024];
    capture_t cap;
    capture_init(&cap);
    omega_collector_t *c = make(fixture("garbage", root, sizeof(root)), 1, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pass(c, &cap, TS + i), OMEGA_EIO);
    assert_int_equal(cap.emits, 0);
    assert_int_equal(cap.n, 0);
    omega_collector_destroy(c);
    capture_deinit(&cap);
}

static void test_oversized_garbage_file_rejected(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("collect-big");
    capture_t cap;
    capture_init(&cap);
    size_t len = (size_t)2 << 20;
    char *big = malloc(len + 1);
    assert_non_null(big);
    /* Looks like /proc/stat at the start, then 2 MiB of noise with stray NULs and newlines. */
    memcpy(big, stat_a, sizeof(stat_a) - 1);
    for (size_t i = sizeof(stat_a) - 1; i < len; i++)
        big[i] = (char)((i * 2654435761u) >> 13);
    big[len] = '\0';
    char path[1024];
    snprintf(path, sizeof(path), "%s/proc/stat", root);
    assert_int_equal(testutil_write_file(path, big, len), 0);
    free(big);
    put(root, "loadavg", "0.1 0.2 0.3 1/1 1\n");
    put(root, "meminfo", meminfo_full);

    omega_collector_t *c = make(root, 1, 1);
    assert_int_equal(pass(c, &cap, TS), OMEGA_EIO);
    assert_int_equal(count(&cap, "system_context_switches_total"), 0);
    assert_int_equal(count(&cap, "system_load1"), 1);
    assert_int_equal(count(&cap, "system_memory_total_bytes"), 1);
    omega_collector_destroy(c);
    capture_deinit(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_procfile_read_cap_boundary(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("collect-cap");
    char buf[9];
    size_t len = 99;
    omega_error_t err;
    put(root, "a", "12345678");  /* 8 bytes: fits a 9-byte buffer with its NUL */
    put(root, "b", "123456789"); /* 9 bytes: does not */
    assert_int_equal(procfile_read(root, "/proc/a", buf, sizeof(buf), &len, &err), 0);
    assert_int_equal(len, 8);
    assert_string_equal(buf, "12345678");
    assert_int_equal(procfile_read(root, "/proc/b", buf, sizeof(buf), &len, &err), OMEGA_E2BIG);
    assert_int_equal(len, 0);
    assert_non_null(strstr(err.message, "larger than"));
    assert_int_equal(procfile_read(root, "/proc/none", buf, sizeof(buf), &len, &err), OMEGA_EIO);
    assert_non_null(strstr(err.message, "No such file"));
    testutil_rmtree(root);
    free(root);
}

static void test_line_and_number_parsers(void **state)
{
    (void)state;
    char text[] = "a  b\tc\n\n  x y\nlast";
    procfile_lines_t it;
    char *f[4];
    procfile_lines_init(&it, text, strlen(text));
    char *line = procfile_next_line(&it);
    assert_int_equal(procfile_split(line, f, 4), 3);
    assert_string_equal(f[2], "c");
    line = procfile_next_line(&it);
    assert_int_equal(procfile_split(line, f, 4), 0);
    line = procfile_next_line(&it);
    assert_int_equal(procfile_split(line, f, 1), 1); /* stops at max */
    assert_string_equal(f[0], "x");
    assert_string_equal(procfile_next_line(&it), "last");
    assert_int_equal(it.line, 4);
    assert_null(procfile_next_line(&it));

    uint64_t u = 0;
    assert_int_equal(procfile_parse_u64("18446744073709551615", &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(procfile_parse_u64("18446744073709551616", &u), OMEGA_EINVAL);
    const char *bad_u[] = {"", "-1", "+1", " 1", "1 ", "0x10", "1.0", "abc"};
    for (size_t i = 0; i < sizeof(bad_u) / sizeof(bad_u[0]); i++)
        assert_int_equal(procfile_parse_u64(bad_u[i], &u), OMEGA_EINVAL);
    double d = 0;
    assert_int_equal(procfile_parse_udouble("0.52", &d), 0);
    assert_close(d, 0.52);
    assert_int_equal(procfile_parse_udouble("7", &d), 0);
    const char *bad_d[] = {"", ".", "1.2.3", "nan", "inf", "1e3", "-0.5", "0x1p3", " 1"};
    for (size_t i = 0; i < sizeof(bad_d) / sizeof(bad_d[0]); i++)
        assert_int_equal(procfile_parse_udouble(bad_d[i], &d), OMEGA_EINVAL);
}

/* ---- failures are logged once a minute per source ------------------------------------------ */

static size_t count_substr(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void test_warnings_are_rate_limited_per_source(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("collect-warn");
    char log_path[1024];
    capture_t cap;
    capture_init(&cap);
    snprintf(log_path, sizeof(log_path), "%s/log", root);
    assert_int_equal(omega_log_set_file(log_path), 0);
    omega_collector_t *c = make(root, 1, 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(pass(c, &cap, TS + i), OMEGA_EIO);
    /* Once the files are there the pass is clean and says so, once. */
    put(root, "stat", stat_a);
    put(root, "loadavg", "0 0 0 1/1 1\n");
    put(root, "meminfo", meminfo_full);
    assert_int_equal(pass(c, &cap, TS + 5), 0);
    assert_int_equal(pass(c, &cap, TS + 6), 0);
    omega_log_set_file(NULL);
    char *log = testutil_read_file(log_path, NULL);
    assert_non_null(log);
    assert_int_equal(count_substr(log, "/proc/stat skipped"), 1);
    assert_int_equal(count_substr(log, "/proc/loadavg skipped"), 1);
    assert_int_equal(count_substr(log, "/proc/meminfo skipped"), 1);
    assert_non_null(strstr(log, "No such file or directory"));
    assert_int_equal(count_substr(log, "/proc/stat is back"), 1);
    assert_int_equal(count_substr(log, "/proc/meminfo is back"), 1);
    free(log);
    omega_collector_destroy(c);
    capture_deinit(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_ratelimit_window(void **state)
{
    (void)state;
    ratelimit_t rl = {0};
    uint64_t dropped = 99;
    const int64_t min = (int64_t)60 * 1000000000;
    assert_int_equal(ratelimit_allow(&rl, 5, min, &dropped), 1);
    assert_int_equal(dropped, 0);
    assert_int_equal(ratelimit_allow(&rl, 6, min, &dropped), 0);
    assert_int_equal(ratelimit_allow(&rl, 5 + min - 1, min, &dropped), 0);
    assert_int_equal(ratelimit_allow(&rl, 5 + min, min, &dropped), 1);
    assert_int_equal(dropped, 2);
    assert_int_equal(ratelimit_allow(&rl, 6 + min, min, NULL), 0);
}

static int failing_emit(void *ctx, const omega_point_t *points, size_t n)
{
    (void)points;
    (void)n;
    (*(int *)ctx)++;
    return OMEGA_EIO;
}

static void test_sink_failure_does_not_stop_collection(void **state)
{
    (void)state;
    char root[1024];
    int calls = 0;
    omega_collect_sink_t s = {failing_emit, &calls};
    omega_collector_t *c = make(fixture("normal", root, sizeof(root)), 1, 1);
    assert_int_equal(omega_collector_collect(c, TS, &s), 0);
    assert_int_equal(omega_collector_collect(c, TS + 1, &s), 0);
    assert_int_equal(calls, 2);
    /* No sink at all is allowed (a dry pass, e.g. to prime the CPU counters). */
    assert_int_equal(omega_collector_collect(c, TS + 2, NULL), 0);
    omega_collector_destroy(c);
}

/* ---- runner ------------------------------------------------------------------------------- */

static void test_runner_runs_aligned_passes_and_stops(void **state)
{
    (void)state;
    char root[1024];
    capture_t cap;
    capture_init(&cap);
    omega_collector_t *c = make(fixture("normal", root, sizeof(root)), 1, 1);
    omega_collect_sink_t s = sink_of(&cap);
    omega_error_t err;
    omega_collect_runner_t *r = omega_collect_runner_start(c, 100, &s, &err);
    assert_non_null(r);

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 3;
    pthread_mutex_lock(&cap.lock);
    while (cap.emits < 3) {
        if (pthread_cond_timedwait(&cap.cond, &cap.lock, &deadline) != 0)
            break;
    }
    int emits = cap.emits;
    pthread_mutex_unlock(&cap.lock);
    omega_collect_runner_stop(r);
    assert_true(emits >= 3);

    pthread_mutex_lock(&cap.lock);
    int after = cap.emits;
    for (int i = 0; i < after && i < 64; i++) {
        assert_int_equal(cap.ts[i] % 100, 0); /* aligned to the interval */
        if (i > 0)
            assert_true(cap.ts[i] > cap.ts[i - 1]);
    }
    pthread_mutex_unlock(&cap.lock);
    /* Stopped means stopped: no pass after stop returned. */
    struct timespec pause = {0, 250 * 1000000};
    nanosleep(&pause, NULL);
    assert_int_equal(cap.emits, after);
    omega_collector_destroy(c);
    capture_deinit(&cap);
}

static void test_runner_stop_wakes_a_long_sleep(void **state)
{
    (void)state;
    char root[1024];
    capture_t cap;
    capture_init(&cap);
    omega_collector_t *c = make(fixture("normal", root, sizeof(root)), 1, 1);
    omega_collect_sink_t s = sink_of(&cap);
    omega_collect_runner_t *r = omega_collect_runner_start(c, 3600000, &s, NULL);
    assert_non_null(r);
    int64_t t0 = omega_mono_ns();
    omega_collect_runner_stop(r); /* would take up to an hour if the sleep were not woken */
    assert_true(omega_mono_ns() - t0 < (int64_t)2 * 1000000000);
    omega_collector_destroy(c);
    capture_deinit(&cap);
}

static void test_runner_rejects_bad_arguments(void **state)
{
    (void)state;
    char root[1024];
    capture_t cap;
    capture_init(&cap);
    omega_collector_t *c = make(fixture("normal", root, sizeof(root)), 1, 1);
    omega_collect_sink_t s = sink_of(&cap);
    omega_collect_sink_t no_emit = {NULL, NULL};
    omega_error_t err;
    assert_null(omega_collect_runner_start(c, 99, &s, &err));
    assert_int_equal(err.code, OMEGA_EINVAL);
    assert_null(omega_collect_runner_start(c, 3600001, &s, &err));
    assert_null(omega_collect_runner_start(NULL, 1000, &s, &err));
    assert_null(omega_collect_runner_start(c, 1000, NULL, &err));
    assert_null(omega_collect_runner_start(c, 1000, &no_emit, &err));
    omega_collect_runner_stop(NULL);
    assert_int_equal(cap.emits, 0);
    omega_collector_destroy(c);
    capture_deinit(&cap);
}

/* ---- the real /proc ----------------------------------------------------------------------- */

static void test_real_proc_smoke(void **state)
{
    (void)state;
    capture_t cap;
    capture_init(&cap);
    omega_collector_t *c = make("/", 1, 1);
    assert_int_equal(pass(c, &cap, omega_now_ms()), 0);
    assert_true(value_of(&cap, "system_memory_total_bytes", NULL, NULL, NULL, NULL) > 0);
    assert_true(value_of(&cap, "system_context_switches_total", NULL, NULL, NULL, NULL) > 0);
    assert_int_equal(count(&cap, "system_load1"), 1);
    struct timespec pause = {0, 200 * 1000000};
    nanosleep(&pause, NULL);
    assert_int_equal(pass(c, &cap, omega_now_ms()), 0);
    assert_percentages_sane(&cap);
    /* 200 ms is 20 ticks per CPU at USER_HZ 100: the total line has moved. */
    assert_non_null(find(&cap, "system_cpu_usage_percent", "cpu", "total", NULL));
    assert_true(omega_collector_last_duration_ns(c) > 0);
    omega_collector_destroy(c);
    capture_deinit(&cap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_defaults_and_bad_options),
        cmocka_unit_test(test_first_pass_has_counters_but_no_cpu_percentages),
        cmocka_unit_test(test_cpu_percentages_exact_from_two_snapshots),
        cmocka_unit_test(test_all_points_share_pass_timestamp_and_valid_names),
        cmocka_unit_test(test_cpu_four_column_kernel),
        cmocka_unit_test(test_cpu_old_kernel_fixture),
        cmocka_unit_test(test_cpu_counter_going_backwards_skips_that_cpu),
        cmocka_unit_test(test_cpu_hotplug),
        cmocka_unit_test(test_cpu_id_over_limit_is_malformed),
        cmocka_unit_test(test_meminfo_bytes_and_percents_exact),
        cmocka_unit_test(test_meminfo_without_memavailable_estimates),
        cmocka_unit_test(test_meminfo_no_swap_is_explicit_zero),
        cmocka_unit_test(test_meminfo_bad_units_and_duplicates),
        cmocka_unit_test(test_loadavg_values),
        cmocka_unit_test(test_missing_files_give_eio_and_no_points),
        cmocka_unit_test(test_empty_files),
        cmocka_unit_test(test_truncated_files),
        cmocka_unit_test(test_non_numeric_fields),
        cmocka_unit_test(test_oversized_garbage_file_rejected),
        cmocka_unit_test(test_procfile_read_cap_boundary),
        cmocka_unit_test(test_line_and_number_parsers),
        cmocka_unit_test(test_warnings_are_rate_limited_per_source),
        cmocka_unit_test(test_ratelimit_window),
        cmocka_unit_test(test_sink_failure_does_not_stop_collection),
        cmocka_unit_test(test_runner_runs_aligned_passes_and_stops),
        cmocka_unit_test(test_runner_stop_wakes_a_long_sleep),
        cmocka_unit_test(test_runner_rejects_bad_arguments),
        cmocka_unit_test(test_real_proc_smoke),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
