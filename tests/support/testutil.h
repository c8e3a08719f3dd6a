/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the test executables: temp dirs, fixture paths, free ports. */
#ifndef OMEGA_TESTUTIL_H
#define OMEGA_TESTUTIL_H

#include <stddef.h>

/* Create a fresh directory under $TMPDIR (or /tmp) named omega-test-<tag>-XXXXXX.
 * Returns a malloc'd path; the caller frees it after testutil_rmtree(). Aborts on failure. */
char *testutil_mkdtemp(const char *tag);

/* Remove a directory tree (like rm -rf). Returns 0 or -1. */
int testutil_rmtree(const char *path);

/* Absolute path of a file in the source tree: $OMEGA_SOURCE_DIR/rel into buf. */
const char *testutil_source_path(const char *rel, char *buf, size_t len);

/* Absolute path of a file in the build tree: $OMEGA_BUILD_DIR/rel into buf. */
const char *testutil_build_path(const char *rel, char *buf, size_t len);

/* Write len bytes to path (creating parent dirs). Returns 0 or -1. */
int testutil_write_file(const char *path, const void *data, size_t len);

/* Read a whole file into a malloc'd NUL-terminated buffer; NULL on error. */
char *testutil_read_file(const char *path, size_t *len);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int testutil_free_port(void);

/* Standard base64 (with padding) of n bytes into out (NUL-terminated; out_len must hold
 * 4 * ceil(n / 3) + 1 bytes, else the output is cut). */
void testutil_base64(const void *in, size_t n, char *out, size_t out_len);

/* 1 when the bytes of needle occur in any file under dir (recursively), 0 when in none,
 * -1 when a directory or file cannot be read (the grep tests for secrets at rest). */
int testutil_dir_contains(const char *dir, const char *needle);

#endif
