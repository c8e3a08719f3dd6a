/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/loadavg: the 1, 5 and 15 minute load averages ("0.52 0.58 0.59 1/467 12345").
 * The running/total task field and the last pid are not used here. */
#include "collect_int.h"

static const metric_def_t defs[] = {
    {"system_load1", "gauge", "", "", "Run queue length averaged over 1 minute."},
    {"system_load5", "gauge", "", "", "Run queue length averaged over 5 minutes."},
    {"system_load15", "gauge", "", "", "Run queue length averaged over 15 minutes."},
};

const metric_table_t collect_table_loadavg = {
    "Load average", "/proc/loadavg",     "enable_cpu (system_monitor.enable_cpu_monitoring)", NULL,
    defs,           METRIC_TABLE_N(defs)};

static const char *const load_metrics[3] = {"system_load1", "system_load5", "system_load15"};

int proc_loadavg_parse(char *buf, size_t len, batch_t *b, omega_error_t *err)
{
    procfile_lines_t it;
    char *f[3];
    double v[3];

    procfile_lines_init(&it, buf, len);
    char *line = procfile_next_line(&it);
    if (!line || procfile_split(line, f, 3) != 3)
        return omega_error_set(err, OMEGA_EINVAL, "/proc/loadavg: fewer than 3 fields");
    /* All three or none: a half-parsed line says the file is not what we think it is. */
    for (int i = 0; i < 3; i++) {
        if (procfile_parse_udouble(f[i], &v[i]) != 0)
            return omega_error_set(err, OMEGA_EINVAL, "/proc/loadavg: bad field %d \"%.32s\"",
                                   i + 1, f[i]);
    }
    for (int i = 0; i < 3; i++)
        batch_add(b, load_metrics[i], v[i], NULL, 0);
    return 0;
}
