/* SPDX-License-Identifier: Apache-2.0 */
/* omega_tsdb_verify: read every chunk of the `raw` column family with RocksDB block
 * checksums on, check each chunk's CRC32C and format, and report the damaged ones
 * without stopping. The diagnostics command and API wire it to people. */
#include "storage_int.h"

#include "codec.h"
#include "omega/log.h"

#include <stdlib.h>
#include <string.h>

int omega_tsdb_verify(omega_tsdb_t *db, omega_tsdb_integrity_t *out, omega_tsdb_corrupt_cb cb,
                      void *ctx, omega_error_t *err)
{
    if (!db || !out)
        return omega_error_set(err, OMEGA_EINVAL, "storage: no database or result");
    memset(out, 0, sizeof(*out));
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_verify_checksums(ro, 1);
    rocksdb_readoptions_set_fill_cache(ro, 0); /* a full scan must not evict hot blocks */
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(db->rdb, ro, db->cf[STORAGE_CF_RAW]);
    uint64_t first_id = 0;
    int64_t first_ts = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        storage_chunk_info_t info;
        out->chunks++;
        uint64_t id = klen == STORAGE_SAMPLE_KEY_LEN ? storage_get_u64be(k) : 0;
        int64_t ts = klen == STORAGE_SAMPLE_KEY_LEN ? storage_sample_key_ts(k) : 0;
        omega_sample_t *s = NULL;
        size_t n = 0;
        char *owned = NULL;
        omega_error_t cerr;
        /* a sealed chunk must open (its GCM tag checks it) before its CRC is checked */
        int ok = klen == STORAGE_SAMPLE_KEY_LEN &&
                 storage_crypt_view(db, k, klen, v, vlen, &v, &vlen, &owned, &cerr) == 0 &&
                 storage_chunk_info(v, vlen, ts, &info) == 0 &&
                 storage_chunk_decode(v, vlen, ts, &s, &n) == 0;
        free(owned);
        if (ok) {
            out->samples += n;
            free(s);
            continue;
        }
        if (out->corrupt_chunks++ == 0) {
            first_id = id;
            first_ts = ts;
        }
        if (cb)
            cb(ctx, id, ts);
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    if (errptr)
        return storage_rocks_error(errptr, err, "integrity scan (RocksDB block checksums)");
    if (out->corrupt_chunks) {
        omega_log_error("storage: integrity check of %s: %llu of %llu chunks corrupt (first: "
                        "series %llu at %lld ms)",
                        db->data_dir, (unsigned long long)out->corrupt_chunks,
                        (unsigned long long)out->chunks, (unsigned long long)first_id,
                        (long long)first_ts);
        return omega_error_set(err, OMEGA_ECORRUPT,
                               "%llu of %llu chunks are corrupt (first: "
                               "series %llu, chunk at %lld ms)",
                               (unsigned long long)out->corrupt_chunks,
                               (unsigned long long)out->chunks, (unsigned long long)first_id,
                               (long long)first_ts);
    }
    return 0;
}
