/* SPDX-License-Identifier: Apache-2.0 */
/* The schema table: every configuration field defined once, with its JSON path, type,
 * storage offset, range, default, unit and help. The loader, the environment overrides,
 * the exports and the documentation generator all read it; none of them lists fields. */
#include "config_int.h"

#include <string.h>

#define OFF(m)  offsetof(omega_config_t, m)
#define SEC(n)  ((n)*1000.0)
#define MINS(n) ((n)*60000.0)
#define HOUR(n) ((n)*3600000.0)
#define DAY(n)  ((n)*86400000.0)
#define YEAR(n) ((n)*31536000000.0)
#define KIB(n)  ((n)*1024.0)
#define MIB(n)  ((n)*1048576.0)
#define GIB(n)  ((n)*1073741824.0)
#define TIB(n)  ((n)*1099511627776.0)

/* Row builders. The JSON path is the member name spelled out, so they cannot disagree;
 * durations store `<name>_ms`. */
#define OBJ(p, h)                                                                                  \
    {                                                                                              \
        .path = p, .type = CFG_OBJECT, .help = h                                                   \
    }
#define BOOL(m, d, h)                                                                              \
    {                                                                                              \
        .path = #m, .type = CFG_BOOL, .offset = OFF(m), .def = d, .help = h                        \
    }
#define INT(m, lo, hi, d, u, h)                                                                    \
    {                                                                                              \
        .path = #m, .type = CFG_INT, .offset = OFF(m), .min = lo, .max = hi, .def = d, .unit = u,  \
        .help = h                                                                                  \
    }
#define DBL(m, lo, hi, d, u, h)                                                                    \
    {                                                                                              \
        .path = #m, .type = CFG_DOUBLE, .offset = OFF(m), .min = lo, .max = hi, .def = d,          \
        .unit = u, .help = h                                                                       \
    }
#define DUR(m, lo, hi, d, u, h)                                                                    \
    {                                                                                              \
        .path = #m, .type = CFG_DURATION, .offset = OFF(m##_ms), .min = lo, .max = hi, .def = d,   \
        .unit = u, .help = h                                                                       \
    }
#define SIZE(m, lo, hi, d, h)                                                                      \
    {                                                                                              \
        .path = #m, .type = CFG_SIZE, .offset = OFF(m), .min = lo, .max = hi, .def = d,            \
        .unit = "bytes", .help = h                                                                 \
    }
#define STR(m, lo, hi, d, chk, h)                                                                  \
    {                                                                                              \
        .path = #m, .type = CFG_STRING, .offset = OFF(m), .min = lo, .max = hi, .def = d,          \
        .check = chk, .help = h                                                                    \
    }
#define ENUM(m, vals, d, h)                                                                        \
    {                                                                                              \
        .path = #m, .type = CFG_ENUM, .offset = OFF(m), .def = d, .values = vals, .help = h        \
    }
#define SLIST(m, maxn, d, chk, h)                                                                  \
    {                                                                                              \
        .path = #m, .type = CFG_STRLIST, .offset = OFF(m), .max = maxn, .def = d, .check = chk,    \
        .help = h                                                                                  \
    }
#define ELIST(m, vals, d, h)                                                                       \
    {                                                                                              \
        .path = #m, .type = CFG_ENUMLIST, .offset = OFF(m), .def = d, .values = vals, .help = h    \
    }

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const sync_policies[] = {"always", "batch", "none", NULL};
static const char *const archive_formats[] = {"compressed_json", "json", "csv", NULL};
static const char *const report_types[] = {"daily", "weekly", "monthly", "custom", NULL};
static const char *const metric_groups[] = {"compilation_performance", "system_resources",
                                            "application_performance", "error_analysis",
                                            "trend_analysis",          NULL};
static const char *const export_formats[] = {"pdf", "html", "csv", "json", NULL};
static const char *const algorithms[] = {"AES-256-GCM", NULL};
static const char *const roles[] = {"viewer", "developer", "analyst", "admin", "superuser", NULL};
static const char *const audit_events[] = {"access", "modification", "deletion", "export", NULL};
static const char *const compliance[] = {"gdpr", "ccpa", "hipaa", "none", NULL};
const char *const cfg_severities[] = {"warning", "critical", "emergency", NULL};
/* The specification's placeholders, then the alert engine's extras (config.h). */
const char *const omega_template_placeholders[] = {
    "metric_name",        "current_value", "threshold", "severity", "timestamp",     "description",
    "recommended_action", "labels",        "alert",     "status",   "dashboard_url", NULL};

const cfg_field_t cfg_fields[] = {
    OBJ("server", "The HTTP/WebSocket server: address, files, limits and TLS."),
    STR(server.listen, 3, 262, "127.0.0.1:8080", &cfg_check_hostport,
        "Address to listen on, \"host:port\": an IPv4 literal, a bracketed IPv6 literal "
        "(\"[::1]:8080\") or a host name, and a port 1-65535. Use 0.0.0.0 for all interfaces."),
    STR(server.data_dir, 1, CFG_STR_MAX, "data", NULL,
        "Directory holding the time-series store and every other persistent file; created "
        "when missing. Relative paths are relative to the working directory."),
    STR(server.web_root, 0, CFG_STR_MAX, "", NULL,
        "Directory of the dashboard files. Empty means the built web/ directory located "
        "next to the executable (never the working directory)."),
    ENUM(server.log_level, log_levels, "info",
         "Least severe log level written: error (someone must act), warn (degraded), info "
         "(lifecycle) or debug."),
    STR(server.log_file, 0, CFG_STR_MAX, "", NULL,
        "Also append the log to this file. Empty means standard error only."),
    SIZE(server.max_body_size, KIB(1), GIB(1), "16MiB",
         "Largest accepted request body; larger requests are answered 413."),
    INT(server.worker_threads, 1, 64, "2", "threads",
        "Worker threads for queries, ingestion and report rendering."),
    INT(server.live_max_clients, 1, 65536, "256", "clients",
        "Most live (WebSocket) clients connected at once; more are refused."),
    INT(server.live_queue_limit, 1, 65536, "64", "frames",
        "Frames waiting to be sent to one live client. When a new frame finds the queue full "
        "the oldest queued frame is dropped and the client's next message is a lag frame "
        "{\"type\":\"lag\",\"dropped\":N}; the socket stays open. Only a client whose queue "
        "overflows after it has taken no frame for 10 s, with its socket buffers full, is "
        "disconnected (it stopped reading). Ingestion and other clients never wait."),
    DUR(server.live_ping_interval, SEC(1), HOUR(1), "30s", "s",
        "A live client that has not answered a WebSocket ping (or connected) for this long is "
        "sent a ping; browsers answer pings by themselves. Whole seconds (rounded up)."),
    DUR(server.live_idle_timeout, SEC(2), HOUR(1), "60s", "s",
        "A live client that has not answered a ping (or connected) for this long is "
        "disconnected: a dead peer or one that stopped reading. Must be greater than "
        "live_ping_interval. Whole seconds (rounded up). Sockets that never authenticate are "
        "closed after 5 s regardless."),
    OBJ("server.tls", "HTTPS and WSS. Certificate and key are PEM files."),
    BOOL(server.tls.enabled, "false", "Serve HTTPS/WSS instead of plain HTTP/WS."),
    STR(server.tls.cert, 0, CFG_STR_MAX, "", NULL,
        "Certificate chain file (PEM). Required when tls.enabled is true."),
    STR(server.tls.key, 0, CFG_STR_MAX, "", NULL,
        "Private key file (PEM). Required when tls.enabled is true. This is a path, not the "
        "key itself; keep the file readable by the server's user only."),
    STR(server.tls.client_ca, 0, CFG_STR_MAX, "", NULL,
        "CA bundle (PEM). When set, clients must present a certificate signed by it."),
    BOOL(server.tls.redirect_http, "false", "Answer plain-HTTP requests with a redirect to HTTPS."),

    OBJ("storage", "Tuning of the time-series store (not part of the specification)."),
    DUR(storage.out_of_order_window, 0, DAY(365), "1h", "s",
        "Samples older than now minus this window are refused (400 naming the line); newer "
        "out-of-order and duplicate samples are accepted, the last write winning. 0 means no "
        "limit."),
    INT(storage.max_series, 0, 1000000000, "1000000", "series",
        "Most distinct series stored; writes creating more are refused. 0 means unlimited."),
    INT(storage.chunk_max_samples, 16, 65535, "480", "samples",
        "Samples per chunk before the chunk is sealed and compressed."),
    DUR(storage.chunk_max_age, MINS(1), DAY(1), "2h", "s",
        "An open chunk older than this is sealed even when not full."),
    ENUM(storage.sync_policy, sync_policies, "always",
         "When the write-ahead log is flushed to disk: always (before every acknowledgement, "
         "survives power loss), batch (once per write batch group), none (left to the OS; "
         "survives a crash of the process only)."),
    SIZE(storage.block_cache_size, MIB(1), TIB(1), "64MiB",
         "Memory for the storage engine's block cache."),
    STR(storage.backup_dir, 0, CFG_STR_MAX, "", NULL,
        "Directory for backups; empty means <data_dir>/backups."),

    OBJ("performance_monitor", "PerformanceMonitorConfig: the central monitoring coordinator."),
    BOOL(performance_monitor.enable_real_time_monitoring, "true",
         "Collect metrics continuously and stream them to live dashboards."),
    DUR(performance_monitor.metrics_collection_interval, 100, HOUR(1), "1000", "ms",
        "Period of metric collection and aggregation."),
    BOOL(performance_monitor.enable_memory_leak_detection, "true",
         "Analyse memory profiles for allocations that are never freed."),
    BOOL(performance_monitor.enable_performance_profiling, "true",
         "Accept and store function performance profiles."),
    BOOL(performance_monitor.enable_execution_tracing, "true",
         "Accept and store execution traces."),
    OBJ("performance_monitor.performance_thresholds",
        "Levels above which a performance alert is raised."),
    DUR(performance_monitor.performance_thresholds.compilation_time, SEC(1), DAY(7), "300", "s",
        "A compilation job running longer than this."),
    DBL(performance_monitor.performance_thresholds.memory_usage, 0, 100, "80", "%",
        "Memory in use, percent of total."),
    DBL(performance_monitor.performance_thresholds.cpu_usage, 0, 100, "90", "%",
        "CPU busy time, percent."),
    DBL(performance_monitor.performance_thresholds.disk_usage, 0, 100, "85", "%",
        "Space used on a monitored file system, percent."),
    DUR(performance_monitor.performance_thresholds.response_time, 1, HOUR(1), "1000", "ms",
        "Response time of an operation."),
    OBJ("performance_monitor.alert_configurations",
        "Where performance alerts go and how often they repeat."),
    BOOL(performance_monitor.alert_configurations.email_alerts, "true",
         "Send performance alerts to the e-mail channels."),
    BOOL(performance_monitor.alert_configurations.webhook_alerts, "true",
         "Send performance alerts to the webhook channels."),
    BOOL(performance_monitor.alert_configurations.log_alerts, "true",
         "Write performance alerts to the log."),
    DUR(performance_monitor.alert_configurations.alert_cooldown, 0, DAY(7), "300", "s",
        "Least time between two notifications of the same alert."),
    OBJ("performance_monitor.storage_configuration", "Keeping performance data."),
    INT(performance_monitor.storage_configuration.retention_days, 1, 36500, "30", "days",
        "Days of performance data (jobs, profiles, traces) kept."),
    BOOL(performance_monitor.storage_configuration.compression_enabled, "true",
         "Compress stored data blocks."),
    DUR(performance_monitor.storage_configuration.backup_interval, 0, DAY(365), "86400", "s",
        "Period of automatic backups into storage.backup_dir. 0 means no automatic backups."),
    SIZE(performance_monitor.storage_configuration.max_storage_size, MIB(16), TIB(1024),
         "10737418240",
         "Most bytes the data directory may hold; writes beyond it are refused (507)."),

    OBJ("system_monitor", "SystemMonitorConfig: host resource collection."),
    DUR(system_monitor.monitoring_interval, 100, HOUR(1), "5000", "ms",
        "Period of the system collectors."),
    BOOL(system_monitor.enable_cpu_monitoring, "true", "Collect CPU usage and load."),
    BOOL(system_monitor.enable_memory_monitoring, "true", "Collect memory and swap usage."),
    BOOL(system_monitor.enable_disk_monitoring, "true", "Collect disk space and I/O throughput."),
    BOOL(system_monitor.enable_network_monitoring, "true",
         "Collect network throughput, errors and probe latency."),
    BOOL(system_monitor.enable_process_monitoring, "true",
         "Collect per-process CPU and memory for the processes selected by process_filters."),
    OBJ("system_monitor.system_thresholds", "Levels at which system health becomes critical."),
    DBL(system_monitor.system_thresholds.cpu_critical, 0, 100, "95", "%", "CPU busy, percent."),
    DBL(system_monitor.system_thresholds.memory_critical, 0, 100, "90", "%",
        "Memory in use, percent."),
    DBL(system_monitor.system_thresholds.disk_critical, 0, 100, "95", "%",
        "Space used on any monitored file system, percent."),
    DBL(system_monitor.system_thresholds.network_critical, 0, 1000000, "100", "Mbps",
        "Throughput of one interface, megabits per second."),
    INT(system_monitor.system_thresholds.process_count_critical, 1, 10000000, "1000", "processes",
        "Number of processes on the host."),
    OBJ("system_monitor.process_filters", "Which processes process monitoring reports."),
    BOOL(system_monitor.process_filters.include_omega_processes, "true",
         "Report OMEGA tool processes."),
    BOOL(system_monitor.process_filters.include_compiler_processes, "true",
         "Report compiler processes."),
    BOOL(system_monitor.process_filters.exclude_system_processes, "false",
         "Leave out kernel threads and system daemons."),
    SLIST(system_monitor.process_filters.custom_process_patterns, 256, "omega.*,compiler.*",
          &cfg_check_regex, "Also report processes whose command line matches any of these."),
    SLIST(system_monitor.probe_targets, 256, "", &cfg_check_hostport,
          "TCP endpoints (\"host:port\") whose reachability and connect latency are probed "
          "every monitoring_interval."),

    OBJ("application_monitor", "ApplicationMonitorConfig: profiling of instrumented programs."),
    BOOL(application_monitor.enable_function_profiling, "true",
         "Accept function profiles from instrumented programs."),
    BOOL(application_monitor.enable_memory_profiling, "true",
         "Accept memory profiles from instrumented programs."),
    BOOL(application_monitor.enable_execution_tracing, "true",
         "Accept execution traces from instrumented programs."),
    DBL(application_monitor.sampling_rate, 0, 1, "0.1", "ratio",
        "Fraction of calls the client library samples (0.1 = 10 %)."),
    DUR(application_monitor.profiling_interval, 10, HOUR(1), "100", "ms",
        "How often clients flush profiles to the server."),
    INT(application_monitor.trace_depth_limit, 1, 10000, "100", "frames",
        "Deepest call stack recorded in a trace."),
    OBJ("application_monitor.memory_profiling_config", "What memory profiling records."),
    BOOL(application_monitor.memory_profiling_config.allocation_tracking, "true",
         "Record allocations."),
    BOOL(application_monitor.memory_profiling_config.deallocation_tracking, "true",
         "Record frees."),
    BOOL(application_monitor.memory_profiling_config.leak_detection, "true",
         "Report blocks still allocated at exit."),
    BOOL(application_monitor.memory_profiling_config.usage_pattern_analysis, "true",
         "Keep allocation size histograms and rates."),
    OBJ("application_monitor.function_profiling_config", "What function profiling records."),
    BOOL(application_monitor.function_profiling_config.call_count_tracking, "true",
         "Count calls per function."),
    BOOL(application_monitor.function_profiling_config.execution_time_tracking, "true",
         "Time calls per function."),
    BOOL(application_monitor.function_profiling_config.recursive_call_detection, "true",
         "Flag recursive calls."),
    BOOL(application_monitor.function_profiling_config.hotspot_identification, "true",
         "Rank functions by their own (self) time."),

    OBJ("alerting", "AlertConfiguration: rule evaluation and notification channels."),
    BOOL(alerting.enable_email_alerts, "true", "Deliver notifications by e-mail."),
    BOOL(alerting.enable_webhook_alerts, "true", "Deliver notifications to webhooks."),
    BOOL(alerting.enable_sms_alerts, "false", "Deliver notifications by SMS."),
    DUR(alerting.evaluation_interval, 100, HOUR(1), "1000", "ms",
        "Period of alert rule evaluation (our extension)."),
    OBJ("alerting.alert_thresholds",
        "Warning and critical levels of the built-in alerts; each warning must be below its "
        "critical level."),
    DUR(alerting.alert_thresholds.compilation_time_warning, SEC(1), DAY(7), "180", "s",
        "Compilation duration that raises a warning."),
    DUR(alerting.alert_thresholds.compilation_time_critical, SEC(1), DAY(7), "300", "s",
        "Compilation duration that raises a critical alert."),
    DBL(alerting.alert_thresholds.memory_usage_warning, 0, 100, "70", "%",
        "Memory in use that raises a warning, percent."),
    DBL(alerting.alert_thresholds.memory_usage_critical, 0, 100, "85", "%",
        "Memory in use that raises a critical alert, percent."),
    DBL(alerting.alert_thresholds.cpu_usage_warning, 0, 100, "80", "%",
        "CPU busy that raises a warning, percent."),
    DBL(alerting.alert_thresholds.cpu_usage_critical, 0, 100, "95", "%",
        "CPU busy that raises a critical alert, percent."),
    OBJ("alerting.notification_channels", "Default recipients of the built-in alerts."),
    SLIST(alerting.notification_channels.email_recipients, 100, "", &cfg_check_email,
          "E-mail addresses."),
    SLIST(alerting.notification_channels.webhook_urls, 100, "", &cfg_check_url,
          "http:// or https:// URLs receiving a JSON POST per notification."),
    SLIST(alerting.notification_channels.sms_numbers, 100, "", &cfg_check_e164,
          "Phone numbers in E.164 form (\"+15551234567\")."),
    OBJ("alerting.alert_cooldowns", "Least time between repeats of one alert, per category."),
    DUR(alerting.alert_cooldowns.performance_alerts, 0, DAY(7), "300", "s", "Performance alerts."),
    DUR(alerting.alert_cooldowns.system_alerts, 0, DAY(7), "600", "s", "System health alerts."),
    DUR(alerting.alert_cooldowns.application_alerts, 0, DAY(7), "180", "s", "Application alerts."),

    {.path = "notification_templates",
     .type = CFG_TEMPLATES,
     .offset = OFF(notification_templates),
     .max = 64,
     .help = "NotificationTemplate map: template name -> {subject, body, severity_levels}. "
             "Named templates replace the built-in ones field by field; new names are added."},

    OBJ("retention", "RetentionPolicy: how long each resolution of data is kept."),
    DUR(retention.raw_data_retention, HOUR(1), YEAR(100), "86400", "s",
        "Raw samples are kept this long."),
    DUR(retention.hourly_aggregates_retention, HOUR(1), YEAR(100), "604800", "s",
        "Hourly aggregates; at least raw_data_retention."),
    DUR(retention.daily_aggregates_retention, HOUR(1), YEAR(100), "2592000", "s",
        "Daily aggregates; at least hourly_aggregates_retention."),
    DUR(retention.weekly_aggregates_retention, HOUR(1), YEAR(100), "31536000", "s",
        "Weekly aggregates; at least daily_aggregates_retention."),
    DUR(retention.monthly_aggregates_retention, HOUR(1), YEAR(100), "157680000", "s",
        "Monthly aggregates; at least weekly_aggregates_retention."),
    OBJ("retention.compression_settings", "Compression of aged data."),
    BOOL(retention.compression_settings.enable_compression, "true", "Compress aged blocks."),
    INT(retention.compression_settings.compression_threshold, 1, 1000000000, "1000", "records",
        "Records in a block before it is compressed."),
    {.path = "retention.compression_settings.compression_ratio",
     .type = CFG_DOUBLE,
     .offset = OFF(retention.compression_settings.compression_ratio),
     .min = 0,
     .max = 1,
     .def = "0.1",
     .unit = "ratio",
     .flags = CFG_MIN_EXCLUSIVE,
     .help = "Target compressed size as a fraction of the original (0.1 = 10 %)."},
    OBJ("retention.archive_settings",
        "Archiving expired data before deletion. Off by default: the specification's example "
        "location (/archive/omega-monitoring) is not writable on a default system."),
    BOOL(retention.archive_settings.enable_archiving, "false",
         "Write data to the archive before retention deletes it."),
    DUR(retention.archive_settings.archive_interval, HOUR(1), YEAR(100), "2592000", "s",
        "Period of archive runs."),
    STR(retention.archive_settings.archive_location, 0, CFG_STR_MAX, "", NULL,
        "Archive directory; empty means <data_dir>/archive."),
    ENUM(retention.archive_settings.archive_format, archive_formats, "compressed_json",
         "File format of archives: compressed_json (gzip), json or csv."),

    OBJ("reports", "ReportConfiguration: scheduled reports."),
    ELIST(reports.report_types, report_types, "daily,weekly,monthly,custom",
          "Reports produced on their schedules."),
    ELIST(reports.include_metrics, metric_groups,
          "compilation_performance,system_resources,application_performance,error_analysis,"
          "trend_analysis",
          "Sections included in each report."),
    ELIST(reports.export_formats, export_formats, "pdf,html,csv,json",
          "Formats each report is rendered in."),
    OBJ("reports.scheduling", "When each report type runs (server local time)."),
    STR(reports.scheduling.daily_reports, 5, 5, "06:00", &cfg_check_daily,
        "Daily report time, \"HH:MM\"."),
    STR(reports.scheduling.weekly_reports, 1, 32, "monday 06:00", &cfg_check_weekly,
        "Weekly report day and time, \"<weekday> HH:MM\"."),
    STR(reports.scheduling.monthly_reports, 1, 32, "1st 06:00", &cfg_check_monthly,
        "Monthly report day and time, \"<1st..31st> HH:MM\"; in shorter months a day past "
        "the end runs on the last day."),
    STR(reports.scheduling.custom_schedule, 0, 256, "0 6 * * *", &cfg_check_cron,
        "Custom report schedule, a 5-field cron expression (minute hour day-of-month month "
        "day-of-week; numbers with * , - /). Empty turns the custom report off."),
    SLIST(reports.recipients, 100, "", &cfg_check_email, "E-mail addresses reports go to."),
    STR(reports.output_dir, 0, CFG_STR_MAX, "", NULL,
        "Directory for rendered reports; empty means <data_dir>/reports."),

    OBJ("security", "SecurityConfiguration: encryption, access control, audit and privacy."),
    BOOL(security.enable_encryption, "true", "Encrypt sensitive values at rest."),
    ENUM(security.encryption_algorithm, algorithms, "AES-256-GCM", "Cipher for data at rest."),
    DUR(security.key_rotation_interval, HOUR(1), DAY(3650), "2592000", "s",
        "Period after which a new data key is used."),
    STR(security.master_key_file, 0, CFG_STR_MAX, "", NULL,
        "File holding the 32-byte master key (64 hex digits or base64, mode 0600) that wraps "
        "the data keys; empty means <data_dir>/master.key, generated on first start. "
        "OMEGA_MASTER_KEY (the key itself) takes precedence. Keep it apart from the data "
        "directory and its backups."),
    SLIST(security.sensitive_metrics, 256, "", &cfg_check_regex,
          "Metrics whose stored series are encrypted with the data keys (needs "
          "enable_encryption): POSIX extended regular expressions, each matched against the "
          "whole metric name like PromQL's =~ (\"secret_.*\", \"billing_(cost|card)\"). Empty "
          "means none."),
    DUR(security.session_ttl, MINS(1), DAY(30), "12h", "s",
        "Lifetime of a login session token (our extension)."),
    OBJ("security.access_control", "Role-based access control."),
    BOOL(security.access_control.enable_rbac, "true", "Check the caller's role on every request."),
    ENUM(security.access_control.default_role, roles, "viewer", "Role given to new users."),
    ELIST(security.access_control.admin_roles, roles, "admin,superuser",
          "Roles with administrative rights (users, keys, configuration)."),
    ELIST(security.access_control.viewer_roles, roles, "developer,analyst",
          "Roles limited to reading; a role may not be in both lists."),
    OBJ("security.audit_logging", "The audit log."),
    BOOL(security.audit_logging.enable_audit_log, "true", "Record audit events."),
    DUR(security.audit_logging.audit_log_retention, DAY(1), YEAR(100), "7776000", "s",
        "Audit entries are kept this long."),
    ELIST(security.audit_logging.audit_events, audit_events, "access,modification,deletion,export",
          "Kinds of events recorded."),
    OBJ("security.privacy_settings", "Privacy protection."),
    BOOL(security.privacy_settings.enable_pii_detection, "true",
         "Detect personal data (e-mail addresses, phone numbers) in label values."),
    BOOL(security.privacy_settings.data_masking, "true", "Mask detected personal data in output."),
    SLIST(security.privacy_settings.free_text_labels, 64, "", &cfg_check_label_name,
          "Label names whose values are free text. With data_masking on, e-mail addresses, "
          "IPv4/IPv6 addresses, phone numbers, payment card numbers and the user name in "
          "home-directory paths in these labels' values are replaced by placeholders "
          "([EMAIL], [IPV4], ...) when samples are ingested: only the masked value is stored."),
    ENUM(security.privacy_settings.retention_compliance, compliance, "gdpr",
         "Regulation whose retention and erasure rules apply."),
    BOOL(security.privacy_settings.user_consent_required, "true",
         "Users must accept the data-use notice at first login."),
};
const size_t cfg_n_fields = sizeof(cfg_fields) / sizeof(cfg_fields[0]);

const cfg_rule_t cfg_rules[] = {
    {"alerting.alert_thresholds.compilation_time_warning",
     "alerting.alert_thresholds.compilation_time_critical", 1, 0},
    {"alerting.alert_thresholds.memory_usage_warning",
     "alerting.alert_thresholds.memory_usage_critical", 1, 0},
    {"alerting.alert_thresholds.cpu_usage_warning", "alerting.alert_thresholds.cpu_usage_critical",
     1, 0},
    {"retention.raw_data_retention", "retention.hourly_aggregates_retention", 0, 1},
    {"retention.hourly_aggregates_retention", "retention.daily_aggregates_retention", 0, 1},
    {"retention.daily_aggregates_retention", "retention.weekly_aggregates_retention", 0, 1},
    {"retention.weekly_aggregates_retention", "retention.monthly_aggregates_retention", 0, 1},
    {"server.live_ping_interval", "server.live_idle_timeout", 1, 0},
};
const size_t cfg_n_rules = sizeof(cfg_rules) / sizeof(cfg_rules[0]);

const cfg_field_t *cfg_field_find(const char *path)
{
    for (size_t i = 0; i < cfg_n_fields; i++)
        if (strcmp(cfg_fields[i].path, path) == 0)
            return &cfg_fields[i];
    return NULL;
}

size_t cfg_field_index(const cfg_field_t *f)
{
    return (size_t)(f - cfg_fields);
}

const char *cfg_type_name(cfg_type_t type)
{
    switch (type) {
    case CFG_OBJECT:
        return "object";
    case CFG_BOOL:
        return "boolean";
    case CFG_INT:
        return "integer";
    case CFG_DOUBLE:
        return "number";
    case CFG_STRING:
        return "string";
    case CFG_ENUM:
        return "enum";
    case CFG_DURATION:
        return "duration";
    case CFG_SIZE:
        return "size";
    case CFG_STRLIST:
        return "string list";
    case CFG_ENUMLIST:
        return "enum list";
    case CFG_TEMPLATES:
        return "template map";
    }
    return "?";
}

void cfg_env_name(const cfg_field_t *f, char *buf, size_t len)
{
    size_t o = 0;
    const char *prefix = "OMEGA_";
    for (const char *p = prefix; *p && o + 1 < len; p++)
        buf[o++] = *p;
    for (const char *p = f->path; *p && o + 1 < len; p++)
        buf[o++] = *p == '.' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    if (len)
        buf[o] = '\0';
}

/* The specification's template, adapted per alert category. */
#define TEMPLATE_BODY(kind)                                                                        \
    "Alert Type: " kind "\n"                                                                       \
    "Metric: {metric_name}\n"                                                                      \
    "Current Value: {current_value}\n"                                                             \
    "Threshold: {threshold}\n"                                                                     \
    "Severity: {severity}\n"                                                                       \
    "Timestamp: {timestamp}\n"                                                                     \
    "\n"                                                                                           \
    "Description: {description}\n"                                                                 \
    "Recommended Action: {recommended_action}\n"

static const struct {
    const char *name, *subject, *body;
} builtin_templates[] = {
    {"performance", "OMEGA Performance Alert - {metric_name}", TEMPLATE_BODY("Performance Alert")},
    {"system", "OMEGA System Alert - {metric_name}", TEMPLATE_BODY("System Health Alert")},
    {"application", "OMEGA Application Alert - {metric_name}", TEMPLATE_BODY("Application Alert")},
};

static char *severity_items[] = {"warning", "critical", "emergency"};
static const omega_config_template_t generic_template = {
    .name = "",
    .subject = "OMEGA Alert - {metric_name}",
    .body = TEMPLATE_BODY("Alert"),
    .severity_levels = {severity_items, 3},
};

const omega_config_template_t *cfg_template_generic(void)
{
    return &generic_template;
}

static void strlist_copy(omega_strlist_t *dst, const omega_strlist_t *src)
{
    dst->n = src->n;
    dst->items = src->n ? omega_calloc(src->n, sizeof(char *)) : NULL;
    for (size_t i = 0; i < src->n; i++)
        dst->items[i] = omega_strdup(src->items[i]);
}

void cfg_templates_default(omega_config_templates_t *t)
{
    size_t n = sizeof(builtin_templates) / sizeof(builtin_templates[0]);
    t->items = omega_calloc(n, sizeof(*t->items));
    t->n = n;
    for (size_t i = 0; i < n; i++) {
        omega_config_template_t *d = &t->items[i];
        d->name = omega_strdup(builtin_templates[i].name);
        d->subject = omega_strdup(builtin_templates[i].subject);
        d->body = omega_strdup(builtin_templates[i].body);
        strlist_copy(&d->severity_levels, &generic_template.severity_levels);
    }
}
