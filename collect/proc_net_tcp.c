/* SPDX-License-Identifier: Apache-2.0 */
/* TCP: retransmits and segment counters from /proc/net/snmp, and connection counts per state
 * from /proc/net/tcp and /proc/net/tcp6 (read in chunks: a busy server's tables exceed any
 * sensible whole-file buffer). */
#include "collect_int.h"

#include <stdio.h>
#include <string.h>

static const metric_def_t defs[] = {
    {"system_network_tcp_retransmits_total", "counter", "", "", "TCP segments retransmitted."},
    {"system_network_tcp_segments_sent_total", "counter", "", "", "TCP segments sent."},
    {"system_network_tcp_segments_received_total", "counter", "", "", "TCP segments received."},
    {"system_network_tcp_active_opens_total", "counter", "", "",
     "Connections this host opened (connect)."},
    {"system_network_tcp_passive_opens_total", "counter", "", "",
     "Connections this host accepted."},
    {"system_network_tcp_connections", "gauge", "", "state",
     "IPv4 plus IPv6 TCP sockets per state (established, syn_sent, syn_recv, fin_wait1, "
     "fin_wait2, time_wait, close, close_wait, last_ack, listen, closing); every state is "
     "reported, 0 included."},
};

const metric_table_t collect_table_tcp = {
    "TCP",
    "/proc/net/snmp; netlink sock_diag, else /proc/net/tcp and /proc/net/tcp6",
    "enable_network (system_monitor.enable_network_monitoring)",
    "Connection states come from netlink sock_diag (as ss(8) reads them) on the live host: "
    "/proc/net/tcp walks the whole connection hash table as text and costs tens of "
    "milliseconds per read on large hosts. The /proc files are the fallback (and what a root "
    "prefix reads). Even the netlink dump walks every bucket of the kernel's hash table, so on "
    "the live host the states are counted every 10 s, whatever the interval. The retransmit ratio is rate(system_network_tcp_retransmits_total) / "
    "rate(system_network_tcp_segments_sent_total). A host without IPv6 has no /proc/net/tcp6; "
    "its IPv4 counts are still reported.",
    defs,
    METRIC_TABLE_N(defs)};

static const struct {
    const char *key;
    const char *metric;
} snmp_keys[] = {
    {"RetransSegs", "system_network_tcp_retransmits_total"},
    {"OutSegs", "system_network_tcp_segments_sent_total"},
    {"InSegs", "system_network_tcp_segments_received_total"},
    {"ActiveOpens", "system_network_tcp_active_opens_total"},
    {"PassiveOpens", "system_network_tcp_passive_opens_total"},
};
#define N_SNMP (sizeof(snmp_keys) / sizeof(snmp_keys[0]))

#define SNMP_COLS 32

int proc_snmp_parse(char *buf, size_t len, batch_t *b, omega_error_t *err)
{
    procfile_lines_t it;
    char *line, *head[SNMP_COLS], *vals[SNMP_COLS];
    size_t nh = 0;

    procfile_lines_init(&it, buf, len);
    while ((line = procfile_next_line(&it)) != NULL) {
        if (strncmp(line, "Tcp:", 4) != 0)
            continue;
        if (nh == 0) { /* the header line comes first */
            nh = procfile_split(line, head, SNMP_COLS);
            continue;
        }
        size_t nv = procfile_split(line, vals, SNMP_COLS);
        if (nv != nh)
            return omega_error_set(err, OMEGA_EINVAL, "/proc/net/snmp: Tcp lines differ");
        int found = 0;
        for (size_t i = 1; i < nh; i++)
            for (size_t k = 0; k < N_SNMP; k++) {
                uint64_t v;
                if (strcmp(head[i], snmp_keys[k].key) != 0)
                    continue;
                if (procfile_parse_u64(vals[i], &v) != 0)
                    return omega_error_set(err, OMEGA_EINVAL, "/proc/net/snmp: bad Tcp %s",
                                           snmp_keys[k].key);
                batch_add(b, snmp_keys[k].metric, (double)v, NULL, 0);
                found++;
            }
        return found ? 0 : omega_error_set(err, OMEGA_EINVAL, "/proc/net/snmp: no Tcp counters");
    }
    return omega_error_set(err, OMEGA_EINVAL, "/proc/net/snmp: no Tcp lines");
}

static const char *const tcp_states[TCP_STATES] = {
    NULL,        "established", "syn_sent",   "syn_recv", "fin_wait1", "fin_wait2",
    "time_wait", "close",       "close_wait", "last_ack", "listen",    "closing"};

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* One socket line: "  0: 0100007F:0277 00000000:0000 0A ...". The header line starts with
 * "sl". Returns 0 (counted or ignored) or OMEGA_EINVAL. */
static int tcp_line(void *ctx, char *line)
{
    uint64_t *counts = ctx;
    char *f[5];
    size_t n = procfile_split(line, f, 5);
    if (n == 0 || strcmp(f[0], "sl") == 0)
        return 0;
    if (n < 4 || strlen(f[3]) != 2 || hexval(f[3][0]) < 0 || hexval(f[3][1]) < 0)
        return OMEGA_EINVAL;
    int st = hexval(f[3][0]) * 16 + hexval(f[3][1]);
    if (st > 0 && st < TCP_STATES)
        counts[st]++; /* NEW_SYN_RECV (12) are request socks, not connections */
    return 0;
}

static void emit_states(const uint64_t *counts, batch_t *b)
{
    for (int i = 1; i < TCP_STATES; i++) {
        omega_label_t l[1] = {{"state", tcp_states[i]}};
        batch_add(b, "system_network_tcp_connections", (double)counts[i], l, 1);
    }
}

int proc_net_tcp_collect(const char *root, char *buf, size_t cap, batch_t *b, omega_error_t *err)
{
    uint64_t counts[TCP_STATES] = {0};
    if (root[0] == '\0' && tcp_diag_count(counts) == 0) {
        emit_states(counts, b);
        return 0;
    }
    int rc = procfile_each_line(root, "/proc/net/tcp", buf, cap, tcp_line, counts, err);
    if (rc != 0 && rc != OMEGA_EINVAL)
        return rc; /* unreadable: no counts at all rather than partial ones */
    /* No tcp6 on a host booted with ipv6.disable=1: not an error. */
    if (procfile_each_line(root, "/proc/net/tcp6", buf, cap, tcp_line, counts, NULL) ==
            OMEGA_EINVAL &&
        rc == 0)
        rc = omega_error_set(err, OMEGA_EINVAL, "/proc/net/tcp6: malformed line");
    emit_states(counts, b);
    return rc;
}
