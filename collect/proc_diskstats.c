/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/diskstats: per block device I/O counters, and queue length, utilisation and await
 * derived from the change since the previous pass. Only whole disks are reported (partitions,
 * loop, ram and floppy devices are skipped), like node_exporter's default device filter. */
#include "collect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const metric_def_t defs[] = {
    {"system_disk_read_bytes_total", "counter", "bytes", "device", "Bytes read."},
    {"system_disk_written_bytes_total", "counter", "bytes", "device", "Bytes written."},
    {"system_disk_reads_total", "counter", "", "device", "Read requests completed."},
    {"system_disk_writes_total", "counter", "", "device", "Write requests completed."},
    {"system_disk_read_time_seconds_total", "counter", "seconds", "device",
     "Time spent by completed reads, summed over requests."},
    {"system_disk_write_time_seconds_total", "counter", "seconds", "device",
     "Time spent by completed writes, summed over requests."},
    {"system_disk_io_time_seconds_total", "counter", "seconds", "device",
     "Time the device had at least one request in flight."},
    {"system_disk_io_in_progress", "gauge", "", "device", "Requests in flight at the read."},
    {"system_disk_reads_merged_total", "counter", "", "device",
     "Adjacent read requests merged into one before reaching the device."},
    {"system_disk_writes_merged_total", "counter", "", "device",
     "Adjacent write requests merged into one."},
    {"system_disk_io_time_weighted_seconds_total", "counter", "seconds", "device",
     "I/O time weighted by the requests in flight (its rate is the average queue length)."},
    {"system_disk_discards_total", "counter", "", "device",
     "Discard (TRIM) requests completed (Linux >= 4.18)."},
    {"system_disk_discards_merged_total", "counter", "", "device", "Discard requests merged."},
    {"system_disk_discarded_bytes_total", "counter", "bytes", "device", "Bytes discarded."},
    {"system_disk_discard_time_seconds_total", "counter", "seconds", "device",
     "Time spent by completed discards."},
    {"system_disk_flushes_total", "counter", "", "device",
     "Cache flush requests completed (Linux >= 5.5)."},
    {"system_disk_flush_time_seconds_total", "counter", "seconds", "device",
     "Time spent by completed flushes."},
    {"system_disk_queue_length", "gauge", "", "device",
     "Average number of requests in flight over the last interval (weighted I/O time / elapsed)."},
    {"system_disk_utilization_percent", "gauge", "percent", "device",
     "Share of the last interval the device was busy (io time / elapsed), 0-100."},
    {"system_disk_await_seconds", "gauge", "seconds", "device,direction",
     "Average time per request completed in the last interval, direction=\"read\"|\"write\"; "
     "0 when none completed."},
};

const metric_table_t collect_table_diskstats = {
    "Disk I/O",
    "/proc/diskstats, /sys/block",
    "enable_disk (system_monitor.enable_disk_monitoring)",
    "Whole disks only: a device is reported when /sys/block/<name> exists (partitions live "
    "below their disk there); without /sys a name rule drops sdXN, vdXN, xvdXN, hdXN, "
    "nvmeXnYpZ and mmcblkXpY. loop, ram, zram and fd devices are always skipped. Sectors are "
    "512 bytes whatever the hardware's sector size. Derived gauges need two passes and are "
    "skipped for a device whose counters went back (reset); a 32-bit wrap is accounted.",
    defs,
    METRIC_TABLE_N(defs)};

enum { D_READS, D_RSECT, D_RMS, D_WRITES, D_WSECT, D_WMS, D_INPROG, D_IOMS, D_WIOMS, D_N };
/* Column (0-based, after major, minor, name = 0..2) of each kept field. */
static const int cols[D_N] = {3, 5, 6, 7, 9, 10, 11, 12, 13};
/* Columns read at most: 3 + 17 on Linux 5.5+; later additions are ignored. */
#define DISK_COLS 20

void diskstats_state_init(diskstats_state_t *s)
{
    memset(s, 0, sizeof(*s));
}

void diskstats_state_deinit(diskstats_state_t *s)
{
    free(s->d);
    memset(s, 0, sizeof(*s));
}

static int starts_num(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(name, prefix, n) == 0 && name[n] >= '0' && name[n] <= '9';
}

/* Partition by name alone, for a root without /sys/block. */
static int partition_by_name(const char *name)
{
    static const char *const letters[] = {"sd", "hd", "vd", "xvd"};
    size_t len = strlen(name);
    if (len == 0 || name[len - 1] < '0' || name[len - 1] > '9')
        return 0;
    for (size_t i = 0; i < 4; i++) {
        size_t n = strlen(letters[i]);
        if (strncmp(name, letters[i], n) == 0 && name[n] >= 'a' && name[n] <= 'z')
            return 1;
    }
    if (strncmp(name, "nvme", 4) == 0 || strncmp(name, "mmcblk", 6) == 0)
        return strchr(name + 4, 'p') != NULL;
    return 0;
}

static int whole_disk(const char *root, const char *name)
{
    char path[4200], rel[600];
    struct stat st;
    if (starts_num(name, "loop") || starts_num(name, "ram") || starts_num(name, "zram") ||
        starts_num(name, "fd"))
        return 0;
    if (collect_path(path, sizeof(path), root, "/sys/block") != 0 || stat(path, &st) != 0 ||
        !S_ISDIR(st.st_mode))
        return !partition_by_name(name);
    /* /sys/block spells '/' in a name (cciss/c0d0) as '!'. */
    snprintf(rel, sizeof(rel), "/sys/block/%s", name);
    for (char *p = rel + 11; *p; p++)
        if (*p == '/')
            *p = '!';
    return collect_path(path, sizeof(path), root, rel) == 0 && stat(path, &st) == 0;
}

static disk_prev_t *slot_for(diskstats_state_t *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->d[i].name, name) == 0)
            return &s->d[i];
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->d = omega_realloc(s->d, s->cap * sizeof(*s->d));
    }
    disk_prev_t *d = &s->d[s->n++];
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "%s", name);
    return d;
}

static void emit_derived(const disk_prev_t *d, const uint64_t *v, int64_t now_ms, batch_t *b)
{
    uint64_t dd[D_N];
    double el = (double)(now_ms - d->ts_ms);
    if (!d->valid || el <= 0)
        return;
    for (int i = 0; i < D_N; i++)
        if (i != D_INPROG && counter_delta(d->v[i], v[i], &dd[i]) != 0)
            return;
    omega_label_t l[2] = {{"device", d->name}, {"direction", "read"}};
    double util = 100.0 * (double)dd[D_IOMS] / el;
    batch_add(b, "system_disk_utilization_percent", util > 100.0 ? 100.0 : util, l, 1);
    batch_add(b, "system_disk_queue_length", (double)dd[D_WIOMS] / el, l, 1);
    batch_add(b, "system_disk_await_seconds",
              dd[D_READS] ? (double)dd[D_RMS] / 1000.0 / (double)dd[D_READS] : 0.0, l, 2);
    l[1].value = "write";
    batch_add(b, "system_disk_await_seconds",
              dd[D_WRITES] ? (double)dd[D_WMS] / 1000.0 / (double)dd[D_WRITES] : 0.0, l, 2);
}

/* The columns a kernel may add after the 11 fields every kernel prints: merges and the
 * weighted time always, discards from Linux 4.18 (18 columns), flushes from 5.5 (20). */
static const struct {
    int col;            /* 0-based, as cols[] */
    double scale;       /* to base units */
    const char *metric; /* its metric */
} extra[] = {
    {4, 1, "system_disk_reads_merged_total"},
    {8, 1, "system_disk_writes_merged_total"},
    {13, 0.001, "system_disk_io_time_weighted_seconds_total"},
    {14, 1, "system_disk_discards_total"},
    {15, 1, "system_disk_discards_merged_total"},
    {16, 512, "system_disk_discarded_bytes_total"},
    {17, 0.001, "system_disk_discard_time_seconds_total"},
    {18, 1, "system_disk_flushes_total"},
    {19, 0.001, "system_disk_flush_time_seconds_total"},
};

static void emit_counters(const char *name, const uint64_t *v, const uint64_t *all, size_t n_all,
                          batch_t *b)
{
    omega_label_t l[1] = {{"device", name}};
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
        if ((size_t)extra[i].col < n_all)
            batch_add(b, extra[i].metric, (double)all[extra[i].col] * extra[i].scale, l, 1);
    batch_add(b, "system_disk_read_bytes_total", (double)v[D_RSECT] * 512.0, l, 1);
    batch_add(b, "system_disk_written_bytes_total", (double)v[D_WSECT] * 512.0, l, 1);
    batch_add(b, "system_disk_reads_total", (double)v[D_READS], l, 1);
    batch_add(b, "system_disk_writes_total", (double)v[D_WRITES], l, 1);
    batch_add(b, "system_disk_read_time_seconds_total", (double)v[D_RMS] / 1000.0, l, 1);
    batch_add(b, "system_disk_write_time_seconds_total", (double)v[D_WMS] / 1000.0, l, 1);
    batch_add(b, "system_disk_io_time_seconds_total", (double)v[D_IOMS] / 1000.0, l, 1);
    batch_add(b, "system_disk_io_in_progress", (double)v[D_INPROG], l, 1);
}

/* Parse one line into name, the kept fields v and every column all[0..*n_all) (0..2 unused).
 * Returns 0, 1 (blank) or OMEGA_EINVAL. */
static int parse_line(char *line, char **name, uint64_t *v, uint64_t *all, size_t *n_all)
{
    char *f[DISK_COLS + 8];
    size_t n = procfile_split(line, f, DISK_COLS + 8);
    if (n == 0)
        return 1; /* blank */
    if (n < 14 || strlen(f[2]) >= DISK_NAME_MAX)
        return OMEGA_EINVAL;
    if (n > DISK_COLS)
        n = DISK_COLS; /* columns of a future kernel: not ours to guess */
    for (size_t i = 3; i < n; i++)
        if (procfile_parse_u64(f[i], &all[i]) != 0)
            return OMEGA_EINVAL;
    for (int i = 0; i < D_N; i++)
        v[i] = all[cols[i]];
    *name = f[2];
    *n_all = n;
    return 0;
}

/* Drop devices not seen this pass, so a device that comes back starts over. */
static void forget_unseen(diskstats_state_t *s)
{
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->d[i].seen)
            s->d[w++] = s->d[i];
    s->n = w;
}

int proc_diskstats_parse(diskstats_state_t *s, const char *root, char *buf, size_t len,
                         int64_t now_ms, batch_t *b, omega_error_t *err)
{
    procfile_lines_t it;
    char *line, *name = NULL;
    uint64_t v[D_N], all[DISK_COLS];
    size_t n_all = 0;
    int rc = 0;

    for (size_t i = 0; i < s->n; i++)
        s->d[i].seen = 0;
    procfile_lines_init(&it, buf, len);
    while ((line = procfile_next_line(&it)) != NULL) {
        int r = parse_line(line, &name, v, all, &n_all);
        if (r == 1)
            continue;
        if (r != 0) {
            if (rc == 0)
                rc = omega_error_set(err, OMEGA_EINVAL, "/proc/diskstats line %d: malformed",
                                     it.line);
            continue;
        }
        if (!whole_disk(root, name))
            continue;
        disk_prev_t *d = slot_for(s, name);
        if (d->seen)
            continue; /* a repeated name: keep the first */
        emit_counters(name, v, all, n_all, b);
        emit_derived(d, v, now_ms, b);
        memcpy(d->v, v, sizeof(d->v));
        d->ts_ms = now_ms;
        d->valid = 1;
        d->seen = 1;
    }
    forget_unseen(s);
    return rc;
}
