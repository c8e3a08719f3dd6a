/* SPDX-License-Identifier: Apache-2.0 */
/* Delivery threads: one worker per channel that has due notifications, so a webhook that
 * hangs delays only its own channel. Each worker sends its channel's items one at a time in
 * queue order; the dispatcher (the engine's sender thread) starts workers and reaps them.
 * The queue itself (storage, backoff, retry window) is queue.c's. */
#include "alert_int.h"

#include <stdlib.h>
#include <string.h>

#include "omega/log.h"

#define MAX_WORKERS 64 /* channels delivering at the same time; others wait for a slot */

typedef struct sender_worker {
    omega_alert_engine_t *e;
    char *channel;  /* channel id served (owned) */
    int64_t now_ms; /* fixed clock (omega_alert_deliver), 0 = the wall clock */
    int done;       /* set under e->mu as the worker's last act */
    pthread_t th;
} sender_worker_t;

static category_t entry_category(json_t *entry)
{
    const char *c = json_string_value(json_object_get(entry, "category"));
    if (c && strcmp(c, "system") == 0)
        return CAT_SYSTEM;
    if (c && strcmp(c, "application") == 0)
        return CAT_APPLICATION;
    return CAT_PERFORMANCE;
}

/* Attempt every due item of one channel once, oldest first. Returns with e->mu held, once
 * nothing of the channel is due (so "no more work" and "done" are one decision). */
static void channel_pass(omega_alert_engine_t *e, const char *channel, int64_t fixed_now)
{
    pthread_mutex_lock(&e->mu);
    for (;;) {
        int64_t now = fixed_now ? fixed_now : omega_now_ms();
        qitem_t *q = e->stopping ? NULL : queue_next_due(e, channel, now);
        if (!q)
            return;
        q->busy = 1;
        uint64_t seq = q->seq;
        channel_t *snap = channel_dup(channel_find(e, channel, NULL));
        snap->cancel = &e->cancel_io;
        json_t *entry = json_deep_copy(q->entry);
        pthread_mutex_unlock(&e->mu);

        omega_error_t err;
        omega_error_clear(&err);
        json_t *payload = json_object_get(entry, "payload");
        int64_t at = json_integer_value(json_object_get(entry, "created"));
        int rc = deliver(e, snap, entry_category(entry), payload, at, &err);
        channel_free(snap);
        json_decref(entry);

        pthread_mutex_lock(&e->mu);
        queue_settle(e, seq, rc, err.message, fixed_now ? fixed_now : omega_now_ms());
    }
}

static void *worker_main(void *arg)
{
    sender_worker_t *w = arg;
    channel_pass(w->e, w->channel, w->now_ms);
    w->done = 1; /* e->mu is held */
    pthread_cond_broadcast(&w->e->cond);
    pthread_mutex_unlock(&w->e->mu);
    return NULL;
}

static sender_worker_t *worker_new(omega_alert_engine_t *e, const char *channel, int64_t now_ms)
{
    sender_worker_t *w = omega_calloc(1, sizeof(*w));
    w->e = e;
    w->channel = omega_strdup(channel);
    w->now_ms = now_ms;
    return w;
}

static void worker_free(sender_worker_t *w)
{
    free(w->channel);
    free(w);
}

/* Distinct channels of the items due at now_ms (not busy, channel not held), as a malloc'd
 * array of borrowed names valid while e->mu is held. */
static const char **due_channels(omega_alert_engine_t *e, int64_t now_ms, size_t *n,
                                 int64_t *next_ms)
{
    const char **out = NULL;
    *n = 0;
    for (size_t i = 0; i < e->n_queue; i++) {
        qitem_t *q = e->queue[i];
        if (q->busy)
            continue;
        channel_t *c = channel_find(e, q->channel, NULL);
        int64_t due = q->next_ms;
        if (c && c->hold_until_ms > due)
            due = c->hold_until_ms;
        if (due > now_ms) {
            if (next_ms && due < *next_ms)
                *next_ms = due;
            continue;
        }
        size_t k = 0;
        while (k < *n && strcmp(out[k], q->channel) != 0)
            k++;
        if (k < *n)
            continue;
        out = omega_realloc(out, (*n + 1) * sizeof(*out));
        out[(*n)++] = q->channel;
    }
    return out;
}

size_t omega_alert_deliver(omega_alert_engine_t *e, int64_t now_ms)
{
    pthread_mutex_lock(&e->mu);
    size_t n = 0;
    const char **due = e->stopping ? NULL : due_channels(e, now_ms, &n, NULL);
    sender_worker_t **ws = n ? omega_calloc(n, sizeof(*ws)) : NULL;
    for (size_t i = 0; i < n; i++)
        ws[i] = worker_new(e, due[i], now_ms);
    free(due);
    pthread_mutex_unlock(&e->mu);
    /* Channels in parallel, in batches of MAX_WORKERS; the last of a batch (or one that
     * cannot get a thread) runs on the calling thread. */
    for (size_t i = 0; i < n; i += MAX_WORKERS) {
        size_t end = i + MAX_WORKERS < n ? i + MAX_WORKERS : n;
        int *started = omega_calloc(end - i, sizeof(*started));
        for (size_t k = i; k + 1 < end; k++)
            started[k - i] = pthread_create(&ws[k]->th, NULL, worker_main, ws[k]) == 0;
        for (size_t k = i; k < end; k++)
            if (!started[k - i])
                worker_main(ws[k]);
        for (size_t k = i; k < end; k++)
            if (started[k - i])
                pthread_join(ws[k]->th, NULL);
        free(started);
    }
    for (size_t i = 0; i < n; i++)
        worker_free(ws[i]);
    free(ws);
    pthread_mutex_lock(&e->mu);
    size_t left = e->n_queue;
    pthread_mutex_unlock(&e->mu);
    return left;
}

/* Join and forget finished workers (caller holds e->mu; a finished worker no longer
 * needs it). */
static void reap(omega_alert_engine_t *e)
{
    size_t keep = 0;
    for (size_t i = 0; i < e->n_workers; i++) {
        sender_worker_t *w = e->workers[i];
        if (w->done) {
            pthread_join(w->th, NULL);
            worker_free(w);
        } else {
            e->workers[keep++] = w;
        }
    }
    e->n_workers = keep;
}

static int has_worker(const omega_alert_engine_t *e, const char *channel)
{
    for (size_t i = 0; i < e->n_workers; i++)
        if (strcmp(e->workers[i]->channel, channel) == 0)
            return 1;
    return 0;
}

/* Start a worker for every channel with due items that has none (caller holds e->mu).
 * Returns the ms until the next item falls due (at most 1 s). */
static int64_t dispatch(omega_alert_engine_t *e)
{
    int64_t now = omega_now_ms(), next = now + 1000;
    size_t n = 0;
    const char **due = due_channels(e, now, &n, &next);
    for (size_t i = 0; i < n && e->n_workers < MAX_WORKERS; i++) {
        if (has_worker(e, due[i]))
            continue;
        sender_worker_t *w = worker_new(e, due[i], 0);
        if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
            omega_log_warn("alerting: cannot start a delivery thread for channel %s", due[i]);
            worker_free(w);
            break;
        }
        e->workers = omega_realloc(e->workers, (e->n_workers + 1) * sizeof(*e->workers));
        e->workers[e->n_workers++] = w;
    }
    free(due);
    return next - now;
}

void *sender_main(void *arg)
{
    omega_alert_engine_t *e = arg;
    pthread_mutex_lock(&e->mu);
    while (!e->stopping) {
        reap(e);
        int64_t wait = dispatch(e);
        if (wait > 0)
            engine_wait_ms(e, wait);
    }
    /* Stopping: workers finish (or abort) their current attempt and exit. */
    while (e->n_workers) {
        reap(e);
        if (e->n_workers)
            engine_wait_ms(e, 100);
    }
    free(e->workers);
    e->workers = NULL;
    pthread_mutex_unlock(&e->mu);
    return NULL;
}
