/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/net/dev: per interface byte, packet, error and drop counters, plus throughput and
 * utilisation against the link speed (/sys/class/net/<if>/speed, when the driver knows it)
 * derived from the change since the previous pass. */
#include "collect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    {"system_network_receive_fifo_total", "counter", "", L_IF,
     "Receive FIFO (ring buffer) overruns reported by the driver."},
    {"system_network_receive_frame_total", "counter", "", L_IF,
     "Frames received with alignment or length errors."},
    {"system_network_receive_compressed_total", "counter", "", L_IF,
     "Compressed packets received (CSLIP, PPP)."},
    {"system_network_receive_multicast_total", "counter", "", L_IF, "Multicast packets received."},
    {"system_network_transmit_fifo_total", "counter", "", L_IF, "Transmit FIFO underruns."},
    {"system_network_transmit_colls_total", "counter", "", L_IF, "Collisions while sending."},
    {"system_network_transmit_carrier_total", "counter", "", L_IF,
     "Carrier losses while sending (cable, link partner)."},
    {"system_network_transmit_compressed_total", "counter", "", L_IF,
     "Compressed packets sent (CSLIP, PPP)."},
    {"system_network_up", "gauge", "", L_IF, "1 when the interface's operstate is up, else 0."},
    {"system_network_carrier", "gauge", "", L_IF, "1 when the link has carrier (cable, peer)."},
    {"system_network_carrier_changes_total", "counter", "", L_IF,
     "Times the link went up or down (a flapping link climbs)."},
    {"system_network_carrier_up_changes_total", "counter", "", L_IF, "Times the link came up."},
    {"system_network_carrier_down_changes_total", "counter", "", L_IF, "Times the link went down."},
    {"system_network_mtu_bytes", "gauge", "bytes", L_IF, "Maximum transmission unit."},
    {"system_network_transmit_queue_length", "gauge", "", L_IF, "Transmit queue length (txqueuelen)."},
    {"system_network_flags", "gauge", "", L_IF, "Interface flags (IFF_UP = 1, IFF_LOOPBACK = 8 ...)."},
    {"system_network_dormant", "gauge", "", L_IF, "1 when the interface waits for an external event."},
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
    "/proc/net/dev, /sys/class/net/<interface>/{speed, operstate, carrier, carrier_changes, "
    "carrier_up_count, carrier_down_count, mtu, tx_queue_len, flags, dormant}",
    "enable_network (system_monitor.enable_network_monitoring)",
    "Every interface is reported, loopback included. Utilisation needs a known speed: virtual "
    "interfaces, Wi-Fi and links that are down report -1 or nothing, so they have no "
    "system_network_speed_bytes and no utilisation series. An interface that disappears stops "
    "having series; when it comes back its derived gauges start again after two passes. The "
    "/sys attributes are node_exporter's netclass figures; one the driver does not provide (or "
    "refuses on a down link) gives no series.",
    defs,
    METRIC_TABLE_N(defs)};

enum { N_RXB, N_RXP, N_RXE, N_RXD, N_TXB, N_TXP, N_TXE, N_TXD, N_N };
/* Column of each kept counter among the 16 after "name:". */
static const int cols[N_N] = {0, 1, 2, 3, 8, 9, 10, 11};

void netdev_state_init(netdev_state_t *s)
{
    memset(s, 0, sizeof(*s));
}

static void close_attrs(netdev_prev_t *d)
{
    for (int i = 0; i < NETCLASS_ATTRS; i++)
        if (d->fd[i] >= 0) {
            close(d->fd[i]);
            d->fd[i] = -1;
        }
    if (d->speed_fd >= 0) {
        close(d->speed_fd);
        d->speed_fd = -1;
    }
}

void netdev_state_deinit(netdev_state_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        close_attrs(&s->d[i]);
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
    for (int i = 0; i < NETCLASS_ATTRS; i++)
        d->fd[i] = -1;
    d->speed_fd = -1;
    return d;
}

/* The /sys/class/net attributes, in netdev_prev_t.fd order, and their metrics. */
static const struct {
    const char *attr, *metric;
} attrs[NETCLASS_ATTRS] = {
    {"operstate", "system_network_up"},
    {"carrier", "system_network_carrier"},
    {"carrier_changes", "system_network_carrier_changes_total"},
    {"carrier_up_count", "system_network_carrier_up_changes_total"},
    {"carrier_down_count", "system_network_carrier_down_changes_total"},
    {"mtu", "system_network_mtu_bytes"},
    {"tx_queue_len", "system_network_transmit_queue_length"},
    {"flags", "system_network_flags"},
    {"dormant", "system_network_dormant"},
};

/* One attribute's text: through the kept descriptor *fd on the live root (sysfs regenerates it
 * on a read from offset 0), else opened afresh. Returns its length or -1. */
static long read_attr(const char *root, const char *name, const char *attr, int *fd, char *buf,
                      size_t cap)
{
    char rel[IFNAME_MAX + 48];
    size_t len = 0;
    snprintf(rel, sizeof(rel), "/sys/class/net/%s/%s", name, attr);
    int rc = root[0] ? procfile_read(root, rel, buf, cap, &len, NULL)
                     : procfile_pread(fd, root, rel, buf, cap, &len, NULL);
    while (rc == 0 && len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    return rc == 0 ? (long)len : -1;
}

/* Every attribute the interface has, as a gauge or counter labelled interface. */
static void emit_attrs(const char *root, netdev_prev_t *d, batch_t *b)
{
    char buf[64];
    omega_label_t l[1] = {{"interface", d->name}};
    for (int i = 0; i < NETCLASS_ATTRS; i++) {
        long len = read_attr(root, d->name, attrs[i].attr, &d->fd[i], buf, sizeof(buf));
        uint64_t v;
        if (len <= 0)
            continue;
        if (i == 0) /* operstate: "up", "down", "unknown" (loopback, tunnels), ... */
            v = strcmp(buf, "up") == 0;
        else if (len > 2 && buf[0] == '0' && buf[1] == 'x') /* flags */
            v = strtoull(buf + 2, NULL, 16);
        else if (parse_u64n(buf, (size_t)len, &v) != 0)
            continue;
        batch_add(b, attrs[i].metric, (double)v, l, 1);
    }
}

/* Link speed in Mbit/s, or 0 when unknown (missing file, -1, EINVAL on a down link). */
static int64_t link_mbps(const char *root, netdev_prev_t *d)
{
    char buf[64];
    uint64_t v = 0;
    long len = read_attr(root, d->name, "speed", &d->speed_fd, buf, sizeof(buf));
    if (len <= 0 || buf[0] == '-' || parse_u64n(buf, (size_t)len, &v) != 0 || v > INT64_MAX)
        return 0;
    return (int64_t)v;
}

/* The columns of /proc/net/dev not in the kept set, and their metrics. */
static const struct {
    int col;
    const char *metric;
} extra[] = {
    {4, "system_network_receive_fifo_total"},       {5, "system_network_receive_frame_total"},
    {6, "system_network_receive_compressed_total"}, {7, "system_network_receive_multicast_total"},
    {12, "system_network_transmit_fifo_total"},     {13, "system_network_transmit_colls_total"},
    {14, "system_network_transmit_carrier_total"},  {15, "system_network_transmit_compressed_total"},
};

static void emit_counters(const char *name, const uint64_t *v, const uint64_t *all, batch_t *b)
{
    omega_label_t l[2] = {{"interface", name}, {"direction", "receive"}};
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
        batch_add(b, extra[i].metric, (double)all[extra[i].col], l, 1);
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

/* "  eth0: 1 2 3 ..." -> name, the kept counters and all 16 columns. 1: header or blank
 * line. */
static int parse_line(char *line, char **name, uint64_t *v, uint64_t *all)
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
    for (int i = 0; i < 16; i++)
        if (procfile_parse_u64(f[i], &all[i]) != 0)
            return OMEGA_EINVAL;
    for (int i = 0; i < N_N; i++)
        v[i] = all[cols[i]];
    *name = nm;
    return 0;
}

int proc_netdev_parse(netdev_state_t *s, const char *root, char *buf, size_t len, int64_t now_ms,
                      batch_t *b, omega_error_t *err)
{
    procfile_lines_t it;
    char *line, *name = NULL;
    uint64_t v[N_N], all[16];
    int rc = 0;

    for (size_t i = 0; i < s->n; i++)
        s->d[i].seen = 0;
    procfile_lines_init(&it, buf, len);
    while ((line = procfile_next_line(&it)) != NULL) {
        int r = parse_line(line, &name, v, all);
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
        int64_t mbps = link_mbps(root, d);
        emit_counters(name, v, all, b);
        if (mbps > 0) {
            omega_label_t l[1] = {{"interface", name}};
            batch_add(b, "system_network_speed_bytes", (double)mbps * 1e6 / 8.0, l, 1);
        }
        emit_derived(d, v, mbps, now_ms, b);
        emit_attrs(root, d, b);
        memcpy(d->v, v, sizeof(d->v));
        d->ts_ms = now_ms;
        d->valid = d->seen = 1;
    }
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->d[i].seen)
            s->d[w++] = s->d[i];
        else
            close_attrs(&s->d[i]);
    }
    s->n = w;
    return rc;
}
