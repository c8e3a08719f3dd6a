/* SPDX-License-Identifier: Apache-2.0 */
/* Reading small kernel files (/proc, /sys) whole into a caller buffer with a hard cap, and a
 * tolerant in-place line and field splitter with strict number parsers. Nothing here trusts
 * the content: the callers decide what a malformed line means for their source. */
#include "collect_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read until EOF or until the buffer (minus the NUL) is full. Returns bytes read or -1. */
static ssize_t read_all(int fd, char *buf, size_t room)
{
    size_t got = 0;
    while (got < room) {
        ssize_t r = read(fd, buf + got, room - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* True when fd has at least one more byte: the file did not fit. */
static int has_more(int fd)
{
    char extra;
    ssize_t r;
    do {
        r = read(fd, &extra, 1);
    } while (r < 0 && errno == EINTR);
    return r > 0;
}

int procfile_read(const char *root, const char *rel, char *buf, size_t cap, size_t *len,
                  omega_error_t *err)
{
    char path[PATH_MAX];
    char ebuf[128];
    int fd = -1;
    int rc = 0;

    *len = 0;
    if (cap < 2)
        return omega_error_set(err, OMEGA_E2BIG, "buffer too small for %s", rel);
    buf[0] = '\0';
    if ((size_t)snprintf(path, sizeof(path), "%s%s", root, rel) >= sizeof(path))
        return omega_error_set(err, OMEGA_EIO, "path too long for %s", rel);

    /* /proc files report st_size 0, so the size is only known by reading to EOF. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        return omega_error_set(err, OMEGA_EIO, "cannot open %s: %s", path,
                               strerror_r(saved, ebuf, sizeof(ebuf)));
    }
    ssize_t got = read_all(fd, buf, cap - 1);
    if (got < 0) {
        int saved = errno;
        rc = omega_error_set(err, OMEGA_EIO, "cannot read %s: %s", path,
                             strerror_r(saved, ebuf, sizeof(ebuf)));
        goto out;
    }
    if ((size_t)got == cap - 1 && has_more(fd)) {
        rc = omega_error_set(err, OMEGA_E2BIG, "%s is larger than %zu bytes", path, cap - 1);
        goto out;
    }
    buf[got] = '\0';
    *len = (size_t)got;
out:
    close(fd);
    if (rc != 0)
        buf[0] = '\0';
    return rc;
}

int procfile_pread(int *fd, const char *root, const char *rel, char *buf, size_t cap,
                   size_t *len, omega_error_t *err)
{
    char ebuf[128];
    *len = 0;
    if (cap < 2)
        return omega_error_set(err, OMEGA_E2BIG, "buffer too small for %s", rel);
    buf[0] = '\0';
    for (int attempt = 0; attempt < 2; attempt++) {
        if (*fd < 0) {
            char path[PATH_MAX];
            if (collect_path(path, sizeof(path), root, rel) != 0)
                return omega_error_set(err, OMEGA_EIO, "path too long for %s", rel);
            *fd = open(path, O_RDONLY | O_CLOEXEC);
            if (*fd < 0) {
                int saved = errno;
                return omega_error_set(err, OMEGA_EIO, "cannot open %s: %s", path,
                                       strerror_r(saved, ebuf, sizeof(ebuf)));
            }
        }
        /* Reading from offset 0 makes the kernel generate the file afresh. */
        size_t got = 0;
        ssize_t r = 1;
        while (got < cap - 1 && r > 0) {
            r = pread(*fd, buf + got, cap - 1 - got, (off_t)got);
            if (r < 0 && errno == EINTR)
                r = 1;
            else if (r > 0)
                got += (size_t)r;
        }
        if (r < 0 && errno == EINVAL) /* sysfs: no value now (carrier of a down link) */
            return omega_error_set(err, OMEGA_EIO, "cannot read %s%s: %s", root, rel,
                                   strerror_r(EINVAL, ebuf, sizeof(ebuf)));
        if (r < 0) { /* a descriptor gone stale: reopen once */
            int saved = errno;
            close(*fd);
            *fd = -1;
            if (attempt == 0)
                continue;
            return omega_error_set(err, OMEGA_EIO, "cannot read %s%s: %s", root, rel,
                                   strerror_r(saved, ebuf, sizeof(ebuf)));
        }
        char extra;
        if (got == cap - 1 && pread(*fd, &extra, 1, (off_t)got) > 0)
            return omega_error_set(err, OMEGA_E2BIG, "%s%s is larger than %zu bytes", root, rel,
                                   cap - 1);
        buf[got] = '\0';
        *len = got;
        return 0;
    }
    return OMEGA_EIO; /* not reached: the second attempt returns */
}

void procfile_lines_init(procfile_lines_t *it, char *buf, size_t len)
{
    it->p = buf;
    it->end = buf + len;
    it->line = 0;
}

char *procfile_next_line(procfile_lines_t *it)
{
    if (it->p >= it->end)
        return NULL;
    char *start = it->p;
    char *nl = memchr(start, '\n', (size_t)(it->end - start));
    if (nl) {
        *nl = '\0';
        it->p = nl + 1;
    } else {
        /* Last line without a newline: the buffer's NUL (procfile_read) terminates it. */
        it->p = it->end;
    }
    it->line++;
    return start;
}

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

size_t procfile_split(char *line, char **fields, size_t max)
{
    /* Stops after max fields: the tail of a long line (the "intr" line) is never scanned. */
    size_t n = 0;
    char *p = line;
    while (n < max) {
        while (is_blank(*p))
            p++;
        if (*p == '\0')
            break;
        fields[n++] = p;
        while (*p != '\0' && !is_blank(*p))
            p++;
        if (*p == '\0')
            break;
        *p++ = '\0';
    }
    return n;
}

int procfile_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || *s == '\0')
        return OMEGA_EINVAL;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return OMEGA_EINVAL;
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return OMEGA_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int procfile_parse_udouble(const char *s, double *out)
{
    /* strtod would also take "inf", "nan", hex floats and leading blanks: allow only
     * digits with at most one '.', which is all the kernel prints. */
    int dots = 0, digits = 0;
    if (!s || *s == '\0')
        return OMEGA_EINVAL;
    for (const char *p = s; *p; p++) {
        if (*p == '.')
            dots++;
        else if (*p >= '0' && *p <= '9')
            digits++;
        else
            return OMEGA_EINVAL;
    }
    if (dots > 1 || digits == 0)
        return OMEGA_EINVAL;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || !end || *end != '\0' || !isfinite(v) || v < 0)
        return OMEGA_EINVAL;
    *out = v;
    return 0;
}

int collect_path(char *out, size_t cap, const char *root, const char *rel)
{
    int n = snprintf(out, cap, "%s%s", root, rel);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int procfile_read_i64(const char *root, const char *rel, int64_t *out)
{
    char buf[64];
    size_t len = 0;
    if (procfile_read(root, rel, buf, sizeof(buf), &len, NULL) != 0)
        return OMEGA_EIO;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    int neg = buf[0] == '-';
    uint64_t v;
    if (procfile_parse_u64(buf + neg, &v) != 0 || v > (uint64_t)INT64_MAX)
        return OMEGA_EINVAL;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

int counter_delta(uint64_t prev, uint64_t cur, uint64_t *d)
{
    if (cur >= prev) {
        *d = cur - prev;
        return 0;
    }
    if (prev > (uint64_t)UINT32_MAX / 2 && prev <= UINT32_MAX && cur <= UINT32_MAX) {
        *d = cur + ((uint64_t)UINT32_MAX - prev) + 1;
        return 0;
    }
    return -1;
}

/* Hand each complete line in buf[0..*have) to fn; keep an unfinished tail at the front.
 * Returns the first callback error, or 0. */
static int feed_lines(char *buf, size_t *have, int last, procfile_line_fn fn, void *ctx)
{
    int rc = 0;
    char *p = buf, *end = buf + *have;
    for (;;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl && !(last && p < end))
            break;
        if (nl)
            *nl = '\0';
        else
            *end = '\0';
        int r = fn(ctx, p);
        if (r != 0 && rc == 0)
            rc = r;
        p = nl ? nl + 1 : end;
    }
    *have = (size_t)(end - p);
    memmove(buf, p, *have);
    return rc;
}

int procfile_each_line(const char *root, const char *rel, char *buf, size_t cap,
                       procfile_line_fn fn, void *ctx, omega_error_t *err)
{
    char path[PATH_MAX], ebuf[128];
    size_t have = 0;
    int rc = 0;
    if (collect_path(path, sizeof(path), root, rel) != 0)
        return omega_error_set(err, OMEGA_EIO, "path too long for %s", rel);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        return omega_error_set(err, OMEGA_EIO, "cannot open %s: %s", path,
                               strerror_r(saved, ebuf, sizeof(ebuf)));
    }
    for (;;) {
        if (have >= cap - 1) {
            rc = omega_error_set(err, OMEGA_E2BIG, "%s has a line over %zu bytes", path, cap);
            break;
        }
        ssize_t r = read_all(fd, buf + have, cap - 1 - have);
        if (r < 0) {
            int saved = errno;
            rc = omega_error_set(err, OMEGA_EIO, "cannot read %s: %s", path,
                                 strerror_r(saved, ebuf, sizeof(ebuf)));
            break;
        }
        have += (size_t)r;
        int last = r == 0 || have < cap - 1;
        int frc = feed_lines(buf, &have, last, fn, ctx);
        if (frc != 0 && rc == 0)
            rc = omega_error_set(err, frc, "%s: malformed line", path);
        if (last)
            break;
    }
    close(fd);
    return rc;
}
