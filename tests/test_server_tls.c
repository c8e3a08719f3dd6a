/* SPDX-License-Identifier: Apache-2.0 */
/* HTTPS end to end: the real server with server.tls.* and with `serve --tls-self-signed`,
 * driven by curl and the openssl command line (TLS versions, ciphers, HSTS, the plain-HTTP
 * redirect, mutual TLS with a CA made here), plus omega_auth_tls_self_signed()'s files and
 * its bad input. Probes are bounded by curl's --max-time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "httpc.h"
#include "omega/auth.h"
#include "srvtest.h"
#include "testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CURL "curl -sS --max-time 10 "

/* Run the shell command built from fmt; its stdout (stderr folded in) into out (len bytes,
 * may be NULL). Returns the exit status, or -1 when it could not run. */
static int sh(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh(char *out, size_t len, const char *fmt, ...)
{
    char inner[8000], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(inner, sizeof(inner), fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof(cmd), "{ %s ; } 2>&1", inner);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char sink[4096];
    char *buf = out ? out : sink;
    size_t cap = out ? len : sizeof(sink), n = 0, r;
    while ((r = fread(buf + n, 1, cap - 1 - n, p)) > 0 && n + r < cap - 1)
        n += r;
    n += r;
    buf[n < cap ? n : cap - 1] = '\0';
    while (fread(sink, 1, sizeof(sink), p) > 0)
        ;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* HTTPS status of GET path with curl's extra options opts; 0 when the request failed. */
static int https_status(const srvtest_t *t, const char *opts, const char *path)
{
    char out[64];
    if (sh(out, sizeof(out), CURL "-o /dev/null -w '%%{http_code}' %s https://127.0.0.1:%d%s", opts,
           t->port, path) != 0)
        return 0;
    return atoi(out);
}

/* Start `omega-monitor serve [--tls-self-signed]` on t with env and wait until
 * https://127.0.0.1:port/healthz answers to curl with probe_opts (certificate not checked:
 * readiness only). */
static int launch_tls(srvtest_t *t, char *const env[], int self_signed, const char *probe_opts)
{
    char bin[1024];
    testutil_build_path("omega-monitor", bin, sizeof(bin));
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char listen[64];
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", t->port);
        setenv("OMEGA_SERVER_LISTEN", listen, 1);
        setenv("OMEGA_SERVER_DATA_DIR", t->data, 1);
        for (int i = 0; env && env[i]; i++)
            putenv(env[i]);
        if (!freopen(t->log, "a", stdout) || dup2(fileno(stdout), 2) < 0)
            _exit(126);
        execl(bin, bin, "serve", self_signed ? "--tls-self-signed" : (char *)NULL, (char *)NULL);
        _exit(127);
    }
    t->pid = pid;
    for (int i = 0; i < 300; i++) {
        if (https_status(t, probe_opts, "/healthz") == 200)
            return 0;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            break;
        usleep(100000);
    }
    srvtest_dump_log(t);
    if (waitpid(pid, NULL, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    t->pid = -1;
    return -1;
}

/* The fixture of the running test (static storage, so a failed assertion's longjmp leaves
 * it for teardown() to stop the server and remove the temp dir). */
static srvtest_t *current;

static int teardown(void **state)
{
    (void)state;
    if (current && current->pid > 0)
        srvtest_stop(current);
    if (current && current->dir) {
        testutil_rmtree(current->dir);
        free(current->dir);
        current->dir = NULL;
    }
    current = NULL;
    return 0;
}

/* A fixture with a server certificate (from omega_auth_tls_self_signed) in its dir. */
typedef struct tls_fix {
    srvtest_t t;
    char cert[700], key[700];
    char env_cert[800], env_key[800], env_ca[800];
} tls_fix_t;

static void fix_init(tls_fix_t *f, const char *tag)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(srvtest_init(&f->t, tag), 0);
    current = &f->t;
    snprintf(f->cert, sizeof(f->cert), "%s/certs/server.pem", f->t.dir);
    snprintf(f->key, sizeof(f->key), "%s/certs/server.key", f->t.dir);
    char fp[OMEGA_TLS_FINGERPRINT_MAX];
    omega_error_t err;
    assert_int_equal(omega_auth_tls_self_signed(f->cert, f->key, fp, sizeof(fp), &err), 0);
    snprintf(f->env_cert, sizeof(f->env_cert), "OMEGA_SERVER_TLS_CERT=%s", f->cert);
    snprintf(f->env_key, sizeof(f->env_key), "OMEGA_SERVER_TLS_KEY=%s", f->key);
}

static void fix_stop(tls_fix_t *f)
{
    assert_int_equal(srvtest_stop(&f->t), 0);
}

static void test_self_signed_files(void **state)
{
    (void)state;
    char *dir = testutil_mkdtemp("tlsgen");
    char cert[600], key[600], fp[OMEGA_TLS_FINGERPRINT_MAX], fp2[OMEGA_TLS_FINGERPRINT_MAX];
    snprintf(cert, sizeof(cert), "%s/a/b/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/a/b/key.pem", dir);
    omega_error_t err;
    assert_int_equal(omega_auth_tls_self_signed(cert, key, fp, sizeof(fp), &err), 0);
    assert_int_equal(strlen(fp), 95); /* 32 hex pairs joined by ':' */
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char parent[600];
    snprintf(parent, sizeof(parent), "%s/a/b", dir);
    assert_int_equal(stat(parent, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    /* The CLI agrees on the fingerprint, the names, the key type and the lifetime. */
    char out[4096];
    assert_int_equal(sh(out, sizeof(out), "openssl x509 -in %s -noout -fingerprint -sha256", cert),
                     0);
    assert_non_null(strstr(out, fp));
    assert_int_equal(sh(out, sizeof(out), "openssl x509 -in %s -noout -text", cert), 0);
    assert_non_null(strstr(out, "DNS:localhost"));
    assert_non_null(strstr(out, "IP Address:127.0.0.1"));
    assert_non_null(strstr(out, "IP Address:0:0:0:0:0:0:0:1"));
    assert_non_null(strstr(out, "prime256v1"));
    assert_non_null(strstr(out, "CA:FALSE"));
    assert_int_equal(sh(NULL, 0, "openssl x509 -in %s -noout -checkend %d", cert, 29 * 86400), 0);
    assert_int_not_equal(sh(NULL, 0, "openssl x509 -in %s -noout -checkend %d", cert, 31 * 86400),
                         0);
    assert_int_equal(sh(out, sizeof(out), "openssl pkey -in %s -noout -check", key), 0);

    /* Existing files are kept. */
    assert_int_equal(omega_auth_tls_self_signed(cert, key, fp2, sizeof(fp2), &err), 0);
    assert_string_equal(fp, fp2);

    /* Bad input. */
    assert_int_equal(omega_auth_tls_self_signed(cert, key, fp2, 10, &err), OMEGA_EINVAL);
    assert_int_equal(omega_auth_tls_self_signed("", key, fp2, sizeof(fp2), &err), OMEGA_EINVAL);
    assert_int_equal(omega_auth_tls_self_signed(cert, NULL, fp2, sizeof(fp2), &err), OMEGA_EINVAL);
    char junk[600];
    snprintf(junk, sizeof(junk), "%s/junk.pem", dir);
    assert_int_equal(testutil_write_file(junk, "not a certificate\n", 18), 0);
    assert_int_equal(omega_auth_tls_self_signed(junk, key, fp2, sizeof(fp2), &err), OMEGA_EINVAL);
    assert_non_null(strstr(err.message, "no PEM certificate"));
    assert_int_equal(omega_auth_tls_self_signed("/proc/omega-no/c.pem", "/proc/omega-no/k.pem", fp2,
                                                sizeof(fp2), &err),
                     OMEGA_EIO);
    testutil_rmtree(dir);
    free(dir);
}

static void test_https_hsts_and_versions(void **state)
{
    (void)state;
    static tls_fix_t f;
    fix_init(&f, "tls");
    char *env[] = {"OMEGA_SERVER_TLS_ENABLED=true", f.env_cert, f.env_key, NULL};
    assert_int_equal(launch_tls(&f.t, env, 0, "-k"), 0);
    char ca[800], out[8192];
    snprintf(ca, sizeof(ca), "--cacert %s", f.cert);

    /* API, health and static files: 200 over verified TLS, HSTS on each, errors too. */
    const char *paths[] = {"/healthz", "/", "/api/v1/users"};
    const char *want[] = {"200", "200", "401"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(sh(out, sizeof(out), CURL "%s -D - -o /dev/null https://127.0.0.1:%d%s",
                            ca, f.t.port, paths[i]),
                         0);
        assert_non_null(strstr(out, want[i]));
        assert_non_null(strstr(out, "strict-transport-security: max-age=31536000"));
        assert_non_null(strstr(out, "x-content-type-options: nosniff"));
        assert_non_null(strstr(out, "frame-ancestors 'none'"));
    }

    /* TLS 1.2 and 1.3 work; 1.0 and 1.1 are refused by the server even when the client
     * allows them (SECLEVEL=0), and so are suites without forward secrecy or AEAD. */
    char opt[1000];
    snprintf(opt, sizeof(opt), "%s --tlsv1.3", ca);
    assert_int_equal(https_status(&f.t, opt, "/healthz"), 200);
    snprintf(opt, sizeof(opt), "%s --tlsv1.2 --tls-max 1.2", ca);
    assert_int_equal(https_status(&f.t, opt, "/healthz"), 200);
    snprintf(opt, sizeof(opt), "%s --tlsv1 --tls-max 1.1 --ciphers DEFAULT@SECLEVEL=0", ca);
    assert_int_equal(https_status(&f.t, opt, "/healthz"), 0);
    assert_int_not_equal(sh(NULL, 0,
                            "openssl s_client -connect 127.0.0.1:%d -tls1_1 "
                            "-cipher DEFAULT@SECLEVEL=0 </dev/null",
                            f.t.port),
                         0);
    snprintf(opt, sizeof(opt), "%s --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-SHA", ca);
    assert_int_equal(https_status(&f.t, opt, "/healthz"), 0);

    /* The live WebSocket over TLS: the upgrade completes (wss://). */
    assert_int_equal(
        sh(out, sizeof(out),
           "(printf 'GET /api/v1/live HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n"
           "Upgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n"
           "Sec-WebSocket-Version: 13\\r\\n"
           "Sec-WebSocket-Protocol: omega-live.v1\\r\\n\\r\\n'; sleep 1) | "
           "timeout 20 openssl s_client -quiet -no_ign_eof -verify_return_error -CAfile %s "
           "-connect 127.0.0.1:%d",
           f.cert, f.t.port),
        0);
    assert_non_null(strstr(out, "HTTP/1.1 101"));
    assert_non_null(strstr(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));

    /* Plain HTTP on the TLS port gets no answer (no redirect configured). */
    httpc_resp_t r;
    int rc = httpc_request(f.t.port, "GET", "/healthz", NULL, NULL, 0, &r);
    assert_false(rc == 0 && r.status != 0);
    httpc_resp_free(&r);
    fix_stop(&f);
}

static void test_redirect_http(void **state)
{
    (void)state;
    static tls_fix_t f;
    fix_init(&f, "tlsredir");
    char *env[] = {"OMEGA_SERVER_TLS_ENABLED=true", f.env_cert, f.env_key,
                   "OMEGA_SERVER_TLS_REDIRECT_HTTP=true", NULL};
    assert_int_equal(launch_tls(&f.t, env, 0, "-k"), 0);
    httpc_resp_t r;
    assert_int_equal(httpc_request(f.t.port, "GET", "/api/v1/status", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 301);
    char loc[256], want[64];
    assert_non_null(httpc_header(&r, "location", loc, sizeof(loc)));
    snprintf(want, sizeof(want), "https://127.0.0.1:%d/", f.t.port);
    assert_memory_equal(loc, want, strlen(want));
    httpc_resp_free(&r);
    char ca[800];
    snprintf(ca, sizeof(ca), "--cacert %s", f.cert);
    assert_int_equal(https_status(&f.t, ca, "/healthz"), 200);
    fix_stop(&f);
}

/* A CA (ca.pem/ca.key) and a client certificate it signs (name.pem/name.key) in dir. */
static void make_ca_and_client(const char *dir, const char *ca, const char *name)
{
    assert_int_equal(sh(NULL, 0,
                        "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
                        "-nodes -keyout %s.key -out %s.pem -days 2 -subj /CN=%s",
                        dir, ca, ca, ca),
                     0);
    assert_int_equal(sh(NULL, 0,
                        "cd %s && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
                        "-nodes -keyout %s.key -out %s.csr -subj /CN=%s && "
                        "openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key "
                        "-CAcreateserial -out %s.pem -days 2",
                        dir, name, name, name, name, ca, ca, name),
                     0);
}

static void test_mutual_tls(void **state)
{
    (void)state;
    static tls_fix_t f;
    fix_init(&f, "mtls");
    make_ca_and_client(f.t.dir, "agents", "agent1");
    make_ca_and_client(f.t.dir, "rogue", "intruder");
    snprintf(f.env_ca, sizeof(f.env_ca), "OMEGA_SERVER_TLS_CLIENT_CA=%s/agents.pem", f.t.dir);
    char *env[] = {"OMEGA_SERVER_TLS_ENABLED=true", f.env_cert, f.env_key, f.env_ca, NULL};
    char agent[2000], opt[3000];
    snprintf(agent, sizeof(agent), "--cert %s/agent1.pem --key %s/agent1.key", f.t.dir, f.t.dir);
    snprintf(opt, sizeof(opt), "-k %s", agent);
    assert_int_equal(launch_tls(&f.t, env, 0, opt), 0);

    /* A certificate signed by the configured CA gets in; none, or one from another CA,
     * fails the handshake. */
    snprintf(opt, sizeof(opt), "--cacert %s %s", f.cert, agent);
    assert_int_equal(https_status(&f.t, opt, "/healthz"), 200);
    snprintf(opt, sizeof(opt), "--cacert %s", f.cert);
    assert_int_equal(https_status(&f.t, opt, "/healthz"), 0);
    snprintf(opt, sizeof(opt), "--cacert %s --cert %s/intruder.pem --key %s/intruder.key", f.cert,
             f.t.dir, f.t.dir);
    assert_int_equal(https_status(&f.t, opt, "/healthz"), 0);
    /* The CA's own certificate is not a client certificate it issued. */
    snprintf(opt, sizeof(opt), "--cacert %s --cert %s/rogue.pem --key %s/rogue.key", f.cert,
             f.t.dir, f.t.dir);
    assert_int_equal(https_status(&f.t, opt, "/healthz"), 0);
    fix_stop(&f);
}

static void test_self_signed_serve(void **state)
{
    (void)state;
    static srvtest_t t;
    assert_int_equal(srvtest_init(&t, "tlsself"), 0);
    current = &t;
    assert_int_equal(launch_tls(&t, NULL, 1, "-k"), 0);
    char cert[700], key[700], out[8192];
    snprintf(cert, sizeof(cert), "%s/tls/cert.pem", t.data);
    snprintf(key, sizeof(key), "%s/tls/key.pem", t.data);
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(sh(out, sizeof(out), "openssl x509 -in %s -noout -fingerprint -sha256", cert),
                     0);
    const char *eq = strchr(out, '=');
    assert_non_null(eq);
    char fp[128];
    snprintf(fp, sizeof(fp), "%.95s", eq + 1);
    char *log = testutil_read_file(t.log, NULL);
    assert_non_null(log);
    assert_non_null(strstr(log, "SHA-256 fingerprint"));
    assert_non_null(strstr(log, fp));
    free(log);
    /* Verified by name: the certificate is for localhost. */
    assert_int_equal(sh(out, sizeof(out),
                        CURL "--cacert %s --resolve localhost:%d:127.0.0.1 -o /dev/null "
                             "-w '%%{http_code}' https://localhost:%d/healthz",
                        cert, t.port, t.port),
                     0);
    assert_string_equal(out, "200");
    assert_int_equal(srvtest_stop(&t), 0);
}

/* Bad TLS settings stop the server at start with a message naming the field. */
static void test_bad_settings(void **state)
{
    (void)state;
    static tls_fix_t f;
    fix_init(&f, "tlsbad");
    char bin[1024], out[8192];
    testutil_build_path("omega-monitor", bin, sizeof(bin));
    char other[700];
    snprintf(other, sizeof(other), "%s/other/c.pem", f.t.dir);
    char okey[700], fp[OMEGA_TLS_FINGERPRINT_MAX];
    snprintf(okey, sizeof(okey), "%s/other/k.pem", f.t.dir);
    omega_error_t err;
    assert_int_equal(omega_auth_tls_self_signed(other, okey, fp, sizeof(fp), &err), 0);
    char junk[700];
    snprintf(junk, sizeof(junk), "%s/junk.pem", f.t.dir);
    assert_int_equal(testutil_write_file(junk, "-----BEGIN CERTIFICATE-----\nxx\n", 31), 0);
    struct {
        const char *cert, *key, *ca, *field;
    } cases[] = {
        {"", f.key, "", "server.tls.cert"},
        {f.cert, "", "", "server.tls.key"},
        {"/nonexistent/c.pem", f.key, "", "server.tls.cert"},
        {f.cert, f.key, "/nonexistent/ca.pem", "server.tls.client_ca"},
        {junk, f.key, "", "server.tls.cert: "},
        {f.cert, junk, "", "server.tls.key: "},
        {f.cert, okey, "", "does not belong to the certificate"},
        {okey, f.key, "", "server.tls.cert"}, /* a key where the certificate belongs */
        {f.cert, f.key, junk, "server.tls.client_ca: "},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = sh(out, sizeof(out),
                    "env OMEGA_SERVER_LISTEN=127.0.0.1:%d OMEGA_SERVER_DATA_DIR=%s "
                    "OMEGA_SERVER_TLS_ENABLED=true OMEGA_SERVER_TLS_CERT='%s' "
                    "OMEGA_SERVER_TLS_KEY='%s' OMEGA_SERVER_TLS_CLIENT_CA='%s' "
                    "timeout 60 %s serve",
                    f.t.port, f.t.data, cases[i].cert, cases[i].key, cases[i].ca, bin);
        if (rc != 1 || !strstr(out, cases[i].field))
            fail_msg("case %zu: exit %d, output: %s", i, rc, out);
    }
    testutil_rmtree(f.t.dir); /* no server was left running */
    free(f.t.dir);
    f.t.dir = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_signed_files),
        cmocka_unit_test_teardown(test_https_hsts_and_versions, teardown),
        cmocka_unit_test_teardown(test_redirect_http, teardown),
        cmocka_unit_test_teardown(test_mutual_tls, teardown),
        cmocka_unit_test_teardown(test_self_signed_serve, teardown),
        cmocka_unit_test_teardown(test_bad_settings, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
