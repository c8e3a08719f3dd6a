/* SPDX-License-Identifier: Apache-2.0 */
/* `omega-monitor run [options] -- CMD...`: runs a build or compile command as a recorded
 * operation. Posts start/end to a server's operations API (libcurl, so https works too),
 * measures wall time, CPU user/system time, peak RSS and the exit status or signal, and
 * exits with the command's status. A server that cannot be reached never stops the build:
 * the command runs anyway and stderr says it was not recorded. */
#include "cmd_run.h"

#include "omega/auth.h"
#include "omega/common.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char run_usage[] =
    "usage: omega-monitor run [--job NAME] [--kind KIND] [--label K=V]... [--id ID]\n"
    "                         [--server URL] [--api-key KEY] -- CMD [ARG...]\n"
    "\n"
    "Runs CMD as a recorded operation (job): wall time, CPU user/system, peak RSS and the\n"
    "exit status or signal go to the server (POST /api/v1/operations/ID/start and /end).\n"
    "--job NAME     the job label (default: CMD's base name)\n"
    "--kind KIND    the operation kind (default: compile)\n"
    "--label K=V    another label (repeatable; keep values few: labels become series)\n"
    "--id ID        the operation id (default: JOB-<host>-<pid>-<ms>)\n"
    "--server URL   the server (default: $OMEGA_SERVER, else http://127.0.0.1:8080)\n"
    "--api-key KEY  an API key with the ingest scope (default: $OMEGA_API_KEY)\n"
    "Exit status: CMD's own; 128+N when CMD was killed by signal N; 127/126 when CMD\n"
    "cannot be found / executed; 2 for a usage error.\n";

#define RESP_MAX   65536 /* bytes of a server answer kept (error messages) */
#define LABELS_MAX 16    /* --label options */

typedef struct run_opts {
    const char *job, *kind, *id, *server, *api_key;
    const char *label_k[LABELS_MAX], *label_v[LABELS_MAX];
    size_t n_labels;
    char **cmd; /* NULL-terminated */
} run_opts_t;

typedef struct resp_buf {
    char data[RESP_MAX + 1];
    size_t len;
} resp_buf_t;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    resp_buf_t *r = ctx;
    size_t len = size * n, room = RESP_MAX - r->len;
    size_t take = len < room ? len : room;
    memcpy(r->data + r->len, p, take);
    r->len += take;
    r->data[r->len] = '\0';
    return len;
}

/* POST body to url. Returns the HTTP status, or -1 (curl's reason in why). */
static long post(const run_opts_t *o, const char *url, const char *body, resp_buf_t *r, char *why,
                 size_t why_len)
{
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, why_len, "cannot create an HTTP client");
        return -1;
    }
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char key[512];
    if (o->api_key && *o->api_key) {
        snprintf(key, sizeof(key), "X-API-Key: %s", o->api_key);
        h = curl_slist_append(h, key);
    }
    r->len = 0;
    r->data[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long status = -1;
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        snprintf(why, why_len, "%s", curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

/* POST /api/v1/operations/<id>/<what>; 0 when the server accepted it, else -1 after
 * saying why on stderr. */
static int post_op(const run_opts_t *o, const char *what, json_t *body)
{
    char url[2048], why[CURL_ERROR_SIZE + 64] = "";
    const char *base = o->server;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    snprintf(url, sizeof(url), "%.*s/api/v1/operations/%s/%s", (int)bl, base, o->id, what);
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10));
    static resp_buf_t r;
    long st = post(o, url, text ? text : "{}", &r, why, sizeof(why));
    free(text);
    if (st >= 200 && st < 300)
        return 0;
    if (st < 0) {
        fprintf(stderr,
                "omega-monitor run: cannot reach %.*s (%s); the %s of job '%s' is not "
                "recorded\n",
                (int)bl, base, why, what, o->id);
        return -1;
    }
    json_t *e = json_loads(r.data, 0, NULL);
    const char *msg = json_string_value(json_object_get(e, "error"));
    fprintf(stderr, "omega-monitor run: the server refused the %s of job '%s': HTTP %ld: %s\n",
            what, o->id, st, msg ? msg : r.data);
    json_decref(e);
    return -1;
}

/* Operation ids allow [A-Za-z0-9._:@+~-]: anything else in the job name becomes '_'. */
static void make_id(const run_opts_t *o, char *out, size_t len)
{
    char host[64] = "host";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(out, len, "%.60s-%.40s-%ld-%lld", o->job, host, (long)getpid(),
             (long long)omega_now_ms());
    for (char *p = out; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("._:@+~-", *p)))
            *p = '_';
}

static int parse_args(int argc, char **argv, run_opts_t *o)
{
    int i = 0;
    while (i < argc) { /* options take one value each: advance by two */
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-')
            break; /* the command starts here */
        if (!v) {
            fprintf(stderr, "omega-monitor run: option '%s' needs a value\n", a);
            return -1;
        }
        if (strcmp(a, "--job") == 0)
            o->job = v;
        else if (strcmp(a, "--kind") == 0)
            o->kind = v;
        else if (strcmp(a, "--id") == 0)
            o->id = v;
        else if (strcmp(a, "--server") == 0)
            o->server = v;
        else if (strcmp(a, "--api-key") == 0)
            o->api_key = v;
        else if (strcmp(a, "--label") == 0 && strchr(v, '=') && o->n_labels < LABELS_MAX) {
            o->label_k[o->n_labels] = v;
            o->label_v[o->n_labels++] = strchr(v, '=') + 1;
        } else {
            fprintf(stderr, "omega-monitor run: unknown or bad option '%s %s'\n", a, v);
            return -1;
        }
        i += 2;
    }
    if (i >= argc) {
        fprintf(stderr, "omega-monitor run: no command given\n");
        return -1;
    }
    o->cmd = argv + i;
    return 0;
}

static json_t *start_body(const run_opts_t *o)
{
    json_t *labels = json_pack("{s:s}", "job", o->job);
    for (size_t i = 0; i < o->n_labels; i++) {
        const char *k = o->label_k[i];
        size_t kl = (size_t)(o->label_v[i] - 1 - k);
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)(kl < 127 ? kl : 127), k);
        json_object_set_new(labels, name, json_string(o->label_v[i]));
    }
    return json_pack("{s:s, s:o}", "kind", o->kind, "labels", labels);
}

/* The command line for the record: PII-masked, at most 1024 bytes. */
static json_t *command_string(char **cmd)
{
    char line[1025];
    size_t off = 0;
    for (size_t i = 0; cmd[i] && off < sizeof(line) - 1; i++)
        off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s", i ? " " : "", cmd[i]);
    line[sizeof(line) - 1] = '\0';
    char *masked = omega_pii_mask(line, OMEGA_PII_ALL, NULL);
    json_t *s = json_stringn(masked, strlen(masked) > 1024 ? 1024 : strlen(masked));
    free(masked);
    return s ? s : json_string("");
}

static volatile sig_atomic_t child_pid;

/* SIGTERM/SIGHUP to the wrapper (a cancelled CI job) go on to the command. */
static void forward(int sig)
{
    if (child_pid > 0)
        kill((pid_t)child_pid, sig);
}

/* Fork and exec cmd; *exec_errno gets errno when exec failed. Returns the wait status, or
 * -1 when fork failed; *ru the child's resource usage. */
static int spawn_wait(char **cmd, struct rusage *ru, int *exec_errno)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGQUIT, SIG_DFL);
        execvp(cmd[0], cmd);
        int e = errno;
        ssize_t w = write(pfd[1], &e, sizeof(e));
        (void)w;
        _exit(e == ENOENT ? 127 : 126);
    }
    child_pid = pid;
    close(pfd[1]);
    int e = 0;
    if (read(pfd[0], &e, sizeof(e)) == (ssize_t)sizeof(e))
        *exec_errno = e;
    close(pfd[0]);
    int status = 0;
    memset(ru, 0, sizeof(*ru));
    while (wait4(pid, &status, 0, ru) < 0) {
        if (errno != EINTR)
            return -1;
    }
    child_pid = 0;
    return status;
}

static double tv_seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* The end body from the wait status and usage; *code gets the wrapper's exit status. */
static json_t *end_body(char **cmd, int status, const struct rusage *ru, int exec_errno,
                        double wall_s, int *code)
{
    json_t *at = json_object();
    const char *st = "failed";
    if (exec_errno) {
        *code = exec_errno == ENOENT ? 127 : 126;
        json_object_set_new(at, "exec_error", json_string(strerror(exec_errno)));
        json_object_set_new(at, "exit_code", json_integer(*code));
    } else if (WIFEXITED(status)) {
        *code = WEXITSTATUS(status);
        json_object_set_new(at, "exit_code", json_integer(*code));
        st = *code == 0 ? "ok" : "failed";
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        *code = 128 + sig;
        json_object_set_new(at, "signal", json_integer(sig));
        json_object_set_new(at, "signal_name", json_string(strsignal(sig)));
        json_object_set_new(at, "core_dumped", json_boolean(WCOREDUMP(status)));
    } else {
        *code = 1;
    }
    json_object_set_new(at, "wall_seconds", json_real(wall_s));
    json_object_set_new(at, "cpu_user_seconds", json_real(tv_seconds(ru->ru_utime)));
    json_object_set_new(at, "cpu_system_seconds", json_real(tv_seconds(ru->ru_stime)));
    json_object_set_new(at, "peak_rss_bytes", json_integer((json_int_t)ru->ru_maxrss * 1024));
    char host[64] = "";
    gethostname(host, sizeof(host) - 1);
    json_object_set_new(at, "host", json_string(host));
    json_object_set_new(at, "command", command_string(cmd));
    return json_pack("{s:s, s:o}", "status", st, "attributes", at);
}

int omega_cmd_run(int argc, char **argv)
{
    run_opts_t o = {.kind = "compile"};
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(run_usage, stdout);
        return 0;
    }
    if (parse_args(argc, argv, &o) != 0) {
        fputs(run_usage, stderr);
        return 2;
    }
    const char *base = strrchr(o.cmd[0], '/');
    if (!o.job)
        o.job = base ? base + 1 : o.cmd[0];
    if (!o.server)
        o.server = getenv("OMEGA_SERVER") ? getenv("OMEGA_SERVER") : "http://127.0.0.1:8080";
    if (!o.api_key)
        o.api_key = getenv("OMEGA_API_KEY");
    char id[160];
    if (!o.id) {
        make_id(&o, id, sizeof(id));
        o.id = id;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    json_t *sb = start_body(&o);
    int recorded = post_op(&o, "start", sb) == 0;
    json_decref(sb);

    /* Like system(): Ctrl-C and Ctrl-\ reach the command (same process group); the wrapper
     * outlives it to record how it ended. */
    struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = forward}, old[4];
    sigaction(SIGINT, &ign, &old[0]);
    sigaction(SIGQUIT, &ign, &old[1]);
    sigaction(SIGTERM, &fwd, &old[2]);
    sigaction(SIGHUP, &fwd, &old[3]);
    struct rusage ru;
    int exec_errno = 0;
    int64_t t0 = omega_mono_ns();
    int status = spawn_wait(o.cmd, &ru, &exec_errno);
    double wall = (double)(omega_mono_ns() - t0) / 1e9;
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGQUIT, &old[1], NULL);
    sigaction(SIGTERM, &old[2], NULL);
    sigaction(SIGHUP, &old[3], NULL);
    int code = 1;
    if (status < 0) {
        fprintf(stderr, "omega-monitor run: cannot start '%s': %s\n", o.cmd[0], strerror(errno));
        memset(&ru, 0, sizeof(ru));
        exec_errno = exec_errno ? exec_errno : EAGAIN;
    } else if (exec_errno) {
        fprintf(stderr, "omega-monitor run: %s: %s\n", o.cmd[0], strerror(exec_errno));
    }
    json_t *eb = end_body(o.cmd, status, &ru, exec_errno, wall, &code);
    if (recorded)
        post_op(&o, "end", eb);
    json_decref(eb);
    curl_global_cleanup();
    return code;
}
