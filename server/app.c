/* SPDX-License-Identifier: Apache-2.0 */
/* Server lifecycle: start every subsystem in dependency order, run the loop, and stop
 * them in reverse on SIGINT/SIGTERM (handled by a dedicated sigwait thread, so no code
 * runs in signal context). */
#include "omega/server.h"
#include "server_int.h"

#include "omega/alert.h"
#include "omega/analytics.h"
#include "omega/collect.h"
#include "omega/log.h"
#include "omega/report.h"

#include <libgen.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The system collectors: [0] CPU and memory at the real-time cadence, [1] everything else
 * at system_monitor.monitoring_interval (only [0], with every source, when both are equal). */
typedef struct collect_state {
    omega_collector_t *collector[2];
    omega_collect_runner_t *runner[2];
    omega_tsdb_t *db;
    live_hub_t *hub; /* told of every stored batch (live push) */
    _Atomic int64_t last_error_log_ms; /* rate limit for write failures, both runners */
} collect_state_t;

static int sink_to_tsdb(void *ctx, const omega_point_t *points, size_t n)
{
    collect_state_t *cs = ctx;
    omega_error_t err;
    omega_error_clear(&err);
    /* Collected samples are not worth a disk sync per pass (it was most of the collection
     * latency): the storage thread syncs the WAL within a second (docs/storage.md). */
    int rc = omega_tsdb_write_relaxed(cs->db, points, n, &err);
    if (rc == 0)
        hub_notify_write(cs->hub, points, n);
    if (rc != 0) {
        int64_t now = omega_now_ms();
        int64_t last = atomic_load(&cs->last_error_log_ms);
        if (now - last > 60000 &&
            atomic_compare_exchange_strong(&cs->last_error_log_ms, &last, now))
            omega_log_warn("storing %zu collected samples failed: %s", n, err.message);
    }
    return rc;
}

/* Process failure detection: a watched process went away. Compilers end all the time and
 * their status is rarely observable, so only a known non-zero status is a warning. */
static void on_process_exit(void *ctx, const omega_process_event_t *ev)
{
    app_t *app = ctx;
    if (ev->exit_code > 0 && app && app->alerts) {
        /* Failure (status 1..127) or crash (128 + signal): the built-in event rule decides. */
        char pid[24];
        snprintf(pid, sizeof(pid), "%lld", (long long)ev->pid);
        omega_label_t l[2] = {{"name", ev->name}, {"pid", pid}};
        omega_alert_raise(app->alerts, "builtin-process-exit", l, 2, ev->exit_code, ev->ts_ms,
                          NULL);
    }
    if (ev->exit_code > 0)
        omega_log_warn("watched process %s (pid %lld) exited with status %d", ev->name,
                       (long long)ev->pid, ev->exit_code);
    else
        omega_log_debug("watched process %s (pid %lld) ended (status %d)", ev->name,
                        (long long)ev->pid, ev->exit_code);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* server.web_root, or the built web/ next to the executable (never the working dir). */
static void resolve_web_root(app_t *app)
{
    const char *conf = app->cfg->server.web_root;
    if (conf && *conf) {
        snprintf(app->web_root, sizeof(app->web_root), "%s", conf);
        return;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        snprintf(app->web_root, sizeof(app->web_root), "web");
        return;
    }
    exe[n] = '\0';
    char *dir = dirname(exe);
    char probe[4200];
    snprintf(probe, sizeof(probe), "%s/web/index.html", dir);
    if (file_exists(probe)) {
        snprintf(app->web_root, sizeof(app->web_root), "%s/web", dir);
        return;
    }
    snprintf(app->web_root, sizeof(app->web_root), "%s/../share/omega-monitor/web", dir);
}

void app_tsdb_options(const omega_config_t *cfg, omega_tsdb_options_t *o)
{
    omega_tsdb_options_init(o);
    o->data_dir = cfg->server.data_dir;
    o->raw_retention_ms = cfg->retention.raw_data_retention_ms;
    o->out_of_order_window_ms = cfg->storage.out_of_order_window_ms;
    o->max_series = (uint64_t)cfg->storage.max_series;
    o->compression = cfg->performance_monitor.storage_configuration.compression_enabled;
    o->sync_writes = strcmp(cfg->storage.sync_policy, "always") == 0;
    o->chunk_max_samples = (uint32_t)cfg->storage.chunk_max_samples;
    o->chunk_max_age_ms = cfg->storage.chunk_max_age_ms;
    o->block_cache_size = cfg->storage.block_cache_size;
    o->hourly_retention_ms = cfg->retention.hourly_aggregates_retention_ms;
    o->daily_retention_ms = cfg->retention.daily_aggregates_retention_ms;
    o->weekly_retention_ms = cfg->retention.weekly_aggregates_retention_ms;
    o->monthly_retention_ms = cfg->retention.monthly_aggregates_retention_ms;
    o->max_storage_size = cfg->performance_monitor.storage_configuration.max_storage_size;
    o->backup_dir = cfg->storage.backup_dir;
    o->backup_interval_ms = cfg->performance_monitor.storage_configuration.backup_interval_ms;
}

static int open_storage(app_t *app)
{
    omega_tsdb_options_t o;
    app_tsdb_options(app->cfg, &o);
    omega_error_t err;
    omega_error_clear(&err);
    app->db = omega_tsdb_open(&o, &err);
    if (!app->db) {
        omega_log_error("cannot open storage in '%s': %s", o.data_dir, err.message);
        return -1;
    }
    return 0;
}

/* Encryption at rest of security.sensitive_metrics: auth's blob cipher seals those series'
 * samples in storage (docs/storage.md). Attached even with encryption off, so values sealed
 * earlier stay readable; the patterns only with it on. */
int app_storage_cipher(const omega_config_t *cfg, omega_tsdb_t *db, omega_auth_t *auth)
{
    const omega_config_security_t *sec = &cfg->security;
    omega_tsdb_cipher_t c = {auth, omega_auth_blob_seal, omega_auth_blob_open,
                             OMEGA_AUTH_BLOB_OVERHEAD, omega_auth_blob_active,
                             omega_auth_blob_release};
    size_t n = sec->enable_encryption ? sec->sensitive_metrics.n : 0;
    if (!sec->enable_encryption && sec->sensitive_metrics.n)
        omega_log_warn("security.sensitive_metrics is set but security.enable_encryption is "
                       "off: those series are stored in clear");
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_tsdb_cipher_attach(db, &c, (const char *const *)sec->sensitive_metrics.items, n,
                                 &err) != 0) {
        omega_log_error("cannot set up encryption at rest of sensitive metrics: %s", err.message);
        return -1;
    }
    return 0;
}

static int open_auth(app_t *app)
{
    omega_auth_options_t ao;
    app_auth_options(app->cfg, &ao);
    omega_error_t err;
    omega_error_clear(&err);
    app->auth = omega_auth_create(app->db, &ao, &err);
    if (!app->auth) {
        omega_log_error("cannot start authentication: %s", err.message);
        return -1;
    }
    if (app_storage_cipher(app->cfg, app->db, app->auth) != 0)
        return -1;
    const char *env_pw = app_admin_password_env(); /* OMEGA_ADMIN_PASSWORD */
    char generated[64] = "";
    int created = 0;
    if (omega_auth_bootstrap(app->auth, env_pw, generated, sizeof(generated), &created, &err)) {
        omega_log_error("cannot create the bootstrap admin user: %s", err.message);
        return -1;
    }
    if (created && generated[0])
        printf("omega-monitor: admin login: admin / %s  (shown once; change it after login)\n",
               generated);
    else if (created)
        printf("omega-monitor: admin login: admin / (the password in OMEGA_ADMIN_PASSWORD)\n");
    else
        printf("omega-monitor: admin login: existing users kept (the admin password was shown "
               "at first start)\n");
    fflush(stdout);
    return 0;
}

/* system_monitor's switches, filters and probe targets over the collector defaults. */
static void system_options(const omega_config_t *cfg, omega_collect_options_t *o)
{
    const omega_config_system_monitor_t *sm = &cfg->system_monitor;
    omega_collect_options_init(o);
    o->enable_cpu = o->enable_sensors = sm->enable_cpu_monitoring;
    o->enable_memory = o->enable_vmstat = sm->enable_memory_monitoring;
    o->enable_disk = sm->enable_disk_monitoring;
    o->enable_network = sm->enable_network_monitoring;
    o->enable_processes = sm->enable_process_monitoring;
    o->enable_pressure =
        sm->enable_cpu_monitoring || sm->enable_memory_monitoring || sm->enable_disk_monitoring;
    o->probe_targets = (const char *const *)sm->probe_targets.items;
    o->n_probe_targets = sm->probe_targets.n;
    o->watch.include_omega = sm->process_filters.include_omega_processes;
    o->watch.include_compilers = sm->process_filters.include_compiler_processes;
    o->watch.exclude_system = sm->process_filters.exclude_system_processes;
    o->watch.patterns = (const char *const *)sm->process_filters.custom_process_patterns.items;
    o->watch.n_patterns = sm->process_filters.custom_process_patterns.n;
    o->on_process_exit = on_process_exit;
    o->interval_ms = sm->monitoring_interval_ms;
    /* A probe pass must end well inside its interval. */
    int64_t half = o->interval_ms / 2;
    o->probe_timeout_ms = half > 1000 ? 1000 : half < 10 ? 10 : half;
}

static int start_one(collect_state_t *cs, int i, const omega_collect_options_t *co)
{
    omega_error_t err;
    omega_error_clear(&err);
    cs->collector[i] = omega_collector_create(co, &err);
    if (!cs->collector[i]) {
        omega_log_error("cannot create the system collector: %s%s%s", err.path,
                        err.path[0] ? ": " : "", err.message);
        return -1;
    }
    omega_collect_sink_t sink = {.emit = sink_to_tsdb, .ctx = cs};
    cs->runner[i] = omega_collect_runner_start(cs->collector[i], co->interval_ms, &sink, &err);
    if (!cs->runner[i]) {
        omega_log_error("cannot start the system collector: %s", err.message);
        return -1;
    }
    return 0;
}

/* CPU and memory feed the live dashboard: with real-time monitoring on they are sampled
 * at performance_monitor.metrics_collection_interval (1 s), else at the system monitor's
 * interval like every other source (docs/api.md "Collection cadence"). */
static int start_collectors(app_t *app, collect_state_t *cs)
{
    const omega_config_t *cfg = app->cfg;
    omega_collect_options_t all, fast, slow;
    system_options(cfg, &all);
    all.on_process_exit_ctx = app; /* exits raise alerts (app->alerts, started before) */
    cs->db = app->db;
    cs->hub = app->hub;
    int64_t fast_ms = cfg->performance_monitor.enable_real_time_monitoring
                          ? cfg->performance_monitor.metrics_collection_interval_ms
                          : all.interval_ms;
    if (fast_ms == all.interval_ms) {
        if (start_one(cs, 0, &all) != 0)
            return -1;
        app->sysmon = all.enable_processes ? cs->collector[0] : NULL;
        return 0;
    }
    fast = slow = all;
    fast.interval_ms = fast_ms;
    fast.enable_disk = fast.enable_network = fast.enable_sensors = fast.enable_processes = 0;
    fast.n_probe_targets = 0;
    fast.no_stat_processes = all.enable_processes; /* the slow collector's scan has them */
    slow.enable_cpu = slow.enable_memory = slow.enable_vmstat = 0;
    slow.no_self_process = 1; /* the fast collector reports this process' own figures */
    if (start_one(cs, 0, &fast) != 0 || start_one(cs, 1, &slow) != 0)
        return -1;
    app->sysmon = slow.enable_processes ? cs->collector[1] : NULL;
    return 0;
}

/* What a live config change replaced: kept until stop because readers may still hold it. */
struct app_retired {
    omega_config_t *cfg;
    omega_collector_t *collector[2];
    struct app_retired *next;
};

static void retire(app_t *app, omega_config_t *cfg, omega_collector_t *c0, omega_collector_t *c1)
{
    struct app_retired *r = calloc(1, sizeof(*r));
    if (!r)
        abort();
    *r = (struct app_retired){.cfg = cfg, .collector = {c0, c1}, .next = app->retired};
    app->retired = r;
}

/* Stop the collectors' runners and retire the collectors (the config stays). */
static void retire_collectors(app_t *app)
{
    collect_state_t *cs = app->collect;
    app->sysmon = NULL;
    omega_collect_runner_stop(cs->runner[0]);
    omega_collect_runner_stop(cs->runner[1]);
    retire(app, NULL, cs->collector[0], cs->collector[1]);
    cs->runner[0] = cs->runner[1] = NULL;
    cs->collector[0] = cs->collector[1] = NULL;
}

int app_config_apply(app_t *app, omega_config_t *next, int collectors)
{
    if (app->stopping) {
        omega_config_destroy(next);
        return OMEGA_EAGAIN;
    }
    omega_config_t *old = app->cfg;
    if (collectors) {
        retire_collectors(app);
        app->cfg = next;
        if (start_collectors(app, app->collect) != 0) {
            retire_collectors(app);
            app->cfg = old;
            omega_config_destroy(next);
            if (start_collectors(app, app->collect) != 0)
                omega_log_error("cannot restart the system collectors with the old settings");
            return OMEGA_EIO;
        }
    }
    app->cfg = next;
    retire(app, old, NULL, NULL);
    omega_log_set_level(omega_config_log_level(next));
    return 0;
}

static void free_retired(app_t *app)
{
    while (app->retired) {
        struct app_retired *r = app->retired;
        app->retired = r->next;
        omega_collector_destroy(r->collector[0]);
        omega_collector_destroy(r->collector[1]);
        omega_config_destroy(r->cfg);
        free(r);
    }
}

typedef struct signal_waiter {
    app_t *app;
    sigset_t set;
} signal_waiter_t;

static void *signal_main(void *arg)
{
    signal_waiter_t *sw = arg;
    int sig = 0;
    sigwait(&sw->set, &sig);
    if (sig != SIGUSR1)
        omega_log_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    sw->app->stopping = 1;
    if (sw->app->lws)
        lws_cancel_service(sw->app->lws);
    return NULL;
}

static int start_http(app_t *app)
{
    omega_error_t err;
    omega_error_clear(&err);
    resolve_web_root(app); /* after app_config_restore(): the stored document may set it */
    app->hub = hub_create(app, (size_t)app->cfg->server.live_queue_limit,
                          (size_t)app->cfg->server.live_max_clients);
    app->workers = workers_start(app, (int)app->cfg->server.worker_threads, 1024, router_handle);
    if (!app->workers) {
        omega_log_error("cannot start worker threads");
        return -1;
    }
    if (http_server_create(app, &err) != 0) {
        omega_log_error("%s: %s", err.path, err.message);
        return -1;
    }
    if (hub_start(app->hub) != 0) {
        omega_log_error("cannot start the live hub thread");
        return -1;
    }
    return 0;
}

/* Alert rules are evaluated on the engine's own threads (never the event loop); it needs
 * the store, so it stops before the store closes. */
static void alert_to_live(void *ctx, const char *json, size_t len)
{
    hub_broadcast(ctx, json, len);
}

static int start_alerts(app_t *app)
{
    omega_alert_options_t ao;
    omega_alert_options_init(&ao);
    ao.cfg = app->cfg;
    ao.on_event = alert_to_live;
    ao.event_ctx = app->hub;
    ao.vault = (omega_alert_vault_t){omega_auth_secret_put_cb, omega_auth_secret_open_cb,
                                     omega_auth_secret_delete_cb, app->auth};
    if (app->cfg->security.privacy_settings.data_masking)
        ao.mask = omega_pii_mask_cb;
    omega_error_t err;
    omega_error_clear(&err);
    app->alerts = omega_alert_create(app->db, &ao, &err);
    if (!app->alerts) {
        omega_log_error("cannot start alerting: %s", err.message);
        return -1;
    }
    if (omega_alert_start(app->alerts) != 0) {
        omega_log_error("cannot start the alerting threads");
        return -1;
    }
    return 0;
}

/* The report service reads the config as it is now (schedules, masking). */
static const omega_config_t *current_config(void *ctx)
{
    const app_t *app = ctx;
    return app->cfg;
}

/* Background and scheduled reports render on the report service's own thread, into
 * reports.output_dir (default <data_dir>/reports). */
static int start_reports(app_t *app)
{
    char dir[4200];
    const omega_config_t *cfg = app->cfg;
    if (cfg->reports.output_dir[0])
        snprintf(dir, sizeof(dir), "%s", cfg->reports.output_dir);
    else
        snprintf(dir, sizeof(dir), "%s/reports", cfg->server.data_dir);
    omega_report_service_options_t ro;
    omega_report_service_options_init(&ro);
    ro.db = app->db;
    ro.alerts = app->alerts;
    ro.analytics = app->analytics;
    ro.mask = omega_pii_mask_cb;
    ro.config = current_config;
    ro.config_ctx = app;
    ro.output_dir = dir;
    omega_error_t err;
    omega_error_clear(&err);
    app->reports = omega_report_service_create(&ro, &err);
    if (!app->reports) {
        omega_log_error("cannot start reports: %s", err.message);
        return -1;
    }
    if (omega_report_service_start(app->reports) != 0) {
        omega_log_error("cannot start the report thread");
        return -1;
    }
    return 0;
}

/* Operations (jobs): started/ended frames go to the live hub like alert events. */
static int start_analytics(app_t *app)
{
    omega_analytics_options_t ao;
    omega_analytics_options_init(&ao);
    ao.on_event = alert_to_live;
    ao.event_ctx = app->hub;
    /* Job records are performance data: kept like the rest of it. */
    ao.history_retention_ms =
        app->cfg->performance_monitor.storage_configuration.retention_days * 24 * 3600 * 1000LL;
    omega_error_t err;
    omega_error_clear(&err);
    app->analytics = omega_analytics_create(app->db, &ao, &err);
    if (!app->analytics) {
        omega_log_error("cannot start operations: %s", err.message);
        return -1;
    }
    if (omega_analytics_start(app->analytics) != 0) {
        omega_log_error("cannot start the operations metrics thread");
        return -1;
    }
    return 0;
}

static void stop_all(app_t *app, collect_state_t *cs)
{
    omega_report_service_stop(app->reports); /* it reads alerts and jobs: stop it first */
    omega_alert_stop(app->alerts);      /* its events go to the hub: stop it first */
    omega_analytics_stop(app->analytics); /* the same */
    pthread_mutex_lock(&app->cfg_lock); /* a config change may be restarting collectors */
    omega_collect_runner_stop(cs->runner[0]);
    omega_collect_runner_stop(cs->runner[1]);
    app->sysmon = NULL;
    pthread_mutex_unlock(&app->cfg_lock);
    hub_stop(app->hub);
    workers_stop(app->workers);
    omega_report_cleanup(); /* no worker is drawing a report any more */
    http_server_destroy(app);
    hub_destroy(app->hub);
    omega_collector_destroy(cs->collector[0]);
    omega_collector_destroy(cs->collector[1]);
    omega_report_service_destroy(app->reports);
    omega_alert_destroy(app->alerts);
    omega_analytics_destroy(app->analytics);
    omega_tsdb_cipher_detach(app->db); /* seals what it must while auth is alive */
    omega_auth_destroy(app->auth);
    omega_tsdb_close(app->db);
    omega_config_destroy(app->cfg);
    free_retired(app);
}

int omega_server_run(omega_config_t *cfg)
{
    app_t app;
    collect_state_t cs;
    memset(&app, 0, sizeof(app));
    memset(&cs, 0, sizeof(cs));
    app.cfg = cfg;
    app.started_ms = omega_now_ms();
    app.collect = &cs;
    pthread_mutex_init(&app.cfg_lock, NULL);

    /* Signals go to the waiter thread only: block them before any thread starts. A signal
     * that arrives during start-up stays pending until the waiter runs. */
    signal_waiter_t sw = {.app = &app};
    sigemptyset(&sw.set);
    sigaddset(&sw.set, SIGINT);
    sigaddset(&sw.set, SIGTERM);
    sigaddset(&sw.set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sw.set, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    if (open_storage(&app) == 0 && app_config_restore(&app) == 0 && open_auth(&app) == 0 &&
        start_http(&app) == 0 && start_alerts(&app) == 0 && start_analytics(&app) == 0 &&
        start_reports(&app) == 0 && start_collectors(&app, &cs) == 0) {
        pthread_t sig_thread;
        if (pthread_create(&sig_thread, NULL, signal_main, &sw) == 0) {
            printf("omega-monitor: serving http://%s/  (dashboard files: %s)\n",
                   app.cfg->server.listen, app.web_root);
            fflush(stdout);
            omega_log_info("listening on %s, data in %s", app.cfg->server.listen,
                           app.cfg->server.data_dir);
            http_server_run(&app);
            rc = 0;
            pthread_kill(sig_thread, SIGUSR1); /* wakes it if the loop ended on its own */
            pthread_join(sig_thread, NULL);
        } else {
            omega_log_error("cannot start the signal thread");
        }
    }
    stop_all(&app, &cs);
    pthread_mutex_destroy(&app.cfg_lock);
    omega_log_info("stopped cleanly");
    return rc;
}
