/* SPDX-License-Identifier: Apache-2.0 */
/* Integration tests of the system monitor in the real server: GET /api/v1/health against
 * configured thresholds, /api/v1/system/usage cross-checked with the test's own reads,
 * /api/v1/system/processes (the server itself, a child with PII in its arguments, bad
 * patterns), every collector's series reaching the store (probes to a listener the test
 * opens), and process monitoring switched off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "httpc.h"
#include "srvtest.h"
#include "testutil.h"

#define ADMIN_PW "correct-horse-battery-staple"

static srvtest_t S;

typedef struct fixture {
    int probe_fd;     /* listener the server probes */
    int probe_port;   /* its port */
} fixture_t;

static fixture_t F;

static int listener(int *port)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* GET path with the admin token; returns the parsed body (status in *status). */
static json_t *get_json(const char *path, int *status)
{
    httpc_resp_t r;
    assert_int_equal(httpc_request(S.port, "GET", path, S.auth, NULL, 0, &r), 0);
    *status = r.status;
    json_t *j = json_loads(r.body, 0, NULL);
    if (!j)
        fail_msg("not JSON (%d): %s", r.status, r.body);
    httpc_resp_free(&r);
    return j;
}

/* Number of series an instant query returns. */
static size_t query_count(const char *expr, double *first)
{
    char enc[1024], path[1200];
    int status;
    httpc_urlencode(expr, enc, sizeof(enc));
    snprintf(path, sizeof(path), "/api/v1/query?query=%s", enc);
    json_t *j = get_json(path, &status);
    assert_int_equal(status, 200);
    json_t *res = json_object_get(json_object_get(j, "data"), "result");
    size_t n = json_array_size(res);
    if (n && first)
        *first = atof(json_string_value(json_array_get(json_object_get(json_array_get(res, 0),
                                                                       "value"),
                                                       1)));
    json_decref(j);
    return n;
}

/* Wait (bounded: 100 tries, 100 ms apart) until expr has a series. */
static int wait_for(const char *expr)
{
    struct timespec pause = {0, 100 * 1000000};
    for (int i = 0; i < 100; i++) {
        if (query_count(expr, NULL) > 0)
            return 1;
        nanosleep(&pause, NULL);
    }
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    static char probe_env[96];
    if (srvtest_init(&S, "server-system") != 0)
        return -1;
    F.probe_fd = listener(&F.probe_port);
    if (F.probe_fd < 0)
        return -1;
    snprintf(probe_env, sizeof(probe_env), "OMEGA_SYSTEM_MONITOR_PROBE_TARGETS=127.0.0.1:%d",
             F.probe_port);
    char *const env[] = {
        "OMEGA_ADMIN_PASSWORD=" ADMIN_PW,
        "OMEGA_PERFORMANCE_MONITOR_METRICS_COLLECTION_INTERVAL=200",
        "OMEGA_SYSTEM_MONITOR_MONITORING_INTERVAL=500",
        /* Deterministic issues: any host has more than one process and uses >= 0 % CPU. */
        "OMEGA_SYSTEM_MONITOR_SYSTEM_THRESHOLDS_PROCESS_COUNT_CRITICAL=1",
        "OMEGA_PERFORMANCE_MONITOR_PERFORMANCE_THRESHOLDS_CPU_USAGE=0",
        "OMEGA_SECURITY_PRIVACY_SETTINGS_USER_CONSENT_REQUIRED=false", /* owners and cmdlines */
        probe_env,
        NULL,
    };
    if (srvtest_launch_session(&S, env, "admin", ADMIN_PW) != 0)
        return -1;
    /* The slow collector needs two passes for rates; the process scan one. */
    if (!wait_for("system_network_throughput_bytes_per_second") ||
        !wait_for("system_cpu_usage_percent")) {
        srvtest_dump_log(&S);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    close(F.probe_fd);
    return srvtest_stop(&S);
}

static void test_health_needs_auth_and_reports_issues(void **state)
{
    (void)state;
    httpc_resp_t r;
    assert_int_equal(httpc_request(S.port, "GET", "/api/v1/health", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 401);
    httpc_resp_free(&r);

    int status;
    json_t *j = get_json("/api/v1/health", &status);
    assert_int_equal(status, 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "critical");
    json_t *issues = json_object_get(j, "issues");
    assert_true(json_array_size(issues) >= 2);
    int procs = 0, cpu = 0;
    size_t i;
    json_t *it;
    json_array_foreach(issues, i, it)
    {
        const char *comp = json_string_value(json_object_get(it, "component"));
        const char *sev = json_string_value(json_object_get(it, "severity"));
        assert_non_null(comp);
        assert_non_null(json_string_value(json_object_get(it, "metric")));
        assert_true(json_is_number(json_object_get(it, "value")));
        assert_true(json_is_number(json_object_get(it, "threshold")));
        assert_true(!strcmp(sev, "warning") || !strcmp(sev, "critical"));
        if (!strcmp(comp, "processes")) {
            procs = 1;
            assert_string_equal(sev, "critical");
            assert_true(json_number_value(json_object_get(it, "threshold")) == 1);
            assert_true(json_number_value(json_object_get(it, "value")) > 1);
            assert_string_equal(json_string_value(json_object_get(it, "metric")),
                                "sum(system_processes)");
        }
        if (!strcmp(comp, "cpu")) {
            cpu = 1;
            assert_string_equal(json_string_value(json_object_get(it, "metric")),
                                "system_cpu_usage_percent");
        }
    }
    assert_true(procs && cpu);
    json_decref(j);
}

static double own_memtotal(void)
{
    char line[256];
    double kb = -1;
    FILE *f = fopen("/proc/meminfo", "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemTotal: %lf kB", &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}

static void test_usage_summary(void **state)
{
    (void)state;
    int status;
    json_t *j = get_json("/api/v1/system/usage", &status);
    assert_int_equal(status, 200);
    json_t *cpu = json_object_get(j, "cpu"), *mem = json_object_get(j, "memory");
    double busy = json_number_value(json_object_get(cpu, "usage_percent"));
    assert_true(busy >= 0 && busy <= 100);
    assert_true(json_number_value(json_object_get(cpu, "cores")) >= 1);
    assert_true(json_is_number(json_object_get(cpu, "load1")));
    assert_true(json_number_value(json_object_get(mem, "total_bytes")) == own_memtotal());
    size_t i;
    json_t *fs;
    int root = 0;
    json_array_foreach(json_object_get(j, "disk"), i, fs)
    {
        if (!strcmp(json_string_value(json_object_get(fs, "mountpoint")), "/")) {
            root = 1;
            assert_true(json_number_value(json_object_get(fs, "size_bytes")) > 0);
        }
    }
    assert_true(root);
    json_t *net;
    int lo = 0;
    json_array_foreach(json_object_get(j, "network"), i, net)
        lo |= !strcmp(json_string_value(json_object_get(net, "interface")), "lo");
    assert_true(lo);
    assert_true(json_number_value(json_object_get(json_object_get(j, "processes"), "total")) > 1);
    assert_non_null(json_string_value(json_object_get(j, "timestamp")));
    json_decref(j);
}

static void test_processes_list_the_server(void **state)
{
    (void)state;
    int status;
    json_t *j = get_json("/api/v1/system/processes?pattern=omega-monitor", &status);
    assert_int_equal(status, 200);
    size_t i;
    json_t *p;
    int found = 0;
    json_array_foreach(json_object_get(j, "items"), i, p)
    {
        if (json_integer_value(json_object_get(p, "pid")) != S.pid)
            continue;
        found = 1;
        assert_string_equal(json_string_value(json_object_get(p, "name")), "omega-monitor");
        assert_non_null(strstr(json_string_value(json_object_get(p, "cmdline")), "serve"));
        assert_string_equal(json_string_value(json_object_get(p, "user")),
                            getpwuid(getuid())->pw_name);
        assert_true(json_is_true(json_object_get(p, "watched")));
        assert_true(json_integer_value(json_object_get(p, "rss_bytes")) > 0);
        assert_true(json_integer_value(json_object_get(p, "threads")) > 1);
        assert_non_null(json_string_value(json_object_get(p, "state")));
        assert_true(strlen(json_string_value(json_object_get(p, "started_at"))) >= 20);
    }
    assert_true(found);
    json_decref(j);

    j = get_json("/api/v1/system/processes?pattern=%28bad", &status);
    assert_int_equal(status, 400);
    assert_string_equal(json_string_value(json_object_get(j, "errorType")), "bad_data");
    json_decref(j);
    j = get_json("/api/v1/system/processes?pattern=no-process-is-called-this-xyz", &status);
    assert_int_equal(status, 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 0);
    json_decref(j);
}

static void test_process_cmdline_is_masked(void **state)
{
    (void)state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        setpgid(0, 0); /* its own group: the test stops sh and its sleep together */
        execl("/bin/sh", "sh", "-c", "sleep 30", "ann@example.com", "/home/ann/project",
              "--password=hunter2", "maskcheck", (char *)NULL);
        _exit(127);
    }
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/system/processes?pattern=maskcheck");
    json_t *hit = NULL, *j = NULL;
    struct timespec pause = {0, 100 * 1000000};
    for (int i = 0; i < 100 && !hit; i++) { /* the process scan runs every 500 ms */
        int status;
        json_decref(j);
        j = get_json(path, &status);
        assert_int_equal(status, 200);
        size_t k;
        json_t *p;
        json_array_foreach(json_object_get(j, "items"), k, p)
            if (json_integer_value(json_object_get(p, "pid")) == child)
                hit = p;
        if (!hit)
            nanosleep(&pause, NULL);
    }
    assert_non_null(hit);
    const char *cmd = json_string_value(json_object_get(hit, "cmdline"));
    assert_null(strstr(cmd, "ann@example.com"));
    assert_null(strstr(cmd, "hunter2"));
    assert_null(strstr(cmd, "/home/ann"));
    assert_non_null(strstr(cmd, "[EMAIL]"));
    assert_non_null(strstr(cmd, "/home/[USER]"));
    assert_non_null(strstr(cmd, "password=<redacted>"));
    assert_non_null(strstr(cmd, "sleep 30"));
    json_decref(j);
    kill(-child, SIGTERM);
    waitpid(child, NULL, 0);
}

static void test_every_collector_reaches_the_store(void **state)
{
    (void)state;
    static const char *const exprs[] = {
        "system_memory_used_percent",
        "system_page_faults_total",
        "system_load1",
        "system_filesystem_size_bytes{mountpoint=\"/\"}",
        "system_disk_reads_total",
        "system_network_receive_bytes_total{interface=\"lo\"}",
        "system_network_tcp_connections{state=\"listen\"}",
        "system_processes",
        "system_threads",
        "omega_monitor_resident_memory_bytes",
        "omega_monitor_collection_duration_seconds{collector=\"processes\"}",
        "system_process_threads{name=\"omega-monitor\"}",
    };
    for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++)
        if (query_count(exprs[i], NULL) == 0)
            fail_msg("no series for %s", exprs[i]);
    char expr[128];
    double ok = -1;
    snprintf(expr, sizeof(expr), "system_network_probe_success{target=\"127.0.0.1:%d\"}",
             F.probe_port);
    assert_int_equal(query_count(expr, &ok), 1);
    assert_true(ok == 1);
    snprintf(expr, sizeof(expr), "system_network_probe_latency_seconds{target=\"127.0.0.1:%d\"}",
             F.probe_port);
    assert_int_equal(query_count(expr, NULL), 1);
}

static void test_process_monitoring_off(void **state)
{
    (void)state;
    srvtest_t off;
    char *const env[] = {"OMEGA_ADMIN_PASSWORD=" ADMIN_PW,
                         "OMEGA_SYSTEM_MONITOR_ENABLE_PROCESS_MONITORING=false",
                         "OMEGA_SYSTEM_MONITOR_ENABLE_DISK_MONITORING=false", NULL};
    assert_int_equal(srvtest_start_session(&off, "server-system-off", env, "admin", ADMIN_PW), 0);
    assert_true(off.pid > 0);
    httpc_resp_t r;
    assert_int_equal(
        httpc_request(off.port, "GET", "/api/v1/system/processes", off.auth, NULL, 0, &r), 0);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "enable_process_monitoring"));
    httpc_resp_free(&r);
    assert_int_equal(httpc_request(off.port, "GET", "/api/v1/health", off.auth, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    httpc_resp_free(&r);
    assert_int_equal(srvtest_stop(&off), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_needs_auth_and_reports_issues),
        cmocka_unit_test(test_usage_summary),
        cmocka_unit_test(test_processes_list_the_server),
        cmocka_unit_test(test_process_cmdline_is_masked),
        cmocka_unit_test(test_every_collector_reaches_the_store),
        cmocka_unit_test(test_process_monitoring_off),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
