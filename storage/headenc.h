/* SPDX-License-Identifier: Apache-2.0 */
/* Private to storage/: the in-memory encoding of a head's samples, an append-only bit
 * stream (delta-of-delta timestamps, XOR values) that takes samples in any order, so a
 * series' unsealed samples cost about 1-3 bytes each instead of 16. No RocksDB here: it
 * builds alone for its unit tests. */
#ifndef OMEGA_STORAGE_HEADENC_H
#define OMEGA_STORAGE_HEADENC_H

#include <stddef.h>
#include <stdint.h>

/* The samples of one head in arrival order. Zero-initialised (or after
 * storage_headenc_reset) it is empty. Not thread-safe: the head's stripe lock guards it. */
typedef struct storage_headenc {
    uint8_t *b;          /* the bit stream, most significant bit first; owned */
    uint64_t nbits;      /* bits written */
    size_t cap;          /* bytes allocated in b */
    int64_t last_ts;     /* timestamp of the last sample (0 before the first) */
    uint64_t last_delta; /* last_ts minus the one before, two's complement */
    uint64_t last_bits;  /* IEEE 754 bits of the last value (0 before the first) */
    uint8_t win_lead;    /* XOR window of the last explicit value: leading zero bits */
    uint8_t win_len;     /* ...and meaningful bits (0: no window yet) */
} storage_headenc_t;

/* Reader over the samples of an encoding, in the order they were appended. */
typedef struct storage_headdec {
    const storage_headenc_t *e; /* the encoding read; must not change while read */
    uint64_t pos;               /* next bit */
    int64_t ts;                 /* last decoded timestamp */
    uint64_t delta;             /* last decoded delta */
    uint64_t bits;              /* last decoded value bits */
    uint8_t win_lead, win_len;  /* current XOR window */
} storage_headdec_t;

/* Append one sample (any timestamp: earlier, equal or later than the last; any value bits,
 * NaN payloads and -0.0 included). Grows the buffer by half its size when needed (aborts
 * on out of memory, like omega_realloc); at most 20 bytes per sample. */
void storage_headenc_append(storage_headenc_t *e, int64_t ts, double v);

/* Forget every sample. release != 0 frees the buffer too, else it is kept for reuse. */
void storage_headenc_reset(storage_headenc_t *e, int release);

/* Bytes allocated for the stream (for memory accounting). */
size_t storage_headenc_bytes(const storage_headenc_t *e);

/* Start reading e from its first sample. */
void storage_headdec_init(storage_headdec_t *d, const storage_headenc_t *e);

/* The next sample into *ts and *v. Returns 0, or -1 when the stream holds no further
 * complete sample (the caller reads exactly as many samples as it appended). */
int storage_headdec_next(storage_headdec_t *d, int64_t *ts, double *v);

#endif
