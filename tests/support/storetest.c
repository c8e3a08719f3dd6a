/* SPDX-License-Identifier: Apache-2.0 */
/* The module tests' store (storetest.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "storetest.h"

void storetest_options(omega_tsdb_options_t *o, const char *dir)
{
    omega_tsdb_options_init(o);
    o->data_dir = dir;
    o->sync_writes = 0;
    o->out_of_order_window_ms = 0;
    o->raw_retention_ms = 0;
}

omega_tsdb_t *storetest_open(const char *dir)
{
    omega_tsdb_options_t o;
    storetest_options(&o, dir);
    omega_tsdb_t *db = omega_tsdb_open(&o, NULL);
    assert_non_null(db);
    return db;
}
