/* SPDX-License-Identifier: Apache-2.0 */
/* A strict reader of the text exposition formats (see test_ingest_expocheck.h): it parses
 * every line and enforces promtool's rules, so tests can assert a whole /metrics page. */
#include "test_ingest_expocheck.h"

#include "omega/metric.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEEN 512

typedef struct group {
    char key[512];   /* labels without le, as written */
    double last_le;  /* last bucket bound */
    double last_cum; /* last bucket count */
    int has_inf;     /* +Inf bucket seen */
    double inf;      /* its count */
    int has_count;   /* _count seen */
    double count;    /* its value */
} group_t;

typedef struct checker {
    int om, lineno;
    char *why;
    size_t len;
    char family[256], type[32];
    int has_samples;
    char *families[MAX_SEEN];
    size_t nfam;
    char *series[4096];
    size_t nseries;
    group_t groups[256];
    size_t ngroups;
} checker_t;

static int bad(checker_t *c, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(c->why, c->len, "line %d: %s", c->lineno, msg);
    return -1;
}

static int end_family(checker_t *c)
{
    for (size_t i = 0; i < c->ngroups; i++) {
        group_t *g = &c->groups[i];
        if (!g->has_inf)
            return bad(c, "histogram %s{%s} has no +Inf bucket", c->family, g->key);
        if (g->has_count && g->count != g->inf)
            return bad(c, "histogram %s{%s}: _count %g != +Inf bucket %g", c->family, g->key,
                       g->count, g->inf);
    }
    c->ngroups = 0;
    for (size_t i = 0; i < c->nseries; i++)
        free(c->series[i]);
    c->nseries = 0;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    if (!strcmp(s, "NaN"))
        *out = NAN;
    else if (!strcmp(s, "+Inf") || !strcmp(s, "Inf"))
        *out = INFINITY;
    else if (!strcmp(s, "-Inf"))
        *out = -INFINITY;
    else {
        char *end;
        *out = strtod(s, &end);
        if (!*s || *end || isnan(*out) || isinf(*out))
            return -1;
    }
    return 0;
}

static int meta_line(checker_t *c, char *line)
{
    char kind[8], name[256];
    int off = 0;
    if (!strcmp(line, "# EOF"))
        return c->om ? 1 : bad(c, "# EOF is OpenMetrics only");
    if (sscanf(line, "# %7s %255s %n", kind, name, &off) < 2 || off == 0) {
        if (c->om)
            return bad(c, "OpenMetrics has no free comments");
        return 0;
    }
    const char *rest = line + off;
    if (strcmp(kind, "HELP") && strcmp(kind, "TYPE") && strcmp(kind, "UNIT"))
        return c->om ? bad(c, "unknown descriptor %s", kind) : 0;
    if (!omega_metric_name_valid(name))
        return bad(c, "invalid metric name '%s'", name);
    if (strcmp(name, c->family)) {
        if (end_family(c))
            return -1;
        for (size_t i = 0; i < c->nfam; i++)
            if (!strcmp(c->families[i], name))
                return bad(c, "family %s appears twice", name);
        if (c->nfam == MAX_SEEN)
            return bad(c, "too many families for the checker");
        c->families[c->nfam++] = strdup(name);
        snprintf(c->family, sizeof(c->family), "%s", name);
        c->type[0] = '\0';
        c->has_samples = 0;
    } else if (c->has_samples) {
        return bad(c, "%s for %s after its samples", kind, name);
    }
    if (!strcmp(kind, "TYPE")) {
        if (c->type[0])
            return bad(c, "second TYPE for %s", name);
        static const char *const types[] = {"counter", "gauge",   "histogram", "summary",
                                            "untyped", "unknown", "info",      "stateset"};
        for (size_t i = 0; i < 8; i++)
            if (!strcmp(rest, types[i]))
                snprintf(c->type, sizeof(c->type), "%s", rest);
        if (!c->type[0])
            return bad(c, "unknown type '%s'", rest);
    } else if (!strcmp(kind, "HELP")) {
        for (const char *p = rest; *p; p++) {
            if (*p != '\\')
                continue;
            p++;
            if (*p != '\\' && *p != 'n' && !(c->om && *p == '"'))
                return bad(c, "bad escape in HELP");
        }
    } else if (!c->om) {
        return bad(c, "UNIT is OpenMetrics only");
    }
    return 0;
}

/* Parse name{labels} into its parts; writes the label key without le into key. */
static int parse_labels(checker_t *c, char **p, char *key, size_t klen, char *le, size_t lelen)
{
    char names[64][128];
    size_t nn = 0, ko = 0;
    le[0] = key[0] = '\0';
    (*p)++;
    while (**p != '}') {
        char lname[128];
        size_t n = 0;
        while (**p && **p != '=' && n < sizeof(lname) - 1)
            lname[n++] = *(*p)++;
        lname[n] = '\0';
        if (!omega_label_name_valid(lname))
            return bad(c, "invalid label name '%s'", lname);
        for (size_t i = 0; i < nn; i++)
            if (!strcmp(names[i], lname))
                return bad(c, "duplicate label %s", lname);
        if (nn < 64)
            snprintf(names[nn++], sizeof(names[0]), "%s", lname);
        if (*(*p)++ != '=' || *(*p)++ != '"')
            return bad(c, "expected =\" after label %s", lname);
        char val[1024];
        n = 0;
        while (**p && **p != '"') {
            char ch = *(*p)++;
            if (ch == '\\') {
                char e = *(*p)++;
                if (e != '\\' && e != '"' && e != 'n')
                    return bad(c, "bad escape \\%c in label %s", e, lname);
                ch = e == 'n' ? '\n' : e;
            }
            if (n < sizeof(val) - 1)
                val[n++] = ch;
        }
        val[n] = '\0';
        if (*(*p)++ != '"')
            return bad(c, "unterminated value of label %s", lname);
        if (!strcmp(lname, "le") && strlen(val) < lelen)
            memcpy(le, val, strlen(val) + 1);
        else if (!strcmp(lname, "le"))
            return bad(c, "le value \"%.40s...\" too long", val);
        else
            ko += (size_t)snprintf(key + ko, ko < klen ? klen - ko : 0, "%s=%s,", lname, val);
        if (**p == ',')
            (*p)++;
        else if (**p != '}')
            return bad(c, "expected , or } after label %s", lname);
    }
    (*p)++;
    return 0;
}

static int histogram_sample(checker_t *c, const char *suffix, const char *key, const char *le,
                            double v)
{
    group_t *g = NULL;
    for (size_t i = 0; i < c->ngroups; i++)
        if (!strcmp(c->groups[i].key, key))
            g = &c->groups[i];
    if (!g) {
        if (c->ngroups == 256)
            return bad(c, "too many histogram series for the checker");
        g = &c->groups[c->ngroups++];
        memset(g, 0, sizeof(*g));
        snprintf(g->key, sizeof(g->key), "%s", key);
        g->last_le = -INFINITY;
    }
    if (!strcmp(suffix, "_bucket")) {
        double b;
        if (!le[0] || parse_double(le, &b) != 0 || isnan(b))
            return bad(c, "bucket without a numeric le");
        if (g->has_inf)
            return bad(c, "bucket after the +Inf bucket");
        if (b <= g->last_le && g->last_le != -INFINITY)
            return bad(c, "bucket bounds not ascending");
        if (v < g->last_cum)
            return bad(c, "bucket counts not cumulative");
        g->last_le = b;
        g->last_cum = v;
        if (isinf(b)) {
            g->has_inf = 1;
            g->inf = v;
        }
    } else if (!strcmp(suffix, "_count")) {
        g->has_count = 1;
        g->count = v;
    }
    return 0;
}

static int sample_line(checker_t *c, char *line)
{
    if (!c->family[0] || !c->type[0])
        return bad(c, "sample before any TYPE line");
    char name[256];
    size_t n = 0;
    char *p = line;
    while (*p && *p != '{' && *p != ' ' && n < sizeof(name) - 1)
        name[n++] = *p++;
    name[n] = '\0';
    if (!omega_metric_name_valid(name))
        return bad(c, "invalid sample name '%s'", name);
    char key[512] = "", le[64] = "";
    if (*p == '{' && parse_labels(c, &p, key, sizeof(key), le, sizeof(le)))
        return -1;
    if (*p++ != ' ')
        return bad(c, "expected a space before the value");
    char vtext[64];
    n = 0;
    while (*p && *p != ' ' && n < sizeof(vtext) - 1)
        vtext[n++] = *p++;
    vtext[n] = '\0';
    double v;
    if (parse_double(vtext, &v) != 0 && strcmp(vtext, "NaN"))
        return bad(c, "invalid value '%s'", vtext);
    size_t fl = strlen(c->family);
    const char *suffix = !strncmp(name, c->family, fl) ? name + fl : NULL;
    int ok = 0;
    if (suffix && !strcmp(c->type, "counter"))
        ok = c->om ? !strcmp(suffix, "_total") || !strcmp(suffix, "_created") : !*suffix;
    else if (suffix && !strcmp(c->type, "histogram"))
        ok = !strcmp(suffix, "_bucket") || !strcmp(suffix, "_sum") || !strcmp(suffix, "_count");
    else if (suffix)
        ok = !*suffix;
    if (!ok)
        return bad(c, "sample %s does not belong to %s family %s", name, c->type, c->family);
    char sid[1024];
    snprintf(sid, sizeof(sid), "%s{%sle=%s}", name, key, le);
    for (size_t i = 0; i < c->nseries; i++)
        if (!strcmp(c->series[i], sid))
            return bad(c, "duplicate series %s", sid);
    if (c->nseries < 4096)
        c->series[c->nseries++] = strdup(sid);
    c->has_samples = 1;
    if (!strcmp(c->type, "histogram"))
        return histogram_sample(c, suffix, key, le, v);
    return 0;
}

int expo_check(const char *text, int openmetrics, char *why, size_t len)
{
    checker_t *c = calloc(1, sizeof(*c));
    c->om = openmetrics;
    c->why = why;
    c->len = len;
    char *copy = strdup(text);
    int rc = 0, eof = 0;
    size_t tl = strlen(text);
    if (tl == 0 || text[tl - 1] != '\n') {
        rc = bad(c, "output does not end with a newline");
        goto out;
    }
    for (char *line = copy; *line && rc == 0;) {
        char *nl = strchr(line, '\n');
        *nl = '\0';
        c->lineno++;
        if (eof)
            rc = bad(c, "text after # EOF");
        else if (line[0] == '#') {
            int m = meta_line(c, line);
            if (m == 1)
                eof = 1;
            else
                rc = m;
        } else if (!line[0])
            rc = c->om ? bad(c, "empty line") : 0;
        else
            rc = sample_line(c, line);
        line = nl + 1;
    }
    if (rc == 0)
        rc = end_family(c);
    if (rc == 0 && c->om && !eof)
        rc = bad(c, "OpenMetrics output must end with # EOF");
out:
    for (size_t i = 0; i < c->nseries; i++)
        free(c->series[i]);
    for (size_t i = 0; i < c->nfam; i++)
        free(c->families[i]);
    free(copy);
    free(c);
    return rc;
}
