/* SPDX-License-Identifier: Apache-2.0 */
/* Users, passwords (Argon2id) and sessions (JWT via libjwt, the only user of it).
 * Users and the signing key are kept in the storage KV facade (OMEGA_KV_META).
 * Thread rules: one omega_auth_t may be used from any thread. */
#ifndef OMEGA_AUTH_H
#define OMEGA_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "omega/common.h"
#include "omega/tsdb.h"

typedef enum omega_role {
    OMEGA_ROLE_VIEWER = 0,
    OMEGA_ROLE_DEVELOPER = 1,
    OMEGA_ROLE_ANALYST = 2,
    OMEGA_ROLE_ADMIN = 3,
    OMEGA_ROLE_SUPERUSER = 4,
} omega_role_t;

/* "viewer", "developer", ...; NULL for an out-of-range value. */
const char *omega_role_name(omega_role_t role);
/* Parse a role name; 0 and *out set, or OMEGA_EINVAL. */
int omega_role_parse(const char *name, omega_role_t *out);

typedef struct omega_auth_options {
    int64_t token_ttl_ms;     /* lifetime of issued JWTs (default 12 h) */
    int64_t clock_skew_ms;    /* tolerance on exp/iat checks (default 60 s) */
    uint32_t min_password_len;/* minimum password length (default 8) */
} omega_auth_options_t;

/* Fill o with the defaults above. */
void omega_auth_options_init(omega_auth_options_t *o);

typedef struct omega_auth omega_auth_t;

/* Open the auth module on db (borrowed; must outlive the handle). Loads or creates the
 * HS256 signing key (KV OMEGA_KV_META "auth/jwt_key"; users under "user/<name>").
 * o may be NULL for defaults; token_ttl_ms must be in [1 ms, 366 d], clock_skew_ms in
 * [0, 1 h], min_password_len >= 1, else OMEGA_EINVAL. Use one handle per store.
 * Returns NULL and fills err on failure. Free with omega_auth_destroy(). */
omega_auth_t *omega_auth_create(omega_tsdb_t *db, const omega_auth_options_t *o,
                                omega_error_t *err);
/* Wipe the key from memory and free the handle. Accepts NULL. */
void omega_auth_destroy(omega_auth_t *a);

/* First start: when no user exists, create "admin" with role superuser and password
 * `password` (when non-NULL and non-empty) or a random 20-character one written to
 * generated (>= 32 bytes). *created is 1 when the user was created now, else 0.
 * generated is set to "" whenever no password was generated; it may be NULL when
 * password is given. The generated password uses an alphabet without look-alike
 * characters (no 0/O/o, 1/l/I) and is not subject to min_password_len.
 * Returns 0 or a negative OMEGA_E* (OMEGA_EINVAL for a short given password). */
int omega_auth_bootstrap(omega_auth_t *a, const char *password, char *generated, size_t gen_len,
                         int *created, omega_error_t *err);

/* Create a user. OMEGA_EEXIST if the name is taken, OMEGA_EINVAL for a bad name
 * ([A-Za-z0-9_.@-]{1,64}), a bad role, or a password that is not UTF-8, is shorter than
 * options.min_password_len code points or longer than OMEGA_AUTH_PASSWORD_MAX bytes.
 * The password is stored as an Argon2id hash (t=2, m=19 MiB, p=1, 16-byte salt). */
int omega_auth_user_add(omega_auth_t *a, const char *username, const char *password,
                        omega_role_t role, omega_error_t *err);

/* Longest password accepted, in bytes; longer ones are refused before hashing. */
#define OMEGA_AUTH_PASSWORD_MAX 1024

/* 1 when name matches [A-Za-z0-9_.@-]{1,64}, else 0. NULL gives 0. */
int omega_auth_username_valid(const char *name);

/* A user as stored, without the password hash. */
typedef struct omega_user_info {
    char username[65];     /* [A-Za-z0-9_.@-]{1,64} */
    omega_role_t role;     /* current role */
    int disabled;          /* 1: login refused and the user's tokens fail verification */
    int64_t created_at_ms; /* Unix ms */
    int64_t updated_at_ms; /* Unix ms of the last change */
} omega_user_info_t;

/* Look up a user into *out. Returns 0, OMEGA_ENOENT (no such user, or a bad name),
 * OMEGA_ECORRUPT (the stored record is unreadable) or OMEGA_EIO. */
int omega_auth_user_get(omega_auth_t *a, const char *username, omega_user_info_t *out,
                        omega_error_t *err);

/* Number of users into *out. Returns 0 or OMEGA_EIO. */
int omega_auth_user_count(omega_auth_t *a, size_t *out, omega_error_t *err);

/* Disable (1) or re-enable (0) a user. A disabled user cannot log in and every token
 * already issued to it fails omega_auth_verify() from now on.
 * Returns 0, OMEGA_ENOENT, OMEGA_ECORRUPT or OMEGA_EIO. */
int omega_auth_user_set_disabled(omega_auth_t *a, const char *username, int disabled,
                                 omega_error_t *err);

/* Change a user's role. Tokens already issued carry the new role from now on
 * (omega_auth_verify() reports the stored role, not the one in the token).
 * Returns 0, OMEGA_EINVAL (bad role), OMEGA_ENOENT, OMEGA_ECORRUPT or OMEGA_EIO. */
int omega_auth_user_set_role(omega_auth_t *a, const char *username, omega_role_t role,
                             omega_error_t *err);

/* An issued session token. */
typedef struct omega_token {
    char token[1024];      /* the compact JWT */
    int64_t expires_at_ms; /* Unix ms */
    omega_role_t role;     /* role of the user at issue time */
} omega_token_t;

/* Check the password (constant time) and issue a token. OMEGA_EACCES for an unknown
 * user, a wrong password or a disabled user (one message for all three). */
int omega_auth_login(omega_auth_t *a, const char *username, const char *password,
                     omega_token_t *out, omega_error_t *err);

/* Who a verified token speaks for. */
typedef struct omega_principal {
    char username[65];     /* sub */
    omega_role_t role;     /* current role of the user */
    int64_t expires_at_ms; /* exp, Unix ms */
    char jti[40];          /* token id */
} omega_principal_t;

/* Verify signature (HS256 only; "none" and other algorithms refused), exp/iat with the
 * clock skew, and that the user still exists and is enabled. OMEGA_EACCES otherwise,
 * with a short reason in err->message ("token expired", "bad signature", "unsupported
 * algorithm", "user disabled", ...) meant for logs, not for the client. OMEGA_EIO or
 * OMEGA_ECORRUPT when the user record cannot be read. Tokens longer than
 * sizeof(omega_token_t.token) - 1 are refused without being parsed. */
int omega_auth_verify(omega_auth_t *a, const char *token, omega_principal_t *out,
                      omega_error_t *err);

#endif
