/* SPDX-License-Identifier: Apache-2.0 */
/* The equality-postings cache: the sorted ids posted under one (label, value), kept in
 * memory so that selects by label (alert rules evaluated every second, dashboard panels)
 * intersect lists in memory instead of seeking RocksDB per candidate. Every entry carries
 * the index generation it was read at; creating or erasing series bumps the generation
 * after the commit, which retires every entry at once. A reader takes the generation
 * before scanning RocksDB, so an entry can only be older than what it holds, never newer.
 * Bounded: past STORAGE_POSTCACHE_MAX_IDS ids in all, the cache is emptied. */
#include "storage_int.h"

#include <stdlib.h>
#include <string.h>

#define POSTCACHE_BUCKETS 1024u /* fixed: entries are few (distinct selectors) */

typedef struct postentry {
    struct postentry *next; /* bucket chain */
    uint64_t hash;          /* of key */
    uint64_t gen;           /* index generation the ids were read at */
    size_t klen;            /* bytes in key */
    char *key;              /* posting prefix ('P' name NUL value NUL), owned */
    uint64_t *ids;          /* sorted ids, owned */
    size_t n;               /* entries in ids */
} postentry_t;

static uint64_t hash_key(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    return h;
}

int storage_postcache_init(storage_postcache_t *c)
{
    memset(c, 0, sizeof(*c));
    if (pthread_rwlock_init(&c->lock, NULL) != 0)
        return -1;
    c->buckets = omega_calloc(POSTCACHE_BUCKETS, sizeof(*c->buckets));
    return 0;
}

static void drop_all(storage_postcache_t *c)
{
    for (size_t b = 0; b < POSTCACHE_BUCKETS; b++) {
        postentry_t *e = c->buckets[b], *next;
        for (; e; e = next) {
            next = e->next;
            free(e->key);
            free(e->ids);
            free(e);
        }
        c->buckets[b] = NULL;
    }
    c->total_ids = 0;
}

void storage_postcache_deinit(storage_postcache_t *c)
{
    if (!c->buckets)
        return;
    drop_all(c);
    free(c->buckets);
    c->buckets = NULL;
    pthread_rwlock_destroy(&c->lock);
}

/* The entry of key valid at gen, or NULL (caller holds the lock). */
static postentry_t *find(const storage_postcache_t *c, const char *key, size_t klen, uint64_t h,
                         uint64_t gen)
{
    for (postentry_t *e = c->buckets[h % POSTCACHE_BUCKETS]; e; e = e->next)
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e->gen == gen ? e : NULL;
    return NULL;
}

/* Whether sorted ids[0..n) holds id (binary search). */
static int holds(const uint64_t *ids, size_t n, uint64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && ids[lo] == id;
}

int storage_postcache_intersect(storage_postcache_t *c, const char *const *keys,
                                const size_t *klens, size_t n, uint64_t gen,
                                void (*push)(void *ctx, uint64_t id), void *ctx)
{
    postentry_t *e[STORAGE_POSTCACHE_MAX_LISTS];
    if (n == 0 || n > STORAGE_POSTCACHE_MAX_LISTS)
        return 0;
    pthread_rwlock_rdlock(&c->lock);
    size_t small = 0;
    for (size_t i = 0; i < n; i++) {
        e[i] = find(c, keys[i], klens[i], hash_key(keys[i], klens[i]), gen);
        if (!e[i]) {
            pthread_rwlock_unlock(&c->lock);
            return 0;
        }
        if (e[i]->n < e[small]->n)
            small = i;
    }
    /* every id of the shortest list that all the others hold, in order */
    for (size_t k = 0; k < e[small]->n; k++) {
        uint64_t id = e[small]->ids[k];
        size_t i = 0;
        while (i < n && (i == small || holds(e[i]->ids, e[i]->n, id)))
            i++;
        if (i == n)
            push(ctx, id);
    }
    pthread_rwlock_unlock(&c->lock);
    return 1;
}

int storage_postcache_has(storage_postcache_t *c, const char *key, size_t klen, uint64_t gen)
{
    pthread_rwlock_rdlock(&c->lock);
    int found = find(c, key, klen, hash_key(key, klen), gen) != NULL;
    pthread_rwlock_unlock(&c->lock);
    return found;
}

void storage_postcache_put(storage_postcache_t *c, const char *key, size_t klen, uint64_t gen,
                           const uint64_t *ids, size_t n)
{
    if (n > STORAGE_POSTCACHE_MAX_IDS)
        return;
    uint64_t h = hash_key(key, klen);
    pthread_rwlock_wrlock(&c->lock);
    if (c->total_ids + n > STORAGE_POSTCACHE_MAX_IDS)
        drop_all(c);
    postentry_t **pp = &c->buckets[h % POSTCACHE_BUCKETS];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == h && (*pp)->klen == klen && memcmp((*pp)->key, key, klen) == 0)
            break;
    postentry_t *e = *pp;
    if (!e) {
        e = omega_calloc(1, sizeof(*e));
        e->hash = h;
        e->klen = klen;
        e->key = omega_malloc(klen);
        memcpy(e->key, key, klen);
        *pp = e;
    } else if (e->gen >= gen) {
        pthread_rwlock_unlock(&c->lock); /* as new or newer already */
        return;
    }
    c->total_ids -= e->n;
    free(e->ids);
    e->ids = omega_malloc((n ? n : 1) * sizeof(*ids));
    if (n)
        memcpy(e->ids, ids, n * sizeof(*ids));
    e->n = n;
    e->gen = gen;
    c->total_ids += n;
    pthread_rwlock_unlock(&c->lock);
}
