/* SPDX-License-Identifier: Apache-2.0 */
/* Format checks for string fields: host:port, regex, e-mail, URL, E.164, report schedules,
 * 5-field cron and template placeholders. Each says why a value is wrong; none resolves
 * names or touches the network. */
#include "config_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(char *msg, size_t len, const char *text)
{
    snprintf(msg, len, "%s", text);
    return -1;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
static int hostname_ok(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return 0;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '.') {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            label = 0;
        } else if (isalnum((unsigned char)ch) || ch == '-') {
            if (ch == '-' && label == 0)
                return 0;
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return label > 0 && s[n - 1] != '-';
}

static int all_digits_dots(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]) && s[i] != '.')
            return 0;
    return 1;
}

/* Host (name, IPv4 literal or bracketed IPv6 literal) of n bytes at s. */
static int host_ok(const char *s, size_t n, char *msg, size_t len)
{
    char buf[300];
    if (n >= sizeof(buf))
        return fail(msg, len, "host name is too long");
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        struct in6_addr a6;
        memcpy(buf, s + 1, n - 2);
        buf[n - 2] = '\0';
        if (inet_pton(AF_INET6, buf, &a6) != 1)
            return fail(msg, len, "invalid IPv6 address");
        return 0;
    }
    if (memchr(s, ':', n))
        return fail(msg, len, "IPv6 addresses must be written in brackets, e.g. \"[::1]:8080\"");
    if (n > 0 && all_digits_dots(s, n)) {
        struct in_addr a4;
        memcpy(buf, s, n);
        buf[n] = '\0';
        if (inet_pton(AF_INET, buf, &a4) != 1)
            return fail(msg, len, "invalid IPv4 address");
        return 0;
    }
    if (!hostname_ok(s, n))
        return fail(msg, len, "invalid host name");
    return 0;
}

/* Decimal port 1-65535 (no sign, no leading zeros beyond "0" itself). */
static int port_ok(const char *s, char *msg, size_t len)
{
    size_t n = strlen(s);
    long port = 0;
    if (n == 0 || n > 5)
        return fail(msg, len, "port must be a number 1-65535");
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return fail(msg, len, "port must be a number 1-65535");
        port = port * 10 + (s[i] - '0');
    }
    if (port < 1 || port > 65535)
        return fail(msg, len, "port must be a number 1-65535");
    return 0;
}

static int check_hostport(const char *v, char *msg, size_t len)
{
    const char *colon = strrchr(v, ':');
    const char *rb = v[0] == '[' ? strchr(v, ']') : NULL;
    if (!colon || (v[0] == '[' && (!rb || colon < rb)))
        return fail(msg, len, "expected \"host:port\"");
    if (host_ok(v, (size_t)(colon - v), msg, len))
        return -1;
    return port_ok(colon + 1, msg, len);
}

static int check_regex(const char *v, char *msg, size_t len)
{
    regex_t re;
    int rc = regcomp(&re, v, REG_EXTENDED | REG_NOSUB);
    if (rc == 0) {
        regfree(&re);
        return 0;
    }
    char why[128];
    regerror(rc, &re, why, sizeof(why));
    snprintf(msg, len, "invalid regular expression: %s", why);
    return -1;
}

static int check_email(const char *v, char *msg, size_t len)
{
    static const char atext[] = "!#$%&'*+/=?^_`{|}~-.";
    const char *at = strrchr(v, '@');
    size_t n = strlen(v);
    if (!at || at == v || n > 254 || (size_t)(at - v) > 64)
        return fail(msg, len, "not an e-mail address (expected local@domain)");
    for (const char *p = v; p < at; p++) {
        if (!isalnum((unsigned char)*p) && !strchr(atext, *p))
            return fail(msg, len, "not an e-mail address: invalid character before '@'");
        if (*p == '.' && (p == v || p + 1 == at || p[1] == '.'))
            return fail(msg, len, "not an e-mail address: misplaced '.' before '@'");
    }
    const char *dom = at + 1;
    if (!strchr(dom, '.') || !hostname_ok(dom, strlen(dom)))
        return fail(msg, len, "not an e-mail address: the domain must be a host name with a dot");
    return 0;
}

static int check_url(const char *v, char *msg, size_t len)
{
    const char *rest;
    if (strncasecmp(v, "https://", 8) == 0)
        rest = v + 8;
    else if (strncasecmp(v, "http://", 7) == 0)
        rest = v + 7;
    else
        return fail(msg, len, "URL must start with http:// or https://");
    if (strlen(v) > 2048)
        return fail(msg, len, "URL is longer than 2048 bytes");
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return fail(msg, len, "URL contains a space or control character");
    size_t auth = strcspn(rest, "/?#");
    const char *at = memchr(rest, '@', auth);
    const char *host = at ? at + 1 : rest;
    size_t hlen = auth - (size_t)(host - rest);
    /* An IPv6 literal is bracketed; otherwise the port follows the first ':'. */
    size_t name_len = hlen;
    if (hlen && host[0] == '[') {
        const char *rb = memchr(host, ']', hlen);
        if (!rb)
            return fail(msg, len, "invalid IPv6 address");
        name_len = (size_t)(rb - host) + 1;
    } else {
        const char *colon = memchr(host, ':', hlen);
        if (colon)
            name_len = (size_t)(colon - host);
    }
    if (name_len == 0)
        return fail(msg, len, "URL has no host");
    if (host_ok(host, name_len, msg, len))
        return -1;
    if (name_len < hlen) {
        char port[8];
        size_t plen = hlen - name_len - 1;
        if (host[name_len] != ':' || plen == 0 || plen >= sizeof(port))
            return fail(msg, len, "port must be a number 1-65535");
        memcpy(port, host + name_len + 1, plen);
        port[plen] = '\0';
        return port_ok(port, msg, len);
    }
    return 0;
}

static int check_e164(const char *v, char *msg, size_t len)
{
    size_t n = strlen(v);
    if (n < 3 || n > 16 || v[0] != '+' || v[1] < '1' || v[1] > '9')
        return fail(msg, len, "expected an E.164 number: '+', then 2-15 digits, no spaces");
    for (size_t i = 1; i < n; i++)
        if (!isdigit((unsigned char)v[i]))
            return fail(msg, len, "expected an E.164 number: '+', then 2-15 digits, no spaces");
    return 0;
}

/* "HH:MM", 00:00 - 23:59. */
static int hhmm_ok(const char *v)
{
    if (strlen(v) != 5 || v[2] != ':')
        return 0;
    for (int i = 0; i < 5; i++)
        if (i != 2 && !isdigit((unsigned char)v[i]))
            return 0;
    int h = (v[0] - '0') * 10 + (v[1] - '0');
    int m = (v[3] - '0') * 10 + (v[4] - '0');
    return h <= 23 && m <= 59;
}

static int check_daily(const char *v, char *msg, size_t len)
{
    if (!hhmm_ok(v))
        return fail(msg, len, "expected a time \"HH:MM\" (00:00-23:59)");
    return 0;
}

static int check_weekly(const char *v, char *msg, size_t len)
{
    static const char *const days[] = {"monday", "tuesday",  "wednesday", "thursday",
                                       "friday", "saturday", "sunday"};
    const char *sp = strchr(v, ' ');
    int day_ok = 0;
    for (size_t i = 0; sp && i < 7; i++)
        if (strlen(days[i]) == (size_t)(sp - v) && strncasecmp(v, days[i], (size_t)(sp - v)) == 0)
            day_ok = 1;
    if (!day_ok)
        return fail(msg, len, "expected \"<weekday> HH:MM\" with a weekday monday..sunday");
    if (!hhmm_ok(sp + 1))
        return fail(msg, len, "expected \"<weekday> HH:MM\" with a time 00:00-23:59");
    return 0;
}

static int check_monthly(const char *v, char *msg, size_t len)
{
    const char *p = v;
    int day = 0;
    if (*p < '1' || *p > '9')
        return fail(msg, len, "expected \"<day> HH:MM\" with a day 1st..31st");
    while (isdigit((unsigned char)*p) && day <= 31)
        day = day * 10 + (*p++ - '0');
    const char *suffix = (day % 10 == 1 && day != 11)   ? "st"
                         : (day % 10 == 2 && day != 12) ? "nd"
                         : (day % 10 == 3 && day != 13) ? "rd"
                                                        : "th";
    if (day > 31 || strncmp(p, suffix, 2) != 0 || p[2] != ' ')
        return fail(msg, len, "expected \"<day> HH:MM\" with a day 1st..31st");
    if (!hhmm_ok(p + 3))
        return fail(msg, len, "expected \"<day> HH:MM\" with a time 00:00-23:59");
    return 0;
}

/* Read a decimal number at *p within [lo, hi]; advances *p. */
static int cron_num(const char **p, int lo, int hi, int *out)
{
    int n = 0, digits = 0;
    while (isdigit((unsigned char)**p) && digits < 3) {
        n = n * 10 + (**p - '0');
        (*p)++;
        digits++;
    }
    if (!digits || isdigit((unsigned char)**p) || n < lo || n > hi)
        return -1;
    *out = n;
    return 0;
}

/* One cron field (n bytes at s): items "*", "a", "a-b", each optionally "/step". */
static int cron_field(const char *s, size_t n, int lo, int hi)
{
    char buf[128];
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *save = NULL;
    if (buf[0] == ',' || buf[n - 1] == ',' || strstr(buf, ",,"))
        return -1;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        const char *p = item;
        int a = lo, b = hi, step = 1;
        if (*p == '*') {
            p++;
        } else {
            if (cron_num(&p, lo, hi, &a))
                return -1;
            b = a;
            if (*p == '-') {
                p++;
                if (cron_num(&p, lo, hi, &b) || b < a)
                    return -1;
            }
        }
        if (*p == '/') {
            p++;
            if (cron_num(&p, 1, hi - lo + 1, &step))
                return -1;
        }
        if (*p)
            return -1;
    }
    return 0;
}

static int check_cron(const char *v, char *msg, size_t len)
{
    static const struct {
        const char *name;
        int lo, hi;
    } fields[5] = {{"minute", 0, 59},
                   {"hour", 0, 23},
                   {"day of month", 1, 31},
                   {"month", 1, 12},
                   {"day of week", 0, 7}};
    if (*v == '\0')
        return 0;
    const char *p = v;
    for (int i = 0; i < 5; i++) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, " \t");
        if (n == 0)
            return fail(msg, len,
                        "expected 5 cron fields: minute hour day-of-month month "
                        "day-of-week");
        if (cron_field(p, n, fields[i].lo, fields[i].hi)) {
            snprintf(msg, len,
                     "cron field %d (%s) must be *, numbers %d-%d, ranges a-b, lists "
                     "a,b and steps /n",
                     i + 1, fields[i].name, fields[i].lo, fields[i].hi);
            return -1;
        }
        p += n;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        return fail(msg, len, "expected exactly 5 cron fields (no seconds or year field)");
    return 0;
}

static int check_template_name(const char *v, char *msg, size_t len)
{
    size_t n = strlen(v);
    if (n == 0 || n > 64)
        return fail(msg, len, "template names are 1-64 characters");
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)v[i]) && v[i] != '_' && v[i] != '-' && v[i] != '.')
            return fail(msg, len, "template names use letters, digits, '_', '-' and '.'");
    return 0;
}

/* A Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*), not one of the reserved "__" names. */
static int check_label_name(const char *v, char *msg, size_t len)
{
    size_t n = strlen(v);
    int ok = n > 0 && (isalpha((unsigned char)v[0]) || v[0] == '_');
    for (size_t i = 1; ok && i < n; i++)
        ok = isalnum((unsigned char)v[i]) || v[i] == '_';
    if (!ok) {
        snprintf(msg, len,
                 "\"%.64s\" is not a label name: use letters, digits and '_', not starting "
                 "with a digit",
                 v);
        return -1;
    }
    if (n >= 2 && v[0] == '_' && v[1] == '_') {
        snprintf(msg, len,
                 "\"%.64s\" is not a label name: names starting with \"__\" are "
                 "reserved",
                 v);
        return -1;
    }
    return 0;
}

static int placeholder_in(const char *const *list, const char *p, size_t n)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strlen(list[i]) == n && strncmp(list[i], p, n) == 0)
            return 1;
    return 0;
}

static int unbalanced(char brace, size_t at, char *msg, size_t msglen)
{
    snprintf(msg, msglen, "unbalanced '%c' at byte %zu (write '%c%c' for a literal brace)", brace,
             at, brace, brace);
    return -1;
}

/* "unknown placeholder {name}; known: a, b, ..." into msg. */
static int unknown_placeholder(const char *p, size_t n, const char *const *extra, char *msg,
                               size_t msglen)
{
    int w = snprintf(msg, msglen, "unknown placeholder {%.*s}; known:", (int)(n > 64 ? 64 : n), p);
    const char *const *lists[2] = {omega_template_placeholders, extra};
    int first = 1;
    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; lists[l] && lists[l][i] && w > 0 && (size_t)w < msglen; i++) {
            w += snprintf(msg + w, msglen - (size_t)w, "%s %s", first ? "" : ",", lists[l][i]);
            first = 0;
        }
    return -1;
}

int omega_template_check(const char *text, const char *const *extra, char *msg, size_t msglen)
{
    for (size_t i = 0; text[i]; i++) {
        if ((text[i] == '{' && text[i + 1] == '{') || (text[i] == '}' && text[i + 1] == '}')) {
            i++;
            continue;
        }
        if (text[i] == '}')
            return unbalanced('}', i, msg, msglen);
        if (text[i] != '{')
            continue;
        const char *close = strchr(text + i + 1, '}');
        const char *open = strchr(text + i + 1, '{');
        if (!close || (open && open < close))
            return unbalanced('{', i, msg, msglen);
        size_t n = (size_t)(close - text - i - 1);
        if (!placeholder_in(omega_template_placeholders, text + i + 1, n) &&
            !placeholder_in(extra, text + i + 1, n))
            return unknown_placeholder(text + i + 1, n, extra, msg, msglen);
        i += n + 1;
    }
    return 0;
}

const cfg_check_t cfg_check_hostport = {"host:port", "\"host:port\"", check_hostport};
const cfg_check_t cfg_check_regex = {"regex", "POSIX extended regular expression", check_regex};
const cfg_check_t cfg_check_email = {"email", "e-mail address", check_email};
const cfg_check_t cfg_check_url = {"url", "http(s) URL", check_url};
const cfg_check_t cfg_check_e164 = {"e164", "E.164 phone number", check_e164};
const cfg_check_t cfg_check_daily = {"HH:MM", "\"HH:MM\"", check_daily};
const cfg_check_t cfg_check_weekly = {"weekday HH:MM", "\"<weekday> HH:MM\"", check_weekly};
const cfg_check_t cfg_check_monthly = {"ordinal HH:MM", "\"<1st..31st> HH:MM\"", check_monthly};
const cfg_check_t cfg_check_cron = {"cron", "5-field cron expression or \"\"", check_cron};
const cfg_check_t cfg_check_template_name = {"name", "template name", check_template_name};
const cfg_check_t cfg_check_label_name = {
    "label-name", "Prometheus label name, not starting with \"__\"", check_label_name};
