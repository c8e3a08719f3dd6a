/* SPDX-License-Identifier: Apache-2.0 */
/* User records in the KV facade (OMEGA_KV_META, key "user/<name>"), stored as JSON
 * {username, role, hash, disabled, created_at, updated_at} with times in Unix ms.
 * Changes are read-modify-write under the handle's lock; hashing happens in password.c
 * before the lock is taken, so a slow Argon2id run never holds it. */
#include "auth_int.h"

#include "omega/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER_NAME_MAX 64
#define USER_KEY_MAX  (sizeof(AUTH_USER_PREFIX) + USER_NAME_MAX)

int omega_auth_username_valid(const char *name)
{
    if (!name)
        return 0;
    size_t len = 0;
    for (const char *p = name; *p; p++, len++) {
        char c = *p;
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '@' || c == '-';
        if (!ok || len >= USER_NAME_MAX)
            return 0;
    }
    return len > 0;
}

/* "user/<name>" into key; returns its length. name must be valid. */
static size_t user_key(const char *name, char key[USER_KEY_MAX])
{
    int n = snprintf(key, USER_KEY_MAX, "%s%s", AUTH_USER_PREFIX, name);
    return (size_t)n;
}

static int user_parse(const char *name, const char *val, size_t vlen, auth_user_t *out,
                      omega_error_t *err)
{
    json_error_t jerr;
    const char *uname = NULL, *role = NULL, *hash = NULL;
    int disabled = 0;
    json_int_t created = 0, updated = 0;
    int rc = 0;

    json_t *root = json_loadb(val, vlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || json_unpack_ex(root, &jerr, 0, "{s:s, s:s, s:s, s:b, s:I, s:I}", "username",
                                &uname, "role", &role, "hash", &hash, "disabled", &disabled,
                                "created_at", &created, "updated_at", &updated) != 0) {
        rc = omega_error_set(err, OMEGA_ECORRUPT, "user record '%s' is unreadable: %s", name,
                             jerr.text);
        goto out;
    }
    memset(out, 0, sizeof(*out));
    if (strcmp(uname, name) != 0 || omega_role_parse(role, &out->info.role) != 0 ||
        strlen(hash) >= sizeof(out->hash)) {
        rc = omega_error_set(err, OMEGA_ECORRUPT, "user record '%s' has bad fields", name);
        goto out;
    }
    snprintf(out->info.username, sizeof(out->info.username), "%s", name);
    snprintf(out->hash, sizeof(out->hash), "%s", hash);
    out->info.disabled = disabled != 0;
    out->info.created_at_ms = created;
    out->info.updated_at_ms = updated;
out:
    json_decref(root);
    return rc;
}

int auth_user_load(omega_auth_t *a, const char *name, auth_user_t *out, omega_error_t *err)
{
    if (!omega_auth_username_valid(name))
        return omega_error_set_path(err, OMEGA_ENOENT, "username", "no such user");
    char key[USER_KEY_MAX];
    size_t klen = user_key(name, key);
    char *val = NULL;
    size_t vlen = 0;
    int rc = omega_kv_get(a->db, OMEGA_KV_META, key, klen, &val, &vlen, err);
    if (rc == OMEGA_ENOENT)
        return omega_error_set_path(err, OMEGA_ENOENT, "username", "no user named '%s'", name);
    if (rc != 0)
        return rc;
    omega_error_t perr;
    omega_error_clear(&perr);
    rc = user_parse(name, val, vlen, out, &perr);
    free(val);
    if (rc != 0) {
        omega_log_error("%s", perr.message);
        if (err)
            *err = perr;
    }
    return rc;
}

static int user_store(omega_auth_t *a, const auth_user_t *u, omega_error_t *err)
{
    json_t *root = json_pack("{s:s, s:s, s:s, s:b, s:I, s:I}", "username", u->info.username, "role",
                             omega_role_name(u->info.role), "hash", u->hash, "disabled",
                             u->info.disabled, "created_at", (json_int_t)u->info.created_at_ms,
                             "updated_at", (json_int_t)u->info.updated_at_ms);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!text)
        return omega_error_set(err, OMEGA_EIO, "cannot encode user record '%s'", u->info.username);
    char key[USER_KEY_MAX];
    size_t klen = user_key(u->info.username, key);
    int rc = omega_kv_put(a->db, OMEGA_KV_META, key, klen, text, strlen(text), err);
    free(text);
    return rc;
}

int auth_user_insert_locked(omega_auth_t *a, const char *name, const char *hash, omega_role_t role,
                            omega_error_t *err)
{
    auth_user_t u;
    int rc = auth_user_load(a, name, &u, err);
    if (rc == 0)
        return omega_error_set_path(err, OMEGA_EEXIST, "username", "user '%s' already exists",
                                    name);
    if (rc != OMEGA_ENOENT)
        return rc;
    memset(&u, 0, sizeof(u));
    snprintf(u.info.username, sizeof(u.info.username), "%s", name);
    snprintf(u.hash, sizeof(u.hash), "%s", hash);
    u.info.role = role;
    u.info.created_at_ms = u.info.updated_at_ms = omega_now_ms();
    return user_store(a, &u, err);
}

int omega_auth_user_add(omega_auth_t *a, const char *username, const char *password,
                        omega_role_t role, omega_error_t *err)
{
    if (!omega_auth_username_valid(username))
        return omega_error_set_path(err, OMEGA_EINVAL, "username",
                                    "username must match [A-Za-z0-9_.@-]{1,64}");
    if (!omega_role_name(role))
        return omega_error_set_path(err, OMEGA_EINVAL, "role", "unknown role %d", (int)role);
    int rc = auth_password_policy(password, a->opts.min_password_len, err);
    if (rc != 0)
        return rc;
    char hash[AUTH_HASH_MAX];
    rc = auth_password_hash(password, hash, err);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&a->lock);
    rc = auth_user_insert_locked(a, username, hash, role, err);
    pthread_mutex_unlock(&a->lock);
    if (rc == 0)
        omega_log_info("created user '%s' with role %s", username, omega_role_name(role));
    return rc;
}

int omega_auth_user_get(omega_auth_t *a, const char *username, omega_user_info_t *out,
                        omega_error_t *err)
{
    auth_user_t u;
    int rc = auth_user_load(a, username, &u, err);
    if (rc == 0)
        *out = u.info;
    return rc;
}

static int count_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    (*(size_t *)ctx)++;
    return 0;
}

int omega_auth_user_count(omega_auth_t *a, size_t *out, omega_error_t *err)
{
    size_t n = 0;
    int rc = omega_kv_scan(a->db, OMEGA_KV_META, AUTH_USER_PREFIX, strlen(AUTH_USER_PREFIX),
                           count_one, &n, err);
    if (rc == 0)
        *out = n;
    return rc;
}

/* The field user_update() changes. */
typedef enum user_field {
    USER_FIELD_DISABLED, /* value: 0 or 1 */
    USER_FIELD_ROLE,     /* value: an omega_role_t */
} user_field_t;

/* Load, change one field, store: under the lock so concurrent changes do not undo
 * each other. */
static int user_update(omega_auth_t *a, const char *name, user_field_t field, int value,
                       omega_error_t *err)
{
    auth_user_t u;
    pthread_mutex_lock(&a->lock);
    int rc = auth_user_load(a, name, &u, err);
    if (rc == 0) {
        if (field == USER_FIELD_DISABLED)
            u.info.disabled = value != 0;
        else
            u.info.role = (omega_role_t)value;
        u.info.updated_at_ms = omega_now_ms();
        rc = user_store(a, &u, err);
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int omega_auth_user_set_disabled(omega_auth_t *a, const char *username, int disabled,
                                 omega_error_t *err)
{
    int rc = user_update(a, username, USER_FIELD_DISABLED, disabled, err);
    if (rc == 0)
        omega_log_info("user '%s' %s", username, disabled ? "disabled" : "enabled");
    return rc;
}

int omega_auth_user_set_role(omega_auth_t *a, const char *username, omega_role_t role,
                             omega_error_t *err)
{
    if (!omega_role_name(role))
        return omega_error_set_path(err, OMEGA_EINVAL, "role", "unknown role %d", (int)role);
    int rc = user_update(a, username, USER_FIELD_ROLE, (int)role, err);
    if (rc == 0)
        omega_log_info("user '%s' now has role %s", username, omega_role_name(role));
    return rc;
}
