/* SPDX-License-Identifier: Apache-2.0 */
/* Exports read from the schema table: the effective document as JSON (secrets masked on
 * request; it loads back to an equal config) and the schema itself for the admin panel. */
#include "config_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *string_json(const char *s, int masked)
{
    return json_string(masked && *s ? CFG_MASK : s);
}

static json_t *strlist_json(const omega_strlist_t *l, int masked)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(arr, string_json(l->items[i], masked));
    return arr;
}

static json_t *templates_json(const omega_config_templates_t *t)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < t->n; i++) {
        const omega_config_template_t *d = &t->items[i];
        json_t *one = json_object();
        json_object_set_new(one, "subject", json_string(d->subject));
        json_object_set_new(one, "body", json_string(d->body));
        json_object_set_new(one, "severity_levels", strlist_json(&d->severity_levels, 0));
        json_object_set_new(obj, d->name, one);
    }
    return obj;
}

/* Milliseconds in the field's JSON unit: an integer when exact, else a fraction. */
static json_t *duration_json(const cfg_field_t *f, int64_t ms)
{
    int64_t unit = f->unit && strcmp(f->unit, "s") == 0 ? 1000 : 1;
    if (ms % unit == 0)
        return json_integer(ms / unit);
    return json_real((double)ms / (double)unit);
}

json_t *cfg_field_json(const cfg_field_t *f, const void *base, int mask)
{
    const void *p = cfg_ptr(f, base);
    int masked = mask && (f->flags & CFG_SECRET);
    switch (f->type) {
    case CFG_OBJECT:
        return json_object();
    case CFG_BOOL:
        return json_boolean(*(const bool *)p);
    case CFG_INT:
        return json_integer(*(const int64_t *)p);
    case CFG_DOUBLE:
        return json_real(*(const double *)p);
    case CFG_DURATION:
        return duration_json(f, *(const int64_t *)p);
    case CFG_SIZE:
        return json_integer((json_int_t) * (const uint64_t *)p);
    case CFG_STRING:
    case CFG_ENUM:
        return string_json(*(char *const *)p, masked);
    case CFG_STRLIST:
    case CFG_ENUMLIST:
        return strlist_json(p, masked);
    case CFG_TEMPLATES:
        return templates_json(p);
    }
    return json_null();
}

json_t *cfg_export_tree(const cfg_field_t *rows, size_t n, const void *base, int mask)
{
    json_t *root = json_object();
    char path[256];
    for (size_t i = 0; i < n; i++) {
        const cfg_field_t *f = &rows[i];
        json_t *parent = root;
        snprintf(path, sizeof(path), "%s", f->path);
        char *k = path, *dot;
        /* Walk (creating) the objects named by every component but the last. */
        while ((dot = strchr(k, '.')) != NULL) {
            *dot = '\0';
            json_t *child = json_object_get(parent, k);
            if (!child) {
                child = json_object();
                json_object_set_new(parent, k, child);
            }
            parent = child;
            k = dot + 1;
        }
        if (f->type == CFG_OBJECT && json_object_get(parent, k))
            continue;
        json_object_set_new(parent, k, cfg_field_json(f, base, mask));
    }
    return root;
}

/* Fewest significant digits that read back as exactly v. */
static int shortest_digits(double v)
{
    char buf[40];
    for (int p = 1; p < 17; p++) {
        snprintf(buf, sizeof(buf), "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            return p;
    }
    return 17;
}

static int max_digits(const json_t *v)
{
    int best = 1;
    if (json_is_real(v))
        return shortest_digits(json_real_value(v));
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            int d = max_digits(x);
            best = d > best ? d : best;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            int d = max_digits(x);
            best = d > best ? d : best;
        }
    }
    return best;
}

char *cfg_dump(json_t *root)
{
    /* One precision for the whole dump: the largest any number needs to read back exactly.
     * Printing with more digits than a number needs never changes it, so all round-trip,
     * and typical values (0.1, 85) print as typed rather than as 0.10000000000000001. */
    int digits = max_digits(root);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(digits));
    if (!text) {
        fprintf(stderr, "omega config: out of memory in json_dumps\n");
        abort();
    }
    return text;
}

char *omega_config_to_json(const omega_config_t *cfg, int mask_secrets)
{
    json_t *root = cfg_export_tree(cfg_fields, cfg_n_fields, cfg, mask_secrets);
    char *text = cfg_dump(root);
    json_decref(root);
    return text;
}

/* A bound in the field's JSON unit. */
static json_t *bound_json(const cfg_field_t *f, double v)
{
    if (f->type == CFG_DOUBLE)
        return json_real(v);
    if (f->type == CFG_DURATION)
        return duration_json(f, (int64_t)v);
    return json_integer((json_int_t)v);
}

static void schema_limits(json_t *o, const cfg_field_t *f)
{
    size_t n = 0;
    switch (f->type) {
    case CFG_INT:
    case CFG_DOUBLE:
    case CFG_DURATION:
    case CFG_SIZE:
        json_object_set_new(o, "min", bound_json(f, f->min));
        json_object_set_new(o, "max", bound_json(f, f->max));
        if (f->flags & CFG_MIN_EXCLUSIVE)
            json_object_set_new(o, "exclusive_min", json_true());
        break;
    case CFG_STRING:
        json_object_set_new(o, "min_length", json_integer((json_int_t)f->min));
        json_object_set_new(o, "max_length", json_integer((json_int_t)f->max));
        break;
    case CFG_STRLIST:
    case CFG_TEMPLATES:
        json_object_set_new(o, "max_items", json_integer((json_int_t)f->max));
        break;
    case CFG_ENUMLIST:
        while (f->values[n])
            n++;
        json_object_set_new(o, "max_items", json_integer((json_int_t)n));
        break;
    default:
        break;
    }
    if (f->values) {
        json_t *vals = json_array();
        for (size_t i = 0; f->values[i]; i++)
            json_array_append_new(vals, json_string(f->values[i]));
        json_object_set_new(o, "values", vals);
    }
    if (f->check)
        json_object_set_new(o, "format", json_string(f->check->name));
}

static json_t *schema_row(const cfg_field_t *f, const omega_config_t *def)
{
    char env[256];
    json_t *o = json_object();
    json_object_set_new(o, "path", json_string(f->path));
    json_object_set_new(o, "type", json_string(cfg_type_name(f->type)));
    if (f->unit)
        json_object_set_new(o, "unit", json_string(f->unit));
    json_object_set_new(o, "help", json_string(f->help));
    if (f->type != CFG_OBJECT) {
        json_object_set_new(o, "default", cfg_field_json(f, def, 0));
        json_object_set_new(o, "secret", json_boolean(f->flags & CFG_SECRET));
    }
    if (f->type != CFG_OBJECT && f->type != CFG_TEMPLATES) {
        cfg_env_name(f, env, sizeof(env));
        json_object_set_new(o, "env", json_string(env));
    }
    schema_limits(o, f);
    return o;
}

char *omega_config_schema_json(void)
{
    omega_config_t *def = omega_config_create_default();
    json_t *root = json_object(), *fields = json_array(), *rules = json_array();
    for (size_t i = 0; i < cfg_n_fields; i++)
        json_array_append_new(fields, schema_row(&cfg_fields[i], def));
    for (size_t i = 0; i < cfg_n_rules; i++)
        json_array_append_new(rules,
                              json_pack("{s:s, s:s, s:s}", "lo", cfg_rules[i].lo, "relation",
                                        cfg_rules[i].strict ? "<" : "<=", "hi", cfg_rules[i].hi));
    json_object_set_new(root, "fields", fields);
    json_object_set_new(root, "rules", rules);
    char *text = cfg_dump(root);
    json_decref(root);
    omega_config_destroy(def);
    return text;
}
