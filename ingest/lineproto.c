/* SPDX-License-Identifier: Apache-2.0 */
/* The Influx line protocol parser: `measurement(,tag=value)* field=value(,field=value)*
 * [timestamp]` per line, with Influx escaping, mapped to series as VictoriaMetrics does
 * (measurement_field{tags}; a field named "value" maps to the measurement). Input arrives
 * in pieces; complete lines are parsed in place and only a partial line is carried over. */
#include "ingest_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct field {
    size_t key;   /* offset of the (unescaped, raw) key in scratch */
    size_t klen;  /* its length */
    double value; /* numeric value */
} field_t;

struct omega_lp_parser {
    omega_ingest_batch_t *out; /* borrowed destination */
    omega_lp_precision_t prec; /* timestamp unit */
    int64_t now_ms;            /* timestamp of lines without one */
    omega_ingest_limits_t lim; /* copied limits */
    size_t line;               /* lines seen so far */
    char *carry;               /* partial line from the previous piece */
    size_t ncarry, ccap;       /* its length / capacity */
    char *scratch;             /* unescaped elements of the current line */
    size_t nscratch, scap;     /* used / capacity */
    field_t *fields;           /* numeric fields of the current line */
    size_t nfields, fcap;      /* used / capacity */
    omega_error_t failed;      /* first error; code 0 while none */
};

int omega_lp_precision_parse(const char *s, omega_lp_precision_t *out)
{
    if (!s || !*s || !strcmp(s, "ns") || !strcmp(s, "n"))
        *out = OMEGA_LP_NS;
    else if (!strcmp(s, "us") || !strcmp(s, "u") || !strcmp(s, "\xc2\xb5s"))
        *out = OMEGA_LP_US;
    else if (!strcmp(s, "ms"))
        *out = OMEGA_LP_MS;
    else if (!strcmp(s, "s"))
        *out = OMEGA_LP_S;
    else
        return OMEGA_EINVAL;
    return 0;
}

omega_lp_parser_t *omega_lp_parser_create(omega_ingest_batch_t *out, omega_lp_precision_t prec,
                                          int64_t now_ms, const omega_ingest_limits_t *lim)
{
    omega_lp_parser_t *p = omega_calloc(1, sizeof(*p));
    p->out = out;
    p->prec = prec;
    p->now_ms = now_ms;
    if (lim)
        p->lim = *lim;
    else
        omega_ingest_limits_init(&p->lim);
    return p;
}

void omega_lp_parser_destroy(omega_lp_parser_t *p)
{
    if (!p)
        return;
    free(p->carry);
    free(p->scratch);
    free(p->fields);
    free(p);
}

/* Record the first error of the request ("line N: reason") and return its code. */
static int fail(omega_lp_parser_t *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(omega_lp_parser_t *p, int code, const char *fmt, ...)
{
    char reason[224];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    omega_error_set(&p->failed, code, "line %zu: %s", p->line, reason);
    p->failed.line = (int)(p->line > 0x7fffffff ? 0x7fffffff : p->line);
    return code;
}

/* ---- element scanning ---- */

/* Which bytes end an element: measurement and tag values stop at ',' and ' ', keys also
 * at '='. Tables instead of strchr: this loop sees every byte of the body. */
enum { STOP_VALUE = 1, STOP_KEY = 2 };
static const unsigned char stop_tab[256] = {
    [','] = STOP_VALUE | STOP_KEY,
    [' '] = STOP_VALUE | STOP_KEY,
    ['='] = STOP_KEY,
};

/* Read an element up to an unescaped stop byte of `kind` (or the end), unescaping `\,`
 * `\=` `\ ` and `\\` into scratch. Returns the scratch offset; *len gets its length. A
 * backslash ending the line is a bad escape (-1). */
static long scan_elem(omega_lp_parser_t *p, const char *s, size_t n, size_t *i, int kind,
                      size_t *len)
{
    size_t start = p->nscratch;
    char *d = p->scratch;
    while (*i < n) {
        char c = s[*i];
        if (c == '\\') {
            if (*i + 1 >= n)
                return -1;
            char e = s[*i + 1];
            if (e == ',' || e == '=' || e == ' ' || e == '\\') {
                d[p->nscratch++] = e;
                *i += 2;
                continue;
            }
            d[p->nscratch++] = c;
            (*i)++;
            continue;
        }
        if (stop_tab[(unsigned char)c] & kind)
            break;
        d[p->nscratch++] = c;
        (*i)++;
    }
    *len = p->nscratch - start;
    d[p->nscratch++] = '\0';
    return (long)start;
}

/* Map s[0..n) to the Prometheus charset into scratch: bytes outside [a-zA-Z0-9_] (plus ':'
 * for metric names) become '_', one per UTF-8 character; a leading digit gets a '_' in
 * front. Returns the scratch offset. */
static size_t sanitize(omega_lp_parser_t *p, const char *s, size_t n, int metric)
{
    size_t start = p->nscratch;
    char *d = p->scratch;
    if (n && s[0] >= '0' && s[0] <= '9')
        d[p->nscratch++] = '_';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xC0) == 0x80)
            continue; /* UTF-8 continuation: its lead byte already gave one '_' */
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || (metric && c == ':');
        d[p->nscratch++] = ok ? (char)c : '_';
    }
    d[p->nscratch++] = '\0';
    return start;
}

static void skip_spaces(const char *s, size_t n, size_t *i)
{
    while (*i < n && s[*i] == ' ')
        (*i)++;
}

/* ---- values ---- */

static int parse_bool(const char *v, size_t n, double *out)
{
    if (n == 0 || (v[0] != 't' && v[0] != 'T' && v[0] != 'f' && v[0] != 'F'))
        return 0;
    static const char *const yes[] = {"t", "T", "true", "True", "TRUE"};
    static const char *const no[] = {"f", "F", "false", "False", "FALSE"};
    for (size_t k = 0; k < 5; k++) {
        if (strlen(yes[k]) == n && !memcmp(v, yes[k], n)) {
            *out = 1;
            return 1;
        }
        if (strlen(no[k]) == n && !memcmp(v, no[k], n)) {
            *out = 0;
            return 1;
        }
    }
    return 0;
}

/* Digits only (at least one), accumulated into *u; 0 on overflow or a non-digit. */
static int parse_digits(const char *v, size_t n, uint64_t *u)
{
    if (n == 0)
        return 0;
    uint64_t acc = 0;
    for (size_t k = 0; k < n; k++) {
        if (v[k] < '0' || v[k] > '9')
            return 0;
        unsigned d = (unsigned)(v[k] - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return 0;
        acc = acc * 10 + d;
    }
    *u = acc;
    return 1;
}

static int parse_int(const char *v, size_t n, int64_t *out)
{
    int neg = n && (v[0] == '-' || v[0] == '+');
    uint64_t u;
    if (!parse_digits(v + neg, n - neg, &u))
        return 0;
    if (neg && v[0] == '-') {
        if (u > (uint64_t)INT64_MAX + 1)
            return 0;
        *out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
    } else {
        if (u > (uint64_t)INT64_MAX)
            return 0;
        *out = (int64_t)u;
    }
    return 1;
}

/* Influx float grammar: [+-](digits[.digits]|.digits)([eE][+-]digits), finite. */
static int parse_float(const char *v, size_t n, double *out)
{
    size_t k = 0, digits = 0;
    if (k < n && (v[k] == '-' || v[k] == '+'))
        k++;
    while (k < n && v[k] >= '0' && v[k] <= '9')
        k++, digits++;
    if (k < n && v[k] == '.') {
        k++;
        while (k < n && v[k] >= '0' && v[k] <= '9')
            k++, digits++;
    }
    if (!digits)
        return 0;
    if (k < n && (v[k] == 'e' || v[k] == 'E')) {
        k++;
        if (k < n && (v[k] == '-' || v[k] == '+'))
            k++;
        size_t e = 0;
        while (k < n && v[k] >= '0' && v[k] <= '9')
            k++, e++;
        if (!e)
            return 0;
    }
    if (k != n || n >= 400)
        return 0;
    char tmp[400];
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    double d = strtod(tmp, NULL);
    if (!isfinite(d))
        return 0;
    *out = d;
    return 1;
}

static int parse_number(const char *v, size_t n, double *out)
{
    if (parse_bool(v, n, out))
        return 1;
    if (n >= 2 && v[n - 1] == 'i') {
        int64_t x;
        if (!parse_int(v, n - 1, &x))
            return 0;
        *out = (double)x;
        return 1;
    }
    if (n >= 2 && v[n - 1] == 'u') {
        uint64_t u;
        if (!parse_digits(v, n - 1, &u))
            return 0;
        *out = (double)u;
        return 1;
    }
    return parse_float(v, n, out);
}

/* ---- line sections ---- */

/* Measurement and tags: pushes the labels, returns the raw measurement's scratch offset. */
static int parse_series(omega_lp_parser_t *p, const char *s, size_t n, size_t *i, size_t *meas,
                        size_t *mlen, size_t *nlabels)
{
    char ex[64];
    long m = scan_elem(p, s, n, i, STOP_VALUE, mlen);
    if (m < 0)
        return fail(p, OMEGA_EINVAL, "bad escape: backslash at the end of the line");
    if (*mlen == 0)
        return fail(p, OMEGA_EINVAL, "missing measurement name");
    *meas = (size_t)m;
    size_t mark = batch_labels_mark(p->out);
    *nlabels = 0;
    while (*i < n && s[*i] == ',') {
        (*i)++;
        size_t klen, vlen;
        long k = scan_elem(p, s, n, i, STOP_KEY, &klen);
        if (k < 0)
            return fail(p, OMEGA_EINVAL, "bad escape: backslash at the end of the line");
        if (klen == 0)
            return fail(p, OMEGA_EINVAL, "missing tag key");
        if (*i >= n || s[*i] != '=')
            return fail(p, OMEGA_EINVAL, "missing '=' after tag key '%s'",
                        ingest_excerpt(p->scratch + k, klen, ex, sizeof(ex)));
        (*i)++;
        long v = scan_elem(p, s, n, i, STOP_VALUE, &vlen);
        if (v < 0)
            return fail(p, OMEGA_EINVAL, "bad escape: backslash at the end of the line");
        if (vlen == 0)
            return fail(p, OMEGA_EINVAL, "missing value for tag '%s'",
                        ingest_excerpt(p->scratch + k, klen, ex, sizeof(ex)));
        if (*nlabels >= p->lim.max_labels)
            return fail(p, OMEGA_EINVAL, "more than %zu tags", p->lim.max_labels);
        size_t sk = sanitize(p, p->scratch + k, klen, 0);
        const char *name = p->scratch + sk;
        if (name[0] == '_' && name[1] == '_')
            return fail(p, OMEGA_EINVAL, "tag key '%s' is reserved (names starting with '__')",
                        ingest_excerpt(name, strlen(name), ex, sizeof(ex)));
        const omega_label_t *run = *nlabels ? batch_labels_at(p->out, mark) : NULL;
        for (size_t j = 0; run && j < *nlabels; j++) {
            if (!strcmp(run[j].name, name))
                return fail(p, OMEGA_EINVAL, "duplicate tag key '%s'",
                            ingest_excerpt(name, strlen(name), ex, sizeof(ex)));
        }
        batch_label_add(p->out, batch_strdup(p->out, name, strlen(name)),
                        batch_strdup(p->out, p->scratch + v, vlen));
        (*nlabels)++;
    }
    return 0;
}

/* Skip a quoted string value starting at s[*i] == '"' (escapes \" and \\). */
static int skip_string(const char *s, size_t n, size_t *i)
{
    for ((*i)++; *i < n; (*i)++) {
        if (s[*i] == '\\' && *i + 1 < n && (s[*i + 1] == '"' || s[*i + 1] == '\\'))
            (*i)++;
        else if (s[*i] == '"') {
            (*i)++;
            return 1;
        }
    }
    return 0;
}

/* The field set: numeric and boolean fields go to p->fields, strings are skipped. */
static int parse_fields(omega_lp_parser_t *p, const char *s, size_t n, size_t *i)
{
    char ex[64], ex2[64];
    p->nfields = 0;
    for (int first = 1;; first = 0) {
        size_t klen;
        long k = scan_elem(p, s, n, i, STOP_KEY, &klen);
        if (k < 0)
            return fail(p, OMEGA_EINVAL, "bad escape: backslash at the end of the line");
        if (klen == 0)
            return fail(p, OMEGA_EINVAL,
                        first && *i >= n ? "missing field set" : "missing field key");
        const char *key = p->scratch + k;
        if (*i >= n || s[*i] != '=')
            return fail(p, OMEGA_EINVAL, "missing '=' and value after field key '%s'",
                        ingest_excerpt(key, klen, ex, sizeof(ex)));
        (*i)++;
        if (*i < n && s[*i] == '"') {
            if (!skip_string(s, n, i))
                return fail(p, OMEGA_EINVAL, "unterminated string value for field '%s'",
                            ingest_excerpt(key, klen, ex, sizeof(ex)));
        } else {
            size_t v0 = *i;
            while (*i < n && s[*i] != ',' && s[*i] != ' ')
                (*i)++;
            double val;
            if (*i == v0)
                return fail(p, OMEGA_EINVAL, "missing value for field '%s'",
                            ingest_excerpt(key, klen, ex, sizeof(ex)));
            if (!parse_number(s + v0, *i - v0, &val))
                return fail(p, OMEGA_EINVAL, "invalid field value '%s' for field '%s'",
                            ingest_excerpt(s + v0, *i - v0, ex2, sizeof(ex2)),
                            ingest_excerpt(key, klen, ex, sizeof(ex)));
            if (p->nfields == p->fcap) {
                p->fcap = p->fcap ? p->fcap * 2 : 16;
                p->fields = omega_realloc(p->fields, p->fcap * sizeof(*p->fields));
            }
            p->fields[p->nfields++] = (field_t){(size_t)k, klen, val};
        }
        if (*i < n && s[*i] == ',') {
            (*i)++;
            continue;
        }
        if (*i < n && s[*i] != ' ')
            return fail(p, OMEGA_EINVAL, "unexpected character after the value of field '%s'",
                        ingest_excerpt(key, klen, ex, sizeof(ex)));
        return 0;
    }
}

/* Optional timestamp in the request's precision, converted to ms (floor). */
static int parse_timestamp(omega_lp_parser_t *p, const char *s, size_t n, size_t *i, int64_t *ts)
{
    char ex[64];
    skip_spaces(s, n, i);
    if (*i >= n) {
        *ts = p->now_ms;
        return 0;
    }
    size_t t0 = *i;
    while (*i < n && s[*i] != ' ')
        (*i)++;
    size_t tlen = *i - t0;
    skip_spaces(s, n, i);
    if (*i < n)
        return fail(p, OMEGA_EINVAL, "unexpected text '%s' after the timestamp",
                    ingest_excerpt(s + *i, n - *i, ex, sizeof(ex)));
    int64_t v;
    if (!parse_int(s + t0, tlen, &v)) {
        uint64_t u;
        size_t sign = tlen && (s[t0] == '-' || s[t0] == '+');
        if (parse_digits(s + t0 + sign, tlen - sign, &u) || tlen > sign + 19)
            return fail(p, OMEGA_EINVAL, "timestamp '%s' overflows 64 bits",
                        ingest_excerpt(s + t0, tlen, ex, sizeof(ex)));
        return fail(p, OMEGA_EINVAL, "invalid timestamp '%s' (expected an integer)",
                    ingest_excerpt(s + t0, tlen, ex, sizeof(ex)));
    }
    static const int64_t div[] = {1000000, 1000, 1, 1};
    if (p->prec == OMEGA_LP_S) {
        if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000)
            return fail(p, OMEGA_EINVAL, "timestamp '%s' in seconds overflows milliseconds",
                        ingest_excerpt(s + t0, tlen, ex, sizeof(ex)));
        *ts = v * 1000;
        return 0;
    }
    int64_t d = div[p->prec];
    int64_t q = v / d;
    if (v % d != 0 && v < 0)
        q--; /* floor, so -1 ns is in the millisecond before the epoch */
    *ts = q;
    return 0;
}

/* True when no byte has its high bit set (then the line is valid UTF-8 as it is). */
static int ascii_only(const char *s, size_t n)
{
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        uint64_t w;
        memcpy(&w, s + k, 8);
        if (w & 0x8080808080808080ULL)
            return 0;
    }
    for (; k < n; k++)
        if ((unsigned char)s[k] & 0x80)
            return 0;
    return 1;
}

/* One complete line without its '\n'. */
static int parse_line(omega_lp_parser_t *p, const char *s, size_t n)
{
    p->line++;
    if (n && s[n - 1] == '\r')
        n--;
    if (n > p->lim.max_line_bytes)
        return fail(p, OMEGA_EINVAL, "line exceeds the limit of %zu bytes", p->lim.max_line_bytes);
    const char *nul = memchr(s, '\0', n);
    if (nul)
        return fail(p, OMEGA_EINVAL, "NUL byte at column %zu", (size_t)(nul - s) + 1);
    if (!ascii_only(s, n) && !omega_utf8_valid(s, n))
        return fail(p, OMEGA_EINVAL, "invalid UTF-8");
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i == n || s[i] == '#')
        return 0;
    /* Unescaped elements plus sanitised names never need more than 4n + 64 bytes. */
    if (p->scap < 4 * n + 64) {
        p->scap = 4 * n + 64;
        free(p->scratch);
        p->scratch = omega_malloc(p->scap);
    }
    p->nscratch = 0;
    size_t meas = 0, mlen = 0, nlabels = 0, mark = batch_labels_mark(p->out);
    int64_t ts = 0;
    int rc = parse_series(p, s, n, &i, &meas, &mlen, &nlabels);
    if (rc == 0 && i >= n)
        rc = fail(p, OMEGA_EINVAL, "missing field set");
    if (rc == 0) {
        skip_spaces(s, n, &i);
        rc = parse_fields(p, s, n, &i);
    }
    if (rc == 0)
        rc = parse_timestamp(p, s, n, &i, &ts);
    if (rc == 0 && batch_npoints(p->out) + p->nfields > p->lim.max_points)
        rc = fail(p, OMEGA_E2BIG, "more than %zu samples in one request", p->lim.max_points);
    if (rc != 0) {
        batch_labels_reset(p->out, mark);
        return rc;
    }
    size_t sm = sanitize(p, p->scratch + meas, mlen, 1);
    size_t smlen = strlen(p->scratch + sm);
    for (size_t f = 0; f < p->nfields; f++) {
        const field_t *fd = &p->fields[f];
        const char *name;
        if (fd->klen == 5 && !memcmp(p->scratch + fd->key, "value", 5)) {
            name = batch_strdup(p->out, p->scratch + sm, smlen);
        } else {
            size_t save = p->nscratch;
            size_t sf = sanitize(p, p->scratch + fd->key, fd->klen, 1);
            const char *fk = p->scratch + sf;
            size_t flen = strlen(fk);
            /* "cpu" + "_" + "usage": the field's leading '_' (digit guard) stays. */
            char *nm = batch_strdup(p->out, p->scratch + sm, smlen + 1 + flen);
            nm[smlen] = '_';
            memcpy(nm + smlen + 1, fk, flen + 1);
            name = nm;
            p->nscratch = save;
        }
        batch_point_add(p->out, name, mark, nlabels, ts, fd->value, p->line);
    }
    return 0;
}

static int repeat_failure(const omega_lp_parser_t *p, omega_error_t *err)
{
    if (err)
        *err = p->failed;
    return p->failed.code;
}

/* Append to the carried partial line, bounded by the line limit (+1 for a CR). */
static int carry_append(omega_lp_parser_t *p, const char *data, size_t len)
{
    if (p->ncarry + len > p->lim.max_line_bytes + 1) {
        p->line++;
        return fail(p, OMEGA_EINVAL, "line exceeds the limit of %zu bytes", p->lim.max_line_bytes);
    }
    if (p->ncarry + len > p->ccap) {
        p->ccap = (p->ncarry + len) * 2;
        if (p->ccap > p->lim.max_line_bytes + 2)
            p->ccap = p->lim.max_line_bytes + 2;
        p->carry = omega_realloc(p->carry, p->ccap);
    }
    memcpy(p->carry + p->ncarry, data, len);
    p->ncarry += len;
    return 0;
}

int omega_lp_parser_feed(omega_lp_parser_t *p, const char *data, size_t len, omega_error_t *err)
{
    if (p->failed.code)
        return repeat_failure(p, err);
    if (len == 0)
        return 0;
    size_t pos = 0;
    int rc = 0;
    if (p->ncarry) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        rc = carry_append(p, data, take);
        if (rc == 0 && nl) {
            rc = parse_line(p, p->carry, p->ncarry);
            p->ncarry = 0;
            pos = take + 1;
        } else if (rc == 0) {
            return 0;
        }
    }
    while (rc == 0 && pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        if (!nl) {
            rc = carry_append(p, data + pos, len - pos);
            break;
        }
        rc = parse_line(p, data + pos, (size_t)(nl - (data + pos)));
        pos = (size_t)(nl - data) + 1;
    }
    return rc ? repeat_failure(p, err) : 0;
}

int omega_lp_parser_finish(omega_lp_parser_t *p, omega_error_t *err)
{
    if (p->failed.code)
        return repeat_failure(p, err);
    if (p->ncarry) {
        int rc = parse_line(p, p->carry, p->ncarry);
        p->ncarry = 0;
        if (rc)
            return repeat_failure(p, err);
    }
    return 0;
}

int omega_lp_parse(const char *data, size_t len, omega_lp_precision_t prec, int64_t now_ms,
                   const omega_ingest_limits_t *lim, omega_ingest_batch_t *out, omega_error_t *err)
{
    omega_lp_parser_t *p = omega_lp_parser_create(out, prec, now_ms, lim);
    int rc = omega_lp_parser_feed(p, data, len, err);
    if (rc == 0)
        rc = omega_lp_parser_finish(p, err);
    omega_lp_parser_destroy(p);
    return rc;
}
