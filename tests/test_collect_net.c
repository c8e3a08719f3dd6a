/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the network sources in collect/: /proc/net/dev counters, throughput and
 * utilisation (interfaces disappearing, counter wrap, bad lines), TCP counters and connection
 * states (fixture, a table larger than the read buffer, netlink against the test's own read of
 * /proc/net/tcp), and TCP connect probes against a listener the test opens and a closed
 * port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "omega/collect.h"
#include "testutil.h"

#include "../collect/collect_int.h"

#define TS 1767225600000LL

static omega_collector_t *make(const char *root, unsigned which)
{
    return cap_make(root, which, NULL, 0);
}

/* ---- network --------------------------------------------------------------------------- */

static const char netdev_hdr[] =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed\n";

static void put_netdev(const char *root, const char *lines)
{
    char text[4096];
    snprintf(text, sizeof(text), "%s%s", netdev_hdr, lines);
    cap_put(root, "proc/net/dev", text);
}

static void test_netdev_fixture(void **state)
{
    (void)state;
    char root[1024];
    cap_t cap = {0};
    omega_collector_t *c = make(cap_fixture("sysmon", root, sizeof(root)), S_NET);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    cap_assert_close(
        cap_value(&cap, "system_network_receive_bytes_total", "interface", "eth0", NULL),
        201855296);
    cap_assert_close(
        cap_value(&cap, "system_network_transmit_packets_total", "interface", "eth0", NULL), 3530);
    cap_assert_close(cap_value(&cap, "system_network_errors_total", "interface", "eth0",
                               "direction", "receive", NULL),
                     3);
    cap_assert_close(cap_value(&cap, "system_network_drops_total", "interface", "eth0", "direction",
                               "transmit", NULL),
                     6);
    cap_assert_close(cap_value(&cap, "system_network_speed_bytes", "interface", "eth0", NULL),
                     125e6);
    /* Loopback has no speed file, wlan0 says -1: no speed, never a zero. */
    assert_null(cap_find(&cap, "system_network_speed_bytes", "interface", "lo", NULL));
    assert_null(cap_find(&cap, "system_network_speed_bytes", "interface", "wlan0", NULL));
    assert_int_equal(cap_count(&cap, "system_network_receive_bytes_total"), 3);
    omega_collector_destroy(c);
    cap_free(&cap);
}

static void test_netdev_throughput_and_utilisation(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("net");
    cap_t cap = {0};
    cap_put(root, "sys/class/net/eth0/speed", "1000\n");
    cap_put(root, "proc/net/snmp", "Tcp: RetransSegs\nTcp: 0\n");
    cap_put(root, "proc/net/tcp", "");
    omega_collector_t *c = make(root, S_NET);
    put_netdev(root, "  eth0: 1000 1 0 0 0 0 0 0 2000 2 0 0 0 0 0 0\n"
                     "    lo: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    /* 2 s later: +25 MB in (100 Mbit/s = 10 %), +500 MB out (2 Gbit/s: capped at 100 %). */
    put_netdev(root, "  eth0: 25001000 1 0 0 0 0 0 0 500002000 2 0 0 0 0 0 0\n"
                     "    lo: 4000 0 0 0 0 0 0 0 4000 0 0 0 0 0 0 0\n");
    assert_int_equal(cap_pass(c, &cap, TS + 2000), 0);
    cap_assert_close(cap_value(&cap, "system_network_throughput_bytes_per_second", "interface",
                               "eth0", "direction", "receive", NULL),
                     12.5e6);
    cap_assert_close(cap_value(&cap, "system_network_utilization_percent", "interface", "eth0",
                               "direction", "receive", NULL),
                     10.0);
    cap_assert_close(cap_value(&cap, "system_network_utilization_percent", "interface", "eth0",
                               "direction", "transmit", NULL),
                     100.0);
    cap_assert_close(cap_value(&cap, "system_network_throughput_bytes_per_second", "interface",
                               "lo", "direction", "transmit", NULL),
                     2000);
    assert_null(cap_find(&cap, "system_network_utilization_percent", "interface", "lo", "direction",
                         "receive", NULL));
    /* Bad lines: no colon, too few fields, a non-number, a long name; the rest stays. */
    put_netdev(root, "garbage line\n  eth0: 1 2 3\n  eth1: 1 x 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
                     "  averyveryveryverylonginterfacename0: 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
                     "    lo: 5000 0 0 0 0 0 0 0 5000 0 0 0 0 0 0 0\n");
    assert_int_equal(cap_pass(c, &cap, TS + 3000), OMEGA_EIO);
    assert_int_equal(cap_count(&cap, "system_network_receive_bytes_total"), 1);
    cap_assert_close(cap_value(&cap, "system_network_throughput_bytes_per_second", "interface",
                               "lo", "direction", "receive", NULL),
                     1000);
    omega_collector_destroy(c);
    cap_free(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_netdev_interface_disappears_and_wraps(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("net-gone");
    cap_t cap = {0};
    cap_put(root, "proc/net/snmp", "Tcp: RetransSegs\nTcp: 0\n");
    cap_put(root, "proc/net/tcp", "");
    omega_collector_t *c = make(root, S_NET);
    cap_put_fixture(root, "ifgone/a", "proc/net/dev");
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    assert_non_null(
        cap_find(&cap, "system_network_receive_bytes_total", "interface", "eth1", NULL));
    cap_put_fixture(root, "ifgone/b", "proc/net/dev");
    assert_int_equal(cap_pass(c, &cap, TS + 1000), 0);
    for (size_t i = 0; i < cap.n; i++)
        assert_string_not_equal(cap.pts[i].lvalue[0], "eth1");
    cap_assert_close(cap_value(&cap, "system_network_throughput_bytes_per_second", "interface",
                               "lo", "direction", "receive", NULL),
                     100);
    /* eth1 is back with lower counters: counters again, derived only from the next pass. */
    cap_put_fixture(root, "ifgone/a", "proc/net/dev");
    assert_int_equal(cap_pass(c, &cap, TS + 2000), 0);
    assert_non_null(
        cap_find(&cap, "system_network_receive_bytes_total", "interface", "eth1", NULL));
    assert_null(cap_find(&cap, "system_network_throughput_bytes_per_second", "interface", "eth1",
                         "direction", "receive", NULL));
    /* lo went from 200 to 100: a reset, no throughput for it this pass. */
    assert_null(cap_find(&cap, "system_network_throughput_bytes_per_second", "interface", "lo",
                         "direction", "receive", NULL));
    /* 32-bit wrap on eth0. */
    cap_put_fixture(root, "wrap/a", "proc/net/dev");
    assert_int_equal(cap_pass(c, &cap, TS + 3000), 0);
    cap_put_fixture(root, "wrap/b", "proc/net/dev");
    assert_int_equal(cap_pass(c, &cap, TS + 4000), 0);
    cap_assert_close(cap_value(&cap, "system_network_throughput_bytes_per_second", "interface",
                               "eth0", "direction", "receive", NULL),
                     1000);
    cap_assert_close(cap_value(&cap, "system_network_throughput_bytes_per_second", "interface",
                               "eth0", "direction", "transmit", NULL),
                     2000);
    omega_collector_destroy(c);
    cap_free(&cap);
    testutil_rmtree(root);
    free(root);
}

/* ---- TCP ------------------------------------------------------------------------------- */

static void test_tcp_fixture(void **state)
{
    (void)state;
    char root[1024];
    cap_t cap = {0};
    omega_collector_t *c = make(cap_fixture("sysmon", root, sizeof(root)), S_NET);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    cap_assert_close(cap_value(&cap, "system_network_tcp_retransmits_total", NULL), 14);
    cap_assert_close(cap_value(&cap, "system_network_tcp_segments_sent_total", NULL), 13231);
    cap_assert_close(cap_value(&cap, "system_network_tcp_segments_received_total", NULL), 14966);
    cap_assert_close(cap_value(&cap, "system_network_tcp_active_opens_total", NULL), 720);
    cap_assert_close(cap_value(&cap, "system_network_tcp_passive_opens_total", NULL), 554);
    assert_int_equal(cap_count(&cap, "system_network_tcp_connections"), 11);
    cap_assert_close(cap_value(&cap, "system_network_tcp_connections", "state", "listen", NULL), 3);
    cap_assert_close(
        cap_value(&cap, "system_network_tcp_connections", "state", "established", NULL), 4);
    cap_assert_close(cap_value(&cap, "system_network_tcp_connections", "state", "time_wait", NULL),
                     1);
    cap_assert_close(cap_value(&cap, "system_network_tcp_connections", "state", "close_wait", NULL),
                     1);
    cap_assert_close(cap_value(&cap, "system_network_tcp_connections", "state", "syn_sent", NULL),
                     0);
    omega_collector_destroy(c);
    cap_free(&cap);
}

static void test_tcp_large_table_and_bad_input(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("tcp");
    char path[1024];
    cap_t cap = {0};
    put_netdev(root, "");
    cap_put(root, "proc/net/snmp", "Tcp: RtoAlgorithm RetransSegs\nTcp: 1 9\n");
    /* 30000 sockets, about 4.5 MB: several times the whole-file buffer. No tcp6 file. */
    snprintf(path, sizeof(path), "%s/proc/net/tcp", root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   "
               "uid  timeout inode\n");
    for (int i = 0; i < 30000; i++)
        fprintf(f,
                "%5d: 0100007F:%04X 0100007F:1F90 %s 00000000:00000000 00:00000000 00000000 "
                "1000 0 %d 1 0000000000000000 20 4 30 10 -1                    \n",
                i, 1024 + i % 60000, i % 3 ? "01" : "06", 100000 + i);
    assert_int_equal(fclose(f), 0);
    omega_collector_t *c = make(root, S_NET);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    cap_assert_close(
        cap_value(&cap, "system_network_tcp_connections", "state", "established", NULL), 20000);
    cap_assert_close(cap_value(&cap, "system_network_tcp_connections", "state", "time_wait", NULL),
                     10000);
    cap_assert_close(cap_value(&cap, "system_network_tcp_retransmits_total", NULL), 9);
    /* A bad state field and a snmp file without Tcp lines. */
    cap_put(root, "proc/net/tcp",
            "  sl local\n   0: 0100007F:0016 00000000:0000 ZZ 0\n"
            "   1: 0100007F:0016 00000000:0000 0A 0\n");
    cap_put(root, "proc/net/snmp", "Ip: Forwarding\nIp: 1\n");
    assert_int_equal(cap_pass(c, &cap, TS + 1000), OMEGA_EIO);
    cap_assert_close(cap_value(&cap, "system_network_tcp_connections", "state", "listen", NULL), 1);
    assert_null(cap_find(&cap, "system_network_tcp_retransmits_total", NULL));
    cap_put(root, "proc/net/snmp", "Tcp: RetransSegs OutSegs\nTcp: 1\n");
    assert_int_equal(cap_pass(c, &cap, TS + 2000), OMEGA_EIO);
    cap_put(root, "proc/net/snmp", "Tcp: RetransSegs OutSegs\nTcp: -1 2\n");
    assert_int_equal(cap_pass(c, &cap, TS + 3000), OMEGA_EIO);
    omega_collector_destroy(c);
    cap_free(&cap);
    testutil_rmtree(root);
    free(root);
}

/* ---- probes ---------------------------------------------------------------------------- */

static void test_probes_open_and_closed_ports(void **state)
{
    (void)state;
    int open_port, closed_port;
    int lfd = cap_listener(&open_port);
    int cfd = cap_listener(&closed_port);
    close(cfd); /* nothing listens there any more: connection refused */
    char t1[64], t2[64];
    snprintf(t1, sizeof(t1), "127.0.0.1:%d", open_port);
    snprintf(t2, sizeof(t2), "localhost:%d", closed_port);
    const char *targets[] = {t1, t2};
    cap_t cap = {0};
    omega_collector_t *c = cap_make("/", S_NET & 0, targets, 2);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    assert_int_equal(cap.n, 0); /* probes belong to the network switch */
    omega_collector_destroy(c);

    char *root = testutil_mkdtemp("probe");
    put_netdev(root, "");
    cap_put(root, "proc/net/snmp", "Tcp: RetransSegs\nTcp: 0\n");
    cap_put(root, "proc/net/tcp", "");
    c = cap_make(root, S_NET, targets, 2);
    /* Probes run on their own thread: a pass reports the round the previous pass started. */
    assert_int_equal(probes_wait_lookups(collector_probes(c), 30000), 0);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    assert_null(cap_find(&cap, "system_network_probe_success", "target", t1, NULL));
    assert_int_equal(probes_wait(collector_probes(c), 30000), 0);
    assert_int_equal(cap_pass(c, &cap, TS + 1000), 0);
    cap_assert_close(cap_value(&cap, "system_network_probe_success", "target", t1, NULL), 1);
    double lat = cap_value(&cap, "system_network_probe_latency_seconds", "target", t1, NULL);
    assert_true(lat > 0 && lat < 60);
    cap_assert_close(cap_value(&cap, "system_network_probe_success", "target", t2, NULL), 0);
    assert_null(cap_find(&cap, "system_network_probe_latency_seconds", "target", t2, NULL));
    omega_collector_destroy(c);
    close(lfd);
    cap_free(&cap);
    testutil_rmtree(root);
    free(root);
}

/* A resolver for the test: "nx.invalid" fails at once, "hang.example" blocks until the test
 * writes to hang_pipe (a DNS server that does not answer), anything else fails. */
static int hang_pipe[2] = {-1, -1};
static _Atomic int nx_done;

static int fake_resolve(const char *host, const char *port, struct sockaddr_storage *ss,
                        socklen_t *len)
{
    (void)port;
    (void)ss;
    (void)len;
    if (strcmp(host, "hang.example") == 0) {
        char ch;
        while (read(hang_pipe[0], &ch, 1) < 0 && errno == EINTR)
            ;
    } else if (strcmp(host, "nx.invalid") == 0) {
        atomic_store(&nx_done, 1);
    }
    return -1;
}

/* The value of name{target=t} among the batch's points, or -1 when absent. */
static double batch_value(batch_t *b, const char *name, const char *t)
{
    size_t n = 0;
    const omega_point_t *pts = batch_finish(b, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(pts[i].name, name) && pts[i].n_labels == 1 &&
            !strcmp(pts[i].labels[0].value, t))
            return pts[i].value;
    return -1;
}

static void test_probes_never_wait_for_dns(void **state)
{
    (void)state;
    int open_port;
    int lfd = cap_listener(&open_port);
    char t0[64];
    snprintf(t0, sizeof(t0), "127.0.0.1:%d", open_port);
    char *targets[] = {t0, "nx.invalid:80", "hang.example:80"};
    assert_int_equal(pipe(hang_pipe), 0);
    atomic_store(&nx_done, 0);
    omega_error_t err;
    probes_t *p = probes_start(targets, 3, 5000, fake_resolve, &err);
    assert_non_null(p);
    batch_t b;
    batch_init(&b);
    /* Wait (bounded) until the failing name was looked up; the hanging one never is. */
    for (int i = 0; i < 30000 && !atomic_load(&nx_done); i++)
        usleep(1000);
    assert_true(atomic_load(&nx_done));
    batch_reset(&b, TS);
    probes_report(p, &b); /* starts round 1 */
    assert_int_equal(probes_wait(p, 30000), 0); /* it ends although a lookup hangs */
    batch_reset(&b, TS + 1000);
    probes_report(p, &b);
    cap_assert_close(batch_value(&b, "system_network_probe_success", t0), 1);
    assert_true(batch_value(&b, "system_network_probe_latency_seconds", t0) > 0);
    cap_assert_close(batch_value(&b, "system_network_probe_success", "nx.invalid:80"), 0);
    /* A name whose first lookup has not finished has no series yet. */
    cap_assert_close(batch_value(&b, "system_network_probe_success", "hang.example:80"), -1);
    /* The DNS server answers (with a failure): the target now reports failures. */
    assert_int_equal(write(hang_pipe[1], "x", 1), 1);
    assert_int_equal(probes_wait_lookups(p, 30000), 0);
    assert_int_equal(probes_wait(p, 30000), 0);
    batch_reset(&b, TS + 2000);
    probes_report(p, &b);
    assert_int_equal(probes_wait(p, 30000), 0);
    batch_reset(&b, TS + 3000);
    probes_report(p, &b);
    cap_assert_close(batch_value(&b, "system_network_probe_success", "hang.example:80"), 0);
    cap_assert_close(batch_value(&b, "system_network_probe_success", t0), 1);
    probes_stop(p);
    batch_deinit(&b);
    close(hang_pipe[0]);
    close(hang_pipe[1]);
    close(lfd);
}

static void test_probe_targets_validated(void **state)
{
    (void)state;
    char host[256], port[8];
    assert_int_equal(probe_target_split("db.local:5432", host, sizeof(host), port, sizeof(port)),
                     0);
    assert_string_equal(host, "db.local");
    assert_string_equal(port, "5432");
    assert_int_equal(probe_target_split("[::1]:22", host, sizeof(host), port, sizeof(port)), 0);
    assert_string_equal(host, "::1");
    const char *bad[] = {"nohost",  "h:0",   "h:65536", "h:",     ":80",
                         "[::1]22", "a:b:c", "h:8x",    "[::1]:", "[]:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(probe_target_split(bad[i], host, sizeof(host), port, sizeof(port)),
                         OMEGA_EINVAL);

    omega_collect_options_t o;
    omega_error_t err;
    omega_collect_options_init(&o);
    const char *one[] = {"a:b:c"};
    o.probe_targets = one;
    o.n_probe_targets = 1;
    assert_null(omega_collector_create(&o, &err));
    assert_string_equal(err.path, "probe_targets");
    const char *good[] = {"127.0.0.1:1"};
    o.probe_targets = good;
    o.probe_timeout_ms = 5;
    assert_null(omega_collector_create(&o, &err));
    assert_string_equal(err.path, "probe_timeout_ms");
    o.probe_targets = NULL;
    o.probe_timeout_ms = 1000;
    assert_null(omega_collector_create(&o, &err));
    o.n_probe_targets = 257;
    assert_null(omega_collector_create(&o, &err));
}

static uint64_t own_listen_count(void)
{
    static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    char line[512], st[8];
    uint64_t n = 0;
    for (size_t i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "r");
        if (!f)
            continue;
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "%*s %*s %*s %7s", st) == 1 && strcmp(st, "0A") == 0)
                n++;
        fclose(f);
    }
    return n;
}

static void test_tcp_netlink_matches_proc_files(void **state)
{
    (void)state;
    int port;
    int lfd = cap_listener(&port);
    /* Other programs on the host may open or close listeners meanwhile: compare only when
     * the test's own count is the same before and after (a few attempts). */
    uint64_t nl[TCP_STATES], before = 0, after = 1;
    for (int i = 0; i < 20 && before != after; i++) {
        memset(nl, 0, sizeof(nl));
        before = own_listen_count();
        assert_int_equal(tcp_diag_count(nl), 0);
        after = own_listen_count();
    }
    assert_int_equal(before, after);
    assert_true(nl[10] >= 1);
    assert_int_equal(nl[10], before);
    cap_t cap = {0};
    omega_collector_t *c = make("/", S_NET);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    assert_true(cap_value(&cap, "system_network_tcp_connections", "state", "listen", NULL) >= 1);
    omega_collector_destroy(c);
    cap_free(&cap);
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_netdev_fixture),
        cmocka_unit_test(test_netdev_throughput_and_utilisation),
        cmocka_unit_test(test_netdev_interface_disappears_and_wraps),
        cmocka_unit_test(test_tcp_fixture),
        cmocka_unit_test(test_tcp_large_table_and_bad_input),
        cmocka_unit_test(test_probes_open_and_closed_ports),
        cmocka_unit_test(test_probes_never_wait_for_dns),
        cmocka_unit_test(test_probe_targets_validated),
        cmocka_unit_test(test_tcp_netlink_matches_proc_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
