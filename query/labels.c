/* SPDX-License-Identifier: Apache-2.0 */
/* Owned, sorted label sets for the evaluator: building them from stored series, copying,
 * filtering for by/without/on/ignoring, comparing and keying for grouping. */
#include "query_int.h"

#include <stdlib.h>
#include <string.h>

lset_t lset_from_series(const omega_series_t *s)
{
    lset_t l = {omega_calloc(s->n_labels + 1, sizeof(omega_label_t)), 0};
    int placed = 0;
    for (size_t i = 0; i < s->n_labels; i++) {
        if (!placed && strcmp("__name__", s->labels[i].name) < 0) {
            l.v[l.n].name = omega_strdup("__name__");
            l.v[l.n++].value = omega_strdup(s->name);
            placed = 1;
        }
        l.v[l.n].name = omega_strdup(s->labels[i].name);
        l.v[l.n++].value = omega_strdup(s->labels[i].value);
    }
    if (!placed) {
        l.v[l.n].name = omega_strdup("__name__");
        l.v[l.n++].value = omega_strdup(s->name);
    }
    return l;
}

lset_t lset_dup(const lset_t *l)
{
    lset_t c = {omega_calloc(l->n ? l->n : 1, sizeof(omega_label_t)), l->n};
    for (size_t i = 0; i < l->n; i++) {
        c.v[i].name = omega_strdup(l->v[i].name);
        c.v[i].value = omega_strdup(l->v[i].value);
    }
    return c;
}

void lset_free(lset_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free((char *)l->v[i].name);
        free((char *)l->v[i].value);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int lset_cmp(const lset_t *a, const lset_t *b)
{
    for (size_t i = 0; i < a->n && i < b->n; i++) {
        int c = strcmp(a->v[i].name, b->v[i].name);
        if (c)
            return c;
        c = strcmp(a->v[i].value, b->v[i].value);
        if (c)
            return c;
    }
    return a->n < b->n ? -1 : a->n > b->n;
}

const char *lset_get(const lset_t *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return l->v[i].value;
    return NULL;
}

static int listed(const char *name, char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

lset_t lset_filter(const lset_t *l, char *const *names, size_t n, int keep)
{
    lset_t c = {omega_calloc(l->n ? l->n : 1, sizeof(omega_label_t)), 0};
    for (size_t i = 0; i < l->n; i++) {
        if (listed(l->v[i].name, names, n) != keep)
            continue;
        c.v[c.n].name = omega_strdup(l->v[i].name);
        c.v[c.n++].value = omega_strdup(l->v[i].value);
    }
    return c;
}

void lset_drop(lset_t *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].name, name) != 0)
            continue;
        free((char *)l->v[i].name);
        free((char *)l->v[i].value);
        memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(omega_label_t));
        l->n--;
        return;
    }
}

char *lset_key(const lset_t *l)
{
    size_t len = 1;
    for (size_t i = 0; i < l->n; i++)
        len += strlen(l->v[i].name) + strlen(l->v[i].value) + 2;
    char *k = omega_malloc(len), *o = k;
    /* '\xff' never occurs in valid UTF-8, so the key is unambiguous. */
    for (size_t i = 0; i < l->n; i++) {
        size_t a = strlen(l->v[i].name), b = strlen(l->v[i].value);
        memcpy(o, l->v[i].name, a);
        o += a;
        *o++ = '\xff';
        memcpy(o, l->v[i].value, b);
        o += b;
        *o++ = '\xff';
    }
    *o = '\0';
    return k;
}
