/* SPDX-License-Identifier: Apache-2.0 */
/* Private to collect/: the small-file reader and tolerant line parser, the per-pass point
 * batch, the warning rate limiter, and the per-source parsers the collector drives. */
#ifndef OMEGA_COLLECT_INT_H
#define OMEGA_COLLECT_INT_H

#include <pthread.h>
#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "omega/collect.h"
#include "omega/common.h"
#include "omega/metric.h"

/* ---- procfile.c: whole small files and their lines ------------------------------------ */

/* Largest /proc or /sys file we accept. Anything bigger is not a file we understand and is
 * rejected as malformed rather than silently truncated. /proc/stat on a 1024-CPU machine with
 * thousands of interrupt lines stays well below this. */
#define COLLECT_FILE_MAX ((size_t)1 << 20)

/* Longest root prefix accepted by omega_collector_create (the path joined with "/proc/..."
 * must fit in PATH_MAX). */
#define COLLECT_ROOT_MAX 3072

/* Read the whole file <root><rel> into buf (capacity cap, including room for the NUL that is
 * always appended). root has no trailing '/', rel starts with '/'. On success *len is the byte
 * count (without the NUL). Returns 0, OMEGA_EIO (cannot open or read; err names the path and
 * the errno text) or OMEGA_E2BIG (the file has cap bytes or more). err may be NULL. */
int procfile_read(const char *root, const char *rel, char *buf, size_t cap, size_t *len,
                  omega_error_t *err);

/* Cursor over the lines of a buffer filled by procfile_read. */
typedef struct procfile_lines {
    char *p;   /* start of the next line, owned by the caller's buffer */
    char *end; /* one past the last byte of the buffer's content */
    int line;  /* 1-based number of the line last returned */
} procfile_lines_t;

/* Start iterating over buf[0..len). */
void procfile_lines_init(procfile_lines_t *it, char *buf, size_t len);
/* Next line, NUL-terminated in place (the '\n' is overwritten), or NULL at the end. A last line
 * without '\n' is returned too. The pointer stays valid as long as the buffer. */
char *procfile_next_line(procfile_lines_t *it);

/* Split line in place at runs of spaces and tabs into at most max fields (pointers into line).
 * Returns how many fields were stored; the rest of the line after the max-th field is left
 * unsplit, so long lines (the "intr" line) cost nothing past what is needed. */
size_t procfile_split(char *line, char **fields, size_t max);

/* Strict decimal unsigned parse: digits only, no sign, no spaces, no overflow.
 * Returns 0 or OMEGA_EINVAL (*out untouched). */
int procfile_parse_u64(const char *s, uint64_t *out);
/* Strict decimal floating parse ("0.52"): whole string consumed, finite, >= 0.
 * Returns 0 or OMEGA_EINVAL. Uses the C locale's '.' (the daemon never calls setlocale). */
int procfile_parse_udouble(const char *s, double *out);

/* ---- batch.c: the points of one pass --------------------------------------------------- */

/* Points of one pass plus the storage for their labels. Label values are copied, so callers
 * may pass stack buffers; metric and label names must be string literals (or otherwise live
 * as long as the batch). Pointers in the points are only resolved by batch_finish, because
 * the arrays grow while the pass runs. Memory is kept across passes. */
typedef struct batch_label {
    const char *name; /* label name, a literal */
    size_t value_off; /* offset of the value in the string arena */
} batch_label_t;

typedef struct batch {
    omega_point_t *points; /* n_points entries; labels resolved by batch_finish */
    size_t *first_label;   /* per point: index of its first entry in labs */
    size_t n_points;       /* points added this pass */
    size_t cap_points;     /* allocated entries of points and first_label */
    batch_label_t *labs;   /* labels as added (unresolved) */
    size_t n_labs;         /* entries used in labs */
    size_t cap_labs;       /* allocated entries of labs and labels */
    omega_label_t *labels; /* resolved labels, filled by batch_finish */
    char *strs;            /* string arena for label values */
    size_t n_strs;         /* bytes used in strs */
    size_t cap_strs;       /* bytes allocated in strs */
    int64_t ts_ms;         /* timestamp stamped on every point of the pass */
} batch_t;

void batch_init(batch_t *b);
void batch_deinit(batch_t *b);
/* Forget the previous pass' points; all points added next get ts_ms. */
void batch_reset(batch_t *b, int64_t ts_ms);
/* Add one point. name and labels[i].name must be literals; label values are copied, with
 * bytes that are not UTF-8 replaced by '?'. */
void batch_add(batch_t *b, const char *name, double value, const omega_label_t *labels,
               size_t n_labels);
/* Resolve label pointers and return the points (count in *n). Valid until the next
 * batch_add/batch_reset/batch_deinit. */
const omega_point_t *batch_finish(batch_t *b, size_t *n);

/* ---- collector.c: interval check and the warning rate limiter
 * ------------------------------------------------ */

/* 0 when interval_ms is within 100..3600000, else OMEGA_EINVAL with err filled. */
int collect_interval_check(int64_t interval_ms, omega_error_t *err);

/* At most one message per period: used so a missing file logs once a minute, not every pass. */
typedef struct ratelimit {
    int64_t next_ns;     /* monotonic time before which messages are suppressed */
    uint64_t suppressed; /* messages dropped since the last one allowed */
    int armed;           /* 0 until the first message was allowed */
} ratelimit_t;

/* Returns 1 when a message may be logged at now_ns (then *suppressed, if non-NULL, gets the
 * count dropped since the previous allowed message and the window restarts), else 0. */
int ratelimit_allow(ratelimit_t *rl, int64_t now_ns, int64_t period_ns, uint64_t *suppressed);

/* ---- proc_stat.c, proc_loadavg.c, proc_meminfo.c: the sources ---------------------------- */

/* Counters of one CPU line we keep between passes. */
#define CPU_MODES 8 /* user nice system idle iowait irq softirq steal */
typedef struct cpu_sample {
    uint64_t v[CPU_MODES]; /* kernel ticks (USER_HZ) per mode, in the order above */
    int ncols;             /* modes the kernel reported, 4..8 (guest columns are not kept) */
    int valid;             /* 1 when this slot was filled by the pass it belongs to */
} cpu_sample_t;

/* /proc/stat state carried between passes: the previous pass' counters per CPU. */
typedef struct stat_state {
    cpu_sample_t prev_total; /* the "cpu" line of the previous pass */
    cpu_sample_t cur_total;  /* the "cpu" line of this pass */
    cpu_sample_t *prev;      /* previous pass, indexed by CPU number; n_prev entries */
    size_t n_prev;           /* entries allocated in prev */
    cpu_sample_t *cur;       /* this pass, indexed by CPU number; n_cur entries */
    size_t n_cur;            /* entries allocated in cur */
    int skip_procs;          /* 1: leave procs_running/blocked to the process scan */
} stat_state_t;

/* Highest CPU number accepted from a "cpuN" line (Linux's CONFIG_NR_CPUS tops out at 8192). */
#define COLLECT_CPU_ID_MAX 16383

void stat_state_init(stat_state_t *s);
void stat_state_deinit(stat_state_t *s);

/* Parse /proc/stat held in buf (NUL-terminated, len bytes; modified in place) and add its points
 * to b. Returns 0 or OMEGA_EINVAL (err says which line) when the file is malformed; points of
 * the well-formed lines are still added. */
int proc_stat_parse(stat_state_t *s, char *buf, size_t len, batch_t *b, omega_error_t *err);

/* Parse /proc/loadavg in buf and add system_load1/5/15. Returns 0 or OMEGA_EINVAL. */
int proc_loadavg_parse(char *buf, size_t len, batch_t *b, omega_error_t *err);

/* Parse /proc/meminfo in buf and add the system_memory_* and system_swap_* points.
 * Returns 0 or OMEGA_EINVAL (no MemTotal, neither MemAvailable nor MemFree, or a bad value). */
int proc_meminfo_parse(char *buf, size_t len, batch_t *b, omega_error_t *err);

/* ---- metrics.c: the catalogue, one table per source ------------------------------------ */

/* One metric a source emits. Every point a collector produces has its name here with exactly
 * these label names; docs/metrics.md is generated from these tables (metrics.c). */
typedef struct metric_def {
    const char *name;   /* metric name */
    const char *type;   /* "gauge" or "counter" */
    const char *unit;   /* base unit: "bytes", "seconds", "percent", "celsius", "" ... */
    const char *labels; /* label names, comma separated, "" for none */
    const char *help;   /* one sentence */
} metric_def_t;

/* The metrics of one source, with where they come from and the option that turns it on. */
typedef struct metric_table {
    const char *title;        /* section heading in docs/metrics.md */
    const char *source;       /* files read, for the reader */
    const char *option;       /* omega_collect_options_t flag and config key */
    const char *notes;        /* choices worth knowing (skips, derivations), or NULL */
    const metric_def_t *defs; /* the metrics */
    size_t n_defs;            /* entries in defs */
} metric_table_t;

#define METRIC_TABLE_N(a) (sizeof(a) / sizeof((a)[0]))

extern const metric_table_t collect_table_stat, collect_table_loadavg, collect_table_meminfo,
    collect_table_vmstat, collect_table_diskstats, collect_table_filesystems, collect_table_netdev,
    collect_table_tcp, collect_table_probes, collect_table_sensors, collect_table_processes,
    collect_table_watch, collect_table_pressure, collect_table_self;

/* The definition of name, or NULL when no table defines it. */
const metric_def_t *collect_metric_find(const char *name);

/* ---- shared helpers for the multi-file sources ------------------------------------------- */

/* Increase of a kernel counter between two reads. A value lower than before is a 32-bit wrap
 * when the old value was in the top half of the 32-bit range and the new one fits 32 bits
 * (32-bit kernels keep unsigned long counters); anything else is a reset (device re-added),
 * for which this returns -1 and derived rates are skipped for that pass. Else 0 and *d. */
int counter_delta(uint64_t prev, uint64_t cur, uint64_t *d);

/* Join root and rel ("/sys/class/net/eth0/speed") into out. Returns 0 or -1 when too long. */
int collect_path(char *out, size_t cap, const char *root, const char *rel);

/* Read <root><rel> (a one-line /sys file) and parse it as a signed decimal integer with an
 * optional trailing newline. Returns 0, OMEGA_EIO (unreadable) or OMEGA_EINVAL. */
int procfile_read_i64(const char *root, const char *rel, int64_t *out);

/* ---- the sources added for the full system monitor (one file each) ---------------------- */

/* proc_vmstat.c: page faults, swap traffic (pages * page_size bytes), OOM kills.
 * Returns 0 or OMEGA_EINVAL (a bad value, or no pgfault line). */
int proc_vmstat_parse(char *buf, size_t len, uint64_t page_size, batch_t *b, omega_error_t *err);

/* proc_diskstats.c: previous counters per whole disk. */
#define DISK_NAME_MAX 64
typedef struct disk_prev {
    char name[DISK_NAME_MAX]; /* device name as in /proc/diskstats */
    uint64_t v[9];            /* kept counters of the previous pass */
    int64_t ts_ms;            /* that pass' timestamp */
    int valid;                /* v and ts_ms are filled */
    int seen;                 /* present in the pass in progress */
} disk_prev_t;
typedef struct diskstats_state {
    disk_prev_t *d; /* n entries, cap allocated */
    size_t n, cap;
} diskstats_state_t;
void diskstats_state_init(diskstats_state_t *s);
void diskstats_state_deinit(diskstats_state_t *s);
/* Parse /proc/diskstats (buf, modified) and add counters and derived gauges for whole disks
 * (decided with <root>/sys/block). Returns 0 or OMEGA_EINVAL (malformed lines are skipped). */
int proc_diskstats_parse(diskstats_state_t *s, const char *root, char *buf, size_t len,
                         int64_t now_ms, batch_t *b, omega_error_t *err);

/* filesystems.c: decode \ooo escapes of a mountinfo field in place. */
void mountinfo_unescape(char *s);
/* Parse the mount table in buf and add statvfs figures of every real mount under root.
 * Returns 0 or OMEGA_EINVAL (malformed lines are skipped, the others still reported). */
int filesystems_collect(const char *root, char *buf, size_t len, batch_t *b, omega_error_t *err);

/* proc_netdev.c: previous counters per interface. */
#define IFNAME_MAX 32
typedef struct netdev_prev {
    char name[IFNAME_MAX]; /* interface name */
    uint64_t v[8];         /* kept counters of the previous pass */
    int64_t ts_ms;         /* that pass' timestamp */
    int valid;             /* v and ts_ms are filled */
    int seen;              /* present in the pass in progress */
} netdev_prev_t;
typedef struct netdev_state {
    netdev_prev_t *d; /* n entries, cap allocated */
    size_t n, cap;
} netdev_state_t;
void netdev_state_init(netdev_state_t *s);
void netdev_state_deinit(netdev_state_t *s);
/* Parse /proc/net/dev in buf and add the interface counters, speed, throughput and
 * utilisation. Returns 0 or OMEGA_EINVAL (malformed lines are skipped). */
int proc_netdev_parse(netdev_state_t *s, const char *root, char *buf, size_t len, int64_t now_ms,
                      batch_t *b, omega_error_t *err);

/* procfile.c: call fn(ctx, line) for every line of <root><rel>, read in chunks of cap bytes
 * through buf. Returns 0, OMEGA_EIO (cannot open/read), OMEGA_E2BIG (a line of cap bytes or
 * more) or the first error a callback returned (the remaining lines are still fed). */
typedef int (*procfile_line_fn)(void *ctx, char *line);
int procfile_each_line(const char *root, const char *rel, char *buf, size_t cap,
                       procfile_line_fn fn, void *ctx, omega_error_t *err);

/* proc_net_tcp.c: TCP counters from /proc/net/snmp in buf; 0 or OMEGA_EINVAL. */
int proc_snmp_parse(char *buf, size_t len, batch_t *b, omega_error_t *err);
#define TCP_STATES 12 /* index 1..11: the kernel's TCP_ESTABLISHED .. TCP_CLOSING */
/* Count sockets per state in /proc/net/tcp and tcp6 (buf of cap bytes as scratch). Returns 0,
 * OMEGA_EIO (no /proc/net/tcp) or OMEGA_EINVAL (malformed lines, the rest still counted). */
int proc_net_tcp_collect(const char *root, char *buf, size_t cap, batch_t *b, omega_error_t *err);
/* tcp_diag.c: count IPv4 + IPv6 TCP sockets per state (counts[1..TCP_STATES-1]) over netlink
 * sock_diag, on the live host. Returns 0 (counts filled) or -1 (counts untouched). */
int tcp_diag_count(uint64_t *counts);

/* probes.c: split a "host:port" or "[v6]:port" target. Returns 0 or OMEGA_EINVAL. */
int probe_target_split(const char *t, char *host, size_t hcap, char *port, size_t pcap);
/* Probe all n targets in parallel within timeout_ms and add success/latency. Returns 0. */
int probes_collect(char *const *targets, size_t n, int64_t timeout_ms, batch_t *b);

/* pressure.c: PSI of cpu, memory and io under root (missing files are no error). Returns 0
 * or OMEGA_EINVAL (a malformed line; the others are still added). buf (cap bytes) is scratch. */
int pressure_collect(const char *root, char *buf, size_t cap, batch_t *b, omega_error_t *err);

/* sensors.c: temperatures and CPU frequencies under root. Always returns 0 (absent sensors
 * are not failures). */
int sensors_collect(const char *root, batch_t *b);

/* processes.c: the fields of /proc/<pid>/stat the monitor uses. */
#define PID_STAT_FIELDS 22 /* fields 3 (state) .. 24 (rss) of proc(5) */
typedef struct pid_stat {
    int64_t pid;          /* process id (filled by the caller) */
    int64_t ppid;         /* parent process id */
    char comm[64];        /* the name between the parentheses (truncated) */
    char state;           /* R S D Z T t X I ... */
    uint64_t cpu_ticks;   /* utime + stime, USER_HZ ticks */
    uint64_t threads;     /* num_threads */
    uint64_t start_ticks; /* starttime, USER_HZ ticks since boot */
    uint64_t rss_pages;   /* resident set, pages */
    int exit_code;        /* zombies: exit status (128 + signal when killed), else -1 */
} pid_stat_t;
/* The state name used in system_processes{state} for a stat state letter. */
const char *pid_state_name(char st);
/* Parse a /proc/<pid>/stat line (comm may hold spaces and parentheses). 0 or OMEGA_EINVAL. */
int pid_stat_parse(char *buf, pid_stat_t *out);
/* Called for every process read in a scan; the record is valid during the call only. */
typedef void (*pid_visit_fn)(void *ctx, const pid_stat_t *ps);
/* Open /proc/<pid>/stat descriptors kept from one pass to the next, sorted by pid. A kept
 * descriptor follows its process: once the process exits, reads fail (the pid may then be
 * someone else's, which gets a new descriptor). Only for the live /proc: on a fixture tree a
 * kept descriptor would outlive its deleted file. */
typedef struct pid_fd {
    int64_t pid; /* process id */
    int fd;      /* its stat file, -1 once handed over */
} pid_fd_t;
typedef struct pid_cache {
    pid_fd_t *prev; /* the previous pass' descriptors, n_prev entries */
    size_t n_prev, cap_prev;
    pid_fd_t *cur; /* this pass' descriptors, n_cur entries */
    size_t n_cur, cap;
    size_t max; /* descriptors kept at most (the rest are opened per pass) */
} pid_cache_t;
void pid_cache_init(pid_cache_t *pc, size_t max_fds);
/* Close every kept descriptor. */
void pid_cache_deinit(pid_cache_t *pc);

/* Longest /proc/<pid>/stat accepted. */
#define PID_STAT_MAX 4096

/* Scan <root>/proc, add system_processes{state} and system_threads, and call visit (may be
 * NULL) per process. pc (NULL: open and close every file) keeps descriptors between passes.
 * buf (cap bytes) is scratch. Returns 0 or OMEGA_EIO (no /proc). */
int processes_collect(const char *root, pid_cache_t *pc, char *buf, size_t cap, batch_t *b,
                      pid_visit_fn visit, void *ctx, omega_error_t *err);

/* self.c: one source's share of a pass. */
typedef struct self_timing {
    const char *name; /* source name, a literal */
    int64_t ns;       /* time spent */
    size_t points;    /* points produced */
} self_timing_t;
/* Add the omega_monitor_* points (timings first). Returns 0, OMEGA_EIO or OMEGA_EINVAL. */
int self_collect(char *buf, size_t cap, const self_timing_t *t, size_t n_t, batch_t *b,
                 omega_error_t *err);

/* ---- proc_watch.c: per-process monitoring and exit events ------------------------------ */

/* One process of a pass. */
typedef struct watch_entry {
    pid_stat_t st;  /* what /proc/<pid>/stat said */
    double cpu_pct; /* share of one CPU since the previous pass, -1 when unknown */
    int64_t uid;    /* owner, -1 when not looked up (only candidates are) */
    char *cmdline;  /* watched processes only (joined by spaces); owned */
    int decided;    /* watched was decided (inherited while pid, start and comm hold) */
    int watched;    /* process_filters select it */
    int reported;   /* its exit was already reported (seen as a zombie) */
} watch_entry_t;

typedef struct watch_state {
    pthread_mutex_t lock;    /* guards prev and prev_ms against omega_collector_processes */
    watch_entry_t *prev;     /* the last complete pass, sorted by pid; n_prev entries */
    size_t n_prev, cap_prev; /* entries used / allocated */
    watch_entry_t *cur;      /* the pass in progress; n_cur entries */
    size_t n_cur, cap_cur;   /* entries used / allocated */
    int64_t prev_ms, cur_ms; /* timestamps of those passes */
    int ran;                 /* a pass completed: prev is meaningful */
    regex_t *re;             /* compiled custom patterns, n_re entries */
    size_t n_re;             /* entries in re */
    int include_omega, include_compilers, exclude_system; /* the filter switches */
    omega_process_event_fn on_exit;                       /* exit callback or NULL */
    void *on_exit_ctx;                                    /* its context */
    const char *root;  /* the collector's root prefix (borrowed) */
    int64_t btime_s;   /* boot time, Unix seconds; 0 until read */
    long hz;           /* USER_HZ */
    uint64_t page;     /* page size */
    char cmdbuf[4097]; /* scratch for /proc/<pid>/cmdline, collector thread only */
} watch_state_t;

/* Compile the filter. Returns 0 or OMEGA_EINVAL (err->path "watch.patterns"). */
int watch_state_init(watch_state_t *w, const omega_process_filter_t *f, const char *root,
                     omega_error_t *err);
void watch_state_deinit(watch_state_t *w);
/* Start a pass stamped now_ms. */
void watch_begin(watch_state_t *w, int64_t now_ms);
/* pid_visit_fn for processes_collect: record one process (ctx is the watch_state_t). */
void watch_visit(void *ctx, const pid_stat_t *ps);
/* End the pass: raise exit events, add per-process points, publish the pass. */
void watch_finish(watch_state_t *w, batch_t *b);
/* The process list for omega_collector_processes. */
int watch_list(watch_state_t *w, const char *pattern, omega_process_info_t **out, size_t *n,
               omega_error_t *err);
/* 1 when comm names a compiler, linker or build driver (version and target prefixes allowed:
 * "gcc-13", "x86_64-linux-gnu-gcc", "clang++-17"). */
int watch_is_compiler(const char *comm);

#endif
