/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the chunk codec and CRC32C (storage/codec.c): bit-exact round trips over
 * random and adversarial series, the documented rejection of unsorted input, the size
 * win of the decimal mode on monitoring-shaped data, and damage detection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "omega/common.h"

/* xorshift64*: deterministic pseudo-random numbers for the property tests. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static double rnd_unit(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
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

/* Encode, decode and require a bit-exact match; returns the chunk size. */
static size_t roundtrip(const omega_sample_t *s, size_t n, unsigned flags)
{
    uint8_t *chunk = NULL;
    size_t len = 0, m = 0;
    omega_sample_t *out = NULL;
    /* the key time: usually the first sample's, earlier after a retention trim, any
     * int64 (wrapping) for the codec */
    int64_t base = (int64_t)((uint64_t)s[0].ts_ms - (rnd() % 3 ? 0 : rnd()));
    assert_int_equal(storage_chunk_encode(s, n, flags, base, &chunk, &len), 0);
    assert_non_null(chunk);
    storage_chunk_info_t info;
    assert_int_equal(storage_chunk_info(chunk, len, base, &info), 0);
    assert_int_equal(info.n, n);
    assert_true(info.first_ts == s[0].ts_ms && info.last_ts == s[n - 1].ts_ms);
    /* read under another key's time: the CRC covers the base */
    assert_int_equal(storage_chunk_info(chunk, len, base + 1, &info), OMEGA_ECORRUPT);
    assert_int_equal(storage_chunk_decode(chunk, len, base ^ 4, &out, &m), OMEGA_ECORRUPT);
    assert_int_equal(storage_chunk_decode(chunk, len, base, &out, &m), 0);
    assert_int_equal(m, n);
    for (size_t i = 0; i < n; i++) {
        assert_true(out[i].ts_ms == s[i].ts_ms);
        if (dbits(out[i].value) != dbits(s[i].value))
            fail_msg("sample %zu: value bits %016llx, expected %016llx", i,
                     (unsigned long long)dbits(out[i].value),
                     (unsigned long long)dbits(s[i].value));
    }
    /* appending after existing samples, and growing the vector from a small capacity */
    omega_sample_t *v = omega_malloc(3 * sizeof(*v));
    size_t used = 2, cap = 3;
    v[0] = v[1] = (omega_sample_t){-1, -1};
    assert_int_equal(storage_chunk_decode_append(chunk, len, base, &v, &used, &cap), 0);
    assert_int_equal(used, n + 2);
    assert_true(cap >= used && v[0].ts_ms == -1 && v[1].ts_ms == -1);
    assert_memory_equal(v + 2, out, n * sizeof(*v));
    /* a failed append (another key's time) leaves the count as it was */
    assert_int_equal(storage_chunk_decode_append(chunk, len, base + 1, &v, &used, &cap),
                     OMEGA_ECORRUPT);
    assert_int_equal(used, n + 2);
    /* the header without the CRC check gives the same span */
    assert_int_equal(storage_chunk_peek(chunk, len, &info), 0);
    assert_true(info.n == n && info.first_ts == s[0].ts_ms && info.last_ts == s[n - 1].ts_ms);
    free(v);
    free(out);
    free(chunk);
    return len;
}

/* ---- CRC32C ---- */

static uint32_t crc_bitwise(const uint8_t *p, size_t len)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

static void test_crc32c_known_and_sliced(void **state)
{
    (void)state;
    assert_int_equal(storage_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(storage_crc32c(0, "", 0), 0);
    uint8_t buf[300];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)rnd();
    /* every length and alignment agrees with the bit-at-a-time definition */
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len + off <= sizeof(buf); len += 7) {
            assert_int_equal(storage_crc32c(0, buf + off, len), crc_bitwise(buf + off, len));
            /* the table version (CPUs without the crc32 instruction) agrees too */
            assert_int_equal(storage_crc32c_tables(0, buf + off, len),
                             crc_bitwise(buf + off, len));
        }
    assert_int_equal(storage_crc32c_tables(0, "123456789", 9), 0xE3069283u);
    /* incremental == one shot */
    uint32_t c = storage_crc32c(0, buf, 100);
    c = storage_crc32c(c, buf + 100, 200);
    assert_int_equal(c, storage_crc32c(0, buf, 300));
}

/* ---- round trips ---- */

static void fill_ts(omega_sample_t *s, size_t n, int kind)
{
    int64_t t = (int64_t)(rnd() % 4000000000000ull) - 1000000000000ll;
    for (size_t i = 0; i < n; i++) {
        s[i].ts_ms = t;
        switch (kind) {
        case 0: t += 1000; break;                                 /* constant interval */
        case 1: t += 1000 + (int64_t)(rnd() % 21) - 10; break;     /* scrape jitter */
        case 2: t += 1 + (int64_t)(rnd() % 100000000); break;      /* irregular, large */
        default: t += (int64_t)1 << (rnd() % 40); break;           /* wildly varying */
        }
    }
}

static void fill_values(omega_sample_t *s, size_t n, int kind)
{
    double v = (double)(rnd() % 100000);
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: v += (double)(rnd() % 5000); s[i].value = v; break;        /* counter */
        case 1: s[i].value = round(rnd_unit() * 10000) / 100; break;        /* 37.25-like */
        case 2: s[i].value = bitsd(rnd()); break;                           /* any bits */
        case 3: s[i].value = 42.0; break;                                   /* constant */
        case 4: s[i].value = rnd_unit() * 1e6 - 5e5; break;                 /* full precision */
        default: s[i].value = round((rnd_unit() * 2 - 1) * 1e5) / 8; break; /* binary fractions */
        }
    }
}

static void test_roundtrip_random_series(void **state)
{
    (void)state;
    static omega_sample_t s[STORAGE_CHUNK_MAX_SAMPLES];
    size_t sizes[] = {1, 2, 3, 4, 17, 120, 1000, 4096};
    for (int round = 0; round < 3; round++)
        for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
            for (int tk = 0; tk < 4; tk++)
                for (int vk = 0; vk < 6; vk++) {
                    fill_ts(s, sizes[si], tk);
                    fill_values(s, sizes[si], vk);
                    roundtrip(s, sizes[si], 0);
                    roundtrip(s, sizes[si], STORAGE_CHUNK_FORCE_XOR);
                }
    /* the largest chunk */
    fill_ts(s, STORAGE_CHUNK_MAX_SAMPLES, 1);
    fill_values(s, STORAGE_CHUNK_MAX_SAMPLES, 1);
    roundtrip(s, STORAGE_CHUNK_MAX_SAMPLES, 0);
}

static void test_roundtrip_special_values(void **state)
{
    (void)state;
    const double specials[] = {
        NAN, -NAN, bitsd(0x7ff0000000000001ull) /* signalling NaN */,
        bitsd(0x7ff8deadbeef0001ull) /* NaN payload */, bitsd(0xfff0000000000123ull),
        INFINITY, -INFINITY, 0.0, -0.0, DBL_MIN, -DBL_MIN, DBL_MAX, -DBL_MAX,
        DBL_TRUE_MIN, -DBL_TRUE_MIN, bitsd(0x000fffffffffffffull) /* largest denormal */,
        9007199254740992.0, -9007199254740993.0, 1e300, 1e-300, 0.1, 12.5, 37.25,
    };
    size_t n = sizeof(specials) / sizeof(specials[0]);
    omega_sample_t s[64];
    for (size_t i = 0; i < n; i++)
        s[i] = (omega_sample_t){(int64_t)i * 1000, specials[i]};
    roundtrip(s, n, 0);
    /* every special alone, and in a run of decimals where it must force XOR mode */
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < 10; k++)
            s[k] = (omega_sample_t){(int64_t)k * 15000, 12.5 + (double)k};
        s[5].value = specials[i];
        roundtrip(s, 10, 0);
        roundtrip(&s[5], 1, 0);
    }
}

static void test_roundtrip_extreme_timestamps(void **state)
{
    (void)state;
    omega_sample_t s[8];
    /* the whole int64 range in one delta */
    s[0] = (omega_sample_t){INT64_MIN, 1};
    s[1] = (omega_sample_t){INT64_MAX, 2};
    roundtrip(s, 2, 0);
    /* negative times, huge then tiny deltas, crossing zero */
    int64_t ts[] = {INT64_MIN + 1, -4000000000000000000ll, -1, 0, 1, 2,
                    4000000000000000000ll, INT64_MAX};
    for (int i = 0; i < 8; i++)
        s[i] = (omega_sample_t){ts[i], i * 0.5};
    roundtrip(s, 8, 0);
    /* constant interval with one huge step in the middle (delta-of-delta escape) */
    for (int i = 0; i < 8; i++)
        s[i] = (omega_sample_t){(int64_t)i * 10 + (i >= 4 ? (int64_t)1 << 62 : 0), i};
    roundtrip(s, 8, 0);
    /* a constant interval of 2^63 */
    s[0] = (omega_sample_t){INT64_MIN, 0};
    s[1] = (omega_sample_t){0, 0};
    roundtrip(s, 2, 0);
}

static void test_unsorted_and_bad_arguments_rejected(void **state)
{
    (void)state;
    uint8_t *chunk = (uint8_t *)1;
    size_t len = 1;
    omega_sample_t s[3] = {{1000, 1}, {2000, 2}, {2000, 3}};
    /* duplicate timestamp: the caller resolves duplicates (last write wins) first */
    assert_int_equal(storage_chunk_encode(s, 3, 0, 0, &chunk, &len), OMEGA_EINVAL);
    assert_null(chunk);
    assert_int_equal(len, 0);
    s[2].ts_ms = 1500; /* going back in time */
    assert_int_equal(storage_chunk_encode(s, 3, 0, 0, &chunk, &len), OMEGA_EINVAL);
    assert_int_equal(storage_chunk_encode(s, 0, 0, 0, &chunk, &len), OMEGA_EINVAL);
    assert_int_equal(storage_chunk_encode(NULL, 1, 0, 0, &chunk, &len), OMEGA_EINVAL);
    assert_int_equal(storage_chunk_encode(s, STORAGE_CHUNK_MAX_SAMPLES + 1, 0, 0, &chunk, &len),
                     OMEGA_EINVAL);
    omega_sample_t *out = (omega_sample_t *)1;
    size_t n = 1;
    assert_int_equal(storage_chunk_decode(NULL, 0, 0, &out, &n), OMEGA_ECORRUPT);
    assert_null(out);
    assert_int_equal(storage_chunk_decode("", 0, 0, &out, &n), OMEGA_ECORRUPT);
}

/* ---- the decimal mode's measured win ---- */

static size_t encoded_size(const omega_sample_t *s, size_t n, unsigned flags)
{
    uint8_t *chunk;
    size_t len;
    assert_int_equal(storage_chunk_encode(s, n, flags, s[0].ts_ms, &chunk, &len), 0);
    free(chunk);
    return len;
}

static void test_decimal_mode_beats_xor_on_monitoring_data(void **state)
{
    (void)state;
    enum { N = 120 };
    omega_sample_t s[N];
    const char *names[] = {"counter", "percent 2 decimals", "integer gauge", "1 decimal"};
    for (int kind = 0; kind < 4; kind++) {
        double c = 1e9;
        for (int i = 0; i < N; i++) {
            double v;
            switch (kind) {
            case 0: c += 1000 + (double)(rnd() % 600); v = c; break;
            case 1: v = round((37 + 5 * sin(i / 10.0) + rnd_unit()) * 100) / 100; break;
            case 2: v = (double)(300 + (int)(rnd() % 20)); break;
            default: v = round((55 + 3 * sin(i / 7.0) + rnd_unit()) * 10) / 10; break;
            }
            s[i] = (omega_sample_t){1700000000000 + i * 1000, v};
        }
        size_t dec = encoded_size(s, N, 0), xor = encoded_size(s, N, STORAGE_CHUNK_FORCE_XOR);
        uint8_t *chunk;
        size_t len;
        assert_int_equal(storage_chunk_encode(s, N, 0, s[0].ts_ms, &chunk, &len), 0);
        storage_chunk_info_t info;
        assert_int_equal(storage_chunk_info(chunk, len, s[0].ts_ms, &info), 0);
        free(chunk);
        print_message("%-20s decimal %4zu B (%.2f B/sample)  xor %4zu B (%.2f B/sample)\n",
                      names[kind], dec, (double)dec / N, xor, (double)xor / N);
        assert_int_equal(info.val_mode, 1);
        assert_int_equal(info.ts_mode, 0); /* constant interval: no timestamp bits */
        if (kind == 2)
            assert_true(dec <= xor); /* small random integers: XOR is already good */
        else
            assert_true(dec * 10 < xor * 7); /* at least 30% smaller */
        roundtrip(s, N, 0);
    }
    /* full-precision floats keep XOR: the encoder never picks the larger form */
    for (int i = 0; i < N; i++)
        s[i] = (omega_sample_t){i * 1000, rnd_unit()};
    assert_true(encoded_size(s, N, 0) <= encoded_size(s, N, STORAGE_CHUNK_FORCE_XOR));
}

/* ---- damage ---- */

static void test_crc_catches_bit_flips_and_truncation(void **state)
{
    (void)state;
    omega_sample_t s[200];
    fill_ts(s, 200, 1);
    fill_values(s, 200, 4);
    uint8_t *chunk;
    size_t len;
    omega_sample_t *out;
    size_t n;
    storage_chunk_info_t info;
    assert_int_equal(storage_chunk_encode(s, 200, 0, 0, &chunk, &len), 0);
    for (size_t bit = 0; bit < len * 8; bit++) {
        chunk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(storage_chunk_decode(chunk, len, 0, &out, &n), OMEGA_ECORRUPT);
        assert_null(out);
        assert_int_equal(storage_chunk_info(chunk, len, 0, &info), OMEGA_ECORRUPT);
        chunk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(storage_chunk_decode(chunk, cut, 0, &out, &n), OMEGA_ECORRUPT);
    /* a burst of damage in the middle */
    memset(chunk + len / 2, 0xA5, 6);
    assert_int_equal(storage_chunk_decode(chunk, len, 0, &out, &n), OMEGA_ECORRUPT);
    free(chunk);
}

/* Random bytes with a valid CRC reach the header and stream parsers: each must be
 * rejected or decode to strictly increasing timestamps, never crash or over-read
 * (ASan watches the heap copy, sized exactly). */
static void test_garbage_with_valid_crc(void **state)
{
    (void)state;
    int decoded = 0;
    for (int iter = 0; iter < 200000; iter++) {
        size_t len = 4 + rnd() % 60;
        uint8_t *b = malloc(len);
        for (size_t i = 0; i < len - 4; i++)
            b[i] = (uint8_t)rnd();
        if (len > 4 && iter % 2)
            b[0] = STORAGE_CHUNK_VERSION; /* get past the version byte more often */
        if (len > 5 && iter % 4 == 1)
            b[1] = (uint8_t)(rnd() % 2 | (rnd() % 2) << 4);
        static const uint8_t zero_base[8]; /* the CRC starts with the base time, 0 here */
        uint32_t crc = storage_crc32c(storage_crc32c(0, zero_base, 8), b, len - 4);
        for (int i = 0; i < 4; i++)
            b[len - 4 + i] = (uint8_t)(crc >> (8 * i));
        omega_sample_t *out;
        size_t n;
        int rc = storage_chunk_decode(b, len, 0, &out, &n);
        assert_true(rc == 0 || rc == OMEGA_ECORRUPT);
        if (rc == 0) {
            decoded++;
            for (size_t i = 1; i < n; i++)
                assert_true(out[i].ts_ms > out[i - 1].ts_ms);
            free(out);
        }
        free(b);
    }
    print_message("garbage chunks that decoded cleanly: %d of 200000\n", decoded);
}

/* Re-sign bytes b[0, len - 4) with the CRC a chunk stored under base 0 carries. */
static void resign(uint8_t *b, size_t len)
{
    static const uint8_t zero_base[8];
    uint32_t crc = storage_crc32c(storage_crc32c(0, zero_base, 8), b, len - 4);
    for (int i = 0; i < 4; i++)
        b[len - 4 + i] = (uint8_t)(crc >> (8 * i));
}

/* A real chunk whose bit stream is cut short or extended, re-signed so the CRC passes:
 * the decoder must see that the stream ends too early (it reads zero bits past the end
 * and checks their count once) or has bytes after its last bit. */
static void test_short_and_long_streams_with_valid_crc(void **state)
{
    (void)state;
    enum { N = 300 };
    omega_sample_t s[N];
    for (int ts = 0; ts < 4; ts++)
        for (int vk = 0; vk < 6; vk++) {
            fill_ts(s, N, ts);
            fill_values(s, N, vk);
            uint8_t *c;
            size_t len;
            assert_int_equal(storage_chunk_encode(s, N, 0, 0, &c, &len), 0);
            for (size_t cut = 1; cut <= 16 && cut + 4 + 8 < len; cut++) {
                uint8_t *b = malloc(len - cut);
                memcpy(b, c, len - cut - 4);
                resign(b, len - cut);
                omega_sample_t *out = NULL;
                size_t n = 0;
                int rc = storage_chunk_decode(b, len - cut, 0, &out, &n);
                if (vk != 3) /* a constant series' stream may end in zero bits */
                    assert_int_equal(rc, OMEGA_ECORRUPT);
                else
                    assert_true(rc == 0 || rc == OMEGA_ECORRUPT);
                if (rc == 0)
                    free(out);
                free(b);
            }
            for (size_t extra = 1; extra <= 9; extra++) {
                uint8_t *b = calloc(len + extra, 1);
                memcpy(b, c, len - 4);
                resign(b, len + extra);
                omega_sample_t *out = NULL;
                size_t n = 0;
                assert_int_equal(storage_chunk_decode(b, len + extra, 0, &out, &n),
                                 OMEGA_ECORRUPT);
                free(b);
            }
            free(c);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_known_and_sliced),
        cmocka_unit_test(test_roundtrip_random_series),
        cmocka_unit_test(test_roundtrip_special_values),
        cmocka_unit_test(test_roundtrip_extreme_timestamps),
        cmocka_unit_test(test_unsorted_and_bad_arguments_rejected),
        cmocka_unit_test(test_decimal_mode_beats_xor_on_monitoring_data),
        cmocka_unit_test(test_crc_catches_bit_flips_and_truncation),
        cmocka_unit_test(test_garbage_with_valid_crc),
        cmocka_unit_test(test_short_and_long_streams_with_valid_crc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
