/* SPDX-License-Identifier: Apache-2.0 */
/* `omega-monitor run`: the command-line front of the operations API (cmd_run.c), linked
 * into the executable only. */
#ifndef OMEGA_CMD_RUN_H
#define OMEGA_CMD_RUN_H

/* Run `omega-monitor run` with the arguments after "run" (argc/argv borrowed). Runs the
 * command, records it on the server (unless unreachable: then says so on stderr) and
 * returns the exit status to use: the command's, 128+N for signal N, 127/126 when it
 * cannot be found/executed, 2 for a usage error. Main thread; installs signal handlers
 * while the command runs. */
int omega_cmd_run(int argc, char **argv);

#endif
