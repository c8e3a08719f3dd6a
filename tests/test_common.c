/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the common module: the textual units people type (durations, byte sizes,
 * RFC 3339 times), strict UTF-8 validation, the growable buffer with its JSON string and
 * number formatting, metric and label name rules, the error record and the logger.
 * Bad input gets at least as many cases as good input. Expected times were computed
 * independently (Python's datetime), not with the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <float.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omega/buf.h"
#include "omega/common.h"
#include "omega/log.h"
#include "omega/metric.h"
#include "testutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Fixed-seed xorshift64* so every run checks the same values. */
static uint64_t prng_state;

/* Each test that draws numbers seeds first, so it checks the same values when run alone. */
static void prng_seed(uint64_t seed)
{
    prng_state = seed ? seed : 0x9E3779B97F4A7C15ULL;
}

static uint64_t prng_next(void)
{
    uint64_t x = prng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    prng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* A uniformly drawn integer in [lo, hi]. */
static int64_t prng_range(int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    return (int64_t)((uint64_t)lo + (span ? prng_next() % span : prng_next()));
}

/* ------------------------------------------------------------------------------------ */
/* omega_duration_parse / omega_duration_format                                          */

typedef struct dur_case {
    const char *in;
    int64_t unit_ms;
    int64_t want_ms;
} dur_case_t;

static void test_duration_parse_accepts_units(void **state)
{
    static const dur_case_t cases[] = {
        {"250ms", 1000, 250},
        {"30s", 1000, 30000},
        {"5m", 1000, 300000},
        {"1h30m", 1000, 5400000},
        {"7d", 1000, 604800000},
        {"2w", 1000, 1209600000},
        {"1y", 1000, 31536000000LL},
        {"0s", 1000, 0},
        {"0ms", 1, 0},
        {"1ms", 1000, 1},
        {"1m1ms", 1, 60001},          /* "ms" is matched before "m" */
        {"1d1h1m1s1ms", 1, 90061001}, /* every unit once */
        {"1s1s", 1, 2000},            /* repeated units add up */
        {"90m", 1, 5400000},
        {"0001s", 1, 1000},
        {"106751991167d", 1, 106751991167LL * 86400000}, /* the largest whole day count */
        {"292471208y", 1, 292471208LL * 31536000000LL},   /* the largest whole year count */
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        int64_t ms = -1;
        int rc = omega_duration_parse(cases[i].in, cases[i].unit_ms, &ms);
        if (rc != 0 || ms != cases[i].want_ms)
            fail_msg("\"%s\": rc %d ms %lld, want %lld", cases[i].in, rc, (long long)ms,
                     (long long)cases[i].want_ms);
    }
}

static void test_duration_parse_bare_number_uses_field_unit(void **state)
{
    static const dur_case_t cases[] = {
        {"250", 1, 250},      {"5", 1, 5},          {"5", 1000, 5000},   {"30", 1000, 30000},
        {"0", 1000, 0},       {"1.5", 1000, 1500},  {"0.25", 1000, 250}, {"1.5", 1, 2},
        {"0.001", 1000, 1},   {"3600", 1000, 3600000},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        int64_t ms = -1;
        int rc = omega_duration_parse(cases[i].in, cases[i].unit_ms, &ms);
        if (rc != 0 || ms != cases[i].want_ms)
            fail_msg("\"%s\" (unit %lld): rc %d ms %lld, want %lld", cases[i].in,
                     (long long)cases[i].unit_ms, rc, (long long)ms, (long long)cases[i].want_ms);
    }
}

static void test_duration_parse_rejects_bad_input(void **state)
{
    static const char *const bad[] = {
        "",
        "-5s",
        "-5",
        "-0.5",
        "5x",
        "5S",    /* units are lower case */
        "s",
        "ms",
        "1h-3m",
        "1m5",   /* trailing number without unit */
        "1.5s",  /* fractions only for bare numbers */
        "9999999999999999999d",
        "9999999999999999999",   /* bare, overflows int64 milliseconds */
        "106751991168d",         /* one day over INT64_MAX ms */
        "292471209y",
        "106751991167d1d",       /* the sum overflows */
        "99999999999999999999999999999ms",
        " 5s",
        "5s ",
        " 5",
        "\t30",
        "5 ",
        "1h 30m",
        "\n",
        "nan",
        "inf",
        "+inf",
        "infinity",
        "1h30",
        "h1",
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        int64_t ms = 12345;
        int rc = omega_duration_parse(bad[i], 1000, &ms);
        if (rc != OMEGA_EINVAL)
            fail_msg("\"%s\" accepted (rc %d, ms %lld)", bad[i], rc, (long long)ms);
        rc = omega_duration_parse(bad[i], 1, &ms);
        if (rc != OMEGA_EINVAL)
            fail_msg("\"%s\" accepted with unit 1 (rc %d, ms %lld)", bad[i], rc, (long long)ms);
    }
    int64_t ms = 0;
    assert_int_equal(omega_duration_parse(NULL, 1000, &ms), OMEGA_EINVAL);
}

static void test_duration_format_known_values(void **state)
{
    static const struct {
        int64_t ms;
        const char *want;
    } cases[] = {
        {0, "0s"},
        {1, "1ms"},
        {250, "250ms"},
        {1000, "1s"},
        {1500, "1s500ms"},
        {60000, "1m"},
        {5400000, "1h30m"},
        {86400000, "1d"},
        {604800000, "7d"},
        {31536000000LL, "365d"},
        {90061001, "1d1h1m1s1ms"},
        {INT64_MAX, "106751991167d7h12m55s807ms"},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char buf[64];
        assert_ptr_equal(omega_duration_format(cases[i].ms, buf, sizeof(buf)), buf);
        assert_string_equal(buf, cases[i].want);
    }
}

static void test_duration_format_parse_round_trip(void **state)
{
    prng_seed(1);
    /* Canonical forms come back unchanged. */
    static const char *const canon[] = {"250ms", "30s", "5m", "1h30m", "7d", "2h",
                                        "1d1h1m1s1ms", "59m59s999ms", "365d", "1h1ms"};
    for (size_t i = 0; i < N_ELEMS(canon); i++) {
        int64_t ms = 0;
        char buf[64];
        assert_int_equal(omega_duration_parse(canon[i], 1000, &ms), 0);
        assert_string_equal(omega_duration_format(ms, buf, sizeof(buf)), canon[i]);
    }
    /* Non-canonical input formats to the canonical form. */
    int64_t ms = 0;
    char buf[64];
    assert_int_equal(omega_duration_parse("2w", 1000, &ms), 0);
    assert_string_equal(omega_duration_format(ms, buf, sizeof(buf)), "14d");
    assert_int_equal(omega_duration_parse("90m", 1000, &ms), 0);
    assert_string_equal(omega_duration_format(ms, buf, sizeof(buf)), "1h30m");
    /* Any positive value survives format then parse. */
    for (int i = 0; i < 20000; i++) {
        int64_t v = i < 10000 ? prng_range(1, 10LL * 86400000) : prng_range(1, INT64_MAX);
        int64_t back = -1;
        omega_duration_format(v, buf, sizeof(buf));
        if (omega_duration_parse(buf, 1000, &back) != 0 || back != v)
            fail_msg("%lld -> \"%s\" -> %lld", (long long)v, buf, (long long)back);
    }
    assert_int_equal(omega_duration_parse(omega_duration_format(INT64_MAX, buf, sizeof(buf)),
                                          1, &ms),
                     0);
    assert_true(ms == INT64_MAX);
}

static void test_duration_format_small_buffer(void **state)
{
    /* Heap buffers of exact size so ASan catches any write past the end. */
    for (size_t len = 1; len <= 8; len++) {
        char *buf = omega_malloc(len);
        omega_duration_format(5400000, buf, len);
        assert_true(strlen(buf) < len);
        assert_memory_equal(buf, "1h30m", strlen(buf));
        omega_duration_format(0, buf, len);
        assert_true(strlen(buf) < len);
        free(buf);
    }
    char untouched[4] = "xyz";
    omega_duration_format(1000, untouched, 0);
    assert_string_equal(untouched, "xyz");
}

/* ------------------------------------------------------------------------------------ */
/* omega_size_parse                                                                      */

static void test_size_parse_accepts_units(void **state)
{
    static const struct {
        const char *in;
        uint64_t want;
    } cases[] = {
        {"0", 0},
        {"1024", 1024},
        {"10737418240", 10737418240ULL},
        {"100B", 100},
        {"1KB", 1000},
        {"10GB", 10000000000ULL},
        {"2TB", 2000000000000ULL},
        {"3MB", 3000000},
        {"1KiB", 1024},
        {"512MiB", 536870912ULL},
        {"10GiB", 10737418240ULL},
        {"2TiB", 2199023255552ULL},
        {"1K", 1024},         /* bare letters are binary */
        {"4M", 4194304},
        {"1G", 1073741824ULL},
        {"1T", 1099511627776ULL},
        {"1.5K", 1536},       /* fractions are allowed and scaled */
        {"1.5KiB", 1536},
        {"0.5GB", 500000000},
        {"10 GiB", 10737418240ULL}, /* spaces between number and unit are allowed */
        {"9000000000000000000", 9000000000000000000ULL},
        {"10000000000000000000", 10000000000000000000ULL}, /* above INT64_MAX */
        {"16000000TiB", 16000000ULL * 1099511627776ULL},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        uint64_t v = 7;
        int rc = omega_size_parse(cases[i].in, &v);
        if (rc != 0 || v != cases[i].want)
            fail_msg("\"%s\": rc %d v %llu, want %llu", cases[i].in, rc, (unsigned long long)v,
                     (unsigned long long)cases[i].want);
    }
}

static void test_size_parse_rejects_bad_input(void **state)
{
    static const char *const bad[] = {
        "",
        "-1",
        "-0",
        "-1KiB",
        "10XB",
        "10gib",   /* units are case-sensitive */
        "10Gib",
        "10 GiB ", /* nothing after the unit */
        "10GiBx",
        " 5",
        "\t5",
        "\n5",
        "GiB",
        "B",
        "K5",
        "1e30",
        "18446744073709551616",  /* 2^64 */
        "99999999999999999999",
        "17000000TiB",
        "1e400",                 /* strtod range error */
        "nan",
        "inf",
        "infinity",
        "NaNGiB",
        "1,5K",
        "5 5",
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        uint64_t v = 777;
        int rc = omega_size_parse(bad[i], &v);
        if (rc != OMEGA_EINVAL)
            fail_msg("\"%s\" accepted (rc %d, v %llu)", bad[i], rc, (unsigned long long)v);
    }
    uint64_t v = 0;
    assert_int_equal(omega_size_parse(NULL, &v), OMEGA_EINVAL);
}

/* ------------------------------------------------------------------------------------ */
/* omega_time_parse / omega_time_format_rfc3339                                          */

static void test_time_parse_accepts_rfc3339_and_unix_seconds(void **state)
{
    static const struct {
        const char *in;
        int64_t want;
    } cases[] = {
        {"2026-11-26T07:01:49Z", 1795676509000LL},
        {"2026-11-26T07:01:49.123Z", 1795676509123LL},
        {"2026-11-26T07:01:49.1Z", 1795676509100LL},
        {"2026-11-26T07:01:49.123456789Z", 1795676509123LL}, /* sub-ms digits dropped */
        {"2026-11-26T08:01:49.5+01:00", 1795676509500LL},
        {"2026-11-26T01:31:49-05:30", 1795676509000LL},
        {"2026-11-26T07:01:49+00:00", 1795676509000LL},
        {"2026-11-26T07:01:49-00:00", 1795676509000LL},
        {"2026-11-26t07:01:49z", 1795676509000LL},
        {"2026-11-26 07:01:49Z", 1795676509000LL}, /* RFC 3339 section 5.6 note */
        {"1970-01-01T00:00:00Z", 0},
        {"2016-12-31T23:59:60Z", 1483228800000LL}, /* leap second folds into the next */
        {"1969-12-31T23:59:59.999Z", -1},
        {"1969-07-20T20:17:40Z", -14182940000LL},
        {"2000-02-29T12:00:00Z", 951825600000LL},
        {"2024-02-29T00:00:00Z", 1709164800000LL},
        {"2024-03-01T00:00:00Z", 1709251200000LL},
        {"0001-01-01T00:00:00Z", -62135596800000LL},
        {"0000-01-01T00:00:00Z", -62167219200000LL},
        {"9999-12-31T23:59:59.999Z", 253402300799999LL},
        {"1764140509.5", 1764140509500LL},
        {"1764140509", 1764140509000LL},
        {"0", 0},
        {"0.001", 1},
        {"-1", -1000},
        {"-1.5", -1500},
        {"-86400", -86400000},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        int64_t ms = 42;
        int rc = omega_time_parse(cases[i].in, &ms);
        if (rc != 0 || ms != cases[i].want)
            fail_msg("\"%s\": rc %d ms %lld, want %lld", cases[i].in, rc, (long long)ms,
                     (long long)cases[i].want);
    }
}

static void test_time_parse_rejects_bad_input(void **state)
{
    static const char *const bad[] = {
        "",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-11-00T00:00:00Z",
        "2026-11-32T00:00:00Z",
        "2026-02-30T00:00:00Z", /* no such day */
        "2026-04-31T00:00:00Z",
        "2025-02-29T00:00:00Z", /* not a leap year */
        "2100-02-29T00:00:00Z", /* century, not a leap year */
        "2026-11-26T24:00:00Z",
        "2026-11-26T07:60:00Z",
        "2026-11-26T07:01:61Z",
        "2026-11-26",
        "2026-11-26T07:01:49",  /* no zone */
        "2026-11-26T07:01Z",
        "2026-11-26T07:01:49.Z",
        "2026-11-26T07:01:49+01",
        "2026-11-26T07:01:49+0100",
        "2026-11-26T07:01:49+01:60",
        "2026-11-26T07:01:49+24:00",
        "2026-11-26T07:01:49 Z",
        "2026-11-26T07:01:49ZZ",
        "2026-11-26T07:01:49Z junk",
        "2026-11-26T07:01:49+01:00x",
        "2026-11-26X07:01:49Z",
        "2026/11/26T07:01:49Z",
        "26-11-2026T07:01:49Z",
        "+026-11-26T07:01:49Z",
        "2026-1a-26T07:01:49Z",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "infinity",
        "1764140509.5s",
        "1764140509x",
        " 1764140509",
        "1764140509 ",
        "1e20",   /* seconds beyond int64 milliseconds */
        "-1e20",
        "now",
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        int64_t ms = 42;
        int rc = omega_time_parse(bad[i], &ms);
        if (rc != OMEGA_EINVAL)
            fail_msg("\"%s\" accepted (rc %d, ms %lld)", bad[i], rc, (long long)ms);
    }
    int64_t ms = 0;
    assert_int_equal(omega_time_parse(NULL, &ms), OMEGA_EINVAL);
}

static void test_time_format_rfc3339_known_values(void **state)
{
    static const struct {
        int64_t ms;
        const char *want;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {1795676509123LL, "2026-11-26T07:01:49.123Z"},
        {1234567890123LL, "2009-02-13T23:31:30.123Z"},
        {951825600000LL, "2000-02-29T12:00:00.000Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {-999, "1969-12-31T23:59:59.001Z"},
        {-1000, "1969-12-31T23:59:59.000Z"},
        {-1001, "1969-12-31T23:59:58.999Z"},
        {-14182940000LL, "1969-07-20T20:17:40.000Z"},
        {-62167219200000LL, "0000-01-01T00:00:00.000Z"},
        {253402300799999LL, "9999-12-31T23:59:59.999Z"},
        /* No RFC 3339 form outside years 0..9999: raw milliseconds. */
        {-62167219200001LL, "-62167219200001"},
        {253402300800000LL, "253402300800000"},
        {INT64_MIN, "-9223372036854775808"},
        {INT64_MAX, "9223372036854775807"},
        {INT64_MIN + 1, "-9223372036854775807"},
        {INT64_MAX - 1, "9223372036854775806"},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char buf[32];
        assert_ptr_equal(omega_time_format_rfc3339(cases[i].ms, buf, sizeof(buf)), buf);
        if (strcmp(buf, cases[i].want) != 0)
            fail_msg("%lld -> \"%s\", want \"%s\"", (long long)cases[i].ms, buf, cases[i].want);
    }
}

static void test_time_format_parse_round_trip(void **state)
{
    prng_seed(2);
    static const int64_t edges[] = {0, 1, -1, 999, -999, 1000, -1000, 86399999, -86400001,
                                    -62167219200000LL, 253402300799999LL, 951825600000LL,
                                    1795676509123LL};
    char buf[32];
    for (size_t i = 0; i < N_ELEMS(edges) + 50000; i++) {
        int64_t v = i < N_ELEMS(edges) ? edges[i]
                                       : prng_range(-62167219200000LL, 253402300799999LL);
        int64_t back = 0;
        omega_time_format_rfc3339(v, buf, sizeof(buf));
        assert_int_equal(strlen(buf), 24);
        if (omega_time_parse(buf, &back) != 0 || back != v)
            fail_msg("%lld -> \"%s\" -> %lld", (long long)v, buf, (long long)back);
    }
}

/* ------------------------------------------------------------------------------------ */
/* omega_utf8_valid                                                                      */

typedef struct bytes_case {
    const char *s;
    size_t n;
} bytes_case_t;

#define B(lit) {lit, sizeof(lit) - 1}

static void test_utf8_valid_accepts(void **state)
{
    static const bytes_case_t good[] = {
        B(""),
        B("plain ASCII, 0-9 ~!@#"),
        B("\x7f"),
        B("\xC2\x80"),         /* U+0080, smallest 2-byte */
        B("\xC2\xA9"),         /* U+00A9 copyright */
        B("\xDF\xBF"),         /* U+07FF, largest 2-byte */
        B("\xE0\xA0\x80"),     /* U+0800, smallest 3-byte */
        B("\xE2\x82\xAC"),     /* U+20AC euro */
        B("\xED\x9F\xBF"),     /* U+D7FF, just below the surrogates */
        B("\xEE\x80\x80"),     /* U+E000, just above them */
        B("\xEF\xBF\xBF"),     /* U+FFFF */
        B("\xF0\x90\x80\x80"), /* U+10000, smallest 4-byte */
        B("\xF0\x9F\x98\x80"), /* U+1F600 */
        B("\xF4\x8F\xBF\xBF"), /* U+10FFFF, the last code point */
        B("caf\xC3\xA9 \xE2\x82\xAC 5 \xF0\x9F\x98\x80!"),
        B("a\0b"),             /* embedded NUL, counted by length */
        B("\0\0\0"),
        B("\xC2\xA9\0\xC2\xA9"),
    };
    for (size_t i = 0; i < N_ELEMS(good); i++)
        if (!omega_utf8_valid(good[i].s, good[i].n))
            fail_msg("good case %zu rejected", i);
}

static void test_utf8_valid_rejects(void **state)
{
    static const bytes_case_t bad[] = {
        B("\xC0\x80"),         /* overlong NUL */
        B("\xC1\xBF"),         /* overlong 2-byte */
        B("\xE0\x80\x80"),     /* overlong 3-byte */
        B("\xE0\x9F\xBF"),     /* overlong U+07FF */
        B("\xF0\x80\x80\x80"), /* overlong 4-byte */
        B("\xF0\x8F\xBF\xBF"), /* overlong U+FFFF */
        B("\xED\xA0\x80"),     /* U+D800, high surrogate */
        B("\xED\xBF\xBF"),     /* U+DFFF, low surrogate */
        B("\xED\xA0\xBD\xED\xB8\x80"), /* CESU-8 surrogate pair */
        B("\xF4\x90\x80\x80"), /* U+110000 */
        B("\xF5\x80\x80\x80"),
        B("\xF7\xBF\xBF\xBF"),
        B("\xF8\x88\x80\x80\x80"), /* 5-byte form */
        B("\xFE"),
        B("\xFF"),
        B("\x80"), /* lone continuation bytes */
        B("\xBF"),
        B("a\x80" "b"),
        B("\xC2\xA9\xA9"),
        B("\xC2"), /* truncated at the end */
        B("a\xC2"),
        B("\xE2\x82"),
        B("ok\xE2"),
        B("\xF0\x9F\x98"),
        B("\xF0\x9F"),
        B("\xF0"),
        B("\xC2\x41"), /* continuation byte missing */
        B("\xE2\x28\xA1"),
        B("\xE2\x82\x28"),
        B("\xF0\x28\x8C\xBC"),
        B("\xF0\x9F\x98\x28"),
        B("\xC2\0"),          /* NUL is not a continuation byte */
        B("a\0\xFF"),         /* checked past an embedded NUL */
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++)
        if (omega_utf8_valid(bad[i].s, bad[i].n))
            fail_msg("bad case %zu accepted", i);
    /* The length decides, not the terminator: a valid sequence cut short is invalid. */
    assert_false(omega_utf8_valid("\xC2\xA9", 1));
    assert_false(omega_utf8_valid("\xF0\x9F\x98\x80", 3));
    assert_true(omega_utf8_valid("ab\xFF", 2));
    assert_true(omega_utf8_valid(NULL, 0));
}

/* The ASCII fast path reads eight bytes at a time: a multi-byte sequence (good or bad)
 * or a stray byte must be seen at every offset and near the end of the buffer. */
static void test_utf8_valid_at_every_offset(void **state)
{
    char buf[64];
    for (size_t off = 0; off < 40; off++) {
        for (size_t tail = 0; tail < 12; tail++) {
            size_t n = off + 2 + tail;
            memset(buf, 'a', sizeof(buf));
            memcpy(buf + off, "\xC3\xA9", 2);
            assert_true(omega_utf8_valid(buf, n));
            buf[off + 1] = 'x'; /* lead byte without its continuation */
            assert_false(omega_utf8_valid(buf, n));
            memset(buf, 'a', sizeof(buf));
            buf[off] = (char)0x80; /* lone continuation byte */
            assert_false(omega_utf8_valid(buf, n));
            buf[off] = (char)0xFF;
            assert_false(omega_utf8_valid(buf, n));
            assert_true(omega_utf8_valid(buf, off)); /* the length decides */
        }
    }
}

static void test_utf8_valid_every_code_point(void **state)
{
    /* Encode every scalar value and check acceptance; surrogates encoded naively must fail. */
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        unsigned char e[4];
        size_t n;
        if (cp < 0x80) {
            e[0] = (unsigned char)cp;
            n = 1;
        } else if (cp < 0x800) {
            e[0] = (unsigned char)(0xC0 | (cp >> 6));
            e[1] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 2;
        } else if (cp < 0x10000) {
            e[0] = (unsigned char)(0xE0 | (cp >> 12));
            e[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            e[2] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 3;
        } else {
            e[0] = (unsigned char)(0xF0 | (cp >> 18));
            e[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            e[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            e[3] = (unsigned char)(0x80 | (cp & 0x3F));
            n = 4;
        }
        int want = !(cp >= 0xD800 && cp <= 0xDFFF);
        if (omega_utf8_valid((const char *)e, n) != want)
            fail_msg("U+%04X: got %d want %d", (unsigned)cp, !want, want);
        if (n > 1 && omega_utf8_valid((const char *)e, n - 1))
            fail_msg("U+%04X truncated accepted", (unsigned)cp);
    }
}

/* ------------------------------------------------------------------------------------ */
/* omega_buf                                                                             */

static void test_buf_append_and_printf_grow(void **state)
{
    omega_buf_t b;
    omega_buf_init(&b, 0);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    char want[16384];
    size_t wlen = 0;
    for (int i = 0; i < 1000; i++) {
        if (i % 2) {
            omega_buf_printf(&b, "%05d,", i);
            wlen += (size_t)snprintf(want + wlen, sizeof(want) - wlen, "%05d,", i);
        } else {
            omega_buf_append(&b, "abcdefg", 7);
            memcpy(want + wlen, "abcdefg", 7);
            wlen += 7;
        }
        assert_int_equal(b.len, wlen);
        assert_true(b.cap > b.len);
        assert_int_equal(b.data[b.len], '\0');
    }
    assert_true(b.len > 6000);
    assert_memory_equal(b.data, want, wlen);
    omega_buf_puts(&b, "");
    omega_buf_append(&b, "", 0);
    omega_buf_printf(&b, "%s", "");
    assert_int_equal(b.len, wlen);
    /* One append much larger than the current capacity. */
    char big[20000];
    memset(big, 'z', sizeof(big));
    omega_buf_append(&b, big, sizeof(big));
    assert_int_equal(b.len, wlen + sizeof(big));
    assert_int_equal(b.data[b.len], '\0');
    assert_memory_equal(b.data, want, wlen);
    assert_memory_equal(b.data + wlen, big, sizeof(big));
    omega_buf_deinit(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    /* Reusable after deinit; a printf on an empty buffer allocates and terminates. */
    omega_buf_init(&b, 0);
    omega_buf_printf(&b, "%s", "");
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    omega_buf_printf(&b, "%d-%s-%c", 42, "x", 'y');
    assert_string_equal(b.data, "42-x-y");
    assert_int_equal(b.len, 6);
    omega_buf_deinit(&b);
    omega_buf_deinit(NULL);
}

static void test_buf_headroom_is_writable_and_kept(void **state)
{
    enum { PRE = 16 };
    omega_buf_t b;
    omega_buf_init(&b, PRE);
    assert_int_equal(b.pre, PRE);
    omega_buf_puts(&b, "hello");
    memset(b.data - PRE, 0xAB, PRE); /* ASan reports this if the headroom is missing */
    assert_string_equal(b.data, "hello");
    for (int i = 0; i < 2000; i++)
        omega_buf_printf(&b, "[%d]", i); /* grows through several reallocs */
    assert_int_equal(b.pre, PRE);
    assert_true(b.len > 8000);
    for (int i = 0; i < PRE; i++)
        assert_int_equal((unsigned char)b.data[i - PRE], 0xAB); /* headroom moved along */
    memset(b.data - PRE, 0xCD, PRE);
    assert_memory_equal(b.data, "hello[0][1][2]", 14);
    assert_int_equal(b.data[b.len], '\0');
    omega_buf_deinit(&b);
}

static void test_buf_take_without_headroom(void **state)
{
    omega_buf_t b;
    omega_buf_init(&b, 0);
    size_t len = 99;
    char *s = omega_buf_take(&b, &len); /* never written: an empty string */
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 500; i++)
            omega_buf_printf(&b, "%d:%d;", round, i);
        size_t want = b.len;
        s = omega_buf_take(&b, &len);
        assert_int_equal(len, want);
        assert_int_equal(strlen(s), want);
        char head[16];
        snprintf(head, sizeof(head), "%d:0;%d:1;", round, round);
        assert_memory_equal(s, head, strlen(head));
        assert_null(b.data);
        assert_int_equal(b.len, 0);
        assert_int_equal(b.cap, 0);
        free(s);
    }
    omega_buf_puts(&b, "x");
    s = omega_buf_take(&b, NULL);
    assert_string_equal(s, "x");
    free(s);
    omega_buf_deinit(&b);
}

static void test_buf_take_with_headroom(void **state)
{
    enum { PRE = 24 };
    omega_buf_t b;
    omega_buf_init(&b, PRE);
    size_t len = 99;
    char *s = omega_buf_take(&b, &len);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 300; i++)
            omega_buf_printf(&b, "<%d.%d>", round, i);
        memset(b.data - PRE, 0, PRE);
        size_t want = b.len;
        char copy[8192];
        assert_true(want < sizeof(copy));
        memcpy(copy, b.data, want + 1);
        s = omega_buf_take(&b, &len);
        assert_int_equal(len, want);
        assert_string_equal(s, copy);
        /* A plain malloc'd block: free() must accept it (ASan checks). */
        free(s);
        assert_null(b.data);
        assert_int_equal(b.pre, PRE); /* headroom setting survives for reuse */
    }
    omega_buf_puts(&b, "again");
    memset(b.data - PRE, 1, PRE);
    s = omega_buf_take(&b, &len);
    assert_string_equal(s, "again");
    assert_int_equal(len, 5);
    free(s);
    omega_buf_deinit(&b);
}

/* Decode one JSON value from the buffer with jansson; fails the test if it does not parse. */
static json_t *must_parse(const char *text, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!j)
        fail_msg("jansson rejected <%.*s>: %s", (int)len, text, jerr.text);
    return j;
}

static void test_buf_json_str_escapes(void **state)
{
    static const struct {
        const char *in;
        size_t n;
        const char *want;     /* exact output */
        const char *decoded;  /* what jansson reads back */
        size_t decoded_n;
    } cases[] = {
#define JS(in, want, dec) {in, sizeof(in) - 1, want, dec, sizeof(dec) - 1}
        JS("", "\"\"", ""),
        JS("plain", "\"plain\"", "plain"),
        JS("say \"hi\"", "\"say \\\"hi\\\"\"", "say \"hi\""),
        JS("a\\b", "\"a\\\\b\"", "a\\b"),
        JS("a/b", "\"a/b\"", "a/b"),
        JS("l1\nl2\r\t", "\"l1\\nl2\\r\\t\"", "l1\nl2\r\t"),
        JS("\x01", "\"\\u0001\"", "\x01"),
        JS("\x1f\b\f", "\"\\u001f\\u0008\\u000c\"", "\x1f\b\f"),
        JS("a\0b", "\"a\\u0000b\"", "a\0b"),
        JS("\x7f", "\"\\u007f\"", "\x7f"),
        JS("caf\xC3\xA9", "\"caf\xC3\xA9\"", "caf\xC3\xA9"),
        JS("\xE2\x82\xAC\xF0\x9F\x98\x80", "\"\xE2\x82\xAC\xF0\x9F\x98\x80\"",
           "\xE2\x82\xAC\xF0\x9F\x98\x80"),
        JS("\xF4\x8F\xBF\xBF", "\"\xF4\x8F\xBF\xBF\"", "\xF4\x8F\xBF\xBF"),
        /* Invalid bytes: each becomes U+FFFD (EF BF BD). */
        JS("\xFF", "\"\xEF\xBF\xBD\"", "\xEF\xBF\xBD"),
        JS("a\x80" "b", "\"a\xEF\xBF\xBD" "b\"", "a\xEF\xBF\xBD" "b"),
        JS("x\xC3", "\"x\xEF\xBF\xBD\"", "x\xEF\xBF\xBD"),
        JS("\xC0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\"", "\xEF\xBF\xBD\xEF\xBF\xBD"),
        JS("\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"",
           "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"),
        JS("\xF4\x90\x80\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"",
           "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"),
        JS("\xE2\x82\"", "\"\xEF\xBF\xBD\xEF\xBF\xBD\\\"\"", "\xEF\xBF\xBD\xEF\xBF\xBD\""),
        JS("ok\xC3\xA9\xA9", "\"ok\xC3\xA9\xEF\xBF\xBD\"", "ok\xC3\xA9\xEF\xBF\xBD"),
#undef JS
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        omega_buf_t b;
        omega_buf_init(&b, i % 2 ? 8 : 0);
        omega_buf_json_str(&b, cases[i].in, cases[i].n);
        if (strcmp(b.data, cases[i].want) != 0)
            fail_msg("case %zu: got <%s> want <%s>", i, b.data, cases[i].want);
        assert_int_equal(b.len, strlen(cases[i].want));
        assert_true(omega_utf8_valid(b.data, b.len));
        json_t *j = must_parse(b.data, b.len);
        assert_true(json_is_string(j));
        assert_int_equal(json_string_length(j), cases[i].decoded_n);
        assert_memory_equal(json_string_value(j), cases[i].decoded, cases[i].decoded_n);
        json_decref(j);
        omega_buf_deinit(&b);
    }
}

static void test_buf_json_str_in_a_document(void **state)
{
    omega_buf_t b;
    omega_buf_init(&b, 4);
    omega_buf_puts(&b, "{");
    omega_buf_json_str(&b, "k\"1", 3);
    omega_buf_puts(&b, ":");
    omega_buf_json_str(&b, "v\n\xFF", 3);
    omega_buf_puts(&b, ",\"empty\":");
    omega_buf_append(&b, NULL, 0); /* nothing to copy: NULL is fine */
    omega_buf_json_str(&b, "", 0);
    omega_buf_puts(&b, "}");
    json_t *j = must_parse(b.data, b.len);
    assert_string_equal(json_string_value(json_object_get(j, "k\"1")), "v\n\xEF\xBF\xBD");
    assert_string_equal(json_string_value(json_object_get(j, "empty")), "");
    json_decref(j);
    omega_buf_deinit(&b);
}

static void test_buf_json_str_random_bytes_always_parse(void **state)
{
    prng_seed(3);
    unsigned char in[64];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)prng_range(0, sizeof(in));
        for (size_t k = 0; k < n; k++) {
            uint64_t r = prng_next();
            /* Bias towards interesting bytes: controls, quotes, lead and continuation bytes. */
            static const unsigned char pick[] = {0x00, 0x1f, '"', '\\', 0x7f, 0x80, 0xbf,
                                                 0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0xff, 'a'};
            in[k] = (r & 1) ? (unsigned char)(r >> 8) : pick[(r >> 8) % sizeof(pick)];
        }
        omega_buf_t b;
        omega_buf_init(&b, 0);
        omega_buf_json_str(&b, (const char *)in, n);
        assert_true(omega_utf8_valid(b.data, b.len));
        json_t *j = must_parse(b.data, b.len);
        assert_true(json_is_string(j));
        if (omega_utf8_valid((const char *)in, n)) {
            /* Valid input comes back byte for byte. */
            assert_int_equal(json_string_length(j), n);
            assert_memory_equal(json_string_value(j), in, n);
        } else {
            assert_non_null(strstr(b.data, "\xEF\xBF\xBD"));
        }
        json_decref(j);
        omega_buf_deinit(&b);
    }
}

static void test_buf_json_num(void **state)
{
    static const struct {
        double v;
        const char *want; /* NULL: only check that it round-trips */
    } cases[] = {
        {0.0, "0"},
        {-0.0, "-0"},
        {0.1, "0.1"},
        {1.5, "1.5"},
        {-2.25, "-2.25"},
        {42, "42"},
        {90, "90"},
        {12345.678, "12345.678"},
        {1e14, "100000000000000"},
        {1e15, "1e+15"},
        {0.00001, "0.00001"},
        {1.5e-7, "1.5e-07"},
        {1e100, "1e+100"},
        {1e-7, "1e-07"},
        {123456789, "123456789"},
        {5e-324, "5e-324"},
        {DBL_MAX, "1.7976931348623157e+308"},
        {1.0 / 3.0, NULL},
        {2.0 / 3.0, NULL},
        {0.1 + 0.2, "0.30000000000000004"},
        {9007199254740993.0, NULL},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        omega_buf_t b;
        omega_buf_init(&b, 0);
        omega_buf_json_num(&b, cases[i].v);
        if (cases[i].want && strcmp(b.data, cases[i].want) != 0)
            fail_msg("case %zu: got %s want %s", i, b.data, cases[i].want);
        double back = strtod(b.data, NULL);
        assert_memory_equal(&back, &cases[i].v, sizeof(double));
        json_t *j = must_parse(b.data, b.len);
        assert_true(json_is_number(j));
        assert_true(json_number_value(j) == cases[i].v);
        json_decref(j);
        omega_buf_deinit(&b);
    }
    /* Non-finite values become strings (API.md convention). */
    static const struct {
        double v;
        const char *want;
    } special[] = {{NAN, "\"NaN\""}, {-NAN, "\"NaN\""}, {INFINITY, "\"+Inf\""},
                   {-INFINITY, "\"-Inf\""}};
    for (size_t i = 0; i < N_ELEMS(special); i++) {
        omega_buf_t b;
        omega_buf_init(&b, 0);
        omega_buf_json_num(&b, special[i].v);
        assert_string_equal(b.data, special[i].want);
        json_t *j = must_parse(b.data, b.len);
        assert_true(json_is_string(j));
        json_decref(j);
        omega_buf_deinit(&b);
    }
    /* Several values in one array document. */
    omega_buf_t b;
    omega_buf_init(&b, 0);
    omega_buf_puts(&b, "[");
    omega_buf_json_num(&b, 1.0 / 3.0);
    omega_buf_puts(&b, ",");
    omega_buf_json_num(&b, NAN);
    omega_buf_puts(&b, ",");
    omega_buf_json_num(&b, -INFINITY);
    omega_buf_puts(&b, "]");
    json_t *j = must_parse(b.data, b.len);
    assert_int_equal(json_array_size(j), 3);
    assert_true(json_real_value(json_array_get(j, 0)) == 1.0 / 3.0);
    assert_string_equal(json_string_value(json_array_get(j, 1)), "NaN");
    assert_string_equal(json_string_value(json_array_get(j, 2)), "-Inf");
    json_decref(j);
    omega_buf_deinit(&b);
}

static void test_format_double_round_trips_random_bits(void **state)
{
    prng_seed(4);
    char buf[32];
    int checked = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t bits = prng_next();
        double v;
        memcpy(&v, &bits, sizeof(v));
        if (isnan(v))
            continue;
        assert_ptr_equal(omega_format_double(v, buf, sizeof(buf)), buf);
        assert_true(strlen(buf) < sizeof(buf));
        if (isinf(v)) {
            assert_string_equal(buf, v > 0 ? "+Inf" : "-Inf");
            continue;
        }
        double back = strtod(buf, NULL);
        if (memcmp(&back, &v, sizeof(v)) != 0)
            fail_msg("%a -> \"%s\" -> %a", v, buf, back);
        checked++;
    }
    assert_true(checked > 99000);
    /* Shortest: values with few decimal digits print with those digits only. */
    for (int i = 0; i < 20000; i++) {
        double v = (double)(i - 10000) / 100.0;
        omega_format_double(v, buf, sizeof(buf));
        assert_true(strtod(buf, NULL) == v);
        if (strlen(buf) > 6) /* "-99.99" at most */
            fail_msg("%d/100 -> \"%s\" is not the shortest form", i - 10000, buf);
    }
    /* Random integers below 2^53 print exactly as integers. */
    for (int i = 0; i < 10000; i++) {
        int64_t n = prng_range(-(1LL << 53), 1LL << 53);
        char want[32];
        snprintf(want, sizeof(want), "%lld", (long long)n);
        omega_format_double((double)n, buf, sizeof(buf));
        if (llabs(n) < 1000000000000000LL)
            assert_string_equal(buf, want); /* plain digits below 1e15, never "9e+01" */
        assert_true(strtod(buf, NULL) == (double)n);
    }
    assert_string_equal(omega_format_double(NAN, buf, sizeof(buf)), "NaN");
    assert_string_equal(omega_format_double(INFINITY, buf, sizeof(buf)), "+Inf");
    assert_string_equal(omega_format_double(-INFINITY, buf, sizeof(buf)), "-Inf");
}

/* Oracle for the shortest digits: the first precision whose %e form parses back. */
static int oracle_digits(double v, char *dg, int *exp10)
{
    char e[40];
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec - 1, fabs(v));
        if (strtod(e, NULL) == fabs(v))
            break;
    }
    snprintf(e, sizeof(e), "%.*e", prec - 1, fabs(v));
    int n = 0;
    const char *s = e;
    for (; *s != 'e'; s++)
        if (*s != '.')
            dg[n++] = *s;
    *exp10 = atoi(s + 1);
    while (n > 1 && dg[n - 1] == '0')
        n--;
    return n;
}

static void check_digits(double v)
{
    char got[20], want[20];
    int ge, we;
    int gn = omega_double_digits(v, got, &ge), wn = oracle_digits(v, want, &we);
    if (gn != wn || ge != we || memcmp(got, want, (size_t)gn) != 0)
        fail_msg("%a: got %.*s e%d, want %.*s e%d", v, gn, got, ge, wn, want, we);
    char plain[400];
    size_t len = omega_format_plain(v, plain);
    assert_int_equal(len, strlen(plain));
    assert_null(strchr(plain, 'e'));
    if (strtod(plain, NULL) != v)
        fail_msg("%a -> \"%s\" does not parse back", v, plain);
}

static void test_double_digits_shortest(void **state)
{
    (void)state;
    prng_seed(5);
    for (int i = 0; i < 50000; i++) { /* random bit patterns: the printf path */
        uint64_t bits = prng_next();
        double v;
        memcpy(&v, &bits, sizeof(v));
        if (isfinite(v) && v != 0)
            check_digits(v);
    }
    for (int i = 1; i < 40000; i++) { /* few decimals at every scale: the scaled path */
        int64_t k = prng_range(1, 99999999);
        int d = (int)prng_range(0, 12);
        double v = (double)k / pow(10, d) * (i % 2 ? 1 : -1);
        check_digits(v);
        check_digits(v * 1e-5);
        check_digits(0.1 * (double)i + 0.2); /* 17-digit sums */
    }
    static const double edge[] = {1e-5, 9.999999999999999e-6, 1e15, 999999999999999.9, 0.1,
                                  0.30000000000000004, 5e-324, 1.7976931348623157e308,
                                  4503599627370496.5, 123456789012345.67, 2.5e-5};
    for (size_t i = 0; i < N_ELEMS(edge); i++)
        check_digits(edge[i]);
    char out[400];
    assert_int_equal(omega_format_plain(19.16, out), 5);
    assert_string_equal(out, "19.16");
    omega_format_plain(-0.00061, out);
    assert_string_equal(out, "-0.00061");
    omega_format_plain(1e21, out);
    assert_string_equal(out, "1000000000000000000000");
    omega_format_plain(1.5e-7, out);
    assert_string_equal(out, "0.00000015");
    omega_format_plain(0.0, out);
    assert_string_equal(out, "0");
    omega_format_plain(-0.0, out);
    assert_string_equal(out, "-0");
    omega_format_plain(NAN, out);
    assert_string_equal(out, "NaN");
    omega_format_plain(-INFINITY, out);
    assert_string_equal(out, "-Inf");
    omega_buf_t b;
    omega_buf_init(&b, 0);
    omega_buf_put_i64(&b, 0);
    omega_buf_puts(&b, " ");
    omega_buf_put_i64(&b, -1795682580123LL);
    omega_buf_puts(&b, " ");
    omega_buf_put_i64(&b, LLONG_MIN);
    assert_string_equal(b.data, "0 -1795682580123 -9223372036854775808");
    omega_buf_deinit(&b);
}

/* ------------------------------------------------------------------------------------ */
/* omega_metric_name_valid / omega_label_name_valid                                      */

static void test_metric_name_valid(void **state)
{
    static const char *const good[] = {"up", "http_requests_total", "_x", "x", "A9",
                                       ":agg:rate5m", "job:cpu_seconds:rate1m", "a:b",
                                       "node_cpu_seconds_total", "Z_9:_"};
    static const char *const bad[] = {"", "9up", "0", "a-b", "a b", "a.b", " up", "up ",
                                      "up{", "-x", "caf\xC3\xA9", "\xC3\xA9", "a\n", "a\"b",
                                      "a/b", "$x"};
    for (size_t i = 0; i < N_ELEMS(good); i++)
        if (!omega_metric_name_valid(good[i]))
            fail_msg("\"%s\" rejected", good[i]);
    for (size_t i = 0; i < N_ELEMS(bad); i++)
        if (omega_metric_name_valid(bad[i]))
            fail_msg("\"%s\" accepted", bad[i]);
    assert_false(omega_metric_name_valid(NULL));
}

static void test_label_name_valid(void **state)
{
    static const char *const good[] = {"job", "instance", "_a", "a_1", "A_Z", "_", "le",
                                       "__meta_x"};
    static const char *const bad[] = {"",  "a:b",  ":a",  "a:",  "1a", "0",  "a-b",
                                      "a b", " a", "a.b", "caf\xC3\xA9", "\xC3\xA9",
                                      "a\t", "{a}"};
    for (size_t i = 0; i < N_ELEMS(good); i++)
        if (!omega_label_name_valid(good[i]))
            fail_msg("\"%s\" rejected", good[i]);
    for (size_t i = 0; i < N_ELEMS(bad); i++)
        if (omega_label_name_valid(bad[i]))
            fail_msg("\"%s\" accepted", bad[i]);
    assert_false(omega_label_name_valid(NULL));
    /* Colons separate the two rules. */
    assert_true(omega_metric_name_valid("a:b"));
    assert_false(omega_label_name_valid("a:b"));
}

/* ------------------------------------------------------------------------------------ */
/* omega_error_t and omega_strerror                                                       */

static void test_error_set_and_clear(void **state)
{
    omega_error_t err;
    memset(&err, 0x5A, sizeof(err));
    omega_error_clear(&err);
    assert_int_equal(err.code, 0);
    assert_int_equal(err.line, 0);
    assert_int_equal(err.column, 0);
    assert_string_equal(err.path, "");
    assert_string_equal(err.message, "");

    assert_int_equal(omega_error_set(&err, OMEGA_EINVAL, "bad %s at %d", "thing", 7),
                     OMEGA_EINVAL);
    assert_int_equal(err.code, OMEGA_EINVAL);
    assert_string_equal(err.message, "bad thing at 7");
    assert_string_equal(err.path, "");

    assert_int_equal(omega_error_set_path(&err, OMEGA_E2BIG, "server.port", "%d > %d", 70000,
                                          65535),
                     OMEGA_E2BIG);
    assert_int_equal(err.code, OMEGA_E2BIG);
    assert_string_equal(err.path, "server.port");
    assert_string_equal(err.message, "70000 > 65535");

    /* A later plain set drops the old path; a NULL path is recorded as "". */
    err.line = 3;
    err.column = 9;
    omega_error_set(&err, OMEGA_EIO, "disk");
    assert_string_equal(err.path, "");
    assert_int_equal(err.line, 0);
    assert_int_equal(err.column, 0);
    omega_error_set_path(&err, OMEGA_ENOENT, NULL, "gone");
    assert_string_equal(err.path, "");
    assert_string_equal(err.message, "gone");

    /* Long texts are cut to the fixed buffers and stay terminated. */
    char longs[1000];
    memset(longs, 'p', sizeof(longs) - 1);
    longs[sizeof(longs) - 1] = '\0';
    omega_error_set_path(&err, OMEGA_EINVAL, longs, "%s", longs);
    assert_int_equal(strlen(err.path), sizeof(err.path) - 1);
    assert_int_equal(strlen(err.message), sizeof(err.message) - 1);

    /* NULL err: only the code comes back. */
    assert_int_equal(omega_error_set(NULL, OMEGA_EACCES, "x %d", 1), OMEGA_EACCES);
    assert_int_equal(omega_error_set_path(NULL, OMEGA_EPERM, "p", "y"), OMEGA_EPERM);
    omega_error_clear(NULL);

    omega_error_clear(&err);
    assert_int_equal(err.code, OMEGA_OK);
    assert_string_equal(err.message, "");
    assert_string_equal(err.path, "");
}

static void test_strerror_names_every_code(void **state)
{
    static const int codes[] = {OMEGA_OK,     OMEGA_EINVAL, OMEGA_ENOENT,    OMEGA_EEXIST,
                                OMEGA_EIO,    OMEGA_ENOMEM, OMEGA_EACCES,    OMEGA_EPERM,
                                OMEGA_ENOSPC, OMEGA_E2BIG,  OMEGA_EAGAIN,    OMEGA_ECORRUPT,
                                OMEGA_EUNSUPP, OMEGA_ETIMEDOUT};
    const char *unknown = omega_strerror(-9999);
    assert_non_null(unknown);
    assert_string_equal(unknown, "unknown error");
    for (size_t i = 0; i < N_ELEMS(codes); i++) {
        const char *s = omega_strerror(codes[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        if (strcmp(s, unknown) == 0)
            fail_msg("code %d has no name", codes[i]);
        for (size_t k = 0; k < i; k++)
            if (codes[k] == codes[i] || strcmp(omega_strerror(codes[k]), s) == 0)
                fail_msg("codes %d and %d share \"%s\"", codes[k], codes[i], s);
    }
    static const int unknown_codes[] = {1, 22, -3, -9999, INT_MIN, INT_MAX};
    for (size_t i = 0; i < N_ELEMS(unknown_codes); i++)
        assert_string_equal(omega_strerror(unknown_codes[i]), "unknown error");
}

/* ------------------------------------------------------------------------------------ */
/* Allocators and clocks                                                                 */

static void test_alloc_helpers(void **state)
{
    char *s = omega_strdup("hello");
    assert_string_equal(s, "hello");
    free(s);
    s = omega_strndup("hello", 3);
    assert_string_equal(s, "hel");
    free(s);
    s = omega_strndup("hi", 100); /* n past the terminator: stops at it */
    assert_string_equal(s, "hi");
    free(s);
    s = omega_strdup("");
    assert_string_equal(s, "");
    free(s);
    void *p = omega_malloc(0);
    assert_non_null(p);
    free(p);
    unsigned char *z = omega_calloc(16, 4);
    for (int i = 0; i < 64; i++)
        assert_int_equal(z[i], 0);
    z = omega_realloc(z, 4096);
    z[4095] = 1;
    free(z);
    p = omega_calloc(0, 0);
    assert_non_null(p);
    free(p);
    p = omega_realloc(NULL, 0);
    assert_non_null(p);
    free(p);
}

static void test_clocks(void **state)
{
    int64_t now = omega_now_ms();
    assert_true(now > 1704067200000LL); /* after 2024-01-01 */
    int64_t a = omega_mono_ns(), b = omega_mono_ns();
    assert_true(a > 0);
    assert_true(b >= a);
}

/* ------------------------------------------------------------------------------------ */
/* omega_log                                                                             */

static void test_log_level_parse(void **state)
{
    static const struct {
        const char *in;
        omega_log_level_t want;
    } good[] = {{"error", OMEGA_LOG_ERROR}, {"warn", OMEGA_LOG_WARN},  {"info", OMEGA_LOG_INFO},
                {"debug", OMEGA_LOG_DEBUG}, {"ERROR", OMEGA_LOG_ERROR}, {"Warn", OMEGA_LOG_WARN},
                {"INFO", OMEGA_LOG_INFO},   {"dEbUg", OMEGA_LOG_DEBUG}};
    for (size_t i = 0; i < N_ELEMS(good); i++) {
        omega_log_level_t lv = (omega_log_level_t)99;
        assert_int_equal(omega_log_level_parse(good[i].in, &lv), 0);
        assert_int_equal(lv, good[i].want);
    }
    static const char *const bad[] = {"",      "warning", "trace", "fatal", "inf",  "debug ",
                                      " info", "0",       "3",     "err",   "infos"};
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        omega_log_level_t lv = OMEGA_LOG_INFO;
        if (omega_log_level_parse(bad[i], &lv) != -1)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_int_equal(lv, OMEGA_LOG_INFO); /* untouched on failure */
    }
    omega_log_level_t lv = OMEGA_LOG_WARN;
    assert_int_equal(omega_log_level_parse(NULL, &lv), -1);
    assert_int_equal(lv, OMEGA_LOG_WARN);
}

static int side_effects;

static int bump(void)
{
    return ++side_effects;
}

static void test_log_level_skips_argument_evaluation(void **state)
{
    side_effects = 0;
    omega_log_set_level(OMEGA_LOG_ERROR);
    assert_int_equal(omega_log_current_level, OMEGA_LOG_ERROR);
    omega_log_debug("debug %d", bump());
    omega_log_info("info %d", bump());
    omega_log_warn("warn %d", bump());
    assert_int_equal(side_effects, 0);
    omega_log_error("error-level test message %d (expected)", bump());
    assert_int_equal(side_effects, 1);

    omega_log_set_level(OMEGA_LOG_WARN);
    assert_int_equal(omega_log_current_level, OMEGA_LOG_WARN);
    omega_log_debug("debug %d", bump());
    omega_log_info("info %d", bump());
    assert_int_equal(side_effects, 1);
    omega_log_warn("warn-level test message %d (expected)", bump());
    assert_int_equal(side_effects, 2);

    omega_log_set_level(OMEGA_LOG_DEBUG);
    omega_log_debug("debug-level test message %d (expected)", bump());
    assert_int_equal(side_effects, 3);
    omega_log_set_level(OMEGA_LOG_INFO);
}

/* Number of lines in s containing needle. */
static int count_lines_with(const char *s, const char *needle)
{
    int n = 0;
    while (s && *s) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        char line[4096];
        snprintf(line, sizeof(line), "%.*s", (int)len, s);
        if (strstr(line, needle))
            n++;
        s = nl ? nl + 1 : NULL;
    }
    return n;
}

static void test_log_file_sink(void **state)
{
    char *dir = testutil_mkdtemp("common-log");
    char path1[600], path2[600], missing[600];
    snprintf(path1, sizeof(path1), "%s/a.log", dir);
    snprintf(path2, sizeof(path2), "%s/b.log", dir);
    snprintf(missing, sizeof(missing), "%s/no/such/dir/c.log", dir);

    omega_log_set_level(OMEGA_LOG_INFO);
    assert_int_equal(omega_log_set_file(path1), 0);
    omega_log_info("file sink says %s %d", "hello", 42);
    omega_log_debug("this debug line must not appear");
    omega_log_warn("second line");
    /* Opening a file in a missing directory fails and keeps the current sink. */
    assert_int_equal(omega_log_set_file(missing), OMEGA_EIO);
    omega_log_error("third line after failed switch");
    /* Switch to a second file: later lines go only there. */
    assert_int_equal(omega_log_set_file(path2), 0);
    omega_log_info("goes to b");
    assert_int_equal(omega_log_set_file(NULL), 0);
    omega_log_info("goes to stderr only");
    assert_int_equal(omega_log_set_file(""), 0);
    omega_log_shutdown();

    size_t len = 0;
    char *a = testutil_read_file(path1, &len);
    assert_non_null(a);
    assert_int_equal(count_lines_with(a, ""), 3);
    assert_int_equal(a[len - 1], '\n');
    assert_int_equal(count_lines_with(a, "file sink says hello 42"), 1);
    assert_int_equal(count_lines_with(a, "INFO"), 1);
    assert_non_null(strstr(a, "INFO  test_common.c:"));
    assert_int_equal(count_lines_with(a, "WARN"), 1);
    assert_int_equal(count_lines_with(a, "second line"), 1);
    assert_int_equal(count_lines_with(a, "ERROR"), 1);
    assert_int_equal(count_lines_with(a, "third line after failed switch"), 1);
    assert_null(strstr(a, "must not appear"));
    assert_null(strstr(a, "goes to"));
    /* Each line starts with an RFC 3339 timestamp that parses. */
    char ts[32];
    snprintf(ts, sizeof(ts), "%.24s", a);
    int64_t t = 0;
    assert_int_equal(omega_time_parse(ts, &t), 0);
    assert_true(t > 1704067200000LL);
    free(a);

    char *b = testutil_read_file(path2, &len);
    assert_non_null(b);
    assert_int_equal(count_lines_with(b, ""), 1);
    assert_int_equal(count_lines_with(b, "goes to b"), 1);
    assert_null(strstr(b, "stderr only"));
    free(b);

    /* Appends rather than truncates when reopened. */
    assert_int_equal(omega_log_set_file(path2), 0);
    omega_log_info("appended");
    omega_log_shutdown();
    b = testutil_read_file(path2, &len);
    assert_int_equal(count_lines_with(b, ""), 2);
    assert_int_equal(count_lines_with(b, "appended"), 1);
    free(b);

    assert_int_equal(testutil_rmtree(dir), 0);
    free(dir);
}

static void test_log_emit_odd_input(void **state)
{
    char *dir = testutil_mkdtemp("common-log2");
    char path[600];
    snprintf(path, sizeof(path), "%s/odd.log", dir);
    assert_int_equal(omega_log_set_file(path), 0);
    /* An out-of-range level is printed as ERROR (no read past the name table). */
    omega_log_emit((omega_log_level_t)7, "dir/x.c", 1, "f", "odd level");
    omega_log_emit((omega_log_level_t)-1, "y.c", 2, "g", "negative level");
    /* Messages longer than the line buffer are cut, not overflowed. */
    char big[5000];
    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    omega_log_emit(OMEGA_LOG_WARN, "z.c", 3, "h", "%s", big);
    omega_log_shutdown();
    char *s = testutil_read_file(path, NULL);
    assert_non_null(s);
    assert_int_equal(count_lines_with(s, ""), 3);
    assert_int_equal(count_lines_with(s, "ERROR x.c:1 f odd level"), 1);
    assert_int_equal(count_lines_with(s, "ERROR y.c:2 g negative level"), 1);
    assert_int_equal(count_lines_with(s, "WARN  z.c:3 h mmmm"), 1);
    assert_true(strlen(s) < 3000);
    free(s);
    assert_int_equal(testutil_rmtree(dir), 0);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_parse_accepts_units),
        cmocka_unit_test(test_duration_parse_bare_number_uses_field_unit),
        cmocka_unit_test(test_duration_parse_rejects_bad_input),
        cmocka_unit_test(test_duration_format_known_values),
        cmocka_unit_test(test_duration_format_parse_round_trip),
        cmocka_unit_test(test_duration_format_small_buffer),
        cmocka_unit_test(test_size_parse_accepts_units),
        cmocka_unit_test(test_size_parse_rejects_bad_input),
        cmocka_unit_test(test_time_parse_accepts_rfc3339_and_unix_seconds),
        cmocka_unit_test(test_time_parse_rejects_bad_input),
        cmocka_unit_test(test_time_format_rfc3339_known_values),
        cmocka_unit_test(test_time_format_parse_round_trip),
        cmocka_unit_test(test_utf8_valid_accepts),
        cmocka_unit_test(test_utf8_valid_rejects),
        cmocka_unit_test(test_utf8_valid_at_every_offset),
        cmocka_unit_test(test_utf8_valid_every_code_point),
        cmocka_unit_test(test_buf_append_and_printf_grow),
        cmocka_unit_test(test_buf_headroom_is_writable_and_kept),
        cmocka_unit_test(test_buf_take_without_headroom),
        cmocka_unit_test(test_buf_take_with_headroom),
        cmocka_unit_test(test_buf_json_str_escapes),
        cmocka_unit_test(test_buf_json_str_in_a_document),
        cmocka_unit_test(test_double_digits_shortest),
        cmocka_unit_test(test_buf_json_str_random_bytes_always_parse),
        cmocka_unit_test(test_buf_json_num),
        cmocka_unit_test(test_format_double_round_trips_random_bits),
        cmocka_unit_test(test_metric_name_valid),
        cmocka_unit_test(test_label_name_valid),
        cmocka_unit_test(test_error_set_and_clear),
        cmocka_unit_test(test_strerror_names_every_code),
        cmocka_unit_test(test_alloc_helpers),
        cmocka_unit_test(test_clocks),
        cmocka_unit_test(test_log_level_parse),
        cmocka_unit_test(test_log_level_skips_argument_evaluation),
        cmocka_unit_test(test_log_file_sink),
        cmocka_unit_test(test_log_emit_odd_input),
    };
    return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
