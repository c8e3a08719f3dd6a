/* SPDX-License-Identifier: Apache-2.0 */
/* Private types of the query module: lexer tokens, the PromQL syntax tree, the function
 * table, and the evaluator's step-aligned values shared by eval.c, functions.c,
 * aggregate.c and binop.c. Only query/ includes this file. */
#ifndef OMEGA_QUERY_INT_H
#define OMEGA_QUERY_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "omega/query.h"

/* Deepest expression nesting the parser accepts. */
#define QUERY_MAX_DEPTH 200
/* Longest regular expression in a matcher, in bytes. */
#define QUERY_MAX_REGEX 4096
/* Label matchers per selector. */
#define QUERY_MAX_MATCHERS 64

/* ---- Lexer (lexer.c) ---- */

typedef enum tok_kind {
    T_EOF = 0,
    T_IDENT,
    T_NUMBER,
    T_STRING,
    T_DURATION,
    T_LPAREN,
    T_RPAREN,
    T_LBRACE,
    T_RBRACE,
    T_LBRACKET,
    T_RBRACKET,
    T_COMMA,
    T_COLON,
    T_AT,
    T_ADD,
    T_SUB,
    T_MUL,
    T_DIV,
    T_MOD,
    T_POW,
    T_EQLC,
    T_NEQ,
    T_LSS,
    T_LTE,
    T_GTR,
    T_GTE,
    T_ASSIGN,
    T_EQL_REGEX,
    T_NEQ_REGEX,
} tok_kind_t;

typedef struct token {
    tok_kind_t kind; /* what it is */
    size_t pos;      /* byte offset of its first character */
    size_t len;      /* bytes of source text */
    double num;      /* T_NUMBER value */
    int64_t dur_ms;  /* T_DURATION value */
    char *str;       /* T_STRING unescaped value (owned by the token list) */
} token_t;

typedef struct token_list {
    token_t *v; /* tokens, the last one T_EOF */
    size_t n;   /* entries in v */
} token_list_t;

/* Tokenise text. On error returns OMEGA_EINVAL with "L:C: parse error: ..." in err. */
int lexer_run(const char *text, token_list_t *out, omega_error_t *err);
void lexer_free(token_list_t *tl);
/* Fill err with "L:C: parse error: <msg>" for byte offset pos of text; returns OMEGA_EINVAL. */
int query_syntax_error(omega_error_t *err, const char *text, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A short description of a token for messages ("number", "\"+\"", "end of input"). */
const char *lexer_describe(const char *text, const token_t *t, char *buf, size_t len);

/* ---- Syntax tree (parser.c) ---- */

typedef enum vtype { VT_SCALAR, VT_VECTOR, VT_MATRIX, VT_STRING } vtype_t;

typedef enum node_kind {
    N_NUMBER,
    N_STRING,
    N_VECTOR_SEL,
    N_MATRIX_SEL,
    N_CALL,
    N_AGG,
    N_BINARY,
    N_UNARY,
    N_PAREN,
} node_kind_t;

typedef enum func_id {
    F_RATE,
    F_IRATE,
    F_INCREASE,
    F_DELTA,
    F_DERIV,
    F_PREDICT_LINEAR,
    F_AVG_OT,
    F_MIN_OT,
    F_MAX_OT,
    F_SUM_OT,
    F_COUNT_OT,
    F_LAST_OT,
    F_QUANTILE_OT,
    F_ABS,
    F_CLAMP_MIN,
    F_CLAMP_MAX,
    F_ROUND,
    F_HISTOGRAM_QUANTILE,
    F_TIME,
} func_id_t;

typedef struct func_def {
    const char *name; /* PromQL name */
    func_id_t id;     /* implementation */
    vtype_t args[2];  /* argument types */
    int min_args;     /* required arguments */
    int max_args;     /* accepted arguments */
    vtype_t ret;      /* result type */
} func_def_t;

/* The function table entry for name, or NULL. */
const func_def_t *query_func_lookup(const char *name, size_t len);

typedef enum agg_op {
    A_SUM,
    A_AVG,
    A_MIN,
    A_MAX,
    A_COUNT,
    A_STDDEV,
    A_QUANTILE,
    A_TOPK,
    A_BOTTOMK
} agg_op_t;

typedef struct node node_t;
struct node {
    node_kind_t kind;
    size_t pos;                /* byte offset in the query, for messages */
    double num;                /* N_NUMBER */
    char *str;                 /* N_STRING value (owned) */
    omega_matcher_t *matchers; /* selectors: owned strings */
    size_t n_matchers;         /* entries in matchers */
    int64_t offset_ms;         /* selectors: offset modifier */
    int64_t range_ms;          /* N_MATRIX_SEL: range */
    const func_def_t *func;    /* N_CALL */
    node_t *args[2];           /* N_CALL arguments; N_AGG: args[0] expr, args[1] param */
    int n_args;                /* N_CALL arguments present */
    agg_op_t agg;              /* N_AGG */
    char **labels;             /* N_AGG grouping / N_BINARY on/ignoring labels (owned) */
    size_t n_labels;           /* entries in labels */
    int without;               /* N_AGG: without instead of by */
    tok_kind_t op;             /* N_BINARY / N_UNARY operator */
    int return_bool;           /* N_BINARY: bool modifier */
    int matching_on;           /* N_BINARY: on(...) given (else ignoring(...) or none) */
    node_t *lhs, *rhs;         /* N_BINARY operands; N_UNARY / N_PAREN use lhs */
};

/* ---- Regex checks (regex.c) ---- */

/* 0 when the regex's counted repetitions stay within RE2's limits (each <= 1000, nested
 * counts multiplied <= 1000), so compiling it cannot take seconds and gigabytes. */
int query_regex_repetition_ok(const char *re);
/* 0 when re is acceptable in a matcher (length, no backreferences, repetition limits, it
 * compiles); else OMEGA_EINVAL with the reason in why. */
int query_regex_check(const char *re, char *why, size_t len);
/* True when the matcher accepts the empty string. */
int query_matcher_matches_empty(const omega_matcher_t *m);

/* Parse a query into a tree the caller frees with node_free(). */
int query_parse(const char *text, node_t **out, omega_error_t *err);
void node_free(node_t *n);
vtype_t node_type(const node_t *n);
const char *vtype_name(vtype_t t);
int op_is_comparison(tok_kind_t op);

/* ---- Evaluation (eval.c and friends) ---- */

/* Owned label set, sorted by name, "__name__" included when present. */
typedef struct lset {
    omega_label_t *v; /* owned strings */
    size_t n;         /* entries */
} lset_t;

/* One series over the evaluation steps. */
typedef struct qseries {
    lset_t lbl;   /* labels */
    double *val;  /* n_steps values */
    uint8_t *has; /* n_steps presence flags */
} qseries_t;

/* A value over every step: scalar (val has n_steps entries), vector (series), string. */
typedef struct qvalue {
    vtype_t type;
    double *scalar;    /* VT_SCALAR: n_steps values */
    qseries_t *series; /* VT_VECTOR */
    size_t n_series;   /* entries in series */
    char *str;         /* VT_STRING */
} qvalue_t;

/* What the samples behind one fetched point add up to: a raw sample (res_ms 0, count 1,
 * sum = min = max = its value) or a rollup bucket (res_ms its tier's resolution). */
typedef struct point_agg {
    double sum, min, max; /* of the samples */
    uint64_t count;       /* samples */
    int64_t res_ms;       /* 0 for a raw sample, else the bucket's tier resolution */
} point_agg_t;

/* Samples of one stored series. On a tier read, samples[i] is a bucket's last sample
 * (time and value) and agg[i] its aggregates; on a raw read agg is NULL. Owned by
 * eval_fetch_raw's caller; only lent to an eval_fetch_each visitor. */
typedef struct raw_series {
    lset_t lbl;              /* labels with __name__ */
    omega_sample_t *samples; /* ascending */
    point_agg_t *agg;        /* NULL, or n entries parallel to samples */
    size_t n;                /* samples */
} raw_series_t;

/* How a selector's samples are used, which decides whether rollup tiers may serve it
 * (tiers.c, docs/api.md "Automatic tier selection"). */
typedef enum fetch_use {
    FETCH_RAW,       /* raw samples only (bare range selectors, irate, deriv, quantile...) */
    FETCH_INSTANT,   /* instant selector: a bucket's last value may stand in */
    FETCH_RANGE_AGG, /* avg/min/max/sum/count/last_over_time: bucket aggregates */
    FETCH_RANGE_LAST /* rate/increase/delta: buckets' last values */
} fetch_use_t;

typedef struct evaluator {
    omega_tsdb_t *db;      /* store */
    int64_t start, step;   /* first step time, step (0 for instant) */
    size_t n_steps;        /* evaluation steps */
    int64_t lookback_ms;   /* instant selector lookback */
    uint64_t max_samples;  /* samples + points budget */
    _Atomic uint64_t used; /* spent so far (concurrent visitors charge it too) */
    _Atomic int failed;    /* a charge failed: ev->err holds the first reason */
    int64_t deadline_ns;   /* omega_mono_ns() deadline */
    omega_error_t *err;    /* where errors go */
} evaluator_t;

static inline int64_t ev_time(const evaluator_t *ev, size_t i)
{
    return ev->start + (int64_t)i * ev->step;
}

int eval_node(evaluator_t *ev, const node_t *n, qvalue_t *out);
void qvalue_free(qvalue_t *v);
/* Every series of a selector with its raw samples in [mint, maxt], copied (a bare range
 * selector's answer keeps them). */
int eval_fetch_raw(evaluator_t *ev, const node_t *sel, int64_t mint, int64_t maxt,
                   raw_series_t **out, size_t *n);
/* A visitor of eval_fetch_each: r->samples (and r->agg) are read-only and valid only
 * during the call; r->lbl may be taken (leave r->lbl empty then). Non-zero stops the
 * fetch and is returned (with ev->err set by the visitor). */
typedef int (*fetch_each_fn)(void *ctx, raw_series_t *r);
/* Fetch every series of a selector with samples in [mint, maxt], one at a time in id order
 * (with eval_fetch_raw, the only places the engine reads storage): raw samples, handed to
 * fn without copying them, so a query over many series holds one series' samples at a
 * time; or for a range query whose step (and range) fit a rollup tier, raw samples merged
 * with that tier's buckets (tiers.c). */
int eval_fetch_each(evaluator_t *ev, const node_t *sel, fetch_use_t use, int64_t mint, int64_t maxt,
                    fetch_each_fn fn, void *ctx);
/* Like eval_fetch_each, but fn may be called on several threads at once, in any order
 * (fn must be thread-safe). */
int eval_fetch_concurrent(evaluator_t *ev, const node_t *sel, fetch_use_t use, int64_t mint,
                          int64_t maxt, fetch_each_fn fn, void *ctx);
/* The coarsest tier usable for sel read as use (0 = raw only). */
int tier_choose(const evaluator_t *ev, const node_t *sel, fetch_use_t use);
/* Raw samples merged with the buckets of every tier up to tier, one series at a time: in id
 * order as eval_fetch_each, or concurrently as eval_fetch_concurrent (tiers.c). */
int tier_fetch_each(evaluator_t *ev, const node_t *sel, fetch_use_t use, int tier, int64_t mint,
                    int64_t maxt, fetch_each_fn fn, void *ctx, int concurrent);
/* The lookback an instant selector applies to point i of r. */
static inline int64_t point_lookback(const evaluator_t *ev, const raw_series_t *r, size_t i)
{
    if (r->agg && r->agg[i].res_ms > ev->lookback_ms)
        return r->agg[i].res_ms;
    return ev->lookback_ms;
}
void raw_series_free(raw_series_t *r, size_t n);
/* Charge n samples/points against the budget and check the deadline. Thread-safe (the
 * first failure's reason goes to ev->err). */
int eval_charge(evaluator_t *ev, uint64_t n);
/* Allocate a series (labels taken) with empty presence. */
qseries_t *qvalue_add_series(evaluator_t *ev, qvalue_t *v, lset_t lbl, int *rc);
/* Append a series with its n_steps values and presence (all three taken), uncharged. */
void qvalue_append(qvalue_t *v, lset_t lbl, double *val, uint8_t *has);
/* Merge series with equal labels; a step present in two of them is an execution error.
 * strict: any duplicate label set is an error. */
int eval_dedupe(evaluator_t *ev, qvalue_t *v, int strict);

int eval_call(evaluator_t *ev, const node_t *n, qvalue_t *out);               /* functions.c */
int eval_aggregate(evaluator_t *ev, const node_t *n, qvalue_t *out);          /* aggregate.c */
int eval_binary(evaluator_t *ev, const node_t *n, qvalue_t *out);             /* binop.c */
double query_quantile(double q, double *vals, size_t n);                      /* aggregate.c */
int eval_histogram_quantile(evaluator_t *ev, const node_t *n, qvalue_t *out); /* histogram.c */

/* ---- Label sets (labels.c) ---- */
lset_t lset_from_series(const omega_series_t *s);
lset_t lset_dup(const lset_t *l);
void lset_free(lset_t *l);
int lset_cmp(const lset_t *a, const lset_t *b);
const char *lset_get(const lset_t *l, const char *name);
/* Copy without name (or keeping only names when keep). */
lset_t lset_filter(const lset_t *l, char *const *names, size_t n, int keep);
void lset_drop(lset_t *l, const char *name);
/* A canonical string of the label set, for grouping (malloc'd). */
char *lset_key(const lset_t *l);

#endif
