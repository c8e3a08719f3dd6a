/* SPDX-License-Identifier: Apache-2.0 */
/* omega_tsdb_write: validate every point, resolve series ids (cache, then disk, then
 * create), and store the head-log record of the samples plus any new series in one
 * RocksDB WriteBatch, so a failed write leaves nothing behind; then append the samples to
 * the in-memory heads and run a seal round when one is due. Series creation holds the index's
 * create lock across the batch write; writes to known series take no lock beyond a cache read. */
#include "storage_int.h"

#include "omega/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Canonical keys and ids of one write call. */
typedef struct write_plan {
    char *keys;    /* canonical keys back to back, owned */
    size_t len;    /* bytes used in keys */
    size_t cap;    /* bytes allocated for keys */
    size_t *off;   /* n + 1 offsets into keys, owned */
    uint64_t *ids; /* series id per point, 0 while unresolved, owned */
    size_t n;      /* points */
    /* The label part of the previous point's key: points of one line protocol line share
     * their label array, so a repeat is validated and sorted once. */
    const omega_label_t *last_labels; /* the previous point's labels pointer */
    size_t last_n_labels;             /* and its n_labels */
    size_t last_lab_off, last_lab_len; /* its canonical label bytes in keys */
} write_plan_t;

static void plan_free(write_plan_t *p)
{
    free(p->keys);
    free(p->off);
    free(p->ids);
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const omega_label_t *)a)->name, ((const omega_label_t *)b)->name);
}

/* Checks of one label; fills err and returns OMEGA_EINVAL when bad. */
static int check_label(size_t i, const omega_label_t *l, omega_error_t *err)
{
    if (!l->name || strnlen(l->name, STORAGE_MAX_NAME_LEN + 1) > STORAGE_MAX_NAME_LEN)
        return omega_error_set(err, OMEGA_EINVAL,
                               "point %zu: label name is missing or longer "
                               "than %d bytes",
                               i, STORAGE_MAX_NAME_LEN);
    if (!omega_label_name_valid(l->name))
        return omega_error_set(err, OMEGA_EINVAL, "point %zu: invalid label name \"%.64s\"", i,
                               l->name);
    if (strcmp(l->name, "__name__") == 0)
        return omega_error_set(err, OMEGA_EINVAL,
                               "point %zu: label name __name__ is reserved "
                               "for the metric name",
                               i);
    if (!l->value)
        return omega_error_set(err, OMEGA_EINVAL, "point %zu: label %.64s has no value", i,
                               l->name);
    size_t vlen = strnlen(l->value, STORAGE_MAX_VALUE_LEN + 1);
    if (vlen > STORAGE_MAX_VALUE_LEN)
        return omega_error_set(err, OMEGA_EINVAL,
                               "point %zu: value of label %.64s is longer "
                               "than %d bytes",
                               i, l->name, STORAGE_MAX_VALUE_LEN);
    if (!omega_utf8_valid(l->value, vlen))
        return omega_error_set(err, OMEGA_EINVAL,
                               "point %zu: value of label %.64s is not "
                               "valid UTF-8",
                               i, l->name);
    return 0;
}

/* RFC 3339 for years 0001..9999, else the raw milliseconds (any int64 may arrive). */
static const char *format_ts(int64_t ts, char *buf, size_t len)
{
    if (ts < -62135596800000LL || ts > 253402300799999LL)
        snprintf(buf, len, "%lld ms", (long long)ts);
    else
        omega_time_format_rfc3339(ts, buf, len);
    return buf;
}

static int check_time(size_t i, int64_t ts, int64_t now, int64_t window, omega_error_t *err)
{
    char when[40], dur[40];
    if (window <= 0)
        return 0;
    if (ts < storage_time_sub(now, window))
        return omega_error_set(err, OMEGA_EINVAL,
                               "point %zu: sample timestamp %s is older "
                               "than the out-of-order window (%s)",
                               i, format_ts(ts, when, sizeof(when)),
                               omega_duration_format(window, dur, sizeof(dur)));
    if (ts > now + STORAGE_MAX_FUTURE_MS)
        return omega_error_set(err, OMEGA_EINVAL,
                               "point %zu: sample timestamp %s is more "
                               "than %s in the future",
                               i, format_ts(ts, when, sizeof(when)),
                               omega_duration_format(STORAGE_MAX_FUTURE_MS, dur, sizeof(dur)));
    return 0;
}

/* Sort and check labels of point i into sorted; *kept is how many remain (empty values
 * dropped). */
static int plan_labels(size_t i, const omega_point_t *pt, omega_label_t *sorted, size_t *kept,
                       omega_error_t *err)
{
    size_t n = 0;
    for (size_t k = 0; k < pt->n_labels; k++) {
        int rc = check_label(i, &pt->labels[k], err);
        if (rc)
            return rc;
        sorted[n++] = pt->labels[k];
    }
    qsort(sorted, n, sizeof(sorted[0]), cmp_label);
    *kept = 0;
    for (size_t k = 0; k < n; k++) {
        if (k > 0 && strcmp(sorted[k].name, sorted[k - 1].name) == 0)
            return omega_error_set(err, OMEGA_EINVAL, "point %zu: duplicate label name %.64s", i,
                                   sorted[k].name);
        if (sorted[k].value[0]) /* Prometheus: an empty label is an absent label */
            sorted[(*kept)++] = sorted[k];
    }
    return 0;
}

/* Append the name, then a copy of the previous point's canonical label bytes. */
static void plan_reuse_labels(write_plan_t *plan, const char *name)
{
    plan->len = storage_canon_encode(&plan->keys, &plan->cap, plan->len, name, NULL, 0);
    if (plan->len + plan->last_lab_len > plan->cap) {
        plan->cap = (plan->len + plan->last_lab_len) * 2;
        plan->keys = omega_realloc(plan->keys, plan->cap);
    }
    memcpy(plan->keys + plan->len, plan->keys + plan->last_lab_off, plan->last_lab_len);
    plan->last_lab_off = plan->len;
    plan->len += plan->last_lab_len;
}

/* Validate point i and append its canonical key (sorted labels, empty values dropped). */
static int plan_point(write_plan_t *plan, size_t i, const omega_point_t *pt, int64_t now,
                      int64_t window, omega_error_t *err)
{
    omega_label_t sorted[STORAGE_MAX_LABELS];
    if (!pt->name || strnlen(pt->name, STORAGE_MAX_NAME_LEN + 1) > STORAGE_MAX_NAME_LEN)
        return omega_error_set(err, OMEGA_EINVAL,
                               "point %zu: metric name is missing or "
                               "longer than %d bytes",
                               i, STORAGE_MAX_NAME_LEN);
    if (!omega_metric_name_valid(pt->name))
        return omega_error_set(err, OMEGA_EINVAL, "point %zu: invalid metric name \"%.64s\"", i,
                               pt->name);
    if (pt->n_labels > STORAGE_MAX_LABELS)
        return omega_error_set(err, OMEGA_EINVAL,
                               "point %zu: %zu labels, more than the limit "
                               "of %d",
                               i, pt->n_labels, STORAGE_MAX_LABELS);
    if (pt->n_labels && !pt->labels)
        return omega_error_set(err, OMEGA_EINVAL, "point %zu: labels missing", i);
    int rc = check_time(i, pt->ts_ms, now, window, err);
    if (rc)
        return rc;
    if (i > 0 && pt->labels == plan->last_labels && pt->n_labels == plan->last_n_labels) {
        plan_reuse_labels(plan, pt->name);
    } else {
        size_t kept;
        rc = plan_labels(i, pt, sorted, &kept, err);
        if (rc)
            return rc;
        size_t name_end =
            storage_canon_encode(&plan->keys, &plan->cap, plan->len, pt->name, NULL, 0);
        plan->len = storage_canon_encode_labels(&plan->keys, &plan->cap, name_end, sorted, kept);
        plan->last_labels = pt->labels;
        plan->last_n_labels = pt->n_labels;
        plan->last_lab_off = name_end;
        plan->last_lab_len = plan->len - name_end;
    }
    plan->off[i + 1] = plan->len;
    return 0;
}

static int plan_build(omega_tsdb_t *db, write_plan_t *plan, const omega_point_t *pts, size_t n,
                      omega_error_t *err)
{
    int64_t now = omega_now_ms();
    plan->n = n;
    plan->off = omega_calloc(n + 1, sizeof(*plan->off));
    plan->ids = omega_calloc(n, sizeof(*plan->ids));
    for (size_t i = 0; i < n; i++) {
        int rc = plan_point(plan, i, &pts[i], now, db->opts.out_of_order_window_ms, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int commit(omega_tsdb_t *db, rocksdb_writebatch_t *wb, int relaxed, omega_error_t *err)
{
    char *errptr = NULL;
    rocksdb_write(db->rdb, relaxed ? db->relaxed_wopts : db->wopts, wb, &errptr);
    if (errptr)
        return storage_rocks_error(errptr, err, "write");
    if (relaxed) /* the storage thread syncs the WAL within a second */
        atomic_store(&db->wal_unsynced, 1);
    return 0;
}

/* Resolve the remaining ids under the create lock: another writer's new series, series on
 * disk but not cached, or new series added to wb. New ones go to *fresh. */
static int resolve_create(omega_tsdb_t *db, write_plan_t *plan, rocksdb_writebatch_t *wb,
                          storage_idmap_t *fresh, uint64_t *n_new, omega_error_t *err)
{
    storage_index_t *ix = &db->index;
    uint64_t series = atomic_load(&ix->n_series);
    for (size_t i = 0; i < plan->n; i++) {
        if (plan->ids[i])
            continue;
        const char *k = plan->keys + plan->off[i];
        size_t klen = plan->off[i + 1] - plan->off[i];
        if (storage_idmap_get(fresh, k, klen, &plan->ids[i]) ||
            storage_index_cached(ix, k, klen, &plan->ids[i]))
            continue;
        int rc = storage_index_lookup_disk(db, k, klen, &plan->ids[i], err);
        if (rc == 0) {
            storage_index_cache_put(ix, k, klen, plan->ids[i]);
            continue;
        }
        if (rc != OMEGA_ENOENT)
            return rc;
        if (db->opts.max_series && series + *n_new >= db->opts.max_series)
            return omega_error_set(err, OMEGA_E2BIG, "series limit of %llu reached",
                                   (unsigned long long)db->opts.max_series);
        plan->ids[i] = ix->next_id + (*n_new)++;
        storage_idmap_put(fresh, k, klen, plan->ids[i]);
        storage_index_add_series(db, wb, plan->ids[i], k, klen);
    }
    if (*n_new)
        storage_index_add_counters(db, wb, ix->next_id + *n_new, series + *n_new);
    return 0;
}

/* The slow path: some series are not cached. Holds the create lock through the write so
 * ids and counters stay consistent and a failed write leaves no trace in memory either. */
static int write_creating(omega_tsdb_t *db, const omega_point_t *pts, write_plan_t *plan,
                          rocksdb_writebatch_t *wb, uint64_t *seq, int relaxed,
                          omega_error_t *err)
{
    storage_index_t *ix = &db->index;
    storage_idmap_t fresh;
    uint64_t n_new = 0;
    storage_idmap_init(&fresh, 16);
    pthread_mutex_lock(&ix->create_lock);
    int rc = resolve_create(db, plan, wb, &fresh, &n_new, err);
    if (rc == 0)
        rc = storage_head_log_add(db, wb, plan->ids, pts, plan->n, seq, err);
    if (rc == 0)
        rc = commit(db, wb, relaxed, err);
    if (rc == 0 && n_new) {
        storage_index_bump(ix); /* cached postings lists lack the new series */
        ix->next_id += n_new;
        atomic_fetch_add(&ix->n_series, n_new);
        for (size_t b = 0; b < fresh.n_buckets; b++)
            for (storage_idmap_entry_t *e = fresh.buckets[b]; e; e = e->next) {
                storage_index_cache_put(ix, e->key, e->klen, e->id);
                storage_heads_mark_new(db, &e->id, 1);
            }
    }
    pthread_mutex_unlock(&ix->create_lock);
    storage_idmap_deinit(&fresh);
    return rc;
}

static int write_points(omega_tsdb_t *db, const omega_point_t *points, size_t n, int relaxed,
                        omega_error_t *err)
{
    if (!db || (n && !points))
        return omega_error_set(err, OMEGA_EINVAL, "storage: no database or no points");
    if (n == 0)
        return 0;
    if (atomic_load(&db->life.full))
        return omega_error_set(err, OMEGA_ENOSPC,
                               "storage full: the data directory holds more than %llu bytes "
                               "and no old data is left to drop "
                               "(performance_monitor.storage_configuration.max_storage_size)",
                               (unsigned long long)db->opts.max_storage_size);
    write_plan_t plan = {0};
    rocksdb_writebatch_t *wb = NULL;
    uint64_t seq = 0;
    int due = 0;
    int rc = plan_build(db, &plan, points, n, err);
    if (rc)
        goto out;
    wb = rocksdb_writebatch_create();
    /* Shared: many writers commit at once (RocksDB groups their WAL syncs); a seal round
     * takes the lock exclusively, so it never sees a record committed but not appended. */
    pthread_rwlock_rdlock(&db->heads.seal_lock);
    if (storage_index_cached_many(&db->index, plan.keys, plan.off, plan.ids, plan.n) == 0) {
        rc = storage_head_log_add(db, wb, plan.ids, points, n, &seq, err);
        if (rc == 0)
            rc = commit(db, wb, relaxed, err);
    } else {
        rc = write_creating(db, points, &plan, wb, &seq, relaxed, err);
    }
    if (rc == 0)
        due = storage_heads_append(db, plan.ids, points, n, seq);
    pthread_rwlock_unlock(&db->heads.seal_lock);
    if (rc == 0)
        atomic_fetch_add(&db->samples_written, n);
    if (rc == 0 && (due || storage_heads_seal_wanted(db))) {
        omega_error_t serr;
        /* The write is acknowledged already; a failed seal is logged and retried. */
        if (storage_heads_seal(db, 0, &serr) != 0)
            omega_log_warn("storage: sealing chunks failed: %s", serr.message);
    }
out:
    if (wb)
        rocksdb_writebatch_destroy(wb);
    plan_free(&plan);
    return rc;
}

int omega_tsdb_write(omega_tsdb_t *db, const omega_point_t *points, size_t n, omega_error_t *err)
{
    return write_points(db, points, n, 0, err);
}

int omega_tsdb_write_relaxed(omega_tsdb_t *db, const omega_point_t *points, size_t n,
                             omega_error_t *err)
{
    return write_points(db, points, n, 1, err);
}
