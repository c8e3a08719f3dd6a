/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/net/dev: per interface byte, packet, error and drop counters, plus throughput and
 * utilisation against the link speed (/sys/class/net/<if>/speed, when the driver knows it)
 * derived from the change since the previous pass. */
#include "collect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define L_IF    "interface"
#define L_IFDIR "interface,direction"

static const metric_def_t defs[] = {
    {"system_network_receive_bytes_total", "counter", "bytes", L_IF, "Bytes received."},
    {"system_network_transmit_bytes_total", "counter", "bytes", L_IF, "Bytes sent."},
    {"system_network_receive_packets_total", "counter", "", L_IF, "Packets received."},
    {"system_network_transmit_packets_total", "counter", "", L_IF, "Packets sent."},
    {"system_network_errors_total", "counter", "", L_IFDIR,
     "Packets with errors, direction=\"receive\"|\"transmit\"."},
    {"system_network_drops_total", "counter", "", L_IFDIR,
     "Packets dropped, direction=\"receive\"|\"transmit\"."},
    {"system_network_throughput_bytes_per_second", "gauge", "bytes", L_IFDIR,
     "Bytes per second over the last interval (the live dashboard's figure; rate() of the "
     "_total counters gives the same over any window)."},
    {"system_network_speed_bytes", "gauge", "bytes", L_IF,
     "Link speed in bytes per second, when the driver reports one."},
    {"system_network_utilization_percent", "gauge", "percent", L_IFDIR,
     "Throughput over the last interval as a share of the link speed, 0-100."},
};

const metric_table_t collect_table_netdev = {
    "Network interfaces",
    "/proc/net/dev, /sys/class/net/<interface>/speed",
    "enable_network (system_monitor.enable_network_monitoring)",
    "Every interface is reported, loopback included. Utilisation needs a known speed: virtual "
    "interfaces, Wi-Fi and links that are down report -1 or nothing, so they have no "
    "system_network_speed_bytes and no utilisation series. An interface that disappears stops "
    "having series; when it comes back its derived gauges start again after two passes.",
    defs,
    METRIC_TABLE_N(defs)};

enum { N_RXB, N_RXP, N_RXE, N_RXD, N_TXB, N_TXP, N_TXE, N_TXD, N_N };
/* Column of each kept counter among the 16 after "name:". */
static const int cols[N_N] = {0, 1, 2, 3, 8, 9, 10, 11};

void netdev_state_init(netdev_state_t *s)
{
    memset(s, 0, sizeof(*s));
}

void netdev_state_deinit(netdev_state_t *s)
{
    free(s->d);
    memset(s, 0, sizeof(*s));
}

static netdev_prev_t *slot_for(netdev_state_t *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->d[i].name, name) == 0)
            return &s->d[i];
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->d = omega_realloc(s->d, s->cap * sizeof(*s->d));
    }
    netdev_prev_t *d = &s->d[s->n++];
    memset(d, 0, sizeof(*d));
    snprintf(d->name, sizeof(d->name), "%s", name);
    return d;
}

/* Link speed in Mbit/s, or 0 when unknown (missing file, -1, EINVAL on a down link). */
static int64_t link_mbps(const char *root, const char *name)
{
    char rel[IFNAME_MAX + 40];
    int64_t v = 0;
    snprintf(rel, sizeof(rel), "/sys/class/net/%s/speed", name);
    if (procfile_read_i64(root, rel, &v) != 0 || v <= 0)
        return 0;
    return v;
}

static void emit_counters(const char *name, const uint64_t *v, batch_t *b)
{
    omega_label_t l[2] = {{"interface", name}, {"direction", "receive"}};
    batch_add(b, "system_network_receive_bytes_total", (double)v[N_RXB], l, 1);
    batch_add(b, "system_network_transmit_bytes_total", (double)v[N_TXB], l, 1);
    batch_add(b, "system_network_receive_packets_total", (double)v[N_RXP], l, 1);
    batch_add(b, "system_network_transmit_packets_total", (double)v[N_TXP], l, 1);
    batch_add(b, "system_network_errors_total", (double)v[N_RXE], l, 2);
    batch_add(b, "system_network_drops_total", (double)v[N_RXD], l, 2);
    l[1].value = "transmit";
    batch_add(b, "system_network_errors_total", (double)v[N_TXE], l, 2);
    batch_add(b, "system_network_drops_total", (double)v[N_TXD], l, 2);
}

static void emit_derived(const netdev_prev_t *d, const uint64_t *v, int64_t mbps, int64_t now_ms,
                         batch_t *b)
{
    uint64_t rx, tx;
    double secs = (double)(now_ms - d->ts_ms) / 1000.0;
    if (!d->valid || secs <= 0 || counter_delta(d->v[N_RXB], v[N_RXB], &rx) != 0 ||
        counter_delta(d->v[N_TXB], v[N_TXB], &tx) != 0)
        return;
    const uint64_t by_dir[2] = {rx, tx};
    const char *dirs[2] = {"receive", "transmit"};
    for (int i = 0; i < 2; i++) {
        omega_label_t l[2] = {{"interface", d->name}, {"direction", dirs[i]}};
        double bps = (double)by_dir[i] / secs;
        batch_add(b, "system_network_throughput_bytes_per_second", bps, l, 2);
        if (mbps > 0) {
            double pct = 100.0 * bps * 8.0 / ((double)mbps * 1e6);
            batch_add(b, "system_network_utilization_percent", pct > 100.0 ? 100.0 : pct, l, 2);
        }
    }
}

/* "  eth0: 1 2 3 ..." -> name and the kept counters. 1: header or blank line. */
static int parse_line(char *line, char **name, uint64_t *v)
{
    char *f[16];
    char *colon = strchr(line, ':');
    if (strchr(line, '|'))
        return 1;
    if (!colon)
        return line[strspn(line, " \t")] == '\0' ? 1 : OMEGA_EINVAL;
    *colon = '\0';
    char *nm = line + strspn(line, " \t");
    size_t nlen = strcspn(nm, " \t");
    if (nlen == 0 || nlen >= IFNAME_MAX || nm[nlen] != '\0')
        return OMEGA_EINVAL;
    if (procfile_split(colon + 1, f, 16) != 16)
        return OMEGA_EINVAL;
    for (int i = 0; i < N_N; i++)
        if (procfile_parse_u64(f[cols[i]], &v[i]) != 0)
            return OMEGA_EINVAL;
    *name = nm;
    return 0;
}

int proc_netdev_parse(netdev_state_t *s, const char *root, char *buf, size_t len, int64_t now_ms,
                      batch_t *b, omega_error_t *err)
{
    procfile_lines_t it;
    char *line, *name = NULL;
    uint64_t v[N_N];
    int rc = 0;

    for (size_t i = 0; i < s->n; i++)
        s->d[i].seen = 0;
    procfile_lines_init(&it, buf, len);
    while ((line = procfile_next_line(&it)) != NULL) {
        int r = parse_line(line, &name, v);
        if (r == 1)
            continue;
        if (r != 0) {
            if (rc == 0)
                rc =
                    omega_error_set(err, OMEGA_EINVAL, "/proc/net/dev line %d: malformed", it.line);
            continue;
        }
        netdev_prev_t *d = slot_for(s, name);
        if (d->seen)
            continue;
        int64_t mbps = link_mbps(root, name);
        emit_counters(name, v, b);
        if (mbps > 0) {
            omega_label_t l[1] = {{"interface", name}};
            batch_add(b, "system_network_speed_bytes", (double)mbps * 1e6 / 8.0, l, 1);
        }
        emit_derived(d, v, mbps, now_ms, b);
        memcpy(d->v, v, sizeof(d->v));
        d->ts_ms = now_ms;
        d->valid = d->seen = 1;
    }
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->d[i].seen)
            s->d[w++] = s->d[i];
    s->n = w;
    return rc;
}
