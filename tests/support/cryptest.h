/* SPDX-License-Identifier: Apache-2.0 */
/* Shared parts of the storage encryption tests (tests/support/cryptest.c): a deterministic
 * test cipher in auth's blob layout, a key ring with active/release calls, a gate holding
 * the next seal, and the temp-dir fixture with read/write helpers. Test code only: every
 * helper fails the running cmocka test on an unexpected result. */
#ifndef OMEGA_CRYPTEST_H
#define OMEGA_CRYPTEST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "omega/tsdb.h"

#define OVERHEAD 36 /* magic 4, key id 4, nonce 12, tag 16 */
#define N_PTS    300
#define STEP_MS  30000LL
#define SECRET   1234567.891 /* the sensitive value (no zero byte in its 8 bytes) */
#define NORMAL   7654321.123 /* the control value */

/* One test key: a key id stored in the blob like auth's key version, and the stream seed. */
typedef struct tkey {
    uint32_t id;   /* key id (version) */
    uint64_t seed; /* stream and tag key */
} tkey_t;

extern tkey_t key1, key2, key3;      /* ids 1, 2, 3 */
extern const char *const patterns[]; /* "secret_.*", "billing_(cost|card)" */

/* The cipher functions with one tkey_t as ctx (seal with it, open only its blobs). */
int t_seal(void *ctx, const void *aad, size_t alen, const void *in, size_t n, void *out, size_t cap,
           size_t *out_len, omega_error_t *err);
int t_open(void *ctx, const void *aad, size_t alen, const void *in, size_t n, void *out, size_t cap,
           size_t *out_len, omega_error_t *err);
/* A cipher of one key: no active/release calls (nothing is re-sealed). */
omega_tsdb_cipher_t cipher_of(tkey_t *k);

/* A key ring: seals with keys[cur], opens any key it holds (like auth's data keys). */
typedef struct ring {
    tkey_t keys[3];            /* held keys */
    size_t n;                  /* entries in keys */
    _Atomic size_t cur;        /* index of the sealing key */
    _Atomic uint32_t released; /* last `below` passed to release, 0 = never */
} ring_t;

int r_seal(void *ctx, const void *aad, size_t alen, const void *in, size_t n, void *out, size_t cap,
           size_t *out_len, omega_error_t *err);
int r_open(void *ctx, const void *aad, size_t alen, const void *in, size_t n, void *out, size_t cap,
           size_t *out_len, omega_error_t *err);
uint32_t r_active(void *ctx);
int r_release(void *ctx, uint32_t below, omega_error_t *err);
/* A ring holding a (and b, then the sealing key: the last one seals). */
void ring_init(ring_t *r, const tkey_t *a, const tkey_t *b);

/* The gate: once armed, the next r_seal (from any thread) waits until gate_open;
 * gate_wait_held returns once a seal waits there. */
void gate_arm(void);
void gate_wait_held(void);
void gate_open(void);

/* The fixture: a temp data dir and a first sample time (a whole hour, three hours ago). */
typedef struct fixture {
    char *dir;  /* temp data dir */
    int64_t t0; /* first sample time */
} fixture_t;
int setup(void **state);
int teardown(void **state);

/* Open the fixture's store with one key (k may be NULL) and the patterns when sensitive
 * (no compression, so the control value's bytes are visible in the files). */
omega_tsdb_t *open_db(const fixture_t *f, tkey_t *k, int sensitive, omega_error_t *err);
/* Open it with the ring, the patterns and no background re-seal pass (the tests drive it). */
omega_tsdb_t *open_ring(const fixture_t *f, ring_t *r);

/* The 8 bytes of v as a NUL-terminated needle. */
void needle_of(double v, char out[9]);
/* n points of name{host="a"} = v every STEP_MS from t0, in one write. */
void write_pts(omega_tsdb_t *db, const char *name, double v, int64_t t0, int n);

/* What a select saw. */
typedef struct got {
    size_t n;     /* samples */
    double first; /* first value */
    int all_same; /* every value equals first */
} got_t;
int read_metric(omega_tsdb_t *db, const char *name, got_t *g, omega_error_t *err);

/* What a tier select saw. */
typedef struct tiers {
    uint64_t count;       /* samples over every bucket */
    double min, max, sum; /* over every bucket */
    size_t buckets;       /* buckets */
} tiers_t;
int read_tier(omega_tsdb_t *db, omega_tsdb_tier_t tier, const char *name, tiers_t *t,
              omega_error_t *err);

/* n samples, every one v; every tier counts n samples of v. */
void expect_values(omega_tsdb_t *db, const char *name, double v, size_t n);
void expect_tiers(omega_tsdb_t *db, const char *name, double v, size_t n);

#endif
