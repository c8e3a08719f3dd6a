/* SPDX-License-Identifier: Apache-2.0 */
/* The backup and restore commands through the real omega-monitor binary: a backup refused
 * while the server holds the store, a backup of the stopped store, more data written, a
 * restore refused into the non-empty data dir, then forced, and the restarted server
 * answering with exactly the backed-up samples; missing and foreign backups refused; a
 * full store (max_storage_size, nothing left to drop) answering writes with 507. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "httpc.h"
#include "omega/tsdb.h"
#include "srvtest.h"
#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ADMIN_PW "correct-horse-battery-staple"

static srvtest_t S;

static char *const server_env[] = {
    "OMEGA_ADMIN_PASSWORD=" ADMIN_PW,
    NULL,
};

static int group_setup(void **state)
{
    (void)state;
    return srvtest_start_session(&S, "server-backup", server_env, "admin", ADMIN_PW);
}

static int group_teardown(void **state)
{
    (void)state;
    return srvtest_stop(&S);
}

/* Run omega-monitor with args (already quoted); output (stdout+stderr) into out. Returns
 * the exit status, or -1 when it did not exit normally. */
static int run_cli(const char *args, char *out, size_t len)
{
    char bin[1024], cmd[4096];
    testutil_build_path("omega-monitor", bin, sizeof(bin));
    snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", bin, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_lp(const char *name, double v)
{
    char body[256], msg[512];
    snprintf(body, sizeof(body), "%s,host=a value=%g\n", name, v); /* stamped now */
    httpc_resp_t r;
    assert_int_equal(httpc_request(S.port, "POST", "/api/v1/write", S.auth, body, strlen(body), &r),
                     0);
    int status = r.status;
    snprintf(msg, sizeof(msg), "%s", r.body ? r.body : "");
    httpc_resp_free(&r);
    if (status != 204)
        fail_msg("write %s: %d %s", name, status, msg);
}

/* Instant query: number of series, first value into val. */
static int query(const char *expr, char *val, size_t vlen)
{
    char path[512];
    snprintf(path, sizeof(path), "/api/v1/query?query=%s", expr);
    httpc_resp_t r;
    assert_int_equal(httpc_request(S.port, "GET", path, S.auth, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    json_t *res = json_object_get(json_object_get(j, "data"), "result");
    int n = (int)json_array_size(res);
    if (n && val)
        snprintf(
            val, vlen, "%s",
            json_string_value(json_array_get(json_object_get(json_array_get(res, 0), "value"), 1)));
    json_decref(j);
    httpc_resp_free(&r);
    return n;
}

static void stop_server(void)
{
    assert_int_equal(server_stop(S.pid), 0);
    S.pid = -1;
}

static void test_backup_and_restore_commands(void **state)
{
    (void)state;
    char args[2400], out[8192], bk[700], path[1024];
    write_lp("bk_metric", 7);
    /* the running server holds the store: the backup says so */
    snprintf(args, sizeof(args), "backup --data-dir '%s'", S.data);
    assert_int_equal(run_cli(args, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "server running"));

    stop_server();
    snprintf(bk, sizeof(bk), "%s/bk", S.dir);
    snprintf(args, sizeof(args), "backup --data-dir '%s' --to '%s'", S.data, bk);
    int rc = run_cli(args, out, sizeof(out));
    if (rc != 0)
        fail_msg("backup: %d %s", rc, out);
    const char *p = strstr(out, "backup written to ");
    assert_non_null(p);
    snprintf(path, sizeof(path), "%s", p + strlen("backup written to "));
    path[strcspn(path, "\n")] = '\0';
    assert_int_equal(strncmp(path, bk, strlen(bk)), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);

    /* more data after the backup */
    assert_int_equal(srvtest_launch_session(&S, server_env, "admin", ADMIN_PW), 0);
    write_lp("bk_metric", 8);
    write_lp("bk_after", 1);
    assert_int_equal(query("bk_after", NULL, 0), 1);
    /* never under a running server, even forced */
    snprintf(args, sizeof(args), "restore '%s' --data-dir '%s' --force", path, S.data);
    assert_int_equal(run_cli(args, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "in use by process"));
    assert_int_equal(query("bk_after", NULL, 0), 1);
    stop_server();

    /* the data dir is not empty: refused, then forced */
    snprintf(args, sizeof(args), "restore '%s' --data-dir '%s'", path, S.data);
    assert_int_equal(run_cli(args, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "not empty"));
    assert_non_null(strstr(out, "--force"));
    snprintf(args, sizeof(args), "restore '%s' --data-dir '%s' --force", path, S.data);
    rc = run_cli(args, out, sizeof(out));
    if (rc != 0)
        fail_msg("restore: %d %s", rc, out);
    assert_non_null(strstr(out, "restored "));

    /* the server comes back with exactly the backed-up data */
    assert_int_equal(srvtest_launch_session(&S, server_env, "admin", ADMIN_PW), 0);
    char val[64] = "";
    assert_int_equal(query("bk_metric", val, sizeof(val)), 1);
    assert_string_equal(val, "7");
    assert_int_equal(query("bk_after", NULL, 0), 0);
}

static void test_restore_refuses_bad_backups(void **state)
{
    (void)state;
    char args[2400], out[8192], dir[700];
    snprintf(args, sizeof(args), "restore '%s/nope' --data-dir '%s/r1'", S.dir, S.dir);
    assert_int_equal(run_cli(args, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "No such file or directory"));
    snprintf(dir, sizeof(dir), "%s/foreign", S.dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(args, sizeof(args), "restore '%s' --data-dir '%s/r2'", dir, S.dir);
    assert_int_equal(run_cli(args, out, sizeof(out)), 1);
    assert_non_null(strstr(out, "not an omega-monitor backup"));
    assert_int_equal(run_cli("restore", out, sizeof(out)), 2);
    assert_non_null(strstr(out, "BACKUP_DIR missing"));
    assert_int_equal(run_cli("backup --bogus", out, sizeof(out)), 2);
    assert_non_null(strstr(out, "unknown option '--bogus'"));
}

/* POST one line to t's /api/v1/write; returns the status, the response left in *r. */
static int post_line(srvtest_t *t, const char *line, httpc_resp_t *r)
{
    assert_int_equal(
        httpc_request(t->port, "POST", "/api/v1/write", t->auth, line, strlen(line), r), 0);
    return r->status;
}

/* A store over max_storage_size with nothing droppable (18 MiB of KV data, the smallest
 * limit is 16 MiB): writes get 507 storage_full, queries still answer. */
static void test_storage_full_is_507(void **state)
{
    (void)state;
    srvtest_t t;
    assert_int_equal(srvtest_init(&t, "server-full"), 0);
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = t.data;
    o.sync_writes = 0;
    omega_error_t err;
    omega_tsdb_t *db = omega_tsdb_open(&o, &err);
    assert_non_null(db);
    size_t len = 1u << 20;
    unsigned char *v = malloc(len);
    uint64_t x = 88172645463325252ull;
    for (int k = 0; k < 18; k++) {
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* incompressible */
            v[i] = (unsigned char)x;
        }
        char key[32];
        int kl = snprintf(key, sizeof(key), "test-fill/%02d", k);
        assert_int_equal(omega_kv_put(db, OMEGA_KV_EVENTS, key, (size_t)kl, v, len, &err), 0);
    }
    free(v);
    omega_tsdb_close(db);
    char *const env[] = {
        "OMEGA_ADMIN_PASSWORD=" ADMIN_PW,
        "OMEGA_PERFORMANCE_MONITOR_STORAGE_CONFIGURATION_MAX_STORAGE_SIZE=16777216",
        NULL,
    };
    assert_int_equal(srvtest_launch_session(&t, env, "admin", ADMIN_PW), 0);
    httpc_resp_t r = {0};
    int status = 0;
    /* bounded: the storage thread checks the size every 5 s */
    for (int i = 0; i < 150 && status != 507; i++) {
        if (i)
            httpc_resp_free(&r);
        status = post_line(&t, "full_metric,host=a value=1\n", &r);
        if (status != 507)
            usleep(100000);
    }
    srvtest_assert_error(&r, 507, "storage_full");
    assert_non_null(strstr(r.body, "max_storage_size"));
    httpc_resp_free(&r);
    assert_int_equal(
        httpc_request(t.port, "GET", "/api/v1/query?query=full_metric", t.auth, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    httpc_resp_free(&r);
    assert_int_equal(srvtest_stop(&t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backup_and_restore_commands),
        cmocka_unit_test(test_restore_refuses_bad_backups),
        cmocka_unit_test(test_storage_full_is_507),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
