/* SPDX-License-Identifier: Apache-2.0 */
/* Fixture shared by the auth unit tests: a real store in a temp dir with an auth handle. */
#ifndef OMEGA_AUTHTEST_H
#define OMEGA_AUTHTEST_H

#include "omega/auth.h"
#include "omega/tsdb.h"

typedef struct authtest {
    char *dir;          /* temp dir holding the store */
    omega_tsdb_t *db;   /* the store */
    omega_auth_t *auth; /* auth handle over db */
} authtest_t;

/* Replace f->auth with a new handle made with options o (NULL = defaults); fails the test
 * (cmocka) when creation fails. */
void authtest_open_auth(authtest_t *f, const omega_auth_options_t *o);
/* cmocka group/test setup: temp dir tagged `tag`, store without fsync, default auth. */
int authtest_setup(void **state, const char *tag);
/* Close everything setup opened and remove the temp dir. */
int authtest_teardown(void **state);
/* a's key status once no re-encryption walk is running (the keeper thread may start a
 * redundant one right after a synchronous walk returns); waits at most 10 s. */
void authtest_key_status_settled(omega_auth_t *a, omega_key_status_t *st);

#endif
