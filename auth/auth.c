/* SPDX-License-Identifier: Apache-2.0 */
/* The auth handle: options, the HS256 signing key, role names, first-start bootstrap,
 * login (plain and rate-limited) and token verification, built on password.c, user.c,
 * token.c, session.c and ratelimit.c.
 * The signing key and the API-key secret are 32 random bytes kept as 64 hex characters in
 * OMEGA_KV_META ("auth/jwt_key", "auth/apikey_key"), created on first start and reused so
 * tokens survive restarts; both go through secrets.c, so they are sealed at rest when
 * encryption is on. */
#include "auth_int.h"

#include "omega/log.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TTL_MS    (366LL * 24 * 3600 * 1000)
#define MAX_SKEW_MS   (3600LL * 1000)
#define MAX_WINDOW_MS (24LL * 3600 * 1000)

static const char *const role_names[] = {
    [OMEGA_ROLE_VIEWER] = "viewer",       [OMEGA_ROLE_DEVELOPER] = "developer",
    [OMEGA_ROLE_ANALYST] = "analyst",     [OMEGA_ROLE_ADMIN] = "admin",
    [OMEGA_ROLE_SUPERUSER] = "superuser",
};

const char *omega_role_name(omega_role_t role)
{
    if ((int)role < 0 || (size_t)role >= sizeof(role_names) / sizeof(role_names[0]))
        return NULL;
    return role_names[role];
}

int omega_role_parse(const char *name, omega_role_t *out)
{
    for (size_t i = 0; name && i < sizeof(role_names) / sizeof(role_names[0]); i++) {
        if (strcmp(name, role_names[i]) == 0) {
            *out = (omega_role_t)i;
            return 0;
        }
    }
    return OMEGA_EINVAL;
}

void omega_auth_options_init(omega_auth_options_t *o)
{
    o->token_ttl_ms = 12LL * 3600 * 1000;
    o->clock_skew_ms = 60 * 1000;
    o->min_password_len = 8;
    o->admin_roles = OMEGA_ROLE_BIT(OMEGA_ROLE_ADMIN) | OMEGA_ROLE_BIT(OMEGA_ROLE_SUPERUSER);
    o->viewer_roles = OMEGA_ROLE_BIT(OMEGA_ROLE_DEVELOPER) | OMEGA_ROLE_BIT(OMEGA_ROLE_ANALYST);
    o->default_role = OMEGA_ROLE_VIEWER;
    o->user_max_failures = 5;
    o->user_window_ms = 5 * 60 * 1000;
    o->addr_max_failures = 20;
    o->addr_window_ms = 60 * 1000;
    o->audit_enabled = 1;
    o->audit_retention_ms = 90LL * 24 * 3600 * 1000;
    o->audit_categories =
        OMEGA_AUDIT_ACCESS | OMEGA_AUDIT_MODIFICATION | OMEGA_AUDIT_DELETION | OMEGA_AUDIT_EXPORT;
    o->rbac = 1;
    o->encrypt = 0;
    o->master_key = NULL;
    o->master_key_file = NULL;
    o->data_dir = NULL;
    o->key_rotation_interval_ms = 0;
}

static int options_check(const omega_auth_options_t *o, omega_error_t *err)
{
    if (o->token_ttl_ms < 1 || o->token_ttl_ms > MAX_TTL_MS)
        return omega_error_set_path(err, OMEGA_EINVAL, "token_ttl_ms",
                                    "token lifetime must be between 1 ms and 366 days");
    if (o->clock_skew_ms < 0 || o->clock_skew_ms > MAX_SKEW_MS)
        return omega_error_set_path(err, OMEGA_EINVAL, "clock_skew_ms",
                                    "clock skew must be between 0 and 1 hour");
    if (o->min_password_len < 1)
        return omega_error_set_path(err, OMEGA_EINVAL, "min_password_len",
                                    "minimum password length must be at least 1");
    if (!omega_role_name(o->default_role))
        return omega_error_set_path(err, OMEGA_EINVAL, "default_role", "unknown default role");
    if (o->user_max_failures < 1 || o->addr_max_failures < 1 || o->user_max_failures > 1000 ||
        o->addr_max_failures > 1000)
        return omega_error_set_path(err, OMEGA_EINVAL, "max_failures",
                                    "login failure limits must be between 1 and 1000");
    if (o->user_window_ms < 1000 || o->addr_window_ms < 1000 || o->user_window_ms > MAX_WINDOW_MS ||
        o->addr_window_ms > MAX_WINDOW_MS)
        return omega_error_set_path(err, OMEGA_EINVAL, "window_ms",
                                    "login rate-limit windows must be between 1 s and 1 day");
    if (o->key_rotation_interval_ms != 0 && o->key_rotation_interval_ms < 1000)
        return omega_error_set_path(err, OMEGA_EINVAL, "key_rotation_interval_ms",
                                    "key rotation interval must be 0 (off) or at least 1 s");
    if (o->audit_retention_ms < 1000)
        return omega_error_set_path(err, OMEGA_EINVAL, "audit_retention_ms",
                                    "audit retention must be at least 1 s");
    return 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int key_decode(const char *hex, size_t len, unsigned char key[AUTH_KEY_LEN])
{
    if (len != 2 * AUTH_KEY_LEN)
        return -1;
    for (size_t i = 0; i < AUTH_KEY_LEN; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        key[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* Load the stored secret; re-store it when its stored form is stale (plain while encryption
 * is on, say), so turning encryption on seals it at the next start. */
static int secret_load(omega_auth_t *a, const char *kv_key, unsigned char out[AUTH_KEY_LEN],
                       omega_error_t *err)
{
    char *val = NULL, *plain = NULL;
    size_t vlen = 0, plen = 0;
    int stale = 0;
    int rc = omega_kv_get(a->db, OMEGA_KV_META, kv_key, strlen(kv_key), &val, &vlen, err);
    if (rc == 0)
        rc = omega_auth_secret_open(a, kv_key, val, vlen, &plain, &plen, &stale, err);
    if (rc == 0 && key_decode(plain, plen, out) != 0)
        rc = omega_error_set(err, OMEGA_ECORRUPT, "stored secret '%s' is corrupt", kv_key);
    if (rc == 0 && stale)
        rc = omega_auth_secret_put(a, kv_key, plain, plen, err);
    if (val)
        OPENSSL_cleanse(val, vlen);
    if (plain)
        OPENSSL_cleanse(plain, plen);
    free(val);
    free(plain);
    return rc;
}

int auth_secret_load_or_create(omega_auth_t *a, const char *kv_key, unsigned char out[AUTH_KEY_LEN],
                               omega_error_t *err)
{
    int rc = secret_load(a, kv_key, out, err);
    if (rc != OMEGA_ENOENT)
        return rc;
    char hex[2 * AUTH_KEY_LEN + 1];
    if (RAND_bytes(out, AUTH_KEY_LEN) != 1)
        return omega_error_set(err, OMEGA_EIO, "no randomness available for '%s'", kv_key);
    auth_hex_encode(out, AUTH_KEY_LEN, hex);
    rc = omega_auth_secret_put(a, kv_key, hex, 2 * AUTH_KEY_LEN, err);
    OPENSSL_cleanse(hex, sizeof(hex));
    if (rc == 0)
        omega_log_info("created a new secret '%s'", kv_key);
    return rc;
}

omega_auth_t *omega_auth_create(omega_tsdb_t *db, const omega_auth_options_t *o, omega_error_t *err)
{
    omega_auth_options_t defaults;
    omega_auth_options_init(&defaults);
    if (!o)
        o = &defaults;
    if (!db) {
        omega_error_set(err, OMEGA_EINVAL, "no store given");
        return NULL;
    }
    if (options_check(o, err) != 0)
        return NULL;
    omega_auth_t *a = omega_calloc(1, sizeof(*a));
    a->db = db;
    a->opts = *o;
    pthread_mutex_init(&a->lock, NULL);
    pthread_mutex_init(&a->revoked_lock, NULL);
    pthread_mutex_init(&a->audit_lock, NULL);
    auth_keeper_init(a);
    a->limiter = auth_limiter_create(o);
    char dummy_pw[33];
    int rc = auth_keyring_open(a, err);
    if (rc == 0)
        rc = auth_secret_load_or_create(a, AUTH_KEY_KV, a->key, err);
    if (rc == 0)
        rc = auth_secret_load_or_create(a, AUTH_APIKEY_KV, a->apikey_key, err);
    if (rc == 0)
        rc = auth_revoked_load(a, err);
    if (rc == 0)
        rc = auth_audit_load(a, err);
    /* A hash nobody knows the password of, with today's parameters, so that logging in
     * as an unknown user costs one Argon2id run like a known one. */
    if (rc == 0 && auth_random_hex(dummy_pw, 16) != 0)
        rc = omega_error_set(err, OMEGA_EIO, "no randomness available");
    if (rc == 0)
        rc = auth_password_hash(dummy_pw, a->dummy_hash, err);
    if (rc == 0)
        rc = auth_keeper_start(a, err);
    if (rc != 0) {
        omega_auth_destroy(a);
        return NULL;
    }
    return a;
}

void omega_auth_destroy(omega_auth_t *a)
{
    if (!a)
        return;
    auth_keeper_deinit(a);
    auth_keyring_close(a);
    OPENSSL_cleanse(a->key, sizeof(a->key));
    OPENSSL_cleanse(a->apikey_key, sizeof(a->apikey_key));
    auth_limiter_destroy(a->limiter);
    auth_revoked_free(a);
    pthread_mutex_destroy(&a->revoked_lock);
    pthread_mutex_destroy(&a->audit_lock);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/* Insert "admin" unless a user appeared since the caller counted none. */
static int bootstrap_insert(omega_auth_t *a, const char *hash, int *created, omega_error_t *err)
{
    size_t n = 0;
    pthread_mutex_lock(&a->lock);
    int rc = omega_auth_user_count(a, &n, err);
    if (rc == 0 && n == 0) {
        rc = auth_user_insert_locked(a, "admin", hash, OMEGA_ROLE_SUPERUSER, err);
        *created = rc == 0;
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int omega_auth_bootstrap(omega_auth_t *a, const char *password, char *generated, size_t gen_len,
                         int *created, omega_error_t *err)
{
    int made = 0, generate = !password || !*password;
    char pw[AUTH_GEN_PW_LEN + 1] = "";
    char hash[AUTH_HASH_MAX];
    size_t n = 0;

    if (generated && gen_len > 0)
        generated[0] = '\0';
    int rc = omega_auth_user_count(a, &n, err);
    if (rc != 0 || n > 0)
        goto out;
    if (generate && (!generated || gen_len < 32)) {
        rc = omega_error_set(err, OMEGA_EINVAL, "no room for a generated password");
        goto out;
    }
    if (generate && auth_password_generate(pw, AUTH_GEN_PW_LEN) != 0)
        rc = omega_error_set(err, OMEGA_EIO, "no randomness available");
    else if (!generate)
        rc = auth_password_policy(password, a->opts.min_password_len, err);
    if (rc == 0)
        rc = auth_password_hash(generate ? pw : password, hash, err);
    if (rc == 0)
        rc = bootstrap_insert(a, hash, &made, err);
    if (rc == 0 && made) {
        omega_log_info("created the first user 'admin' (superuser) with %s password",
                       generate ? "a generated" : "the given");
        if (generate)
            memcpy(generated, pw, sizeof(pw));
    }
out:
    OPENSSL_cleanse(pw, sizeof(pw));
    if (created)
        *created = made;
    return rc;
}

int omega_auth_login(omega_auth_t *a, const char *username, const char *password,
                     omega_token_t *out, omega_error_t *err)
{
    auth_user_t u;
    int rc = auth_user_load(a, username, &u, err);
    if (rc != 0 && rc != OMEGA_ENOENT)
        return rc;
    int found = rc == 0;
    int pw_ok = password && strlen(password) <= OMEGA_AUTH_PASSWORD_MAX;
    /* Always one Argon2id run, against a dummy hash when the user is unknown, so the
     * answer time does not tell whether the name exists. */
    int vr = auth_password_verify(found ? u.hash : a->dummy_hash, pw_ok ? password : "");
    if (found && (vr == OMEGA_ECORRUPT || vr == OMEGA_EIO)) {
        omega_log_error("password hash of user '%s' cannot be checked: %s", username,
                        omega_strerror(vr));
        return omega_error_set(err, vr, "password hash of user '%s' cannot be checked", username);
    }
    if (!found || !pw_ok || vr != 0 || u.info.disabled)
        return omega_error_set(err, OMEGA_EACCES, "invalid username or password");
    return auth_token_issue(a, u.info.username, u.info.role, out, err);
}

int omega_auth_login_limited(omega_auth_t *a, const char *username, const char *password,
                             const char *address, omega_token_t *out, int64_t *retry_after_s,
                             omega_error_t *err)
{
    /* Only names that could exist get a per-user entry: junk names cost a table slot each
     * and could push real users' histories out. */
    const char *user = omega_auth_username_valid(username) ? username : NULL;
    int first = 0;
    int64_t wait = auth_limiter_begin(a->limiter, user, address, &first);
    *retry_after_s = wait;
    if (wait > 0) {
        /* Audited once per lock-out: a flood of refused attempts must not flood the log. */
        omega_audit_event_t ev = {.address = address,
                                  .action = "auth.login",
                                  .target = user ? user : "(invalid name)",
                                  .outcome = "denied",
                                  .detail = "rate limited (further attempts not recorded)"};
        if (first)
            omega_auth_audit(a, &ev, NULL);
        return omega_error_set(err, OMEGA_EAGAIN, "too many failed logins; retry in %lld s",
                               (long long)wait);
    }
    int rc = omega_auth_login(a, username, password, out, err);
    auth_limiter_end(a->limiter, user, address, rc == OMEGA_EACCES);
    return rc;
}

int omega_auth_verify(omega_auth_t *a, const char *token, omega_principal_t *out,
                      omega_error_t *err)
{
    omega_principal_t p;
    int64_t iat_ms = 0;
    memset(&p, 0, sizeof(p));
    memset(out, 0, sizeof(*out));
    int rc = auth_token_check(a, token, &p, &iat_ms, err);
    if (rc != 0)
        return rc;
    if (auth_revoked_has(a, p.jti))
        return omega_error_set(err, OMEGA_EACCES, "token revoked");
    auth_user_t u;
    rc = auth_user_load(a, p.username, &u, err);
    if (rc == OMEGA_ENOENT)
        return omega_error_set(err, OMEGA_EACCES, "unknown user");
    if (rc != 0)
        return rc;
    if (u.info.disabled)
        return omega_error_set(err, OMEGA_EACCES, "user disabled");
    if (iat_ms < u.info.tokens_after_ms)
        return omega_error_set(
            err, OMEGA_EACCES,
            "token issued before the password changed or the user was re-created");
    p.role = u.info.role;
    *out = p;
    return 0;
}
