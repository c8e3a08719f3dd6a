/* SPDX-License-Identifier: Apache-2.0 */
/* The points of one collection pass and the storage behind their labels. Arrays grow while a
 * pass runs, so labels are kept as offsets and turned into pointers only by batch_finish, right
 * before the sink sees them. Capacity is kept between passes: steady state allocates nothing. */
#include "collect_int.h"

#include <stdlib.h>
#include <string.h>

void batch_init(batch_t *b)
{
    memset(b, 0, sizeof(*b));
}

void batch_deinit(batch_t *b)
{
    if (!b)
        return;
    free(b->points);
    free(b->first_label);
    free(b->labs);
    free(b->labels);
    free(b->strs);
    memset(b, 0, sizeof(*b));
}

void batch_reset(batch_t *b, int64_t ts_ms)
{
    b->n_points = 0;
    b->n_labs = 0;
    b->n_strs = 0;
    b->ts_ms = ts_ms;
}

static size_t grow_cap(size_t cap, size_t need, size_t min)
{
    size_t n = cap ? cap : min;
    while (n < need)
        n *= 2;
    return n;
}

static void reserve(batch_t *b, size_t n_labels, size_t str_bytes)
{
    if (b->n_points + 1 > b->cap_points) {
        size_t cap = grow_cap(b->cap_points, b->n_points + 1, 64);
        b->points = omega_realloc(b->points, cap * sizeof(*b->points));
        b->first_label = omega_realloc(b->first_label, cap * sizeof(*b->first_label));
        b->cap_points = cap;
    }
    if (b->n_labs + n_labels > b->cap_labs) {
        size_t cap = grow_cap(b->cap_labs, b->n_labs + n_labels, 128);
        b->labs = omega_realloc(b->labs, cap * sizeof(*b->labs));
        b->labels = omega_realloc(b->labels, cap * sizeof(*b->labels));
        b->cap_labs = cap;
    }
    if (b->n_strs + str_bytes > b->cap_strs) {
        size_t cap = grow_cap(b->cap_strs, b->n_strs + str_bytes, 1024);
        b->strs = omega_realloc(b->strs, cap);
        b->cap_strs = cap;
    }
}

/* Label values must be UTF-8, but process names, mount points and sensor labels are whatever
 * bytes the kernel or a driver holds: bytes that do not form UTF-8 become '?'. */
static void utf8_fix(char *s, size_t n)
{
    if (omega_utf8_valid(s, n))
        return;
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        while (k <= 4 && i + k <= n && !omega_utf8_valid(s + i, k))
            k++;
        if (k > 4 || i + k > n) {
            s[i++] = '?';
            continue;
        }
        i += k;
    }
}

void batch_add(batch_t *b, const char *name, double value, const omega_label_t *labels,
               size_t n_labels)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n_labels; i++)
        bytes += strlen(labels[i].value) + 1;
    reserve(b, n_labels, bytes);

    omega_point_t *pt = &b->points[b->n_points];
    pt->name = name;
    pt->labels = NULL;
    pt->n_labels = n_labels;
    pt->ts_ms = b->ts_ms;
    pt->value = value;
    b->first_label[b->n_points] = b->n_labs;
    b->n_points++;

    for (size_t i = 0; i < n_labels; i++) {
        size_t len = strlen(labels[i].value) + 1;
        memcpy(b->strs + b->n_strs, labels[i].value, len);
        utf8_fix(b->strs + b->n_strs, len - 1);
        b->labs[b->n_labs].name = labels[i].name;
        b->labs[b->n_labs].value_off = b->n_strs;
        b->n_labs++;
        b->n_strs += len;
    }
}

const omega_point_t *batch_finish(batch_t *b, size_t *n)
{
    for (size_t i = 0; i < b->n_labs; i++) {
        b->labels[i].name = b->labs[i].name;
        b->labels[i].value = b->strs + b->labs[i].value_off;
    }
    for (size_t i = 0; i < b->n_points; i++)
        b->points[i].labels = b->points[i].n_labels ? &b->labels[b->first_label[i]] : NULL;
    *n = b->n_points;
    return b->points;
}
