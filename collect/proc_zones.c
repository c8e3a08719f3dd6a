/* SPDX-License-Identifier: Apache-2.0 */
/* Memory zones and NUMA: free blocks per allocation order (/proc/buddyinfo, fragmentation),
 * the watermarks and counters of every zone (/proc/zoneinfo) and the NUMA allocation
 * counters per node (/sys/devices/system/node/node<N>/numastat). The buffers are only read. */
#include "collect_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const metric_def_t defs[] = {
    {"system_buddyinfo_blocks", "gauge", "", "node,zone,order",
     "Free blocks of 2^order pages per zone (/proc/buddyinfo): few high-order blocks means "
     "fragmented memory, where large allocations stall or fail."},
    {"system_zoneinfo_<key>_pages", "gauge", "", "node,zone",
     "Zone size and watermarks in pages: min, low, high (kswapd wakes below low and direct "
     "reclaim starts below min), spanned, present, managed, cma."},
    {"system_zoneinfo_<key>_total", "counter", "", "node,zone",
     "NUMA allocation counters of the zone: numa_hit, numa_miss, numa_foreign, "
     "numa_interleave, numa_local, numa_other."},
    {"system_zoneinfo_<key>", "gauge", "", "node,zone",
     "Every page count of the zone, in pages: system_zoneinfo_nr_free_pages, "
     "system_zoneinfo_nr_zone_active_anon, system_zoneinfo_nr_mlock ..."},
    {"system_numastat_<key>_total", "counter", "", "node",
     "NUMA allocation counters per node (numastat): numa_hit, numa_miss, numa_foreign, "
     "interleave_hit, local_node, other_node."},
};

const metric_table_t collect_table_zones = {
    "Memory: zones and NUMA",
    "/proc/buddyinfo, /proc/zoneinfo, /sys/devices/system/node/node<N>/numastat",
    "enable_memory (system_monitor.enable_memory_monitoring)",
    "The zone figures are node_exporter's node_buddyinfo_blocks and node_zoneinfo_* under the "
    "system_ prefix. Only the zone's own lines are read: the per-node block (the same figures "
    "as /proc/vmstat on a one-node host) and the per-CPU pagesets are skipped.",
    defs,
    METRIC_TABLE_N(defs)};

void zones_state_init(zones_state_t *s)
{
    memset(s, 0, sizeof(*s));
    s->fd_buddy = s->fd_zone = -1;
    name_cache_init(&s->zone_names);
    name_cache_init(&s->numa_names);
    s->zone_names.labelled = s->numa_names.labelled = 1;
}

void zones_state_deinit(zones_state_t *s)
{
    if (s->fd_buddy >= 0)
        close(s->fd_buddy);
    if (s->fd_zone >= 0)
        close(s->fd_zone);
    name_cache_deinit(&s->zone_names);
    name_cache_deinit(&s->numa_names);
    memset(s, 0, sizeof(*s));
    s->fd_buddy = s->fd_zone = -1;
}

/* "Node 0, zone   Normal" at p..le: node and zone copied out, *p past the zone name.
 * Returns 0 or -1. */
static int node_zone(const char **p, const char *le, char *node, size_t ncap, char *zone,
                     size_t zcap)
{
    const char *t;
    size_t tl;
    if (!tok_next(p, le, &t, &tl) || tl != 4 || memcmp(t, "Node", 4) != 0 ||
        !tok_next(p, le, &t, &tl) || tl < 2 || t[tl - 1] != ',' || tl > ncap)
        return -1;
    uint64_t id;
    if (parse_u64n(t, tl - 1, &id) != 0)
        return -1;
    snprintf(node, ncap, "%u", (unsigned)id);
    if (!tok_next(p, le, &t, &tl) || tl != 4 || memcmp(t, "zone", 4) != 0 ||
        !tok_next(p, le, &t, &tl) || tl >= zcap)
        return -1;
    memcpy(zone, t, tl);
    zone[tl] = '\0';
    return 0;
}

int buddyinfo_parse(const char *buf, size_t len, batch_t *b, omega_error_t *err)
{
    const char *p = buf, *end = buf + len;
    char node[16], zone[32], order[8];
    int line = 0, rc = 0;
    while (p < end) {
        const char *le = line_end(p, end), *t;
        size_t tl;
        line++;
        const char *q = p;
        if (tok_next(&q, le, &t, &tl)) {
            int bad = node_zone(&p, le, node, sizeof(node), zone, sizeof(zone)) != 0;
            for (unsigned o = 0; !bad && tok_next(&p, le, &t, &tl); o++) {
                uint64_t v;
                if (o > 63 || parse_u64n(t, tl, &v) != 0) {
                    bad = 1;
                    break;
                }
                snprintf(order, sizeof(order), "%u", o);
                omega_label_t l[3] = {{"node", node}, {"zone", zone}, {"order", order}};
                batch_add(b, "system_buddyinfo_blocks", (double)v, l, 3);
            }
            if (bad && rc == 0)
                rc = omega_error_set(err, OMEGA_EINVAL, "/proc/buddyinfo line %d: bad line", line);
        }
        p = le < end ? le + 1 : end;
    }
    return rc;
}

/* The suffix of a zone line's metric: watermarks and sizes are "_pages", NUMA counters
 * "_total", page counts nothing. */
static const char *zone_suffix(const char *k, size_t kl)
{
    static const char *const sizes[] = {"min",     "low",     "high", "spanned",
                                        "present", "managed", "cma"};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        if (strlen(sizes[i]) == kl && !memcmp(sizes[i], k, kl))
            return "_pages";
    return kl > 5 && !memcmp(k, "numa_", 5) ? "_total" : "";
}

enum { Z_NONE, Z_ZONE, Z_SKIP }; /* where in /proc/zoneinfo a line is */

int zoneinfo_parse(name_cache_t *nc, const char *buf, size_t len, batch_t *b, omega_error_t *err)
{
    const char *p = buf, *end = buf + len;
    char node[16] = "", zone[32] = "";
    size_t idx = 0;
    int line = 0, rc = 0, where = Z_NONE, zone_ok = 0;
    while (p < end) {
        const char *le = line_end(p, end), *k, *v, *x;
        size_t kl, vl, xl;
        line++;
        const char *q = p;
        if (!tok_next(&q, le, &k, &kl)) {
            p = le < end ? le + 1 : end;
            continue;
        }
        if (kl == 4 && !memcmp(k, "Node", 4)) {
            zone_ok = node_zone(&p, le, node, sizeof(node), zone, sizeof(zone)) == 0;
            where = zone_ok ? Z_ZONE : Z_SKIP;
            if (!zone_ok && rc == 0)
                rc = omega_error_set(err, OMEGA_EINVAL, "/proc/zoneinfo line %d: bad zone", line);
        } else if ((kl == 8 && !memcmp(k, "per-node", 8)) || (kl == 8 && !memcmp(k, "pagesets", 8))) {
            where = Z_SKIP; /* node-wide figures and per-CPU lists: not the zone's */
        } else if (kl == 5 && !memcmp(k, "pages", 5)) {
            where = zone_ok ? Z_ZONE : Z_SKIP; /* "pages free": the zone's own block starts */
        } else if (where == Z_ZONE && k[kl - 1] != ':' && tok_next(&q, le, &v, &vl) &&
                   !tok_next(&q, le, &x, &xl)) {
            int64_t n;
            const char *name = NULL;
            if (parse_i64n(v, vl, &n) == 0)
                name = name_cache_get(nc, idx++, "system_zoneinfo_", k, kl, "", 0,
                                      zone_suffix(k, kl));
            omega_label_t l[2] = {{"node", node}, {"zone", zone}};
            if (name && (n >= 0 || !*zone_suffix(k, kl)))
                batch_add(b, name, (double)n, l, 2);
            else if (rc == 0)
                rc = omega_error_set(err, OMEGA_EINVAL, "/proc/zoneinfo line %d: bad value", line);
        }
        p = le < end ? le + 1 : end;
    }
    return rc;
}

/* One node's numastat ("numa_hit 12" lines) as system_numastat_<key>_total{node}. */
static int numastat_parse(name_cache_t *nc, size_t *idx, const char *node, const char *buf,
                          size_t len, batch_t *b)
{
    const char *p = buf, *end = buf + len;
    int rc = 0;
    while (p < end) {
        const char *le = line_end(p, end), *k, *v, *x;
        size_t kl, vl, xl;
        uint64_t n;
        if (tok_next(&p, le, &k, &kl)) {
            const char *name = NULL;
            if (tok_next(&p, le, &v, &vl) && !tok_next(&p, le, &x, &xl) &&
                parse_u64n(v, vl, &n) == 0)
                name = name_cache_get(nc, (*idx)++, "system_numastat_", k, kl, "", 0, "_total");
            omega_label_t l[1] = {{"node", node}};
            if (name)
                batch_add(b, name, (double)n, l, 1);
            else
                rc = OMEGA_EINVAL;
        }
        p = le < end ? le + 1 : end;
    }
    return rc;
}

/* Every node<N> under <root>/sys/devices/system/node. No directory (no NUMA support): 0. */
static int numastat_collect(zones_state_t *s, const char *root, char *buf, size_t cap, batch_t *b,
                            omega_error_t *err)
{
    char dir[4096];
    if (collect_path(dir, sizeof(dir), root, "/sys/devices/system/node") != 0)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    size_t idx = 0;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        uint64_t id;
        if (strncmp(e->d_name, "node", 4) != 0 ||
            parse_u64n(e->d_name + 4, strlen(e->d_name + 4), &id) != 0)
            continue;
        char rel[96], node[24];
        size_t len = 0;
        snprintf(rel, sizeof(rel), "/sys/devices/system/node/node%u/numastat", (unsigned)id);
        snprintf(node, sizeof(node), "%u", (unsigned)id);
        if (procfile_read(root, rel, buf, cap, &len, NULL) != 0)
            continue;
        if (numastat_parse(&s->numa_names, &idx, node, buf, len, b) != 0 && rc == 0)
            rc = omega_error_set(err, OMEGA_EINVAL, "%s: bad line", rel);
    }
    closedir(d);
    return rc;
}

int zones_collect(zones_state_t *s, const char *root, char *buf, size_t cap, batch_t *b,
                  omega_error_t *err)
{
    size_t len = 0;
    int live = root[0] == '\0', rc = 0, r;
    omega_error_t e;
    /* Each file is optional (a trimmed /proc in a container); a bad one does not hide the
     * others. */
    r = live ? procfile_pread(&s->fd_buddy, root, "/proc/buddyinfo", buf, cap, &len, NULL)
             : procfile_read(root, "/proc/buddyinfo", buf, cap, &len, NULL);
    if (r == 0 && buddyinfo_parse(buf, len, b, &e) != 0 && rc == 0) {
        rc = OMEGA_EINVAL;
        if (err)
            *err = e;
    }
    r = live ? procfile_pread(&s->fd_zone, root, "/proc/zoneinfo", buf, cap, &len, NULL)
             : procfile_read(root, "/proc/zoneinfo", buf, cap, &len, NULL);
    if (r == 0 && zoneinfo_parse(&s->zone_names, buf, len, b, &e) != 0 && rc == 0) {
        rc = OMEGA_EINVAL;
        if (err)
            *err = e;
    }
    if (numastat_collect(s, root, buf, cap, b, &e) != 0 && rc == 0) {
        rc = OMEGA_EINVAL;
        if (err)
            *err = e;
    }
    return rc;
}
