/* SPDX-License-Identifier: Apache-2.0 */
/* Login rate limits: a sliding window of recent failure times per user name and per client
 * address, in memory (a restart forgets them, which only ever helps a locked-out user).
 * Attempts in flight are counted as failures until they end, so N parallel requests
 * cannot slip past a limit of N. Each table is bounded: when it is full, the entry that
 * was touched longest ago and has nothing in flight is reused, so a flood of addresses
 * costs memory once and never locks the table. */
#include "auth_int.h"

#include <stdlib.h>
#include <string.h>

#define LIMIT_TABLE_MAX 4096 /* entries per table */
#define LIMIT_KEY_MAX   64   /* bytes of a key kept (addresses and names are shorter) */

typedef struct limit_entry {
    char key[LIMIT_KEY_MAX + 1]; /* user name or address; "" = free */
    int64_t *fails;              /* failure times (Unix ms), oldest first, <= max */
    uint32_t n_fails;            /* entries in fails */
    uint32_t pending;            /* attempts in flight */
    int64_t touched_ms;          /* last use, for reuse when full */
    int64_t quiet_until_ms;      /* refusals before this time are not reported again */
} limit_entry_t;

typedef struct limit_table {
    limit_entry_t *e;  /* LIMIT_TABLE_MAX entries */
    size_t n;          /* entries ever used (prefix of e) */
    uint32_t max;      /* failures allowed per window */
    int64_t window_ms; /* window length */
} limit_table_t;

struct auth_limiter {
    pthread_mutex_t lock; /* guards both tables */
    limit_table_t user;   /* per user name */
    limit_table_t addr;   /* per client address */
};

static void table_init(limit_table_t *t, uint32_t max, int64_t window_ms)
{
    t->e = omega_calloc(LIMIT_TABLE_MAX, sizeof(*t->e));
    t->max = max;
    t->window_ms = window_ms;
}

static void table_free(limit_table_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->e[i].fails);
    free(t->e);
}

auth_limiter_t *auth_limiter_create(const omega_auth_options_t *o)
{
    auth_limiter_t *l = omega_calloc(1, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
    table_init(&l->user, o->user_max_failures, o->user_window_ms);
    table_init(&l->addr, o->addr_max_failures, o->addr_window_ms);
    return l;
}

void auth_limiter_destroy(auth_limiter_t *l)
{
    if (!l)
        return;
    table_free(&l->user);
    table_free(&l->addr);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* Forget failures older than the window. */
static void expire(const limit_table_t *t, limit_entry_t *e, int64_t now)
{
    uint32_t drop = 0;
    while (drop < e->n_fails && e->fails[drop] + t->window_ms <= now)
        drop++;
    memmove(e->fails, e->fails + drop, (e->n_fails - drop) * sizeof(*e->fails));
    e->n_fails -= drop;
}

/* The entry of key, created (or a stale one reused) when absent. */
static limit_entry_t *lookup(limit_table_t *t, const char *key, int64_t now)
{
    limit_entry_t *victim = NULL;
    for (size_t i = 0; i < t->n; i++) {
        limit_entry_t *e = &t->e[i];
        if (strcmp(e->key, key) == 0)
            return e;
        if (e->pending == 0 && (!victim || e->touched_ms < victim->touched_ms))
            victim = e;
    }
    if (t->n < LIMIT_TABLE_MAX) {
        victim = &t->e[t->n++];
        victim->fails = omega_calloc(t->max, sizeof(*victim->fails));
    }
    if (!victim)
        return NULL; /* every entry has an attempt in flight: cannot happen with bounded workers */
    memcpy(victim->key, key, strlen(key) + 1);
    victim->n_fails = 0;
    victim->pending = 0;
    victim->touched_ms = now;
    victim->quiet_until_ms = 0;
    return victim;
}

/* Seconds until key may try again (0 = now), reserving a slot when it may. *first is set
 * when this refusal is the first one of the current lock-out (to be reported once). */
static int64_t reserve(limit_table_t *t, limit_entry_t *e, int64_t now, int *first)
{
    if (!e)
        return 1;
    expire(t, e, now);
    e->touched_ms = now;
    if (e->n_fails + e->pending < t->max)
        return 0;
    int64_t wait_ms = e->n_fails ? e->fails[0] + t->window_ms - now : 1000;
    if (wait_ms <= 0)
        wait_ms = 1;
    if (now >= e->quiet_until_ms) {
        *first = 1;
        e->quiet_until_ms = e->n_fails ? e->fails[e->n_fails - 1] + t->window_ms : now + wait_ms;
    }
    return (wait_ms + 999) / 1000;
}

static void finish(limit_table_t *t, limit_entry_t *e, int failed, int clear, int64_t now)
{
    if (!e)
        return;
    if (e->pending > 0)
        e->pending--;
    expire(t, e, now);
    if (clear)
        e->n_fails = 0;
    if (failed) {
        if (e->n_fails == t->max) { /* keep the newest max */
            memmove(e->fails, e->fails + 1, (t->max - 1) * sizeof(*e->fails));
            e->n_fails--;
        }
        e->fails[e->n_fails++] = now;
    }
}

/* Keys are truncated to LIMIT_KEY_MAX bytes; longer user names are refused earlier. */
static void key_of(const char *s, char out[LIMIT_KEY_MAX + 1])
{
    size_t n = strnlen(s, LIMIT_KEY_MAX);
    memcpy(out, s, n);
    out[n] = '\0';
}

int64_t auth_limiter_begin(auth_limiter_t *l, const char *user, const char *address, int *first)
{
    int64_t now = omega_now_ms(), wait_u = 0, wait_a = 0;
    char ku[LIMIT_KEY_MAX + 1], ka[LIMIT_KEY_MAX + 1];
    int has_u = user && *user, has_a = address && *address;
    if (has_u)
        key_of(user, ku);
    if (has_a)
        key_of(address, ka);
    pthread_mutex_lock(&l->lock);
    limit_entry_t *eu = has_u ? lookup(&l->user, ku, now) : NULL;
    limit_entry_t *ea = has_a ? lookup(&l->addr, ka, now) : NULL;
    *first = 0;
    if (has_u)
        wait_u = reserve(&l->user, eu, now, first);
    if (has_a)
        wait_a = reserve(&l->addr, ea, now, first);
    if (wait_u == 0 && wait_a == 0) {
        if (eu)
            eu->pending++;
        if (ea)
            ea->pending++;
    }
    pthread_mutex_unlock(&l->lock);
    return wait_u > wait_a ? wait_u : wait_a;
}

void auth_limiter_end(auth_limiter_t *l, const char *user, const char *address, int failed)
{
    int64_t now = omega_now_ms();
    char ku[LIMIT_KEY_MAX + 1], ka[LIMIT_KEY_MAX + 1];
    pthread_mutex_lock(&l->lock);
    if (user && *user) {
        key_of(user, ku);
        finish(&l->user, lookup(&l->user, ku, now), failed, !failed, now);
    }
    if (address && *address) {
        key_of(address, ka);
        finish(&l->addr, lookup(&l->addr, ka, now), failed, 0, now);
    }
    pthread_mutex_unlock(&l->lock);
}
