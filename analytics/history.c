/* SPDX-License-Identifier: Apache-2.0 */
/* Operations in the `events` key space: running operations under KEY_ACTIVE (so a restart
 * keeps them), finished records under KEY_RECORD ordered by end time. Listing walks the
 * records newest first in 2^24 ms (~4.7 h) key-prefix windows, so a time range costs
 * seeks proportional to its length, never a scan of all history. */
#include "analytics_int.h"

#include "omega/log.h"

#include <stdlib.h>
#include <string.h>

#define WINDOW_SHIFT 24 /* records are scanned in windows of 2^24 ms */

static void be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

int ana_active_put(omega_analytics_t *a, const active_op_t *op, omega_error_t *err)
{
    char key[sizeof(KEY_ACTIVE) + ANA_ID_MAX];
    int klen = snprintf(key, sizeof(key), "%s%s", KEY_ACTIVE, op->id);
    json_t *v = json_pack("{s:s, s:s, s:O, s:I}", "id", op->id, "kind", op->kind, "labels",
                          op->labels, "started_ms", (json_int_t)op->started_ms);
    char *text = ana_dump(v);
    json_decref(v);
    int rc = omega_kv_put(a->db, OMEGA_KV_EVENTS, key, (size_t)klen, text, strlen(text), err);
    free(text);
    return rc;
}

int ana_active_delete(omega_analytics_t *a, const char *id, omega_error_t *err)
{
    char key[sizeof(KEY_ACTIVE) + ANA_ID_MAX];
    int klen = snprintf(key, sizeof(key), "%s%s", KEY_ACTIVE, id);
    return omega_kv_delete(a->db, OMEGA_KV_EVENTS, key, (size_t)klen, err);
}

/* One persisted running operation back into memory; unreadable ones are logged and
 * skipped (they cannot be ended, so they would only fill the active set). */
static int load_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    omega_analytics_t *a = ctx;
    json_t *v = json_loadb(val, vlen, 0, NULL);
    json_t *id = json_object_get(v, "id"), *kind = json_object_get(v, "kind");
    json_t *labels = json_object_get(v, "labels"), *st = json_object_get(v, "started_ms");
    if (!json_is_string(id) || !json_is_string(kind) || !json_is_object(labels) ||
        !json_is_integer(st) || a->n_active >= a->opt.max_active) {
        omega_log_warn("skipping an unreadable stored running operation (%zu bytes)", vlen);
        json_decref(v);
        return 0;
    }
    active_op_t *op = omega_calloc(1, sizeof(*op));
    op->id = omega_strdup(json_string_value(id));
    op->kind = omega_strdup(json_string_value(kind));
    op->labels = json_incref(labels);
    op->started_ms = (int64_t)json_integer_value(st);
    op->family = ana_family_get(a, op->kind, op->labels);
    if (op->family)
        op->family->active++;
    a->active = omega_realloc(a->active, (a->n_active + 1) * sizeof(*a->active));
    a->active[a->n_active++] = op;
    json_decref(v);
    return 0;
}

int ana_active_load(omega_analytics_t *a, omega_error_t *err)
{
    return omega_kv_scan(a->db, OMEGA_KV_EVENTS, KEY_ACTIVE, strlen(KEY_ACTIVE), load_one, a, err);
}

int ana_record_put(omega_analytics_t *a, const char *id, int64_t ended_ms, json_t *item,
                   omega_error_t *err)
{
    unsigned char key[RECORD_ID_OFF + ANA_ID_MAX];
    size_t idlen = strlen(id);
    memcpy(key, KEY_RECORD, KEY_RECORD_LEN);
    be64(key + RECORD_TS_OFF, (uint64_t)(ended_ms < 0 ? 0 : ended_ms));
    uint32_t seq = a->seq++;
    for (int i = 0; i < 4; i++)
        key[RECORD_TS_OFF + 8 + i] = (unsigned char)(seq >> (24 - 8 * i));
    memcpy(key + RECORD_ID_OFF, id, idlen);
    char *text = ana_dump(item);
    int rc =
        omega_kv_put(a->db, OMEGA_KV_EVENTS, key, RECORD_ID_OFF + idlen, text, strlen(text), err);
    free(text);
    return rc;
}

/* The newest `cap` records of one window inside [since, until], kept in a ring. */
typedef struct window_scan {
    int64_t since, until; /* range, inclusive */
    char **ring;          /* cap slots of record text */
    size_t cap, n, head;  /* capacity, filled, next slot */
    size_t dropped;       /* in-range records pushed out of the ring */
} window_scan_t;

static int scan_window(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    window_scan_t *w = ctx;
    if (klen < RECORD_ID_OFF)
        return 0;
    int64_t ts = (int64_t)get_be64((const unsigned char *)key + RECORD_TS_OFF);
    if (ts > w->until)
        return 1; /* keys ascend: nothing after this is in range */
    if (ts < w->since)
        return 0;
    if (w->n == w->cap) {
        free(w->ring[w->head]);
        w->dropped++;
    } else {
        w->n++;
    }
    w->ring[w->head] = omega_strndup(val, vlen);
    w->head = (w->head + 1) % w->cap;
    return 0;
}

static int first_record(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    if (klen >= RECORD_ID_OFF)
        *(int64_t *)ctx = (int64_t)get_be64((const unsigned char *)key + RECORD_TS_OFF);
    return 1;
}

/* Move the ring's records into items newest first. */
static void drain_ring(window_scan_t *w, json_t *items)
{
    for (size_t i = 0; i < w->n; i++) {
        size_t slot = (w->head + w->cap - 1 - i) % w->cap;
        json_t *o = json_loads(w->ring[slot], 0, NULL);
        if (o)
            json_array_append_new(items, o);
        free(w->ring[slot]);
    }
    w->n = w->head = 0;
}

int ana_record_list(omega_analytics_t *a, const omega_analytics_query_t *q, size_t want,
                    json_t *items, int *truncated, omega_error_t *err)
{
    int64_t first = -1;
    int rc = omega_kv_scan(a->db, OMEGA_KV_EVENTS, KEY_RECORD, KEY_RECORD_LEN, first_record, &first,
                           err);
    if (rc < 0 || first < 0 || want == 0)
        return rc < 0 ? rc : 0;
    int64_t lo = q->since_ms > first ? q->since_ms : first;
    if (q->until_ms < lo)
        return 0;
    /* One slot more than wanted tells whether the answer is truncated. */
    window_scan_t w = {.since = lo, .until = q->until_ms, .cap = want + 1};
    w.ring = omega_calloc(w.cap, sizeof(char *));
    size_t got = 0;
    unsigned char prefix[KEY_RECORD_LEN + 5];
    memcpy(prefix, KEY_RECORD, KEY_RECORD_LEN);
    for (uint64_t win = (uint64_t)q->until_ms >> WINDOW_SHIFT;; win--) {
        unsigned char ts[8];
        be64(ts, win << WINDOW_SHIFT);
        memcpy(prefix + KEY_RECORD_LEN, ts, 5);
        w.cap = want + 1 - got;
        rc = omega_kv_scan(a->db, OMEGA_KV_EVENTS, prefix, sizeof(prefix), scan_window, &w, err);
        if (rc < 0)
            break;
        rc = 0;
        got += w.n;
        drain_ring(&w, items);
        if (got > want || w.dropped || win == ((uint64_t)lo >> WINDOW_SHIFT))
            break;
    }
    if (got > want) {
        json_array_remove(items, json_array_size(items) - 1);
        *truncated = 1;
    } else if (w.dropped) {
        *truncated = 1;
    }
    for (size_t i = 0; i < w.n; i++)
        free(w.ring[(w.head + w.cap - 1 - i) % w.cap]);
    free(w.ring);
    return rc;
}

/* Keys of records that ended before a cutoff, oldest first, at most max. */
typedef struct prune_scan {
    int64_t cutoff; /* records that ended before this go */
    size_t max;     /* keys collected at most */
    char **keys;    /* collected keys (owned) */
    size_t *lens;   /* their lengths */
    size_t n;       /* collected */
} prune_scan_t;

static int collect_old(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    prune_scan_t *p = ctx;
    if (klen < RECORD_ID_OFF ||
        (int64_t)get_be64((const unsigned char *)key + RECORD_TS_OFF) >= p->cutoff ||
        p->n == p->max)
        return 1; /* keys ascend by end time: the rest is newer */
    p->keys[p->n] = omega_malloc(klen);
    memcpy(p->keys[p->n], key, klen);
    p->lens[p->n++] = klen;
    return 0;
}

int ana_record_prune(omega_analytics_t *a, int64_t cutoff_ms, size_t max, size_t *deleted,
                     omega_error_t *err)
{
    *deleted = 0;
    prune_scan_t p = {.cutoff = cutoff_ms, .max = max};
    p.keys = omega_calloc(max ? max : 1, sizeof(char *));
    p.lens = omega_calloc(max ? max : 1, sizeof(size_t));
    int rc =
        omega_kv_scan(a->db, OMEGA_KV_EVENTS, KEY_RECORD, KEY_RECORD_LEN, collect_old, &p, err);
    rc = rc < 0 ? rc : 0;
    for (size_t i = 0; i < p.n; i++) {
        if (rc == 0 &&
            (rc = omega_kv_delete(a->db, OMEGA_KV_EVENTS, p.keys[i], p.lens[i], err)) == 0)
            (*deleted)++;
        free(p.keys[i]);
    }
    free(p.keys);
    free(p.lens);
    return rc;
}
