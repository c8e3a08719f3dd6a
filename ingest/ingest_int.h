/* SPDX-License-Identifier: Apache-2.0 */
/* Private helpers of the ingest module: the batch's string arena and point appends that
 * every parser shares, and name sanitising for the line-protocol mapping. */
#ifndef OMEGA_INGEST_INT_H
#define OMEGA_INGEST_INT_H

#include "omega/ingest.h"

/* Copy n bytes of s into the batch's arena (NUL-terminated); stable until destroy. */
char *batch_strdup(omega_ingest_batch_t *b, const char *s, size_t n);

/* Label storage: labels of a point are a contiguous run; several points (the fields of one
 * line) may share one run. batch_labels_mark() returns the start of the next run. */
size_t batch_labels_mark(const omega_ingest_batch_t *b);
void batch_label_add(omega_ingest_batch_t *b, const char *name, const char *value);
/* The labels from mark on (borrowed until the next label is added). */
const omega_label_t *batch_labels_at(const omega_ingest_batch_t *b, size_t mark);
/* Drop labels added after mark (a line that failed). */
void batch_labels_reset(omega_ingest_batch_t *b, size_t mark);

/* Append one point whose labels are the run [label_off, label_off + n_labels). */
void batch_point_add(omega_ingest_batch_t *b, const char *name, size_t label_off, size_t n_labels,
                     int64_t ts_ms, double value, size_t origin);
size_t batch_npoints(const omega_ingest_batch_t *b);

/* Write a printable, truncated excerpt of s[0..n) for error messages into buf. */
const char *ingest_excerpt(const char *s, size_t n, char *buf, size_t len);

#endif
