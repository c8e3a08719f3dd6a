/* SPDX-License-Identifier: Apache-2.0 */
/* The report tests' fixture (reporttest.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "reporttest.h"

#include "omega/common.h"
#include "omega/log.h"
#include "storetest.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOUR_MS (3600 * 1000LL)

void reporttest_open(reporttest_t *f, const char *tag)
{
    omega_log_set_level(OMEGA_LOG_ERROR);
    setenv("TZ", "UTC", 1);
    tzset();
    memset(f, 0, sizeof(*f));
    f->dir = testutil_mkdtemp(tag);
    f->db = storetest_open(f->dir);
    omega_alert_options_t ao;
    omega_alert_options_init(&ao);
    f->alerts = omega_alert_create(f->db, &ao, NULL);
    assert_non_null(f->alerts);
    omega_analytics_options_t an;
    omega_analytics_options_init(&an);
    an.history_retention_ms = 0;
    f->ana = omega_analytics_create(f->db, &an, NULL);
    assert_non_null(f->ana);
    f->t0 = omega_now_ms() / HOUR_MS * HOUR_MS - 4 * HOUR_MS;
}

void reporttest_close(reporttest_t *f)
{
    omega_analytics_destroy(f->ana);
    omega_alert_destroy(f->alerts);
    omega_tsdb_close(f->db);
    testutil_rmtree(f->dir);
    free(f->dir);
    memset(f, 0, sizeof(*f));
}

void reporttest_job(reporttest_t *f, const char *id, const char *body, int64_t start, int64_t end,
                    const char *status)
{
    char end_body[64];
    snprintf(end_body, sizeof(end_body), "{\"status\":\"%s\"}", status);
    assert_int_equal(omega_analytics_op_start(f->ana, id, body, strlen(body), start, NULL, NULL),
                     0);
    assert_int_equal(
        omega_analytics_op_end(f->ana, id, end_body, strlen(end_body), end, NULL, NULL), 0);
}
