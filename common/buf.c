/* SPDX-License-Identifier: Apache-2.0 */
/* Growable buffer with optional headroom (lws needs LWS_PRE bytes before a frame),
 * JSON string escaping and shortest round-trip number formatting. */
#include "omega/buf.h"
#include "omega/common.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void omega_buf_init(omega_buf_t *b, size_t headroom)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->pre = headroom;
}

void omega_buf_deinit(omega_buf_t *b)
{
    if (b && b->data)
        free(b->data - b->pre);
    if (b) {
        b->data = NULL;
        b->len = b->cap = 0;
    }
}

static void reserve(omega_buf_t *b, size_t extra)
{
    if (b->data && b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *base = b->data ? b->data - b->pre : NULL;
    base = omega_realloc(base, cap + b->pre);
    b->data = base + b->pre;
    b->cap = cap;
}

void omega_buf_append(omega_buf_t *b, const void *p, size_t n)
{
    reserve(b, n);
    if (n) /* p may be NULL when n is 0 */
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void omega_buf_puts(omega_buf_t *b, const char *s)
{
    omega_buf_append(b, s, strlen(s));
}

void omega_buf_put_i64(omega_buf_t *b, long long n)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    unsigned long long u = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (n < 0)
        tmp[--i] = '-';
    omega_buf_append(b, tmp + i, sizeof(tmp) - i);
}

void omega_buf_printf(omega_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t k = s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : 4;
    if (s[0] < 0xC2 || s[0] > 0xF4 || n < k)
        return 0;
    return omega_utf8_valid((const char *)s, k) ? k : 0;
}

void omega_buf_json_str(omega_buf_t *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    reserve(b, n + 2);
    omega_buf_append(b, "\"", 1);
    size_t run = 0; /* start of a pending run of bytes copied as they are */
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        const char *esc = NULL;
        char tmp[8];
        size_t adv = 1;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20 || c == 0x7f) {
            snprintf(tmp, sizeof(tmp), "\\u%04x", c);
            esc = tmp;
        } else if (c >= 0x80) {
            adv = utf8_seq(s + i, n - i);
            if (adv == 0) {
                esc = "\xEF\xBF\xBD"; /* U+FFFD */
                adv = 1;
            }
        }
        if (esc) {
            omega_buf_append(b, s + run, i - run);
            omega_buf_puts(b, esc);
            run = i + adv;
        }
        i += adv;
    }
    omega_buf_append(b, s + run, n - run);
    omega_buf_append(b, "\"", 1);
}

void omega_buf_json_num(omega_buf_t *b, double v)
{
    char tmp[40];
    omega_format_double(v, tmp, sizeof(tmp));
    if (isfinite(v))
        omega_buf_puts(b, tmp);
    else
        omega_buf_printf(b, "\"%s\"", tmp);
}

char *omega_buf_take(omega_buf_t *b, size_t *len)
{
    size_t n = b->len;
    char *out;
    if (!b->data) {
        out = omega_strdup("");
    } else if (b->pre == 0) {
        out = b->data;
    } else {
        out = omega_malloc(n + 1);
        memcpy(out, b->data, n + 1);
        free(b->data - b->pre);
    }
    b->data = NULL;
    b->len = b->cap = 0;
    if (len)
        *len = n;
    return out;
}
