/* SPDX-License-Identifier: Apache-2.0 */
/* Opening and closing the RocksDB-backed store: column families, options, the format
 * version record, the samples retention compaction filter, stats and error translation.
 * The series index lives in index.c, writes in write.c, reads in select.c, KV in kv.c. */
#include "storage_int.h"

#include "codec.h"
#include "omega/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const cf_names[STORAGE_CF_COUNT] = {
    "default", "series", "samples", "meta", "alerts", "audit", "events",
    "head",    "raw",    "h1",      "d1",   "w1",     "mo1",
};

void omega_tsdb_options_init(omega_tsdb_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->data_dir = "data";
    o->raw_retention_ms = 24LL * 3600 * 1000;
    o->out_of_order_window_ms = 3600LL * 1000;
    o->max_series = 1000000;
    o->compression = 1;
    o->sync_writes = 1;
    o->chunk_max_samples = 120;
    o->chunk_max_age_ms = 2 * 3600LL * 1000;
    o->hourly_retention_ms = 7 * 86400LL * 1000;
    o->daily_retention_ms = 30 * 86400LL * 1000;
    o->weekly_retention_ms = 365 * 86400LL * 1000;
    o->monthly_retention_ms = 5 * 365 * 86400LL * 1000;
}

/* RocksDB failures repeat on every write when the disk is sick: log at most one per
 * second and say how many were suppressed. */
static void log_rocks_error(const char *what, const char *msg)
{
    static _Atomic int64_t last_ms = INT64_MIN / 2;
    static _Atomic uint64_t suppressed;
    int64_t now = omega_mono_ns() / 1000000;
    int64_t last = atomic_load(&last_ms);
    if (now - last < 1000 || !atomic_compare_exchange_strong(&last_ms, &last, now)) {
        atomic_fetch_add(&suppressed, 1);
        return;
    }
    omega_log_error("storage: %s: %s (%llu similar errors suppressed)", what, msg,
                    (unsigned long long)atomic_exchange(&suppressed, 0));
}

int storage_rocks_error(char *errptr, omega_error_t *err, const char *what)
{
    int rc = OMEGA_EIO;
    const char *msg = errptr ? errptr : "unknown error";
    if (strstr(msg, "No space left") || strstr(msg, "ENOSPC"))
        rc = OMEGA_ENOSPC;
    log_rocks_error(what, msg);
    omega_error_set(err, rc, "storage %s failed: %s", what, msg);
    rocksdb_free(errptr);
    return rc;
}

int64_t storage_time_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b > 0 ? INT64_MIN : INT64_MAX;
    return r;
}

void storage_put_u64be(char *dst, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        dst[i] = (char)(v & 0xff);
        v >>= 8;
    }
}

uint64_t storage_get_u64be(const char *src)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | (unsigned char)src[i];
    return v;
}

void storage_sample_key(char dst[STORAGE_SAMPLE_KEY_LEN], uint64_t id, int64_t ts_ms)
{
    /* Flipping the sign bit makes the unsigned big-endian order match signed time order. */
    storage_put_u64be(dst, id);
    storage_put_u64be(dst + 8, (uint64_t)ts_ms ^ (UINT64_C(1) << 63));
}

int64_t storage_sample_key_ts(const char *key)
{
    return (int64_t)(storage_get_u64be(key + 8) ^ (UINT64_C(1) << 63));
}

/* ---- retention compaction filter (samples CF) ---- */

static unsigned char retention_filter(void *state, int level, const char *key, size_t klen,
                                      const char *val, size_t vlen, char **new_val,
                                      size_t *new_vlen, unsigned char *changed)
{
    const omega_tsdb_t *db = state;
    (void)level, (void)val, (void)vlen, (void)new_val, (void)new_vlen;
    *changed = 0;
    if (klen != STORAGE_SAMPLE_KEY_LEN || db->opts.raw_retention_ms <= 0)
        return 0;
    return storage_sample_key_ts(key) < storage_time_sub(omega_now_ms(), db->opts.raw_retention_ms);
}

static const char *retention_filter_name(void *state)
{
    (void)state;
    return "omega.raw_retention";
}

static void retention_filter_destroy(void *state)
{
    (void)state; /* the state is the omega_tsdb_t, freed by omega_tsdb_close */
}

/* ---- open / close ---- */

/* mkdir -p; returns 0 or an errno value. */
int storage_mkdir_p(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return errno;
        *p = '/';
    }
    if (mkdir(buf, 0750) != 0 && errno != EEXIST)
        return errno;
    return 0;
}

static void build_options(omega_tsdb_t *db)
{
    db->db_opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(db->db_opts, 1);
    rocksdb_options_set_create_missing_column_families(db->db_opts, 1);
    rocksdb_options_set_keep_log_file_num(db->db_opts, 5);
    rocksdb_options_set_max_log_file_size(db->db_opts, 8u << 20);
    rocksdb_options_set_info_log_level(db->db_opts, 2 /* warn */);
    /* Small column families rarely fill a memtable; without a cap their unflushed
     * entries would pin every WAL file written since. */
    rocksdb_options_set_max_total_wal_size(db->db_opts, 64u << 20);
    for (int i = 0; i < STORAGE_CF_COUNT; i++)
        db->cf_opts[i] = rocksdb_options_create_copy(db->db_opts);
    rocksdb_options_t *s = db->cf_opts[STORAGE_CF_SAMPLES];
    rocksdb_options_set_compression(s, db->opts.compression ? rocksdb_zstd_compression
                                                            : rocksdb_no_compression);
    if (db->opts.raw_retention_ms > 0) {
        db->retention_filter = rocksdb_compactionfilter_create(
            db, retention_filter_destroy, retention_filter, retention_filter_name);
        rocksdb_options_set_compaction_filter(s, db->retention_filter);
    }
    rocksdb_options_t *r = db->cf_opts[STORAGE_CF_RAW];
    rocksdb_options_set_compression(r, db->opts.compression ? rocksdb_zstd_compression
                                                            : rocksdb_no_compression);
    rocksdb_options_set_compression_options(r, -14, 9, 0, 0); /* zstd level 9 */
    /* Chunks are already dense: larger blocks let zstd find the redundancy left in
     * keys and chunk headers (measured: see docs/storage.md). */
    db->raw_table = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_size(db->raw_table, 64 * 1024);
    if (db->opts.block_cache_size) {
        db->block_cache = rocksdb_cache_create_lru(db->opts.block_cache_size);
        rocksdb_block_based_options_set_block_cache(db->raw_table, db->block_cache);
    }
    rocksdb_options_set_block_based_table_factory(r, db->raw_table);
    /* The other families' table reads share that cache: left alone, each would get its own
     * 8 MiB RocksDB cache, up to 96 MiB more than block_cache_size once a long-running
     * server has read its index, metadata and tier files. */
    if (db->block_cache) {
        rocksdb_block_based_table_options_t *shared = rocksdb_block_based_options_create();
        rocksdb_block_based_options_set_block_cache(shared, db->block_cache);
        for (int i = 0; i < STORAGE_CF_COUNT; i++)
            if (i != STORAGE_CF_RAW) /* each factory keeps its own copy of the options */
                rocksdb_options_set_block_based_table_factory(db->cf_opts[i], shared);
        rocksdb_block_based_options_destroy(shared);
    }
    db->raw_filter = storage_raw_filter_create(db);
    rocksdb_options_set_compaction_filter(r, db->raw_filter);
    for (int t = 0; t < 4; t++) {
        rocksdb_options_t *to = db->cf_opts[STORAGE_CF_H1 + t];
        rocksdb_options_set_compression(to, db->opts.compression ? rocksdb_zstd_compression
                                                                 : rocksdb_no_compression);
        db->tier_state[t] = (storage_tier_filter_t){db, (omega_tsdb_tier_t)(t + 1)};
        db->tier_filter[t] = storage_tier_filter_create(&db->tier_state[t]);
        rocksdb_options_set_compaction_filter(to, db->tier_filter[t]);
    }
    /* head-log records live for minutes: compressing them is wasted CPU */
    rocksdb_options_set_compression(db->cf_opts[STORAGE_CF_HEAD], rocksdb_no_compression);
    /* ...and a small memtable bounds RSS: at 1 s collection (~1,300 samples/s, ~12 bytes each
     * in the log) 4 MiB is a flush every few minutes; the sealed records' flushed files are
     * compacted away by storage_head_log_upkeep. */
    rocksdb_options_set_write_buffer_size(db->cf_opts[STORAGE_CF_HEAD], 4u << 20);
    /* Memtable memory: RocksDB's default is 64 MiB per column family with 8 MiB arena blocks,
     * sized for write-heavy stores. Here only the head log and the chunks are written often;
     * the small families (series index, metadata, alerts, audit, events) get 2 MiB memtables,
     * raw chunks and rollup tiers 16 MiB (bulk ingest and rollup runs write in bursts). Arena
     * blocks of 1 MiB are allocated with mmap and go back to the system when a memtable is
     * flushed, where smaller ones would stay in malloc's heap. The whole database's memtables
     * are capped (db_write_buffer_size): the largest one is flushed at the cap. */
    static const int small_cfs[] = {STORAGE_CF_DEFAULT, STORAGE_CF_SERIES, STORAGE_CF_SAMPLES,
                                    STORAGE_CF_META,    STORAGE_CF_ALERTS, STORAGE_CF_AUDIT,
                                    STORAGE_CF_EVENTS};
    for (size_t i = 0; i < sizeof(small_cfs) / sizeof(small_cfs[0]); i++)
        rocksdb_options_set_write_buffer_size(db->cf_opts[small_cfs[i]], 2u << 20);
    rocksdb_options_set_write_buffer_size(db->cf_opts[STORAGE_CF_RAW], 16u << 20);
    for (int t = 0; t < 4; t++)
        rocksdb_options_set_write_buffer_size(db->cf_opts[STORAGE_CF_H1 + t], 16u << 20);
    for (int i = 0; i < STORAGE_CF_COUNT; i++)
        rocksdb_options_set_arena_block_size(db->cf_opts[i], 1u << 20);
    rocksdb_options_set_db_write_buffer_size(db->db_opts, 48u << 20);
    db->extra_opts = rocksdb_options_create_copy(db->db_opts);
    db->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(db->wopts, db->opts.sync_writes ? 1 : 0);
    db->relaxed_wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(db->relaxed_wopts, 0);
    db->ropts = rocksdb_readoptions_create();
    /* A lost seal batch only leaves the head-log records it would have deleted, and the
     * next synced write (or close) syncs it anyway: no fsync of its own. */
    db->seal_wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(db->seal_wopts, 0);
}

static int known_cf(const char *name)
{
    for (int i = 0; i < STORAGE_CF_COUNT; i++)
        if (strcmp(cf_names[i], name) == 0)
            return 1;
    return 0;
}

/* Open with our CFs plus every CF already on disk (RocksDB insists on all of them). */
static int open_rocks(omega_tsdb_t *db, omega_error_t *err)
{
    char *errptr = NULL;
    size_t n_disk = 0;
    char **disk = rocksdb_list_column_families(db->db_opts, db->data_dir, &n_disk, &errptr);
    rocksdb_free(errptr); /* a new directory has no CF list yet: not an error */
    errptr = NULL;
    size_t total = STORAGE_CF_COUNT + n_disk;
    const char **names = omega_calloc(total, sizeof(*names));
    const rocksdb_options_t **opts = omega_calloc(total, sizeof(*opts));
    rocksdb_column_family_handle_t **handles = omega_calloc(total, sizeof(*handles));
    size_t n = 0;
    for (; n < STORAGE_CF_COUNT; n++) {
        names[n] = cf_names[n];
        opts[n] = db->cf_opts[n];
    }
    for (size_t i = 0; i < n_disk; i++) {
        if (known_cf(disk[i]))
            continue;
        names[n] = disk[i];
        opts[n++] = db->extra_opts;
    }
    db->rdb = rocksdb_open_column_families(db->db_opts, db->data_dir, (int)n, names, opts, handles,
                                           &errptr);
    int rc = 0;
    if (errptr) {
        if (strstr(errptr, "LOCK") || strstr(errptr, "lock")) {
            omega_log_error("storage: cannot open %s: %s", db->data_dir, errptr);
            rc = omega_error_set(err, OMEGA_EIO,
                                 "data directory %s is already in use by another process or "
                                 "handle (RocksDB LOCK held)",
                                 db->data_dir);
            rocksdb_free(errptr);
        } else {
            rc = storage_rocks_error(errptr, err, "open");
        }
    } else {
        memcpy(db->cf, handles, sizeof(db->cf));
        db->n_extra_cf = n - STORAGE_CF_COUNT;
        db->extra_cf = omega_calloc(db->n_extra_cf, sizeof(*db->extra_cf));
        memcpy(db->extra_cf, handles + STORAGE_CF_COUNT, db->n_extra_cf * sizeof(*handles));
    }
    if (disk)
        rocksdb_list_column_families_destroy(disk, n_disk);
    free(names);
    free(opts);
    free(handles);
    return rc;
}

static int put_format(omega_tsdb_t *db, omega_error_t *err)
{
    char *errptr = NULL;
    char buf[4] = {0, 0, 0, (char)STORAGE_FORMAT_VERSION};
    rocksdb_put_cf(db->rdb, db->wopts, db->cf[STORAGE_CF_DEFAULT], STORAGE_FORMAT_KEY,
                   strlen(STORAGE_FORMAT_KEY), buf, sizeof(buf), &errptr);
    if (errptr)
        return storage_rocks_error(errptr, err, "format version write");
    return 0;
}

/* Refuse a store written by a newer format; *upgrade is set for a new or older store
 * (the caller writes the version once the heads are loaded and format 1 is migrated). */
static int check_format(omega_tsdb_t *db, int *upgrade, omega_error_t *err)
{
    *upgrade = 1;
    char *errptr = NULL;
    size_t vlen = 0;
    rocksdb_column_family_handle_t *cf = db->cf[STORAGE_CF_DEFAULT];
    char *val = rocksdb_get_cf(db->rdb, db->ropts, cf, STORAGE_FORMAT_KEY,
                               strlen(STORAGE_FORMAT_KEY), &vlen, &errptr);
    if (errptr)
        return storage_rocks_error(errptr, err, "format version read");
    if (val) {
        uint32_t v = 0;
        for (size_t i = 0; i < vlen && i < 4; i++)
            v = (v << 8) | (unsigned char)val[i];
        rocksdb_free(val);
        if (vlen != 4 || v == 0 || v > STORAGE_FORMAT_VERSION) {
            omega_log_error("storage: %s has format version %u, this build reads up to %u",
                            db->data_dir, v, STORAGE_FORMAT_VERSION);
            return omega_error_set(err, OMEGA_EUNSUPP,
                                   "data directory %s has storage format %u; this build "
                                   "supports up to %u",
                                   db->data_dir, v, STORAGE_FORMAT_VERSION);
        }
        *upgrade = v < STORAGE_FORMAT_VERSION;
    }
    return 0;
}

omega_tsdb_t *omega_tsdb_open(const omega_tsdb_options_t *o, omega_error_t *err)
{
    if (!o || !o->data_dir || !*o->data_dir) {
        omega_error_set(err, OMEGA_EINVAL, "storage: data_dir is empty");
        return NULL;
    }
    int e = storage_mkdir_p(o->data_dir);
    if (e) {
        omega_log_error("storage: cannot create %s: %s", o->data_dir, strerror(e));
        omega_error_set(err, OMEGA_EIO, "cannot create data directory %s: %s", o->data_dir,
                        strerror(e));
        return NULL;
    }
    omega_tsdb_t *db = omega_calloc(1, sizeof(*db));
    db->opts = *o;
    db->data_dir = omega_strdup(o->data_dir);
    db->opts.data_dir = db->data_dir;
    atomic_init(&db->samples_written, 0);
    build_options(db);
    uint32_t max_samples = o->chunk_max_samples;
    if (max_samples == 0 || max_samples > STORAGE_CHUNK_MAX_SAMPLES)
        max_samples = max_samples ? STORAGE_CHUNK_MAX_SAMPLES : 120;
    if (storage_index_init_locks(&db->index) != 0 ||
        storage_heads_init(&db->heads, max_samples, o->chunk_max_age_ms) != 0) {
        omega_error_set(err, OMEGA_EIO, "storage: cannot initialise index locks");
        goto fail;
    }
    int upgrade = 0;
    if (open_rocks(db, err) != 0 || check_format(db, &upgrade, err) != 0 ||
        storage_index_init(db, err) != 0 || storage_crypt_open(db, err) != 0 ||
        storage_heads_load(db, err) != 0 || (upgrade && put_format(db, err) != 0))
        goto fail;
    if (storage_rollup_start(db) != 0 || storage_life_start(db) != 0) {
        omega_error_set(err, OMEGA_EIO, "storage: cannot start the storage threads");
        goto fail;
    }
    omega_log_info("storage: opened %s (series %llu)", db->data_dir,
                   (unsigned long long)atomic_load(&db->index.n_series));
    return db;
fail:
    omega_tsdb_close(db);
    return NULL;
}

/* Sync the WAL (it may be unsynced with sync_writes off), then write every memtable to
 * SST files so the next open replays nothing. */
void storage_flush_all(omega_tsdb_t *db)
{
    char *walerr = NULL;
    rocksdb_flush_wal(db->rdb, 1, &walerr);
    if (walerr) {
        omega_log_error("storage: WAL sync of %s failed: %s", db->data_dir, walerr);
        rocksdb_free(walerr);
    }
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    for (int i = 0; i < STORAGE_CF_COUNT; i++) {
        char *errptr = NULL;
        rocksdb_flush_cf(db->rdb, fo, db->cf[i], &errptr);
        if (errptr) {
            omega_log_error("storage: flush of %s in %s failed: %s", cf_names[i], db->data_dir,
                            errptr);
            rocksdb_free(errptr);
        }
    }
    rocksdb_flushoptions_destroy(fo);
}

/* At close: the head log and the format-1 samples CF only hold deleted ranges once
 * everything is sealed, and chunks, the index and rollup buckets (each rollup pass rewrites
 * its buckets) sit in small level-0 files with superseded versions; one compaction each
 * leaves the data dir at its smallest (about 1 s for the 18 M-sample benchmark). */
static void compact_logs(omega_tsdb_t *db)
{
    int cfs[] = {STORAGE_CF_HEAD, STORAGE_CF_SAMPLES, STORAGE_CF_RAW,   STORAGE_CF_SERIES,
                 STORAGE_CF_H1,   STORAGE_CF_D1,      STORAGE_CF_W1,    STORAGE_CF_MO1,
                 STORAGE_CF_DEFAULT};
    for (size_t i = 0; i < sizeof(cfs) / sizeof(cfs[0]); i++) {
        uint64_t v = 0;
        if (rocksdb_property_int_cf(db->rdb, db->cf[cfs[i]], "rocksdb.live-sst-files-size", &v) ==
                0 &&
            v > 0)
            rocksdb_compact_range_cf(db->rdb, db->cf[cfs[i]], NULL, 0, NULL, 0);
    }
}

void omega_tsdb_close(omega_tsdb_t *db)
{
    if (!db)
        return;
    storage_life_stop(db);
    storage_rollup_stop(db);
    if (db->rdb && db->heads.ready) {
        omega_error_t err;
        /* Seal every head so the data directory holds only chunks after a clean close,
         * and bring the rollups up to date with them. */
        if (storage_heads_seal(db, 1, &err) != 0)
            omega_log_error("storage: sealing heads at close of %s failed: %s (the head log "
                            "keeps them)",
                            db->data_dir, err.message);
        if (db->rollup.ready && omega_tsdb_rollup_run(db, &err) != 0)
            omega_log_error("storage: rollups at close of %s failed: %s (redone at the next "
                            "open)",
                            db->data_dir, err.message);
    }
    if (db->rdb) {
        storage_flush_all(db);
        compact_logs(db);
        for (int i = 0; i < STORAGE_CF_COUNT; i++)
            rocksdb_column_family_handle_destroy(db->cf[i]);
        for (size_t i = 0; i < db->n_extra_cf; i++)
            rocksdb_column_family_handle_destroy(db->extra_cf[i]);
        rocksdb_close(db->rdb);
    }
    free(db->extra_cf);
    for (int i = 0; i < STORAGE_CF_COUNT; i++)
        if (db->cf_opts[i])
            rocksdb_options_destroy(db->cf_opts[i]);
    if (db->extra_opts)
        rocksdb_options_destroy(db->extra_opts);
    if (db->db_opts)
        rocksdb_options_destroy(db->db_opts);
    if (db->retention_filter)
        rocksdb_compactionfilter_destroy(db->retention_filter);
    if (db->raw_filter)
        rocksdb_compactionfilter_destroy(db->raw_filter);
    for (int t = 0; t < 4; t++)
        if (db->tier_filter[t])
            rocksdb_compactionfilter_destroy(db->tier_filter[t]);
    storage_rollup_deinit(db);
    if (db->raw_table)
        rocksdb_block_based_options_destroy(db->raw_table);
    if (db->block_cache)
        rocksdb_cache_destroy(db->block_cache);
    if (db->seal_wopts)
        rocksdb_writeoptions_destroy(db->seal_wopts);
    if (db->wopts)
        rocksdb_writeoptions_destroy(db->wopts);
    if (db->relaxed_wopts)
        rocksdb_writeoptions_destroy(db->relaxed_wopts);
    if (db->ropts)
        rocksdb_readoptions_destroy(db->ropts);
    storage_index_deinit(&db->index);
    storage_heads_deinit(&db->heads);
    storage_crypt_free(db);
    free(db->data_dir);
    free(db);
}

/* ---- stats and maintenance ---- */

/* Bytes in the WAL files (NNNNNN.log) of the data directory. */
static uint64_t wal_bytes(const char *dir)
{
    uint64_t total = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    char path[4096];
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".log") != 0)
            continue;
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st) == 0)
            total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

/* disk_bytes: the live SST files of every column family (what compaction keeps, not
 * obsolete files awaiting deletion) plus the WAL files on disk. Memtable contents are in
 * the WAL, so nothing acknowledged is missed; the info LOG and MANIFEST are left out. */
void omega_tsdb_stats(omega_tsdb_t *db, omega_tsdb_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!db)
        return;
    out->series = atomic_load(&db->index.n_series);
    out->samples_written = atomic_load(&db->samples_written);
    out->head_samples = atomic_load(&db->heads.head_samples);
    out->chunks_written = atomic_load(&db->heads.chunks_written);
    out->disk_bytes = storage_disk_bytes(db);
}

uint64_t storage_disk_bytes(omega_tsdb_t *db)
{
    uint64_t total = 0;
    for (int i = 0; i < STORAGE_CF_COUNT; i++) {
        uint64_t v = 0;
        if (rocksdb_property_int_cf(db->rdb, db->cf[i], "rocksdb.live-sst-files-size", &v) == 0)
            total += v;
    }
    return total + wal_bytes(db->data_dir);
}

int omega_tsdb_flush(omega_tsdb_t *db, omega_error_t *err)
{
    if (!db)
        return omega_error_set(err, OMEGA_EINVAL, "storage: no database");
    return storage_heads_seal(db, 1, err);
}

int omega_tsdb_compact(omega_tsdb_t *db, omega_error_t *err)
{
    if (!db)
        return omega_error_set(err, OMEGA_EINVAL, "storage: no database");
    int rc = storage_heads_seal(db, 1, err);
    if (rc == 0)
        rc = omega_tsdb_rollup_run(db, err);
    /* A full-range manual compaction flushes the memtable first and runs the retention
     * filters over every chunk, rollup bucket (and any format-1 sample). */
    int cfs[] = {STORAGE_CF_RAW, STORAGE_CF_HEAD, STORAGE_CF_SAMPLES, STORAGE_CF_H1,
                 STORAGE_CF_D1,  STORAGE_CF_W1,   STORAGE_CF_MO1,     STORAGE_CF_DEFAULT};
    for (size_t i = 0; i < sizeof(cfs) / sizeof(cfs[0]); i++)
        rocksdb_compact_range_cf(db->rdb, db->cf[cfs[i]], NULL, 0, NULL, 0);
    return rc;
}
