/* SPDX-License-Identifier: Apache-2.0 */
/* Schedule times: parsing the forms reports.scheduling uses ("06:00", "monday 06:00",
 * "1st 06:00", a 5-field cron expression) into minute masks, matching a local time
 * against them, and finding the next matching minute. */
#include "report_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const weekdays[] = {"sunday",   "monday", "tuesday", "wednesday",
                                       "thursday", "friday", "saturday"};

/* "HH:MM" into h, m; 0 or -1. */
static int parse_hhmm(const char *s, int *h, int *m)
{
    int n = 0;
    if (sscanf(s, "%2d:%2d%n", h, m, &n) != 2 || s[n] != '\0' || n != 5 || *h < 0 || *h > 23 ||
        *m < 0 || *m > 59)
        return -1;
    return 0;
}

static void set_time(rpt_sched_t *sp, int h, int m)
{
    sp->minutes = 1ull << m;
    sp->hours = 1u << h;
    sp->mdays = 0xfffffffeu; /* 1..31 */
    sp->months = 0x1ffeu;    /* 1..12 */
    sp->wdays = 0x7fu;
    sp->mday_any = sp->wday_any = 1;
    sp->clamp_mday = 0;
}

/* "1st".."31st" (any of st/nd/rd/th) into d; 0 or -1. */
static int parse_ordinal(const char *s, size_t len, int *d)
{
    char buf[8];
    if (len < 3 || len > 4)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end = NULL;
    long v = strtol(buf, &end, 10);
    if (end == buf || v < 1 || v > 31 ||
        (strcasecmp(end, "st") && strcasecmp(end, "nd") && strcasecmp(end, "rd") &&
         strcasecmp(end, "th")))
        return -1;
    *d = (int)v;
    return 0;
}

/* One cron field ("*", "a", "a-b", with "/step", comma lists) into a bit mask. */
static int cron_field(const char *s, size_t len, int lo, int hi, uint64_t *mask)
{
    char buf[128];
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (buf[0] == ',' || buf[len - 1] == ',' || strstr(buf, ",,"))
        return -1; /* strtok_r would skip the empty item */
    *mask = 0;
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        long a = lo, b = hi, step = 1;
        char *p = item, *end;
        if (*p == '*') {
            p++;
        } else {
            a = strtol(p, &end, 10);
            if (end == p)
                return -1;
            b = a;
            p = end;
            if (*p == '-') {
                b = strtol(p + 1, &end, 10);
                if (end == p + 1)
                    return -1;
                p = end;
            }
        }
        if (*p == '/') {
            step = strtol(p + 1, &end, 10);
            if (end == p + 1 || step < 1)
                return -1;
            p = end;
            if (item[0] != '*' && b == a)
                b = hi; /* "5/15" = from 5 to the end */
        }
        if (*p || a < lo || b > hi || a > b)
            return -1;
        for (long v = a; v <= b; v += step)
            *mask |= 1ull << v;
    }
    return 0;
}

static int parse_cron(const char *s, rpt_sched_t *sp)
{
    static const int lo[5] = {0, 0, 1, 1, 0}, hi[5] = {59, 23, 31, 12, 7};
    uint64_t m[5];
    const char *p = s;
    for (int f = 0; f < 5; f++) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t len = strcspn(p, " \t");
        if (cron_field(p, len, lo[f], hi[f], &m[f]) != 0)
            return -1;
        if (f == 2)
            sp->mday_any = p[0] == '*';
        if (f == 4)
            sp->wday_any = p[0] == '*';
        p += len;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        return -1;
    sp->minutes = m[0];
    sp->hours = (uint32_t)m[1];
    sp->mdays = (uint32_t)m[2];
    sp->months = (uint16_t)m[3];
    sp->wdays = (uint8_t)((m[4] | (m[4] >> 7)) & 0x7f); /* 7 is Sunday too */
    sp->clamp_mday = 0;
    return 0;
}

int rpt_sched_parse(const char *s, rpt_sched_t *sp)
{
    int h, m, d;
    memset(sp, 0, sizeof(*sp));
    if (!s || !*s || strlen(s) > 256)
        return -1;
    if (parse_hhmm(s, &h, &m) == 0) {
        set_time(sp, h, m);
        return 0;
    }
    const char *sp1 = strchr(s, ' ');
    if (sp1 && !strchr(sp1 + 1, ' ') && parse_hhmm(sp1 + 1, &h, &m) == 0) {
        size_t len = (size_t)(sp1 - s);
        for (int w = 0; w < 7; w++)
            if (strlen(weekdays[w]) == len && strncasecmp(s, weekdays[w], len) == 0) {
                set_time(sp, h, m);
                sp->wdays = (uint8_t)(1u << w);
                sp->wday_any = 0;
                return 0;
            }
        if (parse_ordinal(s, len, &d) == 0) {
            set_time(sp, h, m);
            sp->clamp_mday = d; /* a day past the month's end runs on its last day */
            return 0;
        }
        return -1;
    }
    return parse_cron(s, sp);
}

static int days_in_month(int year, int mon0)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return d[mon0] + (mon0 == 1 && leap);
}

int rpt_sched_match(const rpt_sched_t *sp, int64_t t_ms)
{
    time_t t = (time_t)(t_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    if (!(sp->minutes >> tm.tm_min & 1) || !(sp->hours >> tm.tm_hour & 1) ||
        !(sp->months >> (tm.tm_mon + 1) & 1))
        return 0;
    if (sp->clamp_mday) {
        int last = days_in_month(tm.tm_year + 1900, tm.tm_mon);
        return tm.tm_mday == (sp->clamp_mday < last ? sp->clamp_mday : last);
    }
    int md = sp->mdays >> tm.tm_mday & 1, wd = sp->wdays >> tm.tm_wday & 1;
    /* cron: with both day fields restricted, either one matching is enough */
    if (!sp->mday_any && !sp->wday_any)
        return md || wd;
    return md && wd;
}

int64_t rpt_sched_next(const rpt_sched_t *sp, int64_t after_ms)
{
    int64_t t = (after_ms / 60000 + 1) * 60000;
    for (int64_t i = 0; i < 366LL * 24 * 60; i++, t += 60000)
        if (rpt_sched_match(sp, t))
            return t;
    return 0;
}
