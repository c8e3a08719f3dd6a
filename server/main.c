/* SPDX-License-Identifier: Apache-2.0 */
/* omega-monitor's command line: `serve`, `user ...`, `--validate-config FILE`, `--version`,
 * `--help`, `backup`, `restore`.
 * Settings come from built-in defaults, then the config file (--config or OMEGA_CONFIG),
 * then OMEGA_* environment variables, then command-line flags. */
#include "omega/auth.h"
#include "omega/config.h"
#include "omega/log.h"
#include "omega/server.h"
#include "omega/tsdb.h"
#include "cmd_run.h"
#include "server_int.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static const char usage[] =
    "usage: omega-monitor serve [--config FILE] [--listen HOST:PORT] [--data-dir DIR]\n"
    "                           [--tls-self-signed]\n"
    "       omega-monitor user add|passwd|disable|enable NAME [--role ROLE] [--email ADDR]\n"
    "                          [--config FILE] [--data-dir DIR]   (server stopped)\n"
    "       omega-monitor --data-integrity [--config FILE] [--data-dir DIR]   (server stopped)\n"
    "       omega-monitor backup [--config FILE] [--data-dir DIR] [--to DIR]   (server stopped)\n"
    "       omega-monitor restore BACKUP_DIR [--config FILE] [--data-dir DIR] [--force]\n"
    "       omega-monitor run [--job NAME] [--server URL --api-key KEY] -- CMD...\n"
    "       omega-monitor --validate-config FILE\n"
    "       omega-monitor --version | --help\n"
    "\n"
    "serve             run the monitoring server (collectors, storage, API, dashboard)\n"
    "--config FILE     JSON configuration (default: $OMEGA_CONFIG, else built-in defaults)\n"
    "--listen ADDR     override server.listen (default 127.0.0.1:8080)\n"
    "--data-dir DIR    override server.data_dir (default ./data)\n"
    "--tls-self-signed serve HTTPS with a development certificate for localhost, made once\n"
    "                  in DATA_DIR/tls/ (30 days); prints its SHA-256 fingerprint\n"
    "--data-integrity  check every stored chunk (CRC32C, RocksDB checksums) and the audit\n"
    "                  log's hash chain; exit 0 intact, 1 damage found, 2 cannot open\n"
    "backup            write a checkpoint of the store into --to DIR (default\n"
    "                  storage.backup_dir, else DATA_DIR/backups)/<UTC time>; prints its path\n"
    "restore           copy BACKUP_DIR into the data dir after verifying it; refuses a\n"
    "                  non-empty data dir unless --force (which keeps DATA_DIR/backups)\n"
    "run               run CMD as a recorded job (wall, CPU, peak RSS, exit status);\n"
    "                  `omega-monitor run --help` for its options\n"
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

/* --tls-self-signed: the development certificate in <data_dir>/tls/ (made when missing)
 * becomes server.tls.cert/key; its fingerprint goes to stdout so a client can pin it. */
static int use_self_signed(omega_config_t *cfg)
{
    char cert[4096], key[4096], fp[OMEGA_TLS_FINGERPRINT_MAX];
    snprintf(cert, sizeof(cert), "%s/tls/cert.pem", cfg->server.data_dir);
    snprintf(key, sizeof(key), "%s/tls/key.pem", cfg->server.data_dir);
    omega_error_t err;
    memset(&err, 0, sizeof(err));
    if (omega_auth_tls_self_signed(cert, key, fp, sizeof(fp), &err) != 0) {
        fprintf(stderr, "omega-monitor: --tls-self-signed: %s\n", err.message);
        return -1;
    }
    cfg->server.tls.enabled = true;
    replace(&cfg->server.tls.cert, cert);
    replace(&cfg->server.tls.key, key);
    printf("TLS: self-signed development certificate %s\nTLS: SHA-256 fingerprint %s\n", cert, fp);
    fflush(stdout);
    return 0;
}

static int cmd_serve(int argc, char **argv)
{
    const char *config_path = getenv("OMEGA_CONFIG");
    const char *listen = NULL, *data_dir = NULL;
    int self_signed = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--tls-self-signed") == 0)
            self_signed = 1;
        else if (i + 1 < argc && strcmp(a, "--config") == 0)
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
    if (self_signed && use_self_signed(cfg) != 0) {
        omega_config_destroy(cfg);
        return 1;
    }
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

/* `omega-monitor backup [--config FILE] [--data-dir DIR] [--to DIR]` (server stopped). */
static int cmd_backup(int argc, char **argv)
{
    const char *config_path = getenv("OMEGA_CONFIG"), *data_dir = NULL, *to = NULL;
    for (int i = 0; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--config") == 0)
            config_path = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--data-dir") == 0)
            data_dir = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--to") == 0)
            to = argv[++i];
        else {
            fprintf(stderr, "omega-monitor backup: unknown option '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    omega_config_t *cfg = load_cli_config(config_path, data_dir);
    if (!cfg)
        return 2;
    omega_log_set_level(OMEGA_LOG_WARN);
    omega_tsdb_options_t o;
    app_tsdb_options(cfg, &o);
    o.max_storage_size = 0; /* a backup never drops data */
    o.backup_interval_ms = 0;
    omega_error_t err;
    omega_error_clear(&err);
    char path[4096];
    int rc = 1;
    omega_tsdb_t *db = omega_tsdb_open(&o, &err);
    if (!db)
        fprintf(stderr,
                "omega-monitor backup: cannot open '%s': %s (is the server running? "
                "stop it first)\n",
                o.data_dir, err.message);
    else if (omega_tsdb_backup(db, to, path, sizeof(path), &err) != 0)
        fprintf(stderr, "omega-monitor backup: %s\n", err.message);
    else {
        printf("backup written to %s\n", path);
        rc = 0;
    }
    omega_tsdb_close(db);
    omega_config_destroy(cfg);
    return rc;
}

/* `omega-monitor restore BACKUP_DIR [--config FILE] [--data-dir DIR] [--force]`. */
static int cmd_restore(int argc, char **argv)
{
    const char *config_path = getenv("OMEGA_CONFIG"), *data_dir = NULL, *backup = NULL;
    int force = 0;
    for (int i = 0; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--config") == 0)
            config_path = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--data-dir") == 0)
            data_dir = argv[++i];
        else if (strcmp(argv[i], "--force") == 0)
            force = 1;
        else if (!backup && argv[i][0] != '-')
            backup = argv[i];
        else {
            fprintf(stderr, "omega-monitor restore: unexpected argument '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    if (!backup) {
        fprintf(stderr, "omega-monitor restore: BACKUP_DIR missing\n%s", usage);
        return 2;
    }
    omega_config_t *cfg = load_cli_config(config_path, data_dir);
    if (!cfg)
        return 2;
    omega_log_set_level(OMEGA_LOG_WARN);
    omega_error_t err;
    omega_error_clear(&err);
    int rc = omega_tsdb_restore(backup, cfg->server.data_dir, force, &err);
    if (rc == 0)
        printf("restored %s into %s\n", backup, cfg->server.data_dir);
    else
        fprintf(stderr, "omega-monitor restore: %s\n", err.message);
    omega_config_destroy(cfg);
    return rc == 0 ? 0 : 1;
}

/* glibc malloc tuned for a small resident set: two arenas for all threads (the default, 8 per
 * core, leaves a partly used arena per thread), and a fixed mmap threshold so a big temporary
 * buffer (Argon2's 19 MiB per password hash) goes back to the system when freed; with the
 * default dynamic threshold it stays in the heap, resident, for the life of the process. */
static void tune_malloc(void)
{
    mallopt(M_ARENA_MAX, 2);
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mallopt(M_TRIM_THRESHOLD, 4 << 20);
}

int main(int argc, char **argv)
{
    tune_malloc();
    app_env_secrets_take(); /* out of /proc/<pid>/environ before any thread exists */
    if (argc >= 2 && strcmp(argv[1], "user") == 0)
        return cmd_user(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "--data-integrity") == 0)
        return cmd_integrity(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "backup") == 0)
        return cmd_backup(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "restore") == 0)
        return cmd_restore(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return omega_cmd_run(argc - 2, argv + 2);
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
