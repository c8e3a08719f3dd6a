/* SPDX-License-Identifier: Apache-2.0 */
/* Private to auth/: the handle's fields, the stored user record and the helpers the
 * files of the module share (auth.c, password.c, token.c, user.c, user_admin.c,
 * session.c, ratelimit.c, access.c, apikey.c, audit.c, keyring.c, secrets.c, blob.c). */
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
#define AUTH_DATAKEY_PREFIX "auth/datakey/"   /* KV key prefix of wrapped data keys (+ 8 hex) */
#define AUTH_DATAKEYS_MAX   64                /* data key versions held at once */
#define AUTH_BLOBKEY_PREFIX "auth/blobkey/"   /* KV key prefix: versions that sealed blobs */
#define AUTH_KEYSEQ_KEY     "auth/keyseq"     /* KV key: highest data key version ever made */
#define AUTH_GCM_OVERHEAD   28                /* nonce (12) + tag (16) around a GCM ciphertext */
#define AUTH_SEALED_MAGIC   "$oms1$"          /* first bytes of every sealed value */

typedef struct auth_limiter auth_limiter_t; /* ratelimit.c */

/* One data key version, unwrapped. */
typedef struct auth_datakey {
    uint32_t version;                /* 1, 2, ...; the highest one seals new values */
    int64_t created_ms;              /* Unix ms it was made (rotation schedule) */
    unsigned char key[AUTH_KEY_LEN]; /* AES-256 key */
    int retired; /* deleted from the store by a finished walk; kept in memory so values read
                    before the walk still open (until the handle is destroyed) */
    int pinned;  /* sealed blobs (blob.c) use it: not retired until released */
} auth_datakey_t;

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
    unsigned char master[AUTH_KEY_LEN];     /* master key (when have_master), read-only */
    int have_master;                        /* 1 when a master key was loaded or made */
    pthread_mutex_t keys_lock;              /* guards datakeys; serialises sealed writes */
    auth_datakey_t datakeys[AUTH_DATAKEYS_MAX]; /* unwrapped data keys, any order */
    size_t n_datakeys;                          /* entries used */
    pthread_mutex_t walk_lock;                  /* serialises re-encryption walks */
    pthread_mutex_t keeper_lock;                /* guards the keeper fields below */
    pthread_cond_t keeper_cond;                 /* wakes the keeper thread */
    pthread_t keeper;                           /* rotation / re-encryption thread */
    int keeper_running;                         /* 1 while the thread exists */
    int keeper_stop;                            /* 1: the thread must exit */
    int keeper_work;                            /* 1: a walk was asked for */
    int walking;                                /* 1 while a re-encryption walk runs */
    uint64_t resealed_total;                    /* values re-written by walks since start */
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

/* ---- keyring.c ---- */

/* Base64 (standard alphabet, padded) of n bytes; malloc'd, NUL-terminated. */
char *auth_b64_encode(const unsigned char *in, size_t n);
/* Decode padded base64 into *out (malloc'd) and *outlen. 0 or OMEGA_EINVAL. */
int auth_b64_decode(const char *in, size_t n, unsigned char **out, size_t *outlen);
/* AES-256-GCM: out (n + AUTH_GCM_OVERHEAD bytes) = random nonce | ciphertext | tag, with aad
 * authenticated. 0 or OMEGA_EIO. */
int auth_gcm_seal(const unsigned char key[AUTH_KEY_LEN], const void *aad, size_t aad_len,
                  const void *plain, size_t n, unsigned char *out);
/* Inverse of auth_gcm_seal: out gets n - AUTH_GCM_OVERHEAD bytes. 0 or OMEGA_ECORRUPT (wrong
 * key, wrong aad or altered bytes; out is wiped). */
int auth_gcm_open(const unsigned char key[AUTH_KEY_LEN], const void *aad, size_t aad_len,
                  const unsigned char *in, size_t n, unsigned char *out);
/* Load the master key (options), refuse a store whose data keys it cannot open, load the
 * data keys and, with encryption on and none stored, create version 1. */
int auth_keyring_open(omega_auth_t *a, omega_error_t *err);
/* Wipe the master and data keys. */
void auth_keyring_close(omega_auth_t *a);
/* Make, wrap, store and add a new data key version; caller holds keys_lock (or is alone). */
int auth_datakey_create(omega_auth_t *a, int64_t now_ms, uint32_t *version, omega_error_t *err);
/* Delete the stored data keys with version < below and mark them retired (kept in memory
 * to open values read before); caller holds keys_lock. */
int auth_datakey_retire(omega_auth_t *a, uint32_t below, omega_error_t *err);
/* The held data key of that version, or NULL; caller holds keys_lock. */
const auth_datakey_t *auth_datakey_find(const omega_auth_t *a, uint32_t version);
/* Data keys held and not retired; caller holds keys_lock. */
size_t auth_datakeys_active(const omega_auth_t *a);
/* Held keys a finished walk would retire: not retired, not pinned, and not the current one
 * while encryption is on; caller holds keys_lock. */
size_t auth_datakeys_retirable(const omega_auth_t *a);
/* Held keys kept only because sealed blobs use them (pinned, not current); keys_lock held. */
size_t auth_datakeys_pinned(const omega_auth_t *a);
/* The newest held data key, or NULL when none; caller holds keys_lock. */
const auth_datakey_t *auth_datakey_current(const omega_auth_t *a);

/* ---- blob.c ---- */

/* Mark the held data keys that sealed blobs (KV "auth/blobkey/<v>") as pinned; after the
 * data keys are loaded. 0 or OMEGA_EIO. */
int auth_blob_pins_load(omega_auth_t *a, omega_error_t *err);

/* ---- secrets.c ---- */

/* Initialise the key locks and the keeper's condition (before anything may fail). */
void auth_keeper_init(omega_auth_t *a);
/* Stop the keeper (auth_keeper_stop) and destroy what auth_keeper_init made. */
void auth_keeper_deinit(omega_auth_t *a);
/* Start the keeper thread (when encryption is on or old keys remain). 0 or OMEGA_EIO. */
int auth_keeper_start(omega_auth_t *a, omega_error_t *err);
/* Stop and join the keeper thread; safe when never started. */
void auth_keeper_stop(omega_auth_t *a);
/* Ask the keeper thread for a re-encryption walk (which also retires unused versions). */
void auth_keeper_poke(omega_auth_t *a);

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
