/* SPDX-License-Identifier: Apache-2.0 */
/* Helper for the kill -9 durability test (test_storage_head.c): writes rounds of samples
 * to a store and prints each round number to stdout once omega_tsdb_write acknowledged
 * it, until killed or the round limit is reached.
 *
 *   storage_crash_writer DIR FIRST_ROUND LAST_ROUND [compact]
 *
 * With "compact", a second thread runs full compactions, flushes and rollup passes back to
 * back while the rounds are written, so the kill lands during compaction too.
 *
 * Round r writes, for series k = 0..SERIES-1, the sample (BASE + r * 1000, r * 100 + k)
 * of crash_metric{k="<k>"}, and re-writes round r-1 (same values) every 5th round so
 * duplicates cross chunk boundaries. Chunks are small so seals happen often. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omega/tsdb.h"

#define SERIES 20
#define BASE_MS 1600000000000LL

/* The "compact" mode's thread: compaction, flush and rollups until the process dies. */
static void *compactor(void *arg)
{
    omega_tsdb_t *db = arg;
    for (;;) {
        omega_error_t err;
        omega_tsdb_flush(db, &err);
        omega_tsdb_compact(db, &err);
        omega_tsdb_rollup_run(db, &err);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4 && !(argc == 5 && strcmp(argv[4], "compact") == 0)) {
        fprintf(stderr, "usage: %s DIR FIRST_ROUND LAST_ROUND [compact]\n", argv[0]);
        return 2;
    }
    long first = strtol(argv[2], NULL, 10), last = strtol(argv[3], NULL, 10);
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = argv[1];
    o.raw_retention_ms = 0;
    o.out_of_order_window_ms = 0;
    o.sync_writes = 1;
    o.chunk_max_samples = 16;
    omega_error_t err;
    omega_tsdb_t *db = omega_tsdb_open(&o, &err);
    if (!db) {
        fprintf(stderr, "open: %s\n", err.message);
        return 1;
    }
    pthread_t th;
    if (argc == 5 && pthread_create(&th, NULL, compactor, db) != 0)
        return 1;
    char names[SERIES][8];
    omega_label_t labels[SERIES][1];
    omega_point_t pts[2 * SERIES];
    for (int k = 0; k < SERIES; k++) {
        snprintf(names[k], sizeof(names[k]), "%d", k);
        labels[k][0] = (omega_label_t){"k", names[k]};
    }
    for (long r = first; r <= last; r++) {
        size_t n = 0;
        for (long rr = (r % 5 == 0 && r > first) ? r - 1 : r; rr <= r; rr++)
            for (int k = 0; k < SERIES; k++)
                pts[n++] = (omega_point_t){.name = "crash_metric", .labels = labels[k],
                                           .n_labels = 1, .ts_ms = BASE_MS + rr * 1000,
                                           .value = (double)(rr * 100 + k)};
        if (omega_tsdb_write(db, pts, n, &err) != 0) {
            fprintf(stderr, "write: %s\n", err.message);
            return 1;
        }
        printf("%ld\n", r);
        fflush(stdout);
    }
    omega_tsdb_close(db);
    return 0;
}
