/* SPDX-License-Identifier: Apache-2.0 */
/* Raw-socket HTTP/1.1 and WebSocket (RFC 6455) test client, and the server launcher. */
#include "httpc.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read into *buf (grown) until pred says done, EOF or timeout. */
static ssize_t read_some(int fd, char **buf, size_t *len, size_t *cap, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, timeout_ms) <= 0)
        return -1;
    if (*len + 4096 + 1 > *cap) {
        *cap = (*cap + 4096) * 2;
        *buf = realloc(*buf, *cap);
    }
    ssize_t r = recv(fd, *buf + *len, *cap - *len - 1, 0);
    if (r > 0) {
        *len += (size_t)r;
        (*buf)[*len] = '\0';
    }
    return r;
}

static int parse_response(char *buf, size_t len, httpc_resp_t *out, size_t *consumed)
{
    char *end = strstr(buf, "\r\n\r\n");
    if (!end)
        return 0;
    size_t hlen = (size_t)(end - buf) + 4;
    char *cl = NULL;
    /* Lower-case header names only (values keep their case). */
    int in_name = 0;
    for (char *p = buf; p < end; p++) {
        if (*p == '\n')
            in_name = 1;
        else if (*p == ':')
            in_name = 0;
        else if (in_name)
            *p = (char)tolower((unsigned char)*p);
    }
    cl = strstr(buf, "\r\ncontent-length:");
    size_t blen = cl ? strtoul(cl + 17, NULL, 10) : 0;
    if (len < hlen + blen)
        return 0;
    out->status = atoi(buf + 9);
    out->headers = strndup(buf, hlen);
    out->body = malloc(blen + 1);
    memcpy(out->body, buf + hlen, blen);
    out->body[blen] = '\0';
    out->body_len = blen;
    *consumed = hlen + blen;
    return 1;
}

int httpc_raw(int port, const char *raw, size_t n, httpc_resp_t *out)
{
    memset(out, 0, sizeof(*out));
    int fd = dial(port);
    if (fd < 0)
        return -1;
    if (send_all(fd, raw, n) != 0) {
        /* The server may answer early and stop reading: still try to read its answer. */
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, used;
    int ok = 0;
    for (int i = 0; i < 1000 && !ok; i++) {
        if (read_some(fd, &buf, &len, &cap, 10000) <= 0)
            break;
        ok = parse_response(buf, len, out, &used);
    }
    free(buf);
    close(fd);
    return ok ? 0 : -1;
}

int httpc_raw_until_close(int port, const char *raw, size_t n, char **out)
{
    *out = NULL;
    int fd = dial(port);
    if (fd < 0)
        return -1;
    send_all(fd, raw, n); /* the server may answer early and stop reading */
    char *buf = calloc(1, 1);
    size_t len = 0, cap = 1;
    while (read_some(fd, &buf, &len, &cap, 5000) > 0)
        ;
    close(fd);
    *out = buf;
    return 0;
}

int httpc_request(int port, const char *method, const char *path, const char *extra_headers,
                  const char *body, size_t body_len, httpc_resp_t *out)
{
    size_t cap = strlen(path) + (extra_headers ? strlen(extra_headers) : 0) + body_len + 256;
    char *req = malloc(cap);
    int n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s", method, path, port,
                     extra_headers ? extra_headers : "");
    if (body)
        n += snprintf(req + n, cap - (size_t)n, "Content-Length: %zu\r\n", body_len);
    n += snprintf(req + n, cap - (size_t)n, "\r\n");
    if (body) {
        memcpy(req + n, body, body_len);
        n += (int)body_len;
    }
    int rc = httpc_raw(port, req, (size_t)n, out);
    free(req);
    return rc;
}

void httpc_resp_free(httpc_resp_t *r)
{
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

const char *httpc_header(const httpc_resp_t *r, const char *name, char *buf, size_t len)
{
    char key[128];
    snprintf(key, sizeof(key), "\r\n%s:", name);
    const char *p = r->headers ? strstr(r->headers, key) : NULL;
    if (!p)
        return NULL;
    p += strlen(key);
    while (*p == ' ')
        p++;
    const char *e = strstr(p, "\r\n");
    snprintf(buf, len, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
    return buf;
}

char *httpc_urlencode(const char *s, char *out, size_t len)
{
    size_t o = 0;
    for (; *s && o + 4 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '_' || c == '-' || c == '.')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, len - o, "%%%02X", c);
    }
    if (len)
        out[o] = '\0';
    return out;
}

int wsc_connect(wsc_t *c, int port, const char *path, const char *subprotocol)
{
    memset(c, 0, sizeof(*c));
    c->fd = dial(port);
    if (c->fd < 0)
        return -1;
    char req[4096];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
                     path, port, subprotocol);
    if (send_all(c->fd, req, (size_t)n) != 0)
        return -1;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char *end = NULL;
    while (!end) {
        if (read_some(c->fd, &buf, &len, &cap, 10000) <= 0) {
            free(buf);
            return -1;
        }
        end = strstr(buf, "\r\n\r\n");
    }
    int status = atoi(buf + 9);
    size_t hlen = (size_t)(end - buf) + 4;
    c->npending = len - hlen;
    c->pending = malloc(c->npending + 1);
    memcpy(c->pending, buf + hlen, c->npending);
    free(buf);
    return status;
}

static int send_frame(wsc_t *c, int opcode, const char *p, size_t n)
{
    unsigned char hdr[14];
    size_t h = 0;
    hdr[h++] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        hdr[h++] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(n >> 8);
        hdr[h++] = (unsigned char)n;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    memcpy(hdr + h, mask, 4);
    h += 4;
    char *buf = malloc(h + n);
    memcpy(buf, hdr, h);
    for (size_t i = 0; i < n; i++)
        buf[h + i] = (char)(p[i] ^ mask[i % 4]);
    int rc = send_all(c->fd, buf, h + n);
    free(buf);
    return rc;
}

int wsc_send_text(wsc_t *c, const char *text)
{
    return send_frame(c, 1, text, strlen(text));
}

/* Ensure n bytes are pending, reading with the deadline. */
static int need(wsc_t *c, size_t n, int64_t deadline_ms)
{
    while (c->npending < n) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        if (now >= deadline_ms)
            return -1;
        size_t cap = c->npending + 4096 + 1;
        c->pending = realloc(c->pending, cap);
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)(deadline_ms - now)) <= 0)
            return -1;
        ssize_t r = recv(c->fd, c->pending + c->npending, 4096, 0);
        if (r <= 0) {
            c->eof = 1;
            return -1;
        }
        c->npending += (size_t)r;
    }
    return 0;
}

int wsc_recv(wsc_t *c, int timeout_ms, char **payload, size_t *len, int *close_code)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t deadline = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + timeout_ms;
    for (;;) {
        if (need(c, 2, deadline) != 0)
            return -1;
        unsigned char *p = (unsigned char *)c->pending;
        int opcode = p[0] & 0x0f;
        uint64_t n = p[1] & 0x7f;
        size_t h = 2;
        if (n == 126) {
            if (need(c, 4, deadline) != 0)
                return -1;
            p = (unsigned char *)c->pending;
            n = ((uint64_t)p[2] << 8) | p[3];
            h = 4;
        } else if (n == 127) {
            if (need(c, 10, deadline) != 0)
                return -1;
            p = (unsigned char *)c->pending;
            n = 0;
            for (int i = 0; i < 8; i++)
                n = (n << 8) | p[2 + i];
            h = 10;
        }
        if (need(c, h + n, deadline) != 0)
            return -1;
        char *out = malloc(n + 1);
        memcpy(out, c->pending + h, n);
        out[n] = '\0';
        memmove(c->pending, c->pending + h + n, c->npending - h - n);
        c->npending -= h + n;
        if (opcode == 9) { /* ping */
            c->pings++;
            if (!c->no_pong)
                send_frame(c, 10, out, n);
            free(out);
            continue;
        }
        if (opcode == 8 && close_code)
            *close_code = n >= 2 ? (((unsigned char)out[0] << 8) | (unsigned char)out[1]) : 1005;
        *payload = out;
        if (len)
            *len = n;
        return opcode;
    }
}

void wsc_close(wsc_t *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->pending);
    c->pending = NULL;
    c->npending = 0;
}

pid_t server_start(int port, const char *data_dir, const char *log_path, char *const extra_env[])
{
    char bin[1024];
    testutil_build_path("omega-monitor", bin, sizeof(bin));
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char listen[64];
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
        setenv("OMEGA_SERVER_LISTEN", listen, 1);
        setenv("OMEGA_SERVER_DATA_DIR", data_dir, 1);
        for (int i = 0; extra_env && extra_env[i]; i++)
            putenv(extra_env[i]);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(bin, bin, "serve", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300; i++) {
        httpc_resp_t r;
        if (httpc_request(port, "GET", "/healthz", NULL, NULL, 0, &r) == 0 && r.status == 200) {
            httpc_resp_free(&r);
            return pid;
        }
        httpc_resp_free(&r);
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return -1;
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

int server_stop(pid_t pid)
{
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 300; i++) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return 128 + SIGKILL;
}
