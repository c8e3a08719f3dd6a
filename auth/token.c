/* SPDX-License-Identifier: Apache-2.0 */
/* Session tokens: HS256 JWTs issued and decoded with libjwt 1.10, which checks no claims
 * and compares signatures with strcmp. So before libjwt sees a token we check its form,
 * require the header's alg to be exactly "HS256" and compare the HMAC ourselves in
 * constant time; after jwt_decode we check the algorithm again and validate exp, iat,
 * nbf, sub, role and jti. Whether the user still exists is auth.c's question. */
#include "auth_int.h"

#include <jansson.h>
#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HS256_SIG_LEN  43             /* base64url of 32 bytes, unpadded */
#define CLAIM_TIME_MAX 100000000000LL /* seconds (year 5138); bounds arithmetic */
#define TOKEN_MAX      (sizeof(((omega_token_t *)0)->token) - 1)

/* Token claims after type checks; strings are borrowed from the parsed JSON. */
typedef struct claims {
    const char *sub; /* user name */
    const char *jti; /* token id, 32 hex chars */
    int64_t iat;     /* issued at, Unix s */
    int64_t exp;     /* expires, Unix s */
    int64_t nbf;     /* not before, Unix s; 0 when absent */
    int64_t iat_ms;  /* private claim "iat_ms": issue time in Unix ms; iat * 1000 if absent */
} claims_t;

static int deny(omega_error_t *err, const char *reason)
{
    return omega_error_set(err, OMEGA_EACCES, "%s", reason);
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decode unpadded base64url; out must hold len * 3 / 4 bytes. Returns the length or -1. */
static long b64url_decode(const char *in, size_t len, unsigned char *out)
{
    if (len % 4 == 1)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    long n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return n;
}

/* Encode n bytes as unpadded base64url into out (>= (n * 4 + 2) / 3 + 1). */
static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
    static const char sym[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = sym[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = sym[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

/* The header must be a JSON object with alg exactly "HS256", typ absent or "JWT",
 * and no "crit" (we understand no extensions). */
static int check_header(const char *seg, size_t len, omega_error_t *err)
{
    unsigned char buf[TOKEN_MAX];
    long n = b64url_decode(seg, len, buf);
    if (n <= 0)
        return deny(err, "malformed token");
    json_t *hdr = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    int rc = 0;
    if (!json_is_object(hdr)) {
        rc = deny(err, "malformed token");
    } else {
        const char *alg = json_string_value(json_object_get(hdr, "alg"));
        json_t *typ = json_object_get(hdr, "typ");
        if (!alg || strcmp(alg, "HS256") != 0)
            rc = deny(err, "unsupported algorithm");
        else if ((typ && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0)) ||
                 json_object_get(hdr, "crit"))
            rc = deny(err, "malformed token");
    }
    json_decref(hdr);
    return rc;
}

/* HMAC-SHA256 over "header.payload" compared with sig in constant time. */
static int check_signature(const omega_auth_t *a, const char *signed_part, size_t len,
                           const char *sig, size_t sig_len, omega_error_t *err)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char expect[HS256_SIG_LEN + 2];
    if (!HMAC(EVP_sha256(), a->key, AUTH_KEY_LEN, (const unsigned char *)signed_part, len, mac,
              &mac_len) ||
        mac_len != 32)
        return deny(err, "bad signature");
    b64url_encode(mac, mac_len, expect);
    if (sig_len != HS256_SIG_LEN || CRYPTO_memcmp(expect, sig, HS256_SIG_LEN) != 0)
        return deny(err, "bad signature");
    return 0;
}

/* Split into three base64url segments and run the checks libjwt does not do well. */
static int check_form(const omega_auth_t *a, const char *token, omega_error_t *err)
{
    if (!token || !*token)
        return deny(err, "missing token");
    size_t len = strnlen(token, TOKEN_MAX + 1);
    if (len > TOKEN_MAX)
        return deny(err, "token too long");
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot1 || !dot2 || dot1 == token || dot2 == dot1 + 1)
        return deny(err, "malformed token");
    const char *sig = dot2 + 1;
    size_t sig_len = len - (size_t)(sig - token);
    for (size_t i = 0; i < len; i++)
        if (token + i != dot1 && token + i != dot2 && b64url_value(token[i]) < 0)
            return deny(err, "malformed token");
    int rc = check_header(token, (size_t)(dot1 - token), err);
    if (rc == 0)
        rc = check_signature(a, token, (size_t)(dot2 - token), sig, sig_len, err);
    return rc;
}

static int claim_time(json_t *c, const char *name, int required, int64_t *out)
{
    json_t *v = json_object_get(c, name);
    if (!v) {
        *out = 0;
        return required ? -1 : 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > CLAIM_TIME_MAX)
        return -1;
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int claims_read(json_t *c, claims_t *out)
{
    out->sub = json_string_value(json_object_get(c, "sub"));
    out->jti = json_string_value(json_object_get(c, "jti"));
    const char *role = json_string_value(json_object_get(c, "role"));
    omega_role_t r;
    if (!omega_auth_username_valid(out->sub) || !out->jti ||
        strlen(out->jti) != 2 * AUTH_JTI_BYTES || !role || omega_role_parse(role, &r) != 0)
        return -1;
    if (claim_time(c, "iat", 1, &out->iat) || claim_time(c, "exp", 1, &out->exp) ||
        claim_time(c, "nbf", 0, &out->nbf))
        return -1;
    /* Millisecond issue time, so a password change revokes tokens issued earlier in the
     * same second; it must agree with iat. */
    json_t *ms = json_object_get(c, "iat_ms");
    out->iat_ms = out->iat * 1000;
    if (ms) {
        if (!json_is_integer(ms) || json_integer_value(ms) < 0 ||
            json_integer_value(ms) / 1000 != out->iat)
            return -1;
        out->iat_ms = (int64_t)json_integer_value(ms);
    }
    return 0;
}

static int check_times(const omega_auth_t *a, const claims_t *c, omega_error_t *err)
{
    int64_t now = omega_now_ms(), skew = a->opts.clock_skew_ms;
    /* RFC 7519: the token must not be accepted on or after exp. */
    if (now >= c->exp * 1000 + skew)
        return deny(err, "token expired");
    if (c->iat * 1000 > now + skew)
        return deny(err, "token issued in the future");
    if (c->nbf * 1000 > now + skew)
        return deny(err, "token not yet valid");
    return 0;
}

/* Claims of a decoded token into out; checks types and times. */
static int check_claims(omega_auth_t *a, jwt_t *jwt, omega_principal_t *out, int64_t *iat_ms,
                        omega_error_t *err)
{
    char *text = jwt_get_grants_json(jwt, NULL);
    json_t *root = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    claims_t c = {0};
    int rc = 0;
    if (!json_is_object(root) || claims_read(root, &c) != 0)
        rc = deny(err, "bad claims");
    else
        rc = check_times(a, &c, err);
    if (rc == 0) {
        snprintf(out->username, sizeof(out->username), "%s", c.sub);
        snprintf(out->jti, sizeof(out->jti), "%s", c.jti);
        out->expires_at_ms = c.exp * 1000;
        *iat_ms = c.iat_ms;
    }
    json_decref(root);
    return rc;
}

int auth_token_check(omega_auth_t *a, const char *token, omega_principal_t *out, int64_t *iat_ms,
                     omega_error_t *err)
{
    int rc = check_form(a, token, err);
    if (rc != 0)
        return rc;
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, token, a->key, AUTH_KEY_LEN) != 0 || !jwt)
        return deny(err, "malformed token");
    if (jwt_get_alg(jwt) != JWT_ALG_HS256)
        rc = deny(err, "unsupported algorithm");
    else
        rc = check_claims(a, jwt, out, iat_ms, err);
    jwt_free(jwt);
    return rc;
}

int auth_token_issue(omega_auth_t *a, const char *name, omega_role_t role, omega_token_t *out,
                     omega_error_t *err)
{
    jwt_t *jwt = NULL;
    char *text = NULL;
    char jti[2 * AUTH_JTI_BYTES + 1];
    int64_t now = omega_now_ms();
    /* Whole seconds (NumericDate); rounding exp down never extends the lifetime. */
    long iat = (long)(now / 1000), exp = (long)((now + a->opts.token_ttl_ms) / 1000);
    int rc = OMEGA_EIO;

    if (auth_random_hex(jti, AUTH_JTI_BYTES) != 0 || jwt_new(&jwt) != 0)
        goto out;
    if (jwt_add_grant(jwt, "sub", name) || jwt_add_grant(jwt, "role", omega_role_name(role)) ||
        jwt_add_grant_int(jwt, "iat", iat) || jwt_add_grant_int(jwt, "iat_ms", (long)now) ||
        jwt_add_grant_int(jwt, "exp", exp) || jwt_add_grant(jwt, "jti", jti) ||
        jwt_set_alg(jwt, JWT_ALG_HS256, a->key, AUTH_KEY_LEN))
        goto out;
    text = jwt_encode_str(jwt);
    if (!text || strlen(text) > TOKEN_MAX)
        goto out;
    memcpy(out->token, text, strlen(text) + 1);
    out->expires_at_ms = (int64_t)exp * 1000;
    out->role = role;
    rc = 0;
out:
    free(text);
    jwt_free(jwt);
    if (rc != 0)
        omega_error_set(err, rc, "cannot issue a token for '%s'", name);
    return rc;
}
