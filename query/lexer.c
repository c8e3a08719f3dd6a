/* SPDX-License-Identifier: Apache-2.0 */
/* PromQL lexer: numbers (decimal, hex, exponent, Inf, NaN), durations ("1h30m"), the three
 * string quotes with Go escapes, identifiers and operators, '#' comments. The parser
 * decides what keywords mean; this file only cuts the text and reports positions. */
#include "query_int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int query_syntax_error(omega_error_t *err, const char *text, size_t pos, const char *fmt, ...)
{
    int line = 1, col = 1;
    for (size_t i = 0; i < pos && text[i]; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (err) {
        omega_error_set(err, OMEGA_EINVAL, "%d:%d: parse error: %s", line, col, msg);
        err->line = line;
        err->column = col;
    }
    return OMEGA_EINVAL;
}

const char *lexer_describe(const char *text, const token_t *t, char *buf, size_t len)
{
    switch (t->kind) {
    case T_EOF:
        return "end of input";
    case T_NUMBER:
        snprintf(buf, len, "number \"%.*s\"", (int)(t->len > 40 ? 40 : t->len), text + t->pos);
        return buf;
    case T_STRING:
        return "string literal";
    case T_DURATION:
        snprintf(buf, len, "duration \"%.*s\"", (int)t->len, text + t->pos);
        return buf;
    case T_IDENT:
        snprintf(buf, len, "identifier \"%.*s\"", (int)(t->len > 60 ? 60 : t->len), text + t->pos);
        return buf;
    default:
        snprintf(buf, len, "\"%.*s\"", (int)t->len, text + t->pos);
        return buf;
    }
}

static int is_ident_start(int c)
{
    return isalpha(c) || c == '_' || c == ':';
}
static int is_ident_char(int c)
{
    return isalnum(c) || c == '_' || c == ':';
}

static int64_t unit_ms(const char *s, size_t *ulen)
{
    if (s[0] == 'm' && s[1] == 's') {
        *ulen = 2;
        return 1;
    }
    *ulen = 1;
    switch (s[0]) {
    case 's':
        return 1000;
    case 'm':
        return 60000;
    case 'h':
        return 3600000;
    case 'd':
        return 86400000;
    case 'w':
        return 7 * 86400000LL;
    case 'y':
        return 365 * 86400000LL;
    default:
        *ulen = 0;
        return 0;
    }
}

/* "1h30m": each unit once, largest first, as Prometheus' model.ParseDuration. */
static int lex_duration(const char *text, size_t *p, token_t *t, omega_error_t *err)
{
    size_t i = *p;
    int64_t total = 0, last_unit = INT64_MAX;
    while (isdigit((unsigned char)text[i])) {
        int64_t n = 0;
        size_t d0 = i;
        while (isdigit((unsigned char)text[i])) {
            if (n > (INT64_MAX - 9) / 10)
                return query_syntax_error(err, text, d0, "duration out of range");
            n = n * 10 + (text[i++] - '0');
        }
        size_t ul;
        int64_t u = unit_ms(text + i, &ul);
        if (!u)
            return query_syntax_error(err, text, *p, "bad duration: missing unit after \"%.*s\"",
                                      (int)(i - *p), text + *p);
        if (u >= last_unit)
            return query_syntax_error(err, text, *p,
                                      "bad duration: units must be in decreasing order");
        last_unit = u;
        if (n > (INT64_MAX - total) / u)
            return query_syntax_error(err, text, *p, "duration out of range");
        total += n * u;
        i += ul;
    }
    /* Prometheus durations are int64 nanoseconds: about 292 years at most. */
    if (total > 292LL * 365 * 86400000)
        return query_syntax_error(err, text, *p, "duration out of range");
    if (isalnum((unsigned char)text[i]) || text[i] == '_')
        return query_syntax_error(err, text, *p, "bad duration \"%.*s\"", (int)(i - *p + 1),
                                  text + *p);
    t->kind = T_DURATION;
    t->dur_ms = total;
    t->len = i - *p;
    *p = i;
    return 0;
}

static int lex_number(const char *text, size_t *p, token_t *t, omega_error_t *err)
{
    size_t i = *p;
    /* A run of digits directly followed by a unit letter is a duration. */
    size_t j = i;
    while (isdigit((unsigned char)text[j]))
        j++;
    size_t ul;
    if (j > i && unit_ms(text + j, &ul) && !(text[j] == 'e' || text[j] == 'E'))
        return lex_duration(text, p, t, err);
    char *end = NULL;
    double v;
    if (text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X'))
        v = (double)strtoull(text + i, &end, 16);
    else
        v = strtod(text + i, &end);
    if (end == text + i || is_ident_char((unsigned char)*end) || *end == '.')
        return query_syntax_error(err, text, i, "bad number or duration syntax: \"%.*s\"",
                                  (int)((end > text + i ? (size_t)(end - text) : i) - i + 1),
                                  text + i);
    /* strtod also reads "inf"/"nan" spellings; those are lexed as identifiers first. */
    t->kind = T_NUMBER;
    t->num = v;
    t->len = (size_t)(end - (text + i));
    *p = i + t->len;
    return 0;
}

static int hexval(int c)
{
    if (isdigit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void put_utf8(char *out, size_t *o, unsigned long cp)
{
    if (cp < 0x80) {
        out[(*o)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*o)++] = (char)(0xC0 | (cp >> 6));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*o)++] = (char)(0xE0 | (cp >> 12));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*o)++] = (char)(0xF0 | (cp >> 18));
        out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*o)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* One escape after a backslash at text[*i] (Go string literal rules). */
static int lex_escape(const char *text, size_t *i, char q, char *out, size_t *o, omega_error_t *err)
{
    size_t at = *i;
    char c = text[++*i];
    const char *simple = "a\ab\bf\fn\nr\rt\tv\v\\\\";
    for (const char *s = simple; *s; s += 2) {
        if (c == s[0]) {
            out[(*o)++] = s[1];
            (*i)++;
            return 0;
        }
    }
    if (c == q) {
        out[(*o)++] = c;
        (*i)++;
        return 0;
    }
    int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : (c >= '0' && c <= '7') ? 3 : 0;
    if (!digits)
        return query_syntax_error(err, text, at, "unknown escape sequence '\\%c'", c ? c : ' ');
    int base = (c >= '0' && c <= '7') ? 8 : 16;
    if (base == 16)
        (*i)++;
    unsigned long cp = 0;
    for (int k = 0; k < digits; k++) {
        int d = hexval((unsigned char)text[*i]);
        if (d < 0 || d >= base)
            return query_syntax_error(err, text, at, "invalid escape sequence");
        cp = cp * (unsigned long)base + (unsigned long)d;
        (*i)++;
    }
    if (c == 'x' || base == 8) {
        if (cp > 255)
            return query_syntax_error(err, text, at, "octal escape value > 255");
        out[(*o)++] = (char)cp;
    } else {
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
            return query_syntax_error(err, text, at,
                                      "escape sequence is an invalid Unicode code point");
        put_utf8(out, o, cp);
    }
    return 0;
}

static int lex_string(const char *text, size_t *p, token_t *t, omega_error_t *err)
{
    char q = text[*p];
    size_t i = *p + 1, o = 0;
    char *out = omega_malloc(strlen(text + i) + 1);
    while (text[i] != q) {
        if (text[i] == '\0' || (text[i] == '\n' && q != '`')) {
            free(out);
            return query_syntax_error(err, text, *p, "unterminated quoted string");
        }
        if (text[i] == '\\' && q != '`') {
            if (lex_escape(text, &i, q, out, &o, err) != 0) {
                free(out);
                return OMEGA_EINVAL;
            }
            continue;
        }
        out[o++] = text[i++];
    }
    out[o] = '\0';
    if (!omega_utf8_valid(out, o)) {
        free(out);
        return query_syntax_error(err, text, *p, "string literal is not valid UTF-8");
    }
    t->kind = T_STRING;
    t->str = out;
    t->len = i + 1 - *p;
    *p = i + 1;
    return 0;
}

static const struct {
    const char *s;
    tok_kind_t k;
} ops[] = {
    {"==", T_EQLC},      {"!=", T_NEQ},     {"<=", T_LTE},   {">=", T_GTE},   {"=~", T_EQL_REGEX},
    {"!~", T_NEQ_REGEX}, {"(", T_LPAREN},   {")", T_RPAREN}, {"{", T_LBRACE}, {"}", T_RBRACE},
    {"[", T_LBRACKET},   {"]", T_RBRACKET}, {",", T_COMMA},  {":", T_COLON},  {"@", T_AT},
    {"+", T_ADD},        {"-", T_SUB},      {"*", T_MUL},    {"/", T_DIV},    {"%", T_MOD},
    {"^", T_POW},        {"<", T_LSS},      {">", T_GTR},    {"=", T_ASSIGN},
};

static int lex_one(const char *text, size_t *p, token_t *t, int in_brackets, omega_error_t *err)
{
    size_t i = *p;
    unsigned char c = (unsigned char)text[i];
    t->pos = i;
    if (in_brackets && c == ':') { /* subquery syntax, never a name inside [...] */
        t->kind = T_COLON;
        t->len = 1;
        *p = i + 1;
        return 0;
    }
    if (isdigit(c) || (c == '.' && isdigit((unsigned char)text[i + 1])))
        return lex_number(text, p, t, err);
    if (c == '"' || c == '\'' || c == '`')
        return lex_string(text, p, t, err);
    if (is_ident_start(c)) {
        size_t j = i;
        while (is_ident_char((unsigned char)text[j]))
            j++;
        t->len = j - i;
        t->kind = T_IDENT;
        if ((t->len == 3 &&
             (strncasecmp(text + i, "inf", 3) == 0 || strncasecmp(text + i, "nan", 3) == 0))) {
            t->kind = T_NUMBER;
            t->num = tolower(c) == 'i' ? INFINITY : NAN;
        }
        *p = j;
        return 0;
    }
    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
        size_t l = strlen(ops[k].s);
        if (strncmp(text + i, ops[k].s, l) == 0) {
            t->kind = ops[k].k;
            t->len = l;
            *p = i + l;
            return 0;
        }
    }
    if (c == '!')
        return query_syntax_error(err, text, i, "unexpected character after '!'");
    if (c < 0x20 || c >= 0x7f)
        return query_syntax_error(err, text, i, "unexpected character 0x%02x", c);
    return query_syntax_error(err, text, i, "unexpected character '%c'", c);
}

int lexer_run(const char *text, token_list_t *out, omega_error_t *err)
{
    size_t cap = 16, p = 0;
    int in_brackets = 0;
    out->n = 0;
    out->v = omega_malloc(cap * sizeof(token_t));
    for (;;) {
        while (text[p] && (isspace((unsigned char)text[p]) || text[p] == '#')) {
            if (text[p] == '#')
                while (text[p] && text[p] != '\n')
                    p++;
            else
                p++;
        }
        if (out->n == cap) {
            cap *= 2;
            out->v = omega_realloc(out->v, cap * sizeof(token_t));
        }
        token_t *t = &out->v[out->n];
        memset(t, 0, sizeof(*t));
        t->pos = p;
        if (!text[p]) {
            out->n++;
            return 0;
        }
        if (lex_one(text, &p, t, in_brackets, err) != 0) {
            lexer_free(out);
            return OMEGA_EINVAL;
        }
        if (t->kind == T_LBRACKET || t->kind == T_RBRACKET)
            in_brackets = t->kind == T_LBRACKET;
        out->n++;
    }
}

void lexer_free(token_list_t *tl)
{
    for (size_t i = 0; i < tl->n; i++)
        free(tl->v[i].str);
    free(tl->v);
    tl->v = NULL;
    tl->n = 0;
}
