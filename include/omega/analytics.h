/* SPDX-License-Identifier: Apache-2.0 */
/* Operations (jobs) of module analytics/: builds, compilations and any other timed unit of
 * work reported with start/end. Running operations are held in memory (bounded) and
 * mirrored in the store so they survive a restart; finished ones are records in the
 * `events` key space, listed by time. Every change also lands in the TSDB as Prometheus-
 * style metrics (docs/metrics.md "Operations"): a duration histogram, counters by status,
 * phase and resource gauges, and the active count.
 *
 * Resources cross this interface as JSON text (API.md "System, application, jobs"), so the
 * HTTP layer only moves bytes. Thread rules: every function may be called from any thread
 * once omega_analytics_create() returned; the metrics thread runs after
 * omega_analytics_start(). Strings returned through `char **out` are malloc'd and freed by
 * the caller with free(). */
#ifndef OMEGA_ANALYTICS_H
#define OMEGA_ANALYTICS_H

#include <stddef.h>
#include <stdint.h>

#include "omega/common.h"
#include "omega/tsdb.h"

typedef struct omega_analytics omega_analytics_t;

/* Called with one `{"type":"job","event":"started|ended",...}` live frame per operation
 * that starts or ends (on the calling thread, after the change is stored; the metrics
 * thread for abandoned operations). json is borrowed for the call; must not call back into
 * the module. */
typedef void (*omega_analytics_event_fn)(void *ctx, const char *json, size_t len);

/* Module options; start from omega_analytics_options_init(). */
typedef struct omega_analytics_options {
    size_t max_active;                 /* operations running at once; a start beyond it is
                                          OMEGA_E2BIG (10000) */
    size_t max_families;               /* distinct kind + label sets with metrics; operations of
                                          new sets beyond it are recorded without metrics (10000) */
    int64_t metrics_interval_ms;       /* period of the metrics thread, which re-writes every
                                          counter and gauge so they never go stale (15000) */
    int64_t active_max_age_ms;         /* a running operation older than this is ended with status
                                          "abandoned" by the metrics thread (24 h); 0 = never */
    int64_t history_retention_ms;      /* finished records that ended longer ago than this are
                                          deleted by the metrics thread (30 d); 0 = keep */
    omega_analytics_event_fn on_event; /* live frames, or NULL */
    void *event_ctx;                   /* passed to on_event */
} omega_analytics_options_t;

/* Fill o with the defaults listed on the fields. */
void omega_analytics_options_init(omega_analytics_options_t *o);

/* Load the running operations persisted in db (borrowed; must outlive the module). No
 * thread runs yet. Returns NULL and fills err when the stored data cannot be read. Free
 * with omega_analytics_destroy(). */
omega_analytics_t *omega_analytics_create(omega_tsdb_t *db, const omega_analytics_options_t *o,
                                          omega_error_t *err);

/* Start the metrics thread (omega_analytics_tick every metrics_interval_ms). Returns 0 or
 * OMEGA_EIO when the thread cannot be created. */
int omega_analytics_start(omega_analytics_t *a);

/* Stop the metrics thread (a tick in progress finishes). Idempotent; safe when never
 * started. */
void omega_analytics_stop(omega_analytics_t *a);

/* Stop and free. Accepts NULL. Must be called before the store is closed. */
void omega_analytics_destroy(omega_analytics_t *a);

/* Start operation id (1-128 characters of [A-Za-z0-9._:@+~-]) at now_ms with the body
 * json (len bytes) `{"kind":"compile","labels":{"job":"frontend"}}`, both fields optional
 * (kind defaults to "operation"). On success *out (if non-NULL) gets the operation as
 * JSON. Errors: OMEGA_EINVAL (err->path names the field when the JSON is valid but a value
 * is not; no path: the body is not a JSON object), OMEGA_EEXIST (id is already running),
 * OMEGA_E2BIG (max_active operations are running), OMEGA_EIO/OMEGA_ENOSPC (store). */
int omega_analytics_op_start(omega_analytics_t *a, const char *id, const char *json, size_t len,
                             int64_t now_ms, char **out, omega_error_t *err);

/* End running operation id at now_ms with the body `{"status":"ok|failed","phases":
 * {"lexical":12.5,...},"attributes":{...}}` (status required; phases in milliseconds, at
 * most 64; attributes a flat object of at most 64 strings, numbers, booleans or nulls).
 * Stores the finished record, writes its metrics and sends the live frame. *out as for
 * start. Errors: OMEGA_EINVAL as for start, OMEGA_ENOENT (id is not running: never
 * started, already ended or abandoned), OMEGA_EIO/OMEGA_ENOSPC (nothing changed). */
int omega_analytics_op_end(omega_analytics_t *a, const char *id, const char *json, size_t len,
                           int64_t now_ms, char **out, omega_error_t *err);

/* What omega_analytics_list returns. */
typedef struct omega_analytics_query {
    int active;       /* 1: running only, 0: finished only, -1: both (running first) */
    int64_t since_ms; /* finished operations that ended at or after this (Unix ms) */
    int64_t until_ms; /* ...and at or before this */
    size_t limit;     /* most items returned (newest first); 0 = 1000 */
} omega_analytics_query_t;

/* `{"items":[...],"truncated":bool}`: running operations (newest start first), then
 * finished ones that ended in [since_ms, until_ms] (newest end first), at most q->limit in
 * all. Errors: OMEGA_EINVAL (since after until, limit over 10000), OMEGA_EIO. */
int omega_analytics_list(omega_analytics_t *a, const omega_analytics_query_t *q, char **out,
                         omega_error_t *err);

/* One metrics pass as of now_ms: end operations running longer than active_max_age_ms as
 * "abandoned", then write every counter, histogram and active gauge, then delete
 * finished records older than history_retention_ms (the metrics thread
 * calls this; tests call it with a fake clock). Returns 0 or the store's error (logged by
 * the thread). */
int omega_analytics_tick(omega_analytics_t *a, int64_t now_ms);

/* Operations running now. */
size_t omega_analytics_active_count(omega_analytics_t *a);

#endif
