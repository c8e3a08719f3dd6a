/* SPDX-License-Identifier: Apache-2.0 */
/* The kernel's packet path and host-wide limits: per-CPU softnet counters
 * (/proc/net/softnet_stat: packets processed, dropped because the backlog was full, NAPI
 * budget exhaustion), connection tracking (entries, limit and the per-CPU event counters of
 * /proc/net/stat/nf_conntrack, summed), file handles (/proc/sys/fs/file-nr) and entropy. */
#include "collect_int.h"

#include <stdio.h>
#include <string.h>
#include <sys/timex.h>
#include <unistd.h>

static const metric_def_t defs[] = {
    {"system_softnet_processed_total", "counter", "", "cpu",
     "Packets the CPU took off its input queue."},
    {"system_softnet_dropped_total", "counter", "", "cpu",
     "Packets dropped because the CPU's backlog queue was full (net.core.netdev_max_backlog)."},
    {"system_softnet_times_squeezed_total", "counter", "", "cpu",
     "Times the receive softirq ran out of budget with work left (net.core.netdev_budget)."},
    {"system_softnet_received_rps_total", "counter", "", "cpu",
     "Times the CPU was woken to process packets steered to it (RPS)."},
    {"system_softnet_flow_limit_count_total", "counter", "", "cpu",
     "Packets dropped by the flow limit."},
    {"system_softnet_backlog_packets", "gauge", "", "cpu",
     "Packets waiting in the CPU's backlog queues (Linux >= 5.10)."},
    {"system_nf_conntrack_entries", "gauge", "", "", "Connections tracked by netfilter."},
    {"system_nf_conntrack_entries_limit", "gauge", "", "",
     "Size of the tracking table (nf_conntrack_max): new connections are dropped when full."},
    {"system_nf_conntrack_stat_<key>_total", "counter", "", "",
     "Every event counter of /proc/net/stat/nf_conntrack, summed over CPUs: found, invalid, "
     "insert, insert_failed, drop, early_drop, search_restart ..."},
    {"system_synproxy_<key>_total", "counter", "", "",
     "SYN proxy counters of /proc/net/stat/synproxy summed over CPUs: syn_received, "
     "cookie_invalid, cookie_valid, cookie_retrans, conn_reopened."},
    {"system_filefd_allocated", "gauge", "", "", "File handles allocated by the kernel."},
    {"system_filefd_maximum", "gauge", "", "", "Limit on file handles (fs.file-max)."},
    {"system_entropy_available_bits", "gauge", "", "", "Entropy in the kernel's pool."},
    {"system_entropy_pool_size_bits", "gauge", "", "", "Size of the entropy pool."},
    {"system_processes_max", "gauge", "", "", "Highest process id plus one (kernel.pid_max)."},
    {"system_threads_max", "gauge", "", "", "Limit on threads, system-wide (kernel.threads-max)."},
    {"system_timex_offset_seconds", "gauge", "seconds", "",
     "Clock offset the kernel is correcting (adjtimex)."},
    {"system_timex_frequency_adjustment_ratio", "gauge", "", "",
     "Frequency correction applied to the clock, as a ratio."},
    {"system_timex_maxerror_seconds", "gauge", "seconds", "", "Maximum clock error."},
    {"system_timex_estimated_error_seconds", "gauge", "seconds", "", "Estimated clock error."},
    {"system_timex_status", "gauge", "", "", "Clock status bits (STA_*)."},
    {"system_timex_loop_time_constant", "gauge", "", "", "Phase-locked loop time constant."},
    {"system_timex_tick_seconds", "gauge", "seconds", "", "Time between clock ticks."},
    {"system_timex_sync_status", "gauge", "", "",
     "1 when NTP (or chrony) keeps the clock synchronised, else 0."},
    {"system_timex_tai_offset_seconds", "gauge", "seconds", "", "TAI minus UTC."},
};

const metric_table_t collect_table_netcore = {
    "Kernel: packet path, connection tracking, file handles, entropy",
    "/proc/net/softnet_stat, /proc/sys/net/netfilter/nf_conntrack_count and _max, "
    "/proc/net/stat/nf_conntrack and synproxy, /proc/sys/fs/file-nr, "
    "/proc/sys/kernel/random/entropy_avail and poolsize, /proc/sys/kernel/pid_max and "
    "threads-max, adjtimex(2)",
    "enable_network (softnet, conntrack, synproxy); enable_cpu (file handles, entropy, limits, "
    "clock)",
    "node_exporter's node_softnet_*, node_nf_conntrack_*, node_filefd_* and node_entropy_* under "
    "the system_ prefix. softnet_stat rows name their CPU in the 13th column (Linux >= 5.10); "
    "on older kernels the row number is used, which is the CPU number while all CPUs are "
    "online. A host without netfilter has no conntrack series. The clock figures are node_exporter's "
    "node_timex_* and are read on the live host only (a system call, not a file).",
    defs,
    METRIC_TABLE_N(defs)};

void netcore_state_init(netcore_state_t *s)
{
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < NETCORE_FILES; i++)
        s->fd[i] = -1;
    name_cache_init(&s->ct_names);
    name_cache_init(&s->syn_names);
}

void netcore_state_deinit(netcore_state_t *s)
{
    for (int i = 0; i < NETCORE_FILES; i++)
        if (s->fd[i] >= 0)
            close(s->fd[i]);
    name_cache_deinit(&s->ct_names);
    name_cache_deinit(&s->syn_names);
    memset(s, 0, sizeof(*s));
}

static const char *const files[NETCORE_FILES] = {
    "/proc/net/softnet_stat",
    "/proc/net/stat/nf_conntrack",
    "/proc/sys/net/netfilter/nf_conntrack_count",
    "/proc/sys/net/netfilter/nf_conntrack_max",
    "/proc/sys/fs/file-nr",
    "/proc/sys/kernel/random/entropy_avail",
    "/proc/sys/kernel/random/poolsize",
    "/proc/net/stat/synproxy",
    "/proc/sys/kernel/pid_max",
    "/proc/sys/kernel/threads-max",
};
enum {
    F_SOFTNET,
    F_CTSTAT,
    F_CTCOUNT,
    F_CTMAX,
    F_FILENR,
    F_ENTROPY,
    F_POOL,
    F_SYNPROXY,
    F_PIDMAX,
    F_THREADSMAX
};

/* The kernel clock discipline (adjtimex, read only): what NTP/chrony tell it. */
static void timex_collect(batch_t *b)
{
    struct timex t;
    memset(&t, 0, sizeof(t)); /* modes 0: read */
    int state = adjtimex(&t);
    if (state < 0)
        return;
    /* STA_NANO: offset in ns, else us. freq and tolerance are ppm with 16 fraction bits. */
    double unit = (t.status & STA_NANO) ? 1e-9 : 1e-6;
    batch_add(b, "system_timex_offset_seconds", (double)t.offset * unit, NULL, 0);
    batch_add(b, "system_timex_frequency_adjustment_ratio", (double)t.freq / 65536.0 / 1e6, NULL,
              0);
    batch_add(b, "system_timex_maxerror_seconds", (double)t.maxerror / 1e6, NULL, 0);
    batch_add(b, "system_timex_estimated_error_seconds", (double)t.esterror / 1e6, NULL, 0);
    batch_add(b, "system_timex_status", (double)t.status, NULL, 0);
    batch_add(b, "system_timex_loop_time_constant", (double)t.constant, NULL, 0);
    batch_add(b, "system_timex_tick_seconds", (double)t.tick / 1e6, NULL, 0);
    batch_add(b, "system_timex_sync_status", state != TIME_ERROR && !(t.status & STA_UNSYNC), NULL,
              0);
    batch_add(b, "system_timex_tai_offset_seconds", (double)t.tai, NULL, 0);
}

/* Read file f whole (kept descriptor on the live root). 0 or OMEGA_EIO. */
static int read_f(netcore_state_t *s, const char *root, int f, char *buf, size_t cap, size_t *len)
{
    if (root[0] == '\0')
        return procfile_pread(&s->fd[f], root, files[f], buf, cap, len, NULL);
    return procfile_read(root, files[f], buf, cap, len, NULL);
}

/* Parse up to max hex fields of the line at *p. Returns the count, or -1 on a bad field. */
static long hex_fields(const char **p, const char *le, uint64_t *v, size_t max)
{
    const char *t;
    size_t tl, n = 0;
    while (n < max && tok_next(p, le, &t, &tl)) {
        uint64_t x = 0;
        if (tl > 16)
            return -1;
        for (size_t i = 0; i < tl; i++) {
            char ch = t[i];
            int d = ch >= '0' && ch <= '9'   ? ch - '0'
                    : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                    : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                             : -1;
            if (d < 0)
                return -1;
            x = x * 16 + (uint64_t)d;
        }
        v[n++] = x;
    }
    return (long)n;
}

int softnet_parse(const char *buf, size_t len, batch_t *b, omega_error_t *err)
{
    static const struct {
        int col;
        const char *metric;
    } cols[] = {{0, "system_softnet_processed_total"},      {1, "system_softnet_dropped_total"},
                {2, "system_softnet_times_squeezed_total"}, {9, "system_softnet_received_rps_total"},
                {10, "system_softnet_flow_limit_count_total"}, {11, "system_softnet_backlog_packets"}};
    const char *p = buf, *end = buf + len;
    uint64_t v[16];
    char cpu[24];
    int row = 0, rc = 0;
    while (p < end) {
        const char *le = line_end(p, end);
        long n = hex_fields(&p, le, v, 16);
        if (n != 0) {
            if (n < 3) {
                if (rc == 0)
                    rc = omega_error_set(err, OMEGA_EINVAL, "/proc/net/softnet_stat row %d: bad",
                                         row + 1);
            } else {
                snprintf(cpu, sizeof(cpu), "%llu",
                         (unsigned long long)(n >= 13 ? v[12] : (uint64_t)row));
                omega_label_t l[1] = {{"cpu", cpu}};
                for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
                    if (cols[i].col < n)
                        batch_add(b, cols[i].metric, (double)v[cols[i].col], l, 1);
            }
            row++;
        }
        p = le < end ? le + 1 : end;
    }
    return rc;
}

int percpu_stat_parse(name_cache_t *nc, const char *file, const char *prefix, const char *buf,
                      size_t len, batch_t *b, omega_error_t *err)
{
    const char *p = buf, *end = buf + len, *he = line_end(p, end), *t;
    size_t tl;
    uint64_t sum[32] = {0}, v[32];
    long ncols = 0;
    const char *key[32];
    size_t klen[32];
    while (ncols < 32 && tok_next(&p, he, &t, &tl)) {
        key[ncols] = t;
        klen[ncols++] = tl;
    }
    if (ncols == 0)
        return omega_error_set(err, OMEGA_EINVAL, "%s: no header", file);
    p = he < end ? he + 1 : end;
    while (p < end) {
        const char *le = line_end(p, end);
        long n = hex_fields(&p, le, v, 32);
        if (n != 0 && n != ncols)
            return omega_error_set(err, OMEGA_EINVAL, "%s: bad row", file);
        for (long i = 0; i < n; i++)
            sum[i] += v[i];
        p = le < end ? le + 1 : end;
    }
    /* "entries" repeats the table size on every row: not an event count. */
    for (long i = 0; i < ncols; i++) {
        if (klen[i] == 7 && !memcmp(key[i], "entries", 7))
            continue;
        const char *name = name_cache_get(nc, (size_t)i, prefix, key[i], klen[i], "", 0, "_total");
        if (name)
            batch_add(b, name, (double)sum[i], NULL, 0);
    }
    return 0;
}

/* The first n numbers of a small /proc/sys file into v. 0 or -1. The read asks for a few
 * bytes only: the kernel allocates and clears a buffer of the size asked for every /proc/sys
 * read, which for the collector's 1 MiB buffer cost more than everything else in the pass. */
static int numbers(netcore_state_t *s, const char *root, int f, uint64_t *v, size_t n)
{
    char buf[128];
    size_t len = 0;
    if (read_f(s, root, f, buf, sizeof(buf), &len) != 0)
        return -1;
    const char *p = buf, *le = line_end(buf, buf + len), *t;
    size_t tl;
    for (size_t i = 0; i < n; i++)
        if (!tok_next(&p, le, &t, &tl) || parse_u64n(t, tl, &v[i]) != 0)
            return -1;
    return 0;
}

int netcore_collect(netcore_state_t *s, const char *root, int network, int kernel, char *buf,
                    size_t cap, batch_t *b, omega_error_t *err)
{
    size_t len = 0;
    uint64_t v[3];
    int rc = 0;
    if (network && read_f(s, root, F_SOFTNET, buf, cap, &len) == 0)
        rc = softnet_parse(buf, len, b, err);
    if (network && numbers(s, root, F_CTCOUNT, v, 1) == 0) {
        batch_add(b, "system_nf_conntrack_entries", (double)v[0], NULL, 0);
        if (numbers(s, root, F_CTMAX, v, 1) == 0)
            batch_add(b, "system_nf_conntrack_entries_limit", (double)v[0], NULL, 0);
        if (read_f(s, root, F_CTSTAT, buf, cap, &len) == 0 &&
            percpu_stat_parse(&s->ct_names, files[F_CTSTAT], "system_nf_conntrack_stat_", buf, len,
                              b, rc ? NULL : err) != 0)
            rc = OMEGA_EINVAL;
    }
    if (network && read_f(s, root, F_SYNPROXY, buf, cap, &len) == 0 &&
        percpu_stat_parse(&s->syn_names, files[F_SYNPROXY], "system_synproxy_", buf, len, b,
                          rc ? NULL : err) != 0)
        rc = OMEGA_EINVAL;
    if (kernel && numbers(s, root, F_PIDMAX, v, 1) == 0)
        batch_add(b, "system_processes_max", (double)v[0], NULL, 0);
    if (kernel && numbers(s, root, F_THREADSMAX, v, 1) == 0)
        batch_add(b, "system_threads_max", (double)v[0], NULL, 0);
    if (kernel && root[0] == '\0')
        timex_collect(b);
    if (kernel && numbers(s, root, F_FILENR, v, 3) == 0) {
        batch_add(b, "system_filefd_allocated", (double)v[0], NULL, 0);
        batch_add(b, "system_filefd_maximum", (double)v[2], NULL, 0);
    }
    if (kernel && numbers(s, root, F_ENTROPY, v, 1) == 0) {
        batch_add(b, "system_entropy_available_bits", (double)v[0], NULL, 0);
        if (numbers(s, root, F_POOL, v, 1) == 0)
            batch_add(b, "system_entropy_pool_size_bits", (double)v[0], NULL, 0);
    }
    return rc;
}
