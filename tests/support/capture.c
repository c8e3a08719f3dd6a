/* SPDX-License-Identifier: Apache-2.0 */
/* Test helper for collect/: the capturing sink and its lookups (see capture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "capture.h"
#include "testutil.h"

static int emit(void *ctx, const omega_point_t *points, size_t n)
{
    cap_t *c = ctx;
    free(c->pts);
    c->pts = calloc(n ? n : 1, sizeof(*c->pts));
    assert_non_null(c->pts);
    for (size_t i = 0; i < n; i++) {
        cap_pt_t *d = &c->pts[i];
        const omega_point_t *s = &points[i];
        assert_true(strlen(s->name) < sizeof(d->name));
        assert_true(s->n_labels <= CAP_LABELS);
        snprintf(d->name, sizeof(d->name), "%s", s->name);
        d->n_labels = s->n_labels;
        for (size_t j = 0; j < s->n_labels; j++) {
            assert_true(strlen(s->labels[j].value) < sizeof(d->lvalue[j]));
            snprintf(d->lname[j], sizeof(d->lname[j]), "%s", s->labels[j].name);
            snprintf(d->lvalue[j], sizeof(d->lvalue[j]), "%s", s->labels[j].value);
        }
        d->value = s->value;
        d->ts_ms = s->ts_ms;
    }
    c->n = n;
    c->emits++;
    return 0;
}

omega_collect_sink_t cap_sink(cap_t *c)
{
    omega_collect_sink_t s = {emit, c};
    return s;
}

void cap_free(cap_t *c)
{
    free(c->pts);
    c->pts = NULL;
    c->n = 0;
}

int cap_pass(omega_collector_t *col, cap_t *c, int64_t ts)
{
    omega_collect_sink_t s = cap_sink(c);
    cap_free(c);
    return omega_collector_collect(col, ts, &s);
}

static const cap_pt_t *vfind(const cap_t *c, const char *name, va_list ap)
{
    const char *want[2 * CAP_LABELS];
    size_t nw = 0;
    for (const char *s; nw < 2 * CAP_LABELS && (s = va_arg(ap, const char *)) != NULL;)
        want[nw++] = s;
    for (size_t i = 0; i < c->n; i++) {
        const cap_pt_t *p = &c->pts[i];
        if (strcmp(p->name, name) != 0 || p->n_labels * 2 != nw)
            continue;
        size_t hits = 0;
        for (size_t w = 0; w < nw; w += 2)
            for (size_t j = 0; j < p->n_labels; j++)
                if (!strcmp(p->lname[j], want[w]) && !strcmp(p->lvalue[j], want[w + 1]))
                    hits++;
        if (hits * 2 == nw)
            return p;
    }
    return NULL;
}

const cap_pt_t *cap_find(const cap_t *c, const char *name, ...)
{
    va_list ap;
    va_start(ap, name);
    const cap_pt_t *p = vfind(c, name, ap);
    va_end(ap);
    return p;
}

double cap_value(const cap_t *c, const char *name, ...)
{
    va_list ap;
    va_start(ap, name);
    const cap_pt_t *p = vfind(c, name, ap);
    va_end(ap);
    if (!p)
        fail_msg("missing point %s", name);
    return p->value;
}

size_t cap_count(const cap_t *c, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += strcmp(c->pts[i].name, name) == 0;
    return n;
}

omega_collector_t *cap_make(const char *root, unsigned which, const char *const *t, size_t nt)
{
    omega_collect_options_t o;
    omega_error_t err;
    omega_collect_options_init(&o);
    o.root = root;
    o.enable_cpu = !!(which & S_CPU);
    o.enable_memory = !!(which & S_MEM);
    o.enable_vmstat = !!(which & S_VM);
    o.enable_disk = !!(which & S_DISK);
    o.enable_network = !!(which & S_NET);
    o.enable_sensors = !!(which & S_SENS);
    o.enable_processes = !!(which & S_PROC);
    o.enable_self = !!(which & S_SELF);
    o.enable_pressure = !!(which & S_PSI);
    o.probe_targets = t;
    o.n_probe_targets = nt;
    omega_collector_t *c = omega_collector_create(&o, &err);
    if (!c)
        fail_msg("create: %s", err.message);
    return c;
}

const char *cap_fixture(const char *name, char *buf, size_t len)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "tests/fixtures/proc/%.200s", name); /* fixture names are short */
    return testutil_source_path(rel, buf, len);
}

/* Write <root>/<rel> with text. */
void cap_put(const char *root, const char *rel, const char *text)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    assert_int_equal(testutil_write_file(path, text, strlen(text)), 0);
}

/* Copy fixture file <case>/<rel> to <root>/<rel>. */
void cap_put_fixture(const char *root, const char *fcase, const char *rel)
{
    char name[512], path[1024];
    snprintf(name, sizeof(name), "%s/%s", fcase, rel);
    char *text = testutil_read_file(cap_fixture(name, path, sizeof(path)), NULL);
    assert_non_null(text);
    cap_put(root, rel, text);
    free(text);
}

void cap_assert_close(double got, double want)
{
    if (fabs(got - want) > 1e-9 * (fabs(want) > 1 ? fabs(want) : 1))
        fail_msg("got %.12g, want %.12g", got, want);
}

/* A listening socket on 127.0.0.1; *port gets its port. */
int cap_listener(int *port)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}
