/* SPDX-License-Identifier: Apache-2.0 */
/* Pressure stall information (/proc/pressure/{cpu,memory,io}, Linux >= 4.20 with PSI on):
 * the share of time some (or all) runnable tasks were stalled waiting for a resource. A
 * kernel without PSI simply has no such series. */
#include "collect_int.h"

#include <stdio.h>
#include <string.h>

static const metric_def_t defs[] = {
    {"system_pressure_stalled_seconds_total", "counter", "seconds", "resource,kind",
     "Time tasks were stalled on resource=\"cpu\"|\"memory\"|\"io\": kind=\"some\" (at least one "
     "task) or \"full\" (all non-idle tasks at once)."},
    {"system_pressure_percent", "gauge", "percent", "resource,kind,window",
     "The kernel's running average of the stalled share over window=\"10s\"|\"60s\"|\"300s\"."},
};

const metric_table_t collect_table_pressure = {
    "Pressure stall information",
    "/proc/pressure/cpu, /proc/pressure/memory, /proc/pressure/io",
    "enable_pressure (system_monitor.enable_cpu_monitoring, enable_memory_monitoring or "
    "enable_disk_monitoring)",
    "A kernel without PSI (before 4.20, or booted with psi=0) has no /proc/pressure: no series "
    "and no warning. The cpu \"full\" line exists since Linux 5.13.",
    defs,
    METRIC_TABLE_N(defs)};

static const char *const resources[3] = {"cpu", "memory", "io"};
static const char *const windows[3] = {"10s", "60s", "300s"};

/* One "some avg10=0.12 avg60=0.05 avg300=0.01 total=12345" line. Returns 0 or OMEGA_EINVAL. */
static int pressure_line(char *line, const char *resource, batch_t *b)
{
    char *f[6];
    static const char *const keys[4] = {"avg10=", "avg60=", "avg300=", "total="};
    double avg[3];
    uint64_t total_us;
    if (procfile_split(line, f, 6) != 5 || (strcmp(f[0], "some") && strcmp(f[0], "full")))
        return OMEGA_EINVAL;
    for (int i = 0; i < 4; i++) {
        size_t kl = strlen(keys[i]);
        if (strncmp(f[i + 1], keys[i], kl) != 0)
            return OMEGA_EINVAL;
        int bad = i < 3 ? procfile_parse_udouble(f[i + 1] + kl, &avg[i])
                        : procfile_parse_u64(f[i + 1] + kl, &total_us);
        if (bad)
            return OMEGA_EINVAL;
    }
    omega_label_t l[3] = {{"resource", resource}, {"kind", f[0]}, {"window", ""}};
    batch_add(b, "system_pressure_stalled_seconds_total", (double)total_us / 1e6, l, 2);
    for (int i = 0; i < 3; i++) {
        l[2].value = windows[i];
        batch_add(b, "system_pressure_percent", avg[i], l, 3);
    }
    return 0;
}

int pressure_collect(const char *root, int *fds, char *buf, size_t cap, batch_t *b,
                     omega_error_t *err)
{
    char rel[64];
    int rc = 0;
    for (int r = 0; r < PRESSURE_FILES; r++) {
        size_t len = 0;
        procfile_lines_t it;
        snprintf(rel, sizeof(rel), "/proc/pressure/%s", resources[r]);
        int got = fds ? procfile_pread(&fds[r], root, rel, buf, cap, &len, NULL)
                      : procfile_read(root, rel, buf, cap, &len, NULL);
        if (got != 0)
            continue; /* no PSI in this kernel */
        procfile_lines_init(&it, buf, len);
        for (char *line; (line = procfile_next_line(&it)) != NULL;) {
            if (line[strspn(line, " \t")] == '\0')
                continue;
            if (pressure_line(line, resources[r], b) != 0 && rc == 0)
                rc = omega_error_set(err, OMEGA_EINVAL, "%s line %d: malformed", rel, it.line);
        }
    }
    return rc;
}
