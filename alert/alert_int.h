/* SPDX-License-Identifier: Apache-2.0 */
/* Private types of the alert module: rules, alert instances, channels, silences, the
 * delivery queue and the engine that owns them. Only alert/ includes this file. */
#ifndef OMEGA_ALERT_INT_H
#define OMEGA_ALERT_INT_H

#include <jansson.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdint.h>

#include "omega/alert.h"
#include "omega/query.h"

/* Key prefixes. META: rules, channels, silences. ALERTS: history and the delivery queue. */
#define KEY_RULE    "alert/rule/"
#define KEY_CHANNEL "alert/channel/"
#define KEY_SILENCE "alert/silence/"
#define KEY_HISTORY "h/" /* + 8-byte BE ms + 8-byte BE sequence */
#define KEY_QUEUE   "q/" /* + 8-byte BE sequence */

#define ID_MAX        64              /* longest rule/channel/silence id */
#define EVENT_HOLD_MS (5 * 60 * 1000) /* an event alert resolves this long after it fired */
#define TEXT_MAX      4096            /* longest name, description, template text */
#define FLAP_KEEP     8               /* latest firing/resolved changes kept per alert */

typedef enum sev { SEV_NONE = 0, SEV_WARNING, SEV_CRITICAL, SEV_EMERGENCY, SEV_COUNT } sev_t;
typedef enum cmp_op { OP_GT = 0, OP_LT, OP_GE, OP_LE } cmp_op_t;
typedef enum category { CAT_PERFORMANCE = 0, CAT_SYSTEM, CAT_APPLICATION } category_t;
typedef enum astate { ST_PENDING = 0, ST_FIRING, ST_RESOLVED } astate_t;
typedef enum chan_type { CH_LOG = 0, CH_WEBHOOK, CH_EMAIL, CH_SMS } chan_type_t;

/* A label set owned by its holder, sorted by name. */
typedef struct labelset {
    char **names;  /* n names */
    char **values; /* n values */
    size_t n;      /* pairs */
} labelset_t;

/* One alert: one series of one rule. Lives in its rule until a resolved alert's cooldown
 * has passed. */
typedef struct alert {
    char id[17];              /* hex of a hash of rule id + series labels */
    labelset_t labels;        /* the series' labels, "__name__" included */
    uint64_t lhash;           /* labelset_hash(&labels) */
    astate_t state;           /* pending, firing, resolved */
    sev_t sev;                /* severity while pending/firing, last one when resolved */
    double value;             /* latest value */
    double threshold;         /* threshold of sev */
    int64_t active_at;        /* when the condition started holding (pending since) */
    int64_t fired_at;         /* when it became firing */
    int64_t resolved_at;      /* when it resolved (0 while active) */
    int64_t last_notified_ms; /* last firing/repeat notification queued, 0 = none */
    int notified;             /* a firing notification went out for this episode */
    int acked;                /* acknowledged during this episode */
    char acked_by[64];        /* who acknowledged */
    int silenced;             /* matched a silence at the latest evaluation */
    int inhibited;            /* a higher-severity alert on the same series is firing */
    int seen;                 /* present in the current evaluation's result */
    int64_t flips[FLAP_KEEP]; /* times of the latest firing <-> resolved changes (a ring) */
    unsigned n_flips;         /* changes recorded; the next goes to n_flips % FLAP_KEEP */
    int flapping;             /* changing too often: firing notifications held back */
    int dirty;                /* changed since its state was last stored */
} alert_t;

/* A rule's expression parsed once when it is a plain series selector (most threshold rules),
 * shared by reference with the evaluation pass running it (rules may be replaced meanwhile). */
typedef struct rule_sel {
    atomic_int refs;
    omega_selector_t *sel;
} rule_sel_t;

typedef struct rule {
    char *id;                 /* unique id */
    char *name;               /* "alert" in notifications */
    char *expr;               /* the query */
    double thr[SEV_COUNT];    /* threshold per severity (index SEV_*) */
    int has_thr[SEV_COUNT];   /* which thresholds are set */
    cmp_op_t op;              /* comparison */
    int64_t for_ms;           /* condition must hold this long before firing */
    int64_t every_ms;         /* evaluated at most this often (0 = every pass): built-ins
                                 reading long windows of many series */
    int has_clear;            /* hysteresis: firing alerts clear only past `clear` */
    double clear;             /* clear threshold */
    category_t category;      /* cooldown and template selection */
    char **channels;          /* channel ids */
    size_t n_channels;        /* entries in channels */
    labelset_t labels;        /* extra labels added to every alert */
    char *description;        /* annotation */
    char *recommended_action; /* annotation */
    int64_t repeat_ms;        /* repeat interval, 0 = the category cooldown */
    char **group_by;          /* label names grouping notifications */
    size_t n_group_by;        /* entries in group_by */
    int builtin;              /* created from the config (override.c: editable fields) */
    int enabled;              /* 0: not evaluated, no alerts (a paused rule) */
    json_t *base;             /* built-in: the config's version (rule_json), owned */
    json_t *override;         /* built-in: the user's changed fields, owned; NULL = none */
    char *event_metric;       /* event rule: raised by omega_alert_raise() with this
                               * "__name__", not evaluated; NULL for query rules */
    rule_sel_t *sel;          /* expr as a parsed selector, NULL = run as a query */
    int sel_tried;            /* sel was looked for (at the first evaluation) */
    char last_error[256];     /* latest evaluation error, "" = none */
    int64_t last_eval_ms;     /* latest evaluation time */
    alert_t **alerts;         /* this rule's alerts */
    size_t n_alerts;          /* entries in alerts */
} rule_t;

typedef struct channel {
    char *id;   /* unique id */
    char *name; /* display name */
    chan_type_t type;
    json_t *config;           /* validated per type (owned) */
    char *template;           /* notification_templates name, "" = by category */
    int builtin;              /* created from the config */
    int64_t hold_until_ms;    /* after a timeout: no attempt on this channel before this */
    const atomic_int *cancel; /* snapshots only: non-zero = abort transfers (engine stop) */
} channel_t;

typedef struct silence_matcher {
    char *name;  /* label name ("alertname" = the rule name) */
    char *value; /* literal or regex */
    int op;      /* OMEGA_MATCH_* */
    regex_t re;  /* compiled, anchored, for regex ops */
} silence_matcher_t;

typedef struct silence {
    char *id;
    silence_matcher_t *m;
    size_t n_m;
    int64_t starts_at, ends_at, created_at;
    char *author, *comment;
} silence_t;

/* A notification waiting for delivery (mirrors a KEY_QUEUE entry). */
typedef struct qitem {
    uint64_t seq;       /* queue key */
    char *channel;      /* channel id */
    int64_t created_ms; /* enqueue time */
    int64_t next_ms;    /* next attempt */
    int attempts;       /* attempts so far */
    int busy;           /* the sender holds a copy */
    json_t *entry;      /* {"channel","category","created","attempts","next","payload"} */
} qitem_t;

struct omega_alert_engine {
    omega_tsdb_t *db;
    omega_alert_options_t opt;
    omega_config_t *own_cfg;   /* defaults when opt.cfg was NULL */
    const omega_config_t *cfg; /* effective config */
    pthread_mutex_t mu;        /* guards everything below */
    pthread_mutex_t eval_mu;   /* one evaluation pass at a time */
    pthread_cond_t cond;       /* wakes the threads */
    rule_t **rules;
    size_t n_rules;
    channel_t **channels;
    size_t n_channels;
    silence_t **silences;
    size_t n_silences;
    qitem_t **queue;
    size_t n_queue;
    uint64_t queue_seq;   /* next queue key */
    uint64_t history_seq; /* next history sequence */
    uint64_t id_seq;      /* generated ids */
    omega_alert_stats_t stats;
    int running, stopping;
    pthread_t eval_thread, send_thread;
    struct sender_worker **workers; /* per-channel delivery threads (sender.c) */
    size_t n_workers;               /* entries in workers */
    atomic_int cancel_io;           /* set by omega_alert_stop: in-flight transfers abort */
    char dashboard_base[512];       /* "http://host:port" of the dashboard links */
};

/* ---- util.c ---- */
void labelset_free(labelset_t *l);
void labelset_copy(labelset_t *dst, const labelset_t *src);
void labelset_from_vector(labelset_t *dst, const omega_vector_item_t *it);
const char *labelset_get(const labelset_t *l, const char *name);
/* Labels as a JSON object, without __name__, extra merged over (extra may be NULL). */
json_t *labelset_json(const labelset_t *l, const labelset_t *extra);
int labelset_equal(const labelset_t *a, const labelset_t *b);
/* Sort the pairs by name (after filling names/values in any order). */
void labelset_sort(labelset_t *l);
/* 64-bit FNV-1a of the pairs, seeded with seed (e.g. a rule id; NULL = none). */
uint64_t labelset_hash(const labelset_t *l, const char *seed);

/* A small open-addressing map from 64-bit keys to non-NULL pointers (one pass' index). */
typedef struct hmap {
    uint64_t *keys; /* cap keys */
    void **vals;    /* cap values, NULL = empty slot */
    size_t cap;     /* power of two */
} hmap_t;
void hmap_init(hmap_t *m, size_t expect);
void hmap_deinit(hmap_t *m);
/* Insert or replace. */
void hmap_put(hmap_t *m, uint64_t key, void *val);
void *hmap_get(const hmap_t *m, uint64_t key);
/* Parse a {"name":"value"} object into l (names validated). 0 or OMEGA_EINVAL with err. */
int labelset_parse(json_t *obj, const char *field, labelset_t *l, omega_error_t *err);
/* Duration from a JSON string ("5m") or number (seconds). 0 or OMEGA_EINVAL. */
int json_duration(json_t *v, const char *field, int64_t *out_ms, omega_error_t *err);
/* Time from a JSON string (RFC 3339 / Unix seconds) or number (Unix seconds). */
int json_time(json_t *v, const char *field, int64_t *out_ms, omega_error_t *err);
/* String array into a malloc'd array of copies; 0 or OMEGA_EINVAL. */
int json_strarray(json_t *v, const char *field, size_t max, char ***out, size_t *n,
                  omega_error_t *err);
void strarray_free(char **a, size_t n);
json_t *strarray_json(char *const *a, size_t n);
/* Text id check: 1-64 of [A-Za-z0-9_.-]. */
int id_valid(const char *id);
/* Dump JSON compactly into *out (if out non-NULL); decref v. Returns 0. */
int json_out(json_t *v, char **out);
/* "2026-...Z" for ms, as a JSON string. */
json_t *json_rfc3339(int64_t ms);
/* Load JSON text as an object; OMEGA_EINVAL with line/column in err. */
json_t *json_load_object(const char *text, omega_error_t *err);
/* Store v (not consumed) under key in space. */
int kv_put_json(omega_tsdb_t *db, omega_kv_space_t space, const char *key, size_t klen, json_t *v,
                omega_error_t *err);
void be64_put(unsigned char *p, uint64_t v);
uint64_t be64_get(const unsigned char *p);
const char *sev_name(sev_t s);
const char *category_name(category_t c);
/* Make room for element n of an array of elem-byte elements that only ever grows through
 * this call (compacting in place is fine): reallocates to 2n when n is 0 or a power of
 * two, so n appends cost O(n), not O(n^2). Returns the (possibly moved) array. */
void *array_grow(void *p, size_t n, size_t elem);
/* Generate a fresh id "<prefix><ms hex><seq>" into buf. Caller holds e->mu. */
void engine_new_id(omega_alert_engine_t *e, const char *prefix, char *buf, size_t len);

/* ---- eval.c ---- */
/* Drop one reference to s (NULL accepted). */
void rule_sel_unref(rule_sel_t *s);
/* The alert id of series l under rule r: 16 hex digits of a hash of both. */
void alert_make_id(const rule_t *r, const labelset_t *l, char out[17]);

/* ---- flap.c ---- */
/* Note a change between firing and resolved at now_ms. */
void flap_record(alert_t *a, int64_t now_ms);
/* Start or end the alert's flapping as of now_ms (recorded in the history as "flapping"
 * with note "started" / "ended"). Caller holds e->mu. */
void flap_update(omega_alert_engine_t *e, const rule_t *r, alert_t *a, int64_t now_ms);

/* ---- state.c ---- */
/* Store / forget one alert's state (caller holds e->mu); failures are logged. */
void state_save(omega_alert_engine_t *e, const rule_t *r, alert_t *a);
void state_delete(omega_alert_engine_t *e, const rule_t *r, const alert_t *a);
/* Restore stored alerts into the loaded rules; states of vanished rules are deleted. */
int state_load(omega_alert_engine_t *e, omega_error_t *err);

/* ---- rules.c ---- */
/* Parse and validate a rule body. id (may be NULL) overrides the body's id. */
rule_t *rule_parse(omega_tsdb_t *db, const char *id, json_t *body, omega_error_t *err);
json_t *rule_json(const rule_t *r, int with_status);
void rule_free(rule_t *r);
rule_t *rule_find(omega_alert_engine_t *e, const char *id, size_t *index);
/* Load stored rules and add the built-in ones (caller holds nothing; called at create). */
int rules_load(omega_alert_engine_t *e, omega_error_t *err);
int64_t rule_cooldown_ms(const omega_alert_engine_t *e, const rule_t *r);
/* Append r to the engine's rules (caller holds e->mu or is the creator). */
void rules_add(omega_alert_engine_t *e, rule_t *r);
/* Replace rule idx by r (caller holds e->mu) and free the old one. Its alerts carry over
 * to r, unless r is disabled: then they are forgotten (states deleted, no notification). */
void rules_replace(omega_alert_engine_t *e, size_t idx, rule_t *r);
/* 0, or OMEGA_EINVAL naming "channels" when a channel of r does not exist (caller holds
 * e->mu). */
int rule_channels_exist(omega_alert_engine_t *e, const rule_t *r, omega_error_t *err);

/* ---- override.c ---- */
/* Lay the stored overrides over the built-in rules (at create, after builtins_add). A
 * stored override that no longer validates against the config is logged and left out. */
int overrides_load(omega_alert_engine_t *e, omega_error_t *err);
/* Change built-in rule id: body's editable fields (absent = the config's value, null =
 * none) over the config's version; the fields that then differ are stored as the rule's
 * override (none: the stored override is deleted). Fixed fields (id, name, expr, op,
 * category, event) may only repeat the built-in value. Errors as omega_alert_rule_put. */
int override_put(omega_alert_engine_t *e, const char *id, json_t *body, char **out,
                 omega_error_t *err);

/* ---- builtins.c ---- */
/* Add the built-in rules of the config (at create, after the channels). */
void builtins_add(omega_alert_engine_t *e);
/* 1 when value a is past threshold b under op (NaN never is). */
int rule_breaches(cmp_op_t op, double a, double b);

/* ---- channels.c ---- */
channel_t *channel_parse(const char *id, json_t *body, omega_error_t *err);
json_t *channel_json(const channel_t *c, int mask_secrets);
void channel_free(channel_t *c);
channel_t *channel_find(omega_alert_engine_t *e, const char *id, size_t *index);
int channels_load(omega_alert_engine_t *e, omega_error_t *err);
/* Whether the config lets a notification of this category reach this channel type. */
int channel_enabled(const omega_alert_engine_t *e, chan_type_t type, category_t cat);
/* Reject unknown placeholders and unbalanced braces. 0 or OMEGA_EINVAL with err. */
int template_check(const char *text, const char *field, int sms, omega_error_t *err);
/* ---- template.c ---- */
enum { TEMPLATE_ESC_NONE = 0, TEMPLATE_ESC_JSON, TEMPLATE_ESC_URL };
/* Placeholder values of one alert payload, as strings; at_ms is {timestamp}. */
json_t *template_vars(json_t *payload, int64_t at_ms);
/* Render text with vars (an object of strings), escaping values for the target.
 * Returns malloc'd text. */
char *template_render(const char *text, json_t *vars, int esc);
/* Fill e->dashboard_base from opt.dashboard_url, else from server.listen (a wildcard host
 * becomes this machine's name) and server.tls.enabled. */
void dashboard_base_init(omega_alert_engine_t *e);
/* Link to the dashboard's history view of expr ("" = none) from 30 min before at_ms to 30
 * min after, as a JSON string. */
json_t *dashboard_link(const omega_alert_engine_t *e, const char *expr, int64_t at_ms);

/* ---- silence.c ---- */
silence_t *silence_parse(json_t *body, omega_error_t *err);
json_t *silence_json(const silence_t *s, int64_t now_ms);
void silence_free(silence_t *s);
int silences_load(omega_alert_engine_t *e, omega_error_t *err);
/* Forget silences that ended more than SILENCE_KEEP_MS ago (caller holds e->mu). */
#define SILENCE_KEEP_MS (7LL * 86400 * 1000)
void silences_expire(omega_alert_engine_t *e, int64_t now_ms);
/* 1 when an active silence matches the alert (rule labels, series labels, alertname). */
int silence_matches_any(omega_alert_engine_t *e, const rule_t *r, const alert_t *a, int64_t now_ms);

/* ---- history.c ---- */
/* Append one transition to the ALERTS space (caller holds e->mu). */
int history_add(omega_alert_engine_t *e, const rule_t *r, const alert_t *a, const char *event,
                const char *note, int64_t at_ms);
/* The alert as the webhook body of API.md. */
json_t *alert_payload(const rule_t *r, const alert_t *a, const char *status);

/* ---- queue.c ---- */
int queue_load(omega_alert_engine_t *e, omega_error_t *err);
/* Queue payload for channel (payload reference taken); caller holds e->mu. */
int queue_push(omega_alert_engine_t *e, const char *channel, category_t cat, json_t *payload,
               int64_t now_ms);
void queue_free_all(omega_alert_engine_t *e);
/* The oldest item of channel due at now_ms and not busy, honouring the channel's hold;
 * items of a deleted channel are dropped on the way. Caller holds e->mu. NULL = none. */
qitem_t *queue_next_due(omega_alert_engine_t *e, const char *channel, int64_t now_ms);
/* Record the outcome of one attempt of item seq (caller holds e->mu): 0 = delivered
 * (removed), OMEGA_EAGAIN = interrupted by a stop (left as it was), else a failure
 * (backoff, or dropped past the retry window; a timeout also holds the channel). */
void queue_settle(omega_alert_engine_t *e, uint64_t seq, int rc, const char *why, int64_t now_ms);

/* ---- engine.c ---- */
/* Wait on e->cond until ms from now (monotonic clock) or a signal; caller holds e->mu. */
void engine_wait_ms(omega_alert_engine_t *e, int64_t ms);

/* ---- sender.c ---- */
/* The background dispatcher: starts one worker per channel with due notifications, so a
 * slow endpoint delays only its own channel. */
void *sender_main(void *arg);

/* ---- deliver.c ---- */
/* Deliver payload through channel c (a snapshot: the caller owns it). Blocking, bounded by
 * the channel's timeout; at_ms is the transition time ({timestamp}). 0, or OMEGA_EIO /
 * OMEGA_ETIMEDOUT with the reason in err, or OMEGA_EAGAIN when c->cancel aborted it. */
int deliver(const omega_alert_engine_t *e, const channel_t *c, category_t cat, json_t *payload,
            int64_t at_ms, omega_error_t *err);
channel_t *channel_dup(const channel_t *c);
/* Make transfer h abort when c->cancel becomes non-zero (no-op without one). */
void deliver_watch_cancel(void *h, const channel_t *c);

/* ---- email.c ---- */
/* Send subject + text (and an HTML alternative) to the channel's recipients over SMTP. */
int email_send(const channel_t *c, const char *subject, const char *text, int64_t timeout_ms,
               omega_error_t *err);

#endif
