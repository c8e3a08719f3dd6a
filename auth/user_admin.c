/* SPDX-License-Identifier: Apache-2.0 */
/* Changing and deleting users: one read-modify-write under the handle's lock per call, so
 * every change of a request lands together or not at all, and the rule that the last
 * enabled superuser stays is checked in the same critical section as the write. */
#include "auth_int.h"

#include "omega/log.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void omega_user_update_init(omega_user_update_t *u)
{
    memset(u, 0, sizeof(*u));
    u->disabled = -1;
}

/* Counts enabled superusers other than ctx->skip. */
typedef struct su_count {
    const char *skip; /* the user being changed */
    size_t n;         /* result */
} su_count_t;

static int count_superusers(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    su_count_t *c = ctx;
    size_t plen = strlen(AUTH_USER_PREFIX);
    if (klen - plen == strlen(c->skip) &&
        memcmp((const char *)key + plen, c->skip, klen - plen) == 0)
        return 0;
    json_t *root = json_loadb(val, vlen, 0, NULL);
    const char *role = json_string_value(json_object_get(root, "role"));
    if (role && strcmp(role, "superuser") == 0 && json_is_false(json_object_get(root, "disabled")))
        c->n++;
    json_decref(root);
    return 0;
}

/* OMEGA_EPERM when u is an enabled superuser and no other enabled superuser exists. */
static int keep_last_superuser(omega_auth_t *a, const auth_user_t *u, omega_error_t *err)
{
    if (u->info.role != OMEGA_ROLE_SUPERUSER || u->info.disabled)
        return 0;
    su_count_t c = {.skip = u->info.username};
    int rc = omega_kv_scan(a->db, OMEGA_KV_META, AUTH_USER_PREFIX, strlen(AUTH_USER_PREFIX),
                           count_superusers, &c, err);
    if (rc == 0 && c.n == 0)
        rc = omega_error_set_path(err, OMEGA_EPERM, "username",
                                  "'%s' is the last enabled superuser", u->info.username);
    return rc;
}

static int check_update(omega_auth_t *a, const omega_user_update_t *up, omega_error_t *err)
{
    if (up->set_role && !omega_role_name(up->role))
        return omega_error_set_path(err, OMEGA_EINVAL, "role", "unknown role %d", (int)up->role);
    if (up->disabled < -1 || up->disabled > 1)
        return omega_error_set_path(err, OMEGA_EINVAL, "disabled", "disabled must be a boolean");
    if (up->email && *up->email && !omega_auth_email_valid(up->email))
        return omega_error_set_path(err, OMEGA_EINVAL, "email",
                                    "email must be an address like name@example.org");
    if (up->password)
        return auth_password_policy(up->password, a->opts.min_password_len, err);
    return 0;
}

int omega_auth_user_update(omega_auth_t *a, const char *username, const omega_user_update_t *up,
                           omega_user_info_t *out, omega_error_t *err)
{
    char hash[AUTH_HASH_MAX] = "";
    int rc = check_update(a, up, err);
    if (rc == 0 && up->password)
        rc = auth_password_hash(up->password, hash, err);
    if (rc != 0)
        return rc;
    auth_user_t u;
    pthread_mutex_lock(&a->lock);
    rc = auth_user_load(a, username, &u, err);
    if (rc == 0 && ((up->set_role && up->role != OMEGA_ROLE_SUPERUSER) || up->disabled == 1))
        rc = keep_last_superuser(a, &u, err);
    if (rc == 0) {
        int64_t now = omega_now_ms();
        if (up->set_role)
            u.info.role = up->role;
        if (up->disabled >= 0)
            u.info.disabled = up->disabled;
        if (up->email)
            snprintf(u.info.email, sizeof(u.info.email), "%s", up->email);
        if (up->password) {
            snprintf(u.hash, sizeof(u.hash), "%s", hash);
            u.info.tokens_after_ms = now;
        }
        u.info.updated_at_ms = now;
        rc = auth_user_store(a, &u, err);
    }
    pthread_mutex_unlock(&a->lock);
    OPENSSL_cleanse(hash, sizeof(hash));
    if (rc == 0) {
        omega_log_info("user '%s' changed%s%s%s", username, up->set_role ? " (role)" : "",
                       up->password ? " (password)" : "",
                       up->disabled == 1   ? " (disabled)"
                       : up->disabled == 0 ? " (enabled)"
                                           : "");
        if (out)
            *out = u.info;
    }
    return rc;
}

int omega_auth_user_set_password(omega_auth_t *a, const char *username, const char *password,
                                 omega_error_t *err)
{
    omega_user_update_t up;
    omega_user_update_init(&up);
    if (!password)
        return omega_error_set_path(err, OMEGA_EINVAL, "password", "password is missing");
    up.password = password;
    return omega_auth_user_update(a, username, &up, NULL, err);
}

int omega_auth_user_set_disabled(omega_auth_t *a, const char *username, int disabled,
                                 omega_error_t *err)
{
    omega_user_update_t up;
    omega_user_update_init(&up);
    up.disabled = disabled != 0;
    return omega_auth_user_update(a, username, &up, NULL, err);
}

int omega_auth_user_set_role(omega_auth_t *a, const char *username, omega_role_t role,
                             omega_error_t *err)
{
    omega_user_update_t up;
    omega_user_update_init(&up);
    up.set_role = 1;
    up.role = role;
    return omega_auth_user_update(a, username, &up, NULL, err);
}

int omega_auth_user_delete(omega_auth_t *a, const char *username, omega_error_t *err)
{
    auth_user_t u;
    pthread_mutex_lock(&a->lock);
    int rc = auth_user_load(a, username, &u, err);
    if (rc == 0)
        rc = keep_last_superuser(a, &u, err);
    if (rc == 0) {
        /* The tombstone first: if the delete then fails, a later re-creation is merely
         * stricter than needed. */
        char key[sizeof(AUTH_GONE_PREFIX) + 64], val[24];
        int klen = snprintf(key, sizeof(key), "%s%s", AUTH_GONE_PREFIX, username);
        int vlen = snprintf(val, sizeof(val), "%lld", (long long)omega_now_ms());
        rc = omega_kv_put(a->db, OMEGA_KV_META, key, (size_t)klen, val, (size_t)vlen, err);
        klen = snprintf(key, sizeof(key), "%s%s", AUTH_USER_PREFIX, username);
        if (rc == 0)
            rc = omega_kv_delete(a->db, OMEGA_KV_META, key, (size_t)klen, err);
    }
    pthread_mutex_unlock(&a->lock);
    if (rc == 0)
        omega_log_info("user '%s' deleted", username);
    return rc;
}
