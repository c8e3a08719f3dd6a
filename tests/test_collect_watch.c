/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of per-process monitoring in collect/: which processes process_filters select, their
 * CPU %, memory and start time, exit events (vanished, zombie with its status, pid reuse),
 * processes exiting mid-read, the process list API, and the live machine (this test's own
 * process). Trees under /proc are written by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "omega/collect.h"
#include "testutil.h"

#include "../collect/collect_int.h"

#define TS    1767225600000LL
#define BTIME 1767225000LL

typedef struct events {
    int n;            /* events received */
    int64_t pid[8];   /* their pids */
    int code[8];      /* their exit codes */
    char name[8][64]; /* their names */
    char cmd[8][128]; /* their command lines */
    int64_t start[8]; /* their start times */
} events_t;

static void on_exit_cb(void *ctx, const omega_process_event_t *ev)
{
    events_t *e = ctx;
    assert_true(e->n < 8);
    e->pid[e->n] = ev->pid;
    e->code[e->n] = ev->exit_code;
    snprintf(e->name[e->n], sizeof(e->name[0]), "%s", ev->name);
    snprintf(e->cmd[e->n], sizeof(e->cmd[0]), "%s", ev->cmdline);
    e->start[e->n] = ev->started_at_ms;
    assert_int_equal(ev->ts_ms % 1000, 0);
    e->n++;
}

static void put(const char *root, const char *rel, const char *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    assert_int_equal(testutil_write_file(path, data, len), 0);
}

/* Write /proc/<pid>/stat (fields 3..52) and, unless cmd is NULL, /proc/<pid>/cmdline (args
 * separated by '|' in cmd, written NUL-separated). */
static void put_proc(const char *root, int pid, const char *comm, char state, int ppid,
                     unsigned long long ticks, int threads, unsigned long long start,
                     unsigned long long rss, int wait_status, const char *cmd)
{
    char line[1024], rel[64];
    unsigned long long f[53] = {0};
    f[4] = (unsigned long long)ppid;
    f[14] = ticks;
    f[20] = (unsigned long long)threads;
    f[22] = start;
    f[24] = rss;
    f[52] = (unsigned long long)wait_status;
    int n = snprintf(line, sizeof(line), "%d (%s) %c", pid, comm, state);
    for (int i = 4; i <= 52; i++)
        n += snprintf(line + n, sizeof(line) - (size_t)n, " %llu", f[i]);
    snprintf(line + n, sizeof(line) - (size_t)n, "\n");
    snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
    put(root, rel, line, strlen(line));
    if (!cmd)
        return;
    char args[512];
    size_t len = strlen(cmd);
    memcpy(args, cmd, len + 1);
    for (size_t i = 0; i < len; i++)
        if (args[i] == '|')
            args[i] = '\0';
    snprintf(rel, sizeof(rel), "proc/%d/cmdline", pid);
    put(root, rel, args, len + 1);
}

static void rm_proc(const char *root, int pid)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/proc/%d", root, pid);
    assert_int_equal(testutil_rmtree(path), 0);
}

static omega_collector_t *make(const char *root, const char *const *patterns, size_t np,
                               int exclude_system, events_t *ev)
{
    omega_collect_options_t o;
    omega_error_t err;
    omega_collect_options_init(&o);
    o.root = root;
    o.enable_cpu = o.enable_memory = o.enable_vmstat = o.enable_disk = 0;
    o.enable_network = o.enable_sensors = o.enable_self = o.enable_pressure = 0;
    o.watch.patterns = patterns;
    o.watch.n_patterns = np;
    o.watch.exclude_system = exclude_system;
    o.on_process_exit = on_exit_cb;
    o.on_process_exit_ctx = ev;
    omega_collector_t *c = omega_collector_create(&o, &err);
    if (!c)
        fail_msg("create: %s", err.message);
    return c;
}

/* A tree with btime and a handful of processes. */
static char *tree(void)
{
    char *root = testutil_mkdtemp("watch");
    char stat[64];
    int n = snprintf(stat, sizeof(stat), "cpu  1 1 1 1\nbtime %lld\n", BTIME);
    put(root, "proc/stat", stat, (size_t)n);
    put_proc(root, 1, "systemd", 'S', 0, 10, 1, 1, 100, 0, "/sbin/init");
    put_proc(root, 2, "kthreadd", 'S', 0, 0, 1, 1, 0, 0, "");
    put_proc(root, 30, "gcc", 'S', 2, 0, 1, 2, 0, 0, ""); /* a kernel thread named gcc */
    put_proc(root, 100, "gcc", 'S', 1, 100, 1, 5000, 250, 0, "gcc|-O2|-c|main.c");
    put_proc(root, 101, "cc1plus", 'R', 100, 40, 1, 5100, 4000, 0, "cc1plus|-quiet|a.cpp");
    put_proc(root, 102, "x86_64-linux-gnu-gcc-12", 'S', 1, 0, 1, 5200, 10, 0,
             "x86_64-linux-gnu-gcc-12|x.c");
    put_proc(root, 103, "omega-monitor", 'S', 1, 500, 9, 4000, 3000, 0, "omega-monitor|serve");
    put_proc(root, 104, "python3", 'S', 1, 0, 1, 5300, 10, 0,
             "python3|/home/ann/build.py|--to|ann@example.com");
    put_proc(root, 105, "bash", 'S', 1, 0, 1, 4500, 10, 0, "bash");
    return root;
}

static void test_compiler_names(void **state)
{
    (void)state;
    const char *yes[] = {"gcc",   "cc1plus", "g++-13", "x86_64-linux-gnu-gcc-12", "clang++-17",
                         "rustc", "ld.lld",  "ninja",  "arm-none-eabi-as",        "clang-17.0.1",
                         "make",  "javac",   "go"};
    const char *no[] = {"bash",    "gccx", "gcc-", "xgcc",     "clang-x",
                        "python3", "",     "-",    "gcc-12-x", "goroutine"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (!watch_is_compiler(yes[i]))
            fail_msg("%s should be a compiler", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (watch_is_compiler(no[i]))
            fail_msg("%s should not be a compiler", no[i]);
}

static void test_selection_cpu_memory_and_start(void **state)
{
    (void)state;
    char *root = tree();
    const char *pats[] = {"build\\.py"};
    events_t ev = {0};
    cap_t cap = {0};
    omega_collector_t *c = make(root, pats, 1, 0, &ev);
    double page = (double)sysconf(_SC_PAGESIZE), hz = (double)sysconf(_SC_CLK_TCK);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    /* gcc (also the kernel thread: not excluded here), cc1plus, the prefixed gcc, omega and
     * python by its command line; not systemd, kthreadd or bash. */
    assert_int_equal(cap_count(&cap, "system_process_threads"), 6);
    assert_null(cap_find(&cap, "system_process_threads", "pid", "105", "name", "bash", NULL));
    assert_true(fabs(cap_value(&cap, "system_process_resident_memory_bytes", "pid", "101", "name",
                               "cc1plus", NULL) -
                     4000 * page) < 1e-6);
    assert_true(fabs(cap_value(&cap, "system_process_start_time_seconds", "pid", "100", "name",
                               "gcc", NULL) -
                     ((double)BTIME + 5000 / hz)) < 1e-6);
    assert_int_equal(
        cap_value(&cap, "system_process_threads", "pid", "103", "name", "omega-monitor", NULL), 9);
    assert_int_equal(cap_count(&cap, "system_process_cpu_percent"), 0); /* one pass only */
    /* 2 s later gcc used hz ticks (1 s of CPU): 50 % of one core. */
    put_proc(root, 100, "gcc", 'R', 1, 100 + (unsigned long long)hz, 1, 5000, 250, 0,
             "gcc|-O2|-c|main.c");
    assert_int_equal(cap_pass(c, &cap, TS + 2000), 0);
    assert_true(
        fabs(cap_value(&cap, "system_process_cpu_percent", "pid", "100", "name", "gcc", NULL) -
             50.0) < 1e-9);
    assert_true(
        cap_value(&cap, "system_process_cpu_percent", "pid", "101", "name", "cc1plus", NULL) == 0);
    assert_int_equal(ev.n, 0);
    omega_collector_destroy(c);
    cap_free(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_exclude_system_and_bad_patterns(void **state)
{
    (void)state;
    char *root = tree();
    events_t ev = {0};
    cap_t cap = {0};
    omega_collector_t *c = make(root, NULL, 0, 1, &ev);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    /* The kernel thread named gcc is gone; root-owned processes (this test's files) stay. */
    assert_null(cap_find(&cap, "system_process_threads", "pid", "30", "name", "gcc", NULL));
    assert_non_null(cap_find(&cap, "system_process_threads", "pid", "100", "name", "gcc", NULL));
    /* Without patterns, python's build.py is not selected. */
    assert_null(cap_find(&cap, "system_process_threads", "pid", "104", "name", "python3", NULL));
    omega_collector_destroy(c);

    omega_collect_options_t o;
    omega_error_t err;
    omega_collect_options_init(&o);
    const char *bad[] = {"ok", "(unclosed"};
    o.watch.patterns = bad;
    o.watch.n_patterns = 2;
    assert_null(omega_collector_create(&o, &err));
    assert_string_equal(err.path, "watch.patterns");
    o.watch.patterns = NULL;
    assert_null(omega_collector_create(&o, &err));
    cap_free(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_exit_events(void **state)
{
    (void)state;
    char *root = tree();
    events_t ev = {0};
    cap_t cap = {0};
    omega_collector_t *c = make(root, NULL, 0, 0, &ev);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    /* gcc vanishes; cc1plus is a zombie that exited 1 (wait status 256); bash (unwatched)
     * vanishes too; pid 102 is reused by another program. */
    rm_proc(root, 100);
    rm_proc(root, 105);
    put_proc(root, 101, "cc1plus", 'Z', 100, 40, 1, 5100, 0, 256, "");
    put_proc(root, 102, "cat", 'S', 1, 0, 1, 9999, 10, 0, "cat");
    assert_int_equal(cap_pass(c, &cap, TS + 1000), 0);
    assert_int_equal(ev.n, 3);
    int seen = 0;
    for (int i = 0; i < ev.n; i++) {
        if (ev.pid[i] == 100) {
            assert_string_equal(ev.name[i], "gcc");
            assert_string_equal(ev.cmd[i], "gcc -O2 -c main.c");
            assert_int_equal(ev.code[i], -1);
            assert_int_equal(ev.start[i], BTIME * 1000 + 5000 * 1000 / sysconf(_SC_CLK_TCK));
            seen |= 1;
        } else if (ev.pid[i] == 101) {
            assert_int_equal(ev.code[i], 1);
            seen |= 2;
        } else if (ev.pid[i] == 102) {
            assert_string_equal(ev.name[i], "x86_64-linux-gnu-gcc-12");
            seen |= 4;
        }
    }
    assert_int_equal(seen, 7);
    /* A zombie has no resource series. */
    assert_null(cap_find(&cap, "system_process_threads", "pid", "101", "name", "cc1plus", NULL));
    /* The zombie is reaped and a killed zombie appears: one event each, no repeats. */
    rm_proc(root, 101);
    put_proc(root, 110, "ld", 'Z', 1, 0, 1, 6000, 0, 9, "");
    assert_int_equal(cap_pass(c, &cap, TS + 2000), 0);
    assert_int_equal(ev.n, 4);
    assert_int_equal(ev.pid[3], 110);
    assert_int_equal(ev.code[3], 128 + 9);
    assert_int_equal(cap_pass(c, &cap, TS + 3000), 0);
    assert_int_equal(ev.n, 4);
    omega_collector_destroy(c);
    cap_free(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_process_exiting_mid_read(void **state)
{
    (void)state;
    char *root = tree();
    const char *pats[] = {"render"};
    events_t ev = {0};
    cap_t cap = {0};
    omega_collector_t *c = make(root, pats, 1, 0, &ev);
    /* Only a stat file: the process exited between reading stat and cmdline. Another has a
     * directory but no stat at all, a third a truncated stat. */
    put_proc(root, 200, "blender", 'S', 1, 0, 1, 7000, 10, 0, NULL);
    /* A name that is not UTF-8 (comm is any bytes): the label gets '?' for the bad byte. */
    put_proc(root, 203,
             "ren\xff"
             "der\xe2\x82",
             'S', 1, 0, 1, 7000, 10, 0, "x|--render");
    put(root, "proc/201/status", "Name:\tgone\n", 11);
    put(root, "proc/202/stat", "202 (half", 9);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    assert_null(cap_find(&cap, "system_process_threads", "pid", "200", "name", "blender", NULL));
    assert_int_equal(cap_count(&cap, "system_process_threads"), 6);
    assert_non_null(
        cap_find(&cap, "system_process_threads", "pid", "203", "name", "ren?der??", NULL));
    put(root, "proc/200/cmdline", "blender\0--render\0", 17);
    assert_int_equal(cap_pass(c, &cap, TS + 1000), 0);
    assert_non_null(
        cap_find(&cap, "system_process_threads", "pid", "200", "name", "blender", NULL));
    assert_int_equal(ev.n, 0);
    omega_collector_destroy(c);
    cap_free(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_process_list(void **state)
{
    (void)state;
    char *root = tree();
    events_t ev = {0};
    cap_t cap = {0};
    omega_process_info_t *p = NULL;
    size_t n = 99;
    omega_error_t err;
    omega_collector_t *c = make(root, NULL, 0, 0, &ev);
    /* Before the first pass: an empty list. */
    assert_int_equal(omega_collector_processes(c, NULL, &p, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(p);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    assert_int_equal(omega_collector_processes(c, "", &p, &n, &err), 0);
    assert_int_equal(n, 9);
    for (size_t i = 1; i < n; i++)
        assert_true(p[i - 1].pid < p[i].pid);
    omega_process_info_free(p, n);
    /* By name or command line. */
    assert_int_equal(omega_collector_processes(c, "gcc|example\\.com", &p, &n, &err), 0);
    assert_int_equal(n, 4); /* 30, 100, 102 by name, 104 by its arguments */
    assert_int_equal(p[1].pid, 100);
    assert_string_equal(p[1].name, "gcc");
    assert_string_equal(p[1].cmdline, "gcc -O2 -c main.c");
    assert_string_equal(p[1].state, "sleeping");
    assert_int_equal(p[1].ppid, 1);
    assert_true(p[1].watched);
    assert_true(p[1].cpu_percent < 0); /* unknown after one pass */
    assert_int_equal(p[1].rss_bytes, 250 * (uint64_t)sysconf(_SC_PAGESIZE));
    assert_int_equal(p[1].started_at_ms, BTIME * 1000 + 5000 * 1000 / sysconf(_SC_CLK_TCK));
    struct passwd *me = getpwuid(getuid());
    assert_non_null(me);
    assert_string_equal(p[1].user, me->pw_name);
    assert_int_equal(p[3].pid, 104);
    assert_false(p[3].watched);
    assert_string_equal(p[3].cmdline, "python3 /home/ann/build.py --to ann@example.com");
    omega_process_info_free(p, n);
    assert_int_equal(omega_collector_processes(c, "(bad", &p, &n, &err), OMEGA_EINVAL);
    assert_string_equal(err.path, "pattern");
    assert_int_equal(omega_collector_processes(c, "nothing-matches-this", &p, &n, &err), 0);
    assert_int_equal(n, 0);
    omega_collector_destroy(c);

    omega_collect_options_t o;
    omega_collect_options_init(&o);
    o.root = root;
    o.enable_processes = 0;
    c = omega_collector_create(&o, &err);
    assert_non_null(c);
    assert_int_equal(omega_collector_processes(c, NULL, &p, &n, &err), OMEGA_EUNSUPP);
    omega_collector_destroy(c);
    omega_process_info_free(NULL, 0);
    cap_free(&cap);
    testutil_rmtree(root);
    free(root);
}

/* Threads of this process from /proc/self/status, read by the test. */
static long own_threads(void)
{
    char line[256];
    long n = -1;
    FILE *f = fopen("/proc/self/status", "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Threads: %ld", &n) == 1)
            break;
    fclose(f);
    return n;
}

static void test_live_own_process(void **state)
{
    (void)state;
    const char *pats[] = {"test_collect_watch"};
    events_t ev = {0};
    cap_t cap = {0};
    omega_process_info_t *p = NULL;
    size_t n = 0;
    omega_error_t err;
    omega_collector_t *c = make("/", pats, 1, 0, &ev);
    assert_int_equal(cap_pass(c, &cap, omega_now_ms() / 1000 * 1000), 0);
    assert_int_equal(cap_pass(c, &cap, omega_now_ms() / 1000 * 1000 + 1000), 0);
    char pid[24];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    const cap_pt_t *t = NULL;
    for (size_t i = 0; i < cap.n && !t; i++)
        if (!strcmp(cap.pts[i].name, "system_process_threads") &&
            !strcmp(cap.pts[i].lvalue[0], pid))
            t = &cap.pts[i];
    assert_non_null(t);
    assert_int_equal((long)t->value, own_threads());
    assert_int_equal(omega_collector_processes(c, "test_collect_watch", &p, &n, &err), 0);
    size_t i = 0;
    while (i < n && p[i].pid != getpid())
        i++;
    assert_true(i < n);
    assert_true(p[i].watched);
    assert_true(p[i].rss_bytes > 0);
    assert_true(p[i].cpu_percent >= 0);
    assert_string_equal(p[i].state, "running");
    assert_non_null(strstr(p[i].cmdline, "test_collect_watch"));
    struct passwd *me = getpwuid(getuid());
    assert_string_equal(p[i].user, me->pw_name);
    assert_true(p[i].started_at_ms <= omega_now_ms() &&
                p[i].started_at_ms > TS - 86400000LL * 3650);
    omega_process_info_free(p, n);
    omega_collector_destroy(c);
    cap_free(&cap);
}

static void test_live_child_exit_is_noticed(void **state)
{
    (void)state;
    const char *pats[] = {"watchme-[0-9]+"};
    events_t ev = {0};
    cap_t cap = {0};
    char tag[32], path[64], cmd[256];
    snprintf(tag, sizeof(tag), "watchme-%d", (int)getpid());
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        setpgid(0, 0); /* its own group: the test stops sh and its sleep together */
        execl("/bin/sh", "sh", "-c", "sleep 30", tag, (char *)NULL);
        _exit(127);
    }
    /* Wait (bounded) until the child runs sh, so its command line carries the tag. */
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)child);
    struct timespec pause = {0, 10 * 1000000};
    int ready = 0;
    for (int i = 0; i < 500 && !ready; i++) {
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(cmd, 1, sizeof(cmd) - 1, f) : 0;
        if (f)
            fclose(f);
        for (size_t k = 0; k < n; k++)
            if (cmd[k] == '\0')
                cmd[k] = ' ';
        cmd[n] = '\0';
        ready = strstr(cmd, tag) != NULL;
        if (!ready)
            nanosleep(&pause, NULL);
    }
    assert_true(ready);
    omega_collector_t *c = make("/", pats, 1, 0, &ev);
    int64_t ts = omega_now_ms() / 1000 * 1000;
    assert_int_equal(cap_pass(c, &cap, ts), 0);
    char pid[24];
    snprintf(pid, sizeof(pid), "%d", (int)child);
    assert_non_null(cap_find(&cap, "system_process_threads", "pid", pid, "name", "sh", NULL));
    assert_int_equal(kill(-child, SIGKILL), 0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    assert_int_equal(cap_pass(c, &cap, ts + 1000), 0);
    assert_null(cap_find(&cap, "system_process_threads", "pid", pid, "name", "sh", NULL));
    int seen = 0;
    for (int i = 0; i < ev.n; i++)
        if (ev.pid[i] == child) {
            seen++;
            assert_string_equal(ev.name[i], "sh");
            assert_non_null(strstr(ev.cmd[i], tag));
            assert_int_equal(ev.code[i], -1); /* reaped before a pass saw the zombie */
        }
    assert_int_equal(seen, 1);
    omega_collector_destroy(c);
    cap_free(&cap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compiler_names),
        cmocka_unit_test(test_selection_cpu_memory_and_start),
        cmocka_unit_test(test_exclude_system_and_bad_patterns),
        cmocka_unit_test(test_exit_events),
        cmocka_unit_test(test_process_exiting_mid_read),
        cmocka_unit_test(test_process_list),
        cmocka_unit_test(test_live_own_process),
        cmocka_unit_test(test_live_child_exit_is_noticed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
