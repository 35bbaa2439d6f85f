// SPDX-License-Identifier: MIT
/*
 * icmp.c - ICMP and ICMPv6 type names and the `icmp_type:` element parser.
 *
 * The names are nftables' (`nft describe icmp type`, `icmpv6 type`), so a
 * rule reads the same in fwd and in nft. fragmentation-needed (ICMP 3/4) is
 * fwd's one name with a fixed code: path MTU discovery depends on it.
 * Nothing here runs on the packet path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/icmp.h"

struct icmp_name {
	const char *name;
	uint8_t type;
	int code;		/* -1: every code */
};

static const struct icmp_name icmp4_names[] = {
	{ "echo-reply", 0, -1 },
	{ "destination-unreachable", 3, -1 },
	{ "fragmentation-needed", 3, 4 },
	{ "source-quench", 4, -1 },
	{ "redirect", 5, -1 },
	{ "echo-request", 8, -1 },
	{ "router-advertisement", 9, -1 },
	{ "router-solicitation", 10, -1 },
	{ "time-exceeded", 11, -1 },
	{ "parameter-problem", 12, -1 },
	{ "timestamp-request", 13, -1 },
	{ "timestamp-reply", 14, -1 },
	{ "info-request", 15, -1 },
	{ "info-reply", 16, -1 },
	{ "address-mask-request", 17, -1 },
	{ "address-mask-reply", 18, -1 },
	{ NULL, 0, 0 },
};

static const struct icmp_name icmp6_names[] = {
	{ "destination-unreachable", 1, -1 },
	{ "packet-too-big", 2, -1 },
	{ "time-exceeded", 3, -1 },
	{ "parameter-problem", 4, -1 },
	{ "echo-request", 128, -1 },
	{ "echo-reply", 129, -1 },
	{ "mld-listener-query", 130, -1 },
	{ "mld-listener-report", 131, -1 },
	{ "mld-listener-done", 132, -1 },
	{ "mld-listener-reduction", 132, -1 },
	{ "nd-router-solicit", 133, -1 },
	{ "nd-router-advert", 134, -1 },
	{ "nd-neighbor-solicit", 135, -1 },
	{ "nd-neighbor-advert", 136, -1 },
	{ "nd-redirect", 137, -1 },
	{ "router-renumbering", 138, -1 },
	{ "ind-neighbor-solicit", 141, -1 },
	{ "ind-neighbor-advert", 142, -1 },
	{ "mld2-listener-report", 143, -1 },
	{ NULL, 0, 0 },
};

static const struct icmp_name *names_of(uint8_t proto)
{
	return proto == 58 ? icmp6_names : icmp4_names;
}

static const struct icmp_name *find_name(uint8_t proto, const char *s, size_t len)
{
	for (const struct icmp_name *n = names_of(proto); n->name; n++)
		if (strlen(n->name) == len && !strncmp(n->name, s, len))
			return n;
	return NULL;
}

/* A decimal 0..255 spanning exactly S[0..LEN-1]; -1 otherwise. */
static int byte_num(const char *s, size_t len)
{
	int v = 0;

	if (len == 0 || len > 3)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 255 ? v : -1;
}

int icmp_parse(const char *s, uint8_t proto, uint32_t *lo, uint32_t *hi)
{
	const char *slash = strchr(s, '/');
	size_t tlen = slash ? (size_t)(slash - s) : strlen(s);
	const struct icmp_name *n = NULL;
	int type = byte_num(s, tlen), code = -1;

	if (type < 0) {
		if (tlen == 0 || strspn(s, "0123456789") == tlen ||
		    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") < tlen)
			return -EINVAL;
		n = find_name(proto, s, tlen);
		if (!n)
			return -ENOENT;
		type = n->type;
		code = n->code;
	}
	if (slash) {
		int c = byte_num(slash + 1, strlen(slash + 1));

		/* a name with a fixed code takes no other */
		if (c < 0 || (code >= 0 && c != code))
			return -EINVAL;
		code = c;
	}
	*lo = (uint32_t)type << 8 | (uint32_t)(code < 0 ? 0 : code);
	*hi = (uint32_t)type << 8 | (uint32_t)(code < 0 ? 255 : code);
	return 0;
}

const char *icmp_type_name(uint8_t proto, uint8_t type)
{
	for (const struct icmp_name *n = names_of(proto); n->name; n++)
		if (n->type == type && n->code < 0)
			return n->name;
	return NULL;
}

int icmp_packet_type(const char *spec, struct fwd_key *k, char *err, size_t errlen)
{
	uint32_t lo, hi;
	int e;

	if (k->proto != 1 && k->proto != 58) {
		snprintf(err, errlen, "type=%s: only icmp and icmpv6 packets have a type", spec);
		return -1;
	}
	e = icmp_parse(spec, k->proto, &lo, &hi);
	if (e == -ENOENT) {
		snprintf(err, errlen, "type=%s: unknown %s type", spec,
			 k->proto == 58 ? "icmpv6" : "icmp");
		return -1;
	}
	if (e) {
		snprintf(err, errlen, "invalid type=%s; expected NAME, a number 0-255, or TYPE/CODE",
			 spec);
		return -1;
	}
	/* a packet has one code: a type without one is code 0 */
	k->sport = icmp_key(k->proto, (uint8_t)(lo >> 8), (uint8_t)lo);
	return 0;
}

void icmp_range_str(uint32_t lo, uint32_t hi, char *out, size_t outlen)
{
	uint32_t base = lo >= FWD_ICMP6_BASE ? FWD_ICMP6_BASE : FWD_ICMP4_BASE;
	const char *p = base == FWD_ICMP6_BASE ? "icmpv6" : "icmp";
	uint32_t a = lo - base, b = hi - base;

	if ((a & 0xff) == 0 && (b & 0xff) == 0xff) {	/* whole types */
		if (a >> 8 == b >> 8)
			snprintf(out, outlen, "%s:%u", p, a >> 8);
		else
			snprintf(out, outlen, "%s:%u-%u", p, a >> 8, b >> 8);
	} else if (a == b) {
		snprintf(out, outlen, "%s:%u/%u", p, a >> 8, a & 0xff);
	} else {
		snprintf(out, outlen, "%s:%u/%u-%u/%u", p, a >> 8, a & 0xff, b >> 8, b & 0xff);
	}
}

void icmp_names(uint8_t proto, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen)
		out[0] = '\0';
	for (const struct icmp_name *n = names_of(proto); n->name && o < outlen; n++) {
		int w = snprintf(out + o, outlen - o, "%s%s", o ? ", " : "", n->name);

		if (w < 0)
			break;
		o += (size_t)w;
	}
}
