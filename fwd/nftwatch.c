// SPDX-License-Identifier: MIT
/*
 * nftwatch.c - the nf_tables events that may concern fwd's hooks
 * (include/fwd/nftwatch.h). Run by the main thread, off the packet path.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "fwd/hooks.h"
#include "fwd/nftwatch.h"
#include "fwd/value.h"

int nftwatch_open(void)
{
	return netlink_listen(NETLINK_NETFILTER, 1u << (NFNLGRP_NFTABLES - 1));
}

/* The names an event carries; NULL where it carries none. */
struct names {
	uint16_t chain_attr;	/* NFTA_RULE_CHAIN, NFTA_CHAIN_NAME; 0: a table's event */
	const char *table, *chain;
};

/* NFTA_TABLE_NAME, NFTA_CHAIN_TABLE and NFTA_RULE_TABLE are all 1. */
static int name_attr(const struct nlattr *a, void *data)
{
	struct names *n = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type != NFTA_RULE_TABLE && (!n->chain_attr || type != n->chain_attr))
		return MNL_CB_OK;
	if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_OK;	/* not a name: the event names nothing that counts */
	if (type == NFTA_RULE_TABLE)
		n->table = mnl_attr_get_str(a);
	else
		n->chain = mnl_attr_get_str(a);
	return MNL_CB_OK;
}

static bool in(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

/* Does a change of CHAIN (NULL: the whole table) in a table of fwd's concern its hooks? */
static bool chain_counts(const char *chain)
{
	static const char *const entries[] = { "PREROUTING", "POSTROUTING", NULL };

	return !chain || in(chain, entries) ||
	       (!strncmp(chain, "FWD-", 4) && strcmp(chain, FWD_HOOKS_GATE_CHAIN));
}

static bool event_counts(const struct nlmsghdr *nlh)
{
	static const char *const ip_tables[] = { "raw", "mangle", "nat", NULL };
	static const char *const bridge_tables[] = { "nat", NULL };
	const struct nfgenmsg *g;
	struct names n = { 0 };
	uint16_t type;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*g))
		return false;
	type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	g = mnl_nlmsg_get_payload(nlh);
	switch (type) {
	case NFT_MSG_NEWTABLE: case NFT_MSG_DELTABLE:
		break;
	case NFT_MSG_NEWCHAIN: case NFT_MSG_DELCHAIN:
		n.chain_attr = NFTA_CHAIN_NAME;
		break;
	case NFT_MSG_NEWRULE: case NFT_MSG_DELRULE:
		n.chain_attr = NFTA_RULE_CHAIN;
		break;
	default:
		return false;	/* sets, objects, the generation that ends a batch */
	}
	mnl_attr_parse(nlh, sizeof(*g), name_attr, &n);
	if (!n.table || (n.chain_attr && !n.chain))
		return false;
	if (g->nfgen_family == NFPROTO_IPV4 || g->nfgen_family == NFPROTO_IPV6)
		return in(n.table, ip_tables) && chain_counts(n.chain);
	if (g->nfgen_family == NFPROTO_BRIDGE)
		return in(n.table, bridge_tables) && (!n.chain || !strcmp(n.chain, "PREROUTING"));
	return false;
}

bool nftwatch_counts(const void *buf, size_t len)
{
	int left = len > (size_t)INT32_MAX ? INT32_MAX : (int)len;

	for (const struct nlmsghdr *nlh = buf; mnl_nlmsg_ok(nlh, left);
	     nlh = mnl_nlmsg_next(nlh, &left))
		if (event_counts(nlh))
			return true;
	return false;
}

bool nftwatch_read(int fd)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	bool counts = false;

	for (;;) {
		/* MSG_TRUNC: the datagram's whole length, which may exceed BUF's */
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);

		if ((n < 0 && errno == ENOBUFS) || n > (ssize_t)sizeof(buf))
			counts = true;
		else if (n > 0)
			counts = counts || nftwatch_counts(buf, (size_t)n);
		else
			return counts;
	}
}
