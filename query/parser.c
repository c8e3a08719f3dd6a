/* SPDX-License-Identifier: Apache-2.0 */
/* PromQL parser for the subset in API.md: selectors with offset and ranges, literals,
 * function calls, aggregations with by/without, binary operators with bool and on/ignoring,
 * unary minus and parentheses, with Prometheus' precedence and type checks. Constructs
 * outside the subset are named in the error. Evaluation lives in eval.c. */
#include "query_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *text;   /* whole query */
    token_list_t tl;    /* tokens */
    size_t i;           /* next token */
    int depth;          /* current nesting */
    omega_error_t *err; /* where errors go */
} parser_t;

static const token_t *peek(parser_t *p)
{
    return &p->tl.v[p->i];
}
static const token_t *next(parser_t *p)
{
    const token_t *t = &p->tl.v[p->i];
    if (t->kind != T_EOF)
        p->i++;
    return t;
}

static int is_word(parser_t *p, const token_t *t, const char *w)
{
    return t->kind == T_IDENT && t->len == strlen(w) && strncmp(p->text + t->pos, w, t->len) == 0;
}

static node_t *fail(parser_t *p, size_t pos, const char *msg)
{
    query_syntax_error(p->err, p->text, pos, "%s", msg);
    return NULL;
}

static node_t *unexpected(parser_t *p, const token_t *t, const char *ctx)
{
    char buf[96];
    query_syntax_error(p->err, p->text, t->pos, "unexpected %s%s%s",
                       lexer_describe(p->text, t, buf, sizeof(buf)), ctx ? " " : "",
                       ctx ? ctx : "");
    return NULL;
}

static node_t *new_node(node_kind_t k, size_t pos)
{
    node_t *n = omega_calloc(1, sizeof(*n));
    n->kind = k;
    n->pos = pos;
    return n;
}

void node_free(node_t *n)
{
    if (!n)
        return;
    free(n->str);
    for (size_t i = 0; i < n->n_matchers; i++) {
        free((char *)n->matchers[i].name);
        free((char *)n->matchers[i].value);
    }
    free(n->matchers);
    for (size_t i = 0; i < n->n_labels; i++)
        free(n->labels[i]);
    free(n->labels);
    node_free(n->args[0]);
    node_free(n->args[1]);
    node_free(n->lhs);
    node_free(n->rhs);
    free(n);
}

const char *vtype_name(vtype_t t)
{
    static const char *names[] = {"scalar", "instant vector", "range vector", "string"};
    return names[t];
}

int op_is_comparison(tok_kind_t op)
{
    return op == T_EQLC || op == T_NEQ || op == T_LSS || op == T_LTE || op == T_GTR || op == T_GTE;
}

vtype_t node_type(const node_t *n)
{
    switch (n->kind) {
    case N_NUMBER:
        return VT_SCALAR;
    case N_STRING:
        return VT_STRING;
    case N_VECTOR_SEL:
        return VT_VECTOR;
    case N_MATRIX_SEL:
        return VT_MATRIX;
    case N_CALL:
        return n->func->ret;
    case N_AGG:
        return VT_VECTOR;
    case N_BINARY:
        return node_type(n->lhs) == VT_SCALAR && node_type(n->rhs) == VT_SCALAR ? VT_SCALAR
                                                                                : VT_VECTOR;
    case N_UNARY:
    case N_PAREN:
        return node_type(n->lhs);
    }
    return VT_SCALAR;
}

/* ---- selectors ---- */

static int regex_ok(parser_t *p, size_t pos, const char *re)
{
    char why[160];
    if (query_regex_check(re, why, sizeof(why)) != 0)
        return query_syntax_error(p->err, p->text, pos, "%s", why);
    return 0;
}

static int add_matcher(parser_t *p, node_t *n, size_t pos, char *name, char *value,
                       omega_match_op_t op)
{
    if (n->n_matchers >= QUERY_MAX_MATCHERS) {
        free(name);
        free(value);
        return query_syntax_error(p->err, p->text, pos, "more than %d label matchers",
                                  QUERY_MAX_MATCHERS);
    }
    if ((op == OMEGA_MATCH_RE || op == OMEGA_MATCH_NRE) && regex_ok(p, pos, value) != 0) {
        free(name);
        free(value);
        return OMEGA_EINVAL;
    }
    if (!n->matchers)
        n->matchers = omega_calloc(QUERY_MAX_MATCHERS, sizeof(omega_matcher_t));
    n->matchers[n->n_matchers].name = name;
    n->matchers[n->n_matchers].value = value;
    n->matchers[n->n_matchers].op = op;
    n->n_matchers++;
    return 0;
}

static int parse_matchers(parser_t *p, node_t *n)
{
    next(p); /* '{' */
    for (;;) {
        const token_t *t = next(p);
        if (t->kind == T_RBRACE)
            return 0;
        if (t->kind != T_IDENT || memchr(p->text + t->pos, ':', t->len)) {
            unexpected(p, t, "in label matching, expected label name");
            return OMEGA_EINVAL;
        }
        const token_t *op = next(p);
        omega_match_op_t mop;
        switch (op->kind) {
        case T_ASSIGN:
            mop = OMEGA_MATCH_EQ;
            break;
        case T_NEQ:
            mop = OMEGA_MATCH_NE;
            break;
        case T_EQL_REGEX:
            mop = OMEGA_MATCH_RE;
            break;
        case T_NEQ_REGEX:
            mop = OMEGA_MATCH_NRE;
            break;
        default:
            unexpected(p, op, "in label matching, expected one of \"=\", \"!=\", \"=~\", \"!~\"");
            return OMEGA_EINVAL;
        }
        const token_t *v = next(p);
        if (v->kind != T_STRING) {
            unexpected(p, v, "in label matching, expected string");
            return OMEGA_EINVAL;
        }
        if (add_matcher(p, n, t->pos, omega_strndup(p->text + t->pos, t->len), omega_strdup(v->str),
                        mop) != 0)
            return OMEGA_EINVAL;
        const token_t *sep = next(p);
        if (sep->kind == T_RBRACE)
            return 0;
        if (sep->kind != T_COMMA) {
            unexpected(p, sep, "in label matching, expected \",\" or \"}\"");
            return OMEGA_EINVAL;
        }
    }
}

static node_t *parse_selector(parser_t *p)
{
    const token_t *t = peek(p);
    node_t *n = new_node(N_VECTOR_SEL, t->pos);
    int has_name = 0;
    if (t->kind == T_IDENT) {
        next(p);
        add_matcher(p, n, t->pos, omega_strdup("__name__"), omega_strndup(p->text + t->pos, t->len),
                    OMEGA_MATCH_EQ);
        has_name = 1;
    }
    if (peek(p)->kind == T_LBRACE && parse_matchers(p, n) != 0) {
        node_free(n);
        return NULL;
    }
    int all_empty = 1;
    for (size_t i = 0; i < n->n_matchers; i++) {
        if (has_name && i > 0 && strcmp(n->matchers[i].name, "__name__") == 0) {
            node_free(n);
            return fail(p, t->pos, "metric name must not be set twice");
        }
        if (!query_matcher_matches_empty(&n->matchers[i]))
            all_empty = 0;
    }
    if (all_empty) {
        node_free(n);
        return fail(p, t->pos, "vector selector must contain at least one non-empty matcher");
    }
    return n;
}

/* ---- label lists: by (a, b), on (a) ---- */

static int parse_label_list(parser_t *p, node_t *n)
{
    const token_t *t = next(p);
    if (t->kind != T_LPAREN) {
        unexpected(p, t, "in grouping opts, expected \"(\"");
        return OMEGA_EINVAL;
    }
    for (;;) {
        t = next(p);
        if (t->kind == T_RPAREN)
            return 0;
        if (t->kind != T_IDENT || memchr(p->text + t->pos, ':', t->len)) {
            unexpected(p, t, "in grouping opts, expected label");
            return OMEGA_EINVAL;
        }
        if (n->n_labels >= QUERY_MAX_MATCHERS) {
            query_syntax_error(p->err, p->text, t->pos, "more than %d grouping labels",
                               QUERY_MAX_MATCHERS);
            return OMEGA_EINVAL;
        }
        n->labels = omega_realloc(n->labels, (n->n_labels + 1) * sizeof(char *));
        n->labels[n->n_labels++] = omega_strndup(p->text + t->pos, t->len);
        t = next(p);
        if (t->kind == T_RPAREN)
            return 0;
        if (t->kind != T_COMMA) {
            unexpected(p, t, "in grouping opts, expected \",\" or \")\"");
            return OMEGA_EINVAL;
        }
    }
}

/* ---- expressions ---- */

static node_t *parse_expr(parser_t *p, int min_prec);

enum { PREC_OR = 1, PREC_AND = 2, PREC_CMP = 3, PREC_ADD = 4, PREC_MUL = 5, PREC_POW = 6 };

static int binop_prec(parser_t *p, const token_t *t)
{
    switch (t->kind) {
    case T_ADD:
    case T_SUB:
        return PREC_ADD;
    case T_MUL:
    case T_DIV:
    case T_MOD:
        return PREC_MUL;
    case T_POW:
        return PREC_POW;
    case T_EQLC:
    case T_NEQ:
    case T_LSS:
    case T_LTE:
    case T_GTR:
    case T_GTE:
        return PREC_CMP;
    default:
        break;
    }
    if (is_word(p, t, "and") || is_word(p, t, "unless"))
        return PREC_AND;
    if (is_word(p, t, "or"))
        return PREC_OR;
    if (is_word(p, t, "atan2"))
        return PREC_MUL;
    return 0;
}

static const char *const agg_names[] = {"sum",    "avg",      "min",  "max",    "count",
                                        "stddev", "quantile", "topk", "bottomk"};
static const char *const agg_unsupported[] = {"group", "stdvar", "count_values"};
static const char *const func_unsupported[] = {"absent",
                                               "absent_over_time",
                                               "ceil",
                                               "changes",
                                               "clamp",
                                               "day_of_month",
                                               "day_of_week",
                                               "day_of_year",
                                               "days_in_month",
                                               "exp",
                                               "floor",
                                               "holt_winters",
                                               "hour",
                                               "idelta",
                                               "label_join",
                                               "label_replace",
                                               "ln",
                                               "log10",
                                               "log2",
                                               "minute",
                                               "month",
                                               "present_over_time",
                                               "resets",
                                               "scalar",
                                               "sgn",
                                               "sort",
                                               "sort_desc",
                                               "sqrt",
                                               "stddev_over_time",
                                               "stdvar_over_time",
                                               "timestamp",
                                               "vector",
                                               "year",
                                               "acos",
                                               "acosh",
                                               "asin",
                                               "asinh",
                                               "atan",
                                               "atanh",
                                               "cos",
                                               "cosh",
                                               "sin",
                                               "sinh",
                                               "tan",
                                               "tanh",
                                               "deg",
                                               "rad",
                                               "pi",
                                               "group_over_time"};

static int word_in(parser_t *p, const token_t *t, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (is_word(p, t, list[i]))
            return (int)i + 1;
    return 0;
}

static int expect(parser_t *p, tok_kind_t k, const char *ctx)
{
    const token_t *t = next(p);
    if (t->kind == k)
        return 0;
    unexpected(p, t, ctx);
    return OMEGA_EINVAL;
}

static node_t *parse_agg(parser_t *p, const token_t *kw, agg_op_t op)
{
    node_t *n = new_node(N_AGG, kw->pos);
    n->agg = op;
    int grouped = 0;
    if (is_word(p, peek(p), "by") || is_word(p, peek(p), "without")) {
        n->without = is_word(p, next(p), "without");
        grouped = 1;
        if (parse_label_list(p, n) != 0)
            goto fail;
    }
    if (expect(p, T_LPAREN, "in aggregation, expected \"(\"") != 0)
        goto fail;
    if (op == A_QUANTILE || op == A_TOPK || op == A_BOTTOMK) {
        if (!(n->args[1] = parse_expr(p, 0)) ||
            expect(p, T_COMMA, "in aggregation, expected \",\"") != 0)
            goto fail;
    }
    if (!(n->args[0] = parse_expr(p, 0)))
        goto fail;
    if (peek(p)->kind == T_COMMA)
        next(p);
    if (expect(p, T_RPAREN, "in aggregation, expected \")\"") != 0)
        goto fail;
    if (!grouped && (is_word(p, peek(p), "by") || is_word(p, peek(p), "without"))) {
        n->without = is_word(p, next(p), "without");
        if (parse_label_list(p, n) != 0)
            goto fail;
    }
    if (node_type(n->args[0]) != VT_VECTOR) {
        query_syntax_error(p->err, p->text, n->args[0]->pos,
                           "expected type instant vector in aggregation expression, got %s",
                           vtype_name(node_type(n->args[0])));
        goto fail;
    }
    if (n->args[1] && node_type(n->args[1]) != VT_SCALAR) {
        query_syntax_error(p->err, p->text, n->args[1]->pos,
                           "expected type scalar in aggregation parameter, got %s",
                           vtype_name(node_type(n->args[1])));
        goto fail;
    }
    return n;
fail:
    node_free(n);
    return NULL;
}

static node_t *parse_call(parser_t *p, const token_t *name)
{
    const func_def_t *f = query_func_lookup(p->text + name->pos, name->len);
    if (!f) {
        if (word_in(p, name, func_unsupported,
                    sizeof(func_unsupported) / sizeof(func_unsupported[0])))
            query_syntax_error(p->err, p->text, name->pos, "function \"%.*s\" is not supported",
                               (int)name->len, p->text + name->pos);
        else
            query_syntax_error(p->err, p->text, name->pos, "unknown function: %.*s",
                               (int)(name->len > 60 ? 60 : name->len), p->text + name->pos);
        return NULL;
    }
    node_t *n = new_node(N_CALL, name->pos);
    n->func = f;
    next(p); /* '(' */
    if (peek(p)->kind != T_RPAREN) {
        for (;;) {
            node_t *a = parse_expr(p, 0);
            if (!a)
                goto fail;
            if (n->n_args >= f->max_args) {
                node_free(a);
                query_syntax_error(p->err, p->text, name->pos,
                                   "expected at most %d argument(s) in call to \"%s\", got more",
                                   f->max_args, f->name);
                goto fail;
            }
            n->args[n->n_args++] = a;
            if (peek(p)->kind != T_COMMA)
                break;
            next(p);
        }
    }
    if (expect(p, T_RPAREN, "in function call, expected \",\" or \")\"") != 0)
        goto fail;
    if (n->n_args < f->min_args) {
        query_syntax_error(p->err, p->text, name->pos,
                           "expected %d argument(s) in call to \"%s\", got %d", f->min_args,
                           f->name, n->n_args);
        goto fail;
    }
    for (int i = 0; i < n->n_args; i++) {
        if (node_type(n->args[i]) != f->args[i]) {
            query_syntax_error(p->err, p->text, n->args[i]->pos,
                               "expected type %s in call to function \"%s\", got %s",
                               vtype_name(f->args[i]), f->name, vtype_name(node_type(n->args[i])));
            goto fail;
        }
    }
    return n;
fail:
    node_free(n);
    return NULL;
}

static node_t *parse_ident(parser_t *p)
{
    const token_t *t = peek(p);
    const token_t *after = &p->tl.v[p->i + 1];
    int grouping_next =
        after->kind == T_LPAREN || is_word(p, after, "by") || is_word(p, after, "without");
    int a = word_in(p, t, agg_names, sizeof(agg_names) / sizeof(agg_names[0]));
    if (a && grouping_next)
        return parse_agg(p, next(p), (agg_op_t)(a - 1));
    if (grouping_next && word_in(p, t, agg_unsupported, 3))
        return fail(p, t->pos,
                    "this aggregation is not supported (supported: sum, avg, min, max, "
                    "count, stddev, quantile, topk, bottomk)");
    if (after->kind == T_LPAREN)
        return parse_call(p, next(p));
    static const char *const reserved[] = {"by",   "without", "on",         "ignoring",
                                           "bool", "offset",  "group_left", "group_right",
                                           "and",  "or",      "unless",     "atan2"};
    if (word_in(p, t, reserved, sizeof(reserved) / sizeof(reserved[0])))
        return unexpected(p, t, NULL);
    return parse_selector(p);
}

static node_t *parse_postfix(parser_t *p, node_t *n)
{
    for (;;) {
        const token_t *t = peek(p);
        if (t->kind == T_LBRACKET) {
            if (n->kind != N_VECTOR_SEL) {
                const char *why = n->kind == N_MATRIX_SEL
                                      ? "range specified twice"
                                      : "ranges only allowed for vector selectors";
                node_free(n);
                return fail(p, t->pos, why);
            }
            if (n->offset_ms) {
                node_free(n);
                return fail(p, t->pos, "no offset modifiers allowed before range");
            }
            next(p);
            const token_t *d = next(p);
            if (d->kind == T_COLON || (d->kind == T_DURATION && peek(p)->kind == T_COLON)) {
                node_free(n);
                return fail(p, t->pos, "subqueries are not supported");
            }
            if (d->kind != T_DURATION || d->dur_ms <= 0) {
                node_free(n);
                return d->kind == T_DURATION
                           ? fail(p, d->pos, "range duration must be greater than 0")
                           : unexpected(p, d, "in range selector, expected duration");
            }
            n->kind = N_MATRIX_SEL;
            n->range_ms = d->dur_ms;
            if (expect(p, T_RBRACKET, "in range selector, expected \"]\"") != 0) {
                node_free(n);
                return NULL;
            }
        } else if (is_word(p, t, "offset")) {
            next(p);
            if (n->kind != N_VECTOR_SEL && n->kind != N_MATRIX_SEL) {
                node_free(n);
                return fail(p, t->pos,
                            "offset modifier must be preceded by an instant vector "
                            "selector or range vector selector");
            }
            if (n->offset_ms) {
                node_free(n);
                return fail(p, t->pos, "offset may not be set multiple times");
            }
            const token_t *d = next(p);
            if (d->kind != T_DURATION) {
                node_free(n);
                return d->kind == T_SUB ? fail(p, d->pos, "negative offsets are not supported")
                                        : unexpected(p, d, "in offset, expected duration");
            }
            n->offset_ms = d->dur_ms;
        } else if (t->kind == T_AT) {
            node_free(n);
            return fail(p, t->pos, "the @ modifier is not supported");
        } else {
            return n;
        }
    }
}

static node_t *parse_unary(parser_t *p)
{
    const token_t *t = peek(p);
    if (t->kind == T_ADD || t->kind == T_SUB) {
        next(p);
        node_t *inner = parse_expr(p, PREC_POW);
        if (!inner)
            return NULL;
        vtype_t vt = node_type(inner);
        if (vt != VT_SCALAR && vt != VT_VECTOR) {
            node_free(inner);
            return fail(
                p, t->pos,
                "unary expression only allowed on expressions of type scalar or instant vector");
        }
        if (t->kind == T_ADD)
            return inner;
        if (inner->kind == N_NUMBER) {
            inner->num = -inner->num;
            return inner;
        }
        node_t *n = new_node(N_UNARY, t->pos);
        n->op = T_SUB;
        n->lhs = inner;
        return n;
    }
    node_t *n = NULL;
    switch (t->kind) {
    case T_NUMBER:
        n = new_node(N_NUMBER, t->pos);
        n->num = next(p)->num;
        break;
    case T_STRING:
        n = new_node(N_STRING, t->pos);
        n->str = omega_strdup(next(p)->str);
        break;
    case T_LPAREN:
        next(p);
        n = new_node(N_PAREN, t->pos);
        if (!(n->lhs = parse_expr(p, 0)) ||
            expect(p, T_RPAREN, "in parenthesized expression, expected \")\"") != 0) {
            node_free(n);
            return NULL;
        }
        break;
    case T_LBRACE:
        n = parse_selector(p);
        break;
    case T_IDENT:
        n = parse_ident(p);
        break;
    default:
        return unexpected(p, t, NULL);
    }
    return n ? parse_postfix(p, n) : NULL;
}

static int binary_modifiers(parser_t *p, node_t *b)
{
    if (is_word(p, peek(p), "bool")) {
        if (!op_is_comparison(b->op)) {
            query_syntax_error(p->err, p->text, peek(p)->pos,
                               "bool modifier can only be used on comparison operators");
            return OMEGA_EINVAL;
        }
        next(p);
        b->return_bool = 1;
    }
    if (is_word(p, peek(p), "on") || is_word(p, peek(p), "ignoring")) {
        b->matching_on = is_word(p, next(p), "on") ? 1 : 2;
        if (parse_label_list(p, b) != 0)
            return OMEGA_EINVAL;
    }
    const token_t *t = peek(p);
    if (is_word(p, t, "group_left") || is_word(p, t, "group_right")) {
        query_syntax_error(p->err, p->text, t->pos,
                           "%.*s is not supported (only one-to-one vector matching is)",
                           (int)t->len, p->text + t->pos);
        return OMEGA_EINVAL;
    }
    return 0;
}

static int binary_check(parser_t *p, node_t *b)
{
    vtype_t lt = node_type(b->lhs), rt = node_type(b->rhs);
    if ((lt != VT_SCALAR && lt != VT_VECTOR) || (rt != VT_SCALAR && rt != VT_VECTOR))
        return query_syntax_error(
            p->err, p->text, b->pos,
            "binary expression must contain only scalar and instant vector types");
    if (lt == VT_SCALAR && rt == VT_SCALAR && op_is_comparison(b->op) && !b->return_bool)
        return query_syntax_error(p->err, p->text, b->pos,
                                  "comparisons between scalars must use BOOL modifier");
    if (b->matching_on && (lt != VT_VECTOR || rt != VT_VECTOR))
        return query_syntax_error(p->err, p->text, b->pos,
                                  "vector matching only allowed between instant vectors");
    return 0;
}

static node_t *parse_expr(parser_t *p, int min_prec)
{
    if (++p->depth > QUERY_MAX_DEPTH) {
        p->depth--;
        return fail(p, peek(p)->pos, "expression nesting exceeds the limit of 200 levels");
    }
    node_t *lhs = parse_unary(p);
    while (lhs) {
        const token_t *t = peek(p);
        int prec = binop_prec(p, t);
        if (!prec || prec < min_prec)
            break;
        if (prec == PREC_AND || prec == PREC_OR || is_word(p, t, "atan2") || t->kind == T_MOD ||
            t->kind == T_POW) {
            query_syntax_error(p->err, p->text, t->pos, "operator \"%.*s\" is not supported",
                               (int)t->len, p->text + t->pos);
            node_free(lhs);
            lhs = NULL;
            break;
        }
        node_t *b = new_node(N_BINARY, t->pos);
        b->op = next(p)->kind;
        b->lhs = lhs;
        lhs = b;
        if (binary_modifiers(p, b) != 0 || !(b->rhs = parse_expr(p, prec + 1)) ||
            binary_check(p, b) != 0) {
            node_free(b);
            lhs = NULL;
        }
    }
    p->depth--;
    return lhs;
}

int query_parse(const char *text, node_t **out, omega_error_t *err)
{
    *out = NULL;
    if (!text || !*text)
        return omega_error_set(err, OMEGA_EINVAL, "empty query");
    size_t len = strlen(text);
    if (len > OMEGA_QUERY_MAX_LEN)
        return omega_error_set(err, OMEGA_EINVAL,
                               "query of %zu bytes is longer than the limit of %d bytes", len,
                               OMEGA_QUERY_MAX_LEN);
    if (!omega_utf8_valid(text, len))
        return omega_error_set(err, OMEGA_EINVAL, "query is not valid UTF-8");
    parser_t p = {.text = text, .err = err};
    if (lexer_run(text, &p.tl, err) != 0)
        return OMEGA_EINVAL;
    node_t *n = parse_expr(&p, 0);
    if (n && peek(&p)->kind != T_EOF) {
        node_free(n);
        n = unexpected(&p, peek(&p), NULL);
    }
    if (n && peek(&p)->kind == T_EOF && p.tl.n == 1)
        n = NULL;
    lexer_free(&p.tl);
    if (!n)
        return OMEGA_EINVAL;
    *out = n;
    return 0;
}
