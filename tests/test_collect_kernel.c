/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the kernels' full counter sets in collect/: /proc/net/snmp, netstat and snmp6,
 * sockstat, interrupts and softirqs, per-core CPU seconds, the full vmstat and meminfo sets
 * (in test_collect_sources.c and test_collect.c), the name cache and the family matcher.
 * Fixture copies of a real host (tests/fixtures/proc/sysmon), odd files written by the test
 * (offline CPUs, shared IRQ lines, misaligned header/value pairs, overflow, repeated keys,
 * missing files), and the live host cross-checked against the test's own reads. Also the
 * zone, softnet/conntrack, interface-attribute, disk-column and watched-process additions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

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

/* A temporary root holding only the files the test writes. */
static char *tmp_root(const char *tag)
{
    char *root = testutil_mkdtemp(tag);
    assert_non_null(root);
    return root;
}

static void drop_root(char *root)
{
    testutil_rmtree(root);
    free(root);
}

/* ---- /proc/net/snmp, /proc/net/netstat, /proc/net/snmp6 ---------------------------------- */

static void test_netstat_fixture(void **state)
{
    (void)state;
    char root[1024];
    cap_t cap = {0};
    omega_collector_t *c = make(cap_fixture("sysmon", root, sizeof(root)), S_NET);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    /* /proc/net/snmp: gauges keep their sign and have no _total. */
    cap_assert_close(cap_value(&cap, "system_netstat_Tcp_MaxConn", NULL), -1);
    cap_assert_close(cap_value(&cap, "system_netstat_Tcp_CurrEstab", NULL), 2);
    cap_assert_close(cap_value(&cap, "system_netstat_Tcp_ActiveOpens_total", NULL), 720);
    cap_assert_close(cap_value(&cap, "system_netstat_Ip_InReceives_total", NULL), 25011);
    cap_assert_close(cap_value(&cap, "system_netstat_Ip_DefaultTTL", NULL), 64);
    /* The catalogue metrics still come from the same read. */
    cap_assert_close(cap_value(&cap, "system_network_tcp_active_opens_total", NULL), 720);
    /* /proc/net/netstat */
    cap_assert_close(cap_value(&cap, "system_netstat_TcpExt_TW_total", NULL), 129423);
    cap_assert_close(cap_value(&cap, "system_netstat_TcpExt_SyncookiesSent_total", NULL), 0);
    assert_non_null(cap_find(&cap, "system_netstat_IpExt_InOctets_total", NULL));
    assert_non_null(cap_find(&cap, "system_netstat_MPTcpExt_MPCapableSYNRX_total", NULL));
    /* /proc/net/snmp6: the protocol ends at its first '6'. */
    cap_assert_close(cap_value(&cap, "system_netstat_Ip6_InReceives_total", NULL), 6);
    cap_assert_close(cap_value(&cap, "system_netstat_Icmp6_InMsgs_total", NULL), 2);
    cap_assert_close(cap_value(&cap, "system_netstat_UdpLite6_InErrors_total", NULL), 0);
    assert_true(cap_count(&cap, "system_netstat_Udp6_InDatagrams_total") == 1);
    omega_collector_destroy(c);
    cap_free(&cap);
}

static void test_netstat_misaligned_pairs_and_bad_values(void **state)
{
    (void)state;
    char *root = tmp_root("netstat");
    cap_t cap = {0};
    omega_collector_t *c = make(root, S_NET);
    cap_put(root, "proc/net/dev", "a|b\nc|d\n");
    cap_put(root, "proc/net/snmp", "Tcp: ActiveOpens\nTcp: 1\n");
    cap_put(root, "proc/net/tcp", "  sl  local_address\n");
    /* One value missing, one pair whose value line has another protocol, one value that is
     * not a number, one above INT64_MAX, one repeated key, a blank line, no final newline. */
    cap_put(root, "proc/net/netstat",
            "TcpExt: A B C\nTcpExt: 1 2\n"
            "IpExt: X\nUdpExt: 5\n"
            "\n"
            "Good: K L M N\nGood: 7 x1 18446744073709551615 9\n"
            "Rep: K K\nRep: 1 2");
    assert_int_equal(cap_pass(c, &cap, TS), OMEGA_EIO);
    assert_null(cap_find(&cap, "system_netstat_TcpExt_A_total", NULL));
    assert_null(cap_find(&cap, "system_netstat_TcpExt_B_total", NULL));
    assert_null(cap_find(&cap, "system_netstat_IpExt_X_total", NULL));
    assert_null(cap_find(&cap, "system_netstat_UdpExt_X_total", NULL));
    cap_assert_close(cap_value(&cap, "system_netstat_Good_K_total", NULL), 7);
    assert_null(cap_find(&cap, "system_netstat_Good_L_total", NULL));
    cap_assert_close(cap_value(&cap, "system_netstat_Good_M_total", NULL), 18446744073709551615.0);
    cap_assert_close(cap_value(&cap, "system_netstat_Good_N_total", NULL), 9);
    assert_int_equal(cap_count(&cap, "system_netstat_Rep_K_total"), 1);
    cap_assert_close(cap_value(&cap, "system_netstat_Rep_K_total", NULL), 1);
    /* A header without its value line at the end of the file. */
    cap_put(root, "proc/net/netstat", "Good: K\nGood: 3\nLast: Z\n");
    assert_int_equal(cap_pass(c, &cap, TS), OMEGA_EIO);
    cap_assert_close(cap_value(&cap, "system_netstat_Good_K_total", NULL), 3);
    assert_null(cap_find(&cap, "system_netstat_Last_Z_total", NULL));
    /* A negative counter is not a counter. */
    cap_put(root, "proc/net/netstat", "Good: K\nGood: -3\n");
    assert_int_equal(cap_pass(c, &cap, TS), OMEGA_EIO);
    assert_null(cap_find(&cap, "system_netstat_Good_K_total", NULL));
    omega_collector_destroy(c);
    cap_free(&cap);
    drop_root(root);
}

static void test_snmp6_odd_lines_and_missing_ipv6(void **state)
{
    (void)state;
    char *root = tmp_root("snmp6");
    cap_t cap = {0};
    omega_collector_t *c = make(root, S_NET);
    cap_put(root, "proc/net/dev", "a|b\nc|d\n");
    cap_put(root, "proc/net/snmp", "Tcp: ActiveOpens\nTcp: 1\n");
    cap_put(root, "proc/net/tcp", "  sl  local_address\n");
    /* No netstat, snmp6, sockstat, sockstat6: a trimmed /proc or a host without IPv6 has no
     * such series, and that is no failure. */
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    assert_null(cap_find(&cap, "system_netstat_Ip6_InReceives_total", NULL));
    assert_non_null(cap_find(&cap, "system_netstat_Tcp_ActiveOpens_total", NULL));
    cap_put(root, "proc/net/snmp6",
            "Ip6InReceives 10\nNoSixHere 3\nIcmp6InMsgs 1 2\nUdp6InErrors x\n6 4\n\n"
            "Udp6OutDatagrams\t12");
    assert_int_equal(cap_pass(c, &cap, TS), OMEGA_EIO);
    cap_assert_close(cap_value(&cap, "system_netstat_Ip6_InReceives_total", NULL), 10);
    cap_assert_close(cap_value(&cap, "system_netstat_Udp6_OutDatagrams_total", NULL), 12);
    assert_null(cap_find(&cap, "system_netstat_Icmp6_InMsgs_total", NULL));
    assert_null(cap_find(&cap, "system_netstat_Udp6_InErrors_total", NULL));
    omega_collector_destroy(c);
    cap_free(&cap);
    drop_root(root);
}

/* ---- /proc/net/sockstat ------------------------------------------------------------------- */

static void test_sockstat_fixture_and_bad_lines(void **state)
{
    (void)state;
    char root[1024];
    cap_t cap = {0};
    double page = (double)sysconf(_SC_PAGESIZE);
    omega_collector_t *c = make(cap_fixture("sysmon", root, sizeof(root)), S_NET);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    cap_assert_close(cap_value(&cap, "system_sockstat_sockets_used", NULL), 93);
    cap_assert_close(cap_value(&cap, "system_sockstat_TCP_inuse", NULL), 8);
    cap_assert_close(cap_value(&cap, "system_sockstat_TCP_tw", NULL), 6);
    cap_assert_close(cap_value(&cap, "system_sockstat_TCP_mem_bytes", NULL), 223 * page);
    cap_assert_close(cap_value(&cap, "system_sockstat_FRAG_memory_bytes", NULL), 0);
    cap_assert_close(cap_value(&cap, "system_sockstat_TCP6_inuse", NULL), 0);
    assert_null(cap_find(&cap, "system_sockstat_TCP_mem", NULL));
    omega_collector_destroy(c);

    char *tmp = tmp_root("sockstat");
    c = make(tmp, S_NET);
    cap_put(tmp, "proc/net/dev", "a|b\nc|d\n");
    cap_put(tmp, "proc/net/snmp", "Tcp: ActiveOpens\nTcp: 1\n");
    cap_put(tmp, "proc/net/tcp", "  sl  local_address\n");
    cap_put(tmp, "proc/net/sockstat", "TCP: inuse 3 orphan\nUDP inuse 4\nRAW: inuse 2\n");
    assert_int_equal(cap_pass(c, &cap, TS), OMEGA_EIO);
    cap_assert_close(cap_value(&cap, "system_sockstat_TCP_inuse", NULL), 3);
    cap_assert_close(cap_value(&cap, "system_sockstat_RAW_inuse", NULL), 2);
    assert_null(cap_find(&cap, "system_sockstat_UDP_inuse", NULL));
    omega_collector_destroy(c);
    cap_free(&cap);
    drop_root(tmp);
}

/* ---- /proc/interrupts, /proc/softirqs ----------------------------------------------------- */

static void test_interrupts_fixture(void **state)
{
    (void)state;
    char root[1024];
    cap_t cap = {0};
    omega_collector_t *c = make(cap_fixture("sysmon", root, sizeof(root)), S_CPU);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    cap_assert_close(cap_value(&cap, "system_irq_interrupts_total", "cpu", "1", "irq", "26", "info",
                               "IO-APIC 4-edge", "devices", "ttyS0", NULL),
                     14);
    cap_assert_close(cap_value(&cap, "system_irq_interrupts_total", "cpu", "0", "irq", "32", "info",
                               "PCI-MSIX-0000:00:01.0 4-edge", "devices", "virtio0-reporting_vq",
                               NULL),
                     626);
    assert_non_null(cap_find(&cap, "system_irq_interrupts_total", "cpu", "0", "irq", "LOC", "info",
                             "Local timer interrupts", "devices", "", NULL));
    assert_non_null(cap_find(&cap, "system_irq_interrupts_total", "cpu", "all", "irq", "ERR",
                             "info", "", "devices", "", NULL));
    cap_assert_close(cap_value(&cap, "system_softirqs_total", "cpu", "1", "type", "TIMER", NULL),
                     435288);
    cap_assert_close(cap_value(&cap, "system_softirqs_total", "cpu", "0", "type", "NET_RX", NULL),
                     656530);
    assert_int_equal(cap_count(&cap, "system_softirqs_total"), 20);
    /* Per-core CPU time by mode from /proc/stat: ticks / USER_HZ. */
    double hz = (double)sysconf(_SC_CLK_TCK);
    cap_assert_close(cap_value(&cap, "system_cpu_seconds_total", "cpu", "0", "mode", "user", NULL),
                     1325 / hz);
    cap_assert_close(
        cap_value(&cap, "system_cpu_seconds_total", "cpu", "1", "mode", "steal", NULL), 116 / hz);
    assert_int_equal(cap_count(&cap, "system_cpu_seconds_total"), 16);
    omega_collector_destroy(c);
    cap_free(&cap);
}

static void test_interrupts_offline_cpu_shared_line_and_bad_lines(void **state)
{
    (void)state;
    char *root = tmp_root("irq");
    cap_t cap = {0};
    omega_collector_t *c = make(root, S_CPU);
    cap_put(root, "proc/stat", "cpu 1 2 3 4\ncpu0 1 2 3 4\n");
    cap_put(root, "proc/loadavg", "0.1 0.2 0.3 1/2 3\n");
    /* CPU1 is offline: the columns are CPU0 and CPU2. Line 11 is shared by two devices;
     * line 12 has a count that is not a number; line 13 has too few counts; MIS has the
     * machine-wide form. */
    cap_put(root, "proc/interrupts",
            "           CPU0       CPU2\n"
            "  0:         40          2   IO-APIC   2-edge      timer\n"
            " 11:          5          6   IO-APIC  11-fasteoi   uhci_hcd:usb1, virtio1\n"
            " 12:          5         x6   IO-APIC  12-edge      i8042\n"
            " 13:          5\n"
            "\n"
            "NMI:          7          8   Non-maskable interrupts\n"
            "MIS:          3\n");
    cap_put(root, "proc/softirqs",
            "                    CPU0       CPU2\n"
            "          HI:          1          2\n"
            "       TIMER:          3\n"
            "      NET_TX:          4          5   extra\n"
            "      NET_RX:          6          7");
    assert_int_equal(cap_pass(c, &cap, TS), OMEGA_EIO);
    cap_assert_close(cap_value(&cap, "system_irq_interrupts_total", "cpu", "2", "irq", "0", "info",
                               "IO-APIC 2-edge", "devices", "timer", NULL),
                     2);
    cap_assert_close(cap_value(&cap, "system_irq_interrupts_total", "cpu", "2", "irq", "11", "info",
                               "IO-APIC 11-fasteoi", "devices", "uhci_hcd:usb1, virtio1", NULL),
                     6);
    cap_assert_close(cap_value(&cap, "system_irq_interrupts_total", "cpu", "2", "irq", "NMI", "info",
                               "Non-maskable interrupts", "devices", "", NULL),
                     8);
    cap_assert_close(cap_value(&cap, "system_irq_interrupts_total", "cpu", "all", "irq", "MIS",
                               "info", "", "devices", "", NULL),
                     3);
    assert_int_equal(cap_count(&cap, "system_irq_interrupts_total"), 2 + 2 + 2 + 1);
    cap_assert_close(cap_value(&cap, "system_softirqs_total", "cpu", "2", "type", "NET_RX", NULL),
                     7);
    assert_int_equal(cap_count(&cap, "system_softirqs_total"), 4);
    /* No CPU header: nothing from the file. */
    cap_put(root, "proc/interrupts", "  0:  40  2  IO-APIC 2-edge timer\n");
    cap_put(root, "proc/softirqs", "");
    assert_int_equal(cap_pass(c, &cap, TS), OMEGA_EIO);
    assert_int_equal(cap_count(&cap, "system_irq_interrupts_total"), 0);
    assert_int_equal(cap_count(&cap, "system_softirqs_total"), 0);
    omega_collector_destroy(c);
    cap_free(&cap);
    drop_root(root);
}

/* ---- zones, packet path, limits, interface attributes, disks -------------------------------- */

static void test_zones_fixture(void **state)
{
    (void)state;
    char root[1024];
    cap_t cap = {0};
    omega_collector_t *c = make(cap_fixture("sysmon", root, sizeof(root)), S_MEM);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    cap_assert_close(cap_value(&cap, "system_buddyinfo_blocks", "node", "0", "zone", "Normal",
                               "order", "10", NULL),
                     448);
    cap_assert_close(cap_value(&cap, "system_buddyinfo_blocks", "node", "0", "zone", "Normal",
                               "order", "0", NULL),
                     949);
    assert_int_equal(cap_count(&cap, "system_buddyinfo_blocks"), 3 * 11);
    cap_assert_close(
        cap_value(&cap, "system_zoneinfo_min_pages", "node", "0", "zone", "Normal", NULL), 11150);
    cap_assert_close(cap_value(&cap, "system_zoneinfo_managed_pages", "node", "0", "zone",
                               "Normal", NULL),
                     1507328);
    cap_assert_close(
        cap_value(&cap, "system_zoneinfo_nr_free_pages", "node", "0", "zone", "Normal", NULL),
        749921);
    cap_assert_close(
        cap_value(&cap, "system_zoneinfo_numa_hit_total", "node", "0", "zone", "Normal", NULL),
        329638469);
    /* The per-node block and the per-CPU pagesets are not the zone's. */
    assert_int_equal(cap_count(&cap, "system_zoneinfo_nr_inactive_anon"), 0);
    assert_int_equal(cap_count(&cap, "system_zoneinfo_count"), 0);
    assert_int_equal(cap_count(&cap, "system_zoneinfo_min_pages"), 5);
    cap_assert_close(cap_value(&cap, "system_numastat_numa_hit_total", "node", "0", NULL),
                     329639516);
    assert_int_equal(cap_count(&cap, "system_numastat_other_node_total"), 1);
    omega_collector_destroy(c);
    cap_free(&cap);
}

static void test_zones_bad_lines(void **state)
{
    (void)state;
    char *root = tmp_root("zones");
    cap_t cap = {0};
    omega_collector_t *c = make(root, S_MEM);
    cap_put(root, "proc/meminfo", "MemTotal: 100 kB\nMemFree: 50 kB\n");
    cap_put(root, "proc/buddyinfo", "Node 0, zone DMA 1 2 x\nNode 0 zone DMA 1\n"
                                    "Node 1, zone Normal 5 6\n");
    cap_put(root, "proc/zoneinfo", "Node x, zone DMA\n  pages free 3\n        min 4\n"
                                    "Node 0, zone Normal\n  pages free 7\n        min 8\n"
                                    "        low -1\n        protection: (0, 0)\n"
                                    "      nr_free_pages 7\n  pagesets\n    cpu: 0\n"
                                    "              count: 5\n");
    assert_int_equal(cap_pass(c, &cap, TS), OMEGA_EIO);
    /* The good part of a bad buddyinfo line stays; a bad Node line hides its zone's lines. */
    cap_assert_close(cap_value(&cap, "system_buddyinfo_blocks", "node", "0", "zone", "DMA",
                               "order", "1", NULL),
                     2);
    cap_assert_close(cap_value(&cap, "system_buddyinfo_blocks", "node", "1", "zone", "Normal",
                               "order", "1", NULL),
                     6);
    assert_int_equal(cap_count(&cap, "system_buddyinfo_blocks"), 4);
    assert_int_equal(cap_count(&cap, "system_zoneinfo_min_pages"), 1);
    cap_assert_close(
        cap_value(&cap, "system_zoneinfo_min_pages", "node", "0", "zone", "Normal", NULL), 8);
    assert_int_equal(cap_count(&cap, "system_zoneinfo_low_pages"), 0);
    cap_assert_close(
        cap_value(&cap, "system_zoneinfo_nr_free_pages", "node", "0", "zone", "Normal", NULL), 7);
    assert_int_equal(cap_count(&cap, "system_zoneinfo_count"), 0);
    omega_collector_destroy(c);
    cap_free(&cap);
    drop_root(root);
}

static void test_netcore_fixture(void **state)
{
    (void)state;
    char root[1024];
    cap_t cap = {0};
    omega_collector_t *c = make(cap_fixture("sysmon", root, sizeof(root)), S_NET | S_CPU);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    cap_assert_close(cap_value(&cap, "system_softnet_processed_total", "cpu", "0", NULL), 0x276b31);
    cap_assert_close(cap_value(&cap, "system_softnet_times_squeezed_total", "cpu", "1", NULL), 12);
    cap_assert_close(cap_value(&cap, "system_softnet_backlog_packets", "cpu", "1", NULL), 0);
    assert_int_equal(cap_count(&cap, "system_softnet_dropped_total"), 2);
    cap_assert_close(cap_value(&cap, "system_nf_conntrack_entries", NULL), 16);
    cap_assert_close(cap_value(&cap, "system_nf_conntrack_entries_limit", NULL), 262144);
    cap_assert_close(cap_value(&cap, "system_nf_conntrack_stat_found_total", NULL), 7);
    cap_assert_close(cap_value(&cap, "system_nf_conntrack_stat_invalid_total", NULL), 15);
    cap_assert_close(cap_value(&cap, "system_nf_conntrack_stat_drop_total", NULL), 3);
    assert_null(cap_find(&cap, "system_nf_conntrack_stat_entries_total", NULL));
    cap_assert_close(cap_value(&cap, "system_synproxy_cookie_valid_total", NULL), 0);
    cap_assert_close(cap_value(&cap, "system_filefd_allocated", NULL), 2130);
    cap_assert_close(cap_value(&cap, "system_filefd_maximum", NULL), 9223372036854775807.0);
    cap_assert_close(cap_value(&cap, "system_entropy_available_bits", NULL), 256);
    cap_assert_close(cap_value(&cap, "system_entropy_pool_size_bits", NULL), 256);
    cap_assert_close(cap_value(&cap, "system_processes_max", NULL), 4194304);
    cap_assert_close(cap_value(&cap, "system_threads_max", NULL), 63371);
    /* The clock is a system call on the live host, never read under a fixture root. */
    assert_null(cap_find(&cap, "system_timex_sync_status", NULL));
    cap_assert_close(cap_value(&cap, "system_boot_time_seconds", NULL), 1767225600);
    cap_assert_close(
        cap_value(&cap, "system_cpu_guest_seconds_total", "cpu", "0", "mode", "nice", NULL), 0);
    /* Interface attributes: what the driver provides, nothing for what it does not. */
    cap_assert_close(cap_value(&cap, "system_network_up", "interface", "eth0", NULL), 1);
    cap_assert_close(cap_value(&cap, "system_network_up", "interface", "wlan0", NULL), 0);
    cap_assert_close(
        cap_value(&cap, "system_network_carrier_changes_total", "interface", "eth0", NULL), 7);
    cap_assert_close(cap_value(&cap, "system_network_flags", "interface", "eth0", NULL), 0x1003);
    cap_assert_close(cap_value(&cap, "system_network_mtu_bytes", "interface", "wlan0", NULL),
                     1500);
    assert_null(cap_find(&cap, "system_network_carrier", "interface", "wlan0", NULL));
    assert_null(cap_find(&cap, "system_network_up", "interface", "lo", NULL));
    /* All 16 columns of /proc/net/dev. */
    cap_assert_close(
        cap_value(&cap, "system_network_receive_multicast_total", "interface", "eth0", NULL), 0);
    assert_int_equal(cap_count(&cap, "system_network_transmit_carrier_total"), 3);
    omega_collector_destroy(c);
    cap_free(&cap);
}

static void test_netcore_bad_rows(void **state)
{
    (void)state;
    char *root = tmp_root("netcore");
    cap_t cap = {0};
    omega_collector_t *c = make(root, S_NET);
    cap_put(root, "proc/net/dev", "a|b\nc|d\n");
    cap_put(root, "proc/net/snmp", "Tcp: ActiveOpens\nTcp: 1\n");
    cap_put(root, "proc/net/tcp", "  sl  local_address\n");
    /* An old kernel's 10-column softnet rows (no CPU column: the row is the CPU), a bad row. */
    cap_put(root, "proc/net/softnet_stat", "0000000a 00000001 00000002 0 0 0 0 0 0 00000003\n"
                                           "zz 1 2\n0000000b 0 0\n");
    cap_put(root, "proc/sys/net/netfilter/nf_conntrack_count", "5\n");
    cap_put(root, "proc/net/stat/nf_conntrack", "entries found\n00000001 00000002\n00000001\n");
    assert_int_equal(cap_pass(c, &cap, TS), OMEGA_EIO);
    cap_assert_close(cap_value(&cap, "system_softnet_processed_total", "cpu", "0", NULL), 10);
    cap_assert_close(cap_value(&cap, "system_softnet_received_rps_total", "cpu", "0", NULL), 3);
    /* The bad row still holds its CPU's place. */
    assert_null(cap_find(&cap, "system_softnet_processed_total", "cpu", "1", NULL));
    cap_assert_close(cap_value(&cap, "system_softnet_processed_total", "cpu", "2", NULL), 11);
    assert_null(cap_find(&cap, "system_softnet_received_rps_total", "cpu", "2", NULL));
    cap_assert_close(cap_value(&cap, "system_nf_conntrack_entries", NULL), 5);
    assert_null(cap_find(&cap, "system_nf_conntrack_entries_limit", NULL));
    assert_null(cap_find(&cap, "system_nf_conntrack_stat_found_total", NULL));
    omega_collector_destroy(c);
    cap_free(&cap);
    drop_root(root);
}

static void test_diskstats_all_columns(void **state)
{
    (void)state;
    char root[1024];
    cap_t cap = {0};
    omega_collector_t *c = make(cap_fixture("sysmon", root, sizeof(root)), S_DISK);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    cap_assert_close(cap_value(&cap, "system_disk_reads_merged_total", "device", "vda", NULL),
                     29488);
    cap_assert_close(cap_value(&cap, "system_disk_writes_merged_total", "device", "vda", NULL),
                     33375);
    cap_assert_close(
        cap_value(&cap, "system_disk_io_time_weighted_seconds_total", "device", "vda", NULL),
        541.341);
    cap_assert_close(cap_value(&cap, "system_disk_discarded_bytes_total", "device", "vda", NULL),
                     188763472.0 * 512);
    cap_assert_close(cap_value(&cap, "system_disk_flushes_total", "device", "vda", NULL), 51193);
    cap_assert_close(
        cap_value(&cap, "system_disk_flush_time_seconds_total", "device", "vda", NULL), 5.057);
    omega_collector_destroy(c);
    cap_free(&cap);
}

/* ---- watched processes: what status, io and fd add ------------------------------------------ */

/* "key:   N" of /proc/self/status as the test reads it. */
static double self_status(const char *key)
{
    char *text = testutil_read_file("/proc/self/status", NULL);
    assert_non_null(text);
    char *at = strstr(text, key);
    assert_non_null(at);
    double v = atof(at + strlen(key) + 1);
    free(text);
    return v;
}

static void test_watched_process_files_live(void **state)
{
    (void)state;
    omega_collect_options_t o;
    omega_error_t err;
    omega_collect_options_init(&o);
    o.enable_cpu = o.enable_memory = o.enable_vmstat = o.enable_disk = o.enable_network = 0;
    o.enable_sensors = o.enable_pressure = o.enable_self = 0;
    o.watch.include_omega = o.watch.include_compilers = 0;
    const char *pat[] = {"test_collect_kernel"};
    o.watch.patterns = pat;
    o.watch.n_patterns = 1;
    omega_collector_t *c = omega_collector_create(&o, &err);
    assert_non_null(c);
    cap_t cap = {0};
    char pid[24];
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    double vol0 = self_status("voluntary_ctxt_switches");
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    double vol1 = self_status("voluntary_ctxt_switches");
    const char *name = "test_collect_ke"; /* comm: 15 characters */
    double vol = cap_value(&cap, "system_process_context_switches_total", "pid", pid, "name", name,
                           "type", "voluntary", NULL);
    assert_true(vol >= vol0 && vol <= vol1);
    assert_non_null(cap_find(&cap, "system_process_context_switches_total", "pid", pid, "name",
                             name, "type", "involuntary", NULL));
    assert_true(cap_value(&cap, "system_process_open_fds", "pid", pid, "name", name, NULL) >= 3);
    assert_true(cap_value(&cap, "system_process_io_read_bytes_total", "pid", pid, "name", name,
                          NULL) > 0);
    assert_non_null(cap_find(&cap, "system_process_disk_written_bytes_total", "pid", pid, "name",
                             name, NULL));
    assert_true(cap_value(&cap, "system_process_virtual_memory_bytes", "pid", pid, "name", name,
                          NULL) > 0);
    assert_true(cap_value(&cap, "system_process_page_faults_total", "pid", pid, "name", name,
                          "type", "minor", NULL) > 0);
    assert_non_null(cap_find(&cap, "system_process_cpu_seconds_total", "pid", pid, "name", name,
                             "mode", "system", NULL));
    assert_non_null(cap_find(&cap, "system_process_swap_bytes", "pid", pid, "name", name, NULL));
    omega_collector_destroy(c);
    cap_free(&cap);
}

/* ---- names ------------------------------------------------------------------------------- */

static void test_name_cache_reuses_and_sanitises(void **state)
{
    (void)state;
    name_cache_t nc;
    name_cache_init(&nc);
    const char *a = name_cache_get(&nc, 0, "system_memory_", "Active(anon)", 12, "", 0, "_bytes");
    assert_string_equal(a, "system_memory_Active_anon_bytes");
    /* Same keys at the same slot: the same string, nothing rebuilt. */
    assert_ptr_equal(name_cache_get(&nc, 0, "system_memory_", "Active(anon)", 12, "", 0, "_bytes"),
                     a);
    assert_string_equal(name_cache_get(&nc, 1, "p_", "Tcp", 3, "MaxConn", 7, ""), "p_Tcp_MaxConn");
    /* A key repeated later in the file is refused; another key at that slot is fine again. */
    assert_null(name_cache_get(&nc, 2, "p_", "Tcp", 3, "MaxConn", 7, ""));
    assert_null(name_cache_get(&nc, 2, "p_", "Tcp", 3, "MaxConn", 7, ""));
    assert_string_equal(name_cache_get(&nc, 2, "p_", "Tcp", 3, "RtoMin", 6, ""), "p_Tcp_RtoMin");
    assert_string_equal(name_cache_get(&nc, 3, "p_", "a b", 3, "", 0, ""), "p_a_b");
    assert_string_equal(name_cache_get(&nc, 4, "p_", "((", 2, "", 0, ""), "p__");
    /* Empty, overlong keys and absurd slots are refused. */
    char big[NAME_KEY_MAX + 2];
    memset(big, 'k', sizeof(big));
    assert_null(name_cache_get(&nc, 5, "p_", "", 0, "", 0, ""));
    assert_null(name_cache_get(&nc, 5, "p_", big, sizeof(big), "", 0, ""));
    assert_null(name_cache_get(&nc, NAME_SLOTS_MAX + 1, "p_", "k", 1, "", 0, ""));
    name_cache_deinit(&nc);
}

static void test_family_match(void **state)
{
    (void)state;
    const char *pat = "system_netstat_<Proto>_<Counter>_total";
    assert_true(collect_name_match(pat, "system_netstat_TcpExt_TCPLossProbes_total"));
    assert_true(collect_name_match(pat, "system_netstat_Ip6_In_Receives_total"));
    assert_false(collect_name_match(pat, "system_netstat_Tcp_total"));
    assert_false(collect_name_match(pat, "system_netstat_Tcp_MaxConn"));
    assert_false(collect_name_match(pat, "system_netstat_Tcp-x_A_total"));
    assert_true(collect_name_match("a_<k>", "a_b"));
    assert_false(collect_name_match("a_<k>", "a_"));
    assert_false(collect_name_match("a_<k", "a_b"));
    /* Exact rows win over families; a family row is found for a kernel name. */
    const metric_def_t *d = collect_metric_find("system_memory_total_bytes");
    assert_string_equal(d->name, "system_memory_total_bytes");
    d = collect_metric_find("system_memory_MemTotal_bytes");
    assert_string_equal(d->name, "system_memory_<Key>_bytes");
    d = collect_metric_find("system_sockstat_TCP_mem_bytes");
    assert_string_equal(d->unit, "bytes");
    d = collect_metric_find("system_vmstat_nr_dirty");
    assert_string_equal(d->type, "gauge");
    assert_null(collect_metric_find("system_vmstat_"));
}

/* ---- the live host ----------------------------------------------------------------------- */

/* The value of "<proto>: ... key ..." in /proc/net/snmp as the test reads it. */
static double snmp_value(const char *proto, const char *key)
{
    char *text = testutil_read_file("/proc/net/snmp", NULL);
    assert_non_null(text);
    char *save = NULL, *hdr = NULL;
    double v = -1;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, proto, strlen(proto)) != 0 || line[strlen(proto)] != ':')
            continue;
        if (!hdr) {
            hdr = line;
            continue;
        }
        int col = -1, i = 0;
        char *s1 = NULL, *s2 = NULL;
        for (char *t = strtok_r(hdr, " ", &s1); t; t = strtok_r(NULL, " ", &s1), i++)
            if (!strcmp(t, key))
                col = i;
        i = 0;
        for (char *t = strtok_r(line, " ", &s2); t; t = strtok_r(NULL, " ", &s2), i++)
            if (i == col)
                v = atof(t);
        break;
    }
    free(text);
    return v;
}

static void test_live_host_full_sets(void **state)
{
    (void)state;
    cap_t cap = {0};
    omega_collector_t *c = make("/", S_CPU | S_MEM | S_VM | S_NET);
    double before = snmp_value("Tcp", "ActiveOpens");
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    double after = snmp_value("Tcp", "ActiveOpens");
    double got = cap_value(&cap, "system_netstat_Tcp_ActiveOpens_total", NULL);
    assert_true(got >= before && got <= after);
    assert_non_null(cap_find(&cap, "system_memory_MemTotal_bytes", NULL));
    assert_non_null(cap_find(&cap, "system_vmstat_pgfault_total", NULL));
    assert_true(cap_count(&cap, "system_cpu_seconds_total") >= 4);
    assert_true(cap_count(&cap, "system_softirqs_total") >= 10);
    assert_true(cap_count(&cap, "system_irq_interrupts_total") >= 2);
    /* The second pass reads the same kept descriptors: the kernel regenerates the files. */
    double ctx1 = cap_value(&cap, "system_context_switches_total", NULL);
    usleep(20000);
    assert_int_equal(cap_pass(c, &cap, TS + 1000), 0);
    assert_true(cap_value(&cap, "system_context_switches_total", NULL) > ctx1);
    print_message("live pass: %zu points\n", cap.n);
    omega_collector_destroy(c);
    cap_free(&cap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_netstat_fixture),
        cmocka_unit_test(test_netstat_misaligned_pairs_and_bad_values),
        cmocka_unit_test(test_snmp6_odd_lines_and_missing_ipv6),
        cmocka_unit_test(test_sockstat_fixture_and_bad_lines),
        cmocka_unit_test(test_interrupts_fixture),
        cmocka_unit_test(test_interrupts_offline_cpu_shared_line_and_bad_lines),
        cmocka_unit_test(test_zones_fixture),
        cmocka_unit_test(test_zones_bad_lines),
        cmocka_unit_test(test_netcore_fixture),
        cmocka_unit_test(test_netcore_bad_rows),
        cmocka_unit_test(test_diskstats_all_columns),
        cmocka_unit_test(test_watched_process_files_live),
        cmocka_unit_test(test_name_cache_reuses_and_sanitises),
        cmocka_unit_test(test_family_match),
        cmocka_unit_test(test_live_host_full_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
