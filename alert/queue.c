/* SPDX-License-Identifier: Apache-2.0 */
/* The delivery queue: every notification is stored in the alerts space before anyone tries
 * to send it, retried with exponential backoff, and removed only once delivered or once the
 * retry window has passed, so a restart loses nothing. */
#include "alert_int.h"

#include <stdlib.h>
#include <string.h>

#include "omega/log.h"

static void qkey(uint64_t seq, unsigned char key[10])
{
    memcpy(key, KEY_QUEUE, 2);
    be64_put(key + 2, seq);
}

static void qitem_free(qitem_t *q)
{
    if (!q)
        return;
    free(q->channel);
    json_decref(q->entry);
    free(q);
}

static int store(omega_alert_engine_t *e, qitem_t *q, omega_error_t *err)
{
    unsigned char key[10];
    qkey(q->seq, key);
    json_object_set_new(q->entry, "attempts", json_integer(q->attempts));
    json_object_set_new(q->entry, "next", json_integer(q->next_ms));
    return kv_put_json(e->db, OMEGA_KV_ALERTS, (const char *)key, sizeof(key), q->entry, err);
}

static void unstore(omega_alert_engine_t *e, uint64_t seq)
{
    unsigned char key[10];
    qkey(seq, key);
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_kv_delete(e->db, OMEGA_KV_ALERTS, key, sizeof(key), &err) != 0)
        omega_log_error("cannot remove delivered notification %llu: %s", (unsigned long long)seq,
                        err.message);
}

static void append(omega_alert_engine_t *e, qitem_t *q)
{
    e->queue = omega_realloc(e->queue, (e->n_queue + 1) * sizeof(*e->queue));
    e->queue[e->n_queue++] = q;
    e->stats.queue_depth = e->n_queue;
}

static int load_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    omega_alert_engine_t *e = ctx;
    if (klen != 10)
        return 0;
    json_t *entry = json_loadb(val, vlen, 0, NULL);
    json_t *ch = json_object_get(entry, "channel");
    if (!json_is_object(entry) || !json_is_string(ch) ||
        !json_is_object(json_object_get(entry, "payload"))) {
        omega_log_error("queued notification is unreadable; dropped");
        json_decref(entry);
        return 0;
    }
    qitem_t *q = omega_calloc(1, sizeof(*q));
    q->seq = be64_get((const unsigned char *)key + 2);
    q->channel = omega_strdup(json_string_value(ch));
    q->created_ms = json_integer_value(json_object_get(entry, "created"));
    q->next_ms = json_integer_value(json_object_get(entry, "next"));
    q->attempts = (int)json_integer_value(json_object_get(entry, "attempts"));
    q->entry = entry;
    if (q->seq >= e->queue_seq)
        e->queue_seq = q->seq + 1;
    append(e, q);
    return 0;
}

int queue_load(omega_alert_engine_t *e, omega_error_t *err)
{
    e->queue_seq = 1;
    return omega_kv_scan(e->db, OMEGA_KV_ALERTS, KEY_QUEUE, strlen(KEY_QUEUE), load_one, e, err);
}

int queue_push(omega_alert_engine_t *e, const char *channel, category_t cat, json_t *payload,
               int64_t now_ms)
{
    qitem_t *q = omega_calloc(1, sizeof(*q));
    q->seq = e->queue_seq++;
    q->channel = omega_strdup(channel);
    q->created_ms = now_ms;
    q->next_ms = now_ms;
    q->entry = json_pack("{s:s,s:s,s:I,s:O}", "channel", channel, "category", category_name(cat),
                         "created", (json_int_t)now_ms, "payload", payload);
    omega_error_t err;
    omega_error_clear(&err);
    int rc = store(e, q, &err);
    if (rc != 0) {
        /* Still deliver it from memory: losing it on a restart beats not sending it. */
        omega_log_error("cannot persist a notification for channel %s: %s", channel, err.message);
    }
    append(e, q);
    pthread_cond_broadcast(&e->cond);
    return rc;
}

void queue_free_all(omega_alert_engine_t *e)
{
    for (size_t i = 0; i < e->n_queue; i++)
        qitem_free(e->queue[i]);
    free(e->queue);
    e->queue = NULL;
    e->n_queue = 0;
}

static void remove_at(omega_alert_engine_t *e, size_t i)
{
    unstore(e, e->queue[i]->seq);
    qitem_free(e->queue[i]);
    memmove(e->queue + i, e->queue + i + 1, (e->n_queue - i - 1) * sizeof(*e->queue));
    e->n_queue--;
    e->stats.queue_depth = e->n_queue;
}

static size_t find_seq(omega_alert_engine_t *e, uint64_t seq)
{
    for (size_t i = 0; i < e->n_queue; i++)
        if (e->queue[i]->seq == seq)
            return i;
    return (size_t)-1;
}

static category_t entry_category(json_t *entry)
{
    const char *c = json_string_value(json_object_get(entry, "category"));
    if (c && strcmp(c, "system") == 0)
        return CAT_SYSTEM;
    if (c && strcmp(c, "application") == 0)
        return CAT_APPLICATION;
    return CAT_PERFORMANCE;
}

/* Record the outcome of one attempt of item seq (caller holds e->mu). */
static void settle(omega_alert_engine_t *e, uint64_t seq, int rc, const char *why, int64_t now_ms)
{
    size_t i = find_seq(e, seq);
    if (i == (size_t)-1)
        return;
    qitem_t *q = e->queue[i];
    q->busy = 0;
    if (rc == 0) {
        e->stats.notifications_sent++;
        remove_at(e, i);
        return;
    }
    e->stats.notifications_failed++;
    q->attempts++;
    int64_t delay = e->opt.retry_base_ms;
    for (int k = 1; k < q->attempts && delay < e->opt.retry_max_ms; k++)
        delay *= 2;
    if (delay > e->opt.retry_max_ms)
        delay = e->opt.retry_max_ms;
    q->next_ms = now_ms + delay;
    if (q->next_ms - q->created_ms > e->opt.retry_window_ms) {
        omega_log_error("notification to channel %s dropped after %d attempts: %s", q->channel,
                        q->attempts, why);
        e->stats.notifications_dropped++;
        remove_at(e, i);
        return;
    }
    omega_log_warn("notification to channel %s failed (attempt %d, next in %lld ms): %s",
                   q->channel, q->attempts, (long long)delay, why);
    omega_error_t err;
    omega_error_clear(&err);
    store(e, q, &err);
}

size_t omega_alert_deliver(omega_alert_engine_t *e, int64_t now_ms)
{
    for (;;) {
        pthread_mutex_lock(&e->mu);
        qitem_t *q = NULL;
        for (size_t i = 0; i < e->n_queue && !q && !e->stopping; i++)
            if (!e->queue[i]->busy && e->queue[i]->next_ms <= now_ms)
                q = e->queue[i];
        if (!q) {
            size_t left = e->n_queue;
            pthread_mutex_unlock(&e->mu);
            return left;
        }
        channel_t *c = channel_find(e, q->channel, NULL);
        if (!c) {
            omega_log_warn("notification for deleted channel %s dropped", q->channel);
            e->stats.notifications_dropped++;
            remove_at(e, find_seq(e, q->seq));
            pthread_mutex_unlock(&e->mu);
            continue;
        }
        q->busy = 1;
        uint64_t seq = q->seq;
        channel_t *snap = channel_dup(c);
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
        settle(e, seq, rc, err.message, now_ms);
        pthread_mutex_unlock(&e->mu);
    }
}
