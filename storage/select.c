/* SPDX-License-Identifier: Apache-2.0 */
/* Reads: resolve label matchers to series through the postings of the series index,
 * check every matcher against each candidate's labels, then hand each series with its
 * samples in [start, end] (clipped to the raw retention; sealed chunks merged with the
 * in-memory head) to the caller's callback.
 * Matchers follow Prometheus: an absent label matches as "", regexes are fully anchored. */
#include "storage_int.h"

#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One matcher, ready to evaluate. */
typedef struct cmatcher {
    const omega_matcher_t *m; /* the caller's matcher (borrowed) */
    regex_t re;               /* compiled "^(value)$" for RE/NRE */
    int has_re;               /* re needs regfree */
    int matches_empty;        /* matcher accepts "" (an absent label) */
} cmatcher_t;

/* A growable vector of series ids. */
typedef struct idvec {
    uint64_t *v; /* ids, owned */
    size_t n;    /* ids used */
    size_t cap;  /* ids allocated */
} idvec_t;

static void idvec_push(idvec_t *a, uint64_t id)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->v = omega_realloc(a->v, a->cap * sizeof(*a->v));
    }
    a->v[a->n++] = id;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void idvec_sort_unique(idvec_t *a)
{
    if (a->n < 2)
        return;
    qsort(a->v, a->n, sizeof(*a->v), cmp_u64);
    size_t w = 1;
    for (size_t r = 1; r < a->n; r++)
        if (a->v[r] != a->v[w - 1])
            a->v[w++] = a->v[r];
    a->n = w;
}

/* a = a AND b; both sorted and unique. */
static void idvec_intersect(idvec_t *a, const idvec_t *b)
{
    size_t i = 0, j = 0, w = 0;
    while (i < a->n && j < b->n) {
        if (a->v[i] < b->v[j])
            i++;
        else if (a->v[i] > b->v[j])
            j++;
        else {
            a->v[w++] = a->v[i];
            i++;
            j++;
        }
    }
    a->n = w;
}

static int match_value(const cmatcher_t *c, const char *v)
{
    switch (c->m->op) {
    case OMEGA_MATCH_EQ:
        return strcmp(v, c->m->value) == 0;
    case OMEGA_MATCH_NE:
        return strcmp(v, c->m->value) != 0;
    case OMEGA_MATCH_RE:
        return regexec(&c->re, v, 0, NULL, 0) == 0;
    case OMEGA_MATCH_NRE:
        return regexec(&c->re, v, 0, NULL, 0) != 0;
    }
    return 0;
}

static void free_matchers(cmatcher_t *cm, size_t n)
{
    for (size_t i = 0; cm && i < n; i++)
        if (cm[i].has_re)
            regfree(&cm[i].re);
    free(cm);
}

static int compile_one(cmatcher_t *c, size_t i, omega_error_t *err)
{
    const omega_matcher_t *m = c->m;
    if (!m->name || !m->value || (unsigned)m->op > OMEGA_MATCH_NRE)
        return omega_error_set(err, OMEGA_EINVAL,
                               "matcher %zu: missing name, value or "
                               "operator",
                               i);
    if (m->op == OMEGA_MATCH_RE || m->op == OMEGA_MATCH_NRE) {
        size_t len = strlen(m->value);
        char *anchored = omega_malloc(len + 5);
        memcpy(anchored, "^(", 2);
        memcpy(anchored + 2, m->value, len);
        memcpy(anchored + 2 + len, ")$", 3);
        int rc = regcomp(&c->re, anchored, REG_EXTENDED | REG_NOSUB);
        free(anchored);
        if (rc != 0) {
            char why[128];
            regerror(rc, &c->re, why, sizeof(why));
            return omega_error_set(err, OMEGA_EINVAL,
                                   "invalid regular expression \"%.64s\" "
                                   "for label %.64s: %s",
                                   m->value, m->name, why);
        }
        c->has_re = 1;
    }
    c->matches_empty = match_value(c, "");
    return 0;
}

/* Compile all matchers; *out is owned by the caller (free_matchers) even on error. */
static int compile_matchers(const omega_matcher_t *ms, size_t n, cmatcher_t **out,
                            omega_error_t *err)
{
    int all_empty = 1;
    if (n && !ms)
        return omega_error_set(err, OMEGA_EINVAL, "matchers missing");
    *out = omega_calloc(n, sizeof(**out));
    for (size_t i = 0; i < n; i++) {
        (*out)[i].m = &ms[i];
        int rc = compile_one(&(*out)[i], i, err);
        if (rc)
            return rc;
        all_empty &= (*out)[i].matches_empty;
    }
    if (all_empty)
        return omega_error_set(err, OMEGA_EINVAL,
                               "at least one matcher must not match the empty string");
    return 0;
}

/* Ids posted under the matcher's label whose value the matcher accepts. An EQ matcher
 * reads exactly its (name, value) postings; others scan every value of the label. */
static int postings_collect(omega_tsdb_t *db, const cmatcher_t *c, idvec_t *out, omega_error_t *err)
{
    int exact = c->m->op == OMEGA_MATCH_EQ;
    size_t nlen = strlen(c->m->name), vlen = exact ? strlen(c->m->value) : 0;
    size_t plen = 1 + nlen + 1 + (exact ? vlen + 1 : 0);
    char *prefix = omega_malloc(plen);
    prefix[0] = STORAGE_SERIES_POST;
    memcpy(prefix + 1, c->m->name, nlen + 1); /* copies the separating NUL */
    if (exact)
        memcpy(prefix + 2 + nlen, c->m->value, vlen + 1);
    char *val = NULL; /* the value of the postings at hand, NUL-terminated (regexes) */
    size_t val_len = 0, val_cap = 0;
    int have = 0, ok = 0;  /* val holds a value, and whether the matcher accepts it */
    unsigned rejected = 0; /* postings of the rejected value at hand stepped over so far */
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(db->rdb, db->ropts, db->cf[STORAGE_CF_SERIES]);
    rocksdb_iter_seek(it, prefix, plen);
    while (rocksdb_iter_valid(it)) {
        size_t klen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen < plen + 8 || memcmp(k, prefix, plen) != 0)
            break;
        if (!exact) {
            if (klen < plen + 9 || k[klen - 9] != '\0') {
                rocksdb_iter_next(it); /* not value, NUL, 8-byte id: not written here */
                continue;
            }
            /* The matcher runs once per distinct value (postings of one value are adjacent). */
            size_t len = klen - plen - 9;
            if (!have || len != val_len || memcmp(val, k + plen, len) != 0) {
                if (len + 2 > val_cap) {
                    val_cap = len + 2;
                    val = omega_realloc(val, val_cap);
                }
                memcpy(val, k + plen, len);
                val[len] = '\0';
                val_len = len;
                have = 1;
                ok = match_value(c, val);
                rejected = 0;
            }
            if (!ok && ++rejected > 4) {
                /* A rejected value with many series (a metric name under =~): seek past all
                 * of its postings, "prefix value \x01" sorting after "prefix value \0 id". */
                char *seek = omega_malloc(plen + len + 1);
                memcpy(seek, prefix, plen);
                memcpy(seek + plen, val, len);
                seek[plen + len] = '\x01';
                rocksdb_iter_seek(it, seek, plen + len + 1);
                free(seek);
                continue;
            }
            if (!ok) {
                rocksdb_iter_next(it);
                continue;
            }
        }
        idvec_push(out, storage_get_u64be(k + klen - 8));
        rocksdb_iter_next(it);
    }
    char *errptr = NULL;
    rocksdb_iter_get_error(it, &errptr);
    rocksdb_iter_destroy(it);
    free(prefix);
    free(val);
    if (errptr)
        return storage_rocks_error(errptr, err, "postings scan");
    idvec_sort_unique(out);
    return 0;
}

/* A cursor over one EQ matcher's postings: keys 'P' name NUL value NUL id(8, BE), so the
 * ids come sorted and a seek jumps to the first id >= a target. */
typedef struct postcur {
    rocksdb_iterator_t *it; /* iterator on the series CF */
    char *key;              /* prefix followed by room for an 8-byte id, owned */
    size_t plen;            /* prefix bytes */
    uint64_t cur;           /* current id (valid unless done) */
    int done;               /* past the last posting */
} postcur_t;

static void cur_read(postcur_t *c)
{
    size_t klen;
    const char *k = rocksdb_iter_valid(c->it) ? rocksdb_iter_key(c->it, &klen) : NULL;
    if (!k || klen != c->plen + 8 || memcmp(k, c->key, c->plen) != 0) {
        c->done = 1;
        return;
    }
    c->cur = storage_get_u64be(k + c->plen);
}

static void cur_seek(postcur_t *c, uint64_t id)
{
    storage_put_u64be(c->key + c->plen, id);
    rocksdb_iter_seek(c->it, c->key, c->plen + 8);
    cur_read(c);
}

static void cur_open(omega_tsdb_t *db, postcur_t *c, const omega_matcher_t *m)
{
    size_t nlen = strlen(m->name), vlen = strlen(m->value);
    c->plen = 1 + nlen + 1 + vlen + 1;
    c->key = omega_malloc(c->plen + 8);
    c->key[0] = STORAGE_SERIES_POST;
    memcpy(c->key + 1, m->name, nlen + 1);
    memcpy(c->key + 2 + nlen, m->value, vlen + 1);
    c->it = rocksdb_create_iterator_cf(db->rdb, db->ropts, db->cf[STORAGE_CF_SERIES]);
    c->done = 0;
    cur_seek(c, 0);
}

/* Intersect the postings of n EQ matchers by leapfrogging: every cursor seeks to the
 * largest current id, so a 10-id list against a 100,000-id one costs about 10 seeks per
 * list, not a scan of the big one (Prometheus' postings intersection, on RocksDB). */
static int leapfrog(omega_tsdb_t *db, const cmatcher_t **eq, size_t n, idvec_t *out,
                    omega_error_t *err)
{
    postcur_t *c = omega_calloc(n, sizeof(*c));
    int done = 0;
    for (size_t i = 0; i < n; i++) {
        cur_open(db, &c[i], eq[i]->m);
        done |= c[i].done;
    }
    while (!done) {
        uint64_t max = 0;
        for (size_t i = 0; i < n; i++)
            max = c[i].cur > max ? c[i].cur : max;
        int equal = 1;
        for (size_t i = 0; i < n && !done; i++) {
            if (c[i].cur < max)
                cur_seek(&c[i], max);
            done |= c[i].done;
            equal &= !c[i].done && c[i].cur == max;
        }
        if (done)
            break;
        if (!equal)
            continue;
        idvec_push(out, max);
        rocksdb_iter_next(c[0].it); /* ids are unique per list: the next one is > max */
        cur_read(&c[0]);
        done = c[0].done;
    }
    char *errptr = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!errptr)
            rocksdb_iter_get_error(c[i].it, &errptr);
        rocksdb_iter_destroy(c[i].it);
        free(c[i].key);
    }
    free(c);
    if (errptr)
        return storage_rocks_error(errptr, err, "postings seek");
    return 0;
}

static void push_id(void *ctx, uint64_t id)
{
    idvec_push(ctx, id);
}

/* The EQ postings intersection from the postings cache, loading the lists it lacks
 * (whole prefix scans) when the index generation has been stable for a second: under
 * series churn every list would be stale at once, and the leapfrog's few seeks are then
 * cheaper. Returns 0 with out filled, 1 when the caller should leapfrog, or an error. */
static int cached_intersection(omega_tsdb_t *db, const cmatcher_t **eq, size_t n, idvec_t *out,
                               omega_error_t *err)
{
    storage_index_t *ix = &db->index;
    if (n > STORAGE_POSTCACHE_MAX_LISTS)
        return 1;
    uint64_t gen = atomic_load_explicit(&ix->gen, memory_order_acquire);
    char *keys[STORAGE_POSTCACHE_MAX_LISTS];
    size_t klens[STORAGE_POSTCACHE_MAX_LISTS];
    for (size_t i = 0; i < n; i++) {
        size_t nlen = strlen(eq[i]->m->name), vlen = strlen(eq[i]->m->value);
        klens[i] = 1 + nlen + 1 + vlen + 1;
        keys[i] = omega_malloc(klens[i]);
        keys[i][0] = STORAGE_SERIES_POST;
        memcpy(keys[i] + 1, eq[i]->m->name, nlen + 1);
        memcpy(keys[i] + 2 + nlen, eq[i]->m->value, vlen + 1);
    }
    int rc = 1;
    const char *const *ck = (const char *const *)keys;
    if (storage_postcache_intersect(&ix->posts, ck, klens, n, gen, push_id, out)) {
        rc = 0;
    } else if (omega_mono_ns() / 1000000 - atomic_load(&ix->gen_mono_ms) >= 1000) {
        rc = 0;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (storage_postcache_has(&ix->posts, keys[i], klens[i], gen))
                continue; /* only the lists missing: a metric's list serves many rules */
            idvec_t ids = {0};
            rc = postings_collect(db, eq[i], &ids, err);
            if (rc == 0)
                storage_postcache_put(&ix->posts, keys[i], klens[i], gen, ids.v, ids.n);
            free(ids.v);
        }
        if (rc == 0 && !storage_postcache_intersect(&ix->posts, ck, klens, n, gen, push_id, out))
            rc = 1; /* the generation moved or the lists are too long to cache */
    }
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    return rc;
}

/* Candidate ids: the intersection of the EQ postings when there are EQ matchers with a
 * value, else of the scans of every matcher that rejects "". Always a superset: every
 * matcher is checked again on each candidate. */
static int candidates(omega_tsdb_t *db, const cmatcher_t *cm, size_t n, idvec_t *out,
                      omega_error_t *err)
{
    const cmatcher_t **eq = omega_calloc(n ? n : 1, sizeof(*eq));
    size_t n_eq = 0;
    for (size_t i = 0; i < n; i++)
        if (cm[i].m->op == OMEGA_MATCH_EQ && !cm[i].matches_empty)
            eq[n_eq++] = &cm[i];
    if (n_eq) {
        int rc = cached_intersection(db, eq, n_eq, out, err);
        if (rc == 1) /* not cacheable now */
            rc = leapfrog(db, eq, n_eq, out, err);
        free(eq);
        return rc;
    }
    free(eq);
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (cm[i].matches_empty)
            continue;
        idvec_t ids = {0};
        int rc = postings_collect(db, &cm[i], first ? out : &ids, err);
        if (rc == 0 && !first)
            idvec_intersect(out, &ids);
        free(ids.v);
        if (rc)
            return rc;
        first = 0;
        if (out->n == 0)
            break;
    }
    return 0;
}

static const char *label_value(const omega_series_t *s, const char *name)
{
    if (strcmp(name, "__name__") == 0)
        return s->name;
    for (size_t i = 0; i < s->n_labels; i++)
        if (strcmp(s->labels[i].name, name) == 0)
            return s->labels[i].value;
    return "";
}

/* One select or series_match call. */
typedef struct query {
    omega_tsdb_t *db;            /* the store */
    const cmatcher_t *cm;        /* compiled matchers */
    size_t n_cm;                 /* entries in cm */
    int with_samples;            /* 0 for series_match */
    int64_t start, end;          /* sample range, inclusive, retention applied */
    omega_tsdb_series_cb cb;     /* caller's callback */
    void *ctx;                   /* its context */
    storage_reader_t rd;         /* sample reader of the calling thread */
    int active;                  /* series_active: only series with samples in range */
    int concurrent;              /* cb may run on several threads at once, in any order */
    omega_tsdb_tier_t tier;      /* rollup tier, 0 = raw samples */
    omega_tsdb_bucket_cb bcb;    /* caller's callback for tiers */
    storage_bbuf_t buckets;      /* reused bucket buffer */
    rocksdb_iterator_t *tier_it; /* the tier's iterator, made at the first bucket read */
} query_t;

/* One candidate series loaded for a select: its labels and samples. */
typedef struct loaded {
    omega_series_t s;       /* labels (pointing into key, strbuf, labels) */
    char *key, *strbuf;     /* owned */
    omega_label_t *labels;  /* owned */
    storage_sbuf_t samples; /* in range, reused */
    int keep;               /* matched, with samples to hand out */
    int rc;                 /* 0 or the error of loading it */
    omega_error_t err;      /* its message */
} loaded_t;

static void loaded_clear(loaded_t *l)
{
    free(l->key);
    free(l->strbuf);
    free(l->labels);
    l->key = l->strbuf = NULL;
    l->labels = NULL;
}

/* Load id's labels into l and match them: returns 0 with l->keep set when every matcher
 * accepts them (a posting without a series, left briefly by an erase, is not kept), or an
 * error with l->err. Any thread. */
static int load_labels(const query_t *q, uint64_t id, loaded_t *l)
{
    size_t klen = 0;
    loaded_clear(l);
    l->s = (omega_series_t){.id = id};
    l->keep = 0;
    l->samples.n = 0;
    int rc = storage_index_reverse(q->db, id, &l->key, &klen, &l->err);
    if (rc == OMEGA_ENOENT)
        return 0;
    if (rc == 0 && storage_canon_decode(l->key, klen, &l->s, &l->strbuf, &l->labels) != 0)
        rc = omega_error_set(&l->err, OMEGA_ECORRUPT, "storage: series %llu has a corrupt key",
                             (unsigned long long)id);
    l->keep = rc == 0;
    for (size_t i = 0; l->keep && i < q->n_cm; i++)
        if (!match_value(&q->cm[i], label_value(&l->s, q->cm[i].m->name)))
            l->keep = 0;
    return rc;
}

/* Load id's labels, match them and read its samples into l (any thread). */
static void load_series(const query_t *q, storage_reader_t *rd, uint64_t id, loaded_t *l)
{
    int rc = load_labels(q, id, l);
    if (l->keep)
        rc = storage_reader_samples(rd, id, q->start, q->end, &l->samples, &l->err);
    l->keep = l->keep && rc == 0 && l->samples.n > 0;
    l->rc = rc;
}

/* Hand a loaded series to the callback; returns 0, its stop value or the load error. */
static int emit_series(query_t *q, loaded_t *l, omega_error_t *err)
{
    if (l->rc) {
        if (err)
            *err = l->err;
        return l->rc;
    }
    return l->keep ? q->cb(q->ctx, &l->s, l->samples.v, l->samples.n) : 0;
}

/* Load, match and emit one candidate series of a series_match or tier select; returns 0,
 * the callback's stop value or an error. */
static int visit_series(query_t *q, uint64_t id, loaded_t *l, omega_error_t *err)
{
    int rc = load_labels(q, id, l);
    if (rc != 0) {
        if (err)
            *err = l->err;
        return rc;
    }
    if (!l->keep)
        return 0;
    if (q->tier) {
        if (!q->tier_it)
            q->tier_it = storage_tier_iterator(q->db, q->tier);
        rc = storage_tier_read(q->db, q->tier_it, q->tier, id, q->start, q->end, &q->buckets, err);
        if (rc == 0 && q->buckets.n > 0)
            rc = q->bcb(q->ctx, &l->s, q->buckets.v, q->buckets.n);
    } else if (q->active) {
        rc = storage_reader_active(&q->rd, id, q->start, q->end, err);
        if (rc == 1)
            rc = q->cb(q->ctx, &l->s, NULL, 0);
    } else {
        rc = q->cb(q->ctx, &l->s, NULL, 0);
    }
    return rc;
}

/* ---- parallel sample reads ----
 * A select over many series reads them in batches: the calling thread and up to
 * PAR_THREADS - 1 helpers load the series of a batch (labels, match, samples: the costly
 * part), then the caller hands them to the callback in id order, so callbacks run on the
 * caller's thread one at a time and a stop or a budget error ends the read after at most
 * one batch. */
#define PAR_MIN     32 /* fewer candidates are read by the calling thread alone */
#define PAR_BATCH   64 /* series loaded per batch */
#define PAR_THREADS 4  /* threads per select at most (the caller included) */

typedef struct par {
    const query_t *q;     /* the select */
    const uint64_t *ids;  /* this batch's ids */
    loaded_t *slots;      /* their results, PAR_BATCH */
    size_t n;             /* ids in this batch */
    _Atomic size_t next;  /* next index to take */
    pthread_mutex_t lock; /* guards gen, busy, stop */
    pthread_cond_t cond;  /* batch posted / helper finished */
    unsigned gen;         /* batch number */
    unsigned busy;        /* helpers still working on the batch */
    int stop;             /* helpers must exit */
} par_t;

static void par_work(par_t *p, storage_reader_t *rd)
{
    size_t i;
    while ((i = atomic_fetch_add(&p->next, 1)) < p->n)
        load_series(p->q, rd, p->ids[i], &p->slots[i]);
}

static void *par_helper(void *arg)
{
    par_t *p = arg;
    storage_reader_t rd;
    storage_reader_init(&rd, p->q->db);
    unsigned seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->gen == seen)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->stop)
            break;
        seen = p->gen;
        pthread_mutex_unlock(&p->lock);
        par_work(p, &rd);
        pthread_mutex_lock(&p->lock);
        if (--p->busy == 0)
            pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    storage_reader_deinit(&rd);
    return NULL;
}

static unsigned par_threads(size_t n_ids)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (n_ids < PAR_MIN || cpus < 2)
        return 1;
    return cpus < PAR_THREADS ? (unsigned)cpus : PAR_THREADS;
}

static int run_parallel(query_t *q, const idvec_t *ids, unsigned threads, omega_error_t *err)
{
    par_t p = {.q = q, .slots = omega_calloc(PAR_BATCH, sizeof(loaded_t))};
    pthread_t th[PAR_THREADS];
    unsigned started = 0;
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.cond, NULL);
    for (unsigned t = 1; t < threads; t++)
        if (pthread_create(&th[started], NULL, par_helper, &p) == 0)
            started++;
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < ids->n; off += PAR_BATCH) {
        pthread_mutex_lock(&p.lock);
        p.ids = ids->v + off;
        p.n = ids->n - off < PAR_BATCH ? ids->n - off : PAR_BATCH;
        atomic_store(&p.next, 0);
        p.busy = started;
        p.gen++;
        pthread_cond_broadcast(&p.cond);
        pthread_mutex_unlock(&p.lock);
        par_work(&p, &q->rd);
        pthread_mutex_lock(&p.lock);
        while (p.busy > 0)
            pthread_cond_wait(&p.cond, &p.lock);
        pthread_mutex_unlock(&p.lock);
        for (size_t i = 0; rc == 0 && i < p.n; i++)
            rc = emit_series(q, &p.slots[i], err);
    }
    pthread_mutex_lock(&p.lock);
    p.stop = 1;
    pthread_cond_broadcast(&p.cond);
    pthread_mutex_unlock(&p.lock);
    for (unsigned t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    for (size_t i = 0; i < PAR_BATCH; i++) {
        loaded_clear(&p.slots[i]);
        free(p.slots[i].samples.v);
    }
    free(p.slots);
    pthread_cond_destroy(&p.cond);
    pthread_mutex_destroy(&p.lock);
    return rc;
}

/* ---- concurrent callbacks ----
 * omega_tsdb_select_concurrent: every thread loads a series and hands it to the callback
 * itself, so each series is read, decoded and consumed on one core, and only one series'
 * samples per thread are held at a time. */
typedef struct conc {
    query_t *q;           /* the select */
    const idvec_t *ids;   /* candidates */
    _Atomic size_t next;  /* next index to take */
    _Atomic int stop;     /* set by the first failure */
    pthread_mutex_t lock; /* guards rc and err */
    int rc;               /* first failure */
    omega_error_t err;    /* its message */
} conc_t;

static void conc_work(conc_t *c, storage_reader_t *rd)
{
    loaded_t l = {0};
    omega_error_t e;
    size_t i;
    while (!atomic_load(&c->stop) && (i = atomic_fetch_add(&c->next, 1)) < c->ids->n) {
        load_series(c->q, rd, c->ids->v[i], &l);
        omega_error_clear(&e);
        int rc = emit_series(c->q, &l, &e);
        if (rc != 0) {
            pthread_mutex_lock(&c->lock);
            if (c->rc == 0) {
                c->rc = rc;
                c->err = e;
            }
            pthread_mutex_unlock(&c->lock);
            atomic_store(&c->stop, 1);
        }
    }
    loaded_clear(&l);
    free(l.samples.v);
}

static void *conc_helper(void *arg)
{
    conc_t *c = arg;
    storage_reader_t rd;
    storage_reader_init(&rd, c->q->db);
    conc_work(c, &rd);
    storage_reader_deinit(&rd);
    return NULL;
}

static int run_concurrent(query_t *q, const idvec_t *ids, unsigned threads, omega_error_t *err)
{
    conc_t c = {.q = q, .ids = ids};
    pthread_t th[PAR_THREADS];
    unsigned started = 0;
    pthread_mutex_init(&c.lock, NULL);
    for (unsigned t = 1; t < threads; t++)
        if (pthread_create(&th[started], NULL, conc_helper, &c) == 0)
            started++;
    conc_work(&c, &q->rd);
    for (unsigned t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    pthread_mutex_destroy(&c.lock);
    if (c.rc != 0 && err && c.err.code != 0)
        *err = c.err;
    return c.rc;
}

/* Every candidate of a select with samples, in id order (or concurrently). */
static int run_samples(query_t *q, const idvec_t *ids, omega_error_t *err)
{
    unsigned threads = par_threads(ids->n);
    if (threads > 1 && q->concurrent)
        return run_concurrent(q, ids, threads, err);
    if (threads > 1)
        return run_parallel(q, ids, threads, err);
    loaded_t one = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < ids->n; i++) {
        load_series(q, &q->rd, ids->v[i], &one);
        rc = emit_series(q, &one, err);
    }
    loaded_clear(&one);
    free(one.samples.v);
    return rc;
}

static int run_query(query_t *q, const omega_matcher_t *matchers, size_t n_matchers,
                     omega_error_t *err)
{
    cmatcher_t *cm = NULL;
    idvec_t ids = {0};
    if (!q->db || (q->tier ? !q->bcb : !q->cb))
        return omega_error_set(err, OMEGA_EINVAL, "storage: no database or callback");
    int rc = compile_matchers(matchers, n_matchers, &cm, err);
    if (rc == 0 && (q->with_samples || q->active) && q->start > q->end)
        goto out; /* nothing can match the time range */
    if (rc == 0)
        rc = candidates(q->db, cm, n_matchers, &ids, err);
    q->cm = cm;
    q->n_cm = n_matchers;
    storage_reader_init(&q->rd, q->db);
    if (rc == 0 && q->with_samples && !q->tier)
        rc = run_samples(q, &ids, err);
    loaded_t one = {0};
    for (size_t i = 0; rc == 0 && (!q->with_samples || q->tier) && i < ids.n; i++)
        rc = visit_series(q, ids.v[i], &one, err);
    loaded_clear(&one);
    storage_reader_deinit(&q->rd);
    if (q->tier_it)
        rocksdb_iter_destroy(q->tier_it);
out:
    free_matchers(cm, n_matchers);
    free(ids.v);
    free(q->buckets.v);
    return rc;
}

int omega_tsdb_select(omega_tsdb_t *db, const omega_matcher_t *matchers, size_t n_matchers,
                      int64_t start_ms, int64_t end_ms, omega_tsdb_series_cb cb, void *ctx,
                      omega_error_t *err)
{
    query_t q = {
        .db = db, .with_samples = 1, .start = start_ms, .end = end_ms, .cb = cb, .ctx = ctx};
    if (db && db->opts.raw_retention_ms > 0) {
        int64_t oldest = storage_time_sub(omega_now_ms(), db->opts.raw_retention_ms);
        if (q.start < oldest)
            q.start = oldest;
    }
    return run_query(&q, matchers, n_matchers, err);
}

int omega_tsdb_select_concurrent(omega_tsdb_t *db, const omega_matcher_t *matchers,
                                 size_t n_matchers, int64_t start_ms, int64_t end_ms,
                                 omega_tsdb_series_cb cb, void *ctx, omega_error_t *err)
{
    query_t q = {.db = db,
                 .with_samples = 1,
                 .concurrent = 1,
                 .start = start_ms,
                 .end = end_ms,
                 .cb = cb,
                 .ctx = ctx};
    if (db && db->opts.raw_retention_ms > 0) {
        int64_t oldest = storage_time_sub(omega_now_ms(), db->opts.raw_retention_ms);
        if (q.start < oldest)
            q.start = oldest;
    }
    return run_query(&q, matchers, n_matchers, err);
}

int omega_tsdb_series_match(omega_tsdb_t *db, const omega_matcher_t *matchers, size_t n_matchers,
                            omega_tsdb_series_cb cb, void *ctx, omega_error_t *err)
{
    query_t q = {.db = db, .with_samples = 0, .cb = cb, .ctx = ctx};
    return run_query(&q, matchers, n_matchers, err);
}

int omega_tsdb_series_active(omega_tsdb_t *db, const omega_matcher_t *matchers, size_t n_matchers,
                             int64_t start_ms, int64_t end_ms, omega_tsdb_series_cb cb, void *ctx,
                             omega_error_t *err)
{
    query_t q = {.db = db, .active = 1, .start = start_ms, .end = end_ms, .cb = cb, .ctx = ctx};
    if (db && db->opts.raw_retention_ms > 0) {
        int64_t oldest = storage_time_sub(omega_now_ms(), db->opts.raw_retention_ms);
        if (q.start < oldest)
            q.start = oldest;
    }
    return run_query(&q, matchers, n_matchers, err);
}

int omega_tsdb_select_tier(omega_tsdb_t *db, omega_tsdb_tier_t tier,
                           const omega_matcher_t *matchers, size_t n_matchers, int64_t start_ms,
                           int64_t end_ms, omega_tsdb_bucket_cb cb, void *ctx, omega_error_t *err)
{
    if (tier < OMEGA_TSDB_TIER_H1 || tier > OMEGA_TSDB_TIER_MO1)
        return omega_error_set(err, OMEGA_EINVAL, "storage: unknown rollup tier %d", (int)tier);
    query_t q = {.db = db,
                 .with_samples = 1,
                 .start = start_ms,
                 .end = end_ms,
                 .tier = tier,
                 .bcb = cb,
                 .ctx = ctx};
    return run_query(&q, matchers, n_matchers, err);
}
