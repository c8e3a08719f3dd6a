/* SPDX-License-Identifier: Apache-2.0 */
/* Storage benchmark (not a ctest test): feeds the line-protocol files written by
 * /work/shared/bench/gen_lp.py --out DIR through omega_tsdb_write, one write call per
 * batch file (as ingest.sh posts them), closes cleanly and reports samples/s, bytes per
 * sample (everything in the data dir after close / samples acknowledged), peak RSS and
 * CPU seconds. Influx lines map to series as in DESIGN.md (measurement_field{tags}).
 *
 *   bench_storage LP_DIR DATA_DIR [--chunk N] [--nosync]
 *
 * The line-protocol reader here is a minimal one for gen_lp.py's output only. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "omega/tsdb.h"

#define MAX_TAGS 8

typedef struct batch {
    omega_point_t *pts;    /* points, owned */
    size_t n, cap;         /* used / allocated */
    char *names;           /* metric names back to back, owned */
    size_t nlen, ncap;     /* used / allocated */
    omega_label_t *labels; /* label arrays, MAX_TAGS per line, owned */
    size_t nl, lcap;       /* lines used / allocated */
} batch_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)sz + 1);
    *len = fread(b, 1, (size_t)sz, f);
    b[*len] = '\0';
    fclose(f);
    return b;
}

/* Parse one line (NUL-terminated, modified in place) into points. Names are stored as
 * offsets first (the arena may move) and fixed up by the caller. */
static int parse_line(batch_t *b, char *line)
{
    char *sp = strchr(line, ' ');
    if (!sp)
        return -1;
    *sp = '\0';
    char *fields = sp + 1, *tsp = strrchr(fields, ' ');
    if (!tsp)
        return -1;
    *tsp = '\0';
    int64_t ts = strtoll(tsp + 1, NULL, 10) * 1000;
    if (b->nl == b->lcap) {
        b->lcap = b->lcap ? b->lcap * 2 : 1024;
        b->labels = realloc(b->labels, b->lcap * MAX_TAGS * sizeof(*b->labels));
    }
    omega_label_t *lab = b->labels + b->nl * MAX_TAGS;
    size_t nt = 0;
    char *meas = line, *c = strchr(line, ',');
    if (c)
        *c++ = '\0';
    while (c && nt < MAX_TAGS) {
        char *eq = strchr(c, '='), *next = strchr(c, ',');
        if (!eq)
            return -1;
        *eq = '\0';
        if (next)
            *next++ = '\0';
        lab[nt++] = (omega_label_t){c, eq + 1};
        c = next;
    }
    b->nl++;
    for (char *f = fields; f;) {
        char *next = strchr(f, ','), *eq = strchr(f, '=');
        if (next)
            *next++ = '\0';
        if (!eq)
            return -1;
        *eq = '\0';
        size_t need = strlen(meas) + strlen(f) + 2;
        if (b->nlen + need > b->ncap) {
            b->ncap = (b->nlen + need) * 2;
            b->names = realloc(b->names, b->ncap);
        }
        size_t off = b->nlen;
        b->nlen += (size_t)sprintf(b->names + off, strcmp(f, "value") ? "%s_%s" : "%s", meas,
                                   f) + 1;
        if (b->n == b->cap) {
            b->cap = b->cap ? b->cap * 2 : 4096;
            b->pts = realloc(b->pts, b->cap * sizeof(*b->pts));
        }
        b->pts[b->n++] = (omega_point_t){.name = (const char *)(uintptr_t)off,
                                         .labels = (const omega_label_t *)(uintptr_t)(b->nl - 1),
                                         .n_labels = nt, .ts_ms = ts,
                                         .value = strtod(eq + 1, NULL)};
        f = next;
    }
    return 0;
}

static int parse_file(batch_t *b, char *text)
{
    b->n = b->nlen = b->nl = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (*line && parse_line(b, line) != 0)
            return -1;
        if (!nl)
            break;
        line = nl + 1;
    }
    for (size_t i = 0; i < b->n; i++) {
        b->pts[i].name = b->names + (uintptr_t)b->pts[i].name;
        b->pts[i].labels = b->labels + (uintptr_t)b->pts[i].labels * MAX_TAGS;
    }
    return 0;
}

static uint64_t dir_bytes(const char *path)
{
    uint64_t total = 0;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *de;
    char p[4096];
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat(p, &st) != 0)
            continue;
        total += S_ISDIR(st.st_mode) ? dir_bytes(p) : (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.lp files of dir, sorted (batch order); NULL when dir cannot be read. */
static char **list_lp(const char *dir, size_t *nf)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return NULL;
    }
    char **files = NULL;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, ".lp")) {
            files = realloc(files, (*nf + 1) * sizeof(*files));
            files[(*nf)++] = strdup(de->d_name);
        }
    closedir(d);
    if (files)
        qsort(files, *nf, sizeof(*files), cmp_str);
    return files;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s LP_DIR DATA_DIR [--chunk N] [--nosync]\n", argv[0]);
        return 2;
    }
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = argv[2];
    o.out_of_order_window_ms = 0; /* the workload ends a minute ago and spans an hour */
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--chunk") && i + 1 < argc)
            o.chunk_max_samples = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--nosync"))
            o.sync_writes = 0;
    }
    size_t nf = 0;
    char **files = list_lp(argv[1], &nf);
    if (!files)
        return 1;
    omega_error_t err;
    omega_tsdb_t *db = omega_tsdb_open(&o, &err);
    if (!db) {
        fprintf(stderr, "open: %s\n", err.message);
        return 1;
    }
    batch_t b = {0};
    uint64_t samples = 0;
    double api_s = 0, t0 = now_s();
    for (size_t i = 0; i < nf; i++) {
        char path[4096];
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", argv[1], files[i]);
        char *text = read_all(path, &len);
        if (!text || parse_file(&b, text) != 0) {
            fprintf(stderr, "cannot read %s\n", path);
            return 1;
        }
        double w0 = now_s();
        if (omega_tsdb_write(db, b.pts, b.n, &err) != 0) {
            fprintf(stderr, "write %s: %s\n", files[i], err.message);
            return 1;
        }
        api_s += now_s() - w0;
        samples += b.n;
        free(text);
        free(files[i]);
    }
    double c0 = now_s();
    omega_tsdb_close(db);
    double close_s = now_s() - c0, total_s = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    uint64_t bytes = dir_bytes(argv[2]);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("samples %llu  files %zu  chunk_max_samples %u  sync_writes %d\n",
           (unsigned long long)samples, nf, o.chunk_max_samples, o.sync_writes);
    printf("ingest through omega_tsdb_write: %.0f samples/s (%.2f s in write calls)\n",
           (double)samples / api_s, api_s);
    printf("end to end incl. line-protocol parsing and close: %.0f samples/s (%.2f s, close "
           "%.2f s)\n", (double)samples / total_s, total_s, close_s);
    printf("data dir after clean close: %llu bytes = %.3f bytes/sample\n",
           (unsigned long long)bytes, (double)bytes / (double)samples);
    printf("peak RSS %.1f MiB, CPU %.2f s (user+sys, all threads)\n", ru.ru_maxrss / 1024.0,
           cpu);
    free(files);
    free(b.pts);
    free(b.names);
    free(b.labels);
    return 0;
}
