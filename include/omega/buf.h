/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer for building responses and messages, plus the number and
 * JSON-string formatting that hot paths need without building a jansson tree. */
#ifndef OMEGA_BUF_H
#define OMEGA_BUF_H

#include <stddef.h>

typedef struct omega_buf {
    char *data; /* NUL-terminated contents (NULL until the first append) */
    size_t len; /* bytes used, excluding the terminator */
    size_t cap; /* bytes allocated */
    size_t pre; /* reserved headroom before data (e.g. LWS_PRE), set at init */
} omega_buf_t;

/* Start empty with `headroom` bytes reserved in front of data (0 for none). */
void omega_buf_init(omega_buf_t *b, size_t headroom);
/* Free the storage; the buffer may be reused after omega_buf_init. Accepts NULL. */
void omega_buf_deinit(omega_buf_t *b);
void omega_buf_append(omega_buf_t *b, const void *p, size_t n);
void omega_buf_puts(omega_buf_t *b, const char *s);
void omega_buf_printf(omega_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s (n bytes) as a quoted JSON string with escapes; invalid UTF-8 bytes become
 * U+FFFD so the output is always valid JSON. */
void omega_buf_json_str(omega_buf_t *b, const char *s, size_t n);
/* Append v as a JSON value: the shortest round-trip number, or "NaN", "+Inf", "-Inf"
 * as strings (API.md convention). */
void omega_buf_json_num(omega_buf_t *b, double v);
/* Hand the contents over as a malloc'd NUL-terminated string the caller frees with free()
 * (without headroom; copied when the buffer had some). *len (if non-NULL) gets the length.
 * Leaves b empty and reusable. */
char *omega_buf_take(omega_buf_t *b, size_t *len);

/* Shortest decimal text that parses back to exactly v ("0.1", "1e+100"), or "NaN",
 * "+Inf", "-Inf". buf must hold at least 32 bytes. Returns buf. */
char *omega_format_double(double v, char *buf, size_t len);
/* The shortest decimal digits that parse back to finite, nonzero v (sign dropped; no
 * leading or trailing zeros) into digits; *exp10 gets the power of ten of the first digit
 * (19.16 -> "1916", 1). Returns the digit count (1..17). Thread-safe, no allocation. */
int omega_double_digits(double v, char digits[20], int *exp10);
/* Go's strconv.FormatFloat(v, 'f', -1, 64), as Prometheus writes sample values: shortest
 * round-trip digits, never an exponent ("0.00061", "1e+21" as "1000000000000000000000");
 * "NaN", "+Inf", "-Inf" for those. Writes a NUL-terminated string, returns its length. */
size_t omega_format_plain(double v, char out[400]);
/* Append the decimal form of n ("-12", "1795682580") without printf. */
void omega_buf_put_i64(omega_buf_t *b, long long n);

#endif
