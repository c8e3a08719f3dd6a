/* SPDX-License-Identifier: Apache-2.0 */
/* Batches of parsed points: a string arena of fixed blocks (pointers never move), a label
 * array shared by runs of points, and the limits' defaults. Label pointers are stored as
 * offsets while parsing and resolved when the points are handed out. */
#include "ingest_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_BYTES 65536

typedef struct block {
    struct block *next; /* older block */
    size_t used, cap;   /* bytes used / available in data */
    char data[];        /* the strings */
} block_t;

struct omega_ingest_batch {
    omega_point_t *points; /* label pointers valid only after batch_points() */
    size_t *label_off;     /* per point: start of its label run */
    size_t *origin;        /* per point: line number or array index */
    size_t n, cap;         /* points used / allocated */
    omega_label_t *labels; /* every label run */
    size_t nl, lcap;       /* labels used / allocated */
    block_t *blocks;       /* arena, newest first */
};

void omega_ingest_limits_init(omega_ingest_limits_t *l)
{
    l->max_line_bytes = 1024 * 1024;
    l->max_points = 2000000;
    l->max_labels = 64;
    l->max_decoded_bytes = (size_t)256 * 1024 * 1024;
}

omega_ingest_batch_t *omega_ingest_batch_create(void)
{
    return omega_calloc(1, sizeof(omega_ingest_batch_t));
}

void omega_ingest_batch_destroy(omega_ingest_batch_t *b)
{
    if (!b)
        return;
    for (block_t *k = b->blocks; k;) {
        block_t *next = k->next;
        free(k);
        k = next;
    }
    free(b->points);
    free(b->label_off);
    free(b->origin);
    free(b->labels);
    free(b);
}

char *batch_strdup(omega_ingest_batch_t *b, const char *s, size_t n)
{
    block_t *k = b->blocks;
    if (!k || k->cap - k->used < n + 1) {
        size_t cap = n + 1 > BLOCK_BYTES / 4 ? n + 1 : BLOCK_BYTES;
        block_t *nk = omega_malloc(sizeof(*nk) + cap);
        nk->used = 0;
        nk->cap = cap;
        if (k && cap != BLOCK_BYTES) {
            /* A big string gets its own block behind the current one, which stays open. */
            nk->next = k->next;
            k->next = nk;
        } else {
            nk->next = k;
            b->blocks = nk;
        }
        k = nk;
    }
    char *d = k->data + k->used;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    k->used += n + 1;
    return d;
}

size_t batch_labels_mark(const omega_ingest_batch_t *b)
{
    return b->nl;
}

void batch_label_add(omega_ingest_batch_t *b, const char *name, const char *value)
{
    if (b->nl == b->lcap) {
        b->lcap = b->lcap ? b->lcap * 2 : 64;
        b->labels = omega_realloc(b->labels, b->lcap * sizeof(*b->labels));
    }
    b->labels[b->nl].name = name;
    b->labels[b->nl++].value = value;
}

const omega_label_t *batch_labels_at(const omega_ingest_batch_t *b, size_t mark)
{
    return b->labels + mark;
}

void batch_labels_reset(omega_ingest_batch_t *b, size_t mark)
{
    if (mark < b->nl)
        b->nl = mark;
}

void batch_point_add(omega_ingest_batch_t *b, const char *name, size_t label_off, size_t n_labels,
                     int64_t ts_ms, double value, size_t origin)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->points = omega_realloc(b->points, b->cap * sizeof(*b->points));
        b->label_off = omega_realloc(b->label_off, b->cap * sizeof(*b->label_off));
        b->origin = omega_realloc(b->origin, b->cap * sizeof(*b->origin));
    }
    omega_point_t *p = &b->points[b->n];
    p->name = name;
    p->labels = NULL;
    p->n_labels = n_labels;
    p->ts_ms = ts_ms;
    p->value = value;
    b->label_off[b->n] = label_off;
    b->origin[b->n++] = origin;
}

size_t batch_npoints(const omega_ingest_batch_t *b)
{
    return b->n;
}

const omega_point_t *omega_ingest_batch_points(omega_ingest_batch_t *b, size_t *n)
{
    for (size_t i = 0; i < b->n; i++)
        b->points[i].labels = b->points[i].n_labels ? b->labels + b->label_off[i] : NULL;
    *n = b->n;
    return b->points;
}

void omega_ingest_batch_rewrite_labels(omega_ingest_batch_t *b, omega_ingest_label_fn fn, void *ctx)
{
    for (size_t i = 0; i < b->nl; i++) {
        char *v = fn(ctx, b->labels[i].name, b->labels[i].value);
        if (v) {
            b->labels[i].value = batch_strdup(b, v, strlen(v));
            free(v);
        }
    }
}

size_t omega_ingest_batch_origin(const omega_ingest_batch_t *b, size_t i)
{
    return i < b->n ? b->origin[i] : 0;
}

const char *ingest_excerpt(const char *s, size_t n, char *buf, size_t len)
{
    size_t max = len > 4 ? len - 4 : 0, o = 0;
    for (size_t i = 0; i < n && o < max; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[o++] = (c < 0x20 || c == 0x7f || c >= 0x80) ? '?' : (char)c;
    }
    if (n > max && len > 4) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    if (len)
        buf[o < len ? o : len - 1] = '\0';
    return buf;
}
