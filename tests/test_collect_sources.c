/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the system monitor's sources in collect/ beyond CPU and memory: paging, disks,
 * file systems, sensors, 128 cores, process counts and self metrics, over fixture trees
 * (tests/fixtures/proc/sysmon, wrap, cores128) and trees written by the test, with exact
 * expected values; bad input; live cross-checks against the test's own reads; and the metric
 * catalogue (every emitted point defined, docs/metrics.md up to date). Network, TCP and
 * probes are in test_collect_net.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
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

/* ---- /proc/vmstat ---------------------------------------------------------------------- */

static void test_vmstat_fixture(void **state)
{
    (void)state;
    char root[1024];
    cap_t cap = {0};
    double page = (double)sysconf(_SC_PAGESIZE);
    omega_collector_t *c = make(cap_fixture("sysmon", root, sizeof(root)), S_VM);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    cap_assert_close(cap_value(&cap, "system_page_faults_total", "type", "minor", NULL),
                     62589575.0 - 6004.0);
    cap_assert_close(cap_value(&cap, "system_page_faults_total", "type", "major", NULL), 6004);
    cap_assert_close(cap_value(&cap, "system_swap_in_bytes_total", NULL), 120 * page);
    cap_assert_close(cap_value(&cap, "system_swap_out_bytes_total", NULL), 300 * page);
    cap_assert_close(cap_value(&cap, "system_oom_kills_total", NULL), 2);
    /* The full set: nr_* as gauges, the rest as counters, values as the kernel prints them. */
    cap_assert_close(cap_value(&cap, "system_vmstat_nr_free_pages", NULL), 2957245);
    cap_assert_close(cap_value(&cap, "system_vmstat_pgpgin_total", NULL), 4803861);
    cap_assert_close(cap_value(&cap, "system_vmstat_pgfault_total", NULL), 62589575);
    cap_assert_close(cap_value(&cap, "system_vmstat_pgrefill_total", NULL), 0);
    assert_int_equal(cap.n, 5 + 11);
    omega_collector_destroy(c);
    cap_free(&cap);
}

static void test_vmstat_old_kernel_and_bad_values(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("vmstat");
    cap_t cap = {0};
    omega_collector_t *c = make(root, S_VM);
    /* A kernel before 4.13 (no oom_kill) and without swap counters. */
    cap_put(root, "proc/vmstat", "pgfault 10\npgmajfault 3\nnr_free_pages 5\n");
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    cap_assert_close(cap_value(&cap, "system_page_faults_total", "type", "minor", NULL), 7);
    assert_null(cap_find(&cap, "system_oom_kills_total", NULL));
    assert_null(cap_find(&cap, "system_swap_in_bytes_total", NULL));
    /* A bad value hides that counter (and its pair), never a made-up zero. */
    cap_put(root, "proc/vmstat", "pgfault 1x\npgmajfault 3\noom_kill 1\n");
    assert_int_equal(cap_pass(c, &cap, TS), OMEGA_EIO);
    assert_int_equal(cap_count(&cap, "system_page_faults_total"), 0);
    cap_assert_close(cap_value(&cap, "system_oom_kills_total", NULL), 1);
    cap_put(root, "proc/vmstat", "pgfault 5\npgfault 6\npgmajfault 1\n");
    assert_int_equal(cap_pass(c, &cap, TS), OMEGA_EIO);
    assert_int_equal(cap_count(&cap, "system_page_faults_total"), 0);
    /* The full set reports a repeated key once (its first value), never as two samples. */
    assert_int_equal(cap_count(&cap, "system_vmstat_pgfault_total"), 1);
    cap_assert_close(cap_value(&cap, "system_vmstat_pgfault_total", NULL), 5);
    /* A negative gauge (a per-CPU sum dipping below 0) is kept; a negative counter is not. */
    cap_put(root, "proc/vmstat", "pgfault 5\npgmajfault 1\nnr_zspages -2\npgfree -1\n");
    assert_int_equal(cap_pass(c, &cap, TS), OMEGA_EIO);
    cap_assert_close(cap_value(&cap, "system_vmstat_nr_zspages", NULL), -2);
    assert_int_equal(cap_count(&cap, "system_vmstat_pgfree_total"), 0);
    assert_int_equal(cap_count(&cap, "system_page_faults_total"), 2);
    cap_put(root, "proc/vmstat", "");
    assert_int_equal(cap_pass(c, &cap, TS), OMEGA_EIO);
    assert_int_equal(cap_pass(c, &cap, TS), OMEGA_EIO);
    assert_int_equal(cap.n, 0);
    omega_collector_destroy(c);
    cap_free(&cap);
    testutil_rmtree(root);
    free(root);
}

/* ---- /proc/diskstats ------------------------------------------------------------------- */

static void test_diskstats_fixture_whole_disks_only(void **state)
{
    (void)state;
    char root[1024];
    cap_t cap = {0};
    omega_collector_t *c = make(cap_fixture("sysmon", root, sizeof(root)), S_DISK);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    /* vda, sda, nvme0n1, dm-0: partitions, loop and zram are not reported. */
    assert_int_equal(cap_count(&cap, "system_disk_reads_total"), 4);
    cap_assert_close(cap_value(&cap, "system_disk_read_bytes_total", "device", "vda", NULL),
                     9607722.0 * 512);
    cap_assert_close(cap_value(&cap, "system_disk_written_bytes_total", "device", "vda", NULL),
                     6287720.0 * 512);
    cap_assert_close(cap_value(&cap, "system_disk_reads_total", "device", "nvme0n1", NULL), 5000);
    cap_assert_close(cap_value(&cap, "system_disk_io_time_seconds_total", "device", "sda", NULL),
                     3);
    cap_assert_close(cap_value(&cap, "system_disk_io_in_progress", "device", "sda", NULL), 1);
    assert_null(cap_find(&cap, "system_disk_reads_total", "device", "vda1", NULL));
    assert_null(cap_find(&cap, "system_disk_reads_total", "device", "loop0", NULL));
    assert_null(cap_find(&cap, "system_disk_reads_total", "device", "zram0", NULL));
    /* One pass: no derived gauges yet. */
    assert_int_equal(cap_count(&cap, "system_disk_utilization_percent"), 0);
    omega_collector_destroy(c);
    cap_free(&cap);
}

static void test_diskstats_derived_reset_and_disappearing(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("disk");
    cap_t cap = {0};
    cap_put(root, "sys/block/sda/dev", "8:0\n");
    cap_put(root, "sys/block/nvme0n1/dev", "259:0\n");
    omega_collector_t *c = make(root, S_DISK);
    cap_put(root, "proc/diskstats",
            "8 0 sda 100 0 1000 200 50 0 800 100 0 300 400\n"
            "8 1 sda1 100 0 1000 200 50 0 800 100 0 300 400\n"
            "259 0 nvme0n1 1 0 8 1 1 0 8 1 0 1 1\n");
    cap_put(root, "proc/self/mountinfo", "");
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    cap_put(root, "proc/diskstats",
            "8 0 sda 110 0 1100 250 90 0 1600 160 2 800 1900\n"
            "259 0 nvme0n1 1 0 8 1 1 0 8 1 0 1 1\n");
    assert_int_equal(cap_pass(c, &cap, TS + 1000), 0);
    cap_assert_close(cap_value(&cap, "system_disk_utilization_percent", "device", "sda", NULL), 50);
    cap_assert_close(cap_value(&cap, "system_disk_queue_length", "device", "sda", NULL), 1.5);
    cap_assert_close(
        cap_value(&cap, "system_disk_await_seconds", "device", "sda", "direction", "read", NULL),
        0.005);
    cap_assert_close(
        cap_value(&cap, "system_disk_await_seconds", "device", "sda", "direction", "write", NULL),
        0.0015);
    cap_assert_close(cap_value(&cap, "system_disk_read_bytes_total", "device", "sda", NULL),
                     1100.0 * 512);
    /* An idle disk: 0 %, and await 0 because nothing completed. */
    cap_assert_close(cap_value(&cap, "system_disk_utilization_percent", "device", "nvme0n1", NULL),
                     0);
    cap_assert_close(cap_value(&cap, "system_disk_await_seconds", "device", "nvme0n1", "direction",
                               "read", NULL),
                     0);
    /* Counters went back (device re-added): counters reported, derived gauges skipped. */
    cap_put(root, "proc/diskstats", "8 0 sda 5 0 50 5 5 0 50 5 0 5 5\n");
    assert_int_equal(cap_pass(c, &cap, TS + 2000), 0);
    cap_assert_close(cap_value(&cap, "system_disk_reads_total", "device", "sda", NULL), 5);
    assert_null(cap_find(&cap, "system_disk_utilization_percent", "device", "sda", NULL));
    /* The disk disappears, then comes back: no series, then counters without derived. */
    cap_put(root, "proc/diskstats", "259 0 nvme0n1 1 0 8 1 1 0 8 1 0 1 1\n");
    assert_int_equal(cap_pass(c, &cap, TS + 3000), 0);
    assert_null(cap_find(&cap, "system_disk_reads_total", "device", "sda", NULL));
    cap_put(root, "proc/diskstats", "8 0 sda 6 0 50 5 5 0 50 5 0 5 5\n");
    assert_int_equal(cap_pass(c, &cap, TS + 4000), 0);
    assert_non_null(cap_find(&cap, "system_disk_reads_total", "device", "sda", NULL));
    assert_null(cap_find(&cap, "system_disk_utilization_percent", "device", "sda", NULL));
    /* The same timestamp twice: no division by zero, no derived gauges. */
    assert_int_equal(cap_pass(c, &cap, TS + 4000), 0);
    assert_null(cap_find(&cap, "system_disk_utilization_percent", "device", "sda", NULL));
    omega_collector_destroy(c);
    cap_free(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_diskstats_counter_wrap(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("disk-wrap");
    cap_t cap = {0};
    omega_collector_t *c = make(root, S_DISK);
    cap_put(root, "proc/self/mountinfo", "");
    cap_put_fixture(root, "wrap/a", "proc/diskstats");
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    cap_put_fixture(root, "wrap/b", "proc/diskstats");
    assert_int_equal(cap_pass(c, &cap, TS + 1000), 0);
    cap_assert_close(cap_value(&cap, "system_disk_utilization_percent", "device", "sda", NULL),
                     49.6);
    cap_assert_close(cap_value(&cap, "system_disk_queue_length", "device", "sda", NULL), 2.0);
    cap_assert_close(
        cap_value(&cap, "system_disk_await_seconds", "device", "sda", "direction", "read", NULL),
        0.136 / 11);
    cap_assert_close(
        cap_value(&cap, "system_disk_await_seconds", "device", "sda", "direction", "write", NULL),
        0.001);
    omega_collector_destroy(c);
    cap_free(&cap);
    testutil_rmtree(root);
    free(root);
}

static void test_diskstats_name_rule_and_bad_lines(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("disk-names");
    cap_t cap = {0};
    omega_collector_t *c = make(root, S_DISK);
    cap_put(root, "proc/self/mountinfo", "");
    /* No /sys/block in this root: the name rule decides. */
    cap_put(root, "proc/diskstats",
            "8 0 sda 1 0 0 0 0 0 0 0 0 0 0\n8 1 sda1 1 0 0 0 0 0 0 0 0 0 0\n"
            "259 0 nvme0n1 1 0 0 0 0 0 0 0 0 0 0\n"
            "259 1 nvme0n1p1 1 0 0 0 0 0 0 0 0 0 0\n"
            "179 0 mmcblk0 1 0 0 0 0 0 0 0 0 0 0\n"
            "179 1 mmcblk0p1 1 0 0 0 0 0 0 0 0 0 0\n"
            "202 0 xvda 1 0 0 0 0 0 0 0 0 0 0\n"
            "202 1 xvda1 1 0 0 0 0 0 0 0 0 0 0\n"
            "7 0 loop0 1 0 0 0 0 0 0 0 0 0 0\n"
            "1 0 ram0 1 0 0 0 0 0 0 0 0 0 0\n"
            "253 0 dm-0 1 0 0 0 0 0 0 0 0 0 0\n"
            "9 0 md0 1 0 0 0 0 0 0 0 0 0 0\n");
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    const char *want[] = {"sda", "nvme0n1", "mmcblk0", "xvda", "dm-0", "md0"};
    assert_int_equal(cap_count(&cap, "system_disk_reads_total"), 6);
    for (size_t i = 0; i < 6; i++)
        assert_non_null(cap_find(&cap, "system_disk_reads_total", "device", want[i], NULL));
    /* Short lines, non-numbers and over-long names are skipped; the rest still reported. */
    cap_put(root, "proc/diskstats",
            "8 0 sda 1 0 0\n8 16 sdb 1 0 x 0 0 0 0 0 0 0 0\n"
            "8 32 sdc 7 0 0 0 0 0 0 0 0 0 0\n\n"
            "8 48 sddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
            "ddddddddd 1 0 0 0 0 0 0 0 0 0 0\n");
    assert_int_equal(cap_pass(c, &cap, TS + 1000), OMEGA_EIO);
    assert_int_equal(cap_count(&cap, "system_disk_reads_total"), 1);
    cap_assert_close(cap_value(&cap, "system_disk_reads_total", "device", "sdc", NULL), 7);
    omega_collector_destroy(c);
    cap_free(&cap);
    testutil_rmtree(root);
    free(root);
}

/* ---- file systems ---------------------------------------------------------------------- */

static void test_filesystems_fixture(void **state)
{
    (void)state;
    char root[1024], path[1200];
    cap_t cap = {0};
    struct statvfs st;
    omega_collector_t *c = make(cap_fixture("sysmon", root, sizeof(root)), S_DISK);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    /* "/" and "/mnt/my disk" (mounted twice: the later, visible mount wins); pseudo, network,
     * squashfs and vanished mount points are skipped. */
    assert_int_equal(cap_count(&cap, "system_filesystem_size_bytes"), 2);
    snprintf(path, sizeof(path), "%s/mnt/my disk", root);
    assert_int_equal(statvfs(path, &st), 0);
    double size = (double)st.f_blocks * (double)st.f_frsize;
    cap_assert_close(cap_value(&cap, "system_filesystem_size_bytes", "mountpoint", "/mnt/my disk",
                               "device", "/dev/sdb1", "fstype", "ext4", NULL),
                     size);
    cap_assert_close(cap_value(&cap, "system_filesystem_readonly", "mountpoint", "/mnt/my disk",
                               "device", "/dev/sdb1", "fstype", "ext4", NULL),
                     0);
    cap_assert_close(cap_value(&cap, "system_filesystem_size_bytes", "mountpoint", "/", "device",
                               "/dev/vda", "fstype", "ext4", NULL),
                     size);
    double pct = cap_value(&cap, "system_filesystem_used_percent", "mountpoint", "/", "device",
                           "/dev/vda", "fstype", "ext4", NULL);
    assert_true(pct >= 0 && pct <= 100);
    for (size_t i = 0; i < cap.n; i++)
        assert_true(strncmp(cap.pts[i].lvalue[0], "/proc", 5) != 0 &&
                    strncmp(cap.pts[i].lvalue[0], "/sys", 4) != 0 &&
                    strcmp(cap.pts[i].lvalue[0], "/srv/nfs") != 0 &&
                    strcmp(cap.pts[i].lvalue[0], "/mnt/gone") != 0);
    omega_collector_destroy(c);
    cap_free(&cap);
}

static void test_filesystems_bad_lines_and_escapes(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("fs");
    cap_t cap = {0};
    omega_collector_t *c = make(root, S_DISK);
    cap_put(root, "proc/diskstats", "");
    cap_put(root, "data/tab\there/.keep", "");
    cap_put(root, "proc/self/mountinfo",
            "not a mount\n"
            "1 2 3:4 / /x rw\n"
            "27 1 254:0 / /data/tab\\011here ro,noatime - xfs /dev/a\\134b rw\n");
    assert_int_equal(cap_pass(c, &cap, TS), OMEGA_EIO);
    cap_assert_close(cap_value(&cap, "system_filesystem_readonly", "mountpoint", "/data/tab\there",
                               "device", "/dev/a\\b", "fstype", "xfs", NULL),
                     1);
    char s1[] = "a\\040b\\011c\\012d\\134e", s2[] = "\\000x\\9zz\\04", s3[] = "";
    mountinfo_unescape(s1);
    mountinfo_unescape(s2);
    mountinfo_unescape(s3);
    assert_string_equal(s1, "a b\tc\nd\\e");
    assert_string_equal(s2, "\\000x\\9zz\\04");
    assert_string_equal(s3, "");
    omega_collector_destroy(c);
    cap_free(&cap);
    testutil_rmtree(root);
    free(root);
}

/* ---- pressure stall information ------------------------------------------------------- */

static void test_pressure_fixture_missing_and_bad(void **state)
{
    (void)state;
    char root[1024];
    cap_t cap = {0};
    omega_collector_t *c = make(cap_fixture("sysmon", root, sizeof(root)), S_PSI);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    cap_assert_close(cap_value(&cap, "system_pressure_stalled_seconds_total", "resource", "cpu",
                               "kind", "some", NULL),
                     1520.914558);
    cap_assert_close(cap_value(&cap, "system_pressure_stalled_seconds_total", "resource", "io",
                               "kind", "full", NULL),
                     69.157377);
    cap_assert_close(cap_value(&cap, "system_pressure_percent", "resource", "memory", "kind",
                               "some", "window", "60s", NULL),
                     0.25);
    assert_int_equal(cap_count(&cap, "system_pressure_percent"), 18);
    assert_int_equal(cap.n, 24);
    omega_collector_destroy(c);

    char *tmp = testutil_mkdtemp("psi");
    c = make(tmp, S_PSI);
    /* A kernel without PSI: a clean pass, no series. */
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    assert_int_equal(cap.n, 0);
    /* A kernel before 5.13 (no cpu "full"), and bad lines next to good ones. */
    cap_put(tmp, "proc/pressure/cpu", "some avg10=1.00 avg60=2.00 avg300=3.00 total=5\n");
    cap_put(tmp, "proc/pressure/io",
            "some avg10=x avg60=2.00 avg300=3.00 total=5\n"
            "full avg10=1.00 avg60=2.00 total=5\n"
            "half avg10=1.00 avg60=2.00 avg300=3.00 total=5\n"
            "full avg10=1.00 avg60=2.00 avg300=3.00 total=-5\n"
            "full avg10=1.00 avg60=2.00 avg300=3.00 total=7\n");
    assert_int_equal(cap_pass(c, &cap, TS), OMEGA_EIO);
    assert_int_equal(cap_count(&cap, "system_pressure_stalled_seconds_total"), 2);
    cap_assert_close(cap_value(&cap, "system_pressure_stalled_seconds_total", "resource", "io",
                               "kind", "full", NULL),
                     7e-6);
    omega_collector_destroy(c);
    cap_free(&cap);
    testutil_rmtree(tmp);
    free(tmp);
}

/* ---- sensors --------------------------------------------------------------------------- */

static void test_sensors_fixture(void **state)
{
    (void)state;
    char root[1024];
    cap_t cap = {0};
    omega_collector_t *c = make(cap_fixture("sysmon", root, sizeof(root)), S_SENS);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    const char *cpu = "system_cpu_temperature_celsius", *other = "system_temperature_celsius";
    cap_assert_close(cap_value(&cap, cpu, "sensor", "coretemp/Package id 0", NULL), 45);
    cap_assert_close(cap_value(&cap, cpu, "sensor", "coretemp/Core 0", NULL), 43.5);
    cap_assert_close(cap_value(&cap, cpu, "sensor", "thermal/x86_pkg_temp", NULL), 46);
    cap_assert_close(cap_value(&cap, other, "sensor", "nvme/Composite", NULL), 38.85);
    cap_assert_close(cap_value(&cap, other, "sensor", "nvme.2/temp1", NULL), 40.85);
    cap_assert_close(cap_value(&cap, other, "sensor", "acpitz/temp1", NULL), 27.8);
    cap_assert_close(cap_value(&cap, other, "sensor", "thermal/pch_cannonlake", NULL), -5);
    /* acpitz's thermal zone is the same sensor as its hwmon chip; "broken" reads garbage. */
    assert_null(cap_find(&cap, other, "sensor", "thermal/acpitz", NULL));
    assert_int_equal(cap_count(&cap, cpu) + cap_count(&cap, other), 7);
    cap_assert_close(cap_value(&cap, "system_cpu_frequency_hertz", "cpu", "0", NULL), 2.4e9);
    cap_assert_close(cap_value(&cap, "system_cpu_frequency_hertz", "cpu", "2", NULL), 0.8e9);
    assert_int_equal(cap_count(&cap, "system_cpu_frequency_hertz"), 2);
    omega_collector_destroy(c);
    cap_free(&cap);
}

static void test_sensors_absent_and_128_cpus(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("sens");
    char rel[256];
    cap_t cap = {0};
    omega_collector_t *c = make(root, S_SENS);
    /* A VM without /sys sensors: a clean pass and no series at all. */
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    assert_int_equal(cap.n, 0);
    /* 128 CPUs, CPU 64 offline (no cpufreq directory). */
    for (int i = 0; i < 128; i++) {
        snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%d/%s", i,
                 i == 64 ? "online" : "cpufreq/scaling_cur_freq");
        cap_put(root, rel, i == 64 ? "0\n" : "3000000\n");
    }
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    assert_int_equal(cap_count(&cap, "system_cpu_frequency_hertz"), 127);
    cap_assert_close(cap_value(&cap, "system_cpu_frequency_hertz", "cpu", "127", NULL), 3e9);
    assert_null(cap_find(&cap, "system_cpu_frequency_hertz", "cpu", "64", NULL));
    omega_collector_destroy(c);
    cap_free(&cap);
    testutil_rmtree(root);
    free(root);
}

/* ---- CPU at scale ---------------------------------------------------------------------- */

static void test_cpu_128_cores_with_offline(void **state)
{
    (void)state;
    char *root = testutil_mkdtemp("cores");
    cap_t cap = {0};
    omega_collector_t *c = make(root, S_CPU);
    cap_put(root, "proc/loadavg", "1.00 1.00 1.00 1/100 5\n");
    cap_put_fixture(root, "cores128/a", "proc/stat");
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    cap_put_fixture(root, "cores128/b", "proc/stat");
    assert_int_equal(cap_pass(c, &cap, TS + 1000), 0);
    /* CPUs 64..71 went offline: 120 cores plus the total. */
    assert_int_equal(cap_count(&cap, "system_cpu_usage_percent"), 121);
    cap_assert_close(cap_value(&cap, "system_cpu_usage_percent", "cpu", "0", NULL),
                     100.0 * 150 / 960);
    cap_assert_close(cap_value(&cap, "system_cpu_usage_percent", "cpu", "127", NULL),
                     100.0 * 150 / 960);
    /* Total: 120 online cores moved (150 busy of 960 each); the offline ones did not. */
    cap_assert_close(cap_value(&cap, "system_cpu_usage_percent", "cpu", "total", NULL),
                     100.0 * 150 / 960);
    assert_null(cap_find(&cap, "system_cpu_usage_percent", "cpu", "64", NULL));
    omega_collector_destroy(c);
    cap_free(&cap);
    testutil_rmtree(root);
    free(root);
}

/* ---- processes ------------------------------------------------------------------------- */

static void test_processes_fixture(void **state)
{
    (void)state;
    char root[1024];
    cap_t cap = {0};
    omega_collector_t *c = make(cap_fixture("sysmon", root, sizeof(root)), S_PROC | S_CPU);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    static const struct {
        const char *state;
        double n;
    } want[] = {{"running", 2}, {"sleeping", 3}, {"blocked", 1}, {"zombie", 1},
                {"stopped", 1}, {"idle", 1},     {"other", 0}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cap_assert_close(cap_value(&cap, "system_processes", "state", want[i].state, NULL),
                         want[i].n);
    /* /proc/stat's procs_running/blocked give way to the scan: one series per state. */
    assert_int_equal(cap_count(&cap, "system_processes"), 7);
    cap_assert_close(cap_value(&cap, "system_threads", NULL), 13);
    omega_collector_destroy(c);
    cap_free(&cap);
}

/* A collector without the scan reports /proc/stat's counts, unless told another one scans. */
static void test_stat_process_counts_can_be_left_out(void **state)
{
    (void)state;
    char root[1024];
    cap_t cap = {0};
    omega_collector_t *c = make(cap_fixture("normal", root, sizeof(root)), S_CPU);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    cap_assert_close(cap_value(&cap, "system_processes", "state", "running", NULL), 3);
    omega_collector_destroy(c);
    omega_collect_options_t o;
    omega_error_t err;
    omega_collect_options_init(&o);
    o.root = root;
    o.enable_memory = o.enable_vmstat = o.enable_disk = o.enable_network = 0;
    o.enable_sensors = o.enable_processes = o.enable_self = 0;
    o.no_stat_processes = 1;
    c = omega_collector_create(&o, &err);
    assert_non_null(c);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    assert_int_equal(cap_count(&cap, "system_processes"), 0);
    assert_non_null(cap_find(&cap, "system_context_switches_total", NULL));
    omega_collector_destroy(c);
    cap_free(&cap);
}

static void test_pid_stat_parse(void **state)
{
    (void)state;
    pid_stat_t ps;
    char ok[] = "42 (a) (b) c) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 5 0 999 0 12 0 0";
    assert_int_equal(pid_stat_parse(ok, &ps), 0);
    assert_string_equal(ps.comm, "a) (b) c");
    assert_int_equal(ps.state, 'R');
    assert_int_equal(ps.ppid, 1);
    assert_int_equal(ps.cpu_ticks, 10);
    assert_int_equal(ps.threads, 5);
    assert_int_equal(ps.start_ticks, 999);
    assert_int_equal(ps.rss_pages, 12);
    char *bad[] = {"",
                   "42 x R 1",
                   "42 (x)R 1 2",
                   "42 (x) R 1 2 3",
                   "42 (x",
                   "42 x) R (",
                   "42 (x) RR 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 5 0 999 0 12"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "%s", bad[i]);
        assert_int_equal(pid_stat_parse(buf, &ps), OMEGA_EINVAL);
    }
}

/* LISTEN sockets in /proc/net/tcp and tcp6, counted by the test itself. */
/* ---- live machine cross-checks ---------------------------------------------------------- */

/* MemTotal read by the test itself, in bytes. */
static double own_memtotal(void)
{
    char line[256];
    double kb = -1;
    FILE *f = fopen("/proc/meminfo", "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemTotal: %lf kB", &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}

static size_t own_process_count(void)
{
    size_t n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] >= '1' && e->d_name[0] <= '9';
    closedir(d);
    return n;
}

static void test_live_machine(void **state)
{
    (void)state;
    cap_t cap = {0};
    struct statvfs st;
    omega_collector_t *c = make("/", S_ALL);
    assert_int_equal(cap_pass(c, &cap, omega_now_ms()), 0);
    cap_assert_close(cap_value(&cap, "system_memory_total_bytes", NULL), own_memtotal());
    assert_int_equal(statvfs("/", &st), 0);
    const cap_pt_t *root_fs = NULL;
    for (size_t i = 0; i < cap.n && !root_fs; i++)
        if (!strcmp(cap.pts[i].name, "system_filesystem_size_bytes") &&
            !strcmp(cap.pts[i].lvalue[0], "/"))
            root_fs = &cap.pts[i];
    assert_non_null(root_fs);
    cap_assert_close(root_fs->value, (double)st.f_blocks * (double)st.f_frsize);
    assert_non_null(cap_find(&cap, "system_network_receive_bytes_total", "interface", "lo", NULL));
    double procs = 0;
    for (size_t i = 0; i < cap.n; i++)
        if (!strcmp(cap.pts[i].name, "system_processes"))
            procs += cap.pts[i].value;
    double own = (double)own_process_count();
    assert_true(fabs(procs - own) <= 50); /* processes come and go between the two scans */
    assert_true(cap_value(&cap, "system_threads", NULL) >= procs);
    assert_true(cap_value(&cap, "omega_monitor_threads", NULL) >= 1);
    assert_true(cap_value(&cap, "omega_monitor_resident_memory_bytes", NULL) > 0);
    assert_true(cap_value(&cap, "omega_monitor_open_fds", NULL) >= 3);
    assert_non_null(cap_find(&cap, "omega_monitor_collection_duration_seconds", "collector",
                             "filesystems", NULL));
    assert_true(cap_value(&cap, "omega_monitor_collection_points", "collector", "memory", NULL) >=
                4);
    omega_collector_destroy(c);
    cap_free(&cap);
}

/* ---- the catalogue --------------------------------------------------------------------- */

/* Every point is defined in a table with exactly its label names; names and types follow the
 * naming rules. */
static void assert_all_defined(const cap_t *cap)
{
    for (size_t i = 0; i < cap->n; i++) {
        const cap_pt_t *p = &cap->pts[i];
        const metric_def_t *d = collect_metric_find(p->name);
        if (!d)
            fail_msg("%s is not in any metric table", p->name);
        char labels[256] = "";
        for (size_t j = 0; j < p->n_labels; j++)
            snprintf(labels + strlen(labels), sizeof(labels) - strlen(labels), "%s%s", j ? "," : "",
                     p->lname[j]);
        if (strcmp(labels, d->labels) != 0)
            fail_msg("%s has labels \"%s\", its table says \"%s\"", p->name, labels, d->labels);
        assert_true(omega_metric_name_valid(p->name));
        assert_true(isfinite(p->value));
    }
}

static void test_every_point_is_catalogued(void **state)
{
    (void)state;
    char root[1024];
    cap_t cap = {0};
    int port;
    int lfd = cap_listener(&port);
    char t[64];
    snprintf(t, sizeof(t), "127.0.0.1:%d", port);
    const char *targets[] = {t};
    omega_collector_t *c = cap_make(cap_fixture("sysmon", root, sizeof(root)), S_ALL, targets, 1);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    assert_int_equal(probes_wait(collector_probes(c), 30000), 0); /* the probe round is in */
    assert_int_equal(cap_pass(c, &cap, TS + 1000), 0);
    assert_true(cap.n > 100);
    assert_non_null(cap_find(&cap, "system_network_probe_success", "target", t, NULL));
    assert_non_null(cap_find(&cap, "omega_monitor_collection_latency_seconds_bucket", "cadence",
                             "5000", "le", "+Inf", NULL));
    assert_all_defined(&cap);
    omega_collector_destroy(c);
    c = make("/", S_ALL);
    assert_int_equal(cap_pass(c, &cap, TS), 0);
    assert_all_defined(&cap);
    omega_collector_destroy(c);
    close(lfd);
    cap_free(&cap);
}

static void test_tables_follow_naming_rules(void **state)
{
    (void)state;
    static const char *const names[] = {"system_cpu_usage_percent",       "system_load1",
                                        "system_page_faults_total",       "system_disk_reads_total",
                                        "system_filesystem_size_bytes",   "system_threads",
                                        "omega_monitor_cpu_seconds_total"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const metric_def_t *d = collect_metric_find(names[i]);
        assert_non_null(d);
        size_t n = strlen(d->name);
        int is_total = n > 6 && !strcmp(d->name + n - 6, "_total");
        assert_int_equal(is_total, !strcmp(d->type, "counter"));
        if (n > 8 && !strcmp(d->name + n - 8, "_percent"))
            assert_string_equal(d->unit, "percent");
    }
    assert_null(collect_metric_find("system_nothing"));
}

static void test_markdown_matches_committed_docs(void **state)
{
    (void)state;
    char path[1024];
    char *gen = NULL;
    size_t gen_len = 0, doc_len = 0;
    FILE *out = open_memstream(&gen, &gen_len);
    assert_non_null(out);
    assert_int_equal(omega_collect_write_markdown(out), 0);
    assert_int_equal(fclose(out), 0);
    char *doc =
        testutil_read_file(testutil_source_path("docs/metrics.md", path, sizeof(path)), &doc_len);
    assert_non_null(doc);
    if (doc_len != gen_len || memcmp(doc, gen, gen_len) != 0)
        fail_msg("docs/metrics.md differs from the generator; regenerate it with "
                 "build/collect/omega-metrics-docs > docs/metrics.md");
    /* Every table's metrics appear in the page. */
    assert_non_null(strstr(gen, "`system_network_probe_latency_seconds`"));
    assert_non_null(strstr(gen, "`omega_monitor_open_fds`"));
    free(doc);
    free(gen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vmstat_fixture),
        cmocka_unit_test(test_vmstat_old_kernel_and_bad_values),
        cmocka_unit_test(test_diskstats_fixture_whole_disks_only),
        cmocka_unit_test(test_diskstats_derived_reset_and_disappearing),
        cmocka_unit_test(test_diskstats_counter_wrap),
        cmocka_unit_test(test_diskstats_name_rule_and_bad_lines),
        cmocka_unit_test(test_filesystems_fixture),
        cmocka_unit_test(test_filesystems_bad_lines_and_escapes),
        cmocka_unit_test(test_pressure_fixture_missing_and_bad),
        cmocka_unit_test(test_sensors_fixture),
        cmocka_unit_test(test_sensors_absent_and_128_cpus),
        cmocka_unit_test(test_cpu_128_cores_with_offline),
        cmocka_unit_test(test_processes_fixture),
        cmocka_unit_test(test_stat_process_counts_can_be_left_out),
        cmocka_unit_test(test_pid_stat_parse),
        cmocka_unit_test(test_live_machine),
        cmocka_unit_test(test_every_point_is_catalogued),
        cmocka_unit_test(test_tables_follow_naming_rules),
        cmocka_unit_test(test_markdown_matches_committed_docs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
