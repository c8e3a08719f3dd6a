/* SPDX-License-Identifier: Apache-2.0 */
/* gzip request bodies: inflate in bounded pieces straight into a sink (the line-protocol
 * parser or a buffer), stopping as soon as the decoded size passes the limit, so a gzip
 * bomb costs at most the limit. Concatenated members are accepted (as gzip(1) does). */
#include "ingest_int.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define OUT_CHUNK 65536

int omega_gunzip(const void *in, size_t len, size_t max_out, omega_ingest_sink_fn sink, void *ctx,
                 omega_error_t *err)
{
    if (len < 2 || ((const unsigned char *)in)[0] != 0x1f || ((const unsigned char *)in)[1] != 0x8b)
        return omega_error_set(err, OMEGA_EINVAL,
                               "body is not gzip data (Content-Encoding: gzip was sent)");
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return omega_error_set(err, OMEGA_ENOMEM, "cannot start the gzip decoder");
    char *out = omega_malloc(OUT_CHUNK);
    size_t total = 0;
    int rc = 0;
    const unsigned char *p = in;
    size_t left = len;
    int ended = 0;
    while (rc == 0) {
        /* zlib counts in uInt: feed at most 1 GiB at a time. */
        if (zs.avail_in == 0 && left) {
            size_t take = left > (1u << 30) ? (1u << 30) : left;
            zs.next_in = (unsigned char *)(uintptr_t)p;
            zs.avail_in = (uInt)take;
            p += take;
            left -= take;
        }
        if (ended && zs.avail_in == 0)
            break; /* every member decoded */
        zs.next_out = (unsigned char *)out;
        zs.avail_out = OUT_CHUNK;
        int z = inflate(&zs, Z_NO_FLUSH);
        size_t got = OUT_CHUNK - zs.avail_out;
        ended = 0;
        if (got) {
            total += got;
            if (total > max_out) {
                rc = omega_error_set(err, OMEGA_E2BIG,
                                     "gzip body decodes to more than the limit of %zu bytes",
                                     max_out);
                break;
            }
            rc = sink(ctx, out, got);
            if (rc)
                break;
        }
        if (z == Z_STREAM_END) {
            ended = 1;
            if (zs.avail_in || left)
                inflateReset(&zs); /* another member follows */
            continue;
        }
        if (z == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) {
            rc = omega_error_set(err, OMEGA_EINVAL, "gzip body is truncated");
            break;
        }
        if (z != Z_OK && z != Z_BUF_ERROR) {
            rc = omega_error_set(err, OMEGA_EINVAL, "gzip body is corrupt: %s",
                                 zs.msg ? zs.msg : "decoder error");
            break;
        }
    }
    inflateEnd(&zs);
    free(out);
    return rc;
}
