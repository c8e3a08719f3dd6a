/* SPDX-License-Identifier: Apache-2.0 */
/* Temperatures (/sys/class/hwmon/<chip>/temp*_input and /sys/class/thermal/thermal_zone*) and
 * CPU frequency (/sys/devices/system/cpu/cpu<N>/cpufreq/scaling_cur_freq). A machine without
 * these files (most VMs) simply has no such series: absent sensors are never zeros. */
#include "collect_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const metric_def_t defs[] = {
    {"system_cpu_temperature_celsius", "gauge", "celsius", "sensor",
     "Temperature of a CPU sensor (hwmon chips coretemp, k10temp, k8temp, zenpower, "
     "cpu_thermal; thermal zones x86_pkg_temp, cpu-thermal, cpu_thermal, soc_thermal)."},
    {"system_temperature_celsius", "gauge", "celsius", "sensor",
     "Temperature of any other sensor (disks, chipset, ACPI zones, NICs, GPUs)."},
    {"system_cpu_frequency_hertz", "gauge", "hertz", "cpu",
     "Current frequency of an online CPU as cpufreq reports it."},
};

const metric_table_t collect_table_sensors = {
    "Temperatures and CPU frequency",
    "/sys/class/hwmon, /sys/class/thermal, /sys/devices/system/cpu",
    "enable_sensors (system_monitor.enable_cpu_monitoring)",
    "The sensor label is \"<chip>/<label>\" for hwmon (the chip's name file, then the "
    "temp<N>_label file or \"temp<N>\") and \"thermal/<type>\" for thermal zones; a second chip "
    "or zone with the same name gets \".2\", \".3\" ... appended to the chip part, in directory "
    "name order. Values are the kernel's millidegrees / 1000.",
    defs,
    METRIC_TABLE_N(defs)};

static const char *const cpu_chips[] = {"coretemp",    "k10temp",     "k8temp",
                                        "zenpower",    "cpu_thermal", "x86_pkg_temp",
                                        "cpu-thermal", "soc_thermal"};

#define SENSOR_NAME_MAX 128
#define CHIPS_MAX       256 /* chips named per pass, for the ".2" suffixes */

typedef struct chips_seen {
    char names[CHIPS_MAX][64]; /* chip names met this pass */
    int count[CHIPS_MAX];      /* how often each was met */
    int n;                     /* entries used */
} chips_seen_t;

static int is_cpu_chip(const char *chip)
{
    for (size_t i = 0; i < sizeof(cpu_chips) / sizeof(cpu_chips[0]); i++)
        if (strcmp(chip, cpu_chips[i]) == 0)
            return 1;
    return 0;
}

/* chip as a unique key for this pass: "nvme", then "nvme.2", ... */
static void unique_chip(chips_seen_t *cs, const char *chip, char *out, size_t cap)
{
    for (int i = 0; i < cs->n; i++)
        if (strcmp(cs->names[i], chip) == 0) {
            snprintf(out, cap, "%s.%d", chip, ++cs->count[i]);
            return;
        }
    if (cs->n < CHIPS_MAX) {
        snprintf(cs->names[cs->n], sizeof(cs->names[0]), "%.63s", chip);
        cs->count[cs->n++] = 1;
    }
    snprintf(out, cap, "%s", chip);
}

/* Read a one-line text file (name, label, type) without its newline. Returns 0 or -1. */
static int read_word(const char *root, const char *rel, char *out, size_t cap)
{
    size_t len = 0;
    if (procfile_read(root, rel, out, cap, &len, NULL) != 0)
        return -1;
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
        out[--len] = '\0';
    return len > 0 ? 0 : -1;
}

static void emit_temp(batch_t *b, int cpu, const char *chip, const char *label, int64_t milli)
{
    char sensor[SENSOR_NAME_MAX * 2];
    snprintf(sensor, sizeof(sensor), "%s/%s", chip, label);
    omega_label_t l[1] = {{"sensor", sensor}};
    batch_add(b, cpu ? "system_cpu_temperature_celsius" : "system_temperature_celsius",
              (double)milli / 1000.0, l, 1);
}

/* Entries of <root><rel> matching prefix, sorted by name; NULL when the directory is absent. */
static int list_dir(const char *root, const char *rel, struct dirent ***out)
{
    char path[4200];
    if (collect_path(path, sizeof(path), root, rel) != 0)
        return -1;
    return scandir(path, out, NULL, alphasort);
}

static void free_list(struct dirent **list, int n)
{
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* temp<N>_input files of one hwmon chip directory. */
static void hwmon_chip(const char *root, const char *dir, chips_seen_t *cs, batch_t *b)
{
    char rel[1024], chip[SENSOR_NAME_MAX], key[SENSOR_NAME_MAX], label[SENSOR_NAME_MAX];
    struct dirent **ents = NULL;
    snprintf(rel, sizeof(rel), "/sys/class/hwmon/%s/name", dir);
    if (read_word(root, rel, chip, sizeof(chip)) != 0)
        return;
    snprintf(rel, sizeof(rel), "/sys/class/hwmon/%s", dir);
    int n = list_dir(root, rel, &ents);
    if (n < 0)
        return;
    int named = 0;
    for (int i = 0; i < n; i++) {
        const char *e = ents[i]->d_name;
        size_t el = strlen(e);
        int64_t milli;
        if (strncmp(e, "temp", 4) != 0 || el < 11 || strcmp(e + el - 6, "_input") != 0)
            continue;
        int idx = (int)(el - 10);
        if (!named) {
            unique_chip(cs, chip, key, sizeof(key));
            named = 1;
        }
        snprintf(rel, sizeof(rel), "/sys/class/hwmon/%s/%s", dir, e);
        if (procfile_read_i64(root, rel, &milli) != 0)
            continue; /* a sensor that errors (unplugged, asleep) has no value this pass */
        snprintf(rel, sizeof(rel), "/sys/class/hwmon/%s/temp%.*s_label", dir, idx, e + 4);
        if (read_word(root, rel, label, sizeof(label)) != 0)
            snprintf(label, sizeof(label), "temp%.*s", idx, e + 4);
        emit_temp(b, is_cpu_chip(chip), key, label, milli);
    }
    free_list(ents, n);
}

/* Thermal zones also register as hwmon chips named after their type (with '-' spelled '_'
 * since Linux 5.x): such a zone was already reported through hwmon. */
static int seen_as_hwmon(const chips_seen_t *cs, int n_hwmon, const char *type)
{
    char alt[64];
    snprintf(alt, sizeof(alt), "%.63s", type);
    for (char *p = alt; *p; p++)
        if (*p == '-')
            *p = '_';
    for (int i = 0; i < n_hwmon; i++)
        if (strcmp(cs->names[i], type) == 0 || strcmp(cs->names[i], alt) == 0)
            return 1;
    return 0;
}

static void thermal_zones(const char *root, chips_seen_t *cs, batch_t *b)
{
    char rel[1024], type[SENSOR_NAME_MAX], key[SENSOR_NAME_MAX];
    struct dirent **ents = NULL;
    int n_hwmon = cs->n;
    int n = list_dir(root, "/sys/class/thermal", &ents);
    for (int i = 0; i < n; i++) {
        const char *e = ents[i]->d_name;
        int64_t milli;
        if (strncmp(e, "thermal_zone", 12) != 0)
            continue;
        snprintf(rel, sizeof(rel), "/sys/class/thermal/%s/type", e);
        if (read_word(root, rel, type, sizeof(type)) != 0 || seen_as_hwmon(cs, n_hwmon, type))
            continue;
        snprintf(rel, sizeof(rel), "/sys/class/thermal/%s/temp", e);
        if (procfile_read_i64(root, rel, &milli) != 0)
            continue;
        unique_chip(cs, type, key, sizeof(key));
        emit_temp(b, is_cpu_chip(type), "thermal", key, milli);
    }
    if (n >= 0)
        free_list(ents, n);
}

static void cpu_freqs(const char *root, batch_t *b)
{
    char rel[512];
    struct dirent **ents = NULL;
    int n = list_dir(root, "/sys/devices/system/cpu", &ents);
    for (int i = 0; i < n; i++) {
        const char *e = ents[i]->d_name;
        uint64_t id;
        int64_t khz;
        if (strncmp(e, "cpu", 3) != 0 || procfile_parse_u64(e + 3, &id) != 0)
            continue;
        snprintf(rel, sizeof(rel), "/sys/devices/system/cpu/%s/cpufreq/scaling_cur_freq", e);
        if (procfile_read_i64(root, rel, &khz) != 0 || khz <= 0)
            continue; /* offline CPUs have no cpufreq directory */
        omega_label_t l[1] = {{"cpu", e + 3}};
        batch_add(b, "system_cpu_frequency_hertz", (double)khz * 1000.0, l, 1);
    }
    if (n >= 0)
        free_list(ents, n);
}

int sensors_collect(const char *root, batch_t *b)
{
    chips_seen_t *cs = omega_calloc(1, sizeof(*cs));
    struct dirent **ents = NULL;
    int n = list_dir(root, "/sys/class/hwmon", &ents);
    for (int i = 0; i < n; i++)
        if (ents[i]->d_name[0] != '.')
            hwmon_chip(root, ents[i]->d_name, cs, b);
    if (n >= 0)
        free_list(ents, n);
    thermal_zones(root, cs, b);
    cpu_freqs(root, b);
    free(cs);
    return 0;
}
