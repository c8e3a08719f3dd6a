/* SPDX-License-Identifier: Apache-2.0 */
/* Status code names and the omega_error_t helpers. */
#include "omega/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *omega_strerror(int rc)
{
    switch (rc) {
    case OMEGA_OK:
        return "success";
    case OMEGA_EINVAL:
        return "invalid input";
    case OMEGA_ENOENT:
        return "not found";
    case OMEGA_EEXIST:
        return "already exists";
    case OMEGA_EIO:
        return "I/O error";
    case OMEGA_ENOMEM:
        return "out of memory";
    case OMEGA_EACCES:
        return "bad or missing credentials";
    case OMEGA_EPERM:
        return "permission denied";
    case OMEGA_ENOSPC:
        return "storage full";
    case OMEGA_E2BIG:
        return "over limit";
    case OMEGA_EAGAIN:
        return "overloaded, try again";
    case OMEGA_ECORRUPT:
        return "data corrupted";
    case OMEGA_EUNSUPP:
        return "not supported";
    case OMEGA_ETIMEDOUT:
        return "timed out";
    default:
        return "unknown error";
    }
}

static void vset(omega_error_t *err, int code, const char *path, const char *fmt, va_list ap)
{
    err->code = code;
    err->line = 0;
    err->column = 0;
    snprintf(err->path, sizeof(err->path), "%s", path ? path : "");
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

int omega_error_set(omega_error_t *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vset(err, code, NULL, fmt, ap);
        va_end(ap);
    }
    return code;
}

int omega_error_set_path(omega_error_t *err, int code, const char *path, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vset(err, code, path, fmt, ap);
        va_end(ap);
    }
    return code;
}

void omega_error_clear(omega_error_t *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
}
