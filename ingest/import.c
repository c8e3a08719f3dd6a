/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON import format of API.md: [{"metric","labels","samples":[[ts_ms,value],...]}],
 * checked element by element so every error names its JSON path ("[2].samples[5][1]"). */
#include "ingest_int.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Fill err with "<path>: <reason>" and the path; returns OMEGA_EINVAL. */
static int bad(omega_error_t *err, const char *path, const char *reason)
{
    return omega_error_set_path(err, OMEGA_EINVAL, path, "%s: %s", path, reason);
}

static int parse_value(json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 1;
    }
    const char *s = json_string_value(v);
    if (!s)
        return 0;
    if (!strcmp(s, "NaN"))
        *out = NAN;
    else if (!strcmp(s, "+Inf") || !strcmp(s, "Inf"))
        *out = INFINITY;
    else if (!strcmp(s, "-Inf"))
        *out = -INFINITY;
    else
        return 0;
    return 1;
}

static int import_labels(json_t *labels, const char *at, const omega_ingest_limits_t *lim,
                         omega_ingest_batch_t *out, size_t *n, omega_error_t *err)
{
    char path[128];
    *n = 0;
    if (!labels)
        return 0;
    snprintf(path, sizeof(path), "%s.labels", at);
    if (!json_is_object(labels))
        return bad(err, path, "expected an object of label names to string values");
    if (json_object_size(labels) > lim->max_labels) {
        char why[96];
        snprintf(why, sizeof(why), "more than %zu labels", lim->max_labels);
        return bad(err, path, why);
    }
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v)
    {
        snprintf(path, sizeof(path), "%s.labels.%.60s", at, k);
        if (!omega_label_name_valid(k))
            return bad(err, path, "invalid label name (expected [a-zA-Z_][a-zA-Z0-9_]*)");
        if (k[0] == '_' && k[1] == '_')
            return bad(err, path, "label names starting with '__' are reserved");
        if (!json_is_string(v))
            return bad(err, path, "expected a string");
        if (json_string_length(v) == 0)
            continue; /* an empty label is no label (Prometheus) */
        batch_label_add(out, batch_strdup(out, k, strlen(k)),
                        batch_strdup(out, json_string_value(v), json_string_length(v)));
        (*n)++;
    }
    return 0;
}

static int import_samples(json_t *samples, const char *at, const char *name, size_t mark, size_t nl,
                          size_t idx, const omega_ingest_limits_t *lim, omega_ingest_batch_t *out,
                          omega_error_t *err)
{
    char path[128];
    snprintf(path, sizeof(path), "%s.samples", at);
    if (!json_is_array(samples))
        return bad(err, path, "expected an array of [timestamp_ms, value] pairs");
    size_t j;
    json_t *s;
    json_array_foreach(samples, j, s)
    {
        snprintf(path, sizeof(path), "%s.samples[%zu]", at, j);
        if (!json_is_array(s) || json_array_size(s) != 2)
            return bad(err, path, "expected a [timestamp_ms, value] pair");
        json_t *ts = json_array_get(s, 0);
        double v;
        snprintf(path, sizeof(path), "%s.samples[%zu][0]", at, j);
        if (!json_is_integer(ts))
            return bad(err, path, "expected an integer timestamp in Unix milliseconds");
        snprintf(path, sizeof(path), "%s.samples[%zu][1]", at, j);
        if (!parse_value(json_array_get(s, 1), &v))
            return bad(err, path, "expected a number or \"NaN\", \"+Inf\", \"-Inf\"");
        if (batch_npoints(out) >= lim->max_points)
            return omega_error_set_path(err, OMEGA_E2BIG, path,
                                        "more than %zu samples in one request", lim->max_points);
        batch_point_add(out, name, mark, nl, (int64_t)json_integer_value(ts), v, idx);
    }
    return 0;
}

static int import_one(json_t *e, size_t idx, const omega_ingest_limits_t *lim,
                      omega_ingest_batch_t *out, omega_error_t *err)
{
    char at[48], path[128];
    snprintf(at, sizeof(at), "[%zu]", idx);
    if (!json_is_object(e))
        return bad(err, at, "expected an object {\"metric\",\"labels\",\"samples\"}");
    const char *k;
    json_t *v;
    json_object_foreach(e, k, v)
    {
        if (strcmp(k, "metric") && strcmp(k, "labels") && strcmp(k, "samples")) {
            snprintf(path, sizeof(path), "%s.%.60s", at, k);
            return bad(err, path, "unknown field (expected metric, labels, samples)");
        }
    }
    json_t *metric = json_object_get(e, "metric");
    snprintf(path, sizeof(path), "%s.metric", at);
    if (!json_is_string(metric))
        return bad(err, path, "expected the metric name as a string");
    if (!omega_metric_name_valid(json_string_value(metric)))
        return bad(err, path, "invalid metric name (expected [a-zA-Z_:][a-zA-Z0-9_:]*)");
    if (!json_object_get(e, "samples")) {
        snprintf(path, sizeof(path), "%s.samples", at);
        return bad(err, path, "missing (expected an array of [timestamp_ms, value] pairs)");
    }
    const char *name = batch_strdup(out, json_string_value(metric), json_string_length(metric));
    size_t mark = batch_labels_mark(out), nl;
    int rc = import_labels(json_object_get(e, "labels"), at, lim, out, &nl, err);
    if (rc == 0)
        rc = import_samples(json_object_get(e, "samples"), at, name, mark, nl, idx, lim, out, err);
    return rc;
}

int omega_import_parse(const char *json, size_t len, const omega_ingest_limits_t *lim,
                       omega_ingest_batch_t *out, omega_error_t *err)
{
    omega_ingest_limits_t dl;
    if (!lim) {
        omega_ingest_limits_init(&dl);
        lim = &dl;
    }
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        int rc = omega_error_set(err, OMEGA_EINVAL, "invalid JSON at line %d, column %d: %s",
                                 je.line, je.column, je.text);
        if (err) {
            err->line = je.line;
            err->column = je.column;
        }
        return rc;
    }
    int rc = 0;
    if (!json_is_array(root)) {
        rc = bad(err, "$", "expected an array of {\"metric\",\"labels\",\"samples\"} objects");
    } else {
        size_t i;
        json_t *e;
        json_array_foreach(root, i, e)
        {
            rc = import_one(e, i, lim, out, err);
            if (rc)
                break;
        }
    }
    json_decref(root);
    return rc;
}
