/* SPDX-License-Identifier: Apache-2.0 */
/* Alerting (module alert/): rules evaluated as instant queries against the store, one alert
 * per resulting series moving inactive -> pending -> firing -> resolved, noise control
 * (hysteresis, cooldowns, repeat interval, inhibition, silences, acknowledgement, grouping)
 * and delivery to log, webhook, e-mail and SMS channels through a persisted queue.
 *
 * Resources cross this interface as JSON text (the shapes of API.md's Alerts section), so
 * the HTTP layer only moves bytes. Thread rules: every function may be called from any
 * thread once omega_alert_create() returned; the evaluator and the sender run on their own
 * threads after omega_alert_start(). Strings returned through `char **out` are malloc'd and
 * freed by the caller with free(). */
#ifndef OMEGA_ALERT_H
#define OMEGA_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "omega/common.h"
#include "omega/config.h"
#include "omega/metric.h"
#include "omega/tsdb.h"

typedef struct omega_alert_engine omega_alert_engine_t;

/* Called (on the evaluator thread) with one `{"type":"alert",...}` live message per alert
 * that fires or resolves. json is borrowed for the call; must not call back into the engine. */
typedef void (*omega_alert_event_fn)(void *ctx, const char *json, size_t len);

/* Where channel documents (webhook URLs and headers, SMTP and gateway credentials) are
 * kept when they must be sealed at rest: auth's omega_auth_secret_put_cb/open_cb/delete_cb
 * with the auth handle as ctx. All NULL: stored as plain JSON in the meta space. */
typedef struct omega_alert_vault {
    int (*put)(void *ctx, const char *key, const void *plain, size_t n, omega_error_t *err);
    int (*open)(void *ctx, const char *key, const void *val, size_t vlen, char **plain,
                size_t *plen, int *stale, omega_error_t *err); /* *plain: free() it */
    int (*del)(void *ctx, const char *key, omega_error_t *err);
    void *ctx; /* passed to the three */
} omega_alert_vault_t;

/* Engine options; start from omega_alert_options_init(). */
typedef struct omega_alert_options {
    const omega_config_t *cfg;      /* thresholds, cooldowns, channels, templates (borrowed,
                                     * must outlive the engine); NULL = built-in defaults */
    int64_t evaluation_interval_ms; /* 0 = cfg alerting.evaluation_interval */
    int64_t retry_window_ms;        /* a notification undelivered this long is dropped (1 h) */
    int64_t retry_base_ms;          /* first retry delay, doubled per attempt (1 s) */
    int64_t retry_max_ms;           /* longest retry delay (5 min) */
    int64_t http_timeout_ms;        /* default webhook/SMS/SMTP timeout (5 s) */
    int builtin_rules;              /* 1: create the config's built-in rules and channels */
    const char *dashboard_url;      /* base of {dashboard_url} links, e.g.
                                     * "https://omega.example.com" (copied); NULL = from
                                     * server.listen and server.tls.enabled */
    omega_alert_event_fn on_event;  /* live messages, or NULL */
    void *event_ctx;                /* passed to on_event */
    omega_alert_vault_t vault;      /* sealing of channel documents; zeroed = none */
    char *(*mask)(void *ctx, const char *text); /* PII masker applied to rendered subjects and
                                                   texts (auth's omega_pii_mask_cb; malloc'd
                                                   result), or NULL for none */
    void *mask_ctx;                             /* passed to mask */
} omega_alert_options_t;

/* Fill o with the defaults listed on the fields (builtin_rules = 1). */
void omega_alert_options_init(omega_alert_options_t *o);

/* Load rules, channels, silences and the undelivered queue from db (borrowed; must outlive
 * the engine) and install the built-in rules. No thread runs yet. Returns NULL and fills err
 * when stored data cannot be read. Free with omega_alert_destroy(). */
omega_alert_engine_t *omega_alert_create(omega_tsdb_t *db, const omega_alert_options_t *o,
                                         omega_error_t *err);

/* Start the evaluator thread (every evaluation interval) and the sender thread, which runs
 * one delivery thread per channel with due notifications (a hanging endpoint delays only
 * its own channel).
 * Returns 0, or OMEGA_EIO when a thread cannot be created (nothing left running). */
int omega_alert_start(omega_alert_engine_t *e);

/* Stop the threads: an evaluation in progress finishes first; a delivery in progress is
 * aborted and stays queued (not counted as an attempt); undelivered notifications stay in
 * the store. Idempotent; safe when never started. */
void omega_alert_stop(omega_alert_engine_t *e);

/* Stop and free. Accepts NULL. Must be called before the store is closed. */
void omega_alert_destroy(omega_alert_engine_t *e);

/* Evaluate every rule once as of now_ms (the evaluator thread calls this with the wall
 * clock; tests pass a fake clock). Notifications produced are queued; call
 * omega_alert_deliver() (or let the sender thread) send them. Returns 0: errors of single
 * rules are recorded on the rule ("last_error") and counted, history write failures are
 * logged. */
int omega_alert_evaluate(omega_alert_engine_t *e, int64_t now_ms);

/* Report an event to event rule rule_id (built in: "builtin-process-exit", value = the exit
 * status of a watched process or job, labels e.g. name, pid). The series is labels plus
 * "__name__" = the rule's event metric ("process_exit_status"); when value passes a
 * threshold the alert fires at once (no `for`) and is notified at the next evaluation,
 * under the usual silences, inhibition and cooldown; it resolves 5 minutes later. labels are
 * borrowed for the call. Returns 0 (also when value passes no threshold or the rule is
 * disabled), OMEGA_ENOENT (no
 * such rule), OMEGA_EINVAL (not an event rule, or invalid labels). Any thread. */
int omega_alert_raise(omega_alert_engine_t *e, const char *rule_id, const omega_label_t *labels,
                      size_t n_labels, double value, int64_t now_ms, omega_error_t *err);

/* Attempt every queued notification due at now_ms once and return when done (tests and
 * tools; the sender thread does the same in the background). Channels are served in
 * parallel, one thread each (the caller's thread is one of them); a channel's items go in
 * queue order, and after a timeout the channel's other items wait for its retry. Returns
 * the number still queued. */
size_t omega_alert_deliver(omega_alert_engine_t *e, int64_t now_ms);

/* ---- Rules: {"id","name","expr","warning","critical","emergency","op","for","clear",
 *      "category","channels","labels","annotations":{"description","recommended_action"},
 *      "repeat_interval","group_by","enabled"} ---- */

/* Create (id NULL: a new id is generated, or the body's "id" when given) or replace (id set:
 * the rule with that id) a rule from JSON text. Validates every field; the expression must
 * parse (the parser's message is returned). "enabled": false keeps the rule without
 * evaluating it (its active alerts are dropped without notification). On success *out (if
 * non-NULL) gets the stored rule as JSON.
 * A built-in rule (id "builtin-...") is changed rather than replaced: the body's editable
 * fields (thresholds, clear, for, repeat_interval, channels, labels, annotations, group_by,
 * enabled; absent = the configuration's value, null = none) are laid over the config's
 * version and those that differ are stored as the rule's override, which wins over later
 * configuration changes; id, name, expr, op, category and event may only repeat the
 * built-in value (else OMEGA_EINVAL naming the field).
 * Errors: OMEGA_EINVAL (err names the field), OMEGA_ENOENT (id not found on replace),
 * OMEGA_EEXIST (new rule with a taken id), OMEGA_EIO. */
int omega_alert_rule_put(omega_alert_engine_t *e, const char *id, const char *json, char **out,
                         omega_error_t *err);
/* Change rule id by an RFC 7396 JSON merge patch of its current JSON (e.g. {"enabled":
 * false}, {"warning": 70}), then as omega_alert_rule_put(). Same errors. */
int omega_alert_rule_patch(omega_alert_engine_t *e, const char *id, const char *json, char **out,
                           omega_error_t *err);
/* Restore built-in rule id to the configuration's version (forget the stored override).
 * *out (if non-NULL) gets the rule. OMEGA_ENOENT, OMEGA_EINVAL (not a built-in rule),
 * OMEGA_EIO. */
int omega_alert_rule_reset(omega_alert_engine_t *e, const char *id, char **out,
                           omega_error_t *err);
/* The rule as JSON (with "enabled", "builtin", "last_error", "last_evaluated_at"; built-in
 * rules also "modified" and, when modified, "defaults": the configuration's value of each
 * changed field, null = none), or OMEGA_ENOENT. */
int omega_alert_rule_get(omega_alert_engine_t *e, const char *id, char **out, omega_error_t *err);
/* {"items":[rules...]} in id order. */
int omega_alert_rule_list(omega_alert_engine_t *e, char **out, omega_error_t *err);
/* Delete a rule and its active alerts (no notification). OMEGA_ENOENT, OMEGA_EPERM (built-in:
 * disable or reset it instead). */
int omega_alert_rule_delete(omega_alert_engine_t *e, const char *id, omega_error_t *err);

/* ---- Channels: {"id","name","type":"log|webhook|email|sms","config":{...},"template"?} ----
 * webhook {url, headers?, secret?, timeout?}; email {to:[..], from, smtp_url, username?,
 * password?, timeout?}; sms {url, method, body_template, to:[..], headers?, content_type?}.
 * Secrets (secret, password) are returned as "********". */
int omega_alert_channel_put(omega_alert_engine_t *e, const char *id, const char *json, char **out,
                            omega_error_t *err);
int omega_alert_channel_list(omega_alert_engine_t *e, char **out, omega_error_t *err);
int omega_alert_channel_delete(omega_alert_engine_t *e, const char *id, omega_error_t *err);
/* Send a test notification to the channel now, on the calling thread (bounded by the
 * channel's timeout). Returns 0, OMEGA_ENOENT, or OMEGA_EIO with the delivery error in err. */
int omega_alert_channel_test(omega_alert_engine_t *e, const char *id, omega_error_t *err);

/* ---- Silences: {"id","matchers":[{"name","value","op":"=|!=|=~|!~"}],"starts_at","ends_at",
 *      "author","comment"} ---- */
int omega_alert_silence_create(omega_alert_engine_t *e, const char *json, char **out,
                               omega_error_t *err);
/* {"items":[...]} of silences not yet expired at now_ms, each with "active". */
int omega_alert_silence_list(omega_alert_engine_t *e, int64_t now_ms, char **out,
                             omega_error_t *err);
int omega_alert_silence_delete(omega_alert_engine_t *e, const char *id, omega_error_t *err);

/* ---- Alerts ---- */

/* {"items":[...]} of pending and firing alerts: id, rule_id, alert (rule name), state,
 * severity, value, threshold, labels, active_at, started_at, acknowledged(_by), silenced,
 * inhibited, flapping. */
int omega_alert_active(omega_alert_engine_t *e, char **out, omega_error_t *err);
/* {"items":[...]} of stored transitions with since_ms <= at <= until_ms, oldest first,
 * at most limit (0 = 10,000), only of rule rule_id and of severity severity when those are
 * non-NULL. Each item is the webhook body of the alert plus id, rule_id, category, at and
 * "status" naming the transition (pending, firing, resolved, escalated, deescalated,
 * suppressed with "note" cooldown|silenced|inhibited|flapping, acknowledged with "note" =
 * who, flapping with "note" started|ended).
 * OMEGA_EINVAL when until_ms < since_ms. */
int omega_alert_history(omega_alert_engine_t *e, int64_t since_ms, int64_t until_ms,
                        const char *rule_id, const char *severity, size_t limit, char **out,
                        omega_error_t *err);
/* Acknowledge an active alert: no more repeat notifications until it resolves. by names the
 * person (recorded in history). OMEGA_ENOENT when no active alert has that id. */
int omega_alert_ack(omega_alert_engine_t *e, const char *alert_id, const char *by,
                    omega_error_t *err);

/* Counters for /metrics and diagnostics. */
typedef struct omega_alert_stats {
    uint64_t evaluations;            /* evaluation passes completed */
    int64_t last_eval_duration_ns;   /* duration of the latest pass */
    uint64_t eval_duration_ns_total; /* sum over all passes */
    uint64_t rule_errors;            /* rule evaluations that failed */
    uint64_t rules;                  /* rules loaded (built-in included) */
    uint64_t active;                 /* pending + firing alerts */
    uint64_t firing;                 /* firing alerts */
    uint64_t notifications_sent;     /* deliveries that succeeded */
    uint64_t notifications_failed;   /* delivery attempts that failed */
    uint64_t notifications_dropped;  /* given up after the retry window */
    uint64_t queue_depth;            /* notifications waiting */
} omega_alert_stats_t;

void omega_alert_stats(omega_alert_engine_t *e, omega_alert_stats_t *out);

#endif
