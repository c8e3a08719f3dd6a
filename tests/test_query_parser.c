/* SPDX-License-Identifier: Apache-2.0 */
/* PromQL parser tests through the public engine entry point: every construct of the
 * subset parses, precedence and associativity follow Prometheus, and bad or unsupported
 * input is rejected with "line:column: parse error: ..." naming the problem. Hostile
 * input (deep nesting, huge queries, bad regexes, bad UTF-8) fails cleanly. */
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

static char *g_dir;
static omega_tsdb_t *g_db;

static int setup(void **state)
{
    (void)state;
    g_dir = testutil_mkdtemp("qparser");
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = g_dir;
    o.sync_writes = 0;
    g_db = omega_tsdb_open(&o, NULL);
    assert_non_null(g_db);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    omega_tsdb_close(g_db);
    testutil_rmtree(g_dir);
    free(g_dir);
    return 0;
}

static void ok(const char *q)
{
    omega_query_result_t *r = NULL;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_query_exec(g_db, q, 1000000, 1000000, 0, NULL, &r, &err);
    if (rc != 0)
        fail_msg("'%s' should parse: %s", q, err.message);
    omega_query_result_destroy(r);
}

static double scalar(const char *q)
{
    omega_query_result_t *r = NULL;
    assert_int_equal(omega_query_exec(g_db, q, 1000000, 1000000, 0, NULL, &r, NULL), 0);
    assert_int_equal(r->type, OMEGA_QUERY_SCALAR);
    double v = r->scalar;
    omega_query_result_destroy(r);
    return v;
}

/* Rejected with a message containing needle; line/column checked when non-zero. */
static void bad(const char *q, const char *needle, int line, int col)
{
    omega_query_result_t *r = (omega_query_result_t *)0x1;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_query_exec(g_db, q, 1000000, 1000000, 0, NULL, &r, &err);
    if (rc != OMEGA_EINVAL || !strstr(err.message, needle))
        fail_msg("'%.80s': rc %d '%s', want '%s'", q, rc, err.message, needle);
    assert_null(r);
    if (line) {
        assert_int_equal(err.line, line);
        assert_int_equal(err.column, col);
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "%d:%d: parse error: ", line, col);
        if (strncmp(err.message, prefix, strlen(prefix)) != 0)
            fail_msg("'%s': message '%s' lacks prefix '%s'", q, err.message, prefix);
    }
}

static void test_constructs_parse(void **state)
{
    (void)state;
    const char *good[] = {
        "up",
        "up{job=\"a\"}",
        "{__name__=\"up\",job!=\"b\",x=~\"a.*\",y!~'c'}",
        "job:rate5m{a=`raw\\d`}",
        "up{job=\"a\",}",
        "up offset 5m",
        "up[5m]",
        "up[1h30m]",
        "up[5m] offset 1d",
        "up[90s] offset 1w",
        "rate(up[5m])",
        "irate(up[5m])",
        "increase(up[1m])",
        "delta(up[1m])",
        "deriv(up[1m])",
        "predict_linear(up[1h], 3600)",
        "avg_over_time(up[1m])",
        "min_over_time(up[1m])",
        "max_over_time(up[1m])",
        "sum_over_time(up[1m])",
        "count_over_time(up[1m])",
        "last_over_time(up[1m])",
        "quantile_over_time(0.9, up[1m])",
        "abs(up)",
        "clamp_min(up, 0)",
        "clamp_max(up, 1)",
        "round(up)",
        "round(up, 0.5)",
        "histogram_quantile(0.9, up)",
        "time()",
        "sum(up)",
        "avg(up)",
        "min(up)",
        "max(up)",
        "count(up)",
        "stddev(up)",
        "quantile(0.5, up)",
        "topk(3, up)",
        "bottomk(3, up)",
        "sum by (job) (up)",
        "sum(up) by (job)",
        "sum without (a, b,) (up)",
        "sum(up) without ()",
        "topk by (job) (2, rate(up[5m]))",
        "up + 1",
        "1 + up",
        "up - up",
        "up * on(a) up",
        "up / ignoring(a, b) up",
        "up > 1",
        "up >= bool 1",
        "up == bool on(x) up",
        "up != 0",
        "up < 1",
        "up <= 1",
        "-up",
        "+up",
        "-(up)",
        "- - 1",
        "(((up)))",
        "1e3",
        "0x1F",
        "Inf",
        "-inf",
        "NaN",
        ".5",
        "\"str\"",
        "'str'",
        "`str`",
        "up # comment\n + 1",
        "sum(\n  rate(up[5m])\n)",
        "count",
        "sum",
        "up{by=\"x\",on=\"y\"}",
        "max_over_time(up[5m] offset 10m)",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        ok(good[i]);
}

static void test_precedence(void **state)
{
    (void)state;
    assert_true(scalar("1 + 2 * 3") == 7);
    assert_true(scalar("2 * 3 + 1") == 7);
    assert_true(scalar("8 / 4 / 2") == 1);
    assert_true(scalar("8 - 4 - 2") == 2);
    assert_true(scalar("-1 * 2") == -2);
    assert_true(scalar("-(1 + 2)") == -3);
    assert_true(scalar("1 + 2 > bool 2") == 1);
    assert_true(scalar("1 < bool 2 == bool 1") == 1);
    assert_true(scalar("0x10") == 16);
    assert_true(scalar("1.5e1") == 15);
    assert_true(isinf(scalar("Inf")));
    assert_true(isnan(scalar("nan")));
}

static void test_errors_with_position(void **state)
{
    (void)state;
    bad("foo + bar baz", "unexpected identifier \"baz\"", 1, 11);
    bad("foo{", "unexpected end of input", 1, 5);
    bad("foo{a=\"b\"", "unexpected end of input", 1, 10);
    bad("foo{a~\"b\"}", "unexpected character '~'", 1, 6);
    bad("foo{a=b}", "expected string", 1, 7);
    bad("sum(rate(x[5m])", "unexpected end of input", 1, 16);
    bad("foo +\n  bar(", "unknown function: bar", 2, 3);
    bad("1 +", "unexpected end of input", 1, 4);
    bad("up{job=\"a", "unterminated quoted string", 1, 8);
    bad("up[5]", "expected duration", 1, 4);
    bad("up[5x]", "bad number or duration", 1, 4);
    bad("up[1m30h]", "decreasing order", 1, 4);
    bad("5m", "unexpected duration", 1, 1);
    bad("up )", "unexpected \")\"", 1, 4);
    bad("", "empty query", 0, 0);
    bad("   ", "unexpected end of input", 1, 4);
    bad("\"a\\qb\"", "unknown escape sequence", 1, 3);
    bad("up $", "unexpected character '$'", 1, 4);
}

static void test_unsupported_named(void **state)
{
    (void)state;
    bad("foo(up)", "unknown function: foo", 1, 1);
    bad("ceil(up)", "function \"ceil\" is not supported", 1, 1);
    bad("label_replace(up, \"a\", \"b\", \"c\", \"d\")", "is not supported", 1, 1);
    bad("up + on(a) group_left up", "group_left is not supported", 1, 12);
    bad("up * group_right up", "group_right is not supported", 1, 6);
    bad("up and up", "operator \"and\" is not supported", 1, 4);
    bad("up or up", "operator \"or\" is not supported", 0, 0);
    bad("up unless up", "operator \"unless\" is not supported", 0, 0);
    bad("up % 2", "operator \"%\" is not supported", 0, 0);
    bad("up ^ 2", "operator \"^\" is not supported", 0, 0);
    bad("up atan2 up", "operator \"atan2\" is not supported", 0, 0);
    bad("up[5m:1m]", "subqueries are not supported", 1, 3);
    bad("rate(up[5m:])", "subqueries are not supported", 0, 0);
    bad("up @ 100", "@ modifier is not supported", 1, 4);
    bad("up offset -5m", "negative offsets are not supported", 0, 0);
    bad("count_values(\"x\", up)", "aggregation is not supported", 0, 0);
    bad("stdvar(up)", "aggregation is not supported", 0, 0);
}

static void test_type_errors(void **state)
{
    (void)state;
    bad("rate(up)", "expected type range vector in call to function \"rate\", got instant vector",
        1, 6);
    bad("abs(up[5m])", "expected type instant vector in call to function \"abs\", got range vector",
        0, 0);
    bad("rate(up[5m], 1)", "at most 1 argument", 0, 0);
    bad("histogram_quantile(0.9)", "expected 2 argument(s)", 0, 0);
    bad("round(up, 1, 2)", "at most 2 argument", 0, 0);
    bad("time(1)", "at most 0 argument", 0, 0);
    bad("sum(up[5m])", "expected type instant vector in aggregation expression, got range vector",
        0, 0);
    bad("topk(up, up)", "expected type scalar in aggregation parameter", 0, 0);
    bad("topk(up)", "expected \",\"", 0, 0);
    bad("1 > 2", "comparisons between scalars must use BOOL modifier", 0, 0);
    bad("up + bool 1", "bool modifier can only be used on comparison operators", 0, 0);
    bad("1 + on(a) up", "vector matching only allowed between instant vectors", 0, 0);
    bad("up[5m] + 1", "binary expression must contain only scalar and instant vector types", 0, 0);
    bad("\"a\" + 1", "binary expression must contain only scalar and instant vector types", 0, 0);
    bad("-up[5m]", "unary expression only allowed", 0, 0);
    bad("(up)[5m]", "ranges only allowed for vector selectors", 0, 0);
    bad("rate(up[5m])[5m]", "ranges only allowed for vector selectors", 0, 0);
    bad("up[5m][5m]", "range specified twice", 0, 0);
    bad("up offset 5m[5m]", "no offset modifiers allowed before range", 0, 0);
    bad("up offset 1m offset 2m", "offset may not be set multiple times", 0, 0);
    bad("sum(up) offset 5m", "offset modifier must be preceded by an instant vector selector", 0,
        0);
    bad("up[0s]", "greater than 0", 0, 0);
    bad("{}", "at least one non-empty matcher", 1, 1);
    bad("{a=~\".*\",b!=\"x\"}", "at least one non-empty matcher", 0, 0);
    bad("up{__name__=\"x\"}", "metric name must not be set twice", 0, 0);
    bad("by", "unexpected identifier \"by\"", 1, 1);
    bad("sum by (a-b) (up)", "expected \",\" or \")\"", 0, 0);
}

static void test_hostile_input(void **state)
{
    (void)state;
    /* Nesting beyond the limit, as parentheses and as unary minus. */
    char *deep = malloc(10000);
    memset(deep, '(', 5000);
    strcpy(deep + 5000, "1");
    bad(deep, "nesting exceeds the limit", 0, 0);
    memset(deep, '-', 5000);
    bad(deep, "nesting exceeds the limit", 0, 0);
    /* 150 levels are fine. */
    memset(deep, 0, 10000);
    for (int i = 0; i < 150; i++)
        strcat(deep, "(");
    strcat(deep, "1");
    for (int i = 0; i < 150; i++)
        strcat(deep, ")");
    ok(deep);
    free(deep);
    /* Over the length limit. */
    size_t big = OMEGA_QUERY_MAX_LEN + 1;
    char *s = malloc(big + 1);
    memset(s, 'a', big);
    s[big] = '\0';
    bad(s, "longer than the limit", 0, 0);
    /* A long sum within the limit evaluates. */
    strcpy(s, "1");
    while (strlen(s) < OMEGA_QUERY_MAX_LEN - 8)
        strcat(s, " + 1");
    ok(s);
    free(s);
    /* Regexes: invalid, backreferences, too long. */
    bad("up{a=~\"(\"}", "invalid regular expression", 0, 0);
    bad("up{a=~\"(a)\\\\1\"}", "backreferences are not supported", 0, 0);
    /* Counted repetitions: RE2's 1000 limit, nested counts multiply. */
    bad("up{a=~\"((a{255}){255}){255}\"}", "repetition count over 1000", 0, 0);
    bad("up{a=~\"a{1001}\"}", "repetition count over 1000", 0, 0);
    bad("up{a=~\"(a{2,}){600}\"}", "repetition count over 1000", 0, 0);
    bad("up{a=~\"((x|y{10}){10}z){11}\"}", "repetition count over 1000", 0, 0);
    ok("up{a=~\"((a{10}){10}){10}\"}");
    ok("up{a=~\"[{]a{1000}[}]\\\\{5000}\"}");
    ok("up{a=~\"a{3}b{1000}(c){1000}\"}");
    char *re = malloc(5000);
    strcpy(re, "up{a=~\"");
    memset(re + 7, 'a', 4200);
    strcpy(re + 4207, "\"}");
    bad(re, "regular expression longer than", 0, 0);
    free(re);
    /* Bytes that are not UTF-8, NUL-free control characters, numbers out of range. */
    bad("up{a=\"\xff\"}", "not valid UTF-8", 0, 0);
    bad("up\x01", "unexpected character 0x01", 1, 3);
    bad("up[99999999999999999999y]", "duration out of range", 0, 0);
    bad("up[300y]", "duration out of range", 0, 0);
    bad("up offset 1000y", "duration out of range", 0, 0);
    ok("rate(up[290y] offset 290y)");
    bad("up{a=\"\\xZZ\"}", "invalid escape sequence", 0, 0);
    bad("up{a=\"\\uD800\"}", "invalid Unicode code point", 0, 0);
    char many[2000] = "up{";
    for (int i = 0; i < 70; i++)
        sprintf(many + strlen(many), "l%d=\"v\",", i);
    strcat(many, "}");
    bad(many, "more than 64 label matchers", 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constructs_parse),     cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_errors_with_position), cmocka_unit_test(test_unsupported_named),
        cmocka_unit_test(test_type_errors),          cmocka_unit_test(test_hostile_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
