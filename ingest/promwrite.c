/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus remote_write 1.0: a snappy-compressed protobuf WriteRequest. Decoded by hand
 * (four small messages): timeseries (1) -> labels (1: name, value) and samples (1: double
 * value, 2: int64 ms). Exemplars, native histograms and metadata are skipped; staleness
 * markers are dropped (docs/api.md "Prometheus remote_write"). */
#include "ingest_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A bounded reader over one message. */
typedef struct pbuf {
    const unsigned char *p, *end;
} pbuf_t;

/* Prometheus' staleness marker (value.StaleNaN). */
#define STALE_NAN_BITS UINT64_C(0x7ff0000000000002)

static int varint(pbuf_t *b, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64 && b->p < b->end; shift += 7) {
        unsigned char c = *b->p++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* Next field: its number and wire type; for type 2 also its payload as a sub-reader. */
static int field(pbuf_t *b, unsigned *num, unsigned *type, pbuf_t *sub, uint64_t *val)
{
    uint64_t key;
    if (varint(b, &key) != 0 || key >> 3 == 0 || key >> 3 > UINT32_MAX)
        return -1;
    *num = (unsigned)(key >> 3);
    *type = (unsigned)(key & 7);
    switch (*type) {
    case 0:
        return varint(b, val);
    case 1:
        if (b->end - b->p < 8)
            return -1;
        *val = 0;
        for (int i = 7; i >= 0; i--) /* fixed64 is little-endian on the wire */
            *val = (*val << 8) | b->p[i];
        b->p += 8;
        return 0;
    case 2:
        if (varint(b, val) != 0 || *val > (uint64_t)(b->end - b->p))
            return -1;
        sub->p = b->p;
        sub->end = b->p + *val;
        b->p += *val;
        return 0;
    case 5:
        if (b->end - b->p < 4)
            return -1;
        b->p += 4;
        return 0;
    default:
        return -1;
    }
}

typedef struct series_ctx {
    omega_ingest_batch_t *out;
    const omega_ingest_limits_t *lim;
    size_t index;      /* timeseries number, for messages */
    size_t stale;      /* staleness markers dropped */
    omega_error_t *err;
} series_ctx_t;

static int malformed(series_ctx_t *c, const char *what)
{
    return omega_error_set(c->err, OMEGA_EINVAL, "timeseries[%zu]: malformed %s", c->index, what);
}

/* Label message: name (1) and value (2); the name "__name__" becomes *metric. */
static int parse_label(series_ctx_t *c, pbuf_t *b, const char **metric, size_t *n_labels)
{
    const char *s[2] = {"", ""};
    size_t l[2] = {0, 0};
    unsigned num, type;
    pbuf_t sub;
    uint64_t v;
    while (b->p < b->end) {
        if (field(b, &num, &type, &sub, &v) != 0)
            return malformed(c, "label");
        if (type == 2 && (num == 1 || num == 2)) {
            s[num - 1] = (const char *)sub.p;
            l[num - 1] = (size_t)(sub.end - sub.p);
        }
    }
    if (l[0] == 0)
        return omega_error_set(c->err, OMEGA_EINVAL, "timeseries[%zu]: label with an empty name",
                               c->index);
    char *name = batch_strdup(c->out, s[0], l[0]);
    char *value = batch_strdup(c->out, s[1], l[1]);
    if (strlen(name) != l[0] || strlen(value) != l[1])
        return omega_error_set(c->err, OMEGA_EINVAL, "timeseries[%zu]: NUL byte in label %.64s",
                               c->index, name);
    if (strcmp(name, "__name__") == 0) {
        *metric = value;
        return 0;
    }
    if (++*n_labels > c->lim->max_labels)
        return omega_error_set(c->err, OMEGA_EINVAL, "timeseries[%zu]: more than %zu labels",
                               c->index, c->lim->max_labels);
    batch_label_add(c->out, name, value);
    return 0;
}

/* Sample message: value (1, double) and timestamp (2, int64 ms). */
static int parse_sample(series_ctx_t *c, pbuf_t *b, double *value, int64_t *ts)
{
    unsigned num, type;
    pbuf_t sub;
    uint64_t v;
    *value = 0;
    *ts = 0;
    while (b->p < b->end) {
        if (field(b, &num, &type, &sub, &v) != 0)
            return malformed(c, "sample");
        if (num == 1 && type == 1)
            memcpy(value, &v, sizeof(*value));
        else if (num == 2 && type == 0)
            *ts = (int64_t)v;
    }
    return 0;
}

/* One TimeSeries: labels first (any order on the wire), then its samples. */
static int parse_series(series_ctx_t *c, pbuf_t *b)
{
    size_t mark = batch_labels_mark(c->out), n_labels = 0;
    const char *metric = NULL;
    pbuf_t scan = *b, sub;
    unsigned num, type;
    uint64_t v;
    int rc = 0;
    while (rc == 0 && scan.p < scan.end) {
        if (field(&scan, &num, &type, &sub, &v) != 0)
            return malformed(c, "timeseries");
        if (num == 1 && type == 2)
            rc = parse_label(c, &sub, &metric, &n_labels);
    }
    if (rc == 0 && !metric)
        rc = omega_error_set(c->err, OMEGA_EINVAL, "timeseries[%zu]: no __name__ label",
                             c->index);
    for (scan = *b; rc == 0 && scan.p < scan.end;) {
        if (field(&scan, &num, &type, &sub, &v) != 0 || !(num != 2 || type == 2))
            return malformed(c, "timeseries");
        if (num != 2)
            continue;
        double value;
        int64_t ts;
        rc = parse_sample(c, &sub, &value, &ts);
        uint64_t bits;
        memcpy(&bits, &value, sizeof(bits));
        if (rc == 0 && bits == STALE_NAN_BITS) {
            c->stale++;
            continue;
        }
        if (rc == 0 && batch_npoints(c->out) >= c->lim->max_points)
            return omega_error_set(c->err, OMEGA_E2BIG, "more than %zu samples in one request",
                                   c->lim->max_points);
        if (rc == 0)
            batch_point_add(c->out, metric, mark, n_labels, ts, value, c->index);
    }
    if (rc != 0)
        batch_labels_reset(c->out, mark);
    return rc;
}

int omega_promwrite_parse(const void *proto, size_t len, const omega_ingest_limits_t *lim,
                          omega_ingest_batch_t *out, size_t *stale_dropped, omega_error_t *err)
{
    omega_ingest_limits_t defaults;
    if (!lim) {
        omega_ingest_limits_init(&defaults);
        lim = &defaults;
    }
    pbuf_t b = {proto, (const unsigned char *)proto + len}, sub;
    series_ctx_t c = {out, lim, 0, 0, err};
    unsigned num, type;
    uint64_t v;
    int rc = 0;
    while (rc == 0 && b.p < b.end) {
        if (field(&b, &num, &type, &sub, &v) != 0)
            return omega_error_set(err, OMEGA_EINVAL,
                                   "malformed WriteRequest at byte %zu (not protobuf?)",
                                   (size_t)(b.p - (const unsigned char *)proto));
        if (num == 1 && type == 2) {
            rc = parse_series(&c, &sub);
            c.index++;
        }
    }
    if (stale_dropped)
        *stale_dropped = c.stale;
    return rc;
}
