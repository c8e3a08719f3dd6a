/* SPDX-License-Identifier: Apache-2.0 */
/* Pushed data formats turned into omega_point_t batches (module ingest/): the Influx line
 * protocol (incremental parser), the JSON import format, gzip bodies, metric definitions
 * (stored in the meta KV space) and the Prometheus / OpenMetrics text exposition writer.
 * Nothing here knows HTTP; storage writes stay with the caller (omega_tsdb_write).
 *
 * Thread rules: every object is used by one thread at a time; different objects may be
 * used by different threads at once. All functions are reentrant. */
#ifndef OMEGA_INGEST_H
#define OMEGA_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "omega/buf.h"
#include "omega/common.h"
#include "omega/metric.h"
#include "omega/tsdb.h"

/* ---- Limits ---- */

/* Per-request bounds; start from omega_ingest_limits_init(). A line or label limit makes
 * that line / element invalid (OMEGA_EINVAL, HTTP 400); the sample and decoded-size limits
 * refuse the request (OMEGA_E2BIG, HTTP 413). The reason is in err either way. */
typedef struct omega_ingest_limits {
    size_t max_line_bytes;    /* one line-protocol line, terminator excluded (default 1 MiB) */
    size_t max_points;        /* samples in one request (default 2,000,000) */
    size_t max_labels;        /* tags / labels of one sample (default 64) */
    size_t max_decoded_bytes; /* body after gzip decoding (default 256 MiB) */
} omega_ingest_limits_t;

/* Fill l with the defaults above. */
void omega_ingest_limits_init(omega_ingest_limits_t *l);

/* ---- Batches ---- */

/* Points produced by a parser, owning every string they point to. Opaque. */
typedef struct omega_ingest_batch omega_ingest_batch_t;

/* Create an empty batch; free with omega_ingest_batch_destroy() (accepts NULL). */
omega_ingest_batch_t *omega_ingest_batch_create(void);
void omega_ingest_batch_destroy(omega_ingest_batch_t *b);

/* The points, ready for omega_tsdb_write(). Borrowed: valid until the batch is changed or
 * destroyed. *n gets the count. */
const omega_point_t *omega_ingest_batch_points(omega_ingest_batch_t *b, size_t *n);

/* Rewrites one label value of a batch: NULL keeps value, anything else is a malloc'd
 * replacement (the batch copies it and frees it). name and value are borrowed for the call. */
typedef char *(*omega_ingest_label_fn)(void *ctx, const char *name, const char *value);

/* Call fn(ctx, name, value) once for every label of every label set in b (a label array
 * shared by a run of points is visited once) and store the replacements it returns, before
 * omega_ingest_batch_points() hands the points out. Names are never changed, so label order
 * is kept. The server uses it to mask personal data in free-text labels (the callback comes
 * from auth: omega_pii_label_cb) without ingest linking auth. */
void omega_ingest_batch_rewrite_labels(omega_ingest_batch_t *b, omega_ingest_label_fn fn,
                                       void *ctx);

/* 1-based source line (line protocol) or array index (JSON import, 0-based) of point i, so
 * a storage rejection can name the input it came from. */
size_t omega_ingest_batch_origin(const omega_ingest_batch_t *b, size_t i);

/* ---- Influx line protocol ---- */

/* Timestamp precision of the `precision` query parameter. */
typedef enum omega_lp_precision {
    OMEGA_LP_NS = 0, /* nanoseconds (default) */
    OMEGA_LP_US = 1, /* microseconds */
    OMEGA_LP_MS = 2, /* milliseconds */
    OMEGA_LP_S = 3,  /* seconds */
} omega_lp_precision_t;

/* Parse "ns", "us" (also "u", "µs"), "ms", "s"; NULL or "" give ns. Returns 0 or
 * OMEGA_EINVAL. */
int omega_lp_precision_parse(const char *s, omega_lp_precision_t *out);

/* Incremental parser: feed the body in pieces of any size (a line may span pieces); only a
 * partial line is ever copied (bounded by max_line_bytes). Opaque. */
typedef struct omega_lp_parser omega_lp_parser_t;

/* Create a parser appending to `out` (borrowed, must outlive the parser). now_ms is the
 * timestamp of lines without one (the server's receive time). lim is copied (NULL for
 * the defaults). Free with omega_lp_parser_destroy() (accepts NULL). */
omega_lp_parser_t *omega_lp_parser_create(omega_ingest_batch_t *out, omega_lp_precision_t prec,
                                          int64_t now_ms, const omega_ingest_limits_t *lim);
void omega_lp_parser_destroy(omega_lp_parser_t *p);

/* Parse every complete line of data[0..len). Returns 0, OMEGA_EINVAL (a bad line: err->line
 * is its 1-based number and err->message reads "line 3: <reason>") or OMEGA_E2BIG (a limit).
 * After an error the parser only repeats it. */
int omega_lp_parser_feed(omega_lp_parser_t *p, const char *data, size_t len, omega_error_t *err);

/* End of input: parse a last line without terminator. Same returns as feed. */
int omega_lp_parser_finish(omega_lp_parser_t *p, omega_error_t *err);

/* One-shot helper: create, feed all of data, finish, destroy. */
int omega_lp_parse(const char *data, size_t len, omega_lp_precision_t prec, int64_t now_ms,
                   const omega_ingest_limits_t *lim, omega_ingest_batch_t *out, omega_error_t *err);

/* ---- JSON import ---- */

/* Parse `[{"metric":"name","labels":{...},"samples":[[ts_ms,value],...]},...]` into out.
 * Values are JSON numbers or the strings "NaN", "+Inf", "-Inf" ("Inf" too); timestamps are
 * integer Unix milliseconds. Returns 0, OMEGA_EINVAL with err->path set to the JSON path
 * and err->message "[2].samples[5][1]: expected a number ...", or OMEGA_E2BIG. */
int omega_import_parse(const char *json, size_t len, const omega_ingest_limits_t *lim,
                       omega_ingest_batch_t *out, omega_error_t *err);

/* ---- gzip ---- */

/* Receives decoded bytes; return 0 to continue or a negative OMEGA_E* to stop (returned). */
typedef int (*omega_ingest_sink_fn)(void *ctx, const char *data, size_t len);

/* Decode a gzip body (one or more members) in bounded pieces, calling sink for each. Returns
 * 0, OMEGA_EINVAL (not gzip / corrupt / truncated, reason in err), OMEGA_E2BIG (more than
 * max_out decoded bytes: a gzip bomb is stopped there), or the sink's error. */
int omega_gunzip(const void *in, size_t len, size_t max_out, omega_ingest_sink_fn sink, void *ctx,
                 omega_error_t *err);

/* ---- Prometheus remote_write ---- */

/* Decode a snappy block (the remote_write body encoding) into a malloc'd NUL-terminated
 * buffer (*out, freed by the caller; *out_len bytes). Returns 0, OMEGA_EINVAL (corrupt or
 * truncated, reason in err) or OMEGA_E2BIG (declares more than max_out bytes: refused
 * before allocating). */
int omega_snappy_decode(const void *in, size_t len, size_t max_out, char **out, size_t *out_len,
                        omega_error_t *err);

/* Parse a decoded remote_write 1.0 WriteRequest into out: the __name__ label is the metric
 * name, the others its labels; exemplars, native histograms and metadata are skipped and
 * staleness markers dropped (counted in *stale_dropped, may be NULL). lim NULL = defaults.
 * Returns 0, OMEGA_EINVAL ("timeseries[3]: no __name__ label", malformed protobuf) or
 * OMEGA_E2BIG (more than lim->max_points samples). */
int omega_promwrite_parse(const void *proto, size_t len, const omega_ingest_limits_t *lim,
                          omega_ingest_batch_t *out, size_t *stale_dropped, omega_error_t *err);

/* ---- Metric definitions ---- */

typedef enum omega_metric_type {
    OMEGA_METRIC_COUNTER = 0,
    OMEGA_METRIC_GAUGE = 1,
    OMEGA_METRIC_HISTOGRAM = 2,
} omega_metric_type_t;

/* Text name of a type ("counter", "gauge", "histogram"). */
const char *omega_metric_type_name(omega_metric_type_t t);

#define OMEGA_METRIC_MAX_BUCKETS 64

/* One definition. Strings are owned by the struct that holds it (see each function). */
typedef struct omega_metric_def {
    char name[256];                           /* metric (family) name, Prometheus charset */
    omega_metric_type_t type;                 /* counter, gauge or histogram */
    char help[1024];                          /* help text, any UTF-8 */
    char unit[64];                            /* unit ("seconds", "bytes"), "" for none */
    double buckets[OMEGA_METRIC_MAX_BUCKETS]; /* histogram upper bounds, strictly increasing,
                                                 finite (+Inf is implicit) */
    size_t n_buckets;                         /* entries in buckets (0 for non-histograms) */
} omega_metric_def_t;

/* Validate a JSON body {"name","type","help","unit","buckets"?} into *out. Returns 0 or
 * OMEGA_EINVAL with err->path naming the field. */
int omega_metric_def_from_json(const char *json, size_t len, omega_metric_def_t *out,
                               omega_error_t *err);

/* Append def as a JSON object to b. */
void omega_metric_def_to_json(const omega_metric_def_t *def, omega_buf_t *b);

/* Store def in the meta KV space. *created gets 1 when new, 0 when it replaced an equal or
 * compatible one (help or unit changed). Returns 0, OMEGA_EEXIST when a definition of the
 * same name has another type or other buckets (or clashes with a histogram's _bucket/_sum/
 * _count series), or the storage error. Puts are serialised process-wide, so two requests
 * defining one name cannot both pass the conflict check. */
int omega_metric_def_put(omega_tsdb_t *db, const omega_metric_def_t *def, int *created,
                         omega_error_t *err);

/* Every stored definition, sorted by name. */
typedef struct omega_metric_defs {
    omega_metric_def_t *items; /* owned, sorted by name */
    size_t n;                  /* entries in items */
} omega_metric_defs_t;

/* Load all definitions into *out (freed with omega_metric_defs_deinit). Returns 0 or the
 * storage error. */
int omega_metric_defs_load(omega_tsdb_t *db, omega_metric_defs_t *out, omega_error_t *err);
void omega_metric_defs_deinit(omega_metric_defs_t *d);

/* The definition for metric `name` (exact), or NULL. Borrowed from d. */
const omega_metric_def_t *omega_metric_defs_find(const omega_metric_defs_t *d, const char *name);

/* Check points against the definitions as Prometheus would: a histogram's samples must be
 * name_bucket with a numeric `le`, name_sum or name_count (a bare `name` sample or a bucket
 * without `le` is rejected); counters may go down (a reset), gauges take anything. Returns
 * 0 or OMEGA_EINVAL: *bad gets the point index, err->message the reason. */
int omega_metric_defs_check(const omega_metric_defs_t *d, const omega_point_t *points, size_t n,
                            size_t *bad, omega_error_t *err);

/* ---- Text exposition (Prometheus 0.0.4 and OpenMetrics 1.0) ---- */

typedef enum omega_expo_format {
    OMEGA_EXPO_PROMETHEUS = 0,  /* text/plain; version=0.0.4 */
    OMEGA_EXPO_OPENMETRICS = 1, /* application/openmetrics-text; version=1.0.0 */
} omega_expo_format_t;

/* Pick the format from an Accept header (NULL: Prometheus text). */
omega_expo_format_t omega_expo_negotiate(const char *accept);
/* Content-Type of a format (static string). */
const char *omega_expo_content_type(omega_expo_format_t f);

/* A writer appending to a caller's buffer. Families must be opened with
 * omega_expo_family() before their samples; a family name used twice is refused. */
typedef struct omega_expo {
    omega_buf_t *out;         /* borrowed output buffer */
    omega_expo_format_t fmt;  /* output format */
    omega_metric_type_t type; /* current family's type */
    char family[256];         /* current family name ("" before the first) */
    char **seen;              /* family names written so far (owned) */
    size_t n_seen;            /* entries in seen */
} omega_expo_t;

void omega_expo_init(omega_expo_t *e, omega_buf_t *out, omega_expo_format_t fmt);
/* Frees the writer's own state (not the buffer). */
void omega_expo_deinit(omega_expo_t *e);

/* Start family `name` (for counters the name with its `_total`, as stored) with HELP, TYPE
 * and (OpenMetrics, when name ends with it) UNIT lines. Returns 0, or OMEGA_EINVAL for an
 * invalid name or OMEGA_EEXIST when the family was written before. */
int omega_expo_family(omega_expo_t *e, const char *name, omega_metric_type_t type, const char *help,
                      const char *unit);

/* One sample of the current counter or gauge family. */
void omega_expo_sample(omega_expo_t *e, const omega_label_t *labels, size_t n, double value);

/* One histogram series of the current histogram family: bounds[i] with cumulative counts
 * cum[i] (ascending, the +Inf bucket is added from `count`), then _sum and _count. */
void omega_expo_histogram(omega_expo_t *e, const omega_label_t *labels, size_t n,
                          const double *bounds, const double *cum, size_t nb, double sum,
                          double count);

/* End the exposition ("# EOF" for OpenMetrics). */
void omega_expo_finish(omega_expo_t *e);

#endif
