/*
 * daemon.h - wires the modules together and runs the event loop.
 */
#ifndef VIPD_DAEMON_H
#define VIPD_DAEMON_H

struct cfg;

/* Run until SIGTERM/SIGINT. Returns the process exit code. cfg stays the
 * caller's (it frees it after); a reload may swap fields between it and
 * the new config (reload.h) and then runs on a config of its own, freed
 * before this returns. SIGHUP reloads (docs/design.md, "Reload"). */
int daemon_run(struct cfg *cfg);

#endif
