/* SPDX-License-Identifier: Apache-2.0 */
/* Chunk codec decode speed: encodes series shaped like the standard workload's (a 1 s
 * gauge with two decimals and noise, a monotonic integer counter with jitter, a float
 * with full precision) into chunks of --chunk samples and decodes them --reps times,
 * printing ns per sample and bytes per sample for each shape as JSON lines.
 * Usage: bench_codec [--chunk N] [--reps N] */
#include "codec.h"

#include "omega/common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SERIES_LEN 3600

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A deterministic uniform in [0, 1) (xorshift64*). */
static double urand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static void make_series(int shape, omega_sample_t *s, size_t n)
{
    uint64_t rs = 0x9E3779B97F4A7C15ULL + (uint64_t)shape;
    int64_t t0 = 1795682580000;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i, u = urand(&rs);
        s[i].ts_ms = t0 + (int64_t)i * 1000;
        if (shape == 0) /* gauge, 2 decimals */
            s[i].value =
                round((40 + 8 * sin(t / 600) + 2.4 * sin(t / 120) + 4 * (2 * u - 1)) * 100) / 100;
        else if (shape == 1) /* counter with jitter */
            s[i].value = floor(1e9 + 125000.0 * t + 20000 * u);
        else /* full-precision float */
            s[i].value = 40 + 8 * sin(t / 600) + u;
    }
}

int main(int argc, char **argv)
{
    size_t chunk = 480, reps = 2000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--chunk") == 0)
            chunk = strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = strtoul(argv[i + 1], NULL, 10);
    }
    if (chunk < 2 || chunk > SERIES_LEN || reps < 1 || reps > 1000000) {
        fprintf(stderr, "usage: bench_codec [--chunk 2..3600] [--reps 1..1000000]\n");
        return 2;
    }
    static const char *names[] = {"gauge_2dec", "counter", "float"};
    omega_sample_t *s = malloc(SERIES_LEN * sizeof(*s));
    omega_sample_t *out = malloc(SERIES_LEN * sizeof(*out));
    size_t nch = (SERIES_LEN + chunk - 1) / chunk;
    uint8_t **ch = calloc(nch, sizeof(*ch));
    size_t *len = calloc(nch, sizeof(*len));
    for (int shape = 0; shape < 3; shape++) {
        make_series(shape, s, SERIES_LEN);
        size_t bytes = 0;
        for (size_t c = 0; c < nch; c++) {
            size_t off = c * chunk, n = SERIES_LEN - off < chunk ? SERIES_LEN - off : chunk;
            if (storage_chunk_encode(s + off, n, 0, s[off].ts_ms, &ch[c], &len[c]) != 0)
                return 1;
            bytes += len[c];
        }
        double t0 = now_s();
        double check = 0;
        for (size_t r = 0; r < reps; r++) {
            size_t used = 0, cap = SERIES_LEN;
            for (size_t c = 0; c < nch; c++)
                if (storage_chunk_decode_append(ch[c], len[c], s[c * chunk].ts_ms, &out, &used,
                                                &cap) != 0)
                    return 1;
            check += out[used - 1].value;
        }
        double el = now_s() - t0;
        if (memcmp(out, s, SERIES_LEN * sizeof(*s)) != 0) {
            fprintf(stderr, "%s: decoded samples differ\n", names[shape]);
            return 1;
        }
        printf("{\"shape\":\"%s\",\"chunk\":%zu,\"ns_per_sample\":%.2f,\"bytes_per_sample\":%.3f,"
               "\"check\":%g}\n",
               names[shape], chunk, el * 1e9 / ((double)reps * SERIES_LEN),
               (double)bytes / SERIES_LEN, check);
        for (size_t c = 0; c < nch; c++)
            free(ch[c]);
    }
    free(ch);
    free(len);
    free(s);
    free(out);
    return 0;
}
