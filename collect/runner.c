/* SPDX-License-Identifier: Apache-2.0 */
/* The collection thread: one pass every interval, at wall-clock multiples of the interval (so
 * every host's samples line up on the same timestamps, like Netdata's), stamped with that
 * aligned time. It sleeps on a CLOCK_MONOTONIC condition variable, so stopping wakes it at once
 * and wall-clock steps cannot stretch a sleep. Missed slots (a slow pass) are skipped, never
 * caught up in a burst. */
#include "collect_int.h"
#include "omega/log.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct omega_collect_runner {
    pthread_t thread;          /* the collection thread */
    pthread_mutex_t lock;      /* guards stop; held by the thread while it sleeps */
    pthread_cond_t cond;       /* CLOCK_MONOTONIC; signalled by omega_collect_runner_stop */
    int stop;                  /* set once by omega_collect_runner_stop */
    omega_collector_t *c;      /* borrowed; used only by the thread while it runs */
    omega_collect_sink_t sink; /* copy of the caller's sink; ctx is borrowed */
    int64_t interval_ms;       /* period, 100 .. 3600000 */
};

/* The first wall-clock multiple of interval_ms strictly after now_ms. */
static int64_t next_slot(int64_t now_ms, int64_t interval_ms)
{
    return (now_ms / interval_ms + 1) * interval_ms;
}

/* Absolute CLOCK_MONOTONIC time ms milliseconds from now, for pthread_cond_timedwait. */
static struct timespec mono_deadline(int64_t ms)
{
    struct timespec ts;
    int64_t ns = omega_mono_ns() + ms * 1000000;
    ts.tv_sec = (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    return ts;
}

/* With r->lock held, sleep until the wall clock reaches *slot_ms or stop is requested.
 * Returns 1 when stopped. If the wall clock stepped back by more than an interval, the slot
 * is recomputed from the new time rather than sleeping for the size of the step. */
static int wait_for_slot(omega_collect_runner_t *r, int64_t *slot_ms)
{
    while (!r->stop) {
        int64_t left = *slot_ms - omega_now_ms();
        if (left <= 0)
            return 0;
        if (left > r->interval_ms) {
            *slot_ms = next_slot(omega_now_ms(), r->interval_ms);
            continue;
        }
        /* Spurious wakeups and timeouts both just loop back to re-check. */
        struct timespec ts = mono_deadline(left);
        pthread_cond_timedwait(&r->cond, &r->lock, &ts);
    }
    return 1;
}

static void *runner_main(void *arg)
{
    omega_collect_runner_t *r = arg;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        int64_t slot = next_slot(omega_now_ms(), r->interval_ms);
        if (wait_for_slot(r, &slot))
            break;
        pthread_mutex_unlock(&r->lock);
        /* Failures were logged (rate-limited) by the collector; the next pass retries. */
        (void)omega_collector_collect(r->c, slot, &r->sink);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* Initialise lock and cond (cond on CLOCK_MONOTONIC). Returns 0 or OMEGA_EAGAIN. */
static int sync_init(omega_collect_runner_t *r)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return OMEGA_EAGAIN;
    int ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
             pthread_cond_init(&r->cond, &attr) == 0;
    pthread_condattr_destroy(&attr);
    if (!ok)
        return OMEGA_EAGAIN;
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        pthread_cond_destroy(&r->cond);
        return OMEGA_EAGAIN;
    }
    return 0;
}

/* Start the thread with every signal blocked, so process signals (SIGTERM, SIGINT ...) go to
 * the threads that handle them, never to the collector. */
static int spawn(omega_collect_runner_t *r)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int prc = pthread_create(&r->thread, NULL, runner_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc != 0)
        return prc;
    pthread_setname_np(r->thread, "omega-collect");
    return 0;
}

omega_collect_runner_t *omega_collect_runner_start(omega_collector_t *c, int64_t interval_ms,
                                                   const omega_collect_sink_t *sink,
                                                   omega_error_t *err)
{
    char ebuf[128];
    if (!c || !sink || !sink->emit) {
        omega_error_set(err, OMEGA_EINVAL, "runner needs a collector and a sink");
        return NULL;
    }
    if (collect_interval_check(interval_ms, err) != 0)
        return NULL;

    omega_collect_runner_t *r = omega_calloc(1, sizeof(*r));
    r->c = c;
    r->sink = *sink;
    r->interval_ms = interval_ms;
    if (sync_init(r) != 0) {
        omega_error_set(err, OMEGA_EAGAIN, "cannot initialise the runner's lock");
        free(r);
        return NULL;
    }
    int prc = spawn(r);
    if (prc != 0) {
        omega_error_set(err, OMEGA_EAGAIN, "cannot start the collection thread: %s",
                        strerror_r(prc, ebuf, sizeof(ebuf)));
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
    }
    omega_log_debug("collect: runner started, interval %lld ms", (long long)interval_ms);
    return r;
}

void omega_collect_runner_stop(omega_collect_runner_t *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = 1;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
