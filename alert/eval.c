/* SPDX-License-Identifier: Apache-2.0 */
/* One evaluation pass: run every rule's query (without the engine lock), then, under the
 * lock, move each alert through pending -> firing -> resolved, apply hysteresis,
 * inhibition, silences, acknowledgements, cooldowns and the repeat interval, record every
 * transition in the history, and queue grouped notifications. */
#include "alert_int.h"

#include <stdlib.h>
#include <string.h>

#include "omega/buf.h"
#include "omega/log.h"

/* A notification decided during the pass, before grouping. */
typedef struct pending_note {
    rule_t *rule;    /* borrowed (engine lock held) */
    json_t *payload; /* owned */
    char *group;     /* group key (owned) */
    sev_t sev;       /* for ordering within a group */
} pending_note_t;

typedef struct pass {
    pending_note_t *notes;
    size_t n_notes;
    json_t *events; /* live messages, sent after the lock is released */
    int64_t now;
} pass_t;

void alert_make_id(const rule_t *r, const labelset_t *l, char out[17])
{
    uint64_t h = labelset_hash(l, r->id);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++)
        out[i] = hex[(h >> (60 - 4 * i)) & 0xf];
    out[16] = '\0';
}

static sev_t classify(const rule_t *r, double v)
{
    for (int s = SEV_EMERGENCY; s >= SEV_WARNING; s--)
        if (r->has_thr[s] && rule_breaches(r->op, v, r->thr[s]))
            return (sev_t)s;
    return SEV_NONE;
}

/* The rule's alert for series l through the pass' index of the rule's alerts. */
static alert_t *find_alert(const hmap_t *index, const labelset_t *l, uint64_t h)
{
    alert_t *a = hmap_get(index, h);
    return a && labelset_equal(&a->labels, l) ? a : NULL;
}

static void live_event(pass_t *p, const rule_t *r, const alert_t *a, const char *event)
{
    if (!p->events)
        return; /* nobody listens */
    json_t *o = alert_payload(r, a, event);
    json_object_set_new(o, "type", json_string("alert"));
    json_object_set_new(o, "id", json_string(a->id));
    json_object_set_new(o, "rule_id", json_string(r->id));
    json_array_append_new(p->events, o);
}

static void start_episode(rule_t *r, alert_t *a, const labelset_t *l, int64_t now)
{
    if (!a->id[0]) {
        labelset_copy(&a->labels, l);
        a->lhash = labelset_hash(l, NULL);
        alert_make_id(r, l, a->id);
        r->alerts = array_grow(r->alerts, r->n_alerts, sizeof(*r->alerts));
        r->alerts[r->n_alerts++] = a;
    }
    a->state = ST_PENDING;
    a->active_at = now;
    a->fired_at = a->resolved_at = 0;
    a->notified = a->acked = 0;
    a->acked_by[0] = '\0';
    a->dirty = 1;
}

/* Apply one sample of the rule's result to its alert. */
static void apply_sample(omega_alert_engine_t *e, pass_t *p, rule_t *r, hmap_t *index,
                         const labelset_t *l, double v)
{
    uint64_t h = labelset_hash(l, NULL);
    alert_t *a = find_alert(index, l, h);
    sev_t sev = classify(r, v);
    if (sev == SEV_NONE) {
        /* Hysteresis: a firing alert stays firing until the value passes `clear`. */
        if (a && a->state == ST_FIRING && r->has_clear && rule_breaches(r->op, v, r->clear)) {
            a->seen = 1;
            a->value = v;
        }
        return;
    }
    if (!a) {
        a = omega_calloc(1, sizeof(*a));
        start_episode(r, a, l, p->now);
        hmap_put(index, h, a);
    } else if (a->state == ST_RESOLVED) {
        start_episode(r, a, l, p->now);
    }
    a->seen = 1;
    a->value = v;
    if (a->state == ST_FIRING && sev != a->sev) {
        int up = sev > a->sev;
        a->dirty = 1;
        a->sev = sev;
        a->threshold = r->thr[sev];
        history_add(e, r, a, up ? "escalated" : "deescalated", NULL, p->now);
        if (up) {
            a->notified = 0; /* an escalation is news: notify again, ack or not */
            a->acked = 0;
            a->last_notified_ms = 0;
        }
        return;
    }
    a->sev = sev;
    a->threshold = r->thr[sev];
    if (a->state == ST_PENDING && p->now - a->active_at >= r->for_ms) {
        a->state = ST_FIRING;
        a->fired_at = p->now;
        a->dirty = 1;
        flap_record(a, p->now);
        history_add(e, r, a, "firing", NULL, p->now);
        live_event(p, r, a, "firing");
    } else if (a->state == ST_PENDING && a->active_at == p->now) {
        history_add(e, r, a, "pending", NULL, p->now);
    }
}

static void add_note(const omega_alert_engine_t *e, pass_t *p, rule_t *r, alert_t *a,
                     const char *status)
{
    omega_buf_t key;
    omega_buf_init(&key, 0);
    omega_buf_printf(&key, "%s\x1f%s", r->id, status);
    for (size_t i = 0; i < r->n_group_by; i++) {
        const char *v = labelset_get(&r->labels, r->group_by[i]);
        if (!v)
            v = labelset_get(&a->labels, r->group_by[i]);
        omega_buf_printf(&key, "\x1f%s", v ? v : "");
    }
    if (!r->n_group_by)
        omega_buf_printf(&key, "\x1f%s", a->id); /* no group_by: one notification per alert */
    p->notes = array_grow(p->notes, p->n_notes, sizeof(*p->notes));
    pending_note_t *n = &p->notes[p->n_notes++];
    n->rule = r;
    n->payload = alert_payload(r, a, status);
    int64_t at = strcmp(status, "resolved") == 0 ? a->resolved_at : a->fired_at;
    json_object_set_new(n->payload, "dashboard_url", dashboard_link(e, r->expr, at));
    n->group = omega_buf_take(&key, NULL);
    n->sev = a->sev;
}

static void free_alert(alert_t *a)
{
    labelset_free(&a->labels);
    free(a);
}

/* Alerts absent from this pass' result: pending ones vanish, firing ones resolve, resolved
 * ones are forgotten once their cooldown has passed. One compacting sweep. */
static void sweep_unseen(omega_alert_engine_t *e, pass_t *p, rule_t *r)
{
    int64_t cooldown = rule_cooldown_ms(e, r);
    size_t keep = 0;
    for (size_t i = 0; i < r->n_alerts; i++) {
        alert_t *a = r->alerts[i];
        int drop = 0;
        if (!a->seen && a->state == ST_PENDING) {
            drop = 1;
        } else if (!a->seen && a->state == ST_FIRING) {
            a->state = ST_RESOLVED;
            a->resolved_at = p->now;
            a->dirty = 1;
            flap_record(a, p->now);
            history_add(e, r, a, "resolved", NULL, p->now);
            live_event(p, r, a, "resolved");
            if (a->notified && !a->silenced)
                add_note(e, p, r, a, "resolved");
        } else if (!a->seen) {
            drop = p->now - a->resolved_at >= cooldown &&
                   (!a->last_notified_ms || p->now - a->last_notified_ms >= cooldown);
        }
        if (drop) {
            state_delete(e, r, a);
            free_alert(a);
        } else
            r->alerts[keep++] = a;
    }
    r->n_alerts = keep;
}

/* A firing alert is inhibited while a more severe firing alert has the same series (of
 * any rule): one index of the most severe firing alert per label set, then one lookup
 * per alert. */
static void compute_inhibition(omega_alert_engine_t *e)
{
    size_t total = 0;
    for (size_t i = 0; i < e->n_rules; i++)
        total += e->rules[i]->n_alerts;
    if (!total)
        return; /* the usual pass: nothing to index */
    hmap_t top;
    hmap_init(&top, total);
    for (size_t i = 0; i < e->n_rules; i++)
        for (size_t k = 0; k < e->rules[i]->n_alerts; k++) {
            alert_t *a = e->rules[i]->alerts[k];
            alert_t *b = hmap_get(&top, a->lhash);
            if (a->state == ST_FIRING && (!b || b->sev < a->sev))
                hmap_put(&top, a->lhash, a);
        }
    for (size_t i = 0; i < e->n_rules; i++)
        for (size_t k = 0; k < e->rules[i]->n_alerts; k++) {
            alert_t *a = e->rules[i]->alerts[k];
            const alert_t *b = hmap_get(&top, a->lhash);
            a->inhibited = a->state == ST_FIRING && b && b->sev > a->sev &&
                           labelset_equal(&a->labels, &b->labels);
        }
    hmap_deinit(&top);
}

/* Whether to notify a firing alert now: its first notification of the episode (unless
 * suppressed, or within the cooldown after the previous episode) or a repeat. */
static void decide_firing(omega_alert_engine_t *e, pass_t *p, rule_t *r, alert_t *a)
{
    a->silenced = silence_matches_any(e, r, a, p->now);
    if (a->state != ST_FIRING)
        return;
    int64_t cooldown = rule_cooldown_ms(e, r);
    /* The cooldown is the least gap between two notifications of one alert. */
    int64_t repeat = r->repeat_ms > cooldown ? r->repeat_ms : cooldown;
    const char *why = a->silenced    ? "silenced"
                      : a->inhibited ? "inhibited"
                      : a->flapping  ? "flapping"
                                     : NULL;
    if (!a->notified) {
        if (!why && a->last_notified_ms && p->now - a->last_notified_ms < cooldown)
            why = "cooldown";
        if (why) {
            if (a->fired_at == p->now)
                history_add(e, r, a, "suppressed", why, p->now);
            return;
        }
    } else if (why || a->acked || p->now - a->last_notified_ms < repeat) {
        return;
    }
    a->notified = 1;
    a->last_notified_ms = p->now;
    a->dirty = 1;
    add_note(e, p, r, a, "firing");
}

static int cmp_note(const void *x, const void *y)
{
    const pending_note_t *a = x, *b = y;
    int c = strcmp(a->group, b->group);
    return c ? c : (int)b->sev - (int)a->sev;
}

#define MAX_GROUPS 32   /* per rule and status in one pass; beyond, one notification */
#define MAX_LISTED 1000 /* alerts listed in one grouped notification */

/* Length of the run of notes from i with the same rule and status, and whether it holds
 * more than MAX_GROUPS groups (notes are sorted by group key, which starts with both). */
static size_t rule_run(const pass_t *p, size_t i, int *collapse)
{
    size_t j = i + 1, groups = 1;
    const pending_note_t *a = &p->notes[i];
    for (; j < p->n_notes && p->notes[j].rule == a->rule &&
           strcmp(json_string_value(json_object_get(p->notes[j].payload, "status")),
                  json_string_value(json_object_get(a->payload, "status"))) == 0;
         j++)
        groups += strcmp(p->notes[j].group, p->notes[j - 1].group) != 0;
    *collapse = groups > MAX_GROUPS;
    return j - i;
}

static void send_group(omega_alert_engine_t *e, pass_t *p, size_t i, size_t j)
{
    size_t lead = i; /* the most severe alert of the group leads */
    for (size_t k = i; k < j; k++)
        if (p->notes[k].sev > p->notes[lead].sev)
            lead = k;
    json_t *body = json_deep_copy(p->notes[lead].payload);
    if (j - i > 1) {
        json_t *all = json_array();
        for (size_t k = i; k < j && k - i < MAX_LISTED; k++)
            json_array_append(all, p->notes[k].payload);
        json_object_set_new(body, "alerts", all);
        json_object_set_new(body, "alerts_total", json_integer((json_int_t)(j - i)));
    }
    rule_t *r = p->notes[i].rule;
    for (size_t c = 0; c < r->n_channels; c++) {
        channel_t *ch = channel_find(e, r->channels[c], NULL);
        if (ch && channel_enabled(e, ch->type, r->category))
            queue_push(e, ch->id, r->category, body, p->now);
    }
    json_decref(body);
}

/* One queue entry per group and channel: API.md's body of the most severe alert, plus
 * "alerts" (and "alerts_total") when the group holds more than one. A rule producing more
 * than MAX_GROUPS groups at once sends one notification for all of them (a storm is one
 * message, not thousands). */
static void flush_notes(omega_alert_engine_t *e, pass_t *p)
{
    if (p->n_notes)
        qsort(p->notes, p->n_notes, sizeof(*p->notes), cmp_note);
    for (size_t i = 0; i < p->n_notes;) {
        int collapse;
        size_t run = rule_run(p, i, &collapse);
        if (collapse) {
            send_group(e, p, i, i + run);
            i += run;
            continue;
        }
        size_t j = i + 1;
        while (j < p->n_notes && strcmp(p->notes[j].group, p->notes[i].group) == 0)
            j++;
        send_group(e, p, i, j);
        i = j;
    }
    for (size_t i = 0; i < p->n_notes; i++) {
        json_decref(p->notes[i].payload);
        free(p->notes[i].group);
    }
    free(p->notes);
}

typedef struct job {
    char *id, *expr;        /* copies taken under the lock */
    size_t idx;             /* the rule's index then (checked against id afterwards) */
    rule_sel_t *sel;        /* a reference to the rule's parsed selector, or NULL */
    size_t same;            /* 1 + index of an earlier job with the same expr, 0 = none */
    omega_vector_t *result; /* query result or NULL */
    omega_error_t err;      /* query error */
    int rc;                 /* query status */
    int event;              /* an event rule: nothing to query */
    int off;                /* a disabled rule, or one not due this pass: nothing to do */
} job_t;

void rule_sel_unref(rule_sel_t *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
        omega_selector_destroy(s->sel);
        free(s);
    }
}

/* The rule's selector, parsed at its first evaluation (caller holds e->mu). */
static rule_sel_t *rule_sel_get(rule_t *r)
{
    if (!r->sel_tried) {
        r->sel_tried = 1;
        omega_selector_t *sel = NULL;
        if (r->expr[0] && omega_selector_parse(r->expr, &sel, NULL) == 0) {
            r->sel = omega_calloc(1, sizeof(*r->sel));
            atomic_init(&r->sel->refs, 1);
            r->sel->sel = sel;
        }
    }
    if (r->sel)
        atomic_fetch_add(&r->sel->refs, 1);
    return r->sel;
}

/* Event rules have no query: their alerts resolve EVENT_HOLD_MS after they fired. */
static void age_events(omega_alert_engine_t *e, pass_t *p, rule_t *r)
{
    for (size_t i = 0; i < r->n_alerts; i++) {
        alert_t *a = r->alerts[i];
        a->seen = a->state == ST_FIRING && p->now - a->fired_at < EVENT_HOLD_MS;
    }
    sweep_unseen(e, p, r);
}

/* Whether sample value v of rule r can matter: it passes a threshold, or it may hold a
 * firing alert under hysteresis. Others are skipped without building their labels. */
static int sample_matters(const rule_t *r, double v)
{
    return classify(r, v) != SEV_NONE || (r->has_clear && r->n_alerts);
}

/* Apply job j's result (that of jobs[j->same - 1] when it shares one). */
static void apply_job(omega_alert_engine_t *e, pass_t *p, job_t *jobs, job_t *j)
{
    rule_t *r = j->idx < e->n_rules && strcmp(e->rules[j->idx]->id, j->id) == 0
                    ? e->rules[j->idx]
                    : rule_find(e, j->id, NULL);
    if (!r || strcmp(r->expr, j->expr) != 0 || !r->enabled || j->off)
        return; /* deleted, changed or disabled meanwhile: the next pass sees it */
    const job_t *res = j->same ? &jobs[j->same - 1] : j;
    r->last_eval_ms = p->now;
    if (r->event_metric) {
        age_events(e, p, r);
        return;
    }
    if (res->rc != 0) {
        if (strcmp(r->last_error, res->err.message) != 0)
            omega_log_warn("alert rule %s: evaluation failed: %s", r->id, res->err.message);
        snprintf(r->last_error, sizeof(r->last_error), "%s", res->err.message);
        e->stats.rule_errors++;
        return; /* keep states as they are: no data is not "healthy" */
    }
    r->last_error[0] = '\0';
    size_t n = res->result ? res->result->n : 0;
    hmap_t index = {0}; /* built at the first sample that matters (most passes: none) */
    for (size_t i = 0; i < r->n_alerts; i++)
        r->alerts[i]->seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (!sample_matters(r, res->result->items[i].value))
            continue;
        if (!index.cap) {
            hmap_init(&index, r->n_alerts + n);
            for (size_t k = 0; k < r->n_alerts; k++)
                hmap_put(&index, r->alerts[k]->lhash, r->alerts[k]);
        }
        labelset_t l;
        labelset_from_vector(&l, &res->result->items[i]);
        apply_sample(e, p, r, &index, &l, res->result->items[i].value);
        labelset_free(&l);
    }
    if (index.cap)
        hmap_deinit(&index);
    sweep_unseen(e, p, r);
}

static void finish_pass(omega_alert_engine_t *e, pass_t *p)
{
    silences_expire(e, p->now);
    compute_inhibition(e);
    uint64_t active = 0, firing = 0;
    for (size_t i = 0; i < e->n_rules; i++)
        for (size_t k = 0; k < e->rules[i]->n_alerts; k++) {
            alert_t *a = e->rules[i]->alerts[k];
            flap_update(e, e->rules[i], a, p->now);
            decide_firing(e, p, e->rules[i], a);
            if (a->dirty)
                state_save(e, e->rules[i], a);
            active += a->state != ST_RESOLVED;
            firing += a->state == ST_FIRING;
        }
    flush_notes(e, p);
    e->stats.active = active;
    e->stats.firing = firing;
    e->stats.rules = e->n_rules;
}

/* Hand the pass' live messages to the listener, outside every lock; frees events. */
static void send_events(omega_alert_engine_t *e, json_t *events)
{
    size_t k;
    json_t *ev;
    json_array_foreach(events, k, ev)
    {
        if (!e->opt.on_event)
            break;
        char *text = json_dumps(ev, JSON_COMPACT | JSON_REAL_PRECISION(17));
        e->opt.on_event(e->opt.event_ctx, text, strlen(text));
        free(text);
    }
    json_decref(events);
}

static uint64_t text_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h ? h : 1;
}

/* One job per rule, taken under e->mu: what to run outside the lock. Rules with the same
 * expression (the built-in warning/critical pairs) share one query. */
static job_t *take_jobs(omega_alert_engine_t *e, int64_t now_ms)
{
    size_t n = e->n_rules;
    job_t *jobs = n ? omega_calloc(n, sizeof(*jobs)) : NULL;
    hmap_t first; /* expr hash -> 1 + index of the first job running it */
    hmap_init(&first, n);
    for (size_t i = 0; i < n; i++) {
        rule_t *r = e->rules[i];
        job_t *j = &jobs[i];
        j->id = omega_strdup(r->id);
        j->expr = omega_strdup(r->expr);
        j->idx = i;
        j->event = r->event_metric != NULL;
        /* A rule with an interval waits for it; its alerts keep their states meanwhile. */
        j->off =
            !r->enabled || (r->every_ms > 0 && r->last_eval_ms > 0 &&
                            now_ms - r->last_eval_ms < r->every_ms && now_ms >= r->last_eval_ms);
        if (j->event || j->off)
            continue;
        uint64_t h = text_hash(r->expr);
        size_t k = (size_t)(uintptr_t)hmap_get(&first, h);
        if (k && strcmp(jobs[k - 1].expr, r->expr) == 0) {
            j->same = k;
            continue;
        }
        if (!k)
            hmap_put(&first, h, (void *)(uintptr_t)(i + 1));
        j->sel = rule_sel_get(r);
    }
    hmap_deinit(&first);
    return jobs;
}

int omega_alert_evaluate(omega_alert_engine_t *e, int64_t now_ms)
{
    int64_t t0 = omega_mono_ns();
    pthread_mutex_lock(&e->eval_mu);
    pthread_mutex_lock(&e->mu);
    size_t n = e->n_rules;
    job_t *jobs = take_jobs(e, now_ms);
    pthread_mutex_unlock(&e->mu);
    for (size_t i = 0; i < n; i++) {
        job_t *j = &jobs[i];
        omega_error_clear(&j->err);
        if (j->event || j->off || j->same)
            continue;
        j->rc = j->sel
                    ? omega_query_instant_selector(e->db, j->sel->sel, now_ms, &j->result, &j->err)
                    : omega_query_instant(e->db, j->expr, now_ms, &j->result, &j->err);
    }
    pass_t p = {.now = now_ms, .events = e->opt.on_event ? json_array() : NULL};
    pthread_mutex_lock(&e->mu);
    for (size_t i = 0; i < n; i++)
        apply_job(e, &p, jobs, &jobs[i]);
    finish_pass(e, &p);
    int64_t dt = omega_mono_ns() - t0;
    e->stats.evaluations++;
    e->stats.last_eval_duration_ns = dt;
    e->stats.eval_duration_ns_total += (uint64_t)dt;
    pthread_mutex_unlock(&e->mu);
    pthread_mutex_unlock(&e->eval_mu);
    for (size_t i = 0; i < n; i++) {
        free(jobs[i].id);
        free(jobs[i].expr);
        rule_sel_unref(jobs[i].sel);
        omega_vector_destroy(jobs[i].result);
    }
    free(jobs);
    send_events(e, p.events);
    return 0;
}

int omega_alert_raise(omega_alert_engine_t *e, const char *rule_id, const omega_label_t *labels,
                      size_t n_labels, double value, int64_t now_ms, omega_error_t *err)
{
    labelset_t l = {0};
    json_t *obj = json_object();
    for (size_t i = 0; i < n_labels; i++)
        json_object_set_new(obj, labels[i].name, json_string(labels[i].value));
    int rc = n_labels > 64 || json_object_size(obj) != n_labels
                 ? omega_error_set_path(err, OMEGA_EINVAL, "labels", "labels: at most 64, unique")
                 : labelset_parse(obj, "labels", &l, err);
    json_decref(obj);
    if (rc != 0)
        return rc;
    pass_t p = {.now = now_ms, .events = e->opt.on_event ? json_array() : NULL};
    pthread_mutex_lock(&e->mu);
    rule_t *r = rule_find(e, rule_id, NULL);
    if (!r || !r->event_metric) {
        rc = r ? omega_error_set(err, OMEGA_EINVAL, "rule '%s' is not an event rule", rule_id)
               : omega_error_set(err, OMEGA_ENOENT, "no alert rule with id '%s'", rule_id);
    } else if (r->enabled) { /* a disabled event rule ignores its events */
        /* The event's series: its labels plus "__name__" = the rule's event metric. */
        l.names = omega_realloc(l.names, (l.n + 1) * sizeof(char *));
        l.values = omega_realloc(l.values, (l.n + 1) * sizeof(char *));
        l.names[l.n] = omega_strdup("__name__");
        l.values[l.n++] = omega_strdup(r->event_metric);
        labelset_sort(&l);
        hmap_t index;
        hmap_init(&index, r->n_alerts + 1);
        for (size_t i = 0; i < r->n_alerts; i++)
            hmap_put(&index, r->alerts[i]->lhash, r->alerts[i]);
        /* A new event restarts the episode: the alert fires at once (no `for`). */
        alert_t *a = find_alert(&index, &l, labelset_hash(&l, NULL));
        if (a && a->state == ST_FIRING && classify(r, value) > SEV_NONE)
            a->state = ST_RESOLVED;
        int64_t for_ms = r->for_ms;
        r->for_ms = 0;
        apply_sample(e, &p, r, &index, &l, value);
        r->for_ms = for_ms;
        hmap_deinit(&index);
        for (size_t i = 0; i < r->n_alerts; i++)
            if (r->alerts[i]->dirty)
                state_save(e, r, r->alerts[i]);
    }
    pthread_mutex_unlock(&e->mu);
    labelset_free(&l);
    send_events(e, p.events);
    return rc;
}
