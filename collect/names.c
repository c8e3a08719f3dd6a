/* SPDX-License-Identifier: Apache-2.0 */
/* Metric names built from kernel keys ("TcpExt" + "SyncookiesSent"), cached per position so a
 * steady file costs one comparison per value and no allocation; the tokenizer and number
 * parsers that read a buffer without modifying it (so two parsers can share one read); and the
 * matcher for catalogue rows that stand for a family ("system_vmstat_<key>_total"). */
#include "collect_int.h"

#include <stdlib.h>
#include <string.h>

void name_cache_init(name_cache_t *nc)
{
    memset(nc, 0, sizeof(*nc));
}

void name_cache_deinit(name_cache_t *nc)
{
    for (size_t i = 0; i < nc->n; i++) {
        free(nc->s[i].key);
        free(nc->s[i].name);
    }
    free(nc->s);
    memset(nc, 0, sizeof(*nc));
}

static int is_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_';
}

/* Append key to out as name characters: anything else becomes '_', and a run of '_' made
 * that way at the end is dropped ("Active(anon)" -> "Active_anon"). Returns the new length. */
static size_t put_key(char *out, size_t at, const char *k, size_t kl)
{
    size_t keep = at + 1; /* a key of only odd characters still keeps one '_' */
    for (size_t i = 0; i < kl; i++) {
        int ok = is_name_char(k[i]);
        out[at++] = ok ? k[i] : '_';
        if (ok)
            keep = at;
    }
    return keep < at ? keep : at;
}

/* The cached key of a slot: k1, a 0x1f separator, k2. */
static int slot_matches(const name_slot_t *s, const char *k1, size_t l1, const char *k2, size_t l2)
{
    if (!s->name || s->klen != l1 + 1 + l2)
        return 0;
    return memcmp(s->key, k1, l1) == 0 && s->key[l1] == 0x1f && memcmp(s->key + l1 + 1, k2, l2) == 0;
}

/* 1 when an earlier slot (filled earlier in this pass: files are parsed in order) has the
 * same name: a key the file repeats. Only checked when a slot is built, so it costs nothing
 * in a steady pass. */
static int repeats(const name_cache_t *nc, size_t idx)
{
    for (size_t i = 0; i < idx; i++)
        if (nc->s[i].name && strcmp(nc->s[i].name, nc->s[idx].name) == 0)
            return 1;
    return 0;
}

const char *name_cache_get(name_cache_t *nc, size_t idx, const char *prefix, const char *k1,
                           size_t l1, const char *k2, size_t l2, const char *suffix)
{
    if (l1 == 0 || l1 > NAME_KEY_MAX || l2 > NAME_KEY_MAX || idx > NAME_SLOTS_MAX)
        return NULL;
    if (idx >= nc->n) {
        size_t n = nc->n ? nc->n : 64;
        while (n <= idx)
            n *= 2;
        nc->s = omega_realloc(nc->s, n * sizeof(*nc->s));
        memset(nc->s + nc->n, 0, (n - nc->n) * sizeof(*nc->s));
        nc->n = n;
    }
    name_slot_t *s = &nc->s[idx];
    if (slot_matches(s, k1, l1, k2, l2))
        return s->dup && (s->dup = !nc->labelled && repeats(nc, idx)) ? NULL : s->name;
    size_t pl = strlen(prefix), sl = strlen(suffix);
    char *name = omega_malloc(pl + l1 + 1 + l2 + sl + 1);
    memcpy(name, prefix, pl);
    size_t at = put_key(name, pl, k1, l1);
    if (l2) {
        name[at++] = '_';
        at = put_key(name, at, k2, l2);
    }
    memcpy(name + at, suffix, sl + 1);
    char *key = omega_malloc(l1 + 1 + l2 + 1);
    memcpy(key, k1, l1);
    key[l1] = 0x1f;
    if (l2)
        memcpy(key + l1 + 1, k2, l2);
    key[l1 + 1 + l2] = '\0';
    free(s->key);
    free(s->name);
    s->key = key;
    s->klen = l1 + 1 + l2;
    s->name = name;
    s->dup = !nc->labelled && repeats(nc, idx);
    return s->dup ? NULL : name;
}

/* ---- reading without modifying ----------------------------------------------------------- */

int tok_next(const char **p, const char *end, const char **tok, size_t *len)
{
    const char *s = *p;
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    if (s >= end || *s == '\n') {
        *p = s;
        return 0;
    }
    const char *t = s;
    while (s < end && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
        s++;
    *tok = t;
    *len = (size_t)(s - t);
    *p = s;
    return 1;
}

const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

int parse_u64n(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0)
        return OMEGA_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return OMEGA_EINVAL;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return OMEGA_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int parse_i64n(const char *s, size_t n, int64_t *out)
{
    uint64_t v;
    int neg = n > 0 && s[0] == '-';
    if (parse_u64n(s + neg, n - (size_t)neg, &v) != 0 || v > (uint64_t)INT64_MAX)
        return OMEGA_EINVAL;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* ---- catalogue rows standing for families ------------------------------------------------- */

int collect_name_match(const char *pat, const char *name)
{
    while (*pat) {
        if (*pat != '<') {
            if (*pat != *name)
                return 0;
            pat++;
            name++;
            continue;
        }
        const char *close = strchr(pat, '>');
        if (!close)
            return 0;
        const char *rest = close + 1;
        /* One or more name characters, then the rest of the pattern (shortest first). */
        for (size_t k = 1; is_name_char(name[k - 1]); k++)
            if (collect_name_match(rest, name + k))
                return 1;
        return 0;
    }
    return *name == '\0';
}
