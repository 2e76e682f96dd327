/*
 * log.h - one-line-per-event logging to stderr (OpenBSD log.c style).
 *
 * Lines look like:
 *   2026-11-26T09:30:00.123Z vipd[42] info: acquired vip=198.18.0.100 link=eth0
 * Messages put their details as key=value pairs after a short verb phrase.
 */
#ifndef VIPD_LOG_H
#define VIPD_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LVL_DEBUG = 0,
	LOG_LVL_INFO,
	LOG_LVL_WARN,
	LOG_LVL_ERROR,
};

/* Set the program name shown in each line and the lowest level printed. */
void log_init(const char *ident, enum log_level level);
void log_setlevel(enum log_level level);
enum log_level log_getlevel(void);

/* Parse "debug|info|warn|error"; returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level level);

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
/* log_warn and log_error append ": strerror(errno)"; the x forms do not. */
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_error(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_errorx(const char *fmt, ...) LOG_PRINTF(1, 2);
/* Log at error level and exit(1). */
void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

/*
 * Text that came from outside (etcd keys, values, error texts, reply
 * bodies) made safe for one log line: bytes outside printable ASCII, the
 * double quote and the backslash become \xNN, \" and \\, so such text can
 * neither end the line nor forge a key=value pair or a whole line. The
 * result is written to buf (LOG_ESC_LEN bytes) and cut with "..." when it
 * does not fit. Returns buf. log_escn takes len bytes (NULs included);
 * log_esc a C string (NULL gives ""), for a value in quotes (key="...");
 * log_esc_word also escapes the space (\x20), for an unquoted value
 * (key=value), so it stays one word.
 */
#define LOG_ESC_LEN 256
const char *log_escn(char buf[LOG_ESC_LEN], const void *data, size_t len);
const char *log_esc(char buf[LOG_ESC_LEN], const char *s);
const char *log_esc_word(char buf[LOG_ESC_LEN], const char *s);

#endif
