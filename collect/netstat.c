/* SPDX-License-Identifier: Apache-2.0 */
/* The kernel's full network protocol counters: /proc/net/snmp and /proc/net/netstat (a header
 * line of keys followed by a line of values, per protocol: Ip, Icmp, IcmpMsg, Tcp, Udp,
 * UdpLite, TcpExt, IpExt, MPTcpExt ...) and /proc/net/snmp6 (one "Ip6InReceives 12" per
 * line), as node_exporter's node_netstat_* names under the system_ prefix. Whatever keys the
 * running kernel prints are reported; nothing is filtered. The buffer is only read, so the
 * TCP source parses the same read of /proc/net/snmp afterwards. */
#include "collect_int.h"

#include <string.h>

static const metric_def_t defs[] = {
    {"system_netstat_<Proto>_<Counter>_total", "counter", "", "",
     "Every counter of /proc/net/snmp, /proc/net/netstat and /proc/net/snmp6, named after the "
     "protocol and the kernel's key: system_netstat_Tcp_RetransSegs_total, "
     "system_netstat_TcpExt_ListenOverflows_total, system_netstat_Udp_RcvbufErrors_total, "
     "system_netstat_Ip6_InReceives_total ..."},
    {"system_netstat_Ip_Forwarding", "gauge", "", "", "1 when IPv4 forwarding is on, 2 when off."},
    {"system_netstat_Ip_DefaultTTL", "gauge", "", "", "Default IPv4 time to live."},
    {"system_netstat_Tcp_RtoAlgorithm", "gauge", "", "",
     "Retransmission timeout algorithm (1 other, 2 constant, 3 rsre, 4 vanj)."},
    {"system_netstat_Tcp_RtoMin", "gauge", "", "", "Minimum retransmission timeout, ms."},
    {"system_netstat_Tcp_RtoMax", "gauge", "", "", "Maximum retransmission timeout, ms."},
    {"system_netstat_Tcp_MaxConn", "gauge", "", "", "Connection limit; -1 for none."},
    {"system_netstat_Tcp_CurrEstab", "gauge", "", "",
     "TCP connections now in ESTABLISHED or CLOSE-WAIT."},
};

const metric_table_t collect_table_netstat = {
    "Network: protocol counters",
    "/proc/net/snmp, /proc/net/netstat, /proc/net/snmp6",
    "enable_network (system_monitor.enable_network_monitoring)",
    "The names are node_exporter's (node_netstat_*) with the system_ prefix and, for counters, "
    "the _total suffix; the key is kept as the kernel spells it. The set follows the running "
    "kernel (about 230 keys in netstat and 85 in snmp on Linux 6.x; IcmpMsg keys appear with "
    "the first message of a type); the seven gauges are listed below, everything else is a "
    "counter. A key that repeats or a value that does not parse is left out for that pass.",
    defs,
    METRIC_TABLE_N(defs)};

/* The keys of /proc/net/snmp that are settings or current values, not counters. */
static int is_gauge(const char *proto, size_t pl, const char *key, size_t kl)
{
    static const struct {
        const char *proto, *key;
    } g[] = {{"Ip", "Forwarding"},  {"Ip", "DefaultTTL"}, {"Tcp", "RtoAlgorithm"},
             {"Tcp", "RtoMin"},     {"Tcp", "RtoMax"},    {"Tcp", "MaxConn"},
             {"Tcp", "CurrEstab"}};
    for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++)
        if (strlen(g[i].proto) == pl && !memcmp(g[i].proto, proto, pl) && strlen(g[i].key) == kl &&
            !memcmp(g[i].key, key, kl))
            return 1;
    return 0;
}

/* Add one value; a negative value is only meaningful for a gauge (Tcp MaxConn -1). */
static int add_value(name_cache_t *nc, size_t idx, const char *proto, size_t pl, const char *key,
                     size_t kl, const char *val, size_t vl, batch_t *b)
{
    int64_t v;
    int gauge = is_gauge(proto, pl, key, kl);
    if (parse_i64n(val, vl, &v) != 0 || (v < 0 && !gauge)) {
        uint64_t u; /* counters above INT64_MAX exist on long-lived hosts */
        if (gauge || parse_u64n(val, vl, &u) != 0)
            return OMEGA_EINVAL;
        const char *name = name_cache_get(nc, idx, "system_netstat_", proto, pl, key, kl, "_total");
        if (!name)
            return OMEGA_EINVAL;
        batch_add(b, name, (double)u, NULL, 0);
        return 0;
    }
    const char *name =
        name_cache_get(nc, idx, "system_netstat_", proto, pl, key, kl, gauge ? "" : "_total");
    if (!name)
        return OMEGA_EINVAL;
    batch_add(b, name, (double)v, NULL, 0);
    return 0;
}

/* One header line (h..he) and its value line (v..ve), both starting with the same "Proto:".
 * *idx counts values across the file for the name cache. Returns 0, 1 (some values did not
 * parse; the others were added) or -1 (the lines do not line up). */
static int take_pair(name_cache_t *nc, const char *h, const char *he, const char *v,
                     const char *ve, size_t *idx, batch_t *b)
{
    const char *hp, *vp;
    size_t hl, vl;
    if (!tok_next(&h, he, &hp, &hl) || !tok_next(&v, ve, &vp, &vl) || hl < 2 || hl != vl ||
        memcmp(hp, vp, hl) != 0 || hp[hl - 1] != ':')
        return -1;
    const char *proto = hp;
    size_t pl = hl - 1;
    int rc = 0;
    for (;;) {
        int hk = tok_next(&h, he, &hp, &hl), hv = tok_next(&v, ve, &vp, &vl);
        if (!hk && !hv)
            return rc;
        if (hk != hv) /* as many keys as values, or the pair is not trusted at all */
            return -1;
        if (add_value(nc, (*idx)++, proto, pl, hp, hl, vp, vl, b) != 0)
            rc = 1;
    }
}

int netstat_pairs_parse(name_cache_t *nc, const char *file, const char *buf, size_t len,
                        batch_t *b, omega_error_t *err)
{
    const char *p = buf, *end = buf + len;
    size_t idx = 0;
    int line = 0, rc = 0;
    while (p < end) {
        const char *he = line_end(p, end);
        if (he == p) { /* blank line */
            p = he + 1;
            line++;
            continue;
        }
        const char *v = he < end ? he + 1 : end;
        const char *ve = line_end(v, end);
        line += 2;
        /* A pair whose value line is missing or does not line up is skipped whole: its values
         * cannot be told apart. The next pair still counts. */
        size_t before = b->n_points;
        int r = v >= end ? -1 : take_pair(nc, p, he, v, ve, &idx, b);
        if (r != 0) {
            if (r < 0) /* netstat points have no labels: dropping them is just the count */
                b->n_points = before;
            if (rc == 0)
                rc = omega_error_set(err, OMEGA_EINVAL, "%s line %d: bad key/value pair", file,
                                     line - 1);
        }
        p = ve < end ? ve + 1 : end;
    }
    return rc;
}

int snmp6_parse(name_cache_t *nc, const char *buf, size_t len, batch_t *b, omega_error_t *err)
{
    const char *p = buf, *end = buf + len;
    size_t idx = 0;
    int line = 0, rc = 0;
    while (p < end) {
        const char *le = line_end(p, end), *k, *v, *x;
        size_t kl, vl, xl;
        line++;
        if (tok_next(&p, le, &k, &kl)) {
            /* "Ip6InReceives", "Icmp6InType133", "UdpLite6InErrors": the protocol ends at its
             * first '6'. */
            const char *six = memchr(k, '6', kl < 12 ? kl : 12);
            int ok = six && six + 1 < k + kl && tok_next(&p, le, &v, &vl) &&
                     !tok_next(&p, le, &x, &xl);
            size_t pl = ok ? (size_t)(six + 1 - k) : 0;
            if (!ok || add_value(nc, idx++, k, pl, six + 1, kl - pl, v, vl, b) != 0) {
                if (rc == 0)
                    rc = omega_error_set(err, OMEGA_EINVAL, "/proc/net/snmp6 line %d: bad line",
                                         line);
            }
        }
        p = le < end ? le + 1 : end;
    }
    return rc;
}
