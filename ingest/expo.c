/* SPDX-License-Identifier: Apache-2.0 */
/* The text exposition writer: Prometheus 0.0.4 and OpenMetrics 1.0 (HELP/TYPE/UNIT lines
 * once per family before its samples, escaped label values and help text, NaN/+Inf/-Inf,
 * histogram buckets cumulative with +Inf last, then _sum and _count, "# EOF"). */
#include "ingest_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

omega_expo_format_t omega_expo_negotiate(const char *accept)
{
    /* Prometheus asks with application/openmetrics-text first when it can parse it. */
    if (accept && strcasestr(accept, "application/openmetrics-text"))
        return OMEGA_EXPO_OPENMETRICS;
    return OMEGA_EXPO_PROMETHEUS;
}

const char *omega_expo_content_type(omega_expo_format_t f)
{
    return f == OMEGA_EXPO_OPENMETRICS
               ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
               : "text/plain; version=0.0.4; charset=utf-8";
}

void omega_expo_init(omega_expo_t *e, omega_buf_t *out, omega_expo_format_t fmt)
{
    memset(e, 0, sizeof(*e));
    e->out = out;
    e->fmt = fmt;
}

void omega_expo_deinit(omega_expo_t *e)
{
    for (size_t i = 0; i < e->n_seen; i++)
        free(e->seen[i]);
    free(e->seen);
    e->seen = NULL;
    e->n_seen = 0;
}

/* Escape for HELP (`\` and newline; OpenMetrics also `"`) or label values (all three). */
static void put_escaped(omega_buf_t *b, const char *s, int quote)
{
    for (const char *c = s; *c; c++) {
        if (*c == '\\')
            omega_buf_puts(b, "\\\\");
        else if (*c == '\n')
            omega_buf_puts(b, "\\n");
        else if (*c == '"' && quote)
            omega_buf_puts(b, "\\\"");
        else
            omega_buf_append(b, c, 1);
    }
}

int omega_expo_family(omega_expo_t *e, const char *name, omega_metric_type_t type, const char *help,
                      const char *unit)
{
    if (!omega_metric_name_valid(name) || strlen(name) >= sizeof(e->family))
        return OMEGA_EINVAL;
    for (size_t i = 0; i < e->n_seen; i++)
        if (!strcmp(e->seen[i], name))
            return OMEGA_EEXIST;
    e->seen = omega_realloc(e->seen, (e->n_seen + 1) * sizeof(*e->seen));
    e->seen[e->n_seen++] = omega_strdup(name);
    strcpy(e->family, name);
    e->type = type;
    /* OpenMetrics names a counter family without its _total suffix. */
    size_t n = strlen(name);
    int om = e->fmt == OMEGA_EXPO_OPENMETRICS;
    if (om && type == OMEGA_METRIC_COUNTER && n > 6 && !strcmp(name + n - 6, "_total"))
        n -= 6;
    omega_buf_printf(e->out, "# HELP %.*s ", (int)n, name);
    put_escaped(e->out, help ? help : "", om);
    omega_buf_printf(e->out, "\n# TYPE %.*s %s\n", (int)n, name, omega_metric_type_name(type));
    if (om && unit && *unit) {
        size_t u = strlen(unit);
        if (n > u + 1 && !strncmp(name + n - u, unit, u) && name[n - u - 1] == '_')
            omega_buf_printf(e->out, "# UNIT %.*s %s\n", (int)n, name, unit);
    }
    return 0;
}

/* Integral values print as integers ("10", not "1e+01"); others as the shortest
 * round-trip text; NaN and infinities as NaN, +Inf, -Inf. */
static const char *num_text(double v, char *buf, size_t len)
{
    if (isfinite(v) && v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, len, "%.0f", v);
        return buf;
    }
    return omega_format_double(v, buf, len);
}

static void put_value(omega_buf_t *b, double v)
{
    char num[40];
    omega_buf_printf(b, " %s\n", num_text(v, num, sizeof(num)));
}

/* name{labels[,le="x"]} */
static void put_series(omega_expo_t *e, const char *suffix, const omega_label_t *labels, size_t n,
                       const char *le)
{
    omega_buf_puts(e->out, e->family);
    omega_buf_puts(e->out, suffix);
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        /* __name__ is the family's; a histogram's own le comes last (buckets only). */
        if (!strcmp(labels[i].name, "__name__") ||
            (e->type == OMEGA_METRIC_HISTOGRAM && !strcmp(labels[i].name, "le")))
            continue;
        omega_buf_puts(e->out, shown++ ? "," : "{");
        omega_buf_printf(e->out, "%s=\"", labels[i].name);
        put_escaped(e->out, labels[i].value, 1);
        omega_buf_puts(e->out, "\"");
    }
    if (le)
        omega_buf_printf(e->out, "%sle=\"%s\"", shown++ ? "," : "{", le);
    if (shown)
        omega_buf_puts(e->out, "}");
}

void omega_expo_sample(omega_expo_t *e, const omega_label_t *labels, size_t n, double value)
{
    size_t len = strlen(e->family);
    int add_total = e->fmt == OMEGA_EXPO_OPENMETRICS && e->type == OMEGA_METRIC_COUNTER &&
                    !(len > 6 && !strcmp(e->family + len - 6, "_total"));
    put_series(e, add_total ? "_total" : "", labels, n, NULL);
    put_value(e->out, value);
}

void omega_expo_histogram(omega_expo_t *e, const omega_label_t *labels, size_t n,
                          const double *bounds, const double *cum, size_t nb, double sum,
                          double count)
{
    char le[40];
    for (size_t i = 0; i < nb; i++) {
        if (isinf(bounds[i]) && bounds[i] > 0)
            continue; /* +Inf is written last, from count */
        put_series(e, "_bucket", labels, n, num_text(bounds[i], le, sizeof(le)));
        put_value(e->out, cum[i]);
    }
    put_series(e, "_bucket", labels, n, "+Inf");
    put_value(e->out, count);
    put_series(e, "_sum", labels, n, NULL);
    put_value(e->out, sum);
    put_series(e, "_count", labels, n, NULL);
    put_value(e->out, count);
}

void omega_expo_finish(omega_expo_t *e)
{
    if (e->fmt == OMEGA_EXPO_OPENMETRICS)
        omega_buf_puts(e->out, "# EOF\n");
}
