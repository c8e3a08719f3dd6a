/* SPDX-License-Identifier: Apache-2.0 */
/* Log sink: one line per message, "2026-11-26T07:01:49.123Z INFO  file.c:12 message",
 * to stderr and optionally appended to a file. A mutex keeps lines whole across threads. */
#include "omega/log.h"
#include "omega/common.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

volatile int omega_log_current_level = OMEGA_LOG_INFO;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_file;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void omega_log_set_level(omega_log_level_t level)
{
    omega_log_current_level = (int)level;
}

int omega_log_level_parse(const char *name, omega_log_level_t *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (!name)
        return -1;
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, names[i]) == 0) {
            *out = (omega_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

int omega_log_set_file(const char *path)
{
    FILE *f = NULL;
    if (path && *path) {
        f = fopen(path, "ae");
        if (!f)
            return OMEGA_EIO;
        setvbuf(f, NULL, _IOLBF, 0);
    }
    pthread_mutex_lock(&log_lock);
    FILE *old = log_file;
    log_file = f;
    pthread_mutex_unlock(&log_lock);
    if (old)
        fclose(old);
    return 0;
}

void omega_log_shutdown(void)
{
    omega_log_set_file(NULL);
}

void omega_log_emit(omega_log_level_t level, const char *file, int line, const char *func,
                    const char *fmt, ...)
{
    char msg[2048];
    char ts[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    omega_time_format_rfc3339(omega_now_ms(), ts, sizeof(ts));
    int li = level < 0 || level > OMEGA_LOG_DEBUG ? OMEGA_LOG_ERROR : (int)level;
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s %-5s %s:%d %s\n", ts, level_names[li], base, line, msg);
    if (log_file)
        fprintf(log_file, "%s %-5s %s:%d %s %s\n", ts, level_names[li], base, line, func, msg);
    pthread_mutex_unlock(&log_lock);
}
