/* SPDX-License-Identifier: Apache-2.0 */
/* The head's sample encoding: per sample, the timestamp's delta-of-delta (zigzag, in one of
 * five prefix-coded widths, the last a raw 64 bits so any jump in time round-trips) and the
 * value XOR the previous one (Gorilla: '0' same, '10' inside the last window, '11' with a
 * new window). Arithmetic on times wraps in 64 bits, so out-of-order, duplicate and extreme
 * timestamps all decode exactly. */
#include "headenc.h"

#include "omega/common.h"

#include <stdlib.h>
#include <string.h>

/* Widest sample: 4 + 64 timestamp bits and 2 + 6 + 6 + 64 value bits, rounded up. */
#define SAMPLE_MAX_BYTES 20u

/* Timestamp widths after the prefixes '10', '110', '1110' ('1111' is 64 bits raw). */
static const unsigned ts_width[3] = {8, 14, 24};

static void reserve(storage_headenc_t *e, size_t more)
{
    size_t used = (size_t)((e->nbits + 7) / 8);
    if (e->cap - used >= more)
        return;
    size_t cap = e->cap + e->cap / 2;
    if (cap < used + more)
        cap = used + more;
    if (cap < 32)
        cap = 32;
    e->b = omega_realloc(e->b, cap);
    e->cap = cap;
}

/* Append the low nbits (1..64) of v, most significant first (room reserved). */
static void put_bits(storage_headenc_t *e, uint64_t v, unsigned nbits)
{
    while (nbits) {
        unsigned used = e->nbits & 7, room = 8 - used;
        unsigned take = nbits < room ? nbits : room;
        unsigned chunk = (unsigned)(v >> (nbits - take)) & ((1u << take) - 1);
        uint8_t *p = &e->b[e->nbits >> 3];
        if (used == 0)
            *p = 0;
        *p |= (uint8_t)(chunk << (room - take));
        e->nbits += take;
        nbits -= take;
    }
}

static uint64_t zigzag(uint64_t d)
{
    return (d << 1) ^ (uint64_t)((int64_t)d >> 63);
}

static uint64_t unzigzag(uint64_t z)
{
    return (z >> 1) ^ (0 - (z & 1));
}

static void put_ts(storage_headenc_t *e, int64_t ts)
{
    uint64_t delta = (uint64_t)ts - (uint64_t)e->last_ts;
    uint64_t zz = zigzag(delta - e->last_delta);
    if (zz == 0) {
        put_bits(e, 0, 1);
    } else {
        unsigned i = 0;
        while (i < 3 && zz >> ts_width[i])
            i++;
        /* i + 1 one-bits, then a zero unless it is the 64-bit form */
        put_bits(e, i < 3 ? (UINT64_C(1) << (i + 2)) - 2 : 0xf, i < 3 ? i + 2 : 4);
        put_bits(e, zz, i < 3 ? ts_width[i] : 64);
    }
    e->last_ts = ts;
    e->last_delta = delta;
}

static void put_value(storage_headenc_t *e, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    uint64_t x = bits ^ e->last_bits;
    e->last_bits = bits;
    if (x == 0) {
        put_bits(e, 0, 1);
        return;
    }
    unsigned lead = (unsigned)__builtin_clzll(x), trail = (unsigned)__builtin_ctzll(x);
    if (e->win_len && lead >= e->win_lead && trail >= 64u - e->win_lead - e->win_len) {
        put_bits(e, 2, 2);
        put_bits(e, x >> (64u - e->win_lead - e->win_len), e->win_len);
        return;
    }
    unsigned len = 64 - lead - trail;
    put_bits(e, 3, 2);
    put_bits(e, lead, 6);
    put_bits(e, len - 1, 6);
    put_bits(e, x >> trail, len);
    e->win_lead = (uint8_t)lead;
    e->win_len = (uint8_t)len;
}

void storage_headenc_append(storage_headenc_t *e, int64_t ts, double v)
{
    reserve(e, SAMPLE_MAX_BYTES);
    put_ts(e, ts);
    put_value(e, v);
}

void storage_headenc_reset(storage_headenc_t *e, int release)
{
    uint8_t *b = release ? NULL : e->b;
    size_t cap = release ? 0 : e->cap;
    if (release)
        free(e->b);
    memset(e, 0, sizeof(*e));
    e->b = b;
    e->cap = cap;
}

size_t storage_headenc_bytes(const storage_headenc_t *e)
{
    return e->cap;
}

/* ---- reading ---- */

void storage_headdec_init(storage_headdec_t *d, const storage_headenc_t *e)
{
    memset(d, 0, sizeof(*d));
    d->e = e;
}

/* Read nbits (1..64) into *v; -1 when the stream ends first. */
static int get_bits(storage_headdec_t *d, unsigned nbits, uint64_t *v)
{
    if (d->e->nbits - d->pos < nbits)
        return -1;
    uint64_t r = 0;
    while (nbits) {
        unsigned used = d->pos & 7, room = 8 - used;
        unsigned take = nbits < room ? nbits : room;
        unsigned byte = d->e->b[d->pos >> 3];
        r = (r << take) | ((byte >> (room - take)) & ((1u << take) - 1));
        d->pos += take;
        nbits -= take;
    }
    *v = r;
    return 0;
}

static int get_ts(storage_headdec_t *d, int64_t *ts)
{
    uint64_t bit = 0, zz = 0;
    unsigned ones = 0;
    /* up to four prefix bits: the count of leading ones picks the width */
    while (ones < 4) {
        if (get_bits(d, 1, &bit) != 0)
            return -1;
        if (!bit)
            break;
        ones++;
    }
    if (ones > 0 && get_bits(d, ones < 4 ? ts_width[ones - 1] : 64, &zz) != 0)
        return -1;
    d->delta += unzigzag(zz);
    d->ts = (int64_t)((uint64_t)d->ts + d->delta);
    *ts = d->ts;
    return 0;
}

static int get_value(storage_headdec_t *d, double *v)
{
    uint64_t ctl = 0, x = 0, lead = 0, len = 0;
    if (get_bits(d, 1, &ctl) != 0)
        return -1;
    if (ctl) {
        if (get_bits(d, 1, &ctl) != 0)
            return -1;
        if (ctl) {
            if (get_bits(d, 6, &lead) != 0 || get_bits(d, 6, &len) != 0)
                return -1;
            len++;
            if (lead + len > 64)
                return -1;
            d->win_lead = (uint8_t)lead;
            d->win_len = (uint8_t)len;
        } else if (d->win_len == 0) {
            return -1;
        }
        if (get_bits(d, d->win_len, &x) != 0)
            return -1;
        d->bits ^= x << (64u - d->win_lead - d->win_len);
    }
    memcpy(v, &d->bits, sizeof(*v));
    return 0;
}

int storage_headdec_next(storage_headdec_t *d, int64_t *ts, double *v)
{
    int64_t t;
    double x;
    if (get_ts(d, &t) != 0 || get_value(d, &x) != 0)
        return -1;
    *ts = t;
    *v = x;
    return 0;
}
