/* SPDX-License-Identifier: Apache-2.0 */
/* Base64 decoding (RFC 4648, standard and URL-safe alphabets, padding optional), for
 * credentials that arrive in HTTP Basic authorization headers. */
#include "omega/common.h"

#include <stdint.h>

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

size_t omega_base64_decode(const char *in, size_t n, char *out, size_t out_cap)
{
    while (n > 0 && in[n - 1] == '=')
        n--;
    if (n % 4 == 1 || (n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0) >= out_cap)
        return SIZE_MAX;
    uint32_t acc = 0;
    size_t bits = 0, len = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0)
            return SIZE_MAX;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[len++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[len] = '\0';
    return len;
}
