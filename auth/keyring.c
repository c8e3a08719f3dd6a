/* SPDX-License-Identifier: Apache-2.0 */
/* The key hierarchy behind encryption at rest: the master key (OMEGA_MASTER_KEY or a 0600
 * key file, generated on first start), versioned AES-256 data keys wrapped by it and kept in
 * OMEGA_KV_META under "auth/datakey/<version>" (numbers never reused: "auth/keyseq"), and
 * the AES-256-GCM seal/open of one value. Which values are sealed, rotation and
 * re-encryption live in secrets.c. */
#include "auth_int.h"

#include "omega/log.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NONCE_LEN 12
#define TAG_LEN   16
#define WRAP_AAD  "omega datakey v%u"

/* ---- encodings ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *auth_b64_encode(const unsigned char *in, size_t n)
{
    char *out = omega_malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return out;
}

int auth_b64_decode(const char *in, size_t n, unsigned char **out, size_t *outlen)
{
    if (n == 0 || n % 4 != 0 || n > (1u << 30))
        return OMEGA_EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '/' || (c == '=' && i >= n - 2);
        if (!ok || (i == n - 2 && c == '=' && in[n - 1] != '='))
            return OMEGA_EINVAL;
    }
    unsigned char *buf = omega_malloc(n / 4 * 3 + 1);
    int len = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)n);
    if (len < 0) {
        free(buf);
        return OMEGA_EINVAL;
    }
    /* EVP_DecodeBlock counts the padding as zero bytes. */
    len -= (in[n - 1] == '=') + (in[n - 2] == '=');
    *out = buf;
    *outlen = (size_t)len;
    return 0;
}

/* A 32-byte key written as 64 hex digits or 44 base64 characters, surrounding blanks and
 * newlines ignored. 0 or OMEGA_EINVAL. */
static int key_parse(const char *text, size_t n, unsigned char key[AUTH_KEY_LEN])
{
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        n--;
    while (n && (*text == ' ' || *text == '\t')) {
        text++;
        n--;
    }
    if (n == 2 * AUTH_KEY_LEN) {
        for (size_t i = 0; i < AUTH_KEY_LEN; i++) {
            int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return OMEGA_EINVAL;
            key[i] = (unsigned char)(hi << 4 | lo);
        }
        return 0;
    }
    unsigned char *raw = NULL;
    size_t len = 0;
    if (auth_b64_decode(text, n, &raw, &len) != 0)
        return OMEGA_EINVAL;
    int rc = len == AUTH_KEY_LEN ? 0 : OMEGA_EINVAL;
    if (rc == 0)
        memcpy(key, raw, AUTH_KEY_LEN);
    OPENSSL_cleanse(raw, len);
    free(raw);
    return rc;
}

/* ---- AES-256-GCM ---- */

int auth_gcm_seal(const unsigned char key[AUTH_KEY_LEN], const void *aad, size_t aad_len,
                  const void *plain, size_t n, unsigned char *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0,
        ok = c && RAND_bytes(out, NONCE_LEN) == 1 &&
             EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, out) == 1 &&
             (aad_len == 0 || EVP_EncryptUpdate(c, NULL, &len, aad, (int)aad_len) == 1) &&
             (n == 0 || EVP_EncryptUpdate(c, out + NONCE_LEN, &len, plain, (int)n) == 1) &&
             EVP_EncryptFinal_ex(c, out + NONCE_LEN + n, &len) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + NONCE_LEN + n) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : OMEGA_EIO;
}

int auth_gcm_open(const unsigned char key[AUTH_KEY_LEN], const void *aad, size_t aad_len,
                  const unsigned char *in, size_t n, unsigned char *out)
{
    if (n < AUTH_GCM_OVERHEAD)
        return OMEGA_ECORRUPT;
    size_t clen = n - AUTH_GCM_OVERHEAD;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0;
    int ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, in) == 1 &&
             (aad_len == 0 || EVP_DecryptUpdate(c, NULL, &len, aad, (int)aad_len) == 1) &&
             (clen == 0 || EVP_DecryptUpdate(c, out, &len, in + NONCE_LEN, (int)clen) == 1) &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
                                 (void *)(in + NONCE_LEN + clen)) == 1 &&
             EVP_DecryptFinal_ex(c, out + clen, &len) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok)
        OPENSSL_cleanse(out, clen);
    return ok ? 0 : OMEGA_ECORRUPT;
}

/* ---- the master key ---- */

char *omega_auth_env_take(const char *name)
{
    char *val = name ? getenv(name) : NULL;
    if (!val)
        return NULL;
    size_t n = strlen(val);
    char *copy = n ? omega_strndup(val, n) : NULL;
    /* The bytes of the initial environment are what /proc/<pid>/environ shows: unsetenv
     * alone only drops the pointer to them. */
    OPENSSL_cleanse(val, n);
    unsetenv(name);
    return copy;
}

static int master_read(const char *path, unsigned char key[AUTH_KEY_LEN], omega_error_t *err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return omega_error_set(err, e == ENOENT ? OMEGA_ENOENT : OMEGA_EIO,
                               "cannot open master key file '%s': %s", path, strerror(e));
    }
    struct stat st;
    char buf[256];
    ssize_t n = -1;
    int rc = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = omega_error_set(err, OMEGA_EINVAL, "master key file '%s' is not a regular file", path);
    else if (st.st_mode & 077)
        rc = omega_error_set(err, OMEGA_EPERM,
                             "master key file '%s' is accessible by group or others (mode %04o); "
                             "run chmod 600 on it",
                             path, (unsigned)(st.st_mode & 07777));
    else if ((n = read(fd, buf, sizeof(buf))) < 0)
        rc = omega_error_set(err, OMEGA_EIO, "cannot read master key file '%s': %s", path,
                             strerror(errno));
    else if ((size_t)n == sizeof(buf) || key_parse(buf, (size_t)n, key) != 0)
        rc = omega_error_set(err, OMEGA_EINVAL,
                             "master key file '%s' must hold 32 bytes as 64 hex digits or "
                             "base64",
                             path);
    OPENSSL_cleanse(buf, sizeof(buf));
    close(fd);
    return rc;
}

static int master_generate(const char *path, unsigned char key[AUTH_KEY_LEN], omega_error_t *err)
{
    char hex[2 * AUTH_KEY_LEN + 2];
    if (RAND_bytes(key, AUTH_KEY_LEN) != 1)
        return omega_error_set(err, OMEGA_EIO, "no randomness available for the master key");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return omega_error_set(err, OMEGA_EIO, "cannot create master key file '%s': %s", path,
                               strerror(errno));
    auth_hex_encode(key, AUTH_KEY_LEN, hex);
    hex[2 * AUTH_KEY_LEN] = '\n';
    int ok = write(fd, hex, sizeof(hex) - 1) == (ssize_t)(sizeof(hex) - 1) && fsync(fd) == 0;
    int e = errno;
    OPENSSL_cleanse(hex, sizeof(hex));
    close(fd);
    if (!ok) {
        unlink(path);
        return omega_error_set(err, OMEGA_EIO, "cannot write master key file '%s': %s", path,
                               strerror(e));
    }
    omega_log_warn("generated a new master key in '%s': keep a copy of it apart from the data "
                   "directory and its backups, or encrypted values cannot be read again",
                   path);
    return 0;
}

/* Fill a->master from the options: the given key text, else the key file, else (when
 * allowed) a new key file. *have is 0 when no key could be had and none may be made. */
static int master_load(omega_auth_t *a, int may_generate, int *have, omega_error_t *err)
{
    const omega_auth_options_t *o = &a->opts;
    *have = 0;
    if (o->master_key && *o->master_key) {
        if (key_parse(o->master_key, strlen(o->master_key), a->master) != 0)
            return omega_error_set_path(err, OMEGA_EINVAL, "OMEGA_MASTER_KEY",
                                        "the master key must be 32 bytes written as 64 hex "
                                        "digits or base64");
        *have = 1;
        return 0;
    }
    char def[4096];
    const char *path = o->master_key_file;
    if ((!path || !*path) && o->data_dir && *o->data_dir) {
        if ((size_t)snprintf(def, sizeof(def), "%s/master.key", o->data_dir) >= sizeof(def))
            return omega_error_set(err, OMEGA_EINVAL, "data directory path too long");
        path = def;
    }
    if (!path || !*path)
        return 0;
    int rc = master_read(path, a->master, err);
    if (rc == OMEGA_ENOENT && may_generate)
        rc = master_generate(path, a->master, err);
    else if (rc == OMEGA_ENOENT && !may_generate)
        return 0;
    if (rc == 0)
        *have = 1;
    return rc;
}

/* ---- data keys ---- */

static void datakey_name(uint32_t version, char name[40])
{
    snprintf(name, 40, "%s%08x", AUTH_DATAKEY_PREFIX, version);
}

typedef struct dk_scan {
    omega_auth_t *a;
    int rc;
    omega_error_t *err;
} dk_scan_t;

static int datakey_add(omega_auth_t *a, uint32_t version, int64_t created_ms,
                       const unsigned char key[AUTH_KEY_LEN])
{
    auth_datakey_t *d = NULL;
    if (a->n_datakeys < AUTH_DATAKEYS_MAX)
        d = &a->datakeys[a->n_datakeys++];
    for (size_t i = 0; !d && i < a->n_datakeys; i++) /* full: reuse a retired slot */
        if (a->datakeys[i].retired)
            d = &a->datakeys[i];
    if (!d)
        return OMEGA_E2BIG;
    OPENSSL_cleanse(d->key, sizeof(d->key));
    d->retired = 0;
    d->version = version;
    d->created_ms = created_ms;
    memcpy(d->key, key, AUTH_KEY_LEN);
    return 0;
}

/* One stored data key: "<created Unix ms>:<base64(nonce | wrapped key | tag)>". */
static int datakey_load_one(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    dk_scan_t *s = ctx;
    size_t plen = strlen(AUTH_DATAKEY_PREFIX);
    char name[64], text[256];
    unsigned char *raw = NULL, dk[AUTH_KEY_LEN], aad[32];
    size_t rawlen = 0;
    unsigned version = 0;
    long long created = 0;
    int off = 0;
    if (klen >= sizeof(name) || vlen >= sizeof(text))
        goto corrupt;
    memcpy(name, key, klen);
    name[klen] = '\0';
    memcpy(text, val, vlen);
    text[vlen] = '\0';
    if (sscanf(name + plen, "%8x", &version) != 1 || version == 0 ||
        sscanf(text, "%lld:%n", &created, &off) != 1 || off == 0 ||
        auth_b64_decode(text + off, vlen - (size_t)off, &raw, &rawlen) != 0 ||
        rawlen != AUTH_KEY_LEN + AUTH_GCM_OVERHEAD)
        goto corrupt;
    int alen = snprintf((char *)aad, sizeof(aad), WRAP_AAD, version);
    if (auth_gcm_open(s->a->master, aad, (size_t)alen, raw, rawlen, dk) != 0) {
        free(raw);
        s->rc = omega_error_set(s->err, OMEGA_EACCES,
                                "the master key does not open data key v%u of this store: wrong "
                                "OMEGA_MASTER_KEY or master key file",
                                version);
        return 1;
    }
    free(raw);
    s->rc = datakey_add(s->a, version, created, dk);
    OPENSSL_cleanse(dk, sizeof(dk));
    if (s->rc != 0)
        omega_error_set(s->err, s->rc, "too many data key versions in the store");
    return s->rc != 0;
corrupt:
    free(raw);
    s->rc = omega_error_set(s->err, OMEGA_ECORRUPT, "stored data key '%.*s' is corrupt",
                            (int)(klen < 60 ? klen : 60), (const char *)key);
    return 1;
}

static int datakeys_load(omega_auth_t *a, omega_error_t *err)
{
    dk_scan_t s = {.a = a, .err = err};
    int rc = omega_kv_scan(a->db, OMEGA_KV_META, AUTH_DATAKEY_PREFIX, strlen(AUTH_DATAKEY_PREFIX),
                           datakey_load_one, &s, err);
    return s.rc ? s.rc : rc;
}

/* Is any data key stored? (To refuse a store with keys but no master key.) */
static int datakeys_present(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key, (void)klen, (void)val, (void)vlen;
    *(int *)ctx = 1;
    return 1;
}

/* The highest version ever made (8 hex digits under AUTH_KEYSEQ_KEY; 0 when never
 * recorded): versions are never reused, even after encryption was switched off and every
 * key retired, so "sealed under an older version" keeps its meaning for blob holders. */
static int keyseq_get(omega_auth_t *a, uint32_t *last, omega_error_t *err)
{
    char *val = NULL;
    size_t vlen = 0;
    unsigned v = 0;
    *last = 0;
    int rc = omega_kv_get(a->db, OMEGA_KV_META, AUTH_KEYSEQ_KEY, strlen(AUTH_KEYSEQ_KEY), &val,
                          &vlen, err);
    if (rc == OMEGA_ENOENT)
        return 0;
    if (rc == 0 && (vlen != 8 || sscanf(val, "%8x", &v) != 1))
        rc = omega_error_set(err, OMEGA_ECORRUPT, "stored '%s' is corrupt", AUTH_KEYSEQ_KEY);
    free(val);
    *last = v;
    return rc;
}

int auth_datakey_create(omega_auth_t *a, int64_t now_ms, uint32_t *version, omega_error_t *err)
{
    uint32_t v = 1, last = 0;
    for (size_t i = 0; i < a->n_datakeys; i++)
        if (a->datakeys[i].version >= v)
            v = a->datakeys[i].version + 1;
    int rc = keyseq_get(a, &last, err);
    if (rc != 0)
        return rc;
    if (last >= v)
        v = last + 1;
    if (auth_datakeys_active(a) == AUTH_DATAKEYS_MAX)
        return omega_error_set(err, OMEGA_E2BIG,
                               "too many data key versions; wait for re-encryption to retire old "
                               "ones");
    unsigned char dk[AUTH_KEY_LEN], wrapped[AUTH_KEY_LEN + AUTH_GCM_OVERHEAD];
    char aad[32], name[40];
    if (RAND_bytes(dk, sizeof(dk)) != 1)
        return omega_error_set(err, OMEGA_EIO, "no randomness available for a data key");
    int alen = snprintf(aad, sizeof(aad), WRAP_AAD, v);
    char seq[9];
    snprintf(seq, sizeof(seq), "%08x", v);
    rc = omega_kv_put(a->db, OMEGA_KV_META, AUTH_KEYSEQ_KEY, strlen(AUTH_KEYSEQ_KEY), seq, 8, err);
    if (rc != 0) {
        OPENSSL_cleanse(dk, sizeof(dk));
        return rc;
    }
    rc = auth_gcm_seal(a->master, aad, (size_t)alen, dk, sizeof(dk), wrapped);
    if (rc != 0) {
        OPENSSL_cleanse(dk, sizeof(dk));
        return omega_error_set(err, rc, "cannot wrap a new data key");
    }
    char *b64 = auth_b64_encode(wrapped, sizeof(wrapped));
    char *val = omega_malloc(strlen(b64) + 32);
    int vlen = sprintf(val, "%lld:%s", (long long)now_ms, b64);
    datakey_name(v, name);
    rc = omega_kv_put(a->db, OMEGA_KV_META, name, strlen(name), val, (size_t)vlen, err);
    if (rc == 0)
        rc = datakey_add(a, v, now_ms, dk);
    OPENSSL_cleanse(dk, sizeof(dk));
    free(val);
    free(b64);
    if (rc == 0)
        *version = v;
    return rc;
}

int auth_datakey_retire(omega_auth_t *a, uint32_t below, omega_error_t *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < a->n_datakeys; i++) {
        auth_datakey_t *d = &a->datakeys[i];
        if (d->version >= below || d->retired || d->pinned)
            continue;
        char name[40];
        datakey_name(d->version, name);
        rc = omega_kv_delete(a->db, OMEGA_KV_META, name, strlen(name), err);
        /* Kept in memory: a reader that fetched a value before the walk re-wrote it (the
         * alert engine loading its channels, say) must still be able to open it. */
        if (rc == 0)
            d->retired = 1;
    }
    return rc;
}

size_t auth_datakeys_active(const omega_auth_t *a)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n_datakeys; i++)
        n += !a->datakeys[i].retired;
    return n;
}

size_t auth_datakeys_retirable(const omega_auth_t *a)
{
    const auth_datakey_t *cur = a->opts.encrypt ? auth_datakey_current(a) : NULL;
    size_t n = 0;
    for (size_t i = 0; i < a->n_datakeys; i++)
        n += !a->datakeys[i].retired && !a->datakeys[i].pinned && &a->datakeys[i] != cur;
    return n;
}

size_t auth_datakeys_pinned(const omega_auth_t *a)
{
    const auth_datakey_t *cur = auth_datakey_current(a);
    size_t n = 0;
    for (size_t i = 0; i < a->n_datakeys; i++)
        n += !a->datakeys[i].retired && a->datakeys[i].pinned && &a->datakeys[i] != cur;
    return n;
}

const auth_datakey_t *auth_datakey_find(const omega_auth_t *a, uint32_t version)
{
    for (size_t i = 0; i < a->n_datakeys; i++)
        if (a->datakeys[i].version == version)
            return &a->datakeys[i];
    return NULL;
}

const auth_datakey_t *auth_datakey_current(const omega_auth_t *a)
{
    const auth_datakey_t *best = NULL;
    for (size_t i = 0; i < a->n_datakeys; i++)
        if (!a->datakeys[i].retired && (!best || a->datakeys[i].version > best->version))
            best = &a->datakeys[i];
    return best;
}

int auth_keyring_open(omega_auth_t *a, omega_error_t *err)
{
    int have = 0, stored = 0;
    int rc = omega_kv_scan(a->db, OMEGA_KV_META, AUTH_DATAKEY_PREFIX, strlen(AUTH_DATAKEY_PREFIX),
                           datakeys_present, &stored, err);
    if (rc == 1)
        rc = 0;
    if (rc == 0)
        rc = master_load(a, a->opts.encrypt, &have, err);
    if (rc != 0)
        return rc;
    a->have_master = have;
    if (!have && stored)
        return omega_error_set(err, OMEGA_EACCES,
                               "this store holds encrypted secrets but no master key is "
                               "available (set OMEGA_MASTER_KEY or security.master_key_file)");
    if (!have && a->opts.encrypt)
        return omega_error_set(err, OMEGA_EINVAL,
                               "encryption at rest needs a master key: set OMEGA_MASTER_KEY or "
                               "a master key file");
    if (have)
        rc = datakeys_load(a, err);
    if (have && rc == 0)
        rc = auth_blob_pins_load(a, err);
    uint32_t v = 0;
    if (rc == 0 && a->opts.encrypt && a->n_datakeys == 0)
        rc = auth_datakey_create(a, omega_now_ms(), &v, err);
    return rc;
}

void auth_keyring_close(omega_auth_t *a)
{
    OPENSSL_cleanse(a->master, sizeof(a->master));
    OPENSSL_cleanse(a->datakeys, sizeof(a->datakeys));
    a->n_datakeys = 0;
}
