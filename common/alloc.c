/* SPDX-License-Identifier: Apache-2.0 */
/* Allocators for fixed-size needs: an allocation failure here is fatal by design,
 * input-sized allocations are bounded by their callers first. */
#include "omega/common.h"
#include "omega/log.h"

#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    omega_log_error("out of memory allocating %zu bytes", n);
    abort();
}

void *omega_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *omega_calloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (!p)
        oom(count * n);
    return p;
}

void *omega_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *omega_strdup(const char *s)
{
    return omega_strndup(s, strlen(s));
}

char *omega_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = omega_malloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
