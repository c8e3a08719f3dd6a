/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the chunk decoder (storage/codec.c). Each input is decoded as
 * it is and again with a valid CRC32C appended (so the header and stream parsers see
 * it); whatever decodes must have increasing timestamps and survive a re-encode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

static void check(const uint8_t *data, size_t len)
{
    omega_sample_t *s = NULL;
    size_t n = 0;
    storage_chunk_info_t info;
    (void)storage_chunk_info(data, len, 0, &info);
    if (storage_chunk_decode(data, len, 0, &s, &n) != 0)
        return;
    for (size_t i = 1; i < n; i++)
        if (s[i].ts_ms <= s[i - 1].ts_ms)
            abort();
    uint8_t *again = NULL;
    size_t alen = 0;
    omega_sample_t *t = NULL;
    size_t m = 0;
    if (storage_chunk_encode(s, n, 0, s[0].ts_ms, &again, &alen) != 0 ||
        storage_chunk_decode(again, alen, s[0].ts_ms, &t, &m) != 0 || m != n)
        abort();
    for (size_t i = 0; i < n; i++)
        if (t[i].ts_ms != s[i].ts_ms || memcmp(&t[i].value, &s[i].value, sizeof(double)))
            abort();
    free(t);
    free(again);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    check(data, len);
    uint8_t *copy = malloc(len + 4);
    if (len)
        memcpy(copy, data, len);
    static const uint8_t zero_base[8]; /* the CRC starts with the base time (0 here) */
    uint32_t crc = storage_crc32c(storage_crc32c(0, zero_base, 8), data, len);
    for (int i = 0; i < 4; i++)
        copy[len + i] = (uint8_t)(crc >> (8 * i));
    check(copy, len + 4);
    free(copy);
    return 0;
}
