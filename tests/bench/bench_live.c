/* SPDX-License-Identifier: Apache-2.0 */
/* Live-stream benchmark (not a ctest test) against the real omega-monitor on loopback:
 *  1. latency: for each client count (default 1, 100, 1000) every client subscribes to one
 *     series at 1 s; WRITES times a writer thread POSTs a new value of it to /api/v1/write
 *     (pauses of 150-450 ms, not phase-locked to the server's ticks) and every client notes
 *     when that value, or a newer one, arrives; reports p50/p99/max over clients x writes
 *     (target p99 < 50 ms at 1,000 clients) and values never seen within 3 s;
 *  2. load: CLIENTS clients each subscribed to 10 series at 1 s while the 10 series are
 *     written once a second, for SECONDS s; reports the server's CPU (share of one core,
 *     from /proc/<pid>/stat) and RSS (VmRSS, /proc/<pid>/status), with the same figures
 *     for the idle server first, and the frames and lag messages the clients received.
 * The client side is one epoll loop holding every socket; RLIMIT_NOFILE is raised to the
 * hard limit (the server inherits it). The server is started with live_max_clients raised
 * to fit; its other limits (64 subscriptions per socket, queue 64 frames) stay default.
 *
 *   OMEGA_BUILD_DIR=build/h-dash-rel bench_live [--clients 1,100,1000] [--writes 50]
 *                                                [--load-clients 1000] [--seconds 60]
 *
 * Every loop is bounded in count and time. Prints the machine's load average with each
 * result: the figures are only comparable at similar load. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "httpc.h"
#include "srvtest.h"

#define PASSWORD    "bench-live-Pa55word-0123"
#define MAX_WRITES  1000
#define DRAIN_MS    3000
#define LOAD_SERIES 10
#define MAX_CLIENTS 5000

typedef struct client {
    int fd;
    unsigned char *rx; /* bytes not yet parsed into frames */
    size_t len, cap;
    double last_value; /* latency phase: newest value seen */
    int closed;
    uint64_t frames, lags, errors;
} client_t;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static const char *loadavg(char *buf, size_t len)
{
    double l[3] = {0, 0, 0};
    if (getloadavg(l, 3) != 3)
        snprintf(buf, len, "?");
    else
        snprintf(buf, len, "%.2f %.2f %.2f", l[0], l[1], l[2]);
    return buf;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- the epoll client side ---- */

static int send_masked(int fd, int opcode, const char *p, size_t n)
{
    unsigned char f[256 + 8];
    if (n > 256)
        return -1;
    size_t h = 0;
    f[h++] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        f[h++] = (unsigned char)(0x80 | n);
    } else {
        f[h++] = 0x80 | 126;
        f[h++] = (unsigned char)(n >> 8);
        f[h++] = (unsigned char)n;
    }
    memset(f + h, 0, 4); /* a zero mask key: the payload goes as is */
    h += 4;
    memcpy(f + h, p, n);
    size_t off = 0, total = h + n;
    for (int tries = 0; off < total && tries < 1000; tries++) {
        ssize_t w = send(fd, f + off, total - off, MSG_NOSIGNAL);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        else
            sleep_ms(1);
    }
    return off == total ? 0 : -1;
}

typedef void (*on_text_fn)(client_t *c, const char *text, size_t len, int64_t now, void *ctx);

/* Parse every complete frame in c->rx; text frames go to fn. */
static void parse_frames(client_t *c, on_text_fn fn, void *ctx, int64_t now)
{
    size_t off = 0;
    for (;;) {
        unsigned char *p = c->rx + off;
        size_t avail = c->len - off, h = 2;
        if (avail < 2)
            break;
        uint64_t n = p[1] & 0x7f;
        if (n == 126) {
            if (avail < 4)
                break;
            n = ((uint64_t)p[2] << 8) | p[3];
            h = 4;
        } else if (n == 127) {
            if (avail < 10)
                break;
            n = 0;
            for (int i = 0; i < 8; i++)
                n = (n << 8) | p[2 + i];
            h = 10;
        }
        if (avail < h + n)
            break;
        int op = p[0] & 0x0f;
        if (op == 1 || op == 0) {
            fn(c, (const char *)p + h, (size_t)n, now, ctx);
        } else if (op == 9) {
            send_masked(c->fd, 10, (const char *)p + h, n > 125 ? 125 : (size_t)n);
        } else if (op == 8) {
            c->closed = 1;
        }
        off += h + (size_t)n;
    }
    memmove(c->rx, c->rx + off, c->len - off);
    c->len -= off;
}

/* Read what is there on c; -1 on EOF or error. */
static int read_client(client_t *c, on_text_fn fn, void *ctx)
{
    for (int rounds = 0; rounds < 64; rounds++) {
        if (c->cap - c->len < 65536) {
            c->cap = c->cap ? c->cap * 2 : 131072;
            c->rx = realloc(c->rx, c->cap);
            if (!c->rx)
                abort();
        }
        ssize_t r = recv(c->fd, c->rx + c->len, c->cap - c->len, 0);
        if (r == 0)
            return -1;
        if (r < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        c->len += (size_t)r;
        parse_frames(c, fn, ctx, mono_ns());
    }
    return 0;
}

/* Poll every socket for up to ms; text frames go to fn. */
static void pump(int ep, client_t *cl, on_text_fn fn, void *ctx, int ms)
{
    struct epoll_event ev[256];
    int64_t end = mono_ns() + (int64_t)ms * 1000000;
    for (;;) {
        int64_t left = (end - mono_ns()) / 1000000;
        if (left < 0)
            break;
        int n = epoll_wait(ep, ev, 256, (int)left);
        for (int i = 0; i < n; i++) {
            client_t *c = &cl[ev[i].data.u32];
            if (!c->closed && read_client(c, fn, ctx) != 0) {
                c->closed = 1;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            }
        }
    }
}

/* Connect n clients with the token and send each the subscribe messages of subs(). */
static client_t *connect_all(int port, const char *token, int n, int ep,
                             void (*subs)(client_t *c, int i))
{
    client_t *cl = calloc((size_t)n, sizeof(*cl));
    char path[1400];
    snprintf(path, sizeof(path), "/api/v1/live?token=%s", token);
    for (int i = 0; i < n; i++) {
        wsc_t w;
        int st = wsc_connect(&w, port, path, "omega-live.v1");
        if (st != 101) {
            fprintf(stderr, "bench_live: client %d: handshake status %d\n", i, st);
            for (int j = 0; j < i; j++)
                close(cl[j].fd);
            wsc_close(&w);
            free(cl);
            return NULL;
        }
        cl[i].fd = w.fd;
        cl[i].last_value = -1;
        cl[i].cap = 131072 + w.npending;
        cl[i].rx = malloc(cl[i].cap);
        memcpy(cl[i].rx, w.pending, w.npending);
        cl[i].len = w.npending;
        free(w.pending);
        fcntl(cl[i].fd, F_SETFL, fcntl(cl[i].fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, cl[i].fd, &ev);
        subs(&cl[i], i);
    }
    return cl;
}

static void close_all(client_t *cl, int n)
{
    for (int i = 0; i < n; i++) {
        close(cl[i].fd);
        free(cl[i].rx);
    }
    free(cl);
}

/* ---- 1. latency ---- */

typedef struct lat {
    int port, writes;
    char auth[1200];
    int64_t sent_ns[MAX_WRITES + 1]; /* when write k started */
    _Atomic int sent;                /* writes started */
    _Atomic int done;
    int failures;
    double *ms; /* latencies */
    size_t n_ms, cap_ms;
} lat_t;

static void lat_subs(client_t *c, int i)
{
    (void)i;
    send_masked(c->fd, 1,
                "{\"type\":\"subscribe\",\"id\":\"lat\",\"query\":\"bench_lat\","
                "\"interval_ms\":1000}",
                strlen("{\"type\":\"subscribe\",\"id\":\"lat\",\"query\":\"bench_lat\","
                       "\"interval_ms\":1000}"));
}

static void lat_text(client_t *c, const char *t, size_t len, int64_t now, void *ctx)
{
    lat_t *L = ctx;
    c->frames++;
    if (len >= 14 && memcmp(t, "{\"type\":\"lag\"", 13) == 0)
        c->lags++;
    if (len < 18 || memcmp(t, "{\"type\":\"samples\"", 17) != 0)
        return;
    const char *v = memmem(t, len, "\"value\":", 8);
    if (!v)
        return;
    double val = strtod(v + 8, NULL);
    int sent = atomic_load(&L->sent);
    /* Every write up to val is now superseded on this client: its latency ends here. */
    for (int k = (int)c->last_value + 1; k <= (int)val && k <= sent; k++) {
        if (k < 1)
            continue;
        if (L->n_ms == L->cap_ms) {
            L->cap_ms = L->cap_ms ? L->cap_ms * 2 : 4096;
            L->ms = realloc(L->ms, L->cap_ms * sizeof(double));
        }
        L->ms[L->n_ms++] = (double)(now - L->sent_ns[k]) / 1e6;
    }
    if (val > c->last_value)
        c->last_value = val;
}

static void *lat_writer(void *arg)
{
    lat_t *L = arg;
    unsigned seed = 12345;
    sleep_ms(1500); /* every client has had its first frame (the value 0) */
    for (int k = 1; k <= L->writes; k++) {
        sleep_ms(150 + (int)(rand_r(&seed) % 300));
        char body[64];
        int n = snprintf(body, sizeof(body), "bench_lat value=%d", k);
        L->sent_ns[k] = mono_ns();
        atomic_store(&L->sent, k);
        httpc_resp_t r;
        if (httpc_request(L->port, "POST", "/api/v1/write?precision=ms", L->auth, body, (size_t)n,
                          &r) != 0 ||
            r.status != 204)
            L->failures++;
        httpc_resp_free(&r);
    }
    atomic_store(&L->done, 1);
    return NULL;
}

static int bench_latency(srvtest_t *t, int nclients, int writes)
{
    lat_t *L = calloc(1, sizeof(*L));
    L->port = t->port;
    L->writes = writes;
    snprintf(L->auth, sizeof(L->auth), "%s", t->auth);
    httpc_resp_t r;
    httpc_request(t->port, "POST", "/api/v1/write", t->auth, "bench_lat value=0", 17, &r);
    httpc_resp_free(&r);
    int ep = epoll_create1(0);
    client_t *cl = connect_all(t->port, t->token, nclients, ep, lat_subs);
    if (!cl) {
        close(ep);
        free(L);
        return 1;
    }
    pthread_t th;
    pthread_create(&th, NULL, lat_writer, L);
    int64_t deadline = mono_ns() + (int64_t)(writes + 10) * 1000000000;
    while (!atomic_load(&L->done) && mono_ns() < deadline)
        pump(ep, cl, lat_text, L, 100);
    pump(ep, cl, lat_text, L, DRAIN_MS);
    pthread_join(th, NULL);
    uint64_t frames = 0, lags = 0;
    int closed = 0;
    for (int i = 0; i < nclients; i++) {
        frames += cl[i].frames;
        lags += cl[i].lags;
        closed += cl[i].closed;
    }
    size_t expected = (size_t)nclients * (size_t)writes;
    qsort(L->ms, L->n_ms, sizeof(double), cmp_dbl);
    char la[64];
    if (L->n_ms) {
        printf("latency clients=%d writes=%d: p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
               "%zu of %zu delivered, frames %llu, lag %llu, closed %d, write failures %d "
               "(load %s)\n",
               nclients, writes, L->ms[L->n_ms / 2], L->ms[(size_t)(L->n_ms * 0.99)],
               L->ms[L->n_ms - 1], L->n_ms, expected, (unsigned long long)frames,
               (unsigned long long)lags, closed, L->failures, loadavg(la, sizeof(la)));
    } else {
        printf("latency clients=%d: nothing delivered\n", nclients);
    }
    fflush(stdout);
    close_all(cl, nclients);
    close(ep);
    int bad = L->n_ms < expected;
    free(L->ms);
    free(L);
    return bad;
}

/* ---- 2. CPU and RSS under load ---- */

static double proc_cpu_s(pid_t pid)
{
    char p[64], buf[2048];
    snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *s = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long proc_rss_kb(pid_t pid)
{
    char p[64], line[256];
    snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
    FILE *f = fopen(p, "r");
    long kb = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

static void load_subs(client_t *c, int i)
{
    (void)i;
    for (int s = 0; s < LOAD_SERIES; s++) {
        char m[160];
        int n = snprintf(
            m, sizeof(m),
            "{\"type\":\"subscribe\",\"id\":\"s%d\",\"query\":\"bench_load{s=\\\"%d\\\"}\","
            "\"interval_ms\":1000}",
            s, s);
        send_masked(c->fd, 1, m, (size_t)n);
    }
}

static void load_text(client_t *c, const char *t, size_t len, int64_t now, void *ctx)
{
    (void)now;
    (void)ctx;
    c->frames++;
    if (len >= 14 && memcmp(t, "{\"type\":\"lag\"", 13) == 0)
        c->lags++;
    else if (len >= 16 && memcmp(t, "{\"type\":\"error\"", 15) == 0)
        c->errors++;
}

static void write_load(const srvtest_t *t, int round)
{
    char body[1024];
    size_t n = 0;
    for (int s = 0; s < LOAD_SERIES; s++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "bench_load,s=%d value=%d\n", s, round);
    httpc_resp_t r;
    httpc_request(t->port, "POST", "/api/v1/write", t->auth, body, n, &r);
    httpc_resp_free(&r);
}

/* Server CPU share over `seconds` while writing the load series once a second. */
static void measure(srvtest_t *t, int ep, client_t *cl, int seconds, double *cpu, long *rss_max,
                    long *rss_last)
{
    double c0 = proc_cpu_s(t->pid);
    int64_t t0 = mono_ns();
    *rss_max = 0;
    for (int s = 0; s < seconds; s++) {
        write_load(t, s);
        if (cl)
            pump(ep, cl, load_text, NULL, 1000);
        else
            sleep_ms(1000);
        long rss = proc_rss_kb(t->pid);
        if (rss > *rss_max)
            *rss_max = rss;
        *rss_last = rss;
    }
    *cpu = 100.0 * (proc_cpu_s(t->pid) - c0) / ((double)(mono_ns() - t0) / 1e9);
}

static int bench_load(srvtest_t *t, int nclients, int seconds)
{
    char la[64];
    double cpu;
    long rss_max, rss_last, rss0 = proc_rss_kb(t->pid);
    measure(t, -1, NULL, 10, &cpu, &rss_max, &rss_last);
    printf("load clients=0 (idle, 10 s): server CPU %.1f %% of one core, RSS %ld kB (load %s)\n",
           cpu, rss_last, loadavg(la, sizeof(la)));
    int ep = epoll_create1(0);
    client_t *cl = connect_all(t->port, t->token, nclients, ep, load_subs);
    if (!cl) {
        close(ep);
        return 1;
    }
    pump(ep, cl, load_text, NULL, 3000); /* subscriptions settle */
    for (int i = 0; i < nclients; i++)
        cl[i].frames = cl[i].lags = cl[i].errors = 0;
    measure(t, ep, cl, seconds, &cpu, &rss_max, &rss_last);
    uint64_t frames = 0, lags = 0, errors = 0;
    int closed = 0;
    for (int i = 0; i < nclients; i++) {
        frames += cl[i].frames;
        lags += cl[i].lags;
        errors += cl[i].errors;
        closed += cl[i].closed;
    }
    printf("load clients=%d x %d series at 1 s, %d s: server CPU %.1f %% of one core, "
           "RSS %ld kB before, %ld kB max, %ld kB last; frames %llu (%.0f/s, expected ~%d/s), "
           "lag %llu, errors %llu, closed %d (load %s)\n",
           nclients, LOAD_SERIES, seconds, cpu, rss0, rss_max, rss_last, (unsigned long long)frames,
           (double)frames / seconds, nclients * LOAD_SERIES, (unsigned long long)lags,
           (unsigned long long)errors, closed, loadavg(la, sizeof(la)));
    fflush(stdout);
    close_all(cl, nclients);
    close(ep);
    return closed > 0;
}

static int parse_list(const char *s, int *out, int max)
{
    int n = 0;
    for (char *end; *s && n < max; s = *end ? end + 1 : end) {
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > MAX_CLIENTS)
            return -1;
        out[n++] = (int)v;
    }
    return n;
}

int main(int argc, char **argv)
{
    int counts[8] = {1, 100, 1000}, ncounts = 3, writes = 50, load_clients = 1000, seconds = 60;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--clients") == 0)
            ncounts = parse_list(argv[i + 1], counts, 8);
        else if (strcmp(argv[i], "--writes") == 0)
            writes = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--load-clients") == 0)
            load_clients = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atoi(argv[i + 1]);
        else
            ncounts = -1;
    }
    if (ncounts < 0 || writes < 1 || writes > MAX_WRITES || load_clients < 0 ||
        load_clients > MAX_CLIENTS || seconds < 1 || seconds > 3600 || (argc % 2) == 0) {
        fprintf(stderr,
                "usage: bench_live [--clients 1,100,1000] [--writes 1..%d] "
                "[--load-clients 0..%d] [--seconds 1..3600]\n",
                MAX_WRITES, MAX_CLIENTS);
        return 2;
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    printf("RLIMIT_NOFILE %llu\n", (unsigned long long)rl.rlim_cur);
    char *env[] = {"OMEGA_ADMIN_PASSWORD=" PASSWORD, "OMEGA_SERVER_LIVE_MAX_CLIENTS=6000", NULL};
    srvtest_t t;
    if (srvtest_start_session(&t, "bench-live", env, "admin", PASSWORD) != 0)
        return 1;
    printf("server pid %d on 127.0.0.1:%d (live_max_clients 6000, other limits default)\n",
           (int)t.pid, t.port);
    int bad = 0;
    for (int i = 0; i < ncounts; i++)
        bad |= bench_latency(&t, counts[i], writes);
    if (load_clients > 0)
        bad |= bench_load(&t, load_clients, seconds);
    if (srvtest_stop(&t) != 0)
        bad = 1;
    return bad;
}
