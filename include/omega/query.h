/* SPDX-License-Identifier: Apache-2.0 */
/* Queries over the store (module query/). This first version understands series
 * selectors (`name{l="v",l!="v",l=~"re",l!~"re"}`) evaluated as PromQL instant vectors
 * with the 5-minute lookback; the PromQL engine grows here.
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
    omega_vector_item_t *items; /* series in index order */
    size_t n;                   /* number of items */
} omega_vector_t;

/* Evaluate expr as an instant query at t_ms. Returns 0 and a vector the caller frees
 * with omega_vector_destroy(), or OMEGA_EINVAL (bad or unsupported expression; err says
 * where), or the storage error. */
int omega_query_instant(omega_tsdb_t *db, const char *expr, int64_t t_ms, omega_vector_t **out,
                        omega_error_t *err);

/* Same for an already parsed selector (the live hub parses once per subscription). */
int omega_query_instant_selector(omega_tsdb_t *db, const omega_selector_t *sel, int64_t t_ms,
                                 omega_vector_t **out, omega_error_t *err);

void omega_vector_destroy(omega_vector_t *v);

#endif
