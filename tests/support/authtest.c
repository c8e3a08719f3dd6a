/* SPDX-License-Identifier: Apache-2.0 */
/* The auth tests' fixture: open a temp store and an auth handle over it, and tear down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "authtest.h"
#include "testutil.h"

#include <stdlib.h>
#include <unistd.h>

void authtest_open_auth(authtest_t *f, const omega_auth_options_t *o)
{
    omega_auth_destroy(f->auth);
    omega_error_t err;
    omega_error_clear(&err);
    f->auth = omega_auth_create(f->db, o, &err);
    if (!f->auth)
        fail_msg("auth create: %s", err.message);
}

int authtest_setup(void **state, const char *tag)
{
    authtest_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp(tag);
    omega_tsdb_options_t so;
    omega_tsdb_options_init(&so);
    so.data_dir = f->dir;
    so.sync_writes = 0;
    f->db = omega_tsdb_open(&so, NULL);
    assert_non_null(f->db);
    authtest_open_auth(f, NULL);
    *state = f;
    return 0;
}

int authtest_teardown(void **state)
{
    authtest_t *f = *state;
    omega_auth_destroy(f->auth);
    omega_tsdb_close(f->db);
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

void authtest_key_status_settled(omega_auth_t *a, omega_key_status_t *st)
{
    for (int i = 0; i < 1000; i++) {
        omega_auth_key_status(a, st);
        if (!st->reencrypting)
            return;
        usleep(10000);
    }
}
