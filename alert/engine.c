/* SPDX-License-Identifier: Apache-2.0 */
/* The alert engine's lifecycle: loading stored state, the evaluator and sender threads,
 * and the counters. The state machine lives in eval.c, the queue in queue.c, delivery
 * threads in sender.c, the management calls of the API in manage.c. */
#include "alert_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omega/log.h"

void omega_alert_options_init(omega_alert_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->retry_window_ms = 3600 * 1000;
    o->retry_base_ms = 1000;
    o->retry_max_ms = 300 * 1000;
    o->http_timeout_ms = 5000;
    o->builtin_rules = 1;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

omega_alert_engine_t *omega_alert_create(omega_tsdb_t *db, const omega_alert_options_t *o,
                                         omega_error_t *err)
{
    pthread_once(&curl_once, curl_init_once);
    omega_alert_engine_t *e = omega_calloc(1, sizeof(*e));
    e->db = db;
    e->opt = *o;
    if (!o->cfg)
        e->own_cfg = omega_config_create_default();
    e->cfg = o->cfg ? o->cfg : e->own_cfg;
    if (e->opt.evaluation_interval_ms <= 0)
        e->opt.evaluation_interval_ms = e->cfg->alerting.evaluation_interval_ms;
    if (e->opt.retry_base_ms <= 0)
        e->opt.retry_base_ms = 1000;
    if (e->opt.retry_max_ms < e->opt.retry_base_ms)
        e->opt.retry_max_ms = e->opt.retry_base_ms;
    if (e->opt.http_timeout_ms <= 0)
        e->opt.http_timeout_ms = 5000;
    dashboard_base_init(e);
    e->opt.dashboard_url = NULL; /* copied into dashboard_base; the caller's may go */
    pthread_mutex_init(&e->mu, NULL);
    pthread_mutex_init(&e->eval_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->cond, &ca);
    pthread_condattr_destroy(&ca);
    /* Channels first: the built-in rules name the built-in channels. */
    if (channels_load(e, err) || rules_load(e, err) || state_load(e, err) ||
        silences_load(e, err) || queue_load(e, err)) {
        omega_alert_destroy(e);
        return NULL;
    }
    e->stats.rules = e->n_rules;
    if (e->n_queue)
        omega_log_info("alerting: %zu undelivered notifications restored", e->n_queue);
    return e;
}

void engine_wait_ms(omega_alert_engine_t *e, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + (ms % 1000) * 1000000;
    ts.tv_sec += ms / 1000 + ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    pthread_cond_timedwait(&e->cond, &e->mu, &ts);
}

static void *eval_main(void *arg)
{
    omega_alert_engine_t *e = arg;
    int64_t next = omega_mono_ns();
    for (;;) {
        pthread_mutex_lock(&e->mu);
        int64_t left;
        while (!e->stopping && (left = (next - omega_mono_ns()) / 1000000) > 0)
            engine_wait_ms(e, left);
        int stop = e->stopping;
        pthread_mutex_unlock(&e->mu);
        if (stop)
            break;
        omega_alert_evaluate(e, omega_now_ms());
        next += e->opt.evaluation_interval_ms * 1000000;
        if (next < omega_mono_ns()) /* fell behind: skip missed ticks, do not burst */
            next = omega_mono_ns() + e->opt.evaluation_interval_ms * 1000000;
    }
    return NULL;
}

int omega_alert_start(omega_alert_engine_t *e)
{
    pthread_mutex_lock(&e->mu);
    int running = e->running;
    e->stopping = 0;
    pthread_mutex_unlock(&e->mu);
    if (running)
        return 0;
    if (pthread_create(&e->eval_thread, NULL, eval_main, e) != 0)
        return OMEGA_EIO;
    if (pthread_create(&e->send_thread, NULL, sender_main, e) != 0) {
        pthread_mutex_lock(&e->mu);
        e->stopping = 1;
        pthread_cond_broadcast(&e->cond);
        pthread_mutex_unlock(&e->mu);
        pthread_join(e->eval_thread, NULL);
        return OMEGA_EIO;
    }
    e->running = 1;
    omega_log_info("alerting: %zu rules, %zu channels, evaluated every %lld ms", e->n_rules,
                   e->n_channels, (long long)e->opt.evaluation_interval_ms);
    return 0;
}

void omega_alert_stop(omega_alert_engine_t *e)
{
    if (!e || !e->running)
        return;
    pthread_mutex_lock(&e->mu);
    e->stopping = 1;
    atomic_store(&e->cancel_io, 1); /* a hanging endpoint must not hold up a shutdown */
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->eval_thread, NULL);
    pthread_join(e->send_thread, NULL);
    atomic_store(&e->cancel_io, 0);
    e->running = 0;
}

void omega_alert_destroy(omega_alert_engine_t *e)
{
    if (!e)
        return;
    omega_alert_stop(e);
    for (size_t i = 0; i < e->n_rules; i++)
        rule_free(e->rules[i]);
    free(e->rules);
    for (size_t i = 0; i < e->n_channels; i++)
        channel_free(e->channels[i]);
    free(e->channels);
    for (size_t i = 0; i < e->n_silences; i++)
        silence_free(e->silences[i]);
    free(e->silences);
    queue_free_all(e);
    pthread_mutex_destroy(&e->mu);
    pthread_mutex_destroy(&e->eval_mu);
    pthread_cond_destroy(&e->cond);
    omega_config_destroy(e->own_cfg);
    free(e);
}

void omega_alert_stats(omega_alert_engine_t *e, omega_alert_stats_t *out)
{
    pthread_mutex_lock(&e->mu);
    *out = e->stats;
    out->rules = e->n_rules;
    out->queue_depth = e->n_queue;
    pthread_mutex_unlock(&e->mu);
}
