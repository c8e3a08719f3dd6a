/* SPDX-License-Identifier: Apache-2.0 */
/* Sealed secrets in OMEGA_KV_META: seal on write with the newest data key (keyring.c), open
 * any version still held, and the keeper thread that rotates the data key every
 * key_rotation_interval and re-encrypts every sealed value in the background, retiring old
 * key versions once nothing uses them. Which values are secret is the callers' choice. */
#include "auth_int.h"

#include "omega/log.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAGIC_LEN  (sizeof(AUTH_SEALED_MAGIC) - 1)
#define HEADER_LEN (MAGIC_LEN + 9) /* magic, 8 hex digits of the key version, '$' */

int omega_auth_secret_sealed(const void *val, size_t vlen)
{
    return val && vlen >= MAGIC_LEN && memcmp(val, AUTH_SEALED_MAGIC, MAGIC_LEN) == 0;
}

/* The key version of a sealed value, 0 when the header is malformed. */
static uint32_t sealed_version(const char *val, size_t vlen)
{
    uint32_t v = 0;
    if (vlen < HEADER_LEN || !omega_auth_secret_sealed(val, vlen) || val[HEADER_LEN - 1] != '$')
        return 0;
    for (size_t i = MAGIC_LEN; i < HEADER_LEN - 1; i++) {
        char c = val[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return 0;
        v = v << 4 | (uint32_t)d;
    }
    return v;
}

/* Seal plain under the newest data key with key as associated data, so a sealed value
 * moved to another key does not open. Caller holds keys_lock. */
static int seal_locked(omega_auth_t *a, const char *key, const void *plain, size_t n, char **out,
                       size_t *outlen, omega_error_t *err)
{
    const auth_datakey_t *dk = auth_datakey_current(a);
    if (!dk)
        return omega_error_set(err, OMEGA_EINVAL, "no data key: encryption at rest is off");
    if (n > (64u << 20))
        return omega_error_set(err, OMEGA_E2BIG, "secret too large to seal");
    unsigned char *raw = omega_malloc(n + AUTH_GCM_OVERHEAD);
    int rc = auth_gcm_seal(dk->key, key, strlen(key), plain, n, raw);
    if (rc != 0) {
        free(raw);
        return omega_error_set(err, rc, "cannot seal '%s'", key);
    }
    char *b64 = auth_b64_encode(raw, n + AUTH_GCM_OVERHEAD);
    free(raw);
    size_t blen = strlen(b64);
    char *text = omega_malloc(HEADER_LEN + blen + 1);
    snprintf(text, HEADER_LEN + 1, AUTH_SEALED_MAGIC "%08x$", dk->version);
    memcpy(text + HEADER_LEN, b64, blen + 1);
    free(b64);
    *out = text;
    *outlen = HEADER_LEN + blen;
    return 0;
}

/* Open a sealed value; caller holds keys_lock. */
static int open_locked(omega_auth_t *a, const char *key, const char *val, size_t vlen, char **plain,
                       size_t *plen, omega_error_t *err)
{
    uint32_t v = sealed_version(val, vlen);
    unsigned char *raw = NULL;
    size_t rawlen = 0;
    if (v == 0 || auth_b64_decode(val + HEADER_LEN, vlen - HEADER_LEN, &raw, &rawlen) != 0 ||
        rawlen < AUTH_GCM_OVERHEAD) {
        free(raw);
        return omega_error_set(err, OMEGA_ECORRUPT, "sealed value '%s' is malformed", key);
    }
    const auth_datakey_t *dk = auth_datakey_find(a, v);
    if (!dk) {
        free(raw);
        return omega_error_set(err, OMEGA_EACCES,
                               "sealed value '%s' needs data key v%u, which this store does "
                               "not hold (or no master key is loaded)",
                               key, v);
    }
    char *out = omega_malloc(rawlen - AUTH_GCM_OVERHEAD + 1);
    int rc = auth_gcm_open(dk->key, key, strlen(key), raw, rawlen, (unsigned char *)out);
    free(raw);
    if (rc != 0) {
        free(out);
        return omega_error_set(err, OMEGA_ECORRUPT,
                               "sealed value '%s' fails authentication (altered or moved)", key);
    }
    out[rawlen - AUTH_GCM_OVERHEAD] = '\0';
    *plain = out;
    *plen = rawlen - AUTH_GCM_OVERHEAD;
    return 0;
}

/* Does the stored form of a value differ from what a write would produce now? */
static int stale_locked(const omega_auth_t *a, const char *val, size_t vlen)
{
    const auth_datakey_t *cur = a->opts.encrypt ? auth_datakey_current(a) : NULL;
    uint32_t v = sealed_version(val, vlen);
    return cur ? v != cur->version : omega_auth_secret_sealed(val, vlen);
}

int omega_auth_secret_open(omega_auth_t *a, const char *key, const void *val, size_t vlen,
                           char **plain, size_t *plen, int *stale, omega_error_t *err)
{
    *plain = NULL;
    *plen = 0;
    pthread_mutex_lock(&a->keys_lock);
    int rc = 0;
    if (stale)
        *stale = stale_locked(a, val, vlen);
    if (omega_auth_secret_sealed(val, vlen)) {
        rc = open_locked(a, key, val, vlen, plain, plen, err);
    } else {
        *plain = omega_strndup(val ? val : "", vlen);
        *plen = vlen;
    }
    pthread_mutex_unlock(&a->keys_lock);
    return rc;
}

/* Store plain under key as policy says (sealed or plain); caller holds keys_lock. */
static int put_locked(omega_auth_t *a, const char *key, const void *plain, size_t n,
                      omega_error_t *err)
{
    if (!a->opts.encrypt)
        return omega_kv_put(a->db, OMEGA_KV_META, key, strlen(key), plain, n, err);
    char *sealed = NULL;
    size_t slen = 0;
    int rc = seal_locked(a, key, plain, n, &sealed, &slen, err);
    if (rc == 0)
        rc = omega_kv_put(a->db, OMEGA_KV_META, key, strlen(key), sealed, slen, err);
    free(sealed);
    return rc;
}

int omega_auth_secret_put(omega_auth_t *a, const char *key, const void *plain, size_t n,
                          omega_error_t *err)
{
    if (!key || !*key || (!plain && n))
        return omega_error_set(err, OMEGA_EINVAL, "a secret needs a key and a value");
    pthread_mutex_lock(&a->keys_lock);
    int rc = put_locked(a, key, plain, n, err);
    pthread_mutex_unlock(&a->keys_lock);
    return rc;
}

int omega_auth_secret_get(omega_auth_t *a, const char *key, char **plain, size_t *plen,
                          omega_error_t *err)
{
    char *val = NULL;
    size_t vlen = 0;
    *plain = NULL;
    *plen = 0;
    int rc = omega_kv_get(a->db, OMEGA_KV_META, key, strlen(key), &val, &vlen, err);
    if (rc == 0)
        rc = omega_auth_secret_open(a, key, val, vlen, plain, plen, NULL, err);
    free(val);
    return rc;
}

int omega_auth_secret_delete(omega_auth_t *a, const char *key, omega_error_t *err)
{
    pthread_mutex_lock(&a->keys_lock);
    int rc = omega_kv_delete(a->db, OMEGA_KV_META, key, strlen(key), err);
    pthread_mutex_unlock(&a->keys_lock);
    return rc;
}

int omega_auth_secret_put_cb(void *auth, const char *key, const void *plain, size_t n,
                             omega_error_t *err)
{
    return omega_auth_secret_put(auth, key, plain, n, err);
}

int omega_auth_secret_open_cb(void *auth, const char *key, const void *val, size_t vlen,
                              char **plain, size_t *plen, int *stale, omega_error_t *err)
{
    return omega_auth_secret_open(auth, key, val, vlen, plain, plen, stale, err);
}

int omega_auth_secret_delete_cb(void *auth, const char *key, omega_error_t *err)
{
    return omega_auth_secret_delete(auth, key, err);
}

/* ---- re-encryption ---- */

typedef struct walk {
    omega_auth_t *a;
    char **keys; /* META keys whose sealed value is not under the target version */
    size_t n, cap;
} walk_t;

static int walk_collect(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    walk_t *w = ctx;
    if (!omega_auth_secret_sealed(val, vlen) || memchr(key, '\0', klen))
        return 0;
    pthread_mutex_lock(&w->a->keys_lock);
    int stale = stale_locked(w->a, val, vlen);
    pthread_mutex_unlock(&w->a->keys_lock);
    if (!stale)
        return 0;
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 16;
        w->keys = omega_realloc(w->keys, w->cap * sizeof(*w->keys));
    }
    w->keys[w->n++] = omega_strndup(key, klen);
    return 0;
}

/* Re-write one value under the current policy if it is still stale. 1 when re-written. */
static int reseal_one(omega_auth_t *a, const char *key, omega_error_t *err)
{
    char *val = NULL, *plain = NULL;
    size_t vlen = 0, plen = 0;
    pthread_mutex_lock(&a->keys_lock);
    int rc = omega_kv_get(a->db, OMEGA_KV_META, key, strlen(key), &val, &vlen, err);
    if (rc == OMEGA_ENOENT) {
        rc = 0; /* deleted meanwhile */
    } else if (rc == 0 && omega_auth_secret_sealed(val, vlen) && stale_locked(a, val, vlen)) {
        rc = open_locked(a, key, val, vlen, &plain, &plen, err);
        if (rc == 0)
            rc = put_locked(a, key, plain, plen, err);
        if (rc == 0)
            rc = 1;
    }
    pthread_mutex_unlock(&a->keys_lock);
    if (plain)
        OPENSSL_cleanse(plain, plen);
    free(plain);
    free(val);
    return rc;
}

static void audit_walk(omega_auth_t *a, size_t resealed, uint32_t target)
{
    char detail[128];
    snprintf(detail, sizeof(detail), "%zu secret(s) re-written; data keys below v%u retired",
             resealed, target);
    omega_audit_event_t ev = {.actor = "system",
                              .action = "security.reencrypt",
                              .target = "secrets",
                              .outcome = "success",
                              .detail = detail};
    omega_auth_audit(a, &ev, NULL);
}

int omega_auth_key_reencrypt(omega_auth_t *a, size_t *resealed, omega_error_t *err)
{
    walk_t w = {.a = a};
    size_t done = 0;
    pthread_mutex_lock(&a->walk_lock);
    pthread_mutex_lock(&a->keys_lock);
    const auth_datakey_t *cur = a->opts.encrypt ? auth_datakey_current(a) : NULL;
    /* Everything below target is unused once the walk is through: writes made meanwhile
     * seal with the current key (or none), never an older one. */
    uint32_t target = cur ? cur->version : UINT32_MAX;
    size_t held = auth_datakeys_active(a);
    pthread_mutex_unlock(&a->keys_lock);
    __atomic_store_n(&a->walking, 1, __ATOMIC_RELAXED);
    int rc = omega_kv_scan(a->db, OMEGA_KV_META, NULL, 0, walk_collect, &w, err);
    for (size_t i = 0; rc == 0 && i < w.n; i++) {
        rc = reseal_one(a, w.keys[i], err);
        if (rc == 1) {
            done++;
            rc = 0;
        }
    }
    for (size_t i = 0; i < w.n; i++)
        free(w.keys[i]);
    free(w.keys);
    int retired = 0;
    if (rc == 0) {
        pthread_mutex_lock(&a->keys_lock);
        rc = auth_datakey_retire(a, target, err);
        retired = auth_datakeys_active(a) < held;
        pthread_mutex_unlock(&a->keys_lock);
    }
    __atomic_store_n(&a->walking, 0, __ATOMIC_RELAXED);
    __atomic_add_fetch(&a->resealed_total, done, __ATOMIC_RELAXED);
    if (rc == 0 && (done || retired))
        audit_walk(a, done, target == UINT32_MAX ? 0 : target);
    pthread_mutex_unlock(&a->walk_lock);
    if (resealed)
        *resealed = done;
    return rc;
}

/* ---- rotation ---- */

void auth_keeper_poke(omega_auth_t *a)
{
    pthread_mutex_lock(&a->keeper_lock);
    a->keeper_work = 1;
    pthread_cond_signal(&a->keeper_cond);
    pthread_mutex_unlock(&a->keeper_lock);
}

int omega_auth_key_rotate(omega_auth_t *a, uint32_t *version, omega_error_t *err)
{
    if (!a->opts.encrypt)
        return omega_error_set(err, OMEGA_EINVAL,
                               "encryption at rest is off (security.enable_encryption)");
    uint32_t v = 0;
    int64_t now = omega_now_ms();
    pthread_mutex_lock(&a->keys_lock);
    int rc = auth_datakey_create(a, now, &v, err);
    pthread_mutex_unlock(&a->keys_lock);
    if (rc != 0)
        return rc;
    omega_log_info("data key rotated to v%u; re-encrypting secrets and sealed series in the "
                   "background",
                   v);
    auth_keeper_poke(a);
    omega_tsdb_reseal_kick(a->db); /* storage re-seals the sensitive series' data */
    if (version)
        *version = v;
    return 0;
}

int omega_auth_key_rotate_due(omega_auth_t *a, int64_t now_ms)
{
    if (!a->opts.encrypt || a->opts.key_rotation_interval_ms <= 0)
        return 0;
    pthread_mutex_lock(&a->keys_lock);
    const auth_datakey_t *cur = auth_datakey_current(a);
    int due = cur && now_ms - cur->created_ms >= a->opts.key_rotation_interval_ms;
    pthread_mutex_unlock(&a->keys_lock);
    return due;
}

void omega_auth_key_status(omega_auth_t *a, omega_key_status_t *out)
{
    memset(out, 0, sizeof(*out));
    out->enabled = a->opts.encrypt;
    pthread_mutex_lock(&a->keys_lock);
    const auth_datakey_t *cur = auth_datakey_current(a);
    out->current_version = cur ? cur->version : 0;
    out->current_created_ms = cur ? cur->created_ms : 0;
    out->versions_held = auth_datakeys_active(a);
    out->rotation_interval_ms = a->opts.key_rotation_interval_ms;
    out->next_rotation_ms = out->enabled && cur && a->opts.key_rotation_interval_ms > 0
                                ? cur->created_ms + a->opts.key_rotation_interval_ms
                                : 0;
    out->versions_pinned = auth_datakeys_pinned(a);
    size_t retirable = auth_datakeys_retirable(a);
    pthread_mutex_unlock(&a->keys_lock);
    out->reencrypting = __atomic_load_n(&a->walking, __ATOMIC_RELAXED) || retirable > 0;
    out->resealed_total = __atomic_load_n(&a->resealed_total, __ATOMIC_RELAXED);
}

/* Scheduled rotation, audited as the system's. */
static void keeper_rotate(omega_auth_t *a)
{
    omega_error_t err;
    omega_error_clear(&err);
    uint32_t v = 0;
    int rc = omega_auth_key_rotate(a, &v, &err);
    char target[32];
    snprintf(target, sizeof(target), "data key v%u", v);
    omega_audit_event_t ev = {.actor = "system",
                              .action = "security.rotate_key",
                              .target = target,
                              .outcome = rc == 0 ? "success" : "failure",
                              .detail = rc == 0 ? "key_rotation_interval elapsed" : err.message};
    omega_auth_audit(a, &ev, NULL);
    if (rc != 0)
        omega_log_error("scheduled data key rotation failed: %s", err.message);
}

static void *keeper_main(void *arg)
{
    omega_auth_t *a = arg;
    pthread_mutex_lock(&a->keeper_lock);
    while (!a->keeper_stop) {
        int work = a->keeper_work;
        a->keeper_work = 0;
        pthread_mutex_unlock(&a->keeper_lock);
        if (omega_auth_key_rotate_due(a, omega_now_ms()))
            keeper_rotate(a); /* pokes: the walk follows on the next turn */
        if (work) {
            omega_error_t err;
            omega_error_clear(&err);
            if (omega_auth_key_reencrypt(a, NULL, &err) != 0)
                omega_log_error("re-encryption of secrets failed: %s", err.message);
        }
        pthread_mutex_lock(&a->keeper_lock);
        if (a->keeper_stop || a->keeper_work)
            continue;
        /* Sleep until the next rotation is due (re-checked at least hourly). */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += 3600;
        omega_key_status_t st;
        omega_auth_key_status(a, &st);
        if (st.next_rotation_ms > 0) {
            int64_t wait_s = (st.next_rotation_ms - omega_now_ms()) / 1000 + 1;
            if (wait_s < 3600) {
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_sec += wait_s > 0 ? wait_s : 1;
            }
        }
        pthread_cond_timedwait(&a->keeper_cond, &a->keeper_lock, &ts);
    }
    pthread_mutex_unlock(&a->keeper_lock);
    return NULL;
}

void auth_keeper_init(omega_auth_t *a)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->keeper_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&a->keeper_lock, NULL);
    pthread_mutex_init(&a->keys_lock, NULL);
    pthread_mutex_init(&a->walk_lock, NULL);
}

void auth_keeper_deinit(omega_auth_t *a)
{
    auth_keeper_stop(a);
    pthread_cond_destroy(&a->keeper_cond);
    pthread_mutex_destroy(&a->keeper_lock);
    pthread_mutex_destroy(&a->keys_lock);
    pthread_mutex_destroy(&a->walk_lock);
}

int auth_keeper_start(omega_auth_t *a, omega_error_t *err)
{
    /* Work at start: finish a walk a restart interrupted, or turn sealed values back into
     * plain text after encryption was switched off. */
    a->keeper_work = auth_datakeys_retirable(a) > 0;
    if (!a->opts.encrypt && !a->keeper_work)
        return 0;
    int rc = pthread_create(&a->keeper, NULL, keeper_main, a);
    if (rc != 0)
        return omega_error_set(err, OMEGA_EIO, "cannot start the key keeper thread: %s",
                               strerror(rc));
    a->keeper_running = 1;
    return 0;
}

void auth_keeper_stop(omega_auth_t *a)
{
    if (a->keeper_running) {
        pthread_mutex_lock(&a->keeper_lock);
        a->keeper_stop = 1;
        pthread_cond_signal(&a->keeper_cond);
        pthread_mutex_unlock(&a->keeper_lock);
        pthread_join(a->keeper, NULL);
        a->keeper_running = 0;
    }
}
