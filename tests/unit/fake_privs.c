/*
 * fake_privs.c - privs.h for unit tests of the daemon: records nothing,
 * changes nothing (a test must not drop the test runner's capabilities,
 * and must run without root). Defines every symbol of privs.h, so privs.o
 * is never taken from the archive.
 */
#include "privs.h"

#include <errno.h>
#include <stdio.h>

void privs_early(void)
{
}

int privs_drop(char *why, size_t len)
{
	if (len > 0)
		why[0] = '\0';
	return 0;
}

int privs_read_secret(const char *path, char **out, char *why, size_t len)
{
	*out = NULL;
	snprintf(why, len, "not readable in unit tests (%s)", path);
	return -ENOENT;
}
