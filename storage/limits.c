/* SPDX-License-Identifier: Apache-2.0 */
/* max_storage_size enforcement and the storage (lifecycle) thread. Over the limit the
 * oldest data goes first: raw chunks, then h1, d1, w1 and mo1 rollup buckets, a quarter of
 * a column family's time span per round, each round compacted away; only when nothing is
 * left do sample writes fail. The same thread takes the periodic backups (backup.c). */
#include "storage_int.h"

#include "omega/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often the thread looks at the data directory's size. */
#define LIFE_CHECK_MS 5000
#define WAL_SYNC_MS   1000 /* relaxed writes are durable this long after they return */
/* Drop rounds per enforcement pass (each removes at least the oldest key time). */
#define LIMIT_MAX_ROUNDS 64

/* Oldest and newest key time in a CF keyed id + ts; *any is 0 when it is empty. */
static int cf_span(omega_tsdb_t *db, int cf, int64_t *min, int64_t *max, int *any,
                   omega_error_t *err)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_fill_cache(ro, 0);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(db->rdb, ro, db->cf[cf]);
    *any = 0;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen != STORAGE_SAMPLE_KEY_LEN)
            continue;
        int64_t ts = storage_sample_key_ts(k);
        if (!*any || ts < *min)
            *min = ts;
        if (!*any || ts > *max)
            *max = ts;
        *any = 1;
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return errptr ? storage_rocks_error(errptr, err, "size limit scan") : 0;
}

/* Commit wb (then cleared). Deletes are committed with the seal lock held, so they never
 * land between a seal round's read of a chunk and its rewrite, nor between the re-seal
 * pass's read of a chunk or bucket and its rewrite (reseal.c), which would bring it back. */
static void commit_deletes(omega_tsdb_t *db, rocksdb_writebatch_t *wb, char **errptr)
{
    if (rocksdb_writebatch_count(wb) == 0)
        return;
    pthread_rwlock_wrlock(&db->heads.seal_lock);
    rocksdb_write(db->rdb, db->seal_wopts, wb, errptr);
    pthread_rwlock_unlock(&db->heads.seal_lock);
    rocksdb_writebatch_clear(wb);
}

/* Delete every key of cf older than cutoff (scanned without locks, committed in batches
 * of LIMIT_BATCH so writers wait only for the commits); *dropped counts them. */
#define LIMIT_BATCH 65536
static int cf_delete_before(omega_tsdb_t *db, int cf, int64_t cutoff, uint64_t *dropped,
                            omega_error_t *err)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_fill_cache(ro, 0);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(db->rdb, ro, db->cf[cf]);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    char *errptr = NULL;
    for (rocksdb_iter_seek_to_first(it); !errptr && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen != STORAGE_SAMPLE_KEY_LEN || storage_sample_key_ts(k) >= cutoff)
            continue;
        rocksdb_writebatch_delete_cf(wb, db->cf[cf], k, klen);
        (*dropped)++;
        if (rocksdb_writebatch_count(wb) >= LIMIT_BATCH)
            commit_deletes(db, wb, &errptr);
    }
    if (!errptr)
        rocksdb_iter_get_error(it, &errptr);
    if (!errptr)
        commit_deletes(db, wb, &errptr);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    rocksdb_writebatch_destroy(wb);
    return errptr ? storage_rocks_error(errptr, err, "size limit delete") : 0;
}

/* Drop the oldest quarter of cf's time span (at least its oldest key time) and compact
 * the CF so the space is returned. */
static int drop_oldest(omega_tsdb_t *db, int cf, uint64_t *dropped, omega_error_t *err)
{
    int64_t min = 0, max = 0;
    int any = 0;
    int rc = cf_span(db, cf, &min, &max, &any, err);
    if (rc != 0 || !any)
        return rc;
    int64_t step = (int64_t)(((uint64_t)max - (uint64_t)min) / 4);
    int64_t cutoff = min + (step > 0 ? step : 1);
    rc = cf_delete_before(db, cf, cutoff, dropped, err);
    if (rc == 0 && *dropped) {
        rocksdb_compact_range_cf(db->rdb, db->cf[cf], NULL, 0, NULL, 0);
        char when[40];
        omega_log_warn("storage: over max_storage_size (%llu bytes): dropped %llu %s entries "
                       "older than %s",
                       (unsigned long long)db->opts.max_storage_size, (unsigned long long)*dropped,
                       cf == STORAGE_CF_RAW ? "raw chunk" : "rollup bucket",
                       omega_time_format_rfc3339(cutoff, when, sizeof(when)));
    }
    return rc;
}

/* Write every memtable to SST so the WAL files can go (they count against the limit). */
static void flush_memtables(omega_tsdb_t *db)
{
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    for (int i = 0; i < STORAGE_CF_COUNT; i++) {
        char *errptr = NULL;
        rocksdb_flush_cf(db->rdb, fo, db->cf[i], &errptr);
        rocksdb_free(errptr);
    }
    rocksdb_flushoptions_destroy(fo);
}

/* One pass: drop rounds until under the limit or nothing is left. */
static int enforce(omega_tsdb_t *db, omega_error_t *err)
{
    static const int order[] = {STORAGE_CF_RAW, STORAGE_CF_H1, STORAGE_CF_D1, STORAGE_CF_W1,
                                STORAGE_CF_MO1};
    uint64_t limit = db->opts.max_storage_size;
    if (storage_disk_bytes(db) <= limit)
        return 0;
    flush_memtables(db);
    for (int round = 0; round < LIMIT_MAX_ROUNDS; round++) {
        uint64_t size = storage_disk_bytes(db);
        if (size <= limit)
            return 0;
        uint64_t dropped = 0;
        for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && !dropped; i++) {
            int rc = drop_oldest(db, order[i], &dropped, err);
            if (rc != 0)
                return rc;
        }
        if (!dropped)
            return omega_error_set(err, OMEGA_ENOSPC,
                                   "storage full: %s holds %llu bytes, over the limit of %llu, "
                                   "and no raw or rollup data is left to drop "
                                   "(performance_monitor.storage_configuration.max_storage_size)",
                                   db->data_dir, (unsigned long long)size,
                                   (unsigned long long)limit);
    }
    return 0; /* still over after many rounds: the thread's next pass goes on */
}

int omega_tsdb_enforce_limit(omega_tsdb_t *db, omega_error_t *err)
{
    if (!db)
        return omega_error_set(err, OMEGA_EINVAL, "storage: no database");
    if (db->opts.max_storage_size == 0) {
        atomic_store(&db->life.full, 0);
        return 0;
    }
    omega_error_t local;
    omega_error_clear(&local);
    pthread_mutex_lock(&db->life.run_lock);
    int rc = enforce(db, &local);
    pthread_mutex_unlock(&db->life.run_lock);
    if (err)
        *err = local;
    int was = atomic_exchange(&db->life.full, rc == OMEGA_ENOSPC);
    if (rc == OMEGA_ENOSPC && !was)
        omega_log_error("%s", local.message);
    else if (rc != OMEGA_ENOSPC && was)
        omega_log_info("storage: back under max_storage_size; sample writes accepted again");
    return rc;
}

/* fsync the WAL when relaxed writes (omega_tsdb_write_relaxed) left it unsynced. */
static void sync_relaxed(omega_tsdb_t *db)
{
    if (!atomic_exchange(&db->wal_unsynced, 0))
        return;
    char *errptr = NULL;
    rocksdb_flush_wal(db->rdb, 1, &errptr);
    if (errptr) {
        atomic_store(&db->wal_unsynced, 1); /* retried at the next turn */
        omega_log_error("storage: WAL sync of %s failed: %s", db->data_dir, errptr);
        rocksdb_free(errptr);
    }
}

/* The thread: a WAL sync after relaxed writes every WAL_SYNC_MS, head-log upkeep and a
 * size check every LIFE_CHECK_MS, a backup every
 * backup_interval_ms (the first one interval after open). Failures are logged and retried at the next turn. */
static void *life_thread(void *arg)
{
    omega_tsdb_t *db = arg;
    storage_life_t *l = &db->life;
    int64_t last_backup = omega_mono_ns() / 1000000, last_check = last_backup;
    pthread_mutex_lock(&l->lock);
    while (!l->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += WAL_SYNC_MS / 1000;
        pthread_cond_timedwait(&l->cond, &l->lock, &ts);
        if (l->stop)
            break;
        pthread_mutex_unlock(&l->lock);
        sync_relaxed(db);
        int64_t now = omega_mono_ns() / 1000000;
        if (now - last_check < LIFE_CHECK_MS) {
            pthread_mutex_lock(&l->lock);
            continue;
        }
        last_check = now;
        omega_error_t err;
        omega_error_clear(&err);
        storage_head_log_upkeep(db);
        int rc = omega_tsdb_enforce_limit(db, &err);
        if (rc != 0 && rc != OMEGA_ENOSPC)
            omega_log_error("storage: size limit check failed: %s", err.message);
        now = omega_mono_ns() / 1000000;
        if (db->opts.backup_interval_ms > 0 && now - last_backup >= db->opts.backup_interval_ms) {
            char path[4096];
            last_backup = now;
            if (omega_tsdb_backup(db, NULL, path, sizeof(path), &err) == 0)
                omega_log_info("storage: backup written to %s", path);
            else
                omega_log_error("storage: periodic backup failed: %s", err.message);
        }
        pthread_mutex_lock(&l->lock);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

int storage_life_start(omega_tsdb_t *db)
{
    storage_life_t *l = &db->life;
    const char *bd = db->opts.backup_dir;
    if (bd && *bd) {
        l->backup_dir = omega_strdup(bd);
    } else {
        size_t len = strlen(db->data_dir) + sizeof("/backups");
        l->backup_dir = omega_calloc(1, len);
        snprintf(l->backup_dir, len, "%s/backups", db->data_dir);
    }
    db->opts.backup_dir = l->backup_dir;
    pthread_mutex_init(&l->lock, NULL);
    pthread_mutex_init(&l->run_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cond, &ca);
    pthread_condattr_destroy(&ca);
    l->ready = 1;
    /* always running: besides limits and backups it keeps the head log compact */
    if (pthread_create(&l->thread, NULL, life_thread, db) != 0)
        return -1;
    l->running = 1;
    return storage_reseal_start(db);
}

void storage_life_stop(omega_tsdb_t *db)
{
    storage_life_t *l = &db->life;
    storage_reseal_stop(db);
    if (l->ready && l->running) {
        pthread_mutex_lock(&l->lock);
        l->stop = 1;
        pthread_cond_signal(&l->cond);
        pthread_mutex_unlock(&l->lock);
        pthread_join(l->thread, NULL);
        l->running = 0;
    }
    if (l->ready) {
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->lock);
        pthread_mutex_destroy(&l->run_lock);
        l->ready = 0;
    }
    free(l->backup_dir);
    l->backup_dir = NULL;
}
