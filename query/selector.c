/* SPDX-License-Identifier: Apache-2.0 */
/* Series selector parser: `name`, `name{...}`, `{__name__="x",...}` with =, !=, =~, !~,
 * PromQL string literals ('...', "...", `...`) and escapes. Everything else is reported
 * with its character position; evaluation lives in instant.c. */
#include "query_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MATCHERS 64

struct omega_selector {
    omega_matcher_t matchers[MAX_MATCHERS]; /* owned name/value strings */
    size_t n;                               /* matchers in use */
};

typedef struct parser {
    const char *s;      /* whole input */
    size_t pos;         /* current byte offset */
    omega_error_t *err; /* where errors go */
} parser_t;

static int fail(parser_t *p, const char *fmt, const char *arg)
{
    char what[200];
    snprintf(what, sizeof(what), fmt, arg);
    if (p->err) {
        omega_error_set(p->err, OMEGA_EINVAL, "1:%zu: parse error: %s", p->pos + 1, what);
        p->err->line = 1;
        p->err->column = (int)p->pos + 1;
    }
    return OMEGA_EINVAL;
}

static void skip_ws(parser_t *p)
{
    while (p->s[p->pos] && isspace((unsigned char)p->s[p->pos]))
        p->pos++;
}

static int is_name_char(int c, int first, int colon_ok)
{
    if (isalpha(c) || c == '_' || (colon_ok && c == ':'))
        return 1;
    return !first && isdigit(c);
}

/* Reads an identifier into a new string; NULL when there is none at pos. */
static char *ident(parser_t *p, int colon_ok)
{
    size_t start = p->pos;
    while (p->s[p->pos] && is_name_char((unsigned char)p->s[p->pos], p->pos == start, colon_ok))
        p->pos++;
    return p->pos > start ? omega_strndup(p->s + start, p->pos - start) : NULL;
}

static int unescape(parser_t *p, char q, char *out, size_t *o)
{
    char c = p->s[++p->pos];
    switch (c) {
    case 'n':
        out[(*o)++] = '\n';
        break;
    case 't':
        out[(*o)++] = '\t';
        break;
    case 'r':
        out[(*o)++] = '\r';
        break;
    case '\\':
        out[(*o)++] = '\\';
        break;
    case '"':
    case '\'':
        out[(*o)++] = c;
        break;
    default:
        /* Keep unknown escapes for regexes ("\\." in a regex literal). */
        if (c == '\0')
            return fail(p, "%s", "unterminated string");
        (void)q;
        out[(*o)++] = '\\';
        out[(*o)++] = c;
    }
    p->pos++;
    return 0;
}

/* Reads a quoted string literal into a new string. */
static int string_lit(parser_t *p, char **out)
{
    char q = p->s[p->pos];
    if (q != '"' && q != '\'' && q != '`')
        return fail(p, "%s", "expected a quoted string");
    size_t start = ++p->pos;
    char *buf = omega_malloc(strlen(p->s + start) * 2 + 1);
    size_t o = 0;
    while (p->s[p->pos] != q) {
        if (p->s[p->pos] == '\0') {
            free(buf);
            p->pos = start - 1;
            return fail(p, "%s", "unterminated string");
        }
        if (p->s[p->pos] == '\\' && q != '`') {
            if (unescape(p, q, buf, &o) != 0) {
                free(buf);
                return OMEGA_EINVAL;
            }
            continue;
        }
        buf[o++] = p->s[p->pos++];
    }
    p->pos++;
    buf[o] = '\0';
    *out = buf;
    return 0;
}

static int add_matcher(parser_t *p, omega_selector_t *sel, char *name, char *value,
                       omega_match_op_t op)
{
    if (sel->n >= MAX_MATCHERS) {
        free(name);
        free(value);
        return fail(p, "more than %s label matchers", "64");
    }
    char why[160];
    if ((op == OMEGA_MATCH_RE || op == OMEGA_MATCH_NRE) &&
        query_regex_check(value, why, sizeof(why)) != 0) {
        free(name);
        free(value);
        return fail(p, "%s", why);
    }
    sel->matchers[sel->n].name = name;
    sel->matchers[sel->n].value = value;
    sel->matchers[sel->n].op = op;
    sel->n++;
    return 0;
}

static int parse_op(parser_t *p, omega_match_op_t *op)
{
    const char *s = p->s + p->pos;
    if (s[0] == '=' && s[1] == '~') {
        *op = OMEGA_MATCH_RE;
        p->pos += 2;
    } else if (s[0] == '!' && s[1] == '~') {
        *op = OMEGA_MATCH_NRE;
        p->pos += 2;
    } else if (s[0] == '!' && s[1] == '=') {
        *op = OMEGA_MATCH_NE;
        p->pos += 2;
    } else if (s[0] == '=') {
        *op = OMEGA_MATCH_EQ;
        p->pos += 1;
    } else {
        return fail(p, "%s", "expected one of =, !=, =~, !~");
    }
    return 0;
}

static int parse_braces(parser_t *p, omega_selector_t *sel)
{
    p->pos++; /* '{' */
    for (;;) {
        skip_ws(p);
        if (p->s[p->pos] == '}') {
            p->pos++;
            return 0;
        }
        char *name = ident(p, 0);
        if (!name)
            return fail(p, "%s", "expected a label name");
        skip_ws(p);
        omega_match_op_t op = OMEGA_MATCH_EQ;
        char *value = NULL;
        if (parse_op(p, &op) != 0) {
            free(name);
            return OMEGA_EINVAL;
        }
        skip_ws(p);
        if (string_lit(p, &value) != 0) {
            free(name);
            return OMEGA_EINVAL;
        }
        if (add_matcher(p, sel, name, value, op) != 0)
            return OMEGA_EINVAL;
        skip_ws(p);
        if (p->s[p->pos] == ',') {
            p->pos++;
        } else if (p->s[p->pos] != '}') {
            return fail(p, "%s", "expected ',' or '}' after a label matcher");
        }
    }
}

static int empty_matches_all(const omega_selector_t *sel)
{
    for (size_t i = 0; i < sel->n; i++)
        if (!query_matcher_matches_empty(&sel->matchers[i]))
            return 0;
    return 1;
}

static const char *describe(char c, char *buf)
{
    if (c == '\0')
        return "end of input";
    buf[0] = '\'';
    buf[1] = c;
    buf[2] = '\'';
    buf[3] = '\0';
    return buf;
}

static int parse_all(parser_t *p, omega_selector_t *sel)
{
    skip_ws(p);
    if (strlen(p->s) > OMEGA_QUERY_MAX_LEN)
        return fail(p, "query longer than %s bytes", "16384");
    char *name = ident(p, 1);
    if (name && add_matcher(p, sel, omega_strdup("__name__"), name, OMEGA_MATCH_EQ) != 0)
        return OMEGA_EINVAL;
    skip_ws(p);
    if (p->s[p->pos] == '{' && parse_braces(p, sel) != 0)
        return OMEGA_EINVAL;
    skip_ws(p);
    char c = p->s[p->pos], tmp[4];
    if (c != '\0') {
        if (c == '(')
            return fail(p, "%s",
                        "functions and aggregations are not supported yet; "
                        "only series selectors are");
        if (c == '[')
            return fail(p, "%s",
                        "range selectors are not supported yet; only instant "
                        "series selectors are");
        return fail(p, "unexpected %s", describe(c, tmp));
    }
    if (sel->n == 0)
        return fail(p, "%s", "expected a metric name or '{'");
    if (empty_matches_all(sel)) {
        p->pos = 0;
        return fail(p, "%s", "vector selector must contain at least one non-empty matcher");
    }
    return 0;
}

int omega_selector_parse(const char *text, omega_selector_t **out, omega_error_t *err)
{
    *out = NULL;
    if (!text)
        return omega_error_set(err, OMEGA_EINVAL, "empty query");
    parser_t p = {.s = text, .pos = 0, .err = err};
    omega_selector_t *sel = omega_calloc(1, sizeof(*sel));
    if (parse_all(&p, sel) != 0) {
        omega_selector_destroy(sel);
        return OMEGA_EINVAL;
    }
    *out = sel;
    return 0;
}

void omega_selector_destroy(omega_selector_t *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->n; i++) {
        free((char *)sel->matchers[i].name);
        free((char *)sel->matchers[i].value);
    }
    free(sel);
}

const omega_matcher_t *omega_selector_matchers(const omega_selector_t *sel, size_t *n)
{
    *n = sel->n;
    return sel->matchers;
}
