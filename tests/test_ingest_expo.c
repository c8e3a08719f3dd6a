/* SPDX-License-Identifier: Apache-2.0 */
/* The exposition writer against the format rules (test_ingest_expocheck.c) in both formats,
 * the checker's own ability to catch each violation, and promtool when it is installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "omega/ingest.h"
#include "test_ingest_expocheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *render(omega_expo_format_t fmt)
{
    omega_buf_t b;
    omega_buf_init(&b, 0);
    omega_expo_t e;
    omega_expo_init(&e, &b, fmt);
    assert_int_equal(omega_expo_family(&e, "app_requests_total", OMEGA_METRIC_COUNTER,
                                       "Requests \\ served\nby \"path\".", NULL),
                     0);
    omega_label_t l1[] = {
        {"__name__", "app_requests_total"}, {"path", "/a\"b\\c\nd"}, {"code", "200"}};
    omega_expo_sample(&e, l1, 3, 1027);
    omega_label_t l2[] = {{"path", "/"}, {"code", "500"}};
    omega_expo_sample(&e, l2, 2, 3);
    assert_int_equal(omega_expo_family(&e, "app_temperature_celsius", OMEGA_METRIC_GAUGE,
                                       "Temperature.", "celsius"),
                     0);
    omega_label_t s[] = {{"sensor", "a"}};
    omega_expo_sample(&e, s, 1, NAN);
    s[0].value = "b";
    omega_expo_sample(&e, s, 1, INFINITY);
    s[0].value = "c";
    omega_expo_sample(&e, s, 1, -INFINITY);
    s[0].value = "d";
    omega_expo_sample(&e, s, 1, 0.1);
    assert_int_equal(
        omega_expo_family(&e, "app_latency_seconds", OMEGA_METRIC_HISTOGRAM, "Latency.", "seconds"),
        0);
    double bounds[] = {0.05, 0.1, 1};
    double cum[] = {2, 5, 9};
    omega_label_t h[] = {{"handler", "x"}, {"le", "ignored"}};
    omega_expo_histogram(&e, h, 2, bounds, cum, 3, 4.25, 10);
    h[0].value = "y";
    omega_expo_histogram(&e, h, 1, bounds, cum, 3, 1, 9);
    assert_int_equal(omega_expo_family(&e, "app_latency_seconds", OMEGA_METRIC_GAUGE, "", NULL),
                     OMEGA_EEXIST);
    assert_int_equal(omega_expo_family(&e, "1bad", OMEGA_METRIC_GAUGE, "", NULL), OMEGA_EINVAL);
    omega_expo_finish(&e);
    omega_expo_deinit(&e);
    return omega_buf_take(&b, NULL);
}

static void run_promtool(const char *text)
{
    if (access("/usr/bin/promtool", X_OK) != 0)
        return; /* not installed: the rules above are the whole check (docs/api.md) */
    FILE *f = popen("/usr/bin/promtool check metrics > /dev/null 2>&1", "w");
    assert_non_null(f);
    fputs(text, f);
    int st = pclose(f);
    if (st != 0)
        fail_msg("promtool check metrics failed (status %d) on:\n%s", st, text);
}

static void test_prometheus_text(void **state)
{
    char *t = render(OMEGA_EXPO_PROMETHEUS);
    char why[256];
    if (expo_check(t, 0, why, sizeof(why)) != 0)
        fail_msg("%s\n%s", why, t);
    assert_non_null(strstr(t, "# HELP app_requests_total Requests \\\\ served\\nby \"path\".\n"
                              "# TYPE app_requests_total counter\n"));
    assert_non_null(strstr(t, "app_requests_total{path=\"/a\\\"b\\\\c\\nd\",code=\"200\"} 1027\n"));
    assert_non_null(strstr(t, "app_temperature_celsius{sensor=\"a\"} NaN\n"));
    assert_non_null(strstr(t, "{sensor=\"b\"} +Inf\n"));
    assert_non_null(strstr(t, "{sensor=\"c\"} -Inf\n"));
    assert_non_null(strstr(t, "{sensor=\"d\"} 0.1\n"));
    if (!strstr(t, "app_latency_seconds_bucket{handler=\"x\",le=\"0.05\"} 2\n"
                   "app_latency_seconds_bucket{handler=\"x\",le=\"0.1\"} 5\n"
                   "app_latency_seconds_bucket{handler=\"x\",le=\"1\"} 9\n"
                   "app_latency_seconds_bucket{handler=\"x\",le=\"+Inf\"} 10\n"
                   "app_latency_seconds_sum{handler=\"x\"} 4.25\n"
                   "app_latency_seconds_count{handler=\"x\"} 10\n"))
        fail_msg("histogram lines missing or out of order:\n%s", t);
    assert_null(strstr(t, "# UNIT"));
    assert_null(strstr(t, "# EOF"));
    run_promtool(t);
    free(t);
}

static void test_openmetrics_text(void **state)
{
    char *t = render(OMEGA_EXPO_OPENMETRICS);
    char why[256];
    if (expo_check(t, 1, why, sizeof(why)) != 0)
        fail_msg("%s\n%s", why, t);
    assert_non_null(strstr(t, "# TYPE app_requests counter\n"));
    assert_non_null(strstr(t, "# HELP app_requests Requests \\\\ served\\nby \\\"path\\\".\n"));
    assert_non_null(strstr(t, "# UNIT app_temperature_celsius celsius\n"));
    assert_non_null(strstr(t, "app_requests_total{path="));
    size_t n = strlen(t);
    assert_true(n > 6 && !strcmp(t + n - 6, "# EOF\n"));
    free(t);
}

static void test_negotiation(void **state)
{
    assert_int_equal(omega_expo_negotiate(NULL), OMEGA_EXPO_PROMETHEUS);
    assert_int_equal(omega_expo_negotiate("text/plain"), OMEGA_EXPO_PROMETHEUS);
    assert_int_equal(omega_expo_negotiate("application/openmetrics-text;version=1.0.0,"
                                          "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
                     OMEGA_EXPO_OPENMETRICS);
    assert_non_null(strstr(omega_expo_content_type(OMEGA_EXPO_PROMETHEUS), "version=0.0.4"));
    assert_non_null(
        strstr(omega_expo_content_type(OMEGA_EXPO_OPENMETRICS), "application/openmetrics-text"));
}

/* The checker itself must catch each rule, or the tests above prove nothing. */
static void test_checker_catches_violations(void **state)
{
    static const struct {
        const char *text;
        int om;
        const char *want;
    } cases[] = {
        {"a 1\n", 0, "sample before any TYPE"},
        {"# TYPE a gauge\n# TYPE a gauge\na 1\n", 0, "second TYPE"},
        {"# TYPE a gauge\na 1\n# HELP a late\n", 0, "after its samples"},
        {"# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\n", 0, "appears twice"},
        {"# TYPE a gauge\nb 1\n", 0, "does not belong"},
        {"# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n", 0, "duplicate series"},
        {"# TYPE a gauge\na{x=\"\\q\"} 1\n", 0, "bad escape"},
        {"# TYPE a gauge\na{1x=\"v\"} 1\n", 0, "invalid label name"},
        {"# TYPE a gauge\na one\n", 0, "invalid value"},
        {"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"0.5\"} 3\n", 0, "not ascending"},
        {"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\n", 0, "not cumulative"},
        {"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_count 2\n", 0, "no +Inf"},
        {"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\n", 0, "_count"},
        {"# TYPE c counter\nc_total 1\n", 0, "does not belong"},
        {"# TYPE c counter\nc 1\n# EOF\n", 1, "does not belong"},
        {"# TYPE a gauge\na 1\n", 1, "must end with # EOF"},
        {"# TYPE a gauge\na 1\n# EOF\n", 0, "OpenMetrics only"},
        {"# TYPE a gauge\na 1", 0, "newline"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char why[256] = "";
        if (expo_check(cases[i].text, cases[i].om, why, sizeof(why)) == 0 ||
            !strstr(why, cases[i].want))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, why, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prometheus_text),
        cmocka_unit_test(test_openmetrics_text),
        cmocka_unit_test(test_negotiation),
        cmocka_unit_test(test_checker_catches_violations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
