/* SPDX-License-Identifier: Apache-2.0 */
/* Leveled logging to stderr (and a file when configured), with timestamp, level and
 * source position. The level is checked before arguments are evaluated. Thread-safe. */
#ifndef OMEGA_LOG_H
#define OMEGA_LOG_H

typedef enum omega_log_level {
    OMEGA_LOG_ERROR = 0, /* someone must act */
    OMEGA_LOG_WARN = 1,  /* degraded */
    OMEGA_LOG_INFO = 2,  /* lifecycle */
    OMEGA_LOG_DEBUG = 3, /* off by default */
} omega_log_level_t;

extern volatile int omega_log_current_level;

/* Set the threshold; messages above it are skipped. */
void omega_log_set_level(omega_log_level_t level);
/* Parse "error|warn|info|debug"; returns 0 and sets *out, or -1. */
int omega_log_level_parse(const char *name, omega_log_level_t *out);
/* Also append to this file (NULL or "" to stop). Returns 0 or a negative OMEGA_E*. */
int omega_log_set_file(const char *path);
/* Close the log file, if any. */
void omega_log_shutdown(void);

void omega_log_emit(omega_log_level_t level, const char *file, int line, const char *func,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define omega_log(level, ...)                                                                      \
    do {                                                                                           \
        if ((int)(level) <= omega_log_current_level)                                               \
            omega_log_emit((level), __FILE__, __LINE__, __func__, __VA_ARGS__);                    \
    } while (0)

#define omega_log_error(...) omega_log(OMEGA_LOG_ERROR, __VA_ARGS__)
#define omega_log_warn(...)  omega_log(OMEGA_LOG_WARN, __VA_ARGS__)
#define omega_log_info(...)  omega_log(OMEGA_LOG_INFO, __VA_ARGS__)
#define omega_log_debug(...) omega_log(OMEGA_LOG_DEBUG, __VA_ARGS__)

#endif
