/* SPDX-License-Identifier: Apache-2.0 */
/* Backups as RocksDB checkpoints in <backup_dir>/<UTC time>, the newest backup_keep kept,
 * and restore: copy a checkpoint next to the data directory, prove it opens and its chunks
 * pass their checks, then move it into place. */
#include "storage_int.h"

#include "omega/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BACKUP_KEEP_DEFAULT 7u
#define BACKUP_NAME_LEN     16 /* YYYYMMDDTHHMMSSZ */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int r = (flag == FTW_DP) ? rmdir(path) : unlink(path);
    return r == 0 ? 0 : errno;
}

int storage_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : errno;
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A backup folder name: YYYYMMDDTHHMMSSZ, optionally -N. */
static int is_backup_name(const char *n)
{
    for (int i = 0; i < BACKUP_NAME_LEN; i++) {
        char c = n[i];
        int ok = i == 8 ? c == 'T' : i == 15 ? c == 'Z' : (c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    const char *p = n + BACKUP_NAME_LEN;
    if (*p == '\0')
        return 1;
    if (*p++ != '-' || !*p)
        return 0;
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Delete the oldest backups in dir beyond keep (names sort by time). */
static void prune(const char *dir, uint32_t keep)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!is_backup_name(de->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = realloc(names, cap * sizeof(*names));
            if (!names)
                abort();
        }
        names[n++] = omega_strdup(de->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (i + keep < n) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
            int e = storage_rmtree(path);
            if (e)
                omega_log_error("storage: cannot delete old backup %s: %s", path, strerror(e));
        }
        free(names[i]);
    }
    free(names);
}

/* <base>/<UTC now>[-N] that does not exist yet, into out. */
static int backup_path(const char *base, char *out, size_t len, omega_error_t *err)
{
    time_t now = (time_t)(omega_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    for (int i = 0; i < 1000; i++) {
        int w = i ? snprintf(out, len, "%s/%s-%d", base, stamp, i)
                  : snprintf(out, len, "%s/%s", base, stamp);
        if (w < 0 || (size_t)w >= len)
            return omega_error_set(err, OMEGA_EINVAL, "backup path under %s is too long", base);
        struct stat st;
        if (lstat(out, &st) != 0 && errno == ENOENT)
            return 0;
    }
    return omega_error_set(err, OMEGA_EEXIST, "too many backups named %s in %s", stamp, base);
}

int omega_tsdb_backup(omega_tsdb_t *db, const char *dir, char *path_out, size_t path_len,
                      omega_error_t *err)
{
    if (!db)
        return omega_error_set(err, OMEGA_EINVAL, "storage: no database");
    const char *base = dir && *dir ? dir : db->life.backup_dir;
    int e = storage_mkdir_p(base);
    if (e)
        return omega_error_set(err, e == ENOSPC ? OMEGA_ENOSPC : OMEGA_EIO,
                               "cannot create backup directory %s: %s", base, strerror(e));
    char path[4096];
    pthread_mutex_lock(&db->life.run_lock); /* one backup (or limit pass) at a time */
    int rc = backup_path(base, path, sizeof(path), err);
    char *errptr = NULL;
    if (rc == 0) {
        rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(db->rdb, &errptr);
        if (!errptr) {
            /* 0: flush the memtables first, so the backup is SST files plus little WAL */
            rocksdb_checkpoint_create(cp, path, 0, &errptr);
            rocksdb_checkpoint_object_destroy(cp);
        }
        if (errptr) {
            char what[4200];
            snprintf(what, sizeof(what), "backup into %s", path);
            rc = storage_rocks_error(errptr, err, what);
            storage_rmtree(path);
        }
    }
    if (rc == 0)
        prune(base, db->opts.backup_keep ? db->opts.backup_keep : BACKUP_KEEP_DEFAULT);
    pthread_mutex_unlock(&db->life.run_lock);
    if (rc == 0 && path_out && path_len)
        snprintf(path_out, path_len, "%s", path);
    return rc;
}

/* ---- restore ---- */

/* Copy the regular file src to dst (created, fsync'd). Returns 0 or an errno value. */
static int copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return errno;
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (out < 0) {
        int e = errno;
        close(in);
        return e;
    }
    char buf[1 << 16];
    int e = 0;
    for (;;) {
        ssize_t r = read(in, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            e = r < 0 ? errno : 0;
            break;
        }
        for (ssize_t off = 0; off < r && !e;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w < 0 && errno != EINTR)
                e = errno;
            else if (w > 0)
                off += w;
        }
        if (e)
            break;
    }
    if (!e && fsync(out) != 0)
        e = errno;
    close(in);
    if (close(out) != 0 && !e)
        e = errno;
    return e;
}

/* Apply fn(src_dir/name, dst_dir/name) to every entry of src_dir except "." and "..",
 * and except `skip` (may be NULL). Returns 0 or the first errno value. */
static int each_entry(const char *src_dir, const char *dst_dir, const char *skip,
                      int (*fn)(const char *src, const char *dst))
{
    DIR *d = opendir(src_dir);
    if (!d)
        return errno;
    int e = 0;
    struct dirent *de;
    while (!e && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            (skip && !strcmp(de->d_name, skip)))
            continue;
        char s[4096], t[4096];
        int ls = snprintf(s, sizeof(s), "%s/%s", src_dir, de->d_name);
        int lt = snprintf(t, sizeof(t), "%s/%s", dst_dir ? dst_dir : "", de->d_name);
        if (ls < 0 || lt < 0 || (size_t)ls >= sizeof(s) || (size_t)lt >= sizeof(t))
            e = ENAMETOOLONG;
        else
            e = fn(s, t);
    }
    closedir(d);
    return e;
}

static int copy_regular(const char *src, const char *dst)
{
    struct stat st;
    if (lstat(src, &st) != 0)
        return errno;
    return S_ISREG(st.st_mode) ? copy_file(src, dst) : 0; /* checkpoints are flat */
}

static int move_entry(const char *src, const char *dst)
{
    return rename(src, dst) == 0 ? 0 : errno;
}

static int remove_entry(const char *src, const char *dst)
{
    (void)dst;
    /* The installation's generated master key (auth/, docs/security.md) is not the store's:
     * a restore keeps it, so the restored secrets open with it. */
    const char *base = strrchr(src, '/');
    return base && strcmp(base + 1, "master.key") == 0 ? 0 : storage_rmtree(src);
}

static int count_entry(const char *src, const char *dst)
{
    (void)src;
    (void)dst;
    return EEXIST;
}

/* Open the copy in dir and check every chunk: 0, or OMEGA_ECORRUPT with the reason. */
static int verify_copy(const char *backup, const char *dir, omega_error_t *err)
{
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = dir;
    o.raw_retention_ms = o.hourly_retention_ms = o.daily_retention_ms = 0;
    o.weekly_retention_ms = o.monthly_retention_ms = 0;
    omega_error_t e2;
    omega_error_clear(&e2);
    omega_tsdb_t *db = omega_tsdb_open(&o, &e2);
    int rc = 0;
    if (db) {
        omega_tsdb_integrity_t res;
        rc = omega_tsdb_verify(db, &res, NULL, NULL, &e2);
        omega_tsdb_close(db);
    }
    if (!db || rc != 0)
        return omega_error_set(err, OMEGA_ECORRUPT, "backup %s is damaged: %s", backup, e2.message);
    return 0;
}

/* Is src a directory holding a RocksDB store? */
static int check_backup(const char *src, omega_error_t *err)
{
    struct stat st;
    if (stat(src, &st) != 0)
        return omega_error_set(err, errno == ENOENT ? OMEGA_ENOENT : OMEGA_EIO, "backup %s: %s",
                               src, strerror(errno));
    char cur[4200];
    snprintf(cur, sizeof(cur), "%s/CURRENT", src);
    if (!S_ISDIR(st.st_mode) || stat(cur, &st) != 0 || !S_ISREG(st.st_mode))
        return omega_error_set(err, OMEGA_ECORRUPT,
                               "%s is not an omega-monitor backup (no RocksDB CURRENT file)", src);
    return 0;
}

/* Refuse a target whose RocksDB LOCK another process holds (a running server). */
static int check_not_in_use(const char *target, omega_error_t *err)
{
    char lock[4200];
    snprintf(lock, sizeof(lock), "%s/LOCK", target);
    int fd = open(lock, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 0; /* no store there, or no lock file: nobody has it open */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int busy = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    close(fd);
    if (busy)
        return omega_error_set(err, OMEGA_EEXIST,
                               "data directory %s is in use by process %ld; stop the server "
                               "before restoring",
                               target, (long)fl.l_pid);
    return 0;
}

/* Copy, verify and move the backup into target (prepared by the caller). */
static int restore_into(const char *src, const char *target, int exists, int force,
                        omega_error_t *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.restore-tmp", target);
    storage_rmtree(tmp);
    int e = storage_mkdir_p(tmp);
    if (!e)
        e = each_entry(src, tmp, NULL, copy_regular);
    if (e) {
        storage_rmtree(tmp);
        return omega_error_set(err, e == ENOSPC ? OMEGA_ENOSPC : OMEGA_EIO,
                               "copying backup %s into %s failed: %s", src, tmp, strerror(e));
    }
    int rc = verify_copy(src, tmp, err);
    if (rc == 0 && exists && force)
        e = each_entry(target, NULL, "backups", remove_entry);
    if (rc == 0 && !e)
        e = storage_mkdir_p(target);
    if (rc == 0 && !e)
        e = each_entry(tmp, target, NULL, move_entry);
    if (rc == 0 && e)
        rc = omega_error_set(err, OMEGA_EIO, "moving the restored files into %s failed: %s", target,
                             strerror(e));
    storage_rmtree(tmp);
    return rc;
}

int omega_tsdb_restore(const char *backup_path, const char *data_dir, int force, omega_error_t *err)
{
    if (!backup_path || !*backup_path || !data_dir || !*data_dir)
        return omega_error_set(err, OMEGA_EINVAL, "restore: backup and data directory needed");
    char src[4096], target[4096];
    snprintf(src, sizeof(src), "%s", backup_path);
    if (snprintf(target, sizeof(target), "%s", data_dir) >= (int)sizeof(target) - 32)
        return omega_error_set(err, OMEGA_EINVAL, "restore: data directory path too long");
    for (size_t n = strlen(target); n > 1 && target[n - 1] == '/'; n--)
        target[n - 1] = '\0';
    int rc = check_backup(src, err);
    if (rc)
        return rc;
    struct stat st;
    int exists = stat(target, &st) == 0;
    if (exists && !S_ISDIR(st.st_mode))
        return omega_error_set(err, OMEGA_EEXIST, "%s exists and is not a directory", target);
    if (exists && (rc = check_not_in_use(target, err)) != 0)
        return rc;
    if (exists && !force && each_entry(target, NULL, NULL, count_entry) == EEXIST)
        return omega_error_set(err, OMEGA_EEXIST,
                               "data directory %s is not empty; stop the server and restore "
                               "with --force to replace its contents",
                               target);
    rc = restore_into(src, target, exists, force, err);
    if (rc == 0)
        omega_log_info("storage: restored %s into %s", src, target);
    return rc;
}
