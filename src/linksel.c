/*
 * linksel.c - matching links against deviceSelector, and the numbering of
 * pattern aliases. Contracts in linksel.h.
 */
#include "linksel.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

static const char *or_empty(const char *s)
{
	return s != NULL ? s : "";
}

static bool glob_ok(const char *pattern, const char *s, int flags)
{
	return fnmatch(pattern, or_empty(s), flags) == 0;
}

/* A MAC glob: against the normalized address, ignoring case. */
static bool mac_glob_ok(const char *pattern, const char *mac)
{
	char buf[LINKSEL_MAC_LEN];

	linksel_mac_norm(or_empty(mac), buf);
	return fnmatch(pattern, buf, FNM_CASEFOLD) == 0 ||
	    fnmatch(pattern, or_empty(mac), FNM_CASEFOLD) == 0;
}

bool linksel_match(const struct cfg_selector *s, const struct link_facts *l)
{
	bool any;

	if (s == NULL)
		return false;
	any = s->has_physical || s->hardware_addr || s->permanent_addr ||
	    s->driver || s->bus_path || s->pci_id;
	if (!any)
		return false;
	if (s->has_physical && s->physical != l->physical)
		return false;
	if (s->hardware_addr && !mac_glob_ok(s->hardware_addr, l->hardware_addr))
		return false;
	if (s->permanent_addr && !mac_glob_ok(s->permanent_addr, l->permanent_addr))
		return false;
	if (s->driver && !glob_ok(s->driver, l->driver, 0))
		return false;
	if (s->bus_path && !glob_ok(s->bus_path, l->bus_path, 0))
		return false;
	if (s->pci_id && strcasecmp(s->pci_id, or_empty(l->pci_id)) != 0)
		return false;
	return true;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *linksel_mac_norm(const char *s, char *buf)
{
	size_t n = 0, octets = 0;
	const char *p = s;

	for (;;) {
		int hi = hexval((unsigned char)p[0]), lo;

		if (hi < 0 || octets == 32)
			goto bad;
		lo = hexval((unsigned char)p[1]);
		if (lo >= 0)
			p += 2;
		else
			lo = hi, hi = 0, p += 1;
		if (octets > 0)
			buf[n++] = ':';
		n += (size_t)snprintf(buf + n, 3, "%x%x", (unsigned)hi, (unsigned)lo);
		octets++;
		if (*p == '\0')
			return buf;
		if (*p != ':' && *p != '-')
			goto bad;
		p++;
	}
bad:
	for (n = 0; s[n] != '\0' && n < LINKSEL_MAC_LEN - 1; n++)
		buf[n] = (char)tolower((unsigned char)s[n]);
	buf[n] = '\0';
	return NULL;
}

int linksel_alias_is_pattern(const char *name)
{
	const char *pct = strchr(name, '%');

	if (pct == NULL)
		return 0;
	if (pct[1] != 'd' || strchr(pct + 2, '%') != NULL)
		return -1;
	return 1;
}

bool linksel_alias_index(const char *alias, const char *name, unsigned *index)
{
	const char *pct = strchr(alias, '%');
	size_t pre, post, nlen = strlen(name), digits;
	unsigned long v = 0;

	if (pct == NULL) {
		*index = 0;
		return strcmp(alias, name) == 0;
	}
	pre = (size_t)(pct - alias);
	post = strlen(pct + 2);
	if (nlen <= pre + post || strncmp(alias, name, pre) != 0 ||
	    strcmp(name + nlen - post, pct + 2) != 0)
		return false;
	digits = nlen - pre - post;
	if (digits > 9 || (digits > 1 && name[pre] == '0'))
		return false;
	for (size_t i = pre; i < pre + digits; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(name[i] - '0');
	}
	*index = (unsigned)v;
	return true;
}

bool linksel_alias_name(const char *pattern, unsigned index, char *buf, size_t len)
{
	const char *pct = strchr(pattern, '%');
	int n;

	if (pct == NULL)
		n = snprintf(buf, len, "%s", pattern);
	else
		n = snprintf(buf, len, "%.*s%u%s", (int)(pct - pattern), pattern, index,
		    pct + 2);
	return n >= 0 && (size_t)n < len;
}

/* qsort has no context argument: sort positions through a file-local pointer
 * would be global state, so a small insertion sort does it (n is a handful). */
static int facts_cmp(const struct link_facts *a, const struct link_facts *b)
{
	char x[LINKSEL_MAC_LEN], y[LINKSEL_MAC_LEN];
	int r;

	linksel_mac_norm(or_empty(a->hardware_addr), x);
	linksel_mac_norm(or_empty(b->hardware_addr), y);
	if ((r = strcmp(x, y)) != 0)
		return r;
	return strcmp(or_empty(a->name), or_empty(b->name));
}

void linksel_alias_order(const struct link_facts *const *links, size_t n, size_t *order)
{
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		while (j > 0 && facts_cmp(links[order[j - 1]], links[i]) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
}
