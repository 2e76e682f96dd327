/*
 * linebuf.h - the bytes of a reply as they arrive, handed out as complete
 * lines (etcd's gateway streams one JSON message per line).
 *
 * Linear in the bytes: taking a line moves nothing (a read offset moves
 * on), the search for the next line break resumes where the last one
 * stopped, and the consumed prefix is dropped once per linebuf_compact()
 * call, which moves only the unfinished tail. The old way - moving the
 * rest of the buffer after every message - made a burst of N messages cost
 * N x buffer bytes (1.4 M tiny watch messages stalled the loop for 11.4 s).
 * After a burst linebuf_compact() also gives the memory back.
 *
 * The buffer is always NUL-terminated after its last byte, so the bytes
 * can be read as a C string where the caller knows they hold no NUL.
 */
#ifndef VIPD_LINEBUF_H
#define VIPD_LINEBUF_H

#include <stdbool.h>
#include <stddef.h>

/* Memory kept across linebuf_compact() calls: above this, a buffer whose
 * unconsumed bytes use less than a quarter of it shrinks. */
#define LINEBUF_KEEP (64u * 1024)

struct linebuf {
	char *buf;   /* owned; NULL until the first append */
	size_t off;  /* bytes already handed out as lines */
	size_t len;  /* bytes in buf, consumed ones included */
	size_t cap;  /* bytes allocated (len + 1 at least once allocated) */
	size_t scan; /* bytes after off known to hold no line break */
	bool secret; /* set by the owner: every block given back is zeroed
	              * first (a reply that may hold a password or token) */
};

/* An empty buffer (all zero is one too). */
void linebuf_init(struct linebuf *b);
/* Free the memory, zeroing it first (explicit_bzero) if b->secret. Leaves
 * b empty (secret cleared). NULL-safe. */
void linebuf_free(struct linebuf *b);

/*
 * Append n bytes. Returns 0, or -EMSGSIZE (and appends nothing) if the
 * unconsumed bytes would then exceed max bytes. Allocation failure is
 * fatal (xmem). The growth doubles, so appends are amortized linear.
 */
int linebuf_append(struct linebuf *b, const void *data, size_t n, size_t max);

/*
 * The next complete line, without its '\n' (a '\r' before it is kept), and
 * its length in *len; NULL when no complete line is buffered. The pointer
 * stays valid until the next linebuf_append or linebuf_compact. Each byte
 * is searched once, however often this is called while a line is
 * incomplete.
 */
const char *linebuf_next(struct linebuf *b, size_t *len);

/* Drop the lines already handed out (moving only the unconsumed tail), and
 * shrink the allocation after a burst (see LINEBUF_KEEP). */
void linebuf_compact(struct linebuf *b);

/* The unconsumed bytes (NUL-terminated; "" when empty) and their count. */
const char *linebuf_data(const struct linebuf *b, size_t *len);

#endif
