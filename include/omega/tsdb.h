/* SPDX-License-Identifier: Apache-2.0 */
/* The time-series store (module storage/, the only user of RocksDB): series index,
 * samples, and a small key-value facade for the other column families.
 *
 * Thread rules: one omega_tsdb_t may be used from any number of threads at once.
 * Durability: when a write function returns 0 the data is in the RocksDB WAL
 * (fsync'd unless options.sync_writes is 0) and survives kill -9. */
#ifndef OMEGA_TSDB_H
#define OMEGA_TSDB_H

#include <stddef.h>
#include <stdint.h>

#include "omega/common.h"
#include "omega/metric.h"

typedef struct omega_tsdb omega_tsdb_t;

/* Open-time options; start from omega_tsdb_options_init(). */
typedef struct omega_tsdb_options {
    const char *data_dir;           /* directory, created if missing (borrowed during open) */
    int64_t raw_retention_ms;       /* samples older than now - this are never returned; 0 = keep */
    int64_t out_of_order_window_ms; /* samples older than now - this are rejected; 0 = no limit */
    uint64_t max_series;            /* series (cardinality) limit; 0 = unlimited */
    int compression;                /* 1: zstd block compression for sample data, 0: none */
    int sync_writes;                /* 1: fsync the WAL before acknowledging a write */
} omega_tsdb_options_t;

/* Fill o with defaults: data_dir "data", 24 h retention, 1 h out-of-order window,
 * 1,000,000 series, compression on, sync_writes on. */
void omega_tsdb_options_init(omega_tsdb_options_t *o);

/* Open (creating if needed) the store in o->data_dir. Returns NULL and fills err on failure
 * (e.g. the directory is locked by another process). Free with omega_tsdb_close(). */
omega_tsdb_t *omega_tsdb_open(const omega_tsdb_options_t *o, omega_error_t *err);

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

/* Every series matching all matchers, without samples (callback n == 0). */
int omega_tsdb_series_match(omega_tsdb_t *db, const omega_matcher_t *matchers, size_t n_matchers,
                            omega_tsdb_series_cb cb, void *ctx, omega_error_t *err);

/* Counters for diagnostics and /metrics. */
typedef struct omega_tsdb_stats {
    uint64_t series;          /* series in the index */
    uint64_t samples_written; /* samples acknowledged since open */
    uint64_t disk_bytes;      /* live SST + WAL bytes as RocksDB reports them */
} omega_tsdb_stats_t;

void omega_tsdb_stats(omega_tsdb_t *db, omega_tsdb_stats_t *out);

/* Compact the sample data now (blocking: maintenance jobs and tests only, never the event
 * loop). Samples older than now - raw_retention_ms, already invisible to reads, are then
 * removed from disk. Returns 0, or OMEGA_EINVAL when db is NULL. */
int omega_tsdb_compact(omega_tsdb_t *db, omega_error_t *err);

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
int omega_kv_get(omega_tsdb_t *db, omega_kv_space_t space, const void *key, size_t klen,
                 char **val, size_t *vlen, omega_error_t *err);

/* Delete key (absent is not an error). */
int omega_kv_delete(omega_tsdb_t *db, omega_kv_space_t space, const void *key, size_t klen,
                    omega_error_t *err);

/* Visit every key starting with prefix (plen 0 = all) in key order. key/val are borrowed
 * for the callback only. Return non-zero from cb to stop; that value is returned. */
typedef int (*omega_kv_scan_cb)(void *ctx, const void *key, size_t klen, const void *val,
                                size_t vlen);
int omega_kv_scan(omega_tsdb_t *db, omega_kv_space_t space, const void *prefix, size_t plen,
                  omega_kv_scan_cb cb, void *ctx, omega_error_t *err);

#endif
