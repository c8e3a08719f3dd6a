/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/vmstat: page faults (minor and major), pages swapped in and out (as bytes) and OOM
 * kills. Counters only; per-second figures come from rate(). */
#include "collect_int.h"

#include <string.h>

static const metric_def_t defs[] = {
    {"system_page_faults_total", "counter", "", "type",
     "Page faults, type=\"minor\" (served from memory) or \"major\" (needed I/O)."},
    {"system_swap_in_bytes_total", "counter", "bytes", "", "Bytes read back from swap."},
    {"system_swap_out_bytes_total", "counter", "bytes", "", "Bytes written out to swap."},
    {"system_oom_kills_total", "counter", "", "",
     "Processes killed by the kernel's out-of-memory killer (Linux >= 4.13)."},
    {"system_vmstat_<key>_total", "counter", "", "",
     "Every event counter of /proc/vmstat under its kernel name: system_vmstat_pgfault_total, "
     "system_vmstat_pgscan_kswapd_total, system_vmstat_thp_fault_alloc_total ..."},
    {"system_vmstat_<key>", "gauge", "", "",
     "Every current figure of /proc/vmstat (the nr_* keys, in pages, and workingset_nodes): "
     "system_vmstat_nr_dirty, system_vmstat_nr_free_pages ..."},
};

const metric_table_t collect_table_vmstat = {
    "Memory: paging",
    "/proc/vmstat",
    "enable_vmstat (system_monitor.enable_memory_monitoring)",
    "Minor faults are pgfault minus pgmajfault (the kernel's pgfault counts both). Swap traffic "
    "is pswpin/pswpout pages times the page size. Keys a kernel does not print give no series. "
    "The full set (node_exporter's node_vmstat_*, about 180 keys on Linux 6.x) follows the "
    "running kernel: nr_* keys are gauges except the cumulative nr_dirtied, nr_written, "
    "nr_throttled_written, nr_vmscan_write, nr_vmscan_immediate_reclaim and nr_foll_pin_*.",
    defs,
    METRIC_TABLE_N(defs)};

enum { V_PGFAULT, V_PGMAJFAULT, V_PSWPIN, V_PSWPOUT, V_OOM, V_COUNT };
static const char *const keys[V_COUNT] = {"pgfault", "pgmajfault", "pswpin", "pswpout", "oom_kill"};

int proc_vmstat_parse(char *buf, size_t len, uint64_t page_size, batch_t *b, omega_error_t *err)
{
    procfile_lines_t it;
    char *line, *f[3];
    uint64_t v[V_COUNT] = {0};
    unsigned have = 0;
    int rc = 0;

    procfile_lines_init(&it, buf, len);
    while ((line = procfile_next_line(&it)) != NULL) {
        size_t n = procfile_split(line, f, 3);
        if (n == 0)
            continue;
        for (int k = 0; k < V_COUNT; k++) {
            if (strcmp(f[0], keys[k]) != 0)
                continue;
            if (n != 2 || (have & (1u << k)) || procfile_parse_u64(f[1], &v[k]) != 0) {
                if (rc == 0)
                    rc = omega_error_set(err, OMEGA_EINVAL, "/proc/vmstat line %d: bad %s", it.line,
                                         keys[k]);
                have &= ~(1u << k);
                v[k] = 0;
                break;
            }
            have |= 1u << k;
            break;
        }
    }
    if ((have & (1u << V_PGFAULT)) && (have & (1u << V_PGMAJFAULT))) {
        uint64_t minor = v[V_PGFAULT] >= v[V_PGMAJFAULT] ? v[V_PGFAULT] - v[V_PGMAJFAULT] : 0;
        omega_label_t t[1] = {{"type", "minor"}};
        batch_add(b, "system_page_faults_total", (double)minor, t, 1);
        t[0].value = "major";
        batch_add(b, "system_page_faults_total", (double)v[V_PGMAJFAULT], t, 1);
    }
    if (have & (1u << V_PSWPIN))
        batch_add(b, "system_swap_in_bytes_total", (double)v[V_PSWPIN] * (double)page_size, NULL,
                  0);
    if (have & (1u << V_PSWPOUT))
        batch_add(b, "system_swap_out_bytes_total", (double)v[V_PSWPOUT] * (double)page_size, NULL,
                  0);
    if (have & (1u << V_OOM))
        batch_add(b, "system_oom_kills_total", (double)v[V_OOM], NULL, 0);
    if (rc == 0 && !(have & (1u << V_PGFAULT)))
        rc = omega_error_set(err, OMEGA_EINVAL, "/proc/vmstat: no pgfault");
    return rc;
}

/* nr_* keys are current page counts except these running totals. */
static int vm_is_gauge(const char *k, size_t kl)
{
    static const char *const cumulative[] = {"nr_dirtied",
                                             "nr_written",
                                             "nr_throttled_written",
                                             "nr_vmscan_write",
                                             "nr_vmscan_immediate_reclaim",
                                             "nr_foll_pin_acquired",
                                             "nr_foll_pin_released"};
    if (kl == 16 && !memcmp(k, "workingset_nodes", 16))
        return 1;
    if (kl < 3 || memcmp(k, "nr_", 3) != 0)
        return 0;
    for (size_t i = 0; i < sizeof(cumulative) / sizeof(cumulative[0]); i++)
        if (strlen(cumulative[i]) == kl && !memcmp(cumulative[i], k, kl))
            return 0;
    return 1;
}

int proc_vmstat_all(name_cache_t *nc, const char *buf, size_t len, batch_t *b, omega_error_t *err)
{
    const char *p = buf, *end = buf + len;
    size_t idx = 0;
    int line = 0, rc = 0;
    while (p < end) {
        const char *le = line_end(p, end), *k, *v, *x;
        size_t kl, vl, xl;
        int64_t n;
        line++;
        if (tok_next(&p, le, &k, &kl)) {
            int gauge = vm_is_gauge(k, kl);
            const char *name = NULL;
            /* Some nr_* gauges are signed per-CPU sums that can dip below 0 for a moment. */
            int ok = tok_next(&p, le, &v, &vl) && !tok_next(&p, le, &x, &xl) &&
                     parse_i64n(v, vl, &n) == 0 && (gauge || n >= 0) &&
                     (name = name_cache_get(nc, idx++, "system_vmstat_", k, kl, "", 0,
                                            gauge ? "" : "_total")) != NULL;
            if (ok)
                batch_add(b, name, (double)n, NULL, 0);
            else if (rc == 0)
                rc = omega_error_set(err, OMEGA_EINVAL, "/proc/vmstat line %d: bad line", line);
        }
        p = le < end ? le + 1 : end;
    }
    return rc;
}
