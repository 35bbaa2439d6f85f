// SPDX-License-Identifier: MIT
/*
 * gateway.c - checks for a gateway that cannot work whatever its rules say:
 * neighbour discovery handed to rules that drop it (RFC 4890 4.4), and
 * forwarding switched off. They warn; the operator decides.
 */
#include <stdio.h>
#include <string.h>

#include "fwd/explain.h"
#include "fwd/gateway.h"
#include "fwd/icmp.h"
#include "fwd/log.h"

unsigned gateway_nd_check(const struct fwd_config *c, const struct fwd_ruleset *rs,
			  struct fwd_diags *d)
{
	static const struct { uint8_t type; const char *name; } nd[] = {
		{ 135, "nd-neighbor-solicit" }, { 136, "nd-neighbor-advert" },
	};
	unsigned n = 0;

	if (!c->daemon.nd_rules)
		return 0;
	for (size_t i = 0; i < sizeof(nd) / sizeof(nd[0]); i++) {
		/* fe80::1 -> ff02::1:ff00:2, the solicited-node group; the advert likewise */
		struct fwd_key k = {
			.family = 6, .proto = 58, .sport = icmp_key(58, nd[i].type, 0),
			.dport = FWD_NOPORT, .src = (fwd_u128)0xfe80 << 112 | 1,
			.dst = (fwd_u128)0xff02 << 112 | (fwd_u128)0x1ff000002ull,
		};
		char out[256];

		k.iface = ruleset_iface_class(rs, "");
		explain_verdict(rs, &k, 0, out, sizeof(out));
		if (strncmp(out, "drop", 4) && strncmp(out, "reject", 6))
			continue;
		diag_warning(d, c->daemon.nd_pos,
			     "neighbor_discovery: rules, but the file drops %s (%s): IPv6 neighbours will not resolve; allow proto icmpv6 icmp_type [nd-neighbor-solicit, nd-neighbor-advert]",
			     nd[i].name, strstr(out, "rule="));
		n++;
	}
	return n;
}

/* Can rule R match a packet of family F? */
static bool rule_family(const struct fwd_rule *r, int f)
{
	int other = f == 4 ? 58 : 1;
	bool only_other = true;

	for (int p = 0; p < 256 && only_other; p++)
		if (p != other && (r->protos[p / 8] & (1u << (p % 8))))
			only_other = false;
	if (only_other)
		return false;
	if ((r->present & FWD_F_SRC) && !(f == 4 ? r->src.n4 : r->src.n6))
		return false;
	return !(r->present & FWD_F_DST) || (f == 4 ? r->dst.n4 : r->dst.n6);
}

static int sysctl_on(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v != 0;
}

void gateway_forwarding_warn(const struct fwd_config *c, const char *when)
{
	static const struct { int family; const char *name, *path; } fw[] = {
		{ 4, "net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward" },
		{ 6, "net.ipv6.conf.all.forwarding", "/proc/sys/net/ipv6/conf/all/forwarding" },
	};

	for (size_t i = 0; i < sizeof(fw) / sizeof(fw[0]); i++) {
		uint32_t r = 0;

		if (sysctl_on(fw[i].path) != 0)
			continue;
		while (r < c->nrules && !rule_family(&c->rules[r], fw[i].family))
			r++;
		if (r < c->nrules)
			log_warn("%s: %s is 0: this host forwards no IPv%d packets, so rules such as '%s' judge only traffic to the host itself; sysctl -w %s=1 on a gateway",
				 when, fw[i].name, fw[i].family, c->rules[r].name, fw[i].name);
	}
}
