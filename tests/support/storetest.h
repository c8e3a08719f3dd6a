/* SPDX-License-Identifier: Apache-2.0 */
/* A store for module tests: in a temp dir, without fsync, without the out-of-order window
 * (tests write at fake times far apart) and without raw retention. */
#ifndef OMEGA_STORETEST_H
#define OMEGA_STORETEST_H

#include "omega/tsdb.h"

/* Fill o with the test defaults for a store in dir. */
void storetest_options(omega_tsdb_options_t *o, const char *dir);
/* Open a store in dir with those defaults; fails the test (cmocka) when it cannot. */
omega_tsdb_t *storetest_open(const char *dir);

#endif
