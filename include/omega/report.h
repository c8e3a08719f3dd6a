/* SPDX-License-Identifier: Apache-2.0 */
/* Reports (module report/): a period's summary of the store, the alert history and the jobs,
 * in the sections of the specification's ReportConfiguration (compilation_performance,
 * system_resources, application_performance, error_analysis, trend_analysis), rendered as
 * PDF, HTML, CSV or JSON (docs/reports.md describes each format).
 *
 * Building a report reads through the public query, alert and analytics interfaces; it runs
 * queries over the whole period, so call it from a worker thread, never an event loop.
 * Thread rules: every function is reentrant; results belong to the caller. */
#ifndef OMEGA_REPORT_H
#define OMEGA_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "omega/common.h"
#include "omega/config.h"
#include "omega/tsdb.h"

struct omega_alert_engine;
struct omega_analytics;

typedef enum omega_report_type {
    OMEGA_REPORT_DAILY = 0,   /* the previous whole day (local time) */
    OMEGA_REPORT_WEEKLY = 1,  /* the previous whole Monday-to-Monday week */
    OMEGA_REPORT_MONTHLY = 2, /* the previous whole calendar month */
    OMEGA_REPORT_CUSTOM = 3,  /* from and to as given */
} omega_report_type_t;

typedef enum omega_report_format {
    OMEGA_REPORT_PDF = 0,  /* application/pdf, drawn with cairo */
    OMEGA_REPORT_HTML = 1, /* one self-contained page, no scripts, inline SVG charts */
    OMEGA_REPORT_CSV = 2,  /* RFC 4180, one block per table */
    OMEGA_REPORT_JSON = 3, /* the report model (docs/reports.md "JSON") */
} omega_report_format_t;

/* Section bits (omega_report_request_t.sections), in report order. */
#define OMEGA_REPORT_SEC_COMPILATION 1u  /* "compilation_performance": jobs */
#define OMEGA_REPORT_SEC_SYSTEM      2u  /* "system_resources": CPU, memory, disk, network */
#define OMEGA_REPORT_SEC_APPLICATION 4u  /* "application_performance": latency histograms */
#define OMEGA_REPORT_SEC_ERRORS      8u  /* "error_analysis": alert history */
#define OMEGA_REPORT_SEC_TRENDS      16u /* "trend_analysis": slopes and forecasts */
#define OMEGA_REPORT_SEC_ALL         31u

/* Longest period a report may cover. */
#define OMEGA_REPORT_MAX_RANGE_MS (400LL * 24 * 3600 * 1000)

/* What to report. */
typedef struct omega_report_request {
    omega_report_type_t type;     /* period kind */
    int64_t from_ms;              /* start of the period, Unix ms (inclusive) */
    int64_t to_ms;                /* end of the period, Unix ms (exclusive for samples) */
    unsigned sections;            /* OMEGA_REPORT_SEC_* bits, never 0 */
    omega_report_format_t format; /* output format */
    int async;                    /* 1: {"async":true}, render in the background
                                     (omega_report_submit) */
} omega_report_request_t;

/* Parse a request body (len bytes of JSON) `{"type","from","to","sections","format",
 * "async"}` (async a boolean, default false):
 * type is required; from/to are RFC 3339 or Unix seconds (string or number), required for
 * "custom" and, for the other types, both given or both absent (absent: the last complete
 * period before now_ms, omega_report_default_period()); sections defaults to cfg's
 * reports.include_metrics (all five when cfg is NULL); format defaults to "pdf".
 * Errors: OMEGA_EINVAL with err->path naming the field ("" when the body is not a JSON
 * object: err->line/column then say where) and err->message saying why: unknown fields,
 * wrong types, unknown names, from >= to, a period longer than OMEGA_REPORT_MAX_RANGE_MS,
 * times outside year 1970..9999. */
int omega_report_request_parse(const char *json, size_t len, const omega_config_t *cfg,
                               int64_t now_ms, omega_report_request_t *out, omega_error_t *err);

/* The last complete daily/weekly/monthly period ending at or before now_ms, in the local
 * time zone (the one reports.scheduling uses): yesterday 00:00 to today 00:00, last Monday
 * 00:00 week, last calendar month. For OMEGA_REPORT_CUSTOM: the 24 hours before now_ms. */
void omega_report_default_period(omega_report_type_t type, int64_t now_ms, int64_t *from_ms,
                                 int64_t *to_ms);

/* Names: "daily".., "pdf".., "system_resources"... (static strings; NULL when out of range).
 * omega_report_section_name takes one OMEGA_REPORT_SEC_* bit. */
const char *omega_report_type_name(omega_report_type_t t);
const char *omega_report_format_name(omega_report_format_t f);
const char *omega_report_section_name(unsigned bit);
/* Content-Type and file extension of a format (static strings). */
const char *omega_report_content_type(omega_report_format_t f);
const char *omega_report_extension(omega_report_format_t f);

/* The download name "omega-<type>-<from>-<to>.<ext>" with UTC times as 20261125T000000Z
 * into buf (>= 64 bytes). Returns buf. */
char *omega_report_filename(const omega_report_request_t *req, char *buf, size_t len);

/* Where report data comes from. All borrowed for the call; NULL parts make their sections
 * say the source is not running. */
typedef struct omega_report_sources {
    omega_tsdb_t *db;                       /* the store (required) */
    struct omega_alert_engine *alerts;      /* alert history, or NULL */
    struct omega_analytics *analytics;      /* jobs, or NULL */
    char *(*mask)(void *ctx, const char *); /* PII masker applied to every label value, rule
                                               name, alert message and job text (auth's
                                               omega_pii_mask_cb; malloc'd result), or NULL */
    void *mask_ctx;                         /* passed to mask */
    const char *title;                      /* report title (copied); NULL = "OMEGA monitor" */
    int64_t query_timeout_ms;               /* per-query deadline; 0 = 60 s */
} omega_report_sources_t;

/* Build and render the report req asks for from src. *out gets the file (malloc'd, free()
 * it; NUL-terminated for the text formats) and *out_len its size. Sections without data
 * say "no data in this range" rather than failing. Bounded whatever the period: at most
 * 300 points per chart series, 8 series per chart, 200 rows per table (docs/reports.md).
 * Errors: OMEGA_EINVAL (req out of range), OMEGA_ETIMEDOUT (a query passed its deadline),
 * OMEGA_EIO (store or renderer failure); err says which. */
int omega_report_generate(const omega_report_sources_t *src, const omega_report_request_t *req,
                          char **out, size_t *out_len, omega_error_t *err);

/* ---- The report service: background rendering, stored reports, schedules ---- */

typedef struct omega_report_service omega_report_service_t;

/* Service options; start from omega_report_service_options_init(). */
typedef struct omega_report_service_options {
    omega_tsdb_t *db;                           /* the store (borrowed; outlives the service) */
    struct omega_alert_engine *alerts;          /* alert history, or NULL (borrowed) */
    struct omega_analytics *analytics;          /* jobs, or NULL (borrowed) */
    char *(*mask)(void *ctx, const char *);     /* PII masker, used while the current config's
                                                   security.privacy_settings.data_masking is on */
    void *mask_ctx;                             /* passed to mask */
    const omega_config_t *(*config)(void *ctx); /* the current config (reports.*, privacy);
                                                   called on any thread; NULL = defaults */
    void *config_ctx;                           /* passed to config */
    const char *output_dir; /* where rendered reports are kept (copied; created 0700) */
    size_t max_queued;      /* background reports waiting at once (16) */
    int64_t keep_ms;        /* stored reports older than this are deleted (30 days) */
} omega_report_service_options_t;

void omega_report_service_options_init(omega_report_service_options_t *o);

/* Create the output directory, mark reports left unfinished by a previous run as failed and
 * load the schedules stored in db. No thread runs yet. NULL with err on failure. Free with
 * omega_report_service_destroy(). */
omega_report_service_t *omega_report_service_create(const omega_report_service_options_t *o,
                                                    omega_error_t *err);
/* Start the service thread: background reports one at a time, then every minute the
 * schedules due in that minute and once an hour the clean-up of old reports. Returns 0 or
 * OMEGA_EIO. */
int omega_report_service_start(omega_report_service_t *s);
/* Stop the thread (a report being drawn is finished first; queued ones stay "pending" and
 * are marked failed at the next create). Idempotent. */
void omega_report_service_stop(omega_report_service_t *s);
/* Stop and free. Accepts NULL. Before the store and the modules it reads are closed. */
void omega_report_service_destroy(omega_report_service_t *s);

/* Queue req for background rendering by owner (a user name, recorded). id (33 bytes) gets
 * the new report's id (32 hex digits). Errors: OMEGA_EINVAL (req out of range, as for
 * omega_report_generate), OMEGA_EAGAIN (max_queued reports are waiting), OMEGA_EIO. */
int omega_report_submit(omega_report_service_t *s, const omega_report_request_t *req,
                        const char *owner, char id[33], omega_error_t *err);

/* The stored report id: *meta gets its record as JSON {"id","status":"pending|running|done|
 * failed","type","format","sections","from","to","created_at","finished_at","filename",
 * "bytes","owner","schedule","error"} (malloc'd); when status is "done" and data is
 * non-NULL, *data gets the file (malloc'd) and *len its size, else *data is NULL.
 * OMEGA_ENOENT for an unknown or malformed id, OMEGA_EIO when the file cannot be read. */
int omega_report_get(omega_report_service_t *s, const char *id, char **meta, char **data,
                     size_t *len, omega_error_t *err);

/* Schedules: {"id","name","type","at","sections","formats","period","builtin","next_run",
 * "last_run","last_reports"}. "at" is "HH:MM", "<weekday> HH:MM", "<1st..31st> HH:MM" or a
 * 5-field cron expression (local time); absent = the config's reports.scheduling entry for
 * the type (custom: custom_schedule). "period" (custom only) is the length of the period
 * ending at the run (default "24h", at most 400 days). "formats" defaults to
 * reports.export_formats, "sections" to reports.include_metrics. The config's own schedules
 * (one per reports.report_types entry) are listed as "builtin-<type>" and cannot be
 * deleted here. Rendered files are stored; e-mail delivery is not done (docs/reports.md). */

/* Create a schedule from JSON (len bytes). *out (if non-NULL) gets it as JSON. Errors:
 * OMEGA_EINVAL (err->path names the field), OMEGA_E2BIG (100 schedules exist), OMEGA_EIO. */
int omega_report_schedule_create(omega_report_service_t *s, const char *json, size_t len,
                                 char **out, omega_error_t *err);
/* {"items":[...]}: the built-in schedules, then the created ones by creation. */
int omega_report_schedule_list(omega_report_service_t *s, char **out, omega_error_t *err);
/* Delete created schedule id: OMEGA_ENOENT, OMEGA_EPERM (built-in), OMEGA_EIO. */
int omega_report_schedule_delete(omega_report_service_t *s, const char *id, omega_error_t *err);
/* Render, on the calling thread, every report of every schedule due in the local minute
 * holding now_ms that has not run in that minute (the service thread calls this each
 * minute; tests pass a fake clock). Returns the number of reports stored. */
size_t omega_report_schedule_tick(omega_report_service_t *s, int64_t now_ms);

/* Release the process-wide font caches that cairo and fontconfig keep after the first PDF
 * (so leak checkers see a clean exit). Call once at process exit, when no report is being
 * rendered on any thread; a later PDF would load them again. */
void omega_report_cleanup(void);

#endif
