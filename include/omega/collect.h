/* SPDX-License-Identifier: Apache-2.0 */
/* System collectors (module collect/): read /proc and /sys under a root prefix and emit
 * points into a sink. Knows nothing of storage; the server's sink writes to the tsdb,
 * the agent's sink pushes over HTTP. */
#ifndef OMEGA_COLLECT_H
#define OMEGA_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "omega/common.h"
#include "omega/metric.h"

/* Where collectors deliver points. emit() receives one collection pass' points at once;
 * the points and their strings are borrowed for the duration of the call. emit() returns 0
 * or a negative OMEGA_E* (logged by the collector, rate-limited; collection continues). */
typedef struct omega_collect_sink {
    int (*emit)(void *ctx, const omega_point_t *points, size_t n);
    void *ctx;
} omega_collect_sink_t;

/* What to collect. Start from omega_collect_options_init(). */
typedef struct omega_collect_options {
    const char *root;        /* filesystem prefix for /proc and /sys, "/" normally (borrowed
                                until _create returns; tests point it at fixtures) */
    int enable_cpu;          /* system_cpu_* and load averages */
    int enable_memory;       /* system_memory_*, system_swap_* */
    int64_t interval_ms;     /* runner period, 100 .. 3600000 */
} omega_collect_options_t;

void omega_collect_options_init(omega_collect_options_t *o);

typedef struct omega_collector omega_collector_t;

/* Create a collector; keeps the previous counters needed for rates and percentages.
 * Returns NULL (err filled) on bad options. Free with omega_collector_destroy(). */
omega_collector_t *omega_collector_create(const omega_collect_options_t *o, omega_error_t *err);
void omega_collector_destroy(omega_collector_t *c);

/* Run one collection pass stamped now_ms and emit its points into sink. CPU percentages
 * need two passes: the first pass emits none. Missing or malformed files are skipped
 * (their metrics are absent, never zero) and reported through the return value:
 * 0 when everything read cleanly, OMEGA_EIO when some source was unreadable. */
int omega_collector_collect(omega_collector_t *c, int64_t now_ms, const omega_collect_sink_t *sink);

/* Duration of the last pass in nanoseconds (the specification's collection latency). */
int64_t omega_collector_last_duration_ns(const omega_collector_t *c);

/* A background thread that calls omega_collector_collect every interval_ms, aligned to
 * the interval. Owns neither the collector nor the sink's context. */
typedef struct omega_collect_runner omega_collect_runner_t;
omega_collect_runner_t *omega_collect_runner_start(omega_collector_t *c, int64_t interval_ms,
                                                   const omega_collect_sink_t *sink,
                                                   omega_error_t *err);
/* Stop and join the thread (waits for a pass in progress). Accepts NULL. */
void omega_collect_runner_stop(omega_collect_runner_t *r);

#endif
