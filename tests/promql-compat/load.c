/* SPDX-License-Identifier: Apache-2.0 */
/* Loader of the PromQL compatibility suite: writes "name<TAB>k=v,k=v<TAB>ms<TAB>value"
 * lines (labels "-" for none) into an omega store directory through the storage API, while
 * no server runs on it. Usage: promql_compat_load <data_dir> <file.tsv> */
#include "omega/tsdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH      2000
#define MAX_LABELS 16

typedef struct row {
    char line[1024];                  /* the line, cut in place */
    omega_label_t labels[MAX_LABELS]; /* pointers into line */
} row_t;

static int parse_row(row_t *r, omega_point_t *p)
{
    char *save = NULL;
    char *name = strtok_r(r->line, "\t", &save), *labels = strtok_r(NULL, "\t", &save);
    char *ts = strtok_r(NULL, "\t", &save), *val = strtok_r(NULL, "\t\n", &save);
    if (!name || !labels || !ts || !val)
        return -1;
    p->name = name;
    p->labels = r->labels;
    p->n_labels = 0;
    p->ts_ms = strtoll(ts, NULL, 10);
    p->value = strtod(val, NULL);
    if (strcmp(labels, "-") == 0)
        return 0;
    char *ls = NULL;
    for (char *kv = strtok_r(labels, ",", &ls); kv; kv = strtok_r(NULL, ",", &ls)) {
        char *eq = strchr(kv, '=');
        if (!eq || p->n_labels >= MAX_LABELS)
            return -1;
        *eq = '\0';
        r->labels[p->n_labels].name = kv;
        r->labels[p->n_labels++].value = eq + 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <data_dir> <file.tsv>\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[2], "r");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    omega_tsdb_options_t o;
    omega_tsdb_options_init(&o);
    o.data_dir = argv[1];
    o.sync_writes = 0;
    o.out_of_order_window_ms = 0;
    omega_error_t err;
    omega_tsdb_t *db = omega_tsdb_open(&o, &err);
    if (!db) {
        fprintf(stderr, "open %s: %s\n", argv[1], err.message);
        fclose(f);
        return 1;
    }
    row_t *rows = calloc(BATCH, sizeof(row_t));
    omega_point_t *pts = calloc(BATCH, sizeof(omega_point_t));
    size_t n = 0, total = 0, lineno = 0;
    int rc = 0;
    for (;;) {
        int eof = !fgets(rows[n].line, sizeof(rows[n].line), f);
        if (!eof) {
            lineno++;
            if (parse_row(&rows[n], &pts[n]) != 0) {
                fprintf(stderr, "%s:%zu: bad line\n", argv[2], lineno);
                rc = 1;
                break;
            }
            n++;
        }
        if (n == BATCH || (eof && n)) {
            if (omega_tsdb_write(db, pts, n, &err) != 0) {
                fprintf(stderr, "write: %s\n", err.message);
                rc = 1;
                break;
            }
            total += n;
            n = 0;
        }
        if (eof)
            break;
    }
    fclose(f);
    free(rows);
    free(pts);
    omega_tsdb_close(db);
    if (rc == 0)
        printf("loaded %zu samples\n", total);
    return rc;
}
