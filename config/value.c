/* SPDX-License-Identifier: Apache-2.0 */
/* Converting one JSON value into one schema field: type check, unit conversion, range and
 * format checks, with a message for every problem. The caller (document walker or the
 * environment overrides) decides which field a value belongs to. */
#include "config_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT_I64 9.2e18 /* doubles beyond this do not convert to int64_t */

void *cfg_ptr(const cfg_field_t *f, const void *base)
{
    return (char *)base + f->offset;
}

const char *cfg_json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

static int64_t unit_ms(const cfg_field_t *f)
{
    return f->unit && strcmp(f->unit, "s") == 0 ? 1000 : 1;
}

static void size_format(double v, char *buf, size_t len)
{
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {
        {"TiB", 1099511627776.0}, {"GiB", 1073741824.0}, {"MiB", 1048576.0}, {"KiB", 1024.0}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (v >= units[i].mult && fmod(v, units[i].mult) == 0) {
            snprintf(buf, len, "%.0f%s", v / units[i].mult, units[i].suffix);
            return;
        }
    }
    snprintf(buf, len, "%.0f bytes", v);
}

void cfg_format_number(const cfg_field_t *f, double v, char *buf, size_t len)
{
    char tmp[64];
    const char *unit = f->unit && strcmp(f->unit, "ratio") != 0 ? f->unit : NULL;
    switch (f->type) {
    case CFG_DURATION:
        omega_duration_format((int64_t)fabs(v), tmp, sizeof(tmp));
        snprintf(buf, len, "%s%s", v < 0 ? "-" : "", tmp);
        return;
    case CFG_SIZE:
        size_format(v, buf, len);
        return;
    default:
        snprintf(buf, len, "%.15g%s%s", v, unit ? " " : "", unit ? unit : "");
        return;
    }
}

/* Report "out of range" naming the range and unit; returns -1. */
static int range_error(cfg_ctx_t *c, const cfg_field_t *f, double v)
{
    char lo[64], hi[64], got[64];
    if (f->type == CFG_INT || f->type == CFG_DOUBLE) {
        /* "between 1 and 64 threads": the unit once after the range. */
        snprintf(lo, sizeof(lo), "%.15g", f->min);
        cfg_format_number(f, f->max, hi, sizeof(hi));
    } else {
        cfg_format_number(f, f->min, lo, sizeof(lo));
        cfg_format_number(f, f->max, hi, sizeof(hi));
    }
    cfg_format_number(f, v, got, sizeof(got));
    if (f->flags & CFG_MIN_EXCLUSIVE)
        cfg_report(c, "out of range: must be greater than %s and at most %s, got %s", lo, hi, got);
    else
        cfg_report(c, "out of range: must be between %s and %s, got %s", lo, hi, got);
    return -1;
}

static int in_range(const cfg_field_t *f, double v)
{
    if (f->flags & CFG_MIN_EXCLUSIVE ? v <= f->min : v < f->min)
        return 0;
    return v <= f->max;
}

static int type_error(cfg_ctx_t *c, const char *expected, const json_t *v)
{
    cfg_report(c, "expected %s, got %s", expected, cfg_json_type_name(v));
    return -1;
}

static int set_int(cfg_ctx_t *c, const cfg_field_t *f, json_t *v, void *base)
{
    double d;
    if (json_is_integer(v)) {
        d = (double)json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
               fabs(json_real_value(v)) < LIMIT_I64) {
        d = json_real_value(v); /* 1e3 is an integer written as a real */
    } else if (json_is_real(v)) {
        cfg_report(c, "expected integer, got %.15g", json_real_value(v));
        return -1;
    } else {
        return type_error(c, "integer", v);
    }
    if (!in_range(f, d))
        return range_error(c, f, d);
    *(int64_t *)cfg_ptr(f, base) = json_is_integer(v) ? json_integer_value(v) : (int64_t)d;
    return 0;
}

static int set_double(cfg_ctx_t *c, const cfg_field_t *f, json_t *v, void *base)
{
    if (!json_is_number(v))
        return type_error(c, "number", v);
    double d = json_number_value(v);
    if (!in_range(f, d))
        return range_error(c, f, d);
    *(double *)cfg_ptr(f, base) = d;
    return 0;
}

static int set_duration(cfg_ctx_t *c, const cfg_field_t *f, json_t *v, void *base)
{
    int64_t unit = unit_ms(f), ms = 0;
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (n > INT64_MAX / unit || n < INT64_MIN / unit)
            return range_error(c, f, (double)n * (double)unit);
        ms = n * unit;
    } else if (json_is_real(v)) {
        double d = json_real_value(v) * (double)unit;
        if (fabs(d) >= LIMIT_I64)
            return range_error(c, f, d);
        ms = llround(d);
    } else if (json_is_string(v)) {
        if (omega_duration_parse(json_string_value(v), unit, &ms) != 0) {
            cfg_report(c,
                       "invalid duration \"%.64s\"; use a number of %s or a string such as "
                       "\"30s\", \"5m\", \"1h30m\"",
                       json_string_value(v), unit == 1000 ? "seconds" : "milliseconds");
            return -1;
        }
    } else {
        return type_error(c,
                          unit == 1000 ? "duration (number of seconds or string like \"5m\")"
                                       : "duration (number of milliseconds or string like "
                                         "\"5s\")",
                          v);
    }
    if (!in_range(f, (double)ms))
        return range_error(c, f, (double)ms);
    *(int64_t *)cfg_ptr(f, base) = ms;
    return 0;
}

static int set_size(cfg_ctx_t *c, const cfg_field_t *f, json_t *v, void *base)
{
    uint64_t bytes = 0;
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if (d < 0 || d >= 1.8e19 || d != floor(d))
            return range_error(c, f, d);
        bytes = json_is_integer(v) ? (uint64_t)json_integer_value(v) : (uint64_t)d;
    } else if (json_is_string(v)) {
        if (omega_size_parse(json_string_value(v), &bytes) != 0) {
            cfg_report(c,
                       "invalid size \"%.64s\"; use a number of bytes or a string such as "
                       "\"512MiB\" or \"10GB\"",
                       json_string_value(v));
            return -1;
        }
    } else {
        return type_error(c, "size (number of bytes or string like \"512MiB\")", v);
    }
    if (!in_range(f, (double)bytes))
        return range_error(c, f, (double)bytes);
    *(uint64_t *)cfg_ptr(f, base) = bytes;
    return 0;
}

/* A string of min..max bytes passing check (may be NULL) into a new *out. */
static int string_from_json(cfg_ctx_t *c, json_t *v, double min, double max,
                            const cfg_check_t *check, char **out)
{
    char msg[256];
    if (!json_is_string(v))
        return type_error(c, "string", v);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (min >= 1 && n == 0) {
        cfg_report(c, "must not be empty");
        return -1;
    }
    if ((double)n < min || (double)n > max) {
        cfg_report(c, "must be %.0f to %.0f bytes long, got %zu", min, max, n);
        return -1;
    }
    if (check && check->fn(s, msg, sizeof(msg)) != 0) {
        cfg_report(c, "%s", msg);
        return -1;
    }
    *out = omega_strdup(s);
    return 0;
}

static const char *enum_member(const char *const *values, const char *s)
{
    for (size_t i = 0; values[i]; i++)
        if (strcmp(values[i], s) == 0)
            return values[i];
    return NULL;
}

static void enum_error(cfg_ctx_t *c, const char *const *values, const char *s)
{
    char allowed[512];
    size_t o = 0;
    allowed[0] = '\0';
    for (size_t i = 0; values[i] && o < sizeof(allowed); i++) {
        int w = snprintf(allowed + o, sizeof(allowed) - o, "%s%s", i ? ", " : "", values[i]);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    cfg_report(c, "invalid value \"%.64s\"; allowed: %s", s, allowed);
}

static int set_enum(cfg_ctx_t *c, const cfg_field_t *f, json_t *v, void *base)
{
    if (!json_is_string(v))
        return type_error(c, "string", v);
    const char *m = enum_member(f->values, json_string_value(v));
    if (!m) {
        enum_error(c, f->values, json_string_value(v));
        return -1;
    }
    char **slot = cfg_ptr(f, base);
    free(*slot);
    *slot = omega_strdup(m);
    return 0;
}

/* An array of strings into *out (replacing it only when every item is fine). values: allowed
 * members (enum list, no duplicates) or NULL; check: per-item format or NULL. */
static int list_from_json(cfg_ctx_t *c, json_t *v, const char *const *values,
                          const cfg_check_t *check, size_t min_items, size_t max_items,
                          omega_strlist_t *out)
{
    if (!json_is_array(v))
        return type_error(c, "array of strings", v);
    size_t n = json_array_size(v);
    if (n > max_items || n < min_items) {
        cfg_report(c, "must have %zu to %zu items, got %zu", min_items, max_items, n);
        return -1;
    }
    omega_strlist_t l = {n ? omega_calloc(n, sizeof(char *)) : NULL, 0};
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(v, i);
        char *s = NULL;
        cfg_push_index(c, i);
        if (values && !json_is_string(item)) {
            bad |= type_error(c, "string", item);
        } else if (values && !enum_member(values, json_string_value(item))) {
            enum_error(c, values, json_string_value(item));
            bad = 1;
        } else if (string_from_json(c, item, 1, CFG_STR_MAX, check, &s) == 0) {
            for (size_t j = 0; values && j < l.n; j++) {
                if (strcmp(l.items[j], s) == 0) {
                    cfg_report(c, "duplicate value \"%.64s\"", s);
                    bad = 1;
                }
            }
            l.items[l.n++] = s;
        } else {
            bad = 1;
        }
        cfg_pop(c);
    }
    if (bad) {
        cfg_strlist_free(&l);
        return -1;
    }
    cfg_strlist_free(out);
    *out = l;
    return 0;
}

int cfg_set_json(cfg_ctx_t *c, const cfg_field_t *f, json_t *v, void *base)
{
    char *s = NULL;
    switch (f->type) {
    case CFG_BOOL:
        if (!json_is_boolean(v))
            return type_error(c, "boolean", v);
        *(bool *)cfg_ptr(f, base) = json_is_true(v);
        return 0;
    case CFG_INT:
        return set_int(c, f, v, base);
    case CFG_DOUBLE:
        return set_double(c, f, v, base);
    case CFG_DURATION:
        return set_duration(c, f, v, base);
    case CFG_SIZE:
        return set_size(c, f, v, base);
    case CFG_ENUM:
        return set_enum(c, f, v, base);
    case CFG_STRING:
        if (string_from_json(c, v, f->min, f->max, f->check, &s) != 0)
            return -1;
        free(*(char **)cfg_ptr(f, base));
        *(char **)cfg_ptr(f, base) = s;
        return 0;
    case CFG_STRLIST:
        return list_from_json(c, v, NULL, f->check, 0, (size_t)f->max, cfg_ptr(f, base));
    case CFG_ENUMLIST: {
        size_t n = 0;
        while (f->values[n])
            n++;
        return list_from_json(c, v, f->values, NULL, 0, n, cfg_ptr(f, base));
    }
    case CFG_TEMPLATES:
        return cfg_set_templates(c, v, cfg_ptr(f, base));
    case CFG_OBJECT:
        break;
    }
    return type_error(c, "object", v);
}

double cfg_number(const cfg_field_t *f, const void *base)
{
    switch (f->type) {
    case CFG_INT:
    case CFG_DURATION:
        return (double)*(const int64_t *)cfg_ptr(f, base);
    case CFG_DOUBLE:
        return *(const double *)cfg_ptr(f, base);
    case CFG_SIZE:
        return (double)*(const uint64_t *)cfg_ptr(f, base);
    default:
        return 0;
    }
}

static omega_config_template_t *template_slot(cfg_ctx_t *c, omega_config_templates_t *t,
                                              const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->items[i].name, name) == 0)
            return &t->items[i];
    if (t->n >= 64) {
        cfg_report(c, "too many templates (at most 64)");
        return NULL;
    }
    const omega_config_template_t *g = cfg_template_generic();
    t->items = omega_realloc(t->items, (t->n + 1) * sizeof(*t->items));
    omega_config_template_t *d = &t->items[t->n++];
    d->name = omega_strdup(name);
    d->subject = omega_strdup(g->subject);
    d->body = omega_strdup(g->body);
    d->severity_levels.n = g->severity_levels.n;
    d->severity_levels.items = omega_calloc(g->severity_levels.n, sizeof(char *));
    for (size_t i = 0; i < g->severity_levels.n; i++)
        d->severity_levels.items[i] = omega_strdup(g->severity_levels.items[i]);
    return d;
}

/* subject or body: bounded, subject on one line, known placeholders only. */
static int template_text(cfg_ctx_t *c, json_t *v, size_t max, int one_line, char **slot)
{
    char msg[256], *s = NULL;
    if (string_from_json(c, v, 1, (double)max, NULL, &s) != 0)
        return -1;
    if (one_line && strpbrk(s, "\r\n")) {
        cfg_report(c, "the subject must be a single line");
        free(s);
        return -1;
    }
    if (omega_template_check(s, NULL, msg, sizeof(msg)) != 0) {
        cfg_report(c, "%s", msg);
        free(s);
        return -1;
    }
    free(*slot);
    *slot = s;
    return 0;
}

static int template_set(cfg_ctx_t *c, const char *name, json_t *tv, omega_config_templates_t *t)
{
    static const char *const keys[] = {"subject", "body", "severity_levels"};
    char msg[256];
    const char *k;
    json_t *fv;
    int bad = 0;
    if (cfg_check_template_name.fn(name, msg, sizeof(msg)) != 0) {
        cfg_report(c, "%s", msg);
        return -1;
    }
    if (!json_is_object(tv))
        return type_error(c, "object {subject, body, severity_levels}", tv);
    omega_config_template_t *d = template_slot(c, t, name);
    if (!d)
        return -1;
    json_object_foreach(tv, k, fv)
    {
        cfg_push_key(c, k);
        if (strcmp(k, "subject") == 0) {
            bad |= template_text(c, fv, 256, 1, &d->subject);
        } else if (strcmp(k, "body") == 0) {
            bad |= template_text(c, fv, 16384, 0, &d->body);
        } else if (strcmp(k, "severity_levels") == 0) {
            bad |= list_from_json(c, fv, cfg_severities, NULL, 1, 3, &d->severity_levels);
        } else {
            const char *s = cfg_suggest(k, keys, 3);
            if (s)
                cfg_report(c, "unknown key; did you mean '%s'?", s);
            else
                cfg_report(c, "unknown key; allowed: subject, body, severity_levels");
            bad = -1;
        }
        cfg_pop(c);
    }
    return bad ? -1 : 0;
}

int cfg_set_templates(cfg_ctx_t *c, json_t *v, omega_config_templates_t *t)
{
    const char *name;
    json_t *tv;
    int bad = 0;
    if (!json_is_object(v))
        return type_error(c, "object", v);
    json_object_foreach(v, name, tv)
    {
        cfg_push_key(c, name);
        bad |= template_set(c, name, tv, t);
        cfg_pop(c);
    }
    return bad ? -1 : 0;
}
