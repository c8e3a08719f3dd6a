/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log: a hash chain in OMEGA_KV_AUDIT. Each entry's "prev" is the SHA-256 of the
 * stored bytes of the entry before it; META "audit/head" holds the last entry's sequence
 * number and hash (so removing the newest entry is detected too) and "audit/anchor" the
 * hash of the last entry removed by retention (so pruning the oldest ones is not). The
 * hash is unkeyed: it proves the log was not edited by anyone who could not also rewrite
 * every later entry, which is what an append-only log on local disk can promise. */
#include "auth_int.h"

#include "omega/log.h"

#include <jansson.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_KV        "audit/head"
#define ANCHOR_KV      "audit/anchor"
#define PRUNE_EVERY_MS (3600LL * 1000)
#define ZERO_HASH      "0000000000000000000000000000000000000000000000000000000000000000"

static const char *const categories[] = {"access", "modification", "deletion", "export"};

int omega_audit_category_parse(const char *name, unsigned *out)
{
    for (unsigned i = 0; name && i < 4; i++)
        if (strcmp(name, categories[i]) == 0) {
            *out = 1u << i;
            return 0;
        }
    return OMEGA_EINVAL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *omega_audit_category_of(const char *action)
{
    if (!action)
        return "modification";
    if (strncmp(action, "auth.", 5) == 0)
        return "access";
    if (ends_with(action, ".delete") || ends_with(action, ".revoke"))
        return "deletion";
    if (ends_with(action, ".export"))
        return "export";
    return "modification";
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    auth_hex_encode(md, sizeof(md), out);
}

static void be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static uint64_t rd_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* A JSON string of s truncated to max bytes, with non-UTF-8 input made ASCII-safe. */
static json_t *safe_str(const char *s, size_t max)
{
    char buf[512];
    size_t n = s ? strnlen(s, max < sizeof(buf) - 1 ? max : sizeof(buf) - 1) : 0;
    memcpy(buf, s ? s : "", n);
    buf[n] = '\0';
    /* Truncation may split a code point; replace bytes until the text is valid. */
    if (!omega_utf8_valid(buf, n))
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)buf[i] >= 0x80)
                buf[i] = '?';
    return json_string(buf);
}

/* {seq, hash} stored under key k into the handle or out params. */
static int read_mark(omega_auth_t *a, const char *k, uint64_t *seq, char hash[65],
                     omega_error_t *err)
{
    char *val = NULL;
    size_t vlen = 0;
    int rc = omega_kv_get(a->db, OMEGA_KV_META, k, strlen(k), &val, &vlen, err);
    if (rc != 0)
        return rc;
    json_t *o = json_loadb(val, vlen, 0, NULL);
    free(val);
    json_int_t s = 0;
    const char *h = NULL;
    if (!o || json_unpack(o, "{s:I, s:s}", "seq", &s, "hash", &h) != 0 || strlen(h) != 64 || s < 0)
        rc = omega_error_set(err, OMEGA_ECORRUPT, "audit mark '%s' is unreadable", k);
    else {
        *seq = (uint64_t)s;
        memcpy(hash, h, 65);
    }
    json_decref(o);
    return rc;
}

static int write_mark(omega_auth_t *a, const char *k, uint64_t seq, const char *hash,
                      omega_error_t *err)
{
    char buf[128];
    int n =
        snprintf(buf, sizeof(buf), "{\"seq\":%llu,\"hash\":\"%s\"}", (unsigned long long)seq, hash);
    return omega_kv_put(a->db, OMEGA_KV_META, k, strlen(k), buf, (size_t)n, err);
}

int auth_audit_load(omega_auth_t *a, omega_error_t *err)
{
    uint64_t seq = 0;
    char hash[65] = ZERO_HASH;
    int rc = read_mark(a, HEAD_KV, &seq, hash, err);
    if (rc == OMEGA_ENOENT) {
        rc = read_mark(a, ANCHOR_KV, &seq, hash, err);
        if (rc == OMEGA_ENOENT) {
            seq = 0;
            memcpy(hash, ZERO_HASH, 65);
            rc = 0;
        }
    }
    if (rc != 0)
        return rc;
    a->audit_seq = seq;
    memcpy(a->audit_hash, hash, 65);
    return 0;
}

/* Collects keys of entries older than a cut-off, and the hash of the newest of them. */
typedef struct prune_ctx {
    uint64_t cut_ms; /* entries with time < cut_ms go */
    unsigned char (*keys)[16];
    size_t n, cap;
    uint64_t last_seq;  /* sequence of the newest pruned entry */
    char last_hash[65]; /* its hash */
} prune_ctx_t;

static int prune_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    prune_ctx_t *c = ctx;
    if (klen != 16 || rd_be64(key) >= c->cut_ms)
        return 1; /* key order is time order: done */
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        c->keys = omega_realloc(c->keys, c->cap * sizeof(*c->keys));
    }
    memcpy(c->keys[c->n++], key, 16);
    c->last_seq = rd_be64((const unsigned char *)key + 8);
    sha256_hex(val, vlen, c->last_hash);
    return 0;
}

/* Drop entries past retention: the anchor first, so a crash mid-way leaves entries the
 * verifier knows are on their way out rather than a broken chain. */
static void prune(omega_auth_t *a, int64_t now)
{
    prune_ctx_t c = {.cut_ms = (uint64_t)(now - a->opts.audit_retention_ms)};
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_kv_scan(a->db, OMEGA_KV_AUDIT, NULL, 0, prune_one, &c, &err);
    if (rc >= 0 && c.n > 0)
        rc = write_mark(a, ANCHOR_KV, c.last_seq, c.last_hash, &err);
    for (size_t i = 0; rc >= 0 && i < c.n; i++)
        rc = omega_kv_delete(a->db, OMEGA_KV_AUDIT, c.keys[i], 16, &err);
    if (rc < 0)
        omega_log_warn("audit retention pruning failed: %s", err.message);
    else if (c.n > 0)
        omega_log_info("pruned %zu audit entries past retention", c.n);
    free(c.keys);
}

static char *encode(uint64_t seq, int64_t ms, const omega_audit_event_t *ev, const char *prev)
{
    char when[40];
    omega_time_format_rfc3339(ms, when, sizeof(when));
    json_t *o = json_object();
    json_object_set_new(o, "seq", json_integer((json_int_t)seq));
    json_object_set_new(o, "time", json_string(when));
    json_object_set_new(o, "actor", safe_str(ev->actor, 64));
    json_object_set_new(o, "role", safe_str(ev->role, 32));
    json_object_set_new(o, "address", safe_str(ev->address, 64));
    json_object_set_new(o, "action", safe_str(ev->action, 64));
    json_object_set_new(o, "category", json_string(omega_audit_category_of(ev->action)));
    json_object_set_new(o, "target", safe_str(ev->target, 256));
    json_object_set_new(o, "outcome", safe_str(ev->outcome, 16));
    json_object_set_new(o, "detail", safe_str(ev->detail, 256));
    json_object_set_new(o, "prev", json_string(prev));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

int omega_auth_audit(omega_auth_t *a, const omega_audit_event_t *ev, omega_error_t *err)
{
    unsigned cat = 0;
    omega_audit_category_parse(omega_audit_category_of(ev->action), &cat);
    if (!a->opts.audit_enabled || !(a->opts.audit_categories & cat))
        return 0;
    pthread_mutex_lock(&a->audit_lock);
    int64_t now = omega_now_ms();
    if (now - a->audit_pruned_ms >= PRUNE_EVERY_MS) {
        a->audit_pruned_ms = now;
        prune(a, now);
    }
    /* Keys must sort in chain order even if the wall clock steps back. */
    int64_t ms = now > a->audit_last_ms ? now : a->audit_last_ms;
    uint64_t seq = a->audit_seq + 1;
    char *text = encode(seq, ms, ev, a->audit_hash);
    unsigned char key[16];
    be64(key, (uint64_t)ms);
    be64(key + 8, seq);
    int rc = text ? omega_kv_put(a->db, OMEGA_KV_AUDIT, key, 16, text, strlen(text), err)
                  : omega_error_set(err, OMEGA_EIO, "cannot encode an audit entry");
    char hash[65];
    if (rc == 0) {
        sha256_hex(text, strlen(text), hash);
        rc = write_mark(a, HEAD_KV, seq, hash, err);
        /* The entry is stored: the chain continues from it even if the head lags. */
        a->audit_seq = seq;
        a->audit_last_ms = ms;
        memcpy(a->audit_hash, hash, 65);
    }
    pthread_mutex_unlock(&a->audit_lock);
    free(text);
    if (rc != 0)
        omega_log_error("cannot write the audit log: %s", err ? err->message : "storage error");
    return rc;
}

/* Walk state of omega_auth_audit_query(). */
typedef struct query_ctx {
    uint64_t since_ms, until_ms;
    const char *event;
    size_t limit, n;
    omega_audit_cb cb;
    void *ctx;
    int stop; /* the callback's non-zero return */
} query_ctx_t;

static int query_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    query_ctx_t *q = ctx;
    if (klen != 16 || rd_be64(key) > q->until_ms || q->n >= q->limit)
        return 1;
    if (rd_be64(key) < q->since_ms)
        return 0;
    if (q->event && *q->event) {
        json_t *o = json_loadb(val, vlen, 0, NULL);
        const char *action = json_string_value(json_object_get(o, "action"));
        const char *cat = json_string_value(json_object_get(o, "category"));
        int match =
            (action && strcmp(action, q->event) == 0) || (cat && strcmp(cat, q->event) == 0);
        json_decref(o);
        if (!match)
            return 0;
    }
    q->n++;
    q->stop = q->cb(q->ctx, val, vlen);
    return q->stop ? 1 : 0;
}

int omega_auth_audit_query(omega_auth_t *a, int64_t since_ms, int64_t until_ms, const char *event,
                           size_t limit, omega_audit_cb cb, void *ctx, omega_error_t *err)
{
    query_ctx_t q = {.since_ms = since_ms < 0 ? 0 : (uint64_t)since_ms,
                     .until_ms = until_ms < 0 ? 0 : (uint64_t)until_ms,
                     .event = event,
                     .limit = limit,
                     .cb = cb,
                     .ctx = ctx};
    int rc = omega_kv_scan(a->db, OMEGA_KV_AUDIT, NULL, 0, query_one, &q, err);
    if (rc == 1)
        return q.stop;
    return rc;
}

/* Walk state of omega_auth_audit_verify(). */
typedef struct verify_ctx {
    uint64_t anchor_seq; /* entries at or below it are being pruned */
    uint64_t next_seq;   /* sequence the next entry must have */
    char prev[65];       /* hash the next entry's prev must equal */
    char last_prev[65];  /* prev of the last entry seen */
    size_t n;            /* entries checked */
    omega_error_t *err;
    int rc;
} verify_ctx_t;

static int verify_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    verify_ctx_t *v = ctx;
    uint64_t seq = klen == 16 ? rd_be64((const unsigned char *)key + 8) : 0;
    if (klen == 16 && seq <= v->anchor_seq)
        return 0;
    json_t *o = json_loadb(val, vlen, 0, NULL);
    json_int_t jseq = json_integer_value(json_object_get(o, "seq"));
    const char *prev = json_string_value(json_object_get(o, "prev"));
    if (klen != 16 || !o || !prev || (uint64_t)jseq != seq)
        v->rc = omega_error_set(v->err, OMEGA_ECORRUPT,
                                "audit entry %llu is unreadable or "
                                "its sequence number was changed",
                                (unsigned long long)seq);
    else if (seq != v->next_seq)
        v->rc = omega_error_set(v->err, OMEGA_ECORRUPT,
                                "audit entries %llu..%llu are missing (removed or reordered)",
                                (unsigned long long)v->next_seq, (unsigned long long)seq - 1);
    else if (strcmp(prev, v->prev) != 0)
        v->rc = omega_error_set(v->err, OMEGA_ECORRUPT,
                                "audit entry %llu does not chain to entry %llu: one of them was "
                                "edited",
                                (unsigned long long)seq, (unsigned long long)seq - 1);
    if (v->rc == 0) {
        snprintf(v->last_prev, sizeof(v->last_prev), "%s", prev);
        sha256_hex(val, vlen, v->prev);
        v->next_seq++;
        v->n++;
    }
    json_decref(o);
    return v->rc ? 1 : 0;
}

int omega_auth_audit_verify(omega_auth_t *a, size_t *checked, omega_error_t *err)
{
    verify_ctx_t v = {.err = err};
    uint64_t head_seq = 0;
    char head[65] = ZERO_HASH;
    *checked = 0;
    pthread_mutex_lock(&a->audit_lock); /* a consistent snapshot: no append mid-walk */
    int rc = read_mark(a, ANCHOR_KV, &v.anchor_seq, v.prev, err);
    if (rc == OMEGA_ENOENT) {
        v.anchor_seq = 0;
        memcpy(v.prev, ZERO_HASH, 65);
        rc = 0;
    }
    v.next_seq = v.anchor_seq + 1;
    if (rc == 0)
        rc = omega_kv_scan(a->db, OMEGA_KV_AUDIT, NULL, 0, verify_one, &v, err);
    if (rc == 1)
        rc = v.rc;
    int hr = rc == 0 ? read_mark(a, HEAD_KV, &head_seq, head, err) : 0;
    pthread_mutex_unlock(&a->audit_lock);
    if (rc == 0 && hr == OMEGA_ENOENT && v.n == 0)
        return 0;
    if (rc == 0)
        rc = hr == OMEGA_ENOENT ? 0 : hr;
    if (rc != 0)
        return rc;
    uint64_t last = v.next_seq - 1;
    /* The head may lag the newest entry by one after a crash between the two writes. */
    int head_ok = (head_seq == last && strcmp(head, v.prev) == 0) ||
                  (v.n > 0 && head_seq + 1 == last && strcmp(head, v.last_prev) == 0);
    if (!head_ok)
        return omega_error_set(err, OMEGA_ECORRUPT,
                               "the newest audit entries were removed or edited (log ends at "
                               "%llu, head records %llu)",
                               (unsigned long long)last, (unsigned long long)head_seq);
    *checked = v.n;
    return 0;
}
