/* SPDX-License-Identifier: Apache-2.0 */
/* Acting on the security config for auth/ (roles, limits, audit settings into
 * omega_auth_options_t), and the `omega-monitor user add|passwd|disable|enable` command,
 * which opens the store directly and therefore only works while the server is stopped
 * (RocksDB's lock refuses a second opener; its message is printed). */
#include "omega/server.h"
#include "server_int.h"

#include "omega/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static unsigned role_mask(const omega_strlist_t *l)
{
    unsigned m = 0;
    for (size_t i = 0; i < l->n; i++) {
        omega_role_t r;
        if (omega_role_parse(l->items[i], &r) == 0)
            m |= OMEGA_ROLE_BIT(r);
    }
    return m;
}

/* Secrets given through the environment, taken out of it once for the process's life. */
static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static char *env_master_key;     /* OMEGA_MASTER_KEY */
static char *env_admin_password; /* OMEGA_ADMIN_PASSWORD */

static void env_take(void)
{
    env_master_key = omega_auth_env_take("OMEGA_MASTER_KEY");
    env_admin_password = omega_auth_env_take("OMEGA_ADMIN_PASSWORD");
}

void app_env_secrets_take(void)
{
    pthread_once(&env_once, env_take);
}

const char *app_master_key_env(void)
{
    app_env_secrets_take();
    return env_master_key;
}

const char *app_admin_password_env(void)
{
    app_env_secrets_take();
    return env_admin_password;
}

void app_auth_options(const omega_config_t *cfg, omega_auth_options_t *o)
{
    const omega_config_security_t *s = &cfg->security;
    omega_auth_options_init(o);
    o->token_ttl_ms = s->session_ttl_ms;
    o->admin_roles = role_mask(&s->access_control.admin_roles);
    o->viewer_roles = role_mask(&s->access_control.viewer_roles);
    omega_role_parse(s->access_control.default_role, &o->default_role);
    o->audit_enabled = s->audit_logging.enable_audit_log;
    o->audit_retention_ms = s->audit_logging.audit_log_retention_ms;
    o->rbac = s->access_control.enable_rbac;
    o->encrypt = s->enable_encryption;
    o->master_key = app_master_key_env(); /* the key itself; never in the config file */
    o->master_key_file = s->master_key_file;
    o->data_dir = cfg->server.data_dir;
    o->key_rotation_interval_ms = s->key_rotation_interval_ms;
    o->audit_categories = 0;
    for (size_t i = 0; i < s->audit_logging.audit_events.n; i++) {
        unsigned bit = 0;
        if (omega_audit_category_parse(s->audit_logging.audit_events.items[i], &bit) == 0)
            o->audit_categories |= bit;
    }
}

/* ---- the user command ---- */

static const char user_usage[] =
    "usage: omega-monitor user add NAME [--role ROLE] [--email ADDRESS]\n"
    "       omega-monitor user passwd NAME\n"
    "       omega-monitor user disable NAME | enable NAME\n"
    "The password is read from standard input (asked twice, without echo, on a terminal).\n"
    "The server must be stopped: the command opens the data directory itself.\n";

/* One line from stdin into buf without its newline; echo off on a terminal. 0 or -1. */
static int read_password(const char *prompt, char *buf, size_t len)
{
    int tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *got = fgets(buf, (int)len, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (!got)
        return -1;
    size_t n = strlen(buf);
    if (n == len - 1 && buf[n - 1] != '\n')
        return -1; /* longer than the buffer: refuse rather than truncate */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return 0;
}

static int ask_password(const char *name, char *pw, size_t len)
{
    char prompt[128], again[OMEGA_AUTH_PASSWORD_MAX + 2];
    snprintf(prompt, sizeof(prompt), "New password for %s: ", name);
    if (read_password(prompt, pw, len) != 0) {
        fprintf(stderr, "omega-monitor user: no password given (or longer than %d bytes)\n",
                OMEGA_AUTH_PASSWORD_MAX);
        return -1;
    }
    if (isatty(STDIN_FILENO)) {
        int rc = read_password("Again: ", again, sizeof(again));
        int same = rc == 0 && strcmp(again, pw) == 0;
        explicit_bzero(again, sizeof(again));
        if (!same) {
            fprintf(stderr, "omega-monitor user: the passwords differ\n");
            return -1;
        }
    }
    return 0;
}

static omega_tsdb_t *open_store(const omega_config_t *cfg)
{
    omega_tsdb_options_t o;
    app_tsdb_options(cfg, &o);
    o.sync_writes = 1; /* user changes must be on disk when the command returns */
    omega_error_t err;
    omega_error_clear(&err);
    omega_tsdb_t *db = omega_tsdb_open(&o, &err);
    if (!db)
        fprintf(stderr,
                "omega-monitor user: cannot open the data directory '%s': %s\n"
                "(is the server running? stop it first)\n",
                o.data_dir, err.message);
    return db;
}

/* Run one subcommand on an open auth handle; returns the exit code. */
static int run(omega_auth_t *auth, const omega_config_t *cfg, int argc, char **argv)
{
    const char *cmd = argv[0], *name = argv[1], *role_s = NULL, *email = NULL;
    for (int i = 2; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--role") == 0 && strcmp(cmd, "add") == 0)
            role_s = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--email") == 0 && strcmp(cmd, "add") == 0)
            email = argv[++i];
        else {
            fprintf(stderr, "omega-monitor user: unknown or incomplete option '%s'\n%s", argv[i],
                    user_usage);
            return 2;
        }
    }
    omega_role_t role = omega_auth_default_role(auth);
    if (role_s && omega_role_parse(role_s, &role) != 0) {
        fprintf(stderr,
                "omega-monitor user: unknown role '%s' (viewer, developer, analyst, "
                "admin, superuser)\n",
                role_s);
        return 2;
    }
    omega_error_t err;
    omega_error_clear(&err);
    char pw[OMEGA_AUTH_PASSWORD_MAX + 2];
    int rc;
    const char *action = "user.update", *detail = cmd;
    if (strcmp(cmd, "add") == 0 || strcmp(cmd, "passwd") == 0) {
        if (ask_password(name, pw, sizeof(pw)) != 0)
            return 1;
        if (strcmp(cmd, "add") == 0) {
            rc = omega_auth_user_create(auth, name, pw, role, email, &err);
            action = "user.create";
            detail = omega_role_name(role);
        } else {
            rc = omega_auth_user_set_password(auth, name, pw, &err);
            detail = "password";
        }
        explicit_bzero(pw, sizeof(pw));
    } else if (strcmp(cmd, "disable") == 0 || strcmp(cmd, "enable") == 0) {
        rc = omega_auth_user_set_disabled(auth, name, strcmp(cmd, "disable") == 0, &err);
    } else {
        fputs(user_usage, stderr);
        return 2;
    }
    omega_audit_event_t ev = {.actor = "(command line)",
                              .role = "",
                              .address = "local",
                              .action = action,
                              .target = name,
                              .outcome = rc == 0 ? "success" : "failure",
                              .detail = rc == 0 ? detail : err.message};
    omega_auth_audit(auth, &ev, NULL);
    if (rc != 0) {
        fprintf(stderr, "omega-monitor user %s: %s\n", cmd, err.message);
        return 1;
    }
    printf("omega-monitor user %s: done for '%s'\n", cmd, name);
    return 0;
}

int omega_server_user_command(omega_config_t *cfg, int argc, char **argv)
{
    if (argc < 2) {
        fputs(user_usage, stderr);
        return 2;
    }
    omega_tsdb_t *db = open_store(cfg);
    if (!db)
        return 1;
    omega_auth_options_t ao;
    app_auth_options(cfg, &ao);
    omega_error_t err;
    omega_error_clear(&err);
    omega_auth_t *auth = omega_auth_create(db, &ao, &err);
    int rc = 1;
    if (!auth)
        fprintf(stderr, "omega-monitor user: cannot open users: %s\n", err.message);
    else
        rc = run(auth, cfg, argc, argv);
    omega_auth_destroy(auth);
    omega_tsdb_close(db);
    return rc;
}
