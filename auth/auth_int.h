/* SPDX-License-Identifier: Apache-2.0 */
/* Private to auth/: the handle's fields, the stored user record and the helpers the
 * files of the module share (password.c, user.c, token.c, auth.c). */
#ifndef OMEGA_AUTH_INT_H
#define OMEGA_AUTH_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "omega/auth.h"

#define AUTH_KEY_LEN     32             /* HS256 signing key, bytes */
#define AUTH_KEY_KV      "auth/jwt_key" /* KV key (OMEGA_KV_META) of the hex signing key */
#define AUTH_USER_PREFIX "user/"        /* KV key prefix of user records */
#define AUTH_HASH_MAX    160            /* encoded Argon2id hash incl. NUL */
#define AUTH_JTI_BYTES   16             /* random bytes in a token id (hex: 32 chars) */
#define AUTH_GEN_PW_LEN  20             /* characters in a bootstrap password */

struct omega_auth {
    omega_tsdb_t *db;                /* borrowed, outlives the handle */
    omega_auth_options_t opts;       /* copy made at create, read-only */
    unsigned char key[AUTH_KEY_LEN]; /* HS256 key, read-only after create */
    char dummy_hash[AUTH_HASH_MAX];  /* verified against for unknown users (timing) */
    pthread_mutex_t lock;            /* serialises read-modify-write of user records */
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

/* ---- user.c ---- */

/* Read user name into *out. 0, OMEGA_ENOENT, OMEGA_ECORRUPT or OMEGA_EIO. */
int auth_user_load(omega_auth_t *a, const char *name, auth_user_t *out, omega_error_t *err);
/* Store a new user with an already computed hash; the caller holds a->lock and has
 * checked name and role. 0, OMEGA_EEXIST, OMEGA_ECORRUPT or OMEGA_EIO. */
int auth_user_insert_locked(omega_auth_t *a, const char *name, const char *hash, omega_role_t role,
                            omega_error_t *err);

/* ---- token.c ---- */

/* Issue a token for name/role valid for a->opts.token_ttl_ms. 0 or OMEGA_EIO. */
int auth_token_issue(omega_auth_t *a, const char *name, omega_role_t role, omega_token_t *out,
                     omega_error_t *err);
/* Check the token's form, algorithm, signature and times; fill out->username,
 * expires_at_ms and jti (role is left to the caller, who reads the user record).
 * 0 or OMEGA_EACCES with a short reason. */
int auth_token_check(omega_auth_t *a, const char *token, omega_principal_t *out,
                     omega_error_t *err);

#endif
