/* SPDX-License-Identifier: Apache-2.0 */
/* A tiny HTTP/1.1 receiver on 127.0.0.1 for tests: records every request (method, path,
 * headers, body) and answers with scripted status codes, optionally after a delay (a
 * receiver that hangs) or with an endless body. One connection at a time, own thread. */
#ifndef OMEGA_TEST_HTTPD_H
#define OMEGA_TEST_HTTPD_H

#include <stddef.h>

typedef struct test_httpd test_httpd_t;

typedef struct httpd_req {
    char method[16];  /* "POST", ... */
    char target[2048]; /* request target (path and query) */
    char *headers;     /* raw header block, names lower-cased */
    char *body;        /* NUL-terminated body */
    size_t body_len;   /* bytes in body */
} httpd_req_t;

/* Listen on a free loopback port and start serving. NULL on failure. */
test_httpd_t *test_httpd_start(void);
int test_httpd_port(const test_httpd_t *h);
/* Answer the next n requests with these statuses in turn, then 200. */
void test_httpd_script(test_httpd_t *h, const int *statuses, size_t n);
/* Wait this long before answering each request (0 = answer at once). */
void test_httpd_set_delay(test_httpd_t *h, int delay_ms);
/* Answer 200 with a body announced as 10 GB, streamed until the client hangs up. */
void test_httpd_set_huge_body(test_httpd_t *h, int on);
/* Requests received (answered or not). */
size_t test_httpd_count(test_httpd_t *h);
/* Wait until at least n requests were received or timeout_ms passed; returns the count. */
size_t test_httpd_wait(test_httpd_t *h, size_t n, int timeout_ms);
/* Copy of request i (0-based) into out (caller frees with httpd_req_free); -1 if none. */
int test_httpd_get(test_httpd_t *h, size_t i, httpd_req_t *out);
void httpd_req_free(httpd_req_t *r);
/* Value of header name (lower-case) of r into buf, or NULL. */
const char *httpd_req_header(const httpd_req_t *r, const char *name, char *buf, size_t len);
/* Stop the thread and free everything. Accepts NULL. */
void test_httpd_stop(test_httpd_t *h);

#endif
