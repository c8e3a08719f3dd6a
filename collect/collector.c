/* SPDX-License-Identifier: Apache-2.0 */
/* The collector handle: options, one collection pass over the enabled sources (read under the
 * root prefix, parse, emit one batch into the sink), failure reporting with a per-source
 * rate-limited warning, and the pass duration. The sources' parsing lives in proc_*.c.
 * A collector is used by one thread at a time (the runner's thread while a runner runs); only
 * omega_collector_last_duration_ns may be read from any thread. */
#include "collect_int.h"
#include "omega/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define INTERVAL_MIN_MS     100
#define INTERVAL_MAX_MS     3600000
#define INTERVAL_DEFAULT_MS 5000 /* system_monitor.monitoring_interval's default */

/* One warning per source per minute at most (STYLE: rate-limit per-sample paths). */
#define WARN_PERIOD_NS ((int64_t)60 * 1000000000)

/* Things that can fail on their own, each with its own warning budget. */
enum {
    SRC_STAT,
    SRC_LOADAVG,
    SRC_MEMINFO,
    SRC_VMSTAT,
    SRC_DISKSTATS,
    SRC_FILESYSTEMS,
    SRC_NETDEV,
    SRC_SNMP,
    SRC_TCP,
    SRC_PROBES,
    SRC_SENSORS,
    SRC_PROCESSES,
    SRC_PRESSURE,
    SRC_NETSTAT,
    SRC_SNMP6,
    SRC_SOCKSTAT,
    SRC_SOCKSTAT6,
    SRC_INTERRUPTS,
    SRC_SOFTIRQS,
    SRC_ZONES,
    SRC_NETCORE,
    SRC_KERNEL,
    SRC_SELF,
    SRC_SINK,
    SRC_COUNT
};

static const char *const src_names[SRC_COUNT] = {
    "/proc/stat",  "/proc/loadavg", "/proc/meminfo",  "/proc/vmstat",  "/proc/diskstats",
    "mount table", "/proc/net/dev", "/proc/net/snmp", "/proc/net/tcp", "probes",
    "sensors",     "process scan",  "/proc/pressure", "/proc/net/netstat", "/proc/net/snmp6",
    "/proc/net/sockstat", "/proc/net/sockstat6", "/proc/interrupts", "/proc/softirqs",
    "memory zones", "softnet/conntrack", "file-nr/entropy/clock", "/proc/self",  "sink"};

/* Names of the sources in omega_monitor_collection_* (collector label). */
static const char *const timing_names[SRC_COUNT] = {
    "cpu", "loadavg", "memory",  "vmstat",    "diskstats", "filesystems", "netdev", "snmp",
    "tcp", "probes",  "sensors", "processes", "pressure",  "netstat",     "snmp6",
    "sockstat", "sockstat6", "interrupts", "softirqs", "zones", "netcore", "kernel", "self", "sink"};

/* Files read whole through a kept descriptor, per source (NULL: the source reads its own). */
static const char *const src_files[SRC_COUNT] = {
    [SRC_STAT] = "/proc/stat",
    [SRC_LOADAVG] = "/proc/loadavg",
    [SRC_MEMINFO] = "/proc/meminfo",
    [SRC_VMSTAT] = "/proc/vmstat",
    [SRC_DISKSTATS] = "/proc/diskstats",
    [SRC_FILESYSTEMS] = "/proc/self/mountinfo",
    [SRC_NETDEV] = "/proc/net/dev",
    [SRC_SNMP] = "/proc/net/snmp",
    [SRC_NETSTAT] = "/proc/net/netstat",
    [SRC_SNMP6] = "/proc/net/snmp6",
    [SRC_SOCKSTAT] = "/proc/net/sockstat",
    [SRC_SOCKSTAT6] = "/proc/net/sockstat6",
    [SRC_INTERRUPTS] = "/proc/interrupts",
    [SRC_SOFTIRQS] = "/proc/softirqs",
};

/* Sources whose file a kernel or a container may lack (no IPv6, a trimmed /proc): absent
 * means no series, not a failure. */
static int src_optional(int src)
{
    return src >= SRC_NETSTAT && src <= SRC_SOFTIRQS;
}

#define PROBE_TARGETS_MAX 256
#define PROBE_TIMEOUT_MIN 10
#define PROBE_TIMEOUT_MAX 60000
#define PROBE_TIMEOUT_DEF 1000

struct omega_collector {
    char *root;                       /* prefix without trailing '/', "" for "/"; owned */
    int on[SRC_COUNT];                /* 1: the source runs (from the enable_* options) */
    char **targets;                   /* probe targets, n_targets entries; owned */
    size_t n_targets;                 /* entries in targets */
    int64_t probe_timeout_ms;         /* connect timeout */
    probes_t *probes;                 /* probe threads when there are targets, else NULL */
    uint64_t page_size;               /* bytes per page, for /proc/vmstat */
    char *buf;                        /* file buffer, COLLECT_FILE_MAX + 1 bytes; owned */
    batch_t batch;                    /* points of the pass in progress */
    stat_state_t stat;                /* CPU counters of the previous pass */
    diskstats_state_t disks;          /* disk counters of the previous pass */
    netdev_state_t nets;              /* interface counters of the previous pass */
    pid_cache_t pids;                 /* kept /proc/<pid>/stat descriptors (live root only) */
    watch_state_t watch;              /* per-process monitoring; its last pass is shared with
                                         omega_collector_processes under watch.lock */
    int fd[SRC_COUNT];                /* kept descriptors of src_files (live root only), -1 */
    int psi_fd[PRESSURE_FILES];       /* kept /proc/pressure files (live root only), -1 */
    name_cache_t names[SRC_COUNT];    /* built metric names per source */
    irq_state_t irqs;                 /* /proc/interrupts columns */
    irq_state_t softirqs;             /* /proc/softirqs columns */
    zones_state_t zones;              /* buddyinfo, zoneinfo, numastat */
    netcore_state_t netcore;          /* softnet, conntrack, file handles, entropy */
    self_timing_t timing[SRC_COUNT];  /* this pass' per-source cost */
    size_t n_timing;                  /* entries used in timing */
    int64_t now_ms;                   /* timestamp of the pass in progress */
    ratelimit_t warn[SRC_COUNT];      /* warning budget per source */
    int failing[SRC_COUNT];           /* 1 while a source's last attempt failed */
    _Atomic int64_t last_duration_ns; /* read+parse time of the last pass; any thread reads */
    int64_t interval_ms;              /* the runner's period (for the latency's tick start) */
    int self_process;                 /* self reports this process' CPU, RSS, threads, fds */
    self_latency_t latency;           /* tick start to points stored, all passes so far */
    int64_t self_fds_ms;              /* pass time of the last own descriptor count */
    int64_t tcp_ms;                   /* pass time of the last TCP state count (live host) */
};

void omega_collect_options_init(omega_collect_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->root = "/";
    o->enable_cpu = 1;
    o->enable_memory = 1;
    o->enable_vmstat = 1;
    o->enable_disk = 1;
    o->enable_network = 1;
    o->enable_sensors = 1;
    o->enable_processes = 1;
    o->enable_pressure = 1;
    o->enable_self = 1;
    o->probe_timeout_ms = PROBE_TIMEOUT_DEF;
    o->watch.include_omega = 1;
    o->watch.include_compilers = 1;
    o->interval_ms = INTERVAL_DEFAULT_MS;
}

/* Probe targets must parse and the timeout must be sane. 0 or OMEGA_EINVAL (err filled). */
static int check_probes(const omega_collect_options_t *o, omega_error_t *err)
{
    char host[256], port[8];
    if (o->n_probe_targets > PROBE_TARGETS_MAX || (o->n_probe_targets && !o->probe_targets))
        return omega_error_set_path(err, OMEGA_EINVAL, "probe_targets", "at most %d probe targets",
                                    PROBE_TARGETS_MAX);
    for (size_t i = 0; i < o->n_probe_targets; i++)
        if (!o->probe_targets[i] ||
            probe_target_split(o->probe_targets[i], host, sizeof(host), port, sizeof(port)) != 0)
            return omega_error_set_path(err, OMEGA_EINVAL, "probe_targets",
                                        "probe target %zu is not host:port", i);
    if (o->n_probe_targets &&
        (o->probe_timeout_ms < PROBE_TIMEOUT_MIN || o->probe_timeout_ms > PROBE_TIMEOUT_MAX))
        return omega_error_set_path(err, OMEGA_EINVAL, "probe_timeout_ms",
                                    "probe timeout must be %d..%d ms", PROBE_TIMEOUT_MIN,
                                    PROBE_TIMEOUT_MAX);
    return 0;
}

/* Descriptors the process scan may keep open: a quarter of the soft RLIMIT_NOFILE, at most
 * 4096, so sockets and the store always have room. */
static size_t pid_fds_max(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 256;
    size_t n = (size_t)(rl.rlim_cur / 4);
    return n > 4096 ? 4096 : n;
}

int collect_interval_check(int64_t interval_ms, omega_error_t *err)
{
    if (interval_ms < INTERVAL_MIN_MS || interval_ms > INTERVAL_MAX_MS)
        return omega_error_set_path(err, OMEGA_EINVAL, "interval_ms",
                                    "interval %lld ms is outside %d..%d ms", (long long)interval_ms,
                                    INTERVAL_MIN_MS, INTERVAL_MAX_MS);
    return 0;
}

/* Which sources run, from the enable_* switches. */
static void set_sources(omega_collector_t *c, const omega_collect_options_t *o)
{
    int cpu = o->enable_cpu != 0, mem = o->enable_memory != 0, net = o->enable_network != 0;
    c->on[SRC_STAT] = c->on[SRC_LOADAVG] = c->on[SRC_INTERRUPTS] = c->on[SRC_SOFTIRQS] = cpu;
    c->on[SRC_KERNEL] = cpu;
    c->on[SRC_MEMINFO] = c->on[SRC_ZONES] = mem;
    c->on[SRC_VMSTAT] = o->enable_vmstat != 0;
    c->on[SRC_DISKSTATS] = c->on[SRC_FILESYSTEMS] = o->enable_disk != 0;
    c->on[SRC_NETDEV] = c->on[SRC_SNMP] = c->on[SRC_TCP] = c->on[SRC_NETSTAT] = net;
    c->on[SRC_SNMP6] = c->on[SRC_SOCKSTAT] = c->on[SRC_SOCKSTAT6] = c->on[SRC_NETCORE] = net;
    c->on[SRC_PROBES] = net && o->n_probe_targets > 0;
    c->on[SRC_SENSORS] = o->enable_sensors != 0;
    c->on[SRC_PROCESSES] = o->enable_processes != 0;
    c->on[SRC_PRESSURE] = o->enable_pressure != 0;
    c->on[SRC_SELF] = o->enable_self != 0;
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
    if (collect_interval_check(o->interval_ms, err) != 0 || check_probes(o, err) != 0)
        return NULL;
    while (len > 0 && root[len - 1] == '/')
        len--; /* "/" -> "", "/tmp/x/" -> "/tmp/x": files are then root + "/proc/..." */

    omega_collector_t *c = omega_calloc(1, sizeof(*c));
    c->root = omega_strndup(root, len);
    set_sources(c, o);
    zones_state_init(&c->zones);
    netcore_state_init(&c->netcore);
    for (int i = 0; i < SRC_COUNT; i++) {
        c->fd[i] = -1;
        name_cache_init(&c->names[i]);
    }
    for (int i = 0; i < PRESSURE_FILES; i++)
        c->psi_fd[i] = -1;
    irq_state_init(&c->irqs);
    irq_state_init(&c->softirqs);
    c->n_targets = o->n_probe_targets;
    c->targets = omega_calloc(c->n_targets ? c->n_targets : 1, sizeof(*c->targets));
    for (size_t i = 0; i < c->n_targets; i++)
        c->targets[i] = omega_strdup(o->probe_targets[i]);
    c->probe_timeout_ms = o->probe_timeout_ms;
    long page = sysconf(_SC_PAGESIZE);
    c->page_size = page > 0 ? (uint64_t)page : 4096;
    c->buf = omega_malloc(COLLECT_FILE_MAX + 1);
    batch_init(&c->batch);
    stat_state_init(&c->stat);
    c->stat.skip_procs = c->on[SRC_PROCESSES] || o->no_stat_processes;
    diskstats_state_init(&c->disks);
    netdev_state_init(&c->nets);
    pid_cache_init(&c->pids, pid_fds_max());
    int wrc = watch_state_init(&c->watch, &o->watch, c->root, err);
    c->watch.on_exit = o->on_process_exit;
    c->watch.on_exit_ctx = o->on_process_exit_ctx;
    if (wrc != 0) {
        omega_collector_destroy(c);
        return NULL;
    }
    if (c->on[SRC_PROBES]) {
        c->probes = probes_start(c->targets, c->n_targets, c->probe_timeout_ms, NULL, err);
        if (!c->probes) {
            omega_collector_destroy(c);
            return NULL;
        }
    }
    atomic_init(&c->last_duration_ns, 0);
    c->interval_ms = o->interval_ms;
    c->self_process = !o->no_self_process;
    snprintf(c->latency.cadence, sizeof(c->latency.cadence), "%lld", (long long)o->interval_ms);
    return c;
}

void omega_collector_destroy(omega_collector_t *c)
{
    if (!c)
        return;
    probes_stop(c->probes);
    batch_deinit(&c->batch);
    for (int i = 0; i < SRC_COUNT; i++) {
        if (c->fd[i] >= 0)
            close(c->fd[i]);
        name_cache_deinit(&c->names[i]);
    }
    for (int i = 0; i < PRESSURE_FILES; i++)
        if (c->psi_fd[i] >= 0)
            close(c->psi_fd[i]);
    irq_state_deinit(&c->irqs);
    irq_state_deinit(&c->softirqs);
    zones_state_deinit(&c->zones);
    netcore_state_deinit(&c->netcore);
    stat_state_deinit(&c->stat);
    diskstats_state_deinit(&c->disks);
    netdev_state_deinit(&c->nets);
    watch_state_deinit(&c->watch);
    pid_cache_deinit(&c->pids);
    for (size_t i = 0; i < c->n_targets; i++)
        free(c->targets[i]);
    free(c->targets);
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

/* 1 when the source's file does not exist under the root (ENOENT), as opposed to unreadable. */
static int access_missing(const omega_collector_t *c, int src)
{
    char path[4096];
    return collect_path(path, sizeof(path), c->root, src_files[src]) == 0 &&
           access(path, F_OK) != 0 && errno == ENOENT;
}

/* One source's work for a pass: read what it needs and add its points. */
typedef int (*source_fn)(omega_collector_t *c, omega_error_t *err);

/* Read the source's file whole into c->buf: on the live root through a kept descriptor, on a
 * fixture tree (whose files tests replace) opened afresh. */
static int read_file(omega_collector_t *c, int src, size_t *len, omega_error_t *err)
{
    if (c->root[0] == '\0')
        return procfile_pread(&c->fd[src], c->root, src_files[src], c->buf, COLLECT_FILE_MAX + 1,
                              len, err);
    return procfile_read(c->root, src_files[src], c->buf, COLLECT_FILE_MAX + 1, len, err);
}

static int src_stat(omega_collector_t *c, omega_error_t *err)
{
    size_t len = 0;
    int rc = read_file(c, SRC_STAT, &len, err);
    return rc ? rc : proc_stat_parse(&c->stat, c->buf, len, &c->batch, err);
}

static int src_loadavg(omega_collector_t *c, omega_error_t *err)
{
    size_t len = 0;
    int rc = read_file(c, SRC_LOADAVG, &len, err);
    return rc ? rc : proc_loadavg_parse(c->buf, len, &c->batch, err);
}

/* The full-set parsers only read the buffer; the catalogue parsers after them split it. */
static int src_meminfo(omega_collector_t *c, omega_error_t *err)
{
    size_t len = 0;
    int rc = read_file(c, SRC_MEMINFO, &len, err);
    if (rc)
        return rc;
    omega_error_t e_all;
    omega_error_clear(&e_all);
    int rc_all = proc_meminfo_all(&c->names[SRC_MEMINFO], c->buf, len, &c->batch, &e_all);
    rc = proc_meminfo_parse(c->buf, len, &c->batch, err);
    if (rc == 0 && rc_all != 0 && err)
        *err = e_all; /* the catalogue parser's own complaint comes first */
    return rc ? rc : rc_all;
}

static int src_vmstat(omega_collector_t *c, omega_error_t *err)
{
    size_t len = 0;
    int rc = read_file(c, SRC_VMSTAT, &len, err);
    if (rc)
        return rc;
    omega_error_t e_all;
    omega_error_clear(&e_all);
    int rc_all = proc_vmstat_all(&c->names[SRC_VMSTAT], c->buf, len, &c->batch, &e_all);
    rc = proc_vmstat_parse(c->buf, len, c->page_size, &c->batch, err);
    if (rc == 0 && rc_all != 0 && err)
        *err = e_all; /* the catalogue parser's own complaint comes first */
    return rc ? rc : rc_all;
}

static int src_diskstats(omega_collector_t *c, omega_error_t *err)
{
    size_t len = 0;
    int rc = read_file(c, SRC_DISKSTATS, &len, err);
    return rc ? rc
              : proc_diskstats_parse(&c->disks, c->root, c->buf, len, c->now_ms, &c->batch, err);
}

static int src_filesystems(omega_collector_t *c, omega_error_t *err)
{
    size_t len = 0;
    int rc = read_file(c, SRC_FILESYSTEMS, &len, err);
    return rc ? rc : filesystems_collect(c->root, c->buf, len, &c->batch, err);
}

static int src_netdev(omega_collector_t *c, omega_error_t *err)
{
    size_t len = 0;
    int rc = read_file(c, SRC_NETDEV, &len, err);
    return rc ? rc : proc_netdev_parse(&c->nets, c->root, c->buf, len, c->now_ms, &c->batch, err);
}

static int src_snmp(omega_collector_t *c, omega_error_t *err)
{
    size_t len = 0;
    int rc = read_file(c, SRC_SNMP, &len, err);
    if (rc)
        return rc;
    omega_error_t e_all;
    omega_error_clear(&e_all);
    int rc_all = netstat_pairs_parse(&c->names[SRC_SNMP], "/proc/net/snmp", c->buf, len, &c->batch, &e_all);
    rc = proc_snmp_parse(c->buf, len, &c->batch, err);
    if (rc == 0 && rc_all != 0 && err)
        *err = e_all; /* the catalogue parser's own complaint comes first */
    return rc ? rc : rc_all;
}

/* Sources that read one optional file with a read-only parser. A missing file is no error. */
static int src_kernel_file(omega_collector_t *c, int src, omega_error_t *err)
{
    size_t len = 0;
    int rc = read_file(c, src, &len, err);
    if (rc)
        return rc == OMEGA_EIO && src_optional(src) && access_missing(c, src) ? 0 : rc;
    name_cache_t *nc = &c->names[src];
    switch (src) {
    case SRC_NETSTAT:
        return netstat_pairs_parse(nc, src_files[src], c->buf, len, &c->batch, err);
    case SRC_SNMP6:
        return snmp6_parse(nc, c->buf, len, &c->batch, err);
    case SRC_SOCKSTAT:
    case SRC_SOCKSTAT6:
        return sockstat_parse(nc, src_files[src], c->buf, len, c->page_size, &c->batch, err);
    case SRC_INTERRUPTS:
        return proc_interrupts_parse(&c->irqs, c->buf, len, &c->batch, err);
    default:
        return proc_softirqs_parse(&c->softirqs, c->buf, len, &c->batch, err);
    }
}

static int src_netstat(omega_collector_t *c, omega_error_t *err)
{
    return src_kernel_file(c, SRC_NETSTAT, err);
}

static int src_snmp6(omega_collector_t *c, omega_error_t *err)
{
    return src_kernel_file(c, SRC_SNMP6, err);
}

static int src_sockstat(omega_collector_t *c, omega_error_t *err)
{
    return src_kernel_file(c, SRC_SOCKSTAT, err);
}

static int src_sockstat6(omega_collector_t *c, omega_error_t *err)
{
    return src_kernel_file(c, SRC_SOCKSTAT6, err);
}

static int src_interrupts(omega_collector_t *c, omega_error_t *err)
{
    return src_kernel_file(c, SRC_INTERRUPTS, err);
}

static int src_softirqs(omega_collector_t *c, omega_error_t *err)
{
    return src_kernel_file(c, SRC_SOFTIRQS, err);
}

static int src_zones(omega_collector_t *c, omega_error_t *err)
{
    return zones_collect(&c->zones, c->root, c->buf, COLLECT_FILE_MAX + 1, &c->batch, err);
}

static int src_netcore(omega_collector_t *c, omega_error_t *err)
{
    return netcore_collect(&c->netcore, c->root, 1, 0, c->buf, COLLECT_FILE_MAX + 1, &c->batch,
                           err);
}

static int src_kernel(omega_collector_t *c, omega_error_t *err)
{
    return netcore_collect(&c->netcore, c->root, 0, 1, c->buf, COLLECT_FILE_MAX + 1, &c->batch,
                           err);
}

/* Counting connections per state walks the kernel's whole TCP hash table (sized for the
 * host's memory, not for its connections): a third of a pass' CPU at 1 s. On the live host the
 * states are counted every TCP_STATES_PERIOD_MS, not every pass. */
#define TCP_STATES_PERIOD_MS 10000

static int src_tcp(omega_collector_t *c, omega_error_t *err)
{
    if (c->root[0] == '\0') {
        if (c->now_ms - c->tcp_ms < TCP_STATES_PERIOD_MS && c->now_ms >= c->tcp_ms)
            return 0;
        c->tcp_ms = c->now_ms;
    }
    return proc_net_tcp_collect(c->root, c->buf, COLLECT_FILE_MAX + 1, &c->batch, err);
}

static int src_probes(omega_collector_t *c, omega_error_t *err)
{
    (void)err;
    probes_report(c->probes, &c->batch);
    return 0;
}

static int src_sensors(omega_collector_t *c, omega_error_t *err)
{
    (void)err;
    return sensors_collect(c->root, &c->batch);
}

static int src_processes(omega_collector_t *c, omega_error_t *err)
{
    watch_begin(&c->watch, c->now_ms);
    int rc = processes_collect(c->root, c->root[0] ? NULL : &c->pids, c->buf, COLLECT_FILE_MAX + 1,
                               &c->batch, watch_visit, &c->watch, err);
    if (rc == 0)
        watch_finish(&c->watch, &c->batch);
    return rc;
}

static int src_pressure(omega_collector_t *c, omega_error_t *err)
{
    /* the kept descriptors only on the live root: tests replace fixture files */
    return pressure_collect(c->root, c->root[0] ? NULL : c->psi_fd, c->buf, COLLECT_FILE_MAX + 1,
                            &c->batch, err);
}

static int src_self(omega_collector_t *c, omega_error_t *err)
{
    int fds = c->now_ms - c->self_fds_ms >= 10000 || c->now_ms < c->self_fds_ms;
    if (fds)
        c->self_fds_ms = c->now_ms;
    return self_collect(c->buf, COLLECT_FILE_MAX + 1, c->timing, c->n_timing, &c->latency,
                        c->self_process, fds, &c->batch, err);
}

/* Run one source, time it, and log (rate-limited) why it failed. Returns 0 or OMEGA_EIO. */
static int run_source(omega_collector_t *c, int src, source_fn fn)
{
    omega_error_t e;
    omega_error_clear(&e);
    snprintf(e.message, sizeof(e.message), "no detail");
    int64_t t0 = omega_mono_ns();
    size_t before = c->batch.n_points;
    int rc = fn(c, &e);
    if (src != SRC_SELF && c->n_timing < SRC_COUNT) {
        self_timing_t *t = &c->timing[c->n_timing++];
        t->name = timing_names[src];
        t->ns = omega_mono_ns() - t0;
        t->points = c->batch.n_points - before;
    }
    if (rc == 0) {
        source_ok(c, src);
        return 0;
    }
    warn_source(c, src, rc, &e);
    return OMEGA_EIO;
}

/* The enabled sources, in pass order (self last: it reports the others' timings). */
static int run_all(omega_collector_t *c)
{
    static const source_fn fns[SRC_SINK] = {
        src_stat,     src_loadavg, src_meminfo,  src_vmstat,    src_diskstats,  src_filesystems,
        src_netdev,   src_snmp,    src_tcp,      src_probes,    src_sensors,    src_processes,
        src_pressure, src_netstat, src_snmp6,    src_sockstat,  src_sockstat6,  src_interrupts,
        src_softirqs, src_zones,   src_netcore,  src_kernel,    src_self};
    int rc = 0;
    c->n_timing = 0;
    for (int src = 0; src < SRC_SINK; src++)
        if (c->on[src] && run_source(c, src, fns[src]) != 0)
            rc = OMEGA_EIO;
    return rc;
}

/* How late the pass started after its tick (now_ms), ns: the runner's wake-up delay. A pass
 * stamped with a time outside the last interval (a direct call) has none. */
static int64_t start_delay_ns(const omega_collector_t *c, int64_t now_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t d = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - now_ms * 1000000;
    return d >= 0 && d < c->interval_ms * 1000000 ? d : 0;
}

int omega_collector_collect(omega_collector_t *c, int64_t now_ms, const omega_collect_sink_t *sink)
{
    int64_t delay = start_delay_ns(c, now_ms);
    int64_t t0 = omega_mono_ns();

    batch_reset(&c->batch, now_ms);
    c->now_ms = now_ms;
    int rc = run_all(c);
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
    self_latency_observe(&c->latency, (double)(delay + omega_mono_ns() - t0) / 1e9);
    return rc;
}

probes_t *collector_probes(omega_collector_t *c)
{
    return c->probes;
}

int64_t omega_collector_last_duration_ns(const omega_collector_t *c)
{
    if (!c)
        return 0;
    return atomic_load_explicit(&c->last_duration_ns, memory_order_relaxed);
}

int omega_collector_processes(omega_collector_t *c, const char *pattern, omega_process_info_t **out,
                              size_t *n, omega_error_t *err)
{
    *out = NULL;
    *n = 0;
    if (!c || !c->on[SRC_PROCESSES])
        return omega_error_set(err, OMEGA_EUNSUPP, "process monitoring is off");
    return watch_list(&c->watch, pattern, out, n, err);
}

void omega_process_info_free(omega_process_info_t *p, size_t n)
{
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        free(p[i].cmdline);
    free(p);
}
