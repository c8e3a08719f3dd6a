/* SPDX-License-Identifier: Apache-2.0 */
/* The exposition format rules promtool checks, written as a checker the ingest unit tests
 * and the server integration tests share. */
#ifndef OMEGA_TEST_INGEST_EXPOCHECK_H
#define OMEGA_TEST_INGEST_EXPOCHECK_H

#include <stddef.h>

/* Check text as Prometheus 0.0.4 (openmetrics 0) or OpenMetrics 1.0 (1): valid names, one
 * HELP/TYPE per family before its samples, no family twice, samples only of the current
 * family, label values correctly escaped, no duplicate series, histogram buckets ascending
 * and cumulative with +Inf last and _count equal to it, "# EOF" last in OpenMetrics only.
 * Returns 0, or -1 with the first violation ("line 7: ...") in why. */
int expo_check(const char *text, int openmetrics, char *why, size_t len);

#endif
