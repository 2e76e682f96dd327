/*
 * daemon.h - wires the modules together and runs the event loop.
 */
#ifndef VIPD_DAEMON_H
#define VIPD_DAEMON_H

struct cfg;

/* Run until SIGTERM/SIGINT. Returns the process exit code. */
int daemon_run(const struct cfg *cfg);

#endif
