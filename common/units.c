/* SPDX-License-Identifier: Apache-2.0 */
/* Clocks and the textual units people type: durations, byte sizes, RFC 3339 times. */
#include "omega/common.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t omega_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t omega_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Longest suffixes first so "ms" wins over "m". */
static const struct {
    const char *suffix;
    int64_t ms;
} duration_units[] = {
    {"ms", 1},       {"s", 1000},      {"m", 60000},         {"h", 3600000},
    {"d", 86400000}, {"w", 604800000}, {"y", 31536000000LL},
};

int omega_duration_parse(const char *s, int64_t unit_ms, int64_t *out_ms)
{
    if (!s || !*s || isspace((unsigned char)*s)) /* strtod would skip leading space */
        return OMEGA_EINVAL;
    /* Bare number: the field's own unit. */
    char *end = NULL;
    errno = 0;
    double bare = strtod(s, &end);
    if (end && *end == '\0' && errno == 0 && isfinite(bare)) {
        if (bare < 0 || bare * (double)unit_ms > 9.2e18)
            return OMEGA_EINVAL;
        *out_ms = (int64_t)llround(bare * (double)unit_ms);
        return 0;
    }
    int64_t total = 0;
    const char *p = s;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return OMEGA_EINVAL;
        int64_t n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n > 922337203685LL)
                return OMEGA_EINVAL;
            n = n * 10 + (*p - '0');
            p++;
        }
        size_t best = 0;
        int64_t mult = 0;
        for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
            size_t l = strlen(duration_units[i].suffix);
            if (strncmp(p, duration_units[i].suffix, l) == 0 && l > best) {
                best = l;
                mult = duration_units[i].ms;
            }
        }
        if (!best)
            return OMEGA_EINVAL;
        if (n > (INT64_MAX - total) / mult)
            return OMEGA_EINVAL;
        total += n * mult;
        p += best;
    }
    *out_ms = total;
    return 0;
}

char *omega_duration_format(int64_t ms, char *buf, size_t len)
{
    static const struct {
        const char *suffix;
        int64_t ms;
    } parts[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    size_t off = 0;
    if (len == 0)
        return buf;
    buf[0] = '\0';
    if (ms <= 0) {
        snprintf(buf, len, "0s");
        return buf;
    }
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && off < len; i++) {
        int64_t n = ms / parts[i].ms;
        if (n) {
            int w = snprintf(buf + off, len - off, "%lld%s", (long long)n, parts[i].suffix);
            if (w < 0)
                break;
            off += (size_t)w;
            ms -= n * parts[i].ms;
        }
    }
    return buf;
}

int omega_size_parse(const char *s, uint64_t *out)
{
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {
        {"", 1},
        {"B", 1},
        {"KB", 1e3},
        {"MB", 1e6},
        {"GB", 1e9},
        {"TB", 1e12},
        {"KiB", 1024.0},
        {"MiB", 1048576.0},
        {"GiB", 1073741824.0},
        {"TiB", 1099511627776.0},
        {"K", 1024.0},
        {"M", 1048576.0},
        {"G", 1073741824.0},
        {"T", 1099511627776.0},
    };
    if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
        return OMEGA_EINVAL;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0)
        return OMEGA_EINVAL;
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            double b = v * units[i].mult;
            if (b >= 1.8e19)
                return OMEGA_EINVAL;
            *out = (uint64_t)round(b); /* llround stops at INT64_MAX */
            return 0;
        }
    }
    return OMEGA_EINVAL;
}

char *omega_time_format_rfc3339(int64_t ms, char *buf, size_t len)
{
    int64_t secs = ms / 1000, millis = ms % 1000;
    if (millis < 0) {
        secs -= 1;
        millis += 1000;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    /* Years outside 0..9999 have no RFC 3339 form: print the raw milliseconds. */
    if (secs < -62167219200LL || secs > 253402300799LL || !gmtime_r(&t, &tm)) {
        snprintf(buf, len, "%lld", (long long)ms);
        return buf;
    }
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)millis);
    return buf;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int parse_rfc3339(const char *s, int64_t *out_ms)
{
    int y, mo, d, h, mi, sec;
    if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return OMEGA_EINVAL;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
        return OMEGA_EINVAL;
    if (mo == 2 && d == 29 && (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0)))
        return OMEGA_EINVAL;
    const char *p = s + 19;
    int64_t frac_ms = 0;
    if (*p == '.') {
        int scale = 100, nd = 0;
        for (p++; isdigit((unsigned char)*p); p++, nd++) {
            frac_ms += (*p - '0') * scale;
            scale /= 10;
        }
        if (nd == 0)
            return OMEGA_EINVAL;
    }
    int64_t offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return OMEGA_EINVAL;
        offset_min = (oh * 60 + om) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return OMEGA_EINVAL;
    }
    if (*p != '\0')
        return OMEGA_EINVAL;
    int64_t days = days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    *out_ms = secs * 1000 + frac_ms;
    return 0;
}

int omega_time_parse(const char *s, int64_t *out_ms)
{
    if (!s || !*s)
        return OMEGA_EINVAL;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (end && *end == '\0' && errno == 0 && isfinite(v) && !isspace((unsigned char)*s)) {
        if (v < -9.2e15 || v > 9.2e15)
            return OMEGA_EINVAL;
        *out_ms = (int64_t)llround(v * 1000.0);
        return 0;
    }
    return parse_rfc3339(s, out_ms);
}
