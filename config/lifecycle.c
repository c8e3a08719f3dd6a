/* SPDX-License-Identifier: Apache-2.0 */
/* Creating (from the table's defaults), copying, comparing and freeing omega_config_t, all
 * driven by the schema table so a new field needs no code here. */
#include "config_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cfg_strlist_free(omega_strlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static void template_free(omega_config_template_t *t)
{
    free(t->name);
    free(t->subject);
    free(t->body);
    cfg_strlist_free(&t->severity_levels);
}

void cfg_templates_free(omega_config_templates_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        template_free(&t->items[i]);
    free(t->items);
    t->items = NULL;
    t->n = 0;
}

void cfg_config_free_fields(const cfg_field_t *rows, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        const cfg_field_t *f = &rows[i];
        switch (f->type) {
        case CFG_STRING:
        case CFG_ENUM:
            free(*(char **)cfg_ptr(f, base));
            *(char **)cfg_ptr(f, base) = NULL;
            break;
        case CFG_STRLIST:
        case CFG_ENUMLIST:
            cfg_strlist_free(cfg_ptr(f, base));
            break;
        case CFG_TEMPLATES:
            cfg_templates_free(cfg_ptr(f, base));
            break;
        default:
            break;
        }
    }
}

/* Defaults are table data: a row that fails to load is a bug in the table. */
static void default_diag(void *ctx, const char *source, int line, int column, const char *path,
                         const char *message)
{
    (void)ctx;
    (void)line;
    (void)column;
    fprintf(stderr, "%s: bad default for %s: %s\n", source, path, message);
    abort();
}

omega_config_t *omega_config_create_default(void)
{
    omega_config_t *cfg = omega_calloc(1, sizeof(*cfg));
    cfg_ctx_t c = {.source = "config/schema.c", .diag = default_diag};
    for (size_t i = 0; i < cfg_n_fields; i++) {
        const cfg_field_t *f = &cfg_fields[i];
        if (f->type == CFG_OBJECT)
            continue;
        if (f->type == CFG_TEMPLATES) {
            cfg_templates_default(cfg_ptr(f, cfg));
            continue;
        }
        c.env_name = f->path;
        json_t *v = cfg_env_value(&c, f, f->def);
        if (!v || cfg_set_json(&c, f, v, cfg) != 0)
            default_diag(NULL, c.source, 0, 0, f->path, "rejected");
        json_decref(v);
    }
    return cfg;
}

void omega_config_destroy(omega_config_t *cfg)
{
    if (!cfg)
        return;
    cfg_config_free_fields(cfg_fields, cfg_n_fields, cfg);
    free(cfg);
}

static void strlist_dup(omega_strlist_t *dst, const omega_strlist_t *src)
{
    dst->n = src->n;
    dst->items = src->n ? omega_calloc(src->n, sizeof(char *)) : NULL;
    for (size_t i = 0; i < src->n; i++)
        dst->items[i] = omega_strdup(src->items[i]);
}

static void templates_dup(omega_config_templates_t *dst, const omega_config_templates_t *src)
{
    dst->n = src->n;
    dst->items = src->n ? omega_calloc(src->n, sizeof(*dst->items)) : NULL;
    for (size_t i = 0; i < src->n; i++) {
        dst->items[i].name = omega_strdup(src->items[i].name);
        dst->items[i].subject = omega_strdup(src->items[i].subject);
        dst->items[i].body = omega_strdup(src->items[i].body);
        strlist_dup(&dst->items[i].severity_levels, &src->items[i].severity_levels);
    }
}

omega_config_t *cfg_config_dup(const omega_config_t *cfg)
{
    omega_config_t *d = omega_malloc(sizeof(*d));
    memcpy(d, cfg, sizeof(*d));
    /* The copy shares every pointer until each owned one is replaced below. */
    for (size_t i = 0; i < cfg_n_fields; i++) {
        const cfg_field_t *f = &cfg_fields[i];
        switch (f->type) {
        case CFG_STRING:
        case CFG_ENUM:
            *(char **)cfg_ptr(f, d) = omega_strdup(*(char *const *)cfg_ptr(f, cfg));
            break;
        case CFG_STRLIST:
        case CFG_ENUMLIST:
            strlist_dup(cfg_ptr(f, d), cfg_ptr(f, cfg));
            break;
        case CFG_TEMPLATES:
            templates_dup(cfg_ptr(f, d), cfg_ptr(f, cfg));
            break;
        default:
            break;
        }
    }
    return d;
}

static int strlist_equal(const omega_strlist_t *a, const omega_strlist_t *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->items[i], b->items[i]) != 0)
            return 0;
    return 1;
}

static int templates_equal(const omega_config_templates_t *a, const omega_config_templates_t *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const omega_config_template_t *x = &a->items[i], *y = &b->items[i];
        if (strcmp(x->name, y->name) || strcmp(x->subject, y->subject) ||
            strcmp(x->body, y->body) || !strlist_equal(&x->severity_levels, &y->severity_levels))
            return 0;
    }
    return 1;
}

static int field_equal(const cfg_field_t *f, const void *a, const void *b)
{
    const void *x = cfg_ptr(f, a), *y = cfg_ptr(f, b);
    switch (f->type) {
    case CFG_OBJECT:
        return 1;
    case CFG_BOOL:
        return *(const bool *)x == *(const bool *)y;
    case CFG_INT:
    case CFG_DURATION:
        return *(const int64_t *)x == *(const int64_t *)y;
    case CFG_DOUBLE:
        return *(const double *)x == *(const double *)y;
    case CFG_SIZE:
        return *(const uint64_t *)x == *(const uint64_t *)y;
    case CFG_STRING:
    case CFG_ENUM:
        return strcmp(*(char *const *)x, *(char *const *)y) == 0;
    case CFG_STRLIST:
    case CFG_ENUMLIST:
        return strlist_equal(x, y);
    case CFG_TEMPLATES:
        return templates_equal(x, y);
    }
    return 0;
}

int omega_config_equal(const omega_config_t *a, const omega_config_t *b)
{
    for (size_t i = 0; i < cfg_n_fields; i++)
        if (!field_equal(&cfg_fields[i], a, b))
            return 0;
    return 1;
}

omega_log_level_t omega_config_log_level(const omega_config_t *cfg)
{
    omega_log_level_t level = OMEGA_LOG_INFO;
    if (cfg && cfg->server.log_level)
        omega_log_level_parse(cfg->server.log_level, &level);
    return level;
}

const omega_config_template_t *omega_config_template_find(const omega_config_t *cfg,
                                                          const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->notification_templates.n; i++)
        if (strcmp(cfg->notification_templates.items[i].name, name) == 0)
            return &cfg->notification_templates.items[i];
    return NULL;
}
