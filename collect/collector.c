/* SPDX-License-Identifier: Apache-2.0 */
/* The collector handle: options, one collection pass over the enabled sources (read under the
 * root prefix, parse, emit one batch into the sink), failure reporting with a per-source
 * rate-limited warning, and the pass duration. The sources' parsing lives in proc_*.c.
 * A collector is used by one thread at a time (the runner's thread while a runner runs); only
 * omega_collector_last_duration_ns may be read from any thread. */
#include "collect_int.h"
#include "omega/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INTERVAL_MIN_MS     100
#define INTERVAL_MAX_MS     3600000
#define INTERVAL_DEFAULT_MS 5000 /* system_monitor.monitoring_interval's default */

/* One warning per source per minute at most (STYLE: rate-limit per-sample paths). */
#define WARN_PERIOD_NS ((int64_t)60 * 1000000000)

/* Things that can fail on their own, each with its own warning budget. */
enum { SRC_STAT, SRC_LOADAVG, SRC_MEMINFO, SRC_SINK, SRC_COUNT };

static const char *const src_names[SRC_COUNT] = {"/proc/stat", "/proc/loadavg", "/proc/meminfo",
                                                 "sink"};

struct omega_collector {
    char *root;                       /* prefix without trailing '/', "" for "/"; owned */
    int enable_cpu;                   /* read /proc/stat and /proc/loadavg */
    int enable_memory;                /* read /proc/meminfo */
    char *buf;                        /* file buffer, COLLECT_FILE_MAX + 1 bytes; owned */
    batch_t batch;                    /* points of the pass in progress */
    stat_state_t stat;                /* CPU counters of the previous pass */
    ratelimit_t warn[SRC_COUNT];      /* warning budget per source */
    int failing[SRC_COUNT];           /* 1 while a source's last attempt failed */
    _Atomic int64_t last_duration_ns; /* read+parse time of the last pass; any thread reads */
};

void omega_collect_options_init(omega_collect_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->root = "/";
    o->enable_cpu = 1;
    o->enable_memory = 1;
    o->interval_ms = INTERVAL_DEFAULT_MS;
}

int collect_interval_check(int64_t interval_ms, omega_error_t *err)
{
    if (interval_ms < INTERVAL_MIN_MS || interval_ms > INTERVAL_MAX_MS)
        return omega_error_set_path(err, OMEGA_EINVAL, "interval_ms",
                                    "interval %lld ms is outside %d..%d ms", (long long)interval_ms,
                                    INTERVAL_MIN_MS, INTERVAL_MAX_MS);
    return 0;
}

omega_collector_t *omega_collector_create(const omega_collect_options_t *o, omega_error_t *err)
{
    if (!o) {
        omega_error_set(err, OMEGA_EINVAL, "no collector options");
        return NULL;
    }
    const char *root = o->root ? o->root : "/";
    size_t len = strlen(root);
    if (len == 0 || len > COLLECT_ROOT_MAX) {
        omega_error_set_path(err, OMEGA_EINVAL, "root", "root must be 1..%d characters",
                             COLLECT_ROOT_MAX);
        return NULL;
    }
    if (collect_interval_check(o->interval_ms, err) != 0)
        return NULL;
    while (len > 0 && root[len - 1] == '/')
        len--; /* "/" -> "", "/tmp/x/" -> "/tmp/x": files are then root + "/proc/..." */

    omega_collector_t *c = omega_calloc(1, sizeof(*c));
    c->root = omega_strndup(root, len);
    c->enable_cpu = o->enable_cpu != 0;
    c->enable_memory = o->enable_memory != 0;
    c->buf = omega_malloc(COLLECT_FILE_MAX + 1);
    batch_init(&c->batch);
    stat_state_init(&c->stat);
    atomic_init(&c->last_duration_ns, 0);
    return c;
}

void omega_collector_destroy(omega_collector_t *c)
{
    if (!c)
        return;
    batch_deinit(&c->batch);
    stat_state_deinit(&c->stat);
    free(c->buf);
    free(c->root);
    free(c);
}

int ratelimit_allow(ratelimit_t *rl, int64_t now_ns, int64_t period_ns, uint64_t *suppressed)
{
    if (rl->armed && now_ns < rl->next_ns) {
        rl->suppressed++;
        return 0;
    }
    if (suppressed)
        *suppressed = rl->suppressed;
    rl->armed = 1;
    rl->suppressed = 0;
    rl->next_ns = now_ns + period_ns;
    return 1;
}

/* Log a failed source, at most once per WARN_PERIOD_NS per source. */
static void warn_source(omega_collector_t *c, int src, int rc, const omega_error_t *e)
{
    uint64_t dropped = 0;
    c->failing[src] = 1;
    if (!ratelimit_allow(&c->warn[src], omega_mono_ns(), WARN_PERIOD_NS, &dropped))
        return;
    const char *what = src == SRC_SINK ? "points not delivered" : "skipped";
    if (dropped)
        omega_log_warn("collect: %s %s (%s): %s (%llu more since the last warning)", src_names[src],
                       what, omega_strerror(rc), e->message, (unsigned long long)dropped);
    else
        omega_log_warn("collect: %s %s (%s): %s", src_names[src], what, omega_strerror(rc),
                       e->message);
}

/* Say once when a source that failed works again, so a warning is not left standing. */
static void source_ok(omega_collector_t *c, int src)
{
    if (!c->failing[src])
        return;
    c->failing[src] = 0;
    omega_log_info("collect: %s is back", src_names[src]);
}

typedef int (*parse_fn)(omega_collector_t *c, char *buf, size_t len, omega_error_t *err);

static int parse_stat(omega_collector_t *c, char *buf, size_t len, omega_error_t *err)
{
    return proc_stat_parse(&c->stat, buf, len, &c->batch, err);
}

static int parse_loadavg(omega_collector_t *c, char *buf, size_t len, omega_error_t *err)
{
    return proc_loadavg_parse(buf, len, &c->batch, err);
}

static int parse_meminfo(omega_collector_t *c, char *buf, size_t len, omega_error_t *err)
{
    return proc_meminfo_parse(buf, len, &c->batch, err);
}

/* Read and parse one source. Returns 0, or OMEGA_EIO after logging (rate-limited) why. */
static int run_source(omega_collector_t *c, int src, const char *rel, parse_fn parse)
{
    omega_error_t e;
    size_t len = 0;
    omega_error_clear(&e);
    snprintf(e.message, sizeof(e.message), "no detail");
    int rc = procfile_read(c->root, rel, c->buf, COLLECT_FILE_MAX + 1, &len, &e);
    if (rc == 0)
        rc = parse(c, c->buf, len, &e);
    if (rc == 0) {
        source_ok(c, src);
        return 0;
    }
    warn_source(c, src, rc, &e);
    return OMEGA_EIO;
}

int omega_collector_collect(omega_collector_t *c, int64_t now_ms, const omega_collect_sink_t *sink)
{
    int rc = 0;
    int64_t t0 = omega_mono_ns();

    batch_reset(&c->batch, now_ms);
    if (c->enable_cpu) {
        if (run_source(c, SRC_STAT, "/proc/stat", parse_stat) != 0)
            rc = OMEGA_EIO;
        if (run_source(c, SRC_LOADAVG, "/proc/loadavg", parse_loadavg) != 0)
            rc = OMEGA_EIO;
    }
    if (c->enable_memory && run_source(c, SRC_MEMINFO, "/proc/meminfo", parse_meminfo) != 0)
        rc = OMEGA_EIO;
    atomic_store_explicit(&c->last_duration_ns, omega_mono_ns() - t0, memory_order_relaxed);

    size_t n = 0;
    const omega_point_t *pts = batch_finish(&c->batch, &n);
    if (n > 0 && sink && sink->emit) {
        int erc = sink->emit(sink->ctx, pts, n);
        if (erc != 0) {
            omega_error_t e;
            omega_error_set(&e, erc, "emit of %zu points failed", n);
            warn_source(c, SRC_SINK, erc, &e);
        } else {
            source_ok(c, SRC_SINK);
        }
    }
    return rc;
}

int64_t omega_collector_last_duration_ns(const omega_collector_t *c)
{
    if (!c)
        return 0;
    return atomic_load_explicit(&c->last_duration_ns, memory_order_relaxed);
}
