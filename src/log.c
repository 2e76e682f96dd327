/*
 * log.c - leveled logging to stderr, one line per event.
 */
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_ident = "vipd";
static enum log_level log_min = LOG_LVL_INFO;

static const char *const level_names[] = {
	[LOG_LVL_DEBUG] = "debug",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_ERROR] = "error",
};

void log_init(const char *ident, enum log_level level)
{
	log_ident = ident;
	log_min = level;
}

void log_setlevel(enum log_level level)
{
	log_min = level;
}

enum log_level log_getlevel(void)
{
	return log_min;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[level];
}

/* Format one whole line into a buffer and write it at once, so lines from
 * several processes sharing a terminal or a file do not interleave. */
static void vlog(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int r;

	if (level < log_min)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s[%ld] %s: ",
	    (long)(tv.tv_usec / 1000), log_ident, (long)getpid(),
	    log_level_name(level));
	if (r > 0 && (size_t)r < sizeof(line) - n)
		n += (size_t)r;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n = (size_t)r < sizeof(line) - n ? n + (size_t)r : sizeof(line) - 1;
	if (errnum != 0 && n < sizeof(line) - 1) {
		r = snprintf(line + n, sizeof(line) - n, ": %s", strerror(errnum));
		if (r > 0)
			n = (size_t)r < sizeof(line) - n ? n + (size_t)r : sizeof(line) - 1;
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

#define LOG_FN(name, level, with_errno)                 \
	void name(const char *fmt, ...)                 \
	{                                               \
		int saved = errno;                      \
		va_list ap;                             \
		va_start(ap, fmt);                      \
		vlog(level, with_errno ? saved : 0, fmt, ap); \
		va_end(ap);                             \
		errno = saved;                          \
	}

LOG_FN(log_debug, LOG_LVL_DEBUG, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_error, LOG_LVL_ERROR, 1)
LOG_FN(log_errorx, LOG_LVL_ERROR, 0)

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

static const char *escape(char buf[LOG_ESC_LEN], const void *data, size_t len, bool word)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		char tmp[4];
		size_t n;

		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			n = 2;
		} else if (c < 0x20 || c >= 0x7f || (word && c == ' ')) {
			tmp[0] = '\\';
			tmp[1] = 'x';
			tmp[2] = hex[c >> 4];
			tmp[3] = hex[c & 15];
			n = 4;
		} else {
			tmp[0] = (char)c;
			n = 1;
		}
		if (o + n > LOG_ESC_LEN - 4) { /* room for "..." and the NUL */
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, tmp, n);
		o += n;
	}
	buf[o] = '\0';
	return buf;
}

const char *log_escn(char buf[LOG_ESC_LEN], const void *data, size_t len)
{
	return escape(buf, data, len, false);
}

const char *log_esc(char buf[LOG_ESC_LEN], const char *s)
{
	return escape(buf, s ? s : "", s ? strlen(s) : 0, false);
}

const char *log_esc_word(char buf[LOG_ESC_LEN], const char *s)
{
	return escape(buf, s ? s : "", s ? strlen(s) : 0, true);
}
