/* SPDX-License-Identifier: Apache-2.0 */
/* /proc/meminfo: memory and swap totals, availability and use, converted from kB to bytes.
 * Only the handful of keys behind the system_memory_* and system_swap_* catalogue is read. */
#include "collect_int.h"

#include <string.h>

static const metric_def_t defs[] = {
    {"system_memory_total_bytes", "gauge", "bytes", "", "Usable RAM (MemTotal)."},
    {"system_memory_available_bytes", "gauge", "bytes", "",
     "Memory available without swapping (MemAvailable; MemFree + Buffers + Cached before 3.14)."},
    {"system_memory_used_bytes", "gauge", "bytes", "", "Total minus available."},
    {"system_memory_used_percent", "gauge", "percent", "", "Used as a share of total."},
    {"system_memory_free_bytes", "gauge", "bytes", "", "Completely unused memory (MemFree)."},
    {"system_memory_cached_bytes", "gauge", "bytes", "", "Page cache (Cached)."},
    {"system_memory_buffers_bytes", "gauge", "bytes", "", "Block device buffers (Buffers)."},
    {"system_swap_total_bytes", "gauge", "bytes", "", "Swap space."},
    {"system_swap_used_bytes", "gauge", "bytes", "", "Swap space in use."},
    {"system_swap_used_percent", "gauge", "percent", "",
     "Swap in use as a share of swap space; 0 on a machine without swap."},
    {"system_memory_<Key>_bytes", "gauge", "bytes", "",
     "Every kB line of /proc/meminfo under its kernel name: system_memory_MemTotal_bytes, "
     "system_memory_Dirty_bytes, system_memory_Active_anon_bytes (from \"Active(anon)\"), "
     "system_memory_SUnreclaim_bytes ..."},
    {"system_memory_<Key>", "gauge", "", "",
     "Every count line: system_memory_HugePages_Total, system_memory_HugePages_Free ..."},
};

const metric_table_t collect_table_meminfo = {
    "Memory",
    "/proc/meminfo",
    "enable_memory (system_monitor.enable_memory_monitoring)",
    "The full set is node_exporter's node_memory_* with the system_ prefix; it follows the "
    "running kernel (about 55 keys on Linux 6.x).",
    defs,
    METRIC_TABLE_N(defs)};

enum { K_TOTAL, K_FREE, K_AVAIL, K_BUFFERS, K_CACHED, K_SWAP_TOTAL, K_SWAP_FREE, K_COUNT };

static const char *const keys[K_COUNT] = {
    "MemTotal:", "MemFree:", "MemAvailable:", "Buffers:", "Cached:", "SwapTotal:", "SwapFree:"};

/* The values of one file: v[k] in bytes, valid when bit k of have is set. */
typedef struct meminfo {
    uint64_t v[K_COUNT]; /* bytes */
    unsigned have;       /* bit k: keys[k] was present and well formed */
} meminfo_t;

#define HAVE(m, k) (((m)->have >> (k)) & 1u)

/* "<number> kB" -> bytes. The kernel prints these keys in kB (KiB) always; a missing or
 * different unit means we would misread the value, so it is malformed. */
static int parse_kb(char **f, size_t n, uint64_t *bytes)
{
    uint64_t kb;
    if (n != 3 || strcmp(f[2], "kB") != 0 || procfile_parse_u64(f[1], &kb) != 0)
        return OMEGA_EINVAL;
    if (kb > UINT64_MAX / 1024)
        return OMEGA_EINVAL;
    *bytes = kb * 1024;
    return 0;
}

/* Fill m from the file; returns 0 or OMEGA_EINVAL with err naming the first bad line. */
static int read_keys(char *buf, size_t len, meminfo_t *m, omega_error_t *err)
{
    procfile_lines_t it;
    char *line;
    char *f[4];
    int rc = 0;

    procfile_lines_init(&it, buf, len);
    while ((line = procfile_next_line(&it)) != NULL) {
        size_t n = procfile_split(line, f, 4);
        if (n == 0)
            continue;
        for (int k = 0; k < K_COUNT; k++) {
            if (strcmp(f[0], keys[k]) != 0)
                continue;
            if (HAVE(m, k) || parse_kb(f, n, &m->v[k]) != 0) {
                if (rc == 0) {
                    rc = omega_error_set(err, OMEGA_EINVAL,
                                         "/proc/meminfo line %d: bad or repeated %.*s", it.line,
                                         (int)strlen(keys[k]) - 1, keys[k]);
                    if (err)
                        err->line = it.line;
                }
                m->have &= ~(1u << k); /* a duplicated key is trusted in neither copy */
                break;
            }
            m->have |= 1u << k;
            break;
        }
    }
    return rc;
}

/* MemAvailable (Linux >= 3.14) is the kernel's own estimate of memory usable without swapping.
 * Older kernels lack it: fall back to MemFree + Buffers + Cached, what free(1) showed as
 * "free" before 3.14. It overstates a little (not all page cache can be dropped). */
static uint64_t available_bytes(const meminfo_t *m)
{
    if (HAVE(m, K_AVAIL))
        return m->v[K_AVAIL];
    uint64_t a = HAVE(m, K_FREE) ? m->v[K_FREE] : 0;
    if (HAVE(m, K_BUFFERS))
        a += m->v[K_BUFFERS];
    if (HAVE(m, K_CACHED))
        a += m->v[K_CACHED];
    return a;
}

static void emit_memory(const meminfo_t *m, batch_t *b)
{
    if (HAVE(m, K_TOTAL) && m->v[K_TOTAL] > 0) {
        uint64_t total = m->v[K_TOTAL];
        batch_add(b, "system_memory_total_bytes", (double)total, NULL, 0);
        if (HAVE(m, K_AVAIL) || HAVE(m, K_FREE)) {
            uint64_t avail = available_bytes(m);
            if (avail > total)
                avail = total;
            uint64_t used = total - avail;
            batch_add(b, "system_memory_available_bytes", (double)avail, NULL, 0);
            batch_add(b, "system_memory_used_bytes", (double)used, NULL, 0);
            batch_add(b, "system_memory_used_percent", 100.0 * (double)used / (double)total, NULL,
                      0);
        }
    }
    if (HAVE(m, K_FREE))
        batch_add(b, "system_memory_free_bytes", (double)m->v[K_FREE], NULL, 0);
    if (HAVE(m, K_CACHED))
        batch_add(b, "system_memory_cached_bytes", (double)m->v[K_CACHED], NULL, 0);
    if (HAVE(m, K_BUFFERS))
        batch_add(b, "system_memory_buffers_bytes", (double)m->v[K_BUFFERS], NULL, 0);
}

/* A machine without swap has SwapTotal 0: used 0 and used_percent an explicit 0, which is
 * true (nothing is swapped) and keeps "swap > 80%" alerts quiet instead of absent-and-unknown. */
static void emit_swap(const meminfo_t *m, batch_t *b)
{
    if (!HAVE(m, K_SWAP_TOTAL))
        return;
    uint64_t total = m->v[K_SWAP_TOTAL];
    batch_add(b, "system_swap_total_bytes", (double)total, NULL, 0);
    if (!HAVE(m, K_SWAP_FREE))
        return;
    uint64_t used = m->v[K_SWAP_FREE] < total ? total - m->v[K_SWAP_FREE] : 0;
    batch_add(b, "system_swap_used_bytes", (double)used, NULL, 0);
    batch_add(b, "system_swap_used_percent", total ? 100.0 * (double)used / (double)total : 0.0,
              NULL, 0);
}

int proc_meminfo_parse(char *buf, size_t len, batch_t *b, omega_error_t *err)
{
    meminfo_t m;
    memset(&m, 0, sizeof(m));
    int rc = read_keys(buf, len, &m, err);
    if (rc == 0 && (!HAVE(&m, K_TOTAL) || m.v[K_TOTAL] == 0))
        rc = omega_error_set(err, OMEGA_EINVAL, "/proc/meminfo: no MemTotal");
    else if (rc == 0 && !HAVE(&m, K_AVAIL) && !HAVE(&m, K_FREE))
        rc = omega_error_set(err, OMEGA_EINVAL, "/proc/meminfo: neither MemAvailable nor MemFree");
    emit_memory(&m, b);
    emit_swap(&m, b);
    return rc;
}

int proc_meminfo_all(name_cache_t *nc, const char *buf, size_t len, batch_t *b, omega_error_t *err)
{
    const char *p = buf, *end = buf + len;
    size_t idx = 0;
    int line = 0, rc = 0;
    while (p < end) {
        const char *le = line_end(p, end), *k, *v, *u, *x;
        size_t kl, vl, ul = 0, xl;
        uint64_t n = 0;
        line++;
        if (tok_next(&p, le, &k, &kl)) {
            const char *name = NULL;
            int has_unit = tok_next(&p, le, &u, &ul) && tok_next(&p, le, &v, &vl);
            int ok = kl > 1 && k[kl - 1] == ':' && !tok_next(&p, le, &x, &xl);
            if (has_unit) { /* "MemTotal: 123 kB": u is the number, v the unit */
                ok = ok && vl == 2 && !memcmp(v, "kB", 2) && parse_u64n(u, ul, &n) == 0 &&
                     n <= UINT64_MAX / 1024;
                n *= 1024;
            } else {
                ok = ok && ul > 0 && parse_u64n(u, ul, &n) == 0;
            }
            if (ok)
                name = name_cache_get(nc, idx++, "system_memory_", k, kl - 1, "", 0,
                                      has_unit ? "_bytes" : "");
            if (name)
                batch_add(b, name, (double)n, NULL, 0);
            else if (rc == 0)
                rc = omega_error_set(err, OMEGA_EINVAL, "/proc/meminfo line %d: bad line", line);
        }
        p = le < end ? le + 1 : end;
    }
    return rc;
}
