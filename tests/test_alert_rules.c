/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of changing rules in place over a real store: disabling a rule ("enabled": false),
 * JSON merge patches, and editing the built-in rules made from the configuration — the
 * change stored as an override that survives restarts and wins over later configuration
 * changes of the same field while the other fields follow the configuration, shown as
 * "modified" with the configuration's values, restorable to the default; bad edits. Also
 * flap detection (an alert changing state too often holds its notifications back). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omega/alert.h"
#include "omega/log.h"
#include "omega/tsdb.h"
#include "storetest.h"
#include "testutil.h"

typedef struct fx {
    char *dir;
    omega_tsdb_t *db;
    omega_alert_engine_t *e;
    omega_config_t *cfg; /* NULL = defaults */
    int64_t t0;
} fx_t;

/* (Re)start the engine with the built-in rules over config text (NULL = defaults). */
static void restart(fx_t *f, const char *config)
{
    omega_alert_destroy(f->e);
    f->e = NULL;
    omega_config_destroy(f->cfg);
    f->cfg = NULL;
    if (config)
        assert_int_equal(
            omega_config_load_string(config, strlen(config), NULL, NULL, NULL, &f->cfg), 0);
    omega_alert_options_t o;
    omega_alert_options_init(&o);
    o.cfg = f->cfg;
    f->e = omega_alert_create(f->db, &o, NULL);
    assert_non_null(f->e);
}

static int setup(void **state)
{
    omega_log_set_level(OMEGA_LOG_ERROR);
    fx_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("alertrules");
    f->db = storetest_open(f->dir);
    restart(f, NULL);
    f->t0 = omega_now_ms() / 1000 * 1000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    omega_alert_destroy(f->e);
    omega_config_destroy(f->cfg);
    omega_tsdb_close(f->db);
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* The rule as JSON (caller decrefs). */
static json_t *get_rule(fx_t *f, const char *id)
{
    char *out = NULL;
    assert_int_equal(omega_alert_rule_get(f->e, id, &out, NULL), 0);
    json_t *r = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(r);
    return r;
}

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_number(v))
        fail_msg("%s is not a number", k);
    return json_number_value(v);
}

static void cpu(fx_t *f, int64_t at_ms, double v)
{
    omega_label_t l = {"cpu", "total"};
    omega_point_t p = {"system_cpu_usage_percent", &l, 1, f->t0 + at_ms, v};
    assert_int_equal(omega_tsdb_write(f->db, &p, 1, NULL), 0);
}

/* Number of active alerts of rule_id. */
static int active_of(fx_t *f, const char *rule_id)
{
    char *out = NULL;
    assert_int_equal(omega_alert_active(f->e, &out, NULL), 0);
    json_t *a = json_loads(out, 0, NULL);
    free(out);
    int n = 0;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(a, "items"), i, it)
    {
        n += strcmp(json_string_value(json_object_get(it, "rule_id")), rule_id) == 0;
    }
    json_decref(a);
    return n;
}

/* Editing a built-in rule: the changed fields are the override ("modified", "defaults"),
 * the rule is evaluated with them, and they survive a restart. */
static void test_builtin_edit_persists(void **state)
{
    fx_t *f = *state;
    json_t *r = get_rule(f, "builtin-cpu-usage");
    assert_true(json_is_false(json_object_get(r, "modified")));
    assert_true(json_is_true(json_object_get(r, "enabled")));
    assert_null(json_object_get(r, "defaults"));
    json_decref(r);
    /* A full PUT of the GET document with two fields changed (status fields ignored). */
    r = get_rule(f, "builtin-cpu-usage");
    json_object_set_new(r, "warning", json_real(60));
    json_object_set_new(r, "for", json_string("30s"));
    char *body = json_dumps(r, 0);
    json_decref(r);
    char *out = NULL;
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_alert_rule_put(f->e, "builtin-cpu-usage", body, &out, &err) != 0)
        fail_msg("edit refused: %s", err.message);
    free(body);
    r = json_loads(out, 0, NULL);
    free(out);
    assert_true(json_is_true(json_object_get(r, "modified")));
    json_t *d = json_object_get(r, "defaults");
    assert_int_equal((int)json_object_size(d), 2);
    assert_true(num(d, "warning") == 80);
    assert_true(num(d, "for") == 0);
    assert_true(num(r, "warning") == 60);
    assert_true(num(r, "critical") == 95);
    json_decref(r);
    /* The new threshold and `for` drive evaluation: 65% is pending, then firing 30 s on. */
    cpu(f, 0, 65);
    assert_int_equal(omega_alert_evaluate(f->e, f->t0), 0);
    assert_int_equal(active_of(f, "builtin-cpu-usage"), 1);
    restart(f, NULL);
    r = get_rule(f, "builtin-cpu-usage");
    assert_true(json_is_true(json_object_get(r, "modified")));
    assert_true(num(r, "warning") == 60);
    assert_true(num(r, "for") == 30);
    json_decref(r);
    assert_int_equal(active_of(f, "builtin-cpu-usage"), 1); /* the pending alert came back */
}

/* "enabled": false through a merge patch: the rule stays listed but is not evaluated, its
 * alerts go; a restart keeps it disabled; re-enabling evaluates again. */
static void test_disable_builtin_and_user_rule(void **state)
{
    fx_t *f = *state;
    cpu(f, 0, 99);
    assert_int_equal(omega_alert_evaluate(f->e, f->t0), 0);
    assert_int_equal(active_of(f, "builtin-cpu-usage"), 1);
    char *out = NULL;
    assert_int_equal(
        omega_alert_rule_patch(f->e, "builtin-cpu-usage", "{\"enabled\":false}", &out, NULL), 0);
    json_t *r = json_loads(out, 0, NULL);
    free(out);
    assert_true(json_is_false(json_object_get(r, "enabled")));
    assert_true(json_is_true(json_object_get(json_object_get(r, "defaults"), "enabled")));
    assert_true(num(r, "warning") == 80); /* the rest untouched */
    json_decref(r);
    assert_int_equal(active_of(f, "builtin-cpu-usage"), 0);
    cpu(f, 1000, 99);
    assert_int_equal(omega_alert_evaluate(f->e, f->t0 + 1000), 0);
    assert_int_equal(active_of(f, "builtin-cpu-usage"), 0);
    r = get_rule(f, "builtin-cpu-usage");
    assert_true(json_is_null(json_object_get(r, "last_evaluated_at")));
    json_decref(r);
    /* A user rule the same way; a disabled event rule ignores its events. */
    assert_int_equal(omega_alert_rule_put(f->e, NULL,
                                          "{\"id\":\"hot\",\"name\":\"hot\",\"expr\":"
                                          "\"system_cpu_usage_percent\",\"warning\":50}",
                                          NULL, NULL),
                     0);
    assert_int_equal(omega_alert_rule_patch(f->e, "hot", "{\"enabled\":false}", NULL, NULL), 0);
    assert_int_equal(
        omega_alert_rule_patch(f->e, "builtin-process-exit", "{\"enabled\":false}", NULL, NULL), 0);
    omega_label_t l[2] = {{"name", "cc1"}, {"pid", "42"}};
    assert_int_equal(omega_alert_raise(f->e, "builtin-process-exit", l, 2, 139, f->t0, NULL), 0);
    assert_int_equal(active_of(f, "builtin-process-exit"), 0);
    restart(f, NULL);
    cpu(f, 2000, 99);
    assert_int_equal(omega_alert_evaluate(f->e, f->t0 + 2000), 0);
    assert_int_equal(active_of(f, "builtin-cpu-usage"), 0);
    assert_int_equal(active_of(f, "hot"), 0);
    r = get_rule(f, "hot");
    assert_true(json_is_false(json_object_get(r, "enabled")));
    assert_null(json_object_get(r, "modified")); /* user rules have no default */
    json_decref(r);
    assert_int_equal(omega_alert_rule_patch(f->e, "hot", "{\"enabled\":true}", NULL, NULL), 0);
    assert_int_equal(
        omega_alert_rule_patch(f->e, "builtin-cpu-usage", "{\"enabled\":null}", NULL, NULL), 0);
    assert_int_equal(omega_alert_evaluate(f->e, f->t0 + 2000), 0);
    assert_int_equal(active_of(f, "builtin-cpu-usage"), 1);
    assert_int_equal(active_of(f, "hot"), 1);
    r = get_rule(f, "builtin-cpu-usage");
    assert_true(json_is_false(json_object_get(r, "modified"))); /* back to the default */
    json_decref(r);
}

/* Later configuration changes: a field the user changed keeps the user's value (and the
 * config's new value shows under "defaults"), the others follow the configuration; a
 * change that no longer fits the configuration is left out, and restoring the default
 * forgets it for good. */
static void test_config_change_after_override(void **state)
{
    fx_t *f = *state;
    assert_int_equal(
        omega_alert_rule_patch(f->e, "builtin-cpu-usage", "{\"critical\":97}", NULL, NULL), 0);
    assert_int_equal(
        omega_alert_rule_patch(f->e, "builtin-memory-usage", "{\"warning\":84}", NULL, NULL), 0);
    restart(f, "{\"alerting\":{\"alert_thresholds\":{\"cpu_usage_warning\":70,"
               "\"cpu_usage_critical\":90,\"memory_usage_critical\":80,"
               "\"memory_usage_warning\":60}}}");
    json_t *r = get_rule(f, "builtin-cpu-usage");
    assert_true(num(r, "warning") == 70);  /* follows the configuration */
    assert_true(num(r, "critical") == 97); /* the user's value wins */
    assert_true(json_is_true(json_object_get(r, "modified")));
    assert_true(num(json_object_get(r, "defaults"), "critical") == 90);
    json_decref(r);
    /* warning 84 over critical 80 does not validate: the configuration's version is used. */
    r = get_rule(f, "builtin-memory-usage");
    assert_true(num(r, "warning") == 60);
    assert_true(num(r, "critical") == 80);
    json_decref(r);
    /* Restore: the stored change is gone, also after the next restart. */
    char *out = NULL;
    assert_int_equal(omega_alert_rule_reset(f->e, "builtin-cpu-usage", &out, NULL), 0);
    r = json_loads(out, 0, NULL);
    free(out);
    assert_true(num(r, "critical") == 90);
    assert_true(json_is_false(json_object_get(r, "modified")));
    json_decref(r);
    restart(f, "{\"alerting\":{\"alert_thresholds\":{\"cpu_usage_critical\":99}}}");
    r = get_rule(f, "builtin-cpu-usage");
    assert_true(num(r, "critical") == 99);
    assert_true(json_is_false(json_object_get(r, "modified")));
    json_decref(r);
}

static void expect_bad(fx_t *f, const char *id, const char *body, int code, const char *path,
                       const char *needle)
{
    omega_error_t err;
    omega_error_clear(&err);
    char *out = NULL;
    int rc = omega_alert_rule_patch(f->e, id, body, &out, &err);
    free(out);
    if (rc != code)
        fail_msg("%s %s: rc %d, want %d (%s)", id, body, rc, code, err.message);
    if (path && strcmp(err.path, path) != 0)
        fail_msg("%s %s: path '%s', want '%s'", id, body, err.path, path);
    if (needle && !strstr(err.message, needle))
        fail_msg("%s %s: '%s' lacks '%s'", id, body, err.message, needle);
}

/* Bad edits are refused with the field named and change nothing. */
static void test_bad_edits(void **state)
{
    fx_t *f = *state;
    const char *id = "builtin-cpu-usage";
    expect_bad(f, id, "{\"expr\":\"up\"}", OMEGA_EINVAL, "expr", "cannot be changed");
    expect_bad(f, id, "{\"name\":\"mine\"}", OMEGA_EINVAL, "name", NULL);
    expect_bad(f, id, "{\"op\":\"<\"}", OMEGA_EINVAL, "op", NULL);
    expect_bad(f, id, "{\"category\":\"system\"}", OMEGA_EINVAL, "category", NULL);
    expect_bad(f, id, "{\"id\":\"x\"}", OMEGA_EINVAL, "id", NULL);
    expect_bad(f, id, "{\"warning\":99}", OMEGA_EINVAL, "critical", "less severe");
    expect_bad(f, id, "{\"warning\":\"high\"}", OMEGA_EINVAL, "warning", NULL);
    expect_bad(f, id, "{\"enabled\":\"no\"}", OMEGA_EINVAL, "enabled", NULL);
    expect_bad(f, id, "{\"channels\":[\"nope\"]}", OMEGA_EINVAL, "channels", "nope");
    expect_bad(f, id, "{\"for\":\"-1s\"}", OMEGA_EINVAL, "for", NULL);
    expect_bad(f, id, "{\"warning\":null,\"critical\":null}", OMEGA_EINVAL, "warning",
               "at least one");
    expect_bad(f, id, "[1]", OMEGA_EINVAL, NULL, NULL);
    expect_bad(f, id, "{\"warning\":", OMEGA_EINVAL, NULL, NULL);
    expect_bad(f, "nope", "{\"enabled\":false}", OMEGA_ENOENT, NULL, NULL);
    assert_int_equal(omega_alert_rule_put(f->e, "nope",
                                          "{\"name\":\"n\",\"expr\":\"up\","
                                          "\"warning\":1}",
                                          NULL, NULL),
                     OMEGA_ENOENT);
    json_t *r = get_rule(f, id);
    assert_true(json_is_false(json_object_get(r, "modified")));
    json_decref(r);
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_alert_rule_reset(f->e, "nope", NULL, &err), OMEGA_ENOENT);
    assert_int_equal(omega_alert_rule_put(f->e, NULL,
                                          "{\"id\":\"mine\",\"name\":\"m\",\"expr\":"
                                          "\"up\",\"warning\":1}",
                                          NULL, NULL),
                     0);
    assert_int_equal(omega_alert_rule_reset(f->e, "mine", NULL, &err), OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "not built in"));
    assert_int_equal(omega_alert_rule_delete(f->e, id, &err), OMEGA_EPERM);
    assert_non_null(strstr(err.message, "enabled"));
    /* A PUT of {} is the default; null removes an optional field (the emergency-less
     * critical stays valid). */
    assert_int_equal(omega_alert_rule_put(f->e, id, "{\"critical\":null}", NULL, NULL), 0);
    r = get_rule(f, id);
    assert_null(json_object_get(r, "critical"));
    assert_true(num(json_object_get(r, "defaults"), "critical") == 95); /* the default's */
    json_decref(r);
    assert_int_equal(omega_alert_rule_put(f->e, id, "{}", NULL, NULL), 0);
    r = get_rule(f, id);
    assert_true(num(r, "critical") == 95);
    assert_true(json_is_false(json_object_get(r, "modified")));
    json_decref(r);
}

/* A merge patch of a user rule changes only the fields named (objects merged key by key). */
static void test_patch_user_rule(void **state)
{
    fx_t *f = *state;
    assert_int_equal(omega_alert_rule_put(f->e, NULL,
                                          "{\"id\":\"r1\",\"name\":\"r1\",\"expr\":"
                                          "\"up\",\"warning\":1,\"critical\":5,\"labels\":{\"team\""
                                          ":\"ci\",\"tier\":\"1\"}}",
                                          NULL, NULL),
                     0);
    assert_int_equal(omega_alert_rule_patch(f->e, "r1",
                                            "{\"critical\":null,\"labels\":{\"tier\":"
                                            "null,\"site\":\"b\"}}",
                                            NULL, NULL),
                     0);
    json_t *r = get_rule(f, "r1");
    assert_null(json_object_get(r, "critical"));
    assert_true(num(r, "warning") == 1);
    json_t *l = json_object_get(r, "labels");
    assert_int_equal((int)json_object_size(l), 2);
    assert_string_equal(json_string_value(json_object_get(l, "team")), "ci");
    assert_string_equal(json_string_value(json_object_get(l, "site")), "b");
    json_decref(r);
    restart(f, NULL);
    r = get_rule(f, "r1");
    assert_null(json_object_get(r, "critical"));
    json_decref(r);
}

/* Statuses (and notes) of rule_id's history entries, e.g. "firing resolved suppressed:flapping". */
static void history_text(fx_t *f, const char *rule_id, char *buf, size_t len)
{
    char *out = NULL;
    assert_int_equal(
        omega_alert_history(f->e, f->t0 - 1, f->t0 + 3600000, rule_id, NULL, 0, &out, NULL), 0);
    json_t *h = json_loads(out, 0, NULL);
    free(out);
    buf[0] = '\0';
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(h, "items"), i, it)
    {
        const char *note = json_string_value(json_object_get(it, "note"));
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s%s%s", i ? " " : "",
                 json_string_value(json_object_get(it, "status")), note ? ":" : "",
                 note ? note : "");
    }
    json_decref(h);
}

static uint64_t queued(fx_t *f)
{
    omega_alert_stats_t st;
    omega_alert_stats(f->e, &st);
    return st.queue_depth;
}

/* One evaluation a minute of a value alternating around the threshold: after 6 changes in
 * 10 minutes the alert is flapping (shown in the active list, kept across a restart) and
 * its re-firings are not notified; once it stays firing long enough for the changes to
 * leave the window, flapping ends and the firing alert is notified once. */
static void test_flapping(void **state)
{
    fx_t *f = *state;
    assert_int_equal(omega_alert_rule_put(f->e, NULL,
                                          "{\"id\":\"flappy\",\"name\":\"flappy\","
                                          "\"expr\":\"temp\",\"warning\":50,\"category\":"
                                          "\"application\",\"channels\":[\"builtin-log\"]}",
                                          NULL, NULL),
                     0);
    uint64_t at_start = 0;
    for (int k = 0; k <= 10; k++) {
        omega_label_t l = {"host", "a"};
        omega_point_t p = {"temp", &l, 1, f->t0 + k * 60000, k % 2 ? 40 : 60};
        assert_int_equal(omega_tsdb_write(f->db, &p, 1, NULL), 0);
        assert_int_equal(omega_alert_evaluate(f->e, f->t0 + k * 60000), 0);
        if (k == 5)
            at_start = queued(f);
        if (k == 6) { /* mid-flap restart: the alert's changes are remembered */
            restart(f, NULL);
            char *out = NULL;
            assert_int_equal(omega_alert_active(f->e, &out, NULL), 0);
            assert_non_null(strstr(out, "\"flapping\":true"));
            free(out);
        }
    }
    char h[4096];
    history_text(f, "flappy", h, sizeof(h));
    if (!strstr(h, "resolved flapping:started firing suppressed:flapping resolved firing "
                   "suppressed:flapping resolved firing suppressed:flapping"))
        fail_msg("history: %s", h);
    assert_int_equal((int)queued(f), (int)at_start); /* nothing while flapping */
    /* Steady from minute 10: the changes age out of the 10-minute window. */
    int ended_at = -1;
    for (int k = 11; k <= 25 && ended_at < 0; k++) {
        omega_label_t l = {"host", "a"};
        omega_point_t p = {"temp", &l, 1, f->t0 + k * 60000, 60};
        assert_int_equal(omega_tsdb_write(f->db, &p, 1, NULL), 0);
        assert_int_equal(omega_alert_evaluate(f->e, f->t0 + k * 60000), 0);
        history_text(f, "flappy", h, sizeof(h));
        if (strstr(h, "flapping:ended"))
            ended_at = k;
        else
            assert_int_equal((int)queued(f), (int)at_start);
    }
    assert_int_equal(ended_at, 18); /* changes at minutes 9 and 10 remain: <= 2 */
    assert_int_equal((int)queued(f), (int)at_start + 1);
    char *out = NULL;
    assert_int_equal(omega_alert_active(f->e, &out, NULL), 0);
    assert_non_null(strstr(out, "\"flapping\":false"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_builtin_edit_persists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disable_builtin_and_user_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_change_after_override, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_edits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patch_user_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flapping, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
