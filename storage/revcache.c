/* SPDX-License-Identifier: Apache-2.0 */
/* The series id -> canonical key cache that spares queries and alert evaluations a
 * RocksDB read per series. Ids are handed out in sequence, so a direct-mapped table
 * indexed by the id's low bits rarely collides; it doubles (up to a bound) as ids grow and
 * a collision simply replaces the older entry. Erase forgets its ids after committing; an
 * entry re-added by a lookup racing that erase is harmless, since ids are never reused and
 * an erased id is no longer reachable from any posting. */
#include "storage_int.h"

#include <stdlib.h>
#include <string.h>

#define REV_MIN_SLOTS 1024u
#define REV_MAX_SLOTS (1u << 18)

int storage_revcache_init(storage_revcache_t *c)
{
    memset(c, 0, sizeof(*c));
    if (pthread_rwlock_init(&c->lock, NULL) != 0)
        return -1;
    c->slots = omega_calloc(REV_MIN_SLOTS, sizeof(*c->slots));
    c->n_slots = REV_MIN_SLOTS;
    return 0;
}

void storage_revcache_deinit(storage_revcache_t *c)
{
    if (!c->slots)
        return;
    for (size_t i = 0; i < c->n_slots; i++)
        free(c->slots[i].key);
    free(c->slots);
    c->slots = NULL;
    pthread_rwlock_destroy(&c->lock);
}

int storage_revcache_get(storage_revcache_t *c, uint64_t id, char **key, size_t *klen)
{
    int found = 0;
    pthread_rwlock_rdlock(&c->lock);
    const storage_revslot_t *s = &c->slots[id & (c->n_slots - 1)];
    if (s->key && s->id == id) {
        *key = omega_malloc(s->klen ? s->klen : 1);
        memcpy(*key, s->key, s->klen);
        *klen = s->klen;
        found = 1;
    }
    pthread_rwlock_unlock(&c->lock);
    return found;
}

/* Double the table (under the write lock) until id has its own slot or the bound. */
static void grow_for(storage_revcache_t *c, uint64_t id)
{
    size_t n = c->n_slots;
    while (n < REV_MAX_SLOTS && id >= n)
        n *= 2;
    if (n == c->n_slots)
        return;
    storage_revslot_t *ns = omega_calloc(n, sizeof(*ns));
    for (size_t i = 0; i < c->n_slots; i++)
        if (c->slots[i].key)
            ns[c->slots[i].id & (n - 1)] = c->slots[i]; /* distinct ids stay distinct */
    free(c->slots);
    c->slots = ns;
    c->n_slots = n;
}

void storage_revcache_put(storage_revcache_t *c, uint64_t id, const char *key, size_t klen)
{
    char *copy = omega_malloc(klen ? klen : 1);
    memcpy(copy, key, klen);
    pthread_rwlock_wrlock(&c->lock);
    grow_for(c, id);
    storage_revslot_t *s = &c->slots[id & (c->n_slots - 1)];
    free(s->key);
    *s = (storage_revslot_t){.id = id, .klen = klen, .key = copy};
    pthread_rwlock_unlock(&c->lock);
}

void storage_revcache_forget(storage_revcache_t *c, const uint64_t *ids, size_t n)
{
    pthread_rwlock_wrlock(&c->lock);
    for (size_t i = 0; i < n; i++) {
        storage_revslot_t *s = &c->slots[ids[i] & (c->n_slots - 1)];
        if (s->key && s->id == ids[i]) {
            free(s->key);
            *s = (storage_revslot_t){0};
        }
    }
    pthread_rwlock_unlock(&c->lock);
}
