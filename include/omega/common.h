/* SPDX-License-Identifier: Apache-2.0 */
/* Shared basics every module uses: error codes, the human-facing error record,
 * aborting allocators and clock helpers. No third-party types appear here. */
#ifndef OMEGA_COMMON_H
#define OMEGA_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Status codes: 0 on success, a negative OMEGA_E* otherwise (errno-shaped). */
enum {
    OMEGA_OK = 0,
    OMEGA_EINVAL = -22,     /* bad input from a person or a peer */
    OMEGA_ENOENT = -2,      /* no such object */
    OMEGA_EEXIST = -17,     /* object already exists */
    OMEGA_EIO = -5,         /* I/O or storage engine failure */
    OMEGA_ENOMEM = -12,     /* allocation refused (only where input sized it) */
    OMEGA_EACCES = -13,     /* credentials missing or wrong */
    OMEGA_EPERM = -1,       /* authenticated but not allowed */
    OMEGA_ENOSPC = -28,     /* storage full */
    OMEGA_E2BIG = -7,       /* input over a configured limit */
    OMEGA_EAGAIN = -11,     /* overloaded, try again */
    OMEGA_ECORRUPT = -74,   /* stored data failed a checksum (EBADMSG) */
    OMEGA_EUNSUPP = -95,    /* valid but not supported */
    OMEGA_ETIMEDOUT = -110, /* deadline passed */
};

/* Static text naming a status code; never NULL. */
const char *omega_strerror(int rc);

/* Why something failed, for a person: fixed buffers, no heap (jansson's json_error_t).
 * Functions that take an `omega_error_t *err` fill it on failure when err != NULL. */
typedef struct omega_error {
    int code;          /* the OMEGA_E* status returned alongside */
    int line;          /* 1-based line in the input, 0 when not applicable */
    int column;        /* 1-based column, 0 when not applicable */
    char path[128];    /* dotted JSON path or field name, "" when not applicable */
    char message[256]; /* one sentence, no trailing newline */
} omega_error_t;

/* Fill err (if non-NULL) with code and a printf-style message; returns code. */
int omega_error_set(omega_error_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, also recording the JSON path / field name. */
int omega_error_set_path(omega_error_t *err, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Reset err to "no error". */
void omega_error_clear(omega_error_t *err);

/* Allocators for fixed-size needs: log and abort on out-of-memory (redis' zmalloc).
 * Sizes that come from input must be checked against a limit before calling these. */
void *omega_malloc(size_t n);
void *omega_calloc(size_t count, size_t n);
void *omega_realloc(void *p, size_t n);
char *omega_strdup(const char *s);
char *omega_strndup(const char *s, size_t n);

/* Wall clock, milliseconds since the Unix epoch. */
int64_t omega_now_ms(void);
/* Monotonic clock in nanoseconds, for durations. */
int64_t omega_mono_ns(void);

/* Parse a duration: "250ms", "30s", "5m", "1h30m", "7d", "2w", "1y" (365 d).
 * A bare number is taken in `unit_ms` milliseconds (1 for ms fields, 1000 for s fields).
 * Writes milliseconds to *out_ms. Returns 0 or OMEGA_EINVAL. */
int omega_duration_parse(const char *s, int64_t unit_ms, int64_t *out_ms);
/* Format milliseconds as the shortest duration string ("1h30m", "250ms"); returns buf. */
char *omega_duration_format(int64_t ms, char *buf, size_t len);

/* Parse a byte size: "10737418240", "512MiB", "10GB" (powers of 1024 and 1000), into *out.
 * Returns 0 or OMEGA_EINVAL. */
int omega_size_parse(const char *s, uint64_t *out);

/* Format a Unix-milliseconds time as RFC 3339 UTC with milliseconds
 * ("2026-11-26T07:01:49.123Z") into buf (>= 32 bytes); returns buf. */
char *omega_time_format_rfc3339(int64_t ms, char *buf, size_t len);

/* Parse a time as the API accepts it: RFC 3339 ("2026-11-26T07:01:49Z",
 * "2026-11-26T08:01:49.5+01:00") or Unix seconds with optional fraction ("1764140509.5").
 * Writes Unix milliseconds to *out_ms. Returns 0 or OMEGA_EINVAL. */
int omega_time_parse(const char *s, int64_t *out_ms);

/* True when the n bytes at s are valid UTF-8 (no overlongs, no surrogates). */
int omega_utf8_valid(const char *s, size_t n);

/* Decode n characters of base64 (standard or URL-safe alphabet, '=' padding optional)
 * into out, NUL-terminated. Returns the decoded length, or SIZE_MAX when the input is
 * not base64 or out_cap cannot hold the result plus the NUL. Thread-safe. */
size_t omega_base64_decode(const char *in, size_t n, char *out, size_t out_cap);

#endif
