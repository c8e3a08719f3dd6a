/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/stat: CPU usage and per-mode percentages from the tick deltas between two passes
 * (total and per core, hotplug-aware), plus context switches, interrupts, forks and the
 * running/blocked task gauges. Reading the file and reporting failures is the collector's job. */
#include "collect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const metric_def_t defs[] = {
    {"system_cpu_usage_percent", "gauge", "percent", "cpu",
     "CPU busy time (everything but idle and iowait) over the last interval, cpu=\"total\" or "
     "the core number."},
    {"system_cpu_mode_percent", "gauge", "percent", "cpu,mode",
     "Share of the last interval spent per mode: user, nice, system, idle, iowait, irq, "
     "softirq, steal (guest time is inside user and nice)."},
    {"system_cpu_seconds_total", "counter", "seconds", "cpu,mode",
     "Time each core spent per mode since boot (node_exporter's node_cpu_seconds_total): user, "
     "nice, system, idle, iowait, irq, softirq, steal."},
    {"system_cpu_guest_seconds_total", "counter", "seconds", "cpu,mode",
     "Time each core ran virtual machines' CPUs, mode=\"user\"|\"nice\" (already inside "
     "system_cpu_seconds_total's user and nice)."},
    {"system_boot_time_seconds", "gauge", "seconds", "", "When the host booted, Unix seconds."},
    {"system_context_switches_total", "counter", "", "", "Context switches."},
    {"system_interrupts_total", "counter", "", "", "Interrupts serviced, all IRQs."},
    {"system_forks_total", "counter", "", "", "Processes and threads created."},
};

const metric_table_t collect_table_stat = {
    "CPU",
    "/proc/stat",
    "enable_cpu (system_monitor.enable_cpu_monitoring)",
    "Percentages need two passes. A CPU that goes offline loses its series and starts over "
    "when it comes back; a counter going backwards skips that CPU for one pass. Modes a kernel "
    "does not print are absent.",
    defs,
    METRIC_TABLE_N(defs)};

enum { M_USER, M_NICE, M_SYSTEM, M_IDLE, M_IOWAIT, M_IRQ, M_SOFTIRQ, M_STEAL };

static const char *const mode_names[CPU_MODES] = {"user",   "nice", "system",  "idle",
                                                  "iowait", "irq",  "softirq", "steal"};

/* Kernels since 2.6.33 print 10 columns (guest, guest_nice last); 2.4 printed 4. */
#define CPU_COLS_MIN 4
#define CPU_COLS_MAX 10

/* Single-value lines of /proc/stat and the point each becomes. */
static const struct {
    const char *key;         /* first field of the line */
    const char *metric;      /* metric name */
    const char *state_label; /* value of the "state" label, NULL for none */
} counters[] = {
    {"ctxt", "system_context_switches_total", NULL},
    {"intr", "system_interrupts_total", NULL}, /* first number: the sum over all IRQs */
    {"processes", "system_forks_total", NULL},
    {"btime", "system_boot_time_seconds", NULL},
    {"procs_running", "system_processes", "running"},
    {"procs_blocked", "system_processes", "blocked"},
};
#define N_COUNTERS (sizeof(counters) / sizeof(counters[0]))

void stat_state_init(stat_state_t *s)
{
    memset(s, 0, sizeof(*s));
    long hz = sysconf(_SC_CLK_TCK);
    s->hz = hz > 0 ? (double)hz : 100.0;
}

void stat_state_deinit(stat_state_t *s)
{
    if (!s)
        return;
    free(s->prev);
    free(s->cur);
    memset(s, 0, sizeof(*s));
}

/* Make s->cur hold at least need slots; new slots are empty (valid = 0). */
static void grow_cur(stat_state_t *s, size_t need)
{
    if (need <= s->n_cur)
        return;
    size_t n = s->n_cur ? s->n_cur : 8;
    while (n < need)
        n *= 2;
    s->cur = omega_realloc(s->cur, n * sizeof(*s->cur));
    memset(s->cur + s->n_cur, 0, (n - s->n_cur) * sizeof(*s->cur));
    s->n_cur = n;
}

/* Record the first problem of the pass (key NULL: the "cpu" line is missing); later ones add
 * nothing a reader needs. Keys come from the file, so only a bounded prefix is quoted. */
static int malformed(omega_error_t *err, int rc, int line, const char *key)
{
    if (rc == 0 && err) {
        if (key)
            omega_error_set(err, OMEGA_EINVAL, "/proc/stat line %d: bad \"%.32s\" line", line, key);
        else
            omega_error_set(err, OMEGA_EINVAL, "/proc/stat has no \"cpu\" line");
        err->line = line;
    }
    return OMEGA_EINVAL;
}

/* True for "cpu" and "cpu<digit>...", the keys of the tick lines. */
static int is_cpu_key(const char *key)
{
    return strncmp(key, "cpu", 3) == 0 && (key[3] == '\0' || (key[3] >= '0' && key[3] <= '9'));
}

/* Parse the tick columns after the "cpu"/"cpuN" key into out. Columns past the 10th (not yet
 * invented) are ignored; guest and guest_nice are kept apart (the kernel already counts them
 * inside user and nice, so percentages leave them out). */
static int parse_cpu_cols(char **cols, size_t n, cpu_sample_t *out)
{
    if (n < CPU_COLS_MIN)
        return OMEGA_EINVAL;
    if (n > CPU_COLS_MAX)
        n = CPU_COLS_MAX;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        if (procfile_parse_u64(cols[i], &v) != 0)
            return OMEGA_EINVAL;
        if (i < CPU_MODES)
            out->v[i] = v;
        else
            out->guest[i - CPU_MODES] = v;
    }
    out->nguest = n > CPU_MODES ? (int)(n - CPU_MODES) : 0;
    out->ncols = (int)(n < CPU_MODES ? n : CPU_MODES);
    out->valid = 1;
    return 0;
}

/* Store one "cpu"/"cpuN" line in this pass' slots. key is "cpu" or "cpu<digits>". */
static int take_cpu_line(stat_state_t *s, const char *key, char **cols, size_t n)
{
    cpu_sample_t smp;
    cpu_sample_t *slot = &s->cur_total;
    if (key[3] != '\0') {
        uint64_t id;
        if (procfile_parse_u64(key + 3, &id) != 0 || id > COLLECT_CPU_ID_MAX)
            return OMEGA_EINVAL;
        grow_cur(s, (size_t)id + 1);
        slot = &s->cur[id];
    }
    if (slot->valid || parse_cpu_cols(cols, n, &smp) != 0)
        return OMEGA_EINVAL; /* duplicate line or bad columns */
    *slot = smp;
    return 0;
}

/* Add usage and mode percentages for one CPU, when both passes have it and the counters moved
 * forward. A counter going backwards (reset, or the kernel's known iowait hiccup) or no tick
 * at all skips that CPU for this pass rather than report a negative or a 0/0 figure. */
static void emit_cpu(batch_t *b, const char *cpu, const cpu_sample_t *prev, const cpu_sample_t *cur)
{
    uint64_t d[CPU_MODES] = {0};
    uint64_t total = 0;
    if (!prev->valid || !cur->valid || prev->ncols != cur->ncols)
        return;
    for (int i = 0; i < cur->ncols; i++) {
        if (cur->v[i] < prev->v[i])
            return;
        d[i] = cur->v[i] - prev->v[i];
        total += d[i];
    }
    if (total == 0)
        return;
    uint64_t idle = d[M_IDLE] + d[M_IOWAIT]; /* d[M_IOWAIT] is 0 on 4-column kernels */
    double busy = (double)(total - idle);
    omega_label_t one[1] = {{"cpu", cpu}};
    batch_add(b, "system_cpu_usage_percent", 100.0 * busy / (double)total, one, 1);
    for (int i = 0; i < cur->ncols; i++) {
        omega_label_t two[2] = {{"cpu", cpu}, {"mode", mode_names[i]}};
        batch_add(b, "system_cpu_mode_percent", 100.0 * (double)d[i] / (double)total, two, 2);
    }
}

/* Handle one single-value line (ctxt, intr, ...). Returns 1 when key is not one of them. */
static int take_counter_line(const char *key, char **fields, size_t n, unsigned *seen,
                             int skip_procs, batch_t *b)
{
    for (size_t i = 0; i < N_COUNTERS; i++) {
        if (strcmp(key, counters[i].key) != 0)
            continue;
        uint64_t v;
        if (n < 2 || procfile_parse_u64(fields[1], &v) != 0 || (*seen & (1u << i)))
            return OMEGA_EINVAL;
        *seen |= 1u << i;
        if (skip_procs && counters[i].state_label)
            return 0;
        omega_label_t state[1] = {{"state", counters[i].state_label}};
        batch_add(b, counters[i].metric, (double)v, state, counters[i].state_label ? 1 : 0);
        return 0;
    }
    return 1;
}

/* Emit percentages for every CPU of this pass, then make this pass the previous one. CPUs that
 * vanished (offlined) leave empty slots, so a CPU that comes back starts over. */
static void finish_pass(stat_state_t *s, batch_t *b)
{
    char id[24];
    emit_cpu(b, "total", &s->prev_total, &s->cur_total);
    for (size_t i = 0; i < s->n_cur; i++) {
        if (!s->cur[i].valid)
            continue;
        snprintf(id, sizeof(id), "%zu", i);
        for (int m = 0; m < s->cur[i].ncols; m++) {
            omega_label_t two[2] = {{"cpu", id}, {"mode", mode_names[m]}};
            batch_add(b, "system_cpu_seconds_total", (double)s->cur[i].v[m] / s->hz, two, 2);
        }
        for (int g = 0; g < s->cur[i].nguest; g++) {
            omega_label_t two[2] = {{"cpu", id}, {"mode", g ? "nice" : "user"}};
            batch_add(b, "system_cpu_guest_seconds_total", (double)s->cur[i].guest[g] / s->hz, two,
                      2);
        }
    }
    for (size_t i = 0; i < s->n_cur && i < s->n_prev; i++) {
        if (!s->cur[i].valid || !s->prev[i].valid)
            continue;
        snprintf(id, sizeof(id), "%zu", i);
        emit_cpu(b, id, &s->prev[i], &s->cur[i]);
    }
    s->prev_total = s->cur_total;
    cpu_sample_t *tmp = s->prev;
    size_t ntmp = s->n_prev;
    s->prev = s->cur;
    s->n_prev = s->n_cur;
    s->cur = tmp;
    s->n_cur = ntmp;
}

int proc_stat_parse(stat_state_t *s, char *buf, size_t len, batch_t *b, omega_error_t *err)
{
    procfile_lines_t it;
    char *line;
    char *f[CPU_COLS_MAX + 1];
    unsigned seen = 0;
    int rc = 0;

    if (s->n_cur)
        memset(s->cur, 0, s->n_cur * sizeof(*s->cur));
    s->cur_total.valid = 0;
    procfile_lines_init(&it, buf, len);
    while ((line = procfile_next_line(&it)) != NULL) {
        size_t n = procfile_split(line, f, CPU_COLS_MAX + 1);
        if (n == 0)
            continue;
        if (is_cpu_key(f[0])) {
            if (take_cpu_line(s, f[0], f + 1, n - 1) != 0)
                rc = malformed(err, rc, it.line, f[0]);
            continue;
        }
        int r = take_counter_line(f[0], f, n, &seen, s->skip_procs, b);
        if (r < 0)
            rc = malformed(err, rc, it.line, f[0]);
        /* r == 1: a line we do not use (softirq, page, swap ...). */
    }
    if (!s->cur_total.valid)
        rc = malformed(err, rc, 0, NULL);
    finish_pass(s, b);
    return rc;
}
