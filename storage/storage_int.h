/* SPDX-License-Identifier: Apache-2.0 */
/* Private to storage/: the omega_tsdb handle, the on-disk key layout and the helpers the
 * storage files share. Nothing outside storage/ includes this (RocksDB is PRIVATE). */
#ifndef OMEGA_STORAGE_INT_H
#define OMEGA_STORAGE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <rocksdb/c.h>

#include "omega/tsdb.h"

/* ---- On-disk layout (format version 1) ----
 * default  "format_version"            -> u32 BE, STORAGE_FORMAT_VERSION. Storage-private
 *                                          metadata lives in `default`, never in `meta`
 *                                          (that CF belongs to the KV facade's users).
 * series   'F' + canonical series key   -> series id, u64 BE            (forward)
 *          'R' + id (u64 BE)            -> canonical series key          (reverse)
 *          'P' + lname 0x00 lvalue 0x00 + id (u64 BE) -> ""             (postings; the
 *                                          metric name is posted as label "__name__")
 *          'N'                          -> next series id, u64 BE (ids start at 1)
 *          'C'                          -> number of series, u64 BE
 * samples  id (u64 BE) + ts (u64 BE of ts with the sign bit flipped) -> double, 8 B LE
 * meta, alerts, audit, events: opaque keys/values of the KV facade.
 *
 * Canonical series key: varint(len) name, then per label (sorted by name, empty values
 * dropped) varint(len) lname varint(len) lvalue. Lengths are LEB128. */
#define STORAGE_FORMAT_VERSION 1u
#define STORAGE_FORMAT_KEY "format_version"

#define STORAGE_SERIES_FWD 'F'
#define STORAGE_SERIES_REV 'R'
#define STORAGE_SERIES_POST 'P'
#define STORAGE_SERIES_NEXT 'N'
#define STORAGE_SERIES_COUNT 'C'

#define STORAGE_SAMPLE_KEY_LEN 16

/* Input limits enforced by omega_tsdb_write. */
#define STORAGE_MAX_NAME_LEN 1024          /* metric and label name bytes */
#define STORAGE_MAX_VALUE_LEN (16 * 1024)  /* label value bytes */
#define STORAGE_MAX_LABELS 64              /* labels per point */
#define STORAGE_MAX_FUTURE_MS (10 * 60000) /* how far ahead of now a sample may be */

/* Column families in the order they are opened. */
enum storage_cf {
    STORAGE_CF_DEFAULT = 0,
    STORAGE_CF_SERIES,
    STORAGE_CF_SAMPLES,
    STORAGE_CF_META,
    STORAGE_CF_ALERTS,
    STORAGE_CF_AUDIT,
    STORAGE_CF_EVENTS,
    STORAGE_CF_COUNT
};

/* One canonical key -> id mapping (chained hash table entry). */
typedef struct storage_idmap_entry {
    struct storage_idmap_entry *next; /* next entry in the same bucket */
    uint64_t hash;                    /* full hash of key */
    uint64_t id;                      /* series id */
    size_t klen;                      /* bytes in key */
    char key[];                       /* canonical series key */
} storage_idmap_entry_t;

/* A hash map canonical series key -> id, no locking (callers lock). */
typedef struct storage_idmap {
    storage_idmap_entry_t **buckets; /* n_buckets chains, owned */
    size_t n_buckets;                /* power of two */
    size_t n_entries;                /* entries in the map */
} storage_idmap_t;

/* The series index's in-memory side. */
typedef struct storage_index {
    pthread_rwlock_t cache_lock; /* guards cache */
    storage_idmap_t cache;       /* every series seen since open */
    pthread_mutex_t create_lock; /* serialises series creation (ids, counters, batch write) */
    uint64_t next_id;            /* next id to hand out; under create_lock */
    _Atomic uint64_t n_series;   /* series on disk; written under create_lock */
} storage_index_t;

struct omega_tsdb {
    rocksdb_t *rdb;                                  /* the engine */
    rocksdb_options_t *db_opts;                      /* DB-wide options */
    rocksdb_options_t *cf_opts[STORAGE_CF_COUNT];    /* per-CF options */
    rocksdb_column_family_handle_t *cf[STORAGE_CF_COUNT]; /* our CF handles */
    rocksdb_column_family_handle_t **extra_cf;       /* CFs on disk we do not know */
    size_t n_extra_cf;                               /* entries in extra_cf */
    rocksdb_options_t *extra_opts;                   /* options for the unknown CFs */
    rocksdb_compactionfilter_t *retention_filter;    /* samples CF retention, or NULL */
    rocksdb_writeoptions_t *wopts;                   /* sync per options.sync_writes */
    rocksdb_readoptions_t *ropts;                    /* plain point reads */
    omega_tsdb_options_t opts;                       /* copy; opts.data_dir == data_dir */
    char *data_dir;                                  /* owned copy of the directory */
    storage_index_t index;                           /* series index cache and counters */
    _Atomic uint64_t samples_written;                /* samples acknowledged since open */
};

/* tsdb.c: translate a RocksDB error string at the boundary: log it with `what`, free it,
 * fill err and return OMEGA_EIO (OMEGA_ENOSPC when the disk is full). */
int storage_rocks_error(char *errptr, omega_error_t *err, const char *what);

/* a - b, saturated to the int64 range (time arithmetic on caller-supplied values). */
int64_t storage_time_sub(int64_t a, int64_t b);

/* Big-endian and sample-key codecs. */
void storage_put_u64be(char *dst, uint64_t v);
uint64_t storage_get_u64be(const char *src);
void storage_sample_key(char dst[STORAGE_SAMPLE_KEY_LEN], uint64_t id, int64_t ts_ms);
int64_t storage_sample_key_ts(const char *key);

/* index.c: the series index. init_locks runs before RocksDB opens (so deinit is always
 * safe); init loads the counters from disk. */
int storage_index_init_locks(storage_index_t *ix);
int storage_index_init(omega_tsdb_t *db, omega_error_t *err);
void storage_index_deinit(storage_index_t *ix);
/* Append the canonical key of name + labels (labels already sorted, no empty values)
 * to buf (realloc'd as needed); returns the new length. */
size_t storage_canon_encode(char **buf, size_t *cap, size_t len, const char *name,
                            const omega_label_t *labels, size_t n_labels);
/* Decode a canonical key into a series (strings copied into *strbuf, labels into
 * *labels; both malloc'd, freed by the caller with free()). Returns 0 or OMEGA_ECORRUPT. */
int storage_canon_decode(const char *key, size_t klen, omega_series_t *out, char **strbuf,
                         omega_label_t **labels);
/* idmap: init with a power-of-two bucket count; get returns 1 and *id when present;
 * put inserts a copy of key (no-op when present); deinit frees every entry. */
void storage_idmap_init(storage_idmap_t *m, size_t n_buckets);
int storage_idmap_get(const storage_idmap_t *m, const char *key, size_t klen, uint64_t *id);
void storage_idmap_put(storage_idmap_t *m, const char *key, size_t klen, uint64_t id);
void storage_idmap_deinit(storage_idmap_t *m);
/* Cache lookup under the read lock: 1 and *id when cached, else 0. */
int storage_index_cached(storage_index_t *ix, const char *key, size_t klen, uint64_t *id);
/* Insert into the cache under the write lock (no-op when present). */
void storage_index_cache_put(storage_index_t *ix, const char *key, size_t klen, uint64_t id);
/* Look the forward key up in RocksDB: 0 with *id, OMEGA_ENOENT, or OMEGA_EIO. */
int storage_index_lookup_disk(omega_tsdb_t *db, const char *key, size_t klen, uint64_t *id,
                              omega_error_t *err);
/* Add the index records of a new series (forward, reverse, postings) to wb. */
void storage_index_add_series(omega_tsdb_t *db, rocksdb_writebatch_t *wb, uint64_t id,
                              const char *key, size_t klen);
/* Add the 'N' and 'C' counters with these values to wb. */
void storage_index_add_counters(omega_tsdb_t *db, rocksdb_writebatch_t *wb, uint64_t next_id,
                                uint64_t n_series);
/* Read the canonical key of a series id: 0 and a malloc'd *key (free()), OMEGA_ENOENT,
 * or OMEGA_EIO. */
int storage_index_reverse(omega_tsdb_t *db, uint64_t id, char **key, size_t *klen,
                          omega_error_t *err);

#endif
