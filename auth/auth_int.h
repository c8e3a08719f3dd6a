/* SPDX-License-Identifier: Apache-2.0 */
/* Private to auth/: the handle's fields, the stored user record and the helpers the
 * files of the module share (auth.c, password.c, token.c, user.c, user_admin.c,
 * session.c, ratelimit.c, access.c, apikey.c, audit.c). */
#ifndef OMEGA_AUTH_INT_H
#define OMEGA_AUTH_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "omega/auth.h"

#define AUTH_KEY_LEN        32                /* HS256 signing key, bytes */
#define AUTH_KEY_KV         "auth/jwt_key"    /* KV key (OMEGA_KV_META) of the hex signing key */
#define AUTH_USER_PREFIX    "user/"           /* KV key prefix of user records */
#define AUTH_GONE_PREFIX    "user_gone/"      /* KV key prefix: deleted names (value: Unix ms) */
#define AUTH_REVOKED_PREFIX "revoked/"        /* KV key prefix: revoked jti (value: exp Unix ms) */
#define AUTH_APIKEY_KV      "auth/apikey_key" /* KV key of the hex API-key HMAC secret */
#define AUTH_APIKEY_PREFIX  "apikey/"         /* KV key prefix of API key records */
#define AUTH_HASH_MAX       160               /* encoded Argon2id hash incl. NUL */
#define AUTH_JTI_BYTES      16                /* random bytes in a token id (hex: 32 chars) */
#define AUTH_GEN_PW_LEN     20                /* characters in a bootstrap password */

typedef struct auth_limiter auth_limiter_t; /* ratelimit.c */

/* Revoked token ids kept in memory, sorted by jti for binary search. */
typedef struct auth_revoked {
    char jti[2 * AUTH_JTI_BYTES + 1]; /* hex token id */
    int64_t exp_ms;                   /* the token's expiry; dropped after it */
} auth_revoked_t;

struct omega_auth {
    omega_tsdb_t *db;                       /* borrowed, outlives the handle */
    omega_auth_options_t opts;              /* copy made at create, read-only */
    unsigned char key[AUTH_KEY_LEN];        /* HS256 key, read-only after create */
    unsigned char apikey_key[AUTH_KEY_LEN]; /* HMAC key of API key hashes, read-only */
    char dummy_hash[AUTH_HASH_MAX];         /* verified against for unknown users (timing) */
    pthread_mutex_t lock;                   /* serialises read-modify-write of user records */
    pthread_mutex_t revoked_lock;           /* guards revoked, n_revoked, cap_revoked */
    auth_revoked_t *revoked;                /* deny-list cache, sorted by jti */
    size_t n_revoked, cap_revoked;          /* entries used / allocated */
    auth_limiter_t *limiter;                /* login rate limits (own lock) */
    pthread_mutex_t audit_lock;             /* serialises audit appends; guards the fields below */
    uint64_t audit_seq;                     /* sequence number of the newest entry (0: none) */
    char audit_hash[65];                    /* SHA-256 hex of the newest entry (or the anchor's) */
    int64_t audit_last_ms;                  /* time key of the newest entry */
    int64_t audit_pruned_ms;                /* last retention pass */
};

/* A user record as stored under "user/<name>". */
typedef struct auth_user {
    omega_user_info_t info;   /* public part */
    char hash[AUTH_HASH_MAX]; /* encoded Argon2id hash */
} auth_user_t;

/* ---- password.c ---- */

/* Check pw against the policy (UTF-8, min_len code points, OMEGA_AUTH_PASSWORD_MAX bytes).
 * Returns 0 or OMEGA_EINVAL with the reason in err. */
int auth_password_policy(const char *pw, uint32_t min_len, omega_error_t *err);
/* Hash pw with Argon2id and a fresh salt into out (AUTH_HASH_MAX). 0 or OMEGA_EIO. */
int auth_password_hash(const char *pw, char out[AUTH_HASH_MAX], omega_error_t *err);
/* 0 when pw matches hash, OMEGA_EACCES when not, OMEGA_ECORRUPT for an unreadable hash. */
int auth_password_verify(const char *hash, const char *pw);
/* n random characters from an unambiguous alphabet, NUL-terminated, into out (>= n + 1).
 * Returns 0 or OMEGA_EIO (no randomness). */
int auth_password_generate(char *out, size_t n);
/* n bytes as lowercase hex, NUL-terminated, into out (>= 2n + 1). */
void auth_hex_encode(const unsigned char *in, size_t n, char *out);
/* n (<= 64) random bytes as lowercase hex into out (>= 2n + 1). 0 or OMEGA_EIO. */
int auth_random_hex(char *out, size_t n);

/* ---- auth.c ---- */

/* Load the 32-byte secret stored as hex under kv_key, or create and store one. 0,
 * OMEGA_ECORRUPT or OMEGA_EIO. */
int auth_secret_load_or_create(omega_auth_t *a, const char *kv_key, unsigned char out[AUTH_KEY_LEN],
                               omega_error_t *err);

/* ---- audit.c ---- */

/* Load the chain's head (sequence and hash) into the handle. 0, OMEGA_ECORRUPT, OMEGA_EIO. */
int auth_audit_load(omega_auth_t *a, omega_error_t *err);

/* ---- user.c ---- */

/* Read user name into *out. 0, OMEGA_ENOENT, OMEGA_ECORRUPT or OMEGA_EIO. */
int auth_user_load(omega_auth_t *a, const char *name, auth_user_t *out, omega_error_t *err);
/* Store a new user with an already computed hash; the caller holds a->lock and has
 * checked name and role. 0, OMEGA_EEXIST, OMEGA_ECORRUPT or OMEGA_EIO. */
int auth_user_insert_locked(omega_auth_t *a, const char *name, const char *hash, omega_role_t role,
                            omega_error_t *err);

/* Store u (key "user/<name>"). 0 or OMEGA_EIO. */
int auth_user_store(omega_auth_t *a, const auth_user_t *u, omega_error_t *err);

/* ---- session.c ---- */

/* Load the revoked ids from KV into the cache, deleting expired ones. 0 or OMEGA_EIO. */
int auth_revoked_load(omega_auth_t *a, omega_error_t *err);
/* 1 when jti is revoked (cache lookup), else 0. */
int auth_revoked_has(omega_auth_t *a, const char *jti);
/* Free the cache. */
void auth_revoked_free(omega_auth_t *a);

/* ---- ratelimit.c ---- */

/* A limiter for the options' limits; destroy with auth_limiter_destroy (NULL ok). */
auth_limiter_t *auth_limiter_create(const omega_auth_options_t *o);
void auth_limiter_destroy(auth_limiter_t *l);
/* Reserve an attempt for user (may be NULL) and address (may be NULL/""). 0 when allowed
 * (then auth_limiter_end must follow), else the seconds to wait (>= 1); then *first is 1
 * for the first refusal of a lock-out (so it is audited once, not per attempt). */
int64_t auth_limiter_begin(auth_limiter_t *l, const char *user, const char *address, int *first);
/* Close an attempt begun with auth_limiter_begin: failed = 1 counts a failure. */
void auth_limiter_end(auth_limiter_t *l, const char *user, const char *address, int failed);

/* ---- token.c ---- */

/* Issue a token for name/role valid for a->opts.token_ttl_ms. 0 or OMEGA_EIO. */
int auth_token_issue(omega_auth_t *a, const char *name, omega_role_t role, omega_token_t *out,
                     omega_error_t *err);
/* Check the token's form, algorithm, signature and times; fill out->username,
 * expires_at_ms and jti (role is left to the caller, who reads the user record) and the
 * issue time in Unix ms into *iat_ms (claim "iat_ms", else iat * 1000).
 * 0 or OMEGA_EACCES with a short reason. */
int auth_token_check(omega_auth_t *a, const char *token, omega_principal_t *out, int64_t *iat_ms,
                     omega_error_t *err);

#endif
