/* SPDX-License-Identifier: Apache-2.0 */
/* Private to storage/: the chunk codec (compressed runs of one series' samples) and
 * CRC32C. No RocksDB here, so the codec builds alone for its unit tests and fuzz target.
 * The byte format is documented in docs/storage.md ("Chunk format"). */
#ifndef OMEGA_STORAGE_CODEC_H
#define OMEGA_STORAGE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "omega/metric.h"

#define STORAGE_CHUNK_VERSION     1u
#define STORAGE_CHUNK_MAX_SAMPLES 65535u /* most samples one chunk may hold */

/* Encoder choices (bit flags); 0 = let the encoder pick the smallest encoding. */
#define STORAGE_CHUNK_FORCE_XOR 1u /* never use the decimal value mode (comparisons) */

/* What a chunk header says, read without decoding the samples. */
typedef struct storage_chunk_info {
    uint32_t n;        /* samples in the chunk, >= 1 */
    int64_t first_ts;  /* timestamp of the first sample, ms */
    int64_t last_ts;   /* timestamp of the last sample, ms */
    unsigned ts_mode;  /* 0 constant interval, 1 delta-of-delta */
    unsigned val_mode; /* 0 XOR (Gorilla), 1 scaled decimal integers */
    unsigned scale;    /* decimal mode: values are integers / 10^scale */
} storage_chunk_info_t;

/* CRC32C (Castagnoli, reflected 0x82F63B78) of len bytes, continuing from crc (start
 * with 0); the SSE4.2 instruction where the CPU has it. Thread-safe. */
uint32_t storage_crc32c(uint32_t crc, const void *data, size_t len);

/* The same CRC from tables (slicing by 8), what storage_crc32c uses where the CPU has no
 * crc32 instruction; exposed for the tests that compare both. Thread-safe. */
uint32_t storage_crc32c_tables(uint32_t crc, const void *data, size_t len);

/* Encode n samples (1 <= n <= STORAGE_CHUNK_MAX_SAMPLES, timestamps strictly increasing)
 * into a chunk stored under base_ts (the time in its key, at or before the first sample;
 * the CRC covers it, binding the chunk to its key). On 0, *out is
 * malloc'd (free() it) and *len its size. Returns OMEGA_EINVAL when n is out of range or
 * timestamps are not strictly increasing (the caller sorts and removes duplicates first).
 * Values are stored bit-exactly (NaN payloads, -0.0, infinities, denormals). Thread-safe. */
int storage_chunk_encode(const omega_sample_t *s, size_t n, unsigned flags, int64_t base_ts,
                         uint8_t **out, size_t *len);

/* Check the CRC and read the header of a chunk stored under base_ts. Returns 0, or
 * OMEGA_ECORRUPT when the chunk is truncated, has a bad CRC (or another base time), an
 * unknown version or an inconsistent header. */
int storage_chunk_info(const void *chunk, size_t len, int64_t base_ts, storage_chunk_info_t *info);

/* The header alone, without the CRC check (listings that only need a chunk's time span;
 * readers of samples check the CRC). OMEGA_ECORRUPT for a malformed header. */
int storage_chunk_peek(const void *chunk, size_t len, storage_chunk_info_t *info);

/* Decode a whole chunk stored under base_ts. On 0, *out is malloc'd with *n samples
 * (free() it), timestamps strictly increasing. Returns OMEGA_ECORRUPT for any damage
 * (CRC, truncation, a sample stream that does not match the header); never reads outside
 * [chunk, len). */
int storage_chunk_decode(const void *chunk, size_t len, int64_t base_ts, omega_sample_t **out,
                         size_t *n);

/* Like storage_chunk_decode, appending to a growable vector: *v (malloc'd or NULL) with *n
 * samples used of *cap allocated; grown with realloc as needed. On error nothing is
 * appended (*n unchanged; *v may have been grown). Thread-safe. */
int storage_chunk_decode_append(const void *chunk, size_t len, int64_t base_ts,
                                omega_sample_t **v, size_t *n, size_t *cap);

#endif
