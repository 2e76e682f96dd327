/*
 * xmem.h - allocation that never returns NULL: running out of memory is
 * fatal for a daemon whose whole job is a consistent view of ownership.
 */
#ifndef VIPD_XMEM_H
#define VIPD_XMEM_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Like asprintf, but the result is never NULL; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
