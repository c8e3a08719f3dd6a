/* SPDX-License-Identifier: Apache-2.0 */
/* Encryption at rest of sensitive series: which series are sensitive (their metric name
 * matches one of the anchored patterns; decided per series id and memoised), sealing a
 * value under its RocksDB key as associated data through the caller's cipher, opening
 * sealed values wherever values are read, and head-log records sealed before a crash that
 * wait for a cipher attached after open. docs/storage.md "Encryption at rest". */
#include "storage_int.h"

#include "omega/log.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

#define MEMO_SLOTS 4096u /* id -> sensitive memo, direct-mapped (power of two) */

struct storage_crypt {
    pthread_rwlock_t lock;             /* cipher calls shared; detach exclusive */
    int detached;                      /* cipher gone (under lock) */
    omega_tsdb_cipher_t cipher;        /* the caller's cipher */
    regex_t *re;                       /* n_re compiled patterns, owned */
    size_t n_re;                       /* 0: nothing is sealed (reads only) */
    _Atomic uint64_t memo[MEMO_SLOTS]; /* id << 2 | sensitive << 1 | 1; 0 = empty */
};

static storage_crypt_t *crypt_get(omega_tsdb_t *db)
{
    return atomic_load_explicit(&db->crypt, memory_order_acquire);
}

static void crypt_destroy(storage_crypt_t *c)
{
    for (size_t i = 0; i < c->n_re; i++)
        regfree(&c->re[i]);
    free(c->re);
    pthread_rwlock_destroy(&c->lock);
    free(c);
}

/* Compile the patterns, each anchored to the whole name. */
static int compile(storage_crypt_t *c, const char *const *pats, size_t n, omega_error_t *err)
{
    c->re = omega_calloc(n ? n : 1, sizeof(*c->re));
    for (size_t i = 0; i < n; i++) {
        if (!pats[i])
            return omega_error_set(err, OMEGA_EINVAL, "storage: sensitive pattern %zu is NULL", i);
        size_t len = strlen(pats[i]);
        char *anchored = omega_malloc(len + 5);
        memcpy(anchored, "^(", 2);
        memcpy(anchored + 2, pats[i], len);
        memcpy(anchored + 2 + len, ")$", 3);
        int rc = regcomp(&c->re[i], anchored, REG_EXTENDED | REG_NOSUB);
        free(anchored);
        if (rc != 0)
            return omega_error_set(err, OMEGA_EINVAL,
                                   "storage: sensitive metric pattern \"%.64s\" is not a valid "
                                   "POSIX extended regular expression",
                                   pats[i]);
        c->n_re = i + 1;
    }
    return 0;
}

/* Replay the sealed head-log records left for a cipher (writers and seal rounds paused). */
static int replay_pending(omega_tsdb_t *db, omega_error_t *err)
{
    uint64_t from = atomic_load(&db->crypt_pending);
    if (from == UINT64_MAX)
        return 0;
    char lo[8];
    storage_put_u64be(lo, from);
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, db->ropts, db->cf[STORAGE_CF_HEAD]);
    int rc = 0;
    uint64_t n = 0;
    for (rocksdb_iter_seek(it, lo, 8); rc == 0 && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        if (klen != 8 || !storage_crypt_is_sealed(v, vlen))
            continue; /* plain records were replayed at open */
        const char *plain;
        size_t plen;
        char *owned;
        rc = storage_crypt_view(db, k, klen, v, vlen, &plain, &plen, &owned, err);
        if (rc == 0 && storage_head_replay_record(db, storage_get_u64be(k), plain, plen) != 0)
            rc = omega_error_set(err, OMEGA_ECORRUPT, "storage: head log record %llu is corrupt",
                                 (unsigned long long)storage_get_u64be(k));
        free(owned);
        n++;
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    if (errptr)
        return storage_rocks_error(errptr, err, "sealed head log replay");
    if (rc == 0) {
        atomic_store(&db->crypt_pending, UINT64_MAX);
        omega_log_info("storage: replayed %llu sealed head log records of %s",
                       (unsigned long long)n, db->data_dir);
    }
    return rc;
}

static int attach(omega_tsdb_t *db, const omega_tsdb_cipher_t *cipher, const char *const *pats,
                  size_t n, omega_error_t *err)
{
    if (n && (!pats || !cipher || !cipher->seal))
        return omega_error_set(err, OMEGA_EINVAL,
                               "storage: sensitive metric patterns need a cipher that seals");
    if (!cipher || (!cipher->seal && !cipher->open))
        return omega_error_set(err, OMEGA_EINVAL, "storage: no cipher to attach");
    storage_crypt_t *c = omega_calloc(1, sizeof(*c));
    pthread_rwlock_init(&c->lock, NULL);
    c->cipher = *cipher;
    int rc = compile(c, pats, n, err);
    storage_crypt_t *none = NULL;
    if (rc == 0 && !atomic_compare_exchange_strong(&db->crypt, &none, c))
        rc = omega_error_set(err, OMEGA_EINVAL, "storage: a cipher is attached already");
    if (rc) {
        crypt_destroy(c);
        return rc;
    }
    if (n)
        omega_log_info("storage: samples of %zu sensitive metric pattern(s) are sealed at rest", n);
    return 0;
}

int storage_crypt_open(omega_tsdb_t *db, omega_error_t *err)
{
    atomic_store(&db->crypt_pending, UINT64_MAX);
    const omega_tsdb_options_t *o = &db->opts;
    if (!o->cipher.seal && !o->cipher.open && !o->n_sensitive_metrics)
        return 0;
    return attach(db, &o->cipher, o->sensitive_metrics, o->n_sensitive_metrics, err);
}

int omega_tsdb_cipher_attach(omega_tsdb_t *db, const omega_tsdb_cipher_t *cipher,
                             const char *const *sensitive_metrics, size_t n, omega_error_t *err)
{
    if (!db)
        return omega_error_set(err, OMEGA_EINVAL, "storage: no database");
    int rc = attach(db, cipher, sensitive_metrics, n, err);
    if (rc)
        return rc;
    pthread_rwlock_wrlock(&db->heads.seal_lock);
    rc = replay_pending(db, err);
    pthread_rwlock_unlock(&db->heads.seal_lock);
    omega_tsdb_reseal_kick(db); /* a pass may be due under this cipher's active version */
    return rc;
}

void omega_tsdb_cipher_detach(omega_tsdb_t *db)
{
    storage_crypt_t *c = db ? crypt_get(db) : NULL;
    if (!c)
        return;
    omega_error_t err;
    if (omega_tsdb_flush(db, &err) != 0 || omega_tsdb_rollup_run(db, &err) != 0)
        omega_log_warn("storage: sealing before the cipher goes failed: %s (the head log keeps "
                       "the samples)",
                       err.message);
    pthread_rwlock_wrlock(&c->lock);
    c->detached = 1;
    pthread_rwlock_unlock(&c->lock);
}

void storage_crypt_free(omega_tsdb_t *db)
{
    storage_crypt_t *c = atomic_exchange(&db->crypt, NULL);
    if (c)
        crypt_destroy(c);
}

/* ---- which series ---- */

static int name_matches(const storage_crypt_t *c, const char *name)
{
    for (size_t i = 0; i < c->n_re; i++)
        if (regexec(&c->re[i], name, 0, NULL, 0) == 0)
            return 1;
    return 0;
}

/* The metric name of id from the index into buf; 0 or an error. */
static int name_of(omega_tsdb_t *db, uint64_t id, char *buf, size_t cap)
{
    char *key = NULL;
    size_t klen = 0, len = 0, i = 0;
    omega_error_t err;
    int rc = storage_index_reverse(db, id, &key, &klen, &err);
    if (rc)
        return rc;
    for (unsigned shift = 0; i < klen && shift < 35; shift += 7) {
        unsigned char b = (unsigned char)key[i++];
        len |= (size_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    rc = len >= cap || len > klen - i ? OMEGA_ECORRUPT : 0;
    if (rc == 0) {
        memcpy(buf, key + i, len);
        buf[len] = '\0';
    }
    free(key);
    return rc;
}

int storage_crypt_sensitive(omega_tsdb_t *db, uint64_t id, const char *name)
{
    storage_crypt_t *c = crypt_get(db);
    if (!c || c->n_re == 0)
        return 0;
    _Atomic uint64_t *slot = &c->memo[(id ^ (id >> 12)) & (MEMO_SLOTS - 1)];
    uint64_t m = atomic_load_explicit(slot, memory_order_relaxed);
    if (m && m >> 2 == id)
        return (int)(m >> 1) & 1;
    char buf[STORAGE_MAX_NAME_LEN + 1];
    if (!name) {
        if (name_of(db, id, buf, sizeof(buf)) != 0)
            return 1; /* unknown: fail closed, and ask again next time */
        name = buf;
    }
    int s = name_matches(c, name);
    atomic_store_explicit(slot, id << 2 | (uint64_t)s << 1 | 1u, memory_order_relaxed);
    return s;
}

/* ---- sealing and opening ---- */

int storage_crypt_put(omega_tsdb_t *db, rocksdb_writebatch_t *wb, int cf, const char *key,
                      size_t klen, const void *val, size_t vlen, int seal, omega_error_t *err)
{
    storage_crypt_t *c = seal ? crypt_get(db) : NULL;
    if (!c) {
        rocksdb_writebatch_put_cf(wb, db->cf[cf], key, klen, val, vlen);
        return 0;
    }
    size_t cap = vlen + c->cipher.overhead, out_len = 0;
    char *out = omega_malloc(cap ? cap : 1);
    pthread_rwlock_rdlock(&c->lock);
    int rc = c->detached
                 ? omega_error_set(err, OMEGA_EACCES, "storage: the cipher is detached")
                 : c->cipher.seal(c->cipher.ctx, key, klen, val, vlen, out, cap, &out_len, err);
    pthread_rwlock_unlock(&c->lock);
    if (rc == 0 && !storage_crypt_is_sealed(out, out_len))
        rc = omega_error_set(err, OMEGA_EINVAL, "storage: the cipher's output has no magic");
    if (rc == 0)
        rocksdb_writebatch_put_cf(wb, db->cf[cf], key, klen, out, out_len);
    else
        omega_log_error("storage: cannot seal a sensitive value: %s", err ? err->message : "");
    free(out);
    return rc;
}

int storage_crypt_view(omega_tsdb_t *db, const char *key, size_t klen, const char *v, size_t vlen,
                       const char **plain, size_t *plen, char **owned, omega_error_t *err)
{
    *owned = NULL;
    if (!storage_crypt_is_sealed(v, vlen)) {
        *plain = v;
        *plen = vlen;
        return 0;
    }
    storage_crypt_t *c = crypt_get(db);
    int rc;
    size_t out_len = 0;
    char *out = omega_malloc(vlen);
    omega_error_t cerr;
    if (c)
        pthread_rwlock_rdlock(&c->lock);
    if (!c || c->detached || !c->cipher.open)
        rc = omega_error_set(&cerr, OMEGA_EACCES, "no cipher attached");
    else
        rc = c->cipher.open(c->cipher.ctx, key, klen, v, vlen, out, vlen, &out_len, &cerr);
    if (c)
        pthread_rwlock_unlock(&c->lock);
    if (rc == 0) {
        *plain = *owned = out;
        *plen = out_len;
        return 0;
    }
    free(out);
    uint64_t id = klen >= 8 ? storage_get_u64be(key) : 0;
    return omega_error_set(err, rc == OMEGA_ECORRUPT ? OMEGA_ECORRUPT : OMEGA_EACCES,
                           "storage: sealed data of series %llu cannot be decrypted (%s); "
                           "check security.enable_encryption and the master key",
                           (unsigned long long)id, cerr.message);
}

/* ---- rotation (reseal.c) ---- */

uint32_t storage_crypt_active(omega_tsdb_t *db)
{
    storage_crypt_t *c = crypt_get(db);
    if (!c)
        return 0;
    pthread_rwlock_rdlock(&c->lock);
    uint32_t v =
        c->detached || !c->cipher.seal || !c->cipher.active ? 0 : c->cipher.active(c->cipher.ctx);
    pthread_rwlock_unlock(&c->lock);
    return v;
}

int storage_crypt_release(omega_tsdb_t *db, uint32_t below, omega_error_t *err)
{
    storage_crypt_t *c = crypt_get(db);
    if (!c)
        return 0;
    pthread_rwlock_rdlock(&c->lock);
    int rc = c->detached || !c->cipher.release ? 0 : c->cipher.release(c->cipher.ctx, below, err);
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

/* ---- the head log ---- */

int storage_crypt_head_put(omega_tsdb_t *db, rocksdb_writebatch_t *wb, const char *key,
                           const char *rec, size_t len, const uint64_t *ids,
                           const omega_point_t *pts, size_t n, omega_error_t *err)
{
    storage_crypt_t *c = crypt_get(db);
    int seal = 0;
    if (c && c->n_re)
        for (size_t i = 0; i < n && !seal; i++)
            if (i == 0 || ids[i] != ids[i - 1])
                seal = storage_crypt_sensitive(db, ids[i], pts[i].name);
    return storage_crypt_put(db, wb, STORAGE_CF_HEAD, key, 8, rec, len, seal, err);
}

int storage_crypt_replay(omega_tsdb_t *db, uint64_t seq, const char *key, size_t klen,
                         const char *v, size_t vlen)
{
    if (!storage_crypt_is_sealed(v, vlen))
        return storage_head_replay_record(db, seq, v, vlen);
    storage_crypt_t *c = crypt_get(db);
    if (!c || !c->cipher.open) {
        /* kept (the log floor stays below it) until omega_tsdb_cipher_attach */
        if (seq < atomic_load(&db->crypt_pending))
            atomic_store(&db->crypt_pending, seq);
        return 0;
    }
    const char *plain;
    size_t plen;
    char *owned;
    omega_error_t err;
    int rc = storage_crypt_view(db, key, klen, v, vlen, &plain, &plen, &owned, &err);
    if (rc) {
        omega_log_error("storage: head log record %llu: %s", (unsigned long long)seq, err.message);
        return rc;
    }
    rc = storage_head_replay_record(db, seq, plain, plen);
    free(owned);
    return rc;
}
