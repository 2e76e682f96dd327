/*
 * cel.h - the subset of CEL (Common Expression Language) that Talos's
 * LinkAliasConfig selectors are written in, parsed to a tree and
 * evaluated over the facts of one link. Pure: no I/O, no global state.
 *
 * Grammar (whitespace between tokens is free):
 *
 *   expr  := and { "||" and }
 *   and   := rel { "&&" rel }
 *   rel   := unary [ ( "==" | "!=" ) unary ]
 *   unary := "!" unary | prim
 *   prim  := "(" expr ")" | STRING | "link" "." FIELD
 *          | "glob" "(" expr "," expr ")" | "mac" "(" expr ")"
 *   FIELD := driver | hardware_addr | permanent_addr | bus_path | pci_id
 *          | kind | type
 *   STRING:= "..." or '...' with \\ \" \' escapes
 *
 * Types are checked: the whole expression, "!", "&&" and "||" operands
 * are conditions; "==", "!=" operands and glob's arguments are strings;
 * mac's argument is a link field. glob(pattern, s) is a shell-style glob
 * match; mac(s) normalizes a MAC address (lower case, "aa:bb:...").
 */
#ifndef VIPD_CEL_H
#define VIPD_CEL_H

#include <stdbool.h>
#include <stddef.h>

#include "linksel.h"

struct cel_expr;  /* opaque: a node of the tree */

#define CEL_ERR_LEN 160

/*
 * Limits on one expression: its text in bytes and its operands of "&&"
 * and "||" (counted over the whole expression). A chain of N operands is
 * a tree N deep, and evaluation, formatting, copying and freeing recurse
 * over it; these keep that recursion small. Talos selectors are a line.
 */
#define CEL_MAX_LEN 4096
#define CEL_MAX_OPERANDS 256

struct cel_error {
	size_t offset;           /* byte offset in the text of the culprit */
	char msg[CEL_ERR_LEN];   /* what is wrong or unsupported */
};

/*
 * Parse text (len bytes; need not be NUL-terminated). Returns the tree
 * (free with cel_free), or NULL with *err filled in: the first problem,
 * its offset, and a message naming what is unsupported or expected. Text
 * longer than CEL_MAX_LEN bytes (as given, or in the canonical form
 * cel_format writes, which --check prints and must read back), more than
 * CEL_MAX_OPERANDS operands of "&&" and "||", or nesting deeper than 64
 * levels is an error.
 */
struct cel_expr *cel_parse(const char *text, size_t len, struct cel_error *err);

/* True if the link with facts l satisfies e. */
bool cel_eval(const struct cel_expr *e, const struct link_facts *l);

/*
 * The canonical text of e (minimal parentheses, double-quoted strings),
 * which cel_parse reads back to an equal tree. The caller frees it.
 */
char *cel_format(const struct cel_expr *e);

/* A deep copy (never NULL for a non-NULL e); NULL-safe. */
struct cel_expr *cel_dup(const struct cel_expr *e);

/* True if a and b are the same tree (both NULL: true). */
bool cel_equal(const struct cel_expr *a, const struct cel_expr *b);

/* NULL-safe. */
void cel_free(struct cel_expr *e);

#endif
