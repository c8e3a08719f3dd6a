/* SPDX-License-Identifier: Apache-2.0 */
/* The operations lifecycle: start and end (validated, persisted, counted in metrics, sent
 * live), listing, and the metrics thread that keeps gauges and counters fresh and ends
 * operations abandoned by their clients. Storage keys live in history.c, JSON shapes in
 * body.c, metric points in metrics.c. */
#include "analytics_int.h"

#include "omega/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRUNE_MAX 10000 /* expired records deleted per metrics pass */

void omega_analytics_options_init(omega_analytics_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->max_active = 10000;
    o->max_families = 10000;
    o->metrics_interval_ms = 15000;
    o->active_max_age_ms = 24LL * 3600 * 1000;
    o->history_retention_ms = 30LL * 24 * 3600 * 1000;
}

static void op_free(active_op_t *op)
{
    if (!op)
        return;
    free(op->id);
    free(op->kind);
    json_decref(op->labels);
    free(op);
}

omega_analytics_t *omega_analytics_create(omega_tsdb_t *db, const omega_analytics_options_t *o,
                                          omega_error_t *err)
{
    if (!db) {
        omega_error_set(err, OMEGA_EINVAL, "analytics: no store");
        return NULL;
    }
    omega_analytics_t *a = omega_calloc(1, sizeof(*a));
    a->db = db;
    omega_analytics_options_init(&a->opt);
    if (o)
        a->opt = *o;
    if (a->opt.max_active == 0)
        a->opt.max_active = 10000;
    if (a->opt.max_families == 0)
        a->opt.max_families = 10000;
    if (a->opt.metrics_interval_ms <= 0)
        a->opt.metrics_interval_ms = 15000;
    a->seq = (uint32_t)omega_mono_ns(); /* record keys stay distinct across restarts */
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    if (ana_active_load(a, err) < 0) {
        omega_analytics_destroy(a);
        return NULL;
    }
    return a;
}

static void *metrics_main(void *arg)
{
    omega_analytics_t *a = arg;
    pthread_mutex_lock(&a->mu);
    while (!a->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = (int64_t)ts.tv_nsec + a->opt.metrics_interval_ms * 1000000LL;
        ts.tv_sec += (time_t)(ns / 1000000000LL);
        ts.tv_nsec = (long)(ns % 1000000000LL);
        int rc = 0;
        while (!a->stopping && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&a->cv, &a->mu, &ts);
        if (a->stopping)
            break;
        pthread_mutex_unlock(&a->mu);
        omega_analytics_tick(a, omega_now_ms());
        pthread_mutex_lock(&a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int omega_analytics_start(omega_analytics_t *a)
{
    if (a->running)
        return 0;
    a->stopping = 0;
    if (pthread_create(&a->thread, NULL, metrics_main, a) != 0)
        return OMEGA_EIO;
    a->running = 1;
    return 0;
}

void omega_analytics_stop(omega_analytics_t *a)
{
    if (!a || !a->running)
        return;
    pthread_mutex_lock(&a->mu);
    a->stopping = 1;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    a->running = 0;
}

void omega_analytics_destroy(omega_analytics_t *a)
{
    if (!a)
        return;
    omega_analytics_stop(a);
    for (size_t i = 0; i < a->n_active; i++)
        op_free(a->active[i]);
    free(a->active);
    for (size_t i = 0; i < a->n_families; i++)
        ana_family_free(a->families[i]);
    free(a->families);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* Index of running operation id, or -1. Lock held. */
static long find_active(omega_analytics_t *a, const char *id)
{
    for (size_t i = 0; i < a->n_active; i++)
        if (strcmp(a->active[i]->id, id) == 0)
            return (long)i;
    return -1;
}

static int check_id(const char *id, omega_error_t *err)
{
    if (ana_id_valid(id))
        return 0;
    return omega_error_set_path(err, OMEGA_EINVAL, "id",
                                "operation ids are 1-%d characters of A-Z a-z 0-9 . _ : @ + ~ -",
                                ANA_ID_MAX);
}

static void reply(json_t *item, char **out)
{
    if (out)
        *out = ana_dump(item);
}

/* Oldest running start per family, as seconds before now_ms (families index order).
 * Lock held. */
static double *oldest_ages(omega_analytics_t *a, int64_t now_ms)
{
    double *age = omega_calloc(a->n_families ? a->n_families : 1, sizeof(double));
    for (size_t i = 0; i < a->n_active; i++) {
        const active_op_t *op = a->active[i];
        double d = (double)(now_ms - op->started_ms) / 1000.0;
        if (op->family && d > age[op->family->idx])
            age[op->family->idx] = d;
    }
    return age;
}

/* The active gauges of one family (lock held). */
static void family_active_points(omega_analytics_t *a, ana_batch_t *b, const family_t *f,
                                 int64_t now_ms)
{
    double oldest = 0;
    for (size_t i = 0; i < a->n_active; i++)
        if (a->active[i]->family == f) {
            double d = (double)(now_ms - a->active[i]->started_ms) / 1000.0;
            if (d > oldest)
                oldest = d;
        }
    ana_points_active(b, f, oldest, now_ms);
}

int omega_analytics_op_start(omega_analytics_t *a, const char *id, const char *json, size_t len,
                             int64_t now_ms, char **out, omega_error_t *err)
{
    if (out)
        *out = NULL;
    char *kind = NULL;
    json_t *labels = NULL;
    int rc = check_id(id, err);
    if (rc == 0)
        rc = ana_parse_start(json, len, &kind, &labels, err);
    if (rc != 0)
        return rc;
    active_op_t *op = omega_calloc(1, sizeof(*op));
    *op = (active_op_t){omega_strdup(id), kind, labels, now_ms, NULL};
    ana_batch_t b;
    ana_batch_init(&b);
    pthread_mutex_lock(&a->mu);
    if (find_active(a, id) >= 0)
        rc = omega_error_set_path(err, OMEGA_EEXIST, "id", "operation '%s' is already running", id);
    else if (a->n_active >= a->opt.max_active)
        rc = omega_error_set(err, OMEGA_E2BIG,
                             "%zu operations are running, the limit; end some first",
                             a->opt.max_active);
    else
        rc = ana_active_put(a, op, err);
    if (rc == 0) {
        op->family = ana_family_get(a, kind, labels);
        a->active = omega_realloc(a->active, (a->n_active + 1) * sizeof(*a->active));
        a->active[a->n_active++] = op;
        if (op->family) {
            op->family->active++;
            family_active_points(a, &b, op->family, now_ms);
        }
    }
    json_t *item = rc == 0 ? ana_item_running(op, now_ms) : NULL;
    pthread_mutex_unlock(&a->mu);
    if (rc != 0) {
        op_free(op);
        ana_batch_free(&b);
        return rc;
    }
    ana_batch_write(a, &b);
    ana_batch_free(&b);
    reply(item, out);
    ana_emit(a, "started", item);
    json_decref(item);
    return 0;
}

/* Finish active[i] (lock held): store the record, forget the running entry, count it.
 * Returns the item (new reference) or NULL with err. */
static json_t *finish_locked(omega_analytics_t *a, size_t i, ana_status_t st, json_t *phases,
                             json_t *attrs, int64_t now_ms, ana_batch_t *b, omega_error_t *err)
{
    active_op_t *op = a->active[i];
    int64_t ended = now_ms > op->started_ms ? now_ms : op->started_ms;
    json_t *item = ana_item_finished(op, st, ended, phases, attrs);
    if (ana_record_put(a, op->id, ended, item, err) != 0) {
        json_decref(item);
        return NULL;
    }
    omega_error_t derr;
    omega_error_clear(&derr);
    if (ana_active_delete(a, op->id, &derr) != 0) /* the record is stored: keep going */
        omega_log_warn("operation '%s' ended but its running entry stays stored: %s", op->id,
                       derr.message);
    a->active[i] = a->active[--a->n_active];
    if (op->family) {
        op->family->active--;
        ana_points_end(b, op->family, st, (double)(ended - op->started_ms) / 1000.0, phases, attrs,
                       ended);
        family_active_points(a, b, op->family, ended);
    }
    op_free(op);
    return item;
}

int omega_analytics_op_end(omega_analytics_t *a, const char *id, const char *json, size_t len,
                           int64_t now_ms, char **out, omega_error_t *err)
{
    if (out)
        *out = NULL;
    ana_status_t st = ANA_OK;
    json_t *phases = NULL, *attrs = NULL;
    int rc = check_id(id, err);
    if (rc == 0)
        rc = ana_parse_end(json, len, &st, &phases, &attrs, err);
    if (rc != 0)
        return rc;
    ana_batch_t b;
    ana_batch_init(&b);
    json_t *item = NULL;
    pthread_mutex_lock(&a->mu);
    long i = find_active(a, id);
    if (i < 0)
        rc = omega_error_set_path(err, OMEGA_ENOENT, "id",
                                  "operation '%s' is not running (never started, already ended "
                                  "or abandoned)",
                                  id);
    else if (!(item = finish_locked(a, (size_t)i, st, phases, attrs, now_ms, &b, err)))
        rc = err && err->code ? err->code : OMEGA_EIO;
    pthread_mutex_unlock(&a->mu);
    if (rc == 0) {
        ana_batch_write(a, &b);
        reply(item, out);
        ana_emit(a, "ended", item);
    }
    ana_batch_free(&b);
    json_decref(item);
    json_decref(phases);
    json_decref(attrs);
    return rc;
}

static int newer_start(const void *x, const void *y)
{
    const json_t *const *a = x, *const *b = y;
    const char *sa = json_string_value(json_object_get(*a, "started_at"));
    const char *sb = json_string_value(json_object_get(*b, "started_at"));
    return strcmp(sb ? sb : "", sa ? sa : ""); /* RFC 3339 UTC strings sort as times */
}

/* Running items, newest start first, at most limit; *more set when some were left out. */
static json_t *running_items(omega_analytics_t *a, size_t limit, int *more)
{
    int64_t now = omega_now_ms();
    pthread_mutex_lock(&a->mu);
    size_t n = a->n_active;
    json_t **v = omega_calloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = ana_item_running(a->active[i], now);
    pthread_mutex_unlock(&a->mu);
    qsort(v, n, sizeof(*v), newer_start);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        if (i < limit)
            json_array_append(items, v[i]);
        json_decref(v[i]);
    }
    *more = n > limit;
    free(v);
    return items;
}

int omega_analytics_list(omega_analytics_t *a, const omega_analytics_query_t *q, char **out,
                         omega_error_t *err)
{
    *out = NULL;
    size_t limit = q->limit ? q->limit : ANA_LIST_DEFAULT;
    if (limit > ANA_LIST_MAX)
        return omega_error_set_path(err, OMEGA_EINVAL, "limit", "limit is at most %d",
                                    ANA_LIST_MAX);
    if (q->active != 1 && q->since_ms > q->until_ms)
        return omega_error_set_path(err, OMEGA_EINVAL, "since", "since is after until");
    int truncated = 0;
    json_t *items = q->active != 0 ? running_items(a, limit, &truncated) : json_array();
    int rc = 0;
    size_t have = json_array_size(items);
    if (q->active != 1 && have < limit)
        rc = ana_record_list(a, q, limit - have, items, &truncated, err);
    else if (q->active != 1)
        truncated = 1; /* finished ones were asked for but the running filled the limit */
    if (rc == 0) {
        json_t *root = json_pack("{s:o, s:b}", "items", items, "truncated", truncated);
        *out = ana_dump(root);
        json_decref(root);
    } else {
        json_decref(items);
    }
    return rc;
}

/* End (lock held) every operation running longer than active_max_age_ms; their items go to
 * gone (emitted after the lock). */
static void sweep_abandoned(omega_analytics_t *a, int64_t now_ms, ana_batch_t *b, json_t *gone)
{
    if (a->opt.active_max_age_ms <= 0)
        return;
    for (size_t i = 0; i < a->n_active;) {
        if (now_ms - a->active[i]->started_ms <= a->opt.active_max_age_ms) {
            i++;
            continue;
        }
        omega_error_t err;
        omega_error_clear(&err);
        char id[ANA_ID_MAX + 1];
        snprintf(id, sizeof(id), "%s", a->active[i]->id);
        json_t *item = finish_locked(a, i, ANA_ABANDONED, NULL, NULL, now_ms, b, &err);
        if (!item) {
            omega_log_warn("cannot end abandoned operation '%s': %s", id, err.message);
            i++;
            continue;
        }
        omega_log_info("operation '%s' abandoned: running for more than %lld s", id,
                       (long long)(a->opt.active_max_age_ms / 1000));
        json_array_append_new(gone, item); /* swapped-in entry at i is checked next */
    }
}

int omega_analytics_tick(omega_analytics_t *a, int64_t now_ms)
{
    ana_batch_t b;
    ana_batch_init(&b);
    json_t *gone = json_array();
    pthread_mutex_lock(&a->mu);
    sweep_abandoned(a, now_ms, &b, gone);
    double *age = oldest_ages(a, now_ms);
    for (size_t f = 0; f < a->n_families; f++) {
        ana_points_active(&b, a->families[f], age[f], now_ms);
        ana_points_family(&b, a->families[f], now_ms);
    }
    pthread_mutex_unlock(&a->mu);
    free(age);
    omega_error_t err;
    omega_error_clear(&err);
    int rc = b.n ? omega_tsdb_write(a->db, b.pts, b.n, &err) : 0;
    if (rc != 0)
        omega_log_warn("storing %zu operation samples failed: %s", b.n, err.message);
    size_t i;
    json_t *item;
    json_array_foreach(gone, i, item) {
        ana_emit(a, "ended", item);
    }
    json_decref(gone);
    ana_batch_free(&b);
    if (a->opt.history_retention_ms > 0) {
        size_t deleted = 0;
        omega_error_clear(&err);
        /* Bounded per pass: a long backlog goes over several ticks. */
        int prc =
            ana_record_prune(a, now_ms - a->opt.history_retention_ms, PRUNE_MAX, &deleted, &err);
        if (prc != 0)
            omega_log_warn("cannot delete expired operation records: %s", err.message);
        else if (deleted)
            omega_log_debug("deleted %zu operation records older than the retention", deleted);
        rc = rc ? rc : prc;
    }
    return rc;
}

size_t omega_analytics_active_count(omega_analytics_t *a)
{
    pthread_mutex_lock(&a->mu);
    size_t n = a->n_active;
    pthread_mutex_unlock(&a->mu);
    return n;
}
