/* SPDX-License-Identifier: Apache-2.0 */
/* The server (module server/): wires config, storage, auth, collectors, the HTTP API and
 * the live hub together and runs the event loop; also the offline user command.
 * main.c is its only caller. */
#ifndef OMEGA_SERVER_H
#define OMEGA_SERVER_H

#include "omega/config.h"

#include <stdio.h>

/* Run `omega-monitor serve` with cfg (ownership passes to the server). Blocks until
 * SIGINT or SIGTERM, then shuts down cleanly (collectors stopped, sockets closed, storage
 * flushed). Returns the process exit code: 0 after a clean stop, 1 on a start failure
 * (the reason is logged). */
int omega_server_run(omega_config_t *cfg);

/* Run `omega-monitor user add|passwd|disable|enable NAME ...` (argv[0] is the subcommand)
 * on cfg's data directory, opened directly: it fails with the storage engine's message
 * while a server holds the directory. Passwords are read from standard input. cfg stays
 * the caller's. Returns the process exit code (0 done, 1 failed, 2 usage). */
int omega_server_user_command(omega_config_t *cfg, int argc, char **argv);

/* `omega-monitor --data-integrity`: open the store in cfg's data dir (the server must be
 * stopped), check every chunk and the audit chain, and print a report to out (corrupt ranges
 * named by series and time). Returns the exit code: 0 intact, 1 damage found, 2 the store
 * or the audit log could not be opened. */
int omega_server_data_integrity(omega_config_t *cfg, FILE *out);

#endif
