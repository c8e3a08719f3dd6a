/* SPDX-License-Identifier: Apache-2.0 */
/* omega-monitor's command line: `serve`, `user ...`, `--validate-config FILE`, `--version`,
 * `--help`.
 * Settings come from built-in defaults, then the config file (--config or OMEGA_CONFIG),
 * then OMEGA_* environment variables, then command-line flags. */
#include "omega/config.h"
#include "omega/log.h"
#include "omega/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static const char usage[] =
    "usage: omega-monitor serve [--config FILE] [--listen HOST:PORT] [--data-dir DIR]\n"
    "       omega-monitor user add|passwd|disable|enable NAME [--role ROLE] [--email ADDR]\n"
    "                          [--config FILE] [--data-dir DIR]   (server stopped)\n"
    "       omega-monitor --data-integrity [--config FILE] [--data-dir DIR]   (server stopped)\n"
    "       omega-monitor --validate-config FILE\n"
    "       omega-monitor --version | --help\n"
    "\n"
    "serve             run the monitoring server (collectors, storage, API, dashboard)\n"
    "--config FILE     JSON configuration (default: $OMEGA_CONFIG, else built-in defaults)\n"
    "--listen ADDR     override server.listen (default 127.0.0.1:8080)\n"
    "--data-dir DIR    override server.data_dir (default ./data)\n"
    "--data-integrity  check every stored chunk (CRC32C, RocksDB checksums) and the audit\n"
    "                  log's hash chain; exit 0 intact, 1 damage found, 2 cannot open\n"
    "--validate-config check FILE; prints FILE:LINE:COLUMN: path: message per problem;\n"
    "                  exit 0 valid, 1 invalid, 2 unreadable\n"
    "\n"
    "Every setting can also be given as OMEGA_<PATH> (e.g. OMEGA_SERVER_LISTEN).\n"
    "See docs/configuration.md.\n";

static void print_diag(void *ctx, const char *source, int line, int column, const char *path,
                       const char *message)
{
    (void)ctx;
    if (line > 0)
        fprintf(stderr, "%s:%d:%d: %s: %s\n", source, line, column, path, message);
    else
        fprintf(stderr, "%s: %s: %s\n", source, path, message);
}

static void replace(char **field, const char *value)
{
    free(*field);
    *field = strdup(value);
    if (!*field)
        abort();
}

/* Defaults, then the file (if any), then OMEGA_* variables, then --data-dir. NULL (after
 * printing every problem) when something is invalid. */
static omega_config_t *load_cli_config(const char *config_path, const char *data_dir)
{
    omega_config_t *cfg = NULL;
    if (config_path && *config_path) {
        if (omega_config_load_file(config_path, print_diag, NULL, &cfg) != 0)
            return NULL;
    } else {
        cfg = omega_config_create_default();
    }
    if (omega_config_apply_env(cfg, environ, print_diag, NULL) != 0) {
        omega_config_destroy(cfg);
        return NULL;
    }
    if (data_dir)
        replace(&cfg->server.data_dir, data_dir);
    return cfg;
}

static int cmd_serve(int argc, char **argv)
{
    const char *config_path = getenv("OMEGA_CONFIG");
    const char *listen = NULL, *data_dir = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 < argc && strcmp(a, "--config") == 0)
            config_path = argv[++i];
        else if (i + 1 < argc && strcmp(a, "--listen") == 0)
            listen = argv[++i];
        else if (i + 1 < argc && strcmp(a, "--data-dir") == 0)
            data_dir = argv[++i];
        else {
            fprintf(stderr, "omega-monitor serve: unknown or incomplete option '%s'\n%s", a, usage);
            return 2;
        }
    }
    omega_config_t *cfg = load_cli_config(config_path, data_dir);
    if (!cfg)
        return 1;
    if (listen)
        replace(&cfg->server.listen, listen);
    omega_log_set_level(omega_config_log_level(cfg));
    if (cfg->server.log_file[0] && omega_log_set_file(cfg->server.log_file) != 0) {
        fprintf(stderr, "omega-monitor: cannot open log file '%s'\n", cfg->server.log_file);
        omega_config_destroy(cfg);
        return 1;
    }
    int rc = omega_server_run(cfg);
    omega_log_shutdown();
    return rc;
}

/* `omega-monitor user ...`: the config options are taken out here, the rest is the
 * server module's (omega_server_user_command). */
static int cmd_user(int argc, char **argv)
{
    const char *config_path = getenv("OMEGA_CONFIG"), *data_dir = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    int n = 0;
    if (!rest)
        abort();
    for (int i = 0; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--config") == 0)
            config_path = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--data-dir") == 0)
            data_dir = argv[++i];
        else
            rest[n++] = argv[i];
    }
    omega_config_t *cfg = load_cli_config(config_path, data_dir);
    int rc = 1;
    if (cfg) {
        omega_log_set_level(OMEGA_LOG_WARN);
        rc = omega_server_user_command(cfg, n, rest);
    }
    omega_config_destroy(cfg);
    free(rest);
    return rc;
}

/* `omega-monitor --data-integrity [--config FILE] [--data-dir DIR]` (server stopped). */
static int cmd_integrity(int argc, char **argv)
{
    const char *config_path = getenv("OMEGA_CONFIG"), *data_dir = NULL;
    for (int i = 0; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--config") == 0)
            config_path = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--data-dir") == 0)
            data_dir = argv[++i];
        else {
            fprintf(stderr, "omega-monitor --data-integrity: unknown option '%s'\n%s", argv[i],
                    usage);
            return 2;
        }
    }
    omega_config_t *cfg = load_cli_config(config_path, data_dir);
    if (!cfg)
        return 2;
    omega_log_set_level(OMEGA_LOG_WARN);
    int rc = omega_server_data_integrity(cfg, stdout);
    omega_config_destroy(cfg);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "user") == 0)
        return cmd_user(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "--data-integrity") == 0)
        return cmd_integrity(argc - 2, argv + 2);
    if (argc == 3 && strcmp(argv[1], "--validate-config") == 0)
        return omega_config_validate_file(argv[2], stderr);
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("omega-monitor %s\n", OMEGA_VERSION);
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    fputs(usage, stderr);
    return 2;
}
