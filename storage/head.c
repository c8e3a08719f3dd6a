/* SPDX-License-Identifier: Apache-2.0 */
/* The head: every series' unsealed samples in memory (a striped hash table by series id)
 * and their durable copy, the head log. Each acknowledged write call is one log record
 * in the `head` column family, committed through the RocksDB WAL before the samples are
 * appended here; seal.c turns full or old heads into chunks and deletes the log prefix
 * nobody needs any more. At open the log is replayed into the heads. */
#include "storage_int.h"

#include "omega/log.h"

#include <stdlib.h>
#include <string.h>

#define INITIAL_BUCKETS 64

void storage_sbuf_push(storage_sbuf_t *b, int64_t ts, double v)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->v = omega_realloc(b->v, b->cap * sizeof(*b->v));
    }
    b->v[b->n].ts_ms = ts;
    b->v[b->n].value = v;
    b->n++;
}

/* ---- table ---- */

int storage_heads_init(storage_heads_t *h, uint32_t max_samples, int64_t max_age_ms)
{
    memset(h, 0, sizeof(*h));
    h->max_samples = max_samples;
    h->max_age_ms = max_age_ms;
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    /* a waiting sealer must not starve behind a stream of writers */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&h->seal_lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0 || pthread_mutex_init(&h->due_lock, NULL) != 0)
        return -1;
    for (int i = 0; i < STORAGE_HEAD_STRIPES; i++) {
        storage_head_stripe_t *st = &h->stripe[i];
        pthread_mutex_init(&st->lock, NULL);
        st->n_buckets = INITIAL_BUCKETS;
        st->buckets = omega_calloc(st->n_buckets, sizeof(*st->buckets));
    }
    atomic_init(&h->last_age_scan_ms, omega_mono_ns() / 1000000);
    h->ready = 1;
    return 0;
}

void storage_heads_deinit(storage_heads_t *h)
{
    if (!h->ready)
        return;
    for (int i = 0; i < STORAGE_HEAD_STRIPES; i++) {
        storage_head_stripe_t *st = &h->stripe[i];
        for (size_t b = 0; b < st->n_buckets; b++) {
            storage_head_t *e = st->buckets[b];
            while (e) {
                storage_head_t *next = e->next;
                storage_head_free(e);
                e = next;
            }
        }
        free(st->buckets);
        pthread_mutex_destroy(&st->lock);
    }
    free(h->due);
    pthread_mutex_destroy(&h->due_lock);
    pthread_rwlock_destroy(&h->seal_lock);
    h->ready = 0;
}

static size_t id_hash(uint64_t id)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdull;
    id ^= id >> 33;
    return (size_t)id;
}

storage_head_stripe_t *storage_head_stripe(storage_heads_t *h, uint64_t id)
{
    return &h->stripe[id % STORAGE_HEAD_STRIPES];
}

static void grow(storage_head_stripe_t *st)
{
    size_t nb = st->n_buckets * 2;
    storage_head_t **b = omega_calloc(nb, sizeof(*b));
    for (size_t i = 0; i < st->n_buckets; i++) {
        storage_head_t *e = st->buckets[i];
        while (e) {
            storage_head_t *next = e->next;
            size_t k = id_hash(e->id) & (nb - 1);
            e->next = b[k];
            b[k] = e;
            e = next;
        }
    }
    free(st->buckets);
    st->buckets = b;
    st->n_buckets = nb;
}

/* The head of id in its (locked) stripe; created when create is set, else NULL. */
storage_head_t *storage_head_find(storage_head_stripe_t *st, uint64_t id, int create)
{
    size_t k = id_hash(id) & (st->n_buckets - 1);
    for (storage_head_t *e = st->buckets[k]; e; e = e->next)
        if (e->id == id)
            return e;
    if (!create)
        return NULL;
    if (st->n >= st->n_buckets) {
        grow(st);
        k = id_hash(id) & (st->n_buckets - 1);
    }
    storage_head_t *e = omega_calloc(1, sizeof(*e));
    e->id = id;
    e->next = st->buckets[k];
    st->buckets[k] = e;
    st->n++;
    return e;
}

void storage_head_free(storage_head_t *e)
{
    storage_headenc_reset(&e->enc, 1);
    free(e);
}

void storage_head_clear(storage_heads_t *h, storage_head_t *e)
{
    /* idle or slow series: give the memory back */
    storage_headenc_reset(&e->enc, e->n < h->max_samples / 2);
    e->n = 0;
}

/* ---- appending ---- */

static void queue_due(storage_heads_t *h, storage_head_t *e)
{
    e->queued = 1;
    pthread_mutex_lock(&h->due_lock);
    if (h->n_due == h->cap_due) {
        h->cap_due = h->cap_due ? h->cap_due * 2 : 256;
        h->due = omega_realloc(h->due, h->cap_due * sizeof(*h->due));
    }
    h->due[h->n_due++] = e->id;
    pthread_mutex_unlock(&h->due_lock);
}

/* Append one sample to a locked head; returns 1 when it just became due. */
static int head_add(storage_heads_t *h, storage_head_t *e, int64_t ts, double v, uint64_t seq)
{
    if (e->n == 0) {
        e->min_ts = e->max_ts = ts;
        e->first_seq = seq;
        e->first_mono_ms = omega_mono_ns() / 1000000;
        e->sorted = 1;
    } else {
        if (ts <= e->enc.last_ts)
            e->sorted = 0;
        if (ts < e->min_ts)
            e->min_ts = ts;
        if (ts > e->max_ts)
            e->max_ts = ts;
        if (seq < e->first_seq)
            e->first_seq = seq;
    }
    storage_headenc_append(&e->enc, ts, v);
    e->n++;
    if (e->queued)
        return 0;
    if (e->n >= h->max_samples ||
        (h->max_age_ms > 0 && storage_time_sub(e->max_ts, e->min_ts) >= h->max_age_ms)) {
        queue_due(h, e);
        return 1;
    }
    return 0;
}

/* Append a run of points of one stripe, in the order given by idx (NULL: 0..n-1);
 * the stripe is locked by the caller. */
static int append_run(storage_heads_t *h, storage_head_stripe_t *st, const uint64_t *ids,
                      const omega_point_t *pts, const uint32_t *idx, size_t n, uint64_t seq)
{
    int due = 0;
    storage_head_t *e = NULL;
    for (size_t k = 0; k < n; k++) {
        size_t i = idx ? idx[k] : k;
        if (!e || e->id != ids[i])
            e = storage_head_find(st, ids[i], 1);
        due |= head_add(h, e, pts[i].ts_ms, pts[i].value, seq);
    }
    return due;
}

int storage_heads_append(omega_tsdb_t *db, const uint64_t *ids, const omega_point_t *pts, size_t n,
                         uint64_t seq)
{
    storage_heads_t *h = &db->heads;
    int due = 0;
    if (n < STORAGE_HEAD_STRIPES || n > UINT32_MAX) {
        for (size_t i = 0, j; i < n; i = j) {
            /* consecutive points of one series share the lock and lookup */
            for (j = i + 1; j < n && ids[j] == ids[i]; j++)
                ;
            storage_head_stripe_t *st = storage_head_stripe(h, ids[i]);
            pthread_mutex_lock(&st->lock);
            due |= append_run(h, st, ids + i, pts + i, NULL, j - i, seq);
            pthread_mutex_unlock(&st->lock);
        }
    } else {
        /* A stable counting sort by stripe: one lock round per stripe instead of one per
         * point, and each series' points keep their order. */
        size_t start[STORAGE_HEAD_STRIPES + 1] = {0}, pos[STORAGE_HEAD_STRIPES];
        uint32_t *idx = omega_malloc(n * sizeof(*idx));
        for (size_t i = 0; i < n; i++)
            start[ids[i] % STORAGE_HEAD_STRIPES + 1]++;
        for (size_t s = 0; s < STORAGE_HEAD_STRIPES; s++) {
            start[s + 1] += start[s];
            pos[s] = start[s];
        }
        for (size_t i = 0; i < n; i++)
            idx[pos[ids[i] % STORAGE_HEAD_STRIPES]++] = (uint32_t)i;
        for (size_t s = 0; s < STORAGE_HEAD_STRIPES; s++) {
            if (start[s] == start[s + 1])
                continue;
            storage_head_stripe_t *st = &h->stripe[s];
            pthread_mutex_lock(&st->lock);
            due |= append_run(h, st, ids, pts, idx + start[s], start[s + 1] - start[s], seq);
            pthread_mutex_unlock(&st->lock);
        }
        free(idx);
    }
    atomic_fetch_add_explicit(&h->head_samples, n, memory_order_relaxed);
    return due;
}

/* ---- reading a head ---- */

typedef struct seqsample {
    int64_t ts;   /* timestamp */
    double v;     /* value */
    uint32_t pos; /* arrival position: later wins */
} seqsample_t;

static int cmp_seqsample(const void *a, const void *b)
{
    const seqsample_t *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

void storage_head_sorted(const storage_head_t *e, int64_t start, int64_t end, storage_sbuf_t *out)
{
    storage_headdec_t d;
    int64_t ts;
    double v;
    storage_headdec_init(&d, &e->enc);
    if (e->sorted) {
        /* ascending: stop at the first sample past the range */
        for (uint32_t i = 0; i < e->n && storage_headdec_next(&d, &ts, &v) == 0 && ts <= end; i++)
            if (ts >= start)
                storage_sbuf_push(out, ts, v);
        return;
    }
    seqsample_t *t = omega_malloc((size_t)e->n * sizeof(*t));
    size_t m = 0;
    for (uint32_t i = 0; i < e->n && storage_headdec_next(&d, &ts, &v) == 0; i++)
        if (ts >= start && ts <= end)
            t[m++] = (seqsample_t){ts, v, i};
    qsort(t, m, sizeof(*t), cmp_seqsample);
    for (size_t i = 0; i < m; i++)
        if (i + 1 == m || t[i + 1].ts != t[i].ts)
            storage_sbuf_push(out, t[i].ts, t[i].v);
    free(t);
}

int storage_head_copy(omega_tsdb_t *db, uint64_t id, int64_t start, int64_t end,
                      storage_sbuf_t *out)
{
    storage_head_stripe_t *st = storage_head_stripe(&db->heads, id);
    pthread_mutex_lock(&st->lock);
    storage_head_t *e = storage_head_find(st, id, 0);
    if (e && e->n && e->max_ts >= start && e->min_ts <= end)
        storage_head_sorted(e, start, end, out);
    /* A seal moves samples to chunks and raises sealed_max under this lock, so when the
     * newest sealed sample is older than start no chunk can hold one in range. */
    int chunks = !(e && e->sealed_known && e->sealed_max < start);
    pthread_mutex_unlock(&st->lock);
    return chunks;
}

void storage_heads_mark_new(omega_tsdb_t *db, const uint64_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        storage_head_stripe_t *st = storage_head_stripe(&db->heads, ids[i]);
        pthread_mutex_lock(&st->lock);
        storage_head_t *e = storage_head_find(st, ids[i], 1);
        if (!e->sealed_known) {
            e->sealed_known = 1;
            e->sealed_max = INT64_MIN;
        }
        pthread_mutex_unlock(&st->lock);
    }
}

/* ---- the head log ---- */

/* Record: varint n, then per point varint id, zigzag varint (ts - previous ts), 8 bytes
 * of the value (IEEE 754, little-endian). */
static size_t put_varint(char *dst, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        dst[n++] = (char)(v | 0x80);
        v >>= 7;
    }
    dst[n++] = (char)v;
    return n;
}

static int get_varint(const char **p, const char *end, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        unsigned char c = (unsigned char)*(*p)++;
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return 0;
    }
    return -1;
}

int storage_head_log_add(omega_tsdb_t *db, rocksdb_writebatch_t *wb, const uint64_t *ids,
                         const omega_point_t *pts, size_t n, uint64_t *seq, omega_error_t *err)
{
    char *rec = omega_malloc(10 + n * 28);
    size_t len = put_varint(rec, n);
    int64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = (uint64_t)pts[i].ts_ms - (uint64_t)prev;
        uint64_t bits;
        len += put_varint(rec + len, ids[i]);
        len += put_varint(rec + len, (d << 1) ^ (uint64_t)((int64_t)d >> 63));
        memcpy(&bits, &pts[i].value, 8);
        for (int b = 0; b < 8; b++)
            rec[len++] = (char)(bits >> (8 * b));
        prev = pts[i].ts_ms;
    }
    *seq = atomic_fetch_add(&db->heads.next_seq, 1);
    char key[8];
    storage_put_u64be(key, *seq);
    int rc = storage_crypt_head_put(db, wb, key, rec, len, ids, pts, n, err);
    free(rec);
    return rc;
}

/* Replay one record into the heads; OMEGA_ECORRUPT when it does not parse. */
int storage_head_replay_record(omega_tsdb_t *db, uint64_t seq, const char *p, size_t len)
{
    const char *end = p + len;
    uint64_t n, id, zz;
    int64_t ts = 0;
    if (get_varint(&p, end, &n) != 0 || n > len)
        return OMEGA_ECORRUPT;
    for (uint64_t i = 0; i < n; i++) {
        if (get_varint(&p, end, &id) != 0 || get_varint(&p, end, &zz) != 0 || end - p < 8)
            return OMEGA_ECORRUPT;
        ts = (int64_t)((uint64_t)ts + ((zz >> 1) ^ -(zz & 1)));
        uint64_t bits = 0;
        for (int b = 7; b >= 0; b--)
            bits = (bits << 8) | (unsigned char)p[b];
        p += 8;
        omega_point_t pt = {.ts_ms = ts};
        memcpy(&pt.value, &bits, 8);
        storage_heads_append(db, &id, &pt, 1, seq);
    }
    return p == end ? 0 : OMEGA_ECORRUPT;
}

static int replay_log(omega_tsdb_t *db, omega_error_t *err)
{
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, db->ropts, db->cf[STORAGE_CF_HEAD]);
    uint64_t records = 0, next = 0;
    int rc = 0;
    for (rocksdb_iter_seek_to_first(it); rc == 0 && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        uint64_t seq = klen == 8 ? storage_get_u64be(k) : 0;
        if (klen != 8 || storage_crypt_replay(db, seq, k, klen, v, vlen) != 0)
            rc = omega_error_set(err, OMEGA_ECORRUPT,
                                 "storage: head log record %llu in %s is "
                                 "corrupt",
                                 (unsigned long long)seq, db->data_dir);
        next = seq + 1;
        records++;
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    if (errptr)
        return storage_rocks_error(errptr, err, "head log replay");
    atomic_store(&db->heads.next_seq, next);
    if (records)
        omega_log_info("storage: replayed %llu head log records (%llu samples) from %s",
                       (unsigned long long)records,
                       (unsigned long long)atomic_load(&db->heads.head_samples), db->data_dir);
    return rc;
}

/* Format 1 kept one key per sample in `samples`: load them as head log sequence 0, seal
 * everything into chunks, then empty `samples`. */
static int migrate_v1(omega_tsdb_t *db, omega_error_t *err)
{
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, db->ropts, db->cf[STORAGE_CF_SAMPLES]);
    uint64_t moved = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const unsigned char *v = (const unsigned char *)rocksdb_iter_value(it, &vlen);
        if (klen != STORAGE_SAMPLE_KEY_LEN || vlen != 8)
            continue;
        uint64_t id = storage_get_u64be(k), bits = 0;
        for (int b = 7; b >= 0; b--)
            bits = (bits << 8) | v[b];
        omega_point_t pt = {.ts_ms = storage_sample_key_ts(k)};
        memcpy(&pt.value, &bits, 8);
        storage_heads_append(db, &id, &pt, 1, 0);
        moved++;
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    if (errptr)
        return storage_rocks_error(errptr, err, "format 1 migration");
    if (moved == 0)
        return 0;
    int rc = storage_heads_seal(db, 1, err);
    if (rc)
        return rc;
    char lo[1] = {0}, hi[9];
    memset(hi, 0xff, sizeof(hi));
    rocksdb_delete_range_cf(db->rdb, db->wopts, db->cf[STORAGE_CF_SAMPLES], lo, 0, hi, sizeof(hi),
                            &errptr);
    if (errptr)
        return storage_rocks_error(errptr, err, "format 1 cleanup");
    omega_log_info("storage: migrated %llu format-1 samples of %s into chunks",
                   (unsigned long long)moved, db->data_dir);
    return 0;
}

int storage_heads_load(omega_tsdb_t *db, omega_error_t *err)
{
    int rc = replay_log(db, err);
    if (rc == 0)
        rc = migrate_v1(db, err);
    if (rc == 0 && storage_heads_seal_wanted(db))
        rc = storage_heads_seal(db, 0, err);
    return rc;
}

/* Bytes of the head log's live SST files into *out; non-zero when RocksDB cannot say. */
static int head_log_size(omega_tsdb_t *db, uint64_t *out)
{
    return rocksdb_property_int_cf(db->rdb, db->cf[STORAGE_CF_HEAD], "rocksdb.live-sst-files-size",
                                   out);
}

void storage_head_log_upkeep(omega_tsdb_t *db)
{
    uint64_t sst = 0;
    if (head_log_size(db, &sst) != 0)
        return;
    /* A record costs about 12 bytes per sample. Sealed records are range-deleted below the
     * log's floor, the oldest record a head still needs, so one slow series (a sample every
     * few seconds takes many minutes to fill a chunk) pins every record written since. When
     * the log's files pass 64 MiB and mostly hold sealed records, seal every head, which lifts
     * the floor to the end, then compact: the files go. Chunks sealed early are smaller,
     * never wrong. */
    uint64_t live = (uint64_t)atomic_load(&db->heads.head_samples) * 12;
    /* Reclaimable: the log outgrew the heads fourfold, or holds 48 MiB more than they do
     * (after a burst the heads alone can be 30 MB, and fourfold that was never reached:
     * the store then kept a 170 MB log until its heads filled or aged out). */
    if (sst < (64u << 20) || (sst < 4 * live && (live >= sst || sst - live < (48u << 20)))) {
        /* Below that, sealed records are range-deleted but stay in the files until a
         * compaction; after a burst followed by a quiet store none may come for hours.
         * Compact once the log has doubled since the last upkeep (and passed 16 MiB). */
        if (sst >= (16u << 20) && sst >= 2 * db->heads.upkeep_sst) {
            rocksdb_compact_range_cf(db->rdb, db->cf[STORAGE_CF_HEAD], NULL, 0, NULL, 0);
            head_log_size(db, &db->heads.upkeep_sst);
        }
        return;
    }
    omega_error_t err;
    if (storage_heads_seal(db, 1, &err) != 0) {
        omega_log_warn("storage: sealing heads to shrink the head log failed: %s", err.message);
        return;
    }
    storage_flush_all(db); /* memtables out, so the WAL files they pinned can go too */
    rocksdb_compact_range_cf(db->rdb, db->cf[STORAGE_CF_HEAD], NULL, 0, NULL, 0);
    head_log_size(db, &db->heads.upkeep_sst);
}
