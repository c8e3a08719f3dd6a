/* SPDX-License-Identifier: Apache-2.0 */
/* The series index: canonical series keys, the forward/reverse/postings records in the
 * `series` column family, the id and count counters, and an in-memory cache of
 * canonical key -> id so repeated writes to a series never read RocksDB. Series creation
 * itself (locking, batching) is driven by write.c. */
#include "storage_int.h"

#include <stdlib.h>
#include <string.h>

#define CACHE_INITIAL_BUCKETS 1024

/* ---- canonical series key ---- */

static size_t varint_put(char *dst, size_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        dst[n++] = (char)((v & 0x7f) | 0x80);
        v >>= 7;
    }
    dst[n++] = (char)v;
    return n;
}

/* Read one length-prefixed string at *p (< end); 0 and advances, or -1 when malformed. */
static int canon_next(const char **p, const char *end, const char **s, size_t *len)
{
    size_t v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        if (*p >= end)
            return -1;
        unsigned char c = (unsigned char)*(*p)++;
        v |= (size_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            if ((size_t)(end - *p) < v)
                return -1;
            *s = *p;
            *len = v;
            *p += v;
            return 0;
        }
    }
    return -1;
}

static size_t append_str(char **buf, size_t *cap, size_t len, const char *s, size_t slen)
{
    if (*cap - len < slen + 10) {
        size_t want = (len + slen + 10) * 2;
        *buf = omega_realloc(*buf, want);
        *cap = want;
    }
    len += varint_put(*buf + len, slen);
    memcpy(*buf + len, s, slen);
    return len + slen;
}

size_t storage_canon_encode(char **buf, size_t *cap, size_t len, const char *name,
                            const omega_label_t *labels, size_t n_labels)
{
    len = append_str(buf, cap, len, name, strlen(name));
    return storage_canon_encode_labels(buf, cap, len, labels, n_labels);
}

size_t storage_canon_encode_labels(char **buf, size_t *cap, size_t len,
                                   const omega_label_t *labels, size_t n_labels)
{
    for (size_t i = 0; i < n_labels; i++) {
        len = append_str(buf, cap, len, labels[i].name, strlen(labels[i].name));
        len = append_str(buf, cap, len, labels[i].value, strlen(labels[i].value));
    }
    return len;
}

int storage_canon_decode(const char *key, size_t klen, omega_series_t *out, char **strbuf,
                         omega_label_t **labels)
{
    const char *p = key, *end = key + klen, *s;
    size_t len, n_strings = 0;
    *strbuf = NULL;
    *labels = NULL;
    /* Every string needs at least its 1-byte length, so klen bounds the count. */
    char *sb = omega_malloc(klen + klen + 1);
    omega_label_t *lb = omega_calloc(klen / 2 + 1, sizeof(*lb));
    char *w = sb;
    const char *strs[2] = {NULL, NULL};
    while (p < end) {
        if (canon_next(&p, end, &s, &len) != 0 || memchr(s, '\0', len)) {
            free(sb);
            free(lb);
            return OMEGA_ECORRUPT;
        }
        memcpy(w, s, len);
        w[len] = '\0';
        if (n_strings == 0) {
            out->name = w;
        } else {
            strs[(n_strings - 1) % 2] = w;
            if (n_strings % 2 == 0)
                lb[n_strings / 2 - 1] = (omega_label_t){strs[0], strs[1]};
        }
        w += len + 1;
        n_strings++;
    }
    if (n_strings == 0 || n_strings % 2 == 0) {
        free(sb);
        free(lb);
        return OMEGA_ECORRUPT;
    }
    out->labels = lb;
    out->n_labels = (n_strings - 1) / 2;
    *strbuf = sb;
    *labels = lb;
    return 0;
}

/* ---- cache ---- */

static uint64_t hash_bytes(const char *s, size_t n)
{
    /* Eight bytes per multiply (keys are 30-200 bytes), then an avalanche so the low
     * bits pick buckets well. Only in memory: never stored, free to change. */
    const uint64_t k = UINT64_C(0x9e3779b97f4a7c15);
    uint64_t h = (uint64_t)n * k, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * k;
        h ^= h >> 29;
    }
    if (n) {
        w = 0;
        memcpy(&w, s, n);
        h = (h ^ w) * k;
        h ^= h >> 29;
    }
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return h;
}

static storage_idmap_entry_t *idmap_find(const storage_idmap_t *m, uint64_t h, const char *key,
                                         size_t klen)
{
    storage_idmap_entry_t *e = m->buckets[h & (m->n_buckets - 1)];
    for (; e; e = e->next)
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    return NULL;
}

static void idmap_grow(storage_idmap_t *m)
{
    size_t n = m->n_buckets * 2;
    storage_idmap_entry_t **nb = omega_calloc(n, sizeof(*nb));
    for (size_t i = 0; i < m->n_buckets; i++) {
        storage_idmap_entry_t *e = m->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            e->next = nb[e->hash & (n - 1)];
            nb[e->hash & (n - 1)] = e;
        }
    }
    free(m->buckets);
    m->buckets = nb;
    m->n_buckets = n;
}

void storage_idmap_init(storage_idmap_t *m, size_t n_buckets)
{
    size_t n = 16;
    while (n < n_buckets)
        n *= 2;
    m->buckets = omega_calloc(n, sizeof(*m->buckets));
    m->n_buckets = n;
    m->n_entries = 0;
}

int storage_idmap_get(const storage_idmap_t *m, const char *key, size_t klen, uint64_t *id)
{
    storage_idmap_entry_t *e = idmap_find(m, hash_bytes(key, klen), key, klen);
    if (e)
        *id = e->id;
    return e != NULL;
}

void storage_idmap_put(storage_idmap_t *m, const char *key, size_t klen, uint64_t id)
{
    uint64_t h = hash_bytes(key, klen);
    if (idmap_find(m, h, key, klen))
        return;
    storage_idmap_entry_t *e = omega_malloc(sizeof(*e) + klen);
    e->hash = h;
    e->id = id;
    e->klen = klen;
    memcpy(e->key, key, klen);
    e->next = m->buckets[h & (m->n_buckets - 1)];
    m->buckets[h & (m->n_buckets - 1)] = e;
    if (++m->n_entries > m->n_buckets)
        idmap_grow(m);
}

void storage_idmap_deinit(storage_idmap_t *m)
{
    if (!m->buckets)
        return;
    for (size_t i = 0; i < m->n_buckets; i++) {
        storage_idmap_entry_t *e = m->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(m->buckets);
    m->buckets = NULL;
    m->n_buckets = m->n_entries = 0;
}

size_t storage_index_cached_many(storage_index_t *ix, const char *keys, const size_t *off,
                                 uint64_t *ids, size_t n)
{
    size_t missing = 0;
    pthread_rwlock_rdlock(&ix->cache_lock);
    for (size_t i = 0; i < n; i++) {
        const char *k = keys + off[i];
        size_t klen = off[i + 1] - off[i];
        /* Batches usually repeat a series in consecutive points. */
        if (i > 0 && ids[i - 1] && klen == off[i] - off[i - 1] &&
            memcmp(k, keys + off[i - 1], klen) == 0)
            ids[i] = ids[i - 1];
        else if (!storage_idmap_get(&ix->cache, k, klen, &ids[i]))
            missing++;
    }
    pthread_rwlock_unlock(&ix->cache_lock);
    return missing;
}

int storage_index_cached(storage_index_t *ix, const char *key, size_t klen, uint64_t *id)
{
    pthread_rwlock_rdlock(&ix->cache_lock);
    int found = storage_idmap_get(&ix->cache, key, klen, id);
    pthread_rwlock_unlock(&ix->cache_lock);
    return found;
}

void storage_index_cache_put(storage_index_t *ix, const char *key, size_t klen, uint64_t id)
{
    pthread_rwlock_wrlock(&ix->cache_lock);
    storage_idmap_put(&ix->cache, key, klen, id);
    pthread_rwlock_unlock(&ix->cache_lock);
}

/* ---- lifecycle ---- */

int storage_index_init_locks(storage_index_t *ix)
{
    memset(ix, 0, sizeof(*ix));
    ix->next_id = 1;
    atomic_init(&ix->n_series, 0);
    if (pthread_rwlock_init(&ix->cache_lock, NULL) != 0)
        return -1;
    if (pthread_mutex_init(&ix->create_lock, NULL) != 0) {
        pthread_rwlock_destroy(&ix->cache_lock);
        return -1;
    }
    if (storage_revcache_init(&ix->rev) != 0) {
        pthread_mutex_destroy(&ix->create_lock);
        pthread_rwlock_destroy(&ix->cache_lock);
        return -1;
    }
    if (storage_postcache_init(&ix->posts) != 0) {
        storage_revcache_deinit(&ix->rev);
        pthread_mutex_destroy(&ix->create_lock);
        pthread_rwlock_destroy(&ix->cache_lock);
        return -1;
    }
    /* Set last: a non-NULL cache tells deinit the locks exist. */
    storage_idmap_init(&ix->cache, CACHE_INITIAL_BUCKETS);
    return 0;
}

/* Read a u64 counter key of the series CF; absent reads as dflt. */
static int read_counter(omega_tsdb_t *db, char tag, uint64_t dflt, uint64_t *out,
                        omega_error_t *err)
{
    char *errptr = NULL;
    size_t vlen = 0;
    char *v =
        rocksdb_get_cf(db->rdb, db->ropts, db->cf[STORAGE_CF_SERIES], &tag, 1, &vlen, &errptr);
    if (errptr)
        return storage_rocks_error(errptr, err, "series counter read");
    *out = dflt;
    if (v && vlen == 8)
        *out = storage_get_u64be(v);
    rocksdb_free(v);
    if (v && vlen != 8)
        return omega_error_set(err, OMEGA_ECORRUPT, "storage: series counter '%c' is corrupt", tag);
    return 0;
}

int storage_index_init(omega_tsdb_t *db, omega_error_t *err)
{
    uint64_t next = 1, count = 0;
    int rc = read_counter(db, STORAGE_SERIES_NEXT, 1, &next, err);
    if (rc == 0)
        rc = read_counter(db, STORAGE_SERIES_COUNT, 0, &count, err);
    if (rc != 0)
        return rc;
    db->index.next_id = next;
    atomic_store(&db->index.n_series, count);
    return 0;
}

void storage_index_deinit(storage_index_t *ix)
{
    if (!ix->cache.buckets)
        return; /* never initialised */
    storage_idmap_deinit(&ix->cache);
    storage_revcache_deinit(&ix->rev);
    storage_postcache_deinit(&ix->posts);
    pthread_rwlock_destroy(&ix->cache_lock);
    pthread_mutex_destroy(&ix->create_lock);
}

void storage_index_bump(storage_index_t *ix)
{
    atomic_fetch_add_explicit(&ix->gen, 1, memory_order_release);
    atomic_store(&ix->gen_mono_ms, omega_mono_ns() / 1000000);
}

/* ---- records in the series CF ---- */

int storage_index_lookup_disk(omega_tsdb_t *db, const char *key, size_t klen, uint64_t *id,
                              omega_error_t *err)
{
    char *fk = omega_malloc(klen + 1);
    fk[0] = STORAGE_SERIES_FWD;
    memcpy(fk + 1, key, klen);
    char *errptr = NULL;
    size_t vlen = 0;
    char *v =
        rocksdb_get_cf(db->rdb, db->ropts, db->cf[STORAGE_CF_SERIES], fk, klen + 1, &vlen, &errptr);
    free(fk);
    if (errptr)
        return storage_rocks_error(errptr, err, "series lookup");
    if (!v)
        return OMEGA_ENOENT;
    int rc = 0;
    if (vlen == 8)
        *id = storage_get_u64be(v);
    else
        rc = omega_error_set(err, OMEGA_ECORRUPT, "storage: series id record is corrupt");
    rocksdb_free(v);
    return rc;
}

static void put_posting(omega_tsdb_t *db, rocksdb_writebatch_t *wb, char **buf, size_t *cap,
                        const char *lname, size_t nlen, const char *lval, size_t vlen,
                        const char idbe[8])
{
    size_t need = 1 + nlen + 1 + vlen + 1 + 8;
    if (*cap < need) {
        *buf = omega_realloc(*buf, need);
        *cap = need;
    }
    char *p = *buf;
    *p++ = STORAGE_SERIES_POST;
    memcpy(p, lname, nlen);
    p += nlen;
    *p++ = '\0';
    memcpy(p, lval, vlen);
    p += vlen;
    *p++ = '\0';
    memcpy(p, idbe, 8);
    rocksdb_writebatch_put_cf(wb, db->cf[STORAGE_CF_SERIES], *buf, need, "", 0);
}

void storage_index_add_series(omega_tsdb_t *db, rocksdb_writebatch_t *wb, uint64_t id,
                              const char *key, size_t klen)
{
    rocksdb_column_family_handle_t *cf = db->cf[STORAGE_CF_SERIES];
    char idbe[8], rk[9];
    storage_put_u64be(idbe, id);
    size_t cap = klen + 32;
    char *buf = omega_malloc(cap);
    buf[0] = STORAGE_SERIES_FWD;
    memcpy(buf + 1, key, klen);
    rocksdb_writebatch_put_cf(wb, cf, buf, klen + 1, idbe, 8);
    rk[0] = STORAGE_SERIES_REV;
    memcpy(rk + 1, idbe, 8);
    rocksdb_writebatch_put_cf(wb, cf, rk, sizeof(rk), key, klen);

    const char *p = key, *end = key + klen, *name, *lname, *lval;
    size_t name_len, nlen, vlen;
    /* The key was built by storage_canon_encode a moment ago, so it parses. */
    if (canon_next(&p, end, &name, &name_len) == 0)
        put_posting(db, wb, &buf, &cap, "__name__", 8, name, name_len, idbe);
    while (p < end && canon_next(&p, end, &lname, &nlen) == 0 &&
           canon_next(&p, end, &lval, &vlen) == 0)
        put_posting(db, wb, &buf, &cap, lname, nlen, lval, vlen, idbe);
    free(buf);
}

void storage_index_add_counters(omega_tsdb_t *db, rocksdb_writebatch_t *wb, uint64_t next_id,
                                uint64_t n_series)
{
    char k, v[8];
    k = STORAGE_SERIES_NEXT;
    storage_put_u64be(v, next_id);
    rocksdb_writebatch_put_cf(wb, db->cf[STORAGE_CF_SERIES], &k, 1, v, 8);
    k = STORAGE_SERIES_COUNT;
    storage_put_u64be(v, n_series);
    rocksdb_writebatch_put_cf(wb, db->cf[STORAGE_CF_SERIES], &k, 1, v, 8);
}

int storage_index_reverse(omega_tsdb_t *db, uint64_t id, char **key, size_t *klen,
                          omega_error_t *err)
{
    if (storage_revcache_get(&db->index.rev, id, key, klen))
        return 0;
    char rk[9];
    rk[0] = STORAGE_SERIES_REV;
    storage_put_u64be(rk + 1, id);
    char *errptr = NULL;
    size_t vlen = 0;
    char *v = rocksdb_get_cf(db->rdb, db->ropts, db->cf[STORAGE_CF_SERIES], rk, sizeof(rk), &vlen,
                             &errptr);
    if (errptr)
        return storage_rocks_error(errptr, err, "series reverse lookup");
    if (!v)
        return OMEGA_ENOENT;
    *key = omega_malloc(vlen ? vlen : 1);
    memcpy(*key, v, vlen);
    *klen = vlen;
    rocksdb_free(v);
    storage_revcache_put(&db->index.rev, id, *key, vlen);
    return 0;
}
