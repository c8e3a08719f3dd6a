/* SPDX-License-Identifier: Apache-2.0 */
/* Request bodies of the operations API (validated strictly: unknown fields, wrong types
 * and values outside the limits are errors naming the field) and the JSON shapes of
 * operation items and live frames. */
#include "analytics_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const ana_status_names[ANA_STATUS_COUNT] = {"ok", "failed", "abandoned"};

int ana_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > ANA_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 strchr("._:@+~-", c) != NULL;
        if (!ok)
            return 0;
    }
    return 1;
}

/* [a-zA-Z_][a-zA-Z0-9_]* of at most ANA_NAME_MAX bytes. */
static int name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ANA_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

/* Label names the metrics add themselves. */
static int label_reserved(const char *s)
{
    static const char *const reserved[] = {"kind", "status", "phase", "le", "mode", NULL};
    if (strncmp(s, "__", 2) == 0)
        return 1;
    for (size_t i = 0; reserved[i]; i++)
        if (strcmp(s, reserved[i]) == 0)
            return 1;
    return 0;
}

/* Parse the body as an object; an empty body is {}. NULL with err on bad JSON. */
static json_t *load_object(const char *json, size_t len, omega_error_t *err)
{
    if (!json || len == 0)
        return json_object();
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        omega_error_set(err, OMEGA_EINVAL, "invalid JSON body at line %d, column %d: %s", je.line,
                        je.column, je.text);
        if (err) {
            err->line = je.line;
            err->column = je.column;
        }
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        omega_error_set(err, OMEGA_EINVAL, "the body must be a JSON object");
        return NULL;
    }
    return root;
}

/* The first key of root not in allowed, or NULL. */
static const char *unknown_key(json_t *root, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k) != 0)
            i++;
        if (!allowed[i])
            return k;
    }
    return NULL;
}

static int check_labels(json_t *labels, omega_error_t *err)
{
    if (!json_is_object(labels))
        return omega_error_set_path(err, OMEGA_EINVAL, "labels",
                                    "labels must be an object of strings");
    if (json_object_size(labels) > ANA_LABELS_MAX)
        return omega_error_set_path(err, OMEGA_EINVAL, "labels", "at most %d labels",
                                    ANA_LABELS_MAX);
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v) {
        char path[128];
        snprintf(path, sizeof(path), "labels.%.100s", k);
        if (!name_valid(k))
            return omega_error_set_path(err, OMEGA_EINVAL, path,
                                        "label names match [a-zA-Z_][a-zA-Z0-9_]* (at most "
                                        "%d characters)",
                                        ANA_NAME_MAX);
        if (label_reserved(k))
            return omega_error_set_path(err, OMEGA_EINVAL, path,
                                        "label name '%s' is reserved (kind, status, phase, le, "
                                        "mode and names starting with __)",
                                        k);
        if (!json_is_string(v))
            return omega_error_set_path(err, OMEGA_EINVAL, path, "label values are strings");
        if (json_string_length(v) > ANA_LABEL_VALUE_MAX)
            return omega_error_set_path(err, OMEGA_EINVAL, path, "label value longer than %d bytes",
                                        ANA_LABEL_VALUE_MAX);
    }
    return 0;
}

int ana_parse_start(const char *json, size_t len, char **kind, json_t **labels, omega_error_t *err)
{
    static const char *const allowed[] = {"kind", "labels", NULL};
    *kind = NULL;
    *labels = NULL;
    json_t *root = load_object(json, len, err);
    if (!root)
        return OMEGA_EINVAL;
    int rc = 0;
    const char *bad = unknown_key(root, allowed);
    json_t *k = json_object_get(root, "kind"), *l = json_object_get(root, "labels");
    if (bad)
        rc = omega_error_set_path(err, OMEGA_EINVAL, bad,
                                  "unknown field '%.64s' (expected kind, labels)", bad);
    else if (k && (!json_is_string(k) || json_string_length(k) == 0 ||
                   json_string_length(k) > ANA_KIND_MAX))
        rc = omega_error_set_path(err, OMEGA_EINVAL, "kind",
                                  "kind must be a string of 1 to %d bytes", ANA_KIND_MAX);
    else if (l && !json_is_null(l))
        rc = check_labels(l, err);
    if (rc == 0) {
        *kind = omega_strdup(k ? json_string_value(k) : "operation");
        *labels = l && !json_is_null(l) ? json_deep_copy(l) : json_object();
    }
    json_decref(root);
    return rc;
}

static int check_phases(json_t *phases, omega_error_t *err)
{
    if (!json_is_object(phases))
        return omega_error_set_path(err, OMEGA_EINVAL, "phases",
                                    "phases must be an object of milliseconds");
    if (json_object_size(phases) > ANA_PHASES_MAX)
        return omega_error_set_path(err, OMEGA_EINVAL, "phases", "at most %d phases (got %zu)",
                                    ANA_PHASES_MAX, json_object_size(phases));
    const char *k;
    json_t *v;
    json_object_foreach(phases, k, v) {
        char path[128];
        snprintf(path, sizeof(path), "phases.%.100s", k);
        if (!name_valid(k))
            return omega_error_set_path(err, OMEGA_EINVAL, path,
                                        "phase names match [a-zA-Z_][a-zA-Z0-9_]* (at most "
                                        "%d characters)",
                                        ANA_NAME_MAX);
        if (!json_is_number(v) || json_number_value(v) < 0 || !isfinite(json_number_value(v)))
            return omega_error_set_path(err, OMEGA_EINVAL, path,
                                        "a phase is a number of milliseconds >= 0");
    }
    return 0;
}

static int check_attrs(json_t *attrs, omega_error_t *err)
{
    if (!json_is_object(attrs))
        return omega_error_set_path(err, OMEGA_EINVAL, "attributes",
                                    "attributes must be an object");
    if (json_object_size(attrs) > ANA_ATTRS_MAX)
        return omega_error_set_path(err, OMEGA_EINVAL, "attributes",
                                    "at most %d attributes (got %zu)", ANA_ATTRS_MAX,
                                    json_object_size(attrs));
    const char *k;
    json_t *v;
    json_object_foreach(attrs, k, v) {
        char path[128];
        snprintf(path, sizeof(path), "attributes.%.100s", k);
        if (!name_valid(k))
            return omega_error_set_path(err, OMEGA_EINVAL, path,
                                        "attribute names match [a-zA-Z_][a-zA-Z0-9_]* (at most "
                                        "%d characters)",
                                        ANA_NAME_MAX);
        if (json_is_object(v) || json_is_array(v))
            return omega_error_set_path(err, OMEGA_EINVAL, path,
                                        "attribute values are strings, numbers, booleans or null");
        if (json_is_string(v) && json_string_length(v) > ANA_ATTR_STR_MAX)
            return omega_error_set_path(err, OMEGA_EINVAL, path,
                                        "string attribute longer than %d bytes", ANA_ATTR_STR_MAX);
    }
    return 0;
}

static int parse_status(json_t *s, ana_status_t *status, omega_error_t *err)
{
    const char *v = json_is_string(s) ? json_string_value(s) : NULL;
    if (v && strcmp(v, "ok") == 0)
        *status = ANA_OK;
    else if (v && strcmp(v, "failed") == 0)
        *status = ANA_FAILED;
    else if (!s)
        return omega_error_set_path(err, OMEGA_EINVAL, "status",
                                    "status is required: \"ok\" or \"failed\"");
    else
        return omega_error_set_path(err, OMEGA_EINVAL, "status",
                                    "status must be \"ok\" or \"failed\"%s%.32s%s",
                                    v ? " (got \"" : "", v ? v : "", v ? "\")" : "");
    return 0;
}

int ana_parse_end(const char *json, size_t len, ana_status_t *status, json_t **phases,
                  json_t **attrs, omega_error_t *err)
{
    static const char *const allowed[] = {"status", "phases", "attributes", NULL};
    *phases = *attrs = NULL;
    json_t *root = load_object(json, len, err);
    if (!root)
        return OMEGA_EINVAL;
    int rc = 0;
    const char *bad = unknown_key(root, allowed);
    json_t *p = json_object_get(root, "phases"), *at = json_object_get(root, "attributes");
    if (bad)
        rc = omega_error_set_path(err, OMEGA_EINVAL, bad,
                                  "unknown field '%.64s' (expected status, phases, attributes)",
                                  bad);
    if (rc == 0)
        rc = parse_status(json_object_get(root, "status"), status, err);
    if (rc == 0 && p && !json_is_null(p))
        rc = check_phases(p, err);
    if (rc == 0 && at && !json_is_null(at))
        rc = check_attrs(at, err);
    if (rc == 0) {
        *phases = p && !json_is_null(p) ? json_deep_copy(p) : json_object();
        *attrs = at && !json_is_null(at) ? json_deep_copy(at) : json_object();
    }
    json_decref(root);
    return rc;
}

static json_t *time_string(int64_t ms)
{
    char buf[40];
    return json_string(omega_time_format_rfc3339(ms, buf, sizeof(buf)));
}

/* Fields every item has. */
static json_t *item_base(const active_op_t *op, const char *status)
{
    return json_pack("{s:s, s:s, s:O, s:s, s:o}", "id", op->id, "kind", op->kind, "labels",
                     op->labels, "status", status, "started_at", time_string(op->started_ms));
}

json_t *ana_item_running(const active_op_t *op, int64_t now_ms)
{
    json_t *o = item_base(op, "running");
    int64_t d = now_ms > op->started_ms ? now_ms - op->started_ms : 0;
    json_object_set_new(o, "duration_seconds", json_real((double)d / 1000.0));
    return o;
}

json_t *ana_item_finished(const active_op_t *op, ana_status_t st, int64_t ended_ms, json_t *phases,
                          json_t *attrs)
{
    json_t *o = item_base(op, ana_status_names[st]);
    int64_t d = ended_ms > op->started_ms ? ended_ms - op->started_ms : 0;
    json_object_set_new(o, "ended_at", time_string(ended_ms));
    json_object_set_new(o, "duration_seconds", json_real((double)d / 1000.0));
    json_object_set_new(o, "phases", phases ? json_deep_copy(phases) : json_object());
    json_object_set_new(o, "attributes", attrs ? json_deep_copy(attrs) : json_object());
    return o;
}

char *ana_dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (!s)
        abort(); /* only on out-of-memory */
    return s;
}

void ana_emit(omega_analytics_t *a, const char *event, json_t *item)
{
    if (!a->opt.on_event)
        return;
    json_t *f = json_pack("{s:s, s:s}", "type", "job", "event", event);
    json_object_update(f, item);
    char *s = ana_dump(f);
    a->opt.on_event(a->opt.event_ctx, s, strlen(s));
    free(s);
    json_decref(f);
}
