/* SPDX-License-Identifier: Apache-2.0 */
/* The test SMTP listener: a line-oriented state machine per connection (RFC 5321 subset),
 * every read bounded by a deadline and the stop flag. */
#include "smtpd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 4096
#define DATA_MAX (1 << 20)

struct test_smtpd {
    int fd, port, reject;
    pthread_t thread;
    pthread_mutex_t mu;
    int stop;
    smtpd_msg_t *msgs;
    size_t n_msgs;
};

typedef struct conn {
    test_smtpd_t *s;
    int fd;
    char buf[8192];
    size_t n;
} conn_t;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stopping(test_smtpd_t *s)
{
    pthread_mutex_lock(&s->mu);
    int v = s->stop;
    pthread_mutex_unlock(&s->mu);
    return v;
}

static void say(conn_t *c, const char *text)
{
    send(c->fd, text, strlen(text), MSG_NOSIGNAL);
}

/* One line without CRLF into line; -1 on EOF, timeout (5 s) or stop. */
static int read_line(conn_t *c, char *line, size_t len)
{
    int64_t deadline = now_ms() + 5000;
    for (;;) {
        char *eol = memchr(c->buf, '\n', c->n);
        if (eol) {
            size_t n = (size_t)(eol - c->buf) + 1;
            size_t copy = n - 1 < len - 1 ? n - 1 : len - 1;
            memcpy(line, c->buf, copy);
            line[copy] = '\0';
            if (copy && line[copy - 1] == '\r')
                line[copy - 1] = '\0';
            memmove(c->buf, c->buf + n, c->n - n);
            c->n -= n;
            return 0;
        }
        if (c->n == sizeof(c->buf) || now_ms() > deadline || stopping(c->s))
            return -1;
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = recv(c->fd, c->buf + c->n, sizeof(c->buf) - c->n, 0);
        if (r <= 0)
            return -1;
        c->n += (size_t)r;
    }
}

static int read_data(conn_t *c, smtpd_msg_t *m)
{
    size_t cap = 4096, n = 0;
    m->data = malloc(cap);
    char line[LINE_MAX_LEN];
    while (read_line(c, line, sizeof(line)) == 0) {
        if (strcmp(line, ".") == 0) {
            m->data[n] = '\0';
            return 0;
        }
        const char *l = line[0] == '.' ? line + 1 : line;
        size_t ll = strlen(l);
        if (n + ll + 3 > DATA_MAX)
            break;
        while (n + ll + 3 > cap)
            m->data = realloc(m->data, cap *= 2);
        memcpy(m->data + n, l, ll);
        n += ll;
        m->data[n++] = '\n';
    }
    free(m->data);
    m->data = NULL;
    return -1;
}

static void session(test_smtpd_t *s, int fd)
{
    conn_t c = {.s = s, .fd = fd};
    smtpd_msg_t m;
    memset(&m, 0, sizeof(m));
    char line[LINE_MAX_LEN];
    say(&c, "220 localhost ESMTP omega-test\r\n");
    while (read_line(&c, line, sizeof(line)) == 0) {
        if (!strncasecmp(line, "EHLO", 4)) {
            say(&c, "250-localhost\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n");
        } else if (!strncasecmp(line, "HELO", 4) || !strncasecmp(line, "NOOP", 4)) {
            say(&c, "250 OK\r\n");
        } else if (!strncasecmp(line, "AUTH ", 5)) {
            snprintf(m.auth, sizeof(m.auth), "%.*s", (int)sizeof(m.auth) - 1, line + 5);
            if (!strchr(line + 5, ' ')) { /* no initial response: ask for it */
                say(&c, "334 \r\n");
                size_t l = strlen(m.auth);
                if (read_line(&c, m.auth + l + 1, sizeof(m.auth) - l - 1) != 0)
                    break;
                m.auth[l] = ' ';
            }
            say(&c, "235 2.7.0 Authentication successful\r\n");
        } else if (!strncasecmp(line, "MAIL FROM:", 10)) {
            snprintf(m.from, sizeof(m.from), "%.*s", (int)sizeof(m.from) - 1, line + 10);
            m.rcpt[0] = '\0';
            say(&c, "250 OK\r\n");
        } else if (!strncasecmp(line, "RCPT TO:", 8)) {
            if (s->reject) {
                say(&c, "550 5.1.1 no such user\r\n");
                continue;
            }
            size_t l = strlen(m.rcpt);
            snprintf(m.rcpt + l, sizeof(m.rcpt) - l, "%s%s", l ? "," : "", line + 8);
            say(&c, "250 OK\r\n");
        } else if (!strncasecmp(line, "DATA", 4)) {
            say(&c, "354 end with <CRLF>.<CRLF>\r\n");
            if (read_data(&c, &m) != 0)
                break;
            pthread_mutex_lock(&s->mu);
            s->msgs = realloc(s->msgs, (s->n_msgs + 1) * sizeof(*s->msgs));
            s->msgs[s->n_msgs++] = m;
            pthread_mutex_unlock(&s->mu);
            m.data = NULL;
            say(&c, "250 OK queued\r\n");
        } else if (!strncasecmp(line, "RSET", 4)) {
            say(&c, "250 OK\r\n");
        } else if (!strncasecmp(line, "QUIT", 4)) {
            say(&c, "221 bye\r\n");
            break;
        } else {
            say(&c, "502 command not implemented\r\n");
        }
    }
    free(m.data);
}

static void *serve(void *arg)
{
    test_smtpd_t *s = arg;
    while (!stopping(s)) {
        struct pollfd p = {s->fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        session(s, c);
        close(c);
    }
    return NULL;
}

test_smtpd_t *test_smtpd_start(int reject_rcpt)
{
    test_smtpd_t *s = calloc(1, sizeof(*s));
    s->reject = reject_rcpt;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->fd, 16) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &al) != 0) {
        close(s->fd);
        free(s);
        return NULL;
    }
    s->port = ntohs(a.sin_port);
    pthread_mutex_init(&s->mu, NULL);
    pthread_create(&s->thread, NULL, serve, s);
    return s;
}

int test_smtpd_port(const test_smtpd_t *s)
{
    return s->port;
}

size_t test_smtpd_wait(test_smtpd_t *s, size_t n, int timeout_ms)
{
    int64_t until = now_ms() + timeout_ms;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        size_t have = s->n_msgs;
        pthread_mutex_unlock(&s->mu);
        if (have >= n || now_ms() >= until)
            return have;
        usleep(10000);
    }
}

int test_smtpd_get(test_smtpd_t *s, size_t i, smtpd_msg_t *out)
{
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    if (i < s->n_msgs) {
        *out = s->msgs[i];
        out->data = strdup(s->msgs[i].data);
        rc = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void smtpd_msg_free(smtpd_msg_t *m)
{
    free(m->data);
    m->data = NULL;
}

void test_smtpd_stop(test_smtpd_t *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    close(s->fd);
    for (size_t i = 0; i < s->n_msgs; i++)
        free(s->msgs[i].data);
    free(s->msgs);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
