/* SPDX-License-Identifier: Apache-2.0 */
/* The configuration document (module config/): the effective settings as a plain struct,
 * loading and validating a JSON file (every problem reported with line and column),
 * OMEGA_* environment overrides, and exports of the document, its schema and its reference
 * documentation. Reading config lives here; acting on it belongs to the other modules.
 *
 * Conventions: field names are the JSON names. Durations are int64_t milliseconds and carry
 * an `_ms` suffix; sizes are uint64_t bytes; enumerations are strings holding one of the
 * allowed values (validated, so comparing with strcmp is enough); strings are never NULL.
 * Thread rules: a loaded omega_config_t is never changed by this module afterwards, so any
 * number of threads may read it. To change settings, load a new one and swap pointers. */
#ifndef OMEGA_CONFIG_H
#define OMEGA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "omega/log.h"

/* A list of strings owned by the config (items NULL when n == 0). */
typedef struct omega_strlist {
    char **items; /* n NUL-terminated strings */
    size_t n;     /* number of items */
} omega_strlist_t;

/* One notification template (specification: NotificationTemplate). */
typedef struct omega_config_template {
    char *name;                      /* the key in notification_templates */
    char *subject;                   /* subject line, may contain {placeholders} */
    char *body;                      /* message body, may contain {placeholders} */
    omega_strlist_t severity_levels; /* subset of warning|critical|emergency */
} omega_config_template_t;

/* The notification_templates map, in document order (built-in templates first). */
typedef struct omega_config_templates {
    omega_config_template_t *items; /* n templates */
    size_t n;                       /* number of templates */
} omega_config_templates_t;

typedef struct omega_config_server {
    char *listen;             /* "host:port" of the HTTP/WebSocket listener */
    char *data_dir;           /* storage directory (relative to the working directory) */
    char *web_root;           /* dashboard files; "" = the built web/ next to the executable */
    char *log_level;          /* "error" | "warn" | "info" | "debug" */
    char *log_file;           /* also log to this file; "" = stderr only */
    uint64_t max_body_size;   /* bytes; larger request bodies get 413 */
    int64_t worker_threads;   /* threads for queries and ingestion */
    int64_t live_max_clients; /* concurrent live (WebSocket) clients */
    int64_t live_queue_limit; /* frames queued per live client; the oldest go first */

    /* WebSocket keep-alive of live clients, counted from the last pong (or the upgrade). */
    int64_t live_ping_interval_ms; /* send a ping after this long */
    int64_t live_idle_timeout_ms;  /* close the connection after this long */
    struct {
        bool enabled;       /* serve HTTPS/WSS */
        char *cert;         /* PEM certificate chain file */
        char *key;          /* PEM private key file */
        char *client_ca;    /* PEM CA bundle; non-empty = require client certificates */
        bool redirect_http; /* answer plain HTTP with a redirect to HTTPS */
    } tls;
} omega_config_server_t;

typedef struct omega_config_storage {
    int64_t out_of_order_window_ms; /* samples older than now - this are refused; 0 = no limit */
    int64_t max_series;             /* series (cardinality) limit; 0 = unlimited */
    int64_t chunk_max_samples;      /* samples per chunk before it is sealed */
    int64_t chunk_max_age_ms;       /* age at which an open chunk is sealed */
    char *sync_policy;              /* "always" | "batch" | "none": WAL fsync before ack */
    uint64_t block_cache_size;      /* bytes of engine block cache */
    char *backup_dir;               /* "" = <data_dir>/backups */
} omega_config_storage_t;

typedef struct omega_config_performance_monitor {
    bool enable_real_time_monitoring;       /* collect and push live metrics */
    int64_t metrics_collection_interval_ms; /* self-metrics collection period */
    bool enable_memory_leak_detection;      /* leak analysis on memory profiles */
    bool enable_performance_profiling;      /* accept function profiles */
    bool enable_execution_tracing;          /* accept execution traces */
    struct {
        int64_t compilation_time_ms; /* a compilation longer than this alerts */
        double memory_usage;         /* percent */
        double cpu_usage;            /* percent */
        double disk_usage;           /* percent */
        int64_t response_time_ms;    /* query/API response time */
    } performance_thresholds;
    struct {
        bool email_alerts;         /* performance alerts go to e-mail channels */
        bool webhook_alerts;       /* ... to webhook channels */
        bool log_alerts;           /* ... to the log */
        int64_t alert_cooldown_ms; /* minimum gap between repeats of one alert */
    } alert_configurations;
    struct {
        int64_t retention_days;     /* days of performance data kept */
        bool compression_enabled;   /* compress stored blocks */
        int64_t backup_interval_ms; /* period of automatic backups; 0 = none */
        uint64_t max_storage_size;  /* bytes; writes get 507 beyond it */
    } storage_configuration;
} omega_config_performance_monitor_t;

typedef struct omega_config_system_monitor {
    int64_t monitoring_interval_ms; /* system collector period */
    bool enable_cpu_monitoring;     /* collect CPU metrics */
    bool enable_memory_monitoring;  /* collect memory metrics */
    bool enable_disk_monitoring;    /* collect disk metrics */
    bool enable_network_monitoring; /* collect network metrics */
    bool enable_process_monitoring; /* collect per-process metrics */
    struct {
        double cpu_critical;            /* percent */
        double memory_critical;         /* percent */
        double disk_critical;           /* percent */
        double network_critical;        /* Mbit/s per interface */
        int64_t process_count_critical; /* processes */
    } system_thresholds;
    struct {
        bool include_omega_processes;            /* always report omega* processes */
        bool include_compiler_processes;         /* always report compilers */
        bool exclude_system_processes;           /* skip kernel threads and system daemons */
        omega_strlist_t custom_process_patterns; /* POSIX extended regexes on the command */
    } process_filters;
    omega_strlist_t probe_targets; /* "host:port" TCP reachability probes */
} omega_config_system_monitor_t;

typedef struct omega_config_application_monitor {
    bool enable_function_profiling; /* accept function profiles */
    bool enable_memory_profiling;   /* accept memory profiles */
    bool enable_execution_tracing;  /* accept traces */
    double sampling_rate;           /* fraction 0..1 of calls sampled by clients */
    int64_t profiling_interval_ms;  /* client profile flush period */
    int64_t trace_depth_limit;      /* deepest call stack recorded */
    struct {
        bool allocation_tracking;    /* record allocations */
        bool deallocation_tracking;  /* record frees */
        bool leak_detection;         /* report unfreed blocks at exit */
        bool usage_pattern_analysis; /* size histograms and rates */
    } memory_profiling_config;
    struct {
        bool call_count_tracking;      /* count calls */
        bool execution_time_tracking;  /* time calls */
        bool recursive_call_detection; /* flag recursion */
        bool hotspot_identification;   /* rank functions by self time */
    } function_profiling_config;
} omega_config_application_monitor_t;

typedef struct omega_config_alerting {
    bool enable_email_alerts;       /* deliver to e-mail channels */
    bool enable_webhook_alerts;     /* deliver to webhook channels */
    bool enable_sms_alerts;         /* deliver to SMS channels */
    int64_t evaluation_interval_ms; /* rule evaluation period */
    struct {
        int64_t compilation_time_warning_ms;  /* < critical */
        int64_t compilation_time_critical_ms; /* compilation duration */
        double memory_usage_warning;          /* percent, < critical */
        double memory_usage_critical;         /* percent */
        double cpu_usage_warning;             /* percent, < critical */
        double cpu_usage_critical;            /* percent */
    } alert_thresholds;
    struct {
        omega_strlist_t email_recipients; /* e-mail addresses */
        omega_strlist_t webhook_urls;     /* http(s) URLs */
        omega_strlist_t sms_numbers;      /* E.164 numbers "+15551234567" */
    } notification_channels;
    struct {
        int64_t performance_alerts_ms; /* repeat gap for performance alerts */
        int64_t system_alerts_ms;      /* repeat gap for system alerts */
        int64_t application_alerts_ms; /* repeat gap for application alerts */
    } alert_cooldowns;
} omega_config_alerting_t;

typedef struct omega_config_retention {
    int64_t raw_data_retention_ms;           /* raw samples kept this long */
    int64_t hourly_aggregates_retention_ms;  /* >= raw */
    int64_t daily_aggregates_retention_ms;   /* >= hourly */
    int64_t weekly_aggregates_retention_ms;  /* >= daily */
    int64_t monthly_aggregates_retention_ms; /* >= weekly */
    struct {
        bool enable_compression;       /* compress aged blocks */
        int64_t compression_threshold; /* records per block before compressing */
        double compression_ratio;      /* target size fraction, 0 < x <= 1 */
    } compression_settings;
    struct {
        bool enable_archiving;       /* export expired data before deletion */
        int64_t archive_interval_ms; /* archive period */
        char *archive_location;      /* directory; "" = <data_dir>/archive */
        char *archive_format;        /* "compressed_json" | "json" | "csv" */
    } archive_settings;
} omega_config_retention_t;

typedef struct omega_config_reports {
    omega_strlist_t report_types;    /* subset of daily|weekly|monthly|custom */
    omega_strlist_t include_metrics; /* subset of the five metric groups */
    omega_strlist_t export_formats;  /* subset of pdf|html|csv|json */
    struct {
        char *daily_reports;   /* "HH:MM" local time */
        char *weekly_reports;  /* "monday HH:MM" */
        char *monthly_reports; /* "1st HH:MM" .. "31st HH:MM" */
        char *custom_schedule; /* 5-field cron expression; "" = off */
    } scheduling;
    omega_strlist_t recipients; /* e-mail addresses */
    char *output_dir;           /* "" = <data_dir>/reports */
} omega_config_reports_t;

typedef struct omega_config_security {
    bool enable_encryption;           /* encrypt sensitive values at rest */
    char *encryption_algorithm;       /* "AES-256-GCM" */
    int64_t key_rotation_interval_ms; /* data key rotation period */
    char *master_key_file;            /* master key file; "" = <data_dir>/master.key */
    int64_t session_ttl_ms;           /* lifetime of login sessions (JWT) */
    struct {
        bool enable_rbac;             /* enforce roles on every endpoint */
        char *default_role;           /* role of new users */
        omega_strlist_t admin_roles;  /* roles with admin rights */
        omega_strlist_t viewer_roles; /* roles with read-only rights */
    } access_control;
    struct {
        bool enable_audit_log;          /* write the audit log */
        int64_t audit_log_retention_ms; /* audit entries kept this long */
        omega_strlist_t audit_events;   /* subset of access|modification|deletion|export */
    } audit_logging;
    struct {
        bool enable_pii_detection;  /* scan label values for PII */
        bool data_masking;          /* mask detected PII in responses */
        char *retention_compliance; /* "gdpr" | "ccpa" | "hipaa" | "none" */
        bool user_consent_required; /* users accept data use at first login */
        /* label names whose values are free text: PII in them is masked at ingest */
        omega_strlist_t free_text_labels;
    } privacy_settings;
    /* POSIX EREs matched against whole metric names: those series are stored encrypted */
    omega_strlist_t sensitive_metrics;
} omega_config_security_t;

/* The whole effective configuration. Create with omega_config_create_default() or a
 * load function, free with omega_config_destroy(). */
typedef struct omega_config {
    omega_config_server_t server;
    omega_config_storage_t storage;
    omega_config_performance_monitor_t performance_monitor;
    omega_config_system_monitor_t system_monitor;
    omega_config_application_monitor_t application_monitor;
    omega_config_alerting_t alerting;
    omega_config_templates_t notification_templates;
    omega_config_retention_t retention;
    omega_config_reports_t reports;
    omega_config_security_t security;
} omega_config_t;

/* Largest document accepted by the load functions (4 MiB). */
#define OMEGA_CONFIG_MAX_BYTES (4u * 1024u * 1024u)

/* The built-in defaults, exactly as listed in docs/configuration.md. Never NULL (aborts on
 * out-of-memory). The caller frees the result with omega_config_destroy(). */
omega_config_t *omega_config_create_default(void);

/* Free cfg and everything it owns. Accepts NULL. */
void omega_config_destroy(omega_config_t *cfg);

/* Receives one problem. source: file name, the `source` given to load_string, or "env".
 * line/column: 1-based position (columns count characters) of the offending key (object
 * member) or element (array item); 0/0 when there is no position (environment, unreadable
 * file). path: dotted JSON path with [index] for array items
 * ("system_monitor.process_filters.custom_process_patterns[1]"), the environment
 * variable's name for "env", or "(document)" for problems of the whole text. message:
 * one sentence without a trailing newline. All strings are valid only during the call. */
typedef void (*omega_config_diag_fn)(void *ctx, const char *source, int line, int column,
                                     const char *path, const char *message);

/* Parse and validate the JSON document text[0..len) on top of the defaults. Every problem
 * is reported through diag (may be NULL), in document order, then cross-field rules; after
 * 100 problems the rest are counted in one final message. source names the text in
 * reports (NULL = "<string>"). Returns 0 and a new config in *out (free with
 * omega_config_destroy), or with *out = NULL (nothing half-applied):
 *   OMEGA_EINVAL  the document is not valid (not UTF-8, bad JSON, bad values),
 *   OMEGA_E2BIG   len > OMEGA_CONFIG_MAX_BYTES. */
int omega_config_load_string(const char *text, size_t len, const char *source,
                             omega_config_diag_fn diag, void *ctx, omega_config_t **out);

/* Read the file at path and load it as omega_config_load_string() does, with the path as
 * source. Additionally OMEGA_EIO (reported through diag too) when the file cannot be read
 * and OMEGA_E2BIG when it is larger than OMEGA_CONFIG_MAX_BYTES. */
int omega_config_load_file(const char *path, omega_config_diag_fn diag, void *ctx,
                           omega_config_t **out);

/* Apply OMEGA_<PATH> environment overrides from envp (NULL-terminated "NAME=value" array,
 * e.g. `environ`) to cfg. The variable for a field is "OMEGA_" + its dotted path uppercased
 * with '.' replaced by '_' (OMEGA_SERVER_LISTEN, OMEGA_SECURITY_ACCESS_CONTROL_DEFAULT_ROLE).
 * Values are read as the field's type: booleans true/false/1/0, lists comma-separated
 * (surrounding blanks trimmed, "" = empty list), durations and sizes as in JSON strings.
 * notification_templates cannot be set this way. Other OMEGA_* variables (OMEGA_CONFIG,
 * OMEGA_ADMIN_PASSWORD, OMEGA_SOURCE_DIR, OMEGA_BUILD_DIR, OMEGA_TEST_*, ...) are ignored.
 * Problems are reported with source "env", line/column 0 and the variable name as path.
 * All or nothing: returns 0 with every override applied, or OMEGA_EINVAL with cfg
 * untouched. Not thread-safe with readers of cfg: apply before sharing cfg. */
int omega_config_apply_env(omega_config_t *cfg, char *const *envp, omega_config_diag_fn diag,
                           void *ctx);

/* What `omega-monitor --validate-config FILE` runs: load path and print one line per
 * problem to out, "FILE:LINE:COLUMN: dotted.json.path: message". Returns the exit code:
 * 0 valid, 1 invalid (including JSON syntax errors), 2 unreadable (missing, not a regular
 * readable file, larger than OMEGA_CONFIG_MAX_BYTES, or not UTF-8 text). */
int omega_config_validate_file(const char *path, FILE *out);

/* The whole effective document as pretty-printed JSON text, every field present, in the
 * order of docs/configuration.md. Durations are JSON numbers in the field's unit (seconds
 * or milliseconds, fractional when needed); sizes are numbers of bytes. Loading the text
 * again gives an equal config. With mask_secrets non-zero, non-empty values of fields
 * flagged secret are written as "********". Returns malloc'd text (free with free()). */
char *omega_config_to_json(const omega_config_t *cfg, int mask_secrets);

/* The schema table as JSON for the admin panel: {"fields":[{"path","type","unit","help",
 * "default","env",...range and allowed values...}],"rules":[...]}. malloc'd; free(). */
char *omega_config_schema_json(void);

/* Write the reference documentation (the contents of docs/configuration.md) to out.
 * Returns 0 or OMEGA_EIO when writing failed. */
int omega_config_write_markdown(FILE *out);

/* 1 when a and b hold the same settings (strings, lists and templates compared by value),
 * else 0. */
int omega_config_equal(const omega_config_t *a, const omega_config_t *b);

/* cfg->server.log_level as a log level (a loaded config always holds a valid one). */
omega_log_level_t omega_config_log_level(const omega_config_t *cfg);

/* The template named name, or NULL. Borrowed: valid as long as cfg. */
const omega_config_template_t *omega_config_template_find(const omega_config_t *cfg,
                                                          const char *name);

/* The placeholders of notification texts, NULL-terminated: the specification's
 * (metric_name ... recommended_action) then labels, alert, status and dashboard_url. The one
 * list behind the loader's notification_templates check, the alert module's channel
 * templates and docs/configuration.md. */
extern const char *const omega_template_placeholders[];

/* Check a notification text: "{{" and "}}" are literal braces, every other brace must
 * enclose a name of omega_template_placeholders or of extra (NULL-terminated, may be NULL:
 * e.g. an SMS body's "to" and "message"). Returns 0, or -1 with the reason (the byte
 * offset of an unbalanced brace, or the unknown name and the known ones) in msg. Any
 * thread. */
int omega_template_check(const char *text, const char *const *extra, char *msg, size_t msglen);

#endif
