/* SPDX-License-Identifier: Apache-2.0 */
/* Session refresh and revocation. Revoked token ids live in OMEGA_KV_META under
 * "revoked/<jti>" (value: the token's expiry, Unix ms) until the token would have expired
 * anyway, and in a sorted in-memory copy that omega_auth_verify() searches, so checking a
 * token never reads storage. One handle per store (omega_auth_create's rule) keeps the
 * copy complete: every revocation goes through it. */
#include "auth_int.h"

#include "omega/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JTI_LEN (2 * AUTH_JTI_BYTES)

static int jti_valid(const char *jti)
{
    if (!jti || strlen(jti) != JTI_LEN)
        return 0;
    for (size_t i = 0; i < JTI_LEN; i++)
        if (!((jti[i] >= '0' && jti[i] <= '9') || (jti[i] >= 'a' && jti[i] <= 'f')))
            return 0;
    return 1;
}

/* Index of jti in the cache, or -(insertion point) - 1. Caller holds revoked_lock. */
static long find(const omega_auth_t *a, const char *jti)
{
    size_t lo = 0, hi = a->n_revoked;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(a->revoked[mid].jti, jti);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

/* Drop expired entries from the cache (their KV copies go at the next load). */
static void prune_locked(omega_auth_t *a, int64_t now)
{
    size_t w = 0;
    for (size_t r = 0; r < a->n_revoked; r++)
        if (a->revoked[r].exp_ms + a->opts.clock_skew_ms > now)
            a->revoked[w++] = a->revoked[r];
    a->n_revoked = w;
}

static void insert(omega_auth_t *a, const char *jti, int64_t exp_ms)
{
    pthread_mutex_lock(&a->revoked_lock);
    long at = find(a, jti);
    if (at >= 0) {
        pthread_mutex_unlock(&a->revoked_lock);
        return;
    }
    if (a->n_revoked == a->cap_revoked) {
        prune_locked(a, omega_now_ms());
        at = find(a, jti);
    }
    if (a->n_revoked == a->cap_revoked) {
        a->cap_revoked = a->cap_revoked ? 2 * a->cap_revoked : 64;
        a->revoked = omega_realloc(a->revoked, a->cap_revoked * sizeof(*a->revoked));
    }
    size_t pos = (size_t)(-at - 1);
    memmove(&a->revoked[pos + 1], &a->revoked[pos], (a->n_revoked - pos) * sizeof(*a->revoked));
    snprintf(a->revoked[pos].jti, sizeof(a->revoked[pos].jti), "%s", jti);
    a->revoked[pos].exp_ms = exp_ms;
    a->n_revoked++;
    pthread_mutex_unlock(&a->revoked_lock);
}

int auth_revoked_has(omega_auth_t *a, const char *jti)
{
    pthread_mutex_lock(&a->revoked_lock);
    int has = a->n_revoked > 0 && find(a, jti) >= 0;
    pthread_mutex_unlock(&a->revoked_lock);
    return has;
}

void auth_revoked_free(omega_auth_t *a)
{
    free(a->revoked);
    a->revoked = NULL;
    a->n_revoked = a->cap_revoked = 0;
}

/* Loader state: entries to keep go to the cache, expired ones to a delete list. */
typedef struct load_ctx {
    omega_auth_t *a;
    int64_t now;
    char (*gone)[JTI_LEN + 1]; /* expired ids to delete after the scan */
    size_t n_gone, cap_gone;
} load_ctx_t;

static int load_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    load_ctx_t *c = ctx;
    size_t plen = strlen(AUTH_REVOKED_PREFIX);
    char jti[JTI_LEN + 1], num[24];
    if (klen - plen != JTI_LEN || vlen == 0 || vlen >= sizeof(num))
        return 0; /* not ours; leave it */
    memcpy(jti, (const char *)key + plen, JTI_LEN);
    jti[JTI_LEN] = '\0';
    memcpy(num, val, vlen);
    num[vlen] = '\0';
    char *end = NULL;
    long long exp = strtoll(num, &end, 10);
    if (!jti_valid(jti) || *end)
        return 0;
    if (exp + c->a->opts.clock_skew_ms > c->now) {
        insert(c->a, jti, exp);
        return 0;
    }
    if (c->n_gone == c->cap_gone) {
        c->cap_gone = c->cap_gone ? 2 * c->cap_gone : 64;
        c->gone = omega_realloc(c->gone, c->cap_gone * sizeof(*c->gone));
    }
    memcpy(c->gone[c->n_gone++], jti, JTI_LEN + 1);
    return 0;
}

int auth_revoked_load(omega_auth_t *a, omega_error_t *err)
{
    load_ctx_t c = {.a = a, .now = omega_now_ms()};
    int rc = omega_kv_scan(a->db, OMEGA_KV_META, AUTH_REVOKED_PREFIX, strlen(AUTH_REVOKED_PREFIX),
                           load_one, &c, err);
    for (size_t i = 0; rc == 0 && i < c.n_gone; i++) {
        char key[sizeof(AUTH_REVOKED_PREFIX) + JTI_LEN];
        int klen = snprintf(key, sizeof(key), "%s%s", AUTH_REVOKED_PREFIX, c.gone[i]);
        rc = omega_kv_delete(a->db, OMEGA_KV_META, key, (size_t)klen, err);
    }
    free(c.gone);
    return rc;
}

int omega_auth_revoke(omega_auth_t *a, const char *jti, int64_t expires_at_ms, omega_error_t *err)
{
    if (!jti_valid(jti))
        return omega_error_set_path(err, OMEGA_EINVAL, "jti", "token id must be 32 hex digits");
    char key[sizeof(AUTH_REVOKED_PREFIX) + JTI_LEN], val[24];
    int klen = snprintf(key, sizeof(key), "%s%s", AUTH_REVOKED_PREFIX, jti);
    int vlen = snprintf(val, sizeof(val), "%lld", (long long)expires_at_ms);
    /* Durable first, then visible: a crash in between leaves the token revoked after the
     * restart's load, never the other way round. */
    int rc = omega_kv_put(a->db, OMEGA_KV_META, key, (size_t)klen, val, (size_t)vlen, err);
    if (rc == 0)
        insert(a, jti, expires_at_ms);
    return rc;
}

int omega_auth_refresh(omega_auth_t *a, const omega_principal_t *who, omega_token_t *out,
                       omega_error_t *err)
{
    if (who->is_api_key)
        return omega_error_set(err, OMEGA_EINVAL, "API keys are not sessions");
    omega_user_info_t u;
    int rc = omega_auth_user_get(a, who->username, &u, err);
    if (rc == OMEGA_ENOENT || (rc == 0 && u.disabled))
        return omega_error_set(err, OMEGA_EACCES, "user gone or disabled");
    if (rc != 0)
        return rc;
    rc = auth_token_issue(a, u.username, u.role, out, err);
    if (rc == 0)
        rc = omega_auth_revoke(a, who->jti, who->expires_at_ms, err);
    return rc;
}
