/* SPDX-License-Identifier: Apache-2.0 */
/* Positions in the raw document text. jansson keeps no node positions, so this small scanner
 * walks the text (already parsed successfully, but every access is bounds-checked anyway) to
 * the key or array element a path names, and turns byte offsets into line and column. */
#include "config_int.h"

#include <stdio.h>
#include <string.h>

typedef struct scan {
    const char *s; /* the text */
    size_t n;      /* its length */
    size_t i;      /* current offset */
} scan_t;

static int at(const scan_t *p, char ch)
{
    return p->i < p->n && p->s[p->i] == ch;
}

static void skip_ws(scan_t *p)
{
    while (p->i < p->n &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\r' || p->s[p->i] == '\n'))
        p->i++;
}

/* At an opening quote: move past the closing one. */
static void skip_string(scan_t *p)
{
    p->i++;
    while (p->i < p->n && p->s[p->i] != '"')
        p->i += p->s[p->i] == '\\' ? 2 : 1;
    if (p->i < p->n)
        p->i++;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Four hex digits at s[i..]; -1 when not available or not hex. */
static long hex4(const scan_t *p, size_t i)
{
    long v = 0;
    if (i + 4 > p->n)
        return -1;
    for (size_t k = 0; k < 4; k++) {
        int h = hexval(p->s[i + k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t utf8_encode(unsigned long cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* At a backslash: decode one escape into out, advancing past it; returns the byte count. */
static size_t decode_escape(scan_t *p, char *out)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    char e = p->i + 1 < p->n ? p->s[p->i + 1] : '\0';
    const char *k = e ? strchr(from, e) : NULL;
    if (k) {
        p->i += 2;
        out[0] = to[k - from];
        return 1;
    }
    long cp = e == 'u' ? hex4(p, p->i + 2) : -1;
    if (cp < 0) {
        p->i += 2;
        return 0;
    }
    p->i += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF && p->i + 1 < p->n && p->s[p->i] == '\\' &&
        p->s[p->i + 1] == 'u') {
        long lo = hex4(p, p->i + 2);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            p->i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
    }
    return utf8_encode((unsigned long)cp, out);
}

/* At an opening quote: 1 when the decoded string equals key; always moves past it. */
static int match_string(scan_t *p, const char *key)
{
    size_t k = 0;
    int same = 1;
    p->i++;
    while (p->i < p->n && p->s[p->i] != '"') {
        char buf[4];
        size_t len;
        if (p->s[p->i] == '\\') {
            len = decode_escape(p, buf);
        } else {
            buf[0] = p->s[p->i++];
            len = 1;
        }
        for (size_t j = 0; j < len && same; j++) {
            if (key[k] == buf[j])
                k++;
            else
                same = 0;
        }
    }
    if (p->i < p->n)
        p->i++;
    return same && key[k] == '\0';
}

/* Move past one value. Containers are skipped by counting brackets, not by recursion, so
 * nesting depth costs nothing. */
static void skip_value(scan_t *p)
{
    if (at(p, '"')) {
        skip_string(p);
        return;
    }
    if (at(p, '{') || at(p, '[')) {
        size_t depth = 0;
        while (p->i < p->n) {
            char ch = p->s[p->i];
            if (ch == '"') {
                skip_string(p);
                continue;
            }
            p->i++;
            if (ch == '{' || ch == '[')
                depth++;
            else if ((ch == '}' || ch == ']') && --depth == 0)
                return;
        }
        return;
    }
    while (p->i < p->n && !strchr(",}] \t\r\n", p->s[p->i]))
        p->i++;
}

/* At an object: find member key; on success *pos is the key's offset and p is at its value. */
static int find_member(scan_t *p, const char *key, size_t *pos)
{
    if (!at(p, '{'))
        return 0;
    p->i++;
    for (;;) {
        skip_ws(p);
        if (!at(p, '"'))
            return 0;
        size_t start = p->i;
        int hit = match_string(p, key);
        skip_ws(p);
        if (!at(p, ':'))
            return 0;
        p->i++;
        skip_ws(p);
        if (hit) {
            *pos = start;
            return 1;
        }
        skip_value(p);
        skip_ws(p);
        if (!at(p, ','))
            return 0;
        p->i++;
    }
}

/* At an array: find element index; on success *pos is its offset and p is at it. */
static int find_element(scan_t *p, size_t index, size_t *pos)
{
    if (!at(p, '['))
        return 0;
    p->i++;
    for (size_t k = 0;; k++) {
        skip_ws(p);
        if (p->i >= p->n || at(p, ']'))
            return 0;
        if (k == index) {
            *pos = p->i;
            return 1;
        }
        skip_value(p);
        skip_ws(p);
        if (!at(p, ','))
            return 0;
        p->i++;
    }
}

void cfg_locate(const char *text, size_t len, const cfg_comp_t *comps, size_t n, int *line,
                int *column)
{
    scan_t p = {text, len, 0};
    skip_ws(&p);
    size_t best = p.i;
    for (size_t d = 0; d < n; d++) {
        size_t pos;
        int found = comps[d].key ? find_member(&p, comps[d].key, &pos)
                                 : find_element(&p, comps[d].index, &pos);
        if (!found)
            break; /* keep the deepest ancestor found */
        best = pos;
    }
    cfg_offset_position(text, len, best, line, column);
}

void cfg_offset_position(const char *text, size_t len, size_t offset, int *line, int *column)
{
    int l = 1, col = 1;
    if (offset > len)
        offset = len;
    for (size_t i = 0; i < offset; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\n') {
            l++;
            col = 1;
        } else if ((ch & 0xC0) != 0x80) {
            col++; /* columns count characters: continuation bytes do not advance */
        }
    }
    *line = l;
    *column = col;
}

size_t cfg_utf8_invalid_at(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        size_t need;
        unsigned long cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1, cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3, cp = c & 0x07;
        } else {
            return i;
        }
        for (size_t k = 1; k <= need; k++) {
            if (i + k >= n || (u[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (u[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += need + 1;
    }
    return n;
}

/* One open container while scanning for cfg_path_at(). */
typedef struct frame {
    int is_object;   /* object (1) or array (0) */
    int want_key;    /* object: the next string is a key */
    size_t key, len; /* object: offset and length of the current key's raw text */
    size_t index;    /* array: current element */
} frame_t;

static void append_path(const scan_t *p, const frame_t *st, size_t depth, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t d = 0; d < depth && o + 1 < len; d++) {
        int w;
        if (st[d].is_object)
            w = snprintf(buf + o, len - o, "%s%.*s", o ? "." : "", (int)st[d].len,
                         p->s + st[d].key);
        else
            w = snprintf(buf + o, len - o, "[%zu]", st[d].index);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

int cfg_path_at(const char *text, size_t len, size_t offset, char *buf, size_t buflen,
                size_t *key_offset)
{
    frame_t st[CFG_MAX_DEPTH];
    size_t depth = 0; /* may exceed CFG_MAX_DEPTH; only the first frames are kept */
    scan_t p = {text, len < offset ? len : offset, 0};
    int have_key = 0;
    while (p.i < p.n) {
        char ch = p.s[p.i];
        frame_t *top = depth && depth <= CFG_MAX_DEPTH ? &st[depth - 1] : NULL;
        if (ch == '"') {
            size_t start = p.i;
            skip_string(&p);
            if (top && top->is_object && top->want_key) {
                top->key = start + 1;
                top->len = p.i >= start + 2 ? p.i - start - 2 : 0;
                top->want_key = 0;
                *key_offset = start;
                have_key = 1;
            }
            continue;
        }
        if (ch == '{' || ch == '[') {
            if (depth < CFG_MAX_DEPTH)
                st[depth] = (frame_t){ch == '{', 1, 0, 0, 0};
            depth++;
        } else if ((ch == '}' || ch == ']') && depth) {
            depth--;
        } else if (ch == ',' && top) {
            top->want_key = top->is_object;
            top->index++;
        }
        p.i++;
    }
    append_path(&p, st, depth < CFG_MAX_DEPTH ? depth : CFG_MAX_DEPTH, buf, buflen);
    return have_key && buf[0] ? 0 : -1;
}
