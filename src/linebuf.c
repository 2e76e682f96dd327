/*
 * linebuf.c - reply bytes handed out as complete lines, in linear time.
 * Contracts: linebuf.h.
 */
#include "linebuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xmem.h"

void linebuf_init(struct linebuf *b)
{
	memset(b, 0, sizeof(*b));
}


void linebuf_free(struct linebuf *b)
{
	if (b == NULL)
		return;
	if (b->secret && b->buf != NULL)
		explicit_bzero(b->buf, b->cap);
	free(b->buf);
	linebuf_init(b);
}

/* Move the buffer to a block of cap bytes (at least len + 1). A secret
 * buffer never leaves its bytes in a block given back to the allocator. */
static void resize(struct linebuf *b, size_t cap)
{
	char *nb;

	if (!b->secret) {
		b->buf = xrealloc(b->buf, cap);
	} else {
		nb = xmalloc(cap);
		if (b->buf != NULL) {
			memcpy(nb, b->buf, b->len + 1);
			explicit_bzero(b->buf, b->cap);
			free(b->buf);
		}
		b->buf = nb;
	}
	b->cap = cap;
}

int linebuf_append(struct linebuf *b, const void *data, size_t n, size_t max)
{
	size_t have = b->len - b->off;

	if (n > max || have > max - n)
		return -EMSGSIZE;
	if (b->len + n + 1 > b->cap) {
		/* Room made by dropping the consumed prefix first, if that is
		 * enough; else grow. Either way each byte moves O(1) times
		 * amortized. */
		if (b->off > 0 && have + n + 1 <= b->cap) {
			linebuf_compact(b);
		} else {
			resize(b, (b->len + n + 1) * 2);
		}
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return 0;
}

const char *linebuf_next(struct linebuf *b, size_t *len)
{
	char *start, *nl;
	size_t have = b->len - b->off;

	if (have <= b->scan)
		return NULL;
	start = b->buf + b->off;
	nl = memchr(start + b->scan, '\n', have - b->scan);
	if (nl == NULL) {
		b->scan = have;
		return NULL;
	}
	*len = (size_t)(nl - start);
	b->off += *len + 1;
	b->scan = 0;
	return start;
}

void linebuf_compact(struct linebuf *b)
{
	size_t have = b->len - b->off;

	if (b->buf == NULL)
		return;
	if (b->off > 0) {
		memmove(b->buf, b->buf + b->off, have);
		if (b->secret) /* the moved-out bytes past the tail */
			explicit_bzero(b->buf + have, b->len - have);
		b->len = have;
		b->off = 0;
		b->buf[b->len] = '\0';
	}
	if (b->cap > LINEBUF_KEEP && (b->len + 1) * 4 <= b->cap) {
		size_t cap = (b->len + 1) * 2;

		resize(b, cap < LINEBUF_KEEP ? LINEBUF_KEEP : cap);
	}
}

const char *linebuf_data(const struct linebuf *b, size_t *len)
{
	*len = b->len - b->off;
	return b->buf != NULL ? b->buf + b->off : "";
}
