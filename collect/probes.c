/* SPDX-License-Identifier: Apache-2.0 */
/* TCP connect probes: every target ("host:port", "[v6addr]:port") is connected to at once with
 * non-blocking sockets, and one poll() waits for all of them up to the timeout. The time to an
 * established connection is the latency; a refusal, an error or the timeout is a failure. */
#include "collect_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const metric_def_t defs[] = {
    {"system_network_probe_success", "gauge", "", "target",
     "1 when the TCP connection to the target was established within the timeout, else 0."},
    {"system_network_probe_latency_seconds", "gauge", "seconds", "target",
     "Time to establish the TCP connection (handshake round trip plus name resolution); "
     "absent when the probe failed."},
};

const metric_table_t collect_table_probes = {
    "Network probes",
    "TCP connect to system_monitor.probe_targets",
    "probe_targets (system_monitor.probe_targets, enable_network_monitoring)",
    "All targets are probed in parallel, so a pass costs at most one timeout whatever their "
    "number. Packet loss is the failure share: 1 - "
    "avg_over_time(system_network_probe_success[5m]). "
    "Host names are resolved with getaddrinfo(3) at every probe and the first address is used.",
    defs,
    METRIC_TABLE_N(defs)};

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

/* Start a non-blocking connect; returns the socket or -1 (failure known at once). */
static int start_connect(const char *target)
{
    char host[256], port[8];
    struct addrinfo hints, *ai = NULL;
    if (probe_target_split(target, host, sizeof(host), port, sizeof(port)) != 0)
        return -1;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static void report(batch_t *b, const char *target, int ok, int64_t ns)
{
    omega_label_t l[1] = {{"target", target}};
    batch_add(b, "system_network_probe_success", ok ? 1.0 : 0.0, l, 1);
    if (ok)
        batch_add(b, "system_network_probe_latency_seconds", (double)ns / 1e9, l, 1);
}

/* Wait for every socket in p (fd -1 = done) until the deadline; fill ok[] and took[]. */
static void wait_all(struct pollfd *p, size_t n, int64_t t0, int64_t deadline, int *ok,
                     int64_t *took)
{
    size_t pending = 0;
    for (size_t i = 0; i < n; i++)
        pending += p[i].fd >= 0;
    while (pending > 0) {
        int64_t left_ms = (deadline - omega_mono_ns()) / 1000000;
        if (left_ms <= 0)
            break;
        int r = poll(p, n, (int)left_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        int64_t now = omega_mono_ns();
        for (size_t i = 0; i < n; i++) {
            if (p[i].fd < 0 || p[i].revents == 0)
                continue;
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) {
                ok[i] = 1;
                took[i] = now - t0;
            }
            close(p[i].fd);
            p[i].fd = -1;
            pending--;
        }
    }
}

int probes_collect(char *const *targets, size_t n, int64_t timeout_ms, batch_t *b)
{
    if (n == 0)
        return 0;
    struct pollfd *p = omega_calloc(n, sizeof(*p));
    int *ok = omega_calloc(n, sizeof(*ok));
    int64_t *took = omega_calloc(n, sizeof(*took));
    int64_t t0 = omega_mono_ns();
    for (size_t i = 0; i < n; i++) {
        p[i].fd = start_connect(targets[i]);
        p[i].events = POLLOUT;
    }
    wait_all(p, n, t0, t0 + timeout_ms * 1000000, ok, took);
    for (size_t i = 0; i < n; i++) {
        if (p[i].fd >= 0)
            close(p[i].fd); /* timed out */
        report(b, targets[i], ok[i], took[i]);
    }
    free(p);
    free(ok);
    free(took);
    return 0;
}
