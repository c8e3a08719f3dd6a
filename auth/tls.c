/* SPDX-License-Identifier: Apache-2.0 */
/* The development certificate of `serve --tls-self-signed` (an EC P-256 key and a
 * self-signed X.509 certificate for localhost, made with OpenSSL's libcrypto, and its
 * SHA-256 fingerprint), and the check of configured TLS files before they are served.
 * Serving TLS is the server module's job. */
#include "auth_int.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TLS_VALID_DAYS 30
#define TLS_SAN        "DNS:localhost,IP:127.0.0.1,IP:::1"

/* Create every missing directory above path (not path itself) with mode 0700. */
static int make_parents(const char *path, omega_error_t *err)
{
    char dir[4096];
    if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
        return omega_error_set(err, OMEGA_EINVAL, "path too long: '%s'", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            return omega_error_set(err, OMEGA_EIO, "cannot create '%s': %s", dir, strerror(e));
        }
        *p = '/';
    }
    return 0;
}

/* One X.509v3 extension from its OpenSSL config text. */
static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A self-signed certificate for localhost over key's public half; NULL on failure. */
static X509 *make_cert(EVP_PKEY *key)
{
    X509 *x = X509_new();
    BIGNUM *serial = BN_new();
    int ok = x && serial && X509_set_version(x, 2) &&
             BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
             BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -300) &&
             X509_gmtime_adj(X509_getm_notAfter(x), (long)TLS_VALID_DAYS * 86400) &&
             X509_set_pubkey(x, key);
    X509_NAME *name = ok ? X509_get_subject_name(x) : NULL;
    ok =
        ok && name &&
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   (const unsigned char *)"omega-monitor development", -1, -1, 0) &&
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
                                   -1, 0) &&
        X509_set_issuer_name(x, name);
    ok = ok && add_ext(x, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
         add_ext(x, NID_ext_key_usage, "serverAuth") == 0 &&
         add_ext(x, NID_subject_alt_name, TLS_SAN) == 0 &&
         add_ext(x, NID_subject_key_identifier, "hash") == 0 && X509_sign(x, key, EVP_sha256()) > 0;
    BN_free(serial);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Write key (when non-NULL) or else cert as PEM to path through path.tmp + rename, mode 0600
 * for keys and 0644 for certificates. */
static int write_pem(const char *path, EVP_PKEY *key, X509 *cert, omega_error_t *err)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return omega_error_set(err, OMEGA_EINVAL, "path too long: '%s'", path);
    mode_t mode = key ? 0600 : 0644;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        int e = errno;
        return omega_error_set(err, OMEGA_EIO, "cannot create '%s': %s", tmp, strerror(e));
    }
    FILE *f = fchmod(fd, mode) == 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        close(fd);
        unlink(tmp);
        return omega_error_set(err, OMEGA_EIO, "cannot write '%s'", tmp);
    }
    int ok = key ? PEM_write_PKCS8PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
                 : PEM_write_X509(f, cert);
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return omega_error_set(err, OMEGA_EIO, "cannot write '%s'", path);
    }
    return 0;
}

/* Make a new key and certificate and write both. */
static int generate(const char *cert_path, const char *key_path, omega_error_t *err)
{
    int rc = make_parents(cert_path, err);
    if (rc == 0)
        rc = make_parents(key_path, err);
    if (rc != 0)
        return rc;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = key ? make_cert(key) : NULL;
    if (!cert)
        rc = omega_error_set(err, OMEGA_EIO, "cannot generate the TLS key and certificate");
    if (rc == 0)
        rc = write_pem(key_path, key, NULL, err);
    if (rc == 0)
        rc = write_pem(cert_path, NULL, cert, err);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

/* SHA-256 of the certificate at path as "AB:CD:..." into out. */
static int fingerprint_of(const char *path, char *out, size_t len, omega_error_t *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        return omega_error_set(err, OMEGA_EIO, "cannot open '%s': %s", path, strerror(e));
    }
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int ok = x && X509_digest(x, EVP_sha256(), md, &n);
    X509_free(x);
    if (!ok)
        return omega_error_set(err, OMEGA_EINVAL, "'%s' holds no PEM certificate", path);
    static const char hex[] = "0123456789ABCDEF";
    for (unsigned int i = 0; i < n; i++) {
        out[3 * i] = hex[md[i] >> 4];
        out[3 * i + 1] = hex[md[i] & 15];
        out[3 * i + 2] = i + 1 < n ? ':' : '\0';
    }
    return 0;
}

int omega_auth_tls_self_signed(const char *cert_path, const char *key_path, char *fingerprint,
                               size_t len, omega_error_t *err)
{
    if (!cert_path || !*cert_path || !key_path || !*key_path || !fingerprint ||
        len < OMEGA_TLS_FINGERPRINT_MAX)
        return omega_error_set(err, OMEGA_EINVAL,
                               "certificate and key paths and a %d-byte "
                               "fingerprint buffer are required",
                               OMEGA_TLS_FINGERPRINT_MAX);
    fingerprint[0] = '\0';
    if (access(cert_path, F_OK) != 0 || access(key_path, F_OK) != 0) {
        int rc = generate(cert_path, key_path, err);
        if (rc != 0)
            return rc;
    }
    return fingerprint_of(cert_path, fingerprint, len, err);
}

/* The first PEM certificate in path, or NULL. */
static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

/* err with path `field` for the file at fault. */
static int bad_file(omega_error_t *err, const char *field, const char *path, const char *why)
{
    return omega_error_set_path(err, OMEGA_EINVAL, field, "'%s': %s", path, why);
}

int omega_auth_tls_check_files(const char *cert_path, const char *key_path, const char *ca_path,
                               omega_error_t *err)
{
    if (!cert_path || !*cert_path)
        return omega_error_set_path(err, OMEGA_EINVAL, "cert", "no certificate file given");
    if (!key_path || !*key_path)
        return omega_error_set_path(err, OMEGA_EINVAL, "key", "no private key file given");
    X509 *cert = read_cert(cert_path);
    if (!cert)
        return bad_file(err, "cert", cert_path, "unreadable or not a PEM certificate");
    FILE *f = fopen(key_path, "r");
    EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    int rc = 0;
    if (!key)
        rc = bad_file(err, "key", key_path, "unreadable, encrypted or not a PEM private key");
    else if (X509_check_private_key(cert, key) != 1)
        rc = bad_file(err, "key", key_path, "does not belong to the certificate");
    EVP_PKEY_free(key);
    X509_free(cert);
    if (rc == 0 && ca_path && *ca_path) {
        X509 *ca = read_cert(ca_path);
        if (!ca)
            rc = bad_file(err, "client_ca", ca_path, "unreadable or not a PEM certificate");
        X509_free(ca);
    }
    return rc;
}
