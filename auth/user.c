/* SPDX-License-Identifier: Apache-2.0 */
/* User records in the KV facade (OMEGA_KV_META, key "user/<name>"), stored as JSON
 * {username, role, hash, disabled, created_at, updated_at, tokens_after?, email?} with
 * times in Unix ms; creating, reading and listing them. Changes (user_admin.c) are
 * read-modify-write under the handle's lock; hashing happens in password.c before the
 * lock is taken, so a slow Argon2id run never holds it. */
#include "auth_int.h"

#include "omega/log.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    const char *uname = NULL, *role = NULL, *hash = NULL, *email = "";
    int disabled = 0;
    json_int_t created = 0, updated = 0, after = 0;
    int rc = 0;

    json_t *root = json_loadb(val, vlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || json_unpack_ex(root, &jerr, 0, "{s:s, s:s, s:s, s:b, s:I, s:I, s?I, s?s}",
                                "username", &uname, "role", &role, "hash", &hash, "disabled",
                                &disabled, "created_at", &created, "updated_at", &updated,
                                "tokens_after", &after, "email", &email) != 0) {
        rc = omega_error_set(err, OMEGA_ECORRUPT, "user record '%s' is unreadable: %s", name,
                             jerr.text);
        goto out;
    }
    memset(out, 0, sizeof(*out));
    if (strcmp(uname, name) != 0 || omega_role_parse(role, &out->info.role) != 0 ||
        strlen(hash) >= sizeof(out->hash) || strlen(email) >= sizeof(out->info.email)) {
        rc = omega_error_set(err, OMEGA_ECORRUPT, "user record '%s' has bad fields", name);
        goto out;
    }
    snprintf(out->info.username, sizeof(out->info.username), "%s", name);
    snprintf(out->hash, sizeof(out->hash), "%s", hash);
    out->info.disabled = disabled != 0;
    out->info.created_at_ms = created;
    out->info.updated_at_ms = updated;
    out->info.tokens_after_ms = after;
    snprintf(out->info.email, sizeof(out->info.email), "%s", email);
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

int auth_user_store(omega_auth_t *a, const auth_user_t *u, omega_error_t *err)
{
    json_t *root = json_pack(
        "{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:s}", "username", u->info.username, "role",
        omega_role_name(u->info.role), "hash", u->hash, "disabled", u->info.disabled, "created_at",
        (json_int_t)u->info.created_at_ms, "updated_at", (json_int_t)u->info.updated_at_ms,
        "tokens_after", (json_int_t)u->info.tokens_after_ms, "email", u->info.email);
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

/* Scan callback: stop with 1 when a stored name equals ctx ignoring case. */
static int same_name(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    const char *name = ctx;
    size_t plen = strlen(AUTH_USER_PREFIX), nlen = strlen(name);
    return klen - plen == nlen && strncasecmp((const char *)key + plen, name, nlen) == 0;
}

int auth_user_insert_locked(omega_auth_t *a, const char *name, const char *hash, omega_role_t role,
                            omega_error_t *err)
{
    int rc = omega_kv_scan(a->db, OMEGA_KV_META, AUTH_USER_PREFIX, strlen(AUTH_USER_PREFIX),
                           same_name, (void *)name, err);
    if (rc == 1)
        return omega_error_set_path(err, OMEGA_EEXIST, "username",
                                    "user '%s' already exists (names ignore case)", name);
    if (rc != 0)
        return rc;
    auth_user_t u;
    memset(&u, 0, sizeof(u));
    snprintf(u.info.username, sizeof(u.info.username), "%s", name);
    snprintf(u.hash, sizeof(u.hash), "%s", hash);
    u.info.role = role;
    u.info.created_at_ms = u.info.updated_at_ms = omega_now_ms();
    /* A name used before: tokens issued to the deleted user must not come back to life. */
    char key[sizeof(AUTH_GONE_PREFIX) + USER_NAME_MAX];
    int klen = snprintf(key, sizeof(key), "%s%s", AUTH_GONE_PREFIX, name);
    char *val = NULL;
    size_t vlen = 0;
    rc = omega_kv_get(a->db, OMEGA_KV_META, key, (size_t)klen, &val, &vlen, err);
    free(val);
    if (rc == 0)
        u.info.tokens_after_ms = u.info.created_at_ms;
    else if (rc != OMEGA_ENOENT)
        return rc;
    return auth_user_store(a, &u, err);
}

int omega_auth_email_valid(const char *s)
{
    static const char local_extra[] = ".!#$%&'*+/=?^_`{|}~-";
    if (!s)
        return 0;
    const char *at = strchr(s, '@');
    size_t len = strlen(s);
    if (!at || at == s || len > OMEGA_AUTH_EMAIL_MAX || strchr(at + 1, '@') || !at[1])
        return 0;
    for (const char *p = s; p < at; p++)
        if (!isalnum((unsigned char)*p) || (unsigned char)*p > 127)
            if (!strchr(local_extra, *p))
                return 0;
    for (const char *p = at + 1; *p; p++)
        if (!(isalnum((unsigned char)*p) && (unsigned char)*p < 128) && *p != '.' && *p != '-')
            return 0;
    return at[1] != '.' && s[len - 1] != '.';
}

int omega_auth_user_add(omega_auth_t *a, const char *username, const char *password,
                        omega_role_t role, omega_error_t *err)
{
    return omega_auth_user_create(a, username, password, role, NULL, err);
}

int omega_auth_user_create(omega_auth_t *a, const char *username, const char *password,
                           omega_role_t role, const char *email, omega_error_t *err)
{
    if (!omega_auth_username_valid(username))
        return omega_error_set_path(err, OMEGA_EINVAL, "username",
                                    "username must match [A-Za-z0-9_.@-]{1,64}");
    if (!omega_role_name(role))
        return omega_error_set_path(err, OMEGA_EINVAL, "role", "unknown role %d", (int)role);
    if (email && *email && !omega_auth_email_valid(email))
        return omega_error_set_path(err, OMEGA_EINVAL, "email",
                                    "email must be an address like name@example.org");
    int rc = auth_password_policy(password, a->opts.min_password_len, err);
    if (rc != 0)
        return rc;
    char hash[AUTH_HASH_MAX];
    rc = auth_password_hash(password, hash, err);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&a->lock);
    rc = auth_user_insert_locked(a, username, hash, role, err);
    if (rc == 0 && email && *email) {
        auth_user_t u;
        rc = auth_user_load(a, username, &u, err);
        snprintf(u.info.email, sizeof(u.info.email), "%s", email);
        if (rc == 0)
            rc = auth_user_store(a, &u, err);
    }
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

/* Collects parsed users for omega_auth_user_list(). */
typedef struct list_ctx {
    omega_auth_t *a;
    omega_user_info_t *items; /* grown array */
    size_t n, cap;            /* used / allocated */
    omega_error_t *err;       /* first parse error */
    int rc;                   /* its code */
} list_ctx_t;

static int list_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    list_ctx_t *c = ctx;
    size_t plen = strlen(AUTH_USER_PREFIX);
    char name[USER_NAME_MAX + 1];
    if (klen - plen > USER_NAME_MAX)
        return 0; /* not a name we ever write */
    memcpy(name, (const char *)key + plen, klen - plen);
    name[klen - plen] = '\0';
    auth_user_t u;
    int rc = user_parse(name, val, vlen, &u, c->err);
    if (rc != 0) {
        c->rc = rc;
        return 1;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->items = omega_realloc(c->items, c->cap * sizeof(*c->items));
    }
    c->items[c->n++] = u.info;
    return 0;
}

int omega_auth_user_list(omega_auth_t *a, omega_user_info_t **out, size_t *n, omega_error_t *err)
{
    list_ctx_t c = {.a = a, .err = err};
    int rc = omega_kv_scan(a->db, OMEGA_KV_META, AUTH_USER_PREFIX, strlen(AUTH_USER_PREFIX),
                           list_one, &c, err);
    if (rc == 1)
        rc = c.rc;
    if (rc != 0) {
        free(c.items);
        *out = NULL;
        *n = 0;
        return rc;
    }
    *out = c.items; /* key order is name order */
    *n = c.n;
    return 0;
}
