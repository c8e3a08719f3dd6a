/* SPDX-License-Identifier: Apache-2.0 */
/* The monitor's own cost: CPU time, resident memory, threads and open descriptors of this
 * process (always the real /proc/self, whatever the root prefix), and the duration and size of
 * each source's part of the pass (the specification's "data collection latency"). */
#include "collect_int.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const metric_def_t defs[] = {
    {"omega_monitor_cpu_seconds_total", "counter", "seconds", "",
     "CPU time (user + system) used by the monitor process."},
    {"omega_monitor_resident_memory_bytes", "gauge", "bytes", "",
     "Resident set size of the monitor process."},
    {"omega_monitor_threads", "gauge", "", "", "Threads of the monitor process."},
    {"omega_monitor_open_fds", "gauge", "", "",
     "Open file descriptors of the monitor process, counted every 10 s (the process scan keeps "
     "a descriptor per process open, so the listing is not free)."},
    {"omega_monitor_collection_duration_seconds", "gauge", "seconds", "collector",
     "Time the source spent reading and parsing in this pass."},
    {"omega_monitor_collection_points", "gauge", "", "collector",
     "Points the source produced in this pass."},
    {"omega_monitor_collection_latency_seconds", "gauge", "seconds", "cadence",
     "The previous pass from the start of its tick to its points stored (the specification's "
     "data collection latency); cadence is the collector's interval in ms."},
    {"omega_monitor_collection_latency_seconds_bucket", "histogram", "seconds", "cadence,le",
     "Passes whose latency was at most le seconds, cumulative since start."},
    {"omega_monitor_collection_latency_seconds_sum", "histogram", "seconds", "cadence",
     "Latency of all passes since start."},
    {"omega_monitor_collection_latency_seconds_count", "histogram", "", "cadence",
     "Passes since start."},
};

/* Upper bounds of the latency buckets, seconds (the last is +Inf). */
static const double bounds[LATENCY_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                               0.05,   0.1,   0.25,   0.5,   1.0,  0};
static const char *const bound_names[LATENCY_BUCKETS] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05",   "0.1",   "0.25",   "0.5",   "1",    "+Inf"};

void self_latency_observe(self_latency_t *l, double seconds)
{
    for (int i = 0; i < LATENCY_BUCKETS; i++)
        if (i == LATENCY_BUCKETS - 1 || seconds <= bounds[i])
            l->bucket[i]++;
    l->sum_s += seconds;
    l->count++;
    l->last_s = seconds;
}

static void add_latency(const self_latency_t *lat, batch_t *b)
{
    omega_label_t l[2] = {{"cadence", lat->cadence}, {"le", ""}};
    batch_add(b, "omega_monitor_collection_latency_seconds", lat->last_s, l, 1);
    for (int i = 0; i < LATENCY_BUCKETS; i++) {
        l[1].value = bound_names[i];
        batch_add(b, "omega_monitor_collection_latency_seconds_bucket", (double)lat->bucket[i], l,
                  2);
    }
    batch_add(b, "omega_monitor_collection_latency_seconds_sum", lat->sum_s, l, 1);
    batch_add(b, "omega_monitor_collection_latency_seconds_count", (double)lat->count, l, 1);
}

const metric_table_t collect_table_self = {
    "The monitor itself",
    "/proc/self/stat, /proc/self/fd, the pass itself",
    "enable_self",
    "collector is the source's name: cpu, loadavg, memory, vmstat, diskstats, filesystems, "
    "netdev, snmp, tcp, probes, sensors, processes, pressure, netstat, snmp6, sockstat, "
    "sockstat6, interrupts, softirqs, zones, netcore, kernel. The self source's own time is not "
    "included. When the server runs two collectors (CPU and memory at the real-time cadence, "
    "the rest at the monitoring interval), the process figures come from the first only; each "
    "reports its own timings and latency (cadence label). p99 over the last 10 minutes: "
    "histogram_quantile(0.99, rate(omega_monitor_collection_latency_seconds_bucket[10m])).",
    defs,
    METRIC_TABLE_N(defs)};

static long fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    long n = 0;
    if (!d)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the directory's own descriptor */
}

int self_collect(char *buf, size_t cap, const self_timing_t *t, size_t n_t,
                 const self_latency_t *lat, int process, int fds, batch_t *b,
                 omega_error_t *err)
{
    size_t len = 0;
    pid_stat_t ps;
    long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < n_t; i++) {
        omega_label_t l[1] = {{"collector", t[i].name}};
        batch_add(b, "omega_monitor_collection_duration_seconds", (double)t[i].ns / 1e9, l, 1);
        batch_add(b, "omega_monitor_collection_points", (double)t[i].points, l, 1);
    }
    if (lat && lat->count)
        add_latency(lat, b);
    if (!process)
        return 0;
    if (procfile_read("", "/proc/self/stat", buf, cap, &len, err) != 0)
        return OMEGA_EIO;
    if (pid_stat_parse(buf, &ps) != 0 || hz <= 0 || page <= 0)
        return omega_error_set(err, OMEGA_EINVAL, "/proc/self/stat: malformed");
    batch_add(b, "omega_monitor_cpu_seconds_total", (double)ps.cpu_ticks / (double)hz, NULL, 0);
    batch_add(b, "omega_monitor_resident_memory_bytes", (double)ps.rss_pages * (double)page, NULL,
              0);
    batch_add(b, "omega_monitor_threads", (double)ps.threads, NULL, 0);
    long n_fds = fds ? fd_count() : -1;
    if (n_fds >= 0)
        batch_add(b, "omega_monitor_open_fds", (double)n_fds, NULL, 0);
    return 0;
}
