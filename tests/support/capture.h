/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper for collect/: a sink that keeps a deep copy of the last pass' points, and
 * lookups by name and exact label set. */
#ifndef OMEGA_TEST_CAPTURE_H
#define OMEGA_TEST_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "omega/collect.h"

#define CAP_LABELS 4

typedef struct cap_pt {
    char name[96];                /* metric name */
    size_t n_labels;              /* label pairs used */
    char lname[CAP_LABELS][24];   /* label names */
    char lvalue[CAP_LABELS][160]; /* label values */
    double value;                 /* sample value */
    int64_t ts_ms;                /* sample time */
} cap_pt_t;

typedef struct cap {
    cap_pt_t *pts; /* points of the last emit (malloc'd) */
    size_t n;      /* entries in pts */
    int emits;     /* emit calls so far */
} cap_t;

/* A sink writing into c. */
omega_collect_sink_t cap_sink(cap_t *c);
/* Free the points. */
void cap_free(cap_t *c);
/* Run one pass of col stamped ts into c (cleared first); returns the collector's status. */
int cap_pass(omega_collector_t *col, cap_t *c, int64_t ts);
/* The point named name with exactly the label pairs given as a NULL-terminated list of
 * name, value, ...; or NULL. */
const cap_pt_t *cap_find(const cap_t *c, const char *name, ...);
/* Value of such a point; fails the test when it is missing. */
double cap_value(const cap_t *c, const char *name, ...);
/* Number of points named name. */
size_t cap_count(const cap_t *c, const char *name);

/* Sources to switch on in cap_make. */
enum {
    S_CPU = 1,
    S_MEM = 2,
    S_VM = 4,
    S_DISK = 8,
    S_NET = 16,
    S_SENS = 32,
    S_PROC = 64,
    S_SELF = 128,
    S_PSI = 256,
    S_ALL = 511
};

/* A collector over root with only the sources in which (S_* bits) and the nt probe targets;
 * fails the test when creation fails. */
omega_collector_t *cap_make(const char *root, unsigned which, const char *const *targets,
                            size_t nt);
/* Path of tests/fixtures/proc/<name> in the source tree, in buf. */
const char *cap_fixture(const char *name, char *buf, size_t len);
/* Write <root>/<rel> with text (parent directories created). */
void cap_put(const char *root, const char *rel, const char *text);
/* Copy fixture file <fcase>/<rel> to <root>/<rel>. */
void cap_put_fixture(const char *root, const char *fcase, const char *rel);
/* Fail unless got equals want within a relative 1e-9. */
void cap_assert_close(double got, double want);
/* A socket listening on 127.0.0.1 (any port, returned in *port). */
int cap_listener(int *port);

#endif
