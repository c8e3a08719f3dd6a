/* SPDX-License-Identifier: Apache-2.0 */
/* Password policy, Argon2id hashing and verification (libargon2), and the random
 * material of the module (salts, token ids, bootstrap passwords) from OpenSSL's CSPRNG.
 * Parameters are OWASP's minimum for Argon2id: t=2 passes, m=19 MiB, p=1, with a 16-byte
 * salt and a 32-byte tag; they are part of each encoded hash, so raising them later keeps
 * old hashes verifiable. Storing and looking up users is user.c's job. */
#include "auth_int.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#define PW_T_COST   2u     /* passes */
#define PW_M_COST   19456u /* KiB (19 MiB) */
#define PW_PARALLEL 1u     /* lanes */
#define PW_SALT_LEN 16u    /* bytes */
#define PW_HASH_LEN 32u    /* bytes */

/* No 0/O/o, 1/l/I: a person copies this from a terminal once. 56 symbols. */
static const char unambiguous[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

static size_t utf8_code_points(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

int auth_password_policy(const char *pw, uint32_t min_len, omega_error_t *err)
{
    if (!pw)
        return omega_error_set_path(err, OMEGA_EINVAL, "password", "password is missing");
    size_t len = strlen(pw);
    if (len > OMEGA_AUTH_PASSWORD_MAX)
        return omega_error_set_path(err, OMEGA_EINVAL, "password",
                                    "password is longer than %d bytes", OMEGA_AUTH_PASSWORD_MAX);
    if (!omega_utf8_valid(pw, len))
        return omega_error_set_path(err, OMEGA_EINVAL, "password", "password is not valid UTF-8");
    if (utf8_code_points(pw, len) < min_len)
        return omega_error_set_path(err, OMEGA_EINVAL, "password",
                                    "password is shorter than %u characters", (unsigned)min_len);
    return 0;
}

int auth_password_hash(const char *pw, char out[AUTH_HASH_MAX], omega_error_t *err)
{
    unsigned char salt[PW_SALT_LEN];
    if (RAND_bytes(salt, sizeof(salt)) != 1)
        return omega_error_set(err, OMEGA_EIO, "no randomness available for a salt");
    size_t need =
        argon2_encodedlen(PW_T_COST, PW_M_COST, PW_PARALLEL, PW_SALT_LEN, PW_HASH_LEN, Argon2_id);
    if (need > AUTH_HASH_MAX)
        return omega_error_set(err, OMEGA_EIO, "Argon2id hash needs %zu bytes", need);
    int rc = argon2id_hash_encoded(PW_T_COST, PW_M_COST, PW_PARALLEL, pw, strlen(pw), salt,
                                   sizeof(salt), PW_HASH_LEN, out, AUTH_HASH_MAX);
    if (rc != ARGON2_OK)
        return omega_error_set(err, OMEGA_EIO, "Argon2id hashing failed: %s",
                               argon2_error_message(rc));
    return 0;
}

int auth_password_verify(const char *hash, const char *pw)
{
    /* Only our own format: a record naming argon2i/argon2d was not written by us. */
    if (strncmp(hash, "$argon2id$", 10) != 0)
        return OMEGA_ECORRUPT;
    int rc = argon2id_verify(hash, pw, strlen(pw));
    switch (rc) {
    case ARGON2_OK:
        return 0;
    case ARGON2_VERIFY_MISMATCH:
        return OMEGA_EACCES;
    case ARGON2_MEMORY_ALLOCATION_ERROR:
        return OMEGA_EIO;
    default:
        return OMEGA_ECORRUPT;
    }
}

int auth_password_generate(char *out, size_t n)
{
    const unsigned alphabet = sizeof(unambiguous) - 1;
    /* Bytes at or above the largest multiple of the alphabet size are drawn again,
     * so every symbol is equally likely (no modulo bias). */
    const unsigned limit = 256u - 256u % alphabet;
    unsigned char buf[64];
    size_t have = 0, used = 0, i = 0;

    while (i < n) {
        if (used == have) {
            if (RAND_bytes(buf, sizeof(buf)) != 1)
                return OMEGA_EIO;
            have = sizeof(buf);
            used = 0;
        }
        unsigned b = buf[used++];
        if (b < limit)
            out[i++] = unambiguous[b % alphabet];
    }
    out[n] = '\0';
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

void auth_hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0F];
    }
    out[2 * n] = '\0';
}

int auth_random_hex(char *out, size_t n)
{
    unsigned char buf[64];
    if (n > sizeof(buf) || RAND_bytes(buf, (int)n) != 1)
        return OMEGA_EIO;
    auth_hex_encode(buf, n, out);
    return 0;
}
