/* SPDX-License-Identifier: MIT */
/*
 * icmp.h - ICMP and ICMPv6 types by name (nftables' names), and how a type
 * and code ride in the classifier's key.
 *
 * The classifier has no field of its own for ICMP: a packet's type and code
 * travel in fwd_key.sport, above the port values, where only `icmp_type:`
 * can put a rule's ranges. A port field's ranges end at 65535, so a rule
 * with a port field still matches only packets that carry ports, and a rule
 * naming both icmp and icmpv6 stays exact because the two families have
 * separate value ranges:
 *
 *   0 .. 65535                          TCP/UDP source ports
 *   FWD_NOPORT                          no ports, no ICMP type (a later fragment,
 *                                       other protocols, `explain` without type=)
 *   FWD_ICMP4_BASE + type * 256 + code  ICMP
 *   FWD_ICMP6_BASE + type * 256 + code  ICMPv6
 *
 * A key holds its own protocol's range (packet_parse() and `explain` make
 * it so); a rule naming both protocols accepts both ranges.
 */
#ifndef FWD_ICMP_H
#define FWD_ICMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "fwd/ruleset.h"

#define FWD_ICMP4_BASE	(FWD_NOPORT + 1)
#define FWD_ICMP6_BASE	(FWD_ICMP4_BASE + 65536u)
#define FWD_SPORT_MAX	(FWD_ICMP6_BASE + 65535u)	/* largest fwd_key.sport */

/* fwd_key.sport of an ICMP (PROTO 1) or ICMPv6 (58) packet of TYPE and CODE. */
static inline uint32_t icmp_key(uint8_t proto, uint8_t type, uint8_t code)
{
	return (proto == 58 ? FWD_ICMP6_BASE : FWD_ICMP4_BASE) + ((uint32_t)type << 8) + code;
}

/* The type and code back from a key's sport; false when it holds none. */
static inline bool icmp_of_key(uint32_t sport, uint8_t *type, uint8_t *code)
{
	uint32_t v;

	if (sport < FWD_ICMP4_BASE || sport > FWD_SPORT_MAX)
		return false;
	v = (sport - FWD_ICMP4_BASE) & 0xffff;
	*type = (uint8_t)(v >> 8);
	*code = (uint8_t)v;
	return true;
}

/*
 * One element "NAME", "N", "NAME/CODE" or "N/CODE" for PROTO (1: ICMP, 58:
 * ICMPv6) as the inclusive range LO..HI of type * 256 + code values: a type
 * alone takes every code. Returns 0, -ENOENT for a name PROTO does not have,
 * -EINVAL for anything else malformed.
 */
int icmp_parse(const char *s, uint8_t proto, uint32_t *lo, uint32_t *hi);

/* nftables' name of TYPE for PROTO, or NULL. */
const char *icmp_type_name(uint8_t proto, uint8_t type);

/*
 * The packet word "type=SPEC" of `explain` and `tests:` (SPEC without
 * "type="): sets K->sport for K->proto, the code 0 when SPEC names none.
 * Returns 0, or -1 with a message in ERR.
 */
int icmp_packet_type(const char *spec, struct fwd_key *k, char *err, size_t errlen);

/*
 * A rule's range LO..HI of key values (one protocol's, as the loader keeps
 * them) as `fwd check --print` writes it: "icmp:8", "icmpv6:1-4",
 * "icmp:3/4", "icmp:3/4-3/13".
 */
void icmp_range_str(uint32_t lo, uint32_t hi, char *out, size_t outlen);

/* "nd-neighbor-solicit, ..." for messages: the names PROTO knows, into OUT. */
void icmp_names(uint8_t proto, char *out, size_t outlen);

#endif
