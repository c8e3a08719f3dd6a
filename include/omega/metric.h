/* SPDX-License-Identifier: Apache-2.0 */
/* The data model shared by collectors, storage and queries: a series is a metric name
 * plus a label set (Prometheus naming rules); a sample is (Unix ms, double). */
#ifndef OMEGA_METRIC_H
#define OMEGA_METRIC_H

#include <stddef.h>
#include <stdint.h>

/* One label pair. Both strings are borrowed unless a function says otherwise. */
typedef struct omega_label {
    const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]*, "__name__" is reserved for the metric name */
    const char *value; /* any valid UTF-8, may be empty */
} omega_label_t;

/* One sample of one series. */
typedef struct omega_sample {
    int64_t ts_ms; /* Unix milliseconds */
    double value;  /* any double, NaN and +/-Inf included */
} omega_sample_t;

/* One sample addressed by name and labels, as collectors and parsers produce them.
 * All pointers are borrowed for the duration of the call that receives the point. */
typedef struct omega_point {
    const char *name;            /* metric name, [a-zA-Z_:][a-zA-Z0-9_:]* */
    const omega_label_t *labels; /* label pairs, any order, names unique */
    size_t n_labels;             /* number of entries in labels */
    int64_t ts_ms;               /* Unix milliseconds */
    double value;                /* sample value */
} omega_point_t;

/* Label matcher operators of a series selector. */
typedef enum omega_match_op {
    OMEGA_MATCH_EQ = 0,  /* l="v" */
    OMEGA_MATCH_NE = 1,  /* l!="v" */
    OMEGA_MATCH_RE = 2,  /* l=~"re", fully anchored POSIX extended regex */
    OMEGA_MATCH_NRE = 3, /* l!~"re" */
} omega_match_op_t;

/* One matcher; the metric name is matched as the label "__name__". A label that a
 * series lacks has the value "" for matching purposes (Prometheus semantics). */
typedef struct omega_matcher {
    const char *name;    /* label name, "__name__" for the metric name */
    const char *value;   /* literal or regex */
    omega_match_op_t op; /* comparison */
} omega_matcher_t;

/* True when s is a valid metric name / label name. */
int omega_metric_name_valid(const char *s);
int omega_label_name_valid(const char *s);

#endif
