/* SPDX-License-Identifier: Apache-2.0 */
/* Stored reports in reports.output_dir: <id>.meta (JSON) holds the record (status, period,
 * format, owner, times, error) and <id>.<ext> the rendered file. Files are written to a
 * temporary name and renamed, so a reader never sees half a file. */
#include "report_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rpt_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n != 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return 0;
    return 1;
}

int rpt_store_init(const char *dir, omega_error_t *err)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path))
        return omega_error_set(err, OMEGA_EINVAL, "report directory name is empty or too long");
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return omega_error_set(err, OMEGA_EIO, "cannot create %s: %s", path, strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return omega_error_set(err, OMEGA_EIO, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

static int write_all(const char *dir, const char *name, const void *data, size_t len,
                     omega_error_t *err)
{
    char tmp[4200], path[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return omega_error_set(err, OMEGA_EIO, "cannot write %s: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return omega_error_set(err, e == ENOSPC ? OMEGA_ENOSPC : OMEGA_EIO,
                                   "cannot write %s: %s", tmp, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return omega_error_set(err, OMEGA_EIO, "cannot store %s: %s", path, strerror(e));
    }
    return 0;
}

int rpt_store_put_meta(const char *dir, const char *id, json_t *meta, omega_error_t *err)
{
    char name[64];
    snprintf(name, sizeof(name), "%s.meta", id);
    char *text = json_dumps(meta, JSON_COMPACT | JSON_REAL_PRECISION(10));
    int rc = write_all(dir, name, text, strlen(text), err);
    free(text);
    return rc;
}

json_t *rpt_store_get_meta(const char *dir, const char *id)
{
    char path[4200];
    if (!rpt_id_valid(id))
        return NULL;
    snprintf(path, sizeof(path), "%s/%s.meta", dir, id);
    json_t *m = json_load_file(path, 0, NULL);
    if (m && !json_is_object(m)) {
        json_decref(m);
        return NULL;
    }
    return m;
}

int rpt_store_put_data(const char *dir, const char *id, const char *ext, const char *data,
                       size_t len, omega_error_t *err)
{
    char name[64];
    snprintf(name, sizeof(name), "%s.%s", id, ext);
    return write_all(dir, name, data, len, err);
}

char *rpt_store_get_data(const char *dir, const char *id, const char *ext, size_t *len)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s.%s", dir, id, ext);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && st.st_size >= 0) {
        buf = omega_malloc((size_t)st.st_size + 1);
        *len = fread(buf, 1, (size_t)st.st_size, f);
        buf[*len] = '\0';
        if (*len != (size_t)st.st_size) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

/* Visit every record id in dir. */
static void each_record(const char *dir, void (*fn)(const char *dir, const char *id, void *ctx),
                        void *ctx)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char id[40];
        size_t n = strlen(e->d_name);
        if (n != 37 || strcmp(e->d_name + 32, ".meta") != 0)
            continue;
        memcpy(id, e->d_name, 32);
        id[32] = '\0';
        if (rpt_id_valid(id))
            fn(dir, id, ctx);
    }
    closedir(d);
}

static void remove_record(const char *dir, const char *id)
{
    static const char *const exts[] = {"pdf", "html", "csv", "json", "meta"}; /* meta last */
    char path[4200];
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof(path), "%s/%s.%s", dir, id, exts[i]);
        unlink(path);
    }
}

static void sweep_one(const char *dir, const char *id, void *ctx)
{
    int64_t before = *(const int64_t *)ctx;
    json_t *m = rpt_store_get_meta(dir, id);
    int64_t created = 0;
    const char *c = m ? json_string_value(json_object_get(m, "created_at")) : NULL;
    if (!c || omega_time_parse(c, &created) != 0 || created < before)
        remove_record(dir, id);
    json_decref(m);
}

void rpt_store_sweep(const char *dir, int64_t before_ms)
{
    each_record(dir, sweep_one, &before_ms);
}

static void fail_one(const char *dir, const char *id, void *ctx)
{
    json_t *m = rpt_store_get_meta(dir, id);
    const char *st = m ? json_string_value(json_object_get(m, "status")) : NULL;
    if (st && (strcmp(st, "pending") == 0 || strcmp(st, "running") == 0)) {
        json_object_set_new(m, "status", json_string("failed"));
        json_object_set_new(m, "error",
                            json_string("the server stopped before the report was made"));
        rpt_store_put_meta(dir, id, m, NULL);
    }
    json_decref(m);
}

void rpt_store_fail_unfinished(const char *dir)
{
    each_record(dir, fail_one, NULL);
}
