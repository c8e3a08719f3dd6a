/* SPDX-License-Identifier: Apache-2.0 */
/* PII detection and masking for free text (process command lines, free-text labels, alert
 * messages, report output): e-mail addresses, IPv4 and IPv6 addresses, phone numbers,
 * payment card numbers (Luhn-checked) and the user name in home-directory paths. A single
 * left-to-right scan tries each detector at token boundaries and copies everything else;
 * detectors are deliberately conservative (a masked PID or date would be a worse bug than
 * a missed oddly-written phone number). Deciding where masking applies is the callers'. */
#include "auth_int.h"

#include "omega/buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int is_word(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

static int is_local(unsigned char c)
{
    return isalnum(c) || (c && strchr("._%+-", c));
}

/* local@label(.label)+ with an alphabetic TLD of 2+ letters. */
static size_t match_email(const char *s, size_t i)
{
    size_t j = i;
    while (is_local((unsigned char)s[j]))
        j++;
    if (j == i || s[j] != '@')
        return 0;
    size_t k = j + 1, labels = 0, last = k, tld_alpha = 1;
    for (;;) {
        size_t start = k;
        tld_alpha = 1;
        while (isalnum((unsigned char)s[k]) || s[k] == '-') {
            tld_alpha &= isalpha((unsigned char)s[k]) != 0;
            k++;
        }
        if (k == start)
            break;
        labels++;
        last = k;
        if (s[k] != '.' || !isalnum((unsigned char)s[k + 1]))
            break;
        k++;
    }
    if (labels < 2 || !tld_alpha)
        return 0;
    /* The TLD is the last label: at least two letters. */
    size_t t = last;
    while (t > j && s[t - 1] != '.')
        t--;
    return last - t >= 2 ? last - i : 0;
}

/* A dotted quad of 0..255, not part of a longer dotted number. */
static size_t match_ipv4(const char *s, size_t i)
{
    size_t j = i;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (s[j] != '.')
                return 0;
            j++;
        }
        size_t start = j;
        unsigned v = 0;
        while (isdigit((unsigned char)s[j]) && j - start < 3)
            v = v * 10 + (unsigned)(s[j++] - '0');
        if (j == start || v > 255 || isdigit((unsigned char)s[j]) ||
            (j - start > 1 && s[start] == '0'))
            return 0;
    }
    if (s[j] == '.' && isdigit((unsigned char)s[j + 1]))
        return 0;
    return is_word((unsigned char)s[j]) ? 0 : j - i;
}

/* Hex groups separated by ':' with at most one "::": 8 groups, or fewer with "::". */
static size_t match_ipv6(const char *s, size_t i)
{
    size_t j = i, groups = 0;
    int double_colon = 0;
    if (s[j] == ':' && s[j + 1] == ':') {
        double_colon = 1;
        j += 2;
    }
    for (;;) {
        size_t start = j;
        while (isxdigit((unsigned char)s[j]) && j - start < 4)
            j++;
        if (j == start)
            break;
        if (isxdigit((unsigned char)s[j]))
            return 0;
        groups++;
        if (s[j] != ':')
            break;
        if (s[j + 1] == ':') {
            if (double_colon)
                return 0;
            double_colon = 1;
            j += 2;
            if (!isxdigit((unsigned char)s[j]))
                break;
        } else if (isxdigit((unsigned char)s[j + 1])) {
            j++;
        } else {
            break;
        }
    }
    if (groups > 8 || (!double_colon && groups != 8) || (double_colon && groups > 7) ||
        (groups == 0 && !double_colon) || is_word((unsigned char)s[j]))
        return 0;
    if (double_colon && groups == 0 && j - i < 2)
        return 0;
    return j - i;
}

/* 13..19 digits, single spaces or dashes between them allowed, passing the Luhn check. */
static size_t match_card(const char *s, size_t i)
{
    int digits[19], n = 0;
    size_t j = i, end = i;
    while (n < 19) {
        if (isdigit((unsigned char)s[j])) {
            digits[n++] = s[j++] - '0';
            end = j;
        } else if ((s[j] == ' ' || s[j] == '-') && isdigit((unsigned char)s[j + 1]) && n > 0) {
            j++;
        } else {
            break;
        }
    }
    /* Issuer digits 2..6 (Mastercard, Amex/Diners, Visa, Mastercard, Discover/UnionPay):
     * keeps nanosecond timestamps and other long counters, which start with 1, unmasked. */
    if (n < 13 || digits[0] < 2 || digits[0] > 6 || is_word((unsigned char)s[end]))
        return 0;
    int sum = 0;
    for (int k = n - 1, dbl = 0; k >= 0; k--, dbl ^= 1) {
        int d = digits[k] * (dbl ? 2 : 1);
        sum += d > 9 ? d - 9 : d;
    }
    return sum % 10 == 0 ? end - i : 0;
}

/* "+" and 7..15 digits with spaces, dashes, dots or parentheses; or the North American
 * forms (ddd) ddd-dddd, ddd-ddd-dddd, ddd.ddd.dddd, ddd ddd dddd. */
static size_t match_phone(const char *s, size_t i)
{
    size_t j = i;
    if (s[j] == '+') {
        int n = 0;
        j++;
        size_t end = j;
        while (s[j] && n <= 15) {
            if (isdigit((unsigned char)s[j])) {
                n++;
                end = ++j;
            } else if (strchr(" -.()", s[j]) && n > 0 && s[j + 1] &&
                       (isdigit((unsigned char)s[j + 1]) || s[j + 1] == '(')) {
                j++;
            } else {
                break;
            }
        }
        return n >= 7 && n <= 15 && !is_word((unsigned char)s[end]) ? end - i : 0;
    }
    int paren = s[j] == '(';
    j += (size_t)paren;
    for (int k = 0; k < 3; k++, j++)
        if (!isdigit((unsigned char)s[j]))
            return 0;
    if (paren && s[j++] != ')')
        return 0;
    char sep = s[j];
    if (paren && sep == ' ')
        j++;
    else if (sep == '-' || sep == '.' || sep == ' ')
        j++;
    else
        return 0;
    for (int k = 0; k < 3; k++, j++)
        if (!isdigit((unsigned char)s[j]))
            return 0;
    if (s[j] != (paren ? '-' : sep))
        return 0;
    j++;
    for (int k = 0; k < 4; k++, j++)
        if (!isdigit((unsigned char)s[j]))
            return 0;
    return is_word((unsigned char)s[j]) || s[j] == '-' ? 0 : j - i;
}

/* "/home/<name>", "/Users/<name>", "C:\Users\<name>": the length of the prefix up to the
 * name into *pre and of the name into the return value. */
static size_t match_home(const char *s, size_t i, size_t *pre)
{
    static const char *const prefixes[] = {"/home/", "/Users/", "\\Users\\"};
    for (size_t p = 0; p < 3; p++) {
        size_t plen = strlen(prefixes[p]);
        if (strncmp(s + i, prefixes[p], plen) != 0)
            continue;
        size_t j = i + plen;
        while (s[j] && s[j] != '/' && s[j] != '\\' && !isspace((unsigned char)s[j]) &&
               s[j] != '"' && s[j] != '\'')
            j++;
        if (j > i + plen) {
            *pre = plen;
            return j - i - plen;
        }
    }
    return 0;
}

/* Try every enabled detector at s + i; on a match append the placeholder to b, set *kind
 * and return the input length consumed. */
static size_t mask_at(const char *s, size_t i, unsigned kinds, omega_buf_t *b, unsigned *kind)
{
    unsigned char prev = i ? (unsigned char)s[i - 1] : ' ';
    size_t n, pre = 0;
    if ((kinds & OMEGA_PII_HOME) && (n = match_home(s, i, &pre)) > 0) {
        omega_buf_append(b, s + i, pre);
        omega_buf_puts(b, "[USER]");
        *kind = OMEGA_PII_HOME;
        return pre + n;
    }
    if (is_word(prev) || prev == '.' || prev == '@' || prev == '+')
        return 0; /* the other kinds start at a token boundary */
    static const struct {
        unsigned kind;
        const char *mask;
        size_t (*match)(const char *, size_t);
    } det[] = {
        {OMEGA_PII_EMAIL, "[EMAIL]", match_email}, {OMEGA_PII_CARD, "[CARD]", match_card},
        {OMEGA_PII_IPV6, "[IPV6]", match_ipv6},    {OMEGA_PII_IPV4, "[IPV4]", match_ipv4},
        {OMEGA_PII_PHONE, "[PHONE]", match_phone},
    };
    for (size_t d = 0; d < sizeof(det) / sizeof(det[0]); d++) {
        /* Never start an IPv6 address in the middle of a longer colon-separated run. */
        if (det[d].kind == OMEGA_PII_IPV6 && prev == ':')
            continue;
        if (!(kinds & det[d].kind) || (n = det[d].match(s, i)) == 0)
            continue;
        omega_buf_puts(b, det[d].mask);
        *kind = det[d].kind;
        return n;
    }
    return 0;
}

char *omega_pii_mask(const char *in, unsigned kinds, unsigned *found)
{
    omega_buf_t b;
    omega_buf_init(&b, 0);
    unsigned seen = 0;
    size_t len = in ? strlen(in) : 0;
    for (size_t i = 0; i < len;) {
        unsigned kind = 0;
        size_t n = mask_at(in, i, kinds, &b, &kind);
        if (n > 0) {
            seen |= kind;
            i += n;
        } else {
            omega_buf_append(&b, in + i, 1);
            i++;
        }
    }
    omega_buf_append(&b, "", 1); /* NUL */
    if (found)
        *found = seen;
    size_t out_len;
    return omega_buf_take(&b, &out_len);
}

char *omega_pii_mask_cb(void *ctx, const char *in)
{
    (void)ctx;
    return omega_pii_mask(in, OMEGA_PII_ALL, NULL);
}

char *omega_pii_label_cb(void *ctx, const char *name, const char *value)
{
    const omega_pii_labels_t *l = ctx;
    size_t i = 0;
    while (i < l->n && strcmp(l->names[i], name) != 0)
        i++;
    if (i == l->n || !value || !*value)
        return NULL;
    unsigned found = 0;
    char *masked = omega_pii_mask(value, l->kinds, &found);
    if (found)
        return masked;
    free(masked);
    return NULL;
}
