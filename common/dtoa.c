/* SPDX-License-Identifier: Apache-2.0 */
/* Shortest round-trip decimal digits of a double, and the two text layouts built on them
 * (omega_format_double's, and Go's FormatFloat(v, 'f', -1, 64) that Prometheus answers
 * use). Most stored values have a few decimals (19.16, 0.61): they are found by scaling
 * with powers of ten and one exact division, without printf; the rest take at most three
 * printf/strtod rounds (a double has at most 17 significant digits and every decimal of
 * at most 15 digits survives the trip through a double). */
#include "omega/buf.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Digits of k (k > 0) into out, most significant first; returns their count. */
static int u64_digits(uint64_t k, char *out)
{
    char tmp[24];
    int n = 0;
    while (k) {
        tmp[n++] = (char)('0' + k % 10);
        k /= 10;
    }
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Fast path for 1e-5 <= m < 1e15: the fewest decimals d with round(m * 10^d) / 10^d == m
 * exactly (k and 10^d are exact doubles, so the division is the correctly rounded value of
 * the decimal k * 10^-d, as strtod would give). 0 when no such d keeps k below 2^53. */
static int scaled_digits(double m, char *digits, int *exp10)
{
    for (int d = 0; d <= 22; d++) {
        double x = m * p10[d];
        if (x >= 9007199254740992.0)
            return 0;
        double k = nearbyint(x);
        if (k == 0 || k / p10[d] != m)
            continue;
        int n = u64_digits((uint64_t)k, digits);
        *exp10 = n - 1 - d;
        while (n > 1 && digits[n - 1] == '0')
            n--;
        return n;
    }
    return 0;
}

int omega_double_digits(double v, char digits[20], int *exp10)
{
    double m = fabs(v);
    if (m >= 1e-5 && m < 1e15) {
        int n = scaled_digits(m, digits, exp10);
        if (n)
            return n;
    }
    char e[40];
    for (int prec = m < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec - 1, m);
        if (prec == 17 || strtod(e, NULL) == m)
            break;
    }
    int n = 0;
    const char *s = e;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            digits[n++] = *s;
    *exp10 = atoi(s + 1);
    while (n > 1 && digits[n - 1] == '0')
        n--;
    return n;
}

/* Plain decimal of the digits: "0.00061", "19.16", "1200". */
static size_t plain(char *out, int neg, const char *dg, int n, int exp10)
{
    size_t o = 0;
    if (neg)
        out[o++] = '-';
    if (exp10 < 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -exp10 - 1; i++)
            out[o++] = '0';
        memcpy(out + o, dg, (size_t)n);
        o += (size_t)n;
    } else if (exp10 + 1 >= n) {
        memcpy(out + o, dg, (size_t)n);
        o += (size_t)n;
        for (int i = n; i < exp10 + 1; i++)
            out[o++] = '0';
    } else {
        memcpy(out + o, dg, (size_t)exp10 + 1);
        o += (size_t)exp10 + 1;
        out[o++] = '.';
        memcpy(out + o, dg + exp10 + 1, (size_t)(n - exp10 - 1));
        o += (size_t)(n - exp10 - 1);
    }
    out[o] = '\0';
    return o;
}

size_t omega_format_plain(double v, char out[400])
{
    if (isnan(v))
        return (size_t)snprintf(out, 400, "NaN");
    if (isinf(v))
        return (size_t)snprintf(out, 400, v > 0 ? "+Inf" : "-Inf");
    if (v == 0)
        return (size_t)snprintf(out, 400, signbit(v) ? "-0" : "0");
    char dg[20];
    int exp10, n = omega_double_digits(v, dg, &exp10);
    return plain(out, v < 0, dg, n, exp10);
}

char *omega_format_double(double v, char *buf, size_t len)
{
    if (isnan(v) || isinf(v) || v == 0 ||
        (v == (double)(long long)v && fabs(v) < 1e15)) {
        if (isnan(v) || isinf(v))
            snprintf(buf, len, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
        else if (v == 0)
            snprintf(buf, len, signbit(v) ? "-0" : "0");
        else
            snprintf(buf, len, "%lld", (long long)v); /* integers: exact, no search */
        return buf;
    }
    char dg[20], tmp[40];
    int exp10, n = omega_double_digits(v, dg, &exp10);
    double m = fabs(v);
    /* Plain decimals from 1e-5 up to 1e15 (people read them better than "9e+01"); an
     * exponent outside, as %g writes it. */
    if (m >= 1e-5 && m < 1e15) {
        plain(tmp, v < 0, dg, n, exp10);
    } else {
        size_t o = 0;
        if (v < 0)
            tmp[o++] = '-';
        tmp[o++] = dg[0];
        if (n > 1) {
            tmp[o++] = '.';
            memcpy(tmp + o, dg + 1, (size_t)n - 1);
            o += (size_t)n - 1;
        }
        snprintf(tmp + o, sizeof(tmp) - o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
    snprintf(buf, len, "%s", tmp);
    return buf;
}
