/*
 * backoff.h - doubling retry delays with a cap, shared by every module
 * that retries (session keepalives, election steps, address changes).
 */
#ifndef VIPD_BACKOFF_H
#define VIPD_BACKOFF_H

#include <stdint.h>

/*
 * The delay to wait now: *cur, or min_ms when *cur is 0 (reset). *cur
 * becomes the next delay, doubled up to max_ms. Set *cur = 0 on success.
 */
static inline uint32_t backoff_next(uint32_t *cur, uint32_t min_ms, uint32_t max_ms)
{
	uint32_t b = *cur ? *cur : min_ms;

	*cur = b > max_ms / 2 ? max_ms : b * 2;
	return b;
}

#endif
