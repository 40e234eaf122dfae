// SPDX-License-Identifier: Apache-2.0
/*
 * LD_PRELOAD shim for Ipv6ExtensionHeadersIT: every IPv6 socket the program connects carries a
 * hop-by-hop and a destination options header (8 bytes each, PadN) in every packet it sends
 * (sticky IPV6_HOPOPTS / IPV6_DSTOPTS; needs CAP_NET_RAW). Prints a line to stderr if the kernel
 * refuses, so the test can say why.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	static int (*real_connect)(int, const struct sockaddr *, socklen_t);
	if (!real_connect)
		real_connect = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
	if (addr && addr->sa_family == AF_INET6) {
		/* next header (the kernel fills it in), length 0 (8 bytes), PadN option of 4 bytes */
		unsigned char options[8] = {0, 0, 1, 4, 0, 0, 0, 0};
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_HOPOPTS, options, sizeof(options))
		    || setsockopt(fd, IPPROTO_IPV6, IPV6_DSTOPTS, options, sizeof(options)))
			perror("ipv6_options: setsockopt");
	}
	return real_connect(fd, addr, len);
}
