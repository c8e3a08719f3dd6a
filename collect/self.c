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
    {"omega_monitor_open_fds", "gauge", "", "", "Open file descriptors of the monitor process."},
    {"omega_monitor_collection_duration_seconds", "gauge", "seconds", "collector",
     "Time the source spent reading and parsing in this pass."},
    {"omega_monitor_collection_points", "gauge", "", "collector",
     "Points the source produced in this pass."},
};

const metric_table_t collect_table_self = {
    "The monitor itself",
    "/proc/self/stat, /proc/self/fd, the pass itself",
    "enable_self",
    "collector is the source's name: cpu, loadavg, memory, vmstat, diskstats, filesystems, "
    "netdev, snmp, tcp, probes, sensors, processes, pressure. The self source's own time is not "
    "included.",
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

int self_collect(char *buf, size_t cap, const self_timing_t *t, size_t n_t, batch_t *b,
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
    if (procfile_read("", "/proc/self/stat", buf, cap, &len, err) != 0)
        return OMEGA_EIO;
    if (pid_stat_parse(buf, &ps) != 0 || hz <= 0 || page <= 0)
        return omega_error_set(err, OMEGA_EINVAL, "/proc/self/stat: malformed");
    batch_add(b, "omega_monitor_cpu_seconds_total", (double)ps.cpu_ticks / (double)hz, NULL, 0);
    batch_add(b, "omega_monitor_resident_memory_bytes", (double)ps.rss_pages * (double)page, NULL,
              0);
    batch_add(b, "omega_monitor_threads", (double)ps.threads, NULL, 0);
    long fds = fd_count();
    if (fds >= 0)
        batch_add(b, "omega_monitor_open_fds", (double)fds, NULL, 0);
    return 0;
}
