/* SPDX-License-Identifier: Apache-2.0 */
/* Fixture shared by the report tests: a real store in a temp dir with the alert engine and
 * the jobs module over it, the local time zone set to UTC, and a data window start t0. */
#ifndef OMEGA_REPORTTEST_H
#define OMEGA_REPORTTEST_H

#include "omega/alert.h"
#include "omega/analytics.h"
#include "omega/tsdb.h"

#include <stdint.h>

typedef struct reporttest {
    char *dir;                    /* temp dir holding the store */
    omega_tsdb_t *db;             /* the store */
    omega_alert_engine_t *alerts; /* alert engine over db */
    omega_analytics_t *ana;       /* jobs module over db */
    int64_t t0;                   /* a whole hour, 4 h before now: where test data starts */
} reporttest_t;

/* Open everything above in a temp dir tagged `tag` (fails the test on error). */
void reporttest_open(reporttest_t *f, const char *tag);
/* Close what reporttest_open opened and remove the temp dir. */
void reporttest_close(reporttest_t *f);
/* Record job id (start body `body`) running from start to end (Unix ms) with its status. */
void reporttest_job(reporttest_t *f, const char *id, const char *body, int64_t start, int64_t end,
                    const char *status);

#endif
