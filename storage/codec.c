/* SPDX-License-Identifier: Apache-2.0 */
/* The chunk codec: one series' samples as a header of byte varints followed by one bit
 * stream (timestamps, then values) and a CRC32C. Timestamps use a constant-interval form
 * (zero bits per sample) or Gorilla delta-of-delta codes; values use scaled decimal
 * integers (counters, percentages like 37.25) with first- or second-order differences
 * when every value round-trips exactly, else Gorilla XOR. The layout is in docs/storage.md. */
#include "codec.h"

#include "omega/common.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SCALE 9           /* decimal mode: at most 9 fractional digits */
#define INT_LIMIT (1LL << 53) /* decimal mode: |integer| bound, exact in a double */
#define CRC_LEN   4

static const double pow10_tab[MAX_SCALE + 1] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

/* ---- CRC32C, slicing by 8 ---- */

static uint32_t crc_tab[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_tab[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (uint32_t i = 0; i < 256; i++)
            crc_tab[t][i] = (crc_tab[t - 1][i] >> 8) ^ crc_tab[0][crc_tab[t - 1][i] & 0xff];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* The SSE4.2 crc32 instruction computes this same CRC (Castagnoli, reflected), 8 bytes
 * per instruction: about ten times the tables' speed. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
                                                            size_t len)
{
    uint64_t c = ~crc;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
    }
    uint32_t c32 = (uint32_t)c;
    for (; len > 0; p++, len--)
        c32 = __builtin_ia32_crc32qi(c32, *p);
    return ~c32;
}

static int crc_hw;
static pthread_once_t crc_hw_once = PTHREAD_ONCE_INIT;

static void crc_hw_init(void)
{
    __builtin_cpu_init();
    crc_hw = __builtin_cpu_supports("sse4.2");
}
#endif

uint32_t storage_crc32c(uint32_t crc, const void *data, size_t len)
{
#if defined(__x86_64__) && defined(__GNUC__)
    pthread_once(&crc_hw_once, crc_hw_init);
    if (crc_hw)
        return crc32c_hw(crc, data, len);
#endif
    return storage_crc32c_tables(crc, data, len);
}

uint32_t storage_crc32c_tables(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    pthread_once(&crc_once, crc_init);
    crc = ~crc;
    while (len >= 8) {
        uint32_t a = crc ^ le32(p), b = le32(p + 4);
        crc = crc_tab[7][a & 0xff] ^ crc_tab[6][(a >> 8) & 0xff] ^ crc_tab[5][(a >> 16) & 0xff] ^
              crc_tab[4][a >> 24] ^ crc_tab[3][b & 0xff] ^ crc_tab[2][(b >> 8) & 0xff] ^
              crc_tab[1][(b >> 16) & 0xff] ^ crc_tab[0][b >> 24];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = crc_tab[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ---- byte and bit buffers ---- */

typedef struct wbuf {
    uint8_t *b;    /* bytes, owned until handed to the caller */
    size_t len;    /* bytes written */
    size_t cap;    /* bytes allocated */
    uint64_t acc;  /* pending bits (fewer than 8 between calls) */
    unsigned nacc; /* bits in acc */
} wbuf_t;

static void wb_reserve(wbuf_t *w, size_t more)
{
    if (w->cap - w->len >= more)
        return;
    w->cap = (w->len + more) * 2;
    w->b = omega_realloc(w->b, w->cap);
}

static void wb_byte(wbuf_t *w, uint8_t v)
{
    wb_reserve(w, 1);
    w->b[w->len++] = v;
}

static void wb_varint(wbuf_t *w, uint64_t v)
{
    wb_reserve(w, 10);
    while (v >= 0x80) {
        w->b[w->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    w->b[w->len++] = (uint8_t)v;
}

/* Append the low nbits (0..32) of v, most significant first. */
static void wb_bits32(wbuf_t *w, uint64_t v, unsigned nbits)
{
    if (nbits == 0)
        return;
    wb_reserve(w, 5);
    w->acc = (w->acc << nbits) | (v & ((UINT64_C(1) << nbits) - 1));
    w->nacc += nbits;
    while (w->nacc >= 8) {
        w->nacc -= 8;
        w->b[w->len++] = (uint8_t)(w->acc >> w->nacc);
    }
}

static void wb_bits(wbuf_t *w, uint64_t v, unsigned nbits)
{
    if (nbits > 32) {
        wb_bits32(w, v >> 32, nbits - 32);
        nbits = 32;
    }
    wb_bits32(w, v, nbits);
}

static void wb_flush_bits(wbuf_t *w)
{
    if (w->nacc)
        wb_bits32(w, 0, 8 - w->nacc);
}

typedef struct rbuf {
    const uint8_t *b; /* chunk bytes (without the CRC) */
    size_t len;       /* bytes */
    size_t pos;       /* byte position (header) or bit position (stream) */
    int bad;          /* set on any overrun or malformed field */
} rbuf_t;

static uint64_t rb_varint(rbuf_t *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (r->pos >= r->len || (shift == 63 && r->b[r->pos] > 1)) {
            r->bad = 1;
            return 0;
        }
        uint8_t c = r->b[r->pos++];
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

static uint8_t rb_byte(rbuf_t *r)
{
    if (r->pos >= r->len) {
        r->bad = 1;
        return 0;
    }
    return r->b[r->pos++];
}

/* The bit stream reader of the decoder: up to 64 pending bits in a register-sized window,
 * refilled 8 bytes at a time. Past the end it reads zero bits and counts them (extra), so
 * the inner loops check nothing per read and the caller checks once, at the end, that no
 * more bits were consumed than the stream holds. */
typedef struct bitrd {
    const uint8_t *p, *end; /* next byte to load, end of the stream */
    const uint8_t *start;   /* first byte of the stream */
    uint64_t win;           /* pending bits, most significant first; below n the stream's
                             * next bits or zeros */
    unsigned n;             /* valid bits in win */
    uint64_t extra;         /* zero bits supplied past the end */
} bitrd_t;

static void br_init(bitrd_t *r, const uint8_t *b, size_t len)
{
    *r = (bitrd_t){.p = b, .end = b + len, .start = b};
}

/* Make at least 56 bits pending. */
static inline __attribute__((always_inline)) void br_fill(bitrd_t *r)
{
    if (r->n > 56)
        return;
    if (r->end - r->p >= 8) {
        uint64_t w;
        memcpy(&w, r->p, 8);
        r->win |= __builtin_bswap64(w) >> r->n;
        r->p += (63 - r->n) >> 3;
        r->n |= 56; /* bits of a partly taken byte below n are ORed again, unchanged */
        return;
    }
    while (r->n <= 56 && r->p < r->end) {
        r->win |= (uint64_t)*r->p++ << (56 - r->n);
        r->n += 8;
    }
    if (r->n <= 56) {
        r->extra += 64 - r->n;
        r->n = 64;
    }
}

/* Take k (1..56) bits; the caller filled. */
static inline __attribute__((always_inline)) uint64_t br_take(bitrd_t *r, unsigned k)
{
    uint64_t v = r->win >> (64 - k);
    r->win <<= k;
    r->n -= k;
    return v;
}

/* Read k (0..64) bits. */
static inline __attribute__((always_inline)) uint64_t br_bits(bitrd_t *r, unsigned k)
{
    if (k == 0)
        return 0;
    br_fill(r);
    if (k <= 56)
        return br_take(r, k);
    uint64_t hi = br_take(r, 32);
    br_fill(r);
    return hi << (k - 32) | br_take(r, k - 32);
}

/* Bits consumed from the stream, counting those read past its end. */
static uint64_t br_consumed(const bitrd_t *r)
{
    return (uint64_t)(r->p - r->start) * 8 + r->extra - r->n;
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static unsigned bitlen(uint64_t v)
{
    return v ? 64u - (unsigned)__builtin_clzll(v) : 0u;
}

/* ---- timestamps: delta-of-delta codes ---- */

/* '0' = 0; '10'+7, '110'+9, '1110'+12, '11110'+32 bits of zigzag; '11111'+64. */
static const unsigned dod_width[6] = {0, 7, 9, 12, 32, 64};

static void put_dod(wbuf_t *w, uint64_t dod)
{
    uint64_t zz = zigzag((int64_t)dod);
    unsigned k = 0;
    while (k < 5 && (k == 0 ? zz != 0 : bitlen(zz) > dod_width[k]))
        k++;
    /* k ones then a zero (no zero after the fifth one), then the payload */
    wb_bits(w, k < 5 ? ((UINT64_C(1) << k) - 1) << 1 : 0x1f, k < 5 ? k + 1 : 5);
    wb_bits(w, zz, dod_width[k]);
}

static inline __attribute__((always_inline)) uint64_t get_dod(bitrd_t *r)
{
    br_fill(r);
    if (!(r->win >> 63)) {
        br_take(r, 1);
        return 0;
    }
    /* k ones (1..5) then, below five, a zero */
    unsigned k = (unsigned)__builtin_clzll(~r->win | (UINT64_C(1) << 58));
    if (k > 5)
        k = 5;
    br_take(r, k + (k < 5));
    return (uint64_t)unzigzag(br_bits(r, dod_width[k]));
}

/* ---- values: Gorilla XOR ---- */

typedef struct xorstate {
    uint64_t prev;  /* previous value's bits */
    unsigned lead;  /* leading zeros of the current window */
    unsigned trail; /* trailing zeros of the current window */
    int window;     /* a window exists */
} xorstate_t;

/* Bits needed (w == NULL) or written for one value. */
static unsigned xor_put(wbuf_t *w, xorstate_t *st, uint64_t bits)
{
    uint64_t x = bits ^ st->prev;
    st->prev = bits;
    if (x == 0) {
        if (w)
            wb_bits(w, 0, 1);
        return 1;
    }
    unsigned lead = (unsigned)__builtin_clzll(x), trail = (unsigned)__builtin_ctzll(x);
    if (lead > 31)
        lead = 31;
    if (st->window && lead >= st->lead && trail >= st->trail) {
        unsigned sig = 64 - st->lead - st->trail;
        if (w) {
            wb_bits(w, 2, 2);
            wb_bits(w, x >> st->trail, sig);
        }
        return 2 + sig;
    }
    unsigned sig = 64 - lead - trail;
    st->lead = lead;
    st->trail = trail;
    st->window = 1;
    if (w) {
        wb_bits(w, 3, 2);
        wb_bits(w, lead, 5);
        wb_bits(w, sig - 1, 6);
        wb_bits(w, x >> trail, sig);
    }
    return 13 + sig;
}

static uint64_t dbits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof(b));
    return b;
}

static double bitsd(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
}

static uint64_t xor_cost(const omega_sample_t *s, size_t n)
{
    xorstate_t st = {.prev = dbits(s[0].value)};
    uint64_t bits = 64;
    for (size_t i = 1; i < n; i++)
        bits += xor_put(NULL, &st, dbits(s[i].value));
    return bits;
}

static inline __attribute__((always_inline)) int xor_get(bitrd_t *r, xorstate_t *st, uint64_t *out)
{
    br_fill(r);
    uint64_t w = r->win;
    if (!(w >> 63)) {
        br_take(r, 1);
        *out = st->prev;
        return 0;
    }
    if ((w >> 62) & 1) {
        /* '11', 5 bits of leading zeros, 6 bits of length - 1 */
        unsigned lead = (unsigned)(w >> 57) & 31, sig = ((unsigned)(w >> 51) & 63) + 1;
        br_take(r, 13);
        if (lead + sig > 64)
            return -1;
        st->lead = lead;
        st->trail = 64 - lead - sig;
        st->window = 1;
    } else if (!st->window) {
        return -1;
    } else {
        br_take(r, 2);
    }
    st->prev ^= br_bits(r, 64 - st->lead - st->trail) << st->trail;
    *out = st->prev;
    return 0;
}

/* ---- values: scaled decimal integers ---- */

typedef struct decplan {
    unsigned scale; /* values are k / 10^scale */
    unsigned order; /* 1: first differences, 2: second differences */
    unsigned code;  /* residual code: 0 with a zero bit, 1 without */
    unsigned width; /* short-code payload width, 1..64 */
    uint64_t bits;  /* stream bits the residuals take */
    int64_t *k;     /* the integers, owned */
} decplan_t;

/* The integer k with k / 10^scale == v bit for bit, or 0 when there is none. */
static int to_scaled(double v, unsigned scale, int64_t *k)
{
    if (!isfinite(v))
        return 0;
    double r = nearbyint(v * pow10_tab[scale]);
    if (!(fabs(r) < (double)INT_LIMIT))
        return 0;
    *k = (int64_t)r;
    return dbits((double)*k / pow10_tab[scale]) == dbits(v);
}

/* Residual codes, on zigzag values of bit length l:
 *   code 0: '0' = 0, '10' + width bits, '11' + 6 bits (l-1) + l bits;
 *   code 1: '0' + width bits (zero included), '1' + 6 bits (l-1) + l bits.
 * Code 0 suits runs of equal differences (counters at a steady rate), code 1 noise.
 * le[w] = residuals of length <= w, gt_bits[w] = summed lengths of the longer ones. */
static uint64_t residual_cost(uint64_t zeros, uint64_t total, uint64_t le, uint64_t gt_bits,
                              unsigned code, unsigned width)
{
    if (code == 0)
        return zeros + (le - zeros) * (2 + width) + (total - le) * 8 + gt_bits;
    return le * (1 + width) + (total - le) * 7 + gt_bits;
}

static uint64_t residual(const int64_t *k, size_t i, unsigned order)
{
    uint64_t d = (uint64_t)k[i] - (uint64_t)k[i - 1];
    if (order == 1)
        return d;
    return d - ((uint64_t)k[i - 1] - (uint64_t)k[i - 2]);
}

/* Best order and width for the integers; fills p->order, width and bits. */
static void plan_residuals(decplan_t *p, size_t n)
{
    p->bits = UINT64_MAX;
    for (unsigned order = 1; order <= 2; order++) {
        if (n <= order)
            break;
        uint64_t hist[65] = {0}, le[65], gt_bits[65], total = n - order, sum = 0;
        for (size_t i = order; i < n; i++)
            hist[bitlen(zigzag((int64_t)residual(p->k, i, order)))]++;
        for (unsigned l = 0; l <= 64; l++) {
            le[l] = (l ? le[l - 1] : 0) + hist[l];
            sum += hist[l] * l;
        }
        for (unsigned l = 0; l <= 64; l++) {
            sum -= hist[l] * l;
            gt_bits[l] = sum;
        }
        for (unsigned code = 0; code <= 1; code++)
            for (unsigned w = 1; w <= 64; w++) {
                uint64_t c = residual_cost(hist[0], total, le[w], gt_bits[w], code, w) +
                             (order == 2 ? 16 : 0);
                if (c < p->bits) {
                    p->bits = c;
                    p->order = order;
                    p->code = code;
                    p->width = w;
                }
            }
    }
    if (p->bits == UINT64_MAX) { /* one sample */
        p->bits = 0;
        p->order = 1;
        p->width = 1;
    }
}

/* 1 and a filled plan when every value is an exact decimal of at most MAX_SCALE digits. */
static int plan_decimal(const omega_sample_t *s, size_t n, decplan_t *p)
{
    int64_t k0;
    for (unsigned scale = 0; scale <= MAX_SCALE; scale++) {
        if (!to_scaled(s[0].value, scale, &k0))
            continue;
        if (!p->k)
            p->k = omega_malloc(n * sizeof(*p->k));
        size_t i = 0;
        while (i < n && to_scaled(s[i].value, scale, &p->k[i]))
            i++;
        if (i == n) {
            p->scale = scale;
            plan_residuals(p, n);
            return 1;
        }
    }
    return 0;
}

static void put_residual(wbuf_t *w, uint64_t r, unsigned code, unsigned width)
{
    uint64_t zz = zigzag((int64_t)r);
    unsigned l = bitlen(zz);
    if (code == 1) {
        if (l <= width) {
            wb_bits(w, 0, 1);
            wb_bits(w, zz, width);
        } else {
            wb_bits(w, 1, 1);
            wb_bits(w, l - 1, 6);
            wb_bits(w, zz, l);
        }
    } else if (l == 0) {
        wb_bits(w, 0, 1);
    } else if (l <= width) {
        wb_bits(w, 2, 2);
        wb_bits(w, zz, width);
    } else {
        wb_bits(w, 3, 2);
        wb_bits(w, l - 1, 6);
        wb_bits(w, zz, l);
    }
}

static inline __attribute__((always_inline)) uint64_t get_residual(bitrd_t *r, unsigned code,
                                                                   unsigned width)
{
    br_fill(r);
    uint64_t w = r->win;
    if (code == 1 && !(w >> 63)) { /* '0' + width bits */
        if (width > 55) {
            br_take(r, 1);
            return (uint64_t)unzigzag(br_bits(r, width));
        }
        br_take(r, 1 + width);
        return (uint64_t)unzigzag((w << 1) >> (64 - width));
    }
    if (code == 0 && !(w >> 63)) { /* '0': no change */
        br_take(r, 1);
        return 0;
    }
    if (code == 0 && !((w >> 62) & 1)) { /* '10' + width bits */
        if (width > 54) {
            br_take(r, 2);
            return (uint64_t)unzigzag(br_bits(r, width));
        }
        br_take(r, 2 + width);
        return (uint64_t)unzigzag((w << 2) >> (64 - width));
    }
    /* '1' (code 1) or '11' (code 0), 6 bits of length - 1, the payload */
    br_take(r, 2 - code);
    unsigned l = (unsigned)br_take(r, 6) + 1;
    return (uint64_t)unzigzag(br_bits(r, l));
}

/* ---- encoder ---- */

static int ts_constant(const omega_sample_t *s, size_t n)
{
    uint64_t d = (uint64_t)s[1 % n].ts_ms - (uint64_t)s[0].ts_ms;
    for (size_t i = 2; i < n; i++)
        if ((uint64_t)s[i].ts_ms - (uint64_t)s[i - 1].ts_ms != d)
            return 0;
    return 1;
}

static void encode_ts_stream(wbuf_t *w, const omega_sample_t *s, size_t n)
{
    uint64_t prev_d = (uint64_t)s[1].ts_ms - (uint64_t)s[0].ts_ms;
    for (size_t i = 2; i < n; i++) {
        uint64_t d = (uint64_t)s[i].ts_ms - (uint64_t)s[i - 1].ts_ms;
        put_dod(w, d - prev_d);
        prev_d = d;
    }
}

static void encode_decimal(wbuf_t *w, const decplan_t *p, size_t n)
{
    for (size_t i = p->order; i < n; i++)
        put_residual(w, residual(p->k, i, p->order), p->code, p->width);
}

static void encode_xor(wbuf_t *w, const omega_sample_t *s, size_t n)
{
    xorstate_t st = {.prev = dbits(s[0].value)};
    wb_bits(w, st.prev, 64);
    for (size_t i = 1; i < n; i++)
        xor_put(w, &st, dbits(s[i].value));
}

/* The CRC covers the base time (8 bytes BE) and then the chunk, so a chunk read under
 * the wrong key fails its check. (Storing the first time relative to the base was
 * measured: 1.2% larger after zstd than the absolute varint, so the header keeps it.) */
static uint32_t chunk_crc(int64_t base_ts, const uint8_t *b, size_t len)
{
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)((uint64_t)base_ts >> (56 - 8 * i));
    return storage_crc32c(storage_crc32c(0, be, sizeof(be)), b, len);
}

int storage_chunk_encode(const omega_sample_t *s, size_t n, unsigned flags, int64_t base_ts,
                         uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (!s || n == 0 || n > STORAGE_CHUNK_MAX_SAMPLES)
        return OMEGA_EINVAL;
    for (size_t i = 1; i < n; i++)
        if (s[i].ts_ms <= s[i - 1].ts_ms)
            return OMEGA_EINVAL;
    unsigned ts_mode = ts_constant(s, n) ? 0 : 1;
    decplan_t dp = {0};
    int dec = !(flags & STORAGE_CHUNK_FORCE_XOR) && plan_decimal(s, n, &dp) &&
              dp.bits + 40 < xor_cost(s, n);
    wbuf_t w = {0};
    wb_reserve(&w, 64 + n * 2);
    wb_byte(&w, STORAGE_CHUNK_VERSION);
    wb_byte(&w, (uint8_t)(ts_mode | (dec ? 1u : 0u) << 4));
    wb_varint(&w, n);
    wb_varint(&w, zigzag(s[0].ts_ms));
    wb_varint(&w, (uint64_t)s[n - 1].ts_ms - (uint64_t)s[0].ts_ms);
    if (ts_mode == 1)
        wb_varint(&w, (uint64_t)s[1].ts_ms - (uint64_t)s[0].ts_ms);
    if (dec) {
        wb_byte(&w, (uint8_t)dp.scale);
        wb_byte(&w, (uint8_t)(dp.order | dp.code << 4));
        wb_byte(&w, (uint8_t)dp.width);
        wb_varint(&w, zigzag(dp.k[0]));
        if (dp.order == 2)
            wb_varint(&w, zigzag(dp.k[1] - dp.k[0]));
    }
    if (ts_mode == 1)
        encode_ts_stream(&w, s, n);
    if (dec)
        encode_decimal(&w, &dp, n);
    else
        encode_xor(&w, s, n);
    wb_flush_bits(&w);
    uint32_t crc = chunk_crc(base_ts, w.b, w.len);
    wb_reserve(&w, CRC_LEN);
    for (int i = 0; i < CRC_LEN; i++)
        w.b[w.len++] = (uint8_t)(crc >> (8 * i));
    free(dp.k);
    *out = w.b;
    *len = w.len;
    return 0;
}

/* ---- decoder ---- */

/* Value-mode parameters read from the header. */
typedef struct valhdr {
    unsigned scale, order, code, width; /* decimal mode */
    uint64_t k0, d0;                    /* first integer and first difference (order 2) */
    uint64_t first_delta;               /* delta-of-delta mode: first timestamp delta */
} valhdr_t;

static int read_header(rbuf_t *r, storage_chunk_info_t *info, valhdr_t *vh)
{
    memset(vh, 0, sizeof(*vh));
    if (rb_byte(r) != STORAGE_CHUNK_VERSION)
        return OMEGA_ECORRUPT;
    uint8_t modes = rb_byte(r);
    info->ts_mode = modes & 0x0f;
    info->val_mode = modes >> 4;
    uint64_t n = rb_varint(r);
    info->first_ts = unzigzag(rb_varint(r));
    uint64_t range = rb_varint(r);
    if (r->bad || info->ts_mode > 1 || info->val_mode > 1 || n == 0 ||
        n > STORAGE_CHUNK_MAX_SAMPLES || range > (uint64_t)INT64_MAX - (uint64_t)info->first_ts ||
        (n == 1) != (range == 0) || range < n - 1)
        return OMEGA_ECORRUPT;
    info->n = (uint32_t)n;
    info->last_ts = (int64_t)((uint64_t)info->first_ts + range);
    if (info->ts_mode == 0 && n > 1 && range % (n - 1) != 0)
        return OMEGA_ECORRUPT;
    if (info->ts_mode == 1) {
        vh->first_delta = rb_varint(r);
        if (n < 3 || vh->first_delta == 0 || vh->first_delta > range)
            return OMEGA_ECORRUPT;
    }
    info->scale = 0;
    if (info->val_mode == 1) {
        vh->scale = info->scale = rb_byte(r);
        vh->order = rb_byte(r);
        vh->code = vh->order >> 4;
        vh->order &= 0x0f;
        vh->width = rb_byte(r);
        vh->k0 = (uint64_t)unzigzag(rb_varint(r));
        if (vh->order == 2)
            vh->d0 = (uint64_t)unzigzag(rb_varint(r));
        if (vh->scale > MAX_SCALE || vh->order < 1 || vh->order > 2 || vh->code > 1 ||
            (vh->order == 2 && n < 2) || vh->width < 1 || vh->width > 64)
            return OMEGA_ECORRUPT;
    }
    return r->bad ? OMEGA_ECORRUPT : 0;
}

/* Check the CRC; on success r covers the bytes before it. */
static int open_chunk(const void *chunk, size_t len, int64_t base_ts, rbuf_t *r)
{
    if (!chunk || len < 2 + 3 + CRC_LEN)
        return OMEGA_ECORRUPT;
    const uint8_t *b = chunk;
    if (chunk_crc(base_ts, b, len - CRC_LEN) != le32(b + len - CRC_LEN))
        return OMEGA_ECORRUPT;
    *r = (rbuf_t){.b = b, .len = len - CRC_LEN};
    return 0;
}

int storage_chunk_info(const void *chunk, size_t len, int64_t base_ts, storage_chunk_info_t *info)
{
    rbuf_t r;
    valhdr_t vh;
    int rc = open_chunk(chunk, len, base_ts, &r);
    return rc ? rc : read_header(&r, info, &vh);
}

int storage_chunk_peek(const void *chunk, size_t len, storage_chunk_info_t *info)
{
    if (!chunk || len < 2 + 3 + CRC_LEN)
        return OMEGA_ECORRUPT;
    rbuf_t r = {.b = chunk, .len = len - CRC_LEN};
    valhdr_t vh;
    return read_header(&r, info, &vh);
}

static int decode_ts(bitrd_t *r, const storage_chunk_info_t *info, const valhdr_t *vh,
                     omega_sample_t *s)
{
    size_t n = info->n;
    int64_t t = info->first_ts;
    s[0].ts_ms = t;
    if (n == 1)
        return 0;
    if (info->ts_mode == 0) {
        /* the header checked that n - 1 equal steps span exactly its range */
        uint64_t d = ((uint64_t)info->last_ts - (uint64_t)info->first_ts) / (n - 1);
        for (size_t i = 1; i < n; i++)
            s[i].ts_ms = (int64_t)((uint64_t)t + d * i);
        return 0;
    }
    uint64_t d = vh->first_delta, left = (uint64_t)info->last_ts - (uint64_t)t;
    for (size_t i = 1; i < n; i++) {
        if (i >= 2)
            d += get_dod(r);
        /* every delta must be positive and stay within the header's range */
        if (d == 0 || d > left)
            return OMEGA_ECORRUPT;
        left -= d;
        t = (int64_t)((uint64_t)t + d);
        s[i].ts_ms = t;
    }
    return left != 0 ? OMEGA_ECORRUPT : 0;
}

/* Decimal values: k / 10^scale, k rebuilt from first (order 1) or second (order 2)
 * differences; integral: scale 0, no division. */
static inline __attribute__((always_inline)) void dec_loop(bitrd_t *r, const valhdr_t *vh,
                                                           omega_sample_t *s, size_t n,
                                                           unsigned order, unsigned code,
                                                           int integral)
{
    double p = pow10_tab[vh->scale];
    uint64_t k = vh->k0, d = vh->d0;
    s[0].value = integral ? (double)(int64_t)k : (double)(int64_t)k / p;
    for (size_t i = 1; i < n; i++) {
        if (order == 1) {
            k += get_residual(r, code, vh->width);
        } else {
            if (i >= 2)
                d += get_residual(r, code, vh->width);
            k += d;
        }
        s[i].value = integral ? (double)(int64_t)k : (double)(int64_t)k / p;
    }
}

static int decode_values(bitrd_t *r, const storage_chunk_info_t *info, const valhdr_t *vh,
                         omega_sample_t *s)
{
    size_t n = info->n;
    if (info->val_mode == 0) {
        xorstate_t st = {.prev = br_bits(r, 64)};
        s[0].value = bitsd(st.prev);
        for (size_t i = 1; i < n; i++) {
            uint64_t b;
            if (xor_get(r, &st, &b) != 0)
                return OMEGA_ECORRUPT;
            s[i].value = bitsd(b);
        }
        return 0;
    }
    /* one loop per (order, code, integer or not), each with its constants folded in */
    unsigned form = (vh->order - 1) << 2 | vh->code << 1 | (vh->scale == 0);
    switch (form) {
    case 0:
        dec_loop(r, vh, s, n, 1, 0, 0);
        break;
    case 1:
        dec_loop(r, vh, s, n, 1, 0, 1);
        break;
    case 2:
        dec_loop(r, vh, s, n, 1, 1, 0);
        break;
    case 3:
        dec_loop(r, vh, s, n, 1, 1, 1);
        break;
    case 4:
        dec_loop(r, vh, s, n, 2, 0, 0);
        break;
    case 5:
        dec_loop(r, vh, s, n, 2, 0, 1);
        break;
    case 6:
        dec_loop(r, vh, s, n, 2, 1, 0);
        break;
    default:
        dec_loop(r, vh, s, n, 2, 1, 1);
        break;
    }
    return 0;
}

/* Decode into *v (grown as needed, *n samples used, *cap allocated), appending. */
int storage_chunk_decode_append(const void *chunk, size_t len, int64_t base_ts, omega_sample_t **v,
                                size_t *n, size_t *cap)
{
    rbuf_t r;
    valhdr_t vh;
    storage_chunk_info_t info;
    int rc = open_chunk(chunk, len, base_ts, &r);
    if (rc == 0)
        rc = read_header(&r, &info, &vh);
    if (rc)
        return rc;
    if (*cap - *n < info.n) {
        size_t want = *cap ? *cap : 256;
        while (want - *n < info.n)
            want *= 2;
        *v = omega_realloc(*v, want * sizeof(**v));
        *cap = want;
    }
    omega_sample_t *s = *v + *n;
    bitrd_t br; /* the stream starts after the header */
    br_init(&br, r.b + r.pos, r.len - r.pos);
    rc = decode_ts(&br, &info, &vh, s);
    if (rc == 0)
        rc = decode_values(&br, &info, &vh, s);
    /* the stream ends in its last byte: a read past it or a byte after it is damage */
    uint64_t used = br_consumed(&br), have = (uint64_t)(r.len - r.pos) * 8;
    if (rc == 0 && (used > have || (used + 7) / 8 != have / 8))
        rc = OMEGA_ECORRUPT;
    if (rc == 0)
        *n += info.n;
    return rc;
}

int storage_chunk_decode(const void *chunk, size_t len, int64_t base_ts, omega_sample_t **out,
                         size_t *n)
{
    omega_sample_t *v = NULL;
    size_t used = 0, cap = 0;
    *out = NULL;
    *n = 0;
    int rc = storage_chunk_decode_append(chunk, len, base_ts, &v, &used, &cap);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = used;
    return 0;
}
