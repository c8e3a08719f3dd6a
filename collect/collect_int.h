/* SPDX-License-Identifier: Apache-2.0 */
/* Private to collect/: the small-file reader and tolerant line parser, the per-pass point
 * batch, the warning rate limiter, and the per-source parsers the collector drives. */
#ifndef OMEGA_COLLECT_INT_H
#define OMEGA_COLLECT_INT_H

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
/* Add one point. name and labels[i].name must be literals; label values are copied. */
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

#endif
