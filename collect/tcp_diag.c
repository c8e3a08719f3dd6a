/* SPDX-License-Identifier: Apache-2.0 */
/* TCP socket counts per state through netlink sock_diag (what ss(8) uses): the kernel sends
 * one small binary record per socket instead of formatting /proc/net/tcp, which costs tens of
 * milliseconds per read on hosts with large connection hash tables. Live root only; the
 * caller falls back to the /proc files when this fails (no sock_diag, seccomp, fixtures). */
#include "collect_int.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DIAG_BUF 32768
/* States 1 (ESTABLISHED) .. 11 (CLOSING); 12 (NEW_SYN_RECV) are request socks. */
#define DIAG_STATES 0xffeu

/* Ask for one family's sockets. Returns 0 or -1. */
static int send_dump(int fd, int family, uint32_t seq)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 r;
    } req;
    struct sockaddr_nl nl;
    memset(&req, 0, sizeof(req));
    memset(&nl, 0, sizeof(nl));
    nl.nl_family = AF_NETLINK;
    req.nlh.nlmsg_len = sizeof(req);
    req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.nlh.nlmsg_seq = seq;
    req.r.sdiag_family = (uint8_t)family;
    req.r.sdiag_protocol = IPPROTO_TCP;
    req.r.idiag_states = DIAG_STATES;
    ssize_t n;
    do {
        n = sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&nl, sizeof(nl));
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof(req) ? 0 : -1;
}

/* Read the dump's replies and count states. Returns 0, 1 (family not supported: nothing to
 * count) or -1. */
static int read_dump(int fd, uint32_t seq, char *buf, uint64_t *counts)
{
    for (;;) {
        ssize_t n = recv(fd, buf, DIAG_BUF, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        int len = (int)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)len);
             h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_seq != seq)
                continue;
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                return e->error == -EAFNOSUPPORT || e->error == -ENOENT ? 1 : -1;
            }
            if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
                h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
                continue;
            const struct inet_diag_msg *m = NLMSG_DATA(h);
            if (m->idiag_state > 0 && m->idiag_state < TCP_STATES)
                counts[m->idiag_state]++;
        }
    }
}

int tcp_diag_count(uint64_t *counts)
{
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return -1;
    char *buf = omega_malloc(DIAG_BUF);
    uint64_t got[TCP_STATES] = {0};
    int rc = 0;
    const int families[2] = {AF_INET, AF_INET6};
    for (int i = 0; i < 2 && rc == 0; i++) {
        uint32_t seq = (uint32_t)i + 1;
        if (send_dump(fd, families[i], seq) != 0 || read_dump(fd, seq, buf, got) < 0)
            rc = -1;
    }
    if (rc == 0)
        memcpy(counts, got, sizeof(got));
    free(buf);
    close(fd);
    return rc;
}
