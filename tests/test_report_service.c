/* SPDX-License-Identifier: Apache-2.0 */
/* Module test of report/'s service: schedule times (every form, bad ones, month ends, cron
 * day rules), background reports through the service thread (stored, masked, fetched by
 * id), the bounded queue and reports left pending by a stop, and schedules (bad bodies,
 * built-in ones, a run at a fake clock that stores its files, once per minute, kept across
 * a restart, deleting). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "omega/alert.h"
#include "omega/analytics.h"
#include "omega/auth.h"
#include "omega/report.h"
#include "omega/tsdb.h"
#include "report_int.h"
#include "reporttest.h"
#include "testutil.h"

#define MIN  (60 * 1000LL)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)

typedef reporttest_t fixture_t; /* t0: start of a 2-hour window holding one job */

static fixture_t F;

static int setup(void **state)
{
    reporttest_open(&F, "report-service");
    reporttest_job(&F, "4111111111111111",
                   "{\"kind\":\"compile\",\"labels\":{\"src\":\"/home/carol/x.c\"}}",
                   F.t0 + 5 * MIN, F.t0 + 8 * MIN, "failed");
    return 0;
}

static int teardown(void **state)
{
    reporttest_close(&F);
    return 0;
}

/* ---- schedule times ---- */

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
    return (int64_t)timegm(&tm) * 1000;
}

static void test_schedule_times(void **state)
{
    setenv("TZ", "UTC", 1);
    tzset();
    rpt_sched_t sp;
    static const char *const bad[] = {"",
                                      "6:00",
                                      "24:00",
                                      "06:60",
                                      "funday 06:00",
                                      "32nd 06:00",
                                      "0th 06:00",
                                      "1st",
                                      "* * * *",
                                      "* * * * * *",
                                      "60 * * * *",
                                      "* 24 * * *",
                                      "* * 0 * *",
                                      "* * * 13 *",
                                      "* * * * 8",
                                      "*/0 * * * *",
                                      "5-1 * * * *",
                                      "a * * * *",
                                      "1,,2 * * * *"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (rpt_sched_parse(bad[i], &sp) == 0)
            fail_msg("'%s' accepted", bad[i]);
    /* daily, weekly (2026-11-23 is a Monday), monthly on a short month's last day */
    assert_int_equal(rpt_sched_parse("06:00", &sp), 0);
    assert_true(rpt_sched_match(&sp, utc(2026, 11, 26, 6, 0) + 59999));
    assert_false(rpt_sched_match(&sp, utc(2026, 11, 26, 6, 1)));
    assert_int_equal(rpt_sched_parse("Monday 06:00", &sp), 0);
    assert_true(rpt_sched_match(&sp, utc(2026, 11, 23, 6, 0)));
    assert_false(rpt_sched_match(&sp, utc(2026, 11, 24, 6, 0)));
    assert_int_equal(rpt_sched_next(&sp, utc(2026, 11, 23, 6, 0)), utc(2026, 11, 30, 6, 0));
    assert_int_equal(rpt_sched_parse("31st 06:00", &sp), 0);
    assert_true(rpt_sched_match(&sp, utc(2026, 2, 28, 6, 0)));
    assert_false(rpt_sched_match(&sp, utc(2026, 3, 28, 6, 0)));
    assert_true(rpt_sched_match(&sp, utc(2026, 3, 31, 6, 0)));
    assert_true(rpt_sched_match(&sp, utc(2028, 2, 29, 6, 0)));
    /* cron: steps, ranges, lists, Sunday as 0 or 7, either day field when both are set */
    assert_int_equal(rpt_sched_parse("*/15 9-17 * * 1-5", &sp), 0);
    assert_true(rpt_sched_match(&sp, utc(2026, 11, 26, 9, 45)));
    assert_false(rpt_sched_match(&sp, utc(2026, 11, 26, 9, 50)));
    assert_false(rpt_sched_match(&sp, utc(2026, 11, 29, 9, 45))); /* Sunday */
    assert_int_equal(rpt_sched_parse("0 6 * * 7", &sp), 0);
    assert_true(rpt_sched_match(&sp, utc(2026, 11, 29, 6, 0)));
    assert_int_equal(rpt_sched_parse("0 6 1,15 * 1", &sp), 0);
    assert_true(rpt_sched_match(&sp, utc(2026, 11, 15, 6, 0))); /* the 15th, a Sunday */
    assert_true(rpt_sched_match(&sp, utc(2026, 11, 23, 6, 0))); /* a Monday */
    assert_false(rpt_sched_match(&sp, utc(2026, 11, 24, 6, 0)));
    assert_int_equal(rpt_sched_parse("30 6 29 2 *", &sp), 0);
    assert_int_equal(rpt_sched_next(&sp, utc(2026, 11, 26, 0, 0)), 0); /* over 366 days away */
    assert_int_equal(rpt_sched_next(&sp, utc(2027, 6, 1, 0, 0)), utc(2028, 2, 29, 6, 30));
}

/* ---- the service ---- */

static omega_report_service_t *service(void)
{
    char dir[700];
    snprintf(dir, sizeof(dir), "%s/reports/out", F.dir);
    omega_report_service_options_t o;
    omega_report_service_options_init(&o);
    o.db = F.db;
    o.alerts = F.alerts;
    o.analytics = F.ana;
    o.mask = omega_pii_mask_cb;
    o.output_dir = dir;
    omega_error_t err = {0};
    omega_report_service_t *s = omega_report_service_create(&o, &err);
    if (!s)
        fail_msg("service: %s", err.message);
    return s;
}

static json_t *get_meta(omega_report_service_t *s, const char *id, char **data, size_t *len)
{
    char *meta = NULL;
    assert_int_equal(omega_report_get(s, id, &meta, data, len, NULL), 0);
    json_t *m = json_loads(meta, 0, NULL);
    free(meta);
    assert_non_null(m);
    return m;
}

static void test_service_background(void **state)
{
    omega_report_service_t *s = service();
    assert_int_equal(omega_report_service_start(s), 0);
    omega_report_request_t req = {OMEGA_REPORT_CUSTOM, F.t0,
                                  F.t0 + 2 * HOUR,     OMEGA_REPORT_SEC_COMPILATION,
                                  OMEGA_REPORT_CSV,    1};
    char id[33];
    assert_int_equal(omega_report_submit(s, &req, "ana", id, NULL), 0);
    assert_int_equal(strlen(id), 32);
    char *data = NULL;
    size_t len = 0;
    json_t *m = NULL;
    for (int i = 0; i < 600; i++) { /* bounded wait for the service thread */
        json_decref(m);
        m = get_meta(s, id, &data, &len);
        if (data)
            break;
        usleep(100 * 1000);
    }
    assert_non_null(data);
    assert_string_equal(json_string_value(json_object_get(m, "status")), "done");
    assert_string_equal(json_string_value(json_object_get(m, "owner")), "ana");
    assert_int_equal(json_integer_value(json_object_get(m, "bytes")), (json_int_t)len);
    assert_non_null(strstr(data, "/home/[USER]")); /* masked: no config means data_masking on */
    assert_null(strstr(data, "/home/carol"));
    free(data);
    json_decref(m);
    /* bad ids and requests */
    char *meta = NULL;
    assert_int_equal(omega_report_get(s, "../../etc/passwd", &meta, NULL, NULL, NULL),
                     OMEGA_ENOENT);
    assert_int_equal(
        omega_report_get(s, "0123456789abcdef0123456789abcdef", &meta, NULL, NULL, NULL),
        OMEGA_ENOENT);
    req.to_ms = req.from_ms;
    assert_int_equal(omega_report_submit(s, &req, "ana", id, NULL), OMEGA_EINVAL);
    omega_report_service_destroy(s);
}

static void test_service_queue_bounded(void **state)
{
    omega_report_service_t *s = service(); /* not started: nothing drains the queue */
    omega_report_request_t req = {OMEGA_REPORT_CUSTOM, F.t0, F.t0 + HOUR, OMEGA_REPORT_SEC_ALL,
                                  OMEGA_REPORT_JSON,   1};
    char id[33], first[33];
    for (int i = 0; i < 16; i++)
        assert_int_equal(omega_report_submit(s, &req, "x", i ? id : first, NULL), 0);
    omega_error_t err = {0};
    assert_int_equal(omega_report_submit(s, &req, "x", id, &err), OMEGA_EAGAIN);
    json_t *m = get_meta(s, first, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(m, "status")), "pending");
    json_decref(m);
    omega_report_service_destroy(s);
    /* a new service marks what was left pending as failed */
    s = service();
    m = get_meta(s, first, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(m, "status")), "failed");
    assert_non_null(strstr(json_string_value(json_object_get(m, "error")), "stopped"));
    json_decref(m);
    omega_report_service_destroy(s);
}

static json_t *schedule_list(omega_report_service_t *s)
{
    char *out = NULL;
    assert_int_equal(omega_report_schedule_list(s, &out, NULL), 0);
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    return j;
}

static json_t *find_schedule(json_t *list, const char *id)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(list, "items"), i, it)
    {
        if (strcmp(json_string_value(json_object_get(it, "id")), id) == 0)
            return it;
    }
    return NULL;
}

static void test_service_schedules(void **state)
{
    omega_report_service_t *s = service();
    static const struct {
        const char *body, *path;
    } bad[] = {
        {"{\"type\":\"daily\"}", "name"},
        {"{\"name\":\"x\"}", "type"},
        {"{\"name\":\"x\",\"type\":\"hourly\"}", "type"},
        {"{\"name\":\"x\",\"type\":\"daily\",\"at\":\"25:00\"}", "at"},
        {"{\"name\":\"x\",\"type\":\"daily\",\"formats\":[\"doc\"]}", "formats"},
        {"{\"name\":\"x\",\"type\":\"daily\",\"formats\":[]}", "formats"},
        {"{\"name\":\"x\",\"type\":\"daily\",\"sections\":[\"gpu\"]}", "sections"},
        {"{\"name\":\"x\",\"type\":\"daily\",\"period\":\"1h\"}", "period"},
        {"{\"name\":\"x\",\"type\":\"custom\",\"period\":\"500d\"}", "period"},
        {"{\"name\":\"x\",\"type\":\"daily\",\"to\":\"me\"}", "body"},
        {"{\"name\":\"\",\"type\":\"daily\"}", "name"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        omega_error_t err = {0};
        int rc = omega_report_schedule_create(s, bad[i].body, strlen(bad[i].body), NULL, &err);
        if (rc != OMEGA_EINVAL || strcmp(err.path, bad[i].path) != 0)
            fail_msg("%s: rc %d path '%s' (%s)", bad[i].body, rc, err.path, err.message);
    }
    assert_int_equal(omega_report_schedule_create(s, "[", 1, NULL, NULL), OMEGA_EINVAL);
    const char *body = "{\"name\":\"nightly\",\"type\":\"custom\",\"at\":\"30 6 * * *\","
                       "\"period\":\"2h\",\"formats\":[\"csv\",\"json\"],"
                       "\"sections\":[\"compilation_performance\"]}";
    char *out = NULL;
    assert_int_equal(omega_report_schedule_create(s, body, strlen(body), &out, NULL), 0);
    json_t *created = json_loads(out, 0, NULL);
    free(out);
    char id[40];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(created, "id")));
    assert_string_equal(json_string_value(json_object_get(created, "period")), "2h");
    json_decref(created);
    /* listed after the four built-in ones (no config: all types at the default times) */
    json_t *list = schedule_list(s);
    assert_int_equal(json_array_size(json_object_get(list, "items")), 5);
    assert_non_null(find_schedule(list, "builtin-daily"));
    assert_true(json_is_true(json_object_get(find_schedule(list, "builtin-daily"), "builtin")));
    json_decref(list);
    /* at 06:30 on the day after the data only "nightly" is due: its period is the 2 h of data */
    int64_t run = F.t0 + 2 * HOUR;
    struct tm tm;
    time_t tt = (time_t)(run / 1000);
    gmtime_r(&tt, &tm);
    int64_t at = run - (tm.tm_hour * 60 + tm.tm_min - 390) * MIN; /* that day 06:30 */
    if (at < run)
        at += DAY;
    omega_report_service_destroy(s);
    s = service(); /* and it survives a restart */
    reporttest_job(&F, "late", "{\"kind\":\"late-job\"}", at - 30 * MIN, at - 20 * MIN, "ok");
    assert_int_equal(omega_report_schedule_tick(s, at + 5000), 2);
    assert_int_equal(omega_report_schedule_tick(s, at + 30000), 0); /* same minute: once */
    list = schedule_list(s);
    json_t *mine = find_schedule(list, id);
    assert_non_null(mine);
    json_t *ids = json_object_get(mine, "last_reports");
    assert_int_equal(json_array_size(ids), 2);
    char *data = NULL;
    size_t len;
    json_t *m = get_meta(s, json_string_value(json_array_get(ids, 0)), &data, &len);
    assert_string_equal(json_string_value(json_object_get(m, "schedule")), id);
    assert_string_equal(json_string_value(json_object_get(m, "format")), "csv");
    assert_non_null(strstr(data, "late-job"));
    free(data);
    json_decref(m);
    json_decref(list);
    /* deleting */
    assert_int_equal(omega_report_schedule_delete(s, "builtin-daily", NULL), OMEGA_EPERM);
    assert_int_equal(omega_report_schedule_delete(s, id, NULL), 0);
    assert_int_equal(omega_report_schedule_delete(s, id, NULL), OMEGA_ENOENT);
    omega_report_service_destroy(s);
    s = service();
    list = schedule_list(s);
    assert_null(find_schedule(list, id));
    json_decref(list);
    omega_report_service_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_times),
        cmocka_unit_test_setup_teardown(test_service_background, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_queue_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_schedules, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    omega_report_cleanup();
    return failed;
}
