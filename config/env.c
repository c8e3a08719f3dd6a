/* SPDX-License-Identifier: Apache-2.0 */
/* OMEGA_* environment overrides: each field's variable name comes from its path, its text
 * is turned into the JSON value a document would hold and goes through the same checks.
 * The table defaults are written in the same syntax and loaded by the same function. */
#include "config_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Quote the text in a message unless the field is secret. */
static const char *shown(const cfg_field_t *f, const char *text)
{
    return f->flags & CFG_SECRET ? CFG_MASK : text;
}

static json_t *env_list(cfg_ctx_t *c, const cfg_field_t *f, const char *text)
{
    json_t *arr = json_array();
    const char *p = text;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0')
        return arr; /* "" (or blanks) is the empty list */
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        json_t *item = json_stringn(p, n);
        if (!item) {
            cfg_report(c, "list item is not valid UTF-8");
            json_decref(arr);
            return NULL;
        }
        json_array_append_new(arr, item);
        if (!end)
            return arr;
        p = end + 1;
    }
}

json_t *cfg_env_value(cfg_ctx_t *c, const cfg_field_t *f, const char *text)
{
    char *end = NULL;
    json_t *v = NULL;
    switch (f->type) {
    case CFG_BOOL:
        if (strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0)
            return json_true();
        if (strcasecmp(text, "false") == 0 || strcmp(text, "0") == 0)
            return json_false();
        cfg_report(c, "expected true, false, 1 or 0, got \"%.64s\"", shown(f, text));
        return NULL;
    case CFG_INT: {
        errno = 0;
        long long n = strtoll(text, &end, 10);
        if (*text && !*end && !errno)
            return json_integer(n);
        cfg_report(c, "expected an integer, got \"%.64s\"", shown(f, text));
        return NULL;
    }
    case CFG_DOUBLE: {
        errno = 0;
        double d = strtod(text, &end);
        if (*text && !*end && !errno && isfinite(d))
            return json_real(d);
        cfg_report(c, "expected a number, got \"%.64s\"", shown(f, text));
        return NULL;
    }
    case CFG_STRLIST:
    case CFG_ENUMLIST:
        return env_list(c, f, text);
    case CFG_STRING:
    case CFG_ENUM:
    case CFG_DURATION:
    case CFG_SIZE:
        v = json_string(text);
        if (!v)
            cfg_report(c, "value is not valid UTF-8");
        return v;
    case CFG_OBJECT:
    case CFG_TEMPLATES:
        break;
    }
    cfg_report(c, "cannot be set from the environment");
    return NULL;
}

/* The field whose variable is the n bytes at name, or NULL. */
static const cfg_field_t *env_field(const char *name, size_t n)
{
    char buf[256];
    for (size_t i = 0; i < cfg_n_fields; i++) {
        const cfg_field_t *f = &cfg_fields[i];
        if (f->type == CFG_OBJECT || f->type == CFG_TEMPLATES)
            continue;
        cfg_env_name(f, buf, sizeof(buf));
        if (strlen(buf) == n && memcmp(buf, name, n) == 0)
            return f;
    }
    return NULL;
}

int omega_config_apply_env(omega_config_t *cfg, char *const *envp, omega_config_diag_fn diag,
                           void *ctx)
{
    cfg_ctx_t c = {.source = "env", .diag = diag, .diag_ctx = ctx};
    char name[256];
    if (!envp)
        return 0;
    /* Work on a copy so that a bad variable leaves cfg exactly as it was. */
    omega_config_t *work = cfg_config_dup(cfg);
    c.bad = omega_calloc(cfg_n_fields, 1);
    c.touched = omega_calloc(cfg_n_fields, 1);
    for (char *const *e = envp; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (strncmp(*e, "OMEGA_", 6) != 0 || !eq || (size_t)(eq - *e) >= sizeof(name))
            continue;
        const cfg_field_t *f = env_field(*e, (size_t)(eq - *e));
        if (!f)
            continue; /* OMEGA_CONFIG, OMEGA_ADMIN_PASSWORD, OMEGA_TEST_*, ...: not ours */
        memcpy(name, *e, (size_t)(eq - *e));
        name[eq - *e] = '\0';
        c.env_name = name;
        size_t idx = cfg_field_index(f);
        c.touched[idx] = 1;
        json_t *v = cfg_env_value(&c, f, eq + 1);
        if (!v || cfg_set_json(&c, f, v, work) != 0)
            c.bad[idx] = 1;
        json_decref(v);
    }
    c.env_name = "env"; /* rules name the variable themselves */
    cfg_check_rules(&c, work);
    free(c.bad);
    free(c.touched);
    if (c.problems) {
        omega_config_destroy(work);
        return OMEGA_EINVAL;
    }
    cfg_config_free_fields(cfg_fields, cfg_n_fields, cfg);
    memcpy(cfg, work, sizeof(*cfg));
    free(work);
    return 0;
}
