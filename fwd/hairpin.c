/* SPDX-License-Identifier: MIT */
/*
 * hairpin.c - FWD-HAIRPIN's lines: the gateway's own prefixes, where a
 * forward's client and target can meet (include/fwd/hairpin.h).
 */
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "fwd/hairpin.h"
#include "fwd/hooks.h"
#include "fwd/ruleset.h"
#include "fwd/value.h"

/* The bytes of A's address of FAMILY into *V (host order); its length, or 0. */
static size_t sa_bytes(const struct sockaddr *sa, int family, fwd_u128 *v)
{
	const uint8_t *b;
	size_t n;

	if (!sa || sa->sa_family != (family == 4 ? AF_INET : AF_INET6))
		return 0;
	if (family == 4) {
		b = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		n = 4;
	} else {
		b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		n = 16;
	}
	*v = addr_from_bytes(b, n);
	return n;
}

/* A's prefix in FAMILY, if FWD-HAIRPIN wants it (see hairpin.h). */
static bool ifa_prefix(const struct ifaddrs *a, int family, fwd_u128 *net, unsigned *plen)
{
	fwd_u128 addr, mask;
	size_t n;

	if (a->ifa_flags & IFF_LOOPBACK)
		return false;
	n = sa_bytes(a->ifa_addr, family, &addr);
	if (!n || sa_bytes(a->ifa_netmask, family, &mask) != n)
		return false;
	*plen = 0;
	for (fwd_u128 m = mask; m & ((fwd_u128)1 << (n * 8 - 1)); m <<= 1)
		(*plen)++;
	if (*plen == 0 || *plen >= n * 8)
		return false;
	if (family == 4 && addr >> 16 == 0xa9fe)		/* 169.254/16 */
		return false;
	if (family == 6 && addr >> 118 == 0x3fa)		/* fe80::/10 */
		return false;
	*net = addr & mask;
	return true;
}

/* Does an entry of AS before END give the same prefix? */
static bool seen_before(const struct ifaddrs *as, const struct ifaddrs *end, int family,
			fwd_u128 net, unsigned plen)
{
	fwd_u128 n2;
	unsigned p2;

	for (const struct ifaddrs *a = as; a != end; a = a->ifa_next)
		if (ifa_prefix(a, family, &n2, &p2) && n2 == net && p2 == plen)
			return true;
	return false;
}

size_t hairpin_render(int family, const struct ifaddrs *as, char *buf, size_t len)
{
	char p[INET6_ADDRSTRLEN];
	size_t pos = 0;
	fwd_u128 net;
	unsigned plen;

	if (len)
		buf[0] = '\0';
	for (const struct ifaddrs *a = as; a; a = a->ifa_next) {
		int n;

		if (!ifa_prefix(a, family, &net, &plen) || seen_before(as, a, family, net, plen))
			continue;
		addr_format(p, sizeof(p), (unsigned)family, net);
		n = snprintf(pos < len ? buf + pos : NULL, pos < len ? len - pos : 0,
			     "-A %s -s %s/%u -d %s/%u -m mark --mark 0x%08x/0x%08x "
			     "-m comment --comment %s -j MASQUERADE\n",
			     FWD_HOOKS_HAIRPIN_CHAIN, p, plen, p, plen, FWD_MARK_BASE,
			     FWD_MARK_BASE, FWD_HOOKS_COMMENT);
		if (n > 0)
			pos += (size_t)n;
	}
	return pos;
}
