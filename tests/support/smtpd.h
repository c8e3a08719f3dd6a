/* SPDX-License-Identifier: Apache-2.0 */
/* A tiny SMTP listener on 127.0.0.1 for tests: speaks EHLO/HELO, AUTH PLAIN, MAIL, RCPT,
 * DATA, RSET, NOOP and QUIT (no TLS offered), records each message, and can be told to
 * reject recipients. One connection at a time, own thread. */
#ifndef OMEGA_TEST_SMTPD_H
#define OMEGA_TEST_SMTPD_H

#include <stddef.h>

typedef struct test_smtpd test_smtpd_t;

typedef struct smtpd_msg {
    char from[256]; /* MAIL FROM argument */
    char rcpt[1024]; /* RCPT TO arguments, comma-separated */
    char auth[256];  /* AUTH line argument, "" when the client did not authenticate */
    char *data;      /* message text as sent (dot-stuffing undone), NUL-terminated */
} smtpd_msg_t;

/* Listen on a free loopback port. reject_rcpt: answer every RCPT with 550. NULL on failure. */
test_smtpd_t *test_smtpd_start(int reject_rcpt);
int test_smtpd_port(const test_smtpd_t *s);
/* Wait until at least n messages were accepted or timeout_ms passed; returns the count. */
size_t test_smtpd_wait(test_smtpd_t *s, size_t n, int timeout_ms);
/* Copy of message i into out (free with smtpd_msg_free); -1 if none. */
int test_smtpd_get(test_smtpd_t *s, size_t i, smtpd_msg_t *out);
void smtpd_msg_free(smtpd_msg_t *m);
void test_smtpd_stop(test_smtpd_t *s);

#endif
