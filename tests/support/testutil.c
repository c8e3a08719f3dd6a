/* SPDX-License-Identifier: Apache-2.0 */
/* Test helpers: temp dirs, fixture and build paths, whole-file I/O, free ports. */
#include "testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

char *testutil_mkdtemp(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof(tmpl), "%s/omega-test-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        abort();
    }
    return strdup(tmpl);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int testutil_rmtree(const char *path)
{
    if (!path)
        return 0;
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *join(const char *env, const char *fallback, const char *rel, char *buf,
                        size_t len)
{
    const char *root = getenv(env);
    snprintf(buf, len, "%s/%s", root && *root ? root : fallback, rel);
    return buf;
}

const char *testutil_source_path(const char *rel, char *buf, size_t len)
{
    return join("OMEGA_SOURCE_DIR", ".", rel, buf, len);
}

const char *testutil_build_path(const char *rel, char *buf, size_t len)
{
    return join("OMEGA_BUILD_DIR", ".", rel, buf, len);
}

static void mkparents(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
}

int testutil_write_file(const char *path, const void *data, size_t len)
{
    mkparents(path);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    int rc = fclose(f);
    return (w == len && rc == 0) ? 0 : -1;
}

char *testutil_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int testutil_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
        perror("free port");
        abort();
    }
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
}

void testutil_base64(const void *in, size_t n, char *out, size_t out_len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = in;
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 <= out_len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    if (out_len)
        out[o < out_len ? o : out_len - 1] = '\0';
}

int testutil_dir_contains(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *de;
    int found = 0;
    size_t nl = strlen(needle);
    while (found == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        struct stat st;
        if (lstat(path, &st) != 0) {
            found = -1;
        } else if (S_ISDIR(st.st_mode)) {
            found = testutil_dir_contains(path, needle);
        } else {
            size_t len = 0;
            char *data = testutil_read_file(path, &len);
            if (!data)
                found = -1;
            for (size_t i = 0; data && found == 0 && len >= nl && i <= len - nl; i++)
                found = memcmp(data + i, needle, nl) == 0;
            free(data);
        }
    }
    closedir(d);
    return found;
}
