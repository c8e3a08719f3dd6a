/* SPDX-License-Identifier: Apache-2.0 */
/* The live hub: subscriptions of every WebSocket client, a thread that evaluates each
 * distinct due query once and fans the result out to every subscriber, and bounded
 * per-client frame queues (oldest dropped, the client told with a lag message; a client
 * whose queue overflows while it has drained nothing for STALL_KILL_MS and whose socket
 * takes no more bytes is disconnected). A query is due at its interval, and as soon as a
 * write touches a metric it reads (at most every MIN_PUSH_GAP_MS). The loop thread owns
 * the lws side; this file only touches a wsi from the loop. */
#include "server_int.h"

#include "omega/buf.h"
#include "omega/log.h"
#include "omega/query.h"

#include <ctype.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SUBS_PER_CONN 64
#define MIN_PUSH_GAP_MS   100 /* data-driven frames of one subscription at most this often */
#define MAX_QUERY_NAMES   16  /* metric names tracked per query; more reads as "any" */
#define MAX_WRITE_NAMES   256 /* names of a write hashed on the stack; more on the heap */
#define NAME_SLOTS        4096
#define CONN_BUCKETS      1024
#define STALL_KILL_MS     10000 /* overflowing and nothing drained this long: disconnect */

typedef struct frame {
    struct frame *next;
    size_t len;         /* payload bytes */
    unsigned char *buf; /* LWS_PRE headroom + payload */
} frame_t;

typedef struct sub {
    char id[65];                     /* client's subscription id */
    char *query;                     /* expression text */
    int64_t interval_ms;             /* period */
    int64_t next_due_ms;             /* next timed evaluation, Unix ms */
    int64_t last_sent_ms;            /* last frame queued, Unix ms */
    uint64_t names[MAX_QUERY_NAMES]; /* hashes of the metric names the query reads */
    int n_names;                     /* entries in names; -1: any metric may matter */
    uint64_t touched;                /* write generation that last touched it, 0: none */
    int pending;                     /* picked for the evaluation under way */
    struct sub *next;
} sub_t;

typedef struct conn {
    uint64_t id;          /* hub id */
    struct lws *wsi;      /* loop thread only */
    frame_t *head, *tail; /* outgoing frames */
    size_t queued;        /* frames in the queue */
    uint64_t dropped;     /* frames dropped since the last lag message */
    int64_t drained_ms;   /* when the loop last took a frame or the queue was empty */
    int kill;             /* 1: stalled, the loop checks its socket; 2: closing */
    sub_t *subs;          /* subscriptions */
    size_t nsubs;
    struct conn *next;  /* all connections */
    struct conn *bnext; /* same id bucket */
} conn_t;

struct live_hub {
    app_t *app;
    pthread_mutex_t mu; /* guards conns and their queues and subs */
    pthread_cond_t cv;  /* CLOCK_MONOTONIC; wakes the evaluator */
    conn_t *conns;
    conn_t *bucket[CONN_BUCKETS]; /* by id % CONN_BUCKETS */
    size_t nconns, queue_limit, max_clients;
    uint64_t next_id;
    uint64_t write_gen;             /* writes that touched a subscription */
    uint32_t name_refs[NAME_SLOTS]; /* subscriptions reading a name, by hash slot */
    size_t any_refs;                /* subscriptions that may read any metric */
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
    for (conn_t *c = h->bucket[id % CONN_BUCKETS]; c; c = c->bnext)
        if (c->id == id)
            return c;
    return NULL;
}

/* Caller holds mu. Count (delta 1) or uncount (-1) the names s reads. */
static void names_ref(live_hub_t *h, const sub_t *s, int delta)
{
    if (s->n_names < 0)
        h->any_refs += (size_t)delta;
    for (int i = 0; i < s->n_names; i++)
        h->name_refs[s->names[i] % NAME_SLOTS] += (uint32_t)delta;
}

/* Caller holds mu. */
static void free_subs(live_hub_t *h, sub_t *s)
{
    while (s) {
        sub_t *next = s->next;
        if (s->query)
            names_ref(h, s, -1);
        free(s->query);
        free(s);
        s = next;
    }
}

/* ---- which writes matter to which query ---- */

static uint64_t name_hash(const char *p, size_t n)
{
    uint64_t x = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        x = (x ^ (unsigned char)p[i]) * 1099511628211ULL;
    return x;
}

static int is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == ':';
}

/* End of the quoted string starting at p (the character after the closing quote). */
static const char *skip_string(const char *p)
{
    char q = *p++;
    while (*p && *p != q)
        p += (*p == '\\' && q != '`' && p[1]) ? 2 : 1;
    return *p ? p + 1 : p;
}

/* Hashes of the metric names expr reads, found lexically: every identifier outside braces,
 * brackets and strings that is not followed by "(" (over-inclusion only costs an extra
 * evaluation). Returns how many (0: the query reads no metric), or -1 when any metric may
 * matter: a selector without a name, a __name__ matcher, or more than max names. */
static int hub_query_names(const char *expr, uint64_t *out, int max)
{
    int n = 0, brace = 0, bracket = 0, after_name = 0;
    for (const char *p = expr; *p;) {
        if (*p == '"' || *p == '\'' || *p == '`') {
            p = skip_string(p);
            after_name = 0;
        } else if (*p == '{') {
            if (brace++ == 0 && bracket == 0 && !after_name)
                return -1;
            p++;
        } else if (*p == '}' || *p == ']') {
            brace -= *p == '}' && brace > 0;
            bracket -= *p == ']' && bracket > 0;
            after_name = 0;
            p++;
        } else if (*p == '[') {
            bracket++;
            p++;
        } else if (isdigit((unsigned char)*p) || *p == '.') {
            while (is_name_char(*p) || *p == '.')
                p++; /* a number or a duration */
            after_name = 0;
        } else if (is_name_char(*p)) {
            const char *start = p;
            while (is_name_char(*p))
                p++;
            size_t len = (size_t)(p - start);
            if (len == 8 && memcmp(start, "__name__", 8) == 0)
                return -1;
            const char *q = p;
            while (isspace((unsigned char)*q))
                q++;
            after_name = brace == 0 && bracket == 0 && *q != '(';
            if (!after_name)
                continue;
            uint64_t x = name_hash(start, len);
            int i;
            for (i = 0; i < n && out[i] != x; i++)
                ;
            if (i == n && n == max)
                return -1;
            if (i == n)
                out[n++] = x;
        } else {
            if (!isspace((unsigned char)*p))
                after_name = 0;
            p++;
        }
    }
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Name hashes of pts into out (room for n), consecutive repeats skipped; returns how
 * many. */
static size_t written_names(const omega_point_t *pts, size_t n, uint64_t *out)
{
    size_t k = 0;
    const char *last = NULL;
    for (size_t i = 0; i < n; i++) {
        if (last && strcmp(pts[i].name, last) == 0)
            continue; /* batches come grouped by series: skip the cheap repeats */
        last = pts[i].name;
        out[k++] = name_hash(last, strlen(last));
    }
    return k;
}

/* Sort and de-duplicate k hashes in place; returns how many remain. */
static size_t sort_names(uint64_t *out, size_t k)
{
    qsort(out, k, sizeof(*out), cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || out[u - 1] != out[i])
            out[u++] = out[i];
    return u;
}

void hub_notify_write(live_hub_t *h, const omega_point_t *pts, size_t n)
{
    uint64_t stack[MAX_WRITE_NAMES];
    if (!h || n == 0)
        return;
    uint64_t *names = n <= MAX_WRITE_NAMES ? stack : omega_malloc(n * sizeof(*names));
    size_t k = written_names(pts, n, names);
    pthread_mutex_lock(&h->mu);
    int hit = h->any_refs > 0;
    for (size_t i = 0; i < k && !hit; i++)
        hit = h->name_refs[names[i] % NAME_SLOTS] > 0;
    pthread_mutex_unlock(&h->mu);
    /* Bulk ingest of metrics nobody watches ends here, without sorting the batch. */
    if (hit) {
        k = sort_names(names, k);
        pthread_mutex_lock(&h->mu);
        uint64_t gen = ++h->write_gen;
        for (conn_t *c = h->conns; c; c = c->next)
            for (sub_t *s = c->subs; s; s = s->next) {
                int match = s->n_names < 0;
                for (int i = 0; i < s->n_names && !match; i++)
                    match = bsearch(&s->names[i], names, k, sizeof(*names), cmp_u64) != NULL;
                if (match)
                    s->touched = gen;
            }
        pthread_cond_signal(&h->cv);
        pthread_mutex_unlock(&h->mu);
    }
    if (names != stack)
        free(names);
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
        if (!c->kill && omega_now_ms() - c->drained_ms >= STALL_KILL_MS)
            c->kill = 1;
    }
    frame_t *f = omega_malloc(sizeof(*f));
    f->next = NULL;
    f->len = len;
    f->buf = omega_malloc(LWS_PRE + len);
    memcpy(f->buf + LWS_PRE, text, len);
    if (c->tail) {
        c->tail->next = f;
    } else {
        c->head = f;
        c->drained_ms = omega_now_ms(); /* it was up to date until now */
    }
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
    c->drained_ms = omega_now_ms();
    c->next = h->conns;
    h->conns = c;
    c->bnext = h->bucket[c->id % CONN_BUCKETS];
    h->bucket[c->id % CONN_BUCKETS] = c;
    h->nconns++;
    stats_live_clients_add(1);
    pthread_mutex_unlock(&h->mu);
    return c->id;
}

void hub_conn_remove(live_hub_t *h, uint64_t id)
{
    pthread_mutex_lock(&h->mu);
    for (conn_t **bp = &h->bucket[id % CONN_BUCKETS]; *bp; bp = &(*bp)->bnext)
        if ((*bp)->id == id) {
            *bp = (*bp)->bnext;
            break;
        }
    for (conn_t **pp = &h->conns; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            conn_t *c = *pp;
            *pp = c->next;
            h->nconns--;
            stats_live_clients_add(-1);
            free_subs(h, c->subs);
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
    uint64_t names[MAX_QUERY_NAMES];
    int n_names = hub_query_names(query, names, MAX_QUERY_NAMES);
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
        if (s->query)
            names_ref(h, s, -1);
        free(s->query);
        s->query = omega_strdup(query);
        s->n_names = n_names;
        if (n_names > 0)
            memcpy(s->names, names, (size_t)n_names * sizeof(names[0]));
        names_ref(h, s, 1);
        s->touched = 0;
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
            free_subs(h, s);
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
        c->drained_ms = omega_now_ms();
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
    for (conn_t *c = h->conns; c; c = c->next) {
        /* Only a full socket means the client stopped reading; otherwise the loop itself was
         * busy (e.g. reading that client's flood of messages): write on. */
        if (c->kill == 1 && !lws_send_pipe_choked(c->wsi))
            c->kill = 0;
        if (c->kill == 1) {
            c->kill = 2;
            omega_log_warn("live client %llu read nothing for %d s while its queue overflowed: "
                           "disconnected",
                           (unsigned long long)c->id, STALL_KILL_MS / 1000);
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        } else if (!c->kill && (c->head || c->dropped)) {
            lws_callback_on_writable(c->wsi);
        }
    }
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

/* When s is due without further writes: its timed tick, or the end of the push gap
 * when a write touched it. */
static int64_t sub_due_ms(const sub_t *s)
{
    int64_t push = s->last_sent_ms + MIN_PUSH_GAP_MS;
    return s->touched && push < s->next_due_ms ? push : s->next_due_ms;
}

/* Caller holds mu. Distinct queries due at now, their subscriptions marked pending;
 * *earliest gets the next due time. */
static eval_t *collect_due(live_hub_t *h, int64_t now, size_t *n, int64_t *earliest)
{
    eval_t *evals = NULL;
    size_t cnt = 0;
    *earliest = now + 1000;
    for (conn_t *c = h->conns; c; c = c->next) {
        for (sub_t *s = c->subs; s; s = s->next) {
            int64_t due = sub_due_ms(s);
            s->pending = due <= now;
            if (!s->pending) {
                if (due < *earliest)
                    *earliest = due;
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

/* Caller holds mu. Schedule s after a frame at now. A data-driven frame (touched by a
 * write up to generation gen) defers the timed one by 1.5 intervals, so a source written
 * once per interval gets one frame per write, not a write frame and a tick frame. */
static void sub_sent(sub_t *s, int64_t now, uint64_t gen)
{
    int by_data = s->touched && s->touched <= gen;
    if (s->touched <= gen)
        s->touched = 0;
    s->last_sent_ms = now;
    s->next_due_ms = by_data ? now + s->interval_ms + s->interval_ms / 2
                             : (now / s->interval_ms + 1) * s->interval_ms;
}

/* Caller holds mu. Queue each pending subscription's frame and schedule it; gen is the
 * write generation the evaluation saw. */
static void fan_out(live_hub_t *h, eval_t *evals, size_t n, int64_t now, uint64_t gen)
{
    omega_buf_t b;
    omega_buf_init(&b, 0);
    for (conn_t *c = h->conns; c; c = c->next) {
        for (sub_t *s = c->subs; s; s = s->next) {
            if (!s->pending)
                continue; /* not due, or subscribed while we evaluated: next pass */
            s->pending = 0;
            size_t i;
            for (i = 0; i < n && strcmp(evals[i].query, s->query) != 0; i++)
                ;
            if (i == n)
                continue; /* its query was replaced while we evaluated */
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
            sub_sent(s, now, gen);
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
        uint64_t gen = h->write_gen;
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
        fan_out(h, evals, n, now, gen);
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
        free_subs(h, c->subs);
        free_frames(c->head);
        free(c);
    }
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}
