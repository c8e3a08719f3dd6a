/* SPDX-License-Identifier: Apache-2.0 */
/* Private types of the analytics module: running operations, metric families (kind + label
 * set) with their histograms, and the helpers shared by ops.c, body.c, history.c and
 * metrics.c. Only analytics/ includes this file. */
#ifndef OMEGA_ANALYTICS_INT_H
#define OMEGA_ANALYTICS_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "omega/analytics.h"
#include "omega/metric.h"

#define ANA_ID_MAX          128   /* longest operation id */
#define ANA_KIND_MAX        64    /* longest kind */
#define ANA_LABELS_MAX      16    /* labels per operation */
#define ANA_LABEL_VALUE_MAX 256   /* bytes of one label value */
#define ANA_NAME_MAX        64    /* longest label, phase or attribute name */
#define ANA_PHASES_MAX      64    /* phases per operation */
#define ANA_ATTRS_MAX       64    /* attributes per operation */
#define ANA_ATTR_STR_MAX    1024  /* bytes of one string attribute */
#define ANA_LIST_MAX        10000 /* most items one list may return */
#define ANA_LIST_DEFAULT    1000  /* items when the query gives no limit */

/* Key prefixes in OMEGA_KV_EVENTS. */
#define KEY_ACTIVE     "opa/" /* + id -> {"id","kind","labels","started_ms"} */
#define KEY_RECORD     "opr/" /* + 8-byte BE ended ms + 4-byte BE sequence + id -> the item */
#define KEY_RECORD_LEN 4
#define RECORD_TS_OFF  KEY_RECORD_LEN
#define RECORD_ID_OFF  (KEY_RECORD_LEN + 12)

/* Final statuses; a running operation has none yet. */
typedef enum ana_status { ANA_OK = 0, ANA_FAILED, ANA_ABANDONED, ANA_STATUS_COUNT } ana_status_t;

#define ANA_BUCKETS 16                              /* duration histogram buckets, +Inf included */
extern const double ana_bucket_bounds[ANA_BUCKETS]; /* upper bounds, seconds */
extern const char *const ana_bucket_names[ANA_BUCKETS]; /* their "le" label values */
extern const char *const ana_status_names[ANA_STATUS_COUNT];

/* One metric family: the operations of one kind and label set. Never freed or changed
 * (except its counters) before the module is destroyed, so points may borrow its strings
 * after the lock is released. */
typedef struct family {
    size_t idx;                        /* position in the module's families array */
    char *key;                         /* canonical kind + sorted labels, length-prefixed */
    char *kind;                        /* the kind label */
    omega_label_t *labels;             /* the operation labels (strings owned here) */
    size_t n_labels;                   /* entries in labels */
    uint32_t active;                   /* operations of this family running now */
    int status_seen[ANA_STATUS_COUNT]; /* that status has series */
    uint64_t count[ANA_STATUS_COUNT];  /* finished operations */
    double sum[ANA_STATUS_COUNT];      /* their durations, seconds */
    uint64_t bucket[ANA_STATUS_COUNT][ANA_BUCKETS]; /* cumulative bucket counts */
} family_t;

/* One running operation. */
typedef struct active_op {
    char *id;           /* operation id */
    char *kind;         /* kind */
    json_t *labels;     /* object of string values (owned reference) */
    int64_t started_ms; /* start time, Unix ms */
    family_t *family;   /* its metric family, NULL when over max_families */
} active_op_t;

struct omega_analytics {
    omega_tsdb_t *db;              /* the store (borrowed) */
    omega_analytics_options_t opt; /* options as given, defaults filled */
    pthread_mutex_t mu;            /* guards everything below */
    active_op_t **active;          /* running operations, unordered */
    size_t n_active;               /* entries in active */
    family_t **families;           /* every family created so far */
    size_t n_families;             /* entries in families */
    uint32_t seq;                  /* record key sequence */
    int64_t last_warn_ms;          /* rate limit for metric write warnings */
    pthread_t thread;              /* the metrics thread */
    int running;                   /* the thread was started and not yet joined */
    int stopping;                  /* asks the thread to end */
    pthread_cond_t cv;             /* wakes the thread for stop */
};

/* ---- body.c: request bodies and JSON shapes ---- */

/* 1 when id is a valid operation id. */
int ana_id_valid(const char *id);
/* Parse a start body into *kind (malloc'd) and *labels (new object). Returns 0 or
 * OMEGA_EINVAL with err (path set when the JSON is valid). */
int ana_parse_start(const char *json, size_t len, char **kind, json_t **labels, omega_error_t *err);
/* Parse an end body: status, phases (new object, may be empty), attributes (same). */
int ana_parse_end(const char *json, size_t len, ana_status_t *status, json_t **phases,
                  json_t **attrs, omega_error_t *err);
/* The API item of a running operation as of now_ms (new object). */
json_t *ana_item_running(const active_op_t *op, int64_t now_ms);
/* The API item of a finished operation (new object; phases/attrs borrowed, copied in). */
json_t *ana_item_finished(const active_op_t *op, ana_status_t st, int64_t ended_ms, json_t *phases,
                          json_t *attrs);
/* Serialise o compactly (malloc'd); `{"type":"job","event":event,...o}` with frame. */
char *ana_dump(json_t *o);
void ana_emit(omega_analytics_t *a, const char *event, json_t *item);

/* ---- history.c: the events key space ---- */

/* Persist / forget a running operation. */
int ana_active_put(omega_analytics_t *a, const active_op_t *op, omega_error_t *err);
int ana_active_delete(omega_analytics_t *a, const char *id, omega_error_t *err);
/* Load every persisted running operation into a (create time, no lock needed). */
int ana_active_load(omega_analytics_t *a, omega_error_t *err);
/* Store a finished record (item) that ended at ended_ms. */
int ana_record_put(omega_analytics_t *a, const char *id, int64_t ended_ms, json_t *item,
                   omega_error_t *err);
/* Append finished items of q (newest first) to items, at most `want`; *truncated set
 * when more matched. */
int ana_record_list(omega_analytics_t *a, const omega_analytics_query_t *q, size_t want,
                    json_t *items, int *truncated, omega_error_t *err);

/* Delete records that ended before cutoff_ms, oldest first, at most max; *deleted counts
 * them. No lock needed (records never change). */
int ana_record_prune(omega_analytics_t *a, int64_t cutoff_ms, size_t max, size_t *deleted,
                     omega_error_t *err);

/* ---- metrics.c: families and TSDB points ---- */

/* Points built under the lock and written after it; strings are borrowed from families
 * (stable) and from json values the batch holds references to. */
typedef struct ana_batch {
    omega_point_t *pts;     /* points */
    size_t n, cap;          /* used, allocated */
    omega_label_t **labels; /* one label array per point (owned) */
    json_t *hold;           /* array keeping borrowed json strings alive */
} ana_batch_t;

void ana_batch_init(ana_batch_t *b);
void ana_batch_free(ana_batch_t *b);
/* Write the batch (no lock held); failures are logged, rate-limited. */
void ana_batch_write(omega_analytics_t *a, ana_batch_t *b);

/* The family of kind + labels, created when new; NULL when max_families is reached.
 * Lock held. */
family_t *ana_family_get(omega_analytics_t *a, const char *kind, json_t *labels);
void ana_family_free(family_t *f);
/* Add the points of one family's active gauges (count and oldest age) at now_ms. */
void ana_points_active(ana_batch_t *b, const family_t *f, double oldest_s, int64_t now_ms);
/* Count a finished operation in its family and add its points (histogram, counter, last
 * duration, phases, resource attributes) at ended_ms. f may be NULL (no metrics). */
void ana_points_end(ana_batch_t *b, family_t *f, ana_status_t st, double duration_s, json_t *phases,
                    json_t *attrs, int64_t ended_ms);
/* Add every counter and histogram series of f (tick). */
void ana_points_family(ana_batch_t *b, const family_t *f, int64_t now_ms);

#endif
