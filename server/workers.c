/* SPDX-License-Identifier: Apache-2.0 */
/* The worker pool: request handling (auth, queries, storage) runs here, never on the
 * event loop. A bounded request queue in, a done list out; the loop is woken through
 * lws_cancel_service() and collects responses in LWS_CALLBACK_EVENT_WAIT_CANCELLED. */
#include "server_int.h"

#include "omega/log.h"

#include <libwebsockets.h>
#include <stdlib.h>

typedef struct job {
    http_request_t *req;
    struct job *next;
} job_t;

struct workers {
    app_t *app;                 /* for the lws context and the handler */
    workers_handler_fn fn;      /* request -> response */
    pthread_mutex_t mu;         /* guards everything below */
    pthread_cond_t cv;          /* signalled on new jobs and on stop */
    job_t *head, *tail;         /* pending requests */
    size_t queued, limit;       /* pending count and its bound */
    http_response_t *done_head; /* finished responses, oldest first */
    http_response_t *done_tail;
    int stop;           /* set by workers_stop */
    int n;              /* threads started */
    pthread_t *threads; /* the threads */
};

static void *worker_main(void *arg)
{
    workers_t *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (!w->head && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop) {
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        job_t *j = w->head;
        w->head = j->next;
        if (!w->head)
            w->tail = NULL;
        w->queued--;
        pthread_mutex_unlock(&w->mu);

        int64_t t0 = omega_mono_ns();
        http_response_t *resp = w->fn(w->app, j->req);
        stats_http_observe(j->req->path, resp->status, omega_mono_ns() - t0);
        resp->id = j->req->id;
        http_request_free(j->req);
        free(j);

        pthread_mutex_lock(&w->mu);
        if (w->done_tail)
            w->done_tail->next = resp;
        else
            w->done_head = resp;
        w->done_tail = resp;
        pthread_mutex_unlock(&w->mu);
        if (w->app->lws)
            lws_cancel_service(w->app->lws);
    }
}

workers_t *workers_start(app_t *app, int n, size_t queue_limit, workers_handler_fn fn)
{
    workers_t *w = omega_calloc(1, sizeof(*w));
    w->app = app;
    w->fn = fn;
    w->limit = queue_limit;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->threads = omega_calloc((size_t)n, sizeof(pthread_t));
    for (int i = 0; i < n; i++) {
        if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0) {
            omega_log_error("cannot start worker thread %d", i);
            break;
        }
        w->n++;
    }
    if (w->n == 0) {
        workers_stop(w);
        return NULL;
    }
    return w;
}

int workers_submit(workers_t *w, http_request_t *req)
{
    pthread_mutex_lock(&w->mu);
    if (w->queued >= w->limit || w->stop) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    job_t *j = omega_malloc(sizeof(*j));
    j->req = req;
    j->next = NULL;
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->queued++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

size_t workers_queued(workers_t *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->queued;
    pthread_mutex_unlock(&w->mu);
    return n;
}

http_response_t *workers_take_done(workers_t *w)
{
    pthread_mutex_lock(&w->mu);
    http_response_t *r = w->done_head;
    w->done_head = w->done_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    return r;
}

void workers_stop(workers_t *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->n; i++)
        pthread_join(w->threads[i], NULL);
    for (job_t *j = w->head; j;) {
        job_t *next = j->next;
        http_request_free(j->req);
        free(j);
        j = next;
    }
    for (http_response_t *r = w->done_head; r;) {
        http_response_t *next = r->next;
        http_response_free(r);
        r = next;
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->threads);
    free(w);
}
