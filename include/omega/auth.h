/* SPDX-License-Identifier: Apache-2.0 */
/* Users, passwords (Argon2id), sessions (JWT via libjwt, the only user of it), login rate
 * limits and the permission model (roles and API.md's RBAC table). Users, the signing key
 * and revoked token ids are kept in the storage KV facade (OMEGA_KV_META).
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

/* Bit of role r in a role mask (omega_auth_options_t.admin_roles / viewer_roles). */
#define OMEGA_ROLE_BIT(r) (1u << (unsigned)(r))

typedef struct omega_auth_options {
    int64_t token_ttl_ms;        /* lifetime of issued JWTs (default 12 h) */
    int64_t clock_skew_ms;       /* tolerance on exp/iat/nbf checks (default 60 s) */
    uint32_t min_password_len;   /* minimum password length (default 8) */
    uint32_t admin_roles;        /* OMEGA_ROLE_BITs with admin rights (default admin, superuser) */
    uint32_t viewer_roles;       /* OMEGA_ROLE_BITs keeping their non-admin table rights
                                    (default developer, analyst); see omega_auth_role_allows() */
    omega_role_t default_role;   /* role of users created without one (default viewer) */
    uint32_t user_max_failures;  /* failed logins per user per window (default 5) */
    int64_t user_window_ms;      /* per-user window (default 5 min) */
    uint32_t addr_max_failures;  /* failed logins per client address per window (default 20) */
    int64_t addr_window_ms;      /* per-address window (default 1 min) */
    int audit_enabled;           /* 1: omega_auth_audit() records (default 1) */
    int64_t audit_retention_ms;  /* audit entries older than this are pruned (default 90 d) */
    unsigned audit_categories;   /* OMEGA_AUDIT_* bits recorded (default all) */
    int rbac;                    /* 1: roles decide (security.access_control.enable_rbac,
                                    default); 0: every session holds every permission but the
                                    superuser-only ones (API keys keep their scopes) */
    int encrypt;                 /* 1: seal secrets at rest (security.enable_encryption); default
                                    0 here because it needs a master key source */
    const char *master_key;      /* master key text, 64 hex digits or base64 of 32 bytes
                                    (OMEGA_MASTER_KEY); borrowed during create; NULL = none */
    const char *master_key_file; /* key file used when master_key is NULL; created (0600) when
                                    missing and encrypt is 1; refused when group/other may
                                    access it; borrowed during create; NULL or "" =
                                    <data_dir>/master.key when data_dir is set, else none */
    const char *data_dir;        /* the store's directory (borrowed during create), or NULL */
    int64_t key_rotation_interval_ms; /* new data key after this long; 0 = on demand only */
} omega_auth_options_t;

/* Audit event categories (security.audit_logging.audit_events). */
#define OMEGA_AUDIT_ACCESS       1u /* "access": logins, refreshes, logouts */
#define OMEGA_AUDIT_MODIFICATION 2u /* "modification": creating or changing objects */
#define OMEGA_AUDIT_DELETION     4u /* "deletion": deleting objects, revoking keys */
#define OMEGA_AUDIT_EXPORT       8u /* "export": reports and data exports */

/* Fill o with the defaults above. */
void omega_auth_options_init(omega_auth_options_t *o);

typedef struct omega_auth omega_auth_t;

/* Open the auth module on db (borrowed; must outlive the handle). Loads or creates the
 * HS256 signing key (KV OMEGA_KV_META "auth/jwt_key"; users under "user/<name>") and loads
 * the revoked token ids ("revoked/<jti>"), dropping those already expired.
 * o may be NULL for defaults; token_ttl_ms must be in [1 ms, 366 d], clock_skew_ms in
 * [0, 1 h], min_password_len >= 1, default_role a valid role, the failure limits >= 1
 * and the windows in [1 s, 1 d], key_rotation_interval_ms 0 or >= 1 s, else OMEGA_EINVAL.
 * Use one handle per store. The signing key and the API-key secret are secrets (see
 * "Encryption at rest"): with options.encrypt the master key is loaded (or its file made)
 * first, and a master key that does not open the store's data keys fails with OMEGA_EACCES
 * ("the master key does not open data key vN ..."); a store holding data keys opened
 * without any master key fails the same way. A group/other-accessible key file is refused
 * with OMEGA_EPERM. Starts the keeper thread when encryption is on (or sealed values must
 * be turned back into plain text). Returns NULL and fills err on failure. Free with
 * omega_auth_destroy(). */
omega_auth_t *omega_auth_create(omega_tsdb_t *db, const omega_auth_options_t *o,
                                omega_error_t *err);
/* Stop the keeper thread (a re-encryption walk in progress runs to its end first), wipe
 * the keys from memory and free the handle. Accepts NULL. */
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
    char username[65];       /* [A-Za-z0-9_.@-]{1,64} */
    omega_role_t role;       /* current role */
    int disabled;            /* 1: login refused and the user's tokens fail verification */
    int64_t created_at_ms;   /* Unix ms */
    int64_t updated_at_ms;   /* Unix ms of the last change */
    int64_t tokens_after_ms; /* tokens issued before this Unix ms time are refused
                                (set by a password change; 0 = none) */
    char email[255];         /* optional contact address, "" when none */
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

/* Longest e-mail address accepted, in bytes. */
#define OMEGA_AUTH_EMAIL_MAX 254

/* 1 when s is an acceptable e-mail address (local@domain, conservative ASCII set,
 * <= OMEGA_AUTH_EMAIL_MAX bytes), else 0. NULL gives 0. */
int omega_auth_email_valid(const char *s);

/* Create a user like omega_auth_user_add(), with an optional e-mail address (NULL or ""
 * for none; else OMEGA_EINVAL unless omega_auth_email_valid()). Names are unique without
 * regard to case: OMEGA_EEXIST when "Alice" exists and "alice" is asked for. */
int omega_auth_user_create(omega_auth_t *a, const char *username, const char *password,
                           omega_role_t role, const char *email, omega_error_t *err);

/* Every user, sorted by name, into *out (a malloc'd array the caller frees with free(),
 * NULL when there are none) and their number into *n. Returns 0, OMEGA_ECORRUPT (a record
 * is unreadable) or OMEGA_EIO. */
int omega_auth_user_list(omega_auth_t *a, omega_user_info_t **out, size_t *n, omega_error_t *err);

/* The role of users created without one (options.default_role). Any thread. */
omega_role_t omega_auth_default_role(const omega_auth_t *a);

/* Changes to one user, applied together or not at all. */
typedef struct omega_user_update {
    int set_role;         /* 1: change the role to `role` */
    omega_role_t role;    /* new role when set_role */
    const char *password; /* new password (policy of omega_auth_user_add), NULL: keep */
    int disabled;         /* -1 keep, 0 enable, 1 disable */
    const char *email;    /* new address, "" clears, NULL keeps */
} omega_user_update_t;

/* Initialise u to "change nothing". */
void omega_user_update_init(omega_user_update_t *u);

/* Apply u to username. A new password sets tokens_after_ms to now, so every token issued
 * before it stops verifying. The last enabled superuser cannot be disabled or lose the
 * role (OMEGA_EPERM). Returns 0, OMEGA_EINVAL (bad role, password or e-mail, err->path
 * names the field), OMEGA_ENOENT, OMEGA_EPERM, OMEGA_ECORRUPT or OMEGA_EIO; on error
 * nothing is changed. The new state goes to *out when out is non-NULL. */
int omega_auth_user_update(omega_auth_t *a, const char *username, const omega_user_update_t *u,
                           omega_user_info_t *out, omega_error_t *err);

/* Set a new password (omega_auth_user_update() with only the password). */
int omega_auth_user_set_password(omega_auth_t *a, const char *username, const char *password,
                                 omega_error_t *err);

/* Delete a user. Its tokens stop verifying at once, and a user created later under the
 * same name does not inherit them. The last enabled superuser cannot be deleted
 * (OMEGA_EPERM). Returns 0, OMEGA_ENOENT, OMEGA_EPERM, OMEGA_ECORRUPT or OMEGA_EIO. */
int omega_auth_user_delete(omega_auth_t *a, const char *username, omega_error_t *err);

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
    char username[65];     /* sub (for an API key: the user who created it) */
    omega_role_t role;     /* current role of the user (API keys: see scopes) */
    int64_t expires_at_ms; /* exp, Unix ms (API keys: INT64_MAX) */
    char jti[40];          /* token id (API keys: the key id) */
    int is_api_key;        /* 1 when authenticated by an API key */
    unsigned scopes;       /* API keys: OMEGA_SCOPE_* bits; 0 for sessions */
} omega_principal_t;

/* Verify signature (HS256 only; "none" and other algorithms refused), exp/iat/nbf with
 * the clock skew, that the token id is not revoked, that the user still exists and is
 * enabled, and that the token was not issued before the user's tokens_after_ms (password
 * change, re-created name). OMEGA_EACCES otherwise, with a short reason in err->message
 * ("token expired", "bad signature", "unsupported algorithm", "token revoked", "user
 * disabled", ...) meant for logs, not for the client. OMEGA_EIO or
 * OMEGA_ECORRUPT when the user record cannot be read. Tokens longer than
 * sizeof(omega_token_t.token) - 1 are refused without being parsed. */
int omega_auth_verify(omega_auth_t *a, const char *token, omega_principal_t *out,
                      omega_error_t *err);

/* ---- Sessions: refresh, logout, revocation ---- */

/* Issue a fresh token for the session `who` (from omega_auth_verify()) with the user's
 * current role and a new lifetime, and revoke the old token's jti. Returns 0,
 * OMEGA_EINVAL (who is an API key), OMEGA_EACCES (user gone or disabled) or OMEGA_EIO. */
int omega_auth_refresh(omega_auth_t *a, const omega_principal_t *who, omega_token_t *out,
                       omega_error_t *err);

/* Revoke token id jti (32 hex characters) until expires_at_ms: omega_auth_verify() refuses
 * it from now on, across restarts (KV "revoked/<jti>", removed once expired; a copy is kept
 * in memory so verification needs no storage read). Revoking twice is not an error.
 * Returns 0, OMEGA_EINVAL (bad jti) or OMEGA_EIO. */
int omega_auth_revoke(omega_auth_t *a, const char *jti, int64_t expires_at_ms, omega_error_t *err);

/* ---- Login rate limits ---- */

/* omega_auth_login() behind API.md's limits: when the user (options.user_max_failures
 * per user_window_ms) or the client address (addr_max_failures per addr_window_ms) has
 * too many recent failures, answer OMEGA_EAGAIN without checking the password and put the
 * seconds until a slot frees into *retry_after_s (>= 1). Attempts in flight count
 * against the limit, so parallel requests cannot exceed it. A failure counts against both;
 * a success clears the user's count (not the address's). address may be NULL or "" (then
 * only the user limit applies). The first refusal of each lock-out is audited
 * (auth.login, outcome "denied"); later ones are not. Other returns as omega_auth_login(). */
int omega_auth_login_limited(omega_auth_t *a, const char *username, const char *password,
                             const char *address, omega_token_t *out, int64_t *retry_after_s,
                             omega_error_t *err);

/* ---- Permissions (API.md's RBAC table) ---- */

typedef enum omega_perm {
    OMEGA_PERM_PUBLIC = 0,     /* no credentials needed */
    OMEGA_PERM_AUTHENTICATED,  /* any valid session or API key (refresh, logout) */
    OMEGA_PERM_READ,           /* read metrics, dashboards, alerts, jobs, profiles */
    OMEGA_PERM_INGEST,         /* write samples (API key scope "ingest") */
    OMEGA_PERM_ACK,            /* acknowledge / silence alerts */
    OMEGA_PERM_EXPORT,         /* export reports and data (audited) */
    OMEGA_PERM_DASHBOARD_SAVE, /* save shared dashboards */
    OMEGA_PERM_ADMIN,          /* rules, channels, schedules, config, users, API keys */
    OMEGA_PERM_SUPERUSER,      /* audit log, key rotation, superuser accounts, erasure */
} omega_perm_t;

#define OMEGA_PERM_COUNT 9 /* number of omega_perm_t values */

/* "public", "authenticated", "read", "ingest", "ack", "export", "dashboard_save", "admin",
 * "superuser"; NULL for an out-of-range value. */
const char *omega_perm_name(omega_perm_t perm);

/* 1 when a session of role may use perm under a's options, else 0. API.md's table, with
 * security.access_control applied: superuser always has every permission; a role in
 * admin_roles has every permission but the superuser-only ones; a role in viewer_roles
 * (and not in admin_roles) has its own column of the table without admin rights; any
 * other role reads only. With options.rbac 0, every role but superuser holds the admin
 * column (still no SUPERUSER permission). PUBLIC and AUTHENTICATED are always allowed.
 * Any thread. */
int omega_auth_role_allows(const omega_auth_t *a, omega_role_t role, omega_perm_t perm);

/* 1 when who may use perm: omega_auth_role_allows() for sessions; for API keys the
 * scopes decide (read -> READ, ingest -> INGEST; AUTHENTICATED always; nothing else). */
int omega_auth_allows(const omega_auth_t *a, const omega_principal_t *who, omega_perm_t perm);

/* ---- Audit log ---- */

/* One audit event; every string may be NULL (stored as ""), is truncated to a sane
 * length, and bytes that are not UTF-8 are replaced by '?'. */
typedef struct omega_audit_event {
    const char *actor;   /* user name ("" when unauthenticated) */
    const char *role;    /* actor's role name, "apikey" for API keys, "" */
    const char *address; /* client address */
    const char *action;  /* dotted verb, e.g. "auth.login", "user.update", "apikey.delete" */
    const char *target;  /* object acted on (user name, key id, ...) */
    const char *outcome; /* "success", "failure" or "denied" */
    const char *detail;  /* short reason or changed fields */
} omega_audit_event_t;

/* "access", "modification", "deletion" or "export" to its OMEGA_AUDIT_* bit; 0 or
 * OMEGA_EINVAL. */
int omega_audit_category_parse(const char *name, unsigned *out);

/* The category of an action: "auth.*" access, "*.delete"/"*.revoke" deletion, "*.export"
 * export, anything else modification. Returns its static name. */
const char *omega_audit_category_of(const char *action);

/* Append ev to the hash-chained log (OMEGA_KV_AUDIT, key: 8-byte big-endian Unix ms then
 * 8-byte big-endian sequence; value: JSON {seq, time, actor, role, address, action,
 * category, target, outcome, detail, prev} where prev is the SHA-256 (hex) of the previous
 * entry's stored bytes). Does nothing (returns 0) when auditing is off or the category is
 * not recorded. Entries older than audit_retention_ms are pruned here, at most once an
 * hour, leaving an anchor (KV META "audit/anchor") so the chain still verifies.
 * Returns 0 or OMEGA_EIO. Any thread; appends are serialised. */
int omega_auth_audit(omega_auth_t *a, const omega_audit_event_t *ev, omega_error_t *err);

/* Call cb(ctx, json, len) with each stored entry (its JSON text, borrowed for the call)
 * whose time is in [since_ms, until_ms] and, when event is non-NULL and non-empty, whose
 * action or category equals event; oldest first, at most limit entries. A non-zero return
 * from cb stops the walk and is returned. Otherwise 0 or OMEGA_EIO. */
typedef int (*omega_audit_cb)(void *ctx, const char *json, size_t len);
int omega_auth_audit_query(omega_auth_t *a, int64_t since_ms, int64_t until_ms, const char *event,
                           size_t limit, omega_audit_cb cb, void *ctx, omega_error_t *err);

/* Check the whole chain: sequence numbers consecutive, each prev the SHA-256 of the entry
 * before (the first one's, the anchor's), every entry parseable. *checked gets the number
 * of entries checked. Returns 0, OMEGA_ECORRUPT (err names the first bad entry's
 * sequence number and what is wrong: an edited, removed or inserted entry) or OMEGA_EIO. */
int omega_auth_audit_verify(omega_auth_t *a, size_t *checked, omega_error_t *err);

/* ---- PII masking ---- */

#define OMEGA_PII_EMAIL 1u /* name@example.org -> [EMAIL] */
#define OMEGA_PII_IPV4  2u /* 192.0.2.1 -> [IPV4] */
#define OMEGA_PII_IPV6  4u /* 2001:db8::1 -> [IPV6] (8 groups, or fewer with "::") */
#define OMEGA_PII_PHONE 8u /* +44 20 7946 0958, (555) 123-4567, 555-123-4567 -> [PHONE] */
#define OMEGA_PII_CARD                                                                             \
    16u                    /* 13..19 digits (spaces/dashes allowed), issuer digit 2..6,            \
                              Luhn-valid -> [CARD] */
#define OMEGA_PII_HOME 32u /* /home/alice, /Users/alice, C:\Users\alice -> .../[USER] */
#define OMEGA_PII_ALL  63u /* every kind */

/* A copy of in with every detected item of the kinds in `kinds` (OMEGA_PII_* bits)
 * replaced by its placeholder; the kinds found go to *found (may be NULL). Detection is
 * conservative: addresses, numbers and paths must stand as whole tokens (a PID, a date, a
 * version "1.2.3.4.5" or a MAC address is left alone). in may be NULL (gives ""). Returns
 * a malloc'd string the caller frees with free(). Pure function, any thread. */
char *omega_pii_mask(const char *in, unsigned kinds, unsigned *found);

/* omega_pii_mask(in, OMEGA_PII_ALL, NULL) in callback form (ctx unused, may be NULL), for
 * modules that take a masking function instead of linking auth (omega_alert_options_t). */
char *omega_pii_mask_cb(void *ctx, const char *in);

/* The labels whose values are free text (security.privacy_settings.free_text_labels) and
 * the kinds to mask in them; the context of omega_pii_label_cb(). Borrowed strings. */
typedef struct omega_pii_labels {
    const char *const *names; /* label names, compared exactly */
    size_t n;                 /* entries in names */
    unsigned kinds;           /* OMEGA_PII_* bits to mask */
} omega_pii_labels_t;

/* Ingest's label rewrite hook (omega_ingest_label_fn): ctx is an omega_pii_labels_t. When
 * name is one of ctx's names and value holds personal data of ctx's kinds, returns the
 * masked copy (malloc'd, the caller frees it), else NULL (keep the value). Any thread. */
char *omega_pii_label_cb(void *ctx, const char *name, const char *value);

/* ---- Consent to per-user process data (privacy_settings.user_consent_required) ---- */

/* The recorded consent. */
typedef struct omega_consent {
    int granted;   /* 1 when consent is recorded and not withdrawn */
    char by[65];   /* user who recorded the current state, "" when never recorded */
    int64_t at_ms; /* when, Unix ms; 0 = never recorded */
} omega_consent_t;

/* Read the consent record into *out (all zero, not granted, when never recorded).
 * Returns 0, OMEGA_ECORRUPT or OMEGA_EIO. Any thread. */
int omega_auth_consent_get(omega_auth_t *a, omega_consent_t *out, omega_error_t *err);

/* Record consent (granted 1) or its withdrawal (0) by user `by` (a valid user name; the
 * caller checks it is an administrator and audits). Kept across restarts in OMEGA_KV_META
 * "privacy/consent". Returns 0, OMEGA_EINVAL (bad name) or OMEGA_EIO. Any thread. */
int omega_auth_consent_set(omega_auth_t *a, int granted, const char *by, omega_error_t *err);

/* ---- API keys ---- */

/* API key scopes (bits of omega_principal_t.scopes). */
#define OMEGA_SCOPE_READ   1u /* "read" */
#define OMEGA_SCOPE_INGEST 2u /* "ingest" */

/* Every key starts with this, so a credential is told from a JWT by its first bytes. */
#define OMEGA_APIKEY_PREFIX "omk_"
/* Buffer size for a whole key: "omk_" + 12 hex id + "_" + 64 hex secret + NUL. */
#define OMEGA_APIKEY_MAX 96
/* Longest key name, in bytes. */
#define OMEGA_APIKEY_NAME_MAX 128

/* An API key as stored, without its secret. */
typedef struct omega_apikey_info {
    char id[16];                          /* 12 hex digits */
    char name[OMEGA_APIKEY_NAME_MAX + 1]; /* what the creator called it */
    char prefix[24];                      /* "omk_<id>", the part shown in lists */
    unsigned scopes;                      /* OMEGA_SCOPE_* bits */
    char created_by[65];                  /* user who created it */
    int64_t created_at_ms;                /* Unix ms */
    int64_t last_used_ms;                 /* Unix ms of the last use (recorded at most once a
                                             minute), 0 = never */
} omega_apikey_info_t;

/* "read" / "ingest" to its OMEGA_SCOPE_* bit into *out; 0 or OMEGA_EINVAL. */
int omega_scope_parse(const char *name, unsigned *out);

/* Create a key named name (1..OMEGA_APIKEY_NAME_MAX bytes of UTF-8 without control
 * characters) with scopes (non-zero subset of OMEGA_SCOPE_*), recorded as created by
 * created_by. The whole key goes to key_out (OMEGA_APIKEY_MAX bytes): it is shown once and
 * only its HMAC-SHA256 under a server secret (KV "auth/apikey_key") is stored, under
 * "apikey/<id>". *info gets the stored part. Returns 0, OMEGA_EINVAL (err->path names the
 * field) or OMEGA_EIO. */
int omega_auth_apikey_create(omega_auth_t *a, const char *name, unsigned scopes,
                             const char *created_by, char key_out[OMEGA_APIKEY_MAX],
                             omega_apikey_info_t *info, omega_error_t *err);

/* Every key, sorted by id, into *out (malloc'd array, free() it; NULL when none) and *n.
 * Returns 0, OMEGA_ECORRUPT or OMEGA_EIO. */
int omega_auth_apikey_list(omega_auth_t *a, omega_apikey_info_t **out, size_t *n,
                           omega_error_t *err);

/* Revoke (delete) key id: it stops working at once. 0, OMEGA_ENOENT or OMEGA_EIO. */
int omega_auth_apikey_delete(omega_auth_t *a, const char *id, omega_error_t *err);

/* Verify an API key into *out (is_api_key = 1, scopes, jti = key id, username = creator,
 * expires_at_ms = INT64_MAX) and record its use (at most one write per key per minute).
 * OMEGA_EACCES for a malformed, unknown or wrong key (compared in constant time). */
int omega_auth_apikey_verify(omega_auth_t *a, const char *key, omega_principal_t *out,
                             omega_error_t *err);

/* A credential from a request: API keys (starting with OMEGA_APIKEY_PREFIX) go to
 * omega_auth_apikey_verify(), anything else to omega_auth_verify(). */
int omega_auth_verify_credential(omega_auth_t *a, const char *credential, omega_principal_t *out,
                                 omega_error_t *err);

/* ---- Encryption at rest (sealed secrets, data keys, rotation) ---- */

/* Secrets are values in OMEGA_KV_META written through omega_auth_secret_put(). With
 * options.encrypt they are stored as "$oms1$<key version, 8 hex>$<base64(nonce | AES-256-GCM
 * ciphertext | tag)>", the KV key being the associated data (a value copied under another
 * key does not open). Data keys (AES-256, versioned) are stored wrapped by the master key
 * under "auth/datakey/<version>"; the newest seals, every held one opens. Without
 * options.encrypt values are stored as given; sealed ones still open while their key is
 * held, and the keeper thread re-writes them in plain text and drops the data keys. */

/* Store plain (n bytes, any content) under key, sealed when encryption is on. Serialised with
 * re-encryption, so a concurrent walk never writes back an older value. Returns 0,
 * OMEGA_EINVAL (empty key), OMEGA_E2BIG (> 64 MiB) or OMEGA_EIO. Any thread. */
int omega_auth_secret_put(omega_auth_t *a, const char *key, const void *plain, size_t n,
                          omega_error_t *err);

/* Turn a value read from OMEGA_KV_META under key (val/vlen, borrowed) into its plain form:
 * *plain is a malloc'd, NUL-terminated copy (free() it; wipe it first if it matters) of
 * *plen bytes. A value that is not sealed is returned as is. *stale (may be NULL) is set
 * to 1 when the stored form is not what a write would store now (plain while encryption is
 * on, sealed under an older key, or sealed while encryption is off): re-putting it brings
 * it up to date. Returns 0, OMEGA_ECORRUPT (malformed, altered or moved value) or
 * OMEGA_EACCES (its data key is not held). Any thread. */
int omega_auth_secret_open(omega_auth_t *a, const char *key, const void *val, size_t vlen,
                           char **plain, size_t *plen, int *stale, omega_error_t *err);

/* omega_kv_get() + omega_auth_secret_open(). OMEGA_ENOENT when absent. */
int omega_auth_secret_get(omega_auth_t *a, const char *key, char **plain, size_t *plen,
                          omega_error_t *err);

/* Delete a secret (absent is not an error); serialised with re-encryption so a walk cannot
 * bring it back. Returns 0 or OMEGA_EIO. */
int omega_auth_secret_delete(omega_auth_t *a, const char *key, omega_error_t *err);

/* 1 when val starts like a sealed value, else 0. Pure. */
int omega_auth_secret_sealed(const void *val, size_t vlen);

/* The three calls above in callback form (auth passed as void *), for modules that take a
 * function table instead of linking auth (omega_alert_options_t.vault). */
int omega_auth_secret_put_cb(void *auth, const char *key, const void *plain, size_t n,
                             omega_error_t *err);
int omega_auth_secret_open_cb(void *auth, const char *key, const void *val, size_t vlen,
                              char **plain, size_t *plen, int *stale, omega_error_t *err);
int omega_auth_secret_delete_cb(void *auth, const char *key, omega_error_t *err);

/* The state of the key hierarchy. */
typedef struct omega_key_status {
    int enabled;                  /* options.encrypt */
    uint32_t current_version;     /* data key sealing new values, 0 = none */
    int64_t current_created_ms;   /* Unix ms it was made */
    size_t versions_held;         /* data keys held (old ones until re-encryption ends) */
    int64_t rotation_interval_ms; /* options.key_rotation_interval_ms */
    int64_t next_rotation_ms;     /* Unix ms of the next scheduled rotation, 0 = none */
    int reencrypting;             /* 1 while a walk runs or secrets may remain under older
                                     keys that are not pinned */
    size_t versions_pinned;       /* older versions kept because sealed blobs use them
                                     (omega_auth_blob_seal); included in versions_held */
    uint64_t resealed_total;      /* values re-written by walks since the handle opened */
} omega_key_status_t;

/* Make a new data key version (wrapped, stored) that seals every value written from now on,
 * and wake the keeper thread to re-encrypt every sealed value in the background; older
 * versions keep opening values until that walk retires them. *version (may be NULL) gets
 * the new version. Not audited here: the caller records who asked. Returns 0, OMEGA_EINVAL
 * (encryption off), OMEGA_E2BIG (64 versions held) or OMEGA_EIO. Any thread. */
int omega_auth_key_rotate(omega_auth_t *a, uint32_t *version, omega_error_t *err);

/* Re-encrypt now, in the calling thread: every sealed value in OMEGA_KV_META not under the
 * current key (or, with encryption off, every sealed value) is re-written, then the older
 * data keys are deleted from the store (the handle keeps them in memory until it is
 * destroyed, so a value read before the walk re-wrote it still opens). Walks are
 * serialised. Audited ("security.reencrypt", actor "system") when something changed.
 * *resealed (may be NULL) gets the values re-written.
 * Returns 0, OMEGA_ECORRUPT/OMEGA_EACCES (a value that does not open: the walk stops and
 * keeps every key) or OMEGA_EIO. */
int omega_auth_key_reencrypt(omega_auth_t *a, size_t *resealed, omega_error_t *err);

/* 1 when a scheduled rotation is due at now_ms (encryption on, an interval set, the
 * current key at least that old), else 0. The keeper thread rotates when this says so. */
int omega_auth_key_rotate_due(omega_auth_t *a, int64_t now_ms);

/* Fill *out. Any thread. */
void omega_auth_key_status(omega_auth_t *a, omega_key_status_t *out);

/* ---- Sealed blobs (storage's sensitive series, security.sensitive_metrics) ---- */

/* Bytes a sealed blob adds to its plain text: "OMB1" magic (4), data key version (4,
 * big-endian), GCM nonce (12) and tag (16). */
#define OMEGA_AUTH_BLOB_OVERHEAD 36

/* Seal plain[0..n) (n <= 64 MiB; plain may be NULL when n is 0) under the current data key
 * with aad[0..aad_len) authenticated but not stored (e.g. the series id: a blob moved to
 * another series does not open). The blob (n + OMEGA_AUTH_BLOB_OVERHEAD bytes, *out_len) goes
 * to out (out_cap bytes, caller-owned); it names its key version, so it opens after any
 * number of rotations: a version that sealed a blob is pinned (not retired by
 * re-encryption walks, across restarts) until omega_auth_blob_release() frees it. auth is an omega_auth_t * (void * so storage can
 * hold it as a callback context without linking auth). Returns 0, OMEGA_EINVAL (missing
 * argument, out_cap too small, or encryption at rest off: no data key), OMEGA_E2BIG (n over
 * 64 MiB) or OMEGA_EIO (cannot record the pin, cipher failure). Any thread. */
int omega_auth_blob_seal(void *auth, const void *aad, size_t aad_len, const void *plain, size_t n,
                         void *out, size_t out_cap, size_t *out_len, omega_error_t *err);

/* Open a blob made by omega_auth_blob_seal() with the same aad: the plain text
 * (n - OMEGA_AUTH_BLOB_OVERHEAD bytes, *out_len) goes to out (out_cap bytes; may be NULL when
 * that is 0). Works whether or not encryption is on now, while the blob's key version is
 * held. Returns 0, OMEGA_EINVAL (missing argument, out_cap too small), OMEGA_ECORRUPT (not
 * a blob, truncated, altered, or other aad; out is wiped) or OMEGA_EACCES (its key version
 * is not held: another store's blob or a wrong master key). Any thread. */
int omega_auth_blob_open(void *auth, const void *aad, size_t aad_len, const void *blob, size_t n,
                         void *out, size_t out_cap, size_t *out_len, omega_error_t *err);

/* The data key version a blob names, or 0 when blob[0..n) is not a sealed blob (too short or
 * no magic). Lets a caller find blobs sealed under an older key. Pure. */
uint32_t omega_auth_blob_version(const void *blob, size_t n);

/* The data key version omega_auth_blob_seal() uses now, 0 when encryption at rest is off
 * (storage's cipher "active" call: a re-seal pass follows each new version). auth is an
 * omega_auth_t *. Any thread. */
uint32_t omega_auth_blob_active(void *auth);

/* The blob holder (storage) re-sealed every blob it keeps under a version >= below: versions
 * under below stop being pinned (their "auth/blobkey/<v>" records are deleted) and the
 * keeper's next walk retires them once no secret uses them either. The current version is
 * never released. Returns 0, OMEGA_EINVAL (NULL auth) or OMEGA_EIO. Any thread. */
int omega_auth_blob_release(void *auth, uint32_t below, omega_error_t *err);

/* Take a secret out of the environment: returns a malloc'd copy of environment variable
 * name's value (NULL when it is unset or empty; the caller wipes it and frees it with
 * free()), after overwriting the value's bytes in place and removing the variable, so
 * neither /proc/<pid>/environ nor a child process shows it any more. Used for
 * OMEGA_MASTER_KEY. Not thread-safe (getenv/unsetenv): call before other threads start; a
 * variable set with putenv() must point to writable memory. */
char *omega_auth_env_take(const char *name);

/* ---- TLS ---- */

/* Buffer size for a SHA-256 fingerprint as "AB:CD:...": 32 bytes * 3 characters. */
#define OMEGA_TLS_FINGERPRINT_MAX 96

/* A development certificate for `serve --tls-self-signed`. When cert_path or key_path is
 * missing, writes a new EC P-256 key (PEM, PKCS#8, mode 0600) to key_path and a
 * self-signed certificate (PEM, CN=localhost, subjectAltName localhost, 127.0.0.1 and ::1,
 * valid 30 days) to cert_path, creating missing parent directories with mode 0700. When
 * both exist they are kept as they are. Either way, fingerprint (len bytes, at least
 * OMEGA_TLS_FINGERPRINT_MAX) gets the SHA-256 fingerprint of the certificate at cert_path
 * as upper-case hex pairs joined by ':'. Returns 0, OMEGA_EINVAL (a too small buffer or
 * an existing file that is no PEM certificate) or OMEGA_EIO (a file or OpenSSL failure),
 * with err filled. Thread-safe; does not take ownership of anything. */
int omega_auth_tls_self_signed(const char *cert_path, const char *key_path, char *fingerprint,
                               size_t len, omega_error_t *err);

/* Check TLS files before serving them: cert_path must hold a PEM certificate, key_path a
 * PEM private key that belongs to it, and ca_path (NULL or "" = none) at least one PEM
 * certificate. Returns 0, or OMEGA_EINVAL with err->path "cert", "key" or "client_ca"
 * naming the file at fault and err->message saying why. Thread-safe. */
int omega_auth_tls_check_files(const char *cert_path, const char *key_path, const char *ca_path,
                               omega_error_t *err);

#endif
