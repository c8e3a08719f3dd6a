/* SPDX-License-Identifier: Apache-2.0 */
/* The re-seal pass after key rotations: walks the head log, raw chunks and the four rollup
 * tiers, and re-seals (through crypt.c's cipher) every value sealed under a key version
 * older than the cipher's active one, a bounded batch per RocksDB write batch together
 * with the pass's position, then lets the cipher release the older versions. Runs on its
 * own paced thread or in the caller (omega_tsdb_reseal_run). docs/storage.md "Key
 * rotation". */
#include "storage_int.h"

#include "omega/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATE_KEY  "reseal_state" /* default CF: target, done, phase, cursor */
#define BATCH_SCAN 4096           /* keys looked at per batch (no lock held) */
#define BATCH_SEAL 128            /* values re-sealed per batch (locks held) */
#define CHECK_MS   5000           /* the thread looks for a new active version this often */
#define PHASES     6              /* head log, raw, h1, d1, w1, mo1 */

static const int phase_cf[PHASES] = {STORAGE_CF_HEAD, STORAGE_CF_RAW, STORAGE_CF_H1,
                                     STORAGE_CF_D1,   STORAGE_CF_W1,  STORAGE_CF_MO1};

typedef struct storage_reseal {
    pthread_t thread;              /* the paced background pass */
    pthread_mutex_t lock;          /* guards stop, kicked and st */
    pthread_cond_t cond;           /* kicks and stop */
    int stop, kicked;              /* under lock */
    int running;                   /* thread started */
    int manual;                    /* options.reseal_manual: no thread */
    omega_tsdb_reseal_status_t st; /* published copy, under lock */
    /* the pass, under run_lock (one batch at a time) */
    pthread_mutex_t run_lock;
    int loaded;            /* persisted state read */
    int released;          /* release(done) told to the cipher in this process */
    int barrier;           /* the pass (re)started: wait out sealers of older versions */
    uint32_t target, done; /* version sealing to; version every value is at or past */
    uint32_t active;       /* the cipher's active version at the last step, 0 = none */
    uint32_t stalled;      /* a pass to this target found unreadable values: wait for
                              a kick or a newer version */
    int phase;             /* 0..PHASES-1: index into phase_cf */
    char cursor[STORAGE_SAMPLE_KEY_LEN];     /* last key visited in the phase's CF */
    size_t cursor_len;                       /* 0: the phase starts at its first key */
    uint64_t examined, resealed, unreadable; /* this pass */
    uint64_t total;                          /* resealed since open */
    int64_t started_ms, finished_ms;
} storage_reseal_t;

/* ---- persisted state ---- */

static void state_encode(const storage_reseal_t *r, char *buf, size_t *len)
{
    storage_put_u64be(buf, (uint64_t)r->target << 32 | r->done);
    buf[8] = (char)r->phase;
    buf[9] = (char)r->cursor_len;
    memcpy(buf + 10, r->cursor, r->cursor_len);
    *len = 10 + r->cursor_len;
}

static int state_load(omega_tsdb_t *db, storage_reseal_t *r, omega_error_t *err)
{
    char *errptr = NULL;
    size_t vlen = 0;
    char *v = rocksdb_get_cf(db->rdb, db->ropts, db->cf[STORAGE_CF_DEFAULT], STATE_KEY,
                             strlen(STATE_KEY), &vlen, &errptr);
    if (errptr)
        return storage_rocks_error(errptr, err, "re-seal state read");
    if (v && vlen >= 10 && (unsigned char)v[8] < PHASES &&
        (unsigned char)v[9] <= sizeof(r->cursor) && vlen == 10u + (unsigned char)v[9]) {
        uint64_t tv = storage_get_u64be(v);
        r->target = (uint32_t)(tv >> 32);
        r->done = (uint32_t)tv;
        r->phase = (unsigned char)v[8];
        r->cursor_len = (unsigned char)v[9];
        memcpy(r->cursor, v + 10, r->cursor_len);
        r->barrier = r->target > r->done;
    } else if (v) {
        omega_log_warn("storage: re-seal state in %s is malformed; the pass starts over",
                       db->data_dir);
    }
    rocksdb_free(v);
    r->loaded = 1;
    return 0;
}

static void state_put(omega_tsdb_t *db, const storage_reseal_t *r, rocksdb_writebatch_t *wb)
{
    char buf[10 + STORAGE_SAMPLE_KEY_LEN];
    size_t len;
    state_encode(r, buf, &len);
    rocksdb_writebatch_put_cf(wb, db->cf[STORAGE_CF_DEFAULT], STATE_KEY, strlen(STATE_KEY), buf,
                              len);
}

static int commit(omega_tsdb_t *db, rocksdb_writebatch_t *wb, omega_error_t *err)
{
    char *errptr = NULL;
    rocksdb_write(db->rdb, db->seal_wopts, wb, &errptr);
    return errptr ? storage_rocks_error(errptr, err, "re-seal write") : 0;
}

/* ---- one batch ---- */

typedef struct cands {
    char key[BATCH_SEAL][STORAGE_SAMPLE_KEY_LEN]; /* keys of values to re-seal */
    size_t klen[BATCH_SEAL];
    size_t n;
    int phase_end; /* the phase's CF has no key after the last one looked at */
} cands_t;

/* Without locks: from the cursor on, collect keys whose value is sealed under a version
 * older than the target, moving the cursor past every key looked at. */
static int scan(omega_tsdb_t *db, storage_reseal_t *r, cands_t *c, omega_error_t *err)
{
    size_t want = phase_cf[r->phase] == STORAGE_CF_HEAD ? 8 : STORAGE_SAMPLE_KEY_LEN;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_fill_cache(ro, 0);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(db->rdb, ro, db->cf[phase_cf[r->phase]]);
    if (r->cursor_len) {
        rocksdb_iter_seek(it, r->cursor, r->cursor_len);
        size_t klen;
        if (rocksdb_iter_valid(it) && (rocksdb_iter_key(it, &klen), klen == r->cursor_len) &&
            memcmp(rocksdb_iter_key(it, &klen), r->cursor, klen) == 0)
            rocksdb_iter_next(it);
    } else {
        rocksdb_iter_seek_to_first(it);
    }
    c->n = 0;
    for (size_t looked = 0; looked < BATCH_SCAN && c->n < BATCH_SEAL && rocksdb_iter_valid(it);
         looked++, rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *v = rocksdb_iter_value(it, &vlen);
        if (klen > sizeof(r->cursor))
            continue; /* not a sample key (never written by storage) */
        memcpy(r->cursor, k, klen);
        r->cursor_len = klen;
        uint32_t ver = storage_crypt_version(v, vlen);
        if (klen != want || ver == 0)
            continue;
        r->examined++;
        if (ver >= r->target)
            continue;
        memcpy(c->key[c->n], k, klen);
        c->klen[c->n++] = klen;
    }
    c->phase_end = !rocksdb_iter_valid(it);
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return errptr ? storage_rocks_error(errptr, err, "re-seal scan") : 0;
}

/* Under the locks: re-read each candidate and re-seal it when it is still sealed under an
 * older version (a seal round, rollup pass or erase may have rewritten or deleted it since
 * the scan: compare before write, so nothing is resurrected or lost). */
static int reseal_cands(omega_tsdb_t *db, storage_reseal_t *r, const cands_t *c,
                        rocksdb_writebatch_t *wb, uint64_t *resealed, omega_error_t *err)
{
    int cf = phase_cf[r->phase], rc = 0;
    for (size_t i = 0; rc == 0 && i < c->n; i++) {
        char *errptr = NULL;
        size_t vlen = 0;
        char *v =
            rocksdb_get_cf(db->rdb, db->ropts, db->cf[cf], c->key[i], c->klen[i], &vlen, &errptr);
        if (errptr) {
            rc = storage_rocks_error(errptr, err, "re-seal read");
            break;
        }
        uint32_t ver = v ? storage_crypt_version(v, vlen) : 0;
        if (ver == 0 || ver >= r->target) {
            rocksdb_free(v);
            continue;
        }
        const char *plain;
        size_t plen;
        char *owned = NULL;
        omega_error_t verr;
        if (storage_crypt_view(db, c->key[i], c->klen[i], v, vlen, &plain, &plen, &owned, &verr) !=
            0) {
            if (r->unreadable++ == 0)
                omega_log_error("storage: re-seal: %s (left as it is)", verr.message);
        } else {
            rc = storage_crypt_put(db, wb, cf, c->key[i], c->klen[i], plain, plen, 1, err);
            *resealed += rc == 0;
        }
        free(owned);
        rocksdb_free(v);
    }
    return rc;
}

/* Where the cursor stands inside the phase, 0..1 (ids and log records grow over time). */
static double phase_fraction(omega_tsdb_t *db, const storage_reseal_t *r)
{
    if (r->cursor_len < 8)
        return 0;
    uint64_t at = storage_get_u64be(r->cursor), end;
    if (phase_cf[r->phase] == STORAGE_CF_HEAD) {
        end = atomic_load(&db->heads.next_seq);
    } else {
        pthread_mutex_lock(&db->index.create_lock);
        end = db->index.next_id;
        pthread_mutex_unlock(&db->index.create_lock);
    }
    return end > at ? (double)at / (double)end : 1.0;
}

static void publish(omega_tsdb_t *db, storage_reseal_t *r, const char *error)
{
    omega_tsdb_reseal_status_t st = {
        .pending = r->active && r->target > r->done && r->stalled != r->target,
        .target_version = r->target,
        .done_version = r->done,
        .examined = r->examined,
        .resealed = r->resealed,
        .unreadable = r->unreadable,
        .resealed_total = r->total,
        .started_ms = r->started_ms,
        .finished_ms = r->finished_ms,
    };
    st.progress = st.pending ? (r->phase + phase_fraction(db, r)) / PHASES : 1.0;
    if (error)
        snprintf(st.error, sizeof(st.error), "%.*s", (int)sizeof(st.error) - 1, error);
    else if (r->stalled && r->stalled == r->target)
        snprintf(st.error, sizeof(st.error),
                 "%llu sealed value(s) could not be opened; key versions below v%u stay in use",
                 (unsigned long long)r->unreadable, r->target);
    pthread_mutex_lock(&r->lock);
    r->st = st;
    pthread_mutex_unlock(&r->lock);
}

/* Every sealer that may still hold an older key is inside a seal round or a rollup pass
 * (seal_lock exclusive, run_lock) or a write (seal_lock shared): once both locks have been
 * had, every value sealed under a version below the target is committed, and the scan
 * that follows finds it. Sealers after this use the target or a newer version. */
static void barrier(omega_tsdb_t *db)
{
    pthread_mutex_lock(&db->rollup.run_lock);
    pthread_rwlock_wrlock(&db->heads.seal_lock);
    pthread_rwlock_unlock(&db->heads.seal_lock);
    pthread_mutex_unlock(&db->rollup.run_lock);
}

/* One scan + commit. Caller holds r->run_lock and has checked a pass is pending. On failure
 * the pass's position is put back, so the batch is redone. */
static int batch(omega_tsdb_t *db, storage_reseal_t *r, omega_error_t *err)
{
    int phase0 = r->phase;
    size_t cursor_len0 = r->cursor_len;
    char cursor0[sizeof(r->cursor)];
    memcpy(cursor0, r->cursor, sizeof(cursor0));
    uint32_t done0 = r->done, stalled0 = r->stalled;
    uint64_t examined0 = r->examined, unreadable0 = r->unreadable;
    cands_t *c = omega_malloc(sizeof(*c));
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    uint64_t resealed = 0;
    int tier = phase_cf[r->phase] >= STORAGE_CF_H1;
    int rc = scan(db, r, c, err);
    if (rc == 0 && tier) /* lock order as erase: run_lock, then seal_lock */
        pthread_mutex_lock(&db->rollup.run_lock);
    if (rc == 0) {
        pthread_rwlock_rdlock(&db->heads.seal_lock);
        rc = reseal_cands(db, r, c, wb, &resealed, err);
        if (rc == 0 && c->phase_end) {
            r->phase++;
            r->cursor_len = 0;
        }
        if (rc == 0 && r->phase == PHASES) {
            r->phase = 0;
            if (r->unreadable == 0)
                r->done = r->target;
            else
                r->stalled = r->target;
        }
        if (rc == 0) {
            state_put(db, r, wb);
            rc = commit(db, wb, err);
        }
        pthread_rwlock_unlock(&db->heads.seal_lock);
        if (tier)
            pthread_mutex_unlock(&db->rollup.run_lock);
    }
    rocksdb_writebatch_destroy(wb);
    free(c);
    if (rc != 0) {
        r->phase = phase0;
        r->cursor_len = cursor_len0;
        memcpy(r->cursor, cursor0, sizeof(r->cursor));
        r->done = done0;
        r->stalled = stalled0;
        r->examined = examined0;
        r->unreadable = unreadable0;
        return rc;
    }
    r->resealed += resealed;
    r->total += resealed;
    return 0;
}

/* Tell the cipher nothing is sealed below `below` any more (logged, not fatal: the older
 * versions then just stay). */
static void release(omega_tsdb_t *db, storage_reseal_t *r, uint32_t below)
{
    omega_error_t err;
    omega_error_clear(&err);
    if (storage_crypt_release(db, below, &err) != 0)
        omega_log_warn("storage: cannot release key versions below v%u: %s", below, err.message);
    r->released = 1;
}

static void pass_begin(storage_reseal_t *r, uint32_t target)
{
    r->target = target;
    r->phase = 0;
    r->cursor_len = 0;
    r->examined = r->resealed = r->unreadable = 0;
    r->stalled = 0;
    r->barrier = 1;
    r->started_ms = omega_now_ms();
    r->finished_ms = 0;
}

/* One step of the pass (caller holds r->run_lock): 1 when nothing is pending (any pass
 * just finished), 0 when batches remain, or an error. */
static int step(omega_tsdb_t *db, storage_reseal_t *r, int kicked, omega_error_t *err)
{
    int rc = r->loaded ? 0 : state_load(db, r, err);
    uint32_t active = rc == 0 ? storage_crypt_active(db) : 0;
    r->active = active;
    if (rc != 0 || active == 0)
        return rc ? rc : 1; /* no cipher that seals: nothing can be re-sealed */
    if (active < r->target || active < r->done) {
        /* versions went back (a store moved under other keys): what "older" meant is lost */
        omega_log_warn("storage: the cipher's key version v%u is below the re-seal pass's v%u; "
                       "starting over",
                       active, r->target > r->done ? r->target : r->done);
        r->done = 0;
        r->target = 0;
    }
    if (!r->released && r->done > 0)
        release(db, r, r->done); /* a pass finished before a restart */
    int idle = r->target <= r->done || r->stalled == r->target;
    if (active > r->target || (kicked && r->stalled == r->target && r->stalled))
        pass_begin(r, active);
    else if (idle)
        return 1;
    if (r->barrier) {
        barrier(db);
        r->barrier = 0;
    }
    rc = batch(db, r, err);
    if (rc != 0)
        return rc;
    if (r->done == r->target) {
        r->finished_ms = omega_now_ms();
        omega_log_info("storage: re-sealed %llu of %llu sealed values under key v%u",
                       (unsigned long long)r->resealed, (unsigned long long)r->examined, r->target);
        release(db, r, r->target);
        return 1;
    }
    if (r->stalled == r->target) {
        r->finished_ms = omega_now_ms();
        omega_log_error("storage: re-seal pass to key v%u: %llu sealed value(s) could not be "
                        "opened; older key versions stay in use",
                        r->target, (unsigned long long)r->unreadable);
        return 1;
    }
    return 0;
}

/* One step and its publication, under the run lock. */
static int step_locked(omega_tsdb_t *db, storage_reseal_t *r, int kicked, omega_error_t *err)
{
    pthread_mutex_lock(&r->run_lock);
    int rc = step(db, r, kicked, err);
    publish(db, r, rc < 0 ? err->message : NULL);
    pthread_mutex_unlock(&r->run_lock);
    return rc;
}

/* Sleep up to ns unless stopped; 1 when stopped. */
static int pause_ns(storage_reseal_t *r, int64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ns / 1000000000LL;
    ts.tv_nsec += ns % 1000000000LL;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&r->lock);
    if (!r->stop)
        pthread_cond_timedwait(&r->cond, &r->lock, &ts);
    int stop = r->stop;
    pthread_mutex_unlock(&r->lock);
    return stop;
}

/* Batches until nothing is pending, each followed by a pause nine times as long as it took
 * (about a tenth of a core), so queries and ingest keep the rest. */
static void run_paced(omega_tsdb_t *db, storage_reseal_t *r, int kicked)
{
    for (;;) {
        omega_error_t err;
        omega_error_clear(&err);
        int64_t t0 = omega_mono_ns();
        int rc = step_locked(db, r, kicked, &err);
        kicked = 0;
        if (rc < 0)
            omega_log_warn("storage: re-seal batch failed (retried in %d s): %s", CHECK_MS / 1000,
                           err.message);
        if (rc != 0)
            return;
        int64_t ns = 9 * (omega_mono_ns() - t0);
        if (pause_ns(r, ns < 2000000 ? 2000000 : ns > 1000000000LL ? 1000000000LL : ns))
            return;
    }
}

static void *reseal_main(void *arg)
{
    omega_tsdb_t *db = arg;
    storage_reseal_t *r = db->reseal;
    pthread_mutex_lock(&r->lock);
    while (!r->stop) {
        if (!r->kicked) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += CHECK_MS / 1000;
            pthread_cond_timedwait(&r->cond, &r->lock, &ts);
        }
        if (r->stop)
            break;
        int kicked = r->kicked;
        r->kicked = 0;
        pthread_mutex_unlock(&r->lock);
        run_paced(db, r, kicked);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* ---- public ---- */

void omega_tsdb_reseal_status(omega_tsdb_t *db, omega_tsdb_reseal_status_t *out)
{
    memset(out, 0, sizeof(*out));
    storage_reseal_t *r = db ? db->reseal : NULL;
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    *out = r->st;
    pthread_mutex_unlock(&r->lock);
    /* a rotation the thread has not looked at yet is pending too */
    uint32_t active = storage_crypt_active(db);
    if (!out->pending && active > out->target_version && active > out->done_version) {
        out->pending = 1;
        out->target_version = active;
        out->progress = 0;
        out->examined = out->resealed = out->unreadable = 0;
        out->started_ms = out->finished_ms = 0;
        out->error[0] = '\0';
    }
}

void omega_tsdb_reseal_kick(omega_tsdb_t *db)
{
    storage_reseal_t *r = db ? db->reseal : NULL;
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->kicked = 1;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

int omega_tsdb_reseal_run(omega_tsdb_t *db, size_t max_batches, omega_error_t *err)
{
    storage_reseal_t *r = db ? db->reseal : NULL;
    if (!r)
        return omega_error_set(err, OMEGA_EINVAL, "storage: no database");
    for (size_t i = 0; max_batches == 0 || i < max_batches; i++) {
        int rc = step_locked(db, r, i == 0, err);
        if (rc != 0)
            return rc < 0 ? rc : 0;
    }
    omega_tsdb_reseal_status_t st;
    omega_tsdb_reseal_status(db, &st);
    return st.pending ? OMEGA_EAGAIN : 0;
}

int storage_reseal_start(omega_tsdb_t *db)
{
    storage_reseal_t *r = omega_calloc(1, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->run_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    r->manual = db->opts.reseal_manual;
    r->kicked = 1; /* look at once: resume a pass a restart interrupted */
    db->reseal = r;
    if (!r->manual && pthread_create(&r->thread, NULL, reseal_main, db) != 0)
        return -1;
    r->running = !r->manual;
    return 0;
}

void storage_reseal_stop(omega_tsdb_t *db)
{
    storage_reseal_t *r = db->reseal;
    if (!r)
        return;
    if (r->running) {
        pthread_mutex_lock(&r->lock);
        r->stop = 1;
        pthread_cond_signal(&r->cond);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
    }
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    pthread_mutex_destroy(&r->run_lock);
    free(r);
    db->reseal = NULL;
}
