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
};

const metric_table_t collect_table_vmstat = {
    "Memory: paging",
    "/proc/vmstat",
    "enable_vmstat (system_monitor.enable_memory_monitoring)",
    "Minor faults are pgfault minus pgmajfault (the kernel's pgfault counts both). Swap traffic "
    "is pswpin/pswpout pages times the page size. Keys a kernel does not print give no series.",
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
