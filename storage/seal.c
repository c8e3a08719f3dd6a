/* SPDX-License-Identifier: Apache-2.0 */
/* Sealing and reading chunks in the `raw` column family. A seal round (writers paused by
 * the exclusive seal lock) turns due heads into chunks; a head that reaches back into
 * already sealed time is merged with the chunks it overlaps, which are rewritten, so a
 * series' chunks never overlap and a timestamp is stored once (the latest write wins).
 * The same batch deletes the head-log prefix no head needs, so kill -9 at any point
 * leaves either the log records or the chunks, never both missing. Also the raw CF
 * retention compaction filter. */
#include "storage_int.h"

#include "codec.h"
#include "omega/log.h"

#include <stdlib.h>
#include <string.h>

/* ---- reading chunks ---- */

/* Position it at the chunk of id that may hold start: the last one keyed at or before
 * start, else the first one after it. */
static void seek_chunks(rocksdb_iterator_t *it, uint64_t id, int64_t start)
{
    char key[STORAGE_SAMPLE_KEY_LEN];
    storage_sample_key(key, id, start);
    rocksdb_iter_seek_for_prev(it, key, sizeof(key));
    size_t klen;
    if (!rocksdb_iter_valid(it) || (rocksdb_iter_key(it, &klen), klen != STORAGE_SAMPLE_KEY_LEN) ||
        storage_get_u64be(rocksdb_iter_key(it, &klen)) != id)
        rocksdb_iter_seek(it, key, sizeof(key));
}

static int cmp_sample(const void *a, const void *b)
{
    const omega_sample_t *x = a, *y = b;
    return x->ts_ms < y->ts_ms ? -1 : x->ts_ms > y->ts_ms;
}

/* Keep the samples of out[first..] inside [start, end], sorted and unique. Only the
 * first and last chunks reach outside the range; chunks never overlap by construction,
 * but stay correct if they ever do. */
static void trim_range(storage_sbuf_t *out, size_t first, int64_t start, int64_t end)
{
    size_t w = first, bad_order = 0;
    for (size_t i = first; i < out->n; i++) {
        const omega_sample_t x = out->v[i];
        if (x.ts_ms < start || x.ts_ms > end)
            continue;
        if (w > first && x.ts_ms <= out->v[w - 1].ts_ms)
            bad_order = 1;
        out->v[w++] = x;
    }
    out->n = w;
    if (!bad_order)
        return;
    qsort(out->v + first, out->n - first, sizeof(*out->v), cmp_sample);
    w = first;
    for (size_t i = first; i < out->n; i++)
        if (w == first || out->v[i].ts_ms != out->v[w - 1].ts_ms)
            out->v[w++] = out->v[i];
    out->n = w;
}

int storage_chunks_read_it(omega_tsdb_t *db, rocksdb_iterator_t *it, uint64_t id, int64_t start,
                           int64_t end, storage_sbuf_t *out, omega_error_t *err)
{
    size_t first = out->n;
    int rc = 0, ordered = 1;
    for (seek_chunks(it, id, start); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen != STORAGE_SAMPLE_KEY_LEN || storage_get_u64be(k) != id)
            break;
        int64_t key_ts = storage_sample_key_ts(k);
        if (key_ts > end)
            break;
        const char *v = rocksdb_iter_value(it, &vlen);
        size_t before = out->n;
        char *owned = NULL;
        if (storage_crypt_is_sealed(v, vlen)) {
            rc = storage_crypt_view(db, k, klen, v, vlen, &v, &vlen, &owned, err);
            if (rc)
                break;
        }
        int bad = storage_chunk_decode_append(v, vlen, key_ts, &out->v, &out->n, &out->cap);
        free(owned);
        if (bad != 0) {
            omega_log_error("storage: chunk of series %llu at %lld in %s is corrupt (CRC or "
                            "format check failed)",
                            (unsigned long long)id, (long long)key_ts, db->data_dir);
            rc = omega_error_set(err, OMEGA_ECORRUPT,
                                 "storage: chunk of series %llu "
                                 "starting at %lld ms is corrupt",
                                 (unsigned long long)id, (long long)key_ts);
            break;
        }
        if (out->n > before && before > first && out->v[before].ts_ms <= out->v[before - 1].ts_ms)
            ordered = 0; /* overlapping chunks (late writes): sort and trim at the end */
        if (ordered && out->n > before && before == first && out->v[first].ts_ms < start) {
            /* the chunk where the seek landed starts before the range: keep its tail */
            size_t in = first;
            while (in < out->n && out->v[in].ts_ms < start)
                in++;
            memmove(out->v + first, out->v + in, (out->n - in) * sizeof(*out->v));
            out->n -= in - first;
        }
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    if (errptr && rc == 0)
        rc = storage_rocks_error(errptr, err, "chunk read");
    else
        rocksdb_free(errptr);
    if (rc) {
        out->n = first;
    } else if (ordered) {
        /* ascending, starting in range: only the last chunk can reach past the end */
        while (out->n > first && out->v[out->n - 1].ts_ms > end)
            out->n--;
    } else {
        trim_range(out, first, start, end);
    }
    return rc;
}

int storage_chunks_any(omega_tsdb_t *db, rocksdb_iterator_t *it, uint64_t id, int64_t start,
                       int64_t end, omega_error_t *err)
{
    int found = 0;
    for (seek_chunks(it, id, start); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen != STORAGE_SAMPLE_KEY_LEN || storage_get_u64be(k) != id ||
            storage_sample_key_ts(k) > end)
            break;
        storage_chunk_info_t info;
        const char *v = rocksdb_iter_value(it, &vlen);
        char *owned = NULL;
        omega_error_t cerr;
        if (storage_crypt_is_sealed(v, vlen) &&
            storage_crypt_view(db, k, klen, v, vlen, &v, &vlen, &owned, &cerr) != 0) {
            found = 1; /* undecryptable counts as data: the sample reads report it */
            break;
        }
        /* a damaged header counts as data: the sample reads report it */
        int any = storage_chunk_peek(v, vlen, &info) != 0 || info.last_ts >= start;
        free(owned);
        if (any) {
            found = 1;
            break;
        }
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    return errptr ? storage_rocks_error(errptr, err, "chunk scan") : found;
}

int storage_chunks_read(omega_tsdb_t *db, const rocksdb_readoptions_t *ro, uint64_t id,
                        int64_t start, int64_t end, storage_sbuf_t *out, omega_error_t *err)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(db->rdb, ro, db->cf[STORAGE_CF_RAW]);
    int rc = storage_chunks_read_it(db, it, id, start, end, out, err);
    rocksdb_iter_destroy(it);
    return rc;
}

/* ---- sealing one head ---- */

/* A kept chunk's span inside a merge: new chunks must not straddle it. */
typedef struct fence {
    int64_t first, last; /* the chunk's first and last sample times */
} fence_t;

typedef struct merge_in {
    storage_sbuf_t old;   /* samples of the chunks being rewritten */
    fence_t *fences;      /* kept chunks between lo and hi, ascending, owned */
    size_t n_fences, cap; /* used / allocated */
} merge_in_t;

/* Whether sorted s holds a time in [a, b]. */
static int has_sample_in(const storage_sbuf_t *s, int64_t a, int64_t b)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) { /* first index with ts >= a */
        size_t mid = lo + (hi - lo) / 2;
        if (s->v[mid].ts_ms < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->v[lo].ts_ms <= b;
}

/* For the chunks of id between the head's first and last times: those holding one of
 * the head's times are deleted and their samples collected for rewriting; the others
 * become fences. A corrupt chunk there is logged and replaced. */
static int collect_overlaps(omega_tsdb_t *db, rocksdb_writebatch_t *wb, uint64_t id,
                            const storage_sbuf_t *mine, merge_in_t *m, omega_error_t *err)
{
    int64_t lo = mine->v[0].ts_ms, hi = mine->v[mine->n - 1].ts_ms;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(db->rdb, db->ropts, db->cf[STORAGE_CF_RAW]);
    int rc = 0;
    char *owned = NULL;
    for (seek_chunks(it, id, lo); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        free(owned);
        owned = NULL;
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen != STORAGE_SAMPLE_KEY_LEN || storage_get_u64be(k) != id ||
            storage_sample_key_ts(k) > hi)
            break;
        const char *v = rocksdb_iter_value(it, &vlen);
        storage_chunk_info_t info;
        omega_sample_t *s = NULL;
        size_t n = 0;
        int64_t key_ts = storage_sample_key_ts(k);
        /* a chunk that does not open stops the round: it must never be replaced */
        if (storage_crypt_is_sealed(v, vlen) &&
            (rc = storage_crypt_view(db, k, klen, v, vlen, &v, &vlen, &owned, err)) != 0)
            break;
        if (storage_chunk_info(v, vlen, key_ts, &info) == 0 &&
            !has_sample_in(mine, info.first_ts, info.last_ts)) {
            if (info.last_ts >= lo) {
                if (m->n_fences == m->cap) {
                    m->cap = m->cap ? m->cap * 2 : 16;
                    m->fences = omega_realloc(m->fences, m->cap * sizeof(*m->fences));
                }
                m->fences[m->n_fences++] = (fence_t){info.first_ts, info.last_ts};
            }
            continue;
        }
        if (storage_chunk_decode(v, vlen, key_ts, &s, &n) != 0)
            omega_log_error("storage: series %llu: corrupt chunk at %lld replaced by newly "
                            "written samples",
                            (unsigned long long)id, (long long)key_ts);
        rocksdb_writebatch_delete_cf(wb, db->cf[STORAGE_CF_RAW], k, klen);
        for (size_t i = 0; i < n; i++)
            storage_sbuf_push(&m->old, s[i].ts_ms, s[i].value);
        free(s);
    }
    free(owned);
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    if (errptr && rc == 0)
        return storage_rocks_error(errptr, err, "chunk merge read");
    rocksdb_free(errptr);
    return rc;
}

/* The last sealed timestamp of id (INT64_MIN when none). */
static int last_sealed(omega_tsdb_t *db, uint64_t id, int64_t *last, omega_error_t *err)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(db->rdb, db->ropts, db->cf[STORAGE_CF_RAW]);
    char key[STORAGE_SAMPLE_KEY_LEN];
    storage_sample_key(key, id, INT64_MAX);
    rocksdb_iter_seek_for_prev(it, key, sizeof(key));
    *last = INT64_MIN;
    int rc = 0;
    if (rocksdb_iter_valid(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        storage_chunk_info_t info;
        char *owned = NULL;
        omega_error_t cerr;
        if (klen == STORAGE_SAMPLE_KEY_LEN && storage_get_u64be(k) == id)
            /* a corrupt (or undecryptable) last chunk: assume it may overlap anything */
            *last = storage_crypt_view(db, k, klen, v, vlen, &v, &vlen, &owned, &cerr) == 0 &&
                            storage_chunk_info(v, vlen, storage_sample_key_ts(k), &info) == 0
                        ? info.last_ts
                        : INT64_MAX;
        free(owned);
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    if (errptr)
        rc = storage_rocks_error(errptr, err, "chunk lookup");
    return rc;
}

/* new (sorted, unique) merged over old (sorted, unique): new wins on equal times. */
static void merge_samples(const storage_sbuf_t *old, const storage_sbuf_t *new_,
                          storage_sbuf_t *out)
{
    size_t i = 0, j = 0;
    while (i < old->n || j < new_->n) {
        if (j == new_->n || (i < old->n && old->v[i].ts_ms < new_->v[j].ts_ms)) {
            storage_sbuf_push(out, old->v[i].ts_ms, old->v[i].value);
            i++;
        } else {
            if (i < old->n && old->v[i].ts_ms == new_->v[j].ts_ms)
                i++;
            storage_sbuf_push(out, new_->v[j].ts_ms, new_->v[j].value);
            j++;
        }
    }
}

/* Put s[0..n) as chunks of at most max samples (sealed for a sensitive series). 0 or the
 * cipher's error. */
static int put_chunks(omega_tsdb_t *db, rocksdb_writebatch_t *wb, uint64_t id,
                      const omega_sample_t *s, size_t n, omega_error_t *err)
{
    size_t max = db->heads.max_samples;
    int seal = n ? storage_crypt_sensitive(db, id, NULL) : 0, rc = 0;
    for (size_t off = 0; rc == 0 && off < n;) {
        size_t take = n - off <= max ? n - off : max;
        /* avoid a runt last chunk: split the remainder evenly */
        if (n - off > max && n - off < 2 * max)
            take = (n - off + 1) / 2;
        uint8_t *chunk;
        size_t len;
        if (storage_chunk_encode(s + off, take, 0, s[off].ts_ms, &chunk, &len) == 0) {
            char key[STORAGE_SAMPLE_KEY_LEN];
            storage_sample_key(key, id, s[off].ts_ms);
            rc = storage_crypt_put(db, wb, STORAGE_CF_RAW, key, sizeof(key), chunk, len, seal, err);
            free(chunk);
            atomic_fetch_add_explicit(&db->heads.chunks_written, 1, memory_order_relaxed);
        }
        off += take;
    }
    return rc;
}

/* Put s[0..n) as chunks, cut so that none straddles a fence (no sample of s lies
 * inside one). */
static int put_fenced(omega_tsdb_t *db, rocksdb_writebatch_t *wb, uint64_t id,
                      const omega_sample_t *s, size_t n, const merge_in_t *m, omega_error_t *err)
{
    size_t off = 0, fi = 0;
    int rc = 0;
    while (rc == 0 && off < n) {
        while (fi < m->n_fences && m->fences[fi].last < s[off].ts_ms)
            fi++;
        int64_t limit = fi < m->n_fences ? m->fences[fi].first : INT64_MAX;
        size_t end = off;
        while (end < n && (s[end].ts_ms < limit || limit == INT64_MAX))
            end++;
        rc = put_chunks(db, wb, id, s + off, end - off, err);
        off = end;
    }
    return rc;
}

/* Add the chunks of e (locked) to wb; *hi gets its last timestamp. */
static int seal_head(omega_tsdb_t *db, rocksdb_writebatch_t *wb, storage_head_t *e, int64_t *hi,
                     omega_error_t *err)
{
    storage_sbuf_t mine = {0}, merged = {0};
    merge_in_t m = {0};
    storage_head_sorted(e, INT64_MIN, INT64_MAX, &mine);
    int64_t lo = mine.v[0].ts_ms;
    *hi = mine.v[mine.n - 1].ts_ms;
    int rc = 0;
    if (!e->sealed_known) {
        rc = last_sealed(db, e->id, &e->sealed_max, err);
        e->sealed_known = rc == 0;
    }
    if (rc == 0)
        storage_rollup_mark(db, wb, e->id, mine.v, mine.n, db->heads.seal_gen, lo > e->sealed_max);
    if (rc == 0 && lo <= e->sealed_max) {
        /* reaching back into sealed time: rewrite only the chunks it lands in */
        rc = collect_overlaps(db, wb, e->id, &mine, &m, err);
        if (rc == 0) {
            merge_samples(&m.old, &mine, &merged);
            rc = put_fenced(db, wb, e->id, merged.v, merged.n, &m, err);
        }
    } else if (rc == 0) {
        rc = put_chunks(db, wb, e->id, mine.v, mine.n, err);
    }
    free(mine.v);
    free(merged.v);
    free(m.old.v);
    free(m.fences);
    return rc;
}

/* ---- seal rounds ---- */

static int64_t age_scan_interval(const storage_heads_t *h)
{
    int64_t iv = h->max_age_ms / 8;
    return iv < 100 ? 100 : iv > 60000 ? 60000 : iv;
}

int storage_heads_seal_wanted(omega_tsdb_t *db)
{
    storage_heads_t *h = &db->heads;
    pthread_mutex_lock(&h->due_lock);
    int want = h->n_due > 0;
    pthread_mutex_unlock(&h->due_lock);
    if (!want && h->max_age_ms > 0 && atomic_load(&h->head_samples) > 0)
        want =
            omega_mono_ns() / 1000000 - atomic_load(&h->last_age_scan_ms) >= age_scan_interval(h);
    return want;
}

typedef struct idlist {
    uint64_t *v;   /* ids, owned */
    size_t n, cap; /* used / allocated */
} idlist_t;

/* Add every non-empty head that is old (or any, with all) to list, marking it queued;
 * returns the lowest first_seq of the heads that stay unsealed (or next_seq). */
static uint64_t scan_heads(storage_heads_t *h, int all, int aged, idlist_t *list)
{
    int64_t now = omega_mono_ns() / 1000000;
    uint64_t floor = atomic_load(&h->next_seq);
    for (int i = 0; i < STORAGE_HEAD_STRIPES; i++) {
        storage_head_stripe_t *st = &h->stripe[i];
        pthread_mutex_lock(&st->lock);
        for (size_t b = 0; b < st->n_buckets; b++)
            for (storage_head_t *e = st->buckets[b]; e; e = e->next) {
                if (e->n == 0 || e->queued)
                    continue;
                if (all || (aged && now - e->first_mono_ms >= h->max_age_ms)) {
                    e->queued = 1;
                    if (list->n == list->cap) {
                        list->cap = list->cap ? list->cap * 2 : 256;
                        list->v = omega_realloc(list->v, list->cap * sizeof(*list->v));
                    }
                    list->v[list->n++] = e->id;
                } else if (e->first_seq < floor) {
                    floor = e->first_seq;
                }
            }
        pthread_mutex_unlock(&st->lock);
    }
    return floor;
}

/* After the batch: empty the sealed heads (ok), or leave them to be queued again by
 * their next append or the next age scan (their samples stay durable in the log). */
static void finish_heads(storage_heads_t *h, const idlist_t *list, const int64_t *his, int ok)
{
    for (size_t i = 0; i < list->n; i++) {
        storage_head_stripe_t *st = storage_head_stripe(h, list->v[i]);
        pthread_mutex_lock(&st->lock);
        storage_head_t *e = storage_head_find(st, list->v[i], 0);
        if (e && ok && e->n) {
            atomic_fetch_sub(&h->head_samples, e->n);
            if (his[i] > e->sealed_max)
                e->sealed_max = his[i];
            storage_head_clear(h, e);
        }
        if (e)
            e->queued = 0;
        pthread_mutex_unlock(&st->lock);
    }
}

/* Build and commit one round's batch for the ids in list. */
static int seal_list(omega_tsdb_t *db, idlist_t *list, uint64_t floor, omega_error_t *err)
{
    storage_heads_t *h = &db->heads;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    int64_t *his = omega_calloc(list->n + 1, sizeof(*his));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < list->n; i++) {
        storage_head_stripe_t *st = storage_head_stripe(h, list->v[i]);
        pthread_mutex_lock(&st->lock);
        storage_head_t *e = storage_head_find(st, list->v[i], 0);
        if (e && e->n)
            rc = seal_head(db, wb, e, &his[i], err);
        pthread_mutex_unlock(&st->lock);
    }
    if (rc == 0 && floor > h->log_floor) {
        char lo[8], hi[8];
        storage_put_u64be(lo, 0);
        storage_put_u64be(hi, floor);
        rocksdb_writebatch_delete_range_cf(wb, db->cf[STORAGE_CF_HEAD], lo, 8, hi, 8);
    }
    if (rc == 0 && rocksdb_writebatch_count(wb) > 0) {
        char *errptr = NULL;
        rocksdb_write(db->rdb, db->seal_wopts, wb, &errptr);
        if (errptr)
            rc = storage_rocks_error(errptr, err, "seal");
    }
    if (rc == 0 && floor > h->log_floor)
        h->log_floor = floor;
    if (rc == 0) /* readers holding an iterator from before this commit renew it */
        atomic_fetch_add_explicit(&h->chunk_epoch, 1, memory_order_release);
    finish_heads(h, list, his, rc == 0);
    free(his);
    rocksdb_writebatch_destroy(wb);
    return rc;
}

int storage_heads_seal(omega_tsdb_t *db, int all, omega_error_t *err)
{
    storage_heads_t *h = &db->heads;
    idlist_t list = {0};
    pthread_rwlock_wrlock(&h->seal_lock);
    int64_t now = omega_mono_ns() / 1000000;
    int aged = h->max_age_ms > 0 && now - atomic_load(&h->last_age_scan_ms) >= age_scan_interval(h);
    pthread_mutex_lock(&h->due_lock);
    list.v = h->due;
    list.n = h->n_due;
    list.cap = h->cap_due;
    h->due = NULL;
    h->n_due = h->cap_due = 0;
    pthread_mutex_unlock(&h->due_lock);
    /* Recomputing the log floor walks every head: do it when many heads were sealed
     * since the last time (amortised O(1) per seal), on age scans and on flushes. */
    uint64_t n_heads = 0;
    for (int i = 0; i < STORAGE_HEAD_STRIPES; i++)
        n_heads += h->stripe[i].n;
    h->sealed_since_floor += list.n;
    uint64_t floor = h->log_floor;
    if (all || aged || h->sealed_since_floor * 2 >= n_heads) {
        floor = scan_heads(h, all, aged, &list);
        h->sealed_since_floor = 0;
        if (aged)
            atomic_store(&h->last_age_scan_ms, now);
    }
    uint64_t pending = atomic_load(&db->crypt_pending); /* sealed records not replayed yet */
    if (floor > pending)
        floor = pending;
    h->seal_gen++;
    int rc = list.n || floor > h->log_floor ? seal_list(db, &list, floor, err) : 0;
    pthread_rwlock_unlock(&h->seal_lock);
    if (rc == 0 && list.n)
        storage_rollup_kick(db);
    free(list.v);
    return rc;
}

/* ---- retention compaction filter (raw CF) ---- */

/* RocksDB's C API copies a changed value but never frees it: one buffer per compaction
 * thread (a thread-specific key, freed when the thread exits) holds the trimmed chunk. */
static pthread_key_t trim_key;
static pthread_once_t trim_once = PTHREAD_ONCE_INIT;

static void trim_key_init(void)
{
    if (pthread_key_create(&trim_key, free) != 0)
        abort(); /* cannot happen below PTHREAD_KEYS_MAX keys */
}

static void trim_keep(uint8_t *chunk)
{
    pthread_once(&trim_once, trim_key_init);
    free(pthread_getspecific(trim_key));
    pthread_setspecific(trim_key, chunk);
}

/* A sealed chunk is dropped whole once its last sample expired, never trimmed: resealing
 * inside a compaction could make the cipher write (auth records key versions it seals
 * with), and reads apply the retention anyway. Kept when it does not open. */
static unsigned char sealed_expired(omega_tsdb_t *db, const char *key, size_t klen, const char *val,
                                    size_t vlen)
{
    const char *plain;
    size_t plen;
    char *owned;
    omega_error_t err;
    storage_chunk_info_t info;
    if (storage_crypt_view(db, key, klen, val, vlen, &plain, &plen, &owned, &err) != 0)
        return 0;
    int64_t cutoff = storage_time_sub(omega_now_ms(), db->opts.raw_retention_ms);
    int drop = storage_chunk_info(plain, plen, storage_sample_key_ts(key), &info) == 0 &&
               info.last_ts < cutoff;
    free(owned);
    return (unsigned char)drop;
}

static unsigned char raw_filter(void *state, int level, const char *key, size_t klen,
                                const char *val, size_t vlen, char **new_val, size_t *new_vlen,
                                unsigned char *changed)
{
    const omega_tsdb_t *db = state;
    storage_chunk_info_t info;
    (void)level;
    *changed = 0;
    if (klen != STORAGE_SAMPLE_KEY_LEN)
        return 0;
    int64_t key_ts = storage_sample_key_ts(key);
    if (db->opts.raw_retention_ms <= 0)
        return 0;
    if (storage_crypt_is_sealed(val, vlen))
        return sealed_expired((omega_tsdb_t *)db, key, klen, val, vlen);
    if (storage_chunk_info(val, vlen, key_ts, &info) != 0)
        return 0; /* corrupt chunks are kept for the integrity check to report */
    int64_t cutoff = storage_time_sub(omega_now_ms(), db->opts.raw_retention_ms);
    if (info.last_ts < cutoff)
        return 1;
    if (info.first_ts >= cutoff)
        return 0;
    omega_sample_t *s;
    size_t n, keep = 0;
    if (storage_chunk_decode(val, vlen, key_ts, &s, &n) != 0)
        return 0;
    while (keep < n && s[keep].ts_ms < cutoff)
        keep++;
    uint8_t *chunk;
    size_t len;
    if (storage_chunk_encode(s + keep, n - keep, 0, key_ts, &chunk, &len) == 0) {
        trim_keep(chunk);
        *new_val = (char *)chunk;
        *new_vlen = len;
        *changed = 1;
    }
    free(s);
    return 0;
}

static const char *raw_filter_name(void *state)
{
    (void)state;
    return "omega.raw_chunk_retention";
}

static void raw_filter_destroy(void *state)
{
    (void)state; /* the state is the omega_tsdb_t, freed by omega_tsdb_close */
}

rocksdb_compactionfilter_t *storage_raw_filter_create(omega_tsdb_t *db)
{
    return rocksdb_compactionfilter_create(db, raw_filter_destroy, raw_filter, raw_filter_name);
}
