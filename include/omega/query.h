/* SPDX-License-Identifier: Apache-2.0 */
/* Queries over the store (module query/): the PromQL subset of API.md (selectors, range
 * selectors, offset, functions, aggregations, binary operators) evaluated with Prometheus
 * 2.42 semantics as instant or range queries, plus the series / label listings behind
 * /api/v1/series, /labels and /label/<name>/values.
 * Thread rules: all functions are reentrant; results are owned by the caller. */
#ifndef OMEGA_QUERY_H
#define OMEGA_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "omega/common.h"
#include "omega/metric.h"
#include "omega/tsdb.h"

/* PromQL's default lookback delta: an instant vector takes each series' newest sample
 * no older than this. */
#define OMEGA_QUERY_LOOKBACK_MS (5 * 60 * 1000)

/* Longest query text accepted, in bytes. */
#define OMEGA_QUERY_MAX_LEN 16384

typedef struct omega_selector omega_selector_t;

/* Parse a series selector. On failure returns OMEGA_EINVAL with err->message naming the
 * 1-based character position and the reason ("1:5: unexpected character '('"), and
 * err->column set. Free the result with omega_selector_destroy(). */
int omega_selector_parse(const char *text, omega_selector_t **out, omega_error_t *err);
void omega_selector_destroy(omega_selector_t *sel);

/* The selector's matchers, the metric name as a "__name__" matcher first when given.
 * Borrowed: valid until omega_selector_destroy(). */
const omega_matcher_t *omega_selector_matchers(const omega_selector_t *sel, size_t *n);

/* One element of an instant vector. Owns its strings. */
typedef struct omega_vector_item {
    omega_label_t *labels; /* sorted by name, "__name__" included */
    size_t n_labels;       /* entries in labels */
    int64_t ts_ms;         /* evaluation time */
    double value;          /* the sample value */
} omega_vector_item_t;

typedef struct omega_vector {
    omega_vector_item_t *items; /* series sorted by labels */
    size_t n;                   /* number of items */
} omega_vector_t;

/* Evaluate expr as an instant query at t_ms with the default options (any expression whose
 * result is an instant vector). Returns 0 and a vector the caller frees with
 * omega_vector_destroy(), or the error codes of omega_query_exec(); OMEGA_EINVAL also when
 * the result is not an instant vector. */
int omega_query_instant(omega_tsdb_t *db, const char *expr, int64_t t_ms, omega_vector_t **out,
                        omega_error_t *err);

/* Same for an already parsed selector (the live hub parses once per subscription). */
int omega_query_instant_selector(omega_tsdb_t *db, const omega_selector_t *sel, int64_t t_ms,
                                 omega_vector_t **out, omega_error_t *err);

void omega_vector_destroy(omega_vector_t *v);

/* Parse expr without evaluating it and check that it yields an instant vector (what the
 * live stream and alert rules need). Cheap enough for the event loop. Returns 0, or
 * OMEGA_EINVAL with the parser's message (position included) in err. */
int omega_query_check_instant_vector(const char *expr, omega_error_t *err);

/* ---- The PromQL engine ---- */

/* Prometheus' limit on steps of a range query. */
#define OMEGA_QUERY_MAX_STEPS 11000
/* Evaluation times beyond +-this (Unix ms, about year 318,000) are refused. */
#define OMEGA_QUERY_MAX_TIME_MS 10000000000000000LL

/* Limits of one evaluation; start from omega_query_opts_init(). */
typedef struct omega_query_opts {
    int64_t timeout_ms;   /* evaluation deadline (default 120000, as Prometheus; at most a
                             day; <= 0 times out at the first check) */
    uint64_t max_samples; /* samples read plus points computed, summed over the query
                             (default 50,000,000, Prometheus' query.max-samples) */
    int64_t lookback_ms;  /* instant-vector lookback (default OMEGA_QUERY_LOOKBACK_MS) */
} omega_query_opts_t;

void omega_query_opts_init(omega_query_opts_t *o);

typedef enum omega_query_type {
    OMEGA_QUERY_SCALAR = 0, /* one value (instant query of a scalar expression) */
    OMEGA_QUERY_VECTOR = 1, /* series with one point each at the evaluation time */
    OMEGA_QUERY_MATRIX = 2, /* series with points over time (range query, range selector) */
    OMEGA_QUERY_STRING = 3, /* a string literal (instant query only) */
} omega_query_type_t;

/* One series of a result. Owns its strings and points. */
typedef struct omega_query_series {
    omega_label_t *labels;  /* sorted by name, "__name__" when kept */
    size_t n_labels;        /* entries in labels */
    omega_sample_t *points; /* ascending by time; one for a vector */
    size_t n_points;        /* entries in points */
} omega_query_series_t;

typedef struct omega_query_result {
    omega_query_type_t type;      /* which of the fields below is meaningful */
    int64_t ts_ms;                /* SCALAR/STRING: evaluation time */
    double scalar;                /* SCALAR: the value */
    char *string;                 /* STRING: the value (owned) */
    omega_query_series_t *series; /* VECTOR/MATRIX: series sorted by labels */
    size_t n_series;              /* entries in series */
} omega_query_result_t;

/* Evaluate expr. step_ms == 0: an instant query at start_ms (end_ms ignored) giving a
 * scalar, vector, matrix (top-level range selector) or string. step_ms > 0: a range query
 * at start, start+step, ... <= end giving a matrix (a scalar becomes one series without
 * labels). opts may be NULL for the defaults. Returns 0 and *out (free with
 * omega_query_result_destroy()), or:
 *   OMEGA_EINVAL    parse or type error ("1:5: parse error: ..."), unsupported construct,
 *                   bad range (end < start, more than OMEGA_QUERY_MAX_STEPS steps, a time
 *                   beyond +-OMEGA_QUERY_MAX_TIME_MS)                                 -> 400
 *   OMEGA_EEXIST    the data makes the result ambiguous (duplicate label sets,
 *                   many-to-many matching)                                          -> 422
 *   OMEGA_E2BIG     the max_samples budget was exceeded                             -> 422
 *   OMEGA_ETIMEDOUT the deadline passed                                             -> 503
 *   storage errors (OMEGA_EIO, ...)                                                 -> 500
 * err->message says why in every case. */
int omega_query_exec(omega_tsdb_t *db, const char *expr, int64_t start_ms, int64_t end_ms,
                     int64_t step_ms, const omega_query_opts_t *opts, omega_query_result_t **out,
                     omega_error_t *err);

/* Accepts NULL. */
void omega_query_result_destroy(omega_query_result_t *r);

/* ---- Listings (series, label names, label values) ---- */

/* A list of label sets or of strings, owned by the caller. */
typedef struct omega_query_labelsets {
    omega_query_series_t *sets; /* label sets (points unused), sorted, unique */
    size_t n;                   /* entries in sets */
} omega_query_labelsets_t;

typedef struct omega_query_strings {
    char **v; /* sorted, unique, owned */
    size_t n; /* entries in v */
} omega_query_strings_t;

/* Series matching any of the n_match selectors (each a plain series selector such as
 * `up{job="x"}`). start_ms/end_ms: when either is non-zero only series with samples in
 * [start_ms, end_ms] count (0 for an open end). n_match == 0 means every series (only the
 * label helpers accept that). Returns 0, OMEGA_EINVAL (a selector does not parse; err names
 * it), OMEGA_E2BIG (more than max_series results; 0 = no limit) or a storage error. */
int omega_query_series(omega_tsdb_t *db, const char *const *match, size_t n_match, int64_t start_ms,
                       int64_t end_ms, size_t max_series, omega_query_labelsets_t **out,
                       omega_error_t *err);
/* Label names (with "__name__") of those series. */
int omega_query_label_names(omega_tsdb_t *db, const char *const *match, size_t n_match,
                            int64_t start_ms, int64_t end_ms, omega_query_strings_t **out,
                            omega_error_t *err);
/* Values of label `name` ("__name__" for metric names) of those series. */
int omega_query_label_values(omega_tsdb_t *db, const char *name, const char *const *match,
                             size_t n_match, int64_t start_ms, int64_t end_ms,
                             omega_query_strings_t **out, omega_error_t *err);

void omega_query_labelsets_destroy(omega_query_labelsets_t *l);
void omega_query_strings_destroy(omega_query_strings_t *s);

#endif
