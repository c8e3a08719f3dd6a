/* SPDX-License-Identifier: Apache-2.0 */
/* Right to erasure: remove every matching series from every tier (memory head, head log,
 * raw chunks, h1/d1/w1/mo1 rollups, pending rollup marks, format-1 samples) and from the
 * series index, then compact the erased key ranges so the bytes leave the SST files too.
 * Built on the index and head helpers of storage_int.h; callers audit it. */
#include "storage_int.h"

#include "omega/log.h"

#include <stdlib.h>
#include <string.h>

#define ERASE_RETRIES 8 /* seal rounds tried while writers keep refilling a head */

typedef struct idvec {
    uint64_t *v;   /* series ids, owned */
    size_t n, cap; /* used / allocated */
} idvec_t;

static int collect_id(void *ctx, const omega_series_t *s, const omega_sample_t *samples, size_t n)
{
    (void)samples, (void)n;
    idvec_t *ids = ctx;
    if (ids->n == ids->cap) {
        ids->cap = ids->cap ? 2 * ids->cap : 64;
        ids->v = omega_realloc(ids->v, ids->cap * sizeof(*ids->v));
    }
    ids->v[ids->n++] = s->id;
    return 0;
}

/* Number of keys of series id in cf (keys start with the id, 8 bytes big-endian). */
static uint64_t count_keys(omega_tsdb_t *db, int cf, const char lo[8], const char hi[8])
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, hi, 8);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(db->rdb, ro, db->cf[cf]);
    uint64_t n = 0;
    for (rocksdb_iter_seek(it, lo, 8); rocksdb_iter_valid(it); rocksdb_iter_next(it))
        n++;
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return n;
}

/* Is a head of any id in ids non-empty? Caller holds seal_lock exclusively. */
static int heads_busy(omega_tsdb_t *db, const idvec_t *ids)
{
    for (size_t i = 0; i < ids->n; i++) {
        storage_head_stripe_t *st = storage_head_stripe(&db->heads, ids->v[i]);
        pthread_mutex_lock(&st->lock);
        storage_head_t *e = storage_head_find(st, ids->v[i], 0);
        int busy = e && e->n > 0;
        pthread_mutex_unlock(&st->lock);
        if (busy)
            return 1;
    }
    return 0;
}

/* Unlink and free series id's (empty) head. Caller holds seal_lock exclusively. */
static void head_drop(omega_tsdb_t *db, uint64_t id)
{
    storage_head_stripe_t *st = storage_head_stripe(&db->heads, id);
    pthread_mutex_lock(&st->lock);
    for (size_t b = 0; b < st->n_buckets; b++)
        for (storage_head_t **pp = &st->buckets[b]; *pp; pp = &(*pp)->next)
            if ((*pp)->id == id) {
                storage_head_t *e = *pp;
                *pp = e->next;
                storage_head_free(e);
                st->n--;
                pthread_mutex_unlock(&st->lock);
                return;
            }
    pthread_mutex_unlock(&st->lock);
}

static int cmp_id(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Forget the ids (sorted) in the in-memory key -> id cache, so a later write makes a new
 * series. The cache is keyed by series key, so every entry is visited once. */
static void cache_drop(omega_tsdb_t *db, const idvec_t *ids)
{
    storage_idmap_t *m = &db->index.cache;
    pthread_rwlock_wrlock(&db->index.cache_lock);
    for (size_t b = 0; b < m->n_buckets; b++)
        for (storage_idmap_entry_t **pp = &m->buckets[b]; *pp;) {
            storage_idmap_entry_t *e = *pp;
            if (bsearch(&e->id, ids->v, ids->n, sizeof(*ids->v), cmp_id)) {
                *pp = e->next;
                free(e);
                m->n_entries--;
            } else {
                pp = &e->next;
            }
        }
    pthread_rwlock_unlock(&db->index.cache_lock);
}

/* Add the deletion of series id's index records (forward, reverse, postings) to wb. */
static int index_delete(omega_tsdb_t *db, rocksdb_writebatch_t *wb, uint64_t id, omega_error_t *err)
{
    char *canon = NULL, *strbuf = NULL;
    omega_label_t *labels = NULL;
    size_t klen = 0;
    omega_series_t s;
    int rc = storage_index_reverse(db, id, &canon, &klen, err);
    if (rc != 0)
        return rc;
    rc = storage_canon_decode(canon, klen, &s, &strbuf, &labels);
    if (rc != 0) {
        free(canon);
        return omega_error_set(err, rc, "storage: series %llu has a corrupt index entry",
                               (unsigned long long)id);
    }
    rocksdb_column_family_handle_t *cf = db->cf[STORAGE_CF_SERIES];
    char idbe[8], rk[9];
    storage_put_u64be(idbe, id);
    rk[0] = STORAGE_SERIES_REV;
    memcpy(rk + 1, idbe, 8);
    rocksdb_writebatch_delete_cf(wb, cf, rk, sizeof(rk));
    char *buf = omega_malloc(klen + 1);
    buf[0] = STORAGE_SERIES_FWD;
    memcpy(buf + 1, canon, klen);
    rocksdb_writebatch_delete_cf(wb, cf, buf, klen + 1);
    for (size_t i = 0; i <= s.n_labels; i++) {
        const char *ln = i == 0 ? "__name__" : labels[i - 1].name;
        const char *lv = i == 0 ? s.name : labels[i - 1].value;
        size_t nl = strlen(ln), vl = strlen(lv), need = 1 + nl + 1 + vl + 1 + 8;
        buf = omega_realloc(buf, need);
        buf[0] = STORAGE_SERIES_POST;
        memcpy(buf + 1, ln, nl + 1);
        memcpy(buf + 2 + nl, lv, vl + 1);
        memcpy(buf + 3 + nl + vl, idbe, 8);
        rocksdb_writebatch_delete_cf(wb, cf, buf, need);
    }
    free(buf);
    free(strbuf);
    free(labels);
    free(canon);
    return 0;
}

/* Count and delete everything of the ids in every tier and the index, in one batch.
 * Caller holds rollup.run_lock and seal_lock exclusively. */
static int erase_locked(omega_tsdb_t *db, const idvec_t *ids, omega_tsdb_erase_stats_t *st,
                        omega_error_t *err)
{
    static const int tiers[] = {STORAGE_CF_RAW, STORAGE_CF_H1,  STORAGE_CF_D1,
                                STORAGE_CF_W1,  STORAGE_CF_MO1, STORAGE_CF_SAMPLES};
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    int rc = 0;
    uint64_t erased = 0;
    for (size_t i = 0; rc == 0 && i < ids->n; i++) {
        char lo[9], hi[9];
        storage_put_u64be(lo + 1, ids->v[i]);
        storage_put_u64be(hi + 1, ids->v[i] + 1);
        st->raw_chunks += count_keys(db, STORAGE_CF_RAW, lo + 1, hi + 1);
        for (int t = 0; t < 4; t++)
            st->rollup_buckets[t] += count_keys(db, STORAGE_CF_H1 + t, lo + 1, hi + 1);
        for (size_t t = 0; t < sizeof(tiers) / sizeof(tiers[0]); t++)
            rocksdb_writebatch_delete_range_cf(wb, db->cf[tiers[t]], lo + 1, 8, hi + 1, 8);
        lo[0] = hi[0] = STORAGE_ROLLUP_MARK;
        rocksdb_writebatch_delete_range_cf(wb, db->cf[STORAGE_CF_DEFAULT], lo, 9, hi, 9);
        rc = index_delete(db, wb, ids->v[i], err);
        if (rc == OMEGA_ENOENT) /* erased by a concurrent call: nothing left to count */
            rc = 0;
        else if (rc == 0)
            erased++;
    }
    pthread_mutex_lock(&db->index.create_lock);
    if (rc == 0) {
        uint64_t n = atomic_load(&db->index.n_series);
        storage_index_add_counters(db, wb, db->index.next_id, n > erased ? n - erased : 0);
        char *errptr = NULL;
        rocksdb_write(db->rdb, db->wopts, wb, &errptr);
        if (errptr)
            rc = storage_rocks_error(errptr, err, "erase");
        else
            atomic_store(&db->index.n_series, n > erased ? n - erased : 0);
        if (rc == 0) { /* open query iterators and cached postings must forget them */
            atomic_fetch_add_explicit(&db->heads.chunk_epoch, 1, memory_order_release);
            storage_index_bump(&db->index);
        }
    }
    pthread_mutex_unlock(&db->index.create_lock);
    rocksdb_writebatch_destroy(wb);
    if (rc == 0) {
        cache_drop(db, ids);
        storage_revcache_forget(&db->index.rev, ids->v, ids->n);
        for (size_t i = 0; i < ids->n; i++)
            head_drop(db, ids->v[i]);
        st->series = erased;
    }
    return rc;
}

/* Compact the erased id ranges (ids sorted, n > 0) so deleted values leave the SST files. */
static void compact_ranges(omega_tsdb_t *db, const idvec_t *ids)
{
    static const int cfs[] = {STORAGE_CF_RAW,  STORAGE_CF_H1,     STORAGE_CF_D1,
                              STORAGE_CF_W1,   STORAGE_CF_MO1,    STORAGE_CF_SAMPLES,
                              STORAGE_CF_HEAD, STORAGE_CF_SERIES, STORAGE_CF_DEFAULT};
    char lo[8], hi[8]; /* ids are sorted: one range covers them all */
    storage_put_u64be(lo, ids->v[0]);
    storage_put_u64be(hi, ids->v[ids->n - 1] + 1);
    for (size_t i = 0; i < sizeof(cfs) / sizeof(cfs[0]); i++) {
        int by_id = cfs[i] != STORAGE_CF_SERIES && cfs[i] != STORAGE_CF_DEFAULT &&
                    cfs[i] != STORAGE_CF_HEAD;
        /* Index keys and marks do not sort by id: those CFs are compacted whole. */
        rocksdb_compact_range_cf(db->rdb, db->cf[cfs[i]], by_id ? lo : NULL, by_id ? 8 : 0,
                                 by_id ? hi : NULL, by_id ? 8 : 0);
    }
}

int omega_tsdb_erase(omega_tsdb_t *db, const omega_matcher_t *matchers, size_t n_matchers,
                     omega_tsdb_erase_stats_t *out, omega_error_t *err)
{
    omega_tsdb_erase_stats_t st;
    memset(&st, 0, sizeof(st));
    if (out)
        *out = st;
    if (!db || !matchers || n_matchers == 0)
        return omega_error_set(err, OMEGA_EINVAL, "storage: erase needs a selector");
    idvec_t ids = {0};
    int rc = omega_tsdb_series_match(db, matchers, n_matchers, collect_id, &ids, err);
    if (rc != 0 || ids.n == 0) {
        free(ids.v);
        return rc;
    }
    qsort(ids.v, ids.n, sizeof(*ids.v), cmp_id);
    pthread_mutex_lock(&db->rollup.run_lock); /* no rollup pass re-creates buckets meanwhile */
    int locked = 0;
    /* Seal every head so no head-log record still holds these series' samples (a record
     * holds many series and cannot be edited), then check under the exclusive lock that
     * no writer refilled one of their heads in between. */
    for (int tries = 0; rc == 0 && !locked && tries < ERASE_RETRIES; tries++) {
        rc = storage_heads_seal(db, 1, err);
        if (rc != 0)
            break;
        pthread_rwlock_wrlock(&db->heads.seal_lock);
        if (heads_busy(db, &ids))
            pthread_rwlock_unlock(&db->heads.seal_lock);
        else
            locked = 1;
    }
    if (rc == 0 && !locked)
        rc = omega_error_set(err, OMEGA_EAGAIN,
                             "storage: the series are being written continuously; stop "
                             "sending them and retry the erasure");
    if (locked) {
        rc = erase_locked(db, &ids, &st, err);
        pthread_rwlock_unlock(&db->heads.seal_lock);
    }
    pthread_mutex_unlock(&db->rollup.run_lock);
    if (rc == 0) {
        compact_ranges(db, &ids);
        omega_log_info("storage: erased %llu series (%llu chunks)", (unsigned long long)st.series,
                       (unsigned long long)st.raw_chunks);
    }
    free(ids.v);
    if (out && rc == 0)
        *out = st;
    return rc;
}
