/* SPDX-License-Identifier: Apache-2.0 */
/* The report service: a thread that renders queued background reports one at a time, runs
 * the schedules due each minute (schedules.c) and deletes stored reports older than
 * keep_ms once an hour. Rendered files and their records live in the output directory
 * (store.c). */
#include "report_int.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

typedef struct rpt_job {
    char id[33];
    omega_report_request_t req;
    char owner[72];
    struct rpt_job *next;
} rpt_job_t;

void omega_report_service_options_init(omega_report_service_options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->max_queued = 16;
    o->keep_ms = 30LL * 24 * 3600 * 1000;
}

const omega_config_t *rpt_service_config(omega_report_service_t *s)
{
    return s->o.config ? s->o.config(s->o.config_ctx) : NULL;
}

void rpt_new_id(char id[33])
{
    unsigned char r[16];
    size_t got = 0;
    while (got < sizeof(r)) {
        ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
        if (n > 0)
            got += (size_t)n;
        else if (errno != EINTR)
            abort(); /* no entropy source: nothing sensible to fall back to */
    }
    for (size_t i = 0; i < sizeof(r); i++)
        snprintf(id + 2 * i, 3, "%02x", r[i]);
}

static json_t *time_json(int64_t ms)
{
    char buf[40];
    return json_string(omega_time_format_rfc3339(ms, buf, sizeof(buf)));
}

static json_t *record(const char *id, const omega_report_request_t *req, const char *owner,
                      const char *schedule, const char *status)
{
    char name[128];
    json_t *secs = json_array();
    for (unsigned bit = 1; bit <= OMEGA_REPORT_SEC_TRENDS; bit <<= 1)
        if (req->sections & bit)
            json_array_append_new(secs, json_string(omega_report_section_name(bit)));
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:s*}", "id", id, "status", status,
        "type", omega_report_type_name(req->type), "format", omega_report_format_name(req->format),
        "sections", secs, "from", time_json(req->from_ms), "to", time_json(req->to_ms),
        "created_at", time_json(omega_now_ms()), "filename",
        omega_report_filename(req, name, sizeof(name)), "owner", owner, "schedule", schedule);
}

/* Draw the report of record id (already stored as pending) and store the result. */
static int render_into(omega_report_service_t *s, const char *id, const omega_report_request_t *req,
                       json_t *meta, omega_error_t *err)
{
    const omega_config_t *cfg = rpt_service_config(s);
    int masking = cfg ? cfg->security.privacy_settings.data_masking : 1;
    omega_report_sources_t src = {.db = s->o.db,
                                  .alerts = s->o.alerts,
                                  .analytics = s->o.analytics,
                                  .mask = masking ? s->o.mask : NULL,
                                  .mask_ctx = s->o.mask_ctx};
    json_object_set_new(meta, "status", json_string("running"));
    rpt_store_put_meta(s->dir, id, meta, NULL);
    char *out = NULL;
    size_t len = 0;
    int rc = omega_report_generate(&src, req, &out, &len, err);
    if (rc == 0)
        rc = rpt_store_put_data(s->dir, id, omega_report_extension(req->format), out, len, err);
    free(out);
    json_object_set_new(meta, "status", json_string(rc == 0 ? "done" : "failed"));
    json_object_set_new(meta, "finished_at", time_json(omega_now_ms()));
    if (rc == 0)
        json_object_set_new(meta, "bytes", json_integer((json_int_t)len));
    else
        json_object_set_new(
            meta, "error", json_string(err && err->message[0] ? err->message : omega_strerror(rc)));
    int mrc = rpt_store_put_meta(s->dir, id, meta, rc == 0 ? err : NULL);
    return rc != 0 ? rc : mrc;
}

int rpt_service_render(omega_report_service_t *s, const omega_report_request_t *req,
                       const char *owner, const char *schedule, char id[33], omega_error_t *err)
{
    rpt_new_id(id);
    json_t *meta = record(id, req, owner, schedule, "pending");
    int rc = render_into(s, id, req, meta, err);
    json_decref(meta);
    return rc;
}

omega_report_service_t *omega_report_service_create(const omega_report_service_options_t *o,
                                                    omega_error_t *err)
{
    if (!o->db || !o->output_dir || !*o->output_dir) {
        omega_error_set(err, OMEGA_EINVAL, "the report service needs a store and a directory");
        return NULL;
    }
    if (rpt_store_init(o->output_dir, err) != 0)
        return NULL;
    omega_report_service_t *s = omega_calloc(1, sizeof(*s));
    s->o = *o;
    s->dir = omega_strdup(o->output_dir);
    s->o.output_dir = s->dir;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    rpt_store_fail_unfinished(s->dir);
    if (rpt_schedules_load(s, err) != 0) {
        omega_report_service_destroy(s);
        return NULL;
    }
    return s;
}

int omega_report_submit(omega_report_service_t *s, const omega_report_request_t *req,
                        const char *owner, char id[33], omega_error_t *err)
{
    int rc = rpt_request_check(req, err);
    if (rc != 0)
        return rc;
    omega_error_clear(err);
    pthread_mutex_lock(&s->lock);
    if (s->queued >= s->o.max_queued) {
        pthread_mutex_unlock(&s->lock);
        return omega_error_set(err, OMEGA_EAGAIN,
                               "%zu reports are waiting already; try again "
                               "later",
                               s->queued);
    }
    rpt_job_t *j = omega_calloc(1, sizeof(*j));
    rpt_new_id(j->id);
    j->req = *req;
    snprintf(j->owner, sizeof(j->owner), "%s", owner ? owner : "");
    json_t *meta = record(j->id, req, j->owner, NULL, "pending");
    rc = rpt_store_put_meta(s->dir, j->id, meta, err);
    json_decref(meta);
    if (rc != 0) {
        pthread_mutex_unlock(&s->lock);
        free(j);
        return rc;
    }
    rpt_job_t **tail = &s->queue;
    while (*tail)
        tail = &(*tail)->next;
    *tail = j;
    s->queued++;
    memcpy(id, j->id, 33);
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

int omega_report_get(omega_report_service_t *s, const char *id, char **meta, char **data,
                     size_t *len, omega_error_t *err)
{
    *meta = NULL;
    if (data)
        *data = NULL;
    json_t *m = rpt_store_get_meta(s->dir, id);
    if (!m)
        return omega_error_set(err, OMEGA_ENOENT, "no report with id '%.40s'", id ? id : "");
    const char *status = json_string_value(json_object_get(m, "status"));
    const char *fmt = json_string_value(json_object_get(m, "format"));
    if (data && status && strcmp(status, "done") == 0) {
        *data = rpt_store_get_data(s->dir, id, fmt ? fmt : "", len);
        if (!*data) {
            json_decref(m);
            return omega_error_set(err, OMEGA_EIO, "report %s: its file cannot be read", id);
        }
    }
    *meta = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    return 0;
}

/* ---- the thread ---- */

static void run_job(omega_report_service_t *s, rpt_job_t *j)
{
    json_t *meta = rpt_store_get_meta(s->dir, j->id);
    if (!meta)
        meta = record(j->id, &j->req, j->owner, NULL, "pending");
    omega_error_t err;
    omega_error_clear(&err);
    if (render_into(s, j->id, &j->req, meta, &err) != 0)
        omega_log_warn("report %s failed: %s", j->id, err.message);
    json_decref(meta);
}

static void *service_main(void *arg)
{
    omega_report_service_t *s = arg;
    int64_t last_minute = omega_now_ms() / 60000;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        if (s->queue) {
            rpt_job_t *j = s->queue;
            s->queue = j->next;
            s->queued--;
            pthread_mutex_unlock(&s->lock);
            run_job(s, j);
            free(j);
            pthread_mutex_lock(&s->lock);
            continue;
        }
        int64_t now = omega_now_ms();
        if (now / 60000 != last_minute) {
            last_minute = now / 60000;
            pthread_mutex_unlock(&s->lock);
            omega_report_schedule_tick(s, now);
            if (now - s->last_sweep_ms >= 3600 * 1000) {
                s->last_sweep_ms = now;
                rpt_store_sweep(s->dir, now - s->o.keep_ms);
            }
            pthread_mutex_lock(&s->lock);
            continue;
        }
        int64_t wake = (now / 60000 + 1) * 60000 + 50; /* just past the next minute */
        struct timespec ts = {(time_t)(wake / 1000), (long)(wake % 1000) * 1000000L};
        pthread_cond_timedwait(&s->wake, &s->lock, &ts);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int omega_report_service_start(omega_report_service_t *s)
{
    if (s->started)
        return 0;
    if (pthread_create(&s->thread, NULL, service_main, s) != 0)
        return OMEGA_EIO;
    s->started = 1;
    return 0;
}

void omega_report_service_stop(omega_report_service_t *s)
{
    if (!s || !s->started)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->started = 0;
}

void omega_report_service_destroy(omega_report_service_t *s)
{
    if (!s)
        return;
    omega_report_service_stop(s);
    while (s->queue) {
        rpt_job_t *j = s->queue;
        s->queue = j->next;
        free(j);
    }
    rpt_schedules_free(s);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s->dir);
    free(s);
}
