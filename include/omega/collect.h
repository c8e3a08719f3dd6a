/* SPDX-License-Identifier: Apache-2.0 */
/* System collectors (module collect/): read /proc and /sys under a root prefix and emit
 * points into a sink. Knows nothing of storage; the server's sink writes to the tsdb,
 * the agent's sink pushes over HTTP. */
#ifndef OMEGA_COLLECT_H
#define OMEGA_COLLECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "omega/common.h"
#include "omega/metric.h"

/* Where collectors deliver points. emit() receives one collection pass' points at once;
 * the points and their strings are borrowed for the duration of the call. emit() returns 0
 * or a negative OMEGA_E* (logged by the collector, rate-limited; collection continues). */
typedef struct omega_collect_sink {
    int (*emit)(void *ctx, const omega_point_t *points, size_t n);
    void *ctx;
} omega_collect_sink_t;

/* A watched process that went away (process failure detection). Strings are borrowed for
 * the duration of the callback. */
typedef struct omega_process_event {
    int64_t pid;           /* its process id */
    const char *name;      /* its name (comm) */
    const char *cmdline;   /* its command line, arguments joined by spaces (unmasked) */
    int exit_code;         /* exit status when the process was last seen as a zombie (the
                              kernel keeps it there), else -1: unknown, it vanished */
    int64_t started_at_ms; /* when it started, Unix ms */
    int64_t ts_ms;         /* the pass that noticed it */
} omega_process_event_t;

/* Called on the collector's thread, during the pass that notices the exit. Must not call back
 * into the collector. */
typedef void (*omega_process_event_fn)(void *ctx, const omega_process_event_t *ev);

/* Which processes get per-process series and exit events (system_monitor.process_filters). */
typedef struct omega_process_filter {
    int include_omega;     /* names starting with "omega" (this monitor, its agent, tools) */
    int include_compilers; /* compilers, linkers and build drivers by name (docs/metrics.md) */
    int exclude_system;    /* never kernel threads nor processes of system accounts (uid
                              1..999), even when matched */
    const char *const *patterns; /* POSIX extended regexes searched in the command line;
                                    copied (compiled) by _create */
    size_t n_patterns;           /* entries in patterns, 0 .. 256 */
} omega_process_filter_t;

/* What to collect. Start from omega_collect_options_init(). */
typedef struct omega_collect_options {
    const char *root;      /* filesystem prefix for /proc and /sys, "/" normally (borrowed
                              until _create returns; tests point it at fixtures) */
    int enable_cpu;        /* system_cpu_* percentages, context switches, load averages */
    int enable_memory;     /* system_memory_*, system_swap_* (/proc/meminfo) */
    int enable_vmstat;     /* page faults, swap traffic, OOM kills (/proc/vmstat) */
    int enable_disk;       /* system_disk_* (/proc/diskstats), system_filesystem_* */
    int enable_network;    /* system_network_* (/proc/net/dev, TCP) and the probes */
    int enable_sensors;    /* temperatures and CPU frequency (/sys) */
    int enable_processes;  /* system_processes{state}, system_threads (a /proc scan) */
    int no_stat_processes; /* 1: leave out /proc/stat's system_processes{state="running"|
                              "blocked"} (another collector scans /proc); default 0 */
    int enable_pressure;   /* system_pressure_* (/proc/pressure, when the kernel has PSI) */
    int enable_self;       /* omega_monitor_*: this process' cost and per-source timings */
    int no_self_process;   /* 1: leave this process' CPU, RSS, threads and fds out of the
                              omega_monitor_* points (another collector of the same process
                              reports them); timings and latency stay. Default 0 */
    const char *const *probe_targets; /* "host:port" or "[v6]:port" TCP probe targets, copied
                                         by _create; NULL when n_probe_targets is 0 */
    size_t n_probe_targets;           /* entries in probe_targets, 0 .. 256 */
    int64_t probe_timeout_ms;         /* connect timeout per pass, 10 .. 60000 (default 1000) */
    omega_process_filter_t watch;     /* per-process monitoring (needs enable_processes) */
    omega_process_event_fn on_process_exit; /* watched process gone, or NULL */
    void *on_process_exit_ctx;              /* passed to on_process_exit */
    int64_t interval_ms;                    /* runner period, 100 .. 3600000 */
} omega_collect_options_t;

/* Defaults: every source on, no probe targets, watch omega and compiler processes (no
 * patterns, system processes not excluded), no exit callback, root "/", 5000 ms. */
void omega_collect_options_init(omega_collect_options_t *o);

/* Write the metric catalogue (docs/metrics.md) as Markdown to out. Returns 0 or OMEGA_EIO.
 * Any thread. */
int omega_collect_write_markdown(FILE *out);

typedef struct omega_collector omega_collector_t;

/* Create a collector; keeps the previous counters needed for rates and percentages.
 * Returns NULL (err filled: a bad interval, root, probe target or timeout; err->path names
 * the option) on bad options. Free with omega_collector_destroy(). */
omega_collector_t *omega_collector_create(const omega_collect_options_t *o, omega_error_t *err);
void omega_collector_destroy(omega_collector_t *c);

/* Run one collection pass stamped now_ms and emit its points into sink. CPU percentages
 * need two passes: the first pass emits none. Missing or malformed files are skipped
 * (their metrics are absent, never zero) and reported through the return value:
 * 0 when everything read cleanly, OMEGA_EIO when some source was unreadable. */
int omega_collector_collect(omega_collector_t *c, int64_t now_ms, const omega_collect_sink_t *sink);

/* One process as the last pass saw it (GET /api/v1/system/processes). */
typedef struct omega_process_info {
    int64_t pid;           /* process id */
    int64_t ppid;          /* parent process id */
    char name[64];         /* comm, as in ps -o comm */
    char user[64];         /* owner's user name, or the numeric uid */
    char state[16];        /* running, sleeping, blocked, zombie, stopped, idle, other */
    char *cmdline;         /* arguments joined by spaces, unmasked; "" for kernel threads;
                              malloc'd, freed by omega_process_info_free */
    double cpu_percent;    /* share of one CPU over the last interval (may exceed 100 for
                              multi-threaded processes); -1 before a second pass saw it */
    uint64_t rss_bytes;    /* resident memory */
    uint64_t threads;      /* threads */
    int64_t started_at_ms; /* start time, Unix ms */
    int watched;           /* 1 when process_filters select it */
} omega_process_info_t;

/* Processes of the last pass with enable_processes on, filtered by pattern (a POSIX extended
 * regex searched in the name and the command line; NULL or "" for all), sorted by pid.
 * *out is a malloc'd array of *n entries (NULL when 0), freed with omega_process_info_free.
 * Returns 0, OMEGA_EINVAL (bad pattern; err says why) or OMEGA_EUNSUPP (process monitoring
 * off). Any thread, while the collector runs; reads /proc for the command lines. */
int omega_collector_processes(omega_collector_t *c, const char *pattern, omega_process_info_t **out,
                              size_t *n, omega_error_t *err);
void omega_process_info_free(omega_process_info_t *p, size_t n);

/* Duration of the last pass in nanoseconds (the specification's collection latency). */
int64_t omega_collector_last_duration_ns(const omega_collector_t *c);

/* A background thread that calls omega_collector_collect every interval_ms, aligned to
 * the interval. Owns neither the collector nor the sink's context. */
typedef struct omega_collect_runner omega_collect_runner_t;
omega_collect_runner_t *omega_collect_runner_start(omega_collector_t *c, int64_t interval_ms,
                                                   const omega_collect_sink_t *sink,
                                                   omega_error_t *err);
/* Stop and join the thread (waits for a pass in progress). Accepts NULL. */
void omega_collect_runner_stop(omega_collect_runner_t *r);

#endif
