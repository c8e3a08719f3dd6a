/* SPDX-License-Identifier: Apache-2.0 */
/* The test HTTP receiver: accept, read one request (Content-Length framed), record it,
 * answer as scripted, close. Serves one connection at a time on its own thread; every wait
 * is bounded and checks the stop flag. */
#include "httpd.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQ (1 << 20) /* bytes of one request we accept */

struct test_httpd {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int stop;
    int script[32];
    size_t n_script, script_pos;
    int delay_ms, huge;
    httpd_req_t *reqs;
    size_t n_reqs;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stopping(test_httpd_t *h)
{
    pthread_mutex_lock(&h->mu);
    int s = h->stop;
    pthread_mutex_unlock(&h->mu);
    return s;
}

/* Read until the headers and Content-Length bytes of body arrived (or 5 s pass). */
static char *read_request(test_httpd_t *h, int c, size_t *len, size_t *hdr_end)
{
    char *buf = malloc(MAX_REQ + 1);
    size_t n = 0, want = 0;
    int64_t deadline = now_ms() + 5000;
    *hdr_end = 0;
    while (n < MAX_REQ && now_ms() < deadline && !stopping(h)) {
        struct pollfd p = {c, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = recv(c, buf + n, MAX_REQ - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
        if (!*hdr_end) {
            char *e = strstr(buf, "\r\n\r\n");
            if (!e)
                continue;
            *hdr_end = (size_t)(e - buf) + 4;
            char *q = strstr(buf, "\r\n"); /* header names lower-cased, request line kept */
            for (; q && q < e; q++)
                *q = (char)tolower((unsigned char)*q);
            char *cl = strstr(buf, "\r\ncontent-length:");
            want = *hdr_end + (cl ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if (*hdr_end && n >= want)
            break;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void record(test_httpd_t *h, const char *buf, size_t len, size_t hdr_end)
{
    httpd_req_t r;
    memset(&r, 0, sizeof(r));
    sscanf(buf, "%15s %2047s", r.method, r.target);
    for (char *m = r.method; *m; m++)
        *m = (char)toupper((unsigned char)*m);
    const char *eol = strstr(buf, "\r\n");
    size_t hs = eol ? (size_t)(eol - buf) + 2 : 0;
    size_t he = hdr_end >= hs ? hdr_end : hs;
    r.headers = strndup(buf + hs, he - hs);
    r.body_len = len - he;
    r.body = malloc(r.body_len + 1);
    memcpy(r.body, buf + he, r.body_len);
    r.body[r.body_len] = '\0';
    pthread_mutex_lock(&h->mu);
    h->reqs = realloc(h->reqs, (h->n_reqs + 1) * sizeof(*h->reqs));
    h->reqs[h->n_reqs++] = r;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->mu);
}

static void answer(test_httpd_t *h, int c)
{
    pthread_mutex_lock(&h->mu);
    int status = h->script_pos < h->n_script ? h->script[h->script_pos++] : 200;
    int delay = h->delay_ms, huge = h->huge;
    pthread_mutex_unlock(&h->mu);
    for (int64_t until = now_ms() + delay; now_ms() < until && !stopping(h);)
        usleep(10000);
    char head[160];
    if (huge) {
        snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: 10737418240\r\n\r\n");
        send(c, head, strlen(head), MSG_NOSIGNAL);
        static char chunk[16384];
        /* Bounded: 64 MiB at most, normally the client hangs up after its limit. */
        for (int i = 0; i < 4096 && !stopping(h); i++)
            if (send(c, chunk, sizeof(chunk), MSG_NOSIGNAL) <= 0)
                break;
        return;
    }
    snprintf(head, sizeof(head),
             "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", status);
    send(c, head, strlen(head), MSG_NOSIGNAL);
}

static void *serve(void *arg)
{
    test_httpd_t *h = arg;
    while (!stopping(h)) {
        struct pollfd p = {h->fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int c = accept(h->fd, NULL, NULL);
        if (c < 0)
            continue;
        size_t len, hdr_end;
        char *buf = read_request(h, c, &len, &hdr_end);
        if (hdr_end) {
            record(h, buf, len, hdr_end);
            answer(h, c);
        }
        free(buf);
        close(c);
    }
    return NULL;
}

test_httpd_t *test_httpd_start(void)
{
    test_httpd_t *h = calloc(1, sizeof(*h));
    h->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (bind(h->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(h->fd, 16) != 0 ||
        getsockname(h->fd, (struct sockaddr *)&a, &al) != 0) {
        close(h->fd);
        free(h);
        return NULL;
    }
    h->port = ntohs(a.sin_port);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cond, NULL);
    pthread_create(&h->thread, NULL, serve, h);
    return h;
}

int test_httpd_port(const test_httpd_t *h)
{
    return h->port;
}

void test_httpd_script(test_httpd_t *h, const int *statuses, size_t n)
{
    pthread_mutex_lock(&h->mu);
    h->n_script = n < 32 ? n : 32;
    memcpy(h->script, statuses, h->n_script * sizeof(int));
    h->script_pos = 0;
    pthread_mutex_unlock(&h->mu);
}

void test_httpd_set_delay(test_httpd_t *h, int delay_ms)
{
    pthread_mutex_lock(&h->mu);
    h->delay_ms = delay_ms;
    pthread_mutex_unlock(&h->mu);
}

void test_httpd_set_huge_body(test_httpd_t *h, int on)
{
    pthread_mutex_lock(&h->mu);
    h->huge = on;
    pthread_mutex_unlock(&h->mu);
}

size_t test_httpd_count(test_httpd_t *h)
{
    pthread_mutex_lock(&h->mu);
    size_t n = h->n_reqs;
    pthread_mutex_unlock(&h->mu);
    return n;
}

size_t test_httpd_wait(test_httpd_t *h, size_t n, int timeout_ms)
{
    int64_t until = now_ms() + timeout_ms;
    size_t have;
    while ((have = test_httpd_count(h)) < n && now_ms() < until)
        usleep(10000);
    return have;
}

int test_httpd_get(test_httpd_t *h, size_t i, httpd_req_t *out)
{
    pthread_mutex_lock(&h->mu);
    int rc = -1;
    if (i < h->n_reqs) {
        *out = h->reqs[i];
        out->headers = strdup(h->reqs[i].headers);
        out->body = malloc(h->reqs[i].body_len + 1);
        memcpy(out->body, h->reqs[i].body, h->reqs[i].body_len + 1);
        rc = 0;
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

void httpd_req_free(httpd_req_t *r)
{
    free(r->headers);
    free(r->body);
    r->headers = r->body = NULL;
}

const char *httpd_req_header(const httpd_req_t *r, const char *name, char *buf, size_t len)
{
    size_t n = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - p) > n && strncmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(buf, len, "%.*s", (int)(eol - v), v);
            return buf;
        }
        p = eol + 2;
    }
    return NULL;
}

void test_httpd_stop(test_httpd_t *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stop = 1;
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    close(h->fd);
    for (size_t i = 0; i < h->n_reqs; i++)
        httpd_req_free(&h->reqs[i]);
    free(h->reqs);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cond);
    free(h);
}
