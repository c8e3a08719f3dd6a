/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the line-protocol parser (ingest/lineproto.c). The first byte picks
 * the precision and a split point; the rest is parsed in one piece and again in two pieces,
 * which must agree exactly; every point must carry valid names and every error a line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "omega/ingest.h"

static int parse(const char *d, size_t n, size_t split, omega_lp_precision_t prec,
                 omega_ingest_batch_t *b, omega_error_t *err)
{
    omega_ingest_limits_t lim;
    omega_ingest_limits_init(&lim);
    lim.max_line_bytes = 4096; /* small limits reach the limit paths */
    lim.max_points = 1000;
    lim.max_labels = 8;
    omega_lp_parser_t *p = omega_lp_parser_create(b, prec, 1700000000000, &lim);
    int rc = omega_lp_parser_feed(p, d, split, err);
    if (rc == 0)
        rc = omega_lp_parser_feed(p, d + split, n - split, err);
    if (rc == 0)
        rc = omega_lp_parser_finish(p, err);
    omega_lp_parser_destroy(p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    omega_lp_precision_t prec = (omega_lp_precision_t)(data[0] & 3);
    const char *d = (const char *)data + 1;
    size_t n = size - 1, split = n ? (size_t)(data[0] >> 2) % (n + 1) : 0;
    omega_ingest_batch_t *a = omega_ingest_batch_create(), *b = omega_ingest_batch_create();
    omega_error_t ea, eb;
    omega_error_clear(&ea);
    omega_error_clear(&eb);
    int ra = parse(d, n, n, prec, a, &ea);
    int rb = parse(d, n, split, prec, b, &eb);
    if (ra != rb || strcmp(ea.message, eb.message) != 0)
        abort();
    if (ra != 0 && strncmp(ea.message, "line ", 5) != 0)
        abort();
    size_t na, nb;
    const omega_point_t *pa = omega_ingest_batch_points(a, &na);
    const omega_point_t *pb = omega_ingest_batch_points(b, &nb);
    if (na != nb)
        abort();
    for (size_t i = 0; i < na; i++) {
        if (!omega_metric_name_valid(pa[i].name) || strcmp(pa[i].name, pb[i].name) ||
            pa[i].ts_ms != pb[i].ts_ms || pa[i].n_labels != pb[i].n_labels)
            abort();
        for (size_t k = 0; k < pa[i].n_labels; k++)
            if (!omega_label_name_valid(pa[i].labels[k].name) ||
                !omega_utf8_valid(pa[i].labels[k].value, strlen(pa[i].labels[k].value)))
                abort();
    }
    omega_ingest_batch_destroy(a);
    omega_ingest_batch_destroy(b);
    return 0;
}
