/* SPDX-License-Identifier: Apache-2.0 */
/* Name validity rules of the Prometheus data model. */
#include "omega/metric.h"

static int is_alpha_(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

int omega_metric_name_valid(const char *s)
{
    if (!s || !*s || !(is_alpha_(*s) || *s == ':'))
        return 0;
    for (s++; *s; s++)
        if (!(is_alpha_(*s) || is_digit(*s) || *s == ':'))
            return 0;
    return 1;
}

int omega_label_name_valid(const char *s)
{
    if (!s || !*s || !is_alpha_(*s))
        return 0;
    for (s++; *s; s++)
        if (!(is_alpha_(*s) || is_digit(*s)))
            return 0;
    return 1;
}
