/* SPDX-License-Identifier: Apache-2.0 */
/* TCP connect probes, off the collection tick. A prober thread connects to every target at
 * once with non-blocking sockets and one poll() up to the timeout; the pass only reports the
 * round that finished and starts the next one, so a slow or silent target never delays the
 * tick. Host names are resolved by a second thread into a cache (refreshed every 5 minutes,
 * retried every 30 s after a failure): a hanging DNS server stalls only that thread, and the
 * prober uses the addresses it has. */
#include "collect_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const metric_def_t defs[] = {
    {"system_network_probe_success", "gauge", "", "target",
     "1 when the TCP connection to the target was established within the timeout, else 0 "
     "(refused, unreachable, timed out, or a name that does not resolve)."},
    {"system_network_probe_latency_seconds", "gauge", "seconds", "target",
     "Time to establish the TCP connection (the handshake round trip; name resolution is "
     "cached and not included); absent when the probe failed."},
};

const metric_table_t collect_table_probes = {
    "Network probes",
    "TCP connect to system_monitor.probe_targets",
    "probe_targets (system_monitor.probe_targets, enable_network_monitoring)",
    "Probes run on their own thread: each pass reports the round the previous pass started, so "
    "the figures lag one interval and a silent target never delays collection. All targets are "
    "probed in parallel. Packet loss is the failure share: 1 - "
    "avg_over_time(system_network_probe_success[5m]). Host names are resolved on another thread "
    "(the first address is used), again every 5 minutes, and 30 s after a failure; a target "
    "has no series until its name was looked up once.",
    defs,
    METRIC_TABLE_N(defs)};

#define RESOLVE_TTL_MS   (5 * 60 * 1000)
#define RESOLVE_RETRY_MS (30 * 1000)

/* Split "host:port" / "[v6]:port" into host and port. Returns 0 or OMEGA_EINVAL. */
int probe_target_split(const char *t, char *host, size_t hcap, char *port, size_t pcap)
{
    const char *colon, *hs = t, *he;
    if (t[0] == '[') {
        he = strchr(t, ']');
        if (!he || he[1] != ':')
            return OMEGA_EINVAL;
        hs = t + 1;
        colon = he + 1;
    } else {
        colon = strrchr(t, ':');
        if (!colon || strchr(t, ':') != colon)
            return OMEGA_EINVAL;
        he = colon;
    }
    uint64_t p;
    if ((size_t)(he - hs) == 0 || (size_t)(he - hs) >= hcap || strlen(colon + 1) >= pcap ||
        procfile_parse_u64(colon + 1, &p) != 0 || p == 0 || p > 65535)
        return OMEGA_EINVAL;
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    snprintf(port, pcap, "%s", colon + 1);
    return 0;
}

/* One target: its address cache (resolver thread) and last result (prober thread). */
typedef struct probe_target {
    char *target;                 /* as configured, the label value; owned */
    char host[256], port[8];      /* split once */
    struct sockaddr_storage addr; /* first resolved address, valid when resolved */
    socklen_t addrlen;
    int resolved;         /* 1: addr is usable */
    int looked_up;        /* 1: at least one lookup finished (success or failure) */
    int64_t next_resolve; /* monotonic ms of the next lookup */
    int ok;               /* last round: connected */
    int64_t took_ns;      /* last round: time to connect */
} probe_target_t;

struct probes {
    pthread_mutex_t lock;  /* guards everything below but the threads */
    pthread_cond_t cond;   /* CLOCK_MONOTONIC; rounds wanted/done, stop, lookups */
    probe_target_t *t;     /* n targets */
    size_t n;
    int64_t timeout_ms;    /* connect timeout per round */
    uint64_t wanted, done; /* rounds started by passes / finished by the prober */
    int stop;              /* set by probes_stop */
    probe_resolve_fn resolve; /* getaddrinfo, or a test's stand-in */
    pthread_t prober, resolver;
    int n_threads; /* threads started (0..2) */
};

/* getaddrinfo for one host, first address into *ss. 0 or -1. */
static int resolve_gai(const char *host, const char *port, struct sockaddr_storage *ss,
                       socklen_t *len)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        return -1;
    int rc = -1;
    if (ai->ai_addrlen <= sizeof(*ss)) {
        memcpy(ss, ai->ai_addr, ai->ai_addrlen);
        *len = ai->ai_addrlen;
        rc = 0;
    }
    freeaddrinfo(ai);
    return rc;
}

/* A numeric address needs no lookup: parsed at once, so literal targets probe from pass 1. */
static int resolve_numeric(const char *host, const char *port, struct sockaddr_storage *ss,
                           socklen_t *len)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        return -1;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* Absolute CLOCK_MONOTONIC time ms from now. */
static struct timespec deadline_in(int64_t ms)
{
    int64_t ns = omega_mono_ns() + ms * 1000000;
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    return ts;
}

/* Resolver thread: look up each name when due, one at a time, with the lock released. */
static void *resolver_main(void *arg)
{
    probes_t *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        int64_t now = omega_mono_ns() / 1000000;
        for (size_t i = 0; i < p->n && !p->stop; i++) {
            probe_target_t *t = &p->t[i];
            if (t->next_resolve > now)
                continue;
            struct sockaddr_storage ss;
            socklen_t len = 0;
            pthread_mutex_unlock(&p->lock);
            int rc = p->resolve(t->host, t->port, &ss, &len);
            pthread_mutex_lock(&p->lock);
            now = omega_mono_ns() / 1000000;
            t->looked_up = 1;
            if (rc == 0) {
                t->addr = ss;
                t->addrlen = len;
                t->resolved = 1;
            } else {
                t->resolved = 0; /* a name that stopped resolving fails its probes */
            }
            t->next_resolve = now + (rc == 0 ? RESOLVE_TTL_MS : RESOLVE_RETRY_MS);
            pthread_cond_broadcast(&p->cond);
        }
        struct timespec ts = deadline_in(1000);
        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Start a non-blocking connect to addr; the socket, or -1 when it failed at once. */
static int start_connect(const struct sockaddr_storage *ss, socklen_t len)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (const struct sockaddr *)ss, len) != 0 && errno != EINPROGRESS) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Wait for every socket in pf (fd -1 = done) until the deadline; fill ok[] and took[]. */
static void wait_all(struct pollfd *pf, size_t n, int64_t t0, int64_t deadline, int *ok,
                     int64_t *took)
{
    size_t pending = 0;
    for (size_t i = 0; i < n; i++)
        pending += pf[i].fd >= 0;
    while (pending > 0) {
        int64_t left_ms = (deadline - omega_mono_ns()) / 1000000;
        if (left_ms <= 0)
            break;
        int r = poll(pf, n, (int)left_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        int64_t now = omega_mono_ns();
        for (size_t i = 0; i < n; i++) {
            if (pf[i].fd < 0 || pf[i].revents == 0)
                continue;
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (getsockopt(pf[i].fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) {
                ok[i] = 1;
                took[i] = now - t0;
            }
            close(pf[i].fd);
            pf[i].fd = -1;
            pending--;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (pf[i].fd >= 0)
            close(pf[i].fd); /* timed out */
}

/* One round over every resolved target (called without the lock). */
static void probe_round(probes_t *p, const struct sockaddr_storage *addr, const socklen_t *len,
                        const int *usable, struct pollfd *pf, int *ok, int64_t *took)
{
    int64_t t0 = omega_mono_ns();
    for (size_t i = 0; i < p->n; i++) {
        ok[i] = 0;
        took[i] = 0;
        pf[i].fd = usable[i] ? start_connect(&addr[i], len[i]) : -1;
        pf[i].events = POLLOUT;
    }
    wait_all(pf, p->n, t0, t0 + p->timeout_ms * 1000000, ok, took);
}

/* Prober thread: one round per pass that asked for it. */
static void *prober_main(void *arg)
{
    probes_t *p = arg;
    struct sockaddr_storage *addr = omega_calloc(p->n, sizeof(*addr));
    socklen_t *len = omega_calloc(p->n, sizeof(*len));
    int *usable = omega_calloc(p->n, sizeof(*usable)), *ok = omega_calloc(p->n, sizeof(*ok));
    int64_t *took = omega_calloc(p->n, sizeof(*took));
    struct pollfd *pf = omega_calloc(p->n, sizeof(*pf));
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->done == p->wanted)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->stop)
            break;
        uint64_t round = p->wanted;
        for (size_t i = 0; i < p->n; i++) {
            usable[i] = p->t[i].resolved;
            addr[i] = p->t[i].addr;
            len[i] = p->t[i].addrlen;
        }
        pthread_mutex_unlock(&p->lock);
        probe_round(p, addr, len, usable, pf, ok, took);
        pthread_mutex_lock(&p->lock);
        for (size_t i = 0; i < p->n; i++) {
            p->t[i].ok = ok[i];
            p->t[i].took_ns = took[i];
        }
        p->done = round;
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    free(addr);
    free(len);
    free(usable);
    free(ok);
    free(took);
    free(pf);
    return NULL;
}

/* Start fn on a thread with every signal blocked. 0 or an errno. */
static int spawn(pthread_t *th, void *(*fn)(void *), void *arg, const char *name)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(th, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        pthread_setname_np(*th, name);
    return rc;
}

probes_t *probes_start(char *const *targets, size_t n, int64_t timeout_ms, probe_resolve_fn resolve,
                       omega_error_t *err)
{
    probes_t *p = omega_calloc(1, sizeof(*p));
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&p->lock, NULL);
    p->n = n;
    p->timeout_ms = timeout_ms;
    p->resolve = resolve ? resolve : resolve_gai;
    p->t = omega_calloc(n ? n : 1, sizeof(*p->t));
    for (size_t i = 0; i < n; i++) {
        probe_target_t *t = &p->t[i];
        t->target = omega_strdup(targets[i]);
        if (probe_target_split(targets[i], t->host, sizeof(t->host), t->port, sizeof(t->port)) !=
            0)
            continue; /* checked by the collector already */
        if (resolve_numeric(t->host, t->port, &t->addr, &t->addrlen) == 0) {
            t->resolved = t->looked_up = 1;
            t->next_resolve = INT64_MAX; /* a literal address never changes */
        }
    }
    int rc = spawn(&p->prober, prober_main, p, "omega-probe");
    if (rc == 0) {
        p->n_threads = 1;
        rc = spawn(&p->resolver, resolver_main, p, "omega-resolve");
        if (rc == 0)
            p->n_threads = 2;
    }
    if (rc != 0) {
        char ebuf[128];
        omega_error_set(err, OMEGA_EAGAIN, "cannot start the probe threads: %s",
                        strerror_r(rc, ebuf, sizeof(ebuf)));
        probes_stop(p);
        return NULL;
    }
    return p;
}

void probes_stop(probes_t *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    /* The resolver may sit in getaddrinfo until the resolver's own timeout (seconds). */
    if (p->n_threads >= 1)
        pthread_join(p->prober, NULL);
    if (p->n_threads >= 2)
        pthread_join(p->resolver, NULL);
    for (size_t i = 0; i < p->n; i++)
        free(p->t[i].target);
    free(p->t);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

void probes_report(probes_t *p, batch_t *b)
{
    pthread_mutex_lock(&p->lock);
    if (p->done == p->wanted) { /* the last round finished (none yet on the first pass) */
        for (size_t i = 0; p->done > 0 && i < p->n; i++) {
            const probe_target_t *t = &p->t[i];
            if (!t->looked_up)
                continue; /* first lookup still running: nothing known yet */
            omega_label_t l[1] = {{"target", t->target}};
            batch_add(b, "system_network_probe_success", t->ok ? 1.0 : 0.0, l, 1);
            if (t->ok)
                batch_add(b, "system_network_probe_latency_seconds", (double)t->took_ns / 1e9,
                          l, 1);
        }
        p->wanted++;
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
}

int probes_wait(probes_t *p, int64_t max_ms)
{
    struct timespec ts = deadline_in(max_ms);
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    while (p->done != p->wanted && rc == 0)
        rc = pthread_cond_timedwait(&p->cond, &p->lock, &ts);
    int done = p->done == p->wanted;
    pthread_mutex_unlock(&p->lock);
    return done ? 0 : -1;
}

int probes_wait_lookups(probes_t *p, int64_t max_ms)
{
    struct timespec ts = deadline_in(max_ms);
    int rc = 0, all = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        all = 1;
        for (size_t i = 0; i < p->n; i++)
            all = all && p->t[i].looked_up;
        if (all || rc != 0)
            break;
        rc = pthread_cond_timedwait(&p->cond, &p->lock, &ts);
    }
    pthread_mutex_unlock(&p->lock);
    return all ? 0 : -1;
}
