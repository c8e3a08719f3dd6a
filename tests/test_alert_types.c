/* SPDX-License-Identifier: Apache-2.0 */
/* The specification's alert types that need application or job data, each driven by real
 * data through the built-in rules: a real child process leaking memory read by the real
 * collector (and one whose RSS jumps once, which must not count as a leak), function
 * latency, exceptions, job failures, compilation durations and request latency pushed as
 * Influx line protocol through the ingest parser. Time is compressed: every pass is
 * stamped 30 s after the previous one and the engine is evaluated at those instants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "omega/alert.h"
#include "omega/collect.h"
#include "omega/ingest.h"
#include "omega/log.h"
#include "omega/query.h"
#include "omega/tsdb.h"
#include "storetest.h"
#include "testutil.h"

#define SEC        1000LL
#define MIN        (60 * SEC)
#define STEP       (30 * SEC)    /* one compressed collection / push interval */
#define LEAK_BLOCK (1024 * 1024) /* bytes the leaking child adds per pass */

typedef struct fx {
    char *dir;
    omega_tsdb_t *db;
    omega_alert_engine_t *e;
    int64_t t0; /* fake clock origin, in the past so every stamp is accepted */
} fx_t;

static int setup(void **state)
{
    omega_log_set_level(OMEGA_LOG_ERROR);
    fx_t *f = calloc(1, sizeof(*f));
    f->dir = testutil_mkdtemp("alerttypes");
    f->db = storetest_open(f->dir);
    omega_alert_options_t o;
    omega_alert_options_init(&o); /* built-in rules on, default config */
    f->e = omega_alert_create(f->db, &o, NULL);
    assert_non_null(f->e);
    f->t0 = (omega_now_ms() - 3 * 3600 * SEC) / MIN * MIN;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    omega_alert_destroy(f->e);
    omega_tsdb_close(f->db);
    testutil_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Push line protocol (millisecond timestamps) through the ingest parser into the store. */
static void lp(fx_t *f, const char *fmt, ...)
{
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    omega_ingest_batch_t *b = omega_ingest_batch_create();
    omega_error_t err;
    omega_error_clear(&err);
    if (omega_lp_parse(text, strlen(text), OMEGA_LP_MS, f->t0, NULL, b, &err) != 0)
        fail_msg("line protocol rejected: %s", err.message);
    size_t n = 0;
    const omega_point_t *p = omega_ingest_batch_points(b, &n);
    assert_int_equal(omega_tsdb_write(f->db, p, n, NULL), 0);
    omega_ingest_batch_destroy(b);
}

static const char *sget(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* Evaluate at t0 + at_ms; the active alerts of rule_id (caller decrefs). */
static json_t *eval_alerts(fx_t *f, int64_t at_ms, const char *rule_id)
{
    assert_int_equal(omega_alert_evaluate(f->e, f->t0 + at_ms), 0);
    char *text = NULL;
    assert_int_equal(omega_alert_rule_get(f->e, rule_id, &text, NULL), 0);
    json_t *rule = json_loads(text, 0, NULL);
    free(text);
    if (!json_is_null(json_object_get(rule, "last_error")))
        fail_msg("rule %s: %s", rule_id, sget(rule, "last_error"));
    json_decref(rule);
    assert_int_equal(omega_alert_active(f->e, &text, NULL), 0);
    json_t *all = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(all);
    json_t *out = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(all, "items"), i, it)
    {
        if (strcmp(json_string_value(json_object_get(it, "rule_id")), rule_id) == 0)
            json_array_append(out, it);
    }
    json_decref(all);
    return out;
}

static const char *label(json_t *alert, const char *name)
{
    return sget(json_object_get(alert, "labels"), name);
}

/* ---- the leaking child ---- */

/* Child side: each command byte on stdin is acknowledged on stdout after acting on it:
 * 'g' maps and touches LEAK_BLOCK more bytes, 'j' 40 of them at once, '.' nothing. */
static int leak_child_main(void)
{
    char cmd;
    while (read(0, &cmd, 1) == 1) {
        for (int k = 0; k < (cmd == 'g' ? 1 : cmd == 'j' ? 40 : 0); k++) {
            char *p =
                mmap(NULL, LEAK_BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p != MAP_FAILED)
                memset(p, 0x5a, LEAK_BLOCK); /* touched: resident */
        }
        if (write(1, &cmd, 1) != 1)
            break;
    }
    _exit(0);
}

typedef struct child {
    pid_t pid;
    int to, from; /* command pipe, acknowledgement pipe */
} child_t;

/* Start this test binary again as a child whose command line reads "omega-leaktest ...". */
static void child_start(child_t *c)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    int in[2], out[2];
    /* Close-on-exec: a second child must not hold the first one's pipes open (it would
     * never see the end of its input). */
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    for (int i = 0; i < 2; i++) {
        fcntl(in[i], F_SETFD, FD_CLOEXEC);
        fcntl(out[i], F_SETFD, FD_CLOEXEC);
    }
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        execl(exe, "omega-leaktest", "--leak-child", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    c->to = in[1];
    c->from = out[0];
}

static void child_cmd(child_t *c, char cmd)
{
    char ack = 0;
    assert_int_equal(write(c->to, &cmd, 1), 1);
    assert_int_equal(read(c->from, &ack, 1), 1);
    assert_int_equal(ack, cmd);
}

static void child_stop(child_t *c)
{
    close(c->to);
    close(c->from);
    int status = 0;
    assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int sink_write(void *ctx, const omega_point_t *points, size_t n)
{
    return omega_tsdb_write(ctx, points, n, NULL);
}

/* deriv over 15 min of pid's RSS at t (the plain slope, without the steadiness test). */
static double rss_slope(fx_t *f, pid_t pid, int64_t t)
{
    char expr[160];
    snprintf(expr, sizeof(expr), "deriv(system_process_resident_memory_bytes{pid=\"%d\"}[15m])",
             (int)pid);
    omega_vector_t *v = NULL;
    assert_int_equal(omega_query_instant(f->db, expr, f->t0 + t, &v, NULL), 0);
    assert_int_equal((int)v->n, 1);
    double d = v->items[0].value;
    omega_vector_destroy(v);
    return d;
}

/* A child leaking 1 MiB per 30 s (35 KiB/s) for 30 min fires builtin-memory-leak after ~10
 * min of data and its 10 min `for`; a child whose RSS jumps by 40 MiB once (a slope of the
 * same order over 15 min) never does: its 5-minute slices do not all rise. */
static void test_memory_leak_real_child(void **state)
{
    fx_t *f = *state;
    child_t leaky, jumpy;
    child_start(&leaky);
    child_start(&jumpy);
    omega_collect_options_t co;
    omega_collect_options_init(&co);
    co.enable_cpu = co.enable_memory = co.enable_vmstat = co.enable_disk = 0;
    co.enable_network = co.enable_sensors = co.enable_pressure = co.enable_self = 0;
    co.enable_processes = 1;
    co.watch.include_omega = co.watch.include_compilers = 0;
    const char *pattern[] = {"^omega-leaktest"};
    co.watch.patterns = pattern;
    co.watch.n_patterns = 1;
    omega_collector_t *col = omega_collector_create(&co, NULL);
    assert_non_null(col);
    omega_collect_sink_t sink = {sink_write, f->db};
    int fired_at = -1, jump_slope_seen = 0;
    for (int k = 0; k <= 60; k++) {
        child_cmd(&leaky, 'g');
        child_cmd(&jumpy, k == 36 ? 'j' : '.');
        omega_collector_collect(col, f->t0 + k * STEP, &sink);
        json_t *a = eval_alerts(f, k * STEP, "builtin-memory-leak");
        size_t i;
        json_t *it;
        json_array_foreach(a, i, it)
        {
            char pid[16];
            snprintf(pid, sizeof(pid), "%d", (int)jumpy.pid);
            assert_string_not_equal(label(it, "pid"), pid);
            snprintf(pid, sizeof(pid), "%d", (int)leaky.pid);
            assert_string_equal(label(it, "pid"), pid);
            if (fired_at < 0 && strcmp(sget(it, "state"), "firing") == 0)
                fired_at = k;
        }
        json_decref(a);
        if (k == 40)
            jump_slope_seen = rss_slope(f, jumpy.pid, k * STEP) > 10240;
    }
    /* About 10 min until the oldest 5-minute slice has two samples, then the 10 min `for`. */
    if (fired_at < 40 || fired_at > 43)
        fail_msg("the leak fired at pass %d, expected 40..43", fired_at);
    assert_true(jump_slope_seen); /* a plain slope rule would have flagged the jump */
    omega_collector_destroy(col);
    child_stop(&leaky);
    child_stop(&jumpy);
}

/* parse() goes from 10 ms to 25 ms per call at minute 60 (2.5 times its baseline: a
 * warning after the 2 min `for`); lex() stays at 10 ms; rare() slows down too but is
 * called too seldom to judge. */
static void test_function_degradation(void **state)
{
    fx_t *f = *state;
    double sum_parse = 0, sum_lex = 0, sum_rare = 0;
    int64_t calls = 0, rare = 0;
    json_t *a = NULL;
    for (int k = 0; k <= 140; k++) {
        int slow = k > 120;
        calls += 60; /* 2 calls per second */
        rare += k % 10 == 0;
        sum_parse += 60 * (slow ? 0.025 : 0.010);
        sum_lex += 60 * 0.010;
        sum_rare += k % 10 == 0 ? (slow ? 1.0 : 0.010) : 0;
        lp(f,
           "omega_function_duration_seconds,app=cc,function=parse sum=%.3f,count=%lldi %lld\n"
           "omega_function_duration_seconds,app=cc,function=lex sum=%.3f,count=%lldi %lld\n"
           "omega_function_duration_seconds,app=cc,function=rare sum=%.3f,count=%lldi %lld\n",
           sum_parse, (long long)calls, (long long)(f->t0 + k * STEP), sum_lex, (long long)calls,
           (long long)(f->t0 + k * STEP), sum_rare, (long long)rare, (long long)(f->t0 + k * STEP));
        json_decref(a);
        a = eval_alerts(f, k * STEP, "builtin-function-degradation");
        if (k == 120)
            assert_int_equal(json_array_size(a), 0);
        if (k == 125) /* 2.5 min after the slow-down: pending (`for` 2 min) */
            assert_string_equal(sget(json_array_get(a, 0), "state"), "pending");
    }
    assert_int_equal(json_array_size(a), 1);
    json_t *it = json_array_get(a, 0);
    assert_string_equal(sget(it, "state"), "firing");
    assert_string_equal(sget(it, "severity"), "warning");
    assert_string_equal(label(it, "function"), "parse");
    assert_string_equal(label(it, "app"), "cc");
    double ratio = json_number_value(json_object_get(it, "value"));
    assert_true(ratio > 2.0 && ratio < 3.0);
    json_decref(a);
}

/* 200 exceptions a minute in one application (critical after the 1 min `for`), 2 a minute
 * in another (fine). */
static void test_exception_rate(void **state)
{
    fx_t *f = *state;
    json_t *a = NULL;
    for (int k = 0; k <= 24; k++) {
        lp(f,
           "omega_exceptions,app=api,type=KeyError total=%di %lld\n"
           "omega_exceptions,app=api,type=IOError total=%di %lld\n"
           "omega_exceptions,app=calm,type=KeyError total=%di %lld\n",
           60 * k, (long long)(f->t0 + k * STEP), 40 * k, (long long)(f->t0 + k * STEP), k,
           (long long)(f->t0 + k * STEP));
        json_decref(a);
        a = eval_alerts(f, k * STEP, "builtin-exception-rate");
    }
    assert_int_equal(json_array_size(a), 1);
    json_t *it = json_array_get(a, 0);
    assert_string_equal(label(it, "app"), "api");
    assert_string_equal(sget(it, "state"), "firing");
    assert_string_equal(sget(it, "severity"), "critical");
    assert_true(json_number_value(json_object_get(it, "value")) > 150);
    json_decref(a);
}

/* The job metrics as the jobs module writes them (counters born at 0): a compile job fails
 * at minute 10, another at minute 12; the alert resolves 5 min after the last. Compilations
 * of job "fe" take 200 s (warning, over 180 s); from minute 20 one runs and does not end
 * (critical once the running one is over 300 s old). The "test" kind is no compilation
 * however long it takes. */
static void test_job_failure_and_compilation_time(void **state)
{
    fx_t *f = *state;
    int failed = 0, ok = 0;
    json_t *jobs = NULL, *comp = NULL;
    for (int k = 0; k <= 60; k++) {
        int64_t ts = f->t0 + k * STEP;
        if (k < 40) {
            ok++;
            lp(f,
               "omega_operations,kind=compile,job=fe,status=ok total=%di %lld\n"
               "omega_operation_last_duration_seconds,kind=compile,job=fe,status=ok "
               "value=200 %lld\n"
               "omega_operations_active_oldest_seconds,kind=compile,job=fe value=0 %lld\n",
               ok, (long long)ts, (long long)ts, (long long)ts);
        } else {
            lp(f, "omega_operations_active_oldest_seconds,kind=compile,job=fe value=%d %lld\n",
               (k - 40) * 30, (long long)ts);
        }
        lp(f, "omega_operation_last_duration_seconds,kind=test,job=fe,status=ok value=1000 %lld\n",
           (long long)ts);
        if (k == 20 || k == 24)
            failed++;
        lp(f, "omega_operations,kind=compile,job=fe,status=failed total=%di %lld\n", failed,
           (long long)ts);
        json_decref(jobs);
        jobs = eval_alerts(f, k * STEP, "builtin-job-failure");
        json_decref(comp);
        comp = eval_alerts(f, k * STEP, "builtin-compilation-time");
        if (k == 19)
            assert_int_equal(json_array_size(jobs), 0);
        if (k == 20 || k == 30) {
            assert_int_equal(json_array_size(jobs), 1);
            json_t *it = json_array_get(jobs, 0);
            assert_string_equal(sget(it, "state"), "firing");
            assert_string_equal(sget(it, "severity"), "warning");
            assert_string_equal(label(it, "kind"), "compile");
        }
        if (k == 20 || k == 45) { /* k == 45: the last 200 s one ended 2.5 min ago */
            assert_int_equal(json_array_size(comp), 1);
            assert_string_equal(sget(json_array_get(comp, 0), "severity"), "warning");
            assert_string_equal(label(json_array_get(comp, 0), "job"), "fe");
        }
    }
    assert_int_equal(json_array_size(jobs), 0); /* last failure at minute 12: resolved */
    assert_int_equal(json_array_size(comp), 1);
    json_t *it = json_array_get(comp, 0);
    assert_string_equal(sget(it, "severity"), "critical");
    assert_true(json_number_value(json_object_get(it, "value")) == 600);
    json_decref(jobs);
    json_decref(comp);
    char *out = NULL;
    assert_int_equal(omega_alert_history(f->e, f->t0, f->t0 + 60 * STEP, "builtin-job-failure",
                                         NULL, 0, &out, NULL),
                     0);
    assert_non_null(strstr(out, "\"status\":\"resolved\""));
    free(out);
}

/* Request latency histograms: app "slow" answers mostly in 1-2.5 s (p95 over the 1 s
 * threshold), app "fast" within 100 ms. */
static void test_response_time(void **state)
{
    fx_t *f = *state;
    json_t *a = NULL;
    for (int k = 0; k <= 20; k++) {
        int64_t ts = f->t0 + k * STEP;
        char text[2048];
        int n = 0;
        const char *le[] = {"0.1", "0.5", "1", "2.5", "+Inf"};
        int slow[] = {1, 2, 3, 30, 30}, fast[] = {30, 30, 30, 30, 30};
        for (int b = 0; b < 5; b++)
            n += snprintf(text + n, sizeof(text) - (size_t)n,
                          "omega_http_request_duration_seconds,app=slow,le=%s bucket=%di %lld\n"
                          "omega_http_request_duration_seconds,app=fast,le=%s bucket=%di %lld\n",
                          le[b], slow[b] * k, (long long)ts, le[b], fast[b] * k, (long long)ts);
        lp(f, "%s", text);
        json_decref(a);
        a = eval_alerts(f, k * STEP, "builtin-response-time");
    }
    assert_int_equal(json_array_size(a), 1);
    json_t *it = json_array_get(a, 0);
    assert_string_equal(label(it, "app"), "slow");
    assert_string_equal(sget(it, "state"), "firing");
    double p95 = json_number_value(json_object_get(it, "value"));
    assert_true(p95 > 1.0 && p95 <= 2.5);
    json_decref(a);
}

/* A loopback TCP socket on a free port: listening when listen_too, else closed again (a
 * port that refuses connections). Returns the port; *fd the listening socket or -1. */
static int loopback_port(int listen_too, int *fd)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    if (listen_too)
        assert_int_equal(listen(s, 8), 0);
    else
        close(s);
    *fd = listen_too ? s : -1;
    return ntohs(a.sin_port);
}

/* Network connectivity through the real probe collector: a target that refuses connections
 * fires builtin-probe-failure (critical) after its 15 s `for`, a listening one never does.
 * Disk space low: a filesystem at 97 % fires builtin-disk-space (critical) and the warning
 * of builtin-disk-usage on the same series is inhibited by it; one at 50 % fires neither. */
static void test_probe_failure_and_disk_space(void **state)
{
    fx_t *f = *state;
    int lfd, dummy;
    char up[32], down[32];
    snprintf(up, sizeof(up), "127.0.0.1:%d", loopback_port(1, &lfd));
    snprintf(down, sizeof(down), "127.0.0.1:%d", loopback_port(0, &dummy));
    omega_collect_options_t co;
    omega_collect_options_init(&co);
    co.enable_cpu = co.enable_memory = co.enable_vmstat = co.enable_disk = 0;
    co.enable_processes = co.enable_sensors = co.enable_pressure = co.enable_self = 0;
    co.enable_network = 1;
    const char *targets[] = {up, down};
    co.probe_targets = targets;
    co.n_probe_targets = 2;
    co.probe_timeout_ms = 1000;
    omega_collector_t *col = omega_collector_create(&co, NULL);
    assert_non_null(col);
    omega_collect_sink_t sink = {sink_write, f->db};
    int64_t first_seen = -1, fired = -1;
    /* Probe rounds run on the collector's thread: a pass reports the last finished round.
     * Fake time moves 5 s a pass; real time 50 ms (at most 200 passes). */
    for (int k = 0; k < 200 && fired < 0; k++) {
        omega_collector_collect(col, f->t0 + k * 5 * SEC, &sink);
        json_t *a = eval_alerts(f, k * 5 * SEC, "builtin-probe-failure");
        size_t i;
        json_t *it;
        json_array_foreach(a, i, it)
        {
            assert_string_equal(label(it, "target"), down);
            if (first_seen < 0)
                first_seen = k;
            if (strcmp(sget(it, "state"), "firing") == 0) {
                fired = k;
                assert_string_equal(sget(it, "severity"), "critical");
            }
        }
        json_decref(a);
        usleep(50 * 1000);
    }
    omega_collector_destroy(col);
    close(lfd);
    if (first_seen < 0 || fired < 0)
        fail_msg("the refused target never fired (pending from pass %d)", (int)first_seen);
    assert_true(fired - first_seen >= 3); /* 15 s of `for` at 5 s a pass */

    int64_t t = 1000 * 5 * SEC;
    /* The disk collector's series for a nearly full and a half full filesystem. */
    omega_label_t data[2] = {{"device", "sdb1"}, {"mountpoint", "/data"}};
    omega_label_t root[2] = {{"device", "sda1"}, {"mountpoint", "/"}};
    omega_point_t pts[2] = {{"system_filesystem_used_percent", data, 2, f->t0 + t, 97},
                            {"system_filesystem_used_percent", root, 2, f->t0 + t, 50}};
    assert_int_equal(omega_tsdb_write(f->db, pts, 2, NULL), 0);
    json_t *crit = eval_alerts(f, t, "builtin-disk-space");
    json_t *warn = eval_alerts(f, t, "builtin-disk-usage");
    assert_int_equal((int)json_array_size(crit), 1);
    assert_int_equal((int)json_array_size(warn), 1);
    json_t *c = json_array_get(crit, 0), *w = json_array_get(warn, 0);
    assert_string_equal(label(c, "mountpoint"), "/data");
    assert_string_equal(sget(c, "severity"), "critical");
    assert_string_equal(sget(c, "state"), "firing");
    assert_string_equal(label(w, "mountpoint"), "/data");
    assert_string_equal(sget(w, "severity"), "warning");
    assert_true(json_is_true(json_object_get(w, "inhibited")));
    assert_true(json_is_false(json_object_get(c, "inhibited")));
    json_decref(crit);
    json_decref(warn);
}

/* Every application rule is listed as built in; they cannot be deleted (edits and
 * disabling: test_alert_rules). */
static void test_builtin_rules_listed(void **state)
{
    fx_t *f = *state;
    const char *ids[] = {"builtin-memory-leak",      "builtin-function-degradation",
                         "builtin-exception-rate",   "builtin-job-failure",
                         "builtin-compilation-time", "builtin-response-time"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char *out = NULL;
        assert_int_equal(omega_alert_rule_get(f->e, ids[i], &out, NULL), 0);
        json_t *r = json_loads(out, 0, NULL);
        free(out);
        assert_true(json_is_true(json_object_get(r, "builtin")));
        assert_true(json_is_null(json_object_get(r, "last_error")));
        json_decref(r);
        omega_error_t err;
        omega_error_clear(&err);
        assert_int_equal(omega_alert_rule_delete(f->e, ids[i], &err), OMEGA_EPERM);
    }
    /* The compilation thresholds come from alerting.alert_thresholds (seconds). */
    char *out = NULL;
    assert_int_equal(omega_alert_rule_get(f->e, "builtin-compilation-time", &out, NULL), 0);
    json_t *r = json_loads(out, 0, NULL);
    free(out);
    assert_true(json_number_value(json_object_get(r, "warning")) == 180);
    assert_true(json_number_value(json_object_get(r, "critical")) == 300);
    json_decref(r);
}

/* The rule's last evaluation time as Unix ms (0 = never). */
static int64_t last_evaluated(fx_t *f, const char *id)
{
    char *out = NULL;
    assert_int_equal(omega_alert_rule_get(f->e, id, &out, NULL), 0);
    json_t *r = json_loads(out, 0, NULL);
    free(out);
    json_t *v = json_object_get(r, "last_evaluated_at");
    int64_t ms = 0;
    if (json_is_string(v)) {
        struct tm tm = {0};
        int frac = 0;
        assert_non_null(strptime(json_string_value(v), "%Y-%m-%dT%H:%M:%S", &tm));
        const char *dot = strchr(json_string_value(v), '.');
        if (dot)
            frac = atoi(dot + 1);
        ms = (int64_t)timegm(&tm) * 1000 + frac;
    }
    json_decref(r);
    return ms;
}

/* builtin-memory-leak reads 5-15 min windows of every watched process: it runs every 30 s,
 * not at every 1 s pass, while cheap rules run at every pass. */
static void test_leak_rule_evaluated_every_30s(void **state)
{
    fx_t *f = *state;
    const int64_t secs[] = {0, 1, 29, 30, 31, 60};
    const int64_t leak_seen[] = {0, 0, 0, 30, 30, 60};
    for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++) {
        assert_int_equal(omega_alert_evaluate(f->e, f->t0 + secs[i] * SEC), 0);
        assert_int_equal(last_evaluated(f, "builtin-memory-leak"), f->t0 + leak_seen[i] * SEC);
        assert_int_equal(last_evaluated(f, "builtin-exception-rate"), f->t0 + secs[i] * SEC);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--leak-child") == 0)
        return leak_child_main();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memory_leak_real_child, setup, teardown),
        cmocka_unit_test_setup_teardown(test_function_degradation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exception_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_failure_and_compilation_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_failure_and_disk_space, setup, teardown),
        cmocka_unit_test_setup_teardown(test_builtin_rules_listed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leak_rule_evaluated_every_30s, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
