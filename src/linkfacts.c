/*
 * linkfacts.c - link facts from sysfs, netlink and ethtool, and the links
 * a deviceSelector or alias chooses. Contracts in linkfacts.h.
 */
#include "linkfacts.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>

#include "cel.h"
#include "config.h"
#include "xmem.h"

#define SYSFS_REAL "/sys"
#define ETH_MAX_ADDR 32        /* MAX_ADDR_LEN in the kernel */

const char *linkfacts_root(void)
{
	const char *r = getenv("VIPD_SYSFS");

	return r != NULL && r[0] != '\0' ? r : SYSFS_REAL;
}

/*
 * Read the regular file path (relative to dirfd) into buf (size len, at
 * least 2), NUL-terminated, trailing whitespace cut. Returns the length,
 * or -errno: the file is missing or not a regular file (a fifo, a
 * directory, a symlink loop: -ELOOP), or holds len - 1 bytes or more
 * (-EFBIG; no sysfs attribute we read comes near). O_NONBLOCK so that an
 * odd fixture (a fifo) cannot make open() wait for a writer.
 */
static ssize_t read_small(int dirfd, const char *path, char *buf, size_t len)
{
	struct stat st;
	size_t n = 0;
	int fd, err = 0;

	buf[0] = '\0';
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	while (err == 0) {
		ssize_t r = read(fd, buf + n, len - 1 - n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
		} else if (r == 0) {
			break;
		} else if ((n += (size_t)r) == len - 1) {
			err = -EFBIG;
		}
	}
	close(fd);
	if (err < 0) {
		buf[0] = '\0';
		return err;
	}
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	return (ssize_t)n;
}

/* Copy s into dst (size len) if it is 1..len-1 printable bytes. */
static bool set_text(char *dst, size_t len, const char *s, size_t slen)
{
	if (slen == 0 || slen >= len)
		return false;
	for (size_t i = 0; i < slen; i++)
		if (!isgraph((unsigned char)s[i]))
			return false;
	memcpy(dst, s, slen);
	dst[slen] = '\0';
	return true;
}

/* The last component of a symlink's target (readlink, bounded). */
static bool link_base(int dirfd, const char *path, char *dst, size_t len)
{
	char buf[1024];
	ssize_t n = readlinkat(dirfd, path, buf, sizeof(buf) - 1);
	const char *b;

	if (n <= 0 || (size_t)n >= sizeof(buf) - 1)
		return false;
	buf[n] = '\0';
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	b = strrchr(buf, '/');
	b = b != NULL ? b + 1 : buf;
	if (strcmp(b, ".") == 0 || strcmp(b, "..") == 0)
		return false;
	return set_text(dst, len, b, strlen(b));
}

/* "DDDD:BB:DD.F" (hex digits, any case): a PCI device's sysfs name. */
static bool pci_slot_form(const char *s, size_t len)
{
	static const char form[] = "xxxx:xx:xx.x";

	if (len != sizeof(form) - 1)
		return false;
	for (size_t i = 0; i < len; i++)
		if (form[i] == 'x' ? !isxdigit((unsigned char)s[i]) : s[i] != form[i])
			return false;
	return true;
}

/* "VVVV:DDDD" hex, as the kernel's uevent PCI_ID. */
static bool pci_id_form(const char *s, size_t len)
{
	if (len != 9 || s[4] != ':')
		return false;
	for (size_t i = 0; i < 9; i++)
		if (i != 4 && !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * The nearest PCI device on the device's resolved sysfs path, below its
 * "devices" directory (itself, or an ancestor such as the PCI function
 * above a virtio device): what ethtool's bus_info says for PCI and virtio
 * NICs. dir is <root>/class/net/<name>; realpath fails on a symlink loop.
 */
static bool pci_on_path(const char *dir, char *dst, size_t len)
{
	char path[4096], *real, *end;
	bool ok = false;

	if ((size_t)snprintf(path, sizeof(path), "%s/device", dir) >= sizeof(path) ||
	    (real = realpath(path, NULL)) == NULL)
		return false;
	end = real + strlen(real);
	while (end > real) {
		char *start = end;
		size_t clen;

		while (start > real && start[-1] != '/')
			start--;
		clen = (size_t)(end - start);
		if (clen == 7 && memcmp(start, "devices", 7) == 0)
			break;
		if (pci_slot_form(start, clen)) {
			ok = set_text(dst, len, start, clen);
			break;
		}
		end = start > real ? start - 1 : real;
	}
	free(real);
	return ok;
}

/* A "0x1af4" sysfs id file as a 16-bit number. */
static bool read_id16(int dirfd, const char *path, unsigned *v)
{
	char buf[32], *end;
	unsigned long x;

	if (read_small(dirfd, path, buf, sizeof(buf)) <= 0)
		return false;
	errno = 0;
	x = strtoul(buf, &end, 16);
	if (errno != 0 || *end != '\0' || x > 0xffff || !isxdigit((unsigned char)buf[0]))
		return false;
	*v = (unsigned)x;
	return true;
}

/* The kernel's ARPHRD_* numbers, by the names Talos prints (nethelpers). */
static const char *arphrd_name(unsigned long t)
{
	static const struct { unsigned long t; const char *name; } names[] = {
		{ 1, "ether" }, { 24, "ieee1394" }, { 32, "infiniband" },
		{ 512, "ppp" }, { 768, "tunnel" }, { 769, "tunnel6" },
		{ 772, "loopback" }, { 776, "sit" }, { 778, "ipgre" },
		{ 801, "ieee80211" }, { 803, "ieee80211_radiotap" },
		{ 823, "ip6gre" }, { 65534, "none" }, { 65535, "void" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == t)
			return names[i].name;
	return NULL;
}

static void read_type(int dirfd, struct linkfacts *out)
{
	char buf[32], *end;
	unsigned long t;
	const char *name;

	if (read_small(dirfd, "type", buf, sizeof(buf)) <= 0 || !isdigit((unsigned char)buf[0]))
		return;
	errno = 0;
	t = strtoul(buf, &end, 10);
	if (errno != 0 || *end != '\0' || t > 0xffff)
		return;
	if ((name = arphrd_name(t)) != NULL)
		snprintf(out->type, sizeof(out->type), "%s", name);
	else
		snprintf(out->type, sizeof(out->type), "%lu", t);
	out->f.type = out->type;
}

/* uevent of the device: DRIVER, PCI_ID, PCI_SLOT_NAME (Talos's reading). */
static void read_uevent(int dirfd, struct linkfacts *out)
{
	char buf[LINKFACTS_FILE_MAX];
	char *line, *save = NULL;

	if (read_small(dirfd, "device/uevent", buf, sizeof(buf)) <= 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, '=');
		size_t vlen;

		if (v == NULL)
			continue;
		*v++ = '\0';
		vlen = strlen(v);
		if (strcmp(line, "DRIVER") == 0) {
			if (set_text(out->driver, sizeof(out->driver), v, vlen))
				out->f.driver = out->driver;
		} else if (strcmp(line, "PCI_ID") == 0 && pci_id_form(v, vlen)) {
			for (size_t i = 0; i < vlen; i++)
				out->pci_id[i] = (char)toupper((unsigned char)v[i]);
			out->pci_id[vlen] = '\0';
			out->f.pci_id = out->pci_id;
		} else if (strcmp(line, "PCI_SLOT_NAME") == 0) {
			if (set_text(out->bus_path, sizeof(out->bus_path), v, vlen))
				out->f.bus_path = out->bus_path;
		}
	}
}

/* What the device link and its files say: driver, bus path, PCI id
 * (the bus path from uevent only; the caller tries ethtool, then the
 * device's path). */
static void read_device(int dirfd, struct linkfacts *out)
{
	struct stat st;
	unsigned vendor, device;
	char base[128];

	if (fstatat(dirfd, "device", &st, 0) < 0 || !S_ISDIR(st.st_mode))
		return;
	out->f.physical = true;  /* and type ether, checked by the caller */
	read_uevent(dirfd, out);
	if (out->f.driver == NULL && link_base(dirfd, "device/driver", out->driver,
	    sizeof(out->driver)))
		out->f.driver = out->driver;
	/* vendor and device of the device itself, only if it is a PCI
	 * function: a virtio device's are virtio ids, which Talos does not
	 * report as pciID either. */
	if (out->f.pci_id == NULL && link_base(dirfd, "device", base, sizeof(base)) &&
	    pci_slot_form(base, strlen(base)) &&
	    read_id16(dirfd, "device/vendor", &vendor) && read_id16(dirfd, "device/device", &device)) {
		snprintf(out->pci_id, sizeof(out->pci_id), "%04X:%04X", vendor, device);
		out->f.pci_id = out->pci_id;
	}
}

/* bytes as "aa:bb:..." (lower case); len 1..32. */
static void mac_text(char *dst, const unsigned char *mac, size_t len)
{
	size_t n = 0;

	if (len > ETH_MAX_ADDR)
		len = ETH_MAX_ADDR;
	for (size_t i = 0; i < len; i++)
		n += (size_t)snprintf(dst + n, LINKSEL_MAC_LEN - n, i ? ":%02x" : "%02x", mac[i]);
}

static bool all_zero(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* ethtool ioctl on a throwaway socket; 0 or -errno. Needs no privilege
 * for the read-only commands used here (ETHTOOL_GPERMADDR, _GDRVINFO). */
static int ethtool_ioctl(const char *name, void *data)
{
	struct ifreq ifr;
	int fd, r = 0;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = data;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		r = -errno;
	close(fd);
	return r;
}

static void ethtool_perm(const char *name, struct linkfacts *out)
{
	/* struct ethtool_perm_addr ends in a flexible array: room for
	 * ETH_MAX_ADDR bytes after it, in a buffer aligned for it. */
	union {
		struct ethtool_perm_addr h;
		unsigned char raw[sizeof(struct ethtool_perm_addr) + ETH_MAX_ADDR];
	} pa;

	memset(&pa, 0, sizeof(pa));
	pa.h.cmd = ETHTOOL_GPERMADDR;
	pa.h.size = ETH_MAX_ADDR;
	if (ethtool_ioctl(name, &pa) < 0 || pa.h.size == 0 || pa.h.size > ETH_MAX_ADDR ||
	    all_zero(pa.h.data, pa.h.size))
		return;
	mac_text(out->permanent_addr, pa.h.data, pa.h.size);
	out->f.permanent_addr = out->permanent_addr;
}

/* Talos's fallback where sysfs says nothing: the driver and bus_info
 * ethtool reports (virtio_net's bus_info is its PCI function). */
static void ethtool_drvinfo(const char *name, struct linkfacts *out)
{
	struct ethtool_drvinfo di;

	memset(&di, 0, sizeof(di));
	di.cmd = ETHTOOL_GDRVINFO;
	if (ethtool_ioctl(name, &di) < 0)
		return;
	di.driver[sizeof(di.driver) - 1] = '\0';
	di.bus_info[sizeof(di.bus_info) - 1] = '\0';
	if (out->f.driver == NULL &&
	    set_text(out->driver, sizeof(out->driver), di.driver, strlen(di.driver)))
		out->f.driver = out->driver;
	if (out->f.bus_path == NULL &&
	    set_text(out->bus_path, sizeof(out->bus_path), di.bus_info, strlen(di.bus_info)))
		out->f.bus_path = out->bus_path;
}

static bool link_name_ok(const char *name)
{
	size_t len = name != NULL ? strlen(name) : 0;

	if (len == 0 || len >= IFNAMSIZ || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/' || isspace((unsigned char)name[i]) || name[i] == ':')
			return false;
	return true;
}

int linkfacts_read(const char *root, const char *name, const char *kind,
                   const unsigned char *mac, size_t mac_len,
                   const unsigned char *perm, size_t perm_len,
                   struct linkfacts *out)
{
	char path[4096], buf[256];
	bool real;
	int dirfd;

	memset(out, 0, sizeof(*out));
	if (!link_name_ok(name))
		return -EINVAL;
	if (root == NULL)
		root = linkfacts_root();
	real = strcmp(root, SYSFS_REAL) == 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/class/net/%s", root, name) >= sizeof(path))
		return -ENAMETOOLONG;
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;

	snprintf(out->name, sizeof(out->name), "%s", name);
	out->f.name = out->name;
	snprintf(out->kind, sizeof(out->kind), "%s", kind != NULL ? kind : "");
	out->f.kind = out->kind;
	read_type(dirfd, out);

	if (mac != NULL && mac_len > 0) {
		mac_text(out->hardware_addr, mac, mac_len);
		out->f.hardware_addr = out->hardware_addr;
	} else if (read_small(dirfd, "address", buf, sizeof(buf)) > 0 &&
	    linksel_mac_norm(buf, out->hardware_addr) != NULL) {
		out->f.hardware_addr = out->hardware_addr;
	}
	if (perm != NULL && perm_len > 0) {
		mac_text(out->permanent_addr, perm, perm_len);
		out->f.permanent_addr = out->permanent_addr;
	} else if (real) {
		ethtool_perm(name, out);
	}

	read_device(dirfd, out);
	if (real && out->f.physical && (out->f.driver == NULL || out->f.bus_path == NULL))
		ethtool_drvinfo(name, out);
	if (out->f.physical && out->f.bus_path == NULL &&
	    pci_on_path(path, out->bus_path, sizeof(out->bus_path)))
		out->f.bus_path = out->bus_path;
	out->f.physical = out->f.physical && out->f.type != NULL && strcmp(out->type, "ether") == 0;
	close(dirfd);
	return 0;
}

/* p, if it points into src's buffer sbuf (size len), moved to dbuf. */
static const char *rebase(const char *p, const char *sbuf, const char *dbuf, size_t len)
{
	if (p == NULL || p < sbuf || p >= sbuf + len)
		return p;
	return dbuf + (p - sbuf);
}

void linkfacts_copy(struct linkfacts *dst, const struct linkfacts *src)
{
	if (dst == src)
		return;
	*dst = *src;
#define REBASE(field) dst->f.field = rebase(src->f.field, src->field, dst->field, sizeof(src->field))
	REBASE(name);
	REBASE(kind);
	REBASE(type);
	REBASE(driver);
	REBASE(hardware_addr);
	REBASE(permanent_addr);
	REBASE(bus_path);
	REBASE(pci_id);
#undef REBASE
}

static void put(size_t *match, size_t max, size_t k, size_t i)
{
	if (k < max)
		match[k] = i;
}

/* A pattern alias: the match numbered cv->alias_index, Talos's order
 * (permanent address where known, else hardware address). */
static size_t select_pattern(const struct cfg_vip *cv, const struct linkfacts *facts,
                             size_t n, size_t *match, size_t max)
{
	struct link_facts *keys;
	const struct link_facts **ptrs;
	size_t *pos, *order, m = 0, found = 0;

	if (n == 0)
		return 0;
	keys = xcalloc(n, sizeof(*keys));
	ptrs = xcalloc(n, sizeof(*ptrs));
	pos = xcalloc(n, sizeof(*pos));
	order = xcalloc(n, sizeof(*order));
	for (size_t i = 0; i < n; i++) {
		if (!facts[i].f.physical || !cel_eval(cv->alias->match, &facts[i].f))
			continue;
		keys[m] = facts[i].f;
		if (facts[i].f.permanent_addr != NULL)
			keys[m].hardware_addr = facts[i].f.permanent_addr;
		ptrs[m] = &keys[m];
		pos[m++] = i;
	}
	linksel_alias_order(ptrs, m, order);
	if (cv->alias_index < m) {
		put(match, max, 0, pos[order[cv->alias_index]]);
		found = 1;
	}
	free(keys);
	free(ptrs);
	free(pos);
	free(order);
	return found;
}

size_t linkfacts_select(const struct cfg_vip *cv, const struct linkfacts *facts, size_t n,
                        size_t *match, size_t max)
{
	size_t k = 0;

	if (cv == NULL || facts == NULL)
		return 0;
	if (cv->selector != NULL) {
		for (size_t i = 0; i < n; i++)
			if (linksel_match(cv->selector, &facts[i].f))
				put(match, max, k++, i);
		return k;
	}
	if (cv->alias == NULL || cv->alias->match == NULL || cv->alias->name == NULL)
		return 0;
	switch (linksel_alias_is_pattern(cv->alias->name)) {
	case 1:
		return select_pattern(cv, facts, n, match, max);
	case 0:
		for (size_t i = 0; i < n; i++)
			if (facts[i].f.physical && cel_eval(cv->alias->match, &facts[i].f))
				put(match, max, k++, i);
		return k;
	default:
		return 0;
	}
}
