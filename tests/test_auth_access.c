/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of auth/'s permission model (API.md's RBAC table, security.access_control role
 * lists, API key scopes), API keys (shown once, stored as a keyed hash, forged and
 * malformed keys refused, last use recorded) and the hash-chained audit log (query
 * filters, and tampering done directly through omega_kv_* being detected). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omega/auth.h"
#include "omega/log.h"
#include "omega/tsdb.h"
#include "authtest.h"
#include "testutil.h"

typedef authtest_t fx_t;


static int setup(void **state)
{
    return authtest_setup(state, "auth_access");
}

static int teardown(void **state)
{
    return authtest_teardown(state);
}

/* ---- RBAC ---- */

/* API.md's table, row by row: viewer, developer, analyst, admin, superuser. */
static const struct {
    omega_perm_t perm;
    int allowed[5];
} matrix[] = {
    {OMEGA_PERM_PUBLIC, {1, 1, 1, 1, 1}},
    {OMEGA_PERM_AUTHENTICATED, {1, 1, 1, 1, 1}},
    {OMEGA_PERM_READ, {1, 1, 1, 1, 1}},
    {OMEGA_PERM_INGEST, {0, 1, 0, 1, 1}},
    {OMEGA_PERM_ACK, {0, 1, 0, 1, 1}},
    {OMEGA_PERM_EXPORT, {0, 0, 1, 1, 1}},
    {OMEGA_PERM_DASHBOARD_SAVE, {0, 1, 1, 1, 1}},
    {OMEGA_PERM_ADMIN, {0, 0, 0, 1, 1}},
    {OMEGA_PERM_SUPERUSER, {0, 0, 0, 0, 1}},
};

static void test_default_matrix_is_api_md_table(void **state)
{
    fx_t *f = *state;
    assert_int_equal(sizeof(matrix) / sizeof(matrix[0]), OMEGA_PERM_COUNT);
    for (size_t i = 0; i < OMEGA_PERM_COUNT; i++)
        for (int r = 0; r < 5; r++)
            if (omega_auth_role_allows(f->auth, (omega_role_t)r, matrix[i].perm) !=
                matrix[i].allowed[r])
                fail_msg("role %s, permission %s", omega_role_name((omega_role_t)r),
                         omega_perm_name(matrix[i].perm));
    /* Out-of-range values are refused, never indexed. */
    assert_int_equal(omega_auth_role_allows(f->auth, (omega_role_t)5, OMEGA_PERM_READ), 0);
    assert_int_equal(omega_auth_role_allows(f->auth, (omega_role_t)-1, OMEGA_PERM_READ), 0);
    assert_int_equal(omega_auth_role_allows(f->auth, OMEGA_ROLE_SUPERUSER, (omega_perm_t)99), 0);
    assert_null(omega_perm_name((omega_perm_t)OMEGA_PERM_COUNT));
    assert_string_equal(omega_perm_name(OMEGA_PERM_DASHBOARD_SAVE), "dashboard_save");
}

static void test_access_control_lists_are_honoured(void **state)
{
    fx_t *f = *state;
    omega_auth_options_t o;
    omega_auth_options_init(&o);
    /* Developers become admins; analysts drop out of viewer_roles (read only); admins are
     * no longer in admin_roles nor viewer_roles (read only); superuser keeps everything. */
    o.admin_roles = OMEGA_ROLE_BIT(OMEGA_ROLE_DEVELOPER);
    o.viewer_roles = 0;
    authtest_open_auth(f, &o);
    assert_true(omega_auth_role_allows(f->auth, OMEGA_ROLE_DEVELOPER, OMEGA_PERM_ADMIN));
    assert_true(omega_auth_role_allows(f->auth, OMEGA_ROLE_DEVELOPER, OMEGA_PERM_EXPORT));
    assert_false(omega_auth_role_allows(f->auth, OMEGA_ROLE_DEVELOPER, OMEGA_PERM_SUPERUSER));
    assert_false(omega_auth_role_allows(f->auth, OMEGA_ROLE_ANALYST, OMEGA_PERM_EXPORT));
    assert_true(omega_auth_role_allows(f->auth, OMEGA_ROLE_ANALYST, OMEGA_PERM_READ));
    assert_false(omega_auth_role_allows(f->auth, OMEGA_ROLE_ADMIN, OMEGA_PERM_ADMIN));
    assert_false(omega_auth_role_allows(f->auth, OMEGA_ROLE_ADMIN, OMEGA_PERM_INGEST));
    assert_true(omega_auth_role_allows(f->auth, OMEGA_ROLE_ADMIN, OMEGA_PERM_READ));
    assert_true(omega_auth_role_allows(f->auth, OMEGA_ROLE_SUPERUSER, OMEGA_PERM_SUPERUSER));
    assert_true(omega_auth_role_allows(f->auth, OMEGA_ROLE_SUPERUSER, OMEGA_PERM_ADMIN));
    /* A viewer listed in viewer_roles keeps its own column: read only. */
    o.viewer_roles = OMEGA_ROLE_BIT(OMEGA_ROLE_VIEWER);
    authtest_open_auth(f, &o);
    assert_false(omega_auth_role_allows(f->auth, OMEGA_ROLE_VIEWER, OMEGA_PERM_INGEST));
    assert_int_equal(omega_auth_default_role(f->auth), OMEGA_ROLE_VIEWER);
    o.default_role = OMEGA_ROLE_ANALYST;
    authtest_open_auth(f, &o);
    assert_int_equal(omega_auth_default_role(f->auth), OMEGA_ROLE_ANALYST);
}

static void test_rbac_off_makes_every_session_admin_but_not_superuser(void **state)
{
    fx_t *f = *state;
    omega_auth_options_t o;
    omega_auth_options_init(&o);
    assert_int_equal(o.rbac, 1);
    o.rbac = 0;
    authtest_open_auth(f, &o);
    for (int r = OMEGA_ROLE_VIEWER; r <= OMEGA_ROLE_ADMIN; r++) {
        for (int p = OMEGA_PERM_PUBLIC; p < OMEGA_PERM_SUPERUSER; p++)
            assert_true(omega_auth_role_allows(f->auth, (omega_role_t)r, (omega_perm_t)p));
        assert_false(omega_auth_role_allows(f->auth, (omega_role_t)r, OMEGA_PERM_SUPERUSER));
    }
    assert_true(omega_auth_role_allows(f->auth, OMEGA_ROLE_SUPERUSER, OMEGA_PERM_SUPERUSER));
    /* API keys keep their scopes; bad roles and permissions stay refused. */
    omega_principal_t k = {.is_api_key = 1, .scopes = OMEGA_SCOPE_INGEST};
    assert_false(omega_auth_allows(f->auth, &k, OMEGA_PERM_READ));
    assert_false(omega_auth_role_allows(f->auth, (omega_role_t)9, OMEGA_PERM_READ));
    assert_false(omega_auth_role_allows(f->auth, OMEGA_ROLE_VIEWER, (omega_perm_t)99));
}

static void test_consent_recorded_withdrawn_and_kept(void **state)
{
    fx_t *f = *state;
    omega_consent_t c;
    memset(&c, 0xff, sizeof(c));
    assert_int_equal(omega_auth_consent_get(f->auth, &c, NULL), 0);
    assert_int_equal(c.granted, 0);
    assert_int_equal(c.at_ms, 0);
    assert_string_equal(c.by, "");
    assert_int_equal(omega_auth_consent_set(f->auth, 1, "admin", NULL), 0);
    authtest_open_auth(f, NULL); /* kept across a reopen */
    assert_int_equal(omega_auth_consent_get(f->auth, &c, NULL), 0);
    assert_int_equal(c.granted, 1);
    assert_string_equal(c.by, "admin");
    assert_true(c.at_ms > 0);
    assert_int_equal(omega_auth_consent_set(f->auth, 0, "ops.lead", NULL), 0);
    assert_int_equal(omega_auth_consent_get(f->auth, &c, NULL), 0);
    assert_int_equal(c.granted, 0);
    assert_string_equal(c.by, "ops.lead");
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_auth_consent_set(f->auth, 1, "bad name", &err), OMEGA_EINVAL);
    assert_int_equal(omega_auth_consent_set(f->auth, 1, NULL, &err), OMEGA_EINVAL);
    assert_int_equal(omega_kv_put(f->db, OMEGA_KV_META, "privacy/consent", 15, "{\"granted\":1}",
                                  13, NULL),
                     0);
    assert_int_equal(omega_auth_consent_get(f->auth, &c, &err), OMEGA_ECORRUPT);
    assert_int_equal(c.granted, 0);
}

static void test_api_key_scopes_decide(void **state)
{
    fx_t *f = *state;
    omega_principal_t k = {.is_api_key = 1, .role = OMEGA_ROLE_SUPERUSER,
                           .scopes = OMEGA_SCOPE_INGEST};
    assert_true(omega_auth_allows(f->auth, &k, OMEGA_PERM_INGEST));
    assert_true(omega_auth_allows(f->auth, &k, OMEGA_PERM_AUTHENTICATED));
    assert_false(omega_auth_allows(f->auth, &k, OMEGA_PERM_READ));
    assert_false(omega_auth_allows(f->auth, &k, OMEGA_PERM_ADMIN)); /* role is ignored */
    k.scopes = OMEGA_SCOPE_READ;
    assert_true(omega_auth_allows(f->auth, &k, OMEGA_PERM_READ));
    assert_false(omega_auth_allows(f->auth, &k, OMEGA_PERM_INGEST));
    assert_false(omega_auth_allows(f->auth, &k, OMEGA_PERM_EXPORT));
    omega_principal_t s = {.role = OMEGA_ROLE_DEVELOPER};
    assert_true(omega_auth_allows(f->auth, &s, OMEGA_PERM_INGEST));
    assert_false(omega_auth_allows(f->auth, &s, OMEGA_PERM_EXPORT));
}

/* ---- API keys ---- */

static void test_apikey_create_verify_list_delete(void **state)
{
    fx_t *f = *state;
    char key[OMEGA_APIKEY_MAX];
    omega_apikey_info_t info;
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_auth_apikey_create(f->auth, "build agent <b>", OMEGA_SCOPE_INGEST,
                                              "admin", key, &info, &err),
                     0);
    assert_int_equal(strncmp(key, "omk_", 4), 0);
    assert_int_equal(strlen(key), 4 + 12 + 1 + 64);
    assert_int_equal(strncmp(key, info.prefix, strlen(info.prefix)), 0);
    assert_int_equal(info.last_used_ms, 0);

    /* The store holds the keyed hash, never the key or its secret part. */
    char *val = NULL;
    size_t vlen = 0;
    char k[64];
    snprintf(k, sizeof(k), "apikey/%s", info.id);
    assert_int_equal(omega_kv_get(f->db, OMEGA_KV_META, k, strlen(k), &val, &vlen, NULL), 0);
    assert_null(strstr(val, key + 17));
    free(val);

    omega_principal_t p;
    assert_int_equal(omega_auth_verify_credential(f->auth, key, &p, &err), 0);
    assert_int_equal(p.is_api_key, 1);
    assert_int_equal(p.scopes, OMEGA_SCOPE_INGEST);
    assert_string_equal(p.username, "admin");
    assert_string_equal(p.jti, info.id);

    omega_apikey_info_t *list = NULL;
    size_t n = 0;
    assert_int_equal(omega_auth_apikey_list(f->auth, &list, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "build agent <b>");
    assert_true(list[0].last_used_ms > 0); /* recorded by the verification above */
    free(list);

    assert_int_equal(omega_auth_apikey_delete(f->auth, info.id, &err), 0);
    assert_int_equal(omega_auth_apikey_verify(f->auth, key, &p, &err), OMEGA_EACCES);
    assert_int_equal(omega_auth_apikey_delete(f->auth, info.id, &err), OMEGA_ENOENT);
    assert_int_equal(omega_auth_apikey_delete(f->auth, "../../x", &err), OMEGA_ENOENT);
    assert_int_equal(omega_auth_apikey_list(f->auth, &list, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(list);
}

static void test_apikey_forged_and_malformed_refused(void **state)
{
    fx_t *f = *state;
    char key[OMEGA_APIKEY_MAX], forged[OMEGA_APIKEY_MAX + 8];
    omega_apikey_info_t info;
    assert_int_equal(omega_auth_apikey_create(f->auth, "k", OMEGA_SCOPE_READ, "admin", key, &info,
                                              NULL),
                     0);
    omega_principal_t p;
    omega_error_t err;
    /* Same id, one secret digit changed. */
    snprintf(forged, sizeof(forged), "%s", key);
    size_t n = strlen(forged);
    forged[n - 1] = forged[n - 1] == '0' ? '1' : '0';
    assert_int_equal(omega_auth_apikey_verify(f->auth, forged, &p, &err), OMEGA_EACCES);
    assert_int_equal(p.is_api_key, 0);
    const char *bad[] = {"", "omk_", "omk_zz", "OMK_0123", "omk_0123456789ab_",
                         "omk_0123456789ab-0000000000000000000000000000000000000000000000000000000000000000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(omega_auth_apikey_verify(f->auth, bad[i], &p, &err), OMEGA_EACCES);
    assert_int_equal(omega_auth_apikey_verify(f->auth, NULL, &p, &err), OMEGA_EACCES);
    snprintf(forged, sizeof(forged), "%sA", key); /* one byte too long */
    assert_int_equal(omega_auth_apikey_verify(f->auth, forged, &p, &err), OMEGA_EACCES);
    /* Keys of another instance (other server secret) do not verify here. */
    omega_auth_destroy(f->auth);
    f->auth = NULL;
    assert_int_equal(omega_kv_delete(f->db, OMEGA_KV_META, "auth/apikey_key", 15, NULL), 0);
    authtest_open_auth(f, NULL);
    assert_int_equal(omega_auth_apikey_verify(f->auth, key, &p, &err), OMEGA_EACCES);
}

static void test_apikey_bad_create_input(void **state)
{
    fx_t *f = *state;
    char key[OMEGA_APIKEY_MAX], longname[200];
    omega_error_t err;
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(omega_auth_apikey_create(f->auth, "", 1, "a", key, NULL, &err), OMEGA_EINVAL);
    assert_string_equal(err.path, "name");
    assert_int_equal(omega_auth_apikey_create(f->auth, longname, 1, "a", key, NULL, &err),
                     OMEGA_EINVAL);
    assert_int_equal(omega_auth_apikey_create(f->auth, "tab\tname", 1, "a", key, NULL, &err),
                     OMEGA_EINVAL);
    assert_int_equal(omega_auth_apikey_create(f->auth, "\xff\xfe", 1, "a", key, NULL, &err),
                     OMEGA_EINVAL);
    assert_int_equal(omega_auth_apikey_create(f->auth, "ok", 0, "a", key, NULL, &err),
                     OMEGA_EINVAL);
    assert_string_equal(err.path, "scopes");
    assert_int_equal(omega_auth_apikey_create(f->auth, "ok", 4, "a", key, NULL, &err),
                     OMEGA_EINVAL);
    unsigned s = 0;
    assert_int_equal(omega_scope_parse("ingest", &s), 0);
    assert_int_equal(s, OMEGA_SCOPE_INGEST);
    assert_int_equal(omega_scope_parse("admin", &s), OMEGA_EINVAL);
    assert_int_equal(omega_scope_parse(NULL, &s), OMEGA_EINVAL);
}

/* ---- audit log ---- */

static void audit(fx_t *f, const char *action, const char *target, const char *outcome)
{
    omega_audit_event_t ev = {.actor = "admin", .role = "superuser", .address = "127.0.0.1",
                              .action = action, .target = target, .outcome = outcome};
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_auth_audit(f->auth, &ev, &err) != 0)
        fail_msg("audit: %s", err.message);
}

typedef struct keys {
    char k[16][16]; /* the audit space's keys, in order */
    size_t n;
    char *texts[16]; /* and values (malloc'd) */
} keys_t;

static int collect(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    keys_t *k = ctx;
    if (k->n < 16 && klen == 16) {
        memcpy(k->k[k->n], key, 16);
        k->texts[k->n++] = strndup(val, vlen);
    }
    return 0;
}

static void keys_free(keys_t *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->texts[i]);
}

static void verify_expect(fx_t *f, int rc, const char *reason, size_t n)
{
    size_t checked = 99;
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_auth_audit_verify(f->auth, &checked, &err), rc);
    if (reason && !strstr(err.message, reason))
        fail_msg("expected '%s', got '%s'", reason, err.message);
    if (rc == 0)
        assert_int_equal(checked, n);
}

static void fill(fx_t *f)
{
    audit(f, "auth.login", "alice", "success");
    audit(f, "user.create", "bob", "success");
    audit(f, "user.delete", "bob", "success");
    audit(f, "auth.login", "mallory", "failure");
    audit(f, "apikey.create", "0123", "success");
}

static int count_cb(void *ctx, const char *json, size_t len)
{
    (*(int *)ctx)++;
    return 0;
}

static void test_audit_query_filters(void **state)
{
    fx_t *f = *state;
    int64_t t0 = omega_now_ms();
    fill(f);
    int n = 0;
    assert_int_equal(omega_auth_audit_query(f->auth, 0, INT64_MAX, NULL, 100, count_cb, &n, NULL),
                     0);
    assert_int_equal(n, 5);
    n = 0;
    assert_int_equal(
        omega_auth_audit_query(f->auth, 0, INT64_MAX, "auth.login", 100, count_cb, &n, NULL), 0);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_equal(
        omega_auth_audit_query(f->auth, 0, INT64_MAX, "deletion", 100, count_cb, &n, NULL), 0);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(
        omega_auth_audit_query(f->auth, 0, INT64_MAX, "modification", 2, count_cb, &n, NULL), 0);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_equal(omega_auth_audit_query(f->auth, 0, t0 - 1, NULL, 100, count_cb, &n, NULL), 0);
    assert_int_equal(n, 0);
    n = 0;
    assert_int_equal(
        omega_auth_audit_query(f->auth, omega_now_ms() + 1000, INT64_MAX, NULL, 100, count_cb, &n,
                               NULL),
        0);
    assert_int_equal(n, 0);
    verify_expect(f, 0, NULL, 5);
    assert_string_equal(omega_audit_category_of("apikey.revoke"), "deletion");
    assert_string_equal(omega_audit_category_of("report.export"), "export");
    assert_string_equal(omega_audit_category_of(NULL), "modification");
}

static void test_audit_entries_are_chained_and_survive_reopen(void **state)
{
    fx_t *f = *state;
    fill(f);
    authtest_open_auth(f, NULL);
    audit(f, "auth.logout", "alice", "success");
    verify_expect(f, 0, NULL, 6);
    keys_t k = {0};
    assert_int_equal(omega_kv_scan(f->db, OMEGA_KV_AUDIT, NULL, 0, collect, &k, NULL), 0);
    assert_int_equal(k.n, 6);
    assert_non_null(strstr(k.texts[0], "\"prev\":\"0000000000"));
    assert_non_null(strstr(k.texts[5], "\"seq\":6"));
    assert_non_null(strstr(k.texts[3], "\"category\":\"access\""));
    keys_free(&k);
}

static void test_audit_tampering_detected(void **state)
{
    fx_t *f = *state;
    fill(f);
    keys_t k = {0};
    assert_int_equal(omega_kv_scan(f->db, OMEGA_KV_AUDIT, NULL, 0, collect, &k, NULL), 0);
    assert_int_equal(k.n, 5);

    /* 1. Edit an entry in the middle: the next one no longer chains to it. */
    char *edited = strdup(k.texts[1]);
    char *p = strstr(edited, "\"bob\"");
    assert_non_null(p);
    p[1] = 'r'; /* "rob" */
    assert_int_equal(omega_kv_put(f->db, OMEGA_KV_AUDIT, k.k[1], 16, edited, strlen(edited), NULL),
                     0);
    free(edited);
    verify_expect(f, OMEGA_ECORRUPT, "entry 3 does not chain", 0);
    assert_int_equal(
        omega_kv_put(f->db, OMEGA_KV_AUDIT, k.k[1], 16, k.texts[1], strlen(k.texts[1]), NULL), 0);
    verify_expect(f, 0, NULL, 5);

    /* 2. Remove an entry in the middle. */
    assert_int_equal(omega_kv_delete(f->db, OMEGA_KV_AUDIT, k.k[2], 16, NULL), 0);
    verify_expect(f, OMEGA_ECORRUPT, "entries 3..3 are missing", 0);
    assert_int_equal(
        omega_kv_put(f->db, OMEGA_KV_AUDIT, k.k[2], 16, k.texts[2], strlen(k.texts[2]), NULL), 0);
    verify_expect(f, 0, NULL, 5);

    /* 3. Remove the newest entry: the head no longer matches. */
    assert_int_equal(omega_kv_delete(f->db, OMEGA_KV_AUDIT, k.k[4], 16, NULL), 0);
    verify_expect(f, OMEGA_ECORRUPT, "newest audit entries", 0);
    assert_int_equal(
        omega_kv_put(f->db, OMEGA_KV_AUDIT, k.k[4], 16, k.texts[4], strlen(k.texts[4]), NULL), 0);

    /* 4. Edit the newest entry. */
    char *last = strdup(k.texts[4]);
    p = strstr(last, "success");
    assert_non_null(p);
    memcpy(p, "failure", 7);
    assert_int_equal(omega_kv_put(f->db, OMEGA_KV_AUDIT, k.k[4], 16, last, strlen(last), NULL), 0);
    free(last);
    verify_expect(f, OMEGA_ECORRUPT, "newest audit entries", 0);
    assert_int_equal(
        omega_kv_put(f->db, OMEGA_KV_AUDIT, k.k[4], 16, k.texts[4], strlen(k.texts[4]), NULL), 0);

    /* 5. Remove the oldest entry (no anchor explains it). */
    assert_int_equal(omega_kv_delete(f->db, OMEGA_KV_AUDIT, k.k[0], 16, NULL), 0);
    verify_expect(f, OMEGA_ECORRUPT, "entries 1..1 are missing", 0);
    assert_int_equal(
        omega_kv_put(f->db, OMEGA_KV_AUDIT, k.k[0], 16, k.texts[0], strlen(k.texts[0]), NULL), 0);

    /* 6. Garbage in place of an entry. */
    assert_int_equal(omega_kv_put(f->db, OMEGA_KV_AUDIT, k.k[3], 16, "{oops", 5, NULL), 0);
    verify_expect(f, OMEGA_ECORRUPT, "unreadable", 0);
    assert_int_equal(
        omega_kv_put(f->db, OMEGA_KV_AUDIT, k.k[3], 16, k.texts[3], strlen(k.texts[3]), NULL), 0);
    verify_expect(f, 0, NULL, 5);
    keys_free(&k);
}

static void test_audit_retention_prunes_and_chain_still_verifies(void **state)
{
    fx_t *f = *state;
    omega_auth_options_t o;
    omega_auth_options_init(&o);
    o.audit_retention_ms = 1000;
    authtest_open_auth(f, &o);
    fill(f); /* the first append prunes (nothing yet) */
    struct timespec ts = {1, 200000000};
    nanosleep(&ts, NULL);
    authtest_open_auth(f, &o); /* a new handle prunes at its first append */
    audit(f, "auth.login", "carol", "success");
    keys_t k = {0};
    assert_int_equal(omega_kv_scan(f->db, OMEGA_KV_AUDIT, NULL, 0, collect, &k, NULL), 0);
    assert_int_equal(k.n, 1);
    assert_non_null(strstr(k.texts[0], "\"seq\":6"));
    keys_free(&k);
    verify_expect(f, 0, NULL, 1);
    audit(f, "auth.logout", "carol", "success");
    verify_expect(f, 0, NULL, 2);
}

static void test_audit_off_and_categories(void **state)
{
    fx_t *f = *state;
    omega_auth_options_t o;
    omega_auth_options_init(&o);
    o.audit_categories = OMEGA_AUDIT_DELETION;
    authtest_open_auth(f, &o);
    fill(f);
    verify_expect(f, 0, NULL, 1);
    o.audit_enabled = 0;
    authtest_open_auth(f, &o);
    fill(f);
    verify_expect(f, 0, NULL, 1);
    unsigned c = 0;
    assert_int_equal(omega_audit_category_parse("export", &c), 0);
    assert_int_equal(c, OMEGA_AUDIT_EXPORT);
    assert_int_equal(omega_audit_category_parse("exports", &c), OMEGA_EINVAL);
}

static void test_audit_hostile_strings_stored_as_text(void **state)
{
    fx_t *f = *state;
    char big[4096];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    omega_audit_event_t ev = {.actor = "\xff\xfe<script>", .address = "'; DROP TABLE x; --",
                              .action = "user.update", .target = big,
                              .detail = "\"}],\"evil\":1", .outcome = NULL};
    assert_int_equal(omega_auth_audit(f->auth, &ev, NULL), 0);
    keys_t k = {0};
    assert_int_equal(omega_kv_scan(f->db, OMEGA_KV_AUDIT, NULL, 0, collect, &k, NULL), 0);
    assert_int_equal(k.n, 1);
    assert_true(strlen(k.texts[0]) < 1500); /* target truncated */
    assert_non_null(strstr(k.texts[0], "\"actor\":\"?\?<script>\""));
    assert_non_null(strstr(k.texts[0], "\\\"}],\\\"evil\\\":1"));
    keys_free(&k);
    verify_expect(f, 0, NULL, 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    omega_log_set_level(OMEGA_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        T(test_default_matrix_is_api_md_table),
        T(test_access_control_lists_are_honoured),
        T(test_rbac_off_makes_every_session_admin_but_not_superuser),
        T(test_consent_recorded_withdrawn_and_kept),
        T(test_api_key_scopes_decide),
        T(test_apikey_create_verify_list_delete),
        T(test_apikey_forged_and_malformed_refused),
        T(test_apikey_bad_create_input),
        T(test_audit_query_filters),
        T(test_audit_entries_are_chained_and_survive_reopen),
        T(test_audit_tampering_detected),
        T(test_audit_retention_prunes_and_chain_still_verifies),
        T(test_audit_off_and_categories),
        T(test_audit_hostile_strings_stored_as_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
