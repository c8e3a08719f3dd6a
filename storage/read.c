/* SPDX-License-Identifier: Apache-2.0 */
/* Reading one series' samples for a query: its head copied first, then its chunks, merged
 * with the head winning a shared timestamp (it holds the later write). A reader keeps one
 * raw-CF iterator for every series it reads, renewed when a seal or erase committed since
 * it was made: a seal bumps heads.chunk_epoch after its commit and before it empties the
 * heads (under the stripe lock the head copy takes), so a head copy that missed sealed
 * samples is always followed by an epoch that differs from the iterator's. */
#include "storage_int.h"

#include <stdlib.h>

void storage_reader_init(storage_reader_t *r, omega_tsdb_t *db)
{
    *r = (storage_reader_t){.db = db};
}

void storage_reader_deinit(storage_reader_t *r)
{
    if (r->it)
        rocksdb_iter_destroy(r->it);
    free(r->head.v);
    *r = (storage_reader_t){0};
}

static rocksdb_iterator_t *raw_iterator(storage_reader_t *r)
{
    uint64_t epoch = atomic_load_explicit(&r->db->heads.chunk_epoch, memory_order_acquire);
    if (r->it && epoch != r->epoch) {
        rocksdb_iter_destroy(r->it);
        r->it = NULL;
    }
    if (!r->it) {
        r->it = rocksdb_create_iterator_cf(r->db->rdb, r->db->ropts, r->db->cf[STORAGE_CF_RAW]);
        r->epoch = epoch;
    }
    return r->it;
}

/* Merge head (sorted) into buf (sorted chunk samples); the head wins a tie. */
static void merge_head(storage_sbuf_t *buf, const storage_sbuf_t *head)
{
    if (head->n == 0)
        return;
    if (buf->n == 0 || head->v[0].ts_ms > buf->v[buf->n - 1].ts_ms) {
        for (size_t i = 0; i < head->n; i++)
            storage_sbuf_push(buf, head->v[i].ts_ms, head->v[i].value);
        return;
    }
    storage_sbuf_t chunks = *buf;
    *buf = (storage_sbuf_t){0};
    size_t i = 0, j = 0;
    while (i < chunks.n || j < head->n) {
        if (j == head->n || (i < chunks.n && chunks.v[i].ts_ms < head->v[j].ts_ms)) {
            storage_sbuf_push(buf, chunks.v[i].ts_ms, chunks.v[i].value);
            i++;
        } else {
            if (i < chunks.n && chunks.v[i].ts_ms == head->v[j].ts_ms)
                i++;
            storage_sbuf_push(buf, head->v[j].ts_ms, head->v[j].value);
            j++;
        }
    }
    free(chunks.v);
}

int storage_reader_samples(storage_reader_t *r, uint64_t id, int64_t start, int64_t end,
                           storage_sbuf_t *out, omega_error_t *err)
{
    out->n = 0;
    r->head.n = 0;
    int rc = 0;
    if (storage_head_copy(r->db, id, start, end, &r->head))
        rc = storage_chunks_read_it(r->db, raw_iterator(r), id, start, end, out, err);
    if (rc == 0)
        merge_head(out, &r->head);
    return rc;
}

int storage_reader_active(storage_reader_t *r, uint64_t id, int64_t start, int64_t end,
                          omega_error_t *err)
{
    r->head.n = 0;
    int chunks = storage_head_copy(r->db, id, start, end, &r->head);
    if (r->head.n > 0)
        return 1;
    return chunks ? storage_chunks_any(r->db, raw_iterator(r), id, start, end, err) : 0;
}
