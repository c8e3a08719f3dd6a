/* SPDX-License-Identifier: Apache-2.0 */
/* The fixture every server integration test shares: a temp dir holding the data dir and the
 * server log, the real omega-monitor on a free loopback port, logins, a clean stop that
 * insists on exit status 0, and the API's error-body check. */
#ifndef OMEGA_SRVTEST_H
#define OMEGA_SRVTEST_H

#include <stddef.h>
#include <sys/types.h>

#include "httpc.h"

typedef struct srvtest {
    char *dir;        /* temp dir holding data/ and server.log (malloc'd; NULL when none) */
    char data[600];   /* data dir: <dir>/data */
    char log[600];    /* server stdout+stderr: <dir>/server.log */
    int port;         /* loopback port the server listens on */
    pid_t pid;        /* running server, -1 when none */
    char token[1100]; /* session token of srvtest_login_session() */
    char auth[1200];  /* "Authorization: Bearer <token>\r\n" for that session */
} srvtest_t;

/* Fill t for a server that is not running yet: a fresh temp dir omega-test-<tag>-XXXXXX,
 * its data and log paths, and a free port. Lets a test prepare the data dir (prefill,
 * seed users) before srvtest_launch(). Returns 0 or -1. Not thread-safe (one fixture per
 * test thread). */
int srvtest_init(srvtest_t *t, const char *tag);

/* Start omega-monitor serve on t's port and data dir with the extra environment entries
 * env ("K=V", NULL-terminated; borrowed until the child has started) and wait until
 * /healthz answers. On failure prints the server log. Returns 0 or -1 (t->pid is then -1). */
int srvtest_launch(srvtest_t *t, char *const env[]);

/* srvtest_init() then srvtest_launch(). Returns 0 or -1. */
int srvtest_start(srvtest_t *t, const char *tag, char *const env[]);

/* srvtest_launch() then srvtest_login_session() as user/pw; prints the server log when the
 * login fails. Returns 0 or -1. */
int srvtest_launch_session(srvtest_t *t, char *const env[], const char *user, const char *pw);

/* srvtest_init() then srvtest_launch_session(). Returns 0 or -1. */
int srvtest_start_session(srvtest_t *t, const char *tag, char *const env[], const char *user,
                          const char *pw);

/* Stop the server (it must exit 0; otherwise its status and log are printed and nothing is
 * started) and start it again on the same port and data dir with env. Returns 0 or -1. */
int srvtest_restart(srvtest_t *t, char *const env[]);

/* Stop the server (SIGTERM, bounded wait); on an exit status other than 0 print it and the
 * server log. Then remove the temp dir and free t->dir (a NULL t->dir is left alone).
 * Returns 0 only when the server exited 0. */
int srvtest_stop(srvtest_t *t);

/* Print the server log to stderr, framed, or "(none)". */
void srvtest_dump_log(const srvtest_t *t);

/* POST /api/v1/auth/login as user/pw (JSON body) and leave the response in *r, which the
 * caller frees with httpc_resp_free(). Returns httpc_request()'s 0 or -1. */
int srvtest_login_request(const srvtest_t *t, const char *user, const char *pw, httpc_resp_t *r);

/* Log in as user/pw. token_out (len bytes; may be NULL) gets the session token on 200 and
 * "" otherwise. Returns the HTTP status, or -1 when no response came or a 200 carried no
 * token. */
int srvtest_login(const srvtest_t *t, const char *user, const char *pw, char *token_out,
                  size_t len);

/* Log in as user/pw and keep that session in t->token and t->auth. Returns 0 or -1. */
int srvtest_login_session(srvtest_t *t, const char *user, const char *pw);

/* "Authorization: Bearer <token>\r\n" into buf (len bytes). Returns buf. */
char *srvtest_bearer(const char *token, char *buf, size_t len);

/* cmocka-assert that r is an API error: HTTP status `status` (else fails showing the body)
 * and a body {"status":"error","errorType":error_type,"error":<message of more than 5
 * characters>}. Must run inside a cmocka test. */
void srvtest_assert_error(const httpc_resp_t *r, int status, const char *error_type);

#endif
