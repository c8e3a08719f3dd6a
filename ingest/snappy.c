/* SPDX-License-Identifier: Apache-2.0 */
/* Snappy block-format decompression (the format of Prometheus remote_write bodies):
 * a varint of the decoded length, then literals and back-references. Every length and
 * offset is checked against the input and output bounds, so hostile input fails cleanly. */
#include "ingest_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Little-endian value of n (1..4) bytes at p. */
static uint32_t le_bytes(const unsigned char *p, size_t n)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static int bad(omega_error_t *err, const char *why)
{
    return omega_error_set(err, OMEGA_EINVAL, "snappy: %s", why);
}

static int decoded_len(const void *in, size_t len, size_t *out_len, omega_error_t *err)
{
    const unsigned char *p = in;
    uint64_t v = 0;
    for (size_t i = 0; i < len && i < 5; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            if (v > UINT32_MAX)
                break;
            *out_len = (size_t)v;
            return (int)i + 1;
        }
    }
    return bad(err, "corrupt length preamble");
}

/* Copy a back-reference of n bytes from off bytes back; may overlap forwards. */
static int copy_back(char *out, size_t *o, size_t cap, size_t off, size_t n, omega_error_t *err)
{
    if (off == 0 || off > *o)
        return bad(err, "back-reference before the start of the output");
    if (n > cap - *o)
        return bad(err, "back-reference past the declared length");
    char *d = out + *o;
    const char *s = d - off;
    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
    *o += n;
    return 0;
}

int omega_snappy_decode(const void *in, size_t len, size_t max_out, char **out, size_t *out_len,
                        omega_error_t *err)
{
    size_t want = 0;
    int pre = decoded_len(in, len, &want, err);
    if (pre < 0)
        return pre;
    if (want > max_out)
        return omega_error_set(err, OMEGA_E2BIG,
                               "snappy body decodes to %zu bytes, more than the limit of %zu",
                               want, max_out);
    const unsigned char *p = (const unsigned char *)in + pre, *end = (const unsigned char *)in + len;
    char *buf = omega_malloc(want + 1);
    size_t o = 0;
    int rc = 0;
    while (rc == 0 && p < end) {
        unsigned tag = *p++;
        size_t n, off, extra;
        switch (tag & 3) {
        case 0: /* literal */
            n = tag >> 2;
            if (n >= 60) {
                extra = n - 59;
                if ((size_t)(end - p) < extra) {
                    rc = bad(err, "truncated literal length");
                    break;
                }
                n = le_bytes(p, extra);
                p += extra;
            }
            n++;
            if ((size_t)(end - p) < n || n > want - o) {
                rc = bad(err, "literal runs past the input or the declared length");
                break;
            }
            memcpy(buf + o, p, n);
            p += n;
            o += n;
            break;
        case 1: /* copy, 11-bit offset */
            if (p >= end) {
                rc = bad(err, "truncated back-reference");
                break;
            }
            n = 4 + ((tag >> 2) & 7);
            off = ((size_t)(tag >> 5) << 8) | *p++;
            rc = copy_back(buf, &o, want, off, n, err);
            break;
        default: /* copy, 16- or 32-bit offset */
            extra = (tag & 3) == 2 ? 2 : 4;
            if ((size_t)(end - p) < extra) {
                rc = bad(err, "truncated back-reference");
                break;
            }
            n = 1 + (tag >> 2);
            off = le_bytes(p, extra);
            p += extra;
            rc = copy_back(buf, &o, want, off, n, err);
            break;
        }
    }
    if (rc == 0 && o != want)
        rc = bad(err, "output shorter than the declared length");
    if (rc != 0) {
        free(buf);
        return rc;
    }
    buf[o] = '\0';
    *out = buf;
    *out_len = o;
    return 0;
}
