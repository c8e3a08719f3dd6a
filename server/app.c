/* SPDX-License-Identifier: Apache-2.0 */
/* Server lifecycle: start every subsystem in dependency order, run the loop, and stop
 * them in reverse on SIGINT/SIGTERM (handled by a dedicated sigwait thread, so no code
 * runs in signal context). */
#include "omega/server.h"
#include "server_int.h"

#include "omega/collect.h"
#include "omega/log.h"

#include <libgen.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct collect_state {
    omega_collector_t *collector;
    omega_collect_runner_t *runner;
    omega_tsdb_t *db;
    int64_t last_error_log_ms; /* rate limit for write failures */
} collect_state_t;

static int sink_to_tsdb(void *ctx, const omega_point_t *points, size_t n)
{
    collect_state_t *cs = ctx;
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_tsdb_write(cs->db, points, n, &err);
    if (rc != 0) {
        int64_t now = omega_now_ms();
        if (now - cs->last_error_log_ms > 60000) {
            cs->last_error_log_ms = now;
            omega_log_warn("storing %zu collected samples failed: %s", n, err.message);
        }
    }
    return rc;
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

static int open_storage(app_t *app)
{
    const omega_config_t *cfg = app->cfg;
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = cfg->server.data_dir;
    o.raw_retention_ms = cfg->retention.raw_data_retention_ms;
    o.out_of_order_window_ms = cfg->storage.out_of_order_window_ms;
    o.max_series = (uint64_t)cfg->storage.max_series;
    o.compression = cfg->performance_monitor.storage_configuration.compression_enabled;
    o.sync_writes = strcmp(cfg->storage.sync_policy, "always") == 0;
    omega_error_t err;
    omega_error_clear(&err);
    app->db = omega_tsdb_open(&o, &err);
    if (!app->db) {
        omega_log_error("cannot open storage in '%s': %s", o.data_dir, err.message);
        return -1;
    }
    return 0;
}

static int open_auth(app_t *app)
{
    omega_auth_options_t ao;
    omega_auth_options_init(&ao);
    ao.token_ttl_ms = app->cfg->security.session_ttl_ms;
    omega_error_t err;
    omega_error_clear(&err);
    app->auth = omega_auth_create(app->db, &ao, &err);
    if (!app->auth) {
        omega_log_error("cannot start authentication: %s", err.message);
        return -1;
    }
    const char *env_pw = getenv("OMEGA_ADMIN_PASSWORD");
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

/* CPU and memory feed the live dashboard: with real-time monitoring on they are sampled
 * at performance_monitor.metrics_collection_interval (1 s), else at the system monitor's
 * interval. */
static int start_collectors(app_t *app, collect_state_t *cs)
{
    const omega_config_t *cfg = app->cfg;
    omega_collect_options_t co;
    omega_collect_options_init(&co);
    co.enable_cpu = cfg->system_monitor.enable_cpu_monitoring;
    co.enable_memory = cfg->system_monitor.enable_memory_monitoring;
    co.interval_ms = cfg->performance_monitor.enable_real_time_monitoring
                         ? cfg->performance_monitor.metrics_collection_interval_ms
                         : cfg->system_monitor.monitoring_interval_ms;
    omega_error_t err;
    omega_error_clear(&err);
    cs->db = app->db;
    cs->collector = omega_collector_create(&co, &err);
    if (!cs->collector) {
        omega_log_error("cannot create the system collector: %s", err.message);
        return -1;
    }
    omega_collect_sink_t sink = {.emit = sink_to_tsdb, .ctx = cs};
    cs->runner = omega_collect_runner_start(cs->collector, co.interval_ms, &sink, &err);
    if (!cs->runner) {
        omega_log_error("cannot start the system collector: %s", err.message);
        return -1;
    }
    return 0;
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

static void stop_all(app_t *app, collect_state_t *cs)
{
    omega_collect_runner_stop(cs->runner);
    hub_stop(app->hub);
    workers_stop(app->workers);
    http_server_destroy(app);
    hub_destroy(app->hub);
    omega_collector_destroy(cs->collector);
    omega_auth_destroy(app->auth);
    omega_tsdb_close(app->db);
    omega_config_destroy(app->cfg);
}

int omega_server_run(omega_config_t *cfg)
{
    app_t app;
    collect_state_t cs;
    memset(&app, 0, sizeof(app));
    memset(&cs, 0, sizeof(cs));
    app.cfg = cfg;
    app.started_ms = omega_now_ms();

    /* Signals go to the waiter thread only: block them before any thread starts. A signal
     * that arrives during start-up stays pending until the waiter runs. */
    signal_waiter_t sw = {.app = &app};
    sigemptyset(&sw.set);
    sigaddset(&sw.set, SIGINT);
    sigaddset(&sw.set, SIGTERM);
    sigaddset(&sw.set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sw.set, NULL);
    signal(SIGPIPE, SIG_IGN);

    resolve_web_root(&app);
    int rc = 1;
    if (open_storage(&app) == 0 && open_auth(&app) == 0 && start_http(&app) == 0 &&
        start_collectors(&app, &cs) == 0) {
        pthread_t sig_thread;
        if (pthread_create(&sig_thread, NULL, signal_main, &sw) == 0) {
            printf("omega-monitor: serving http://%s/  (dashboard files: %s)\n",
                   cfg->server.listen, app.web_root);
            fflush(stdout);
            omega_log_info("listening on %s, data in %s", cfg->server.listen,
                           cfg->server.data_dir);
            http_server_run(&app);
            rc = 0;
            pthread_kill(sig_thread, SIGUSR1); /* wakes it if the loop ended on its own */
            pthread_join(sig_thread, NULL);
        } else {
            omega_log_error("cannot start the signal thread");
        }
    }
    stop_all(&app, &cs);
    omega_log_info("stopped cleanly");
    return rc;
}
