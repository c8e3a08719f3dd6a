/* SPDX-License-Identifier: Apache-2.0 */
/* Query module tests: selector parsing (good and hostile input) and instant evaluation
 * with the 5-minute lookback over a real store in a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "omega/query.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void assert_parses(const char *text, size_t n_expected)
{
    omega_selector_t *sel = NULL;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_selector_parse(text, &sel, &err);
    if (rc != 0)
        fprintf(stderr, "'%s': %s\n", text, err.message);
    assert_int_equal(rc, 0);
    size_t n;
    omega_selector_matchers(sel, &n);
    assert_int_equal(n, n_expected);
    omega_selector_destroy(sel);
}

static void assert_rejects(const char *text, const char *needle, int column)
{
    omega_selector_t *sel = (omega_selector_t *)0x1;
    omega_error_t err;
    omega_error_clear(&err);
    assert_int_equal(omega_selector_parse(text, &sel, &err), OMEGA_EINVAL);
    assert_null(sel);
    if (!strstr(err.message, needle))
        fprintf(stderr, "'%s': got '%s', want '%s'\n", text, err.message, needle);
    assert_non_null(strstr(err.message, needle));
    if (column)
        assert_int_equal(err.column, column);
}

static void test_selector_forms(void **state)
{
    assert_parses("up", 1);
    assert_parses("  up  ", 1);
    assert_parses("job:rate5m", 1);
    assert_parses("up{}", 1);
    assert_parses("up{job=\"a\"}", 2);
    assert_parses("up{job='a',instance!=\"b\",path=~\"/api/.*\",code!~`5..`}", 5);
    assert_parses("up{job=\"a\",}", 2);
    assert_parses("{__name__=\"up\"}", 1);
    assert_parses("{job=~\".+\"}", 1);
    assert_parses("up{ job = \"a\" , x != \"\" }", 3);
}

static void test_selector_values_and_escapes(void **state)
{
    omega_selector_t *sel = NULL;
    assert_int_equal(omega_selector_parse("m{a=\"x\\\"y\\\\z\\n\",b='it\\'s',c=`r\\d`}", &sel,
                                          NULL),
                     0);
    size_t n;
    const omega_matcher_t *m = omega_selector_matchers(sel, &n);
    assert_int_equal(n, 4);
    assert_string_equal(m[0].name, "__name__");
    assert_string_equal(m[0].value, "m");
    assert_int_equal(m[0].op, OMEGA_MATCH_EQ);
    assert_string_equal(m[1].value, "x\"y\\z\n");
    assert_string_equal(m[2].value, "it's");
    assert_string_equal(m[3].value, "r\\d");
    omega_selector_destroy(sel);
}

static void test_selector_rejects(void **state)
{
    assert_rejects("", "expected a metric name", 1);
    assert_rejects("{}", "expected a metric name", 0);
    assert_rejects("up{job=\"a\"", "expected ',' or '}'", 11);
    assert_rejects("up{job=\"a", "unterminated string", 8);
    assert_rejects("up{job=a}", "quoted string", 8);
    assert_rejects("up{job~\"a\"}", "expected one of", 7);
    assert_rejects("up{9job=\"a\"}", "label name", 4);
    assert_rejects("up{job=\"a\" x=\"b\"}", "expected ',' or '}'", 12);
    assert_rejects("rate(up[5m])", "functions and aggregations", 5);
    assert_rejects("up[5m]", "range selectors", 3);
    assert_rejects("up + 1", "unexpected '+'", 4);
    assert_rejects("up{job=~\"(\"}", "invalid regular expression", 0);
    assert_rejects("up{job=~\"((a{255}){255}){255}\"}", "repetition count over 1000", 0);
    assert_rejects("{job=\"\"}", "non-empty matcher", 1);
    assert_rejects("{job=~\".*\"}", "non-empty matcher", 1);
    assert_rejects("{job!=\"x\"}", "non-empty matcher", 1);
}

static void test_selector_hostile_input(void **state)
{
    /* Over the length limit. */
    size_t big = OMEGA_QUERY_MAX_LEN + 10;
    char *s = malloc(big + 1);
    memset(s, 'a', big);
    s[big] = '\0';
    assert_rejects(s, "longer than", 0);
    /* 65 matchers: over the per-selector limit. */
    char *many = malloc(65 * 16 + 8);
    strcpy(many, "m{");
    for (int i = 0; i < 65; i++)
        sprintf(many + strlen(many), "l%d=\"v\",", i);
    strcat(many, "}");
    assert_rejects(many, "label matchers", 0);
    /* Invalid UTF-8 and control bytes inside a value are kept as bytes, not a crash. */
    assert_parses("m{l=\"\xff\xfe\x01\"}", 2);
    /* NUL in the middle ends the string: "up" then nothing. */
    assert_parses("up\0{x=\"", 1);
    free(s);
    free(many);
}

/* ---- instant evaluation over a real store ---- */

typedef struct qfix {
    char *dir;
    omega_tsdb_t *db;
    int64_t now;
} qfix_t;

static int setup_db(void **state)
{
    qfix_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("query");
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = f->dir;
    o.sync_writes = 0;
    f->db = omega_tsdb_open(&o, NULL);
    assert_non_null(f->db);
    f->now = omega_now_ms();
    omega_label_t a[] = {{"cpu", "0"}}, b[] = {{"cpu", "1"}}, c[] = {{"cpu", "2"}};
    omega_point_t pts[] = {
        {"cpu_usage", a, 1, f->now - 60000, 10.0},
        {"cpu_usage", a, 1, f->now - 30000, 20.0},
        {"cpu_usage", b, 1, f->now - 10000, NAN},
        /* Older than the 5-minute lookback at now: must not show up. */
        {"cpu_usage", c, 1, f->now - 400000, 99.0},
        {"mem_used", NULL, 0, f->now - 1000, 42.5},
    };
    assert_int_equal(omega_tsdb_write(f->db, pts, 5, NULL), 0);
    *state = f;
    return 0;
}

static int teardown_db(void **state)
{
    qfix_t *f = *state;
    omega_tsdb_close(f->db);
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static const char *label(const omega_vector_item_t *it, const char *name)
{
    for (size_t i = 0; i < it->n_labels; i++)
        if (strcmp(it->labels[i].name, name) == 0)
            return it->labels[i].value;
    return NULL;
}

static void test_instant_lookback(void **state)
{
    qfix_t *f = *state;
    omega_vector_t *v = NULL;
    assert_int_equal(omega_query_instant(f->db, "cpu_usage", f->now, &v, NULL), 0);
    assert_int_equal(v->n, 2);
    for (size_t i = 0; i < v->n; i++) {
        const omega_vector_item_t *it = &v->items[i];
        assert_string_equal(label(it, "__name__"), "cpu_usage");
        assert_int_equal(it->ts_ms, f->now);
        /* Labels are sorted by name: "__name__" before "cpu". */
        assert_string_equal(it->labels[0].name, "__name__");
        assert_string_equal(it->labels[1].name, "cpu");
        if (strcmp(label(it, "cpu"), "0") == 0)
            assert_true(it->value == 20.0); /* the newest sample, not the first */
        else
            assert_true(isnan(it->value));
    }
    omega_vector_destroy(v);
    /* Evaluated 45 s ago, cpu 0 had 10.0 and cpu 1 had nothing yet. */
    assert_int_equal(omega_query_instant(f->db, "cpu_usage", f->now - 45000, &v, NULL), 0);
    assert_int_equal(v->n, 1);
    assert_true(v->items[0].value == 10.0);
    omega_vector_destroy(v);
}

static void test_instant_matchers(void **state)
{
    qfix_t *f = *state;
    omega_vector_t *v = NULL;
    assert_int_equal(omega_query_instant(f->db, "cpu_usage{cpu=~\"0|2\"}", f->now, &v, NULL), 0);
    assert_int_equal(v->n, 1);
    assert_string_equal(label(&v->items[0], "cpu"), "0");
    omega_vector_destroy(v);
    assert_int_equal(omega_query_instant(f->db, "{__name__=~\"mem.*\"}", f->now, &v, NULL), 0);
    assert_int_equal(v->n, 1);
    assert_true(v->items[0].value == 42.5);
    assert_int_equal(v->items[0].n_labels, 1);
    omega_vector_destroy(v);
    assert_int_equal(omega_query_instant(f->db, "does_not_exist", f->now, &v, NULL), 0);
    assert_int_equal(v->n, 0);
    omega_vector_destroy(v);
}

static void test_instant_bad_query(void **state)
{
    qfix_t *f = *state;
    omega_vector_t *v = (omega_vector_t *)0x1;
    omega_error_t err;
    assert_int_equal(omega_query_instant(f->db, "ceil(cpu_usage)", f->now, &v, &err),
                     OMEGA_EINVAL);
    assert_null(v);
    assert_non_null(strstr(err.message, "not supported"));
    /* Valid, but not an instant vector. */
    v = (omega_vector_t *)0x1;
    assert_int_equal(omega_query_instant(f->db, "1 + 1", f->now, &v, &err), OMEGA_EINVAL);
    assert_null(v);
    assert_non_null(strstr(err.message, "instant vector"));
    /* Aggregations now work through the engine. */
    assert_int_equal(omega_query_instant(f->db, "sum(cpu_usage)", f->now, &v, &err), 0);
    assert_int_equal(v->n, 1);
    assert_true(isnan(v->items[0].value)); /* 20 + NaN */
    omega_vector_destroy(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selector_forms),
        cmocka_unit_test(test_selector_values_and_escapes),
        cmocka_unit_test(test_selector_rejects),
        cmocka_unit_test(test_selector_hostile_input),
        cmocka_unit_test_setup_teardown(test_instant_lookback, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_instant_matchers, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(test_instant_bad_query, setup_db, teardown_db),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
