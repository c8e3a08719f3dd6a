/* SPDX-License-Identifier: Apache-2.0 */
/* Loading a document: size, UTF-8 and JSON checks, the walk that matches every key against
 * the schema table (reporting every problem with its position, never stopping at the
 * first), cross-field rules, and `--validate-config`. */
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DOC_PATH "(document)"

void cfg_push_key(cfg_ctx_t *c, const char *key)
{
    if (c->depth < CFG_MAX_DEPTH)
        c->comps[c->depth] = (cfg_comp_t){key, 0};
    c->depth++;
}

void cfg_push_index(cfg_ctx_t *c, size_t index)
{
    if (c->depth < CFG_MAX_DEPTH)
        c->comps[c->depth] = (cfg_comp_t){NULL, index};
    c->depth++;
}

void cfg_pop(cfg_ctx_t *c)
{
    if (c->depth)
        c->depth--;
}

static void format_path(const cfg_ctx_t *c, char *buf, size_t len)
{
    size_t o = 0, n = c->depth < CFG_MAX_DEPTH ? c->depth : CFG_MAX_DEPTH;
    int w = snprintf(buf, len, "%s", c->env_name ? c->env_name : "");
    o = w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < n && o < len; i++) {
        if (c->comps[i].key)
            w = snprintf(buf + o, len - o, "%s%s", o ? "." : "", c->comps[i].key);
        else
            w = snprintf(buf + o, len - o, "[%zu]", c->comps[i].index);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    if (o == 0)
        snprintf(buf, len, DOC_PATH);
}

void cfg_report(cfg_ctx_t *c, const char *fmt, ...)
{
    char msg[1024], path[512];
    int line = 0, column = 0;
    if (++c->problems > CFG_MAX_REPORTED || !c->diag)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    format_path(c, path, sizeof(path));
    if (c->text) {
        size_t n = c->depth < CFG_MAX_DEPTH ? c->depth : CFG_MAX_DEPTH;
        cfg_locate(c->text, c->len, c->comps, n, &line, &column);
    }
    c->diag(c->diag_ctx, c->source, line, column, path, msg);
}

/* A problem found before the walk, at a known position (path: DOC_PATH for the text). */
static void report_at(cfg_ctx_t *c, int line, int column, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void report_at(cfg_ctx_t *c, int line, int column, const char *path, const char *fmt, ...)
{
    char msg[1024];
    c->problems++;
    if (!c->diag)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->diag(c->diag_ctx, c->source, line, column, path, msg);
}

/* Edit distance with adjacent transpositions, ignoring case; keys are short. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t d[65][65];
    if (la > 64 || lb > 64)
        return 99;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *cfg_suggest(const char *key, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < n; i++) {
        size_t d = distance(key, candidates[i]);
        if (d < best_d && d < strlen(key)) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best;
}

static void unknown_key(cfg_ctx_t *c, const char *prefix, const char *key)
{
    const char *names[64];
    char buf[64][64];
    size_t n = 0, plen = strlen(prefix);
    for (size_t i = 0; i < cfg_n_fields && n < 64; i++) {
        const char *p = cfg_fields[i].path;
        if (plen && (strncmp(p, prefix, plen) != 0 || p[plen] != '.'))
            continue;
        const char *child = plen ? p + plen + 1 : p;
        if (strchr(child, '.') || strlen(child) >= sizeof(buf[0]))
            continue;
        snprintf(buf[n], sizeof(buf[n]), "%s", child);
        names[n] = buf[n];
        n++;
    }
    const char *s = cfg_suggest(key, names, n);
    if (s)
        cfg_report(c, "unknown key; did you mean '%s'?", s);
    else
        cfg_report(c, "unknown key");
}

static void walk_object(cfg_ctx_t *c, json_t *obj, const char *prefix, omega_config_t *cfg)
{
    const char *key;
    json_t *v;
    char path[256];
    json_object_foreach(obj, key, v)
    {
        const cfg_field_t *f = NULL;
        int w = snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", key);
        cfg_push_key(c, key);
        if (!strchr(key, '.') && w > 0 && (size_t)w < sizeof(path))
            f = cfg_field_find(path);
        if (!f) {
            unknown_key(c, prefix, key);
        } else if (f->type == CFG_OBJECT) {
            if (json_is_object(v))
                walk_object(c, v, f->path, cfg);
            else
                cfg_report(c, "expected object, got %s", cfg_json_type_name(v));
        } else {
            c->touched[cfg_field_index(f)] = 1;
            if (cfg_set_json(c, f, v, cfg) != 0)
                c->bad[cfg_field_index(f)] = 1;
        }
        cfg_pop(c);
    }
}

/* Report a rule violation on field f (other: the field it is compared with). */
static void report_field(cfg_ctx_t *c, const cfg_field_t *f, const cfg_field_t *other,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void report_field(cfg_ctx_t *c, const cfg_field_t *f, const cfg_field_t *other,
                         const char *fmt, ...)
{
    char msg[1024], path[256], env[256];
    const char *saved_env = c->env_name;
    size_t saved_depth = c->depth;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->env_name) {
        /* Name the variable that was actually set. */
        size_t fi = cfg_field_index(f), oi = cfg_field_index(other);
        cfg_env_name(!c->touched[fi] && c->touched[oi] ? other : f, env, sizeof(env));
        c->env_name = env;
        c->depth = 0;
    } else {
        snprintf(path, sizeof(path), "%s", f->path);
        c->depth = 0;
        for (char *save = NULL, *k = strtok_r(path, ".", &save); k; k = strtok_r(NULL, ".", &save))
            cfg_push_key(c, k);
    }
    cfg_report(c, "%s", msg);
    c->env_name = saved_env;
    c->depth = saved_depth;
}

static const char *leaf(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

static int usable(const cfg_ctx_t *c, const cfg_field_t *f)
{
    return !c->bad[cfg_field_index(f)];
}

/* Rules that are not a simple ordering. */
static void check_special(cfg_ctx_t *c, const omega_config_t *cfg)
{
    const cfg_field_t *en = cfg_field_find("server.tls.enabled");
    const cfg_field_t *cert = cfg_field_find("server.tls.cert");
    const cfg_field_t *key = cfg_field_find("server.tls.key");
    if (cfg->server.tls.enabled && usable(c, en)) {
        if (!*cfg->server.tls.cert && usable(c, cert))
            report_field(c, cert, en,
                         "server.tls.cert is required when server.tls.enabled is true");
        if (!*cfg->server.tls.key && usable(c, key))
            report_field(c, key, en, "server.tls.key is required when server.tls.enabled is true");
    }
    const cfg_field_t *admin = cfg_field_find("security.access_control.admin_roles");
    const cfg_field_t *viewer = cfg_field_find("security.access_control.viewer_roles");
    const omega_strlist_t *a = &cfg->security.access_control.admin_roles;
    const omega_strlist_t *v = &cfg->security.access_control.viewer_roles;
    for (size_t i = 0; i < v->n && usable(c, admin) && usable(c, viewer); i++)
        for (size_t j = 0; j < a->n; j++)
            if (strcmp(v->items[i], a->items[j]) == 0)
                report_field(c, viewer, admin,
                             "role \"%s\" is in both admin_roles and viewer_roles", v->items[i]);
}

void cfg_check_rules(cfg_ctx_t *c, const omega_config_t *cfg)
{
    for (size_t i = 0; i < cfg_n_rules; i++) {
        const cfg_rule_t *r = &cfg_rules[i];
        const cfg_field_t *lo = cfg_field_find(r->lo), *hi = cfg_field_find(r->hi);
        if (!usable(c, lo) || !usable(c, hi))
            continue;
        double a = cfg_number(lo, cfg), b = cfg_number(hi, cfg);
        if (r->strict ? a < b : a <= b)
            continue;
        char as[64], bs[64];
        cfg_format_number(lo, a, as, sizeof(as));
        cfg_format_number(hi, b, bs, sizeof(bs));
        /* The message names both fields, so it reads right under either path. */
        if (r->report_hi)
            report_field(c, hi, lo, "%s (%s) must be at least %s (%s)", leaf(hi->path), bs,
                         leaf(lo->path), as);
        else
            report_field(c, lo, hi, "%s (%s) must be %s %s (%s)", leaf(lo->path), as,
                         r->strict ? "less than" : "at most", leaf(hi->path), bs);
    }
    check_special(c, cfg);
}

/* Everything about the text itself; 0 when it may be parsed. */
static int check_text(cfg_ctx_t *c, const char *text, size_t len)
{
    int line, column;
    if (len > OMEGA_CONFIG_MAX_BYTES) {
        report_at(c, 0, 0, DOC_PATH,
                  "document is larger than 4 MiB (%zu bytes); refusing to read it", len);
        return OMEGA_E2BIG;
    }
    size_t bad = cfg_utf8_invalid_at(text, len);
    if (bad < len) {
        cfg_offset_position(text, len, bad, &line, &column);
        report_at(c, line, column, DOC_PATH, "invalid UTF-8 (byte 0x%02x at offset %zu)",
                  (unsigned char)text[bad], bad);
        return OMEGA_EINVAL;
    }
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", text[i]) && text[i])
        i++;
    if (i == len) {
        report_at(c, 1, 1, DOC_PATH, "empty document; write {} to use the built-in defaults");
        return OMEGA_EINVAL;
    }
    return 0;
}

static void report_json_error(cfg_ctx_t *c, const json_error_t *jerr)
{
    char path[512];
    size_t key = 0;
    int line, column;
    /* jansson stops just after the repeated key: name it by path, at its own position. */
    if (json_error_code(jerr) == json_error_duplicate_key && jerr->position > 0 &&
        cfg_path_at(c->text, c->len, (size_t)jerr->position, path, sizeof(path), &key) == 0) {
        cfg_offset_position(c->text, c->len, key, &line, &column);
        report_at(c, line, column, path, "duplicate key");
        return;
    }
    report_at(c, jerr->line, jerr->column > 0 ? jerr->column : 1, DOC_PATH, "invalid JSON: %s",
              jerr->text);
}

int omega_config_load_string(const char *text, size_t len, const char *source,
                             omega_config_diag_fn diag, void *ctx, omega_config_t **out)
{
    cfg_ctx_t c = {.text = text,
                   .len = len,
                   .source = source ? source : "<string>",
                   .diag = diag,
                   .diag_ctx = ctx};
    omega_config_t *cfg = NULL;
    json_t *root = NULL;
    json_error_t jerr;
    int rc = check_text(&c, text, len);
    *out = NULL;
    if (rc != 0)
        goto done;
    rc = OMEGA_EINVAL;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        report_json_error(&c, &jerr);
        goto done;
    }
    if (!json_is_object(root)) {
        report_at(&c, 1, 1, DOC_PATH, "the top level must be an object, got %s",
                  cfg_json_type_name(root));
        goto done;
    }
    cfg = omega_config_create_default();
    c.bad = omega_calloc(cfg_n_fields, 1);
    c.touched = omega_calloc(cfg_n_fields, 1);
    walk_object(&c, root, "", cfg);
    cfg_check_rules(&c, cfg);
    if (c.problems > CFG_MAX_REPORTED && diag) {
        char msg[128];
        snprintf(msg, sizeof(msg), "too many problems (%u in all); only the first %d are shown",
                 c.problems, CFG_MAX_REPORTED);
        diag(ctx, c.source, 0, 0, DOC_PATH, msg);
    }
    if (c.problems == 0) {
        *out = cfg;
        cfg = NULL;
        rc = 0;
    }
done:
    omega_config_destroy(cfg);
    json_decref(root);
    free(c.bad);
    free(c.touched);
    return rc;
}

/* Read a whole regular file of at most OMEGA_CONFIG_MAX_BYTES. Returns 0, OMEGA_EIO or
 * OMEGA_E2BIG with why[] filled. */
static int read_text(const char *path, char **buf, size_t *len, char *why, size_t why_len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = OMEGA_EIO;
    char *data = NULL;
    size_t got = 0;
    *buf = NULL;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(why, why_len, "cannot read file: %s", strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_len, "cannot read file: not a regular file");
        goto done;
    }
    if (st.st_size > (off_t)OMEGA_CONFIG_MAX_BYTES) {
        snprintf(why, why_len, "file is larger than 4 MiB (%lld bytes); refusing to read it",
                 (long long)st.st_size);
        rc = OMEGA_E2BIG;
        goto done;
    }
    data = omega_malloc(OMEGA_CONFIG_MAX_BYTES + 1);
    for (;;) {
        ssize_t r = read(fd, data + got, OMEGA_CONFIG_MAX_BYTES + 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(why, why_len, "cannot read file: %s", strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (got > OMEGA_CONFIG_MAX_BYTES) {
            snprintf(why, why_len, "file is larger than 4 MiB; refusing to read it");
            rc = OMEGA_E2BIG;
            goto done;
        }
    }
    data[got] = '\0';
    *buf = data;
    *len = got;
    data = NULL;
    rc = 0;
done:
    free(data);
    if (fd >= 0)
        close(fd);
    return rc;
}

int omega_config_load_file(const char *path, omega_config_diag_fn diag, void *ctx,
                           omega_config_t **out)
{
    char *text = NULL, why[512];
    size_t len = 0;
    *out = NULL;
    int rc = read_text(path, &text, &len, why, sizeof(why));
    if (rc != 0) {
        if (diag)
            diag(ctx, path, 0, 0, DOC_PATH, why);
        return rc;
    }
    rc = omega_config_load_string(text, len, path, diag, ctx, out);
    free(text);
    return rc;
}

static void print_diag(void *ctx, const char *source, int line, int column, const char *path,
                       const char *message)
{
    fprintf((FILE *)ctx, "%s:%d:%d: %s: %s\n", source, line, column, path, message);
}

int omega_config_validate_file(const char *path, FILE *out)
{
    char *text = NULL, why[512];
    size_t len = 0;
    omega_config_t *cfg = NULL;
    if (read_text(path, &text, &len, why, sizeof(why)) != 0) {
        print_diag(out, path, 0, 0, DOC_PATH, why);
        return 2;
    }
    size_t bad = cfg_utf8_invalid_at(text, len);
    if (bad < len) {
        int line, column;
        cfg_offset_position(text, len, bad, &line, &column);
        fprintf(out, "%s:%d:%d: " DOC_PATH ": not UTF-8 text (byte 0x%02x at offset %zu)\n", path,
                line, column, (unsigned char)text[bad], bad);
        free(text);
        return 2;
    }
    int rc = omega_config_load_string(text, len, path, print_diag, out, &cfg);
    free(text);
    omega_config_destroy(cfg);
    return rc == 0 ? 0 : 1;
}
