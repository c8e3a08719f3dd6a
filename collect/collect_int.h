/* SPDX-License-Identifier: Apache-2.0 */
/* Private to collect/: the small-file reader and tolerant line parser, the per-pass point
 * batch, the warning rate limiter, and the per-source parsers the collector drives. */
#ifndef OMEGA_COLLECT_INT_H
#define OMEGA_COLLECT_INT_H

#include <pthread.h>
#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

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

/* As procfile_read, through a descriptor kept in *fd (-1: open it now; left open for the next
 * call): pread from offset 0, which regenerates a /proc file without open and close. A read
 * error closes the descriptor and retries once with a fresh one. The caller closes *fd. */
int procfile_pread(int *fd, const char *root, const char *rel, char *buf, size_t cap,
                   size_t *len, omega_error_t *err);

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
    int ncols;             /* modes the kernel reported, 4..8 */
    uint64_t guest[2];     /* guest and guest_nice ticks (inside user and nice) */
    int nguest;            /* guest columns the kernel reported, 0..2 */
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
    double hz;               /* USER_HZ, ticks per second */
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
#define IFNAME_MAX     32
#define NETCLASS_ATTRS 9 /* /sys/class/net/<if> attributes read per pass */
typedef struct netdev_prev {
    char name[IFNAME_MAX]; /* interface name */
    int fd[NETCLASS_ATTRS]; /* kept /sys/class/net/<name>/<attr> descriptors (live root), -1 */
    int speed_fd;          /* kept /sys/class/net/<name>/speed descriptor (live root), -1 */
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
/* Name lookup: the first address of host:port into *ss (*len bytes). 0 or -1. May block. */
typedef int (*probe_resolve_fn)(const char *host, const char *port, struct sockaddr_storage *ss,
                                socklen_t *len);
/* The probe threads of one collector (prober and resolver). */
typedef struct probes probes_t;
/* Start probing the n targets (valid "host:port", copied) with timeout_ms per round; resolve is
 * the lookup (NULL: getaddrinfo). Literal addresses are parsed at once, names looked up on the
 * resolver thread. Returns NULL (err filled, OMEGA_EAGAIN) when a thread cannot start. */
probes_t *probes_start(char *const *targets, size_t n, int64_t timeout_ms, probe_resolve_fn resolve,
                       omega_error_t *err);
/* Stop and join both threads (waits for a lookup in progress) and free. Accepts NULL. */
void probes_stop(probes_t *p);
/* Add the results of the round the previous call started, if it finished, and start the next
 * one. Never blocks on the network. Collector thread. */
void probes_report(probes_t *p, batch_t *b);
/* Tests: wait up to max_ms for the round started last to finish / for every target's first
 * lookup. 0, or -1 on timeout. */
int probes_wait(probes_t *p, int64_t max_ms);
int probes_wait_lookups(probes_t *p, int64_t max_ms);
/* Tests: a collector's probe threads, or NULL. */
probes_t *collector_probes(omega_collector_t *c);

/* pressure.c: PSI of cpu, memory and io under root (missing files are no error). fds (3
 * entries, -1 at first; NULL: open every file afresh) keeps the files open between passes on
 * the live root; the caller closes them. Returns 0 or OMEGA_EINVAL (a malformed line; the
 * others are still added). buf (cap bytes) is scratch. */
#define PRESSURE_FILES 3
int pressure_collect(const char *root, int *fds, char *buf, size_t cap, batch_t *b,
                     omega_error_t *err);

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
    uint64_t utime, stime; /* user and system CPU, USER_HZ ticks */
    uint64_t minflt;       /* minor page faults */
    uint64_t majflt;       /* major page faults */
    uint64_t vsize;        /* virtual memory, bytes */
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
/* Collection latency of the passes so far: start of the tick (the aligned slot the pass is
 * stamped with) to the sink having stored the points, as a cumulative histogram. */
#define LATENCY_BUCKETS 12 /* the bounds in self.c, the last one +Inf */
typedef struct self_latency {
    uint64_t bucket[LATENCY_BUCKETS]; /* passes at or under each bound (cumulative) */
    double sum_s;                     /* seconds over all passes */
    uint64_t count;                   /* passes */
    double last_s;                    /* the latest pass */
    char cadence[24];                 /* label value: the collector's interval in ms */
} self_latency_t;
/* Count one pass that took seconds. */
void self_latency_observe(self_latency_t *l, double seconds);
/* Add the omega_monitor_* points: per-source timings first, then the latency histogram when
 * it has passes, then (process != 0) this process' CPU, memory, threads and, when fds is set,
 * its open descriptors.
 * Returns 0, OMEGA_EIO or OMEGA_EINVAL. */
int self_collect(char *buf, size_t cap, const self_timing_t *t, size_t n_t,
                 const self_latency_t *lat, int process, int fds, batch_t *b, omega_error_t *err);

/* ---- names.c: names built from kernel keys, and reading without modifying ------------- */

/* Longest kernel key accepted in a built name, and the most slots one cache holds. */
#define NAME_KEY_MAX   96
#define NAME_SLOTS_MAX 65535

/* One cached name: the keys it was built from ("k1" 0x1f "k2") and the name. */
typedef struct name_slot {
    char *key;   /* owned */
    size_t klen; /* bytes in key */
    char *name;  /* owned; stays valid until the slot is rebuilt or the cache freed */
    int dup;     /* an earlier slot has the same name (the file repeats a key) */
} name_slot_t;

/* Names by position in a file: kernel files keep their order, so the value at position idx
 * nearly always has the same keys as in the previous pass. One cache per file. */
typedef struct name_cache {
    name_slot_t *s; /* n slots */
    size_t n;
    int labelled; /* 1: the same name recurs with other labels (per zone, per node), so a
                     repeated name is not a repeated key; set after name_cache_init */
} name_cache_t;

void name_cache_init(name_cache_t *nc);
void name_cache_deinit(name_cache_t *nc);
/* The name prefix + k1 [+ "_" + k2] + suffix for slot idx (characters other than letters,
 * digits and '_' in the keys become '_', trailing ones are dropped). Built on first use or
 * when the keys at idx changed, else the cached string. NULL when a key is empty or longer
 * than NAME_KEY_MAX, idx > NAME_SLOTS_MAX, or an earlier slot has the same name (a repeated
 * key: only its first occurrence is reported). The string lives as long as the slot: at least
 * until the same idx is asked for with other keys. Collector thread only. */
const char *name_cache_get(name_cache_t *nc, size_t idx, const char *prefix, const char *k1,
                           size_t l1, const char *k2, size_t l2, const char *suffix);

/* Next blank-separated token of the line at *p (stops at '\n' or end). Returns 1 with *tok
 * and *len set and *p past it, or 0 at the end of the line. */
int tok_next(const char **p, const char *end, const char **tok, size_t *len);
/* The '\n' ending the line at p, or end. */
const char *line_end(const char *p, const char *end);
/* Strict decimal parses of s[0..n): digits only (parse_i64n: an optional '-'), no overflow.
 * 0 or OMEGA_EINVAL. */
int parse_u64n(const char *s, size_t n, uint64_t *out);
int parse_i64n(const char *s, size_t n, int64_t *out);
/* 1 when name matches the catalogue name pat, where each "<...>" in pat stands for one or
 * more letters, digits or '_'. */
int collect_name_match(const char *pat, const char *name);

/* ---- the kernels' full counter sets (read-only parsers: the buffer is left as read) ----- */

/* netstat.c: every counter of /proc/net/snmp and /proc/net/netstat (header/value line pairs)
 * as system_netstat_<Proto>_<Key>[_total]. Returns 0 or OMEGA_EINVAL (a pair that does not
 * line up or a bad value; the rest is still added). */
int netstat_pairs_parse(name_cache_t *nc, const char *file, const char *buf, size_t len,
                        batch_t *b, omega_error_t *err);
/* /proc/net/snmp6 ("Ip6InReceives 12" lines) as system_netstat_Ip6_InReceives_total ...
 * Returns 0 or OMEGA_EINVAL. */
int snmp6_parse(name_cache_t *nc, const char *buf, size_t len, batch_t *b, omega_error_t *err);

/* proc_sockstat.c: /proc/net/sockstat and sockstat6 as system_sockstat_<Proto>_<field>
 * (page counts converted to bytes). Returns 0 or OMEGA_EINVAL. */
int sockstat_parse(name_cache_t *nc, const char *file, const char *buf, size_t len,
                   uint64_t page_size, batch_t *b, omega_error_t *err);

/* proc_interrupts.c: per-CPU columns of /proc/interrupts and /proc/softirqs. */
typedef struct irq_state {
    char (*cpu)[12]; /* label value per column ("0", "5" ...), n_cols entries */
    uint64_t *vals;  /* one line's counts, cap_cols entries */
    size_t n_cols, cap_cols;
} irq_state_t;
void irq_state_init(irq_state_t *s);
void irq_state_deinit(irq_state_t *s);
/* system_irq_interrupts_total{cpu,irq,info,devices} per CPU and IRQ line. 0 or OMEGA_EINVAL. */
int proc_interrupts_parse(irq_state_t *s, const char *buf, size_t len, batch_t *b,
                          omega_error_t *err);
/* system_softirqs_total{cpu,type}. 0 or OMEGA_EINVAL. */
int proc_softirqs_parse(irq_state_t *s, const char *buf, size_t len, batch_t *b,
                        omega_error_t *err);
extern const metric_table_t collect_table_netstat, collect_table_sockstat,
    collect_table_interrupts;

/* proc_vmstat.c: every /proc/vmstat key as system_vmstat_<key>[_total]. 0 or OMEGA_EINVAL. */
int proc_vmstat_all(name_cache_t *nc, const char *buf, size_t len, batch_t *b,
                    omega_error_t *err);
/* proc_meminfo.c: every /proc/meminfo key as system_memory_<Key>[_bytes]. 0 or OMEGA_EINVAL. */
int proc_meminfo_all(name_cache_t *nc, const char *buf, size_t len, batch_t *b,
                     omega_error_t *err);

/* proc_zones.c: buddyinfo, zoneinfo and numastat. */
typedef struct zones_state {
    int fd_buddy, fd_zone;   /* kept descriptors (live root), -1 */
    name_cache_t zone_names; /* /proc/zoneinfo names by position */
    name_cache_t numa_names; /* numastat names by position over all nodes */
} zones_state_t;
void zones_state_init(zones_state_t *s);
void zones_state_deinit(zones_state_t *s);
/* system_buddyinfo_blocks{node,zone,order}. 0 or OMEGA_EINVAL (bad lines skipped). */
int buddyinfo_parse(const char *buf, size_t len, batch_t *b, omega_error_t *err);
/* The zone's own lines of /proc/zoneinfo as system_zoneinfo_*{node,zone}. 0 or OMEGA_EINVAL. */
int zoneinfo_parse(name_cache_t *nc, const char *buf, size_t len, batch_t *b, omega_error_t *err);
/* All three under root (each optional); buf (cap bytes) is scratch. 0 or OMEGA_EINVAL. */
int zones_collect(zones_state_t *s, const char *root, char *buf, size_t cap, batch_t *b,
                  omega_error_t *err);

/* proc_netcore.c: softnet, conntrack, file handles, entropy. */
#define NETCORE_FILES 10
typedef struct netcore_state {
    int fd[NETCORE_FILES];  /* kept descriptors (live root), -1 */
    name_cache_t ct_names;  /* nf_conntrack stat names by column */
    name_cache_t syn_names; /* synproxy stat names by column */
} netcore_state_t;
void netcore_state_init(netcore_state_t *s);
void netcore_state_deinit(netcore_state_t *s);
/* /proc/net/softnet_stat rows (hex) as system_softnet_*{cpu}. 0 or OMEGA_EINVAL. */
int softnet_parse(const char *buf, size_t len, batch_t *b, omega_error_t *err);
/* A /proc/net/stat file (a header of names, one hex row per CPU) summed over CPUs as
 * <prefix><name>_total, "entries" left out. 0 or OMEGA_EINVAL (nothing added). */
int percpu_stat_parse(name_cache_t *nc, const char *file, const char *prefix, const char *buf,
                      size_t len, batch_t *b, omega_error_t *err);
/* softnet and conntrack when network, file handles and entropy when kernel; every file
 * optional. 0 or OMEGA_EINVAL. */
int netcore_collect(netcore_state_t *s, const char *root, int network, int kernel, char *buf,
                    size_t cap, batch_t *b, omega_error_t *err);
extern const metric_table_t collect_table_zones, collect_table_netcore;

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
    int fd_status;  /* kept /proc/<pid>/status and io descriptors of a watched process on the */
    int fd_io;      /* live root (handed on to the next pass' entry), else -1; owned */
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
    int64_t fds_ms;    /* pass time of the last descriptor count, 0 before the first */
    int count_fds;     /* this pass counts descriptors */
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
