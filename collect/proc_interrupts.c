/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/interrupts and /proc/softirqs: interrupts per CPU and per IRQ line, and software
 * interrupts per CPU and kind. The header line names the CPU of each column ("CPU0 CPU2" when
 * CPU1 is offline), so an offline CPU shifts nothing. The buffer is only read. */
#include "collect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const metric_def_t defs[] = {
    {"system_irq_interrupts_total", "counter", "", "cpu,irq,info,devices",
     "Interrupts serviced per CPU and IRQ line: irq is the number or the kernel's short name "
     "(LOC, NMI, RES ...), info the controller and trigger (\"IO-APIC 4-edge\") or the "
     "description of a named line, devices the drivers sharing the line."},
    {"system_softirqs_total", "counter", "", "cpu,type",
     "Software interrupts run per CPU and kind (HI, TIMER, NET_TX, NET_RX, BLOCK, IRQ_POLL, "
     "TASKLET, SCHED, HRTIMER, RCU)."},
};

const metric_table_t collect_table_interrupts = {
    "CPU: interrupts",
    "/proc/interrupts, /proc/softirqs",
    "enable_cpu (system_monitor.enable_cpu_monitoring)",
    "node_exporter's node_interrupts_total and node_softirqs_functions_total under the system_ "
    "prefix. Lines with one machine-wide number (ERR, MIS) have cpu=\"all\". The sum over all "
    "lines is system_interrupts_total (/proc/stat).",
    defs,
    METRIC_TABLE_N(defs)};

void irq_state_init(irq_state_t *s)
{
    memset(s, 0, sizeof(*s));
}

void irq_state_deinit(irq_state_t *s)
{
    free(s->cpu);
    free(s->vals);
    memset(s, 0, sizeof(*s));
}

/* Read the "CPU0 CPU1 ..." header into s->cpu. Returns the column count, or -1. */
static long read_header(irq_state_t *s, const char **p, const char *end)
{
    const char *le = line_end(*p, end), *t;
    size_t tl;
    s->n_cols = 0;
    while (tok_next(p, le, &t, &tl)) {
        uint64_t id;
        if (tl < 4 || memcmp(t, "CPU", 3) != 0 || parse_u64n(t + 3, tl - 3, &id) != 0 ||
            id > COLLECT_CPU_ID_MAX)
            return -1;
        if (s->n_cols == s->cap_cols) {
            s->cap_cols = s->cap_cols ? s->cap_cols * 2 : 16;
            s->cpu = omega_realloc(s->cpu, s->cap_cols * sizeof(*s->cpu));
            s->vals = omega_realloc(s->vals, s->cap_cols * sizeof(*s->vals));
        }
        snprintf(s->cpu[s->n_cols++], sizeof(s->cpu[0]), "%u", (unsigned)id);
    }
    *p = le < end ? le + 1 : end;
    return s->n_cols ? (long)s->n_cols : -1;
}

/* True when p..le holds only blanks. */
static int blank(const char *p, const char *le)
{
    const char *t;
    size_t tl;
    return !tok_next(&p, le, &t, &tl);
}

/* The line's name token without its ':' ("24", "LOC", "NET_RX"). 0 or -1. */
static int line_key(const char **p, const char *le, char *key, size_t cap)
{
    const char *t;
    size_t tl;
    if (!tok_next(p, le, &t, &tl) || tl < 2 || t[tl - 1] != ':' || tl > cap)
        return -1;
    memcpy(key, t, tl - 1);
    key[tl - 1] = '\0';
    return 0;
}

/* Up to n counts into v; returns how many were read (stops at the first non-number, which is
 * left unread), or -1 for a number that overflows. */
static long read_counts(const char **p, const char *le, uint64_t *v, size_t n)
{
    size_t got = 0;
    while (got < n) {
        const char *save = *p, *t;
        size_t tl;
        if (!tok_next(p, le, &t, &tl))
            break;
        if (t[0] < '0' || t[0] > '9') {
            *p = save;
            break;
        }
        if (parse_u64n(t, tl, &v[got]) != 0)
            return -1;
        got++;
    }
    return (long)got;
}

/* The description after the counts: for a numbered IRQ the last token, and tokens before it
 * that end in ',' ("virtio1-input.0, virtio1-output.0"), are the devices and the rest the
 * info; for a named line all of it is the info. Runs of blanks become one space. */
static void describe(const char *p, const char *le, int numbered, char *info, size_t icap,
                     char *dev, size_t dcap)
{
    const char *tok[64];
    size_t len[64], n = 0, first_dev;
    const char *t;
    size_t tl;
    while (n < 64 && tok_next(&p, le, &t, &tl)) {
        tok[n] = t;
        len[n++] = tl;
    }
    first_dev = n;
    if (numbered && n > 1) {
        first_dev = n - 1;
        while (first_dev > 1 && tok[first_dev - 1][len[first_dev - 1] - 1] == ',')
            first_dev--;
    }
    size_t ai = 0, ad = 0;
    info[0] = dev[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char *out = i < first_dev ? info : dev;
        size_t *at = i < first_dev ? &ai : &ad, cap = i < first_dev ? icap : dcap;
        int w = snprintf(out + *at, cap - *at, "%s%.*s", *at ? " " : "", (int)len[i], tok[i]);
        if (w < 0 || (size_t)w >= cap - *at)
            break; /* truncated: still a stable label value */
        *at += (size_t)w;
    }
}

int proc_interrupts_parse(irq_state_t *s, const char *buf, size_t len, batch_t *b,
                          omega_error_t *err)
{
    const char *p = buf, *end = buf + len;
    char key[32], info[128], dev[128];
    int line = 1, rc = 0;
    long cols = read_header(s, &p, end);
    if (cols < 0)
        return omega_error_set(err, OMEGA_EINVAL, "/proc/interrupts: no CPU header");
    uint64_t *vals = s->vals;
    while (p < end) {
        const char *le = line_end(p, end);
        line++;
        long got = 0;
        if (blank(p, le)) {
            p = le < end ? le + 1 : end;
            continue;
        }
        /* Per-CPU counts, or one machine-wide count alone on a named line (ERR, MIS). */
        if (line_key(&p, le, key, sizeof(key)) != 0 ||
            (got = read_counts(&p, le, vals, (size_t)cols)) <= 0 ||
            (got != cols && (got != 1 || (key[0] >= '0' && key[0] <= '9') || !blank(p, le)))) {
            if (rc == 0)
                rc = omega_error_set(err, OMEGA_EINVAL, "/proc/interrupts line %d: bad line", line);
            p = le < end ? le + 1 : end;
            continue;
        }
        int numbered = key[0] >= '0' && key[0] <= '9';
        describe(p, le, numbered, info, sizeof(info), dev, sizeof(dev));
        for (long i = 0; i < got; i++) {
            omega_label_t l[4] = {{"cpu", got == cols ? s->cpu[i] : "all"},
                                  {"irq", key},
                                  {"info", info},
                                  {"devices", dev}};
            batch_add(b, "system_irq_interrupts_total", (double)vals[i], l, 4);
        }
        p = le < end ? le + 1 : end;
    }
    return rc;
}

int proc_softirqs_parse(irq_state_t *s, const char *buf, size_t len, batch_t *b,
                        omega_error_t *err)
{
    const char *p = buf, *end = buf + len;
    char key[32];
    int line = 1, rc = 0;
    long cols = read_header(s, &p, end);
    if (cols < 0)
        return omega_error_set(err, OMEGA_EINVAL, "/proc/softirqs: no CPU header");
    uint64_t *vals = s->vals;
    while (p < end) {
        const char *le = line_end(p, end), *t;
        size_t tl;
        line++;
        if (blank(p, le)) {
            p = le < end ? le + 1 : end;
            continue;
        }
        if (line_key(&p, le, key, sizeof(key)) != 0 ||
            read_counts(&p, le, vals, (size_t)cols) != cols || tok_next(&p, le, &t, &tl)) {
            if (rc == 0)
                rc = omega_error_set(err, OMEGA_EINVAL, "/proc/softirqs line %d: bad line", line);
            p = le < end ? le + 1 : end;
            continue;
        }
        for (long i = 0; i < cols; i++) {
            omega_label_t l[2] = {{"cpu", s->cpu[i]}, {"type", key}};
            batch_add(b, "system_softirqs_total", (double)vals[i], l, 2);
        }
        p = le < end ? le + 1 : end;
    }
    return rc;
}
