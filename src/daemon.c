/*
 * daemon.c - placeholder: runs the loop until a signal.
 */
#include "daemon.h"

#include <signal.h>

#include "config.h"
#include "log.h"
#include "loop.h"

static void on_stop(int signo, void *arg)
{
	log_info("stopping signal=%d", signo);
	loop_stop(arg);
}

int daemon_run(const struct cfg *cfg)
{
	struct loop *l = loop_new();

	if (l == NULL)
		fatal("epoll");
	log_info("starting vips=%zu", cfg->n_vips);
	loop_signal(l, SIGTERM, on_stop, l);
	loop_signal(l, SIGINT, on_stop, l);
	loop_run(l);
	loop_free(l);
	return 0;
}
