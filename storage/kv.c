/* SPDX-License-Identifier: Apache-2.0 */
/* The key-value facade: opaque keys and values in the meta, alerts, audit and events
 * column families, so other modules store records without seeing RocksDB. Key design
 * inside each space belongs to the calling module. */
#include "storage_int.h"

#include <stdlib.h>
#include <string.h>

static rocksdb_column_family_handle_t *space_cf(omega_tsdb_t *db, omega_kv_space_t space)
{
    switch (space) {
    case OMEGA_KV_META:
        return db->cf[STORAGE_CF_META];
    case OMEGA_KV_ALERTS:
        return db->cf[STORAGE_CF_ALERTS];
    case OMEGA_KV_AUDIT:
        return db->cf[STORAGE_CF_AUDIT];
    case OMEGA_KV_EVENTS:
        return db->cf[STORAGE_CF_EVENTS];
    }
    return NULL;
}

/* Common argument checks; returns the CF or NULL with err filled. */
static rocksdb_column_family_handle_t *check_args(omega_tsdb_t *db, omega_kv_space_t space,
                                                  const void *key, size_t klen, omega_error_t *err)
{
    rocksdb_column_family_handle_t *cf = db ? space_cf(db, space) : NULL;
    if (!cf) {
        omega_error_set(err, OMEGA_EINVAL, "storage: no database or unknown key space %d",
                        (int)space);
        return NULL;
    }
    if (!key && klen) {
        omega_error_set(err, OMEGA_EINVAL, "storage: NULL key with length %zu", klen);
        return NULL;
    }
    return cf;
}

int omega_kv_put(omega_tsdb_t *db, omega_kv_space_t space, const void *key, size_t klen,
                 const void *val, size_t vlen, omega_error_t *err)
{
    rocksdb_column_family_handle_t *cf = check_args(db, space, key, klen, err);
    if (!cf)
        return OMEGA_EINVAL;
    if (!val && vlen)
        return omega_error_set(err, OMEGA_EINVAL, "storage: NULL value with length %zu", vlen);
    char *errptr = NULL;
    rocksdb_put_cf(db->rdb, db->wopts, cf, key ? key : "", klen, val ? val : "", vlen, &errptr);
    if (errptr)
        return storage_rocks_error(errptr, err, "kv put");
    return 0;
}

int omega_kv_get(omega_tsdb_t *db, omega_kv_space_t space, const void *key, size_t klen, char **val,
                 size_t *vlen, omega_error_t *err)
{
    *val = NULL;
    *vlen = 0;
    rocksdb_column_family_handle_t *cf = check_args(db, space, key, klen, err);
    if (!cf)
        return OMEGA_EINVAL;
    char *errptr = NULL;
    rocksdb_pinnableslice_t *ps =
        rocksdb_get_pinned_cf(db->rdb, db->ropts, cf, key ? key : "", klen, &errptr);
    if (errptr)
        return storage_rocks_error(errptr, err, "kv get");
    if (!ps)
        return omega_error_set(err, OMEGA_ENOENT, "key not found");
    size_t n = 0;
    const char *p = rocksdb_pinnableslice_value(ps, &n);
    char *copy = omega_malloc(n + 1);
    if (n)
        memcpy(copy, p, n);
    copy[n] = '\0';
    rocksdb_pinnableslice_destroy(ps);
    *val = copy;
    *vlen = n;
    return 0;
}

int omega_kv_delete(omega_tsdb_t *db, omega_kv_space_t space, const void *key, size_t klen,
                    omega_error_t *err)
{
    rocksdb_column_family_handle_t *cf = check_args(db, space, key, klen, err);
    if (!cf)
        return OMEGA_EINVAL;
    char *errptr = NULL;
    rocksdb_delete_cf(db->rdb, db->wopts, cf, key ? key : "", klen, &errptr);
    if (errptr)
        return storage_rocks_error(errptr, err, "kv delete");
    return 0;
}

int omega_kv_scan(omega_tsdb_t *db, omega_kv_space_t space, const void *prefix, size_t plen,
                  omega_kv_scan_cb cb, void *ctx, omega_error_t *err)
{
    return omega_kv_scan_from(db, space, prefix, plen, prefix, plen, cb, ctx, err);
}

int omega_kv_scan_from(omega_tsdb_t *db, omega_kv_space_t space, const void *prefix, size_t plen,
                       const void *start, size_t slen, omega_kv_scan_cb cb, void *ctx,
                       omega_error_t *err)
{
    rocksdb_column_family_handle_t *cf = check_args(db, space, prefix, plen, err);
    if (!cf)
        return OMEGA_EINVAL;
    if (slen < plen || (slen && !start) || (plen && memcmp(start, prefix, plen) != 0))
        return omega_error_set(err, OMEGA_EINVAL, "kv: the start key must begin with the prefix");
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(db->rdb, db->ropts, cf);
    int rc = 0;
    if (slen)
        rocksdb_iter_seek(it, start, slen);
    else
        rocksdb_iter_seek_to_first(it);
    for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen = 0, vlen = 0;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen < plen || (plen && memcmp(k, prefix, plen) != 0))
            break;
        const char *v = rocksdb_iter_value(it, &vlen);
        rc = cb(ctx, k, klen, v, vlen);
        if (rc != 0)
            break;
    }
    if (rc == 0) {
        char *errptr = NULL;
        rocksdb_iter_get_error(it, &errptr);
        if (errptr)
            rc = storage_rocks_error(errptr, err, "kv scan");
    }
    rocksdb_iter_destroy(it);
    return rc;
}
