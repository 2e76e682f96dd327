/*
 * announce.c - send the frames from frames.c through an AF_PACKET socket.
 *
 * The socket is SOCK_RAW with protocol 0: it sends complete Ethernet
 * frames and, having no protocol, is never handed received packets, so
 * nothing queues up on it.
 */
#include "announce.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frames.h"

static int announce_open(int ifindex)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = 0,
		.sll_ifindex = ifindex,
	};
	int fd, err;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Destination and EtherType are taken from the frame's own header, so the
 * sockaddr always matches what goes on the wire. */
int announce_frame(int fd, int ifindex, const unsigned char *frame, size_t len)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = ifindex,
		.sll_halen = ETH_ALEN,
	};
	ssize_t n;

	memcpy(&sll.sll_protocol, frame + 12, 2);
	memcpy(sll.sll_addr, frame, ETH_ALEN);
	do {
		n = sendto(fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

static int mac_usable(const unsigned char mac[6])
{
	static const unsigned char zero[6];

	return memcmp(mac, zero, 6) != 0 && (mac[0] & 0x01) == 0;
}

int announce_send(int ifindex, const unsigned char mac[6], int family, const void *addr)
{
	unsigned char frame[FRAMES_NA_LEN > FRAMES_ARP_LEN ? FRAMES_NA_LEN : FRAMES_ARP_LEN];
	size_t len;
	int fd, rc;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (ifindex <= 0 || mac == NULL || addr == NULL || !mac_usable(mac))
		return -EINVAL;
	fd = announce_open(ifindex);
	if (fd < 0)
		return fd;
	if (family == AF_INET) {
		len = frames_garp(frame, sizeof(frame), FRAMES_ARP_REQUEST, mac, addr);
		rc = announce_frame(fd, ifindex, frame, len);
		if (rc < 0)
			goto out;
		len = frames_garp(frame, sizeof(frame), FRAMES_ARP_REPLY, mac, addr);
		rc = announce_frame(fd, ifindex, frame, len);
	} else {
		len = frames_unsol_na(frame, sizeof(frame), mac, addr);
		rc = announce_frame(fd, ifindex, frame, len);
	}
out:
	close(fd);
	return rc;
}
