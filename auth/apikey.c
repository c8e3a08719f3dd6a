/* SPDX-License-Identifier: Apache-2.0 */
/* API keys for agents and scripts: "omk_<12 hex id>_<64 hex secret>". Only the record
 * {id, name, prefix, scopes, created_by, created_at, last_used_at, hash} is stored, under
 * OMEGA_KV_META "apikey/<id>", where hash is the HMAC-SHA256 of the whole key under a
 * server secret (so a stolen store does not yield usable keys, and checking costs one
 * HMAC rather than a password hash: the secret has 256 bits, nothing to brute-force). */
#include "auth_int.h"

#include "omega/log.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_BYTES       6  /* random bytes of the id (12 hex) */
#define SECRET_BYTES   32 /* random bytes of the secret (64 hex) */
#define ID_LEN         (2 * ID_BYTES)
#define SECRET_LEN     (2 * SECRET_BYTES)
#define PFX_LEN        (sizeof(OMEGA_APIKEY_PREFIX) - 1)
#define KEY_LEN        (PFX_LEN + ID_LEN + 1 + SECRET_LEN)
#define TOUCH_EVERY_MS 60000 /* last-used writes per key: at most one a minute */

int omega_scope_parse(const char *name, unsigned *out)
{
    if (name && strcmp(name, "read") == 0)
        *out = OMEGA_SCOPE_READ;
    else if (name && strcmp(name, "ingest") == 0)
        *out = OMEGA_SCOPE_INGEST;
    else
        return OMEGA_EINVAL;
    return 0;
}

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static void key_hash(const omega_auth_t *a, const char *key, char out[65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), a->apikey_key, AUTH_KEY_LEN, (const unsigned char *)key, strlen(key), mac,
         &mac_len);
    auth_hex_encode(mac, 32, out);
}

static int name_valid(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > OMEGA_APIKEY_NAME_MAX || !omega_utf8_valid(name, len))
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return 0;
    return 1;
}

/* A stored record: the public part and its hash. */
typedef struct key_rec {
    omega_apikey_info_t info;
    char hash[65];
} key_rec_t;

static int rec_store(omega_auth_t *a, const key_rec_t *r, omega_error_t *err)
{
    json_t *scopes = json_array();
    if (r->info.scopes & OMEGA_SCOPE_READ)
        json_array_append_new(scopes, json_string("read"));
    if (r->info.scopes & OMEGA_SCOPE_INGEST)
        json_array_append_new(scopes, json_string("ingest"));
    json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:s}", "id", r->info.id, "name",
                          r->info.name, "prefix", r->info.prefix, "scopes", scopes, "created_by",
                          r->info.created_by, "created_at", (json_int_t)r->info.created_at_ms,
                          "last_used_at", (json_int_t)r->info.last_used_ms, "hash", r->hash);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return omega_error_set(err, OMEGA_EIO, "cannot encode API key record");
    char k[sizeof(AUTH_APIKEY_PREFIX) + ID_LEN];
    int klen = snprintf(k, sizeof(k), "%s%s", AUTH_APIKEY_PREFIX, r->info.id);
    int rc = omega_kv_put(a->db, OMEGA_KV_META, k, (size_t)klen, text, strlen(text), err);
    free(text);
    return rc;
}

static int rec_parse(const char *val, size_t vlen, key_rec_t *r, omega_error_t *err)
{
    const char *id, *name, *prefix, *by, *hash;
    json_int_t created, used;
    json_t *scopes;
    memset(r, 0, sizeof(*r));
    json_t *o = json_loadb(val, vlen, JSON_REJECT_DUPLICATES, NULL);
    int rc = 0;
    if (!o ||
        json_unpack(o, "{s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:s}", "id", &id, "name", &name,
                    "prefix", &prefix, "scopes", &scopes, "created_by", &by, "created_at", &created,
                    "last_used_at", &used, "hash", &hash) != 0 ||
        strlen(id) != ID_LEN || strlen(hash) != 64 || strlen(name) > OMEGA_APIKEY_NAME_MAX ||
        strlen(by) >= sizeof(r->info.created_by) || strlen(prefix) >= sizeof(r->info.prefix) ||
        !json_is_array(scopes)) {
        rc = omega_error_set(err, OMEGA_ECORRUPT, "an API key record is unreadable");
        goto out;
    }
    size_t i;
    json_t *s;
    json_array_foreach(scopes, i, s)
    {
        unsigned bit = 0;
        if (omega_scope_parse(json_string_value(s), &bit) == 0)
            r->info.scopes |= bit;
    }
    snprintf(r->info.id, sizeof(r->info.id), "%s", id);
    snprintf(r->info.name, sizeof(r->info.name), "%s", name);
    snprintf(r->info.prefix, sizeof(r->info.prefix), "%s", prefix);
    snprintf(r->info.created_by, sizeof(r->info.created_by), "%s", by);
    snprintf(r->hash, sizeof(r->hash), "%s", hash);
    r->info.created_at_ms = created;
    r->info.last_used_ms = used;
out:
    json_decref(o);
    return rc;
}

static int rec_load(omega_auth_t *a, const char *id, key_rec_t *r, omega_error_t *err)
{
    if (!id || strlen(id) != ID_LEN || !is_hex(id, ID_LEN))
        return omega_error_set(err, OMEGA_ENOENT, "no such API key");
    char k[sizeof(AUTH_APIKEY_PREFIX) + ID_LEN];
    int klen = snprintf(k, sizeof(k), "%s%s", AUTH_APIKEY_PREFIX, id);
    char *val = NULL;
    size_t vlen = 0;
    int rc = omega_kv_get(a->db, OMEGA_KV_META, k, (size_t)klen, &val, &vlen, err);
    if (rc == OMEGA_ENOENT)
        return omega_error_set(err, OMEGA_ENOENT, "no API key with id '%s'", id);
    if (rc == 0)
        rc = rec_parse(val, vlen, r, err);
    free(val);
    return rc;
}

int omega_auth_apikey_create(omega_auth_t *a, const char *name, unsigned scopes,
                             const char *created_by, char key_out[OMEGA_APIKEY_MAX],
                             omega_apikey_info_t *info, omega_error_t *err)
{
    if (!name_valid(name))
        return omega_error_set_path(err, OMEGA_EINVAL, "name",
                                    "name must be 1 to %d bytes of text without control "
                                    "characters",
                                    OMEGA_APIKEY_NAME_MAX);
    if (scopes == 0 || (scopes & ~(OMEGA_SCOPE_READ | OMEGA_SCOPE_INGEST)))
        return omega_error_set_path(err, OMEGA_EINVAL, "scopes",
                                    "scopes must be a non-empty subset of [\"ingest\",\"read\"]");
    key_rec_t r;
    memset(&r, 0, sizeof(r));
    char secret[SECRET_LEN + 1];
    if (auth_random_hex(r.info.id, ID_BYTES) != 0 || auth_random_hex(secret, SECRET_BYTES) != 0)
        return omega_error_set(err, OMEGA_EIO, "no randomness available for an API key");
    snprintf(key_out, OMEGA_APIKEY_MAX, "%s%s_%s", OMEGA_APIKEY_PREFIX, r.info.id, secret);
    OPENSSL_cleanse(secret, sizeof(secret));
    snprintf(r.info.name, sizeof(r.info.name), "%s", name);
    snprintf(r.info.prefix, sizeof(r.info.prefix), "%s%s", OMEGA_APIKEY_PREFIX, r.info.id);
    snprintf(r.info.created_by, sizeof(r.info.created_by), "%s", created_by ? created_by : "");
    r.info.scopes = scopes;
    r.info.created_at_ms = omega_now_ms();
    key_hash(a, key_out, r.hash);
    int rc = rec_store(a, &r, err);
    if (rc != 0) {
        OPENSSL_cleanse(key_out, OMEGA_APIKEY_MAX);
        return rc;
    }
    omega_log_info("API key %s ('%s') created by '%s'", r.info.prefix, name, r.info.created_by);
    if (info)
        *info = r.info;
    return 0;
}

/* Collects records for omega_auth_apikey_list(). */
typedef struct list_ctx {
    omega_apikey_info_t *items;
    size_t n, cap;
    omega_error_t *err;
    int rc;
} list_ctx_t;

static int list_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    list_ctx_t *c = ctx;
    key_rec_t r;
    c->rc = rec_parse(val, vlen, &r, c->err);
    if (c->rc != 0)
        return 1;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->items = omega_realloc(c->items, c->cap * sizeof(*c->items));
    }
    c->items[c->n++] = r.info;
    return 0;
}

int omega_auth_apikey_list(omega_auth_t *a, omega_apikey_info_t **out, size_t *n,
                           omega_error_t *err)
{
    list_ctx_t c = {.err = err};
    int rc = omega_kv_scan(a->db, OMEGA_KV_META, AUTH_APIKEY_PREFIX, strlen(AUTH_APIKEY_PREFIX),
                           list_one, &c, err);
    if (rc == 1)
        rc = c.rc;
    if (rc != 0) {
        free(c.items);
        c.items = NULL;
        c.n = 0;
    }
    *out = c.items;
    *n = c.n;
    return rc;
}

int omega_auth_apikey_delete(omega_auth_t *a, const char *id, omega_error_t *err)
{
    key_rec_t r;
    pthread_mutex_lock(&a->lock);
    int rc = rec_load(a, id, &r, err);
    if (rc == 0) {
        char k[sizeof(AUTH_APIKEY_PREFIX) + ID_LEN];
        int klen = snprintf(k, sizeof(k), "%s%s", AUTH_APIKEY_PREFIX, id);
        rc = omega_kv_delete(a->db, OMEGA_KV_META, k, (size_t)klen, err);
    }
    pthread_mutex_unlock(&a->lock);
    if (rc == 0)
        omega_log_info("API key %s revoked", r.info.prefix);
    return rc;
}

/* Record a use at most once a minute; re-read under the lock so a concurrent delete wins. */
static void touch(omega_auth_t *a, const char *id, int64_t now)
{
    key_rec_t r;
    pthread_mutex_lock(&a->lock);
    if (rec_load(a, id, &r, NULL) == 0 && now - r.info.last_used_ms >= TOUCH_EVERY_MS) {
        r.info.last_used_ms = now;
        if (rec_store(a, &r, NULL) != 0)
            omega_log_warn("cannot record the use of API key %s", r.info.prefix);
    }
    pthread_mutex_unlock(&a->lock);
}

int omega_auth_apikey_verify(omega_auth_t *a, const char *key, omega_principal_t *out,
                             omega_error_t *err)
{
    memset(out, 0, sizeof(*out));
    size_t len = key ? strnlen(key, KEY_LEN + 1) : 0;
    if (len != KEY_LEN || strncmp(key, OMEGA_APIKEY_PREFIX, PFX_LEN) != 0 ||
        key[PFX_LEN + ID_LEN] != '_' || !is_hex(key + PFX_LEN, ID_LEN) ||
        !is_hex(key + PFX_LEN + ID_LEN + 1, SECRET_LEN))
        return omega_error_set(err, OMEGA_EACCES, "malformed API key");
    char id[ID_LEN + 1], hash[65];
    memcpy(id, key + PFX_LEN, ID_LEN);
    id[ID_LEN] = '\0';
    key_rec_t r;
    int rc = rec_load(a, id, &r, err);
    key_hash(a, key, hash);
    if (rc == OMEGA_ENOENT || (rc == 0 && CRYPTO_memcmp(hash, r.hash, 64) != 0))
        return omega_error_set(err, OMEGA_EACCES, "unknown API key");
    if (rc != 0)
        return rc;
    snprintf(out->username, sizeof(out->username), "%s", r.info.created_by);
    snprintf(out->jti, sizeof(out->jti), "%s", r.info.id);
    out->role = OMEGA_ROLE_VIEWER;
    out->expires_at_ms = INT64_MAX;
    out->is_api_key = 1;
    out->scopes = r.info.scopes;
    int64_t now = omega_now_ms();
    if (now - r.info.last_used_ms >= TOUCH_EVERY_MS)
        touch(a, id, now);
    return 0;
}

int omega_auth_verify_credential(omega_auth_t *a, const char *credential, omega_principal_t *out,
                                 omega_error_t *err)
{
    if (credential && strncmp(credential, OMEGA_APIKEY_PREFIX, PFX_LEN) == 0)
        return omega_auth_apikey_verify(a, credential, out, err);
    return omega_auth_verify(a, credential, out, err);
}
