/* SPDX-License-Identifier: Apache-2.0 */
/* The live hub: subscriptions of every WebSocket client, a thread that evaluates each
 * distinct due query once per tick and fans the result out to every subscriber, and
 * bounded per-client frame queues (oldest dropped, the client told with a lag message).
 * The loop thread owns the lws side; this file only touches a wsi from the loop. */
#include "server_int.h"

#include "omega/buf.h"
#include "omega/log.h"
#include "omega/query.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SUBS_PER_CONN 64

typedef struct frame {
    struct frame *next;
    size_t len;         /* payload bytes */
    unsigned char *buf; /* LWS_PRE headroom + payload */
} frame_t;

typedef struct sub {
    char id[65];         /* client's subscription id */
    char *query;         /* expression text */
    int64_t interval_ms; /* period */
    int64_t next_due_ms; /* next evaluation, Unix ms */
    struct sub *next;
} sub_t;

typedef struct conn {
    uint64_t id;          /* hub id */
    struct lws *wsi;      /* loop thread only */
    frame_t *head, *tail; /* outgoing frames */
    size_t queued;        /* frames in the queue */
    uint64_t dropped;     /* frames dropped since the last lag message */
    sub_t *subs;          /* subscriptions */
    size_t nsubs;
    struct conn *next;
} conn_t;

struct live_hub {
    app_t *app;
    pthread_mutex_t mu; /* guards conns and their queues and subs */
    pthread_cond_t cv;  /* CLOCK_MONOTONIC; wakes the evaluator */
    conn_t *conns;
    size_t nconns, queue_limit, max_clients;
    uint64_t next_id;
    int stop, started;
    pthread_t thread;
};

live_hub_t *hub_create(app_t *app, size_t queue_limit, size_t max_clients)
{
    live_hub_t *h = omega_calloc(1, sizeof(*h));
    h->app = app;
    h->queue_limit = queue_limit ? queue_limit : 64;
    h->max_clients = max_clients ? max_clients : 256;
    h->next_id = 1;
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    return h;
}

static conn_t *find_conn(live_hub_t *h, uint64_t id)
{
    for (conn_t *c = h->conns; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void free_subs(sub_t *s)
{
    while (s) {
        sub_t *next = s->next;
        free(s->query);
        free(s);
        s = next;
    }
}

static void free_frames(frame_t *f)
{
    while (f) {
        frame_t *next = f->next;
        free(f->buf);
        free(f);
        f = next;
    }
}

/* Caller holds mu. Copies text into a new frame; drops the oldest frame when full. */
static void enqueue_locked(live_hub_t *h, conn_t *c, const char *text, size_t len)
{
    if (c->queued >= h->queue_limit && c->head) {
        frame_t *old = c->head;
        c->head = old->next;
        if (!c->head)
            c->tail = NULL;
        free(old->buf);
        free(old);
        c->queued--;
        c->dropped++;
    }
    frame_t *f = omega_malloc(sizeof(*f));
    f->next = NULL;
    f->len = len;
    f->buf = omega_malloc(LWS_PRE + len);
    memcpy(f->buf + LWS_PRE, text, len);
    if (c->tail)
        c->tail->next = f;
    else
        c->head = f;
    c->tail = f;
    c->queued++;
}

uint64_t hub_conn_add(live_hub_t *h, struct lws *wsi)
{
    pthread_mutex_lock(&h->mu);
    if (h->nconns >= h->max_clients) {
        pthread_mutex_unlock(&h->mu);
        return 0;
    }
    conn_t *c = omega_calloc(1, sizeof(*c));
    c->id = h->next_id++;
    c->wsi = wsi;
    c->next = h->conns;
    h->conns = c;
    h->nconns++;
    stats_live_clients_add(1);
    pthread_mutex_unlock(&h->mu);
    return c->id;
}

void hub_conn_remove(live_hub_t *h, uint64_t id)
{
    pthread_mutex_lock(&h->mu);
    for (conn_t **pp = &h->conns; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            conn_t *c = *pp;
            *pp = c->next;
            h->nconns--;
            stats_live_clients_add(-1);
            free_subs(c->subs);
            free_frames(c->head);
            free(c);
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
}

int hub_subscribe(live_hub_t *h, uint64_t conn, const char *sub_id, const char *query,
                  int64_t interval_ms, omega_error_t *err)
{
    int rc = omega_query_check_instant_vector(query, err);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&h->mu);
    conn_t *c = find_conn(h, conn);
    sub_t *s = NULL;
    for (s = c ? c->subs : NULL; s; s = s->next)
        if (strcmp(s->id, sub_id) == 0)
            break;
    if (c && !s) {
        if (c->nsubs >= MAX_SUBS_PER_CONN) {
            pthread_mutex_unlock(&h->mu);
            return omega_error_set(err, OMEGA_E2BIG, "at most %d subscriptions per connection",
                                   MAX_SUBS_PER_CONN);
        }
        s = omega_calloc(1, sizeof(*s));
        snprintf(s->id, sizeof(s->id), "%s", sub_id);
        s->next = c->subs;
        c->subs = s;
        c->nsubs++;
    }
    if (s) {
        free(s->query);
        s->query = omega_strdup(query);
        s->interval_ms = interval_ms;
        s->next_due_ms = omega_now_ms(); /* first frame right away */
        pthread_cond_signal(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    return c ? 0 : OMEGA_ENOENT;
}

int hub_unsubscribe(live_hub_t *h, uint64_t conn, const char *sub_id)
{
    int rc = OMEGA_ENOENT;
    pthread_mutex_lock(&h->mu);
    conn_t *c = find_conn(h, conn);
    for (sub_t **pp = c ? &c->subs : NULL; pp && *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->id, sub_id) == 0) {
            sub_t *s = *pp;
            *pp = s->next;
            s->next = NULL;
            free_subs(s);
            c->nsubs--;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

void hub_send(live_hub_t *h, uint64_t conn, const char *text, size_t len)
{
    pthread_mutex_lock(&h->mu);
    conn_t *c = find_conn(h, conn);
    if (c)
        enqueue_locked(h, c, text, len);
    pthread_mutex_unlock(&h->mu);
    if (c && h->app->lws)
        lws_cancel_service(h->app->lws);
}

void hub_broadcast(live_hub_t *h, const char *text, size_t len)
{
    int any = 0;
    pthread_mutex_lock(&h->mu);
    for (conn_t *c = h->conns; c; c = c->next)
        if (c->nsubs) {
            enqueue_locked(h, c, text, len);
            any = 1;
        }
    pthread_mutex_unlock(&h->mu);
    if (any && h->app->lws)
        lws_cancel_service(h->app->lws);
}

unsigned char *hub_next_frame(live_hub_t *h, uint64_t conn, size_t *len, int *more)
{
    unsigned char *out = NULL;
    *more = 0;
    pthread_mutex_lock(&h->mu);
    conn_t *c = find_conn(h, conn);
    if (c && c->dropped) {
        char msg[64];
        int n = snprintf(msg, sizeof(msg), "{\"type\":\"lag\",\"dropped\":%llu}",
                         (unsigned long long)c->dropped);
        c->dropped = 0;
        out = omega_malloc(LWS_PRE + (size_t)n);
        memcpy(out + LWS_PRE, msg, (size_t)n);
        *len = (size_t)n;
        *more = c->head != NULL;
    } else if (c && c->head) {
        frame_t *f = c->head;
        c->head = f->next;
        if (!c->head)
            c->tail = NULL;
        c->queued--;
        out = f->buf;
        *len = f->len;
        free(f);
        *more = c->head != NULL;
    }
    pthread_mutex_unlock(&h->mu);
    return out;
}

void hub_request_writes(live_hub_t *h)
{
    pthread_mutex_lock(&h->mu);
    for (conn_t *c = h->conns; c; c = c->next)
        if (c->head || c->dropped)
            lws_callback_on_writable(c->wsi);
    pthread_mutex_unlock(&h->mu);
}

/* ---- evaluation thread ---- */

typedef struct eval {
    char *query;  /* distinct due query */
    char *series; /* JSON array text of the result, or NULL on error */
    char error[300];
} eval_t;

static void encode_series(omega_buf_t *b, const omega_vector_t *v)
{
    omega_buf_puts(b, "[");
    for (size_t i = 0; i < v->n; i++) {
        const omega_vector_item_t *it = &v->items[i];
        omega_buf_puts(b, i ? ",{\"metric\":" : "{\"metric\":");
        encode_labels(b, it->labels, it->n_labels);
        omega_buf_puts(b, ",\"value\":");
        omega_buf_json_num(b, it->value);
        omega_buf_puts(b, "}");
    }
    omega_buf_puts(b, "]");
}

static void evaluate(live_hub_t *h, eval_t *e, int64_t now)
{
    omega_vector_t *v = NULL;
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_query_instant(h->app->db, e->query, now, &v, &err) != 0) {
        snprintf(e->error, sizeof(e->error), "%s", err.message);
        return;
    }
    omega_buf_t b;
    omega_buf_init(&b, 0);
    encode_series(&b, v);
    e->series = omega_buf_take(&b, NULL);
    omega_vector_destroy(v);
}

/* Caller holds mu. Distinct queries due at now; *earliest gets the next due time. */
static eval_t *collect_due(live_hub_t *h, int64_t now, size_t *n, int64_t *earliest)
{
    eval_t *evals = NULL;
    size_t cnt = 0;
    *earliest = now + 1000;
    for (conn_t *c = h->conns; c; c = c->next) {
        for (sub_t *s = c->subs; s; s = s->next) {
            if (s->next_due_ms > now) {
                if (s->next_due_ms < *earliest)
                    *earliest = s->next_due_ms;
                continue;
            }
            size_t i;
            for (i = 0; i < cnt && strcmp(evals[i].query, s->query) != 0; i++)
                ;
            if (i == cnt) {
                evals = omega_realloc(evals, (cnt + 1) * sizeof(*evals));
                memset(&evals[cnt], 0, sizeof(*evals));
                evals[cnt++].query = omega_strdup(s->query);
            }
        }
    }
    *n = cnt;
    return evals;
}

/* Caller holds mu. Queue each due subscription's frame and schedule its next tick. */
static void fan_out(live_hub_t *h, eval_t *evals, size_t n, int64_t now)
{
    omega_buf_t b;
    omega_buf_init(&b, 0);
    for (conn_t *c = h->conns; c; c = c->next) {
        for (sub_t *s = c->subs; s; s = s->next) {
            if (s->next_due_ms > now)
                continue;
            size_t i;
            for (i = 0; i < n && strcmp(evals[i].query, s->query) != 0; i++)
                ;
            if (i == n)
                continue; /* subscribed while we evaluated: next tick */
            b.len = 0;
            if (evals[i].series) {
                omega_buf_puts(&b, "{\"type\":\"samples\",\"id\":");
                omega_buf_json_str(&b, s->id, strlen(s->id));
                omega_buf_printf(&b, ",\"t\":%lld,\"series\":%s}", (long long)now, evals[i].series);
            } else {
                omega_buf_puts(&b, "{\"type\":\"error\",\"id\":");
                omega_buf_json_str(&b, s->id, strlen(s->id));
                omega_buf_puts(&b, ",\"error\":");
                omega_buf_json_str(&b, evals[i].error, strlen(evals[i].error));
                omega_buf_puts(&b, "}");
            }
            enqueue_locked(h, c, b.data, b.len);
            s->next_due_ms = (now / s->interval_ms + 1) * s->interval_ms;
        }
    }
    omega_buf_deinit(&b);
}

static void wait_until(live_hub_t *h, int64_t wall_deadline_ms)
{
    int64_t delay = wall_deadline_ms - omega_now_ms();
    if (delay <= 0)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + (delay % 1000) * 1000000;
    ts.tv_sec += delay / 1000 + ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    pthread_cond_timedwait(&h->cv, &h->mu, &ts);
}

static void *hub_main(void *arg)
{
    live_hub_t *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        int64_t now = omega_now_ms(), earliest;
        size_t n;
        eval_t *evals = collect_due(h, now, &n, &earliest);
        if (n == 0) {
            free(evals);
            wait_until(h, earliest);
            continue;
        }
        pthread_mutex_unlock(&h->mu);
        for (size_t i = 0; i < n; i++)
            evaluate(h, &evals[i], now);
        pthread_mutex_lock(&h->mu);
        fan_out(h, evals, n, now);
        for (size_t i = 0; i < n; i++) {
            free(evals[i].query);
            free(evals[i].series);
        }
        free(evals);
        if (h->app->lws)
            lws_cancel_service(h->app->lws);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int hub_start(live_hub_t *h)
{
    if (pthread_create(&h->thread, NULL, hub_main, h) != 0)
        return OMEGA_EIO;
    h->started = 1;
    return 0;
}

void hub_stop(live_hub_t *h)
{
    if (!h || !h->started)
        return;
    pthread_mutex_lock(&h->mu);
    h->stop = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    h->started = 0;
}

void hub_destroy(live_hub_t *h)
{
    if (!h)
        return;
    hub_stop(h);
    while (h->conns) {
        conn_t *c = h->conns;
        h->conns = c->next;
        free_subs(c->subs);
        free_frames(c->head);
        free(c);
    }
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}
