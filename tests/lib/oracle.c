// SPDX-License-Identifier: MIT
/*
 * oracle.c - linear first-match reference matcher (see oracle.h).
 */
#include "oracle.h"

static bool in_ports(const struct fwd_portset *s, uint32_t p)
{
	if (p == FWD_NOPORT)	/* a port field never matches a packet without ports */
		return false;
	for (uint32_t i = 0; i < s->n; i++)
		if (s->r[i].lo <= p && p <= s->r[i].hi)
			return true;
	return false;
}

static bool in_addrs(const struct fwd_addrset *s, unsigned family, fwd_u128 a)
{
	if (family == 4) {
		for (uint32_t i = 0; i < s->n4; i++)
			if (s->v4[i].lo <= a && a <= s->v4[i].hi)
				return true;
		return false;
	}
	for (uint32_t i = 0; i < s->n6; i++)
		if (s->v6[i].lo <= a && a <= s->v6[i].hi)
			return true;
	return false;
}

bool oracle_rule_matches(const struct fwd_rule *r, const struct fwd_key *k, const char *ifname)
{
	if (!(r->protos[k->proto / 8] & (1u << (k->proto % 8))))
		return false;
	if ((r->present & FWD_F_SRC) && !in_addrs(&r->src, k->family, k->src))
		return false;
	if ((r->present & FWD_F_DST) && !in_addrs(&r->dst, k->family, k->dst))
		return false;
	if ((r->present & FWD_F_SPORT) && !in_ports(&r->sport, k->sport))
		return false;
	if ((r->present & FWD_F_DPORT) && !in_ports(&r->dport, k->dport))
		return false;
	if ((r->present & FWD_F_IN) && !ifset_match(&r->in, ifname ? ifname : ""))
		return false;
	return true;
}

int oracle_classify(const struct fwd_config *c, const struct fwd_key *k, const char *ifname)
{
	for (uint32_t i = 0; i < c->nrules; i++)
		if (oracle_rule_matches(&c->rules[i], k, ifname))
			return (int)i;
	return -1;
}
