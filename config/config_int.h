/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the config module: the schema table row, the diagnostics context shared by the
 * JSON loader and the environment overrides, and the helpers the files of config/ share. */
#ifndef OMEGA_CONFIG_INT_H
#define OMEGA_CONFIG_INT_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>

#include "omega/common.h"
#include "omega/config.h"

typedef enum cfg_type {
    CFG_OBJECT,    /* a nested JSON object (section); no storage */
    CFG_BOOL,      /* bool */
    CFG_INT,       /* int64_t in [min, max] */
    CFG_DOUBLE,    /* double in [min, max] (min exclusive with CFG_MIN_EXCLUSIVE) */
    CFG_STRING,    /* char *, byte length in [min, max] */
    CFG_ENUM,      /* char *, one of values[] */
    CFG_DURATION,  /* int64_t ms in [min, max]; bare numbers in `unit` ("ms" or "s") */
    CFG_SIZE,      /* uint64_t bytes in [min, max] */
    CFG_STRLIST,   /* omega_strlist_t, at most max items of at most 4096 bytes */
    CFG_ENUMLIST,  /* omega_strlist_t, distinct members of values[] */
    CFG_TEMPLATES, /* omega_config_templates_t (the notification template map) */
} cfg_type_t;

enum {
    CFG_SECRET = 1u << 0,        /* masked as "********" in exports, never quoted in messages */
    CFG_MIN_EXCLUSIVE = 1u << 1, /* value must be > min rather than >= min */
};

#define CFG_MASK         "********"
#define CFG_STR_MAX      4096 /* longest string or list item unless the row says otherwise */
#define CFG_MAX_DEPTH    16   /* deepest path the walker follows */
#define CFG_MAX_REPORTED 100  /* problems reported before the rest are only counted */

/* Extra validation of a string (or of each list item): 0, or non-zero with a reason. */
typedef struct cfg_check {
    const char *name; /* short format name for the schema ("host:port", "email", ...) */
    const char *doc;  /* one phrase for the documentation */
    int (*fn)(const char *value, char *msg, size_t msglen);
} cfg_check_t;

/* One row of the schema table: a field (or a nested object) defined once. */
typedef struct cfg_field {
    const char *path;          /* dotted JSON path */
    cfg_type_t type;           /* storage and JSON type */
    size_t offset;             /* offsetof(omega_config_t, ...) */
    double min, max;           /* value range (ms for durations, bytes for sizes), string
                                  length or list length; see cfg_type_t */
    const char *def;           /* default in environment-variable syntax */
    const char *unit;          /* JSON number unit for durations, display unit otherwise */
    const char *help;          /* one or two sentences */
    const char *const *values; /* NULL-terminated allowed values (enum, enum list) */
    const cfg_check_t *check;  /* extra string validation, or NULL */
    unsigned flags;            /* CFG_SECRET, CFG_MIN_EXCLUSIVE */
} cfg_field_t;

/* A cross-field ordering rule: lo <= hi (or lo < hi when strict). */
typedef struct cfg_rule {
    const char *lo, *hi; /* paths of two fields of the same numeric type */
    int strict;          /* 1: lo < hi, 0: lo <= hi */
    int report_hi;       /* report on hi's path (else on lo's) */
} cfg_rule_t;

/* One component of a path being walked: an object key, or an array index (key NULL). */
typedef struct cfg_comp {
    const char *key; /* borrowed from the JSON tree */
    size_t index;    /* array index when key == NULL */
} cfg_comp_t;

/* State of one load or env application: where problems go and the path being visited. */
typedef struct cfg_ctx {
    const char *text;          /* the document (NULL in environment mode) */
    size_t len;                /* bytes in text */
    const char *source;        /* file name, caller's source name or "env" */
    omega_config_diag_fn diag; /* may be NULL */
    void *diag_ctx;            /* passed to diag */
    const char *env_name;      /* environment mode: the variable being applied */
    cfg_comp_t comps[CFG_MAX_DEPTH];
    size_t depth;           /* components in comps */
    unsigned problems;      /* problems found so far */
    unsigned char *bad;     /* per row: its value was rejected (rules skip it) */
    unsigned char *touched; /* per row: set by the document or environment */
} cfg_ctx_t;

/* schema.c */
extern const cfg_field_t cfg_fields[];
extern const size_t cfg_n_fields;
extern const cfg_rule_t cfg_rules[];
extern const size_t cfg_n_rules;
extern const char *const cfg_severities[];
const cfg_field_t *cfg_field_find(const char *path);
size_t cfg_field_index(const cfg_field_t *f);
void cfg_templates_default(omega_config_templates_t *t);
const omega_config_template_t *cfg_template_generic(void);
const char *cfg_type_name(cfg_type_t type);
void cfg_env_name(const cfg_field_t *f, char *buf, size_t len);

/* checks.c */
extern const cfg_check_t cfg_check_hostport, cfg_check_regex, cfg_check_email, cfg_check_url,
    cfg_check_e164, cfg_check_daily, cfg_check_weekly, cfg_check_monthly, cfg_check_cron,
    cfg_check_template_name, cfg_check_label_name;

/* value.c: typed access and JSON-to-field conversion */
void *cfg_ptr(const cfg_field_t *f, const void *base);
int cfg_set_json(cfg_ctx_t *c, const cfg_field_t *f, json_t *v, void *base);
int cfg_set_templates(cfg_ctx_t *c, json_t *v, omega_config_templates_t *t);
double cfg_number(const cfg_field_t *f, const void *base);
void cfg_format_number(const cfg_field_t *f, double v, char *buf, size_t len);
const char *cfg_json_type_name(const json_t *v);

/* lifecycle.c */
void cfg_strlist_free(omega_strlist_t *l);
void cfg_templates_free(omega_config_templates_t *t);
void cfg_config_free_fields(const cfg_field_t *rows, size_t n, void *base);
omega_config_t *cfg_config_dup(const omega_config_t *cfg);

/* load.c: diagnostics */
void cfg_report(cfg_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cfg_push_key(cfg_ctx_t *c, const char *key);
void cfg_push_index(cfg_ctx_t *c, size_t index);
void cfg_pop(cfg_ctx_t *c);
const char *cfg_suggest(const char *key, const char *const *candidates, size_t n);
void cfg_check_rules(cfg_ctx_t *c, const omega_config_t *cfg);

/* env.c: a field's value from environment-variable text, as the JSON value the document
 * would hold (NULL with the problem reported) */
json_t *cfg_env_value(cfg_ctx_t *c, const cfg_field_t *f, const char *text);

/* locate.c */
void cfg_locate(const char *text, size_t len, const cfg_comp_t *comps, size_t n, int *line,
                int *column);
void cfg_offset_position(const char *text, size_t len, size_t offset, int *line, int *column);
size_t cfg_utf8_invalid_at(const char *s, size_t n);
/* Dotted path of the innermost member being read at offset (raw key text, [i] for array
 * items) and the offset of its key; 0, or -1 when offset is not inside a member. */
int cfg_path_at(const char *text, size_t len, size_t offset, char *buf, size_t buflen,
                size_t *key_offset);

/* export.c: rows may be any table laid out like cfg_fields (tests use a small one) */
json_t *cfg_export_tree(const cfg_field_t *rows, size_t n, const void *base, int mask);
json_t *cfg_field_json(const cfg_field_t *f, const void *base, int mask);
char *cfg_dump(json_t *root);

#endif
