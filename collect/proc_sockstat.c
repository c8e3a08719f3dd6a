/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/net/sockstat and /proc/net/sockstat6: sockets in use per protocol, orphans, TIME_WAIT,
 * and the memory the kernel accounts to socket buffers, as node_exporter's node_sockstat_*
 * names under the system_ prefix. The buffer is only read. */
#include "collect_int.h"

#include <string.h>

static const metric_def_t defs[] = {
    {"system_sockstat_<Proto>_mem_bytes", "gauge", "bytes", "",
     "Memory in socket buffers of the protocol (the kernel's page count times the page size)."},
    {"system_sockstat_<Proto>_memory_bytes", "gauge", "bytes", "",
     "Memory held by IP fragment reassembly (FRAG, FRAG6)."},
    {"system_sockstat_<Proto>_<field>", "gauge", "", "",
     "Every other figure, as the kernel names it: system_sockstat_sockets_used, "
     "system_sockstat_TCP_inuse, _orphan, _tw, _alloc, system_sockstat_UDP_inuse, "
     "system_sockstat_TCP6_inuse, system_sockstat_FRAG_inuse ..."},
};

const metric_table_t collect_table_sockstat = {
    "Network: sockets",
    "/proc/net/sockstat, /proc/net/sockstat6",
    "enable_network (system_monitor.enable_network_monitoring)",
    "Lines are \"PROTO: key value key value ...\"; every pair becomes a gauge. A host without "
    "IPv6 has no sockstat6 (no series, no warning).",
    defs,
    METRIC_TABLE_N(defs)};

/* One "key value" pair of protocol proto. 0 or OMEGA_EINVAL. */
static int add_pair(name_cache_t *nc, size_t idx, const char *proto, size_t pl, const char *k,
                    size_t kl, const char *v, size_t vl, uint64_t page_size, batch_t *b)
{
    uint64_t u;
    if (parse_u64n(v, vl, &u) != 0)
        return OMEGA_EINVAL;
    int mem = kl == 3 && !memcmp(k, "mem", 3), memory = kl == 6 && !memcmp(k, "memory", 6);
    const char *name = name_cache_get(nc, idx, "system_sockstat_", proto, pl, k, kl,
                                      mem || memory ? "_bytes" : "");
    if (!name)
        return OMEGA_EINVAL;
    batch_add(b, name, mem ? (double)u * (double)page_size : (double)u, NULL, 0);
    return 0;
}

int sockstat_parse(name_cache_t *nc, const char *file, const char *buf, size_t len,
                   uint64_t page_size, batch_t *b, omega_error_t *err)
{
    const char *p = buf, *end = buf + len;
    size_t idx = 0;
    int line = 0, rc = 0;
    while (p < end) {
        const char *le = line_end(p, end), *pr, *k, *v;
        size_t pl, kl, vl;
        int bad = 0;
        line++;
        if (tok_next(&p, le, &pr, &pl)) {
            if (pl < 2 || pr[pl - 1] != ':')
                bad = 1;
            while (!bad && tok_next(&p, le, &k, &kl)) {
                if (!tok_next(&p, le, &v, &vl) ||
                    add_pair(nc, idx++, pr, pl - 1, k, kl, v, vl, page_size, b) != 0)
                    bad = 1;
            }
        }
        if (bad && rc == 0)
            rc = omega_error_set(err, OMEGA_EINVAL, "%s line %d: bad line", file, line);
        p = le < end ? le + 1 : end;
    }
    return rc;
}
