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

#include "headenc.h"
#include "omega/tsdb.h"

/* ---- On-disk layout (format version 2; docs/storage.md has the full description) ----
 * default  "format_version"            -> u32 BE, STORAGE_FORMAT_VERSION. Storage-private
 *                                          metadata lives in `default`, never in `meta`
 *                                          (that CF belongs to the KV facade's users).
 * series   'F' + canonical series key   -> series id, u64 BE            (forward)
 *          'R' + id (u64 BE)            -> canonical series key          (reverse)
 *          'P' + lname 0x00 lvalue 0x00 + id (u64 BE) -> ""             (postings; the
 *                                          metric name is posted as label "__name__")
 *          'N'                          -> next series id, u64 BE (ids start at 1)
 *          'C'                          -> number of series, u64 BE
 * head     seq (u64 BE)                 -> one acknowledged write call: the head log
 *                                          record (see head.c); deleted by range once
 *                                          every sample in it is sealed in `raw`
 * raw      id (u64 BE) + ts (u64 BE, sign bit flipped) -> chunk (codec.h; its CRC covers
 *                                          this ts); ts is at or
 *                                          before the chunk's first sample; the chunks of
 *                                          one series never overlap in time
 * h1, d1, w1, mo1  id + bucket start (as raw) -> min, max, sum, last (f64 LE), count,
 *                                          last ts (u64 BE): rollup.c
 * default  'D' + id + hour start        -> seal generation (u64 BE) + first appended time
 *                                          (or INT64_MIN: recompute), as raw keys: the
 *                                          hour's rollups need updating
 * default  "reseal_state"              -> the re-seal pass's target and done versions
 *                                          (u32 BE each), phase (u8), cursor (u8 length +
 *                                          key): reseal.c
 * samples  (format 1 only) id + ts      -> double; migrated into chunks on open
 * meta, alerts, audit, events: opaque keys/values of the KV facade.
 * Values of head, raw and h1..mo1 are sealed blobs ("OMB1"..., AAD = their key) for
 * sensitive series when a cipher is attached (crypt.c); plain and sealed values mix.
 *
 * Canonical series key: varint(len) name, then per label (sorted by name, empty values
 * dropped) varint(len) lname varint(len) lvalue. Lengths are LEB128. */
#define STORAGE_FORMAT_VERSION 2u
#define STORAGE_FORMAT_KEY     "format_version"

#define STORAGE_ROLLUP_MARK  'D'
#define STORAGE_SERIES_FWD   'F'
#define STORAGE_SERIES_REV   'R'
#define STORAGE_SERIES_POST  'P'
#define STORAGE_SERIES_NEXT  'N'
#define STORAGE_SERIES_COUNT 'C'

#define STORAGE_SAMPLE_KEY_LEN 16

/* Input limits enforced by omega_tsdb_write. */
#define STORAGE_MAX_NAME_LEN  1024         /* metric and label name bytes */
#define STORAGE_MAX_VALUE_LEN (16 * 1024)  /* label value bytes */
#define STORAGE_MAX_LABELS    64           /* labels per point */
#define STORAGE_MAX_FUTURE_MS (10 * 60000) /* how far ahead of now a sample may be */

/* Column families in the order they are opened. */
enum storage_cf {
    STORAGE_CF_DEFAULT = 0,
    STORAGE_CF_SERIES,
    STORAGE_CF_SAMPLES, /* format 1 per-sample keys, empty after migration */
    STORAGE_CF_META,
    STORAGE_CF_ALERTS,
    STORAGE_CF_AUDIT,
    STORAGE_CF_EVENTS,
    STORAGE_CF_HEAD,
    STORAGE_CF_RAW,
    STORAGE_CF_H1, /* rollup tiers, in omega_tsdb_tier_t order */
    STORAGE_CF_D1,
    STORAGE_CF_W1,
    STORAGE_CF_MO1,
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

/* One slot of the id -> canonical key cache. */
typedef struct storage_revslot {
    uint64_t id; /* series id (valid when key != NULL) */
    size_t klen; /* bytes in key */
    char *key;   /* canonical key, owned; NULL for an empty slot */
} storage_revslot_t;

/* revcache.c: id -> canonical key, direct-mapped by the id's low bits, bounded. */
typedef struct storage_revcache {
    pthread_rwlock_t lock;   /* guards everything below */
    storage_revslot_t *slots; /* n_slots slots, owned */
    size_t n_slots;          /* power of two */
} storage_revcache_t;

int storage_revcache_init(storage_revcache_t *c);
void storage_revcache_deinit(storage_revcache_t *c);
/* 1 with *key (malloc'd copy, free() it) and *klen when cached, else 0. */
int storage_revcache_get(storage_revcache_t *c, uint64_t id, char **key, size_t *klen);
void storage_revcache_put(storage_revcache_t *c, uint64_t id, const char *key, size_t klen);
/* Drop the entries of ids (after an erase committed). */
void storage_revcache_forget(storage_revcache_t *c, const uint64_t *ids, size_t n);

/* postcache.c: (label, value) -> sorted ids, valid for one index generation. */
#define STORAGE_POSTCACHE_MAX_IDS   (1u << 20) /* ids held in all (8 MiB) */
#define STORAGE_POSTCACHE_MAX_LISTS 16         /* lists one intersection may take */
struct postentry;
typedef struct storage_postcache {
    pthread_rwlock_t lock;      /* guards everything below */
    struct postentry **buckets; /* fixed table, owned */
    size_t total_ids;           /* ids held */
} storage_postcache_t;

int storage_postcache_init(storage_postcache_t *c);
void storage_postcache_deinit(storage_postcache_t *c);
/* When all n lists (keys[i] = posting prefix of klens[i] bytes) are cached at gen: push
 * (in ascending order) every id present in all of them and return 1; else 0, nothing
 * pushed. */
int storage_postcache_intersect(storage_postcache_t *c, const char *const *keys,
                                const size_t *klens, size_t n, uint64_t gen,
                                void (*push)(void *ctx, uint64_t id), void *ctx);
/* Whether key's list is cached at gen. */
int storage_postcache_has(storage_postcache_t *c, const char *key, size_t klen, uint64_t gen);
/* Cache the sorted ids of key read at gen (kept unless an entry as new exists). */
void storage_postcache_put(storage_postcache_t *c, const char *key, size_t klen, uint64_t gen,
                           const uint64_t *ids, size_t n);

/* The series index's in-memory side. */
typedef struct storage_index {
    pthread_rwlock_t cache_lock; /* guards cache */
    storage_idmap_t cache;       /* every series seen since open */
    pthread_mutex_t create_lock; /* serialises series creation (ids, counters, batch write) */
    uint64_t next_id;            /* next id to hand out; under create_lock */
    _Atomic uint64_t n_series;   /* series on disk; written under create_lock */
    storage_revcache_t rev;      /* id -> key cache for reverse lookups */
    storage_postcache_t posts;   /* equality postings cache */
    _Atomic uint64_t gen;        /* bumped after each commit creating or erasing series */
    _Atomic int64_t gen_mono_ms; /* monotonic ms of the last bump */
} storage_index_t;

/* Bump the index generation (after a commit that created or erased series). */
void storage_index_bump(storage_index_t *ix);

/* The unsealed samples of one series, in memory (their durable copy is the head log). */
typedef struct storage_head {
    struct storage_head *next; /* chain in the stripe's table */
    uint64_t id;               /* series id */
    storage_headenc_t enc;     /* samples in arrival order, compressed (headenc.h) */
    uint32_t n;                /* samples in enc */
    int64_t min_ts, max_ts;    /* time span of the samples (valid when n > 0) */
    int64_t sealed_max;        /* last sealed timestamp when sealed_known */
    uint64_t first_seq;        /* lowest head-log record holding a sample (n > 0) */
    int64_t first_mono_ms;     /* monotonic ms when the head became non-empty */
    uint8_t sealed_known;      /* sealed_max is known (else ask RocksDB) */
    uint8_t queued;            /* on the due list */
    uint8_t sorted;            /* samples strictly ascending by time */
} storage_head_t;

#define STORAGE_HEAD_STRIPES 64

/* One lock stripe of the head table: heads whose id % STRIPES is this stripe's index. */
typedef struct storage_head_stripe {
    pthread_mutex_t lock;     /* guards everything below and the heads in it */
    storage_head_t **buckets; /* chains by id, owned */
    size_t n_buckets;         /* power of two */
    size_t n;                 /* heads in the table */
} storage_head_stripe_t;

/* Every series' head, the head log sequence and the sealing machinery. */
typedef struct storage_heads {
    storage_head_stripe_t stripe[STORAGE_HEAD_STRIPES]; /* the table */
    pthread_rwlock_t seal_lock;       /* writers shared (log commit + append), sealing exclusive */
    pthread_mutex_t due_lock;         /* guards due, n_due, cap_due */
    uint64_t *due;                    /* ids of heads to seal, owned */
    size_t n_due, cap_due;            /* entries used / allocated */
    _Atomic uint64_t next_seq;        /* next head-log record number */
    _Atomic int64_t last_age_scan_ms; /* monotonic ms of the last scan for old heads */
    _Atomic uint64_t head_samples;    /* samples in memory heads */
    uint64_t upkeep_sst;              /* head-log SST bytes after the last upkeep compaction
                                         (the life thread's alone) */
    _Atomic uint64_t chunks_written;  /* chunks put by seal rounds since open */
    _Atomic uint64_t chunk_epoch;     /* raw CF commits (seal, erase): bumped after each */
    uint64_t seal_gen;                /* seal rounds since open (rollup mark values) */
    uint64_t log_floor;               /* head-log records below this are deleted */
    uint64_t sealed_since_floor;      /* heads sealed since log_floor was last recomputed */
    uint32_t max_samples;             /* seal at this many samples */
    int64_t max_age_ms;               /* seal at this span or wall-clock age */
    int ready;                        /* locks initialised */
} storage_heads_t;

/* The rollup worker. */
typedef struct storage_rollup {
    pthread_t thread;         /* background recomputation */
    pthread_mutex_t lock;     /* guards stop, kicked */
    pthread_cond_t cond;      /* signalled by kicks and stop */
    pthread_mutex_t run_lock; /* one pass at a time (thread or omega_tsdb_rollup_run) */
    int stop;                 /* the thread must exit */
    int kicked;               /* marks were added since the last pass */
    int running;              /* thread started */
    int ready;                /* locks initialised */
} storage_rollup_t;

/* The storage (lifecycle) thread: head-log upkeep, size limit checks and periodic backups
 * (limits.c). */
typedef struct storage_life {
    pthread_t thread;         /* the thread */
    pthread_mutex_t lock;     /* guards stop */
    pthread_cond_t cond;      /* signalled by stop */
    pthread_mutex_t run_lock; /* one limit pass at a time */
    int stop;                 /* the thread must exit */
    int running;              /* thread started */
    int ready;                /* locks initialised */
    _Atomic int full;         /* over max_storage_size with nothing left to drop */
    char *backup_dir;         /* owned: options.backup_dir or <data_dir>/backups */
} storage_life_t;

/* State of one tier's retention compaction filter. */
typedef struct storage_tier_filter {
    omega_tsdb_t *db;       /* the store */
    omega_tsdb_tier_t tier; /* the tier filtered */
} storage_tier_filter_t;

/* A growable vector of buckets. */
typedef struct storage_bbuf {
    omega_tsdb_bucket_t *v; /* buckets, owned */
    size_t n, cap;          /* used / allocated */
} storage_bbuf_t;

struct omega_tsdb {
    rocksdb_t *rdb;                                       /* the engine */
    rocksdb_writeoptions_t *relaxed_wopts;                /* writes without a WAL fsync */
    _Atomic int wal_unsynced;                             /* a relaxed write awaits its sync */
    rocksdb_options_t *db_opts;                           /* DB-wide options */
    rocksdb_options_t *cf_opts[STORAGE_CF_COUNT];         /* per-CF options */
    rocksdb_column_family_handle_t *cf[STORAGE_CF_COUNT]; /* our CF handles */
    rocksdb_column_family_handle_t **extra_cf;            /* CFs on disk we do not know */
    size_t n_extra_cf;                                    /* entries in extra_cf */
    rocksdb_options_t *extra_opts;                        /* options for the unknown CFs */
    rocksdb_compactionfilter_t *retention_filter;         /* samples CF retention, or NULL */
    rocksdb_writeoptions_t *wopts;                        /* sync per options.sync_writes */
    rocksdb_readoptions_t *ropts;                         /* plain point reads */
    omega_tsdb_options_t opts;                            /* copy; opts.data_dir == data_dir */
    char *data_dir;                                       /* owned copy of the directory */
    storage_index_t index;                                /* series index cache and counters */
    storage_heads_t heads;                                /* unsealed samples, sealing */
    rocksdb_compactionfilter_t *raw_filter;               /* raw CF retention, or NULL */
    rocksdb_block_based_table_options_t *raw_table;       /* raw CF table options */
    rocksdb_cache_t *block_cache;                         /* shared block cache, or NULL */
    rocksdb_writeoptions_t *seal_wopts;                   /* seal batches: never fsync'd */
    storage_rollup_t rollup;                              /* rollup worker */
    storage_tier_filter_t tier_state[4];                  /* h1..mo1 filter states */
    rocksdb_compactionfilter_t *tier_filter[4];           /* h1..mo1 retention filters */
    _Atomic uint64_t samples_written;                     /* samples acknowledged since open */
    storage_life_t life;                                  /* limit checks and backups */
    struct storage_crypt *_Atomic crypt;                  /* cipher, NULL until attached */
    _Atomic uint64_t crypt_pending;                       /* lowest sealed head-log record
                                                             not replayed (no cipher yet),
                                                             UINT64_MAX: none (crypt.c) */
    struct storage_reseal *reseal;                        /* re-seal pass after key
                                                             rotations (reseal.c), owned */
};

/* limits.c: the lifecycle thread (start after open, stop before close) and the
 * size of the data directory as omega_tsdb_stats counts it. */
int storage_life_start(omega_tsdb_t *db);
void storage_life_stop(omega_tsdb_t *db);
uint64_t storage_disk_bytes(omega_tsdb_t *db);
/* tsdb.c: mkdir -p (0 or an errno value). */
int storage_mkdir_p(const char *path);
/* backup.c: remove a directory tree (0 or an errno value). */
int storage_rmtree(const char *path);

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
/* The label part alone (what storage_canon_encode appends after the name). */
size_t storage_canon_encode_labels(char **buf, size_t *cap, size_t len,
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
/* Ids of n canonical keys (key i is keys[off[i]..off[i + 1])) from the cache under one
 * read lock; unresolved ids stay 0. Returns how many are still unresolved. */
size_t storage_index_cached_many(storage_index_t *ix, const char *keys, const size_t *off,
                                 uint64_t *ids, size_t n);
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

/* A growable vector of samples. */
typedef struct storage_sbuf {
    omega_sample_t *v; /* samples, owned */
    size_t n;          /* samples used */
    size_t cap;        /* samples allocated */
} storage_sbuf_t;

void storage_sbuf_push(storage_sbuf_t *b, int64_t ts, double v);

/* head.c: the in-memory heads and the head log.
 * heads_init: locks and table (before RocksDB opens); deinit frees everything. */
int storage_heads_init(storage_heads_t *h, uint32_t max_samples, int64_t max_age_ms);
void storage_heads_deinit(storage_heads_t *h);
/* Add the head-log record of n points (ids resolved) to wb (sealed when one is sensitive:
 * crypt.c); *seq gets its sequence number. Returns 0 or the cipher's error (nothing added).
 * Call with seal_lock held shared, and commit wb before releasing it. */
int storage_head_log_add(omega_tsdb_t *db, rocksdb_writebatch_t *wb, const uint64_t *ids,
                         const omega_point_t *pts, size_t n, uint64_t *seq, omega_error_t *err);
/* Append committed points to the memory heads (seal_lock shared). Returns 1 when a head
 * became due for sealing. */
/* Sync the WAL and flush every column family's memtable (so old WAL files can go). */
void storage_flush_all(omega_tsdb_t *db);
/* Storage thread: when the head log's files outgrow the heads, seal every head, flush and
 * compact the log, so the data dir shrinks back after a burst. */
void storage_head_log_upkeep(omega_tsdb_t *db);
int storage_heads_append(omega_tsdb_t *db, const uint64_t *ids, const omega_point_t *pts, size_t n,
                         uint64_t seq);
/* Copy series id's head samples in [start, end] into out (sorted, duplicates resolved:
 * the latest write of a timestamp wins). Returns 1 when sealed chunks may also hold
 * samples in the range, 0 when none can (the chunk lookup can be skipped). */
int storage_head_copy(omega_tsdb_t *db, uint64_t id, int64_t start, int64_t end,
                      storage_sbuf_t *out);
/* Series created by this process have no chunks: mark their heads so reads skip the
 * chunk lookup until their first seal. */
void storage_heads_mark_new(omega_tsdb_t *db, const uint64_t *ids, size_t n);
/* Append e's samples in [start, end] to out sorted, the last arrival of a time winning
 * (caller holds e's stripe lock). */
void storage_head_sorted(const storage_head_t *e, int64_t start, int64_t end, storage_sbuf_t *out);
/* Empty a sealed head (its stripe locked): keep the stream's buffer for the next samples
 * unless the head was filling slowly (fewer than half of max_samples), then free it. */
void storage_head_clear(storage_heads_t *h, storage_head_t *e);
/* Free an unlinked head and its samples. */
void storage_head_free(storage_head_t *e);
/* The stripe a series' head lives in, and the head itself (created when create is set). */
storage_head_stripe_t *storage_head_stripe(storage_heads_t *h, uint64_t id);
storage_head_t *storage_head_find(storage_head_stripe_t *st, uint64_t id, int create);
/* Rebuild the heads from the head log (and migrate format-1 samples) at open. */
int storage_heads_load(omega_tsdb_t *db, omega_error_t *err);

/* seal.c: seal due heads (all = 1: every non-empty head). Takes seal_lock exclusively.
 * Returns 0 or the RocksDB error (the heads then stay, durable in the log). */
int storage_heads_seal(omega_tsdb_t *db, int all, omega_error_t *err);
/* Whether a writer should run a seal round now (due heads, or an age scan is due). */
int storage_heads_seal_wanted(omega_tsdb_t *db);
/* Append the chunk samples of series id in [start, end] to out (sorted, unique), reading
 * through ro. OMEGA_ECORRUPT names the damaged chunk in err. */
int storage_chunks_read(omega_tsdb_t *db, const rocksdb_readoptions_t *ro, uint64_t id,
                        int64_t start, int64_t end, storage_sbuf_t *out, omega_error_t *err);
/* 1 when series id has a chunk with a sample in [start, end] (headers only), 0 when not,
 * or a RocksDB error, through it (an iterator over the raw CF). */
int storage_chunks_any(omega_tsdb_t *db, rocksdb_iterator_t *it, uint64_t id, int64_t start,
                       int64_t end, omega_error_t *err);
/* The same through an existing iterator over the raw CF (one per reader, renewed when
 * chunk_epoch moved: see read.c). */
int storage_chunks_read_it(omega_tsdb_t *db, rocksdb_iterator_t *it, uint64_t id, int64_t start,
                           int64_t end, storage_sbuf_t *out, omega_error_t *err);
/* read.c: one thread's reader of series samples for queries (see read.c). */
typedef struct storage_reader {
    omega_tsdb_t *db;       /* the store */
    rocksdb_iterator_t *it; /* raw CF iterator, NULL until needed */
    uint64_t epoch;         /* heads.chunk_epoch when it was made */
    storage_sbuf_t head;    /* reused head copy */
} storage_reader_t;
void storage_reader_init(storage_reader_t *r, omega_tsdb_t *db);
void storage_reader_deinit(storage_reader_t *r);
/* Replace out's contents with the samples of id in [start, end] (sorted, unique). */
int storage_reader_samples(storage_reader_t *r, uint64_t id, int64_t start, int64_t end,
                           storage_sbuf_t *out, omega_error_t *err);
/* 1 when id has a sample in [start, end] (head or chunk headers; nothing decoded), 0 when
 * not, or an error. */
int storage_reader_active(storage_reader_t *r, uint64_t id, int64_t start, int64_t end,
                          omega_error_t *err);
/* rollup.c: add the marks of the hours of sorted samples s to wb; the worker; reads of
 * a tier (buckets of id starting in [bucket_start(start), end], expired ones left out);
 * a tier's retention filter; a tier's retention. */
void storage_rollup_mark(omega_tsdb_t *db, rocksdb_writebatch_t *wb, uint64_t id,
                         const omega_sample_t *s, size_t n, uint64_t gen, int append);
int storage_rollup_start(omega_tsdb_t *db);
void storage_rollup_kick(omega_tsdb_t *db);
void storage_rollup_stop(omega_tsdb_t *db);
void storage_rollup_deinit(omega_tsdb_t *db);
/* A new iterator over tier's column family (rocksdb_iter_destroy it); one serves a whole
 * select, a consistent view of the tier for its duration. */
rocksdb_iterator_t *storage_tier_iterator(omega_tsdb_t *db, omega_tsdb_tier_t tier);
/* id's buckets of tier starting in [bucket_start(start), end] into out, read through it. */
int storage_tier_read(omega_tsdb_t *db, rocksdb_iterator_t *it, omega_tsdb_tier_t tier,
                      uint64_t id, int64_t start, int64_t end, storage_bbuf_t *out,
                      omega_error_t *err);
rocksdb_compactionfilter_t *storage_tier_filter_create(storage_tier_filter_t *tf);
int64_t storage_tier_retention(const omega_tsdb_t *db, omega_tsdb_tier_t tier);
/* The raw CF compaction filter (retention by the chunks' sample times). */
rocksdb_compactionfilter_t *storage_raw_filter_create(omega_tsdb_t *db);

/* crypt.c: encryption at rest of sensitive series (docs/storage.md). Every function is a
 * no-op or a plain pass-through while no cipher is attached. */
typedef struct storage_crypt storage_crypt_t;
/* At open, before the head log is replayed: attach the options' cipher, if any. */
int storage_crypt_open(omega_tsdb_t *db, omega_error_t *err);
/* At close: free the cipher state. */
void storage_crypt_free(omega_tsdb_t *db);
/* 1 when a stored value is sealed (starts with OMEGA_TSDB_SEALED_MAGIC). */
static inline int storage_crypt_is_sealed(const char *v, size_t n)
{
    return n >= 4 && v[0] == 'O' && v[1] == 'M' && v[2] == 'B' && v[3] == '1';
}
/* Whether series id's samples must be sealed now (0 without patterns). name is its metric
 * name when known (else read from the index); a failed lookup counts as sensitive. */
int storage_crypt_sensitive(omega_tsdb_t *db, uint64_t id, const char *name);
/* Put val under key in cf of wb, sealed when seal is set (AAD = key). 0 or the cipher's
 * error (nothing put). */
int storage_crypt_put(omega_tsdb_t *db, rocksdb_writebatch_t *wb, int cf, const char *key,
                      size_t klen, const void *val, size_t vlen, int seal, omega_error_t *err);
/* The plain bytes of a stored value: v itself when not sealed (*owned = NULL), else opened
 * into *owned (malloc'd, free() it). OMEGA_EACCES (no cipher, key not held) or
 * OMEGA_ECORRUPT (altered, moved) with err naming the value. */
int storage_crypt_view(omega_tsdb_t *db, const char *key, size_t klen, const char *v, size_t vlen,
                       const char **plain, size_t *plen, char **owned, omega_error_t *err);
/* head.c: put the head-log record rec under key into wb, sealed when one of the n points
 * belongs to a sensitive series. */
int storage_crypt_head_put(omega_tsdb_t *db, rocksdb_writebatch_t *wb, const char *key,
                           const char *rec, size_t len, const uint64_t *ids,
                           const omega_point_t *pts, size_t n, omega_error_t *err);
/* head.c replay: one record (opened first when sealed; kept for
 * omega_tsdb_cipher_attach when no cipher is attached yet). */
int storage_crypt_replay(omega_tsdb_t *db, uint64_t seq, const char *key, size_t klen,
                         const char *v, size_t vlen);
/* The key version a sealed value names (bytes 4..7, big-endian: tsdb.h), 0 when not sealed. */
static inline uint32_t storage_crypt_version(const char *v, size_t n)
{
    if (n < 8 || !storage_crypt_is_sealed(v, n))
        return 0;
    const unsigned char *b = (const unsigned char *)v;
    return (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
}
/* The key version new seals use (the cipher's active call; 0: no cipher, detached, or it
 * cannot seal or say). */
uint32_t storage_crypt_active(omega_tsdb_t *db);
/* Tell the cipher no stored value uses a version below `below` (its release call; 0 when it
 * has none). */
int storage_crypt_release(omega_tsdb_t *db, uint32_t below, omega_error_t *err);

/* reseal.c: the re-seal pass's thread, started by storage_life_start and stopped first
 * thing in storage_life_stop (before RocksDB closes). */
int storage_reseal_start(omega_tsdb_t *db);
void storage_reseal_stop(omega_tsdb_t *db);

/* head.c: replay one plain record; OMEGA_ECORRUPT when it does not parse. */
int storage_head_replay_record(omega_tsdb_t *db, uint64_t seq, const char *p, size_t len);

#endif
