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
    e->queue = array_grow(e->queue, e->n_queue, sizeof(*e->queue));
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

void queue_settle(omega_alert_engine_t *e, uint64_t seq, int rc, const char *why, int64_t now_ms)
{
    size_t i = find_seq(e, seq);
    if (i == (size_t)-1)
        return;
    qitem_t *q = e->queue[i];
    q->busy = 0;
    if (rc == OMEGA_EAGAIN)
        return; /* interrupted by a stop: not an attempt, still stored */
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
    /* An endpoint that does not answer would cost a full timeout per queued item: hold the
     * channel's other items until this one's retry (a refused connection costs nothing). */
    channel_t *c = rc == OMEGA_ETIMEDOUT ? channel_find(e, q->channel, NULL) : NULL;
    if (c)
        c->hold_until_ms = q->next_ms;
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

qitem_t *queue_next_due(omega_alert_engine_t *e, const char *channel, int64_t now_ms)
{
    for (size_t i = 0; i < e->n_queue;) {
        qitem_t *q = e->queue[i];
        if (q->busy || strcmp(q->channel, channel) != 0) {
            i++;
            continue;
        }
        channel_t *c = channel_find(e, channel, NULL);
        if (!c) {
            omega_log_warn("notification for deleted channel %s dropped", q->channel);
            e->stats.notifications_dropped++;
            remove_at(e, i);
            continue;
        }
        if (c->hold_until_ms > now_ms)
            return NULL;
        if (q->next_ms <= now_ms)
            return q;
        i++;
    }
    return NULL;
}
