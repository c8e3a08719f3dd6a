/* SPDX-License-Identifier: Apache-2.0 */
/* Sealed binary blobs for storage's sensitive series (security.sensitive_metrics): AES-256-GCM
 * under the current data key with caller-supplied associated data, in a self-describing form
 * (magic, key version, nonce, ciphertext, tag). The secrets walk cannot re-write blobs held by
 * another module, so a data key version that sealed a blob is pinned (KV "auth/blobkey/<v>")
 * until storage's re-seal pass reports that no blob uses it any more (release): old blobs
 * keep opening across rotations and restarts. */
#include "auth_int.h"

#include "omega/log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOB_MAGIC     "OMB1"
#define BLOB_MAGIC_LEN 4
#define BLOB_HEAD      (BLOB_MAGIC_LEN + 4) /* magic, key version (big-endian) */
#define BLOB_PLAIN_MAX (64u << 20)

/* The held data key may seal blobs from now on: record that once per version (caller holds
 * keys_lock, so a walk cannot retire the version between the seal and the pin). */
static int pin_locked(omega_auth_t *a, auth_datakey_t *dk, omega_error_t *err)
{
    if (dk->pinned)
        return 0;
    char name[48];
    snprintf(name, sizeof(name), "%s%08x", AUTH_BLOBKEY_PREFIX, dk->version);
    int rc = omega_kv_put(a->db, OMEGA_KV_META, name, strlen(name), "", 0, err);
    if (rc == 0)
        dk->pinned = 1;
    return rc;
}

static int pin_load_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val, (void)vlen;
    omega_auth_t *a = ctx;
    size_t plen = strlen(AUTH_BLOBKEY_PREFIX);
    char hex[9];
    if (klen != plen + 8)
        return 0; /* not ours: ignored */
    memcpy(hex, (const char *)key + plen, 8);
    hex[8] = '\0';
    char *end = NULL;
    unsigned long v = strtoul(hex, &end, 16);
    const auth_datakey_t *dk = end && *end == '\0' ? auth_datakey_find(a, (uint32_t)v) : NULL;
    if (dk)
        ((auth_datakey_t *)dk)->pinned = 1;
    return 0;
}

int auth_blob_pins_load(omega_auth_t *a, omega_error_t *err)
{
    return omega_kv_scan(a->db, OMEGA_KV_META, AUTH_BLOBKEY_PREFIX, strlen(AUTH_BLOBKEY_PREFIX),
                         pin_load_one, a, err);
}

uint32_t omega_auth_blob_version(const void *blob, size_t n)
{
    const unsigned char *b = blob;
    if (!b || n < OMEGA_AUTH_BLOB_OVERHEAD || memcmp(b, BLOB_MAGIC, BLOB_MAGIC_LEN) != 0)
        return 0;
    return (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
}

int omega_auth_blob_seal(void *auth, const void *aad, size_t aad_len, const void *plain, size_t n,
                         void *out, size_t out_cap, size_t *out_len, omega_error_t *err)
{
    omega_auth_t *a = auth;
    if (out_len)
        *out_len = 0;
    if (!a || !out || !out_len || (!plain && n) || (!aad && aad_len))
        return omega_error_set(err, OMEGA_EINVAL, "blob seal: missing argument");
    if (n > BLOB_PLAIN_MAX)
        return omega_error_set(err, OMEGA_E2BIG, "blob seal: %zu bytes is over the 64 MiB limit",
                               n);
    if (out_cap < n + OMEGA_AUTH_BLOB_OVERHEAD)
        return omega_error_set(err, OMEGA_EINVAL,
                               "blob seal: output buffer of %zu bytes, %zu needed", out_cap,
                               n + OMEGA_AUTH_BLOB_OVERHEAD);
    /* The key is copied under the lock and used outside it: sealers run in parallel. */
    unsigned char key[AUTH_KEY_LEN];
    uint32_t version = 0;
    pthread_mutex_lock(&a->keys_lock);
    auth_datakey_t *dk = a->opts.encrypt ? (auth_datakey_t *)auth_datakey_current(a) : NULL;
    int rc = dk ? pin_locked(a, dk, err)
                : omega_error_set(err, OMEGA_EINVAL,
                                  "blob seal: encryption at rest is off "
                                  "(security.enable_encryption)");
    if (rc == 0) {
        memcpy(key, dk->key, AUTH_KEY_LEN);
        version = dk->version;
    }
    pthread_mutex_unlock(&a->keys_lock);
    if (rc != 0)
        return rc;
    unsigned char *o = out;
    memcpy(o, BLOB_MAGIC, BLOB_MAGIC_LEN);
    o[4] = (unsigned char)(version >> 24);
    o[5] = (unsigned char)(version >> 16);
    o[6] = (unsigned char)(version >> 8);
    o[7] = (unsigned char)version;
    rc = auth_gcm_seal(key, aad, aad_len, plain, n, o + BLOB_HEAD);
    OPENSSL_cleanse(key, sizeof(key));
    if (rc != 0)
        return omega_error_set(err, rc, "blob seal: AES-256-GCM failed");
    *out_len = n + OMEGA_AUTH_BLOB_OVERHEAD;
    return 0;
}

int omega_auth_blob_open(void *auth, const void *aad, size_t aad_len, const void *blob, size_t n,
                         void *out, size_t out_cap, size_t *out_len, omega_error_t *err)
{
    omega_auth_t *a = auth;
    if (out_len)
        *out_len = 0;
    if (!a || !out_len || !blob || (!aad && aad_len) || (!out && n > OMEGA_AUTH_BLOB_OVERHEAD))
        return omega_error_set(err, OMEGA_EINVAL, "blob open: missing argument");
    uint32_t v = omega_auth_blob_version(blob, n);
    if (v == 0)
        return omega_error_set(err, OMEGA_ECORRUPT, "blob open: not a sealed blob");
    size_t plen = n - OMEGA_AUTH_BLOB_OVERHEAD;
    if (out_cap < plen)
        return omega_error_set(err, OMEGA_EINVAL,
                               "blob open: output buffer of %zu bytes, %zu needed", out_cap, plen);
    unsigned char key[AUTH_KEY_LEN], none; /* none: where an empty plain text "goes" */
    pthread_mutex_lock(&a->keys_lock);
    const auth_datakey_t *dk = auth_datakey_find(a, v);
    int held = dk != NULL;
    if (held)
        memcpy(key, dk->key, AUTH_KEY_LEN);
    pthread_mutex_unlock(&a->keys_lock);
    int rc = held ? auth_gcm_open(key, aad, aad_len, (const unsigned char *)blob + BLOB_HEAD,
                                  n - BLOB_HEAD, out ? out : &none)
                  : OMEGA_EACCES;
    OPENSSL_cleanse(key, sizeof(key));
    if (rc == OMEGA_EACCES)
        return omega_error_set(err, rc,
                               "blob open: data key v%u is not held (wrong master key or a "
                               "store the key was removed from)",
                               v);
    if (rc != 0)
        return omega_error_set(err, OMEGA_ECORRUPT,
                               "blob open: authentication failed (altered blob or other "
                               "associated data)");
    *out_len = plen;
    return 0;
}

uint32_t omega_auth_blob_active(void *auth)
{
    omega_auth_t *a = auth;
    if (!a)
        return 0;
    pthread_mutex_lock(&a->keys_lock);
    const auth_datakey_t *dk = a->opts.encrypt ? auth_datakey_current(a) : NULL;
    uint32_t v = dk ? dk->version : 0;
    pthread_mutex_unlock(&a->keys_lock);
    return v;
}

int omega_auth_blob_release(void *auth, uint32_t below, omega_error_t *err)
{
    omega_auth_t *a = auth;
    if (!a)
        return omega_error_set(err, OMEGA_EINVAL, "blob release: missing argument");
    int rc = 0;
    size_t n = 0;
    pthread_mutex_lock(&a->keys_lock);
    /* never the version new blobs are sealed with, whatever the caller says */
    const auth_datakey_t *cur = a->opts.encrypt ? auth_datakey_current(a) : NULL;
    for (size_t i = 0; rc == 0 && i < a->n_datakeys; i++) {
        auth_datakey_t *dk = &a->datakeys[i];
        if (!dk->pinned || dk->version >= below || dk == cur)
            continue;
        char name[48];
        snprintf(name, sizeof(name), "%s%08x", AUTH_BLOBKEY_PREFIX, dk->version);
        rc = omega_kv_delete(a->db, OMEGA_KV_META, name, strlen(name), err);
        if (rc == 0) {
            dk->pinned = 0;
            n++;
        }
    }
    pthread_mutex_unlock(&a->keys_lock);
    if (n) {
        omega_log_info("%zu data key version(s) below v%u no longer seal stored series data", n,
                       below);
        auth_keeper_poke(a); /* the walk retires them once secrets do not use them either */
    }
    return rc;
}
