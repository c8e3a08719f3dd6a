/* SPDX-License-Identifier: Apache-2.0 */
/* The time-series store (module storage/, the only user of RocksDB): series index,
 * samples, and a small key-value facade for the other column families.
 *
 * Thread rules: one omega_tsdb_t may be used from any number of threads at once.
 * Durability: when a write function returns 0 the data is in the RocksDB WAL
 * (fsync'd unless options.sync_writes is 0) and survives kill -9.
 * Samples first live in a per-series in-memory head (backed by a head log record per
 * write call) and are sealed into compressed chunks by size or age; docs/storage.md
 * describes the on-disk format and the out-of-order / duplicate rule. */
#ifndef OMEGA_TSDB_H
#define OMEGA_TSDB_H

#include <stddef.h>
#include <stdint.h>

#include "omega/common.h"
#include "omega/metric.h"

typedef struct omega_tsdb omega_tsdb_t;

/* Encryption at rest of sensitive series (docs/storage.md "Encryption at rest"). storage/
 * never links a cipher: the caller hands one in. A sealed value starts with the 4 bytes
 * OMEGA_TSDB_SEALED_MAGIC ("OMB1", auth's blob format), which no plain chunk, rollup bucket
 * or head-log record does, so stores holding both read both. seal and open have auth's
 * omega_auth_blob_seal/_open contract: aad (the RocksDB key of the value) is authenticated
 * but not stored; they return 0 or a negative OMEGA_E* (open: OMEGA_EACCES for a key not
 * held, OMEGA_ECORRUPT for an altered blob or another aad). Called from any storage thread
 * (writers, seal rounds, the rollup worker, compaction), so both must be thread-safe. */
#define OMEGA_TSDB_SEALED_MAGIC "OMB1"
typedef int (*omega_tsdb_cipher_fn)(void *ctx, const void *aad, size_t aad_len, const void *in,
                                    size_t n, void *out, size_t out_cap, size_t *out_len,
                                    omega_error_t *err);
typedef struct omega_tsdb_cipher {
    void *ctx;                 /* passed to seal and open; must outlive the store (or
                                  omega_tsdb_cipher_detach) */
    omega_tsdb_cipher_fn seal; /* plain -> sealed (n + overhead bytes, starting "OMB1") */
    omega_tsdb_cipher_fn open; /* sealed -> plain */
    size_t overhead;           /* bytes seal adds (auth: OMEGA_AUTH_BLOB_OVERHEAD) */
    uint32_t (*active)(void *ctx); /* key version seal uses now, 0 = none; may be NULL (no
                                      re-sealing after rotations). Sealed values carry
                                      their version in bytes 4..7, big-endian (auth's
                                      blob layout) */
    int (*release)(void *ctx, uint32_t below, omega_error_t *err); /* no value in the
                                      store is sealed under a version below `below` any
                                      more (the re-seal pass finished); may be NULL */
} omega_tsdb_cipher_t;

/* Open-time options; start from omega_tsdb_options_init(). */
typedef struct omega_tsdb_options {
    const char *data_dir;           /* directory, created if missing (borrowed during open) */
    int64_t raw_retention_ms;       /* samples older than now - this are never returned; 0 = keep */
    int64_t out_of_order_window_ms; /* samples older than now - this are rejected; 0 = no limit */
    uint64_t max_series;            /* series (cardinality) limit; 0 = unlimited */
    int compression;                /* 1: zstd block compression for sample data, 0: none */
    int sync_writes;                /* 1: fsync the WAL before acknowledging a write */
    uint32_t chunk_max_samples;     /* seal a series' head into a chunk at this many
                                       samples (1..65535; 0 = 120) */
    int64_t chunk_max_age_ms;       /* ...or when it spans this long, or was opened this
                                       long ago (wall clock); 0 = only by size */
    uint64_t block_cache_size;      /* bytes of block cache for chunk reads; 0 = RocksDB's
                                       default */
    int64_t hourly_retention_ms;    /* h1 rollup buckets kept this long (by bucket end);
                                       0 = keep (also for the three below) */
    int64_t daily_retention_ms;     /* d1 buckets */
    int64_t weekly_retention_ms;    /* w1 buckets */
    int64_t monthly_retention_ms;   /* mo1 buckets */
    uint64_t max_storage_size;      /* bytes the data dir may hold (live SST + WAL, as
                                       stats.disk_bytes); over it the oldest data is
                                       dropped, then sample writes fail; 0 = unlimited */
    const char *backup_dir;         /* where backups go; NULL or "" = <data_dir>/backups
                                       (borrowed during open) */
    int64_t backup_interval_ms;     /* automatic backup period; 0 = none */
    uint32_t backup_keep;           /* newest backups kept in backup_dir; 0 = 7 */
    omega_tsdb_cipher_t cipher;     /* encryption at rest; all zero = none (a cipher can
                                       also be attached after open: omega_tsdb_cipher_attach) */
    const char *const *sensitive_metrics; /* POSIX EREs, each matching a whole metric name
                                       (like PromQL =~): those series' sample values are
                                       sealed with cipher (borrowed during open; needs
                                       cipher.seal) */
    size_t n_sensitive_metrics;           /* entries in sensitive_metrics */
    int reseal_manual;                    /* 1: no background re-seal pass after key
                                             rotations, only omega_tsdb_reseal_run (tests
                                             and tools); 0 (default): background */
} omega_tsdb_options_t;

/* Fill o with defaults: data_dir "data", 24 h retention, 1 h out-of-order window,
 * 1,000,000 series, compression on, sync_writes on, chunks of 120 samples / 2 h,
 * rollups kept 7 d (h1), 30 d (d1), 365 d (w1), 5 * 365 d (mo1). */
void omega_tsdb_options_init(omega_tsdb_options_t *o);

/* Open (creating if needed) the store in o->data_dir. Returns NULL and fills err on failure
 * (e.g. the directory is locked by another process). Free with omega_tsdb_close(). */
omega_tsdb_t *omega_tsdb_open(const omega_tsdb_options_t *o, omega_error_t *err);

/* Attach the cipher and sensitive patterns after open (once; for callers whose cipher
 * keeps its keys in this store, like auth): the same meaning as the options' fields. Head-log
 * records sealed before a crash are replayed into memory now (until then their samples are
 * not readable and their log records are kept). Call before writing samples. Returns 0,
 * OMEGA_EINVAL (a bad pattern, patterns without cipher->seal, a cipher already attached) or
 * OMEGA_EIO. Thread-safe against readers and the storage threads. */
int omega_tsdb_cipher_attach(omega_tsdb_t *db, const omega_tsdb_cipher_t *cipher,
                             const char *const *sensitive_metrics, size_t n, omega_error_t *err);

/* Stop using the cipher (before its context is freed): seals every head and brings the
 * rollups up to date while it still can, then waits for cipher calls in progress and
 * makes sealed values unreadable (OMEGA_EACCES) for the rest of the handle's life. Accepts
 * NULL and a store without a cipher. Thread-safe. */
void omega_tsdb_cipher_detach(omega_tsdb_t *db);

/* ---- Re-sealing after key rotations (docs/storage.md "Key rotation") ----
 * When the cipher's active version moves past the last one every sealed value was brought
 * to, a background pass walks the head log, raw chunks and rollup tiers and re-seals each
 * value sealed under an older version with the active one, a bounded batch at a time (one
 * RocksDB write batch, with the pass's position, so a crash leaves every value readable
 * under either version and the pass resumes where it stopped), paced to about a tenth of a
 * core. When a pass ends with every value opened, cipher.release(active) lets the cipher
 * drop the older versions. */

/* Progress of the re-seal pass. */
typedef struct omega_tsdb_reseal_status {
    int pending;              /* a pass is under way or about to start */
    uint32_t target_version;  /* version the current (or last) pass re-seals to; 0 = none */
    uint32_t done_version;    /* every sealed value is under this version or a newer one
                                 (0 = no pass has finished yet) */
    double progress;          /* 0..1 through the current pass (1 when none is pending) */
    uint64_t examined;        /* sealed values the current (or last) pass looked at */
    uint64_t resealed;        /* values it re-sealed */
    uint64_t unreadable;      /* values it could not open (left as they are; the older
                                 versions then stay with the cipher) */
    uint64_t resealed_total;  /* values re-sealed since open */
    int64_t started_ms;       /* Unix ms the current (or last) pass started, 0 = never */
    int64_t finished_ms;      /* Unix ms it finished, 0 = not yet */
    char error[192];          /* why the last pass stopped short, "" = it did not */
} omega_tsdb_reseal_status_t;

/* Fill *out (all zero for NULL db). Thread-safe. */
void omega_tsdb_reseal_status(omega_tsdb_t *db, omega_tsdb_reseal_status_t *out);

/* Wake the background pass now (after a rotation; it also looks every few seconds), and
 * retry a pass that stopped short on values it could not open. Accepts NULL. Thread-safe,
 * never blocks. */
void omega_tsdb_reseal_kick(omega_tsdb_t *db);

/* Run up to max_batches batches of the pass in the calling thread, without pacing
 * (0 = until done; maintenance and tests). Returns 0 when no pass is pending any more (one
 * that stopped short on values it could not open counts as ended: status.unreadable and
 * status.error say so), OMEGA_EAGAIN when batches remain, OMEGA_EINVAL (NULL db), or
 * OMEGA_EIO/the cipher's error (the batch is redone next time). Serialised with the
 * background pass batch by batch. Blocking. */
int omega_tsdb_reseal_run(omega_tsdb_t *db, size_t max_batches, omega_error_t *err);

/* Flush memtables and close. Accepts NULL. The handle is dead afterwards. */
void omega_tsdb_close(omega_tsdb_t *db);

/* Write n points atomically: either every point (and every new series it creates) is
 * stored, or nothing is. Names and labels are validated (valid names, UTF-8 values,
 * no duplicate label names). Returns 0, or:
 *   OMEGA_EINVAL  a point is invalid (err->message names its index and the reason),
 *   OMEGA_E2BIG   the series limit would be exceeded,
 *   OMEGA_ENOSPC  storage is full,
 *   OMEGA_EIO     the engine failed.
 * The same series and timestamp written twice: the last write wins. */
int omega_tsdb_write(omega_tsdb_t *db, const omega_point_t *points, size_t n, omega_error_t *err);

/* Like omega_tsdb_write, without waiting for the WAL fsync: the batch is in the WAL (the
 * page cache) and readable when this returns, and the storage thread fsyncs the WAL within
 * about a second (close, a flush or any synced write sync it too). For the server's own
 * periodic collection, where up to a second of samples lost on power loss (not on a
 * process crash) is the price of not waiting for the disk on every pass. Thread-safe. */
int omega_tsdb_write_relaxed(omega_tsdb_t *db, const omega_point_t *points, size_t n,
                             omega_error_t *err);

/* A series as handed to callbacks. Every pointer is borrowed and valid only during the
 * callback. labels exclude "__name__" and are sorted by name. */
typedef struct omega_series {
    uint64_t id;                 /* stable 64-bit series id */
    const char *name;            /* metric name */
    const omega_label_t *labels; /* sorted by name */
    size_t n_labels;             /* entries in labels */
} omega_series_t;

/* Called once per matching series with its samples in [start, end] ascending by time
 * (n may be 0 for omega_tsdb_series_match). Return 0 to continue, non-zero to stop
 * (that value is then returned by the caller). */
typedef int (*omega_tsdb_series_cb)(void *ctx, const omega_series_t *series,
                                    const omega_sample_t *samples, size_t n);

/* Every series matching all matchers (AND), with its samples in [start_ms, end_ms]
 * (inclusive). Series with no samples in range are skipped. At least one matcher must
 * not match the empty string (as in Prometheus), else OMEGA_EINVAL. Invalid regexes
 * give OMEGA_EINVAL with the reason in err. */
int omega_tsdb_select(omega_tsdb_t *db, const omega_matcher_t *matchers, size_t n_matchers,
                      int64_t start_ms, int64_t end_ms, omega_tsdb_series_cb cb, void *ctx,
                      omega_error_t *err);

/* Like omega_tsdb_select, but cb may run on several threads at once (the caller's and up to
 * three helpers), for different series and in no particular order, so cb must be
 * thread-safe; each series is then read and consumed on one core. The samples are valid
 * only during the call. A non-zero return stops the read (series already being handed
 * out still finish) and one such value is returned. */
int omega_tsdb_select_concurrent(omega_tsdb_t *db, const omega_matcher_t *matchers,
                                 size_t n_matchers, int64_t start_ms, int64_t end_ms,
                                 omega_tsdb_series_cb cb, void *ctx, omega_error_t *err);

/* Every series matching all matchers, without samples (callback n == 0). */
int omega_tsdb_series_match(omega_tsdb_t *db, const omega_matcher_t *matchers, size_t n_matchers,
                            omega_tsdb_series_cb cb, void *ctx, omega_error_t *err);

/* ---- Rollup tiers ----
 * Per series and UTC bucket: min, max, sum, count and last of the samples. Buckets are
 * hours (h1), days (d1), weeks starting Monday 00:00 (w1) and calendar months (mo1).
 * They are computed in the background from sealed chunks (a few seconds behind the
 * seals; omega_tsdb_flush + omega_tsdb_rollup_run make them complete now), recomputed
 * when samples are rewritten, and kept while the bucket's end is within the tier's
 * retention. min/max ignore NaN unless every value is NaN; sum and count include it. */
typedef enum omega_tsdb_tier {
    OMEGA_TSDB_TIER_H1 = 1,  /* hourly */
    OMEGA_TSDB_TIER_D1 = 2,  /* daily */
    OMEGA_TSDB_TIER_W1 = 3,  /* weekly (Monday) */
    OMEGA_TSDB_TIER_MO1 = 4, /* calendar month */
} omega_tsdb_tier_t;

/* One rollup bucket. */
typedef struct omega_tsdb_bucket {
    int64_t start_ms;   /* bucket start, Unix ms (UTC) */
    int64_t last_ts_ms; /* time of the bucket's last sample */
    uint64_t count;     /* samples in the bucket */
    double min;         /* smallest value */
    double max;         /* largest value */
    double sum;         /* sum of the values */
    double last;        /* value of the last sample */
} omega_tsdb_bucket_t;

/* Called once per matching series that has buckets in range, buckets ascending by start;
 * pointers are borrowed for the call. Return non-zero to stop (returned by the caller). */
typedef int (*omega_tsdb_bucket_cb)(void *ctx, const omega_series_t *series,
                                    const omega_tsdb_bucket_t *buckets, size_t n);

/* Like omega_tsdb_series_match, restricted to series with at least one sample in
 * [start_ms, end_ms] (inclusive; raw retention applied): the callback gets n = 0. Costs
 * an index and chunk-header look per series, never a sample decode (label listings with a
 * time range). Errors as omega_tsdb_select. Thread-safe. */
int omega_tsdb_series_active(omega_tsdb_t *db, const omega_matcher_t *matchers,
                             size_t n_matchers, int64_t start_ms, int64_t end_ms,
                             omega_tsdb_series_cb cb, void *ctx, omega_error_t *err);

/* Like omega_tsdb_select on a rollup tier: every series matching all matchers with its
 * buckets whose start lies in [bucket_start(start_ms), end_ms]. Errors as for
 * omega_tsdb_select, plus OMEGA_EINVAL for an unknown tier. Thread-safe. */
int omega_tsdb_select_tier(omega_tsdb_t *db, omega_tsdb_tier_t tier,
                           const omega_matcher_t *matchers, size_t n_matchers, int64_t start_ms,
                           int64_t end_ms, omega_tsdb_bucket_cb cb, void *ctx, omega_error_t *err);

/* Start (UTC) of the tier bucket holding ts. Pure function. */
int64_t omega_tsdb_bucket_start(omega_tsdb_tier_t tier, int64_t ts);

/* Bring every tier up to date with the sealed chunks now (blocking; the background
 * thread does the same on its own). Returns 0, OMEGA_EINVAL for NULL, or OMEGA_EIO. */
int omega_tsdb_rollup_run(omega_tsdb_t *db, omega_error_t *err);

/* ---- Erasure (right to erasure) ---- */

/* What omega_tsdb_erase removed. */
typedef struct omega_tsdb_erase_stats {
    uint64_t series;            /* series removed from the index */
    uint64_t raw_chunks;        /* raw chunks deleted */
    uint64_t rollup_buckets[4]; /* buckets deleted in h1, d1, w1, mo1 */
} omega_tsdb_erase_stats_t;

/* Remove every series matching all matchers (as omega_tsdb_series_match) from every tier
 * (memory head, head log, raw chunks, h1/d1/w1/mo1, pending rollup work) and from the
 * index, then compact the erased key ranges so the bytes leave the SST files. A later
 * write of the same labels makes a new, empty series. Seals every head first and blocks
 * writers and rollup passes while it deletes (one batch: all or nothing). Samples of a
 * matching series written concurrently with the call may survive as invisible data:
 * stop sending them first. *out (may be NULL) gets the counts (all zero when nothing
 * matched, which is not an error). Returns 0, OMEGA_EINVAL (no matchers, bad regex),
 * OMEGA_EAGAIN (a matching series kept being written through 8 seal rounds) or
 * OMEGA_EIO. Any thread; blocking (seconds on a large store). */
int omega_tsdb_erase(omega_tsdb_t *db, const omega_matcher_t *matchers, size_t n_matchers,
                     omega_tsdb_erase_stats_t *out, omega_error_t *err);

/* ---- Integrity ---- */

/* What omega_tsdb_verify found. */
typedef struct omega_tsdb_integrity {
    uint64_t chunks;         /* chunks read */
    uint64_t samples;        /* samples in the chunks that passed */
    uint64_t corrupt_chunks; /* chunks failing their CRC32C or format checks */
} omega_tsdb_integrity_t;

/* Called once per corrupt chunk with its series id and the chunk's key time (ms). */
typedef void (*omega_tsdb_corrupt_cb)(void *ctx, uint64_t series_id, int64_t chunk_ts_ms);

/* Read every sealed chunk with RocksDB block checksums verified and check each chunk's
 * CRC and format (blocking, a full scan: diagnostics only, never the event loop). Fills
 * *out, calls cb (may be NULL) for each corrupt chunk and goes on. Returns 0 when all is
 * well, OMEGA_ECORRUPT when chunks are corrupt (err counts them and names the first),
 * OMEGA_EIO when RocksDB itself reports damage (err carries its message, which names the
 * file), OMEGA_EINVAL for NULL db/out. Never crashes on damaged data. */
int omega_tsdb_verify(omega_tsdb_t *db, omega_tsdb_integrity_t *out, omega_tsdb_corrupt_cb cb,
                      void *ctx, omega_error_t *err);

/* Counters for diagnostics and /metrics. */
typedef struct omega_tsdb_stats {
    uint64_t series;          /* series in the index */
    uint64_t samples_written; /* samples acknowledged since open */
    uint64_t disk_bytes;      /* live SST + WAL bytes as RocksDB reports them */
    uint64_t head_samples;    /* samples in memory heads, not yet sealed in chunks */
    uint64_t chunks_written;  /* chunks written by sealing since open */
} omega_tsdb_stats_t;

void omega_tsdb_stats(omega_tsdb_t *db, omega_tsdb_stats_t *out);

/* Seal every series' head into chunks now (blocking: maintenance, shutdown paths, tests
 * and benchmarks). Reads see the same samples before and after. Returns 0, OMEGA_EINVAL
 * when db is NULL, or OMEGA_EIO/OMEGA_ENOSPC from the engine (the heads then stay, durable
 * in the head log). Thread-safe; writers wait while it runs. */
int omega_tsdb_flush(omega_tsdb_t *db, omega_error_t *err);

/* Seal every head, then compact the sample data now (blocking: maintenance jobs and tests
 * only, never the event loop). Samples older than now - raw_retention_ms, already
 * invisible to reads, are then removed from disk (chunks partly expired are trimmed).
 * Returns 0, OMEGA_EINVAL when db is NULL, or the sealing error. */
int omega_tsdb_compact(omega_tsdb_t *db, omega_error_t *err);

/* ---- Storage limit and backups (docs/storage.md, "Limits and backups") ---- */

/* Bring the data directory under options.max_storage_size now (blocking; a background
 * thread does the same every few seconds). While over the limit it deletes, oldest first,
 * raw chunks, then h1, d1, w1 and mo1 rollup buckets (each round drops the oldest quarter
 * of the time span the column family holds) and compacts them away. Returns 0 when under
 * the limit (or no limit), OMEGA_ENOSPC when nothing is left to drop (sample writes then
 * fail with OMEGA_ENOSPC until space is freed; reads and KV writes keep working),
 * OMEGA_EINVAL for NULL db, OMEGA_EIO from the engine. Thread-safe. */
int omega_tsdb_enforce_limit(omega_tsdb_t *db, omega_error_t *err);

/* Write a consistent RocksDB checkpoint of the store into <dir>/<UTC time
 * YYYYMMDDTHHMMSSZ> (dir NULL or "" = options.backup_dir, else <data_dir>/backups;
 * created if missing), then delete the oldest backups in that directory beyond
 * options.backup_keep. path_out (path_len bytes, may be NULL) gets the new backup's path.
 * Returns 0, OMEGA_EINVAL (NULL db), OMEGA_EIO/OMEGA_ENOSPC (err names the path).
 * Thread-safe; writers keep going while it runs. */
int omega_tsdb_backup(omega_tsdb_t *db, const char *dir, char *path_out, size_t path_len,
                      omega_error_t *err);

/* Restore the backup in backup_path into data_dir. Refuses a data_dir another process
 * (a running server) holds open, and one that exists and is not empty unless force (then
 * its contents are replaced, except a "backups" subdirectory). The files are copied into
 * <data_dir>.restore-tmp, verified (opened as a store, every chunk checked), then moved
 * into place; on any error data_dir is left as it was. Returns 0, OMEGA_ENOENT (no such
 * backup), OMEGA_EEXIST (target in use, or not empty without force), OMEGA_ECORRUPT (not
 * a backup, or the copy fails to open or verify), OMEGA_EIO, OMEGA_EINVAL. Blocking. */
int omega_tsdb_restore(const char *backup_path, const char *data_dir, int force,
                       omega_error_t *err);

/* ---- Key-value facade for the other modules (no RocksDB types leak out) ---- */

typedef enum omega_kv_space {
    OMEGA_KV_META = 0,   /* users, keys, rules, dashboards, config snapshots */
    OMEGA_KV_ALERTS = 1, /* alert history */
    OMEGA_KV_AUDIT = 2,  /* audit events */
    OMEGA_KV_EVENTS = 3, /* operations, jobs, traces, profiles */
} omega_kv_space_t;

/* Store value under key (durable on return). Returns 0 or OMEGA_EIO/OMEGA_ENOSPC. */
int omega_kv_put(omega_tsdb_t *db, omega_kv_space_t space, const void *key, size_t klen,
                 const void *val, size_t vlen, omega_error_t *err);

/* Read key. On 0, *val is a malloc'd copy (NUL-terminated one past *vlen for convenience)
 * that the caller frees with free(). Returns OMEGA_ENOENT when absent. */
int omega_kv_get(omega_tsdb_t *db, omega_kv_space_t space, const void *key, size_t klen, char **val,
                 size_t *vlen, omega_error_t *err);

/* Delete key (absent is not an error). */
int omega_kv_delete(omega_tsdb_t *db, omega_kv_space_t space, const void *key, size_t klen,
                    omega_error_t *err);

/* Visit every key starting with prefix (plen 0 = all) in key order. key/val are borrowed
 * for the callback only. Return non-zero from cb to stop; that value is returned. */
typedef int (*omega_kv_scan_cb)(void *ctx, const void *key, size_t klen, const void *val,
                                size_t vlen);
int omega_kv_scan(omega_tsdb_t *db, omega_kv_space_t space, const void *prefix, size_t plen,
                  omega_kv_scan_cb cb, void *ctx, omega_error_t *err);
/* The same, starting at the first key >= start (start begins with prefix: e.g. a prefix
 * followed by a big-endian timestamp, to read a time range with one seek). OMEGA_EINVAL
 * when start does not begin with prefix. */
int omega_kv_scan_from(omega_tsdb_t *db, omega_kv_space_t space, const void *prefix, size_t plen,
                       const void *start, size_t slen, omega_kv_scan_cb cb, void *ctx,
                       omega_error_t *err);

#endif
